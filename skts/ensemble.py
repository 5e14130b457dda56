"""Consensus clustering: one partition from several fits of a clusterer."""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

from ._sampling import sample_rows

__all__ = ["ConsensusClusterer"]


class ConsensusClusterer(ClusterMixin, BaseEstimator):
    """Consensus of several fits of a clusterer, each with its own seed.

    A neural clusterer's partition depends on its seed (the initial
    weights, the random kernels, the mini-batches). This meta-estimator
    fits ``n_estimators`` clones of ``estimator`` with different
    ``random_state`` values and combines their partitions in two steps:

    1. Co-association: on at most ``max_samples`` training series, the
       fraction of fits that put two series in the same cluster is their
       similarity; average-linkage agglomerative clustering of
       ``1 - similarity`` gives the consensus partition of those series.
    2. Vote: each fit's clusters are mapped to the consensus cluster they
       overlap most on those series; a series' label is the consensus
       cluster that most fits vote for, a tie going to the cluster of the
       fit whose partition agrees most with the consensus
       (``member_agreement_``). This
       labels every training series and any new series; ``predict`` on the
       training series returns ``labels_`` when each fit's ``predict``
       gives back its own labels, as ``NeuralNetClusterer``'s and
       ``KMeans``'s do.

    It costs ``n_estimators`` fits (in parallel with ``n_jobs``).

    Parameters
    ----------
    estimator : clusterer or Pipeline, default=None
        The clusterer to fit several times, with ``fit_predict`` and
        ``predict``. Each clone gets its own seed in every parameter named
        ``random_state`` (also those of a pipeline's steps,
        ``step__random_state``), and ``n_clusters`` in every parameter of
        that name. None uses ``NeuralNetClusterer(n_clusters)``.
    n_estimators : int, default=3
        The number of fits; an odd number avoids ties between two clusters.
        A vote helps where the fits disagree on a few series, not where most
        of them miss a split (``benchmarks/NOTES.md`` measures both with
        three fits of ``NeuralNetClusterer``).
    n_clusters : int, default=None
        The number of clusters, of the consensus and of each fit; None takes
        the ``n_clusters`` of ``estimator`` (8 when ``estimator`` is None).
    max_samples : int, default=2000
        The most training series that the co-association step reads, drawn
        at random; the others are labelled by the vote. It holds
        ``max_samples ** 2`` similarities: about 100 MB and 1 s at 2 000,
        600 MB and 5 s at 5 000.
    n_jobs : int, default=None
        Fits run in parallel (joblib); None means 1. Each PyTorch fit uses
        several threads already, so parallel fits pay off on many cores.
    random_state : int, RandomState instance or None, default=None
        Draws the seeds of the fits and the series of the co-association
        step.

    Attributes
    ----------
    estimators_ : list of clusterers
        The fitted clones.
    mappings_ : list of ndarray of int
        For each fit, the consensus cluster of each of its clusters (-1 for
        a cluster that none of the sampled series fell in).
    labels_ : ndarray of shape (n_samples,)
        The consensus cluster of each training series.
    agreement_ : ndarray of shape (n_samples,)
        The fraction of fits that vote for each training series' label.
    member_agreement_ : ndarray of shape (n_estimators,)
        The adjusted Rand index of each fit's partition with the consensus
        partition, on the series of the co-association step; ties in the
        vote go to the fits that agree most.
    n_clusters_ : int
        The number of consensus clusters.
    n_features_in_ : int
        The number of features seen in fit, when the estimator records it.

    See Also
    --------
    NeuralNetClusterer : The default estimator.
    make_kmeans_baseline : A seeded pipeline that can be the estimator too.

    Notes
    -----
    Co-association (evidence accumulation) follows Fred and Jain [1]_.
    ``benchmarks/NOTES.md`` gives the measured gain and cost.

    References
    ----------
    .. [1] A. Fred, A. K. Jain, "Combining multiple clusterings using
       evidence accumulation", IEEE Transactions on Pattern Analysis and
       Machine Intelligence, 27(6), 835-850, 2005.

    Examples
    --------
    Any clusterer or pipeline with a seed can be the member; here the KMeans
    baseline pipeline, which pads and z-normalises ragged series itself
    (``NeuralNetClusterer`` pipelines are used the same way):

    >>> from skts import ConsensusClusterer, make_kmeans_baseline
    >>> from skts.datasets import make_time_series_clusters
    >>> X, y = make_time_series_clusters(random_state=0)
    >>> member = make_kmeans_baseline(n_clusters=3, n_init=1)
    >>> consensus = ConsensusClusterer(member, n_estimators=3, random_state=0).fit(X)
    >>> consensus.labels_.shape
    (300,)
    >>> bool((consensus.predict(X) == consensus.labels_).all())
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit_predict", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "max_samples": [Interval(Integral, 2, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_estimators=3,
        n_clusters=None,
        max_samples=2000,
        n_jobs=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.n_clusters = n_clusters
        self.max_samples = max_samples
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags = get_tags(self._base_estimator()).input_tags
        return tags

    def _base_estimator(self):
        if self.estimator is not None:
            return self.estimator
        from .cluster import NeuralNetClusterer  # imports torch: only when needed

        return NeuralNetClusterer(8 if self.n_clusters is None else self.n_clusters)

    def fit(self, X, y=None):
        """Fit the clones and find the consensus partition.

        Parameters
        ----------
        X : array-like or list
            The series, in any form the estimator accepts.
        y : Ignored
            Not used; present for API consistency.

        Returns
        -------
        self : ConsensusClusterer
            The fitted estimator.
        """
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        base = self._base_estimator()
        params = base.get_params(deep=True)
        seed_keys = _keys_named(params, "random_state")
        if not seed_keys:
            raise ValueError(
                f"The estimator {type(base).__name__} has no random_state parameter (nor a "
                "step with one): a consensus over seeds needs one."
            )
        count_keys = _keys_named(params, "n_clusters")
        n_clusters = self.n_clusters
        if n_clusters is None:
            counts = {params[key] for key in count_keys}
            n_clusters = counts.pop() if len(counts) == 1 else None
            if not isinstance(n_clusters, Integral):
                raise ValueError(
                    f"n_clusters=None and the estimator {type(base).__name__} has no single "
                    f"integer n_clusters parameter (found {sorted(map(repr, counts))}): set "
                    "n_clusters."
                )
        if self.max_samples < n_clusters:
            raise ValueError(
                f"max_samples={self.max_samples} should be >= n_clusters={n_clusters}: the "
                "co-association step clusters that many series."
            )
        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_estimators)
        members = []
        for seed in seeds:
            member = clone(base).set_params(**{key: int(seed) for key in seed_keys})
            members.append(member.set_params(**{key: n_clusters for key in count_keys}))
        fitted = Parallel(n_jobs=self.n_jobs)(delayed(_fit)(member, X) for member in members)
        self.estimators_ = [member for member, _ in fitted]
        labels = np.stack([member_labels for _, member_labels in fitted])
        n_samples = labels.shape[1]
        if n_samples < n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={n_clusters}: there are "
                "fewer series than clusters."
            )
        sample = sample_rows(np.arange(n_samples), self.max_samples, rng)
        consensus = _co_association_clusters(labels[:, sample], n_clusters)
        self.mappings_ = [_majority_mapping(row[sample], consensus) for row in labels]
        self.member_agreement_ = np.array(
            [adjusted_rand_score(consensus, row[sample]) for row in labels]
        )
        self.n_clusters_ = int(n_clusters)
        counts, ties = self._tally(labels)
        votes = _fractions(counts)
        self.labels_ = (counts + ties).argmax(axis=1)
        self.agreement_ = votes.max(axis=1)
        if hasattr(self.estimators_[0], "n_features_in_"):
            self.n_features_in_ = self.estimators_[0].n_features_in_
        return self

    def _tally(self, labels):
        """The votes of the fits' ``labels`` for each consensus cluster, and a tie-break.

        Both of shape (n_samples, n_clusters_). In the tie-break, each fit
        adds ``2 ** -(rank + 1)`` to the cluster it votes for (rank 0: the
        fit that agrees most with the consensus), less than one vote in all,
        so that a tie goes to the cluster of the most agreeing fit among
        those voting for the tied clusters. Models fitted before
        ``member_agreement_`` existed give ties to the lowest id, as they
        did.
        """
        counts = np.zeros((labels.shape[1], self.n_clusters_))
        ties = np.zeros_like(counts)
        weights = np.zeros(len(labels))
        agreement = getattr(self, "member_agreement_", None)
        if agreement is not None:
            weights[np.argsort(-agreement, kind="stable")] = 0.5 ** np.arange(1, len(labels) + 1)
        rows = np.arange(labels.shape[1])
        for row, mapping, weight in zip(labels, self.mappings_, weights):
            mapped = _lookup(mapping, row)
            voted = mapped >= 0
            counts[rows[voted], mapped[voted]] += 1
            ties[rows[voted], mapped[voted]] += weight
        return counts, ties

    def _member_labels(self, X):
        """Each fit's labels of ``X``, (n_estimators, n_samples)."""
        check_is_fitted(self)
        return np.stack([np.asarray(member.predict(X)) for member in self.estimators_])

    def predict_proba(self, X):
        """Fraction of the fits that vote for each consensus cluster.

        Parameters
        ----------
        X : array-like or list
            The series, in any form the estimator accepts.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters_)
            Rows sum to 1. Where clusters tie, :meth:`predict` takes the
            one that the fit agreeing most with the consensus votes for.
        """
        return _fractions(self._tally(self._member_labels(X))[0])

    def predict(self, X):
        """The consensus cluster of each series.

        Parameters
        ----------
        X : array-like or list
            The series, in any form the estimator accepts.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The consensus cluster that most fits vote for.
        """
        counts, ties = self._tally(self._member_labels(X))
        return (counts + ties).argmax(axis=1)


def _fit(estimator: Any, X: Any) -> tuple[Any, np.ndarray]:
    """The fitted estimator and its labels of ``X``."""
    return estimator, np.asarray(estimator.fit_predict(X))


def _fractions(counts: np.ndarray) -> np.ndarray:
    """Each row of vote ``counts`` as fractions; uniform where no fit voted."""
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.full_like(counts, 1 / counts.shape[1]), where=total > 0)


def _keys_named(params: Iterable[str], name: str) -> list[str]:
    """Keys of ``params`` that are ``name`` or end in ``__name`` (nested steps)."""
    return [key for key in params if key == name or key.endswith(f"__{name}")]


def _co_association(labels: np.ndarray) -> np.ndarray:
    """The fraction of partitions (rows of ``labels``) that put each pair together."""
    n_samples = labels.shape[1]
    together = np.zeros((n_samples, n_samples))
    for row in labels:
        clustered = np.flatnonzero(row >= 0)  # noise (negative ids) is never together
        _, codes = np.unique(row[clustered], return_inverse=True)
        one_hot = np.zeros((n_samples, codes.max() + 1 if codes.size else 0))
        one_hot[clustered, codes] = 1.0
        together += one_hot @ one_hot.T
    return together / labels.shape[0]


def _co_association_clusters(labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Average-linkage clusters of ``1 -`` the co-association of the partitions."""
    if n_clusters == 1:  # the linkage needs two series; one cluster holds them all
        return np.zeros(labels.shape[1], dtype=np.intp)
    return AgglomerativeClustering(n_clusters, metric="precomputed", linkage="average").fit_predict(
        1.0 - _co_association(labels)
    )


def _majority_mapping(row: np.ndarray, consensus: np.ndarray) -> np.ndarray:
    """For each cluster id of ``row``, the consensus cluster it overlaps most (-1: absent).

    Negative ids (noise, as DBSCAN labels it) are not mapped and never vote.
    """
    mapping = np.full(max(int(row.max()) + 1, 0) if row.size else 0, -1)
    for cluster in np.unique(row[row >= 0]):
        mapping[cluster] = np.bincount(consensus[row == cluster]).argmax()
    return mapping


def _lookup(mapping: np.ndarray, row: np.ndarray) -> np.ndarray:
    """``mapping[row]``, with -1 for ids the mapping does not know."""
    known = (row >= 0) & (row < mapping.size)
    mapped = np.full(row.shape, -1)
    mapped[known] = mapping[row[known]]
    return mapped
