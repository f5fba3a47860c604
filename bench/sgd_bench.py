"""Benchmark of the online-SGD simulator (issue 4): engine vs numpy per-sample loop vs sample-generation limit.

All figures of one case are measured in the same run, interleaved, best of ``--repeats``:

* engine    : ``sgd_check.simulate`` sample-steps/s (seeds × batch × steps / run time, compilation excluded);
* baseline  : a straightforward numpy per-sample loop written here (quadratic: Riemannian gradient and polar
              retraction by an N×N eigh; homogeneous: plain update), one seed, numpy's default generator;
* limit     : the machine's rate of drawing the Gaussian inputs alone (d normals per sample-step) in bulk with
              the simulator's generator (JAX threefry, same dtype), i.e. the best any simulator with this
              generator could do.

Usage: ``python bench/sgd_bench.py`` (CPU cases), ``--gpu`` adds the GPU cases (1024 seeds; d=8192, N=M=512),
``--quick`` shrinks the runs for a smoke test. Prints one table: sample-steps/s, ratio to the numpy loop,
fraction of the generation limit, and the targets of issue 4.
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from sgd_check import HomogeneousSGDConfig, QuadraticSGDConfig, simulate


def numpy_quadratic(d, N, M, steps, eta=1e-5, seed=0):
    """Per-sample numpy loop: Stiefel SGD with the polar retraction by eigh (the textbook way); steps/s."""
    rng = np.random.default_rng(seed)
    a = np.arange(1, M + 1, dtype=np.float64) ** -1.0
    a /= np.linalg.norm(a)
    c = 1.0 / np.sqrt(N)
    U, _ = np.linalg.qr(rng.standard_normal((d, N)))
    t = time.perf_counter()
    for _ in range(steps):
        x = rng.standard_normal(d)
        h = U.T @ x
        r = c * (h @ h - N) - a @ (x[:M] ** 2 - 1.0)
        g = 2.0 * c * r * np.outer(x - U @ h, h)
        P = U - eta * g
        w, V = np.linalg.eigh(P.T @ P)
        U = P @ ((V / np.sqrt(w)) @ V.T)
    return steps / (time.perf_counter() - t)


def numpy_homogeneous(d, N, M, steps, eta=1e-6, seed=0):
    """Per-sample numpy loop: plain online SGD for Σ‖w_i‖² h4(⟨w_i,x⟩/‖w_i‖); steps/s."""
    rng = np.random.default_rng(seed)
    a = np.arange(1, M + 1, dtype=np.float64) ** -1.0
    a /= np.linalg.norm(a)
    s24 = np.sqrt(24.0)
    sig = lambda z: (z**4 - 6 * z**2 + 3) / s24
    dsig = lambda z: (4 * z**3 - 12 * z) / s24
    W = rng.standard_normal((N, d)) * (0.1 / np.sqrt(d))
    t = time.perf_counter()
    for _ in range(steps):
        x = rng.standard_normal(d)
        n = np.sqrt(np.einsum("ij,ij->i", W, W))
        z = (W @ x) / n
        s, ds = sig(z), dsig(z)
        r = n**2 @ s - a @ sig(x[:M])
        W = W - eta * r * ((2 * s - z * ds)[:, None] * W + (n * ds)[:, None] * x[None, :])
    return steps / (time.perf_counter() - t)


def generation_limit(d, seeds, dtype, batch=1, target_numbers=1 << 25):
    """Sample-steps/s of drawing the inputs alone, in bulk, with the simulator's generator (threefry)."""
    rows = max(1, target_numbers // (seeds * batch * d))
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(0, impl="threefry2x32"), i))(jnp.arange(seeds))
    gen = jax.jit(
        lambda keys, j: jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, j), (rows, batch, d), dtype))(keys)
    )
    gen(keys, 0).block_until_ready()
    t = time.perf_counter()
    reps = 3
    for j in range(reps):
        out = gen(keys, j + 1)
    out.block_until_ready()
    return reps * rows * seeds / (time.perf_counter() - t)


def engine(cfg):
    res = simulate(cfg, progress=False)
    assert not res.diverged.any(), "benchmark run diverged"
    return res.samples_per_second, res


def run_case(name, make_cfg, numpy_fn, numpy_steps, repeats, targets):
    cfg = make_cfg()
    best_e = best_b = best_l = 0.0
    drift = None
    for _ in range(repeats):
        e, res = engine(cfg)
        best_e = max(best_e, e)
        best_b = max(best_b, numpy_fn(numpy_steps))
        best_l = max(best_l, generation_limit(cfg.d, cfg.seeds, jnp.dtype(cfg.dtype), cfg.batch))
        if res.stiefel_drift is not None and res.model == "quadratic":
            drift = float(np.max(res.stiefel_drift))
    ratio = best_e / best_b
    frac = best_e / best_l
    verdict = []
    if "ratio" in targets:
        verdict.append(f"ratio≥{targets['ratio']:g}: {'met' if ratio >= targets['ratio'] else 'MISSED'}")
    if "frac" in targets:
        verdict.append(f"limit≥{targets['frac']:.0%}: {'met' if frac >= targets['frac'] else 'MISSED'}")
    if "abs" in targets:
        verdict.append(f"≥{targets['abs']:.0f}/s: {'met' if best_e >= targets['abs'] else 'MISSED'}")
    extra = f" drift {drift:.1e}" if drift is not None else ""
    print(
        f"{name:<44} {best_e:>11.0f} {best_b:>11.0f} {ratio:>7.1f}x {best_l:>11.0f} {frac:>6.0%}  "
        + "; ".join(verdict)
        + extra,
        flush=True,
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpu", action="store_true", help="also run the GPU cases (needs a GPU)")
    p.add_argument("--quick", action="store_true", help="small runs (smoke test of the bench itself)")
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    q = 8 if args.quick else 1
    plat = jax.devices()[0].platform
    print(f"jax {jax.__version__} on {plat}, {os.cpu_count()} CPU cores; float32; best of {args.repeats}")
    print(f"{'case':<44} {'engine/s':>11} {'numpy/s':>11} {'ratio':>8} {'limit/s':>11} {'frac':>6}  targets")
    quad = lambda S, steps, d=1024, N=64: (  # noqa: E731
        lambda: QuadraticSGDConfig(
            d=d,
            M=N,
            N=N,
            beta=1.0,
            eta=1e-5,
            steps=steps // q,
            seeds=S,
            n_log=8,
            phase2="none",
            device="cpu" if not args.gpu else "auto",
        )
    )
    hom = lambda S, steps, d=500, N=4: (  # noqa: E731
        lambda: HomogeneousSGDConfig(
            d=d,
            M=N,
            N=N,
            beta=1.0,
            eta=1e-6,
            steps=steps // q,
            seeds=S,
            n_log=8,
            activation="h4",
            device="cpu" if not args.gpu else "auto",
        )
    )
    nq = lambda n: numpy_quadratic(1024, 64, 64, n)  # noqa: E731
    nh = lambda n: numpy_homogeneous(500, 4, 4, n)  # noqa: E731
    run_case("quadratic d=1024 N=M=64, 1 seed", quad(1, 16384), nq, 600 // q, args.repeats, {})
    run_case(
        "quadratic d=1024 N=M=64, 64 seeds", quad(64, 2048), nq, 600 // q, args.repeats, {"ratio": 40, "frac": 0.5}
    )
    run_case(
        "homogeneous h4 d=500 N=M=4, 64 seeds",
        hom(64, 16384),
        nh,
        6000 // q,
        args.repeats,
        {"frac": 0.75, "abs": 3 * 31_600},
    )
    if args.gpu:
        run_case("GPU quadratic d=1024 N=M=64, 1024 seeds", quad(1024, 2048), nq, 600 // q, args.repeats, {})
        run_case("GPU homogeneous h4 d=500 N=M=4, 1024 seeds", hom(1024, 16384), nh, 6000 // q, args.repeats, {})
        run_case(
            "GPU quadratic d=8192 N=M=512, 64 seeds",
            quad(64, 256, d=8192, N=512),
            lambda n: numpy_quadratic(8192, 512, 512, n),
            20 // q or 2,
            args.repeats,
            {},
        )


if __name__ == "__main__":
    main()
