"""``shallowlaws theory``: JSON keys, files written, bad input → exit 2 with one line."""

from __future__ import annotations

import json

import numpy as np
import pytest


def test_quadratic_json_keys_and_values(run_cli):
    status, out, err = run_cli(
        "theory",
        "quadratic",
        "--d",
        4000,
        "--M",
        64,
        "--N",
        64,
        "--beta",
        0.8,
        "--t-max",
        2000,
        "--points",
        40,
        "--json",
    )
    assert status == 0, err
    res = json.loads(out)
    for key in ("model", "params", "time_unit", "t", "risk", "floor", "emergence_times", "predicted", "fit"):
        assert key in res
    assert res["model"] == "quadratic"
    assert res["predicted"]["time_exponent"] == pytest.approx((1 - 2 * 0.8) / 0.8, abs=0)
    assert res["fit"]["time_exponent"] is not None and len(res["fit"]["window"]) == 2
    assert res["fit"]["n_emergences"] >= 8 and res["fit"]["ci"][0] < res["fit"]["time_exponent"] < res["fit"]["ci"][1]
    assert len(res["t"]) == len(res["risk"]) == 40 and len(res["emergence_times"]) == 64
    assert res["floor"] == 0.0 and res["risk"][-1] < 1e-3  # N = M: the flow learns everything
    assert "4*c*eta*steps" in res["time_unit"] and res["time_label"] == "t = 4cη·steps"
    assert res["params"]["loss_convention"] == "half"


def test_quadratic_out_dir_and_init_overlap(run_cli, tmp_path):
    import riccati

    Y0 = riccati.sample_initial_overlap(3, 500, 6, 3)
    f = tmp_path / "y0.npy"
    np.save(f, Y0)
    out = tmp_path / "res"
    status, stdout, err = run_cli(
        "theory",
        "quadratic",
        "--d",
        500,
        "--M",
        6,
        "--N",
        3,
        "--init-overlap",
        f,
        "--times",
        "0,1,10,100,1000",
        "--out",
        out,
    )
    assert status == 0, err
    assert (out / "theory.json").exists() and (out / "theory.png").stat().st_size > 1000
    with np.load(out / "curves.npz") as data:  # closed here: an open handle is a ResourceWarning (an error)
        risk, G_diag = data["risk"], data["G_diag"]
    sol = riccati.quadratic_flow(riccati.teacher_coefficients(1.0, 6), Y0, [0, 1, 10, 100, 1000])
    np.testing.assert_allclose(risk, sol.risk, atol=1e-14)
    assert G_diag.shape == (5, 6)
    assert json.loads((out / "theory.json").read_text())["params"]["init"].startswith("file")


def test_homogeneous_json(run_cli):
    # N=3, M=2 and 16 times: the shapes of tests/test_riccati_homogeneous.py, so the compiled solver is reused
    status, out, err = run_cli(
        "theory", "homogeneous", "--d", 6, "--M", 2, "--N", 3, "--beta", 1.0, "--times", "0:40:16", "--json"
    )
    assert status == 0, err
    res = json.loads(out)
    assert res["model"] == "homogeneous" and res["predicted"]["information_exponent"] == 4
    assert res["risk"][0] == pytest.approx(1.0, abs=0.05) and res["risk"][-1] < res["risk"][0]
    assert "eta*steps" in res["time_unit"]


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["quadratic", "--d", 10, "--M", 3, "--N", 2, "--beta", -1], "beta"),
        (["quadratic", "--d", 10, "--M", 0, "--N", 2], "M"),
        (["quadratic", "--d", 10, "--M", 11, "--N", 2], "exceeds"),
        (["quadratic", "--d", 10, "--M", 3, "--N", 12], "exceeds"),
        (["quadratic", "--d", 10, "--M", 3, "--N", 2, "--times", "5,1"], "increasing"),
        (["quadratic", "--d", 10, "--M", 3, "--N", 2, "--times=-1,1"], "≥ 0"),
        (["quadratic", "--d", 10, "--M", 3, "--N", 2, "--init-overlap", "/nonexistent.npy"], "cannot read"),
        (["homogeneous", "--d", 10, "--M", 3, "--N", 2, "--activation", "h3"], "even"),
        (["homogeneous", "--d", 10, "--M", 3, "--N", 2, "--activation", "z**2"], "c_0"),
    ],
)
def test_bad_input_exit_2_one_line(run_cli, argv, needle):
    status, out, err = run_cli("theory", *argv)
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert needle in err


def test_wrong_init_shape_states_expected_shape(run_cli, tmp_path):
    f = tmp_path / "w.npy"
    np.save(f, np.ones((3, 3)))
    status, _, err = run_cli("theory", "homogeneous", "--d", 10, "--M", 2, "--N", 3, "--init-weights", f)
    assert status == 2 and "expected (N, d) = (3, 10)" in err
    status, _, err = run_cli("theory", "quadratic", "--d", 10, "--M", 2, "--N", 3, "--init-overlap", f)
    assert status == 2 and "expected (M, N) = (2, 3)" in err


def test_no_power_law_fit_on_small_widths_or_beta_below_half(run_cli):
    """Items 2, 5, 6, 15 of issue 10: M = N = 8 has fewer than 8 emergences before the exponential cut-off (the
    README's homogeneous example fitted −1.9e−6 on a plateau); β = 0.3 has no power law (was "predicted 1.333")."""
    status, out, err = run_cli("theory", "quadratic", "--d", 400, "--M", 8, "--N", 8, "--t-max", 2000, "--json")
    assert status == 0, err
    res = json.loads(out)
    assert res["fit"]["time_exponent"] is None and "no power-law window" in res["fit"]["reason"]
    status, out, err = run_cli("theory", "quadratic", "--d", 10**4, "--M", 100, "--N", 75, "--beta", 0.3, "--json")
    res = json.loads(out)
    pred = res["predicted"]
    assert pred["time_exponent"] is None and pred["compute_exponent"] is None and pred["regime"] == "beta<1/2"
    assert res["fit"]["time_exponent"] is None and "β = 0.3" in res["fit"]["reason"]
    # item 13: the default horizon (--until converged) reaches the plateau; the old one stopped at R = 0.249
    assert res["risk"][-1] == pytest.approx(res["floor"], rel=2e-3) and res["params"]["horizon"]["converged"]
    status, out, err = run_cli("theory", "quadratic", "--d", 10**4, "--M", 100, "--N", 75, "--beta", 0.3)
    assert "no power law" in out and "predicted exponent" not in out


def test_counts_separate_learned_from_transient_crossings(run_cli):
    """Item 14: at most min(N, M) directions are learned at the end; crossings beyond N are counted apart."""
    status, out, err = run_cli(
        "theory", "quadratic", "--d", 3200, "--M", 400, "--N", 50, "--t-max", 4096, "--points", 40, "--json"
    )
    assert status == 0, err
    c = json.loads(out)["counts"]
    assert c["learned_at_end"] <= 50 and c["crossed_half"] == c["learned_at_end"] + c["transient_crossings"]


def test_model_specific_help_and_t_min(run_cli):
    status, out, _ = run_cli("theory", "quadratic", "--help")
    assert status == 0 and "Riccati" in out and "--init-overlap" in out and "--activation" not in out
    status, out, _ = run_cli("theory", "homogeneous", "--help")
    assert status == 0 and "--activation" in out and "--init-overlap" not in out
    status, out, err = run_cli(
        "theory", "quadratic", "--d", 100, "--M", 4, "--N", 4, "--t-max", 1e5, "--t-min", 0.01, "--json"
    )
    assert status == 0, err
    assert json.loads(out)["t"][0] == pytest.approx(0.01)
    # default t-min puts the initial plateau on the grid even for a long horizon (was t_max·1e-4 = 10)
    status, out, err = run_cli("theory", "quadratic", "--d", 100, "--M", 4, "--N", 4, "--t-max", 1e5, "--json")
    res = json.loads(out)
    assert res["risk"][0] > 0.9
    status, _, err = run_cli("theory", "quadratic", "--d", 100, "--M", 4, "--N", 4, "--t-max", 10, "--t-min", 20)
    assert status == 2 and "--t-min" in err


def test_talk_loss_convention_is_named(run_cli):
    status, out, err = run_cli(
        "theory", "quadratic", "--d", 100, "--M", 4, "--N", 4, "--loss-convention", "talk", "--json"
    )
    assert status == 0, err
    res = json.loads(out)
    assert res["params"]["loss_convention"] == "talk" and "2*eta_talk" in res["time_unit"]
    assert res["time_label"] == "t = 8cη_talk·steps"


def test_progress_lines_off_a_terminal(capsys):
    """Item 16: runs longer than a few seconds print plain progress lines on stderr when it is not a terminal."""
    from sgd_check.cli._theory_cmd import _Progress

    with _Progress("Riccati closed form", first_after=0.0, every=0.0) as p:
        p.update(3, 40)
        p.update(40, 40)  # the last one is not announced
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "3/40 times" in err
