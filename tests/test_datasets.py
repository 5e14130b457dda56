import gzip
import os

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from torch.utils.data import DataLoader

from skts import PaddingTransformer, TimeSeriesScaler
from skts.datasets import (
    BUNDLED_DATASETS,
    TimeSeriesDataset,
    load_arff,
    load_dataset,
    load_ts,
    load_ucr_tsv,
    make_cbf,
    make_synthetic_control,
    make_time_series_clusters,
)
from skts.metrics import clustering_accuracy

DATA = os.path.join(os.path.dirname(__file__), "..", "skts", "datasets", "data")


def test_defaults_reproduce_the_original_scenario():
    X, y = make_time_series_clusters(random_state=0)
    assert len(X) == 300
    assert np.bincount(y).tolist() == [100, 100, 100]
    lengths = {len(x) for x in X}
    assert min(lengths) == 10 and max(lengths) == 19
    assert all(x.dtype == np.float32 and x.ndim == 1 for x in X)


def test_generator_is_seeded_and_multichannel():
    X1, y1 = make_time_series_clusters(n_clusters=4, n_channels=3, random_state=5)
    X2, y2 = make_time_series_clusters(n_clusters=4, n_channels=3, random_state=5)
    assert all(a.shape[1] == 3 for a in X1)
    np.testing.assert_array_equal(y1, y2)
    for a, b in zip(X1, X2):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_length": 10}, "max_length=10 should be > min_length=10"),
        ({"noise": -1.0}, "noise=-1.0 should be >= 0"),
        ({"n_clusters": 0}, "n_clusters=0 should be >= 1"),
        ({"n_clusters": 2.5}, "n_clusters should be an int"),
    ],
)
def test_generator_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_time_series_clusters(**kwargs)


def _shape_features(X):
    """Shift- and length-invariant summaries: quantiles of values and of steps."""
    rows = []
    for x in TimeSeriesScaler().fit_transform(X)[:, :, 0]:
        x = x[~np.isnan(x)]
        q = np.linspace(0, 1, 9)
        rows.append(np.r_[np.quantile(x, q), np.quantile(np.diff(x), q)])
    return np.asarray(rows)


@pytest.mark.parametrize("seed", [0, 1])
def test_clusters_are_separable_by_shape_but_not_by_euclidean_kmeans(seed):
    X, y = make_time_series_clusters(random_state=seed)
    Xp = np.nan_to_num(
        PaddingTransformer().fit_transform(TimeSeriesScaler().fit_transform(X))[:, :, 0]
    )
    kmeans_acc = clustering_accuracy(y, KMeans(3, n_init=10, random_state=0).fit_predict(Xp))
    F = _shape_features(X)
    D = ((F[:, None] - F[None]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    one_nn_acc = (y[D.argmin(axis=1)] == y).mean()
    assert one_nn_acc > 0.95
    assert kmeans_acc < 0.7


def _event_slopes(X):
    """Slope of a line fitted where a smoothed series exceeds 3 (the event)."""
    slopes = []
    kernel = np.ones(9) / 9
    for x in X:
        smooth = np.convolve(x, kernel, mode="same")
        t = np.flatnonzero(smooth > 3)
        slopes.append(np.polyfit(t, x[t], 1)[0] if t.size > 5 else 0.0)
    return np.asarray(slopes)


def test_cbf_classes_have_their_published_shapes():
    X, y = make_cbf(n_samples_per_class=60, random_state=0)
    assert X.shape == (180, 128) and X.dtype == np.float32
    slopes = _event_slopes(X)
    # Cylinder: flat plateau; bell: rises; funnel: falls (Saito, 1994).
    assert np.median(np.abs(slopes[y == 0])) < 0.02
    assert (slopes[y == 1] > 0.02).mean() > 0.9
    assert (slopes[y == 2] < -0.02).mean() > 0.9
    # Outside the event the series is standard normal noise.
    assert abs(X[:, :10].mean()) < 0.1 and 0.9 < X[:, :10].std() < 1.1


def test_synthetic_control_classes_have_their_published_shapes():
    X, y = make_synthetic_control(n_samples_per_class=40, random_state=0)
    assert X.shape == (240, 60)
    t = np.arange(60)
    slope = np.array([np.polyfit(t, x, 1)[0] for x in X])
    jump = X[:, -15:].mean(1) - X[:, :15].mean(1)
    residual = np.array([np.std(x - np.polyval(np.polyfit(t, x, 1), t)) for x in X])
    assert np.all(np.abs(slope[y == 0]) < 0.1) and np.all(residual[y == 0] < 4.5)
    assert np.all(residual[y == 1] > 6)  # cyclic: amplitude 10 to 15
    assert np.all(slope[y == 2] > 0.15) and np.all(slope[y == 3] < -0.15)
    assert np.all(jump[y == 4] > 5) and np.all(jump[y == 5] < -5)
    np.testing.assert_allclose(X[y == 0].mean(), 30.0, atol=0.3)


def test_load_dataset_japanese_vowels():
    X, y = load_dataset("JapaneseVowels")
    assert len(X) == 640 == len(y)
    assert {x.shape[1] for x in X} == {12}
    lengths = [len(x) for x in X]
    assert min(lengths) == 7 and max(lengths) == 29
    assert sorted(set(y)) == [str(i) for i in range(1, 10)]


@pytest.mark.parametrize(
    "name, n_train, n_test, n_classes, shape",
    [
        ("GunPoint", 50, 150, 2, (150,)),
        ("ItalyPowerDemand", 67, 1029, 2, (24,)),
        ("BasicMotions", 40, 40, 4, (100, 6)),
        ("JapaneseVowels", 270, 370, 9, None),
    ],
)
def test_bundled_splits(name, n_train, n_test, n_classes, shape):
    X_train, y_train = load_dataset(name, split="train")
    X_test, y_test = load_dataset(name.lower(), split="test")
    assert (len(X_train), len(X_test)) == (n_train, n_test)
    assert len(set(y_train) | set(y_test)) == n_classes
    if shape is not None:
        assert {x.shape for x in X_train + X_test} == {shape}
    X_all, y_all = load_dataset(name)
    np.testing.assert_array_equal(y_all, np.concatenate([y_train, y_test]))


def test_load_ts_matches_the_bundled_files(tmp_path):
    for name in BUNDLED_DATASETS:
        path = tmp_path / f"{name}.ts"
        with gzip.open(os.path.join(DATA, f"{name}_TRAIN.ts.gz"), "rb") as f:
            text = f.read().decode()
        path.write_text(text)
        X, y = load_ts(path)
        data_lines = [
            line
            for line in text.split("@data", 1)[1].splitlines()
            if line.strip() and not line.startswith("#")
        ]
        assert len(X) == len(y) == len(data_lines)
        first = data_lines[0].split(":")
        assert y[0] == first[-1].strip()
        n_channels = len(first) - 1
        assert (X[0].shape[1] if X[0].ndim == 2 else 1) == n_channels
        np.testing.assert_allclose(
            X[0].reshape(len(X[0]), -1)[:, 0], [float(v) for v in first[0].split(",")], rtol=1e-6
        )


@pytest.mark.parametrize("comment", ["# comment", "%# comment\n%"])
def test_load_ts_reads_missing_values_and_variable_lengths(tmp_path, comment):
    path = tmp_path / "toy.ts"
    path.write_text(
        f"{comment}\n@problemName toy\n@univariate true\n@classLabel true x y\n@data\n"
        "1,?,3:x\n4,5:y\n"
    )
    X, y = load_ts(path)
    assert np.isnan(X[0][1]) and X[1].tolist() == [4.0, 5.0]
    assert y.tolist() == ["x", "y"]


def test_load_ts_and_tsv_read_a_byte_order_mark_as_nothing(tmp_path):
    ts = tmp_path / "bom.ts"
    ts.write_bytes("\ufeff@problemName x\n@classLabel true a b\n@data\n1,2,3:a\n3,2:b\n".encode())
    X, y = load_ts(ts)
    assert [x.tolist() for x in X] == [[1, 2, 3], [3, 2]] and y.tolist() == ["a", "b"]
    tsv = tmp_path / "bom.tsv"
    tsv.write_bytes("\ufeff1\t0.5\t2\n2\t3\t1\n".encode())
    X, y = load_ucr_tsv(tsv)
    assert [x.tolist() for x in X] == [[0.5, 2], [3, 1]] and y.tolist() == ["1", "2"]


def test_load_ts_reads_the_targets_of_regression_files(tmp_path):
    # The TSER archive's files end each case with a target value, not a class.
    path = tmp_path / "reg.ts"
    path.write_text(
        "@problemName reg\n@univariate false\n@targetLabel true\n@data\n"
        "1,2,3:4,5,6:0.5\n7,8:9,10:1.25\n"
    )
    X, y = load_ts(path)
    assert [x.shape for x in X] == [(3, 2), (2, 2)]
    assert y.tolist() == ["0.5", "1.25"]


@pytest.mark.parametrize(
    "name, text, match",
    [
        ("bad.ts", "hello\n", "expected a header line"),
        ("bad.ts", "@problemName a\n", "no '@data' line"),
        ("bad.ts", "@classLabel true a\n@data\n1,2:3,4:a\n1,2:a\n", "expected 2 channels"),
        ("bad.ts", "@classLabel true a\n@data\n1,x:a\n", "comma-separated numbers"),
        ("bad.ts", "@classLabel true a\n@data\n1,2:1:a\n", "different lengths"),
        ("bad.ts", "@timeStamps true\n@data\n(1,2):a\n", "not supported"),
        ("bad.ts", "@classLabel true a\n@data\n1,2\n", "line 3: expected channels and a label"),
        ("bad.ts", "@classLabel true a\n@data\n\n", "no cases after '@data'"),
        ("bad_TRAIN.tsv", "1\t0.5\n2\n", "line 2: expected a label and at least one value"),
        ("bad_TRAIN.tsv", "1\t0.5\tx\n", "line 1: expected numbers after the label"),
        ("bad_TRAIN.tsv", "\n\n", "holds no series"),
    ],
)
def test_loaders_reject_malformed_files(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    load = load_ts if name.endswith(".ts") else load_ucr_tsv
    with pytest.raises(ValueError, match=match):
        load(path)


def test_load_ucr_tsv(tmp_path):
    path = tmp_path / "toy_TEST.tsv"
    path.write_text("1.0000000e+00\t0.5\t0.7\tNaN\n2\t1\t2\t3\n")
    X, y = load_ucr_tsv(path)
    assert [len(x) for x in X] == [2, 3]
    assert y.tolist() == ["1", "2"]


@pytest.mark.parametrize("sep", ["\t", ",", "   "])  # spaces: the archive's format before 2018
def test_load_ucr_tsv_reads_tabs_commas_and_spaces(tmp_path, sep):
    path = tmp_path / "toy_TRAIN.txt"
    rows = [["2.0000000e+00", "1", "2", "3"], ["1", "0.5", "NaN"]]
    path.write_text("".join(" " + sep.join(row) + "\n" for row in rows))
    X, y = load_ucr_tsv(path)
    assert y.tolist() == ["2", "1"]
    np.testing.assert_array_equal(X[0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(X[1], [0.5])


def _write_arff(path, X, y):
    """Weka's ARFF as the UEA/UCR archive writes it: numeric attributes, or one relational."""
    multivariate = X[0].ndim == 2
    length = max(len(x) for x in X)
    cases = [x.reshape(len(x), -1) for x in X]
    padded = [np.vstack([c, np.full((length - len(c), c.shape[1]), np.nan)]) for c in cases]
    cells = [
        [",".join("?" if np.isnan(v) else repr(float(v)) for v in c) for c in p.T] for p in padded
    ]
    if multivariate:
        head = "@attribute series relational\n"
        head += "".join(f"  @attribute t{i} numeric\n" for i in range(length))
        head += "@end series\n"
        rows = ["'" + "\\n".join(c) + "'" for c in cells]
    else:
        head = "".join(f"@attribute t{i} numeric\n" for i in range(length))
        rows = [c[0] for c in cells]
    classes = ",".join(sorted(set(y)))
    path.write_text(
        f"% a comment\n@relation toy\n\n{head}@attribute target {{{classes}}}\n\n@data\n"
        + "".join(f"{row},{label}\n" for row, label in zip(rows, y))
    )


@pytest.mark.parametrize("name", ["JapaneseVowels", "GunPoint"])  # ragged multivariate, univariate
def test_load_arff_reads_what_the_ts_file_holds(tmp_path, name):
    X, y = load_dataset(name, split="train")
    _write_arff(tmp_path / f"{name}_TRAIN.arff", X, y)
    Xa, ya = load_arff(tmp_path / f"{name}_TRAIN.arff")
    assert ya.tolist() == y.tolist()
    assert [x.shape for x in Xa] == [x.shape for x in X]  # padding removed, channels last
    for a, b in zip(Xa, X):
        np.testing.assert_array_equal(a, b)


def test_load_arff_keeps_inner_gaps_and_rejects_other_attributes(tmp_path):
    path = tmp_path / "gaps.arff"
    path.write_text(
        "@relation g\n@attribute a numeric\n@attribute b numeric\n@attribute c numeric\n"
        "@data\n1,?,3\n4,5,?\n"
    )
    X, y = load_arff(path)  # no nominal attribute last: no labels
    assert y is None and np.isnan(X[0][1]) and X[1].tolist() == [4.0, 5.0]
    path.write_text(  # a nominal attribute that is not last: not a series
        "@relation g\n@attribute a numeric\n@attribute s {x,y}\n@attribute b numeric\n"
        "@data\n1,x,2\n"
    )
    with pytest.raises(ValueError, match="expected numeric attributes"):
        load_arff(path)
    path.write_text("not an arff file\n")
    with pytest.raises(ValueError, match="not a readable ARFF file"):
        load_arff(path)


def test_load_dataset_errors():
    with pytest.raises(ValueError, match="Unknown dataset 'CBF'"):
        load_dataset("CBF")
    with pytest.raises(ValueError, match="split should be one of"):
        load_dataset("GunPoint", split="valid")


def test_time_series_dataset_batches_ragged_series(ragged_multivariate):
    data = TimeSeriesDataset(ragged_multivariate)
    assert len(data) == 4
    x, idx = data[1]
    assert x.shape == (4, 3) and int(idx) == 1
    loader = DataLoader(data, batch_size=2, collate_fn=TimeSeriesDataset.collate)
    batches = list(loader)
    assert batches[0][0].shape == (2, 7, 3)
    assert torch.isnan(batches[0][0][1, 4:]).all()
    with pytest.raises(ValueError, match="one target per series"):
        TimeSeriesDataset(ragged_multivariate, y=[0, 1])
