"""The raw paired curves of one check (:class:`CheckData`) and their on-disk schema (``data.npz``).

A check's data is everything needed to re-judge and re-draw it without rerunning SGD (``check --from-dir``): S seeds
of SGD and the exact flow from each seed's own initial state, on one flow-time axis (docs/theory.md §4).
``data.npz`` holds the arrays and one JSON string ``meta`` (model, params, floor, time unit, extra, ``schema``).
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

from hermite.validation import require_choice

from .._outdir import to_jsonable, write_npz

__all__ = ["CheckData", "REPORT_SCHEMA_VERSION"]

#: Version of ``report.json`` and of ``data.npz``'s ``meta``; a reader refuses data of a newer version by name.
REPORT_SCHEMA_VERSION = 1

_ARRAYS = ("a", "t", "steps", "sgd_risk", "flow_risk", "sgd_dir", "flow_dir")


@dataclass(frozen=True)
class CheckData:
    """Raw paired curves of one check: S seeds of SGD and the exact flow from each seed's own initial state.

    Attributes (S seeds, T logged times, M teacher directions)
    ----------------------------------------------------------
    model : "quadratic" or "homogeneous".
    params : JSON-able dict of the run configuration (d, M, N, beta, eta, batch, seeds, c, ...).
    a : (M,) normalised teacher coefficients ã (Σ ã² = 1).
    t : (T,) flow time of each logged step (``time_unit``), already multiplied by ``time_map_factor``.
    steps : (T,) SGD step of each logged point.
    sgd_risk, flow_risk : (S, T) relative risk of SGD and of the flow, per seed.
    sgd_dir, flow_dir : (S, T, M) direction curves G_mm or max_i m_ip².
    diverged : (S,) bool, seeds that SGD lost (excluded from every statistic, and reported).
    floor : exact width floor Σ_{m>N} ã_m² of the flow (0 if N ≥ M).
    time_unit : text of the time convention.
    extra : JSON-able dict (samples_per_second, seconds, versions...), copied into the report as is.
    flow_emergence : optional (S, M) emergence times of the flow from its dense output (riccati: Newton on the
        closed form, or the ODE's dense grid), independent of the logging grid; NaN where not reached. When
        absent they are interpolated on the logged grid like SGD's.
    """

    model: str
    params: dict
    a: np.ndarray
    t: np.ndarray
    steps: np.ndarray
    sgd_risk: np.ndarray
    flow_risk: np.ndarray
    sgd_dir: np.ndarray
    flow_dir: np.ndarray
    diverged: np.ndarray
    floor: float
    time_unit: str
    extra: dict = field(default_factory=dict)
    flow_emergence: np.ndarray | None = None

    def __post_init__(self):
        require_choice("model", self.model, ("quadratic", "homogeneous"))
        t = np.asarray(self.t, dtype=np.float64)
        sr = np.asarray(self.sgd_risk, dtype=np.float64)
        fr = np.asarray(self.flow_risk, dtype=np.float64)
        if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0) or t[0] < 0:
            raise ValueError(f"`t` must be a strictly increasing 1-d array of ≥ 2 times ≥ 0; got shape {t.shape}")
        S, T = sr.shape if sr.ndim == 2 else (None, None)
        if sr.ndim != 2 or T != t.size or fr.shape != sr.shape:
            raise ValueError(
                f"`sgd_risk` and `flow_risk` must both have shape (S, T) = (S, {t.size}); got {sr.shape} and {fr.shape}"
            )
        a = np.asarray(self.a, dtype=np.float64)
        M = a.size
        for name in ("sgd_dir", "flow_dir"):
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.shape != (S, T, M):
                raise ValueError(f"`{name}` must have shape (S, T, M) = {(S, T, M)}; got {arr.shape}")
        div = np.asarray(self.diverged, dtype=bool)
        if div.shape != (S,):
            raise ValueError(f"`diverged` must have shape (S,) = ({S},); got {div.shape}")
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "steps", np.asarray(self.steps, dtype=np.int64))
        object.__setattr__(self, "sgd_risk", sr)
        object.__setattr__(self, "flow_risk", fr)
        object.__setattr__(self, "sgd_dir", np.asarray(self.sgd_dir, dtype=np.float64))
        object.__setattr__(self, "flow_dir", np.asarray(self.flow_dir, dtype=np.float64))
        object.__setattr__(self, "diverged", div)
        object.__setattr__(self, "floor", float(self.floor))
        if self.flow_emergence is not None:
            fe = np.asarray(self.flow_emergence, dtype=np.float64)
            if fe.shape != (S, M):
                raise ValueError(f"`flow_emergence` must have shape (S, M) = {(S, M)}; got {fe.shape}")
            object.__setattr__(self, "flow_emergence", fe)

    @property
    def alive(self) -> np.ndarray:
        """(S,) bool: the seeds SGD did not lose."""
        return ~self.diverged

    # -- persistence ---------------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the raw data as one NPZ (arrays) with the JSON metadata embedded; atomic (write then rename)."""
        meta = {
            "model": self.model,
            "params": self.params,
            "floor": self.floor,
            "time_unit": self.time_unit,
            "extra": self.extra,
            "schema": REPORT_SCHEMA_VERSION,
        }
        write_npz(
            os.fspath(path),
            meta=np.array(json.dumps(to_jsonable(meta, strict=True))),
            **{k: getattr(self, k) for k in _ARRAYS},
            diverged=self.diverged,
            **({} if self.flow_emergence is None else {"flow_emergence": self.flow_emergence}),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> CheckData:
        """Read data written by :meth:`save`; a missing, malformed or too new file raises one clear error.

        Data without a ``schema`` entry is read as schema 1 (the first one written); a newer schema than
        :data:`REPORT_SCHEMA_VERSION` is refused, naming the version it needs.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no saved check data at {path!r}: run `shallowlaws check ... --out DIR` first")
        try:
            with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                arrays = {k: z[k] for k in _ARRAYS}
                diverged = z["diverged"]
                flow_emergence = z["flow_emergence"] if "flow_emergence" in z.files else None
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, MemoryError) as exc:
            why = "empty file" if os.path.getsize(path) == 0 else type(exc).__name__
            raise ValueError(
                f"{path!r} is not check data written by shallowlaws ({why}: truncated or corrupted); rerun "
                "`shallowlaws check ... --out DIR --overwrite` to write it again"
            ) from None
        schema = meta.get("schema", 1) if isinstance(meta, dict) else None
        if not isinstance(schema, int) or isinstance(schema, bool) or schema > REPORT_SCHEMA_VERSION:
            raise ValueError(
                f"{path!r} holds check data of schema {schema!r}; this shallowlaws reads schema ≤ "
                f"{REPORT_SCHEMA_VERSION}: read it with the shallowlaws version that wrote it (its "
                "shallowlaws-run.json and report.json name it), or rerun the check"
            )
        return cls(
            model=meta["model"],
            params=meta["params"],
            floor=meta["floor"],
            time_unit=meta["time_unit"],
            extra=meta.get("extra", {}),
            diverged=diverged,
            flow_emergence=flow_emergence,
            **arrays,
        )
