"""Pieces shared by every compiled chunk of the simulator (full, blocked and reduced engines; docs/theory.md §4).

A chunk runs ``C`` steps of all seeds with ``lax.scan``; its state is ``(params, alive, died_at, drift_max)``
and it fills a buffer of ``Lc`` log slots. Each engine has its own way of drawing inputs and stepping, but the
per-step logging and divergence rules (:func:`step_and_log`), the empty log buffer (:func:`log_buffer`) and the
end-of-chunk re-orthonormalisation with its drift rule (:func:`finish_chunk`) are the same and live here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax

__all__ = [
    "DRIFT_LIMIT",
    "LABEL_NOISE_TAG",
    "Model",
    "eta_for_step",
    "finish_chunk",
    "label_noise_key",
    "log_buffer",
    "mark_divergence",
    "step_and_log",
]

#: A seed whose Stiefel drift ``‖UᵀU − I‖_F`` exceeds this before a chunk's re-orthonormalisation is frozen.
DRIFT_LIMIT = 1e-2


#: ``fold_in`` constant that derives a seed's label-noise key from its input key (:func:`label_noise_key`).
LABEL_NOISE_TAG = 0x6E6F6973  # "nois"


def label_noise_key(sample_key):
    """The label-noise key of one seed: ``fold_in(sample_key, LABEL_NOISE_TAG)``. The inputs keep their own keys
    (``fold_in(sample_key, step)`` resp. ``fold_in(sample_key, block)``), so turning label noise on leaves every
    input ``x`` unchanged; the noise of step (block) ``n`` is drawn from ``fold_in(label_noise_key, n)``."""
    return jax.random.fold_in(sample_key, LABEL_NOISE_TAG)


@dataclasses.dataclass(frozen=True)
class Model:
    """Per-seed pure functions; ``hp`` carries the run-time hyperparameters (ã, η, c) so that compiled code is
    reused across runs that differ only in them, in ``seed`` or in ``steps``."""

    init: Callable  # key -> params
    step: Callable  # (params, X (B, d) [or (X, ε (B,)) with label noise], live, hp) -> (params, ok)
    observe: Callable  # (params, key, step, hp) -> dict of arrays
    reorth: Callable  # params -> (params, drift)
    initial_state: Callable  # params -> dict of arrays saved for replay


def mark_divergence(alive, died_at, risk, step, blowup):
    """Freeze seeds whose logged risk is NaN/inf or above ``blowup``; record the step where that happened."""
    blown = alive & ~(jnp.isfinite(risk) & (risk <= blowup))
    return alive & ~blown, jnp.where(blown, step, died_at)


def log_buffer(observe_shapes, Lc: int):
    """``Lc`` NaN-filled log slots for every observable (``observe_shapes``: a pytree of ``ShapeDtypeStruct``)."""
    return jax.tree_util.tree_map(lambda s: jnp.full((Lc,) + s.shape, jnp.nan, s.dtype), observe_shapes)


def eta_for_step(hp, step):
    """``hp`` with ``"eta"`` set to the step size of update ``step`` (1-based) when the run has a schedule
    (``hp["eta_starts"]``, ``hp["eta_values"]``: update n uses ``values[#{starts < n}]``); else ``hp`` unchanged."""
    if "eta_starts" not in hp:
        return hp
    idx = jnp.sum(hp["eta_starts"] < step)
    return {**hp, "eta": hp["eta_values"][idx]}


def step_and_log(carry, i, x, vstep, vobs, obs_keys, hp, blowup, log_local, n_active, step0):
    """One SGD step of every seed on inputs ``x``, then, if step ``step0 + i + 1`` is logged, the observables and
    divergence freezing (shared by the full and the reduced engine's chunk loops). Steps ``i ≥ n_active`` are
    padding: nothing moves. ``carry`` = (params, alive, died_at, ptr, buf); returns the new carry."""
    params, alive, died_at, ptr, buf = carry
    active = i < n_active
    step = step0 + i + 1
    params, ok = vstep(params, x, alive & active, eta_for_step(hp, step))
    bad = alive & active & ~ok
    died_at = jnp.where(bad, step, died_at)
    alive = alive & ~bad

    # only the observables go through the ``cond`` (evaluated at logged steps alone); the log buffer stays out of
    # it, so that it is updated in place: one slot per step (the current one, rewritten unchanged when not logged)
    is_log = active & (i + 1 == log_local[ptr])
    empty = jax.tree_util.tree_map(lambda b: jnp.zeros(b.shape[1:], b.dtype), buf)
    obs = lax.cond(is_log, lambda p: vobs(p, obs_keys, step, hp), lambda p: empty, params)
    alive_l, died_l = mark_divergence(alive, died_at, obs["risk"], step, blowup)
    alive = jnp.where(is_log, alive_l, alive)
    died_at = jnp.where(is_log, died_l, died_at)
    slot = jnp.minimum(ptr, jax.tree_util.tree_leaves(buf)[0].shape[0] - 1)

    def write(b, o):
        old = lax.dynamic_index_in_dim(b, slot, keepdims=False)
        return lax.dynamic_update_index_in_dim(b, jnp.where(is_log, o, old), slot, 0)

    buf = jax.tree_util.tree_map(write, buf, obs)
    return params, alive, died_at, ptr + is_log.astype(ptr.dtype), buf


def finish_chunk(reorth, params, alive, died_at, drift_max, step0, n_active):
    """End of a chunk: re-orthonormalise every seed (``reorth``, vmapped), track the largest drift seen, and
    freeze a seed whose drift exceeded :data:`DRIFT_LIMIT` at the chunk's last active step. Returns the new
    chunk state ``(params, alive, died_at, drift_max)``."""
    params, drift = jax.vmap(reorth)(params)
    drift_max = jnp.maximum(drift_max, drift)
    lost = alive & ~(drift <= DRIFT_LIMIT)
    died_at = jnp.where(lost, step0 + n_active, died_at)
    alive = alive & ~lost
    return params, alive, died_at, drift_max
