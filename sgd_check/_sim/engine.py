"""The simulation engine: chunked ``lax.scan`` over steps, ``vmap`` over seeds, exact logging (docs/theory.md §2-§4).

Layout of one run:

* Per seed ``s`` the key ``k_s = fold_in(key(seed), s)`` (threefry) gives the initial state (``fold_in(k_s, 0)``),
  the inputs of step ``n`` (``fold_in(fold_in(k_s, 1), n)``, drawn inside the scan where they are used: this
  measured faster than one bulk draw per chunk, which round-trips through memory) and Phase II samples
  (``fold_in(k_s, 2)``). A seed's trajectory therefore depends neither on how many seeds run beside it nor on
  the chunk size.
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
import dataclasses
import math
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import hermite as _hermite  # noqa: F401  (float64 enabled: drift and risks are measured in float64)

from . import _sim_homogeneous as _hom
from . import _sim_quadratic as _quad
from . import _sim_reduced as _red
from ._sim_config import HomogeneousSGDConfig, QuadraticSGDConfig, log_schedule

__all__ = ["SimulationResult", "simulate"]

_DRIFT_LIMIT = 1e-2
_GROUP = 16  # steps whose inputs are drawn together (direct path)


@dataclasses.dataclass(frozen=True)
class SimulationResult:
    """Curves and final state of one ``simulate`` run (S seeds, T logged steps).

    ``steps`` (T,) logged SGD steps (0 first); ``t`` (T,) flow time (``time_unit``: quadratic ``4cη·steps``,
    homogeneous ``η·steps``); ``risk`` (S, T) relative population risk computed exactly from the state
    (quadratic: ``1 − tr(ÃGÃG)``, the risk with the optimal radial part; homogeneous: ``2L/K(1)``), NaN at and
    after a seed's divergence; ``risk_mean``/``risk_std`` (T,) over the seeds that never diverged (NaN if none);
    ``diverged`` (S,) bool, ``diverged_at`` (S,) step of failure or -1; ``suggested_eta`` (a smaller η, or None);
    ``G_diag`` (S, T, M) quadratic diagonal overlaps ``G_mm``; ``risk_student`` (S, T) quadratic Phase-I
    student's own relative risk; ``risk_phase2`` quadratic Phase-II least-squares risk, (S,) at the end or
    (S, T) at logged steps, or None; ``overlaps`` (S, T, N, M) homogeneous ``m_ip``; ``norms`` (S, T, N)
    homogeneous ``‖w_i‖²``; ``initial_state`` ``{"Y0": (S, M, N)}`` (``Y0 = U0[:M]`` = ``ΘᵀU0``) or
    ``{"W0": (S, N, d)}``; ``final_state`` ``{"U": (S, d, N)}`` or ``{"W": (S, N, d)}`` (working dtype);
    ``stiefel_drift`` (S,) largest ``‖UᵀU − I‖_F`` seen before a re-orthonormalisation
    (quadratic; 0 for homogeneous); ``samples_per_second`` sample-steps per second of the whole call (seeds ×
    batch × steps run by this call / ``seconds``, compilation, setup and Phase II included);
    ``engine_samples_per_second`` the same over the stepping loop alone; ``seconds`` total wall time;
    ``compile_seconds``; ``phase2`` (quadratic, ``phase2="end"``): ``n_prime``, ``target_excess``, the mean
    fitted and oracle risks side by side and their ratio, CG iterations, seconds. ``params["engine"]`` names the
    engine used (``"full"`` or ``"reduced"``; with ``"reduced"`` ``final_state`` holds frame coordinates
    ``{"X": (S, D, N)}`` or ``{"W_c": (S, N, D)}`` and the homogeneous ``initial_state`` is
    ``{"P0": (S, N, M), "Q0": (S, N, N)}``, ``P0 = W0Θ``, ``Q0 = W0W0ᵀ``).
    """

    model: str
    params: dict
    time_unit: str
    steps: np.ndarray
    t: np.ndarray
    risk: np.ndarray
    risk_mean: np.ndarray
    risk_std: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    suggested_eta: float | None
    initial_state: dict
    G_diag: np.ndarray | None = None
    risk_student: np.ndarray | None = None
    risk_phase2: np.ndarray | None = None
    overlaps: np.ndarray | None = None
    norms: np.ndarray | None = None
    stiefel_drift: np.ndarray | None = None
    final_state: dict | None = None
    samples_per_second: float = float("nan")
    seconds: float = float("nan")
    compile_seconds: float = float("nan")
    device: str = ""
    resumed: bool = False
    engine_samples_per_second: float = float("nan")
    phase2: dict | None = None

    def summary(self) -> dict:
        """A JSON-ready dict: the scalar fields and the per-seed curves (no overlaps or initial states)."""
        out = {
            "model": self.model,
            "params": self.params,
            "time_unit": self.time_unit,
            "steps": self.steps.tolist(),
            "t": self.t.tolist(),
            "risk": _nan_to_none(self.risk),
            "risk_mean": _nan_to_none(self.risk_mean),
            "risk_std": _nan_to_none(self.risk_std),
            "diverged": self.diverged.tolist(),
            "diverged_at": self.diverged_at.tolist(),
            "suggested_eta": self.suggested_eta,
            "samples_per_second": self.samples_per_second,
            "seconds": self.seconds,
            "compile_seconds": self.compile_seconds,
            "engine_samples_per_second": self.engine_samples_per_second,
            "device": self.device,
            "resumed": self.resumed,
        }
        if self.phase2 is not None:
            out["phase2"] = self.phase2
        if self.risk_student is not None:
            out["risk_student"] = _nan_to_none(self.risk_student)
        if self.risk_phase2 is not None:
            out["risk_phase2"] = _nan_to_none(self.risk_phase2)
        if self.stiefel_drift is not None:
            out["stiefel_drift_max"] = float(np.max(self.stiefel_drift))
        return out


def _step_and_log(carry, i, x, vstep, vobs, obs_keys, hp, blowup, log_local, n_active, step0):
    """One SGD step of every seed on inputs ``x``, then, if step ``step0 + i + 1`` is logged, the observables and
    divergence freezing (shared by the full and the reduced engine's chunk loops). Steps ``i ≥ n_active`` are
    padding: nothing moves. ``carry`` = (params, alive, died_at, ptr, buf); returns the new carry."""
    params, alive, died_at, ptr, buf = carry
    active = i < n_active
    step = step0 + i + 1
    params, ok = vstep(params, x, alive & active, hp)
    bad = alive & active & ~ok
    died_at = jnp.where(bad, step, died_at)
    alive = alive & ~bad

    def do_log(args):
        params, alive, died_at, ptr, buf = args
        obs = vobs(params, obs_keys, step, hp)
        alive, died_at = _mark_divergence(alive, died_at, obs["risk"], step, blowup)
        buf = jax.tree_util.tree_map(lambda b, o: b.at[ptr].set(o), buf, obs)
        return alive, died_at, ptr + 1, buf

    def no_log(args):
        _, alive, died_at, ptr, buf = args
        return alive, died_at, ptr, buf

    is_log = active & (i + 1 == log_local[ptr])
    alive, died_at, ptr, buf = lax.cond(is_log, do_log, no_log, (params, alive, died_at, ptr, buf))
    return params, alive, died_at, ptr, buf


def _mark_divergence(alive, died_at, risk, step, blowup):
    """Freeze seeds whose logged risk is NaN/inf or above ``blowup``; record the step where that happened."""
    blown = alive & ~(jnp.isfinite(risk) & (risk <= blowup))
    return alive & ~blown, jnp.where(blown, step, died_at)


def _nan_to_none(a):
    a = np.asarray(a, dtype=np.float64)
    return (
        [None if not np.isfinite(v) else float(v) for v in a.ravel()]
        if a.ndim <= 1
        else [_nan_to_none(row) for row in a]
    )


# ----------------------------------------------------------------------------------------------------------------
# Model adapters: per-seed init / step / observe / reorth, all pure and jittable.


@dataclasses.dataclass(frozen=True)
class _Model:
    """Per-seed pure functions; ``hp`` carries the run-time hyperparameters (ã, η, c) so that compiled code is
    reused across runs that differ only in them, in ``seed`` or in ``steps``."""

    init: Callable  # key -> params
    step: Callable  # (params, X (B, d), live, hp) -> (params, ok)
    observe: Callable  # (params, key, step, hp) -> dict of arrays
    reorth: Callable  # params -> (params, drift)
    initial_state: Callable  # params -> dict of arrays saved for replay


def _hyper(cfg) -> dict:
    dt = jnp.dtype(cfg.dtype)
    hp = {"a": jnp.asarray(cfg.teacher(), dtype=dt), "eta": jnp.asarray(cfg.eta, dtype=dt)}
    if isinstance(cfg, QuadraticSGDConfig):
        hp["c"] = jnp.asarray(cfg.c, dtype=dt)
    return hp


def _build_model(cfg) -> _Model:
    dt = jnp.dtype(cfg.dtype)
    if cfg.engine_used == "reduced":
        from . import _sim_reduced_engine

        return _sim_reduced_engine.build_model(cfg)
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

        return _Model(
            init=lambda k: _quad.haar_stiefel(k, cfg.d, cfg.N, dt),
            step=lambda U, X, live, hp: _quad.stiefel_step(U, X, hp["a"], hp["c"], hp["eta"], live),
            observe=observe,
            reorth=_quad.reorthonormalise,
            initial_state=lambda U: {"Y0": U[: cfg.M].astype(jnp.float64)},
        )
    sigma, dsigma, K, K1, _, _ = _hom.make_fns(cfg.activation)
    return _Model(
        init=lambda k: _hom.gaussian_init(k, cfg.d, cfg.N, cfg.init_scale, dt),
        step=lambda W, X, live, hp: _hom.homogeneous_step(W, X, hp["a"], hp["eta"], sigma, dsigma, live),
        observe=lambda W, key, step, hp: _hom.observe(W, hp["a"], K, K1),
        reorth=lambda W: (W, jnp.zeros((), jnp.float64)),
        initial_state=lambda W: {"W0": W.astype(jnp.float64)},
    )


# ----------------------------------------------------------------------------------------------------------------
# Compiled pieces (cached per structural configuration).


def _make_chunk(cfg, model: _Model, C: int, Lc: int):
    dt = jnp.dtype(cfg.dtype)
    B, d = cfg.batch, cfg.d
    vstep = jax.vmap(model.step, in_axes=(0, 0, 0, None))
    vobs = jax.vmap(model.observe, in_axes=(0, 0, None, None))
    G = math.gcd(C, _GROUP)

    def samples(k, step):
        return jax.random.normal(jax.random.fold_in(k, step), (B, d), dtype=dt)

    def chunk(state, hp, blowup, sample_keys, obs_keys, j, step0, n_active, log_local):
        params, alive, died_at, drift_max = state
        probe = jax.eval_shape(lambda p: vobs(p, obs_keys, 0, hp), params)
        buf0 = jax.tree_util.tree_map(lambda s: jnp.full((Lc,) + s.shape, jnp.nan, s.dtype), probe)

        def body(carry, inp):
            i, Xi = inp  # Xi (S, B, d): the inputs of step ``step0 + i + 1``
            return _step_and_log(carry, i, Xi, vstep, vobs, obs_keys, hp, blowup, log_local, n_active, step0), None

        def group(carry, g):
            # the inputs of G consecutive steps in one draw (same per-step keys, so the same numbers as drawing
            # step by step), consumed at once: small enough to stay in cache, large enough to amortise the draw
            idx = g * G + jnp.arange(G, dtype=jnp.int64)
            X = jax.vmap(lambda st: jax.vmap(samples, in_axes=(0, None))(sample_keys, st))(step0 + idx + 1)
            return lax.scan(body, carry, (idx, X))[0], None

        carry0 = (params, alive, died_at, jnp.zeros((), jnp.int32), buf0)
        (params, alive, died_at, ptr, buf), _ = lax.scan(group, carry0, jnp.arange(C // G, dtype=jnp.int64))
        params, drift = jax.vmap(model.reorth)(params)
        drift_max = jnp.maximum(drift_max, drift)
        lost = alive & ~(drift <= _DRIFT_LIMIT)
        died_at = jnp.where(lost, step0 + n_active, died_at)
        alive = alive & ~lost
        return (params, alive, died_at, drift_max), buf, ptr

    return chunk


_BLOCK = 64  # steps per block of the blocked quadratic batch-1 path


def _use_blocked(cfg) -> bool:
    return (
        isinstance(cfg, QuadraticSGDConfig)
        and cfg.engine_used == "full"
        and cfg.batch == 1
        and cfg.phase2 != "logged"
        and _BLOCKED_ENABLED
        and cfg.chunk_size % min(_BLOCK, cfg.chunk_size) == 0
    )


_BLOCKED_ENABLED = True


def _make_chunk_blocked(cfg, model: _Model, C: int, Lc: int):
    """Quadratic, batch 1: the same steps as :func:`_make_chunk` (same inputs, same map), run in blocks of
    ``k`` steps through ``_sim_quadratic.block_*`` so that the d-dimensional work is matrix-matrix."""
    dt = jnp.dtype(cfg.dtype)
    d, M, N = cfg.d, cfg.M, cfg.N
    k = min(_BLOCK, C)
    nb = C // k
    vobs_top = jax.vmap(_quad.observe, in_axes=(0, None, None))
    vstep = jax.vmap(_quad.block_step, in_axes=(0, 0, 0, 0, 0, None, None, None, 0))

    def samples(key, step):
        return jax.random.normal(jax.random.fold_in(key, step), (1, d), dtype=dt)[0]

    def chunk(state, hp, blowup, sample_keys, obs_keys, j, step0, n_active, log_local):
        params, alive, died_at, drift_max = state
        a, c, eta = hp["a"], hp["c"], hp["eta"]
        c64 = c.astype(jnp.float64)
        probe = jax.eval_shape(lambda u: vobs_top(u, a, c64), params[:, :M])
        buf0 = jax.tree_util.tree_map(lambda s: jnp.full((Lc,) + s.shape, jnp.nan, s.dtype), probe)

        def block(carry, bi):
            U0, alive, died_at, ptr, buf = carry
            first = step0 + bi * k + 1  # global step number of the block's first step
            steps_b = first + jnp.arange(k, dtype=jnp.int64)
            X = jax.vmap(lambda kk: jax.vmap(lambda st: samples(kk, st))(steps_b))(sample_keys)  # (S, k, d)
            Z, Gam, y = jax.vmap(_quad.block_begin, in_axes=(0, 0, None))(U0, X, a)
            S = U0.shape[0]
            Rt0 = jnp.broadcast_to(jnp.eye(N, dtype=dt), (S, N, N))
            Qt0 = jnp.zeros((S, N, k), dt)

            def inner(carry, jj):
                Rt, Qt, alive, died_at, ptr, buf = carry
                i = bi * k + jj  # index within the chunk
                active = i < n_active
                step = step0 + i + 1
                Rt, Qt, ok = vstep(Rt, Qt, Z[:, jj], Gam[:, :, jj], y[:, jj], jj, c, eta, alive & active)
                bad = alive & active & ~ok
                died_at = jnp.where(bad, step, died_at)
                alive = alive & ~bad

                def do_log(args):
                    Rt, Qt, alive, died_at, ptr, buf = args
                    Utop = jax.vmap(_quad.block_top)(U0[:, :M], X[:, :, :M], Rt, Qt)
                    obs = vobs_top(Utop, a, c64)
                    alive, died_at = _mark_divergence(alive, died_at, obs["risk"], step, blowup)
                    buf = jax.tree_util.tree_map(lambda b, o: b.at[ptr].set(o), buf, obs)
                    return alive, died_at, ptr + 1, buf

                def no_log(args):
                    _, _, alive, died_at, ptr, buf = args
                    return alive, died_at, ptr, buf

                is_log = active & (i + 1 == log_local[ptr])
                alive, died_at, ptr, buf = lax.cond(is_log, do_log, no_log, (Rt, Qt, alive, died_at, ptr, buf))
                return (Rt, Qt, alive, died_at, ptr, buf), None

            (Rt, Qt, alive, died_at, ptr, buf), _ = lax.scan(
                inner, (Rt0, Qt0, alive, died_at, ptr, buf), jnp.arange(k, dtype=jnp.int64)
            )
            U = jax.vmap(_quad.block_end)(U0, X, Rt, Qt)
            return (U, alive, died_at, ptr, buf), None

        carry0 = (params, alive, died_at, jnp.zeros((), jnp.int32), buf0)
        (params, alive, died_at, ptr, buf), _ = lax.scan(block, carry0, jnp.arange(nb, dtype=jnp.int64))
        params, drift = jax.vmap(model.reorth)(params)
        drift_max = jnp.maximum(drift_max, drift)
        lost = alive & ~(drift <= _DRIFT_LIMIT)
        died_at = jnp.where(lost, step0 + n_active, died_at)
        alive = alive & ~lost
        return (params, alive, died_at, drift_max), buf, ptr

    return chunk


def _make_setup(model: _Model):
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
    """Everything that changes the compiled code (not η, c, β, seed or steps, which are run-time inputs)."""
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
        getattr(cfg, "n_prime", None) if _logged2(cfg) else None,
        getattr(cfg, "init_scale", None),
        act_key,
        str(jax.config.jax_default_device),
        _use_blocked(cfg),
        cfg.engine_used,
    )


def _logged2(cfg) -> bool:
    return getattr(cfg, "phase2", None) == "logged"


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
        from ._sim_reduced_engine import make_chunk as maker
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


def config_params(cfg) -> dict:
    """The configuration as a JSON-ready dict (resolved defaults included: c, n_prime, chunk size)."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if f.name == "activation" and not isinstance(v, str | int | float):
            v = getattr(v, "name", None) or repr(v)
        out[f.name] = v
    out["chunk"] = cfg.chunk_size
    out["engine"] = cfg.engine_used  # the engine that ran (``auto`` resolved)
    out["model"] = cfg.model
    out["time_per_step"] = cfg.time_per_step
    return out


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
    from . import _checkpoint

    t_start = time.perf_counter()
    params_dict = config_params(cfg)
    S, K = cfg.seeds, cfg.steps
    C = cfg.chunk_size
    sched = log_schedule(K, cfg.n_log)
    T = len(sched)
    Lc = int(min(C, cfg.n_log + 1))  # log slots per chunk (≥ the logs any chunk holds; independent of steps)
    assert T <= cfg.n_log + 1
    n_chunks = -(-K // C)
    hp = _hyper(cfg)
    blowup = jnp.asarray(cfg.blowup, jnp.float64)

    def example_args(model):
        params0, _, _, sk, ok = jax.eval_shape(_make_setup(model), cfg.seed, jnp.arange(S, dtype=jnp.uint32), hp)
        state = (params0, jnp.ones((S,), bool), jnp.full((S,), -1, jnp.int64), jnp.zeros((S,), jnp.float64))
        i64 = jnp.int64(0)
        return (state, hp, blowup, sk, ok, i64, i64, i64, jnp.zeros((Lc + 1,), jnp.int64))

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
        _same_engine(ckpt_path, params_dict["engine"])
        ck = _checkpoint.load(ckpt_path, params_dict)
        if ck is not None:
            state = jax.tree_util.tree_map(jnp.asarray, ck["state"])
            logs, log_steps, j0, run_seconds = ck["logs"], ck["log_steps"], ck["chunk"], ck["run_seconds"]
            resumed = True

    bar = _Progress(n_chunks, enabled=progress, initial=j0, label=f"{cfg.model} SGD")
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
                jnp.int64(j),
                jnp.int64(step0),
                jnp.int64(n_active),
                jnp.asarray(log_local),
            )
            nlog = int(ptr)
            if nlog:
                host = {k: np.asarray(v[:nlog]) for k, v in buf.items()}
                for q in range(nlog):
                    logs.append({k: v[q] for k, v in host.items()})
                log_steps.extend(int(s) + step0 for s in local[:nlog])
            bar.update(j + 1)
            if ckpt_path is not None and ((j + 1) % cfg.checkpoint_every == 0) and j + 1 < n_chunks:
                jax.block_until_ready(state)
                elapsed = run_seconds + time.perf_counter() - t_run
                _checkpoint.save(ckpt_path, params_dict, state, logs, log_steps, j + 1, elapsed)
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
    return _assemble(
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


def _same_engine(path: str, engine: str) -> None:
    """Refuse to resume a checkpoint written by the other engine (its state is not this engine's state)."""
    if not os.path.exists(path):
        return
    import json

    with np.load(path) as z:
        stored = json.loads(bytes(z["meta"]).decode())["config"].get("engine", "full")
    if stored != engine:
        raise ValueError(
            f"`--resume` folder {os.path.dirname(path) or '.'} holds a run of the {stored!r} engine but `engine` is "
            f"{engine!r} now; rerun with --engine {stored}, or use another --out"
        )


def _final_name(cfg) -> str:
    quad = isinstance(cfg, QuadraticSGDConfig)
    if cfg.engine_used == "reduced":
        return "X" if quad else "W_c"
    return "U" if quad else "W"


def _assemble(
    cfg,
    params_dict,
    sched,
    log_steps,
    logs,
    died_at,
    drift_max,
    final,
    initial_state,
    run_seconds,
    seconds,
    compile_seconds,
    resumed,
    final_state,
    samples_done,
) -> SimulationResult:
    steps = np.asarray(log_steps, dtype=np.int64)
    if not np.array_equal(steps, sched):  # pragma: no cover - engine invariant
        raise RuntimeError(f"logged steps {steps.tolist()} differ from the schedule {sched.tolist()}")
    stacked = {k: np.stack([lg[k] for lg in logs], axis=1) for k in logs[0]}  # (S, T, ...)
    diverged = died_at >= 0
    dead_mask = diverged[:, None] & (steps[None, :] >= np.where(diverged, died_at, 0)[:, None])
    for k, v in stacked.items():
        v = v.astype(np.float64)
        v[dead_mask] = np.nan
        stacked[k] = v
    risk = stacked["risk"]
    ok = ~diverged
    if ok.any():
        risk_mean = risk[ok].mean(axis=0)
        risk_std = risk[ok].std(axis=0, ddof=1) if ok.sum() > 1 else np.zeros(len(steps))
    else:
        risk_mean = np.full(len(steps), np.nan)
        risk_std = np.full(len(steps), np.nan)
    suggested = float(cfg.eta / 4.0) if diverged.any() else None
    quad = isinstance(cfg, QuadraticSGDConfig)
    phase2 = None
    if quad and cfg.phase2 == "logged":
        phase2 = stacked["risk_phase2"]
    elif quad and cfg.phase2 == "end":
        phase2 = np.where(diverged, np.nan, final["risk_phase2"].astype(np.float64))
    phase2_info = None
    if quad and cfg.phase2 == "end":
        oracle = np.where(diverged, np.nan, final["risk_oracle"].astype(np.float64))
        good = ~diverged
        fit_m = float(np.mean(phase2[good])) if good.any() else float("nan")
        orc_m = float(np.mean(oracle[good])) if good.any() else float("nan")
        phase2_info = {
            "n_prime": cfg.n_prime,
            "target_excess": cfg.phase2_target,
            "risk_fitted_mean": fit_m,
            "risk_oracle_mean": orc_m,
            "excess_over_oracle": (fit_m - orc_m) / orc_m if orc_m > 0 else float("nan"),
            "risk_fitted": _nan_to_none(phase2),
            "risk_oracle": _nan_to_none(oracle),
            "cg_iterations_max": int(np.max(final["cg_iterations"])),
            "seconds": float(final["seconds"]),
            "method": "least squares on n_prime fresh samples drawn in the (M+N)-dim frame, conjugate gradients "
            "on He2 features from the population optimum; risks exact (relative)",
        }
    total = cfg.seeds * cfg.batch * cfg.steps
    return SimulationResult(
        model=cfg.model,
        params=params_dict,
        time_unit=cfg.time_unit,
        steps=steps,
        t=steps * cfg.time_per_step,
        risk=risk,
        risk_mean=risk_mean,
        risk_std=risk_std,
        diverged=diverged,
        diverged_at=died_at.astype(np.int64),
        suggested_eta=suggested,
        initial_state=initial_state,
        G_diag=stacked.get("G_diag"),
        risk_student=stacked.get("risk_student"),
        risk_phase2=phase2,
        overlaps=stacked.get("overlaps"),
        norms=stacked.get("norms"),
        stiefel_drift=drift_max if quad else np.zeros(cfg.seeds),
        final_state=final_state,
        samples_per_second=float(samples_done / seconds) if seconds > 0 else float("nan"),
        engine_samples_per_second=float(total / run_seconds) if run_seconds > 0 else float("nan"),
        phase2=phase2_info,
        seconds=float(seconds),
        compile_seconds=float(compile_seconds),
        device=str(jax.devices()[0].platform)
        if jax.config.jax_default_device is None
        else str(jax.config.jax_default_device),
        resumed=resumed,
    )


class _Progress:
    """A rich progress bar over chunks with ETA (stderr); silent when disabled or rich is missing."""

    def __init__(self, total: int, *, enabled: bool, initial: int, label: str):
        self._p = None
        if not enabled or total <= 1:
            return
        try:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        except ImportError:  # pragma: no cover
            return
        self._p = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} chunks"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._p.start()
        self._task = self._p.add_task(label, total=total, completed=initial)

    def update(self, done: int) -> None:
        if self._p is not None:
            self._p.update(self._task, completed=done)

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()
            self._p = None


def software_versions() -> dict[str, Any]:
    """Versions recorded next to results (``--out``)."""
    return {"python": platform.python_version(), "jax": jax.__version__, "numpy": np.__version__}
