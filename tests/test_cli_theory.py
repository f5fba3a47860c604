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
        400,
        "--M",
        30,
        "--N",
        30,
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
    assert len(res["t"]) == len(res["risk"]) == 40 and len(res["emergence_times"]) == 30
    assert res["floor"] == 0.0 and res["risk"][-1] < 1e-3  # N = M: the flow learns everything
    assert "4*c*eta*steps" in res["time_unit"]


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
    assert (out / "theory.json").exists() and (out / "risk.png").stat().st_size > 1000
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
