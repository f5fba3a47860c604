"""`shallowlaws hermite`: JSON and table output, bad input → one line and exit status 2."""

from __future__ import annotations

import json
import math

import pytest


def test_json_relu(run_cli):
    status, out, err = run_cli("hermite", "relu", "--degree", "4", "--json")
    assert status == 0, err
    d = json.loads(out)
    for field in ("expression", "basis", "degree", "coefficients", "exact", "information_exponent", "kernel"):
        assert field in d
    assert d["basis"] == "He" and d["degree"] == 4
    assert len(d["coefficients"]) == 5 and len(d["exact"]) == 5
    assert d["coefficients"][:3] == pytest.approx([1 / math.sqrt(2 * math.pi), 0.5, 0.5 / math.sqrt(2 * math.pi)])
    assert d["exact"][1] == "1/2"
    assert d["information_exponent"] == 1
    assert "acos" in d["kernel"]
    assert d["second_moment"] == pytest.approx(0.5)
    # L² error of the truncated expansion = sqrt(E σ² − Σ_{j≤4} j! c_j²), computed here independently
    partial = sum(math.factorial(j) * c * c for j, c in enumerate(d["coefficients"]))
    assert d["l2_error"] == pytest.approx(math.sqrt(0.5 - partial), rel=1e-9)


def test_json_numeric_h_basis(run_cli):
    status, out, _ = run_cli("hermite", "tanh", "--degree", "5", "--basis", "h", "--json")
    assert status == 0
    d = json.loads(out)
    assert d["basis"] == "h" and d["exact"] == [None] * 6 and d["kernel"] is None
    assert d["information_exponent"] == 1
    assert d["coefficients"][1] == pytest.approx(0.6057055096, abs=1e-9)  # E[tanh(z) z]
    assert max(d["errors"]) < 1e-12


def test_json_constant_has_no_information_exponent(run_cli):
    status, out, _ = run_cli("hermite", "2", "--degree", "3", "--json")
    assert status == 0
    d = json.loads(out)
    assert d["information_exponent"] is None and d["coefficients"] == [2, 0, 0, 0]


def test_table_output(run_cli):
    status, out, _ = run_cli("hermite", "h4", "--degree", "5")
    assert status == 0
    assert "information exponent: 4" in out and "rho**4" in out
    assert "sqrt(6)/12" in out  # c_4 = 1/√24 in the He basis


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["foo(z) + x"], "foo"),
        (["exp(z**2)"], "E[σ²]"),
        (["z +"], "not a valid expression"),
        (["relu", "--degree", "-1"], "degree"),
        (["relu", "--degree", "2.5"], "degree"),
        (["relu", "--basis", "H"], "basis"),
        (["log(z)"], "NaN"),
    ],
)
def test_bad_input_exit_2(run_cli, capsys, argv, needle):
    try:
        status, out, err = run_cli("hermite", *argv)
    except SystemExit as exc:  # argparse rejects the value before `main` runs the command
        status = exc.code
        out, err = capsys.readouterr()
    assert status == 2
    assert needle in err and len(err.strip().splitlines()) == 1 and out == ""


def test_api_bad_input_messages():
    import numpy as np

    import hermite

    with pytest.raises(ValueError, match="unknown symbol.*a"):
        hermite.activation("a*z")
    with pytest.raises(ValueError, match="E\\[σ²\\] = ∞"):
        hermite.coefficients("exp(z**2)", 5)
    with pytest.raises(ValueError, match="grows like exp"):
        hermite.coefficients(lambda x: np.exp(0.3 * x * x), 5)
    with pytest.raises(ValueError, match="returned NaN"):
        hermite.coefficients(lambda x: np.where(x > 3, np.nan, x), 3)
    with pytest.raises(TypeError, match="elementwise on arrays"):
        hermite.coefficients(math.tanh, 3)  # scalar-only callable
    with pytest.raises(TypeError, match="complex"):
        hermite.coefficients(lambda x: x + 1j, 3)
    with pytest.raises(TypeError, match="degree"):
        hermite.coefficients("relu", 2.5)
    with pytest.raises(ValueError, match="degree"):
        hermite.coefficients("relu", -2)
    with pytest.raises(TypeError, match="spec"):
        hermite.activation([1, 2])
    with pytest.raises(ValueError, match="tol"):
        hermite.information_exponent("relu", tol=0)
