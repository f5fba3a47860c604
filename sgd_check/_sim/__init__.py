"""The online-SGD simulator (docs/theory.md §2-§5), one module per concern.

* ``config``: frozen, validated run specifications (:class:`QuadraticSGDConfig`, :class:`HomogeneousSGDConfig`),
  the log schedule and :func:`config_params` (the configuration as recorded next to results);
* ``quadratic``, ``homogeneous``: one SGD step and the exact observables of each model, per seed, jittable;
* ``reduced``: the exact reduced-state chain (frame coordinates, cost independent of d);
* ``chunk``: what every compiled chunk shares (step-and-log, divergence rules, end-of-chunk re-orthonormalisation);
* ``engine``: the full engine's chunks, the compile cache and the driver :func:`simulate`;
  ``reduced_engine``: the reduced engine's model adapter and chunk;
* ``result``: :class:`SimulationResult` and its assembly from the logs;
* ``checkpoint``: atomic, checksummed checkpoints and resumption;
* ``output``, ``plot``: ``result.npz``/``result.json``/``result.png`` of a run (``save_result``).

The public names are re-exported by :mod:`sgd_check`; the other packages of ``sgd_check`` (CLI, check, sweep)
import what they need from here, never from the modules below.
"""

from .config import HomogeneousSGDConfig, QuadraticSGDConfig, config_params, steps_for_time
from .engine import simulate
from .result import SimulationResult

__all__ = [
    "HomogeneousSGDConfig",
    "QuadraticSGDConfig",
    "SimulationResult",
    "config_params",
    "simulate",
    "steps_for_time",
]
