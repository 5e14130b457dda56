"""Encoders: modules that map a batch of padded series to one embedding each.

Every encoder takes ``x`` (batch, n_timestamps, n_channels), zero-filled, and
``mask`` (batch, n_timestamps), True on observed timestamps, and returns
``(z, x_hat)``: the embeddings (batch, embedding_dim) and a reconstruction of
``x`` (or None when the encoder has no decoder). Every encoder exposes
``embedding_dim``; it may expose ``calibrate(x, mask)``, a data-dependent
initialisation run once before training, ``reconstruct(x, mask)``, the
reconstruction alone when it is cheaper than the whole forward pass, and
``feature_weights``, a tensor (embedding_dim,) that multiplies the features
once standardised, before they are clustered, or (n_candidates,
embedding_dim): candidate weightings; the clusterer keeps the first unless
another gives a markedly more stable partition (see
:class:`skts.NeuralNetClusterer`), and ``feature_branches``, an integer
tensor (embedding_dim,) naming the branch each feature comes from, which
the clusterer may whiten apart (its ``whiten``). An encoder whose embedding of a series
does not depend on how much padding follows it (convolutions with masked
pooling) sets ``padding_invariant = True``: the clusterer may then encode
short series on fewer timestamps than the longest. This module knows
nothing of scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from numbers import Real
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._masking import _masked_share, masked_lspv, masked_max, masked_mean, masked_ppv

__all__ = ["ConvEncoder", "FeedForward", "HybridEncoder", "RandomConvEncoder", "ShapeletEncoder"]

_POOLING = {"mean": masked_mean, "max": masked_max, "ppv": masked_ppv}
_KERNEL_POOLING = {"ppv": masked_ppv, "lspv": masked_lspv}


def _check_pooling(pooling: Iterable[str], options: Mapping[str, Any]) -> tuple[str, ...]:
    """``pooling`` as a tuple, or a ValueError naming the valid ``options``."""
    if not pooling or set(pooling) - set(options):
        raise ValueError(f"pooling={pooling!r} should be a non-empty tuple of {sorted(options)}.")
    return tuple(pooling)


def _is_weight(value: Any) -> bool:
    """Whether ``value`` is a real number >= 0 (not NaN, not a bool)."""
    return isinstance(value, Real) and not isinstance(value, bool) and float(value) >= 0


def _check_quantiles(bias_quantiles: Iterable[float]) -> tuple[float, float]:
    """``bias_quantiles`` as ``(low, high)`` floats, or a ValueError."""
    try:
        low, high = (float(q) for q in bias_quantiles)
    except (TypeError, ValueError):
        low = high = float("nan")
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(
            f"bias_quantiles={bias_quantiles!r} should be two floats with 0 <= low <= high <= 1."
        )
    return low, high


class FeedForward(nn.Module):
    """The simplest encoder: one hidden layer over the flattened series.

    Input ``n_timestamps * n_channels`` → ``hidden_size`` (ReLU) →
    ``embedding_dim``, with a mirrored decoder for the reconstruction pretext.
    It needs series of one fixed length (pad them first) and sees padding as
    zeros; it keeps no notion of time, so it serves as a baseline.

    Parameters
    ----------
    n_timestamps : int, default=20
        The length of the padded series.
    n_channels : int, default=1
        The number of channels.
    hidden_size : int, default=64
        The width of the hidden layer.
    embedding_dim : int, default=10
        The size of the embedding.

    Examples
    --------
    >>> import torch
    >>> from skts.nn import FeedForward
    >>> net = FeedForward(n_timestamps=20, embedding_dim=3)
    >>> z, x_hat = net(torch.zeros(8, 20, 1), torch.ones(8, 20, dtype=torch.bool))
    >>> tuple(z.shape), tuple(x_hat.shape)
    ((8, 3), (8, 20, 1))
    """

    def __init__(
        self,
        n_timestamps: int = 20,
        n_channels: int = 1,
        *,
        hidden_size: int = 64,
        embedding_dim: int = 10,
    ) -> None:
        super().__init__()
        self.n_timestamps = n_timestamps
        self.n_channels = n_channels
        self.embedding_dim = embedding_dim
        n_inputs = n_timestamps * n_channels
        self.encoder = nn.Sequential(
            nn.Linear(n_inputs, hidden_size), nn.ReLU(), nn.Linear(hidden_size, embedding_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(embedding_dim, hidden_size), nn.ReLU(), nn.Linear(hidden_size, n_inputs)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embed ``x`` (batch, n_timestamps, n_channels) where ``mask`` is True: ``(z, x_hat)``.

        ``z`` is (batch, embedding_dim); ``x_hat``, the reconstruction, has the shape of
        ``x`` (the protocol in :mod:`skts.nn.encoders`).
        """
        if x.shape[1:] != (self.n_timestamps, self.n_channels):
            raise ValueError(
                f"FeedForward expects series of shape ({self.n_timestamps}, {self.n_channels}), "
                f"got {tuple(x.shape[1:])}; pad or truncate them to {self.n_timestamps} timestamps."
            )
        z = self.encoder(x.flatten(1))
        return z, self.decoder(z).view_as(x)


class _ResidualBlock(nn.Module):
    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, dilation: int
    ) -> None:
        super().__init__()
        padding = dilation * (kernel_size - 1) // 2
        self.conv = nn.Conv1d(
            in_channels, out_channels, kernel_size, dilation=dilation, padding=padding
        )
        self.skip = (
            nn.Conv1d(in_channels, out_channels, 1)
            if in_channels != out_channels
            else nn.Identity()
        )

    def forward(self, h: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        # Zeroing padded steps after every layer keeps them out of the next one.
        return (self.skip(h) + F.gelu(self.conv(h))) * m


class ConvEncoder(nn.Module):
    """A residual 1-D convolutional encoder with dilations and masked pooling.

    A stack of ``depth`` residual blocks (convolution of width
    ``kernel_size``, dilation doubling at every block, GELU) turns each
    timestamp into ``hidden_size`` features; padded timestamps are zeroed
    after every block. The embedding is the masked mean and the masked max
    of the last block over the observed timestamps, so its size is
    ``2 * hidden_size`` whatever the length of the series. A per-timestamp
    linear head reconstructs the input, for the masked-reconstruction
    pretext. No normalisation statistics are computed, so padding cannot
    leak into them.

    Parameters
    ----------
    n_channels : int, default=1
        The number of input channels.
    n_timestamps : int, default=None
        The padded length, used by ``depth="auto"``.
    hidden_size : int, default=64
        Features per timestamp.
    depth : int or "auto", default="auto"
        The number of residual blocks; ``"auto"`` uses
        ``floor(log2(n_timestamps))`` blocks, between 1 and 6, so that the
        receptive field spans the series.
    kernel_size : int, default=3
        The width of the convolutions (odd).
    pooling : tuple of {"mean", "max", "ppv"}, default=("mean", "max")
        The masked statistics over time that make the embedding: mean,
        maximum, and proportion of positive values.

    Examples
    --------
    >>> import torch
    >>> from skts.nn import ConvEncoder
    >>> net = ConvEncoder(n_channels=2, n_timestamps=30)
    >>> mask = torch.arange(30)[None, :] < torch.tensor([[30], [12]])
    >>> z, x_hat = net(torch.randn(2, 30, 2) * mask[..., None], mask)
    >>> tuple(z.shape), tuple(x_hat.shape)
    ((2, 128), (2, 30, 2))
    """

    padding_invariant = True

    def __init__(
        self,
        n_channels: int = 1,
        n_timestamps: int | None = None,
        *,
        hidden_size: int = 64,
        depth: int | str = "auto",
        kernel_size: int = 3,
        pooling: tuple[str, ...] = ("mean", "max"),
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size={kernel_size} should be odd.")
        self.pooling = _check_pooling(pooling, _POOLING)
        if depth == "auto":
            depth = (
                6 if n_timestamps is None else int(min(6, max(1, math.log2(max(n_timestamps, 2)))))
            )
        if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
            raise ValueError(f"depth should be 'auto' or an int >= 1, got {depth!r}.")
        self.depth = int(depth)
        self.embedding_dim = len(self.pooling) * hidden_size
        self.blocks = nn.ModuleList(
            _ResidualBlock(n_channels if i == 0 else hidden_size, hidden_size, kernel_size, 2**i)
            for i in range(self.depth)
        )
        self.head = nn.Linear(hidden_size, n_channels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embed ``x`` (batch, n_timestamps, n_channels) where ``mask`` is True: ``(z, x_hat)``.

        ``z`` is (batch, embedding_dim); ``x_hat``, the reconstruction, has the shape of
        ``x`` (the protocol in :mod:`skts.nn.encoders`).
        """
        m = mask[:, None, :].to(x.dtype)
        h = x.transpose(1, 2) * m
        for block in self.blocks:
            h = block(h, m)
        z = torch.cat([_POOLING[name](h, mask) for name in self.pooling], dim=1)
        return z, self.head(h.transpose(1, 2))


def _channel_subsets(n_kernels: int, n_channels: int, top: int) -> torch.Tensor:
    """A 0/1 mask (n_kernels, n_channels): each row keeps 1 to ``top`` random channels.

    The subset size is drawn log-uniformly (small subsets are as likely as
    large ones on a log scale), then the channels uniformly.
    """
    size = (2 ** (torch.rand(n_kernels) * math.log2(top + 1))).floor().clamp(1, top)
    rank = torch.rand(n_kernels, n_channels).argsort(dim=1).argsort(dim=1)
    return (rank < size[:, None]).to(torch.float32)


def _by_product(h: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether :func:`_dilated_conv` computes by a matrix product (see there)."""
    n_kernels, n_channels, length = weight.shape
    return h.device.type == "cpu" and n_channels * length <= n_kernels


def _dilated_conv(
    h: torch.Tensor,
    weight: torch.Tensor,
    half: int,
    dilation: int,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """``F.conv1d(h, weight, padding=half, dilation=dilation)``; on the CPU, one matrix product.

    oneDNN convolves a few input channels slowly at small dilations (3.4 ms
    for 125 kernels of length 9 on 64 univariate series of 128 steps at
    dilation 1, 0.5 ms at dilation 8). Gathering each output step's window
    (the dilated taps of every channel) and multiplying by the kernels is
    as fast at every dilation, and gives the same values up to rounding
    (the two sum in an order that depends on the CPU's instruction set).
    It is used where the gathered windows are no larger than the responses
    (channels × kernel length at most the number of kernels), and then
    writes into ``out`` when given (contiguous, of the responses' shape);
    otherwise, and on other devices, the convolution runs as it is.
    """
    if not _by_product(h, weight):
        return F.conv1d(h, weight, padding=half, dilation=dilation)
    n_kernels, n_channels, length = weight.shape
    span = (length - 1) * dilation + 1
    windows = F.pad(h, (half, half)).unfold(-1, span, 1)[..., ::dilation]  # (B, C, T, length)
    # A copy: bmm would copy the overlapping windows of a strided view series by series.
    windows = windows.transpose(2, 3).reshape(h.shape[0], n_channels * length, h.shape[-1])
    windows = windows.contiguous()
    return torch.matmul(weight.reshape(n_kernels, n_channels * length), windows, out=out)


def _whole_windows(mask: torch.Tensor, half: int) -> torch.Tensor:
    """The centres of windows of half-width ``half`` that lie inside the series.

    A timestamp is kept when both ends of the window centred on it are
    observed, so a kernel read there sees no padding. A series shorter than
    one window keeps ``mask``, so that it still has a value.
    """
    if half == 0:
        return mask
    n_timestamps = mask.shape[1]
    inside = torch.zeros_like(mask)
    if 2 * half < n_timestamps:
        inside[:, half:-half] = mask[:, : -2 * half] & mask[:, 2 * half :]
    return torch.where(inside.any(dim=1, keepdim=True), inside, mask)


class RandomConvEncoder(nn.Module):
    """Random dilated convolutions with fixed weights, pooled as proportions.

    ``n_kernels`` convolution kernels of length 9 with weights drawn from a
    standard normal and centred, dilations spread exponentially from 1 to
    the padded length, and biases set from the data by :meth:`calibrate`
    (a random quantile, drawn uniformly from ``bias_quantiles``, of the
    kernel's response to a random series). Each
    kernel contributes, by default, one feature: the proportion of observed
    timestamps where its response is positive (PPV; ``pooling`` can add the
    longest stretch of them). These features respond to how often a local
    pattern occurs, which captures timing differences that pooled learned
    features and Euclidean distances miss. Nothing is trained. With several
    channels each kernel reads a random subset of them, of 1 to
    ``max_channels`` channels (size drawn log-uniformly), so that patterns of
    a few channels are not drowned by the others. Kernels read the series
    padded with zeros, so near its ends a response mixes series and padding;
    a fraction ``unpadded`` of the kernels whose window spans at most half
    the padded length is instead pooled only where the window lies inside
    the series. The idea follows ROCKET and MiniRocket (Dempster et al.,
    2020, 2021).

    Parameters
    ----------
    n_channels : int, default=1
        The number of input channels.
    n_timestamps : int, default=None
        The padded length; sets the largest dilation (9 when None).
    n_kernels : int, default=1000
        The number of kernels, hence the size of the embedding.
    kernel_lengths : tuple of int, default=(9,)
        The numbers of taps (odd) of the kernels; kernels are spread evenly
        over lengths and dilations.
    max_channels : int or None, default=9
        The most channels one kernel reads; None lets every kernel read
        every channel.
    pooling : tuple of {"ppv", "lspv"}, default=("ppv",)
        The statistics of each kernel's thresholded response, one feature
        each: the proportion of positive values (PPV) and the longest
        stretch of positive values, in timestamps (LSPV, from MultiRocket),
        which measures how long a pattern lasts.
    bias_quantiles : tuple of two floats, default=(0.25, 0.75)
        The range, within [0, 1], of the quantile of its response that
        :meth:`calibrate` gives each kernel as bias; ``(0.5, 0.5)`` puts
        every bias at the median, so each kernel's PPV splits the series
        into those where its pattern is more or less frequent than usual.
        Which range suits depends on the data (``benchmarks/NOTES.md``).
    unpadded : float, default=0.0
        The fraction, within [0, 1], of the kernels of each dilation whose
        features are pooled only over windows that lie inside the series,
        as MiniRocket does for half of its kernels. Only dilations whose
        window spans at most half of ``n_timestamps`` get such kernels, so
        that short series keep enough windows. It steadies some datasets
        and costs others (``benchmarks/NOTES.md``), hence 0 by default.
        A series shorter than a window is pooled over all its timestamps.

    References
    ----------
    .. [1] A. Dempster, F. Petitjean, G. I. Webb, "ROCKET: exceptionally fast
       and accurate time series classification using random convolutional
       kernels", Data Mining and Knowledge Discovery, 34, 1454-1495, 2020.
    .. [2] A. Dempster, D. F. Schmidt, G. I. Webb, "MiniRocket: a very fast
       (almost) deterministic transform for time series classification",
       KDD 2021.
    .. [3] C. W. Tan, A. Dempster, C. Bergmeir, G. I. Webb, "MultiRocket:
       multiple pooling operators and transformations for fast and effective
       time series classification", Data Mining and Knowledge Discovery, 36,
       1623-1646, 2022.

    Examples
    --------
    >>> import torch
    >>> from skts.nn import RandomConvEncoder
    >>> net = RandomConvEncoder(n_timestamps=50, n_kernels=100)
    >>> x, mask = torch.randn(4, 50, 1), torch.ones(4, 50, dtype=torch.bool)
    >>> net.calibrate(x, mask)
    >>> z, _ = net(x, mask)
    >>> tuple(z.shape), bool(((z >= 0) & (z <= 1)).all())
    ((4, 100), True)
    """

    padding_invariant = True

    def __init__(
        self,
        n_channels: int = 1,
        n_timestamps: int | None = None,
        *,
        n_kernels: int = 1000,
        kernel_lengths: tuple[int, ...] = (9,),
        max_channels: int = 9,
        pooling: tuple[str, ...] = ("ppv",),
        bias_quantiles: tuple[float, float] = (0.25, 0.75),
        unpadded: float = 0.0,
    ) -> None:
        super().__init__()
        self.pooling = _check_pooling(pooling, _KERNEL_POOLING)
        if not 0.0 <= unpadded <= 1.0:
            raise ValueError(f"unpadded should be a fraction within [0, 1], got {unpadded!r}.")
        self.bias_quantiles = _check_quantiles(bias_quantiles)
        self.embedding_dim = n_kernels * len(self.pooling)
        n_dilations = 8
        if not kernel_lengths or any(k < 1 or k % 2 == 0 for k in kernel_lengths):
            raise ValueError(f"kernel_lengths={kernel_lengths!r} should hold odd positive ints.")
        if max_channels is not None and max_channels < 1:
            raise ValueError(f"max_channels should be None or an int >= 1, got {max_channels!r}.")
        groups: list[tuple[int, int]] = []  # (kernel length, dilation)
        for length in kernel_lengths:
            span = max(1.0, ((n_timestamps or length) - 1) / max(length - 1, 1))
            dilations = (
                torch.logspace(0, math.log2(span), n_dilations, base=2).floor().int().tolist()
            )
            groups.extend((length, d) for d in dilations)
        sizes = [
            n_kernels // len(groups) + (g < n_kernels % len(groups)) for g in range(len(groups))
        ]
        # Fewer kernels than groups: the last groups would be empty, so drop them.
        groups, sizes = groups[: min(n_kernels, len(groups))], sizes[: min(n_kernels, len(groups))]
        self.dilations = []
        self.n_unpadded = []  # per group, how many of its last kernels read no padding
        for g, ((length, dilation), size) in enumerate(zip(groups, sizes)):
            w = torch.randn(size, n_channels, length)
            self.register_buffer(f"weight{g}", w - w.mean(dim=-1, keepdim=True))
            self.register_buffer(f"bias{g}", torch.zeros(size))
            self.dilations.append(dilation)
            half = self._half_width(g)
            fits = n_timestamps is not None and 0 < 4 * half <= n_timestamps
            self.n_unpadded.append(round(size * unpadded) if fits else 0)
        if max_channels is not None and n_channels > 1:
            top = min(n_channels, max_channels)
            for g in range(len(self.dilations)):
                weight = getattr(self, f"weight{g}")
                weight.mul_(_channel_subsets(weight.shape[0], n_channels, top)[:, :, None])

    def _half_width(self, g: int) -> int:
        """Timestamps on each side of the centre of a window of group ``g``."""
        return self.dilations[g] * (getattr(self, f"weight{g}").shape[-1] - 1) // 2

    def _responses(
        self, x: torch.Tensor, mask: torch.Tensor
    ) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
        """Per group: its index, its kernels' responses and the whole-window mask."""
        h = x.transpose(1, 2)
        # The groups' responses share one buffer where they are matrix
        # products (not under autograd): the fresh pages of a new tensor per
        # group cost more than the product that fills them. Each response is
        # overwritten by the next group's.
        buffer = None
        for g, dilation in enumerate(self.dilations):
            half = self._half_width(g)
            weight = getattr(self, f"weight{g}")
            out = None
            if _by_product(h, weight) and not (torch.is_grad_enabled() and h.requires_grad):
                shape = (h.shape[0], weight.shape[0], h.shape[-1])
                size = math.prod(shape)
                if buffer is None or buffer.numel() < size:
                    buffer = h.new_empty(size)
                out = buffer[:size].view(shape)
            response = _dilated_conv(h, weight, half, dilation, out)
            yield g, response, _whole_windows(mask, half) if self.n_unpadded[g] else mask

    @torch.no_grad()
    def calibrate(self, x: torch.Tensor, mask: torch.Tensor) -> None:
        """Set each kernel's bias to a random quantile of its response to a random series."""
        low, high = self.bias_quantiles
        n_samples, n_timestamps, n_channels = x.shape
        for g, dilation in enumerate(self.dilations):
            weight, bias = getattr(self, f"weight{g}"), getattr(self, f"bias{g}")
            size = bias.shape[0]
            first_unpadded = size - self.n_unpadded[g]
            rows = torch.randint(0, n_samples, (size,), device=x.device)
            quantiles = torch.rand(size, device=x.device) * (high - low) + low
            # Each kernel reads only its own series: one grouped convolution
            # instead of every kernel on every series.
            half = self._half_width(g)
            series = x[rows].transpose(1, 2).reshape(1, size * n_channels, n_timestamps)
            response = F.conv1d(series, weight, padding=half, dilation=dilation, groups=size)[0]
            read = mask[rows]
            whole = _whole_windows(read, half) if self.n_unpadded[g] else read
            for k in range(size):
                values = response[k][(whole if k >= first_unpadded else read)[k]]
                bias[k] = torch.quantile(values, quantiles[k])

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Embed ``x`` (batch, n_timestamps, n_channels) where ``mask`` is True: ``(z, x_hat)``.

        ``z`` is (batch, embedding_dim); ``x_hat`` is None, as the random kernels
        reconstruct nothing (the protocol in :mod:`skts.nn.encoders`).
        """
        features: list[torch.Tensor] = []
        for g, response, whole in self._responses(x, mask):
            bias = getattr(self, f"bias{g}")[None, :, None]
            first_unpadded = response.shape[1] - self.n_unpadded[g]
            pooled: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
            others = [name for name in self.pooling if name != "ppv"]
            if others:
                # In place unless PPV still needs the responses, which
                # nothing else reads.
                shifted = response - bias if "ppv" in self.pooling else response.sub_(bias)
                for name in others:
                    pool = _KERNEL_POOLING[name]
                    pooled[name] = (
                        pool(shifted[:, :first_unpadded], mask),
                        pool(shifted[:, first_unpadded:], whole),
                    )
            if "ppv" in self.pooling:
                # The same as masked_ppv(response - bias), at a fraction of
                # the memory traffic: the comparison overwrites the responses
                # with 0 or 1, and one product counts them where observed.
                above = response.gt_(bias)
                pooled["ppv"] = (
                    _masked_share(above[:, :first_unpadded], mask),
                    _masked_share(above[:, first_unpadded:], whole),
                )
            for name in self.pooling:
                features.extend(pooled[name])
        return torch.cat(features, dim=1), None


# A window whose standard deviation is below this is flat (ShapeletEncoder).
_FLAT = 1e-4
# The most elements of one block of (batch, windows, shapelets) correlations
# that ShapeletEncoder holds at once: 32 MB in double precision.
_CORRELATION_BLOCK = 2**22


def _window_means(h: torch.Tensor, length: int) -> torch.Tensor:
    """The mean of every window of ``length`` steps along the last axis of ``h`` (B, C, T)."""
    return F.avg_pool1d(h, length, stride=1)


def _runs(channels: torch.Tensor, dilations: torch.Tensor) -> list[tuple[int, int, int, int]]:
    """``(channel, dilation, start, stop)`` of each run of equal pairs in the two."""
    values = list(zip(channels.tolist(), dilations.tolist()))
    runs, start = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            runs.append((int(values[start][0]), int(values[start][1]), start, i))
            start = i
    return runs


def _unit_windows(
    h: torch.Tensor, inside: torch.Tensor, length: int, dilation: int
) -> torch.Tensor:
    """Every window of ``h`` (batch, steps), z-normalised to unit norm, and a mark.

    A window is ``length`` steps, ``dilation`` apart. (batch, windows,
    length + 1): a flat window is zeros, and the last column marks it 0.5
    (its correlation with any shapelet is taken as 1/2); windows outside
    the series (``inside`` False) are marked -3, so that their
    correlations, at most -2, never win.
    """
    windows = h.unfold(1, (length - 1) * dilation + 1, 1)[..., ::dilation]
    windows = windows - windows.mean(dim=2, keepdim=True)
    norm = windows.pow(2).sum(dim=2, keepdim=True).sqrt()
    flat = norm <= _FLAT * math.sqrt(length)
    windows = torch.where(flat, 0.0, windows / norm.clamp(min=_FLAT))
    mark = torch.where(inside[..., None], 0.5 * flat.to(h.dtype), -3.0)
    return torch.cat([windows, mark], dim=2)


class ShapeletEncoder(nn.Module):
    """Random shapelets of the data, pooled as their best match in each series.

    A shapelet is a window of one series, drawn by :meth:`calibrate`: a
    random series, channel and start among the windows that lie inside
    the series. Each contributes one feature: the smallest distance
    between the shapelet and a window of the series of the same length
    (on that channel, inside the series), both z-normalised, divided by
    the square root of the length. That distance is
    ``sqrt(2 - 2 * r)`` for the best Pearson correlation ``r`` between
    the shapelet and a window, so it lies in [0, 2] and reads only the
    shape: it does not change when a window is shifted or scaled. A
    feature is small where the pattern occurs somewhere in the series,
    whatever its position. Nothing is trained. The shapelets are spread
    evenly over ``lengths``, each capped at ``n_timestamps`` and, by
    :meth:`calibrate`, at the shortest series it sees (not below 3 steps),
    so that ragged collections keep whole windows; a series shorter than
    a shapelet is matched against the windows that start inside it, which
    run into its padding. A share of the shapelets (``dilated``) can be
    dilated: their steps lie ``d`` timestamps apart, ``d`` drawn as
    ``2 ** u`` for ``u`` uniform up to the largest that keeps the span
    within the shortest series, so that they read patterns longer than
    their length, such as the interval between two events. The idea
    follows the shapelet transform and its random dilated draws (Ye and
    Keogh, 2009; Guillaume, Vrain and Elloumi, 2022) and unsupervised
    shapelets (Zakaria, Mueen and Keogh, 2012).

    Parameters
    ----------
    n_channels : int, default=1
        The number of input channels.
    n_timestamps : int, default=None
        The padded length; caps the shapelets' lengths.
    n_shapelets : int, default=1000
        The number of shapelets, hence the size of the embedding.
    lengths : tuple of int, default=(10, 20, 30)
        The shapelets' lengths, in timestamps.
    dilated : float, default=0.0
        The share of the shapelets, in each length, drawn with a random
        dilation; the others read consecutive steps.

    References
    ----------
    .. [1] L. Ye, E. Keogh, "Time series shapelets: a new primitive for data
       mining", KDD 2009.
    .. [2] J. Zakaria, A. Mueen, E. Keogh, "Clustering time series using
       unsupervised-shapelets", ICDM 2012.
    .. [3] A. Guillaume, C. Vrain, W. Elloumi, "Random dilated shapelet
       transform: a new approach for time series shapelets", ICPRAI 2022.

    Examples
    --------
    >>> import torch
    >>> from skts.nn import ShapeletEncoder
    >>> net = ShapeletEncoder(n_timestamps=50, n_shapelets=30)
    >>> x, mask = torch.randn(4, 50, 1), torch.ones(4, 50, dtype=torch.bool)
    >>> net.calibrate(x, mask)
    >>> z, _ = net(x, mask)
    >>> tuple(z.shape), bool(((z >= 0) & (z <= 2)).all())
    ((4, 30), True)
    """

    padding_invariant = True

    def __init__(
        self,
        n_channels: int = 1,
        n_timestamps: int | None = None,
        *,
        n_shapelets: int = 1000,
        lengths: tuple[int, ...] = (10, 20, 30),
        dilated: float = 0.0,
    ) -> None:
        super().__init__()
        if isinstance(n_shapelets, bool) or not isinstance(n_shapelets, int) or n_shapelets < 1:
            raise ValueError(f"n_shapelets should be an int >= 1, got {n_shapelets!r}.")
        if not (_is_weight(dilated) and dilated <= 1):
            raise ValueError(f"dilated should be a float in [0, 1], got {dilated!r}.")
        self.dilated = float(dilated)
        if not lengths or any(
            isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in lengths
        ):
            raise ValueError(f"lengths={lengths!r} should hold positive ints.")
        self.embedding_dim = n_shapelets
        n_groups = min(len(lengths), n_shapelets)
        # The lengths in use, per group: Python ints (constants to torch.export),
        # kept in the state dict as extra state.
        self.lengths = [min(n, n_timestamps or n) for n in lengths[:n_groups]]
        for g, length in enumerate(self.lengths):
            size = n_shapelets // n_groups + (g < n_shapelets % n_groups)
            # Room for ``length`` steps; calibrate may use fewer.
            self.register_buffer(f"shapelet{g}", torch.zeros(size, length))
            # Sorted, so that each channel's shapelets are one run (one product).
            channels = torch.randint(0, n_channels, (size,)).sort().values
            self.register_buffer(f"channel{g}", channels)
            self.register_buffer(f"dilation{g}", torch.ones(size, dtype=torch.long))
        # (channel, dilation, start, stop) of each group's runs of shapelets
        # read alike: Python ints, kept in the state dict as extra state.
        self.runs = [
            _runs(getattr(self, f"channel{g}"), getattr(self, f"dilation{g}"))
            for g in range(n_groups)
        ]

    def get_extra_state(self) -> dict[str, list]:
        """The lengths in use and the shapelets' runs, saved with the shapelets."""
        return {"lengths": list(self.lengths), "runs": [list(map(list, r)) for r in self.runs]}

    def set_extra_state(self, state: dict[str, list]) -> None:
        """Restore the lengths and runs saved by :meth:`get_extra_state`."""
        self.lengths = [int(n) for n in state["lengths"]]
        self.runs = [[(int(c), int(d), int(a), int(b)) for c, d, a, b in r] for r in state["runs"]]

    @torch.no_grad()
    def calibrate(self, x: torch.Tensor, mask: torch.Tensor) -> None:
        """Draw each shapelet (and its dilation) from a random series of ``x``, z-normalised."""
        n_samples, n_timestamps, _ = x.shape
        lengths = mask.sum(dim=1)
        shortest = int(lengths.min())
        for g in range(len(self.lengths)):
            shapelets, channels = getattr(self, f"shapelet{g}"), getattr(self, f"channel{g}")
            dilations = getattr(self, f"dilation{g}")
            size, longest = shapelets.shape
            length = self.lengths[g] = min(longest, max(shortest, min(3, longest)))
            # The largest dilation whose span fits in the shortest series.
            widest = max(1, (shortest - 1) // (length - 1)) if length > 1 else 1
            dilations.fill_(1)
            if self.dilated > 0 and widest > 1:
                drawn = torch.floor(2 ** (torch.rand(size) * math.log2(widest))).long()
                chosen = torch.randperm(size)[: round(self.dilated * size)]
                dilations[chosen.to(dilations.device)] = drawn[chosen].to(dilations.device)
            # Sorted by channel, then dilation: each pair is one run (one product).
            order = torch.argsort(channels * (widest + 1) + dilations, stable=True)
            channels.copy_(channels[order])
            dilations.copy_(dilations[order])
            self.runs[g] = _runs(channels, dilations)
            rows = torch.randint(0, n_samples, (size,), device=x.device)
            # A start among the windows inside the series (0 for a shorter one).
            span = (length - 1) * dilations + 1
            room = (lengths[rows] - span + 1).clamp(min=1)
            starts = (torch.rand(rows.shape, device=x.device) * room).long()
            padded = F.pad(x, (0, 0, 0, max(0, int(span.max()) - n_timestamps)))
            steps = starts[:, None] + dilations[:, None] * torch.arange(length, device=x.device)
            windows = padded[rows[:, None], steps, channels[:, None]].double()
            centred = windows - windows.mean(dim=1, keepdim=True)
            scale = centred.pow(2).mean(dim=1, keepdim=True).sqrt()
            shapelets.zero_()
            shapelets[:, :length] = torch.where(
                scale > _FLAT, centred / scale.clamp(min=_FLAT), 0.0
            )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Embed ``x`` (batch, n_timestamps, n_channels) where ``mask`` is True: ``(z, x_hat)``.

        ``z`` is (batch, embedding_dim), each feature the distance of a
        shapelet's best match; ``x_hat`` is None (the protocol in
        :mod:`skts.nn.encoders`).
        """
        # In double precision: near a shapelet's own window the square root
        # magnifies rounding, and single precision moved features by 1e-4
        # with the batch's width (benchmarks/NOTES.md).
        h = x.transpose(1, 2).double()
        observed = mask[:, None, :].to(h.dtype)
        n_samples = h.shape[0]
        features = []
        for g, length in enumerate(self.lengths):
            # Centred and scaled to unit norm again: rounding to single
            # precision moved a shapelet's own window to distance 3e-4.
            shapelets = getattr(self, f"shapelet{g}")[:, :length].double()
            shapelets = shapelets - shapelets.mean(dim=1, keepdim=True)
            shapelets = shapelets / shapelets.norm(dim=1, keepdim=True).clamp(min=_FLAT)
            # Appended: the weight 1 of each window's mark (_unit_windows).
            kernels = F.pad(shapelets, (0, 1), value=1.0).T
            best, insides = [], {}
            for channel, dilation, start, stop in self.runs[g]:
                span = (length - 1) * dilation + 1
                if span not in insides:  # shared by the channels read at this span
                    inside = _window_means(F.pad(observed, (0, span - 1)), span)[:, 0]
                    inside = inside > 1 - 0.5 / span
                    # A series shorter than the span: the windows that start inside it.
                    starts = observed[:, 0] > 0
                    insides[span] = torch.where(inside.any(dim=1, keepdim=True), inside, starts)
                # Every step starts a window, so that narrower padding changes nothing.
                hg = F.pad(h[:, channel], (0, span - 1))
                windows = _unit_windows(hg, insides[span], length, dilation)
                step = max(1, _CORRELATION_BLOCK // (n_samples * (stop - start)))
                blocks = [
                    (windows[:, i : i + step] @ kernels[:, start:stop]).amax(dim=1)
                    for i in range(0, windows.shape[1], step)
                ]
                best.append(torch.stack(blocks).amax(dim=0))
            correlation = torch.cat(best, dim=1).clamp(min=-1.0, max=1.0)
            features.append((2 - 2 * correlation).sqrt().to(x.dtype))
        return torch.cat(features, dim=1), None


class HybridEncoder(nn.Module):
    """A learned :class:`ConvEncoder` beside a fixed :class:`RandomConvEncoder`.

    The embedding concatenates both. The learned branch is trained by the
    pretext task and summarises the shape of the series (masked mean and max
    pooling); the random branch measures how often local patterns occur.
    This is skts's default encoder: on the benchmark datasets the
    combination clustered better than either branch alone
    (``benchmarks/NOTES.md``). A third branch of random shapelets
    (:class:`ShapeletEncoder`, ``n_shapelets``) measures how well patterns
    drawn from the data occur anywhere, whatever their level and scale.
    ``feature_branches`` names the branch of each feature, so that the
    clusterer can whiten each apart (its ``whiten``).

    Parameters
    ----------
    n_channels : int, default=1
        The number of input channels.
    n_timestamps : int, default=None
        The padded length.
    hidden_size : int, default=64
        Features per timestamp of the learned branch.
    depth : int or "auto", default="auto"
        Residual blocks of the learned branch.
    kernel_size : int, default=3
        Convolution width of the learned branch.
    pooling : tuple of {"mean", "max", "ppv"}, default=("mean", "max")
        Pooling of the learned branch.
    n_kernels : int, default=1000
        Kernels of the random branch; 0 leaves only the learned branch.
    kernel_lengths : tuple of int, default=(9,)
        Kernel lengths of the random branch.
    max_channels : int or None, default=9
        The most channels one kernel of the random branch reads.
    kernel_pooling : tuple of {"ppv", "lspv"}, default=("ppv",)
        The statistics of each kernel of the random branch (see
        :class:`RandomConvEncoder`'s ``pooling``).
    bias_quantiles : tuple of two floats, default=(0.25, 0.75)
        The range of the random branch's bias quantiles (see
        :class:`RandomConvEncoder`).
    unpadded : float, default=0.0
        The fraction of the random branch's kernels (of the shorter
        dilations) that read no padding (see :class:`RandomConvEncoder`).
    learned_weight : float or tuple of float, default=(1.0, 0.0)
        The weight of each learned feature, against 1 for each random one,
        once every feature is standardised for clustering
        (``feature_weights``). A tuple gives candidate weights, the first
        preferred: the clusterer keeps another only when its partition is
        markedly more stable (:class:`skts.NeuralNetClusterer`'s
        ``space_instability_``). The default falls back on the random
        kernels alone where the learned branch's few dominant directions
        make the partition unstable, which is how single fits lost
        GunPoint's split (``benchmarks/NOTES.md``). A float weighs the
        learned features so in every fit: below 1 GunPoint's split is found
        on more seeds, but BasicMotions and ItalyPowerDemand lose. A first
        weight above 1 lifts short multivariate gestures (``(2.0, 0.0)``:
        RacketSports 0.26 to 0.41) but loses GunPoint's and
        ItalyPowerDemand's classes.
    n_shapelets : int, default=1000
        Shapelets of the shapelet branch; 0 leaves it out, as do series of
        fewer than 3 timestamps (``n_timestamps``), whose z-normalised
        windows hold only the sign of their slope. With each branch
        whitened apart (the clusterer's default ``whiten="branches"``) they
        lifted the seven benchmark datasets and most held-out ones, and
        they are what cuts GunPoint's subgroup of 50 series; they halve
        ``predict``'s speed on long series (``benchmarks/NOTES.md``,
        "Random z-normalised shapelets" and "Each branch whitened apart").
    shapelet_lengths : tuple of int, default=(10, 20, 30)
        Their lengths (see :class:`ShapeletEncoder`).
    shapelet_dilated : float, default=0.0
        The share of them drawn with a random dilation (see
        :class:`ShapeletEncoder`). 0.5 kept ECGFiveDays' classes on ten
        seeds of ten, where the undilated shapelets lost them on two, but
        sends GunPoint to its split by actor (``benchmarks/NOTES.md``,
        "Dilated shapelets").
    shapelet_weight : float, tuple of float or None, default=None
        The weight of each shapelet feature, as ``learned_weight`` for the
        learned ones; a tuple gives one weight per candidate, and a float
        (or a tuple of one) is used in every candidate. None weighs them as
        the learned features in every candidate: by default both are in the
        first candidate and out of the random kernels' fallback. Where the
        fallback is taken (GunPoint), the shapelets beside the kernels cut
        the series as the kernels alone do, and as a fallback of their own
        they split ECGFiveDays and Lighting7 in other ways
        (``benchmarks/NOTES.md``).

    Examples
    --------
    >>> import torch
    >>> from skts.nn import HybridEncoder
    >>> net = HybridEncoder(n_timestamps=40, n_kernels=50, n_shapelets=20)
    >>> x, mask = torch.randn(3, 40, 1), torch.ones(3, 40, dtype=torch.bool)
    >>> net.calibrate(x, mask)
    >>> z, x_hat = net(x, mask)
    >>> tuple(z.shape)
    (3, 198)
    """

    padding_invariant = True

    def __init__(
        self,
        n_channels: int = 1,
        n_timestamps: int | None = None,
        *,
        hidden_size: int = 64,
        depth: int | str = "auto",
        kernel_size: int = 3,
        pooling: tuple[str, ...] = ("mean", "max"),
        n_kernels: int = 1000,
        kernel_lengths: tuple[int, ...] = (9,),
        max_channels: int = 9,
        kernel_pooling: tuple[str, ...] = ("ppv",),
        bias_quantiles: tuple[float, float] = (0.25, 0.75),
        unpadded: float = 0.0,
        learned_weight: float | tuple[float, ...] = (1.0, 0.0),
        n_shapelets: int = 1000,
        shapelet_lengths: tuple[int, ...] = (10, 20, 30),
        shapelet_weight: float | tuple[float, ...] | None = None,
        shapelet_dilated: float = 0.0,
    ) -> None:
        super().__init__()
        sizes = {}
        for name, value in (
            ("learned_weight", learned_weight),
            ("shapelet_weight", shapelet_weight),
        ):
            if value is None and name == "shapelet_weight":
                continue
            weights = np.atleast_1d(np.asarray(value, dtype=object))
            if weights.ndim != 1 or not weights.size or not all(_is_weight(w) for w in weights):
                raise ValueError(
                    f"{name} should be a float >= 0 or a non-empty tuple of them"
                    f"{' (or None)' if name == 'shapelet_weight' else ''}, got {value!r}."
                )
            sizes[name] = weights.size
        if len(sizes) == 2 and len(set(sizes.values()) - {1}) > 1:
            raise ValueError(
                "learned_weight and shapelet_weight should give as many candidates, or one "
                f"of them a single weight; got {sizes['learned_weight']} and "
                f"{sizes['shapelet_weight']}."
            )
        self.learned_weight = learned_weight
        self.shapelet_weight = shapelet_weight
        self.learned = ConvEncoder(
            n_channels,
            n_timestamps,
            hidden_size=hidden_size,
            depth=depth,
            kernel_size=kernel_size,
            pooling=pooling,
        )
        self.random = (
            RandomConvEncoder(
                n_channels,
                n_timestamps,
                n_kernels=n_kernels,
                kernel_lengths=kernel_lengths,
                max_channels=max_channels,
                pooling=kernel_pooling,
                bias_quantiles=bias_quantiles,
                unpadded=unpadded,
            )
            if n_kernels
            else None
        )
        self.shapelets = (
            ShapeletEncoder(
                n_channels,
                n_timestamps,
                n_shapelets=n_shapelets,
                lengths=shapelet_lengths,
                dilated=shapelet_dilated,
            )
            # A z-normalised window of two steps holds only the sign of its slope.
            if n_shapelets and (n_timestamps is None or n_timestamps >= 3)
            else None
        )
        self.embedding_dim = sum(
            branch.embedding_dim
            for branch in (self.learned, self.random, self.shapelets)
            if branch is not None
        )

    @property
    def feature_weights(self) -> torch.Tensor | None:
        """``learned_weight`` and ``shapelet_weight`` for their branches, 1 for the random one.

        One row per candidate when either weight is a tuple; None without
        the random branch (every feature then weighs 1).
        """
        if self.random is None:
            return None
        given = [self.learned_weight]
        if self.shapelets is not None:
            given.append(
                self.learned_weight if self.shapelet_weight is None else self.shapelet_weight
            )
        columns = [np.atleast_1d(np.asarray(w, dtype=np.float32)) for w in given]
        weights = torch.ones(max(map(len, columns)), self.embedding_dim)
        weights[:, : self.learned.embedding_dim] = torch.from_numpy(columns[0])[:, None]
        if self.shapelets is not None:
            weights[:, -self.shapelets.embedding_dim :] = torch.from_numpy(columns[1])[:, None]
        return weights if any(np.ndim(w) for w in given) else weights[0]

    @property
    def feature_branches(self) -> torch.Tensor:
        """The branch of each feature: 0 learned, 1 random kernels, 2 shapelets."""
        sizes = [
            0 if branch is None else branch.embedding_dim
            for branch in (self.learned, self.random, self.shapelets)
        ]
        return torch.repeat_interleave(torch.arange(3), torch.tensor(sizes))

    def calibrate(self, x: torch.Tensor, mask: torch.Tensor) -> None:
        """Calibrate the fixed branches, the random kernels' and the shapelets'."""
        for branch in (self.random, self.shapelets):
            if branch is not None:
                branch.calibrate(x, mask)

    def reconstruct(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The learned branch's reconstruction; the fixed branches are skipped."""
        return self.learned(x, mask)[1]

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embed ``x`` (batch, n_timestamps, n_channels) where ``mask`` is True: ``(z, x_hat)``.

        ``z`` is (batch, embedding_dim); ``x_hat`` is the learned branch's
        reconstruction (the protocol in :mod:`skts.nn.encoders`).
        """
        z, x_hat = self.learned(x, mask)
        parts = [z] + [
            branch(x, mask)[0] for branch in (self.random, self.shapelets) if branch is not None
        ]
        return torch.cat(parts, dim=1) if len(parts) > 1 else z, x_hat
