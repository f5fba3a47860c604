"""Memory and wall time are estimated before anything is allocated (issue 8, item 9)."""

import io

import pytest

from sgd_check import HomogeneousSGDConfig, QuadraticSGDConfig
from sgd_check.cli._common import estimate_memory_bytes, require_resources


def test_run_that_cannot_fit_is_refused_before_work(run_cli):
    # ≈ 1e6 seeds × 0.5 MB of inputs and state each: hundreds of GB on any machine
    argv = ["simulate", "quadratic", "--d", 1000, "--M", 16, "--N", 16, "--eta", 1e-4, "--steps", 10]
    status, out, err = run_cli(*argv, "--seeds", 1_000_000, "--engine", "full", "--quiet")
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "needs ≈" in err and "GB" in err and "lower --seeds or use --engine reduced" in err
    # the reduced engine (auto at this d) holds no d-sized array, but a million seeds still cannot fit
    status, out, err = run_cli(*argv, "--seeds", 1_000_000, "--quiet")
    assert status == 2 and "needs ≈" in err and "--engine reduced" not in err
    status, out, err = run_cli("check", *argv[1:], "--seeds", 1_000_000, "--quiet")
    assert status == 2 and "needs ≈" in err


def test_estimate_scales_with_the_arrays():
    """The estimate counts the arrays the engine holds: linear in seeds and in d, twice as much in float64."""
    base = QuadraticSGDConfig(d=1000, M=16, N=16, beta=1.0, eta=1e-4, steps=10, seeds=1000, engine="full")
    m = estimate_memory_bytes(base) - 0.5e9
    assert estimate_memory_bytes(base.replace(seeds=2000)) - 0.5e9 == pytest.approx(2 * m, rel=1e-12)
    assert estimate_memory_bytes(base.replace(dtype="float64")) - 0.5e9 > 1.5 * m  # logs are float64 in both
    # the inputs of 64 steps for every seed (4 bytes × 64 × d × 2) are a lower bound of what the engine holds
    assert m >= 1000 * 4 * 64 * 1000 * 2
    # the reduced engine's arrays have no d-sized axis: its estimate does not grow with d
    red = base.replace(engine="reduced")
    assert estimate_memory_bytes(red) == estimate_memory_bytes(red.replace(d=10**9)) < estimate_memory_bytes(base)


def test_limits_and_wall_time_note():
    cfg = HomogeneousSGDConfig(d=100, M=4, N=4, beta=1.0, eta=1e-5, steps=10**10, seeds=64)
    need = estimate_memory_bytes(cfg)
    with pytest.raises(ValueError, match="needs ≈"):
        require_resources(cfg, available=int(need))  # more than 80 % of what is available
    buf = io.StringIO()
    require_resources(cfg, available=10 * need, file=buf)
    assert "estimated wall time" in buf.getvalue() and " h " in buf.getvalue()
    buf = io.StringIO()
    require_resources(cfg.replace(steps=1000), available=10 * need, file=buf)
    assert buf.getvalue() == ""  # short runs print nothing
