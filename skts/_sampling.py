"""Row subsampling shared by the clusterers (no torch, no scikit-learn)."""

from __future__ import annotations

import numpy as np


def sample_rows(A: np.ndarray, limit: int, rng: np.random.RandomState) -> np.ndarray:
    """At most ``limit`` rows of ``A``, drawn at random without replacement, in order."""
    if A.shape[0] <= limit:
        return A
    return A[np.sort(rng.choice(A.shape[0], limit, replace=False))]
