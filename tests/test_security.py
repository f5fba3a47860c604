"""Activation strings are parsed with a whitelist, never evaluated; singular σ is refused with a reason.

Every payload below ran code on the old parser (sympy ``parse_expr`` evaluates its input): the first one
created the file ``PWNED`` and the second even exited 0. Each must now be refused with exit status 2 and one
line, on every path a string reaches: ``hermite``, ``--activation`` on ``simulate``/``theory``/``check``, and
``hermite.coefficients()``/``hermite.activation()``.
"""

import os

import pytest

PAYLOADS = [
    "__import__('os').system('touch PWNED')",
    "__import__('os').system('touch PWNED')*0 + z**2",
    "z.__class__",
    "exp.__globals__['os']",
    "(lambda: __import__('os').system('touch PWNED'))()",
    "[__import__('os').system('touch PWNED') for _ in (1,)]",
    "z**2 + " * 100 + "z",  # 701 characters: over the length bound
    "9**9**9**9",  # an exact integer power that would not finish
    "exp(z=1)",
]

RUN = ["--d", 8, "--M", 2, "--N", 2, "--eta", 1e-3, "--steps", 4, "--seeds", 1, "--dtype", "float64"]


def _one_line_exit_2(status, out, err):
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hermite_cli_refuses_payload(run_cli, tmp_path, monkeypatch, payload):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli("hermite", payload, "--degree", 2)
    _one_line_exit_2(status, out, err)
    assert out == ""
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "homogeneous", *RUN, "--quiet"],
        ["theory", "homogeneous", "--d", 8, "--M", 2, "--N", 2, "--points", 3],
        ["check", "homogeneous", *RUN, "--quiet"],
        ["simulate", "quadratic", *RUN, "--quiet"],
    ],
    ids=["simulate", "theory", "check", "simulate-quadratic"],
)
@pytest.mark.parametrize("payload", PAYLOADS[:2])
def test_activation_option_refuses_payload(run_cli, tmp_path, monkeypatch, argv, payload):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(*argv, "--activation", payload)
    _one_line_exit_2(status, out, err)
    assert not os.path.exists(tmp_path / "PWNED")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_api_refuses_payload(tmp_path, monkeypatch, payload):
    import hermite

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="`spec`="):
        hermite.coefficients(payload, 3)
    with pytest.raises(ValueError, match="`spec`="):
        hermite.activation(payload)
    assert os.listdir(tmp_path) == []


def test_parser_builds_the_documented_forms():
    """The whitelist still accepts what the docs show, and builds the same sympy expressions."""
    import sympy as sp

    import hermite

    z = hermite.Z
    cases = {
        "Max(z,0)": sp.Max(z, 0),
        "Abs(z)**3": sp.Abs(z) ** 3,
        "exp(z/2)": sp.exp(z / 2),
        "Piecewise((z, z > 1), (0, True))": sp.Piecewise((z, z > 1), (0, True)),
        "He3 + 2*h5": sp.expand(sp.hermite_prob(3, z) + 2 * sp.hermite_prob(5, z) / sp.sqrt(sp.factorial(5))),
        "cos(z) - exp(-1/2)": sp.cos(z) - sp.exp(-sp.Rational(1, 2)),
        "relu(z) + gelu(z)": sp.Max(z, 0) + z * (1 + sp.erf(z / sp.sqrt(2))) / 2,
        "-pi*E*z": -sp.pi * sp.E * z,
        "Piecewise((z, (z > 0) & (z < 1)), (0, True))": sp.Piecewise((z, (z > 0) & (z < 1)), (0, True)),
    }
    for text, want in cases.items():
        assert sp.simplify(hermite.activation(text).expr - want) == 0, text


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("1/z**2", "singular at z=0"),
        ("1/z", "singular at z=0"),
        ("DiracDelta(z)", "distribution"),
        ("tan(z)", "singularities"),
        ("Abs(z - 2)**(-1/4)", "singular at z=2"),
    ],
)
def test_singular_activation_refused(run_cli, spec, needle):
    status, out, err = run_cli("hermite", spec, "--degree", 3)
    _one_line_exit_2(status, out, err)
    assert needle in err


def test_singular_activation_reason_names_square_integrability():
    import hermite

    with pytest.raises(ValueError, match=r"E\[σ²\] = ∞"):
        hermite.coefficients("1/z**2", 3)
    with pytest.raises(ValueError, match="square-integrable but unbounded"):
        hermite.coefficients("Abs(z)**(-1/4)", 3)
    # a removable point is not a singularity: sin(z)/z → 1 at 0, and
    # E[sin z / z] = (1/√(2π)) ∫ sin z / z · e^{-z²/2} dz = (1/√(2π)) · π erf(1/√2) = √(π/2) erf(1/√2)
    import math

    co = hermite.coefficients("sin(z)/z", 0, exact=False)
    assert co.values[0] == pytest.approx(math.sqrt(math.pi / 2) * math.erf(1 / math.sqrt(2)), rel=1e-12)
