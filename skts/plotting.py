"""Pictures of clusterings and benchmarks (matplotlib, from the ``plot`` extra).

matplotlib is imported when a function is called, never when skts is.
Every function draws on the axes it is given, or on a new figure, and returns
what it drew on.
"""

from __future__ import annotations

import csv
import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import _is_dataframe, check_time_series
from .metrics import match_labels

if TYPE_CHECKING:  # matplotlib is optional: imported by the functions that draw
    from matplotlib.axes import Axes

__all__ = [
    "plot_benchmark",
    "plot_cluster_members",
    "plot_contingency",
    "plot_embedding",
    "plot_scaling",
]


def _save_figure(ax: Any, path: str) -> None:
    """Save the whole figure that holds ``ax``, also when ``ax`` lies in a subfigure."""
    from matplotlib.figure import Figure

    figure = ax.figure
    while not isinstance(figure, Figure):  # a SubFigure: its figure is its parent's
        figure = figure.figure
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _pyplot() -> Any:
    try:
        import matplotlib

        if not _has_display():
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skts.plotting needs matplotlib; install it with pip install 'skts[plot]'."
        ) from exc
    return plt


def _has_display() -> bool:
    import matplotlib

    return bool(os.environ.get("DISPLAY")) or matplotlib.get_backend().lower() != "agg"


def plot_cluster_members(
    X: Any,
    labels: Any,
    *,
    centre: str = "mean",
    max_members: int = 30,
    channel: int = 0,
    axes: Any = None,
) -> np.ndarray:
    """Draw the members of each cluster, with its centre on top.

    Parameters
    ----------
    X : list of array-like, array-like or DataFrame
        The series.
    labels : array-like of shape (n_samples,)
        The cluster of each series.
    centre : {"mean", "medoid"}, default="mean"
        The centre drawn in bold: the mean over the observed timestamps, or
        the member closest on average to the others (Euclidean, on the
        common timestamps).
    max_members : int, default=30
        The most members drawn per cluster (the first ones).
    channel : int, default=0
        The channel drawn.
    axes : array of matplotlib Axes, default=None
        One per cluster; None creates a figure.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        One per cluster, in increasing order of the labels.

    Examples
    --------
    >>> from skts.datasets import make_time_series_clusters
    >>> from skts.plotting import plot_cluster_members
    >>> X, y = make_time_series_clusters(n_samples_per_cluster=5, random_state=0)
    >>> axes = plot_cluster_members(X, y)
    >>> len(axes)
    3
    """
    if centre not in ("mean", "medoid"):
        raise ValueError(f"centre should be 'mean' or 'medoid', got {centre!r}.")
    plt = _pyplot()
    Xc, lengths = check_time_series(X)
    labels = np.asarray(labels)
    clusters = np.unique(labels)
    if axes is None:
        cols = min(4, len(clusters))
        rows = math.ceil(len(clusters) / cols)
        _, axes = plt.subplots(
            rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False, sharey=True
        )
    axes = np.ravel(axes)
    values = Xc[:, :, channel]
    for ax, cluster in zip(axes, clusters):
        members = np.flatnonzero(labels == cluster)
        for i in members[:max_members]:
            ax.plot(values[i, : lengths[i]], color="0.6", lw=0.7, alpha=0.6)
        if centre == "mean":
            line = np.nanmean(values[members, : lengths[members].max()], axis=0)
        else:
            common = lengths[members].min()
            block = values[members, :common]
            distances = ((block[:, None] - block[None]) ** 2).sum(-1).mean(1)
            line = values[members[distances.argmin()], : lengths[members[distances.argmin()]]]
        ax.plot(line, color="C3", lw=2, label=centre)
        ax.set_title(f"cluster {cluster} ({members.size})")
    for ax in axes[len(clusters) :]:
        ax.set_visible(False)
    return axes


def plot_contingency(
    y_true: Any, y_pred: Any, *, ax: Axes | None = None, normalize: bool = False
) -> Axes:
    """Draw the contingency matrix after matching clusters to classes.

    Clusters are relabelled with :func:`skts.metrics.match_labels`, so a
    good clustering shows a strong diagonal.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Classes and cluster labels.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a figure.
    normalize : bool, default=False
        Show each row as fractions of its class.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> from skts.plotting import plot_contingency
    >>> ax = plot_contingency(["a", "a", "b", "b"], [1, 1, 0, 1])
    >>> ax.get_xlabel()
    'cluster (matched to a class)'
    """
    plt = _pyplot()
    from sklearn.metrics import confusion_matrix

    y_true = np.asarray(y_true)
    matched = match_labels(y_true, y_pred)
    classes = np.unique(y_true)
    table = confusion_matrix(y_true, matched, labels=classes).astype(float)
    if normalize:
        table /= table.sum(axis=1, keepdims=True).clip(min=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(1 + 0.6 * len(classes), 1 + 0.5 * len(classes)))
    ax.imshow(table, cmap="Blues")
    for (i, j), v in np.ndenumerate(table):
        ax.text(
            j, i, f"{v:.2f}" if normalize else f"{int(v)}", ha="center", va="center", fontsize=8
        )
    ax.set_xticks(range(len(classes)), [str(c) for c in classes], rotation=45)
    ax.set_yticks(range(len(classes)), [str(c) for c in classes])
    ax.set_xlabel("cluster (matched to a class)")
    ax.set_ylabel("class")
    return ax


def plot_embedding(
    embeddings: Any, labels: Any, *, ax: Axes | None = None, method: str = "pca"
) -> Axes:
    """Draw a 2-D view of embeddings coloured by cluster.

    Parameters
    ----------
    embeddings : array-like of shape (n_samples, n_dims)
        For example ``NeuralNetClusterer.transform(X)``.
    labels : array-like of shape (n_samples,)
        The colour of each point.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a figure.
    method : {"pca", "tsne"}, default="pca"
        The projection to 2-D (scikit-learn's PCA or TSNE).

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> import numpy as np
    >>> from skts.plotting import plot_embedding
    >>> ax = plot_embedding(np.random.RandomState(0).normal(size=(20, 5)), [0, 1] * 10)
    >>> len(ax.collections)
    1
    """
    plt = _pyplot()
    Z = np.asarray(embeddings, dtype=float)
    if Z.ndim != 2:
        raise ValueError(f"Expected embeddings of shape (n_samples, n_dims), got {Z.shape}.")
    if Z.shape[1] > 2:
        if method == "pca":
            from sklearn.decomposition import PCA

            Z = PCA(2).fit_transform(Z)
        elif method == "tsne":
            from sklearn.manifold import TSNE

            Z = TSNE(2, perplexity=min(30, len(Z) - 1), random_state=0).fit_transform(Z)
        else:
            raise ValueError(f"method should be 'pca' or 'tsne', got {method!r}.")
    elif Z.shape[1] == 1:
        Z = np.column_stack([Z[:, 0], np.zeros(len(Z))])
    labels = np.asarray(labels)
    _, codes = np.unique(labels, return_inverse=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    ax.scatter(Z[:, 0], Z[:, 1], c=codes, cmap="tab10", s=10)
    ax.set_xlabel(f"{method} 1")
    ax.set_ylabel(f"{method} 2")
    return ax


def plot_benchmark(
    results: Any, path: str | None = None, *, metric: str = "ari", ax: Axes | None = None
) -> Axes:
    """Draw a benchmark's scores or times: one group of bars per dataset.

    Bars are means over seeds, with their standard deviation as error bars.

    Parameters
    ----------
    results : str, path, DataFrame or list of dict
        The runs: the path of a ``results.csv`` that ``skts bench`` wrote, that
        file read by pandas, or one mapping per run with the keys
        ``"dataset"``, ``"method"`` and ``metric`` (and ``"status"``, where
        runs other than ``"ok"`` are left out).
    path : str, default=None
        Save the figure there as PNG.
    metric : str, default="ari"
        ``"ari"``, ``"nmi"``, ``"accuracy"``, ``"fit_seconds"``,
        ``"predict_seconds"`` or ``"peak_memory_mb"``; times use a log scale.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> from skts.plotting import plot_benchmark
    >>> runs = [
    ...     {"dataset": "CBF", "method": "neural", "seed": 0, "ari": 0.96},
    ...     {"dataset": "CBF", "method": "neural", "seed": 1, "ari": 0.95},
    ...     {"dataset": "CBF", "method": "kmeans", "seed": 0, "ari": 0.42},
    ... ]
    >>> ax = plot_benchmark(runs)
    >>> [round(float(bar.get_height()), 3) for bar in ax.patches]
    [0.955, 0.42]
    """
    plt = _pyplot()
    from ._benchmark import as_results, summarise

    summary = summarise(as_results(results), metric)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 + 1.3 * len(summary.datasets), 3.6))
    width = 0.8 / max(1, len(summary.methods))
    x = np.arange(len(summary.datasets))
    for i, method in enumerate(summary.methods):
        means = [summary.mean[d, method] for d in summary.datasets]
        stds = [summary.std[d, method] for d in summary.datasets]
        ax.bar(x + i * width - 0.4 + width / 2, means, width, yerr=stds, label=method, capsize=2)
    ax.set_xticks(x, summary.datasets, rotation=20)
    ax.set_ylabel(metric)
    if metric.endswith(("seconds", "_mb")):
        ax.set_yscale("log")
    ax.legend(fontsize=7, ncol=2)
    if path is not None:
        _save_figure(ax, path)
    return ax


def plot_scaling(
    rows: Any,
    path: str | None = None,
    *,
    x: str = "n_samples",
    y: str = "fit_seconds",
    ax: Axes | None = None,
) -> Axes:
    """Draw a log-log scaling chart, one line per method.

    Parameters
    ----------
    rows : str, path, DataFrame or list of dict
        The path of a ``scaling.csv`` that ``benchmarks/scaling.py`` wrote,
        that file read by pandas, or one mapping per run with the keys
        ``"method"``, ``x`` and ``y``.
    path : str, default=None
        Save the figure there as PNG.
    x, y : str
        The keys on each axis.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> from skts.plotting import plot_scaling
    >>> rows = [
    ...     {"method": "neural", "n_samples": 1_000, "fit_seconds": 6.0},
    ...     {"method": "neural", "n_samples": 10_000, "fit_seconds": 14.0},
    ...     {"method": "kmeans", "n_samples": 1_000, "fit_seconds": 0.1},
    ... ]
    >>> ax = plot_scaling(rows)
    >>> [line.get_label() for line in ax.lines], ax.get_xscale()
    (['neural', 'kmeans'], 'log')
    """
    plt = _pyplot()
    rows = _scaling_rows(rows)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 3.8))
    for method in dict.fromkeys(r["method"] for r in rows):
        points = sorted(
            (float(r[x]), float(r[y]))
            for r in rows
            if r["method"] == method and np.isfinite(float(r[y]))
        )
        if points:
            ax.plot(*zip(*points), marker="o", label=method)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(fontsize=7)
    if path is not None:
        _save_figure(ax, path)
    return ax


def _scaling_rows(rows: Any) -> list[Any]:
    """Rows of a scaling run from a ``scaling.csv`` path, a DataFrame or mappings."""
    if isinstance(rows, (str, os.PathLike)):
        with open(rows, newline="") as f:
            return list(csv.DictReader(f))
    if _is_dataframe(rows):
        return rows.to_dict("records")
    return list(rows)
