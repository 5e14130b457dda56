import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from skts import PaddingTransformer, check_time_series, split_long_frame


def test_list_of_1d_series_is_padded_with_trailing_nan(ragged_univariate):
    X, lengths = check_time_series(ragged_univariate)
    assert X.shape == (5, 8, 1) and X.dtype == np.float32
    assert lengths.tolist() == [5, 8, 3, 8, 6]
    for x, series, n in zip(X, ragged_univariate, lengths):
        np.testing.assert_array_equal(x[:n, 0], series)
        assert np.isnan(x[n:]).all()


def test_list_of_2d_series_keeps_channels(ragged_multivariate):
    X, lengths = check_time_series(ragged_multivariate)
    assert X.shape == (4, 9, 3)
    np.testing.assert_array_equal(X[1, :4], ragged_multivariate[1])


@pytest.mark.parametrize(
    "X, shape",
    [
        (np.zeros((4, 6)), (4, 6, 1)),
        (np.zeros((4, 6, 2)), (4, 6, 2)),
        (np.zeros((4, 6), dtype=int), (4, 6, 1)),
        ([[1, 2, 3], [4, 5]], (2, 3, 1)),
        (pd.DataFrame(np.zeros((3, 5))), (3, 5, 1)),
        (pd.Series([np.zeros(2), np.zeros(4)]), (2, 4, 1)),
        (np.array([np.zeros(2), np.zeros(3)], dtype=object), (2, 3, 1)),
        (np.zeros((4, 6)).astype(object), (4, 6, 1)),
        ([pd.Series([1.0, 2.0]), pd.Series([3.0])], (2, 2, 1)),  # a list of pandas Series
        ([pd.DataFrame(np.zeros((3, 2))), np.zeros((2, 2))], (2, 3, 2)),  # frames as series
    ],
)
def test_accepted_forms(X, shape):
    X_out, _ = check_time_series(X)
    assert X_out.shape == shape
    assert X_out.dtype == np.float32


def test_torch_tensors_are_read_whatever_their_grad_and_dtype():
    torch = pytest.importorskip("torch")
    values = torch.arange(12.0).reshape(2, 3, 2)
    for X in (values.requires_grad_(), values.to(torch.bfloat16)):
        X_out, _ = check_time_series(X)
        assert X_out.dtype == np.float32
        np.testing.assert_array_equal(X_out, np.arange(12.0).reshape(2, 3, 2))
    series = [torch.ones(2, requires_grad=True), torch.zeros(3, dtype=torch.bfloat16)]
    X_out, lengths = check_time_series(series)
    assert X_out.shape == (2, 3, 1) and lengths.tolist() == [2, 3]


def test_a_data_loader_is_refused_with_its_dataset_named():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    dataset = TensorDataset(torch.randn(4, 10, 2))
    with pytest.raises(TypeError, match=r"got a DataLoader. Pass its dataset \(X.dataset\)"):
        check_time_series(DataLoader(dataset, batch_size=2))
    assert check_time_series(dataset)[0].shape == (4, 10, 2)


def test_nan_padded_array_gives_lengths():
    X = np.array([[1.0, 2.0, np.nan], [1.0, 2.0, 3.0]])
    _, lengths = check_time_series(X)
    assert lengths.tolist() == [2, 3]


def test_nested_dataframe_columns_are_channels():
    df = pd.DataFrame(
        {
            "a": [pd.Series([1.0, 2.0]), pd.Series([1.0, 2.0, 3.0])],
            "b": [pd.Series([3.0, 4.0]), pd.Series([4.0, 5.0, 6.0])],
        }
    )
    X, lengths = check_time_series(df)
    assert X.shape == (2, 3, 2)
    assert lengths.tolist() == [2, 3]
    np.testing.assert_array_equal(X[0, :2], [[1, 3], [2, 4]])


def test_polars_list_columns_are_channels_and_series_stay_ragged():
    # polars holds ragged series in list columns; they were refused
    # ("converting its objects to float failed").
    pl = pytest.importorskip("polars")
    from skts import NeuralNetClusterer

    frame = pl.DataFrame({"a": [[1.0, 2.0], [1.0, 2.0, 3.0]], "b": [[3, 4], [4, 5, 6]]})
    X, lengths = check_time_series(frame)
    assert X.shape == (2, 3, 2) and lengths.tolist() == [2, 3]
    np.testing.assert_array_equal(X[0, :2], [[1, 3], [2, 4]])
    with pytest.raises(ValueError, match="channels of sample 0 of X have different lengths"):
        check_time_series(pl.DataFrame({"a": [[1.0, 2.0]], "b": [[3.0]]}))
    # A fitted clusterer pads a shorter polars batch as it pads a list.
    model = NeuralNetClusterer(2, max_epochs=1, random_state=0).fit(frame)
    one = pl.DataFrame({"a": [[1.0, 2.0]], "b": [[3.0, 4.0]]})
    assert model.predict(one).tolist() == model.predict([X[0, :2]]).tolist()
    # A flat frame is still one series per row.
    assert check_time_series(pl.DataFrame(np.zeros((4, 6))))[0].shape == (4, 6, 1)


BAD_INPUTS = [
    ([], ValueError, "empty collection"),
    (np.zeros((0, 5)), ValueError, "0 sample"),
    ([np.zeros(3), np.zeros(0)], ValueError, "Sample 1 of X has length 0"),
    (np.zeros((3, 0)), ValueError, "0 feature"),
    (np.full((2, 3), np.nan), ValueError, "has length 0: all its values are NaN"),
    (
        [np.zeros((4, 2)), np.zeros((4, 3))],
        ValueError,
        "Expected series with 2 channels .* got 3 in sample 1",
    ),
    (np.array([[1.0, np.inf]]), ValueError, "infinity"),
    (np.array([[1e300, 1.0]]), ValueError, "too large"),
    (
        np.array([[1.0, np.nan, 2.0]]),
        ValueError,
        "NaN at timestamp 1, before observed values.*TimeSeriesImputer",
    ),
    (np.array([[np.nan, 1.0]]), ValueError, "padding at the start.*padding='post'"),
    (np.array([[np.nan, 1.0, 2.0], [1.0, np.nan, 2.0]]), ValueError, "missing values"),
    (np.array([[[1.0, np.nan], [1.0, 2.0]]]), ValueError, "NaN in some channels"),
    ([[1.0, 2.0], ["a", "b"]], TypeError, "strings"),
    (np.array([["a", "b"]]), TypeError, "strings"),
    (
        np.array([[{"a": 1}, 2.0]], dtype=object),
        TypeError,
        "argument must be a string or a real number",
    ),
    (np.zeros((2, 3, 4, 5)), ValueError, "got a 4-D array"),
    (np.zeros((2, 3)) + 1j, ValueError, "Complex data not supported"),
    (sp.csr_matrix(np.eye(3)), TypeError, "Sparse input is not supported"),
    ([np.zeros((3, 50)), np.zeros((3, 60))], ValueError, "look swapped"),
    (np.zeros(5), ValueError, "got a 1-D array of shape \\(5,\\)"),
    ([1.0, 2.0, 3.0], ValueError, "flat sequence of 3 numbers"),
    (None, TypeError, "got None"),
    ("series", TypeError, "got str"),
    (pd.DataFrame({"a": ["x", "y"]}), TypeError, "column 'a'"),
    ([np.zeros((2, 2, 2))], ValueError, "sample 0 of X to have shape"),
    ((np.zeros(n) for n in (3, 4)), TypeError, "read only once. Pass a list of its series"),
    (map(np.zeros, (3, 4)), TypeError, "got a map"),
    # A list's items are read one by one, each error naming its sample.
    ([sp.csr_matrix(np.eye(3)), np.zeros(3)], TypeError, "sample 0 of X is a csr_matrix"),
    ([np.zeros(3), None], TypeError, "sample 1 of X to be an array of numbers, got NoneType"),
    ([np.zeros(3), "abc"], TypeError, "sample 1 of X to be an array of numbers, got str"),
    ([np.zeros(3), {"a": 1}], TypeError, "got dict"),
    ([np.zeros(3), 5.0], TypeError, "got the number 5.0. Mixed lists"),
    ([np.zeros(3), [[1.0, 2.0], [3.0]]], ValueError, "Sample 1 of X could not be read"),
    (np.zeros((1, 2), dtype="datetime64[D]"), TypeError, "got dates or durations"),
    ([np.zeros(2), np.zeros(2, dtype="timedelta64[s]")], TypeError, "sample 1 of X, got dates"),
    (np.zeros((2, 3), dtype="V8"), TypeError, "got dtype \\|V8"),
    (np.zeros((2, 3, 0)), ValueError, "0 channels"),
    (
        pd.DataFrame({"a": [np.zeros((3, 2)), np.zeros((4, 2))]}),
        ValueError,
        "each cell of the nested DataFrame X to hold one 1-D series; row 0 holds arrays of "
        "shapes \\[\\(3, 2\\)\\]",
    ),
    (pd.DataFrame({"a": []}), ValueError, "X holds no series"),
]


@pytest.mark.parametrize("X, error, match", BAD_INPUTS)
def test_bad_input_raises_clear_error(X, error, match):
    with pytest.raises(error, match=match):
        check_time_series(X)


@pytest.mark.parametrize(
    "X, shape, series_lengths",
    [
        (np.arange(2 * 3 * 40.0).reshape(2, 3, 40), (2, 3, 40), [3, 3]),
        ([np.ones((3, 8)), np.ones((2, 8))], (2, 3, 8), [3, 2]),
    ],
)
def test_more_channels_than_timestamps_warns_and_keeps_the_axes(X, shape, series_lengths):
    with pytest.warns(UserWarning, match="axes may be swapped.*channels last"):
        X_out, lengths = check_time_series(X)
    assert X_out.shape == shape and lengths.tolist() == series_lengths
    if isinstance(X, np.ndarray):
        np.testing.assert_array_equal(X_out, X)


@st.composite
def malformed_collections(draw):
    """Valid collections with one defect injected."""
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    n = draw(st.integers(1, 6))
    channels = draw(st.integers(1, 3))
    lengths = [draw(st.integers(4, 12)) for _ in range(n)]
    series = [rng.normal(size=(t, channels)) for t in lengths]
    i = draw(st.integers(0, n - 1))
    defect = draw(
        st.sampled_from(["inf", "inner_nan", "empty", "channels", "complex", "strings", "ndim"])
    )
    if defect == "inf":
        series[i][draw(st.integers(0, lengths[i] - 1)), 0] = np.inf
    elif defect == "inner_nan":
        series[i][draw(st.integers(0, lengths[i] - 2)), :] = np.nan
    elif defect == "empty":
        series[i] = series[i][:0]
    elif defect == "channels":  # needs a second series to disagree with
        series.append(rng.normal(size=(max(lengths), channels)))
        series[i] = np.concatenate([series[i], series[i][:, :1]], axis=1)
    elif defect == "complex":
        series[i] = series[i] * 1j
    elif defect == "strings":
        series[i] = series[i].astype(str)
    elif defect == "ndim":
        series[i] = series[i][:, :, None]
    as_array = draw(st.booleans()) and defect in ("inf", "inner_nan", "complex", "strings")
    if as_array:
        if defect == "strings":
            return np.stack([s.astype(str) for s in series[:1]]), defect
        longest = max(lengths)
        out = np.full((n, longest, channels), np.nan, dtype=series[i].dtype)
        for k, s in enumerate(series):
            out[k, : len(s)] = s
        return out, defect
    return series, defect


@settings(max_examples=200, deadline=None)
@given(malformed_collections())
def test_every_malformed_collection_raises_a_named_error(case):
    X, defect = case
    keywords = {
        "inf": "infinity",
        "inner_nan": "missing values",
        "empty": "length 0",
        "channels": "channels",
        "complex": "Complex",
        "strings": "strings",
        "ndim": "shape",
    }
    with pytest.raises((ValueError, TypeError), match=keywords[defect]):
        check_time_series(X)


@pytest.mark.parametrize(
    "view",
    [lambda a: a[::-1], lambda a: a[:, ::2], lambda a: np.asfortranarray(a)],
    ids=["reversed", "strided", "fortran"],
)
def test_array_views_come_back_in_c_order(view):
    base = np.arange(60, dtype=np.float32).reshape(6, 10)  # no dtype copy to hide it
    X, _ = check_time_series(view(base))
    assert X.flags.c_contiguous
    np.testing.assert_array_equal(X[..., 0], view(base))


def test_validation_never_writes_into_the_input(ragged_univariate):
    X = np.array([[1.0, 2.0, np.nan], [3.0, np.nan, np.nan]])
    X_before = X.copy()
    lists_before = [s.copy() for s in ragged_univariate]
    check_time_series(X)
    check_time_series(ragged_univariate)
    np.testing.assert_array_equal(X, X_before)
    for s, before in zip(ragged_univariate, lists_before):
        np.testing.assert_array_equal(s, before)


# --------------------------------------------------------------------------
# split_long_frame
# --------------------------------------------------------------------------


def _long_frame(series, rng):
    """``series`` (a dict id -> (n_i, n_channels) array) as shuffled rows of a long frame."""
    rows = [
        {"id": key, "t": t, **{f"c{j}": v for j, v in enumerate(values)}}
        for key, x in series.items()
        for t, values in enumerate(x)
    ]
    return pd.DataFrame([rows[i] for i in rng.permutation(len(rows))])


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=6),
    n_channels=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_split_long_frame_recovers_every_series_from_shuffled_rows(lengths, n_channels, seed):
    rng = np.random.default_rng(seed)
    series = {f"s{i}": rng.normal(size=(n, n_channels)) for i, n in enumerate(lengths)}
    frame = _long_frame(series, rng)
    out, ids = split_long_frame(frame, id_column="id", time_column="t")
    assert ids.tolist() == list(pd.unique(frame["id"]))  # order of first appearance
    for key, x in zip(ids, out):
        expected = series[key][:, 0] if n_channels == 1 else series[key]
        np.testing.assert_array_equal(x, expected)


def test_split_long_frame_orders_by_dates_and_keeps_row_order_without_time():
    frame = pd.DataFrame(
        {
            "machine": [7, 3, 7, 3, 7],
            "at": pd.to_datetime(
                ["2026-01-03", "2026-01-02", "2026-01-01", "2026-01-01", "2026-01-02"]
            ),
            "temperature": [3.0, 20.0, 1.0, 10.0, 2.0],
            "pressure": [30.0, 200.0, 10.0, 100.0, 20.0],
        }
    )
    out, ids = split_long_frame(frame, id_column="machine", time_column="at")
    assert ids.tolist() == [7, 3]
    np.testing.assert_array_equal(out[0], [[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    np.testing.assert_array_equal(out[1], [[10.0, 100.0], [20.0, 200.0]])
    unordered, _ = split_long_frame(frame, id_column="machine", value_columns="temperature")
    assert [x.tolist() for x in unordered] == [[3.0, 1.0, 2.0], [20.0, 10.0]]
    X, lengths = check_time_series(out)  # what the estimators take
    assert X.shape == (2, 3, 2) and lengths.tolist() == [3, 2]


@pytest.mark.parametrize(
    "frame, kwargs, error, match",
    [
        (np.zeros((3, 3)), {"id_column": 0}, TypeError, "Expected a pandas DataFrame in long"),
        (pd.DataFrame({"id": [], "v": []}), {"id_column": "id"}, ValueError, "Found 0 rows"),
        (
            pd.DataFrame({"id": [1], "v": [1.0]}),
            {"id_column": "key"},
            ValueError,
            r"lacks \['key'\]",
        ),
        (pd.DataFrame({"id": [1]}), {"id_column": "id"}, ValueError, "no column is left"),
        (
            pd.DataFrame({"id": [1, 1], "t": [0, 0], "v": [1.0, 2.0]}),
            {"id_column": "id", "time_column": "t"},
            ValueError,
            "Series 1 has two rows at time 0",
        ),
        (
            pd.DataFrame({"id": [1, None], "v": [1.0, 2.0]}),
            {"id_column": "id"},
            ValueError,
            r"Column 'id' has missing values \(row 1\)",
        ),
        (
            pd.DataFrame({"id": [1, 1], "label": ["x", "y"], "v": [1.0, 2.0]}),
            {"id_column": "id"},
            TypeError,
            r"column 'label' has dtype .*value_columns=\[\.\.\.\]",
        ),
    ],
)
def test_split_long_frame_rejects_bad_frames_clearly(frame, kwargs, error, match):
    with pytest.raises(error, match=match):
        split_long_frame(frame, **kwargs)


def test_split_long_frame_puts_irregular_times_on_a_grid():
    frame = pd.DataFrame(
        {
            "id": ["a", "a", "a", "a", "b", "b"],
            "at": pd.to_datetime(
                ["2026-01-01 00:16", "2026-01-01 00:00", "2026-01-01 00:04", "2026-01-01 00:07"]
                + ["2026-01-02 09:00", "2026-01-02 09:01"]
            ),
            "v": [4.0, 1.0, 3.0, 2.0, 5.0, np.nan],
            "w": [0.0, 0.0, 1.0, 1.0, 9.0, 7.0],
        }
    )
    series, ids = split_long_frame(frame, id_column="id", time_column="at", frequency="5min")
    assert ids.tolist() == ["a", "b"]
    # a: steps 0 (00:00, 00:04 averaged), 1 (00:07), 2 (no row), 3 (00:16); b: one step
    np.testing.assert_array_equal(series[0], [[2.0, 0.5], [2.0, 1.0], [np.nan, np.nan], [4.0, 0.0]])
    np.testing.assert_array_equal(series[1], [[5.0, 8.0]])  # NaN values do not count
    numeric = frame.assign(at=[1.6, 0.0, 0.4, 0.7, 50.0, 50.1])
    by_number, _ = split_long_frame(numeric, id_column="id", time_column="at", frequency=0.5)
    np.testing.assert_array_equal(by_number[0], series[0])
    exact, _ = split_long_frame(
        numeric.assign(at=[0.3, 0.0, 0.1, 0.2, 0.0, 0.1]),
        id_column="id",
        time_column="at",
        value_columns="v",
        frequency=0.1,
    )
    np.testing.assert_array_equal(exact[0], [1.0, 3.0, 2.0, 4.0])  # 0.3 / 0.1 is step 3


@pytest.mark.parametrize(
    "time, frequency, error, match",
    [
        ("dates", 5, ValueError, "positive duration such as '5min'.* got 5"),
        ("dates", "-5min", ValueError, "positive duration"),
        ("numbers", "5min", ValueError, "positive number for the numeric time column"),
        ("numbers", 0, ValueError, "positive number"),
        ("text", "5min", TypeError, "dtype (object|str).*pandas.to_datetime"),
        ("numbers", 1e-9, ValueError, "steps in all, for 3 rows: choose a longer step"),
    ],
)
def test_split_long_frame_rejects_a_bad_frequency_clearly(time, frequency, error, match):
    times = {
        "dates": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]),
        "numbers": [0.0, 1.0, 2.0],
        "text": ["a", "b", "c"],
    }[time]
    frame = pd.DataFrame({"id": [1, 1, 1], "t": times, "v": [1.0, 2.0, 3.0]})
    with pytest.raises(error, match=match):
        split_long_frame(frame, id_column="id", time_column="t", frequency=frequency)
    with pytest.raises(ValueError, match="give time_column too"):
        split_long_frame(frame, id_column="id", frequency=frequency)


def test_a_frame_with_a_multi_level_row_index_is_ambiguous_and_says_how_to_read_it():
    # sktime's panels index rows by (instance, timepoint), one observation per row; a
    # pivot table indexes whole series by two keys. The error gives both readings.
    rng = np.random.default_rng(0)
    series = {f"s{i}": rng.normal(size=(n, 2)) for i, n in enumerate([4, 6, 3])}
    frame = _long_frame(series, rng).set_index(["id", "t"])
    with pytest.raises(ValueError, match="2-level index") as info:
        check_time_series(frame)
    message = str(info.value)
    assert "split_long_frame(X.reset_index(), id_column='id', time_column='t')[0]" in message
    assert "X.reset_index(drop=True)" in message
    X, lengths = check_time_series(
        split_long_frame(frame.reset_index(), id_column="id", time_column="t")[0]
    )
    for i, key in enumerate(frame.index.unique(level=0)):
        np.testing.assert_array_equal(X[i, : lengths[i]], series[key].astype(np.float32))
    with pytest.raises(ValueError, match=r"\['level_0', 'level_1'\].*reset_index\(drop=True\)"):
        PaddingTransformer().fit(pd.DataFrame(np.ones((2, 5)), index=[[0, 0], [1, 2]]))


def test_a_frame_in_long_format_read_as_rows_of_series_names_split_long_frame():
    rng = np.random.default_rng(0)
    series = {f"s{i}": rng.normal(size=(n, 1)) for i, n in enumerate([4, 6, 3])}
    frame = _long_frame(series, rng)  # text ids: not a table of numbers
    with pytest.raises(TypeError, match="column 'id' has dtype.*long format.*split_long_frame"):
        check_time_series(frame)
    numbered = frame.assign(id=frame["id"].str[1:].astype(int))  # numeric ids are read...
    with pytest.warns(UserWarning, match="column named 'id'.*split_long_frame") as caught:
        X, _ = check_time_series(numbered)
    assert X.shape == (13, 3, 1) and caught[0].filename == __file__  # ...one row, one series
    wide = pd.DataFrame(rng.normal(size=(3, 5)), columns=[f"t{i}" for i in range(5)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a wide frame, whatever its column names, is silent
        assert check_time_series(wide)[0].shape == (3, 5, 1)


# --------------------------------------------------------------------------
# PyTorch datasets
# --------------------------------------------------------------------------


def test_pytorch_datasets_are_read_item_by_item_and_targets_ignored(ragged_multivariate):
    torch = pytest.importorskip("torch")
    from torch.utils.data import Dataset, TensorDataset

    from skts.datasets import TimeSeriesDataset

    expected, lengths = check_time_series(ragged_multivariate)
    ours = TimeSeriesDataset(ragged_multivariate, y=np.arange(4) * 10)
    X, read_lengths = check_time_series(ours)
    np.testing.assert_array_equal(X, expected)
    assert read_lengths.tolist() == lengths.tolist()

    class Bare(Dataset):  # items are series, no targets
        def __len__(self):
            return len(ragged_multivariate)

        def __getitem__(self, i):
            return torch.as_tensor(ragged_multivariate[i])

    np.testing.assert_array_equal(check_time_series(Bare())[0], expected)
    regular = np.random.default_rng(0).normal(size=(5, 7, 2))
    pairs = TensorDataset(torch.as_tensor(regular), torch.arange(5))
    np.testing.assert_allclose(check_time_series(pairs)[0], regular, rtol=1e-6)


def test_iterable_pytorch_dataset_is_rejected_with_the_fix():
    torch = pytest.importorskip("torch")

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            yield torch.zeros(3)

    with pytest.raises(TypeError, match=r"without a length \(an IterableDataset\)"):
        check_time_series(Stream())
