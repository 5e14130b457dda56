import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skts import (
    NeuralNetClusterer,
    PaddingTransformer,
    TimeSeriesAligner,
    TimeSeriesImputer,
    TimeSeriesScaler,
    make_kmeans_baseline,
)
from skts.metrics import clustering_accuracy


def test_padder_learns_longest_length_and_channels(ragged_multivariate):
    padder = PaddingTransformer().fit(ragged_multivariate)
    assert padder.max_length_ == 9
    assert padder.n_channels_ == 3
    Xt = padder.transform(ragged_multivariate)
    assert Xt.shape == (4, 9, 3) and Xt.dtype == np.float32


def test_padder_pads_post_and_pre():
    X = [np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0])]
    post = PaddingTransformer().fit_transform(X)[:, :, 0]
    pre = PaddingTransformer(padding="pre").fit_transform(X)[:, :, 0]
    np.testing.assert_array_equal(post[0], [1.0, 2.0, np.nan])
    np.testing.assert_array_equal(pre[0], [np.nan, 1.0, 2.0])
    np.testing.assert_array_equal(pre[1], [1.0, 2.0, 3.0])


def test_pre_padding_fed_to_skts_says_to_pad_post():
    X = [np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0])]
    model = make_pipeline(PaddingTransformer(padding="pre"), TimeSeriesScaler())
    with pytest.raises(ValueError, match="padding at the start.*padding='post'"):
        model.fit(X)


def test_padder_uses_fill_value():
    X = [np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0])]
    Xt = PaddingTransformer(fill_value=-5.0).fit_transform(X)
    assert Xt[0, 2, 0] == -5.0
    assert not np.isnan(Xt).any()


@pytest.mark.parametrize("truncating, kept", [("post", [0.0, 1.0, 2.0]), ("pre", [3.0, 4.0, 5.0])])
def test_padder_truncates_longer_series_with_a_warning(truncating, kept):
    padder = PaddingTransformer(max_length=3, truncating=truncating).fit([np.arange(2.0)])
    with pytest.warns(UserWarning, match="1 series are longer than max_length_=3"):
        Xt = padder.transform([np.arange(6.0), np.arange(2.0)])
    np.testing.assert_array_equal(Xt[0, :, 0], kept)
    np.testing.assert_array_equal(Xt[1, :, 0], [0.0, 1.0, np.nan])


def test_padder_truncation_can_raise_or_pass_silently(recwarn):
    X = [np.arange(6.0)]
    with pytest.raises(ValueError, match="would be truncated"):
        PaddingTransformer(max_length=3, on_truncate="raise").fit(X).transform(X)
    PaddingTransformer(max_length=3, on_truncate="ignore").fit(X).transform(X)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_padder_handles_series_longer_and_shorter_than_fit():
    padder = PaddingTransformer(on_truncate="ignore").fit([np.arange(4.0), np.arange(2.0)])
    Xt = padder.transform([np.arange(10.0), np.arange(1.0)])
    assert Xt.shape == (2, 4, 1)


def test_padder_checks_channels_against_fit(ragged_multivariate):
    padder = PaddingTransformer().fit(ragged_multivariate)
    with pytest.raises(
        ValueError, match="Expected series with 3 channels \\(as seen in fit\\), got 2"
    ):
        padder.transform([np.zeros((5, 2))])


def test_padder_rejects_bad_parameters():
    with pytest.raises(ValueError, match="'padding' parameter"):
        PaddingTransformer(padding="middle").fit([np.zeros(3)])
    with pytest.raises(ValueError, match="'max_length' parameter"):
        PaddingTransformer(max_length=0).fit([np.zeros(3)])


def test_transformers_raise_not_fitted():
    for est in (PaddingTransformer(), TimeSeriesScaler()):
        with pytest.raises(NotFittedError):
            est.transform([np.zeros(3)])


def test_inverse_transform_returns_2d_series_for_several_channels(ragged_multivariate):
    padder = PaddingTransformer().fit(ragged_multivariate)
    back = padder.inverse_transform(padder.transform(ragged_multivariate))
    for orig, rec in zip(ragged_multivariate, back):
        np.testing.assert_array_equal(orig, rec)


@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("fill_value", [np.nan, -7.0])
@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        arrays(
            np.float32,
            st.integers(1, 15),
            elements=st.floats(-1e6, 1e6, width=32, allow_nan=False, allow_infinity=False),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_pad_then_inverse_transform_round_trips_exactly(data, padding, fill_value):
    # A series ending (or starting) in the fill value is ambiguous; NaN never is.
    if not np.isnan(fill_value):
        data = [x for x in data if x[0] != fill_value and x[-1] != fill_value] or [
            np.ones(2, np.float32)
        ]
    padder = PaddingTransformer(padding=padding, fill_value=fill_value)
    back = padder.inverse_transform(padder.fit_transform(data))
    assert len(back) == len(data)
    for orig, rec in zip(data, back):
        assert rec.dtype == np.float32
        np.testing.assert_array_equal(orig, rec)


def test_scaler_normalises_observed_values_only():
    X = [np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 30.0])]
    Xt = TimeSeriesScaler().fit_transform(X)[:, :, 0]
    for row, n in zip(Xt, (4, 2)):
        np.testing.assert_allclose(row[:n].mean(), 0.0, atol=1e-6)
        np.testing.assert_allclose(row[:n].std(), 1.0, atol=1e-6)
        assert np.isnan(row[n:]).all()


def test_scaler_is_per_channel():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(3, 20, 2)) * [1.0, 50.0] + [0.0, 100.0]
    Xt = TimeSeriesScaler().fit_transform(X)
    np.testing.assert_allclose(Xt.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(Xt.std(axis=1), 1.0, atol=1e-5)


def test_constant_series_map_to_zeros_not_nan():
    Xt = TimeSeriesScaler().fit_transform([np.full(5, 3.0), np.array([1.0, 2.0])])
    np.testing.assert_array_equal(Xt[0, :, 0], np.zeros(5))


@pytest.mark.parametrize("unit", [1e-12, 1e-6, 1.0, 1e9])
def test_scaler_treats_every_unit_alike(unit):
    # The constant test is relative to the level: a signal in tiny units is
    # scaled, and a constant series at a large level still maps to zeros.
    wave = np.sin(np.linspace(0, 6, 50))
    Xt = TimeSeriesScaler().fit_transform([wave * unit, np.full(50, 7.3 * unit)])[:, :, 0]
    np.testing.assert_allclose(Xt[0].std(), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(Xt[1], np.zeros(50))


def test_scaler_options():
    X = np.array([[1.0, 3.0]])
    np.testing.assert_allclose(TimeSeriesScaler(with_std=False).fit_transform(X)[0, :, 0], [-1, 1])
    np.testing.assert_allclose(TimeSeriesScaler(with_mean=False).fit_transform(X)[0, :, 0], [1, 3])


def test_collection_scope_standardises_each_channel_over_every_observed_value():
    rng = np.random.RandomState(0)
    X = [rng.normal(size=(n, 2)) * [1.0, 50.0] + [level, 100.0] for n, level in [(8, 0), (5, 4)]]
    scaler = TimeSeriesScaler(scope="collection").fit(X)
    stacked = np.concatenate(X)
    np.testing.assert_allclose(scaler.mean_, stacked.mean(axis=0))
    np.testing.assert_allclose(scaler.scale_, stacked.std(axis=0))
    Xt = scaler.transform(X)
    assert np.isnan(Xt[1, 5:]).all() and not np.isnan(Xt[0]).any()
    observed = np.concatenate([Xt[0], Xt[1, :5]])
    np.testing.assert_allclose(observed.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(observed.std(axis=0), 1.0, atol=1e-6)
    # The level that tells the series apart stays (series scaling erases it).
    assert Xt[1, :5, 0].mean() - Xt[0, :, 0].mean() > 1.0
    # New series are scaled by what fit learned, not by their own statistics.
    new = scaler.transform([np.array([[0.0, 100.0], [0.0, 100.0]])])
    np.testing.assert_allclose(
        new[0], (np.array([[0.0, 100.0]] * 2) - scaler.mean_) / scaler.scale_
    )


def test_collection_scope_options_and_constant_channels():
    X = np.array([[[1.0, 5.0], [3.0, 5.0]]])
    np.testing.assert_array_equal(
        TimeSeriesScaler(scope="collection").fit_transform(X)[0], [[-1.0, 0.0], [1.0, 0.0]]
    )
    centred = TimeSeriesScaler(scope="collection", with_std=False).fit(X)
    assert centred.scale_ is None
    np.testing.assert_array_equal(centred.transform(X)[0], [[-1.0, 0.0], [1.0, 0.0]])
    scaled = TimeSeriesScaler(scope="collection", with_mean=False).fit(X)
    assert scaled.mean_ is None
    np.testing.assert_allclose(scaled.transform(X)[0, :, 0], [1.0, 3.0])
    assert TimeSeriesScaler().fit(X).mean_ is None  # series scope learns nothing
    with pytest.raises(ValueError, match="channel"):
        TimeSeriesScaler(scope="collection").fit(X).transform(np.zeros((1, 4, 3)))


def test_a_scaler_pickled_before_scope_existed_still_scales_each_series():
    X = [np.array([1.0, 2.0, 4.0]), np.array([10.0, 30.0])]
    scaler = TimeSeriesScaler().fit(X)
    state = scaler.__getstate__()
    del state["scope"], state["mean_"], state["scale_"]  # what older versions saved
    old = TimeSeriesScaler.__new__(TimeSeriesScaler)
    old.__setstate__(state)
    assert old.scope == "series"
    np.testing.assert_array_equal(old.transform(X), scaler.transform(X))


def test_collection_scope_keeps_the_levels_that_separate_groups():
    # Two groups of the same noisy wave at different levels: only the level
    # tells them apart, and z-normalising each series erases it.
    rng = np.random.RandomState(0)
    wave = np.sin(np.linspace(0, 4 * np.pi, 40))
    y = np.repeat([0, 1], 20)
    X = wave + 3.0 * y[:, None] + rng.normal(scale=0.3, size=(40, 40))
    baseline = make_kmeans_baseline(n_clusters=2, random_state=0)
    assert clustering_accuracy(y, baseline.fit_predict(X)) < 0.8
    baseline.set_params(timeseriesscaler__scope="collection")
    assert clustering_accuracy(y, baseline.fit_predict(X)) == 1.0


def test_pipeline_clone_and_pickle_of_transformers(ragged_univariate):
    pipe = make_pipeline(PaddingTransformer(), TimeSeriesScaler())
    Xt = pipe.fit_transform(ragged_univariate)
    again = pickle.loads(pickle.dumps(pipe)).transform(ragged_univariate)
    np.testing.assert_array_equal(Xt, again)
    assert clone(pipe).get_params()["paddingtransformer__max_length"] is None


def test_dataframe_input_records_feature_names():
    df = pd.DataFrame(np.arange(12.0).reshape(3, 4), columns=list("abcd"))
    padder = PaddingTransformer().fit(df)
    assert padder.feature_names_in_.tolist() == list("abcd")
    assert padder.n_features_in_ == 4


# --------------------------------------------------------------------------
# TimeSeriesImputer
# --------------------------------------------------------------------------

PANDAS_FILL = {
    "linear": lambda s: s.interpolate(method="linear", limit_direction="both"),
    "previous": lambda s: s.ffill().bfill(),
}


@pytest.mark.filterwarnings("ignore:The axes may be swapped")
@pytest.mark.parametrize("method", ["linear", "previous"])
@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        arrays(
            np.float64,
            st.tuples(st.integers(1, 12), st.integers(1, 3)),
            elements=st.one_of(st.floats(-1e3, 1e3), st.just(np.nan)),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_imputer_fills_each_channel_as_pandas_does(data, method):
    # Every channel needs one observed value; all-NaN tails are padding.
    data = [x for x in data if (~np.isnan(x)).any(axis=0).all()] or [np.ones((3, 2))]
    n_channels = data[0].shape[1]
    data = [x[:, :n_channels] for x in data if x.shape[1] >= n_channels]
    Xt = TimeSeriesImputer(method=method).fit_transform(data)
    assert Xt.dtype == np.float32
    for x, out in zip(data, Xt):
        length = len(x) - int(np.argmax(~np.isnan(x).all(axis=1)[::-1]))
        expected = pd.DataFrame(x[:length]).apply(PANDAS_FILL[method]).to_numpy()
        np.testing.assert_allclose(out[:length], expected, rtol=1e-5, atol=1e-3)
        assert np.isnan(out[length:]).all()


def test_imputer_keeps_padding_and_fills_a_channel_that_ends_early():
    X = np.array(
        [
            [[1.0, 10.0], [np.nan, 20.0], [3.0, np.nan], [np.nan, np.nan]],
            [[np.nan, 5.0], [2.0, np.nan], [4.0, 7.0], [6.0, np.nan]],
        ]
    )
    X32 = X.astype(np.float32)
    Xt = TimeSeriesImputer().fit_transform(X32)
    np.testing.assert_array_equal(np.isnan(X32), np.isnan(X))  # the input is left as it was
    np.testing.assert_array_equal(Xt[0, :3], [[1, 10], [2, 20], [3, 20]])
    assert np.isnan(Xt[0, 3]).all()  # padding
    np.testing.assert_array_equal(Xt[1], [[2, 5], [2, 6], [4, 7], [6, 7]])
    filled = PaddingTransformer().fit_transform(Xt)  # what skts's estimators accept
    assert np.isnan(filled).sum() == 2


def test_imputer_rejects_a_channel_with_nothing_to_fill_from():
    X = [np.ones((3, 2)), np.array([[1.0, np.nan], [2.0, np.nan]])]
    with pytest.raises(ValueError, match="Channel 1 of sample 1 has no observed value"):
        TimeSeriesImputer().fit_transform(X)
    with pytest.raises(ValueError, match="Sample 0 of X has length 0"):
        TimeSeriesImputer().fit_transform(np.full((1, 3), np.nan))
    with pytest.raises(ValueError, match="method"):
        TimeSeriesImputer(method="spline").fit(X)


def test_gaps_are_rejected_until_the_imputer_fills_them():
    rng = np.random.RandomState(0)
    X = [rng.normal(size=n) for n in rng.randint(20, 30, size=40)]
    for x in X[::3]:
        x[5:8] = np.nan
    clusterer = NeuralNetClusterer(
        n_clusters=2, max_epochs=2, module__hidden_size=8, module__n_kernels=32, random_state=0
    )
    with pytest.raises(ValueError, match=r"missing values.*TimeSeriesImputer\(\) in front"):
        make_pipeline(PaddingTransformer(), clusterer).fit(X)
    model = make_pipeline(TimeSeriesImputer(), PaddingTransformer(), TimeSeriesScaler(), clusterer)
    labels = model.fit_predict(X)
    assert labels.shape == (40,)
    np.testing.assert_array_equal(model.predict(X), labels)


# --------------------------------------------------------------------------
# TimeSeriesAligner
# --------------------------------------------------------------------------


def _bumps(centres, length=60, width=2.0):
    """One asymmetric bump (a peak and a smaller trough after it) per centre."""
    t = np.arange(length)
    c = np.asarray(centres, dtype=float)[:, None]
    return np.exp(-0.5 * ((t - c) / width) ** 2) - 0.5 * np.exp(-0.5 * ((t - c - 6) / width) ** 2)


def test_aligner_brings_shifted_copies_of_one_shape_together():
    offsets = np.array([0, 0, 0, 4, -3, 6, -6, 2])
    X = _bumps(30 + offsets)
    Xt = TimeSeriesAligner().fit_transform(X)[:, :, 0]
    peaks = Xt.argmax(axis=1)
    assert np.all(peaks == peaks[0])
    assert abs(peaks[0] - 30) <= 6
    # Away from the ends that the shifts empty, every series is the same curve.
    np.testing.assert_allclose(Xt[:, 12:48], np.tile(Xt[0, 12:48], (8, 1)), atol=1e-6)
    assert X.argmax(axis=1).tolist() != peaks.tolist()


def test_aligner_moves_the_values_and_fills_the_gap_with_the_series_mean():
    X = np.array(
        [
            [0.0, 0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 1.0, 0.0],
            [10.0, 30.0, 50.0, 30.0, 10.0, 10.0, 10.0, 10.0],  # other units, one step early
        ]
    )
    Xt = TimeSeriesAligner().fit_transform(X)[:, :, 0]
    np.testing.assert_array_equal(Xt[:2], X[:2])
    np.testing.assert_array_equal(Xt[2], [0.0, 0.0, 1.0, 2.0, 1.0, 0.0, 0.5, 0.5])
    np.testing.assert_array_equal(Xt[3], [20.0, 10.0, 30.0, 50.0, 30.0, 10.0, 10.0, 10.0])


def test_aligner_shifts_no_further_than_max_shift():
    X = _bumps([30, 30, 30, 36])
    assert TimeSeriesAligner().fit_transform(X)[3, :, 0].argmax() == 30
    assert TimeSeriesAligner(max_shift=2).fit_transform(X)[3, :, 0].argmax() == 34
    unmoved = TimeSeriesAligner(max_shift=0).fit_transform(X)[:, :, 0]
    np.testing.assert_array_equal(unmoved, X.astype(np.float32))


def test_aligner_keeps_each_series_length_and_padding():
    X = [_bumps([20])[0, :40], _bumps([20])[0, :50], _bumps([26])[0, :35], _bumps([17])[0]]
    aligner = TimeSeriesAligner().fit(X)
    Xt = aligner.transform(X)[:, :, 0]
    assert Xt.shape == (4, 60) and aligner.reference_.shape == (60, 1)
    padded = PaddingTransformer().fit_transform(X)[:, :, 0]
    np.testing.assert_array_equal(np.isnan(Xt), np.isnan(padded))
    # The peaks coincide (where is the reference's choice: the shapes' mean place).
    assert len(set(Xt[:, :35].argmax(axis=1))) == 1


def test_aligner_shifts_every_channel_of_a_series_together():
    base = _bumps([30, 30, 30, 25])
    X = np.stack([base, -2.0 * base], axis=2)
    X[3, :, 1] = -2.0 * _bumps([30])[0]  # the second channel is aligned already
    Xt = TimeSeriesAligner().fit_transform(X)
    lag = Xt[3, :, 0].argmax() - X[3, :, 0].argmax()
    assert lag == Xt[3, :, 1].argmin() - X[3, :, 1].argmin()
    assert Xt.shape == X.shape


def test_aligner_leaves_constant_series_in_place_and_finite():
    X = np.vstack([_bumps([30, 32, 28]), np.full((1, 60), 3.0)])
    Xt = TimeSeriesAligner().fit_transform(X)
    np.testing.assert_array_equal(Xt[3, :, 0], 3.0)
    assert len(set(Xt[:3, :, 0].argmax(axis=1))) == 1  # the bumps still align
    assert np.isfinite(Xt).all()


def test_aligner_transform_aligns_new_series_to_the_fitted_reference():
    aligner = TimeSeriesAligner().fit(_bumps([30, 30, 31, 29]))
    new = _bumps([24, 37])
    assert aligner.transform(new)[:, :, 0].argmax(axis=1).tolist() == [30, 30]
    assert aligner.transform(list(new[:, :45]))[:, :45, 0].argmax(axis=1).tolist() == [30, 30]
    np.testing.assert_array_equal(clone(aligner).fit(new).transform(new).shape, (2, 60, 1))
    # Longer series than in fit: lags of up to their whole length either way.
    longer = _bumps([150, 180, 40], length=200)
    assert aligner.transform(longer)[:, :, 0].argmax(axis=1).tolist() == [30, 30, 30]


def test_aligner_lags_ignore_level_and_scale():
    X = _bumps(30 + np.array([0, 3, -2, 5, 0]))
    aligner = TimeSeriesAligner().fit(X)
    aligned = aligner.transform(X)[:, :, 0]
    assert len(set(aligned.argmax(axis=1))) == 1  # the bumps were moved together
    raw = 5.0 * X + 100.0
    np.testing.assert_allclose(aligner.transform(raw)[:, :, 0], 5.0 * aligned + 100.0, rtol=1e-5)
    refitted = TimeSeriesAligner().fit_transform(raw)[:, :, 0]
    np.testing.assert_allclose(refitted, 5.0 * aligned + 100.0, rtol=1e-5)


def test_aligner_rejects_bad_parameters():
    X = _bumps([30, 31])
    with pytest.raises(InvalidParameterError, match="max_shift"):
        TimeSeriesAligner(max_shift=-1).fit(X)
    with pytest.raises(InvalidParameterError, match="n_iter"):
        TimeSeriesAligner(n_iter=1.5).fit(X)
    with pytest.raises(NotFittedError):
        TimeSeriesAligner().transform(X)
    with pytest.raises(ValueError, match="channel"):
        TimeSeriesAligner().fit(X).transform(np.zeros((1, 60, 2)))


def test_aligned_kmeans_baseline_groups_shapes_that_appear_at_any_offset():
    # One bump or two, anywhere within 15 steps of the middle: unaligned,
    # KMeans splits the series by where the bumps are.
    rng = np.random.RandomState(0)
    t = np.arange(100)
    y = np.repeat([0, 1], 30)
    centre = 50 + rng.randint(-15, 16, size=60)[:, None]

    def bump(c):
        return np.exp(-0.5 * ((t - c) / 3.0) ** 2)

    X = np.where(y[:, None] == 0, bump(centre), bump(centre - 6) + bump(centre + 6))
    X += rng.normal(scale=0.05, size=X.shape)
    assert clustering_accuracy(y, make_kmeans_baseline(2, random_state=0).fit_predict(X)) < 0.7
    aligned = make_kmeans_baseline(2, align=True, random_state=0)
    assert clustering_accuracy(y, aligned.fit_predict(X)) == 1.0
    steps = ["paddingtransformer", "timeseriesscaler", "timeseriesaligner"]
    assert list(aligned.named_steps)[:3] == steps
