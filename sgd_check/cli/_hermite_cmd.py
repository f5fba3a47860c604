"""``shallowlaws hermite EXPR [--degree K] [--basis He|h] [--json]``: Hermite expansion of an activation."""

from __future__ import annotations

import math

import numpy as np

from ._common import print_json

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``hermite`` subcommand."""
    p = subparsers.add_parser(
        "hermite",
        help="Hermite coefficients, information exponent and Gaussian kernel of an activation",
        description=(
            "Expand σ(z) in probabilists' Hermite polynomials (He: σ = Σ c_j He_j, c_j = E[σ He_j]/j!) or the "
            "orthonormal ones (h: b_j = √(j!) c_j), z ~ N(0,1). Exact values where a closed form exists, "
            "else Gauss–Hermite quadrature with an error estimate."
        ),
    )
    p.add_argument(
        "expr",
        metavar="EXPR",
        help="σ as an expression in z ('Max(z,0)', 'tanh(z)') or a name "
        "(relu, abs, sign, tanh, erf, sigmoid, softplus, gelu, He4, h4, ...)",
    )
    p.add_argument("--degree", type=int, default=10, metavar="K", help="highest degree (default 10)")
    p.add_argument("--basis", choices=("He", "h"), default="He", help="He (monic) or h (orthonormal); default He")
    p.add_argument("--numeric", action="store_true", help="skip the exact routes (quadrature only)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    """Compute and print the expansion; returns the exit status."""
    import hermite

    co = hermite.coefficients(args.expr, args.degree, args.basis, exact=not args.numeric)
    ie = hermite.information_exponent(co)
    ker = hermite.kernel(co.activation)
    act = co.activation
    partial = co.l2_partial()
    l2_err_sq = max(ker.K1 - partial, 0.0)
    exact_str = [None if e is None else str(e) for e in co.exact]
    if args.json:
        print_json(
            {
                "expression": args.expr,
                "name": act.name,
                "sympy": None if act.expr is None else str(act.expr),
                "basis": co.basis,
                "degree": co.degree,
                "coefficients": co.values,
                "exact": exact_str,
                "errors": co.errors,
                "is_exact": co.is_exact,
                "method": co.method,
                "information_exponent": ie,
                "is_even": act.is_even,
                "is_odd": act.is_odd,
                "kernel": ker.closed_form,
                "kernel_series_degree": ker.degree,
                "kernel_tail_bound": ker.tail_bound,
                "second_moment": ker.K1,
                "l2_error": math.sqrt(l2_err_sq),
            }
        )
        return 0
    form = "c_j (σ = Σ c_j He_j, monic)" if co.basis == "He" else "b_j (σ = Σ b_j h_j, orthonormal)"
    print(f"σ(z) = {act.expr if act.expr is not None else act.name}    basis {co.basis}: {form}")
    print(f"method: {co.method}")
    w = max([len(s) for s in exact_str if s is not None] + [len("(numeric)")])
    w = min(w, 60)
    print(f"{'j':>3}  {'exact':<{w}}  {'value':>23}  {'± error':>9}")
    for j in range(co.degree + 1):
        ex = exact_str[j] if exact_str[j] is not None else "(numeric)"
        if len(ex) > w:
            ex = ex[: w - 1] + "…"
        err = "exact" if co.is_exact[j] else f"{co.errors[j]:.1e}"
        print(f"{j:>3}  {ex:<{w}}  {co.values[j]:>23.16g}  {err:>9}")
    parity = "even" if act.is_even else "odd" if act.is_odd else "neither even nor odd"
    print(f"information exponent: {ie if ie is not None else f'none up to degree {co.degree}'}   ({parity})")
    if ker.closed_form is not None:
        print(f"kernel K(rho) = E[σ(z)σ(z')] = {ker.closed_form}")
    else:
        print(f"kernel K(rho) = Σ_j b_j² rho^j, truncated at degree {ker.degree}, |tail| ≤ {ker.tail_bound:.2e}")
    print(f"E[σ²] = K(1) = {ker.K1:.16g}")
    rel = math.sqrt(l2_err_sq / ker.K1) if ker.K1 > 0 else 0.0
    print(
        f"L² error of the degree-{co.degree} expansion: ‖σ − Σ_{{j≤{co.degree}}}‖ = {math.sqrt(l2_err_sq):.3e}"
        f" (relative {rel:.3e})"
    )
    if not np.all(co.is_exact):
        print(f"numeric coefficients: max error estimate {co.errors.max():.1e}")
    return 0
