"""Masked pooling over the time axis: padding never reaches an embedding."""

from __future__ import annotations

import torch

__all__ = ["masked_lspv", "masked_max", "masked_mean", "masked_ppv", "split_padding"]


def split_padding(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a NaN-padded batch into zero-filled values and a mask.

    Parameters
    ----------
    X : torch.Tensor of shape (batch, n_timestamps, n_channels)
        Series padded with NaN at their end.

    Returns
    -------
    x : torch.Tensor of shape (batch, n_timestamps, n_channels)
        ``X`` with NaN replaced by 0 (a new tensor; ``X`` is not modified).
    mask : torch.Tensor of shape (batch, n_timestamps), dtype bool
        True on observed timestamps.
    """
    nan = torch.isnan(X)
    return torch.where(nan, torch.zeros((), dtype=X.dtype, device=X.device), X), ~nan.all(-1)


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``h`` (batch, features, time) over the timestamps where ``mask`` is True."""
    m = mask[:, None, :].to(h.dtype)
    return (h * m).sum(-1) / m.sum(-1).clamp_min(1.0)


def masked_max(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Maximum of ``h`` (batch, features, time) over the timestamps where ``mask`` is True."""
    lowest = torch.finfo(h.dtype).min
    return h.masked_fill(~mask[:, None, :], lowest).amax(-1)


def masked_ppv(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Proportion of positive values of ``h`` (batch, features, time) where ``mask`` is True."""
    # Counted on bytes: no float copy of ``h``, which long series make large.
    count = ((h > 0) & mask[:, None, :]).view(torch.uint8).sum(-1, dtype=torch.int32)
    return count.to(h.dtype) / mask.sum(-1, keepdim=True).clamp_min(1).to(h.dtype)


def masked_lspv(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Longest run of positive values of ``h`` (batch, features, time), in timestamps.

    Only timestamps where ``mask`` is True count. The run is not divided by
    the length of the series: a pattern that lasts 5 steps gives 5 in a short
    series and in a long one, so that, in collections of unequal lengths, the
    feature measures the pattern and not the length.
    """
    positive = (h > 0) & mask[:, None, :]
    steps = torch.arange(h.shape[-1], device=h.device, dtype=h.dtype).expand_as(h)
    # The last non-positive step at or before each step; -1 before the first.
    last_break = torch.where(positive, torch.full_like(h, -1.0), steps).cummax(dim=-1).values
    return ((steps - last_break) * positive).amax(dim=-1)
