"""Verdict logic of sgd_check._check on synthetic curves with known answers (no SGD, no JAX)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from riccati import escape_factor, step_size_parameter
from sgd_check._check import (
    REPORT_SCHEMA_VERSION,
    CheckData,
    Tolerances,
    choose_fit_window,
    compare,
    emergence_times,
    fit_exponent,
    load_report,
    predictions,
    save_report,
    t_interval,
)
from sgd_check._outdir import to_jsonable


def _teacher(M, beta):
    a = np.arange(1, M + 1, dtype=np.float64) ** (-beta)
    return a / np.linalg.norm(a)


def _additive(t, a, N, g0):
    """Independent-direction (additive-model) curves: logistic G_mm, risk 1 − Σ ã_m² G_mm² (docs/theory.md §2)."""
    e = np.exp(2 * np.outer(t, a))
    G = g0 * e / (1 + g0 * (e - 1))
    G[:, N:] = g0[N:]
    return 1 - (a**2 * G**2).sum(axis=1), G


def synthetic(S=4, d=1000, M=48, N=12, beta=0.8, noise=0.02, shift=1.0, scale=1.0, seed=0, T=70, eta=1e-6):
    """SGD = the flow of the same seed, optionally with time stretched by ``shift`` and risk scaled by ``scale``."""
    rng = np.random.default_rng(seed)
    a = _teacher(M, beta)
    t = np.geomspace(0.1, 400, T)
    sr, fr, sd, fd = [], [], [], []
    for _ in range(S):
        g0 = (N / d) * np.exp(rng.normal(0, 0.3, M))
        r, G = _additive(t, a, N, g0)
        r2, G2 = _additive(t / shift, a, N, g0)
        fr.append(r)
        fd.append(G)
        sr.append(scale * r2 * (1 + noise * rng.normal(size=T)))
        sd.append(G2)
    params = dict(d=d, M=M, N=N, beta=beta, eta=eta, batch=1, c=1 / math.sqrt(N), seeds=S)
    return CheckData(
        model="quadratic",
        params=params,
        a=a,
        t=t,
        steps=np.arange(T),
        sgd_risk=np.array(sr),
        flow_risk=np.array(fr),
        sgd_dir=np.array(sd),
        flow_dir=np.array(fd),
        diverged=np.zeros(S, bool),
        floor=float((a[N:] ** 2).sum()),
        time_unit="canonical Riccati time t = 4cη·steps",
    )


def _checks(report):
    return {c["name"]: c for c in report["verdict"]["checks"]}


# ---- elementary statistics ------------------------------------------------------------------------------------
def test_fit_exponent_recovers_known_power_law():
    t = np.geomspace(1, 1e3, 40)
    p, c, n = fit_exponent(t, 3.0 * t**-0.75, (2.0, 500.0))
    assert p == pytest.approx(-0.75, abs=1e-12)
    assert c == pytest.approx(math.log(3.0), abs=1e-12)
    assert n == int(np.sum((t >= 2) & (t <= 500)))
    assert math.isnan(fit_exponent(t, t**-1, (2.0, 2.1))[0])  # < 3 points in the window


def test_emergence_times_logistic_in_log_time_is_exact_at_symmetric_grid():
    # c(t) = 1/(1 + (T/t)^k) crosses 1/2 at T; on a log grid symmetric around T linear-in-log interpolation is exact
    T_true = np.array([3.0, 30.0, 1e5])
    t = np.geomspace(0.3, 300, 31)  # ratio 10^(3/30); 3 and 30 fall halfway between grid points? make it so:
    t = np.exp(np.log(3.0) + (np.arange(-12, 20) + 0.5) * math.log(10) / 10)
    c = 1 / (1 + (T_true[None, :] / t[:, None]) ** 4)
    got = emergence_times(t, c)
    assert got[0] == pytest.approx(3.0, rel=1e-12)
    assert got[1] == pytest.approx(30.0, rel=1e-12)
    assert math.isnan(got[2])  # never reached inside the grid
    # a curve above 1/2 from the start gets the first time; batch dimensions are kept
    c2 = np.stack([c, np.ones_like(c)])
    got2 = emergence_times(t, c2)
    assert got2.shape == (2, 3) and np.all(got2[1] == t[0])


def test_first_crossing_index_brackets_the_first_up_crossing():
    """riccati.first_crossing_index, the one bracket the flows and `emergence_times` share: the first sample ≥ the
    level along axis −2; 0 when a curve starts above it, −1 when it never reaches it (NaN counts as below)."""
    from riccati import first_crossing_index

    c = np.array([[0.1, 0.6, np.nan, 0.2], [0.4, 0.7, np.nan, 0.3], [0.5, 0.2, np.nan, 0.9], [0.9, 0.9, 0.8, 0.1]])
    assert first_crossing_index(c).tolist() == [2, 0, 3, 2]  # the curve dipping below again keeps its first
    assert first_crossing_index(c, level=0.95).tolist() == [-1, -1, -1, -1]
    batch = np.stack([c, 1 - np.nan_to_num(c)])
    assert first_crossing_index(batch).shape == (2, 4)
    assert first_crossing_index(batch)[1].tolist() == [0, 2, 0, 0]


def test_escape_factor_matches_single_direction_odes():
    from scipy.integrate import solve_ivp

    # quadratic logistic: G(t) = g0 e^{2ãt}/(1 + g0(e^{2ãt} − 1)) reaches 1/2 at L(g0)/ã
    g0, a = 0.01, 0.7
    T = escape_factor("quadratic", g0) / a
    assert g0 * math.exp(2 * a * T) / (1 + g0 * (math.exp(2 * a * T) - 1)) == pytest.approx(0.5, rel=1e-12)
    # homogeneous h_k: ds/dt = 2kã s^{k/2}(1 − s) reaches 1/2 at L(s0)/ã (k = 4 closed form, k = 6 quadrature)
    for k in (4, 6):
        s0 = 0.05
        T = escape_factor("homogeneous", s0, k) / a
        sol = solve_ivp(lambda t, s, k=k: 2 * k * a * s ** (k / 2) * (1 - s), (0, T), [s0], rtol=1e-11, atol=1e-13)
        assert sol.y[0, -1] == pytest.approx(0.5, rel=1e-7)
    assert math.isnan(escape_factor("quadratic", 0.6))


def test_t_interval_matches_student_t():
    from scipy import stats

    x = np.array([1.0, 2.0, 4.0, 7.0])
    ci = t_interval(x, 0.95)
    lo, hi = stats.t.interval(0.95, 3, loc=x.mean(), scale=stats.sem(x))
    assert ci["lo"] == pytest.approx(lo) and ci["hi"] == pytest.approx(hi)
    assert math.isnan(t_interval([2.0], 0.95)["se"])


def test_choose_fit_window_excludes_plateau_and_floor():
    t = np.geomspace(0.1, 1e4, 100)
    r = np.minimum(1.0, t**-0.5) + 0.01
    lo, hi = choose_fit_window(t, r, 0.01)
    assert r[t == lo][0] <= 0.8 * r[0] and r[t == hi][0] >= 0.02


# ---- predictions ------------------------------------------------------------------------------------------------
def test_predictions_regimes_and_exact_floor():
    from scipy.special import zeta

    pr = predictions("quadratic", 0.8, 64, 8)
    assert pr["time_exponent"] == pytest.approx(-0.75)
    # the M → ∞ law at fixed N, with its constant (one formula, from riccati; not N^{1−2β} alone)
    assert pr["plateau"] == pytest.approx(8**-0.6 / (0.6 * zeta(1.6))) and pr["plateau_kind"] == "scaling"
    a = _teacher(64, 0.8)
    assert pr["floor"] == pytest.approx(np.sum(a[8:] ** 2), rel=1e-14)
    lo = predictions("quadratic", 0.3, 64, 32)
    assert lo["time_exponent"] is None and lo["plateau"] == pytest.approx(1 - 0.5**0.4)
    assert lo["regime"] == "beta<1/2" and "1 − φ^(1−2β)" in lo["regime_law"]
    assert (
        predictions("homogeneous", 1.0, 4, 4)["plateau"] is None and predictions("quadratic", 1.0, 4, 4)["floor"] == 0
    )


@pytest.mark.parametrize(
    ("beta", "M", "phi"),
    [(0.3, 64, 0.5), (0.3, 4096, 0.5), (0.45, 1000, 0.5), (0.45, 64, 0.125), (0.1, 64, 0.5), (0.2, 100, 0.75)],
)
def test_finite_M_plateau_correction_matches_the_exact_floor(beta, M, phi):
    """Independent truth: the exact sum Σ_{N<m≤M} m^{−2β}/Σ_{m≤M} m^{−2β}. The derived correction δ (Euler–Maclaurin
    of the floor itself) reproduces floor/plateau − 1 to 2e-3; the old |ζ(2β)|(1−2β)M^{−(1−2β)} was off by up to
    a factor 2.5 (0.62 vs 1.58 at β = 0.45, M = 64, N = 8), so the old check failed on exact data."""
    N = int(phi * M)
    pr = predictions("quadratic", beta, M, N)
    w = np.arange(1, M + 1, dtype=np.float64) ** (-2 * beta)
    rel_true = (w[N:].sum() / w.sum()) / pr["plateau"] - 1
    assert pr["plateau_correction"] == pytest.approx(rel_true, abs=2e-3 * (1 + abs(rel_true)))


def test_plateau_gate_passes_on_exact_floor_and_fails_for_wrong_beta():
    """The plateau gate judges the exact floor against the law with its finite-M correction; negative control: the
    same floor judged with a shifted β must fail."""
    M, N, beta = 64, 8, 0.45
    a = _teacher(M, beta)
    t = np.geomspace(0.1, 100, 30)
    floor = float(np.sum(a[N:] ** 2))
    R = floor + (1 - floor) * np.exp(-t)
    g = np.repeat((1 - np.exp(-t))[:, None], M, axis=1)
    mk = lambda b: CheckData(  # noqa: E731
        model="quadratic",
        params={"beta": b, "M": M, "N": N, "d": 256, "eta": 1e-6, "c": None, "batch": 1},
        a=a,
        t=t,
        steps=np.arange(30),
        sgd_risk=R[None],
        flow_risk=R[None],
        sgd_dir=g[None],
        flow_dir=g[None],
        diverged=np.zeros(1, bool),
        floor=floor,
        time_unit="t",
    )
    ok = {c["name"]: c for c in compare(mk(beta))["verdict"]["checks"]}["plateau_floor_vs_asymptotic"]
    assert ok["pass"] and ok["value"] < 2e-3
    bad = {c["name"]: c for c in compare(mk(beta - 0.05))["verdict"]["checks"]}["plateau_floor_vs_asymptotic"]
    assert not bad["pass"]


def test_step_size_parameter_is_linear_in_eta():
    a = _teacher(16, 1.0)
    p = dict(d=100, M=16, N=8, beta=1.0, eta=1e-4, batch=1, c=None)
    e1, _ = step_size_parameter("quadratic", p, a)
    e2, _ = step_size_parameter("quadratic", {**p, "eta": 2e-4}, a)
    e3, _ = step_size_parameter("quadratic", {**p, "eta": 2e-4, "batch": 2}, a)
    assert e2 == pytest.approx(2 * e1) and e3 == pytest.approx(e1)
    # quadratic: ε = η c d ℓ0 / (B ã_n), ℓ0 = 2(c²N+1), c = 1/√N
    assert e1 == pytest.approx(1e-4 * 8**-0.5 * 100 * 4 / a[7])


# ---- verdicts -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_report():
    return compare(synthetic())


def test_matching_curves_pass(good_report):
    r = good_report
    assert r["verdict"]["pass"] is True
    ch = _checks(r)
    for name in (
        "gap_max",
        "gap_late",
        "emergence_time_ratio",
        "emergence_clock",
        "rise_time_ratio",
        "directions_learned_count",
        "time_exponent_sgd_vs_flow",
        "no_divergence",
    ):
        assert ch[name]["pass"], ch[name]
    # every check states its tolerance and reason
    assert all(c["why"] and c["tolerance"] is not None for c in r["verdict"]["checks"])
    # the additive model's emergence time is exactly T_m = ½log((1−g0)/g0)/ã_m: dividing out the initial-overlap
    # factor leaves slope β (up to the log-time interpolation); the raw slope is spread by the random g0
    es = r["comparison"]["emergence_slope"]
    assert es["normalised"]["flow"] == pytest.approx(0.8, abs=0.02)
    assert es["flow"] == pytest.approx(0.8, abs=0.15)


def test_shifted_time_axis_fails_gap_and_emergence():
    r = compare(synthetic(shift=1.3))
    ch = _checks(r)
    assert r["verdict"]["pass"] is False
    assert not ch["gap_max"]["pass"] and ch["gap_max"]["value"] > ch["gap_max"]["tolerance"]
    assert not ch["emergence_time_ratio"]["pass"]
    assert r["comparison"]["emergence"]["ratio_geomean"][0] == pytest.approx(1.3, rel=0.03)


def test_clock_off_by_15_percent_fails_the_pooled_clock_gates():
    # every SGD time stretched by 1.15 (or 0.85): the worst-direction gate's bias allowance κ·ε + δ plus its seed
    # band leaves room for it; the pooled clock over all (seed, direction) pairs does not
    for shift in (1.15, 0.85):
        ch = _checks(compare(synthetic(shift=shift)))
        for name in ("emergence_clock", "rise_time_ratio"):
            assert not ch[name]["pass"], ch[name]
            assert ch[name]["value"] == pytest.approx(abs(math.log(shift)), abs=0.02)


def test_missing_the_weakest_learnable_direction_fails_naming_it():
    # N < M: direction N, the weakest the flow learns, sits at the width edge where same_directions_learned does
    # not look (near-degenerate edge directions may swap); SGD that never learns it must still fail, by count
    data = synthetic()
    N = data.params["N"]
    sd = data.sgd_dir.copy()
    sd[:, :, N - 1] = sd[:, :1, N - 1]  # held at its initial overlap
    report = compare(dataclasses.replace(data, sgd_dir=sd))
    ch = _checks(report)
    assert ch["same_directions_learned"]["pass"]  # the edge is excluded there: the gap the issue found
    assert not ch["directions_learned_count"]["pass"] and report["verdict"]["pass"] is False
    assert ch["directions_learned_count"]["value"] == data.params["seeds"]
    assert f"missed direction m = {N}" in ch["directions_learned_count"]["why"]
    # a swap at the edge (SGD learns direction N + 1 instead of N − 1) keeps the count and passes this gate
    sd = data.sgd_dir.copy()
    sd[:, :, [N - 2, N]] = data.sgd_dir[:, :, [N, N - 2]]
    assert _checks(compare(dataclasses.replace(data, sgd_dir=sd)))["directions_learned_count"]["pass"]


def test_biased_risk_fails_late_gap_and_plateau():
    r = compare(synthetic(scale=1.25))
    ch = _checks(r)
    assert not ch["gap_late"]["pass"] and not ch["plateau_sgd_vs_exact_floor"]["pass"]
    assert r["comparison"]["gap"]["late_mean_rel"] == pytest.approx(0.25, abs=0.02)


def test_gap_tolerance_grows_with_eta_and_seed_noise():
    # the same 25% bias passes once η is so large that the stated O(ε) allowance covers it (tolerance ∝ η)
    small = compare(synthetic(scale=1.25, eta=1e-6))
    big = compare(synthetic(scale=1.25, eta=1e-3))
    assert _checks(big)["gap_late"]["tolerance"] > _checks(small)["gap_late"]["tolerance"]
    assert _checks(big)["gap_late"]["pass"]
    # more seed noise → wider band → a small bias that fails with clean seeds passes with noisy ones
    clean = compare(synthetic(scale=1.12, noise=0.0))
    noisy = compare(synthetic(scale=1.12, noise=0.5, S=3))
    assert not _checks(clean)["gap_late"]["pass"] and _checks(noisy)["gap_late"]["pass"]


def test_pure_power_law_exponent_comes_back():
    d = synthetic()
    t = d.t
    r = np.minimum(1.0, t**-0.6)
    pure = CheckData(
        **{**d.__dict__, "sgd_risk": np.tile(r, (4, 1)), "flow_risk": np.tile(r, (4, 1)), "floor": 0.0},
    )
    te = compare(pure)["comparison"]["time_exponent"]
    assert te["flow"] == pytest.approx(-0.6, abs=1e-10) and te["sgd"] == pytest.approx(-0.6, abs=1e-10)


def test_diverged_seed_fails_and_is_excluded():
    d = synthetic()
    div = np.array([False, True, False, False])
    sr = d.sgd_risk.copy()
    sr[1, 30:] = np.nan
    r = compare(CheckData(**{**d.__dict__, "sgd_risk": sr, "diverged": div}))
    ch = _checks(r)
    assert not ch["no_divergence"]["pass"] and r["verdict"]["pass"] is False
    assert ch["gap_max"]["pass"]  # the others are still compared, without the lost seed
    assert r["comparison"]["seeds_alive"] == 3


def test_bad_shapes_name_the_argument():
    d = synthetic()
    with pytest.raises(ValueError, match="sgd_dir"):
        CheckData(**{**d.__dict__, "sgd_dir": d.sgd_dir[:, :, :3]})
    with pytest.raises(ValueError, match="`t`"):
        CheckData(**{**d.__dict__, "t": d.t[::-1]})
    with pytest.raises(ValueError, match="level"):
        Tolerances(level=1.5)


# ---- report schema ----------------------------------------------------------------------------------------------
def test_report_schema_and_json_round_trip(good_report, tmp_path):
    r = good_report
    for key in ("model", "params", "time_unit", "theory", "sgd", "comparison", "verdict"):
        assert key in r
    assert set(r["theory"]) >= {"t", "risk", "risk_per_seed"}
    assert set(r["sgd"]) >= {"t", "risk_mean", "risk_std", "risk"}
    assert set(r["comparison"]) >= {"gap", "emergence", "time_exponent", "plateau", "emergence_slope", "predicted"}
    for c in r["verdict"]["checks"]:
        assert set(c) >= {"name", "pass", "value", "tolerance", "why"}
    path = tmp_path / "report.json"
    save_report(path, r)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert load_report(path) == r
    # unlearned directions have NaN emergence times, which become null
    assert None in r["comparison"]["emergence"]["sgd_per_seed"][0]
    assert to_jsonable({"x": np.array([1.0, np.nan, np.inf])}) == {"x": [1.0, None, None]}
    assert json.loads(json.dumps(r)) == r


def test_check_data_npz_round_trip_gives_the_same_report(good_report, tmp_path):
    d = synthetic()
    d.save(tmp_path / "data.npz")
    back = CheckData.load(tmp_path / "data.npz")
    assert compare(back) == good_report
    with pytest.raises(FileNotFoundError, match="no saved check data"):
        CheckData.load(tmp_path / "missing.npz")


def test_check_data_of_a_newer_schema_is_refused_by_name_and_an_old_one_still_reads(tmp_path):
    """`check --from-dir` on data of another schema: a file without the `schema` entry (the first format) still
    reads; one of a newer schema is refused with one line naming the schema it holds and the one this code reads."""
    d = synthetic(S=2, M=8, N=4, T=20)
    d.save(tmp_path / "data.npz")
    with np.load(tmp_path / "data.npz") as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    assert meta["schema"] == REPORT_SCHEMA_VERSION == 1
    for schema, ok in ((None, True), (1, True), (2, False), ("1", False)):
        m = {k: v for k, v in meta.items() if k != "schema"} | ({} if schema is None else {"schema": schema})
        np.savez(tmp_path / "x.npz", **{**arrays, "meta": np.array(json.dumps(m))})
        if ok:
            np.testing.assert_array_equal(CheckData.load(tmp_path / "x.npz").sgd_risk, d.sgd_risk)
        else:
            with pytest.raises(ValueError, match=f"schema {schema!r}; this shallowlaws reads schema ≤ 1"):
                CheckData.load(tmp_path / "x.npz")


def test_report_sanitiser_is_strict_the_general_one_is_not():
    """One sanitiser (`_outdir.to_jsonable`): reports use `strict=True` and refuse what does not belong in them."""
    import dataclasses

    @dataclasses.dataclass
    class Cfg:
        d: int = 3

    assert to_jsonable({"c": Cfg(), 1: (np.int64(2), np.float32(np.inf))}) == {"c": {"d": 3}, "1": [2, None]}
    assert to_jsonable(np.float64(np.nan), strict=True) is None
    assert to_jsonable({"a": np.array([[1, 2]]), "b": np.array(True)}, strict=True) == {"a": [[1, 2]], "b": True}
    for bad in (Cfg(), object(), {"x": [Cfg()]}):
        with pytest.raises(TypeError, match="cannot store"):
            to_jsonable(bad, strict=True)


def test_single_seed_has_no_noise_band_but_still_judges():
    # S = 1: no seed-noise estimate (q·SE = 0), only the stated bias allowance; warnings are errors in tests
    good = compare(synthetic(S=1, noise=0.0))
    bad = compare(synthetic(S=1, noise=0.0, shift=1.3))
    assert good["verdict"]["pass"] is True and bad["verdict"]["pass"] is False
    assert "S = 1" in _checks(good)["gap_max"]["why"]


def test_homogeneous_model_uses_its_own_step_size_parameter():
    d = synthetic()
    p = {**d.params, "information_exponent": 4, "K1": 1.0}
    h = CheckData(**{**d.__dict__, "model": "homogeneous", "params": p})
    eps = compare(h)["comparison"]["step_size_parameter"]["epsilon"]
    # ε = η·d^{k/2}·K(1)/(B·k·ã_min), ã_min = ã_min(N, M)
    assert eps == pytest.approx(d.params["eta"] * d.params["d"] ** 2 / (4 * d.a[d.params["N"] - 1]))


def _flow_data(t, M=12, N=12, d=400, beta=1.0, seed=0):
    import riccati

    a = riccati.teacher_coefficients(beta, M)
    sol = riccati.quadratic_flow(a, riccati.sample_initial_overlap(seed, d, M, N), t, d=d, emergence="exact")
    return CheckData(
        model="quadratic",
        params={"beta": beta, "M": M, "N": N, "d": d, "eta": 1e-6, "c": None, "batch": 1},
        a=a,
        t=t,
        steps=np.arange(t.size),
        sgd_risk=sol.risk[None],
        flow_risk=sol.risk[None],
        sgd_dir=sol.G_diag[None],
        flow_dir=sol.G_diag[None],
        diverged=np.zeros(1, bool),
        floor=sol.floor,
        time_unit="t",
        flow_emergence=sol.emergence_times[None],
    ), sol


def test_flow_emergence_times_come_from_dense_output_not_the_logged_grid(tmp_path):
    """Issue 10 item 14: the same flow from the same state gave T = 7.35 in one run and 6.69 in another because T
    was interpolated on the 60-point logged grid. Now the flow's own (Newton-refined) times are used: two grids
    give the same T to 1e-9, and they are the times where G_mm = 1/2 exactly."""
    import riccati

    d1, sol1 = _flow_data(np.geomspace(0.05, 400, 25))
    d2, _ = _flow_data(np.geomspace(0.07, 500, 60))
    T1 = np.asarray(compare(d1)["comparison"]["emergence"]["flow_per_seed"], dtype=float)
    T2 = np.asarray(compare(d2)["comparison"]["emergence"]["flow_per_seed"], dtype=float)
    ok = np.isfinite(T1) & np.isfinite(T2)
    assert ok.sum() >= 8
    np.testing.assert_allclose(T1[ok], T2[ok], rtol=1e-9)
    a = riccati.teacher_coefficients(1.0, 12)
    Y0 = riccati.sample_initial_overlap(0, 400, 12, 12)
    m = int(np.flatnonzero(ok[0])[3])
    G = riccati.quadratic_flow(a, Y0, [T1[0, m]]).G_diag[0, m]
    assert G == pytest.approx(0.5, abs=1e-9)
    d1.save(tmp_path / "d.npz")  # the dense-output times survive the round trip
    np.testing.assert_array_equal(CheckData.load(tmp_path / "d.npz").flow_emergence, d1.flow_emergence)


def test_no_flow_exponent_check_without_a_power_law_window():
    """Item 15: N = M = 12 has no power-law window (exponential tail after T_M): no flow-vs-prediction check, and
    the reason is reported (the old code fitted the automatic window, tail included, and judged it)."""
    data, _ = _flow_data(np.geomspace(0.05, 400, 40))
    r = compare(data)
    names = [c["name"] for c in r["verdict"]["checks"]]
    assert "time_exponent_flow_vs_predicted" not in names
    assert "no power-law window" in r["comparison"]["time_exponent"]["flow_power_law"]["reason"]
