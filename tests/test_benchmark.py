import gzip
import math

import numpy as np
import pytest
import torch

from skts import _benchmark as bench


def test_missing_peer_is_marked_never_faked():
    missing = bench.Method("ghost", lambda k, s, d, c: None, requires="no_such_library_skts")
    X, y = bench.load_benchmark_dataset("synthetic")
    result = bench.run_one(missing, X, y, "synthetic", 0)
    assert result.status.startswith("missing")
    assert math.isnan(result.ari)
    table = bench.markdown_table([result])
    assert "missing" in table


def test_run_one_records_scores_times_and_memory():
    X, y = bench.load_benchmark_dataset("synthetic")
    result = bench.run_one(bench.METHODS["kmeans"], X, y, "synthetic", 0)
    assert result.status == "ok"
    assert -0.5 <= result.ari <= 1 and 0 <= result.accuracy <= 1 and 0 <= result.nmi <= 1
    assert result.fit_seconds > 0 and result.predict_seconds > 0
    assert result.n_samples == 300 and result.n_clusters == 3


def test_csv_round_trip_and_summary(tmp_path):
    rows = [
        bench.Result("a", "m1", 0, 10, 2, ari=0.5, nmi=0.4, accuracy=0.8, fit_seconds=1.0),
        bench.Result("a", "m1", 1, 10, 2, ari=0.7, nmi=0.4, accuracy=0.8, fit_seconds=3.0),
        bench.Result("a", "m2", 0, 10, 2, ari=0.1, nmi=0.1, accuracy=0.5, fit_seconds=0.1),
    ]
    path = tmp_path / "r.csv"
    bench.write_csv(rows, str(path))
    again = bench.read_csv(str(path))
    assert [r.ari for r in again] == [0.5, 0.7, 0.1]
    summary = bench.summarise(again, "ari")
    assert summary.mean["a", "m1"] == pytest.approx(0.6)
    assert summary.std["a", "m1"] == pytest.approx(0.1)
    table = bench.markdown_table(again)
    assert "**0.600 ± 0.100**" in table and "| **mean** | **0.600** | 0.100 |" in table


def test_report_says_how_the_runs_shared_the_machine():
    rows = [bench.Result("a", "kmeans", 0, 10, 2, ari=0.5, nmi=0.4, accuracy=0.8)]
    alone = bench.markdown_report(rows, [0])
    shared = bench.markdown_report(rows, [0], n_jobs=2)
    assert "one run at a time, with every core" in alone
    assert "2 runs at a time, one thread each" in shared
    assert "one run at a time" not in shared


@pytest.mark.parametrize("method", list(bench.METHODS))
def test_scaling_reaches_every_method_and_the_report(method):
    if not bench.method_available(bench.METHODS[method]):
        pytest.skip(f"{bench.METHODS[method].requires} is not installed")
    model = bench.METHODS[method].build(2, 0, "cpu", "collection")
    scopes = {v for k, v in model.get_params().items() if k.endswith("timeseriesscaler__scope")}
    assert scopes == {"collection"}
    rows = [bench.Result("a", method, 0, 10, 2, ari=0.5, nmi=0.4, accuracy=0.8)]
    report = bench.markdown_report(rows, [0], scaling="collection")
    assert "each channel standardised over the whole collection" in report
    assert "each series z-normalised" in bench.markdown_report(rows, [0])


def test_run_benchmark_applies_the_scaling_and_checks_it():
    runs = {
        scaling: bench.run_benchmark(["BasicMotions"], ["kmeans"], [0], scaling=scaling)[0]
        for scaling in ("series", "collection")
    }
    assert runs["series"].ari != runs["collection"].ari
    with pytest.raises(ValueError, match="scaling must be one of"):
        bench.run_benchmark(["BasicMotions"], ["kmeans"], [0], scaling="channel")


def test_report_names_torch_and_the_gpu_only_when_one_ran():
    rows = [bench.Result("a", "kmeans", 0, 10, 2, ari=0.5, nmi=0.4, accuracy=0.8)]
    report = bench.markdown_report(rows, [0], device="cpu")
    assert f"torch {torch.__version__}" in report
    assert "GPU" not in report
    if torch.cuda.is_available():
        assert torch.cuda.get_device_name(0) in bench.markdown_report(rows, [0], device="cuda")
    else:  # nothing to name, and no error after the runs (the CLI checks the device first)
        assert "GPU" not in bench.markdown_report(rows, [0], device="cuda")


def test_dataset_paths_and_labels(tmp_path):
    folder = tmp_path / "Toy"
    folder.mkdir()
    (folder / "Toy_TRAIN.tsv").write_text("1\t0.1\t0.2\n2\t0.3\t0.4\n")
    (folder / "Toy_TEST.tsv").write_text("1\t0.5\t0.6\n")
    bench.load_benchmark_dataset.cache_clear()
    X, y = bench.load_benchmark_dataset(str(folder))
    assert len(X) == 3 and y.tolist() == ["1", "2", "1"]
    assert bench.dataset_label(str(folder / "Toy_TRAIN.tsv")) == "Toy"
    with pytest.raises(ValueError, match="Unknown dataset"):
        bench.load_benchmark_dataset("nope")
    # Names match in any case, and the table spells them one way.
    for name in ["cbf", "gunpoint", "SYNTHETIC"]:
        assert len(bench.load_benchmark_dataset(name)[0]) > 0
        assert bench.dataset_label(name) in bench.DEFAULT_DATASETS
    assert bench.dataset_label("gunpoint") == "GunPoint"


def test_an_archive_folder_is_read_as_its_one_dataset(tmp_path):
    folder = tmp_path / "Toy"
    folder.mkdir()
    (folder / "Toy_TRAIN.tsv").write_text("1\t0.1\t0.2\n2\t0.3\t0.4\n")
    (folder / "Toy_TEST.tsv").write_text("1\t0.5\t0.6\n")
    (folder / "Toy_TEST.tsv.gz").write_bytes(gzip.compress(b"1\t0.5\t0.6\n"))  # same split
    (folder / "Toy_eq_TRAIN.tsv").write_text("1\t9\t9\t9\n")  # a variant
    (folder / "README.txt").write_text("not a split")
    # The archive ships .arff beside the other formats: read last, here never.
    (folder / "Toy_TRAIN.arff").write_text("@relation Toy\n@attribute t numeric\n@data\n7\n")
    bench.load_benchmark_dataset.cache_clear()
    X, y = bench.load_benchmark_dataset(str(folder))
    assert len(X) == 3 and y.tolist() == ["1", "2", "1"]
    only_arff = tmp_path / "Arff"
    only_arff.mkdir()
    for split, row in [("TRAIN", "0.1,0.2,a"), ("TEST", "0.5,?,b")]:
        (only_arff / f"Arff_{split}.arff").write_text(
            "@relation Arff\n@attribute t0 numeric\n@attribute t1 numeric\n"
            f"@attribute target {{a,b}}\n@data\n{row}\n"
        )
    X, y = bench.load_benchmark_dataset(str(only_arff))
    assert [len(x) for x in X] == [2, 1] and y.tolist() == ["a", "b"]
    assert bench.dataset_label(str(only_arff / "Arff_TEST.arff")) == "Arff"
    other = tmp_path / "Archive"
    other.mkdir()
    for dataset in ("A", "B"):
        (other / f"{dataset}_TRAIN.tsv").write_text("1\t0.1\t0.2\n")
    with pytest.raises(ValueError, match=r"several datasets \(A, B\)"):
        bench.load_benchmark_dataset(str(other))
    (other / "B_TRAIN.tsv").unlink()
    assert len(bench.load_benchmark_dataset(str(other))[0]) == 1


def test_missing_values_in_a_dataset_file_are_interpolated(tmp_path):
    path = tmp_path / "Gaps_TRAIN.tsv"
    path.write_text("1\t0.0\tNaN\t2.0\t3.0\n2\tNaN\t1.0\t5.0\tNaN\n")
    bench.load_benchmark_dataset.cache_clear()
    with pytest.warns(UserWarning, match="2 of the 2 series of Gaps have missing values"):
        X, y = bench.load_benchmark_dataset(str(path))
    np.testing.assert_allclose(X[0], [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(X[1], [1.0, 1.0, 5.0])  # the trailing NaN is padding
    assert y.tolist() == ["1", "2"]


def test_the_archives_files_without_extension_are_read(tmp_path):
    # The UCR archive before 2018: NAME/NAME_TRAIN, comma-separated, no extension.
    folder = tmp_path / "Toy"
    folder.mkdir()
    (folder / "Toy_TRAIN").write_text("1,0.1,0.2\n2,0.3,0.4\n")
    (folder / "Toy_TEST").write_text("2,0.5,0.6\n")
    (folder / "Toy").write_text("not a split")
    bench.load_benchmark_dataset.cache_clear()
    X, y = bench.load_benchmark_dataset(str(folder))
    assert y.tolist() == ["1", "2", "2"]
    np.testing.assert_allclose(X[2], [0.5, 0.6])
    assert bench.load_benchmark_dataset(str(folder / "Toy_TEST"))[1].tolist() == ["2"]


def test_resample_makes_equal_lengths_for_peers():
    X = np.full((2, 4, 1), np.nan)
    X[0, :2, 0] = [0.0, 1.0]
    X[1, :, 0] = [0.0, 1.0, 2.0, 3.0]
    out = bench._Resample().fit_transform(X)
    assert not np.isnan(out).any()
    np.testing.assert_allclose(out[0, :, 0], [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(out[1, :, 0], X[1, :, 0])


def test_peak_memory_sees_a_large_allocation():
    with bench.PeakMemory() as memory:
        block = np.ones(50 * 2**20 // 8)
        block[::512] += 1
    del block
    if not math.isnan(memory.peak_mb):
        assert memory.peak_mb > 30


def test_neural_consensus_is_three_seeded_fits_of_the_default_pipeline():
    model = bench.METHODS["neural-consensus"].build(3, 7, "cpu", "series")
    assert model.n_estimators == 3 and model.random_state == 7
    assert model.estimator.steps[-1][1].get_params()["n_clusters"] == 3
    assert "neural-consensus" not in bench.DEFAULT_METHODS  # 3 times the cost: on request


def test_neural_spectral_is_the_default_pipeline_with_spectral_centres_on_request():
    model = bench.METHODS["neural-spectral"].build(3, 7, "cpu", "collection")
    params = model.get_params()
    assert params["neuralnetclusterer__centers"] == "spectral"
    assert params["neuralnetclusterer__random_state"] == 7
    assert params["timeseriesscaler__scope"] == "collection"
    default = bench.METHODS["neural"].build(3, 7, "cpu", "collection")
    assert default.get_params()["neuralnetclusterer__centers"] == "ward"
    assert "neural-spectral" not in bench.DEFAULT_METHODS


def test_kmeans_aligned_is_the_baseline_with_its_aligner_on_request():
    model = bench.METHODS["kmeans-aligned"].build(4, 7, "cpu", "collection")
    assert "timeseriesaligner" in model.named_steps
    assert model.get_params()["timeseriesscaler__scope"] == "collection"
    assert model.get_params()["kmeans__random_state"] == 7
    assert (
        "timeseriesaligner" not in bench.METHODS["kmeans"].build(4, 7, "cpu", "series").named_steps
    )
    assert "kmeans-aligned" not in bench.DEFAULT_METHODS
