import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, KFold

from skts.metrics import CLUSTERING_SCORERS, clustering_accuracy, hungarian_scorer, match_labels


def test_perfect_clustering_with_other_ids_scores_one():
    assert clustering_accuracy([0, 0, 1, 1, 2, 2], [2, 2, 0, 0, 1, 1]) == 1.0


def test_matching_is_one_to_one():
    # Two classes in one cluster: only one of them can be matched to it.
    assert clustering_accuracy([0, 0, 1, 1], [5, 5, 5, 5]) == 0.5


def test_string_labels_and_unequal_numbers_of_clusters():
    y = np.array(["a", "a", "b", "b", "c", "c"])
    assert clustering_accuracy(y, [0, 0, 0, 0, 1, 1]) == pytest.approx(4 / 6)
    assert clustering_accuracy(y, [0, 1, 2, 3, 4, 5]) == pytest.approx(3 / 6)


def test_match_labels_maps_onto_classes():
    y = np.array(["a", "a", "b", "b", "c", "c"])
    matched = match_labels(y, [7, 7, 3, 3, 3, 9])
    assert matched.tolist() == ["a", "a", "b", "b", "b", "c"]
    assert accuracy_score(y, matched) == clustering_accuracy(y, [7, 7, 3, 3, 3, 9])


def test_match_labels_gives_extra_clusters_their_majority_class():
    y = np.array([0, 0, 0, 1, 1, 1])
    assert match_labels(y, [0, 0, 2, 1, 1, 1]).tolist() == [0, 0, 0, 1, 1, 1]


def test_metric_errors():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clustering_accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="at least one label"):
        clustering_accuracy([], [])


@settings(max_examples=200, deadline=None)
@given(
    labels=st.lists(st.integers(0, 5), min_size=1, max_size=60),
    seed=st.integers(0, 2**31 - 1),
)
def test_accuracy_is_invariant_under_relabelling(labels, seed):
    y = np.asarray(labels)
    perm = np.random.RandomState(seed).permutation(10)
    assert clustering_accuracy(y, perm[y]) == 1.0
    y_pred = np.random.RandomState(seed).randint(0, 4, size=y.size)
    assert clustering_accuracy(y, y_pred) == clustering_accuracy(y, perm[y_pred])


@settings(max_examples=200, deadline=None)
@given(
    k=st.integers(1, 6),
    per_class=st.integers(1, 10),
    seed=st.integers(0, 2**31 - 1),
)
def test_accuracy_of_balanced_classes_lies_between_one_over_k_and_one(k, per_class, seed):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(k), per_class)
    y_pred = rng.randint(0, k, size=y.size)
    score = clustering_accuracy(y, y_pred)
    assert 1.0 / k - 1e-12 <= score <= 1.0


def test_scorer_in_grid_search_with_kmeans():
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(3, 0.1, (20, 2))])
    y = np.repeat(["left", "right"], 20)
    search = GridSearchCV(
        KMeans(n_init=2, random_state=0),
        {"n_clusters": [1, 2]},
        scoring=hungarian_scorer,
        cv=KFold(2, shuffle=True, random_state=0),
    )
    search.fit(X, y)
    assert search.best_params_ == {"n_clusters": 2}
    assert search.best_score_ == 1.0
    multi = GridSearchCV(
        KMeans(n_init=2, random_state=0),
        {"n_clusters": [2]},
        scoring=CLUSTERING_SCORERS,
        refit="ari",
        cv=KFold(2, shuffle=True, random_state=0),
    )
    multi.fit(X, y)
    assert set(CLUSTERING_SCORERS) == {"accuracy", "ari", "nmi"}
    assert multi.cv_results_["mean_test_nmi"][0] == pytest.approx(1.0)
