"""First up-crossing of a level by sampled curves: the one home of "direction m is learned when its curve first
reaches 1/2" (docs/theory.md §2-§3).

The flows (``quadratic_flow``, ``homogeneous_flow``) refine the crossing inside the bracketing step with their own
dense output; ``sgd_check`` interpolates it on the logged grid. All of them find the bracket here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["first_crossing_index"]


def first_crossing_index(curves, level: float = 0.5) -> np.ndarray:
    """Index of the first sample at or above ``level`` along the time axis of each curve.

    Args:
        curves: (..., T, M) sampled curves, time on axis −2 (G_mm(t) or max_i m_ip(t)²).
        level: the crossing level; default 1/2 ("direction learned", docs/theory.md §2-§3).

    Returns:
        (..., M) integer array ``j``: ``j = 0`` when the curve starts at or above ``level``; ``j > 0`` when it first
        reaches it in the step (t_{j−1}, t_j]; ``j = −1`` when it never does (NaN samples count as below).

    Examples:
        >>> first_crossing_index([[0.1, 0.6], [0.7, 0.9]]).tolist()
        [1, 0]
    """
    above = np.asarray(curves, dtype=np.float64) >= level
    return np.where(above.any(axis=-2), np.argmax(above, axis=-2), -1)
