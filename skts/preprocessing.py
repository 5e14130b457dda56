"""scikit-learn transformers that prepare collections of time series.

:class:`TimeSeriesImputer` fills missing values inside each series;
:class:`PaddingTransformer` turns a ragged collection into one NaN-padded
array; :class:`TimeSeriesScaler` z-normalises each series on its observed
timestamps, or standardises each channel over the whole collection;
:class:`TimeSeriesAligner` shifts each series in time to best match the
collection's mean shape. All return ``float32`` arrays of shape
``(n_samples, n_timestamps, n_channels)``.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy import fft
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._validation import validate_time_series
from ._warnings import warn

__all__ = ["PaddingTransformer", "TimeSeriesAligner", "TimeSeriesImputer", "TimeSeriesScaler"]


class _TimeSeriesTransformer(TransformerMixin, BaseEstimator):
    """Shared fit and tags of the per-series transformers.

    They accept series of any length at transform time, so ``fit`` only
    records what it saw (``n_features_in_``, ``n_channels_``); a transformer
    that learns more overrides it.
    """

    def _validate(self, X, *, reset):
        return validate_time_series(self, X, reset=reset, fixed_length=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check ``X`` and record its number of channels.

        Parameters
        ----------
        X : list of array-like, array-like or DataFrame
            The series; see :func:`skts.check_time_series` for the forms.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._validate(X, reset=True)
        return self

    def set_output(self, *, transform=None):
        """Accept scikit-learn's output container; the output stays a NumPy array.

        The series come out as one 3-D array, which no DataFrame holds, so
        ``"pandas"`` and ``"polars"`` leave it as it is, as
        ``sklearn.set_config(transform_output=...)`` does. The method lets
        ``Pipeline.set_output`` reach the steps after this one: a
        clusterer's embeddings then come as a DataFrame.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            The container that scikit-learn transformers would return.

        Returns
        -------
        self : object
            The transformer, unchanged.

        Examples
        --------
        >>> from sklearn.pipeline import make_pipeline
        >>> from skts import NeuralNetClusterer, PaddingTransformer
        >>> model = make_pipeline(PaddingTransformer(), NeuralNetClusterer(n_clusters=2))
        >>> model = model.set_output(transform="pandas")  # the embeddings as a DataFrame
        """
        if transform not in (None, "default", "pandas", "polars"):
            raise ValueError(
                "transform should be one of 'default', 'pandas', 'polars' or None; "
                f"got {transform!r}."
            )
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # NaN is padding at the end of a series, not a missing value anywhere,
        # so allow_nan stays False.
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


class PaddingTransformer(_TimeSeriesTransformer):
    """Pad a collection of time series of different lengths into one array.

    The padded array has shape ``(n_samples, max_length_, n_channels_)`` and
    marks padding with ``fill_value`` (NaN by default), so that estimators
    downstream, :class:`~skts.NeuralNetClusterer` among them, can mask it.
    Series longer than ``max_length_`` are truncated.

    Parameters
    ----------
    max_length : int, default=None
        The length of the padded series. ``None`` uses the longest series
        seen in ``fit``.
    padding : {"post", "pre"}, default="post"
        Whether padding goes after (``"post"``) or before (``"pre"``) each
        series. skts's estimators read NaN only as padding at the end, so
        keep ``"post"`` in front of them; ``"pre"`` serves models that want
        the series aligned on their last timestamp.
    truncating : {"post", "pre"}, default="post"
        Whether a longer series loses its end (``"post"``) or its start
        (``"pre"``).
    fill_value : float, default=np.nan
        The padding value. Only NaN lets estimators tell padding from data;
        with another value, :meth:`inverse_transform` strips the padding
        timestamps whose every channel equals ``fill_value``.
    on_truncate : {"warn", "ignore", "raise"}, default="warn"
        What to do when :meth:`transform` meets a series longer than
        ``max_length_``: warn and truncate, truncate silently, or raise a
        ``ValueError``.

    Attributes
    ----------
    max_length_ : int
        The length of the padded series.
    n_channels_ : int
        The number of channels seen in ``fit``.
    n_features_in_ : int
        The number of timestamps of the input array seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``fit`` saw a DataFrame with one value per column.

    See Also
    --------
    TimeSeriesScaler : Per-series z-normalisation that ignores padding.
    TimeSeriesImputer : Fills missing values inside each series, in front of
        this transformer.
    split_long_frame : The series of a DataFrame in long format, one row per
        observation, as the list this transformer pads.

    Examples
    --------
    >>> import numpy as np
    >>> from skts import PaddingTransformer
    >>> X = [np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0, 4.0])]
    >>> padder = PaddingTransformer()
    >>> Xt = padder.fit_transform(X)
    >>> Xt.shape
    (2, 4, 1)
    >>> Xt[0, :, 0]
    array([ 1.,  2., nan, nan], dtype=float32)
    >>> [x.tolist() for x in padder.inverse_transform(Xt)]
    [[1.0, 2.0], [1.0, 2.0, 3.0, 4.0]]
    """

    _parameter_constraints: dict = {
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "padding": [StrOptions({"post", "pre"})],
        "truncating": [StrOptions({"post", "pre"})],
        "fill_value": [Interval(Real, None, None, closed="neither"), "nan"],
        "on_truncate": [StrOptions({"warn", "ignore", "raise"})],
    }

    def __init__(
        self,
        max_length=None,
        *,
        padding="post",
        truncating="post",
        fill_value=np.nan,
        on_truncate="warn",
    ):
        self.max_length = max_length
        self.padding = padding
        self.truncating = truncating
        self.fill_value = fill_value
        self.on_truncate = on_truncate

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the padded length and the number of channels.

        Parameters
        ----------
        X : list of array-like, array-like or DataFrame
            The series; see :func:`skts.check_time_series` for the forms.
        y : None
            Ignored.

        Returns
        -------
        self : PaddingTransformer
            The fitted transformer.
        """
        _, lengths = self._validate(X, reset=True)
        longest = int(lengths.max())
        self.max_length_ = longest if self.max_length is None else int(self.max_length)
        return self

    def transform(self, X):
        """Pad or truncate every series to ``max_length_`` timestamps.

        Parameters
        ----------
        X : list of array-like, array-like or DataFrame
            The series, with ``n_channels_`` channels.

        Returns
        -------
        Xt : ndarray of shape (n_samples, max_length_, n_channels_), dtype float32
            The padded series.
        """
        check_is_fitted(self)
        X, lengths = self._validate(X, reset=False)
        length = self.max_length_
        too_long = np.flatnonzero(lengths > length)
        if too_long.size:
            message = (
                f"{too_long.size} series are longer than max_length_={length} (the longest "
                f"has {lengths.max()} timestamps, sample {too_long[0]} is the first) and "
                f"were truncated at the {'end' if self.truncating == 'post' else 'start'}."
            )
            if self.on_truncate == "raise":
                raise ValueError(
                    message.replace("and were truncated", "and would be truncated")
                    + " Set max_length or on_truncate='warn' or 'ignore' to allow it."
                )
            if self.on_truncate == "warn":
                warn(message, UserWarning)
        kept = np.minimum(lengths, length)
        # First source timestamp of each series once truncated.
        source_start = lengths - kept if self.truncating == "pre" else np.zeros_like(kept)
        # First output timestamp of each series once padded.
        target_start = length - kept if self.padding == "pre" else np.zeros_like(kept)
        steps = np.arange(length)
        valid = (steps >= target_start[:, None]) & (steps < (target_start + kept)[:, None])
        source = np.clip(source_start[:, None] + steps - target_start[:, None], 0, X.shape[1] - 1)
        out = np.take_along_axis(X, source[:, :, None], axis=1)
        out[~valid] = self.fill_value
        return out

    def inverse_transform(self, X):
        """Remove the padding and return the series as a list.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timestamps, n_channels)
            Padded series, as returned by :meth:`transform`.

        Returns
        -------
        series : list of ndarray
            One array per series, of shape ``(n_timestamps_i,)`` for
            univariate series and ``(n_timestamps_i, n_channels)`` otherwise.
        """
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float32)
        if X.ndim == 2:
            X = X[:, :, None]
        if X.ndim != 3:
            raise ValueError(
                "Expected padded series of shape (n_samples, n_timestamps, n_channels); "
                f"got an array of shape {X.shape}."
            )
        if np.isnan(self.fill_value):
            padded = np.isnan(X).all(axis=2)
        else:
            padded = (X == np.float32(self.fill_value)).all(axis=2)
        n_timestamps = X.shape[1]
        # The padding is the run of padded timestamps at the padded end.
        if self.padding == "post":
            run = np.where(padded.all(axis=1), n_timestamps, (~padded[:, ::-1]).argmax(axis=1))
            start, stop = np.zeros_like(run), n_timestamps - run
        else:
            run = np.where(padded.all(axis=1), n_timestamps, (~padded).argmax(axis=1))
            start, stop = run, np.full_like(run, n_timestamps)
        squeeze = X.shape[2] == 1
        return [x[a:b, 0] if squeeze else x[a:b] for x, a, b in zip(X, start, stop)]


class TimeSeriesScaler(_TimeSeriesTransformer):
    """Z-normalise each series on its own, or each channel over the collection, ignoring padding.

    With ``scope="series"`` (the default), every channel of every series is
    shifted to mean 0 and scaled to standard deviation 1 over its observed
    timestamps, the standard protocol of time-series clustering benchmarks:
    series are then compared by their shape alone. A constant channel (its
    spread below 1e-10 of its level, whatever the units) has no scale: it
    maps to zeros (or stays unscaled when ``with_mean=False``), never to NaN.

    With ``scope="collection"``, each channel is shifted and scaled by the
    mean and standard deviation of its observed values over all the series
    seen in ``fit`` (scikit-learn's ``StandardScaler`` on the timestamps):
    the units go, and the differences of level and amplitude between series,
    and between the channels of one series, stay. On multivariate data those
    often tell the groups apart: ``NeuralNetClusterer`` scored ARI 1.000 on
    BasicMotions and 0.910 on JapaneseVowels with it, against 0.857 and
    0.365 with per-series z-normalisation, which erases each channel's level
    (``benchmarks/NOTES.md``, "What z-normalising each series costs").
    Where series differ in level or scale for reasons that do not matter, as
    in ``make_time_series_clusters``, only ``"series"`` finds the shapes;
    neither is right for all data.

    Padding (NaN) stays NaN either way.

    Parameters
    ----------
    with_mean : bool, default=True
        Whether to subtract the mean.
    with_std : bool, default=True
        Whether to divide by the standard deviation.
    scope : {"series", "collection"}, default="series"
        Over what the mean and standard deviation of each channel are
        taken: each series' observed timestamps, or every observed value of
        the series seen in ``fit``.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels_,) or None
        With ``scope="collection"``, what is subtracted from each channel
        (None when ``with_mean=False``); None with ``scope="series"``.
    scale_ : ndarray of shape (n_channels_,) or None
        With ``scope="collection"``, what each channel is then divided by
        (1 for a constant channel; None when ``with_std=False``); None with
        ``scope="series"``.
    n_channels_ : int
        The number of channels seen in ``fit``.
    n_features_in_ : int
        The number of timestamps of the input array seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``fit`` saw a DataFrame with one value per column.

    See Also
    --------
    PaddingTransformer : Pads ragged collections into one array.

    Examples
    --------
    >>> import numpy as np
    >>> from skts import TimeSeriesScaler
    >>> X = [np.array([1.0, 2.0, 3.0]), np.array([5.0, 5.0])]
    >>> TimeSeriesScaler().fit_transform(X)[:, :, 0]
    array([[-1.2247449,  0.       ,  1.2247449],
           [ 0.       ,  0.       ,        nan]], dtype=float32)
    >>> TimeSeriesScaler(scope="collection").fit_transform(X)[:, :, 0]
    array([[-1.375, -0.75 , -0.125],
           [ 1.125,  1.125,    nan]], dtype=float32)
    """

    _parameter_constraints: dict = {
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
        "scope": [StrOptions({"series", "collection"})],
    }

    def __init__(self, with_mean=True, *, with_std=True, scope="series"):
        self.with_mean = with_mean
        self.with_std = with_std
        self.scope = scope

    def __setstate__(self, state):
        # A scaler pickled before ``scope`` existed scaled each series.
        state.setdefault("scope", "series")
        super().__setstate__(state)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check ``X``; with ``scope="collection"``, learn each channel's mean and scale.

        Parameters
        ----------
        X : list of array-like, array-like or DataFrame
            The series; see :func:`skts.check_time_series` for the forms.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        X, _ = self._validate(X, reset=True)
        self.mean_ = self.scale_ = None
        if self.scope == "collection":
            # NaN (padding) is skipped; a constant channel gets scale 1.
            stats = StandardScaler(with_mean=self.with_mean, with_std=self.with_std)
            stats.fit(X.reshape(-1, X.shape[2]).astype(np.float64))
            self.mean_ = stats.mean_ if self.with_mean else None
            self.scale_ = stats.scale_
        return self

    def transform(self, X):
        """Scale every series.

        Parameters
        ----------
        X : list of array-like, array-like or DataFrame
            The series, of any length.

        Returns
        -------
        Xt : ndarray of shape (n_samples, n_timestamps, n_channels), dtype float32
            The scaled series, NaN-padded to the longest one.
        """
        check_is_fitted(self)
        X, _ = self._validate(X, reset=False)
        X64 = X.astype(np.float64)
        if self.scope == "collection":
            if self.mean_ is not None:
                X64 -= self.mean_
            if self.scale_ is not None:
                X64 /= self.scale_
            return X64.astype(np.float32)
        return _z_normalise(X64, with_mean=self.with_mean, with_std=self.with_std).astype(
            np.float32
        )


class TimeSeriesImputer(_TimeSeriesTransformer):
    """Fill missing values inside each series from its own observed values.

    Sensor logs and exports often have gaps: a reading lost, a channel that
    skipped a timestamp. skts's other estimators read NaN only as padding at
    the end of a series and reject it elsewhere; put this transformer in
    front of them to fill the gaps along time, series by series and channel
    by channel. Nothing is learned from other series.

    Timestamps at the end of a series where every channel is NaN are
    padding and stay NaN, so ragged collections keep their lengths (and a
    series whose last readings are all lost ends at its last reading). A gap
    before the first observed value of a channel takes that value, and a
    gap after its last observed value (while other channels go on) takes
    that one.

    Parameters
    ----------
    method : {"linear", "previous"}, default="linear"
        How a gap is filled: ``"linear"`` interpolates between the observed
        values on either side (how the UCR archive filled its datasets with
        missing values); ``"previous"`` carries the last observed value
        forward, for readings that hold until the next one.

    Attributes
    ----------
    n_channels_ : int
        The number of channels seen in ``fit``.
    n_features_in_ : int
        The number of timestamps of the input array seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``fit`` saw a DataFrame with one value per column.

    See Also
    --------
    PaddingTransformer : Pads ragged collections into one array.
    split_long_frame : Series from a table with one row per observation.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from skts import PaddingTransformer, TimeSeriesImputer
    >>> X = [np.array([1.0, np.nan, 3.0]), np.array([np.nan, 5.0, np.nan, 9.0])]
    >>> TimeSeriesImputer().fit_transform(X)[:, :, 0]
    array([[ 1.,  2.,  3., nan],
           [ 5.,  5.,  7.,  9.]], dtype=float32)
    >>> TimeSeriesImputer(method="previous").fit_transform(X)[1, :, 0]
    array([5., 5., 5., 9.], dtype=float32)
    >>> make_pipeline(TimeSeriesImputer(), PaddingTransformer()).fit_transform(X).shape
    (2, 4, 1)
    """

    _parameter_constraints: dict = {
        "method": [StrOptions({"linear", "previous"})],
    }

    def __init__(self, method="linear"):
        self.method = method

    def _validate(self, X, *, reset):
        return validate_time_series(self, X, reset=reset, fixed_length=False, allow_missing=True)

    def transform(self, X):
        """Fill the missing values of every series.

        Parameters
        ----------
        X : list of array-like, array-like or DataFrame
            The series, of any length, NaN where values are missing.

        Returns
        -------
        Xt : ndarray of shape (n_samples, n_timestamps, n_channels), dtype float32
            The filled series, NaN-padded to the longest one.

        Raises
        ------
        ValueError
            When a channel of a series has no observed value to fill from.
        """
        check_is_fitted(self)
        X, lengths = self._validate(X, reset=False)
        # Blocks of about a million values keep the temporaries small.
        step = max(1, 2**20 // (X.shape[1] * X.shape[2]))
        out = np.empty_like(X)  # X may be the caller's array
        for start in range(0, X.shape[0], step):
            block = slice(start, start + step)
            out[block] = self._fill(X[block], lengths[block], start)
        return out

    def _fill(self, X, lengths, offset):
        n_timestamps = X.shape[1]
        steps = np.arange(n_timestamps, dtype=np.int32)[None, :, None]
        inside = steps < lengths[:, None, None]
        observed = ~np.isnan(X)
        # The nearest observed timestamp at or before, and at or after, each one.
        before = np.maximum.accumulate(np.where(observed, steps, -1), axis=1)
        after = np.flip(
            np.minimum.accumulate(np.flip(np.where(observed, steps, n_timestamps), 1), axis=1), 1
        )
        empty = inside & (before < 0) & (after == n_timestamps)
        if empty.any():
            i, _, c = np.argwhere(empty)[0]
            raise ValueError(
                f"Channel {c} of sample {offset + i} has no observed value, so there is "
                "nothing to fill it from. Drop that series or fill the channel yourself."
            )
        # Before the first observed value, take it; after the last, keep the last.
        before = np.where(before < 0, after, before)
        after = np.where(after == n_timestamps, before, after)
        X64 = X.astype(np.float64)
        left = np.take_along_axis(X64, np.clip(before, 0, n_timestamps - 1), axis=1)
        if self.method == "linear":
            right = np.take_along_axis(X64, np.clip(after, 0, n_timestamps - 1), axis=1)
            span = np.maximum(after - before, 1)
            filled = left + (right - left) * (steps - before) / span
        else:
            filled = left
        return np.where(inside, np.where(observed, X64, filled), np.nan)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class TimeSeriesAligner(_TimeSeriesTransformer):
    """Shift each series in time to best match the collection's mean shape.

    Beats, gestures or outlines recorded a few timestamps early or late are
    far apart for the Euclidean distance, so KMeans on the series groups
    them by their offsets rather than their shapes. This transformer learns
    a reference shape in ``fit`` and shifts every series by the lag that
    maximises its cross-correlation with the reference, summed over the
    channels (one lag per series, for all its channels). Lags are found on
    z-normalised copies of the series, so the level and scale of the input
    do not sway them; the values returned are the input's, shifted.

    Each series keeps its length and its padding: shifted by ``s``
    timestamps, it loses ``|s|`` values at one end, and the timestamps
    left empty at the other take the series' mean (0 after
    :class:`TimeSeriesScaler`), as zero-padded cross-correlation assumes.

    The reference starts as the mean of the z-normalised series and is
    refined ``n_iter`` times as the mean of the series aligned to it. It
    is one shape for the whole collection: where the groups differ in
    shape, each still aligns on what it shares with the mean. Put the
    transformer after :class:`TimeSeriesScaler` and in front of a
    clusterer that compares timestamps one by one, such as the KMeans
    baseline (:func:`skts.make_kmeans_baseline` with ``align=True``).
    :class:`~skts.NeuralNetClusterer`'s features are pooled over time, so
    they hardly depend on the offsets. Alignment helps where the classes
    differ by a whole shape that appears at varying offsets (ECG beats:
    ARI 0.000 to 0.794 on ECGFiveDays with KMeans) and hurts where the
    offset itself tells the groups apart (SonyAIBORobotSurfaceII: 0.320 to
    0.067; ``benchmarks/NOTES.md``, "Aligning the series before KMeans").

    Parameters
    ----------
    max_shift : int, default=None
        The largest shift, in timestamps, either way. None allows any shift
        that leaves a series overlapping the reference.
    n_iter : int, default=3
        Refinements of the reference shape in ``fit``; 0 keeps the mean of
        the unaligned series.

    Attributes
    ----------
    reference_ : ndarray of shape (n_features_in_, n_channels_), dtype float32
        The shape that series are aligned to: the mean of the z-normalised
        series of ``fit``, aligned.
    n_channels_ : int
        The number of channels seen in ``fit``.
    n_features_in_ : int
        The number of timestamps of the input array seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``fit`` saw a DataFrame with one value per column.

    See Also
    --------
    TimeSeriesScaler : Per-series z-normalisation, in front of this transformer.
    skts.make_kmeans_baseline : KMeans on the series, aligned with ``align=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from skts import TimeSeriesAligner
    >>> X = np.array([[0.0, 0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 0.0],
    ...               [0.0, 0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 0.0],
    ...               [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 1.0, 0.0],
    ...               [0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 0.0, 0.0]])
    >>> aligner = TimeSeriesAligner().fit(X)
    >>> aligner.transform(X)[:, :, 0].argmax(axis=1)  # the peaks now coincide
    array([3, 3, 3, 3])
    """

    _parameter_constraints: dict = {
        "max_shift": [Interval(Integral, 0, None, closed="left"), None],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, max_shift=None, *, n_iter=3):
        self.max_shift = max_shift
        self.n_iter = n_iter

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the reference shape.

        Parameters
        ----------
        X : list of array-like, array-like or DataFrame
            The series; see :func:`skts.check_time_series` for the forms.
        y : None
            Ignored.

        Returns
        -------
        self : TimeSeriesAligner
            The fitted transformer.
        """
        X, lengths = self._validate(X, reset=True)
        X = X.astype(np.float64)
        reference = _mean_shape(X)
        for _ in range(self.n_iter):
            shifts = _best_shifts(X, lengths, reference, self.max_shift)
            reference = _mean_shape(_shift(X, lengths, shifts))
        self.reference_ = reference.astype(np.float32)
        return self

    def transform(self, X):
        """Shift every series to best match ``reference_``.

        Parameters
        ----------
        X : list of array-like, array-like or DataFrame
            The series, of any length, with ``n_channels_`` channels.

        Returns
        -------
        Xt : ndarray of shape (n_samples, n_timestamps, n_channels), dtype float32
            The shifted series, NaN-padded as the input.
        """
        check_is_fitted(self)
        X, lengths = self._validate(X, reset=False)
        X = X.astype(np.float64)
        shifts = _best_shifts(X, lengths, self.reference_.astype(np.float64), self.max_shift)
        return _shift(X, lengths, shifts).astype(np.float32)


def _z_normalise(X64: np.ndarray, *, with_mean: bool = True, with_std: bool = True) -> np.ndarray:
    """Z-normalise each channel of each series of ``X64`` in place; padding stays NaN."""
    mean = np.nanmean(X64, axis=1, keepdims=True)
    if with_mean:
        X64 -= mean
    if with_std:
        std = np.nanstd(X64, axis=1, keepdims=True)
        # Constant up to rounding: a spread below 1e-10 of the level (float32
        # resolves 6e-8 of it), whatever the units, so tiny units are scaled.
        constant = std <= 1e-10 * np.abs(mean)
        X64 /= np.where(constant, 1.0, std)
    return X64


def _mean_shape(X: np.ndarray) -> np.ndarray:
    """The mean of the z-normalised series at each timestamp (0 where all are padding)."""
    Z = _z_normalise(X.copy())
    observed = ~np.isnan(Z)
    counts = observed.sum(axis=0)
    return np.where(observed, Z, 0.0).sum(axis=0) / np.maximum(counts, 1)


def _best_shifts(
    X: np.ndarray, lengths: np.ndarray, reference: np.ndarray, max_shift: int | None
) -> np.ndarray:
    """The lag of each series that maximises its cross-correlation with ``reference``.

    Lag ``s`` moves a series ``s`` timestamps later (earlier when negative).
    Allowed lags keep part of the series over the reference and within the
    series' own length, and at most ``max_shift`` either way; lag 0 wins
    ties, so a constant series stays where it is.
    """
    n_timestamps, n_reference = X.shape[1], reference.shape[0]
    size = fft.next_fast_len(n_timestamps + n_reference - 1, real=True)
    # Column j holds lag j up to the reference's length, and lag j - size after
    # it (the columns between, lags of no overlap, are never allowed).
    lags = np.arange(size)
    lags = np.where(lags < n_reference, lags, lags - size)
    spectrum = fft.rfft(reference, size, axis=0)
    shifts = np.empty(X.shape[0], dtype=np.int64)
    # Blocks of about a million spectrum values keep the temporaries small. The
    # series' spectra are computed again at each refinement of fit rather than
    # kept, which would hold n_samples * size complex values at once.
    step = max(1, 2**20 // (size * X.shape[2]))
    for start in range(0, X.shape[0], step):
        block = slice(start, start + step)
        Z = np.nan_to_num(_z_normalise(X[block].copy()))
        products = np.conj(fft.rfft(Z, size, axis=1)) * spectrum
        # correlation[i, s] = sum over t of x_i[t] * reference[t + s], for each lag s.
        correlation = fft.irfft(products.sum(axis=2), size, axis=1)
        length = lengths[block, None]
        allowed = (lags > -length) & (lags < np.minimum(length, n_reference))
        if max_shift is not None:
            allowed &= np.abs(lags) <= max_shift
        correlation = np.where(allowed, correlation, -np.inf)
        # Lag 0 (the first column) wins ties up to float noise; then the first best.
        best = correlation.max(axis=1, keepdims=True)
        near = correlation >= best - 1e-9 * np.maximum(np.abs(best), 1.0)
        shifts[block] = np.where(near[:, 0], 0, lags[near.argmax(axis=1)])
    return shifts


def _shift(X: np.ndarray, lengths: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Move series ``i`` ``shifts[i]`` timestamps within its own length; the gap takes its mean."""
    steps = np.arange(X.shape[1])
    source = steps - shifts[:, None]
    inside = steps < lengths[:, None]
    kept = inside & (source >= 0) & (source < lengths[:, None])
    moved = np.take_along_axis(X, np.clip(source, 0, X.shape[1] - 1)[:, :, None], axis=1)
    out = np.where(kept[:, :, None], moved, np.nanmean(X, axis=1, keepdims=True))
    out[~inside] = np.nan
    return out
