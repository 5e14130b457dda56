"""Batches of padded series for the clusterer's training and inference loops."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch.utils.data import Subset

from ._validation import series_lengths


def filled(batch: np.ndarray, size: int) -> np.ndarray:
    """``batch`` with copies of its first row appended up to ``size`` rows."""
    n = batch.shape[0]
    if n >= size:
        return batch
    return np.concatenate([batch, np.repeat(batch[:1], size - n, axis=0)])


class LengthGroupedBatches:
    """Batches of series of similar length, in random order (a DataLoader batch sampler).

    Each epoch the series are shuffled and cut into pools of ``pool``
    batches; each pool is sorted by length and cut into batches, and the
    batches are shuffled. Random draws come from torch's global generator,
    which ``fit`` seeds, so a seeded fit is reproducible. There are as many
    batches as with plain shuffling: ``ceil(n / batch_size)``.
    """

    def __init__(self, lengths: ArrayLike, batch_size: int, pool: int = 16) -> None:
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.pool = pool

    def __iter__(self) -> Iterator[list[int]]:
        order = torch.randperm(len(self.lengths)).numpy()
        step = self.batch_size * self.pool
        batches: list[np.ndarray] = []
        for start in range(0, len(order), step):
            part = order[start : start + step]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            batches.extend(
                part[i : i + self.batch_size] for i in range(0, len(part), self.batch_size)
            )
        for i in torch.randperm(len(batches)).tolist():
            yield batches[i].tolist()

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)


def dataset_lengths(dataset: Any) -> np.ndarray | None:
    """The series lengths of a skorch ``Dataset``, or of a ``Subset`` of one (``train_split``).

    None for other datasets, whose series this cannot read without loading them.
    """
    if isinstance(dataset, Subset):
        lengths = dataset_lengths(dataset.dataset)
        return None if lengths is None else lengths[np.asarray(dataset.indices)]
    if isinstance(getattr(dataset, "X", None), (np.ndarray, torch.Tensor)):
        return series_lengths(np.asarray(dataset.X))
    return None


def series_ends(X: torch.Tensor) -> torch.Tensor:
    """One past the last observed timestamp of each series of the padded batch ``X``."""
    observed = ~torch.isnan(X).all(dim=-1)
    return X.shape[1] - observed.flip(1).to(torch.int8).argmax(dim=1)


def trimmed(X: torch.Tensor) -> torch.Tensor:
    """The padded batch ``X`` cut after the last timestamp its longest series observes."""
    return X[:, : int(series_ends(X).max())]


def random_crops(X: torch.Tensor, length: int) -> torch.Tensor:
    """A random window of ``length`` timestamps from each series of the padded batch ``X``.

    Windows start uniformly among the positions that keep them inside the
    observed part of their series; a series no longer than ``length`` is
    kept whole (with its padding). A batch no longer than ``length`` is
    returned unchanged.
    """
    n_timestamps = X.shape[1]
    if n_timestamps <= length:
        return X
    room = (series_ends(X) - length).clamp_min(0) + 1
    start = (torch.rand(X.shape[0], device=X.device) * room).long()
    steps = start[:, None] + torch.arange(length, device=X.device)  # stays below n_timestamps
    return torch.gather(X, 1, steps[..., None].expand(-1, -1, X.shape[2]))
