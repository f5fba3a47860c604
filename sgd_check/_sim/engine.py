"""The simulation engine: chunked ``lax.scan`` over steps, ``vmap`` over seeds, exact logging (docs/theory.md §2-§4).

Layout of one run:

* Per seed ``s`` the key ``k_s = fold_in(key(seed), s)`` (threefry) gives the initial state (``fold_in(k_s, 0)``),
  the inputs of step ``n`` (``fold_in(fold_in(k_s, 1), n)``, drawn inside the scan where they are used: this
  measured faster than one bulk draw per chunk, which round-trips through memory) and Phase II samples
  (``fold_in(k_s, 2)``); with label noise (homogeneous) the ε of step ``n`` from
  ``fold_in(chunk.label_noise_key(fold_in(k_s, 1)), n)``, the inputs unchanged. A seed's trajectory therefore
  depends neither on how many seeds run beside it nor on the chunk size.
* One compiled ``chunk`` function runs ``C`` steps with ``lax.scan`` for all seeds at once (``vmap`` inside the
  step); it is compiled once per run (ahead of time, so its cost is reported separately), whatever the length.
* Logged steps (0 and log-spaced) are precomputed; inside the scan a ``lax.cond`` on the (seed-independent)
  step counter evaluates the exact observables only at those steps.
* Divergence: a step whose update is non-finite (or, quadratic, turns the span by ~90°), a logged risk that is
  non-finite or above ``blowup``, or (quadratic) a Stiefel drift above ``1e-2`` freezes that seed from then on
  and records the step; the other seeds go on.
* Quadratic: after every chunk one Newton-Schulz pass re-orthonormalises ``U`` and records ``‖UᵀU − I‖_F``.
"""

from __future__ import annotations

import contextlib
import math
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import hermite

from .._progress import Progress
from . import checkpoint
from . import homogeneous as _hom
from . import quadratic as _quad
from . import reduced as _red
from .chunk import Model, finish_chunk, label_noise_key, log_buffer, step_and_log
from .config import HomogeneousSGDConfig, QuadraticSGDConfig, config_params, eta_schedule_arrays, log_schedule
from .result import SimulationResult, assemble_result

__all__ = ["simulate"]

# Risks, overlaps and the Stiefel drift are measured in float64 whatever the working dtype, which needs JAX's x64
# mode (process-wide; see hermite.enable_x64). The state keeps ``cfg.dtype`` (float32 by default): every array the
# simulator creates is given its dtype explicitly and never relies on JAX's default.
hermite.enable_x64()

_GROUP = 16  # steps whose inputs are drawn together (direct path)


# ----------------------------------------------------------------------------------------------------------------
# Model adapters: per-seed init / step / observe / reorth, all pure and jittable.


def _hyper(cfg) -> dict:
    dt = jnp.dtype(cfg.dtype)
    hp = {"a": jnp.asarray(cfg.teacher(), dtype=dt), "eta": jnp.asarray(cfg.eta, dtype=dt)}
    if cfg.eta_schedule:  # per-update step size, looked up in ``chunk.step_and_log`` (``chunk.eta_for_step``)
        starts, values = eta_schedule_arrays(cfg)
        hp["eta_starts"] = jnp.asarray(starts, dtype=jnp.int64)
        hp["eta_values"] = jnp.asarray(values, dtype=dt)
    if isinstance(cfg, QuadraticSGDConfig):
        hp["c"] = jnp.asarray(cfg.c, dtype=dt)
    if _noisy(cfg):  # σ_ε is a run-time input: every σ_ε > 0 shares one compiled chunk
        hp["label_noise"] = jnp.asarray(cfg.label_noise, dtype=dt)
    return hp


def _noisy(cfg) -> bool:
    """Whether the run draws label noise (structure: with ``label_noise = 0`` no noise is drawn or compiled)."""
    return getattr(cfg, "label_noise", 0.0) > 0.0


def _build_model(cfg) -> Model:
    dt = jnp.dtype(cfg.dtype)
    if cfg.engine_used == "reduced":
        from . import reduced_engine

        return reduced_engine.build_model(cfg)
    if isinstance(cfg, QuadraticSGDConfig):
        M = cfg.M

        def observe(U, key, step, hp):
            a = hp["a"][:M]
            obs = _quad.observe(U[:M], a, hp["c"].astype(jnp.float64))
            if cfg.phase2 == "logged":
                S = U[:M]
                fit = _red.phase2_frame(S, _red.complement_root(S), jax.random.fold_in(key, step), a, cfg.n_prime, dt)
                obs["risk_phase2"] = fit["risk_phase2"]
            return obs

        return Model(
            init=lambda k: _quad.haar_stiefel(k, cfg.d, cfg.N, dt),
            step=lambda U, X, live, hp: _quad.stiefel_step(U, X, hp["a"], hp["c"], hp["eta"], live),
            observe=observe,
            reorth=_quad.reorthonormalise,
            initial_state=lambda U: {"Y0": U[: cfg.M].astype(jnp.float64)},
        )
    sigma, dsigma, kernel = _hom.make_fns(cfg.activation)
    return Model(
        init=lambda k: _hom.gaussian_init(k, cfg.d, cfg.N, cfg.init_scale, dt),
        step=_hom.model_step(sigma, dsigma, noisy=_noisy(cfg)),
        observe=lambda W, key, step, hp: _hom.observe(W, hp["a"], kernel),
        reorth=lambda W: (W, jnp.zeros((), jnp.float64)),
        initial_state=lambda W: {"W0": W.astype(jnp.float64)},
    )


# ----------------------------------------------------------------------------------------------------------------
# Compiled pieces (cached per structural configuration).


def _make_chunk(cfg, model: Model, C: int, Lc: int):
    dt = jnp.dtype(cfg.dtype)
    B, d = cfg.batch, cfg.d
    vstep = jax.vmap(model.step, in_axes=(0, 0, 0, None))
    vobs = jax.vmap(model.observe, in_axes=(0, 0, None, None))
    G = math.gcd(C, _GROUP)

    def samples(k, step):
        return jax.random.normal(jax.random.fold_in(k, step), (B, d), dtype=dt)

    if _noisy(cfg):  # ((B, d), (B,)): the same x, and the label noise ε of each sample from its own key
        plain = samples

        def samples(k, step):
            return plain(k, step), jax.random.normal(jax.random.fold_in(label_noise_key(k), step), (B,), dtype=dt)

    def chunk(state, hp, blowup, sample_keys, obs_keys, step0, n_active, log_local):
        params, alive, died_at, drift_max = state
        buf0 = log_buffer(jax.eval_shape(lambda p: vobs(p, obs_keys, 0, hp), params), Lc)

        def body(carry, inp):
            i, Xi = inp  # Xi (S, B, d) (with label noise a pair, ε (S, B)): the inputs of step ``step0 + i + 1``
            return step_and_log(carry, i, Xi, vstep, vobs, obs_keys, hp, blowup, log_local, n_active, step0), None

        def group(carry, g):
            # the inputs of G consecutive steps in one draw (same per-step keys, so the same numbers as drawing
            # step by step), consumed at once: small enough to stay in cache, large enough to amortise the draw
            idx = g * G + jnp.arange(G, dtype=jnp.int64)
            X = jax.vmap(lambda st: jax.vmap(samples, in_axes=(0, None))(sample_keys, st))(step0 + idx + 1)
            return lax.scan(body, carry, (idx, X))[0], None

        carry0 = (params, alive, died_at, jnp.zeros((), jnp.int32), buf0)
        (params, alive, died_at, ptr, buf), _ = lax.scan(group, carry0, jnp.arange(C // G, dtype=jnp.int64))
        return finish_chunk(model.reorth, params, alive, died_at, drift_max, step0, n_active), buf, ptr

    return chunk


_BLOCK = 64  # steps per block of the blocked quadratic batch-1 path


def _use_blocked(cfg) -> bool:
    return (
        isinstance(cfg, QuadraticSGDConfig)
        and cfg.engine_used == "full"
        and cfg.batch == 1
        and cfg.phase2 != "logged"
        and cfg.chunk_size % min(_BLOCK, cfg.chunk_size) == 0
    )


def _make_chunk_blocked(cfg, model: Model, C: int, Lc: int):
    """Quadratic, batch 1: the same steps as :func:`_make_chunk` (same inputs, same map), run in blocks of
    ``k`` steps through ``quadratic.block_*`` so that the d-dimensional work is matrix-matrix."""
    dt = jnp.dtype(cfg.dtype)
    d, M, N = cfg.d, cfg.M, cfg.N
    k = min(_BLOCK, C)
    nb = C // k
    vobs_top = jax.vmap(_quad.observe, in_axes=(0, None, None))
    vstep = jax.vmap(_quad.block_step, in_axes=(0, 0, 0, 0, 0, None, None, None, 0))

    def samples(key, step):
        return jax.random.normal(jax.random.fold_in(key, step), (1, d), dtype=dt)[0]

    def chunk(state, hp, blowup, sample_keys, obs_keys, step0, n_active, log_local):
        params, alive, died_at, drift_max = state
        a, c = hp["a"], hp["c"]
        c64 = c.astype(jnp.float64)
        buf0 = log_buffer(jax.eval_shape(lambda u: vobs_top(u, a, c64), params[:, :M]), Lc)

        def block(carry, bi):
            U0, alive, died_at, ptr, buf = carry
            first = step0 + bi * k + 1  # global step number of the block's first step
            steps_b = first + jnp.arange(k, dtype=jnp.int64)
            X = jax.vmap(lambda kk: jax.vmap(lambda st: samples(kk, st))(steps_b))(sample_keys)  # (S, k, d)
            Z, Gam, y = jax.vmap(_quad.block_begin, in_axes=(0, 0, None))(U0, X, a)
            S = U0.shape[0]
            Rt0 = jnp.broadcast_to(jnp.eye(N, dtype=dt), (S, N, N))
            Qt0 = jnp.zeros((S, N, k), dt)

            # inside a block the state is (R̃, Q̃); U is rebuilt from it only at logged steps (its first M rows)
            def bstep(RQ, jj, live, hp):  # ``hp["eta"]``: this update's step size (``step_and_log``)
                Rt, Qt, ok = vstep(*RQ, Z[:, jj], Gam[:, :, jj], y[:, jj], jj, c, hp["eta"], live)
                return (Rt, Qt), ok

            def bobs(RQ, keys, step, hp):
                return vobs_top(jax.vmap(_quad.block_top)(U0[:, :M], X[:, :, :M], *RQ), a, c64)

            def inner(carry, jj):
                args = (bstep, bobs, obs_keys, hp, blowup, log_local, n_active, step0)
                return step_and_log(carry, bi * k + jj, jj, *args), None

            carry = ((Rt0, Qt0), alive, died_at, ptr, buf)
            ((Rt, Qt), alive, died_at, ptr, buf), _ = lax.scan(inner, carry, jnp.arange(k, dtype=jnp.int64))
            U = jax.vmap(_quad.block_end)(U0, X, Rt, Qt)
            return (U, alive, died_at, ptr, buf), None

        carry0 = (params, alive, died_at, jnp.zeros((), jnp.int32), buf0)
        (params, alive, died_at, ptr, buf), _ = lax.scan(block, carry0, jnp.arange(nb, dtype=jnp.int64))
        return finish_chunk(model.reorth, params, alive, died_at, drift_max, step0, n_active), buf, ptr

    return chunk


def _make_setup(model: Model):
    vobs = jax.vmap(model.observe, in_axes=(0, 0, None, None))

    def setup(seed, S_range, hp):
        base = jax.random.key(seed, impl="threefry2x32")
        keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(S_range)
        init_keys = jax.vmap(lambda k: jax.random.fold_in(k, 0))(keys)
        sample_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
        obs_keys = jax.vmap(lambda k: jax.random.fold_in(k, 2))(keys)
        params0 = jax.vmap(model.init)(init_keys)
        init_state = jax.vmap(model.initial_state)(params0)
        obs0 = vobs(params0, obs_keys, 0, hp)
        return params0, init_state, obs0, sample_keys, obs_keys

    return setup


_CACHE: dict = {}


def _structural_key(cfg, Lc: int):
    """Everything that changes the compiled code (not η, c, β, seed, steps, σ_ε or the schedule's values, which are
    run-time inputs; a schedule's padded length and whether label noise is on are structure)."""
    act = getattr(cfg, "activation", None)
    act_key = act if isinstance(act, str | int | float) or act is None else ("id", id(act))
    return (
        cfg.model,
        cfg.d,
        cfg.M,
        cfg.N,
        cfg.batch,
        cfg.seeds,
        cfg.dtype,
        cfg.chunk_size,
        Lc,
        getattr(cfg, "phase2", None) == "logged",
        getattr(cfg, "n_prime", None) if getattr(cfg, "phase2", None) == "logged" else None,
        getattr(cfg, "init_scale", None),
        act_key,
        str(jax.config.jax_default_device),
        _use_blocked(cfg),
        cfg.engine_used,
        len(eta_schedule_arrays(cfg)[0]) if cfg.eta_schedule else None,  # padded schedule length (array shapes)
        _noisy(cfg),  # label noise drawn or not (σ_ε itself is in ``hp``)
    )


_FINAL_CACHE: dict = {}


def _final_fn(cfg, key):
    """Jitted Phase II fit at the end (quadratic, ``phase2="end"``), cached per structure and ``n_prime``."""
    if not (isinstance(cfg, QuadraticSGDConfig) and cfg.phase2 == "end"):
        return None
    fkey = key + (cfg.n_prime,)
    if fkey not in _FINAL_CACHE:
        n_prime, M, N, dt = cfg.n_prime, cfg.M, cfg.N, jnp.dtype(cfg.dtype)
        reduced = cfg.engine_used == "reduced"

        def final(U, k, hp):
            # Phase II in the frame (docs/theory.md §5): (Θᵀx, Uᵀx) drawn from S = ΘᵀU and a root of I − SᵀS. The
            # reduced state is folded at the end of every chunk, so its frame part is X[M:M+N].
            S = U[:M]
            C = U[M : M + N] if reduced else _red.complement_root(S)
            return _red.phase2_frame(S, C, k, hp["a"], n_prime, dt)

        # seeds one after another: each holds its n′ samples (n′·N numbers) once, not S copies at a time
        _FINAL_CACHE[fkey] = jax.jit(lambda U, ks, hp: lax.map(lambda a: final(a[0], a[1], hp), (U, ks)))
    return _FINAL_CACHE[fkey]


def _compiled(cfg, Lc: int, example_args):
    """(model, setup_fn, compiled_chunk, final_fn, compile_seconds) for ``cfg``, compiled once per structure."""
    key = _structural_key(cfg, Lc)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit + (_final_fn(cfg, key), 0.0)
    model = _build_model(cfg)
    tc = time.perf_counter()
    maker = _make_chunk_blocked if _use_blocked(cfg) else _make_chunk
    if cfg.engine_used == "reduced":
        from .reduced_engine import make_chunk as maker
    chunk = maker(cfg, model, cfg.chunk_size, Lc)
    compiled = jax.jit(chunk).lower(*example_args(model)).compile()
    compile_seconds = time.perf_counter() - tc
    setup = jax.jit(_make_setup(model))
    if len(_CACHE) > 16:
        _CACHE.clear()
    _CACHE[key] = (model, setup, compiled)
    return _CACHE[key] + (_final_fn(cfg, key), compile_seconds)


# ----------------------------------------------------------------------------------------------------------------
# Driver.


def _device_for(name: str):
    if name == "auto":
        return None
    try:
        devs = jax.devices(name)
    except RuntimeError:
        devs = []
    if not devs:
        raise ValueError(f"`device`={name!r} is not available (JAX sees {jax.devices()}); use --device auto or cpu")
    return devs[0]


def simulate(config, *, out=None, resume: bool = False, progress: bool = True) -> SimulationResult:
    """Run online SGD for ``config`` (``QuadraticSGDConfig`` or ``HomogeneousSGDConfig``) on ``seeds`` seeds.

    Maths and conventions: docs/theory.md §2 (quadratic: Stiefel SGD, polar retraction, ``t = 4cη·steps``,
    risk ``1 − tr(ÃGÃG)``) and §3 (homogeneous: plain SGD, ``t = η·steps``, risk ``2L/K(1)`` via the kernel).
    ``out`` (a folder) enables atomic checkpoints every ``checkpoint_every`` chunks (``out/checkpoint.npz``);
    ``resume=True`` continues from it and gives bit-identical results to an uninterrupted run on the same
    device (a checkpoint from another configuration raises ``ValueError`` naming the differing parameter).
    ``progress`` shows a rich progress bar with ETA on stderr. Returns a :class:`SimulationResult`.

    Example::

        cfg = QuadraticSGDConfig(d=64, M=4, N=4, beta=1.0, eta=1e-3, steps=2000, seeds=4)
        res = simulate(cfg)
        res.risk.shape  # (4, len(res.steps))
    """
    if not isinstance(config, QuadraticSGDConfig | HomogeneousSGDConfig):
        raise TypeError(
            f"`config`={type(config).__name__} must be a QuadraticSGDConfig or HomogeneousSGDConfig; build one first"
        )
    device = _device_for(config.device)
    ctx = jax.default_device(device) if device is not None else contextlib.nullcontext()
    with ctx:
        return _simulate(config, out=out, resume=resume, progress=progress)


def _simulate(cfg, *, out, resume, progress) -> SimulationResult:
    t_start = time.perf_counter()
    params_dict = config_params(cfg)
    S, K = cfg.seeds, cfg.steps
    C = cfg.chunk_size
    sched = log_schedule(K, cfg.n_log)
    # log slots per chunk: ≥ the logs any chunk holds (the schedule has at most n_log + 1 entries), and
    # independent of ``steps`` so that runs of different lengths share the compiled chunk
    Lc = int(min(C, cfg.n_log + 1))
    n_chunks = -(-K // C)
    hp = _hyper(cfg)
    blowup = jnp.asarray(cfg.blowup, jnp.float64)

    def example_args(model):
        params0, _, _, sk, ok = jax.eval_shape(_make_setup(model), cfg.seed, jnp.arange(S, dtype=jnp.uint32), hp)
        state = (params0, jnp.ones((S,), bool), jnp.full((S,), -1, jnp.int64), jnp.zeros((S,), jnp.float64))
        i64 = jnp.int64(0)
        return (state, hp, blowup, sk, ok, i64, i64, jnp.zeros((Lc + 1,), jnp.int64))

    model, setup, compiled, final_fn, compile_seconds = _compiled(cfg, Lc, example_args)
    params0, initial_state, obs0, sample_keys, obs_keys = setup(cfg.seed, jnp.arange(S, dtype=jnp.uint32), hp)
    initial_state = {k: np.asarray(v) for k, v in initial_state.items()}
    obs0 = {k: np.asarray(v) for k, v in obs0.items()}

    state = (params0, jnp.ones((S,), bool), jnp.full((S,), -1, jnp.int64), jnp.zeros((S,), jnp.float64))
    logs: list[dict] = [obs0]
    log_steps: list[int] = [0]
    j0 = 0
    run_seconds = 0.0
    resumed = False
    ckpt_path = None
    if out is not None:
        os.makedirs(out, exist_ok=True)
        ckpt_path = os.path.join(out, "checkpoint.npz")
    if resume:
        if ckpt_path is None:
            raise ValueError("`resume`=True needs `out`: the folder holding checkpoint.npz; pass --out DIR")
        checkpoint.require_same_engine(ckpt_path, params_dict["engine"])
        ck = checkpoint.load(ckpt_path, params_dict)
        if ck is not None:
            state = jax.tree_util.tree_map(jnp.asarray, ck["state"])
            logs, log_steps, j0, run_seconds = ck["logs"], ck["log_steps"], ck["chunk"], ck["run_seconds"]
            resumed = True

    bar = Progress(f"{cfg.model} SGD", n_chunks, unit="chunks", mode="bar" if progress else None, initial=j0)
    try:
        t_run = time.perf_counter()
        for j in range(j0, n_chunks):
            step0 = j * C
            n_active = min(C, K - step0)
            local = sched[(sched > step0) & (sched <= step0 + n_active)] - step0
            log_local = np.full((Lc + 1,), C + 2, np.int64)
            log_local[: len(local)] = local
            state, buf, ptr = compiled(
                state,
                hp,
                blowup,
                sample_keys,
                obs_keys,
                np.int64(step0),  # numpy scalars and arrays: no per-chunk JAX dispatch on the host
                np.int64(n_active),
                log_local,
            )
            nlog = int(ptr)
            if nlog:
                host = {k: np.asarray(v)[:nlog] for k, v in buf.items()}
                for q in range(nlog):
                    logs.append({k: v[q] for k, v in host.items()})
                log_steps.extend(int(s) + step0 for s in local[:nlog])
            bar.update(j + 1)
            if ckpt_path is not None and ((j + 1) % cfg.checkpoint_every == 0) and j + 1 < n_chunks:
                jax.block_until_ready(state)
                elapsed = run_seconds + time.perf_counter() - t_run
                checkpoint.save(ckpt_path, params_dict, state, logs, log_steps, j + 1, elapsed)
        jax.block_until_ready(state)
        run_seconds += time.perf_counter() - t_run
    finally:
        bar.close()

    params, alive, died_at, drift_max = state
    final = {}
    t_final = time.perf_counter()
    if final_fn is not None:
        final = {k: np.asarray(v) for k, v in final_fn(params, obs_keys, hp).items()}
        final["seconds"] = time.perf_counter() - t_final
    samples_done = S * cfg.batch * max(0, K - j0 * C)
    return assemble_result(
        cfg,
        params_dict,
        sched,
        log_steps,
        logs,
        np.asarray(died_at),
        np.asarray(drift_max),
        final,
        initial_state,
        run_seconds,
        time.perf_counter() - t_start,
        compile_seconds,
        resumed,
        {_final_name(cfg): np.asarray(params)},
        samples_done,
    )


def _final_name(cfg) -> str:
    quad = isinstance(cfg, QuadraticSGDConfig)
    if cfg.engine_used == "reduced":
        return "X" if quad else "W_c"
    return "U" if quad else "W"
