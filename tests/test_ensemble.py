import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV

from skts import (
    ConsensusClusterer,
    NeuralNetClusterer,
    PaddingTransformer,
    TimeSeriesScaler,
    make_kmeans_baseline,
)
from skts.datasets import make_time_series_clusters
from skts.ensemble import _co_association, _co_association_clusters, _majority_mapping
from skts.metrics import hungarian_scorer


class ScriptedClusterer(ClusterMixin, BaseEstimator):
    """Returns one of ``partitions``, chosen by ``random_state`` modulo their number."""

    def __init__(self, partitions=(), n_clusters=2, random_state=None):
        self.partitions = partitions
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, X, y=None):
        self.labels_ = np.asarray(self.partitions[self.random_state % len(self.partitions)])
        return self

    def predict(self, X):
        return self.labels_[: len(X)]


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.RandomState(0)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    y = np.repeat(np.arange(3), 40)
    return centres[y] + rng.normal(scale=0.5, size=(120, 2)), y


def test_co_association_finds_the_partition_most_fits_agree_on():
    labels = np.array(
        [
            [0, 0, 1, 1, 2, 2],
            [2, 2, 0, 0, 1, 1],  # the same partition, other ids
            [0, 0, 1, 1, 1, 2],  # one series moved
        ]
    )
    consensus = _co_association_clusters(labels, 3)
    assert adjusted_rand_score([0, 0, 1, 1, 2, 2], consensus) == 1.0


def test_co_association_counts_agreeing_partitions_and_never_pairs_noise():
    labels = np.array([[0, 0, -1, -1], [0, 1, -1, -1]])
    together = _co_association(labels)
    np.testing.assert_allclose(together[0], [1.0, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(together[2:, 2:], 0.0)  # noise is never "together"


def test_majority_mapping_sends_each_cluster_to_its_largest_overlap():
    row = np.array([0, 0, 0, 2, 2, -1])
    consensus = np.array([1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(_majority_mapping(row, consensus), [1, -1, 0])


def test_vote_follows_the_majority_and_reports_agreement():
    good = [0, 0, 0, 1, 1, 1]
    partitions = ([1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 1])
    est = ConsensusClusterer(ScriptedClusterer(partitions), n_estimators=9, random_state=0)
    est.fit(np.zeros((6, 1)))
    assert adjusted_rand_score(good, est.labels_) == 1.0
    votes = [est.estimators_[i].random_state % 3 for i in range(9)]
    # The third series is in the odd cluster only in the third partition.
    odd = np.mean([v == 2 for v in votes])
    np.testing.assert_allclose(est.agreement_[2], 1 - odd)
    np.testing.assert_allclose(est.agreement_[[0, 1, 3, 4, 5]], 1.0)


def test_a_tied_vote_goes_to_the_fit_that_agrees_most_with_the_consensus():
    est = ConsensusClusterer(n_estimators=4)
    est.n_clusters_, est.mappings_ = 3, [np.arange(3)] * 4  # each fit's ids are the consensus's
    est.member_agreement_ = np.array([0.1, 0.2, 0.9, 0.3])
    labels = np.array(
        [
            [0, 0, 0, 2],  # no tie: three votes for 0
            [0, 0, 1, 1],  # 0 and 1 tie; fit 2 agrees most and votes 1
            [0, 1, 2, 2],  # 2 wins outright
            [2, 1, 0, 1],  # 1 wins outright (fits 1 and 3)
            [0, 1, 1, 0],  # 0 and 1 tie; fit 2 votes 1
            [2, 1, 0, 0],  # 0 wins outright
            [2, 2, 1, 1],  # tie; fit 2 votes 1
            [2, 2, 0, 1],  # 2 wins outright
        ]
    ).T
    counts, ties = est._tally(labels)
    np.testing.assert_array_equal((counts + ties).argmax(axis=1), [0, 1, 2, 1, 1, 0, 1, 2])
    # Without fit 2, fit 3 is next: it breaks the tie between its 1 and fit 0's 2.
    est.member_agreement_ = np.array([0.1, 0.2, 0.9, 0.3])[[0, 1, 3]]
    est.mappings_ = est.mappings_[:3]
    counts, ties = est._tally(np.array([[2], [0], [1]]))
    assert (counts + ties).argmax(axis=1).tolist() == [1]
    # A model saved before member_agreement_ existed keeps its ties at the lowest id.
    del est.member_agreement_
    counts, ties = est._tally(np.array([[2], [0], [1]]))
    assert not ties.any() and (counts + ties).argmax(axis=1).tolist() == [0]


def test_kmeans_members_recover_separated_blobs(blobs):
    X, y = blobs
    est = ConsensusClusterer(KMeans(3, n_init=1), n_estimators=5, random_state=0).fit(X)
    assert len(est.estimators_) == 5
    assert len({m.random_state for m in est.estimators_}) == 5
    assert adjusted_rand_score(y, est.labels_) == 1.0
    np.testing.assert_allclose(est.member_agreement_, 1.0)
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), est.labels_)
    assert est.n_features_in_ == 2 and est.n_clusters_ == 3


def test_n_clusters_overrides_the_estimators(blobs):
    X, _ = blobs
    est = ConsensusClusterer(KMeans(5, n_init=1), n_clusters=2, n_estimators=3, random_state=0)
    est.fit(X)
    assert all(m.n_clusters == 2 for m in est.estimators_)
    assert set(np.unique(est.labels_)) == {0, 1}


@pytest.mark.parametrize("n_samples", [1, 5])
def test_one_cluster_holds_every_series_even_one(blobs, n_samples):
    X, _ = blobs
    est = ConsensusClusterer(KMeans(1, n_init=1), n_estimators=3, random_state=0)
    est.fit(X[:n_samples])
    np.testing.assert_array_equal(est.labels_, np.zeros(n_samples))
    np.testing.assert_array_equal(est.agreement_, np.ones(n_samples))
    np.testing.assert_array_equal(est.predict(X[:7]), np.zeros(7))


def test_max_samples_caps_the_co_association_and_labels_every_series(blobs, monkeypatch):
    X, y = blobs
    seen = []
    original = _co_association_clusters

    def spy(labels, n_clusters):
        seen.append(labels.shape)
        return original(labels, n_clusters)

    monkeypatch.setattr("skts.ensemble._co_association_clusters", spy)
    est = ConsensusClusterer(KMeans(3, n_init=1), n_estimators=3, max_samples=30, random_state=0)
    est.fit(X)
    assert seen == [(3, 30)]
    assert est.labels_.shape == (120,)
    assert adjusted_rand_score(y, est.labels_) == 1.0


def test_pipeline_members_get_their_seed_and_cluster_count_in_nested_steps():
    X, _ = make_time_series_clusters(n_samples_per_cluster=20, random_state=0)
    member = make_kmeans_baseline(n_clusters=5, n_init=1)
    est = ConsensusClusterer(member, n_clusters=3, n_estimators=3, random_state=0).fit(X)
    seeds = [m.named_steps["kmeans"].random_state for m in est.estimators_]
    assert len(set(seeds)) == 3 and all(isinstance(s, int) for s in seeds)
    assert all(m.named_steps["kmeans"].n_clusters == 3 for m in est.estimators_)
    assert member.named_steps["kmeans"].random_state is None  # the template is untouched
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    assert set(np.unique(est.labels_)) == {0, 1, 2}


def test_same_seed_same_labels(blobs):
    X, _ = blobs
    make = lambda: ConsensusClusterer(KMeans(3, n_init=1), n_estimators=3, random_state=7)  # noqa: E731
    a, b = make().fit(X), make().fit(X)
    assert [m.random_state for m in a.estimators_] == [m.random_state for m in b.estimators_]
    np.testing.assert_array_equal(a.labels_, b.labels_)


class NoSeed(ClusterMixin, BaseEstimator):
    def __init__(self, n_clusters=2):
        self.n_clusters = n_clusters

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


class NoClusterCount(ClusterMixin, BaseEstimator):
    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y=None):
        self.labels_ = np.zeros(len(X), dtype=int)
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(estimator=NoSeed()), "NoSeed has no random_state parameter"),
        (dict(estimator=NoClusterCount()), "n_clusters=None and the estimator NoClusterCount"),
        (dict(estimator=KMeans(3), n_estimators=0), "'n_estimators' parameter"),
        (dict(estimator=KMeans(3), max_samples=1), "'max_samples' parameter"),
        (dict(estimator=KMeans(50, n_init=1)), "n_samples=10 should be >= n_clusters=50"),
        (dict(estimator=KMeans(5, n_init=1), max_samples=4), "max_samples=4 should be >= n_clu"),
    ],
)
def test_bad_parameters_raise_clear_errors(params, match):
    X = np.random.RandomState(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match=match):
        ConsensusClusterer(**params).fit(X)


def test_neural_members_on_ragged_series_grid_search_and_pickle():
    X, y = make_time_series_clusters(n_samples_per_cluster=15, random_state=0)
    X = PaddingTransformer().fit_transform(X)
    member = NeuralNetClusterer(
        3, max_epochs=1, batch_size=32, module__hidden_size=8, module__n_kernels=32
    )
    est = ConsensusClusterer(member, n_estimators=3, random_state=0).fit(X)
    assert est.labels_.shape == (45,)
    assert all(isinstance(m, NeuralNetClusterer) for m in est.estimators_)
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), est.labels_)
    search = GridSearchCV(
        ConsensusClusterer(member, n_estimators=1, random_state=0),
        {"estimator__module__n_kernels": [16, 32]},
        scoring=hungarian_scorer,
        cv=[(np.arange(45), np.arange(45))],
    ).fit(X, y)
    assert search.best_params_["estimator__module__n_kernels"] in (16, 32)
    assert 0.0 <= search.best_score_ <= 1.0


def test_without_an_estimator_the_members_are_default_neural_clusterers():
    X, y = make_time_series_clusters(n_samples_per_cluster=10, random_state=0)
    X = TimeSeriesScaler().fit_transform(X)  # each series has its own level and scale
    assert ConsensusClusterer()._base_estimator().n_clusters == 8  # KMeans's default
    est = ConsensusClusterer(n_clusters=3, n_estimators=2, random_state=0).fit(X)
    assert all(isinstance(m, NeuralNetClusterer) for m in est.estimators_)
    assert [m.n_clusters for m in est.estimators_] == [3, 3]
    assert est.estimators_[0].random_state != est.estimators_[1].random_state
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    assert adjusted_rand_score(y, est.labels_) > 0.5
