"""The reduced engine's compiled pieces: per-seed model adapter and the chunk function (docs/theory.md §5).

Same layout and outputs as the full engine (``engine``): per seed ``s`` the key ``k_s = fold_in(key(seed), s)``
gives the initial state (``fold_in(k_s, 0)``), the frame inputs of block ``b`` (steps ``bk + 1 … bk + k``, all
drawn by one generator call from ``fold_in(fold_in(k_s, 1), b)``, ``reduced.block_randomness``) and Phase II
(``fold_in(k_s, 2)``); with label noise (homogeneous) block ``b``'s ε (k, B) from
``fold_in(chunk.label_noise_key(fold_in(k_s, 1)), b)``, the inputs unchanged. So a seed's trajectory depends
neither on the number of seeds beside it nor on the chunk size (the block length ``k`` is ``reduced.layout``'s, the
same for every chunk size that is a multiple of it, as the automatic ones are). A chunk is ``C/k`` blocks of ``k``
steps; each block ends with a fold-back of the frame (``reduced.fold_*``), so chunk boundaries (checkpoints,
resume) always see the folded N-direction frame.
Divergence rules are the full engine's: a non-finite or ~90° step, a logged risk that is non-finite or above
``blowup``, or (quadratic) a drift ``‖XᵀX − I‖_F > 1e-2`` before the per-chunk Newton–Schulz pass freezes the seed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from . import homogeneous as _hom
from . import quadratic as _quad
from . import reduced as _red
from .chunk import Model, finish_chunk, label_noise_key, log_buffer, step_and_log
from .config import QuadraticSGDConfig


def build_model(cfg):
    """A ``chunk.Model`` for the reduced state: quadratic ``X`` (D, N), homogeneous ``W_c`` (N, D)."""
    dt = jnp.dtype(cfg.dtype)
    lay = cfg.reduced_layout
    M = cfg.M
    if isinstance(cfg, QuadraticSGDConfig):

        def observe(X, key, step, hp):
            a = hp["a"][:M]
            obs = _quad.observe(X[:M], a, hp["c"].astype(jnp.float64))
            if cfg.phase2 == "logged":
                fit = _red.phase2_frame(X[:M], X[M:], jax.random.fold_in(key, step), a, cfg.n_prime, dt)
                obs["risk_phase2"] = fit["risk_phase2"]
            return obs

        return Model(
            init=lambda k: _red.quadratic_init(k, cfg.d, lay, dt),
            step=lambda X, x, live, hp: _quad.stiefel_step(X, x, hp["a"], hp["c"], hp["eta"], live),
            observe=observe,
            reorth=_quad.reorthonormalise,
            initial_state=lambda X: {"Y0": X[:M].astype(jnp.float64)},
        )
    sigma, dsigma, kernel = _hom.make_fns(cfg.activation)

    def initial_state(W):
        W64 = W.astype(jnp.float64)
        return {"P0": W64[:, :M], "Q0": _red._mm(W64, W64.T)}

    return Model(
        init=lambda k: _red.homogeneous_init(k, cfg.d, lay, cfg.init_scale, dt),
        step=_hom.model_step(sigma, dsigma, noisy=cfg.label_noise > 0.0),
        observe=lambda W, key, step, hp: _hom.observe(W, hp["a"], kernel),
        reorth=lambda W: (W, jnp.zeros((), jnp.float64)),
        initial_state=initial_state,
    )


def make_chunk(cfg, model, C: int, Lc: int):
    """The compiled chunk of the reduced engine; same signature and state as ``engine._make_chunk``."""
    dt = jnp.dtype(cfg.dtype)
    # the block length k divides C by construction (``reduced.layout`` takes gcd with the chunk); with
    # C = cfg.chunk_size this is ``cfg.reduced_layout``, the layout the initial state was drawn with
    lay = _red.layout(cfg.M, cfg.N, cfg.batch, C)
    k = lay.k
    nb = C // k
    quad = isinstance(cfg, QuadraticSGDConfig)
    fold = (lambda X: _red.fold_quadratic(X, lay)) if quad else (lambda W: _red.fold_homogeneous(W, lay))
    vstep = jax.vmap(model.step, in_axes=(0, 0, 0, None))
    vobs = jax.vmap(model.observe, in_axes=(0, 0, None, None))
    vfold = jax.vmap(fold)

    def draws(sk, block):
        """The inputs (k, B, D) of one seed's block number ``block`` (global: steps ``block·k + 1 … block·k + k``),
        all from one key ``fold_in(k_s1, block)`` (``reduced.block_randomness``)."""
        g, rc = _red.block_randomness(jax.random.fold_in(sk, block), cfg.d, lay, dt)
        return _red.block_inputs(g, rc, lay, dt)

    if not quad and cfg.label_noise > 0.0:  # ((k, B, D), (k, B)): the same x, and each sample's label noise ε
        plain = draws

        def draws(sk, block):
            eps = jax.random.normal(jax.random.fold_in(label_noise_key(sk), block), (k, cfg.batch), dtype=dt)
            return plain(sk, block), eps

    def chunk(state, hp, blowup, sample_keys, obs_keys, step0, n_active, log_local):
        params, alive, died_at, drift_max = state
        buf0 = log_buffer(jax.eval_shape(lambda p: vobs(p, obs_keys, 0, hp), params), Lc)

        def block(carry, bi):
            params, alive, died_at, ptr, buf = carry
            x = jax.vmap(draws, in_axes=(0, None))(sample_keys, step0 // k + bi)  # (S, k, B, D) [, ε (S, k, B)]

            def body(carry, inp):
                jj, xj = inp
                args = (vstep, vobs, obs_keys, hp, blowup, log_local, n_active, step0)
                return step_and_log(carry, bi * k + jj, xj, *args), None

            carry = (params, alive, died_at, ptr, buf)
            xs = jax.tree_util.tree_map(lambda v: jnp.moveaxis(v, 1, 0), x)
            carry, _ = lax.scan(body, carry, (jnp.arange(k, dtype=jnp.int64), xs))
            params, alive, died_at, ptr, buf = carry
            return (vfold(params), alive, died_at, ptr, buf), None

        carry0 = (params, alive, died_at, jnp.zeros((), jnp.int32), buf0)
        (params, alive, died_at, ptr, buf), _ = lax.scan(block, carry0, jnp.arange(nb, dtype=jnp.int64))
        return finish_chunk(model.reorth, params, alive, died_at, drift_max, step0, n_active), buf, ptr

    return chunk
