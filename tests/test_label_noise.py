"""Gaussian label noise in the homogeneous simulator (``HomogeneousSGDConfig.label_noise``) against independent truth.

* the step with noise vs ``jax.grad`` of the batch loss with noisy labels;
* full engine: the noise of every sample of steps 1 and 2 is *recovered* from the trajectories (the update is
  linear in the labels, and the inputs are regenerated from the documented key layout and checked against an
  autodiff step without noise), then tested for its law: mean 0, variance 1, Gaussian, independent across the
  batch, across steps and of the inputs;
* both engines' compiled chunks, read through a probe model: one fresh N(0, 1) per sample and step, white across
  the batch and the steps (inside and across the reduced engine's blocks) and independent of the inputs;
* reduced vs full engine with noise on: the same mean logged risk and norm growth (in distribution).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from sgd_check import HomogeneousSGDConfig, simulate
from sgd_check._sim import homogeneous as hm

# one structure per engine and noise flag (4 compilations in all): float64, B = 3 (reduced block length k = 2)
_BASE = dict(d=24, M=2, N=3, beta=1.0, batch=3, seeds=256, dtype="float64", n_log=8, chunk=16)


def _run(engine, steps, eta, label_noise=None, seed=0):
    kw = dict(_BASE, engine=engine, steps=steps, eta=eta, seed=seed)
    if label_noise is not None:
        kw["label_noise"] = label_noise
    return simulate(HomogeneousSGDConfig(**kw), progress=False)


def _f(W, X, sigma):
    """Student output f(x_b) = Σ_i ‖w_i‖² σ(⟨w_i, x_b⟩/‖w_i‖), written out independently of the simulator."""
    n = jnp.linalg.norm(W, axis=1)
    return jnp.sum(n**2 * sigma((X @ W.T) / n), axis=1)


def test_noisy_step_is_sgd_on_the_noisy_batch_loss(rng):
    """W − η ∇_W ½ mean_b (f(x_b) − y_b − noise_b)² by autodiff (float64), B = 1 and 3."""
    sigma, dsigma, _ = hm.make_fns("h4")
    d, N, M, eta = 6, 3, 2, 0.05
    a = jnp.asarray([0.8, 0.6])
    W = jnp.asarray(rng.standard_normal((N, d)) * 0.7)

    @jax.jit
    def autodiff(W, X, noise):
        def loss(W):
            y = jnp.sum(a * sigma(X[:, :M]), axis=1) + noise
            return 0.5 * jnp.mean((_f(W, X, sigma) - y) ** 2)

        return W - eta * jax.grad(loss)(W)

    for B in (1, 3):
        X = jnp.asarray(rng.standard_normal((B, d)))
        noise = jnp.asarray(rng.standard_normal(B) * 0.9)
        got, ok = jax.jit(lambda W, X, n: hm.homogeneous_step(W, X, a, eta, sigma, dsigma, True, noise=n))(W, X, noise)
        assert bool(ok)
        np.testing.assert_allclose(np.asarray(got), np.asarray(autodiff(W, X, noise)), rtol=1e-12, atol=1e-13)
        clean, _ = hm.homogeneous_step(W, X, a, eta, sigma, dsigma, True)
        assert not np.allclose(np.asarray(got), np.asarray(clean))  # the noise does enter


def _inputs(seed, n_seeds, step, B, d):
    """Inputs of SGD step ``step`` of every seed, from the key layout documented in ``sgd_check._sim.engine``:
    ``normal(fold_in(fold_in(fold_in(key(seed), s), 1), step), (B, d))``."""
    base = jax.random.key(seed, impl="threefry2x32")

    def one(s):
        k = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(base, s), 1), step)
        return jax.random.normal(k, (B, d), dtype=jnp.float64)

    return np.asarray(jax.vmap(one)(jnp.arange(n_seeds, dtype=jnp.uint32)))


@pytest.fixture(scope="module")
def recovered():
    """ε (S, 2, B) of steps 1 and 2 of every seed, recovered from full-engine trajectories, and the inputs X
    (S, 2, B, d). With ∂f_b := ∂f(x_b)/∂W at the pre-step W, a step with noisy labels is
    W⁺ = W − (η/B) Σ_b (f_b − y*_b − σ_ε ε_b) ∂f_b, so W⁺ − step_without_noise(W) = (η σ_ε / B) Σ_b ε_b ∂f_b: a
    least-squares solve for the B numbers ε_b (N·d equations), whose residual must vanish."""
    sigma, _, _ = hm.make_fns("h4")
    S, B, d, M = _BASE["seeds"], _BASE["batch"], _BASE["d"], _BASE["M"]
    a = jnp.asarray(HomogeneousSGDConfig(**dict(_BASE, eta=1.0, steps=1)).teacher())
    eta, sd = 0.01, 0.8

    def y_star(X):
        return jnp.sum(a * sigma(X[:, :M]), axis=1)

    def loss(W, X, noise):
        return 0.5 * jnp.mean((_f(W, X, sigma) - y_star(X) - noise) ** 2)

    step_ad = jax.jit(jax.vmap(lambda W, X: W - eta * jax.grad(loss)(W, X, 0.0)))
    jac = jax.jit(jax.vmap(jax.jacrev(lambda W, X: _f(W, X, sigma))))  # (S, B, N, d): ∂f_b/∂W

    clean1 = _run("full", 1, eta)
    noisy1 = _run("full", 1, eta, sd)
    noisy2 = _run("full", 2, eta, sd)
    W0 = clean1.initial_state["W0"]
    np.testing.assert_array_equal(W0, noisy1.initial_state["W0"])
    X = np.stack([_inputs(0, S, n, B, d) for n in (1, 2)], axis=1)
    # the regenerated inputs are the simulator's: its noise-free step is the autodiff step on them
    np.testing.assert_allclose(clean1.final_state["W"], step_ad(W0, X[:, 0]), rtol=1e-11, atol=1e-14)

    eps, resid = [], []
    for W_before, W_after, Xn in (
        (W0, noisy1.final_state["W"], X[:, 0]),
        (noisy1.final_state["W"], noisy2.final_state["W"], X[:, 1]),
    ):
        diff = (W_after - np.asarray(step_ad(W_before, Xn))).reshape(S, -1) * (B / (eta * sd))
        G = np.asarray(jac(W_before, Xn)).reshape(S, B, -1)
        e = np.stack([np.linalg.lstsq(G[s].T, diff[s], rcond=None)[0] for s in range(S)])
        resid.append(np.max(np.abs(np.einsum("sb,sbk->sk", e, G) - diff)) / np.max(np.abs(diff)))
        eps.append(e)
    return np.stack(eps, axis=1), X, max(resid), noisy1, clean1


def test_noise_enters_as_one_label_shift_per_sample(recovered):
    """W⁺(σ_ε) − W⁺(0) lies exactly in the span of the B per-sample gradients ∂f_b/∂W at the *same* inputs: the
    noise moves the labels only, and the inputs x are the noise-free run's."""
    _, _, resid, _, _ = recovered
    assert resid < 1e-8, resid


def test_recovered_noise_is_standard_normal_and_white(recovered):
    """The recovered ε: mean 0, variance 1 (the scale σ_ε), Gaussian; uncorrelated across the batch (noise drawn
    once per step would give correlation 1), across steps 1 and 2 (once per chunk or per group of steps), and with
    the inputs and the teacher's labels (noise tied to x)."""
    eps, X, _, _, _ = recovered
    n = eps.size  # 256 seeds × 2 steps × 3 samples = 1536
    e = eps.ravel()
    assert abs(e.mean()) < 4 / np.sqrt(n), e.mean()
    assert abs(e.var() - 1.0) < 4 * np.sqrt(2 / n), e.var()
    assert stats.kstest(e, "norm").pvalue > 1e-3
    lim = 4 / np.sqrt(eps.shape[0])  # |corr| of independent pairs over S seeds: ≈ 1/√S
    for b, c in ((0, 1), (0, 2), (1, 2)):
        assert abs(np.corrcoef(eps[:, 0, b], eps[:, 0, c])[0, 1]) < lim
    for b in range(eps.shape[2]):
        assert abs(np.corrcoef(eps[:, 0, b], eps[:, 1, b])[0, 1]) < lim
    # independent of the inputs: regress ε (and ε²) on every coordinate x_j, x_j² − 1 and σ(x_j) of its own sample
    # (and an intercept); under independence n·R² is ≈ χ² with as many degrees of freedom as features
    sigma, _, _ = hm.make_fns("h4")
    x = X.reshape(-1, X.shape[-1])
    F = np.concatenate([np.ones((n, 1)), x, x * x - 1.0, np.asarray(sigma(jnp.asarray(x)))], axis=1)
    for target in (e, e * e):  # ε and ε² (a noise scale that depends on x)
        coef = np.linalg.lstsq(F, target, rcond=None)[0]
        r2 = 1.0 - np.sum((target - F @ coef) ** 2) / np.sum((target - target.mean()) ** 2)
        assert stats.chi2.sf(n * r2, F.shape[1] - 1) > 1e-3, r2


def test_logged_risk_is_noise_free_and_zero_noise_is_the_old_stream(recovered):
    """With noise the logged risk is the noise-free relative risk E(f − f_*)²/K(1) of the state (Monte Carlo on 3
    seeds' final W, 10⁵ fresh inputs each, E f_*² = K(1)Σã² taken exact), not E(f − y)²/K(1), which adds the
    Bayes term σ_ε²/K(1) = 0.64.
    label_noise = 0 gives the same numbers as leaving the field out."""
    _, _, _, noisy1, _ = recovered
    sigma, _, kernel = hm.make_fns("h4")
    K1, M = float(kernel.K1), _BASE["M"]
    a = HomogeneousSGDConfig(**dict(_BASE, eta=1.0, steps=1)).teacher()
    rng = np.random.default_rng(7)
    for s in range(3):
        W = noisy1.final_state["W"][s]
        X = rng.standard_normal((100_000, W.shape[1]))
        f = np.asarray(_f(jnp.asarray(W), jnp.asarray(X), sigma))
        y = np.asarray(sigma(jnp.asarray(X[:, :M]))) @ a
        e2 = f * f - 2.0 * f * y + K1 * np.sum(a * a)  # (f − y)² with E y² = K(1)Σã² exact (control variate)
        mc, se = e2.mean() / K1, e2.std() / K1 / np.sqrt(len(e2))
        logged = noisy1.risk[s, -1]
        assert abs(logged - mc) < 5 * se and 0.8**2 / K1 > 10 * se, (s, logged, mc, se)
    # (bit-identity of label_noise = 0 with the code before the field existed was checked once, both engines,
    # float32 and float64, when it was added; σ_ε = 0 and "not given" share one compiled chunk)
    a, b = _run("full", 40, 0.01), _run("full", 40, 0.01, 0.0)
    np.testing.assert_array_equal(a.risk, b.risk)
    np.testing.assert_array_equal(a.final_state["W"], b.final_state["W"])


@pytest.mark.parametrize("engine", ["full", "reduced"])
def test_engines_feed_one_fresh_standard_normal_per_sample_and_step(engine):
    """The per-step inputs of both engines' compiled chunks, read through a probe model whose step records, in a
    shift register kept in the first M = 8 state columns (which the reduced engine's fold-back leaves alone), the
    label noise ε, the first input coordinate x_0 and the normalised sum s of the first M + N input coordinates of
    each of the B = 3 samples over 8 steps (4 reduced blocks of k = 2 steps): ε must be N(0, 1) and uncorrelated
    across samples, across consecutive steps (inside and across blocks), and with x_0, s and their squares and
    absolute values."""
    from sgd_check._sim import engine as eng
    from sgd_check._sim import reduced_engine
    from sgd_check._sim.chunk import Model

    S, B, M, T = 256, 3, 8, 8
    cfg = HomogeneousSGDConfig(
        d=24, M=M, N=3 * B, beta=1.0, eta=1e-3, steps=T, batch=B, seeds=S, chunk=T, dtype="float64",
        engine=engine, label_noise=0.7,
    )  # fmt: skip
    width = cfg.reduced_layout.D if engine == "reduced" else cfg.d
    F = cfg.M + cfg.N

    def step(W, X, live, hp):
        X, eps = X
        # (3B,): ε_b, x_{b,0}, and the normalised sum of the M + N coordinates that are i.i.d. N(0, 1) in both
        # engines (teacher and frame so far), which sees any of them that ε might copy
        rec = jnp.concatenate([eps, X[:, 0], jnp.sum(X[:, :F], axis=1) / np.sqrt(F)])
        return W.at[:, :M].set(jnp.concatenate([rec[:, None], W[:, : M - 1]], axis=1)), jnp.bool_(True)

    probe = Model(
        init=None,
        step=step,
        observe=lambda W, key, step, hp: {"risk": jnp.zeros((), jnp.float64)},
        reorth=lambda W: (W, jnp.zeros((), jnp.float64)),
        initial_state=None,
    )
    make = reduced_engine.make_chunk if engine == "reduced" else eng._make_chunk
    chunk = jax.jit(make(cfg, probe, T, 1))
    base = jax.random.key(0, impl="threefry2x32")
    keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(S, dtype=jnp.uint32))
    sample_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
    state = (jnp.zeros((S, 3 * B, width)), jnp.ones(S, bool), jnp.full(S, -1, jnp.int64), jnp.zeros(S))
    out = chunk(state, eng._hyper(cfg), 1e3, sample_keys, sample_keys, 0, T, np.full(2, T + 2, np.int64))
    reg = np.asarray(out[0][0])[:, :, :M][:, :, ::-1]  # (S, 3B, T): step 1 … T
    eps, x0, xsum = reg[:, :B], reg[:, B : 2 * B], reg[:, 2 * B :]
    e = eps.ravel()
    n = e.size  # 6144
    assert abs(e.mean()) < 4 / np.sqrt(n) and abs(e.var() - 1.0) < 4 * np.sqrt(2 / n), (e.mean(), e.var())
    assert stats.kstest(e, "norm").pvalue > 1e-3
    lim = 4 / np.sqrt(S * T)
    for b, c in ((0, 1), (0, 2), (1, 2)):
        assert abs(np.corrcoef(eps[:, b].ravel(), eps[:, c].ravel())[0, 1]) < lim
    lim = 4 / np.sqrt(S * B * (T - 1))
    assert abs(np.corrcoef(eps[:, :, :-1].ravel(), eps[:, :, 1:].ravel())[0, 1]) < lim
    for x in (x0.ravel(), xsum.ravel()):
        for feature in (x, x * x, np.abs(x)):
            assert abs(np.corrcoef(e, feature)[0, 1]) < 4 / np.sqrt(n)
        assert abs(x.var() - 1.0) < 4 * np.sqrt(2 / n)  # the register holds inputs, not zeros


def test_mean_risk_and_norms_with_noise_agree_between_engines():
    """After 800 steps (η = 10⁻³, σ_ε = 4, 256 seeds per engine) the mean logged risk and the mean log of the total
    squared norm Σ_i ‖w_i‖² agree between the full and the reduced engine within 4 standard errors. The noise pumps
    the norms up (each step adds η²σ_ε²/B² Σ_b ‖∂f_b/∂W‖² to E‖W‖²): in the full engine the paired (same seed, same
    inputs) increase over the noise-free run is many standard errors, so the comparison sees the noise."""
    steps, eta, sd = 800, 1e-3, 4.0
    full, red, clean = (
        _run("full", steps, eta, sd, 3),
        _run("reduced", steps, eta, sd, 4),
        _run("full", steps, eta, 0.0, 3),
    )
    assert not (full.diverged.any() or red.diverged.any() or clean.diverged.any())

    def lognorm(r):
        return np.log(r.norms[:, -1].sum(axis=1))

    for f, r in ((full.risk[:, -1], red.risk[:, -1]), (lognorm(full), lognorm(red))):
        se = np.sqrt(f.var() / f.size + r.var() / r.size)
        assert abs(f.mean() - r.mean()) < 4 * se, (f.mean(), r.mean(), se)
    pump = lognorm(full) - lognorm(clean)
    assert pump.mean() > 10 * pump.std() / np.sqrt(pump.size), (pump.mean(), pump.std())
    # the noise-free runs end elsewhere: the engines' agreement is not that of two noise-free runs
    c, r = lognorm(clean), lognorm(red)
    assert abs(c.mean() - r.mean()) > 6 * np.sqrt(c.var() / c.size + r.var() / r.size), (c.mean(), r.mean())


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_label_noise_is_one_line_naming_the_field(bad):
    with pytest.raises(ValueError) as exc:
        HomogeneousSGDConfig(d=8, M=2, N=2, beta=1.0, eta=1e-3, steps=10, label_noise=bad)
    msg = str(exc.value)
    assert "`label_noise`" in msg and "\n" not in msg and "σ_ε" in msg


def test_cli_label_noise(run_cli):
    """``simulate homogeneous --label-noise`` reaches the config (parsed and built, not run: the engine is tested
    above); the quadratic model and a negative value are refused on one line naming the option."""
    from sgd_check.cli import build_parser
    from sgd_check.cli._simulate_cmd import build_config

    base = ("simulate", "homogeneous", "--d", "8", "--M", "2", "--N", "2", "--eta", "1e-3", "--steps", "20")
    assert build_config(build_parser().parse_args([*base, "--label-noise", "0.25"])).label_noise == 0.25
    assert build_config(build_parser().parse_args(list(base))).label_noise == 0.0
    status, _, err = run_cli(*base, "--label-noise", -1)
    assert status == 2 and "label_noise" in err and err.count("\n") == 1
    status, _, err = run_cli("simulate", "quadratic", *base[2:], "--label-noise", 0.1)
    assert status == 2 and "--label-noise" in err and err.count("\n") == 1


def test_checkpoint_from_before_label_noise_resumes(tmp_path):
    """A checkpoint written before ``label_noise`` existed (no such key) ran without noise: it is accepted for
    label_noise = 0 and refused, naming the parameter, for label_noise > 0."""
    from sgd_check._sim import checkpoint, config_params

    cfg = HomogeneousSGDConfig(d=8, M=2, N=2, beta=1.0, eta=1e-3, steps=10)
    old = {k: v for k, v in config_params(cfg).items() if k != "label_noise"}
    path = str(tmp_path / "checkpoint.npz")
    checkpoint.save(path, old, (np.zeros(2),), [{"risk": np.ones(1)}], [0], 0, 0.0)
    assert checkpoint.load(path, config_params(cfg)) is not None
    with pytest.raises(ValueError, match="`label_noise`=0.0 there but 0.5 now"):
        checkpoint.load(path, config_params(cfg.replace(label_noise=0.5)))
