"""Atomic checkpoints of a simulation (write to a temporary file, fsync, then rename over the old one).

A checkpoint holds the configuration (as JSON), the chunk index reached, the engine state of every seed (the
parameters, alive flags, divergence steps, drift maxima) and the logs so far. Resuming compares the stored
configuration with the requested one and names the first parameter that differs.
"""

from __future__ import annotations

import json
import os

import numpy as np

__all__ = ["save", "load"]

# Parameters that may change between an interrupted run and its resumption without changing the numbers.
_FREE = ("device", "checkpoint_every")


def save(path: str, params: dict, state, logs: list[dict], log_steps: list[int], chunk: int, run_seconds: float):
    """Write the checkpoint atomically: ``path + '.tmp'`` is written and fsynced, then renamed onto ``path``."""
    arrays = {f"state_{i}": np.asarray(x) for i, x in enumerate(state)}
    for k in logs[0]:
        arrays[f"log_{k}"] = np.stack([np.asarray(lg[k]) for lg in logs])
    arrays["log_steps"] = np.asarray(log_steps, dtype=np.int64)
    meta = {"config": params, "chunk": int(chunk), "run_seconds": float(run_seconds), "n_state": len(state)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load(path: str, params: dict):
    """Read a checkpoint for ``params``; ``None`` if there is none. Raises ``ValueError`` on a config mismatch."""
    if not os.path.exists(path):
        return None
    with np.load(path) as z:
        meta = json.loads(bytes(z["meta"]).decode())
        stored = meta["config"]
        for key in sorted(set(stored) | set(params)):
            if key in _FREE:
                continue
            a, b = stored.get(key, "<absent>"), _jsonable(params.get(key, "<absent>"))
            if a != b:
                raise ValueError(
                    f"`--resume` folder {os.path.dirname(path) or '.'} holds a different configuration: "
                    f"`{key}`={a!r} there but {b!r} now; rerun with the same {key}, or use another --out"
                )
        state = tuple(z[f"state_{i}"] for i in range(meta["n_state"]))
        keys = [k[4:] for k in z.files if k.startswith("log_") and k != "log_steps"]
        n = len(z["log_steps"])
        logs = [{k: z[f"log_{k}"][q] for k in keys} for q in range(n)]
        return {
            "state": state,
            "logs": logs,
            "log_steps": [int(s) for s in z["log_steps"]],
            "chunk": int(meta["chunk"]),
            "run_seconds": float(meta["run_seconds"]),
        }


def _jsonable(v):
    return json.loads(json.dumps(v))
