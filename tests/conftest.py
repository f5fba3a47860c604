"""Test configuration: float64 for theory, warnings as errors (pyproject), seeded keys, CLI runner."""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

# Theory tests compare in float64; the simulator passes explicit dtypes, so this does not change its default.
jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    """A fixed JAX PRNG key, so every test is reproducible."""
    return jax.random.PRNGKey(20250419)


@pytest.fixture
def rng():
    """A fixed numpy Generator."""
    return np.random.default_rng(20250808)


@pytest.fixture
def run_cli(capsys):
    """Run the ``shallowlaws`` CLI in-process; returns (status, stdout, stderr)."""
    from sgd_check.cli import main

    def _run(*argv):
        status = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return status, out, err

    return _run
