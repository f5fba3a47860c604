"""Helpers shared by the CLI subcommands: JSON output, time-grid parsing, the SGD run options of ``simulate`` and
``check`` and resource estimates (no numerics here)."""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from sgd_check._outdir import to_jsonable

__all__ = ["to_jsonable", "print_json", "parse_times", "add_run_arguments", "MAX_POINTS", "MAX_TIME"]

#: Most time points a grid may hold, and the latest time (flow time far beyond any emergence; the ODE solvers
#: cannot step to 1e300 and float64 curves carry no information there).
MAX_POINTS = 100_000
MAX_TIME = 1e12


def print_json(obj, file=None) -> None:
    """Print ``obj`` as one valid JSON document (NaN/inf → null) followed by a newline."""
    print(json.dumps(to_jsonable(obj), indent=2, allow_nan=False, ensure_ascii=False), file=file or sys.stdout)


def parse_times(text: str) -> np.ndarray:
    """Parse a time grid; returns a float64 array, strictly increasing, all values finite and ≥ 0.

    Accepted forms: ``"0,1,2.5,10"`` (explicit list), ``"START:STOP:NUM"`` (NUM evenly spaced points,
    ``numpy.linspace``), ``"log:START:STOP:NUM"`` (NUM log-spaced points, START > 0, ``numpy.geomspace``).

    Raises:
        ValueError: one line naming the argument, the value and the accepted forms.
    """
    forms = "use '0,1,10', 'START:STOP:NUM' or 'log:START:STOP:NUM'"
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"`times`={text!r} is empty; {forms}")
    s = text.strip()
    try:
        if s.startswith("log:"):
            a, b, n = s[4:].split(":")
            a, b, n = float(a), float(b), int(n)
            if not (a > 0 and b > a and n >= 2):
                raise ValueError(f"`times`={text!r} needs 0 < START < STOP and NUM ≥ 2; {forms}")
            _check_grid(text, b, n, forms)
            t = np.geomspace(a, b, n)
        elif ":" in s:
            a, b, n = s.split(":")
            a, b, n = float(a), float(b), int(n)
            if not (b > a and n >= 2):
                raise ValueError(f"`times`={text!r} needs START < STOP and NUM ≥ 2; {forms}")
            _check_grid(text, b, n, forms)
            t = np.linspace(a, b, n)
        else:
            t = np.array([float(v) for v in s.split(",") if v.strip()], dtype=np.float64)
    except ValueError as exc:
        if str(exc).startswith("`times`"):
            raise
        raise ValueError(f"`times`={text!r} is not a time grid; {forms}") from None
    if t.size:
        _check_grid(text, float(np.max(t)), t.size, forms)
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"`times`={text!r} must contain finite values ≥ 0; {forms}")
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"`times`={text!r} must be strictly increasing; {forms}")
    return t.astype(np.float64)


def _check_grid(text: str, stop: float, n: int, forms: str) -> None:
    if n > MAX_POINTS:
        raise ValueError(f"`times`={text!r} has {n} points: at most {MAX_POINTS} are allowed; use fewer points")
    if not stop <= MAX_TIME:
        raise ValueError(f"`times`={text!r} reaches t = {stop:g}: the latest allowed time is {MAX_TIME:g}; {forms}")


# ------------------------------------------------------------------------------------------------------------
# the SGD run options, declared once for `simulate` and `check`
# ------------------------------------------------------------------------------------------------------------
def add_run_arguments(p, *, seeds: int, required: bool) -> None:
    """Add the options of one SGD run (model sizes, teacher, step size, length, seeds, precision, engine) to
    parser ``p``: the same names, types, help and defaults for ``simulate`` and ``check``, except two that each
    command passes explicitly:

    * ``seeds``: the command's default ``--seeds`` (stated in the help): ``simulate`` 1 (one run to look at);
      ``check`` 4 (its verdict needs a mean and a spread over seeds).
    * ``required``: ``simulate`` (True) lets the parser require ``--d --M --N --eta`` and one of
      ``--steps``/``--t-max``; ``check`` (False) leaves them optional, because ``check --from-dir DIR`` needs none
      of them, and names a missing one itself.

    ``--activation`` defaults to None, meaning h4 for the homogeneous model; the quadratic model's student is
    c Σ He_2 by definition.
    """
    from ._conventions import add_loss_convention

    p.add_argument("--d", type=int, required=required, help="input dimension d")
    p.add_argument("--M", type=int, required=required, help="teacher width M (teacher directions = first M axes)")
    p.add_argument("--N", type=int, required=required, help="student width N")
    p.add_argument(
        "--beta", type=float, default=1.0, help="teacher power-law exponent β, a_m = m^-β normalised (default 1)"
    )
    p.add_argument(
        "--activation",
        default=None,
        metavar="EXPR",
        help="homogeneous model: σ (any hermite spec, even with c_0 = 0 for the flow; default h4); quadratic: only He2",
    )
    p.add_argument("--eta", type=float, required=required, help="SGD step size η > 0 (see --loss-convention)")
    add_loss_convention(p)
    g = p.add_mutually_exclusive_group(required=required)
    g.add_argument("--steps", type=int, help="number of SGD steps")
    g.add_argument("--t-max", type=float, dest="t_max", help="flow time to reach (steps = ⌈t-max / time per step⌉)")
    p.add_argument("--batch", type=int, default=1, help="batch size B (default 1)")
    p.add_argument("--seeds", type=int, default=seeds, help=f"independent runs simulated together, S (default {seeds})")
    p.add_argument("--c", type=float, default=None, help="quadratic model output scale c (default 1/√N)")
    p.add_argument(
        "--init-scale", type=float, default=0.1, dest="init_scale", help="homogeneous: ‖w_i(0)‖ ≈ s (default 0.1)"
    )
    p.add_argument("--dtype", default="float32", help="float32 (default) or float64")
    p.add_argument("--device", default="auto", help="auto (default), cpu or gpu")
    p.add_argument("--seed", type=int, default=0, help="base PRNG seed (default 0)")
    p.add_argument("--n-log", type=int, default=60, dest="n_log", help="number of log-spaced logged steps (default 60)")
    p.add_argument(
        "--engine",
        default="auto",
        help="full (d-dim state), reduced (exact overlap chain, cost independent of d; needs d ≥ M+N) or auto",
    )


# ------------------------------------------------------------------------------------------------------------
# memory and wall-time estimates of a simulation, before anything is allocated (issue 8, item 9)
# ------------------------------------------------------------------------------------------------------------
#: Sample-steps·d·max(N, M) per second assumed for the wall-time estimate (order of magnitude), measured on a
#: shared 2-core CPU, float32, 8 seeds, d=256: quadratic N=M=16 3.1e4 sample-steps/s; homogeneous (h4) N=M=8
#: 1.25e4 sample-steps/s. A GPU is typically 10-100x faster.
_CPU_RATE = {"quadratic": 1.3e8, "homogeneous": 2.6e7}


def require_model_arguments(model: str, args) -> None:
    """Refuse run arguments that do not apply to ``model`` (one line each), instead of silently ignoring them.

    The quadratic model's student is c Σ He_2(⟨u_i,x⟩) by definition, so ``--activation`` other than He2 is
    refused there; ``--c`` is the quadratic output scale and is refused for the homogeneous model.
    """
    if model == "quadratic":
        if args.activation not in (None, "He2", "z**2 - 1", "z**2-1"):
            raise ValueError(
                f"`--activation`={args.activation!r} is not allowed for the quadratic model: its student is "
                "c Σ He_2(⟨u_i,x⟩) by definition; drop --activation or use the homogeneous model"
            )
    elif getattr(args, "c", None) is not None:
        raise ValueError("`--c` applies to the quadratic model only; drop it for the homogeneous model")


def estimate_memory_bytes(cfg) -> int:
    """Peak memory of ``simulate(cfg)`` in bytes, estimated from the array sizes (an upper-side estimate).

    Per seed: the inputs drawn at once (16 steps, or 64 for the blocked quadratic path: steps × B × d, twice
    for their projections), the state and its retraction temporaries (≈ 6·N·d), and the logged observables in
    float64 ((n_log + 1) × (N·M + N + M + 8) twice: chunk buffer and the stacked logs). Plus 0.5 GB for the
    runtime. Factor 1.5 for XLA temporaries.
    """
    item = 4 if cfg.dtype == "float32" else 8
    S, B, d, N, M = cfg.seeds, cfg.batch, cfg.d, cfg.N, cfg.M
    d = _state_width(cfg)
    per_seed = item * (64 * B * d * 2 + 6 * N * d) + 8 * 2 * (cfg.n_log + 1) * (N * M + N + M + 8)
    return int(1.5 * S * per_seed + 0.5e9)


def _state_width(cfg) -> int:
    """Width of a seed's state: d for the full engine; the frame M + N + E (E ≤ 32 fold-back slots plus a batch)
    for the reduced engine, whose arrays never have a d-sized axis."""
    if getattr(cfg, "engine_used", "full") == "reduced":
        return min(cfg.d, cfg.M + cfg.N + 32 + cfg.batch)
    return cfg.d


def available_memory_bytes() -> int | None:
    """Memory available to a new allocation on this host (``MemAvailable`` on Linux), or ``None`` if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def estimate_seconds(cfg) -> float:
    """Rough wall time of ``simulate(cfg)`` on a CPU: seeds·steps·batch·width·max(N, M) / rate (order of magnitude;
    width = d for the full engine, the frame M + N + E for the reduced one)."""
    width = _state_width(cfg)
    return cfg.seeds * cfg.steps * cfg.batch * width * max(cfg.N, cfg.M) / _CPU_RATE.get(cfg.model, 2.6e7)


def require_resources(cfg, *, available: int | None = None, file=None) -> None:
    """Refuse (ValueError) a run whose estimated memory exceeds 80 % of the available memory; print the estimated
    wall time on stderr when it exceeds one hour. Called before any allocation."""
    need = estimate_memory_bytes(cfg)
    have = available_memory_bytes() if available is None else available
    if have is not None and need > 0.8 * have:
        raise ValueError(
            f"`seeds`={cfg.seeds} with d={cfg.d}, N={cfg.N}, batch={cfg.batch} needs ≈ {need / 1e9:.3g} GB but "
            f"{have / 1e9:.3g} GB are available; lower --seeds"
            + ("" if _state_width(cfg) < cfg.d else " or use --engine reduced (needs d ≥ M + N)")
        )
    sec = estimate_seconds(cfg)
    if sec > 3600:
        print(
            f"note: estimated wall time ≈ {sec / 3600:.2g} h on a CPU (order of magnitude; a GPU is faster); "
            "checkpoints with --out allow --resume",
            file=file or sys.stderr,
        )
