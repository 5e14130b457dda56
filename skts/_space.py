"""The clustering space of a clusterer's embeddings, and the centres found in it.

Each embedding feature is standardised, heavy-tailed features are damped
(:func:`tail_weights`), one weighting of the encoder's is applied, and PCA
reduces the result (:func:`affine_map`); the centres are the means of
Ward's clusters or of the spectral clusters of a neighbourhood graph
(:func:`neighbourhood_graph`), or KMeans's (:func:`find_partition`). When
the encoder offers several weightings, :func:`choose_space` keeps the
first unless another's partition is markedly more stable when the
centres are found again on subsamples (:func:`instability`;
``benchmarks/NOTES.md``, "Falling back on the random kernels when the
partition is unstable"). The space kept can then be whitened by its
clusters' pooled covariance (:func:`within_cluster_whitening`), or each
branch of the encoder in a space of its own, whitened by the clusters
found again there (:func:`branch_whitening`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral
from typing import NamedTuple

import numpy as np
from scipy import sparse
from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering
from sklearn.covariance import ledoit_wolf
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, pairwise_distances_argmin
from sklearn.neighbors import kneighbors_graph

from ._sampling import sample_rows

# Series used to estimate the standardisation and PCA of the clustering space.
SPACE_SAMPLES = 20_000
# Ward linkage holds n * (n - 1) / 2 distances: 100 MB and about 2 s at 5 000.
WARD_SAMPLES = 5_000
# The stability of a partition: centres found again on 80 % subsamples of at
# most STABILITY_SAMPLES series, STABILITY_DRAWS times. Another weighting
# of the features replaces the encoder's first only when the first's
# instability exceeds STABILITY_MARGIN times the other's by more than
# STABILITY_FLOOR, so that two near-zero estimates never decide.
STABILITY_SAMPLES = 500
STABILITY_DRAWS = 50
STABILITY_MARGIN = 2.0
STABILITY_FLOOR = 0.05
# The neighbourhood graph of centers="spectral": each series joined to its
# GRAPH_NEIGHBORS nearest (benchmarks/NOTES.md, "The order of events: the
# embedding holds it, the partition misses it").
GRAPH_NEIGHBORS = 10
# branch_whitening's rounds: the clusters found again in every branch and
# the series assigned again, until none changes or this many rounds.
BRANCH_ROUNDS = 20


class Partition(NamedTuple):
    """The clusters found in a space: their centres, and the points they were found on."""

    centers: np.ndarray  # (n_clusters, n_dims): the means of the clusters
    points: np.ndarray  # the rows clustered (a sample of large sets)
    labels: np.ndarray  # the cluster of each of those rows


def choose_space(
    Z: np.ndarray,
    candidates: Sequence[np.ndarray | None],
    find: Callable[[np.ndarray], Partition],
    seed: int,
    *,
    kurtosis_power: float,
    n_components: float | int | None,
) -> tuple[tuple[np.ndarray, np.ndarray, Partition], int, np.ndarray]:
    """``((offset, projection, partition), index, instability)``: the space kept.

    ``candidates`` are weightings of the features (None for none); ``find``
    partitions points of a space. With one candidate, its space,
    unmeasured (``instability`` NaN): there is nothing to choose. With
    several, the first unless its instability exceeds ``STABILITY_MARGIN``
    times the lowest of the others' by more than ``STABILITY_FLOOR``, in
    which case that one.
    """
    choose = len(candidates) > 1
    spaces, measured = [], np.full(len(candidates), np.nan)
    for i, weights in enumerate(candidates):
        offset, projection = affine_map(
            Z, seed, kurtosis_power=kurtosis_power, n_components=n_components, weights=weights
        )
        embedded = (Z - offset) @ projection
        partition = find(embedded)
        spaces.append((offset, projection, partition))
        if choose:
            measured[i] = instability(embedded, partition.centers, find, seed)
    index = 0
    if choose:
        others = np.arange(1, len(candidates))
        best = others[np.argmin(measured[others])]
        if measured[0] > STABILITY_MARGIN * measured[best] + STABILITY_FLOOR:
            index = int(best)
    return spaces[index], index, measured


def instability(
    embedded: np.ndarray,
    centers: np.ndarray,
    find: Callable[[np.ndarray], Partition],
    seed: int,
) -> float:
    """1 - the mean ARI between the partition and those found on subsamples.

    On at most ``STABILITY_SAMPLES`` series, ``STABILITY_DRAWS`` times: the
    centres are found again (``find``) on a random 80 % of them, and the
    labels they give are compared with those of ``centers``. 0 means every
    subsample finds the same partition; NaN when a subsample would hold
    fewer series than there are centres.
    """
    rng = np.random.RandomState(seed)
    embedded = sample_rows(embedded, STABILITY_SAMPLES, rng)
    labels = pairwise_distances_argmin(embedded, centers)
    n_draw = int(0.8 * embedded.shape[0])
    if n_draw < centers.shape[0]:
        return float("nan")
    agreement = []
    for _ in range(STABILITY_DRAWS):
        rows = rng.choice(embedded.shape[0], n_draw, replace=False)
        again = pairwise_distances_argmin(embedded[rows], find(embedded[rows]).centers)
        agreement.append(adjusted_rand_score(labels[rows], again))
    return 1.0 - float(np.mean(agreement))


def affine_map(
    Z: np.ndarray,
    seed: int,
    *,
    kurtosis_power: float,
    n_components: float | int | None,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(offset, projection)``: standardise, weight, then PCA, as one affine map.

    Heavy-tailed features are down-weighted (``kurtosis_power``, see
    :func:`tail_weights`) and ``weights``, when given, applied. Means,
    scales, weights and components are estimated on at most
    ``SPACE_SAMPLES`` series (all of them on smaller sets); constant
    features get weight 0. ``n_components`` is PCA's (None: no PCA).
    """
    rng = np.random.RandomState(seed)
    Z = sample_rows(Z, SPACE_SAMPLES, rng)
    Z = Z.astype(np.float64)
    offset = Z.mean(axis=0)
    std = Z.std(axis=0)
    scale = np.where(std > 1e-8, 1.0 / np.where(std > 1e-8, std, 1.0), 0.0)
    standardised = (Z - offset) * scale
    factor = np.ones(Z.shape[1])
    if kurtosis_power > 0:
        factor *= tail_weights(standardised, kurtosis_power)
    if weights is not None:
        factor *= weights
    scale *= factor
    standardised *= factor
    projection = np.diag(scale)
    if n_components is not None and Z.shape[0] > 1 and np.any(scale > 0):
        if isinstance(n_components, Integral):
            n_components = min(n_components, *standardised.shape)
        # The covariance's eigenvectors are the SVD's components (to 1e-14)
        # and cost less once the series are at least half as many as the
        # features: 0.6 against 4.5 s on 20 000 series of 1 128 features.
        n, d = standardised.shape
        solver = "covariance_eigh" if 2 * n >= d else "full"
        pca = PCA(n_components=n_components, svd_solver=solver, random_state=rng)
        pca.fit(standardised)
        offset = offset + np.divide(pca.mean_, scale, out=np.zeros_like(offset), where=scale > 0)
        projection = projection @ pca.components_.T
    return offset.astype(np.float32), projection.astype(np.float32)


def find_partition(
    embedded: np.ndarray, n_clusters: int, *, method: str, n_init: int, seed: int
) -> Partition:
    """The ``n_clusters`` clusters of the points ``embedded``, and their centres.

    ``method="ward"``: Ward's agglomerative clusters, on at most
    ``WARD_SAMPLES`` points; ``"spectral"``: the spectral clusters of the
    same points' :func:`neighbourhood_graph` (Ward's where there are too
    few points for one); ``"kmeans"``: KMeans's with ``n_init`` restarts,
    on every point. The centres are the clusters' means; one cluster is
    every point.
    """
    if n_clusters == 1:  # Ward's linkage needs two series; one centre is the mean
        labels = np.zeros(embedded.shape[0], dtype=np.intp)
    elif method == "kmeans":
        kmeans = KMeans(n_clusters, n_init=n_init, random_state=seed).fit(embedded)
        return Partition(kmeans.cluster_centers_, embedded, kmeans.labels_)
    elif method == "spectral":
        embedded, labels = spectral_partition(embedded, n_clusters, n_init=n_init, seed=seed)
    else:
        embedded = sample_rows(embedded, WARD_SAMPLES, np.random.RandomState(seed))
        labels = AgglomerativeClustering(n_clusters, linkage="ward").fit_predict(embedded)
    centers = np.stack([embedded[labels == c].mean(axis=0) for c in range(n_clusters)])
    return Partition(centers, embedded, labels)


def spectral_partition(
    embedded: np.ndarray, n_clusters: int, *, n_init: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(points, labels)``: the spectral clusters of at most ``WARD_SAMPLES`` points.

    ``points`` are the rows of ``embedded`` drawn (all of them on smaller
    sets) and ``labels`` their clusters in their :func:`neighbourhood_graph`;
    Ward's clusters where there are too few points for a graph, or where
    the graph gives fewer than ``n_clusters``.
    """
    embedded = sample_rows(embedded, WARD_SAMPLES, np.random.RandomState(seed))
    labels = None
    if embedded.shape[0] > n_clusters + 1:
        labels = SpectralClustering(
            n_clusters, affinity="precomputed", n_init=n_init, random_state=seed
        ).fit_predict(neighbourhood_graph(embedded))
    if labels is None or len(np.unique(labels)) < n_clusters:
        labels = AgglomerativeClustering(n_clusters, linkage="ward").fit_predict(embedded)
    return embedded, labels


def neighbourhood_graph(embedded: np.ndarray) -> sparse.csr_matrix:
    """The symmetric graph joining each point to its ``GRAPH_NEIGHBORS`` nearest.

    Sparse, 1 where two points are each among the other's nearest, 0.5
    where one is among the other's.
    """
    graph = kneighbors_graph(embedded, min(GRAPH_NEIGHBORS, embedded.shape[0] - 1))
    return sparse.csr_matrix(0.5 * (graph + graph.T))


def within_cluster_whitening(
    embedded: np.ndarray, centers: np.ndarray, seed: int, *, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(transform, centers)``: the space whitened by its clusters' pooled covariance.

    Each point belongs to the cluster ``labels`` gives it, or, without
    ``labels``, to its nearest centre. The covariance of the points
    around the means of their clusters, shrunk by Ledoit and Wolf's
    formula, is estimated on at most ``SPACE_SAMPLES`` points, and
    ``transform`` (symmetric, of shape (n_dims, n_dims)) maps it to the
    identity: Euclidean distances after ``embedded @ transform`` are the
    clusters' Mahalanobis distances, so that nearest-centre assignment
    follows elongated clusters, as a Gaussian mixture with one shared
    covariance would. ``centers`` are the clusters' means, mapped. Returns
    the identity and the centres unchanged where there is nothing to
    estimate (one point, or no spread around the means).
    """
    n_dims = embedded.shape[1]
    rows = sample_rows(np.arange(embedded.shape[0]), SPACE_SAMPLES, np.random.RandomState(seed))
    sample = embedded[rows].astype(np.float64)
    labels = pairwise_distances_argmin(sample, centers) if labels is None else labels[rows]
    means = np.asarray(centers, dtype=np.float64).copy()
    for c in np.unique(labels):
        means[c] = sample[labels == c].mean(axis=0)
    residuals = sample - means[labels]
    if sample.shape[0] < 2 or not np.any(residuals):
        return np.eye(n_dims), np.asarray(centers, dtype=np.float64)
    covariance = ledoit_wolf(residuals, assume_centered=True)[0]
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, 1e-12 * values.max())
    transform = (vectors / np.sqrt(values)) @ vectors.T
    return transform, means @ transform


def branch_whitening(
    Z: np.ndarray,
    offset: np.ndarray,
    branches: np.ndarray,
    labels: np.ndarray,
    n_clusters: int,
    seed: int,
    *,
    kurtosis_power: float,
    n_components: float | int | None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(projection, centers)``: each branch in a space of its own, whitened by its clusters.

    ``Z`` are the rows the space is estimated on (at most ``SPACE_SAMPLES``
    of them), ``labels`` their clusters (of ``n_clusters``), and ``branches`` names the branch
    of each feature. Each branch's features get a space of their own
    (:func:`affine_map`, from ``offset``), so that PCA keeps every
    branch's main directions, not only those of the branch with the most
    variance; a branch's map reads only its own columns. In rounds, each branch finds the clusters again (every row to
    the nearest of the clusters' means there) and is whitened by them
    (:func:`within_cluster_whitening`); the branches' whitened spaces side
    by side give the squared distance to a cluster as the sum of the
    branches' Mahalanobis distances, and each row goes to the nearest
    cluster. The rounds stop when no row changes, or after
    ``BRANCH_ROUNDS``. Returns None when a branch has no variance, or
    when the first round already empties a cluster; a later round that
    would empty one is not taken.
    """
    if np.bincount(labels, minlength=n_clusters).min() == 0:
        return None
    # Each branch's map reads its own columns only: no float64 copy of every feature.
    columns, projections, embedded = [], [], []
    for branch in np.unique(branches):
        where = np.flatnonzero(branches == branch)
        _, projection = affine_map(
            Z[:, where], seed, kurtosis_power=kurtosis_power, n_components=n_components
        )
        if not np.any(projection):
            return None
        projection = projection.astype(np.float64)
        columns.append(where)
        projections.append(projection)
        embedded.append((Z[:, where].astype(np.float64) - offset[where]) @ projection)
    kept = None
    for _ in range(BRANCH_ROUNDS):
        transforms, centers = [], []
        for points in embedded:
            means = np.stack([points[labels == c].mean(axis=0) for c in range(n_clusters)])
            transform, mapped = within_cluster_whitening(points, means, seed)
            transforms.append(transform)
            centers.append(mapped)
        whitened = np.hstack([points @ t for points, t in zip(embedded, transforms)])
        assigned = pairwise_distances_argmin(whitened, np.hstack(centers))
        if np.bincount(assigned, minlength=n_clusters).min() == 0:
            break
        kept = (transforms, centers)
        if np.array_equal(assigned, labels):
            break
        labels = assigned
    if kept is None:
        return None
    transforms, centers = kept
    projection = np.zeros((Z.shape[1], sum(t.shape[1] for t in transforms)))
    start = 0
    for where, p, t in zip(columns, projections, transforms):
        projection[where, start : start + t.shape[1]] = p @ t
        start += t.shape[1]
    return projection, np.hstack(centers)


def tail_weights(standardised: np.ndarray, power: float) -> np.ndarray:
    """Weights ``min(1, 3 / kurtosis) ** power`` of standardised features (columns).

    A feature whose kurtosis exceeds a Gaussian's (3) is heavy-tailed: a
    few series far from the others make most of its variance. Constant
    (all-zero) columns get weight 1; their scale is already 0.
    """
    second = np.zeros(standardised.shape[1])
    fourth = np.zeros(standardised.shape[1])
    for start in range(0, standardised.shape[0], 4096):  # bounded temporaries
        squares = standardised[start : start + 4096] ** 2
        second += squares.sum(axis=0)
        fourth += (squares**2).sum(axis=0)
    second /= standardised.shape[0]
    fourth /= standardised.shape[0]
    kurtosis = np.divide(fourth, second**2, out=np.full_like(fourth, 3.0), where=second > 0)
    return np.minimum(1.0, 3.0 / kurtosis) ** power
