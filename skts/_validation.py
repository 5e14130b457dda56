"""The one place that turns user input into skts's canonical time-series array.

The canonical array is ``float32`` with shape ``(n_samples, n_timestamps,
n_channels)``. Series shorter than ``n_timestamps`` are padded with NaN at
their end; NaN anywhere else is missing data and is rejected. This module
knows nothing of torch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from scipy import sparse as sp
from sklearn.utils.validation import _check_feature_names, validate_data

from ._warnings import warn

__all__ = ["check_time_series", "series_lengths", "split_long_frame", "validate_time_series"]

_IMPUTE_HINT = (
    "Fill them first: put skts.TimeSeriesImputer() in front (it interpolates each "
    "series along time and keeps the padding)."
)
# The most values split_long_frame puts on a grid (800 MB as float64).
_MAX_GRID_VALUES = 10**8
# Column names that mark a DataFrame in long format (one row per observation).
_LONG_FORMAT_COLUMNS = frozenset(
    {"id", "series", "series_id", "time", "timestamp", "date", "datetime"}
)
_COLLECTION_FORMS = (
    "a list of 1-D (n_timestamps,) or 2-D (n_timestamps, n_channels) arrays, "
    "a 2-D array (n_samples, n_timestamps), a 3-D array "
    "(n_samples, n_timestamps, n_channels) (numpy, or a torch tensor on any device), a "
    "pandas or polars DataFrame with one series per row or a PyTorch Dataset of series"
)


def check_time_series(
    X: Any,
    *,
    name: str = "X",
    ensure_min_samples: int = 1,
    dtype: type = np.float32,
    allow_missing: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a collection of time series and return it in canonical form.

    Parameters
    ----------
    X : list of array-like, array-like of shape (n_samples, n_timestamps) or \
            (n_samples, n_timestamps, n_channels), pandas or polars DataFrame \
            or PyTorch Dataset
        The series. A list may hold series of different lengths, each of
        shape ``(n_timestamps_i,)`` or ``(n_timestamps_i, n_channels)``. A
        2-D array holds univariate series, one per row. A DataFrame holds one
        series per row: either one value per column, or (nested) one
        array-like per cell with the columns as channels (in polars, list
        columns). Rows with a
        several-level index are ambiguous (a series, or an observation as in
        sktime's panels) and raise an error that shows both readings. A
        map-style PyTorch ``Dataset`` (such as
        :class:`skts.datasets.TimeSeriesDataset` or ``TensorDataset``) holds
        one series per item, or per ``(input, target)`` pair, whose target is
        ignored. NaN at the end of a series marks padding.
    name : str, default="X"
        The name used for the input in error messages.
    ensure_min_samples : int, default=1
        The smallest number of series accepted.
    dtype : numpy dtype, default=np.float32
        The dtype of the returned array.
    allow_missing : bool, default=False
        Whether NaN may also lie inside a series (missing values), for
        estimators that fill or mask them. Timestamps at the end of a series
        where every channel is NaN stay padding.

    Returns
    -------
    X_out : ndarray of shape (n_samples, n_timestamps, n_channels)
        The series, NaN-padded to the longest one, in C order.
    lengths : ndarray of shape (n_samples,)
        The number of timestamps of each series before its padding.

    Raises
    ------
    TypeError
        For sparse, non-numeric or otherwise unsupported input types.
    ValueError
        For empty input, series of length 0, inconsistent channel counts,
        infinite values, NaN between observed values, complex values, arrays
        of more than 3 dimensions, or ragged series whose rows are constant
        while their columns vary (channels first).

    Warns
    -----
    UserWarning
        When the series have more channels than timestamps: that is how
        channels-first data looks, but also short windows of many channels,
        so the input is used as given.

    Examples
    --------
    >>> import numpy as np
    >>> from skts._validation import check_time_series
    >>> X, lengths = check_time_series([np.arange(3.0), np.arange(5.0)])
    >>> X.shape, lengths.tolist()
    ((2, 5, 1), [3, 5])
    """
    if X is None:
        raise TypeError(f"Expected {name} to be {_COLLECTION_FORMS}; got None.")
    if sp.issparse(X):
        raise TypeError(
            f"Sparse input is not supported: {name} is a {type(X).__name__}. Time series "
            f"are dense; convert it with {name}.toarray()."
        )
    if isinstance(X, (str, bytes, dict, numbers.Number)):
        raise TypeError(f"Expected {name} to be {_COLLECTION_FORMS}; got {type(X).__name__}.")
    if isinstance(X, Iterator):  # read once, so it could not be read again at predict
        raise TypeError(
            f"Expected {name} to be {_COLLECTION_FORMS}; got a {type(X).__name__}, which can be "
            f"read only once. Pass a list of its series: list({name})."
        )
    if _is_nested_polars_frame(X):
        X_out = _pad(_series_from_rows(X.rows(), name), name, dtype)
    elif _is_dataframe(X):
        _reject_multiindex_rows(X, name)
        if _is_nested_frame(X):
            rows = (X.iloc[i] for i in range(X.shape[0]))
            X_out = _pad(_series_from_rows(rows, name), name, dtype)
        else:
            X_out = _array_path(_wide_frame_values(X, name), name, dtype)
    elif _is_torch_class(X, "Dataset"):
        X_out = _pad(_series_from_sequence(_dataset_inputs(X, name), name), name, dtype)
    elif _is_torch_class(X, "DataLoader"):
        raise TypeError(
            f"Expected {name} to be {_COLLECTION_FORMS}; got a DataLoader. Pass its dataset "
            f"({name}.dataset): skts batches the series itself (batch_size)."
        )
    elif _is_sequence_collection(X):
        X_out = _pad(_series_from_sequence(X, name), name, dtype)
    else:
        X_out = _array_path(X, name, dtype)
    n_samples = X_out.shape[0]
    if n_samples < ensure_min_samples:
        raise ValueError(
            f"n_samples={n_samples} should be >= {ensure_min_samples}: {name} holds "
            f"{n_samples} series but at least {ensure_min_samples} are required."
        )
    if allow_missing:
        return X_out, _padding_starts(X_out, name)
    return X_out, series_lengths(X_out, name=name)


def split_long_frame(
    frame: Any,
    *,
    id_column: Any,
    time_column: Any = None,
    value_columns: Any = None,
    frequency: Any = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Split a DataFrame in long format (one row per observation) into its series.

    Sensor logs, event tables and database exports often hold many series in
    one table: a column names the series, another orders its rows, the
    others hold the values. This returns them as the ragged list that every
    skts estimator takes.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per timestamp of one series.
    id_column : column label
        The column that names the series the row belongs to.
    time_column : column label, default=None
        The column that orders the rows of a series (numbers, dates or
        anything pandas sorts); None keeps the rows in the frame's order. Two
        rows of one series may not share a time. Without ``frequency`` the
        rows are read as consecutive timestamps, whatever their times.
        Missing values (NaN) are kept; :class:`~skts.TimeSeriesImputer`
        fills them.
    value_columns : column label or list of column labels, default=None
        The channels; None takes every column but ``id_column`` and
        ``time_column``, which must then all be numeric.
    frequency : str, pandas.Timedelta or float, default=None
        The step of a regular grid for irregularly sampled series: a
        duration such as ``"5min"`` for a column of dates or durations, a
        positive number for a numeric time column. Each series starts at its
        first time; the rows that fall into one step are averaged, and a
        step without rows is NaN (missing, for
        :class:`~skts.TimeSeriesImputer` to fill). Needs ``time_column``.

    Returns
    -------
    series : list of ndarray
        One array per series, of shape ``(n_timestamps_i,)`` for one value
        column and ``(n_timestamps_i, n_channels)`` for several, in the order
        in which the series first appear in ``frame``.
    ids : ndarray of shape (n_series,)
        The ``id_column`` value of each series.

    Raises
    ------
    TypeError
        When ``frame`` is not a DataFrame, or a value column is not numeric.
    ValueError
        For an empty frame, a column that ``frame`` lacks, missing ids or
        times, or two rows of one series at the same time.

    Examples
    --------
    >>> import pandas as pd
    >>> from skts import PaddingTransformer, split_long_frame
    >>> logs = pd.DataFrame({
    ...     "machine": ["a", "b", "a", "b", "a"],
    ...     "minute": [2, 1, 1, 2, 3],
    ...     "temperature": [20.5, 30.0, 20.0, 31.0, 21.0],
    ... })
    >>> series, ids = split_long_frame(logs, id_column="machine", time_column="minute")
    >>> ids.tolist(), [s.tolist() for s in series]
    (['a', 'b'], [[20.0, 20.5, 21.0], [30.0, 31.0]])
    >>> PaddingTransformer().fit_transform(series).shape
    (2, 3, 1)

    Irregular times, put on a grid of 1 (the step 2 of machine a has no row):

    >>> logs["minute"] = [3.5, 1.0, 1.2, 2.0, 3.9]
    >>> series, _ = split_long_frame(logs, id_column="machine", time_column="minute", frequency=1)
    >>> [s.tolist() for s in series]
    [[20.0, nan, 20.75], [30.0, 31.0]]
    """
    if not _is_dataframe(frame):
        raise TypeError(
            f"Expected a pandas DataFrame in long format (one row per observation); "
            f"got {type(frame).__name__}. A collection of separate series needs no splitting: "
            f"pass it to the estimators as it is."
        )
    if frame.shape[0] == 0:
        raise ValueError("Found 0 rows: the frame holds no observation, so no series.")
    keys = [id_column] + ([] if time_column is None else [time_column])
    if value_columns is None:
        value_columns = [c for c in frame.columns if c not in keys]
    elif not isinstance(value_columns, (list, tuple)):
        value_columns = [value_columns]
    missing = [c for c in keys + list(value_columns) if c not in frame.columns]
    if missing or not value_columns:
        raise ValueError(
            f"Expected id, time and value columns of the frame, which has columns "
            f"{list(frame.columns)}; "
            + (f"it lacks {missing}." if missing else "no column is left for the values.")
        )
    for key in keys:
        if frame[key].isna().any():
            raise ValueError(
                f"Column {key!r} has missing values (row {int(frame[key].isna().argmax())}): "
                "every row needs the series it belongs to and its time."
            )
    codes, ids = frame[id_column].factorize()
    codes = np.asarray(codes)
    if frequency is not None:
        if time_column is None:
            raise ValueError(
                "frequency puts each series on a regular grid of its times: give time_column too."
            )
        return _on_grid(frame, codes, time_column, list(value_columns), frequency), np.asarray(ids)
    if time_column is None:
        order = np.argsort(codes, kind="stable")
    else:
        # Ranks sort any type pandas can order (numbers, dates, strings).
        times = frame[time_column].rank(method="dense").to_numpy()
        order = np.lexsort((times, codes))
        repeated = (np.diff(codes[order]) == 0) & (np.diff(times[order]) == 0)
        if repeated.any():
            row = order[int(np.argmax(repeated)) + 1]
            key, time = (_python(frame[c].iloc[row]) for c in (id_column, time_column))
            raise ValueError(
                f"Series {key!r} has two rows at time {time!r}: each series needs one row per time. "
                "Aggregate them first (DataFrame.groupby(...).mean()), or give frequency to "
                "average the rows of each step of a regular grid."
            )
    values = _long_values(frame, value_columns)[order]
    bounds = np.cumsum(np.bincount(codes, minlength=len(ids)))[:-1]
    return np.split(values, bounds), np.asarray(ids)


def _long_values(frame: Any, value_columns: list[Any]) -> np.ndarray:
    """The value columns of a long frame as floats: 1-D for one column, 2-D for several."""
    try:
        values = _frame_values(frame[list(value_columns)], "of values")
    except TypeError as exc:
        raise TypeError(f"{exc} Name the value columns with value_columns=[...].") from None
    return values[:, 0] if len(value_columns) == 1 else values


def _on_grid(
    frame: Any, codes: np.ndarray, time_column: Any, value_columns: list[Any], frequency: Any
) -> list[np.ndarray]:
    """Each series averaged over the steps of a regular grid from its first time (NaN: no row)."""
    import pandas as pd  # frame is a DataFrame, so pandas is there

    times = frame[time_column]
    step: Any  # a number of time units, or a pandas Timedelta
    if times.dtype.kind in "iuf":
        try:
            step = float(frequency)
        except (TypeError, ValueError):
            step = math.nan
        if not step > 0 or math.isinf(step):
            raise ValueError(
                f"Expected frequency to be a positive number for the numeric time column "
                f"{time_column!r}; got {frequency!r}."
            )
    elif times.dtype.kind in "mM":
        try:  # a bare number would be read as nanoseconds
            number = isinstance(frequency, numbers.Number) and not isinstance(
                frequency, np.timedelta64
            )
            step = None if number else pd.Timedelta(frequency)
            valid = step is not None and step > pd.Timedelta(0)
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise ValueError(
                f"Expected frequency to be a positive duration such as '5min' or "
                f"pd.Timedelta(seconds=30) for the time column {time_column!r} of dtype "
                f"{times.dtype}; got {frequency!r}."
            )
    else:
        raise TypeError(
            f"frequency needs times that are numbers, dates or durations; column "
            f"{time_column!r} has dtype {times.dtype}. Convert it first, for example with "
            "pandas.to_datetime."
        )
    elapsed = (times - times.groupby(codes).transform("min")) / step
    # Rounding first keeps a time that lies on a step (0.3 / 0.1) in that step.
    steps = np.floor(np.round(elapsed.to_numpy(dtype=np.float64), 9)).astype(np.int64)
    values = _long_values(frame, value_columns)
    last = np.zeros(codes.max() + 1, dtype=np.int64)
    np.maximum.at(last, codes, steps)
    total = int((last + 1).sum())
    if total * len(value_columns) > _MAX_GRID_VALUES:
        raise ValueError(
            f"frequency={frequency!r} puts the series on {total} steps in all, for "
            f"{len(frame)} rows: choose a longer step."
        )
    means = pd.DataFrame(values).groupby([codes, steps], sort=True).mean()
    series_of, step_of = (means.index.get_level_values(i).to_numpy() for i in (0, 1))
    averaged = means.to_numpy()
    averaged = averaged[:, 0] if values.ndim == 1 else averaged
    bounds = np.flatnonzero(np.diff(series_of)) + 1
    series = []
    for at, rows in zip(np.split(step_of, bounds), np.split(averaged, bounds)):
        grid = np.full((at[-1] + 1,) + rows.shape[1:], np.nan)
        grid[at] = rows
        series.append(grid)
    return series


def _python(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (for messages); other values as they are."""
    return value.item() if isinstance(value, np.generic) else value


def series_lengths(X: np.ndarray, *, name: str = "X") -> np.ndarray:
    """Return the number of observed timestamps of each series of a padded array.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_timestamps, n_channels)
        A NaN-padded array.
    name : str, default="X"
        The name used for the input in error messages.

    Returns
    -------
    lengths : ndarray of shape (n_samples,)
        Series ``i`` is observed on ``X[i, :lengths[i]]`` and NaN after it.

    Raises
    ------
    ValueError
        When a series is entirely NaN, when only some channels are NaN at a
        timestamp, or when NaN lies before an observed value (missing data).
    """
    n_samples, n_timestamps, _ = X.shape
    nan = np.isnan(X)
    if not nan.any():
        return np.full(n_samples, n_timestamps, dtype=np.int64)
    step_nan = nan.all(axis=2)
    partial = nan.any(axis=2) & ~step_nan
    if partial.any():
        i, t = np.argwhere(partial)[0]
        raise ValueError(
            f"{name} has missing values: sample {i} is NaN in some channels but not in "
            f"others at timestamp {t}. NaN may only pad whole timestamps. {_IMPUTE_HINT}"
        )
    observed = ~step_nan
    lengths = observed.sum(axis=1)
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        raise ValueError(
            f"Sample {empty[0]} of {name} has length 0: all its values are NaN. "
            "Every series needs at least one observed timestamp; drop empty series first."
        )
    # Trailing padding means the last observed timestamp is lengths - 1.
    last = n_timestamps - 1 - observed[:, ::-1].argmax(axis=1)
    gaps = np.flatnonzero(last != lengths - 1)
    if gaps.size:
        i = gaps[0]
        t = np.flatnonzero(step_nan[i])[0]
        first = observed.argmax(axis=1)
        if np.all((last[gaps] == n_timestamps - 1) & (n_timestamps - first[gaps] == lengths[gaps])):
            # NaN only before one observed stretch that runs to the end.
            where = "timestamp 0" if first[i] == 1 else f"timestamps 0 to {first[i] - 1}"
            raise ValueError(
                f"{name} has NaN before observed values, as in padding at the start: sample "
                f"{i} is NaN at {where}. skts reads NaN only as padding "
                "at the end of a series. If PaddingTransformer(padding='pre') padded them, use "
                "padding='post' (the default) in front of skts's estimators; if these are "
                f"missing values, {_IMPUTE_HINT[0].lower()}{_IMPUTE_HINT[1:]}"
            )
        raise ValueError(
            f"{name} has missing values: sample {i} is NaN at timestamp {t}, before "
            "observed values. skts reads NaN only as padding at the end of a series. "
            f"{_IMPUTE_HINT}"
        )
    return lengths.astype(np.int64)


def _padding_starts(X: np.ndarray, name: str) -> np.ndarray:
    """The length of each series before its trailing padding, NaN inside it allowed."""
    observed = ~np.isnan(X).all(axis=2)
    empty = np.flatnonzero(~observed.any(axis=1))
    if empty.size:
        raise ValueError(
            f"Sample {empty[0]} of {name} has length 0: all its values are NaN. "
            "Every series needs at least one observed timestamp; drop empty series first."
        )
    return (X.shape[1] - observed[:, ::-1].argmax(axis=1)).astype(np.int64)


def validate_time_series(
    estimator: Any,
    X: Any,
    *,
    reset: bool,
    fixed_length: bool,
    ensure_min_samples: int = 1,
    allow_missing: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``X`` for an estimator and record or check what it saw in fit.

    With ``reset=True`` this sets ``n_features_in_`` (the number of
    timestamps of the padded array), ``feature_names_in_`` (for a DataFrame
    with one value per column) and ``n_channels_``. With ``reset=False`` it
    checks the channels and the feature names against them, and the number
    of timestamps too when ``fixed_length`` is true. Series given one by one
    (a list, a nested DataFrame) are padded with NaN to ``n_features_in_``
    timestamps when the longest of them is shorter, as they would have been
    in fit; an array or a flat DataFrame must have that many timestamps.

    Parameters
    ----------
    estimator : estimator instance
        The estimator that receives ``X``.
    X : object
        Any input accepted by :func:`check_time_series`.
    reset : bool
        Whether this call fits (records) or predicts (checks).
    fixed_length : bool
        Whether the estimator needs the number of timestamps seen in fit.
    ensure_min_samples : int, default=1
        The smallest number of series accepted.
    allow_missing : bool, default=False
        Whether NaN may lie inside a series (see :func:`check_time_series`).

    Returns
    -------
    X_out : ndarray of shape (n_samples, n_timestamps, n_channels)
        The canonical array.
    lengths : ndarray of shape (n_samples,)
        The number of observed timestamps of each series.
    """
    X_out, lengths = check_time_series(
        X, ensure_min_samples=ensure_min_samples, allow_missing=allow_missing
    )
    frame = _is_dataframe(X)
    ragged = (
        _is_nested_frame(X) if frame else _is_sequence_collection(X) or _is_nested_polars_frame(X)
    )
    if fixed_length and ragged and not reset and X_out.shape[1] < estimator.n_features_in_:
        # Series given one by one are padded to the longest of the batch, an
        # accident of the batch: pad them as in fit. An array's width is kept.
        pad = estimator.n_features_in_ - X_out.shape[1]
        X_out = np.pad(X_out, ((0, 0), (0, pad), (0, 0)), constant_values=np.nan)
    # A DataFrame with one value per column carries feature names; otherwise
    # the canonical array stands for the input.
    reference = X if frame and not ragged else X_out
    name = type(estimator).__name__
    if reset or fixed_length:
        try:
            validate_data(estimator, reference, reset=reset, skip_check_array=True)
        except ValueError as exc:
            if "features as input" not in str(exc):
                raise
            raise ValueError(
                f"{exc} Here a feature is a timestamp: {name} needs arrays padded or "
                f"truncated to {estimator.n_features_in_} timestamps, as in fit (a list of "
                "series is padded, not truncated). Put PaddingTransformer() before "
                f"{name} in a Pipeline to do this for series of any length."
            ) from None
    else:
        _check_feature_names(estimator, reference, reset=False)
    n_channels = X_out.shape[2]
    if reset:
        estimator.n_channels_ = n_channels
    elif n_channels != estimator.n_channels_:
        raise ValueError(
            f"Expected series with {estimator.n_channels_} channels (as seen in fit), got "
            f"{n_channels}: {name} was fitted on {estimator.n_channels_}-channel series."
        )
    return X_out, lengths


# --------------------------------------------------------------------------
# Input forms
# --------------------------------------------------------------------------


def _is_dataframe(X: Any) -> bool:
    return hasattr(X, "iloc") and hasattr(X, "columns")


def _reject_multiindex_rows(X: Any, name: str) -> None:
    """A DataFrame whose rows have several index levels is ambiguous: say how to read it."""
    if X.index.nlevels < 2:
        return
    levels = [n if n is not None else f"level_{i}" for i, n in enumerate(X.index.names)]
    raise ValueError(
        f"The rows of the DataFrame {name} have a {X.index.nlevels}-level index {levels}, "
        "so skts cannot tell what a row is. If each row is an observation of the series "
        f"that the first level names (sktime's panel format), pass "
        f"split_long_frame({name}.reset_index(), id_column={levels[0]!r}, "
        f"time_column={levels[1]!r})[0]; if each row is a whole series, pass "
        f"{name}.reset_index(drop=True)."
    )


def _is_nested_frame(X: Any) -> bool:
    """A DataFrame whose cells hold whole series (one column per channel)."""
    if X.shape[0] == 0 or X.shape[1] == 0:
        return False
    first = X.iloc[0, 0]
    return hasattr(first, "__len__") and not isinstance(first, (str, bytes))


def _is_nested_polars_frame(X: Any) -> bool:
    """A polars DataFrame with list columns: one series per row, one channel per column."""
    if type(X).__module__.partition(".")[0] != "polars" or not hasattr(X, "rows"):
        return False
    return X.width > 0 and any(dtype.is_nested() for dtype in X.dtypes)


def _is_sequence_collection(X: Any) -> bool:
    """Whether ``X`` is a Python or pandas sequence of separate series."""
    if hasattr(X, "iloc"):  # pandas Series: one series per element
        return True
    if isinstance(X, np.ndarray):
        return X.dtype == object and X.ndim == 1 and X.size > 0 and _is_arraylike(X[0])
    # Every list is read series by series, so ragged and regular lists of
    # lists take the same path.
    return isinstance(X, (list, tuple))


def _is_torch_class(X: Any, class_name: str) -> bool:
    """Whether ``X`` is a ``torch.utils.data.<class_name>``, known by its classes' names.

    This module does not import torch.
    """
    return any(
        c.__name__ == class_name and c.__module__.startswith("torch.utils.data")
        for c in type(X).__mro__
    )


def _dataset_inputs(X: Any, name: str) -> list[Any]:
    """The series of a map-style PyTorch dataset: each item, or its input for an (input, target) pair."""
    try:
        n_items = len(X)
    except TypeError:
        raise TypeError(
            f"{name} is a PyTorch dataset without a length (an IterableDataset); pass its "
            "series as a list instead, for example [x for x, _ in dataset]."
        ) from None
    items = [X[i] for i in range(n_items)]
    return [item[0] if isinstance(item, tuple) else item for item in items]


def _is_arraylike(x: Any) -> bool:
    return hasattr(x, "__len__") and not isinstance(x, (str, bytes, dict))


def _wide_frame_values(X: Any, name: str) -> np.ndarray:
    """The values of a DataFrame read as one series per row, its columns being timestamps.

    A DataFrame in long format (one row per observation, with id and time
    columns) would be read as many short series: a text or date column is
    an error and a column named like an id or a time a warning, each
    naming :func:`split_long_frame`.
    """
    hint = (
        f" If each row of {name} is one observation (long format), split it into its "
        f"series first: skts.split_long_frame({name}, id_column=..., time_column=...)[0]."
    )
    try:
        values = _frame_values(X, name)
    except TypeError as exc:
        raise TypeError(f"{exc}{hint}") from None
    named = _long_format_columns(X.columns)
    if named:
        warn(
            f"The DataFrame {name} has a column named {named[0]!r}, but a DataFrame is read "
            f"as one series per row, each column a timestamp.{hint}",
            UserWarning,
        )
    return values


def _long_format_columns(columns: Iterable[Any]) -> list[str]:
    """The column names that a table in long format would have: an id, a time."""
    return [c for c in columns if isinstance(c, str) and c.lower() in _LONG_FORMAT_COLUMNS]


def _frame_values(X: Any, name: str) -> np.ndarray:
    non_numeric = [c for c, kind in zip(X.columns, X.dtypes) if not _numeric_dtype(kind)]
    if non_numeric:
        raise TypeError(
            f"Expected numeric values in every column of the DataFrame {name}; "
            f"column {non_numeric[0]!r} has dtype {X.dtypes[non_numeric[0]]}."
        )
    return X.to_numpy(dtype=np.float64, na_value=np.nan)


def _numeric_dtype(dtype: Any) -> bool:
    kind = getattr(dtype, "kind", None)
    return kind in ("b", "i", "u", "f")


def _series_from_rows(rows: Iterable[Sequence[Any]], name: str) -> list[np.ndarray]:
    """The series of a nested DataFrame's rows, each cell one channel of the row's series."""
    series = []
    for i, row in enumerate(rows):
        channels = [_to_numeric(np.asarray(cell), f"{name} row {i}") for cell in row]
        lengths = {c.shape[0] if c.ndim else -1 for c in channels}
        if any(c.ndim != 1 for c in channels):
            raise ValueError(
                f"Expected each cell of the nested DataFrame {name} to hold one 1-D series; "
                f"row {i} holds arrays of shapes {[c.shape for c in channels]}."
            )
        if len(lengths) > 1:
            raise ValueError(
                f"The channels of sample {i} of {name} have different lengths "
                f"{sorted(lengths)}; the channels of one series must share its timestamps."
            )
        series.append(np.stack(channels, axis=1))
    return _check_series_list(series, name)


def _series_from_sequence(X: Any, name: str) -> list[np.ndarray]:
    items = list(X.to_numpy() if hasattr(X, "to_numpy") else X)
    if len(items) == 0:
        raise ValueError(
            f"Found 0 sample(s): {name} is an empty collection, while at least one "
            "series is required."
        )
    if all(isinstance(x, numbers.Number) for x in items):
        raise ValueError(
            f"Expected {name} to be a collection of series, got a flat sequence of "
            f"{len(items)} numbers. Wrap a single series in a list ([x]), or pass "
            "np.reshape(x, (-1, 1)) for many series of length 1."
        )
    series = []
    for i, item in enumerate(items):
        if hasattr(item, "to_numpy"):
            item = item.to_numpy()
        if sp.issparse(item):
            raise TypeError(
                f"Sparse input is not supported: sample {i} of {name} is a "
                f"{type(item).__name__}; convert it with .toarray()."
            )
        if isinstance(item, (str, bytes, dict)) or item is None:
            raise TypeError(
                f"Expected sample {i} of {name} to be an array of numbers, "
                f"got {type(item).__name__}."
            )
        if isinstance(item, numbers.Number):
            raise TypeError(
                f"Expected sample {i} of {name} to be a series (an array), got the number "
                f"{item!r}. Mixed lists of numbers and series are not collections."
            )
        try:
            arr = np.asarray(_from_tensor(item))
        except ValueError as exc:
            raise ValueError(f"Sample {i} of {name} could not be read as an array: {exc}") from None
        arr = _to_numeric(arr, f"sample {i} of {name}")
        if arr.ndim == 1:
            arr = arr[:, None]
        elif arr.ndim != 2:
            raise ValueError(
                f"Expected sample {i} of {name} to have shape (n_timestamps,) or "
                f"(n_timestamps, n_channels), got an array of shape {arr.shape}."
            )
        series.append(arr)
    return _check_series_list(series, name)


def _check_series_list(series: list[np.ndarray], name: str) -> list[np.ndarray]:
    shapes = np.array([s.shape for s in series])
    if (
        len(series) > 1
        and np.unique(shapes[:, 0]).size == 1
        and np.unique(shapes[:, 1]).size > 1
        and shapes[0, 0] < shapes[:, 1].max()
    ):
        raise ValueError(
            f"The axes of the series in {name} look swapped: every series has "
            f"{shapes[0, 0]} rows while the number of columns varies "
            f"({shapes[:, 1].min()} to {shapes[:, 1].max()}). Expected each series as "
            "(n_timestamps, n_channels), channels last; transpose channels-first series "
            "with x.T."
        )
    for i, s in enumerate(series):
        if s.shape[0] == 0:
            raise ValueError(
                f"Sample {i} of {name} has length 0; every series needs at least one timestamp."
            )
    n_channels = series[0].shape[1]
    for i, s in enumerate(series):
        if s.shape[1] != n_channels:
            raise ValueError(
                f"Expected series with {n_channels} channels (as in sample 0), got "
                f"{s.shape[1]} in sample {i} of {name}. All series must have the same "
                "channels, on the last axis: (n_timestamps, n_channels)."
            )
    lengths = np.array([s.shape[0] for s in series])
    if n_channels > lengths.max():
        _warn_swapped(
            f"the series in {name} have {n_channels} channels but at most {lengths.max()} "
            "timestamps",
            "transpose channels-first series with x.T",
        )
    return series


def _warn_swapped(what: str, fix: str) -> None:
    """More channels than timestamps: usually channels first, sometimes short windows."""
    warn(
        f"The axes may be swapped: {what}. skts expects (n_timestamps, n_channels), channels "
        f"last, and uses the input as given; if it is channels first, {fix}.",
        UserWarning,
    )


def _to_numeric(arr: np.ndarray, what: str) -> np.ndarray:
    kind = arr.dtype.kind
    if kind == "c":
        raise ValueError(f"Complex data not supported: {what} has dtype {arr.dtype}.")
    if kind in ("U", "S"):
        raise TypeError(
            f"Expected numeric values in {what}, got strings (dtype {arr.dtype}). "
            "Convert them to numbers first."
        )
    if kind in ("M", "m"):
        raise TypeError(
            f"Expected numeric values in {what}, got dates or durations (dtype {arr.dtype})."
        )
    if kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"Expected numeric values in {what}; converting its objects to float failed: {exc}"
            ) from None
    elif kind not in ("b", "i", "u", "f"):
        raise TypeError(f"Expected numeric values in {what}, got dtype {arr.dtype}.")
    return arr


def _from_tensor(x: Any) -> Any:
    """A torch tensor (on any device, requiring grad or not) as numpy; anything else as is.

    Duck-typed, so this module needs no torch.
    """
    if not (hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy")):
        return x
    x = x.detach().cpu()
    try:
        return x.numpy()
    except TypeError:  # dtypes numpy lacks, such as bfloat16
        return x.float().numpy()


def _array_path(X: Any, name: str, dtype: type) -> np.ndarray:
    try:
        arr = np.asarray(_from_tensor(X))
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} could not be read as an array: {exc}") from None
    if arr.ndim == 1 and arr.dtype == object:
        return _pad(_series_from_sequence(arr, name), name, dtype)
    arr = _to_numeric(arr, name)
    if arr.ndim < 2:
        raise ValueError(
            f"Expected {name} to be {_COLLECTION_FORMS}; got a {arr.ndim}-D array of shape "
            f"{arr.shape}. Reshape your data: x.reshape(1, -1) for a single series, or "
            "x.reshape(-1, 1) for many series of length 1."
        )
    if arr.ndim > 3:
        raise ValueError(
            f"Expected {name} to be a 2-D (n_samples, n_timestamps) or 3-D "
            f"(n_samples, n_timestamps, n_channels) array; got a {arr.ndim}-D array of "
            f"shape {arr.shape}."
        )
    if arr.shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is "
            f"required: {name} holds no series."
        )
    if arr.shape[1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
            "required: every series needs at least one timestamp."
        )
    if arr.ndim == 3:
        if arr.shape[2] == 0:
            raise ValueError(
                f"Found array with 0 channels (shape={arr.shape}) while a minimum of 1 is required."
            )
        if arr.shape[2] > arr.shape[1]:
            _warn_swapped(
                f"{name} has shape {arr.shape}, that is {arr.shape[1]} timestamps and "
                f"{arr.shape[2]} channels",
                f"pass np.swapaxes({name}, 1, 2)",
            )
    else:
        arr = arr[:, :, None]
    with np.errstate(over="ignore"):  # overflow is reported as infinity below
        # C order: views with negative or odd strides (X[::-1]) cannot become tensors.
        out: np.ndarray = np.ascontiguousarray(arr, dtype=dtype)
    _check_finite(out, name)
    return out


def _check_finite(arr: np.ndarray, name: str) -> None:
    inf = np.isinf(arr)
    if inf.any():
        i, t, c = np.argwhere(inf)[0]
        raise ValueError(
            f"{name} contains infinity or a value too large for dtype('{arr.dtype}'): "
            f"sample {i}, timestamp {t}, channel {c}. Replace or clip such values first."
        )


def _pad(series: list[np.ndarray], name: str, dtype: type) -> np.ndarray:
    n_timestamps = max(s.shape[0] for s in series)
    out = np.full((len(series), n_timestamps, series[0].shape[1]), np.nan, dtype=dtype)
    with np.errstate(over="ignore"):  # overflow is reported as infinity below
        for i, s in enumerate(series):
            out[i, : s.shape[0]] = s
    _check_finite(out, name)
    return out
