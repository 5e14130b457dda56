"""Synthetic collections of time series with known groups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["SHAPES", "make_cbf", "make_synthetic_control", "make_time_series_clusters"]


def _sine(cycles: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * cycles)


def _square(cycles: np.ndarray) -> np.ndarray:
    return np.where(np.mod(cycles, 1.0) < 0.5, 1.0, -1.0)


def _sawtooth(cycles: np.ndarray) -> np.ndarray:
    return 2.0 * np.mod(cycles, 1.0) - 1.0


def _pulse(cycles: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * ((np.mod(cycles, 1.0) - 0.5) / 0.1) ** 2)


def _triangle(cycles: np.ndarray) -> np.ndarray:
    return 1.0 - 4.0 * np.abs(np.mod(cycles, 1.0) - 0.5)


SHAPES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sine": _sine,
    "square": _square,
    "sawtooth": _sawtooth,
    "pulse": _pulse,
    "triangle": _triangle,
}
"""The waveform families of :func:`make_time_series_clusters`, in cluster order.

Each maps a phase measured in cycles (any real) to the noise-free waveform,
of period 1.
"""

_FREQUENCIES = (1, 2, 3)  # cycles per typical series length, in cluster order


def make_time_series_clusters(
    n_clusters: int = 3,
    n_samples_per_cluster: int = 100,
    min_length: int = 10,
    max_length: int = 20,
    *,
    n_channels: int = 1,
    noise: float = 0.2,
    warp: float = 0.15,
    shuffle: bool = True,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Generate clusters of variable-length time series that differ by shape.

    Cluster ``k`` is a periodic process with its own waveform and frequency:
    waveform ``k mod 5`` of :data:`SHAPES` (sine, square, sawtooth, pulse,
    triangle) at 1, 2 or 3 cycles (``k mod 3``) per typical series length
    (the mean of ``min_length`` and ``max_length - 1``), the frequencies
    rising by one step for every 15 clusters. Each series is a window of
    its cluster's process, sampled at a fixed rate, with its own length,
    random phase, time scaling (the local rate varies by up to ``warp``),
    amplitude, offset and Gaussian noise. The clusters are therefore real,
    but the Euclidean distance between padded vectors is a poor guide to
    them: the same shape appears shifted, stretched and cut at different
    lengths.

    The defaults reproduce the scenario of the blog post that skts grew from
    (3 clusters of 100 series of length 10 to 19), with a shape to find in
    each cluster instead of the same noise everywhere: a slow sine, a square
    wave twice as fast and a sawtooth three times as fast.

    Parameters
    ----------
    n_clusters : int, default=3
        The number of clusters.
    n_samples_per_cluster : int, default=100
        The number of series in each cluster.
    min_length : int, default=10
        The shortest series length.
    max_length : int, default=20
        One more than the longest series length (lengths are drawn uniformly
        from ``min_length`` to ``max_length - 1``).
    n_channels : int, default=1
        The number of channels. Channel ``c`` repeats the cluster's process
        with a phase offset of ``c / n_channels`` and its own noise.
    noise : float, default=0.2
        The standard deviation of the Gaussian noise, relative to a waveform
        of amplitude 1.
    warp : float, default=0.15
        The largest relative change of each series' sampling rate, in
        ``[0, 0.5]``.
    shuffle : bool, default=True
        Whether to shuffle the series; otherwise they come cluster by cluster.
    random_state : int, RandomState instance or None, default=None
        Seeds the generator.

    Returns
    -------
    X : list of ndarray
        ``n_clusters * n_samples_per_cluster`` float32 series, of shape
        ``(length,)`` when ``n_channels=1`` and ``(length, n_channels)``
        otherwise.
    y : ndarray of shape (n_clusters * n_samples_per_cluster,)
        The cluster of each series.

    Examples
    --------
    >>> import numpy as np
    >>> from skts.datasets import make_time_series_clusters
    >>> X, y = make_time_series_clusters(random_state=0)
    >>> len(X), min(len(x) for x in X), max(len(x) for x in X)
    (300, 10, 19)
    >>> np.bincount(y).tolist()
    [100, 100, 100]
    """
    _check_int("n_clusters", n_clusters, 1)
    _check_int("n_samples_per_cluster", n_samples_per_cluster, 1)
    _check_int("min_length", min_length, 2)
    _check_int("n_channels", n_channels, 1)
    if max_length <= min_length:
        raise ValueError(
            f"max_length={max_length} should be > min_length={min_length}: lengths are "
            "drawn from min_length to max_length - 1."
        )
    if noise < 0:
        raise ValueError(f"noise={noise} should be >= 0.")
    if not 0 <= warp <= 0.5:
        raise ValueError(f"warp={warp} should be in [0, 0.5].")
    rng = check_random_state(random_state)
    families = list(SHAPES.values())
    typical_length = (min_length + max_length - 1) / 2
    X: list[np.ndarray] = []
    labels: list[int] = []
    for k in range(n_clusters):
        waveform = families[k % len(families)]
        frequency = _FREQUENCIES[k % len(_FREQUENCIES)] + k // (len(families) * len(_FREQUENCIES))
        for _ in range(n_samples_per_cluster):
            length = rng.randint(min_length, max_length)
            rate = frequency / typical_length * rng.uniform(1 - warp, 1 + warp)
            cycles = np.arange(length) * rate + rng.uniform()
            amplitude = rng.uniform(0.5, 2.0)
            offset = rng.normal()
            channels = [
                waveform(cycles + c / n_channels) + noise * rng.normal(size=length)
                for c in range(n_channels)
            ]
            series = amplitude * np.stack(channels, axis=1) + offset
            X.append((series[:, 0] if n_channels == 1 else series).astype(np.float32))
            labels.append(k)
    y = np.asarray(labels)
    if shuffle:
        order = rng.permutation(len(X))
        X, y = [X[i] for i in order], y[order]
    return X, y


def make_cbf(
    n_samples_per_class: int = 310,
    n_timestamps: int = 128,
    *,
    shuffle: bool = True,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate the Cylinder-Bell-Funnel dataset (Saito, 1994).

    With ``t = 1, ..., n_timestamps``, ``a`` drawn uniformly from the integers
    16 to 32, ``b - a`` from 32 to 96, ``eta`` and ``eps(t)`` standard normal,
    and ``chi(t) = 1`` on ``[a, b]`` and 0 elsewhere:

    - cylinder (class 0): ``(6 + eta) chi(t) + eps(t)``;
    - bell (class 1): ``(6 + eta) chi(t) (t - a) / (b - a) + eps(t)``;
    - funnel (class 2): ``(6 + eta) chi(t) (b - t) / (b - a) + eps(t)``.

    The defaults give the 930 series of the UCR archive's CBF (train and
    test together).

    Parameters
    ----------
    n_samples_per_class : int, default=310
        The number of series in each class.
    n_timestamps : int, default=128
        The series length, at least 128 so that every event (which ends by
        timestamp 128) fits.
    shuffle : bool, default=True
        Whether to shuffle the series.
    random_state : int, RandomState instance or None, default=None
        Seeds the generator.

    Returns
    -------
    X : ndarray of shape (3 * n_samples_per_class, n_timestamps), dtype float32
        The series.
    y : ndarray of shape (3 * n_samples_per_class,)
        0 for cylinder, 1 for bell, 2 for funnel.

    References
    ----------
    .. [1] N. Saito, "Local feature extraction and its application using a
       library of bases", PhD thesis, Yale University, 1994.

    Examples
    --------
    >>> from skts.datasets import make_cbf
    >>> X, y = make_cbf(n_samples_per_class=10, random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((30, 128), [0, 1, 2])
    """
    _check_int("n_samples_per_class", n_samples_per_class, 1)
    _check_int("n_timestamps", n_timestamps, 128)
    rng = check_random_state(random_state)
    n = 3 * n_samples_per_class
    y = np.repeat(np.arange(3), n_samples_per_class)
    t = np.arange(1, n_timestamps + 1)[None, :]
    a = rng.randint(16, 33, size=(n, 1))
    b = a + rng.randint(32, 97, size=(n, 1))
    eta = rng.normal(size=(n, 1))
    chi = ((t >= a) & (t <= b)).astype(float)
    ramp = np.where(y[:, None] == 1, (t - a) / (b - a), (b - t) / (b - a))
    profile = np.where(y[:, None] == 0, 1.0, ramp)
    X = (6 + eta) * chi * profile + rng.normal(size=(n, n_timestamps))
    return _maybe_shuffle(X.astype(np.float32), y, shuffle, rng)


def make_synthetic_control(
    n_samples_per_class: int = 100,
    n_timestamps: int = 60,
    *,
    shuffle: bool = True,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate the Synthetic Control Chart dataset (Alcock & Manolopoulos, 1999).

    With ``m = 30``, ``s = 2``, ``r(t)`` uniform on ``[-3, 3]`` and
    ``t = 1, ..., n_timestamps``, every series is ``m + r(t) s`` plus:

    - normal (class 0): nothing;
    - cyclic (class 1): ``a sin(2 pi t / T)``, ``a`` uniform on ``[10, 15]``,
      ``T`` on ``[10, 15]``;
    - increasing trend (class 2): ``g t``, ``g`` uniform on ``[0.2, 0.5]``;
    - decreasing trend (class 3): ``-g t``;
    - upward shift (class 4): ``x`` from a time ``t3`` uniform on
      ``[n/3, 2n/3]``, ``x`` uniform on ``[7.5, 20]``;
    - downward shift (class 5): ``-x`` from ``t3``.

    The defaults give the 600 series of the UCR archive's SyntheticControl.

    Parameters
    ----------
    n_samples_per_class : int, default=100
        The number of series in each class.
    n_timestamps : int, default=60
        The series length.
    shuffle : bool, default=True
        Whether to shuffle the series.
    random_state : int, RandomState instance or None, default=None
        Seeds the generator.

    Returns
    -------
    X : ndarray of shape (6 * n_samples_per_class, n_timestamps), dtype float32
        The series.
    y : ndarray of shape (6 * n_samples_per_class,)
        The class, 0 to 5 in the order above.

    References
    ----------
    .. [1] R. J. Alcock and Y. Manolopoulos, "Time-series similarity queries
       employing a feature-based approach", 7th Hellenic Conference on
       Informatics, 1999.
    .. [2] D. T. Pham and A. B. Chan, "Control chart pattern recognition using
       a new type of self-organizing neural network", Proc. Instn Mech.
       Engrs, 212, 115-127, 1998.

    Examples
    --------
    >>> from skts.datasets import make_synthetic_control
    >>> X, y = make_synthetic_control(n_samples_per_class=5, random_state=0)
    >>> X.shape
    (30, 60)
    """
    _check_int("n_samples_per_class", n_samples_per_class, 1)
    _check_int("n_timestamps", n_timestamps, 3)
    rng = check_random_state(random_state)
    n = 6 * n_samples_per_class
    y = np.repeat(np.arange(6), n_samples_per_class)
    t = np.arange(1, n_timestamps + 1)[None, :].astype(float)
    X = 30.0 + 2.0 * rng.uniform(-3, 3, size=(n, n_timestamps))
    amplitude = rng.uniform(10, 15, size=(n, 1))
    period = rng.uniform(10, 15, size=(n, 1))
    slope = rng.uniform(0.2, 0.5, size=(n, 1))
    shift_at = rng.uniform(n_timestamps / 3, 2 * n_timestamps / 3, size=(n, 1))
    shift = rng.uniform(7.5, 20, size=(n, 1)) * (t >= shift_at)
    pattern = {
        1: amplitude * np.sin(2 * np.pi * t / period),
        2: slope * t,
        3: -slope * t,
        4: shift,
        5: -shift,
    }
    for label, values in pattern.items():
        rows = y == label
        X[rows] += np.broadcast_to(values, X.shape)[rows]
    return _maybe_shuffle(X.astype(np.float32), y, shuffle, rng)


def _maybe_shuffle(
    X: Any, y: np.ndarray, shuffle: bool, rng: np.random.RandomState
) -> tuple[Any, np.ndarray]:
    if shuffle:
        order = rng.permutation(len(y))
        return X[order], y[order]
    return X, y


def _check_int(name: str, value: object, minimum: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name} should be an int, got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"{name}={value} should be >= {minimum}.")
