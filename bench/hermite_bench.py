"""Benchmark of ``hermite.coefficients`` against the naive route (sympy ``integrate`` of σ·He_j·φ).

Prints, for each activation, the warm time of our exact route (degree 6 and 30), the naive route's time for
degree 6 measured in this same run (a subprocess killed after --naive-timeout seconds), the largest difference
between the two sets of values, and the target from issue 2. For the numeric fallback (tanh, sigmoid, softplus,
gelu; degree 40) it prints the warm time and the largest error against an independent 30-digit mpmath
quadrature reference.

    python bench/hermite_bench.py                 # full run (naive routes can take minutes)
    python bench/hermite_bench.py --naive-timeout 5   # quicker, naive cases beyond 5 s reported as timeouts
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import hermite  # noqa: E402

EXACT_CASES = [  # (label, our spec, naive sympy expression: piecewise forms that integrate() understands)
    ("relu", "relu", "Piecewise((z, z > 0), (0, True))"),
    ("|z|", "abs", "Abs(z)"),
    ("sign", "sign", "Piecewise((1, z > 0), (-1, True))"),
    ("erf", "erf", "erf(z)"),
    ("exp", "exp(z)", "exp(z)"),
    ("sin", "sin(z)", "sin(z)"),
    ("poly z^7-3z^4+z", "z**7 - 3*z**4 + z", "z**7 - 3*z**4 + z"),
]
NUMERIC_CASES = ["tanh", "sigmoid", "softplus", "gelu"]
EXACT_LIMIT_S, NUMERIC_LIMIT_S, NUMERIC_ERR_LIMIT = 1.0, 0.050, 1e-12

_NAIVE = r"""
import json, sys, time
import sympy as sp
z = sp.Symbol("z", real=True)
sig = sp.sympify(sys.argv[1], locals={"z": z})
K = int(sys.argv[2])
t = time.perf_counter()
vals = []
for j in range(K + 1):
    c = sp.integrate(sig * sp.hermite_prob(j, z) * sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi), (z, -sp.oo, sp.oo))
    vals.append(float(sp.N(c / sp.factorial(j), 30)))
print(json.dumps({"seconds": time.perf_counter() - t, "values": vals}))
"""


def naive(expr: str, K: int, timeout: float):
    """(seconds or None on timeout/failure, values or None, note)."""
    try:
        out = subprocess.run(
            [sys.executable, "-c", _NAIVE, expr, str(K)], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None, None, f"> {timeout:g} s (killed)"
    if out.returncode != 0:
        return None, None, "failed: " + (out.stderr.strip().splitlines() or ["?"])[-1][:60]
    d = json.loads(out.stdout)
    return d["seconds"], np.array(d["values"]), f"{d['seconds']:.2f} s"


def warm_time(fn, repeat: int = 5) -> float:
    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def mp_reference(name: str, K: int, js):
    import mpmath as mp

    mp.mp.dps = 30
    f = {
        "tanh": mp.tanh,
        "sigmoid": lambda x: 1 / (1 + mp.exp(-x)),
        "softplus": lambda x: mp.log(1 + mp.exp(x)),
        "gelu": lambda x: x * (1 + mp.erf(x / mp.sqrt(2))) / 2,
    }[name]
    out = {}
    for j in js:

        def g(x, j=j):
            return f(x) * mp.hermite(j, x / mp.sqrt(2)) * mp.mpf(2) ** (-mp.mpf(j) / 2) * mp.npdf(x)

        out[j] = float(mp.quad(g, [-mp.inf, -20, -10, -5, -2, 0, 2, 5, 10, 20, mp.inf]) / mp.factorial(j))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--naive-timeout", type=float, default=60.0, help="seconds before the naive route is killed")
    ap.add_argument("--naive-degree", type=int, default=6)
    args = ap.parse_args(argv)

    print(f"hermite benchmark: python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"exact coefficients, He basis; target ≤ {EXACT_LIMIT_S:g} s warm to degree 30 (issue 2)")
    kn = args.naive_degree
    hdr = f"{'σ':<18}{'ours K=' + str(kn):>12}{'ours K=30':>12}{'naive K=' + str(kn):>26}{'max|Δ|':>10}  verdict"
    print(hdr)
    misses = 0
    for label, spec, naive_expr in EXACT_CASES:
        t6 = warm_time(lambda spec=spec: hermite.coefficients(spec, kn))
        t30 = warm_time(lambda spec=spec: hermite.coefficients(spec, 30))
        co = hermite.coefficients(spec, 30)
        assert co.is_exact.all(), f"{label} not exact: {co.method}"
        secs, vals, note = naive(naive_expr, kn, args.naive_timeout)
        diff = "—" if vals is None else f"{np.max(np.abs(vals - co.values[: kn + 1])):.0e}"
        speed = "" if secs is None else f" ({secs / t6:,.0f}× slower)"
        ok = t30 <= EXACT_LIMIT_S
        misses += not ok
        print(
            f"{label:<18}{t6 * 1e3:>10.1f}ms{t30 * 1e3:>10.1f}ms{note + speed:>26}{diff:>10}  "
            f"{'OK' if ok else 'MISS'} (limit {EXACT_LIMIT_S:g} s)"
        )

    print()
    print(
        f"numeric coefficients (Gauss–Hermite), degree 40; target ≤ {NUMERIC_LIMIT_S * 1e3:g} ms warm, "
        f"error ≤ {NUMERIC_ERR_LIMIT:g} vs 30-digit mpmath quadrature (j = 0, 3, ..., 39, 40)"
    )
    print(f"{'σ':<12}{'time':>10}{'max error':>12}{'max estimate':>14}  verdict")
    js = [*range(0, 40, 3), 40]
    for name in NUMERIC_CASES:
        t = warm_time(lambda name=name: hermite.coefficients(name, 40, exact=False))
        co = hermite.coefficients(name, 40, exact=False)
        ref = mp_reference(name, 40, js)
        err = max(abs(co.values[j] - ref[j]) for j in js)
        ok = t <= NUMERIC_LIMIT_S and err <= NUMERIC_ERR_LIMIT
        misses += not ok
        print(f"{name:<12}{t * 1e3:>8.2f}ms{err:>12.1e}{co.errors.max():>14.1e}  {'OK' if ok else 'MISS'}")
    print()
    print("all targets met" if misses == 0 else f"{misses} target(s) missed")
    return 0 if misses == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
