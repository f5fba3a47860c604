"""Step-size schedules (``eta_schedule``) against independent truth: a constant schedule is the fixed-η run bit for
bit, a two-piece schedule is the explicit SGD loop re-derived here from the documented key layout, the reduced
engine agrees with the full one in law, flow time is Σ η_n, and bad schedules are refused by name."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hermite
from sgd_check import HomogeneousSGDConfig, QuadraticSGDConfig, simulate
from sgd_check._sim import homogeneous as hm

# the structures of tests/test_sim_engine.py: their fixed-η runs are compiled once for both files
HOM = dict(d=12, M=2, N=2, beta=1.0, eta=2e-3, steps=600, seeds=3, dtype="float64", init_scale=0.5)
QUAD = dict(d=16, M=3, N=3, beta=1.0, eta=4e-3, steps=700, seeds=3, dtype="float64", phase2="none")


def _same(r1, r2):
    for name in ("steps", "risk", "diverged_at"):
        assert np.array_equal(getattr(r1, name), getattr(r2, name), equal_nan=name == "risk"), name
    for k in r1.final_state:
        assert np.array_equal(r1.final_state[k], r2.final_state[k]), k


@pytest.mark.parametrize(
    "cls, base, engine",
    [
        (HomogeneousSGDConfig, HOM, "full"),
        (QuadraticSGDConfig, QUAD, "full"),  # the blocked batch-1 path
    ],
    ids=["homogeneous-full", "quadratic-full-blocked"],
)  # the reduced engine runs the same per-update lookup (chunk.step_and_log); it is checked in law below
def test_constant_schedule_is_the_fixed_eta_run_bit_for_bit(cls, base, engine):
    fixed = simulate(cls(**{**base, "engine": engine}), progress=False)
    pieces = ((137, base["eta"]), (400, base["eta"]))  # starts off the chunk and block boundaries
    sched = simulate(cls(**{**base, "engine": engine, "eta_schedule": pieces}), progress=False)
    _same(fixed, sched)
    np.testing.assert_allclose(fixed.t, sched.t, rtol=1e-15)  # Σ η_n summed piecewise: equal to round-off
    assert sched.params["eta_schedule"] == pieces and fixed.params["eta_schedule"] == ()
    # and the schedule does change the run when a piece differs (the lookup is live, not ignored)
    halve = ((137, base["eta"]), (400, base["eta"] / 2))  # same padded length: no new compilation
    other = simulate(cls(**{**base, "engine": engine, "eta_schedule": halve}), progress=False)
    assert not np.array_equal(other.final_state[next(iter(other.final_state))], fixed.final_state[
        next(iter(fixed.final_state))
    ])  # fmt: skip


def test_two_piece_schedule_is_the_explicit_sgd_loop():
    """The engine's documented key layout (docs/simulator.md) replayed by hand with ``homogeneous_step`` and the
    step size switching after update 90: same final W to float64 round-off."""
    d, N, M, seed, S, K, s1 = 12, 2, 2, 7, 2, 200, 90
    eta0, eta1 = 2e-3, 5e-4
    cfg = HomogeneousSGDConfig(
        d=d, M=M, N=N, beta=1.0, eta=eta0, steps=K, seeds=S, dtype="float64", init_scale=0.5, seed=seed,
        eta_schedule=((s1, eta1),), engine="full",
    )  # fmt: skip
    res = simulate(cfg, progress=False)
    act = hermite.activation("h4")
    a = jnp.asarray(cfg.teacher())
    base = jax.random.key(seed, impl="threefry2x32")

    @jax.jit
    def one(W, kx, n, eta):  # update n: inputs from fold_in(fold_in(k_s, 1), n)
        X = jax.random.normal(jax.random.fold_in(kx, n), (1, d), dtype=jnp.float64)
        return hm.homogeneous_step(W, X, a, eta, act.fn, act.dfn)

    for s in range(S):
        ks = jax.random.fold_in(base, s)
        W = hm.gaussian_init(jax.random.fold_in(ks, 0), d, N, 0.5, jnp.float64)
        kx = jax.random.fold_in(ks, 1)
        for n in range(1, K + 1):
            W, ok = one(W, kx, n, eta0 if n <= s1 else eta1)
            assert ok
        np.testing.assert_allclose(res.final_state["W"][s], np.asarray(W), rtol=1e-10, atol=1e-13)
    # flow time is Σ η_n: η0 per update up to s1, η1 after
    t_expected = np.where(res.steps <= s1, eta0 * res.steps, eta0 * s1 + eta1 * (res.steps - s1))
    np.testing.assert_allclose(res.t, t_expected, rtol=1e-14)
    np.testing.assert_allclose(cfg.eta_at([1, s1, s1 + 1, K]), [eta0, eta0, eta1, eta1])


@pytest.mark.slow
def test_reduced_engine_with_a_schedule_equals_the_full_engine_in_law():
    """σ = h2, d = 64, 128 seeds: η halves after 300 updates; mean risk at 6 logged steps agree (|z| ≤ 4) and
    the curves keep moving after the switch."""
    base = dict(d=64, M=2, N=2, beta=1.0, eta=3e-3, steps=900, seeds=128, dtype="float64", activation="h2")
    base.update(init_scale=0.3, n_log=24, eta_schedule=((300, 1.5e-3),))
    full = simulate(HomogeneousSGDConfig(**base, engine="full"), progress=False)
    redu = simulate(HomogeneousSGDConfig(**base, engine="reduced"), progress=False)
    assert not full.diverged.any() and not redu.diverged.any()
    idx = np.nonzero(full.steps >= 50)[0][:: max(1, np.sum(full.steps >= 50) // 6)]
    S = full.risk.shape[0]
    se = np.sqrt(full.risk[:, idx].var(0, ddof=1) / S + redu.risk[:, idx].var(0, ddof=1) / S)
    z = (full.risk[:, idx].mean(0) - redu.risk[:, idx].mean(0)) / se
    assert np.all(np.abs(z) <= 4.0), z
    after = full.steps > 300
    assert full.risk_mean[after][-1] < full.risk_mean[after][0] - 5 * se[-1]
    np.testing.assert_array_equal(full.t, redu.t)


@pytest.mark.parametrize(
    "sched, err, match",
    [
        ("100:1e-3", TypeError, "eta_schedule"),
        (((100,),), TypeError, r"eta_schedule\[0\]"),
        (((0, 1e-3),), ValueError, r"eta_schedule\[0\]\[0\]"),
        (((100, 1e-3), (100, 2e-3)), ValueError, r"eta_schedule\[1\]\[0\]"),
        (((600, 1e-3),), ValueError, r"steps − 1 = 599"),
        (((100, -1e-3),), ValueError, r"eta_schedule\[0\]\[1\]"),
        (((100, float("nan")),), ValueError, r"eta_schedule\[0\]\[1\]"),
        (((1.5, 1e-3),), TypeError, r"eta_schedule\[0\]\[0\]"),
    ],
)
def test_bad_schedule_names_the_piece(sched, err, match):
    with pytest.raises(err, match=match) as e:
        HomogeneousSGDConfig(**{**HOM, "eta_schedule": sched})
    assert "\n" not in str(e.value)


def test_schedule_is_normalised_and_recorded():
    cfg = QuadraticSGDConfig(**{**QUAD, "eta_schedule": [[100, 1e-3], (200, 2)]})
    assert cfg.eta_schedule == ((100, 1e-3), (200, 2.0))
    hash(cfg)  # frozen and hashable
    c4 = 4 * cfg.c
    np.testing.assert_allclose(cfg.flow_time([0, 100, 150, 700]), c4 * np.array([0, 0.4, 0.45, 0.5 + 1000]))


def test_checkpoint_records_the_schedule_and_resume_refuses_another(tmp_path):
    """The schedule is part of the recorded configuration: a checkpoint written under one schedule loads under the
    same one (JSON lists vs tuples compare equal) and is refused under another, naming ``eta_schedule``."""
    from sgd_check._sim import checkpoint, config_params

    cfg = HomogeneousSGDConfig(**{**HOM, "eta_schedule": ((100, 1e-3), (300, 5e-4))})
    path = str(tmp_path / "checkpoint.npz")
    state = (np.zeros((3, 2, 12)), np.ones(3, bool), np.full(3, -1), np.zeros(3))
    checkpoint.save(path, config_params(cfg), state, [{"risk": np.ones(3)}], [0], 1, 0.5)
    assert checkpoint.load(path, config_params(cfg))["chunk"] == 1
    with pytest.raises(ValueError, match="`eta_schedule`"):
        checkpoint.load(path, config_params(cfg.replace(eta_schedule=((100, 1e-3), (300, 4e-4)))))
    with pytest.raises(ValueError, match="`eta_schedule`"):
        checkpoint.load(path, config_params(cfg.replace(eta_schedule=())))
