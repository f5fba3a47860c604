"""Reduced-state engine (docs/theory.md §5) against independent truth: the explicit d-dimensional step, the full engine
in law, χ² moments, dense least squares, and the full engine's divergence and resume rules."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from sgd_check import HomogeneousSGDConfig, QuadraticSGDConfig, simulate
from sgd_check._sim import checkpoint as _checkpoint
from sgd_check._sim import homogeneous as hm
from sgd_check._sim import quadratic as q
from sgd_check._sim import reduced as red

# ----------------------------------------------------------------------------------------------------------------
# exactness of the frame representation (float64, one step, explicit vectors)


def _frame(rng, d, M, Urest):
    """Orthonormal frame F (d×N) of the part of ``Urest`` (d×N, or N×d rows) orthogonal to the first M axes."""
    P = Urest.copy()
    P[:M] = 0.0
    F, _ = np.linalg.qr(P)
    return F


@pytest.mark.parametrize("B", [1, 3])
def test_quadratic_frame_step_is_the_explicit_step(rng, B):
    """One step on the coordinates ``[S; C; 0]`` with inputs ``[a; e; T]`` equals the d-dimensional step, mapped back
    through the frame ``[Θ | F | new directions]``; the fold-back keeps S and the Gram of C."""
    d, M, N, c, eta = 23, 3, 4, 0.5, 0.07
    lay = red.Layout(M=M, N=N, B=B, k=2, E=2 * B, D=M + N + 2 * B)
    a = np.array([0.7, 0.5, 0.3])
    a /= np.linalg.norm(a)
    U, R = np.linalg.qr(rng.standard_normal((d, N)))
    F = _frame(rng, d, M, U)
    X = np.zeros((lay.D, N))
    X[:M] = U[:M]
    X[M : M + N] = F.T @ U
    Xin = rng.standard_normal((B, d))
    # coordinates of the inputs: teacher part, frame part, then the rests in B new orthonormal directions
    rest = Xin.T - np.eye(d)[:, :M] @ Xin[:, :M].T - F @ (F.T @ Xin.T)  # (d, B)
    Fn, T = np.linalg.qr(rest)  # rest = Fn T  (T upper; Tᵀ is the Bartlett-type lower factor)
    xt = np.zeros((B, lay.D))
    xt[:, :M] = Xin[:, :M]
    xt[:, M : M + N] = (F.T @ Xin.T).T
    xt[:, M + N : M + N + B] = T.T
    full, ok1 = q.stiefel_step(jnp.asarray(U), jnp.asarray(Xin), jnp.asarray(a), c, eta)
    red1, ok2 = q.stiefel_step(jnp.asarray(X), jnp.asarray(xt), jnp.asarray(a), c, eta)
    assert bool(ok1) and bool(ok2)
    red1 = np.asarray(red1)
    frame = np.concatenate([np.eye(d)[:, :M], F, Fn], axis=1)  # d × (M + N + B)
    np.testing.assert_allclose(frame @ red1[: M + N + B], np.asarray(full), atol=1e-13)
    folded = np.asarray(red.fold_quadratic(jnp.asarray(red1), lay))
    np.testing.assert_array_equal(folded[:M], red1[:M])
    assert np.all(folded[M + N :] == 0.0)
    np.testing.assert_allclose(folded.T @ folded, red1.T @ red1, atol=1e-14)


@pytest.mark.parametrize("B", [1, 3])
def test_homogeneous_frame_step_is_the_explicit_step(rng, B):
    d, M, N, eta = 19, 2, 3, 0.03
    lay = red.Layout(M=M, N=N, B=B, k=1, E=B, D=M + N + B)
    sigma, dsigma, *_ = hm.make_fns("h4")
    a = jnp.asarray([0.8, 0.6])
    W = rng.standard_normal((N, d)) * 0.4
    F = _frame(rng, d, M, W.T)
    Wc = np.zeros((N, lay.D))
    Wc[:, :M] = W[:, :M]
    Wc[:, M : M + N] = W @ F
    Xin = rng.standard_normal((B, d))
    rest = Xin.T - np.eye(d)[:, :M] @ Xin[:, :M].T - F @ (F.T @ Xin.T)
    Fn, T = np.linalg.qr(rest)
    xt = np.zeros((B, lay.D))
    xt[:, :M] = Xin[:, :M]
    xt[:, M : M + N] = Xin @ F
    xt[:, M + N :] = T.T
    full, _ = hm.homogeneous_step(jnp.asarray(W), jnp.asarray(Xin), a, eta, sigma, dsigma)
    redw, _ = hm.homogeneous_step(jnp.asarray(Wc), jnp.asarray(xt), a, eta, sigma, dsigma)
    frame = np.concatenate([np.eye(d)[:, :M], F, Fn], axis=1)
    np.testing.assert_allclose(np.asarray(redw) @ frame.T, np.asarray(full), atol=1e-13)
    folded = np.asarray(red.fold_homogeneous(redw, lay))
    np.testing.assert_allclose(folded @ folded.T, np.asarray(redw) @ np.asarray(redw).T, atol=1e-14)
    np.testing.assert_array_equal(folded[:, :M], np.asarray(redw)[:, :M])


def test_frame_inputs_layout():
    """Block step j: the frame so far gets normals, the B new directions the Bartlett factor, the rest zeros."""
    lay = red.Layout(M=2, N=2, B=3, k=2, E=6, D=10)
    g = jnp.arange(1.0, 31.0).reshape(3, 10)
    rc = jnp.asarray([10.0, 20.0, 0.0])  # the third new direction has no room (χ² with ≤ 0 dof)
    x = np.asarray(red.frame_inputs(g, rc, 1, lay, jnp.float64))
    base = 2 + 2 + 3
    np.testing.assert_array_equal(x[:, :base], np.asarray(g)[:, :base])
    T = x[:, base:]
    np.testing.assert_array_equal(np.diag(T), [10.0, 20.0, 0.0])
    assert T[0, 1] == T[0, 2] == T[1, 2] == 0.0  # lower triangular
    assert T[1, 0] == g[1, base] and T[2, 1] == g[2, base + 1]
    assert np.all(T[:, 2] == 0.0)


@pytest.mark.parametrize("lay", [(2, 2, 3, 2), (5, 8, 1, 8), (3, 4, 2, 4)])
def test_block_inputs_are_the_frame_inputs_of_every_step(lay):
    """The block-at-once layout (static masks) equals :func:`frame_inputs` step by step, a column without room
    (√χ² = 0) included."""
    M, N, B, k = lay
    lay = red.Layout(M=M, N=N, B=B, k=k, E=k * B, D=M + N + k * B)
    g = jax.random.normal(jax.random.key(0), (k, B, lay.D), jnp.float64)
    rc = jnp.abs(jax.random.normal(jax.random.key(1), (k, B), jnp.float64)) + 1.0
    rc = rc.at[k - 1, B - 1].set(0.0)
    x = np.asarray(red.block_inputs(g, rc, lay, jnp.float64))
    ref = np.stack([np.asarray(red.frame_inputs(g[j], rc[j], j, lay, jnp.float64)) for j in range(k)])
    np.testing.assert_array_equal(x, ref)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_block_randomness_has_the_stated_laws(dtype):
    """One generator call per block: the normals are N(0, 1) and independent of the χ² draws, and the Bartlett
    diagonals are √χ² with d − M − N − jB − l degrees of freedom (down to 1, and 0 when there is no room)."""
    d, n = 14, 4000  # M + N = 4, k·B = 12 directions: dofs 10 … −1
    lay = red.Layout(M=2, N=2, B=3, k=4, E=12, D=16)
    keys = jax.random.split(jax.random.key(3), n)
    g, rc = jax.jit(jax.vmap(lambda kk: red.block_randomness(kk, d, lay, dtype)))(keys)
    assert g.dtype == dtype and rc.dtype == jnp.float64
    g, rc = np.asarray(g, np.float64), np.asarray(rc)
    assert stats.kstest(g.ravel()[:200_000], "norm").pvalue > 1e-3
    assert abs(np.corrcoef(g[:, 0, 0, 0], rc[:, 0, 0] ** 2)[0, 1]) < 4.5 / np.sqrt(n)
    dofs = np.asarray(red.block_dofs(d, lay))
    for j in range(lay.k):
        for b in range(lay.B):
            if dofs[j, b] <= 0:
                assert np.all(rc[:, j, b] == 0.0)
            else:
                assert stats.kstest(rc[:, j, b] ** 2, stats.chi2(dofs[j, b]).cdf).pvalue > 1e-4


@pytest.mark.parametrize("tries", [1, 2])
@pytest.mark.parametrize("dof", [1.0, 3.0, 60.0, 1e9])
def test_sqrt_chi2_has_the_chi2_law(dof, tries):
    """Also with one candidate per entry in the first round, so that the rejection loop's later rounds run."""
    n = 20_000
    keys = jax.random.split(jax.random.key(7), n)
    r = np.asarray(jax.jit(jax.vmap(lambda k: red.sqrt_chi2(k, dof, tries)))(keys))
    chi = r.astype(np.float64) ** 2
    z = (chi.mean() - dof) / np.sqrt(2 * dof / n)
    assert abs(z) < 4.5, z
    assert abs(chi.var() / (2 * dof) - 1) < 0.1
    if dof < 100:
        assert stats.kstest(chi, stats.chi2(dof).cdf).pvalue > 1e-3
    else:  # d = 10⁹: the fluctuation √(2 dof) ≈ 4.5e4 is resolved, not lost to round-off
        centred = (chi - dof) / np.sqrt(2 * dof)
        assert stats.kstest(centred, "norm").pvalue > 1e-3
    assert float(red.sqrt_chi2(jax.random.key(0), 0.0)) == 0.0


def test_initial_states_have_the_stated_laws():
    """Quadratic: XᵀX = I, E[G_mm] = N/d (Haar); homogeneous: E[Q_ii] = s², P entries N(0, s²/d)."""
    d, M, N, S = 40, 3, 4, 4000
    lay = red.layout(M, N, 1)
    keys = jax.random.split(jax.random.key(1), S)
    X = np.asarray(jax.vmap(lambda k: red.quadratic_init(k, d, lay, jnp.float64))(keys))
    np.testing.assert_allclose(np.einsum("sdi,sdj->sij", X, X), np.broadcast_to(np.eye(N), (S, N, N)), atol=1e-12)
    G = np.sum(X[:, :M] ** 2, axis=2)  # G_mm
    # Haar: G_mm ~ Beta(N/2, (d−N)/2), mean N/d, var 2N(d−N)/(d²(d+2))
    se = np.sqrt(2 * N * (d - N) / (d**2 * (d + 2)) / S)
    assert np.all(np.abs(G.mean(0) - N / d) < 4.5 * se)
    s = 0.3
    W = np.asarray(jax.vmap(lambda k: red.homogeneous_init(k, d, lay, s, jnp.float64))(keys))
    Q = np.einsum("sid,sjd->sij", W, W)
    qd = np.diagonal(Q, axis1=1, axis2=2)  # s²/d · χ²_d
    assert np.all(np.abs(qd.mean(0) - s**2) < 4.5 * s**2 * np.sqrt(2 / d / S))
    P = W[:, :, :M].ravel()
    assert stats.kstest(P / (s / np.sqrt(d)), "norm").pvalue > 1e-3
    # off-diagonal Q_ij = (s²/d)·(sum of d products): mean 0, variance s⁴/d
    off = Q[:, 0, 1]
    assert abs(off.mean()) < 4.5 * s**2 / np.sqrt(d * S)


# ----------------------------------------------------------------------------------------------------------------
# Phase II


def test_phase2_cg_is_the_least_squares_solution(rng):
    """CG on the He_2 features reaches the dense normal-equations solution on the same samples."""
    n, N = 400, 4
    Z = rng.standard_normal((n, N))
    y = rng.standard_normal(n) + np.einsum("ni,nj,ij->n", Z, Z, np.diag([0.5, 0.2, 0.1, 0.0]))
    iu, ju = np.triu_indices(N)
    Phi = np.where(iu == ju, Z[:, iu] * Z[:, ju] - 1.0, 2.0 * Z[:, iu] * Z[:, ju])
    coef = np.linalg.lstsq(Phi, y, rcond=None)[0]
    Om = np.zeros((N, N))
    Om[iu, ju] = coef
    Om = Om + Om.T - np.diag(np.diag(Om))
    got, it = red.phase2_cg(jnp.asarray(Z), jnp.asarray(y), jnp.zeros((N, N)), tol=1e-12)
    np.testing.assert_allclose(np.asarray(got), Om, atol=1e-9)
    assert 0 < int(it) < 40


def test_default_n_prime_meets_the_target_excess():
    """Mean (fitted − oracle)/oracle over many fits at the default n′ is close to the stated target (0.1)."""
    d, M, N, S = 64, 6, 6, 400
    cfg = QuadraticSGDConfig(d=d, M=M, N=N, beta=0.5, eta=1e-3, steps=1)
    lay = red.layout(M, N, 1)
    a = jnp.asarray(cfg.teacher())
    keys = jax.random.split(jax.random.key(5), S)
    X = jax.vmap(lambda k: red.quadratic_init(k, d, lay, jnp.float64))(keys)
    fit = jax.jit(jax.vmap(lambda X, k: red.phase2_frame(X[:M], X[M : M + N], k, a, cfg.n_prime, jnp.float64)))(
        X, jax.random.split(jax.random.key(6), S)
    )
    fitted, oracle = np.asarray(fit["risk_phase2"]), np.asarray(fit["risk_oracle"])
    assert np.all(fitted >= oracle - 1e-12)
    ratio = (fitted.mean() - oracle.mean()) / oracle.mean()
    assert 0.05 < ratio < 0.15, ratio  # the rule n′ = p + 1 + ⌈1.5p/target⌉ aims at 0.1
    assert cfg.n_prime == red.default_n_prime(N, 0.1) == 21 + 1 + 315


# ----------------------------------------------------------------------------------------------------------------
# reduced vs full, in law. One structure per model and batch size (d = 64, M = N = 2, 256 seeds, float64), shared
# by the divergence, seed and resume tests below so that each is compiled once.

QR = dict(d=64, M=2, N=2, beta=1.0, eta=1.5e-3, steps=700, seeds=256, dtype="float64", phase2="none", n_log=24)
QR["engine"] = "reduced"
HR = dict(d=64, M=2, N=2, beta=1.0, eta=1e-3, steps=600, seeds=256, dtype="float64", activation="h2", n_log=24)
HR.update(init_scale=0.3, engine="reduced")


def _emergence(t, curve):
    """First time the curve crosses 1/2 (linear interpolation in log t); 2·t_max if it never does."""
    out = np.full(curve.shape[0], 2 * t[-1])
    for s, c in enumerate(curve):
        k = np.argmax(c >= 0.5)
        if c[k] >= 0.5 and k > 0:
            lt = np.interp(0.5, [c[k - 1], c[k]], np.log([max(t[k - 1], t[1] / 2), t[k]]))
            out[s] = np.exp(lt)
    return out


def _compare_in_law(make, direction):
    full = simulate(make("full"), progress=False)
    redu = simulate(make("reduced"), progress=False)
    assert full.params["engine"] == "full" and redu.params["engine"] == "reduced"
    assert not full.diverged.any() and not redu.diverged.any()
    S = full.risk.shape[0]
    idx = np.unique(np.round(np.geomspace(1, len(full.t) - 1, 8)).astype(int))
    assert len(idx) >= 6
    se = np.sqrt(full.risk[:, idx].var(0, ddof=1) / S + redu.risk[:, idx].var(0, ddof=1) / S)
    z = (full.risk[:, idx].mean(0) - redu.risk[:, idx].mean(0)) / se
    assert np.all(np.abs(z) <= 4.0), z
    # the curves move: the comparison is not between two flat lines
    assert full.risk_mean[-1] < full.risk_mean[0] - 10 * se[-1]
    ef, er = _emergence(full.t, direction(full)), _emergence(redu.t, direction(redu))
    assert np.mean(ef < full.t[-1]) > 0.5  # most seeds emerge within the horizon
    assert stats.ks_2samp(ef, er).pvalue > 1e-3
    return z


@pytest.mark.parametrize("B", [1, 4])
def test_quadratic_reduced_equals_full_in_law(B):
    eta = 1.5e-3 * B

    def make(engine):
        return QuadraticSGDConfig(**{**QR, "eta": eta, "steps": 1536 // B, "batch": B, "engine": engine})

    _compare_in_law(make, lambda r: r.G_diag[:, :, 0])


@pytest.mark.parametrize("B", [1, 4])
def test_homogeneous_reduced_equals_full_in_law(B):
    eta = 1e-3 * B  # σ = h2 (information exponent 2): both directions emerge by t = 2.5 at d = 64

    def make(engine):
        return HomogeneousSGDConfig(**{**HR, "eta": eta, "steps": 2560 // B, "batch": B, "engine": engine})

    _compare_in_law(make, lambda r: np.max(r.overlaps[:, :, :, 0] ** 2, axis=2))


# ----------------------------------------------------------------------------------------------------------------
# precision, size, divergence, determinism, resume


def test_float32_agrees_with_float64_and_d_1e9_loses_nothing():
    """d = 10⁹ (cost as d = 10³): finite, orthonormal, initial overlaps E[G_mm] = N/d resolved in float32, and
    float32 vs float64 agree in law after 300 steps of η = 0.5/d."""
    d, M, N, S = 10**9, 3, 3, 256
    res = {}
    for dt in ("float32", "float64"):
        cfg = QuadraticSGDConfig(
            d=d, M=M, N=N, beta=1.0, eta=0.5 / d, steps=300, seeds=S, dtype=dt, phase2="none", n_log=4,
            engine="reduced",
        )  # fmt: skip
        r = simulate(cfg, progress=False)
        assert not r.diverged.any() and np.all(np.isfinite(r.risk))
        assert r.final_state["X"].dtype == np.dtype(dt)  # the working dtype, whatever JAX's default (x64 is on)
        assert r.stiefel_drift.max() <= (1e-5 if dt == "float32" else 1e-12)
        G = r.G_diag
        se = np.sqrt(2 * N / d**2 / S)  # Haar G_mm: variance ≈ 2N/d² at d ≫ N
        assert np.all(np.abs(G[:, 0].mean(0) - N / d) < 4.5 * se), (dt, G[:, 0].mean(0))
        res[dt] = G[:, -1].sum(1)
    z = (res["float32"].mean() - res["float64"].mean()) / np.sqrt(res["float32"].var() / S + res["float64"].var() / S)
    assert abs(z) < 4, z
    h = HomogeneousSGDConfig(
        d=d, M=2, N=2, beta=1.0, eta=1e-12, steps=300, seeds=8, dtype="float32", engine="reduced", n_log=4
    )
    hr = simulate(h, progress=False)
    assert hr.final_state["W_c"].dtype == np.float32
    assert not hr.diverged.any() and np.all(np.isfinite(hr.risk)) and np.all(np.isfinite(hr.norms))
    np.testing.assert_allclose(hr.norms[:, 0].mean(), 0.01, rtol=0.05)  # ‖w_i‖² ≈ s² = 0.01


def test_divergence_is_frozen_as_in_the_full_engine():
    # quadratic: a step that turns the span by ~90° is flagged at step 1 in both engines
    for engine in ("full", "reduced"):
        bad = simulate(QuadraticSGDConfig(**{**QR, "engine": engine, "eta": 1e6, "steps": 300}), progress=False)
        assert bad.diverged.all() and np.all(bad.diverged_at == 1), engine
        assert np.isnan(bad.risk[:, 1:]).all() and np.isfinite(bad.risk[:, 0]).all()
    # homogeneous: η far too large; a frozen seed's state stops changing (same final overlaps at 300 and 600 steps)
    r1 = simulate(HomogeneousSGDConfig(**{**HR, "eta": 0.5, "steps": 300}), progress=False)
    r2 = simulate(HomogeneousSGDConfig(**{**HR, "eta": 0.5, "steps": 600}), progress=False)
    assert r1.diverged.all() and r2.diverged.all()
    # a blow-up is detected at the next logged step, and the two runs log different steps; where they caught it at
    # the same step the frozen states are bitwise equal (the teacher block P, which the fold-back never touches)
    same = r1.diverged_at == r2.diverged_at
    assert same.sum() > 200
    for s in range(0, 256, 17):
        k = r1.diverged_at[s]
        assert np.all(np.isnan(r1.risk[s, r1.steps >= k])) and np.all(np.isfinite(r1.risk[s, r1.steps < k]))
    np.testing.assert_array_equal(r1.final_state["W_c"][same, :, :2], r2.final_state["W_c"][same, :, :2])
    assert not np.array_equal(r1.final_state["W_c"][~same, :, :2], r2.final_state["W_c"][~same, :, :2])
    assert r1.suggested_eta == 0.125


def test_seed_trajectory_does_not_depend_on_the_other_seeds():
    many = simulate(QuadraticSGDConfig(**QR), progress=False)
    solo = simulate(QuadraticSGDConfig(**{**QR, "seeds": 1}), progress=False)
    np.testing.assert_allclose(solo.risk[0], many.risk[0], rtol=1e-12)
    assert not np.allclose(many.risk[1, -1], many.risk[0, -1])


def test_seed_trajectory_does_not_depend_on_the_chunk_size():
    """Block b's inputs come from fold_in(k_s1, b): chunks of 64 and 256 steps (same block length) run the same
    trajectory, bit for bit."""
    cfg = {**HR, "seeds": 3, "steps": 300, "M": 3, "N": 4}
    a = simulate(HomogeneousSGDConfig(**{**cfg, "chunk": 64}), progress=False)
    b = simulate(HomogeneousSGDConfig(**{**cfg, "chunk": 256}), progress=False)
    assert a.params["chunk"] != b.params["chunk"]
    np.testing.assert_array_equal(a.final_state["W_c"], b.final_state["W_c"])
    np.testing.assert_array_equal(a.risk, b.risk)


@pytest.mark.parametrize("model", ["quadratic", "homogeneous"])
def test_reduced_resume_is_bit_identical(tmp_path, monkeypatch, model):
    cfg = (
        QuadraticSGDConfig(**{**QR, "checkpoint_every": 1})
        if model == "quadratic"
        else HomogeneousSGDConfig(**{**HR, "checkpoint_every": 1})
    )
    full = simulate(cfg, progress=False)
    real_save = _checkpoint.save
    calls = []

    def interrupt_after_one(*args, **kw):
        real_save(*args, **kw)
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(_checkpoint, "save", interrupt_after_one)
    with pytest.raises(KeyboardInterrupt):
        simulate(cfg, out=str(tmp_path), progress=False)
    monkeypatch.setattr(_checkpoint, "save", real_save)
    resumed = simulate(cfg, out=str(tmp_path), resume=True, progress=False)
    assert resumed.resumed
    for name in ("steps", "risk", "diverged_at"):
        assert np.array_equal(getattr(full, name), getattr(resumed, name), equal_nan=True), name
    for k in full.final_state:
        assert np.array_equal(full.final_state[k], resumed.final_state[k])
    # a run made with another engine is refused, naming the engine
    with pytest.raises(ValueError, match="`engine`"):
        simulate(cfg.replace(engine="full"), out=str(tmp_path), resume=True, progress=False)


def test_engine_choice_and_bad_engine():
    assert QuadraticSGDConfig(d=16, M=3, N=3, beta=1, eta=1e-3, steps=1).engine_used == "full"  # frame > d/4
    assert QuadraticSGDConfig(d=4096, M=8, N=8, beta=1, eta=1e-3, steps=1).engine_used == "reduced"
    assert QuadraticSGDConfig(d=4096, M=8, N=8, beta=1, eta=1e-3, steps=1, engine="full").engine_used == "full"
    with pytest.raises(ValueError, match=r"`engine`='reduced' needs d ≥ M \+ N = 12.*--engine full"):
        HomogeneousSGDConfig(d=10, M=4, N=8, beta=1, eta=1e-3, steps=1, engine="reduced")
    with pytest.raises(ValueError, match="`engine`='fast' is not one of"):
        QuadraticSGDConfig(d=16, M=3, N=3, beta=1, eta=1e-3, steps=1, engine="fast")


@pytest.mark.parametrize(
    "args, words",
    [
        (["--engine", "reduced", "--d", 10, "--M", 4, "--N", 8], ["engine", "d ≥ M + N = 12", "--engine full"]),
        (["--engine", "fast", "--d", 8, "--M", 2, "--N", 2], ["engine", "'fast'", "auto"]),
    ],
)
def test_cli_bad_engine_exits_2_with_one_line(run_cli, args, words):
    for cmd in (["simulate", "quadratic"], ["check", "quadratic"]):
        status, _, err = run_cli(*cmd, *args, "--eta", 1e-3, "--steps", 10)
        assert status == 2 and err.count("\n") == 1 and "Traceback" not in err, (cmd, err)
        assert all(w in err for w in words), err


def test_cli_resume_with_another_engine_exits_2(run_cli, tmp_path):
    out = str(tmp_path / "run")
    base = ["simulate", "quadratic", "--d", 64, "--M", 2, "--N", 2, "--eta", 1.5e-3, "--seeds", 256, "--quiet"]
    base += ["--dtype", "float64", "--phase2", "none", "--n-log", 24, "--steps", 700, "--out", out]
    status, text, err = run_cli(*base, "--engine", "reduced", "--checkpoint-every", 1)
    assert status == 0, err
    assert "reduced engine" in text
    status, _, err = run_cli(*base, "--engine", "full", "--resume")
    # refused by name before anything runs: the run folder records engine='reduced'
    assert status == 2 and err.count("\n") == 1 and "`engine`='reduced'" in err and "--overwrite" in err, err


def test_check_reads_the_flow_state_off_P0_Q0(rng):
    """`check` replays the homogeneous flow from (r, m, ρ) read off (P0, Q0) = (W0Θ, W0W0ᵀ): the same state as
    riccati.homogeneous_state of the explicit weights."""
    from types import SimpleNamespace

    from riccati._homogeneous import homogeneous_state
    from sgd_check._check.run import _homogeneous_start

    W = rng.standard_normal((2, 3, 9))
    res = SimpleNamespace(initial_state={"P0": W[:, :, :2], "Q0": np.einsum("sid,sjd->sij", W, W)})
    for s in range(2):
        for got, want in zip(_homogeneous_start(res, s), homogeneous_state(W[s], 2), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
