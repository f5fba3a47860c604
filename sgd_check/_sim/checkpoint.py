"""Atomic, checksummed checkpoints of a simulation (temporary file, fsync, rename: ``_outdir.write_bytes``).

A checkpoint holds the configuration (as JSON), the chunk index reached, the engine state of every seed (the
parameters, alive flags, divergence steps, drift maxima) and the logs so far. The file is an NPZ payload followed
by a trailer line ``\\nshallowlaws-sha256 <hex digest of the payload>\\n``: a truncated, emptied or edited
checkpoint fails the digest and is refused by name. Resuming compares the stored configuration with the
requested one and names the first parameter that differs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile

import numpy as np

from .._outdir import ABSENT_MEANS, to_jsonable, write_bytes

__all__ = ["require_same_engine", "load", "save"]

# Parameters that may change between an interrupted run and its resumption without changing the numbers.
_FREE = ("device", "checkpoint_every")
_TRAILER = b"\nshallowlaws-sha256 "
_FIX = "delete it (the run restarts from step 0) or use --overwrite / another --out"


def save(path: str, params: dict, state, logs: list[dict], log_steps: list[int], chunk: int, run_seconds: float):
    """Write the checkpoint atomically with its SHA-256 (payload, then the digest trailer)."""
    arrays = {f"state_{i}": np.asarray(x) for i, x in enumerate(state)}
    for k in logs[0]:
        arrays[f"log_{k}"] = np.stack([np.asarray(lg[k]) for lg in logs])
    arrays["log_steps"] = np.asarray(log_steps, dtype=np.int64)
    meta = {
        "config": to_jsonable(params),
        "chunk": int(chunk),
        "run_seconds": float(run_seconds),
        "n_state": len(state),
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    payload = buf.getvalue()
    write_bytes(path, payload + _TRAILER + hashlib.sha256(payload).hexdigest().encode() + b"\n")


def _verified_payload(path: str) -> bytes:
    with open(path, "rb") as fh:
        raw = fh.read()
    cut = raw.rfind(_TRAILER)
    if cut < 0:
        why = "is empty" if not raw else "has no checksum (truncated, or written by another program)"
        raise ValueError(f"checkpoint {path!r} {why}; {_FIX}")
    payload, digest = raw[:cut], raw[cut + len(_TRAILER) :].strip()
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        raise ValueError(f"checkpoint {path!r} fails its SHA-256 check (edited or corrupted); {_FIX}")
    return payload


def load(path: str, params: dict):
    """Read a checkpoint for ``params``; ``None`` if there is none.

    Raises ``ValueError`` naming the file on a bad checksum or unreadable content, and naming the parameter
    on a configuration mismatch.
    """
    if not os.path.exists(path):
        return None
    payload = _verified_payload(path)
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            stored = meta["config"]
            _compare(path, stored, params)
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
    except (KeyError, OSError, EOFError, zipfile.BadZipFile, UnicodeDecodeError, TypeError) as exc:
        raise ValueError(
            f"checkpoint {path!r} is not a shallowlaws checkpoint ({type(exc).__name__}); {_FIX}"
        ) from None


def _compare(path: str, stored: dict, params: dict) -> None:
    for key in sorted(set(stored) | set(params)):
        if key in _FREE:
            continue
        a = stored.get(key, ABSENT_MEANS.get(key, "<absent>"))
        b = to_jsonable(params.get(key, "<absent>"))
        if a != b:
            raise ValueError(
                f"`--resume` folder {os.path.dirname(path) or '.'} holds a different configuration: "
                f"`{key}`={a!r} there but {b!r} now; rerun with the same {key}, or use another --out"
            )


def require_same_engine(path: str, engine: str) -> None:
    """Refuse to resume a checkpoint written by the other engine (its state is not this engine's state).

    Checkpoints from before the reduced engine carry no ``engine`` and are full-engine runs."""
    if not os.path.exists(path):
        return
    with np.load(path) as z:
        stored = json.loads(bytes(z["meta"]).decode())["config"].get("engine", "full")
    if stored != engine:
        raise ValueError(
            f"`--resume` folder {os.path.dirname(path) or '.'} holds a run of the {stored!r} engine but `engine` is "
            f"{engine!r} now; rerun with --engine {stored}, or use another --out"
        )
