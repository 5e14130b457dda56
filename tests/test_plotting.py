import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from skts import _benchmark as bench  # noqa: E402
from skts import plotting  # noqa: E402
from skts.datasets import make_time_series_clusters  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def test_cluster_members_with_mean_and_medoid():
    X, y = make_time_series_clusters(n_clusters=5, n_samples_per_cluster=6, random_state=0)
    for centre in ("mean", "medoid"):
        axes = plotting.plot_cluster_members(X, y, centre=centre)
        assert len([ax for ax in axes if ax.get_visible()]) == 5
        assert axes[0].get_title() == f"cluster 0 ({np.sum(y == 0)})"
        assert axes[0].lines[-1].get_color() == "C3"
    with pytest.raises(ValueError, match="centre should be"):
        plotting.plot_cluster_members(X, y, centre="median")


def test_contingency_is_matched_and_counts_every_sample():
    y = np.array([0, 0, 1, 1, 1])
    ax = plotting.plot_contingency(y, [1, 1, 0, 0, 1])
    table = ax.images[0].get_array()
    assert table.sum() == 5
    assert np.trace(table) == 4  # clusters matched to classes before counting
    shares = plotting.plot_contingency(y, [1, 1, 0, 0, 1], normalize=True).images[0].get_array()
    np.testing.assert_allclose(shares, table / table.sum(axis=1, keepdims=True))


def test_embedding_projects_to_two_dimensions():
    Z = np.random.RandomState(0).normal(size=(30, 6))
    ax = plotting.plot_embedding(Z, np.arange(30) % 3)
    assert ax.collections[0].get_offsets().shape == (30, 2)
    ax = plotting.plot_embedding(Z, np.arange(30) % 3, method="tsne")
    assert ax.collections[0].get_offsets().shape == (30, 2) and ax.get_xlabel() == "tsne 1"
    ax = plotting.plot_embedding(Z[:, :1], np.arange(30) % 3)
    assert np.all(ax.collections[0].get_offsets()[:, 1] == 0)  # one dimension: on a line
    with pytest.raises(ValueError, match="Expected embeddings of shape"):
        plotting.plot_embedding(np.zeros(3), [0, 1, 2])
    with pytest.raises(ValueError, match="method should be 'pca' or 'tsne', got 'umap'"):
        plotting.plot_embedding(Z, np.arange(30) % 3, method="umap")


def test_benchmark_and_scaling_charts(tmp_path):
    rows = [
        bench.Result("a", "m1", 0, 10, 2, ari=0.5, fit_seconds=1.0),
        bench.Result("a", "m2", 0, 10, 2, ari=0.2, fit_seconds=2.0),
        bench.Result("b", "m1", 0, 10, 2, ari=0.3, fit_seconds=1.5),
        bench.Result("b", "m2", 0, 10, 2, ari=0.1, fit_seconds=0.5),
    ]
    ax = plotting.plot_benchmark(rows, str(tmp_path / "s.png"))
    assert len(ax.patches) == 4
    assert (tmp_path / "s.png").stat().st_size > 1000
    ax = plotting.plot_benchmark(rows, metric="fit_seconds")
    assert ax.get_yscale() == "log"
    scaling = [{"method": "m", "n_samples": n, "fit_seconds": n / 100} for n in (100, 1000)]
    ax = plotting.plot_scaling(scaling, str(tmp_path / "scale.png"))
    assert ax.get_xscale() == "log" and len(ax.lines) == 1


def test_charts_drawn_into_a_subfigure_save_the_whole_figure(tmp_path):
    import matplotlib.pyplot as plt

    left, right = plt.figure(figsize=(8, 3)).subfigures(1, 2)
    scaling = [{"method": "m", "n_samples": n, "fit_seconds": n / 100} for n in (100, 1000)]
    rows = [bench.Result("a", "m1", 0, 10, 2, ari=0.5), bench.Result("b", "m1", 0, 10, 2, ari=0.3)]
    plotting.plot_scaling(scaling, str(tmp_path / "scale.png"), ax=left.subplots())
    plotting.plot_benchmark(rows, str(tmp_path / "scores.png"), ax=right.subplots())
    for name in ("scale.png", "scores.png"):
        assert plt.imread(tmp_path / name).shape[:2] == (360, 960)  # all of 8 x 3 in, dpi 120


def test_benchmark_and_scaling_charts_read_their_csv_files_and_data_frames(tmp_path):
    import pandas as pd

    rows = [
        bench.Result("a", "m1", 0, 10, 2, ari=0.5),
        bench.Result("a", "m1", 1, 10, 2, ari=0.3),
        bench.Result("a", "m2", 0, 10, 2, ari=0.2),
        bench.Result("a", "m2", 1, 10, 2, status="failed"),
    ]
    bench.write_csv(rows, str(tmp_path / "results.csv"))
    for results in (tmp_path / "results.csv", pd.read_csv(tmp_path / "results.csv")):
        ax = plotting.plot_benchmark(results)
        assert [round(float(bar.get_height()), 6) for bar in ax.patches] == [0.4, 0.2]
    scaling = pd.DataFrame(
        {"method": ["m", "m", "k"], "n_samples": [100, 1000, 100], "fit_seconds": [1, 5, 2]}
    )
    scaling.to_csv(tmp_path / "scaling.csv", index=False)
    for table in (str(tmp_path / "scaling.csv"), scaling):
        ax = plotting.plot_scaling(table)
        assert [line.get_label() for line in ax.lines] == ["m", "k"]
        assert ax.lines[0].get_ydata().tolist() == [1.0, 5.0]


def test_benchmark_chart_says_what_a_row_lacks():
    with pytest.raises(ValueError, match=r"row 1 lacks \['method'\]"):
        plotting.plot_benchmark([{"dataset": "a", "method": "m"}, {"dataset": "a"}])
    with pytest.raises(TypeError, match="item 0 is a tuple"):
        plotting.plot_benchmark([("a", "m", 0.5)])
