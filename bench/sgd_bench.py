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

Second table (issue 11, the reduced engine of docs/theory.md §5), every figure the wall time of one ``simulate`` call
including compilation (each structure is compiled once, in that call), both engines in the same run:

* reduced cost per step at d = 10⁹ vs d = 10³ (same M, N, seeds, steps): limit 1.2×;
* quadratic N = M = 64, 64 seeds: reduced vs full sample-steps/s at d = 4096 (limit ≥ 20×) and d = 1024 (≥ 5×);
* homogeneous h4 N = M = 4, 64 seeds, d = 500: reduced vs full (≥ 10×);
* end to end: a reduced run of ≥ 30 s with Phase II at the end: ``samples_per_second`` (whole call) against
  ``engine_samples_per_second`` (the stepping loop alone): limit ≥ 70 %.

``--gpu`` adds a sweep of the seed count with the reduced engine (1024 seeds up to the chip's memory).
``--only reduced`` runs the second table alone.
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
    return res.engine_samples_per_second, res


def wall(cfg):
    """Wall seconds of one ``simulate`` call (compilation included) and its result."""
    t = time.perf_counter()
    res = simulate(cfg, progress=False)
    return time.perf_counter() - t, res


def _ok(flag):
    return "met" if flag else "MISSED"


def reduced_section(args, q):
    """Issue 11: the reduced engine against the full one and against itself at d = 10⁹ (module docstring)."""
    dev = "cpu" if not args.gpu else "auto"
    print()
    print("reduced engine (issue 11): wall time of one simulate call, compilation included; float32")
    print(f"{'case':<52} {'seconds':>8} {'sample-steps/s':>15} {'engine-only/s':>14}  ratio / target")

    def quad(d, engine, steps, S=64, N=64, **kw):
        return QuadraticSGDConfig(
            d=d, M=N, N=N, beta=1.0, eta=1e-5 if d < 10**6 else 1e-3 / d, steps=max(256, steps // q), seeds=S,
            n_log=8, phase2=kw.pop("phase2", "none"), device=dev, engine=engine, **kw,
        )  # fmt: skip

    def line(name, sec, res, tail=""):
        n = res.params["seeds"] * res.params["batch"] * res.params["steps"]
        print(f"{name:<52} {sec:>8.1f} {n / sec:>15.0f} {res.engine_samples_per_second:>14.0f}  {tail}", flush=True)
        return n / sec

    # 1. cost per step independent of d
    s3, r3 = wall(quad(1000, "reduced", 4096))
    s9, r9 = wall(quad(10**9, "reduced", 4096))
    line("reduced quadratic d=1e3  N=M=64, 64 seeds", s3, r3)
    per3 = s3 / r3.params["steps"]
    ratio = (s9 / r9.params["steps"]) / per3
    line("reduced quadratic d=1e9  N=M=64, 64 seeds", s9, r9, f"{ratio:.2f}x of d=1e3 (≤ 1.2: {_ok(ratio <= 1.2)})")
    # 2. reduced vs full, quadratic N = M = 64, 64 seeds
    for d, steps_full, target in ((4096, 512, 20.0), (1024, 2048, 5.0)):
        sf, rf = wall(quad(d, "full", steps_full))
        sr, rr = wall(quad(d, "reduced", 8 * steps_full))
        vf = line(f"full    quadratic d={d} N=M=64, 64 seeds", sf, rf)
        vr = line(f"reduced quadratic d={d} N=M=64, 64 seeds", sr, rr)
        print(
            f"{'':<52} {'':>8} {'':>15} {'':>14}  reduced/full {vr / vf:.1f}x (≥ {target:g}: {_ok(vr >= target * vf)})"
        )
    # 3. homogeneous h4, N = M = 4, 64 seeds, d = 500

    def hom(engine, steps):
        return HomogeneousSGDConfig(
            d=500, M=4, N=4, beta=1.0, eta=1e-6, steps=max(256, steps // q), seeds=64, n_log=8, activation="h4",
            device=dev, engine=engine,
        )  # fmt: skip

    sf, rf = wall(hom("full", 16384))
    sr, rr = wall(hom("reduced", 8 * 16384))
    vf = line("full    homogeneous h4 d=500 N=M=4, 64 seeds", sf, rf)
    vr = line("reduced homogeneous h4 d=500 N=M=4, 64 seeds", sr, rr)
    print(f"{'':<52} {'':>8} {'':>15} {'':>14}  reduced/full {vr / vf:.1f}x (≥ 10: {_ok(vr >= 10 * vf)})")
    # 4. end to end vs engine alone, with Phase II, on a run of ≥ 30 s
    se, re_ = wall(quad(1024, "reduced", 65536, phase2="end"))
    e2e = re_.samples_per_second / re_.engine_samples_per_second
    ph = re_.phase2
    line(
        "reduced quadratic d=1024 N=M=64, 64 seeds, Phase II",
        se,
        re_,
        f"end-to-end/engine {e2e:.0%} (≥ 70% on ≥ 30 s: {_ok(e2e >= 0.7) if se >= 30 else 'run < 30 s'}); "
        f"compile {re_.compile_seconds:.1f} s, Phase II {ph['seconds']:.1f} s (n′={ph['n_prime']}, fitted "
        f"{ph['risk_fitted_mean']:.4f} vs oracle {ph['risk_oracle_mean']:.4f})",
    )
    if args.gpu:
        print("GPU seed sweep, reduced quadratic d=1e6 N=M=64 (sample-steps/s, engine only)")
        S = 1024
        while S <= 1 << 20:
            try:
                _, r = wall(quad(10**6, "reduced", 2048, S=S))
            except Exception as exc:  # out of device memory: the chip's limit
                print(f"  seeds={S}: stopped ({type(exc).__name__}: {str(exc).splitlines()[0][:80]})")
                break
            print(
                f"  seeds={S:>7}: {r.engine_samples_per_second:>14.0f} engine, {r.samples_per_second:>14.0f} end to end"
            )
            S *= 4


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
    p.add_argument("--only", choices=("all", "reduced"), default="all", help="run only the reduced-engine table")
    args = p.parse_args()
    q = 8 if args.quick else 1
    if args.only == "reduced":
        reduced_section(args, q)
        return
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
            engine="full",
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
            engine="full",
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
    reduced_section(args, q)


if __name__ == "__main__":
    main()
