"""Masks over the time axis: padding never reaches an embedding, and the pretext's hidden spans."""

from __future__ import annotations

import torch

# Whether torch.compile is tracing the caller; looked up once, since the
# tracer of torch 2.2 cannot follow a getattr on a module.
try:
    from torch.compiler import is_compiling as _compiling
except ImportError:  # torch 2.2
    from torch._dynamo import is_compiling as _compiling

__all__ = [
    "draw_hidden_spans",
    "masked_lspv",
    "masked_max",
    "masked_mean",
    "masked_ppv",
    "split_padding",
]


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

    Examples
    --------
    >>> import torch
    >>> from skts.nn import split_padding
    >>> X = torch.tensor([[1.0, 2.0, 3.0], [4.0, float("nan"), float("nan")]])[..., None]
    >>> x, mask = split_padding(X)
    >>> x[..., 0]
    tensor([[1., 2., 3.],
            [4., 0., 0.]])
    >>> mask
    tensor([[ True,  True,  True],
            [ True, False, False]])
    """
    nan = torch.isnan(X)
    return torch.where(nan, torch.zeros((), dtype=X.dtype, device=X.device), X), ~nan.all(-1)


def draw_hidden_spans(
    mask: torch.Tensor,
    ratio: float,
    span: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw the timestamps a masked-reconstruction pretext hides, in spans.

    Each row alternates between runs of visible and hidden timestamps of
    geometric lengths (a two-state Markov chain, as in Zerveas et al.,
    2021), so that a fraction ``ratio`` of the timestamps is hidden on
    average. Hidden runs have mean length ``span`` times the row's number
    of observed timestamps, so the pretext hides the same share of a shape
    whatever the sampling rate; they are never shorter on average than
    ``1 / (1 - ratio)``, where the chain hides each timestamp independently
    with probability ``ratio`` (``span=0`` gives that everywhere).

    Parameters
    ----------
    mask : torch.Tensor of shape (batch, n_timestamps), dtype bool
        True on observed timestamps.
    ratio : float
        The expected fraction of hidden timestamps, in [0, 1).
    span : float
        The mean length of a hidden run as a fraction of each row's length.
    generator : torch.Generator, default=None
        The source of randomness; None uses torch's global one.

    Returns
    -------
    hidden : torch.Tensor of shape (batch, n_timestamps), dtype bool
        True on the hidden timestamps, all of them observed.

    References
    ----------
    .. [1] G. Zerveas, S. Jayaraman, D. Patel, A. Bhamidipaty and C. Eickhoff,
       "A transformer-based framework for multivariate time series
       representation learning", KDD 2021.

    Examples
    --------
    >>> import torch
    >>> from skts.nn import draw_hidden_spans
    >>> mask = torch.ones(1000, 128, dtype=torch.bool)
    >>> hidden = draw_hidden_spans(mask, 0.3, span=1 / 16, generator=torch.Generator().manual_seed(0))
    >>> round(hidden.float().mean().item(), 2)
    0.3
    """
    n_rows, n_timestamps = mask.shape
    if ratio <= 0:
        return torch.zeros_like(mask)
    lengths = mask.sum(dim=1, keepdim=True).float()
    mean_hidden = torch.clamp(span * lengths, min=1.0 / (1.0 - ratio))
    leave_hidden = 1.0 / mean_hidden
    leave_visible = leave_hidden * ratio / (1.0 - ratio)
    # The chain starts in its stationary state; run k then has the other
    # state than run k - 1, and n_timestamps runs (each at least 1 long)
    # cover the row.
    first = _uniform((n_rows, 1), generator, mask.device) < ratio
    runs = torch.arange(n_timestamps, device=mask.device)
    hidden_run = first ^ (runs % 2 == 1)
    leave = torch.where(hidden_run, leave_hidden, leave_visible)
    u = _uniform((n_rows, n_timestamps), generator, mask.device)
    run_lengths = torch.floor(torch.log(u) / torch.log1p(-leave)) + 1  # geometric, >= 1
    ends = torch.cumsum(run_lengths, dim=1).clamp(max=n_timestamps).long()
    # Every run's end switches the state from there on.
    switches = torch.zeros((n_rows, n_timestamps + 1), device=mask.device)
    switches.scatter_add_(1, ends, torch.ones_like(u))
    switched = torch.cumsum(switches[:, :n_timestamps], dim=1)
    return (first ^ (switched % 2 == 1)) & mask


def _uniform(
    shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """``torch.rand``; without a generator, through the overload ``torch.compile`` traces."""
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, generator=generator, device=device)


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``h`` (batch, features, time) over the timestamps where ``mask`` is True.

    A row without any observed timestamp gives 0.

    Parameters
    ----------
    h : Tensor of shape (batch, features, time)
        The responses to pool.
    mask : bool Tensor of shape (batch, time)
        True where the timestamp is observed.

    Returns
    -------
    pooled : Tensor of shape (batch, features)
        Each feature's mean over the series' observed timestamps.

    Examples
    --------
    >>> import torch
    >>> from skts.nn import masked_mean
    >>> h = torch.tensor([[[1.0, 2.0, 3.0, 100.0]]])
    >>> mask = torch.tensor([[True, True, True, False]])  # the last step is padding
    >>> masked_mean(h, mask)
    tensor([[2.]])
    """
    m = mask[:, None, :].to(h.dtype)
    return (h * m).sum(-1) / m.sum(-1).clamp_min(1.0)


def masked_max(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Maximum of ``h`` (batch, features, time) over the timestamps where ``mask`` is True.

    A row without any observed timestamp gives the dtype's lowest value.

    Parameters
    ----------
    h : Tensor of shape (batch, features, time)
        The responses to pool.
    mask : bool Tensor of shape (batch, time)
        True where the timestamp is observed.

    Returns
    -------
    pooled : Tensor of shape (batch, features)
        Each feature's maximum over the series' observed timestamps.

    Examples
    --------
    >>> import torch
    >>> from skts.nn import masked_max
    >>> h = torch.tensor([[[1.0, 2.0, 3.0, 100.0]]])
    >>> mask = torch.tensor([[True, True, True, False]])  # the last step is padding
    >>> masked_max(h, mask)
    tensor([[3.]])
    """
    lowest = torch.finfo(h.dtype).min
    return h.masked_fill(~mask[:, None, :], lowest).amax(-1)


def masked_ppv(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Proportion of positive values of ``h`` (batch, features, time) where ``mask`` is True."""
    positive = (h > 0) & mask[:, None, :]
    if not _compiling():
        # Counted on bytes: no wider copy of the flags, which long series make
        # large. Compiled, the sum reads the comparison directly, and the
        # Inductor of torch 2.11 could not lower a view of booleans as bytes.
        positive = positive.view(torch.uint8)
    count = positive.sum(-1, dtype=torch.int32)
    return count.to(h.dtype) / mask.sum(-1, keepdim=True).clamp_min(1).to(h.dtype)


def _masked_share(flags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Share of the timestamps where ``mask`` is True at which ``flags`` (0 or 1) is 1.

    ``flags`` is a float tensor (batch, features, time), such as a comparison
    written in place (``h.gt_(bias)``): one matrix product counts the flags
    and applies the mask together, where :func:`masked_ppv` needs a boolean
    copy, a logical and, and a widening copy for the sum. The counts are
    exact below 2**24 timestamps in float32.
    """
    count = torch.matmul(flags, mask.to(flags.dtype)[:, :, None])[..., 0]
    return count / mask.sum(-1, keepdim=True).clamp_min(1).to(flags.dtype)


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
