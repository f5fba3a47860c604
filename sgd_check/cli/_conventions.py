"""The loss convention of step sizes on the command line (docs/theory.md §6, "Conventions").

The code's per-sample loss is ½(f − y)² (its gradient is what the simulator applies). The talk writes the loss
(f − y)² without the ½, whose gradient is twice ours, so the same dynamics needs η_talk = η_code/2. With
``--loss-convention talk`` a step size from the talk is used as written: η_code = 2·η_talk.
"""

from __future__ import annotations

from hermite.validation import require_choice

__all__ = ["LOSS_CONVENTIONS", "add_loss_convention", "eta_in_code_convention", "convention_params"]

LOSS_CONVENTIONS = {
    "half": "per-sample loss ½(f − y)² (the code's convention; η as given)",
    "talk": "per-sample loss (f − y)² as in the talk; η_code = 2·η_talk",
}


def add_loss_convention(p) -> None:
    """Add ``--loss-convention {half,talk}`` (default half) to an argparse parser."""
    p.add_argument(
        "--loss-convention",
        dest="loss_convention",
        default="half",
        choices=tuple(LOSS_CONVENTIONS),
        help="half (default): loss ½(f−y)², η as used by the code; talk: loss (f−y)² as in the talk, so the "
        "given --eta is the talk's and the code uses 2η",
    )


def eta_in_code_convention(eta, convention: str):
    """The code's η (loss ½(f − y)²) for a step size ``eta`` given in ``convention``; None stays None."""
    require_choice("loss_convention", convention, tuple(LOSS_CONVENTIONS))
    if eta is None:
        return None
    return 2.0 * eta if convention == "talk" else eta


def convention_params(convention: str, eta_given=None) -> dict:
    """Entries naming the convention for an output's ``params`` (and the η as given, when there is one)."""
    require_choice("loss_convention", convention, tuple(LOSS_CONVENTIONS))
    out = {"loss_convention": convention, "loss": LOSS_CONVENTIONS[convention]}
    if eta_given is not None:
        out["eta_given"] = eta_given
        out["eta_code"] = eta_in_code_convention(eta_given, convention)
    return out
