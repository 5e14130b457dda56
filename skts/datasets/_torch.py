"""A PyTorch ``Dataset`` over a ragged collection of time series."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .._validation import check_time_series

__all__ = ["TimeSeriesDataset"]


class TimeSeriesDataset(Dataset):
    """A PyTorch dataset of time series of different lengths.

    Each item is one series as a float32 tensor of shape
    ``(n_timestamps_i, n_channels)`` with its target. Series of different
    lengths cannot be stacked by PyTorch's default collation, so pass
    :meth:`collate` as the ``DataLoader``'s ``collate_fn``: it pads each
    batch with NaN to its longest series, the padding skts's modules mask.

    Parameters
    ----------
    X : list of array-like, array-like or DataFrame
        The series, in any form :func:`skts.check_time_series` accepts.
    y : array-like of shape (n_samples,), default=None
        The targets; ``None`` yields each series' index instead, which is
        what an unsupervised loss that looks up per-sample state needs.

    Attributes
    ----------
    series : list of torch.Tensor
        The series without padding.
    targets : torch.Tensor of shape (n_samples,)
        The targets, or the indices when ``y`` is None.

    Examples
    --------
    >>> import numpy as np
    >>> from torch.utils.data import DataLoader
    >>> from skts.datasets import TimeSeriesDataset
    >>> data = TimeSeriesDataset([np.arange(3.0), np.arange(5.0)], y=[0, 1])
    >>> x, y = next(iter(DataLoader(data, batch_size=2, collate_fn=data.collate)))
    >>> tuple(x.shape), y.tolist()
    ((2, 5, 1), [0, 1])
    >>> x[0, :, 0]
    tensor([0., 1., 2., nan, nan])
    """

    def __init__(self, X: Any, y: Any = None) -> None:
        padded, lengths = check_time_series(X)
        self.series = [torch.from_numpy(padded[i, :n].copy()) for i, n in enumerate(lengths)]
        if y is None:
            self.targets = torch.arange(len(self.series))
        else:
            y = np.asarray(y)
            if y.shape[0] != len(self.series):
                raise ValueError(
                    f"Expected one target per series ({len(self.series)}), got {y.shape[0]}."
                )
            self.targets = torch.as_tensor(y)

    def __len__(self) -> int:
        return len(self.series)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.series[index], self.targets[index]

    @staticmethod
    def collate(
        batch: list[tuple[torch.Tensor, torch.Tensor]],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad a batch of ``(series, target)`` pairs with NaN to its longest series.

        Parameters
        ----------
        batch : list of (torch.Tensor, torch.Tensor)
            Items of this dataset.

        Returns
        -------
        X : torch.Tensor of shape (batch_size, n_timestamps, n_channels)
            The NaN-padded series.
        y : torch.Tensor of shape (batch_size,)
            The targets.
        """
        series, targets = zip(*batch)
        X = torch.nn.utils.rnn.pad_sequence(
            list(series), batch_first=True, padding_value=float("nan")
        )
        return X, torch.stack(list(targets))
