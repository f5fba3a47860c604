"""End to end: SGD vs the exact flow on a tiny quadratic problem; the check passes, and fails when it must.

One tiny simulation (d = 32, M = N = 4, 3 seeds, ε = 0.05) is shared by the module; the simulator reuses its
compiled chunk for runs that differ only in η or steps, so the CLI runs below cost little beyond SGD itself.
One tiny two-homogeneous run (d = 16, M = 3, N = 6, 3 seeds) checks that model's honest pass and a missed direction.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from sgd_check import QuadraticSGDConfig, simulate, steps_for_time
from sgd_check._check import compare, load_report, replay_flow
from sgd_check._demo import eta_for_epsilon

SIZES = dict(d=32, M=4, N=4, beta=1.0)
T_MAX = 25.0


def _config(eps=0.05, seeds=3):
    eta = eta_for_epsilon("quadratic", SIZES, eps)
    cfg = QuadraticSGDConfig(eta=eta, steps=1, seeds=seeds, n_log=40, phase2="none", **SIZES)
    return cfg.replace(steps=steps_for_time(T_MAX, cfg.time_per_step))


@pytest.fixture(scope="module")
def tiny():
    cfg = _config()
    return cfg, simulate(cfg, progress=False)


def _checks(report):
    return {c["name"]: c for c in report["verdict"]["checks"]}


def test_tiny_check_passes(tiny):
    cfg, res = tiny
    report = compare(replay_flow(cfg, res))
    ch = _checks(report)
    assert report["verdict"]["pass"] is True, [c for c in report["verdict"]["checks"] if not c["pass"]]
    # SGD and flow start from the same state: identical risk at t = 0 (float32 state, float64 flow)
    assert report["sgd"]["risk_mean"][0] == pytest.approx(report["theory"]["risk"][0], rel=1e-5)
    # at least 3 of the 4 directions are learned by every seed, at the same times (within 15%) in SGD and flow
    em = report["comparison"]["emergence"]
    assert em["n_learned_by_all"] >= 3
    assert ch["emergence_time_ratio"]["value"] <= ch["emergence_time_ratio"]["tolerance"]
    ok = np.array(em["learned_by_all"])
    lo, hi = (np.array(x, dtype=float)[ok] for x in em["ratio_ci"])
    assert np.all((lo <= 1) & (hi >= 1))  # every 99% interval of T_sgd/T_flow over seeds contains 1
    # the first directions (strong signal, early) agree within 5%
    assert np.all(np.abs(np.array(em["ratio_geomean"][:3]) - 1) < 0.05)


def test_wrong_time_map_fails(tiny):
    cfg, res = tiny
    # t = 2·(4cη·steps) instead of 4cη·steps: SGD seems to learn twice as late as the flow
    report = compare(replay_flow(cfg, res, time_map_factor=2.0))
    ch = _checks(report)
    assert report["verdict"]["pass"] is False
    assert not ch["emergence_time_ratio"]["pass"] and not ch["gap_max"]["pass"]
    assert report["comparison"]["emergence"]["ratio_geomean"][0] == pytest.approx(2.0, rel=0.15)


@pytest.mark.parametrize("factor", [1.15, 0.85])
def test_clock_off_by_15_percent_fails(tiny, factor):
    # the same SGD run judged against a flow whose clock runs 15% fast or slow (a run labelled with η·1.15): every
    # time is stretched by one factor, below what the worst single direction can resolve with 3 seeds, but the
    # pooled clock over (seed, direction) pairs sees it in the emergence times and in the rise times alike
    cfg, res = tiny
    honest = _checks(compare(replay_flow(cfg, res)))
    report = compare(replay_flow(cfg, res, time_map_factor=factor))
    ch = _checks(report)
    assert report["verdict"]["pass"] is False
    for name in ("emergence_clock", "rise_time_ratio"):
        assert honest[name]["pass"] and honest[name]["value"] < 0.05, honest[name]
        assert not ch[name]["pass"] and ch[name]["value"] > ch[name]["tolerance"], ch[name]
        assert ch[name]["tolerance"] < abs(np.log(factor))  # the band itself is tighter than the clock error
    clock = report["comparison"]["clock"]["emergence_clock"]
    assert clock["ratio"] == pytest.approx(factor, rel=0.05)


def _miss_direction(data, m):
    """``data`` with SGD's direction m held at its initial overlap and its risk drop removed (additive model)."""
    sd, sr = data.sgd_dir.copy(), data.sgd_risk.copy()
    g = sd[:, :, m - 1]
    g0 = g[:, :1]
    sr += data.a[m - 1] ** 2 * (np.minimum(g, 1) ** 2 - g0**2)
    sd[:, :, m - 1] = np.broadcast_to(g0, g.shape)
    return dataclasses.replace(data, sgd_dir=sd, sgd_risk=sr)


def test_run_that_misses_the_weakest_direction_fails_naming_it(tiny):
    cfg, res = tiny
    data = replay_flow(cfg, res)
    m = cfg.M  # N = M: the weakest direction is the last one the flow learns
    assert _checks(compare(data))["directions_learned_count"]["pass"]
    report = compare(_miss_direction(data, m))
    row = _checks(report)["directions_learned_count"]
    assert report["verdict"]["pass"] is False and not row["pass"]
    assert row["value"] == 3  # every seed
    assert f"missed direction m = {m}" in row["why"]


@pytest.fixture(scope="module")
def tiny_homogeneous():
    # two-homogeneous h4 (k = 4), d = 16, M = 3, N = 6, ε = 0.02, 3 seeds: every direction learned by t = 15
    from sgd_check import HomogeneousSGDConfig, simulate, steps_for_time

    sizes = dict(d=16, M=3, N=6, beta=1.0, activation="h4")
    cfg = HomogeneousSGDConfig(eta=eta_for_epsilon("homogeneous", sizes, 0.02), steps=1, seeds=3, n_log=60, **sizes)
    cfg = cfg.replace(steps=steps_for_time(15.0, cfg.time_per_step))
    return cfg, simulate(cfg, progress=False)


def test_homogeneous_run_passes_and_missing_its_weakest_direction_fails(tiny_homogeneous):
    cfg, res = tiny_homogeneous
    data = replay_flow(cfg, res)
    report = compare(data)
    assert report["verdict"]["pass"] is True, [c for c in report["verdict"]["checks"] if not c["pass"]]
    assert _checks(report)["emergence_clock"]["pass"]
    missed = compare(_miss_direction(data, cfg.M))
    row = _checks(missed)["directions_learned_count"]
    assert missed["verdict"]["pass"] is False and not row["pass"] and row["value"] >= 1
    assert f"missed direction m = {cfg.M}" in row["why"]


def test_cli_check_writes_outputs_and_from_dir_reproduces(run_cli, tmp_path):
    cfg = _config()
    out = tmp_path / "run"
    args = ["check", "quadratic", "--d", 32, "--M", 4, "--N", 4, "--beta", 1.0, "--eta", cfg.eta]
    status, stdout, err = run_cli(*args, "--steps", cfg.steps, "--seeds", 3, "--n-log", 40, "--out", out, "--quiet")
    assert status == 0, stdout + err
    assert "verdict: PASS" in stdout
    report = load_report(out / "report.json")
    assert report["verdict"]["pass"] is True and report["model"] == "quadratic"
    for name in ("risk", "staircase", "emergence", "summary"):
        assert (out / f"{name}.png").stat().st_size > 5000
    assert (out / "data.npz").is_file()
    # re-judge and re-draw from the saved data: same report, byte for byte
    before = (out / "report.json").read_text()
    (out / "summary.png").unlink()
    status, stdout, _ = run_cli("check", "--from-dir", out, "--json")
    assert status == 0
    assert json.loads(stdout) == report
    assert (out / "report.json").read_text() == before and (out / "summary.png").is_file()


def test_cli_far_too_large_eta_fails_with_status_1(run_cli, tmp_path):
    cfg = _config(eps=30.0)  # 600× the tracking step: SGD noise swamps the drift
    args = ["check", "quadratic", "--d", 32, "--M", 4, "--N", 4, "--beta", 1.0, "--eta", cfg.eta]
    opts = ["--steps", cfg.steps, "--seeds", 3, "--n-log", 40, "--out", tmp_path, "--quiet"]
    status, stdout, err = run_cli(*args, *opts)
    assert status == 1, stdout + err
    report = load_report(tmp_path / "report.json")
    assert report["verdict"]["pass"] is False
    assert "verdict: FAIL" in stdout


# ---- a run too short to judge (issue 8 item 7) ----------------------------------------------------------
def test_short_check_says_so_and_draws(run_cli, tmp_path):
    out = tmp_path / "c"
    # the issue's `--d 16 --M 2 --N 2 --eta 1e-3 --steps 10`, at the sizes of tests/test_check.py (shared compile)
    argv = ["check", "quadratic", "--d", 32, "--M", 4, "--N", 4, "--eta", 1e-3, "--steps", 10, "--seeds", 3]
    argv += ["--n-log", 40, "--quiet"]
    status, text, err = run_cli(*argv, "--out", out)
    assert status == 1, err
    assert "too short" in text
    report = json.loads((out / "report.json").read_text())
    gate = {c["name"]: c for c in report["verdict"]["checks"]}["run_long_enough"]
    assert gate["pass"] is False and gate["gated"] and report["verdict"]["pass"] is False
    for name in ("risk", "staircase", "emergence", "summary"):
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["check"], "`model` is required"),
        (["check", "quadratic", "--d", 32, "--M", 4, "--N", 4, "--beta", 1.0, "--eta", 1e-3], "--steps"),
        (["check", "quadratic", "--M", 4, "--N", 4, "--beta", 1.0, "--eta", 1e-3, "--steps", 5], "--d"),
        (["check", "quadratic", "--d", 2, "--M", 4, "--N", 4, "--beta", 1.0, "--eta", 1e-3, "--steps", 5], "`M`"),
        (["check", "quadratic", "--d", 32, "--M", 4, "--N", 4, "--beta", 1, "--eta", -1, "--steps", 5], "`eta`"),
        (["check", "--from-dir", "/nonexistent/folder"], "--from-dir"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(run_cli, argv, needle):
    status, stdout, err = run_cli(*argv)
    assert status == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "model, extra, word",
    [("quadratic", ["--activation", "relu"], "activation"), ("homogeneous", ["--c", 0.5], "--c")],
)
def test_check_refuses_arguments_of_the_other_model(run_cli, tmp_path, model, extra, word):
    """`check quadratic --activation relu` used to run He2 silently; both commands now refuse such arguments."""
    base = ["--d", 16, "--M", 4, "--N", 2, "--eta", 1e-3, "--steps", 10, "--out", tmp_path / "o"]
    for cmd in ("check", "simulate"):
        status, _, err = run_cli(cmd, model, *base, *extra)
        assert status == 2 and word in err and err.count("\n") == 1 and "Traceback" not in err
        assert not (tmp_path / "o").exists()
