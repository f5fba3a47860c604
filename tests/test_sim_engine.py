"""Simulator engine: determinism, seed independence, resume, divergence, Stiefel constraint, bad input."""

import numpy as np
import pytest

from sgd_check import HomogeneousSGDConfig, QuadraticSGDConfig, simulate
from sgd_check._sim import checkpoint as _checkpoint

# One structure per model (compiled once for the module; η, seed and steps are run-time inputs).
QUAD = dict(d=16, M=3, N=3, beta=1.0, eta=4e-3, steps=700, seeds=3, dtype="float64", phase2="none")
HOM = dict(d=12, M=2, N=2, beta=1.0, eta=2e-3, steps=600, seeds=3, dtype="float64", init_scale=0.5)


def _q(**kw):
    return QuadraticSGDConfig(**{**QUAD, **kw})


def _h(**kw):
    return HomogeneousSGDConfig(**{**HOM, **kw})


def _same(r1, r2):
    for name in ("steps", "risk", "diverged_at"):
        assert np.array_equal(getattr(r1, name), getattr(r2, name), equal_nan=name == "risk"), name
    for k in r1.final_state:
        assert np.array_equal(r1.final_state[k], r2.final_state[k])


def test_same_seed_same_numbers_and_seed_independent_of_batch_of_seeds():
    r1 = simulate(_q(), progress=False)
    r2 = simulate(_q(), progress=False)
    _same(r1, r2)
    assert np.array_equal(r1.G_diag, r2.G_diag)
    other = simulate(_q(seed=1), progress=False)
    assert not np.allclose(other.risk[:, -1], r1.risk[:, -1])
    # seed s draws from fold_in(key(seed), s): its trajectory does not depend on how many seeds run with it
    solo = simulate(_q(seeds=1), progress=False)
    np.testing.assert_allclose(solo.risk[0], r1.risk[0], rtol=1e-12)  # equal up to vectorisation round-off
    # the schedule, time map and initial state are as documented
    assert r1.steps[0] == 0 and r1.steps[-1] == QUAD["steps"]
    np.testing.assert_allclose(r1.t, 4 * (1 / np.sqrt(3)) * QUAD["eta"] * r1.steps)
    np.testing.assert_allclose(r1.initial_state["Y0"].shape, (3, 3, 3))
    G0 = np.einsum("smn,skn->smk", r1.initial_state["Y0"], r1.initial_state["Y0"])
    np.testing.assert_allclose(r1.G_diag[:, 0], np.diagonal(G0, axis1=1, axis2=2), atol=1e-14)


@pytest.mark.parametrize("make", [_q, _h], ids=["quadratic", "homogeneous"])
def test_resume_is_bit_identical(tmp_path, monkeypatch, make):
    cfg = make(checkpoint_every=1, steps=700 if make is _q else 2500)  # ≥ 3 chunks (256 / 1024 steps)
    full = simulate(cfg, progress=False)
    real_save = _checkpoint.save
    calls = []

    def interrupt_after_two(*args, **kw):
        real_save(*args, **kw)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the run dies right after its second checkpoint

    monkeypatch.setattr(_checkpoint, "save", interrupt_after_two)
    with pytest.raises(KeyboardInterrupt):
        simulate(cfg, out=str(tmp_path), progress=False)
    monkeypatch.setattr(_checkpoint, "save", real_save)
    resumed = simulate(cfg, out=str(tmp_path), resume=True, progress=False)
    assert resumed.resumed
    _same(full, resumed)
    # a checkpoint from another configuration is refused, naming the parameter that differs
    with pytest.raises(ValueError, match="`eta`"):
        simulate(cfg.replace(eta=cfg.eta / 2), out=str(tmp_path), resume=True, progress=False)


def test_stiefel_constraint_holds_over_long_float32_runs():
    cfg = QuadraticSGDConfig(d=24, M=3, N=4, beta=1.0, eta=2e-3, steps=20_000, seeds=2, phase2="none", n_log=8)
    res = simulate(cfg, progress=False)
    assert not res.diverged.any()
    # drift is measured in float64 before each (per-chunk) re-orthonormalisation
    assert 0 < res.stiefel_drift.max() <= 1e-5
    assert cfg.dtype == "float32" and res.final_state["U"].dtype == np.float32  # the default, although x64 is on
    U = res.final_state["U"].astype(np.float64)
    gram = np.einsum("sdi,sdj->sij", U, U)
    assert np.abs(gram - np.eye(4)).max() <= 1e-5
    assert np.all(res.risk[:, -1] < res.risk[:, 0])  # and it learned something


def test_divergence_freezes_only_the_failing_seeds():
    # homogeneous, η far above the stable range η ≲ ã d^{-k/2}: every seed blows up, at different steps
    res = simulate(_h(eta=0.5, steps=600), progress=False)
    assert res.diverged.all()
    assert res.suggested_eta is not None and res.suggested_eta < 0.5
    for s in range(res.risk.shape[0]):
        k = res.diverged_at[s]
        assert 0 < k <= 600
        assert np.all(np.isnan(res.risk[s, res.steps >= k]))
        assert np.all(np.isfinite(res.risk[s, res.steps < k]))
    assert np.isnan(res.risk_mean).all()
    # quadratic, huge η: the first step turns the span by ~90°, flagged at step 1; a sane run is not flagged
    bad = simulate(_q(eta=1e6, steps=300), progress=False)
    assert bad.diverged.all() and np.all(bad.diverged_at == 1)
    good = simulate(_q(), progress=False)
    assert not good.diverged.any() and good.suggested_eta is None


def test_one_diverging_seed_does_not_stop_the_others():
    # at this η (seed 2) one of three seeds blows up early (step 118) and the others finish
    res = simulate(_h(eta=0.005, seed=2), progress=False)
    assert res.diverged.tolist() == [False, False, True] and 0 < res.diverged_at[2] < 600
    ok = ~res.diverged
    assert np.all(np.isfinite(res.risk[ok]))
    np.testing.assert_allclose(res.risk_mean, res.risk[ok].mean(axis=0))


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(eta=0.0), "eta"),
        (dict(eta=-1.0), "eta"),
        (dict(steps=0), "steps"),
        (dict(seeds=0), "seeds"),
        (dict(N=17), "N"),
        (dict(M=17), "M"),
        (dict(batch=0), "batch"),
        (dict(dtype="float16"), "dtype"),
        (dict(device="tpu"), "device"),
        (dict(phase2="sometimes"), "phase2"),
    ],
)
def test_bad_config_names_the_argument(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _q(**kw)


def test_float32_is_the_default_working_dtype_although_hermite_enables_x64():
    """hermite switches JAX to x64 for the process (documented, hermite.enable_x64); the simulator's float32
    default comes from its configs' explicit dtypes, not from JAX's default: the state stays float32, the
    observables are float64. (The quadratic full engine: the long float32 run above; the reduced engine:
    tests/test_sim_reduced.py::test_float32_agrees_with_float64_and_d_1e9_loses_nothing.) Tiny, to compile fast."""
    import jax

    assert jax.config.jax_enable_x64
    cfg = HomogeneousSGDConfig(d=4, M=1, N=1, beta=1.0, eta=1e-3, steps=2, n_log=1)
    assert cfg.dtype == "float32"
    res = simulate(cfg, progress=False)
    assert res.final_state["W"].dtype == np.float32 and res.initial_state["W0"].dtype == np.float64
    assert np.isfinite(res.risk).all()


def test_importing_hermite_switches_jax_to_x64_and_nothing_else_needs_to():
    """The documented side effect, in a fresh process: x64 is off before ``import hermite`` and on after it."""
    import subprocess
    import sys

    code = (
        "import jax; assert not jax.config.jax_enable_x64; import hermite; assert jax.config.jax_enable_x64; "
        "import jax.numpy as jnp; print(jnp.zeros(1).dtype)"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "JAX_ENABLE_X64"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "float64"
