"""Scores that compare a clustering with known classes.

Cluster ids are arbitrary: cluster 0 of one run may be cluster 2 of another.
:func:`clustering_accuracy` therefore matches clusters to classes one to one
(the Hungarian algorithm, :func:`scipy.optimize.linear_sum_assignment`, on the
contingency matrix) before it counts agreements. The adjusted Rand index and
normalised mutual information of :mod:`sklearn.metrics` need no matching and
are offered beside it in :data:`CLUSTERING_SCORERS`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, make_scorer, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils.validation import check_consistent_length, column_or_1d

__all__ = [
    "CLUSTERING_SCORERS",
    "clustering_accuracy",
    "hungarian_scorer",
    "match_labels",
]


def _matching(y_true: Any, y_pred: Any) -> tuple[np.ndarray, ...]:
    """Contingency matrix and its best one-to-one cluster-to-class matching."""
    y_true = column_or_1d(y_true, warn=True)
    y_pred = column_or_1d(y_pred, warn=True)
    check_consistent_length(y_true, y_pred)
    if y_true.shape[0] == 0:
        raise ValueError("Expected at least one label, got empty y_true and y_pred.")
    classes, class_idx = np.unique(y_true, return_inverse=True)
    clusters, cluster_idx = np.unique(y_pred, return_inverse=True)
    table = contingency_matrix(class_idx, cluster_idx)  # (n_classes, n_clusters)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return y_true, classes, clusters, cluster_idx, table, rows, cols


def clustering_accuracy(y_true: Any, y_pred: Any) -> float:
    """Accuracy of a clustering after matching clusters to classes.

    Each cluster is matched to at most one class and each class to at most
    one cluster so that the number of agreements is largest; the score is the
    fraction of samples whose cluster is matched to their class. It is 1 for
    a perfect clustering whatever the cluster ids, and invariant under any
    relabelling of ``y_pred``. When there are more clusters than classes,
    the unmatched clusters count as errors, and conversely.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        The known classes; any hashable, sortable labels (ints, strings).
    y_pred : array-like of shape (n_samples,)
        The cluster labels.

    Returns
    -------
    accuracy : float
        In ``[0, 1]``.

    See Also
    --------
    match_labels : The predicted labels mapped onto the classes.
    sklearn.metrics.adjusted_rand_score : A matching-free agreement score.

    References
    ----------
    .. [1] H. W. Kuhn, "The Hungarian method for the assignment problem",
       Naval Research Logistics Quarterly, 2(1-2), 83-97, 1955.

    Examples
    --------
    >>> from skts.metrics import clustering_accuracy
    >>> clustering_accuracy(["a", "a", "b", "b"], [1, 1, 0, 0])
    1.0
    >>> clustering_accuracy([0, 0, 1, 1], [0, 1, 1, 1])
    0.75
    """
    y_true, _, _, _, table, rows, cols = _matching(y_true, y_pred)
    return float(table[rows, cols].sum() / y_true.shape[0])


def match_labels(y_true: Any, y_pred: Any) -> np.ndarray:
    """Map cluster labels onto the classes they match best.

    Clusters matched one to one by :func:`clustering_accuracy` take the
    label of their class. A cluster left without a class (when there are more
    clusters than classes) takes the class most of its members belong to, so
    ``accuracy_score(y_true, match_labels(y_true, y_pred))`` equals
    :func:`clustering_accuracy` whenever there are no more clusters than
    classes.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        The known classes.
    y_pred : array-like of shape (n_samples,)
        The cluster labels.

    Returns
    -------
    y_matched : ndarray of shape (n_samples,)
        ``y_pred`` expressed in the labels of ``y_true``.

    Examples
    --------
    >>> from skts.metrics import match_labels
    >>> match_labels(["a", "a", "b", "b"], [1, 1, 0, 0]).tolist()
    ['a', 'a', 'b', 'b']
    """
    _, classes, _, cluster_idx, table, rows, cols = _matching(y_true, y_pred)
    mapping = table.argmax(axis=0)  # majority class of every cluster
    mapping[cols] = rows
    return classes[mapping[cluster_idx]]


hungarian_scorer = make_scorer(clustering_accuracy)
"""A scikit-learn scorer for :func:`clustering_accuracy`.

It calls the estimator's ``predict``, so it scores a fitted clusterer (or a
``Pipeline`` ending in one) on held-out series, as ``GridSearchCV`` does:
``GridSearchCV(pipe, grid, scoring=hungarian_scorer)``.
"""

CLUSTERING_SCORERS = {
    "accuracy": hungarian_scorer,
    "ari": make_scorer(adjusted_rand_score),
    "nmi": make_scorer(normalized_mutual_info_score),
}
"""The scorers skts recommends, for ``GridSearchCV(scoring=CLUSTERING_SCORERS, refit="ari")``.

``"accuracy"`` is the Hungarian-matched accuracy, ``"ari"`` the adjusted Rand
index and ``"nmi"`` the normalised mutual information. All need labels.
"""
