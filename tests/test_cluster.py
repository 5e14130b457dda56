import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.cluster import AgglomerativeClustering
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import adjusted_rand_score, pairwise_distances_argmin
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback, Checkpoint, EarlyStopping, LRScheduler, ProgressBar
from skorch.dataset import ValidSplit
from torch.utils.data import Subset

import skts._space
import skts.cluster
from skts import NeuralNetClusterer, PaddingTransformer, TimeSeriesScaler, make_kmeans_baseline
from skts._batching import LengthGroupedBatches, random_crops
from skts._space import (
    affine_map,
    branch_whitening,
    find_partition,
    neighbourhood_graph,
    tail_weights,
    within_cluster_whitening,
)
from skts.cluster import _input_standardisation
from skts.datasets import load_dataset, make_time_series_clusters
from skts.metrics import clustering_accuracy, hungarian_scorer
from skts.nn import ConvEncoder, FeedForward, ShapeletEncoder, split_padding
from skts.nn.losses import target_distribution

FAST = dict(
    max_epochs=2,
    batch_size=32,
    n_init=2,
    module__hidden_size=8,
    module__n_kernels=32,
    module__n_shapelets=32,
)


def fast_clusterer(**kwargs):
    params = {**FAST, **kwargs}
    return NeuralNetClusterer(**params)


@pytest.fixture(scope="module")
def blobs_series():
    X, y = make_time_series_clusters(n_samples_per_cluster=20, random_state=0)
    return PaddingTransformer().fit_transform(X), y


def test_fit_sets_fitted_attributes(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    assert est.labels_.shape == (60,)
    assert set(np.unique(est.labels_)) <= {0, 1, 2}
    assert isinstance(est.cluster_centers_, np.ndarray) and est.cluster_centers_.shape[0] == 3
    assert est.n_features_in_ == X.shape[1]
    assert est.n_channels_ == 1
    assert est.n_iter_ == 2
    assert [row["phase"] for row in est.history_] == ["pretext", "pretext"]


def test_predict_proba_rows_sum_to_one_and_match_predict(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), est.predict(X))
    np.testing.assert_array_equal(est.predict(X), est.labels_)


@pytest.mark.parametrize("loss", [None, "dec"])
def test_labels_match_predict_across_uneven_inference_batches(blobs_series, loss):
    # 60 series in batches of 16: the last batch is filled, and labels_ (from the
    # embeddings fit computed, or from a fresh pass after refinement) must agree.
    X, _ = blobs_series
    est = fast_clusterer(
        n_clusters=3,
        random_state=0,
        clustering_loss=loss,
        clustering_epochs=2,
        iterator_valid__batch_size=16,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a collapsed toy cluster may warn
        est.fit(X)
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    np.testing.assert_array_equal(est.predict(X[::-1])[::-1], est.labels_)


def test_transform_lives_in_the_space_of_the_centres(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    Z = est.transform(X)
    assert Z.shape == (60, est.cluster_centers_.shape[1]) and Z.dtype == np.float32
    nearest = ((Z[:, None, :] - est.cluster_centers_[None]) ** 2).sum(-1).argmin(axis=1)
    np.testing.assert_array_equal(nearest, est.labels_)
    np.testing.assert_allclose(est.fit_transform(X), est.transform(X), rtol=1e-5, atol=1e-5)


def test_pipeline_set_output_gives_the_embeddings_as_a_dataframe():
    X, _ = make_time_series_clusters(n_samples_per_cluster=10, random_state=0)
    model = make_pipeline(
        PaddingTransformer(), TimeSeriesScaler(), fast_clusterer(n_clusters=3, random_state=0)
    )
    frame = model.set_output(transform="pandas").fit(X).transform(X)
    assert list(frame.columns) == list(model[-1].get_feature_names_out())
    assert frame.shape == (30, len(frame.columns))
    # The padded series cannot be a DataFrame: the steps before keep arrays.
    assert isinstance(model[:2].transform(X), np.ndarray)
    np.testing.assert_array_equal(
        frame.to_numpy(), model.set_output(transform="default").transform(X)
    )
    with pytest.raises(ValueError, match="one of 'default', 'pandas'.*got 'arrow'"):
        PaddingTransformer().set_output(transform="arrow")


def test_embeddings_have_feature_names_and_pandas_output(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    n_dims = est.cluster_centers_.shape[1]
    names = est.get_feature_names_out()
    assert names.tolist() == [f"neuralnetclusterer{i}" for i in range(n_dims)]
    frame = est.set_output(transform="pandas").transform(X)
    assert frame.columns.tolist() == names.tolist() and frame.shape == (60, n_dims)
    np.testing.assert_array_equal(
        frame.to_numpy(), est.set_output(transform="default").transform(X)
    )


def test_same_seed_same_labels_and_global_rng_untouched(blobs_series):
    X, _ = blobs_series
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = fast_clusterer(n_clusters=3, random_state=7).fit(X)
    assert torch.equal(torch.rand(1), expected_next)  # fit did not consume the global RNG
    b = fast_clusterer(n_clusters=3, random_state=7).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.transform(X), b.transform(X))


def test_a_pytorch_dataset_fits_and_predicts_as_its_series_do(blobs_series):
    from skts.datasets import TimeSeriesDataset

    X, y = blobs_series
    dataset = TimeSeriesDataset(X, y)  # (series, target) items; the targets are not used
    a = fast_clusterer(n_clusters=3, random_state=7).fit(dataset)
    b = fast_clusterer(n_clusters=3, random_state=7).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.predict(dataset), b.predict(X))


def test_unfitted_calls_raise_not_fitted(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3)
    for method in (est.predict, est.predict_proba, est.transform, est.score):
        with pytest.raises(NotFittedError):
            method(X)


def test_repr_shows_only_the_parameters_set_alone_in_a_pipeline_and_fitted(blobs_series):
    pipe = make_pipeline(PaddingTransformer(), NeuralNetClusterer(3, random_state=0))
    assert "NeuralNetClusterer(n_clusters=3, random_state=0)" in repr(pipe)
    est = fast_clusterer(n_clusters=3, lr=0.01)
    expected = repr(est)
    assert expected.startswith("NeuralNetClusterer(") and "lr=0.01" in expected
    assert "n_clusters=3" in expected and "module" not in expected.replace("module__", "")
    est.fit(blobs_series[0])
    assert repr(est) == expected


def test_clone_gives_an_unfitted_copy_with_the_same_params(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, module__hidden_size=4, random_state=0).fit(X)
    twin = clone(est)
    assert not hasattr(twin, "labels_")
    assert twin.get_params()["module__hidden_size"] == 4
    assert twin.get_params()["n_clusters"] == 3


@pytest.mark.parametrize("dump, load", [(pickle.dumps, pickle.loads), (None, None)])
def test_pickle_and_joblib_round_trip(blobs_series, tmp_path, dump, load):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    if dump is None:
        joblib.dump(est, tmp_path / "model.joblib")
        again = joblib.load(tmp_path / "model.joblib")
    else:
        again = load(dump(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    np.testing.assert_allclose(again.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(again.labels_, est.labels_)


def test_fixed_length_is_checked_with_a_hint(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    with pytest.raises(
        ValueError,
        match="X has 5 features, but NeuralNetClusterer is expecting 19.*PaddingTransformer",
    ):
        est.predict(X[:, :5])
    with pytest.raises(ValueError, match="Expected series with 1 channels"):
        est.predict(np.repeat(X, 2, axis=2))


def test_pipeline_predicts_series_longer_and_shorter_than_in_fit():
    X, y = make_time_series_clusters(n_samples_per_cluster=20, random_state=0)
    pipe = make_pipeline(
        PaddingTransformer(on_truncate="ignore"),
        TimeSeriesScaler(),
        fast_clusterer(n_clusters=3, random_state=0),
    )
    pipe.fit(X)
    rng = np.random.RandomState(0)
    longer = [rng.normal(size=40) for _ in range(3)]
    shorter = [rng.normal(size=3) for _ in range(3)]
    assert pipe.predict(longer).shape == (3,)
    assert pipe.predict(shorter).shape == (3,)
    assert pipe.predict_proba(longer + shorter).shape == (6, 3)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_clusters": 0}, "'n_clusters' parameter"),
        ({"lr": -1.0}, "'lr' parameter"),
        ({"max_epochs": "forever"}, "'max_epochs' parameter"),
        ({"clustering_loss": "kmeans"}, "'clustering_loss' parameter"),
        ({"mask_ratio": 1.0}, "'mask_ratio' parameter"),
        ({"mask_span": -0.1}, "'mask_span' parameter"),
        ({"n_components": 1.5}, "'n_components' parameter"),
        ({"crop_length": 0}, "'crop_length' parameter"),
        ({"kurtosis_power": -1.0}, "'kurtosis_power' parameter"),
        ({"centers": "dbscan"}, "'centers' parameter"),
        ({"module": "feedforward"}, "'module' parameter .* Got 'feedforward'"),
        ({"warm_start": True}, "warm_start=True is not supported"),
    ],
)
def test_bad_parameters_raise_clear_errors(blobs_series, params, match):
    X, _ = blobs_series
    with pytest.raises(ValueError, match=match):
        fast_clusterer(**params).fit(X)


def test_more_clusters_than_series_is_an_error():
    with pytest.raises(ValueError, match="n_samples=4 should be >= n_clusters=5"):
        fast_clusterer(n_clusters=5).fit(np.random.RandomState(0).normal(size=(4, 10)))


@pytest.mark.parametrize("centers", ["ward", "spectral", "kmeans"])
@pytest.mark.parametrize("n_series", [1, 6])
def test_one_cluster_is_centred_on_the_mean_even_for_one_series(centers, n_series):
    X = np.random.RandomState(0).normal(size=(n_series, 10))
    est = fast_clusterer(n_clusters=1, centers=centers, random_state=0).fit(X)
    np.testing.assert_array_equal(est.labels_, np.zeros(n_series))
    np.testing.assert_allclose(
        est.cluster_centers_, est.transform(X).mean(axis=0, keepdims=True), atol=1e-5
    )
    np.testing.assert_allclose(est.predict_proba(X), 1.0)


@pytest.mark.parametrize(
    "device, match",
    [
        ("gpu", "is not a device"),
        ("cuda:99", "CUDA"),
        ("tpu", "is not a device"),
        ("meta", "is not supported"),
        pytest.param(
            "mps",
            "MPS is not available on this machine",
            marks=pytest.mark.skipif(
                torch.backends.mps.is_available(), reason="checks the error raised without MPS"
            ),
        ),
    ],
)
def test_bad_device_names_what_is_available(blobs_series, device, match):
    X, _ = blobs_series
    with pytest.raises(ValueError, match=match) as info:
        fast_clusterer(n_clusters=3, device=device).fit(X)
    assert "Available here" in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_without_gpu_is_a_clear_error(blobs_series):
    X, _ = blobs_series
    with pytest.raises(ValueError, match="CUDA is not available on this machine.*'cpu'"):
        fast_clusterer(n_clusters=3, device="cuda").fit(X)


def test_auto_device_fits_and_stays_auto(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, device="auto", random_state=0).fit(X)
    assert est.device == "auto"
    again = pickle.loads(pickle.dumps(est))
    assert again.device == "auto"
    np.testing.assert_array_equal(again.predict(X), est.labels_)


def test_set_params_reaches_module_optimizer_and_iterator(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0)
    est.set_params(
        module__hidden_size=5, optimizer__weight_decay=0.01, iterator_train__drop_last=True
    )
    est.fit(X)
    assert est.module_.encoder.learned.blocks[0].conv.out_channels == 5
    assert est.optimizer_.param_groups[0]["weight_decay"] == 0.01


def test_mask_span_reaches_the_pretext_and_its_validation(blobs_series, monkeypatch):
    import skts.nn.model as model_module

    X, _ = blobs_series
    spans = []
    draw = model_module.draw_hidden_spans

    def recording(mask, ratio, span, generator=None):
        spans.append((ratio, span))
        return draw(mask, ratio, span, generator)

    monkeypatch.setattr(model_module, "draw_hidden_spans", recording)
    est = fast_clusterer(n_clusters=3, random_state=0, mask_ratio=0.2, mask_span=0.25).fit(X)
    assert est.module_.mask_span == 0.25
    assert spans and set(spans) == {(0.2, 0.25)}
    # score hides what training would: longer spans are harder to fill in.
    hidden = est._held_out(X.astype(np.float32))
    wide = est.set_params(mask_span=0.5)._held_out(X.astype(np.float32))
    assert hidden.float().mean() == pytest.approx(0.2, abs=0.05)
    assert (wide[:, 1:] & wide[:, :-1]).sum() > (hidden[:, 1:] & hidden[:, :-1]).sum()


def test_fit_ignores_labels(blobs_series):
    X, y = blobs_series
    a = fast_clusterer(n_clusters=3, random_state=0).fit(X, y)
    b = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_fit_takes_no_sample_weight_in_a_pipeline(blobs_series):
    X, _ = blobs_series
    pipe = make_pipeline(TimeSeriesScaler(), fast_clusterer(n_clusters=3))
    with pytest.raises(
        TypeError, match=r"fit\(\) got an unexpected keyword argument 'sample_weight'"
    ):
        pipe.fit(X, neuralnetclusterer__sample_weight=np.ones(len(X)))


def test_verbose_zero_is_silent_and_one_prints_the_epoch_table(blobs_series, capsys):
    X, _ = blobs_series
    fast_clusterer(n_clusters=3, random_state=0).fit(X)
    assert capsys.readouterr().out == ""
    est = fast_clusterer(n_clusters=3, random_state=0, verbose=1).fit(X)
    out = capsys.readouterr().out
    assert "epoch" in out and "phase" in out and "train_loss" in out
    assert f"Encoded {len(X)} series in" in out
    sizes = np.bincount(est.labels_, minlength=3).tolist()
    assert f"{est.transform(X[:1]).shape[1]} dimensions" in out
    assert f"cluster sizes {sizes}" in out and f"kept weighting {est.space_index_}" in out


@pytest.mark.skipif(torch.__version__ < "2.4", reason="compile=True needs torch>=2.4")
def test_compiled_network_fits_as_the_eager_one(blobs_series):
    # Batches of 8 out of 60 series change the batch size, so torch.compile
    # traces the pretext's masking with symbolic shapes. The "eager" backend
    # traces as any backend does, without generating code.
    X, _ = blobs_series
    params = dict(n_clusters=3, random_state=0, batch_size=8)
    compiled = fast_clusterer(compile=True, compile__backend="eager", **params).fit(X)
    assert type(compiled.module_).__name__ == "OptimizedModule"
    eager = fast_clusterer(**params).fit(X)
    np.testing.assert_allclose(compiled.transform(X), eager.transform(X), rtol=1e-5, atol=1e-5)


def test_compile_on_torch_before_2_4_is_a_clear_error(blobs_series, monkeypatch):
    # There torch.compile runs the clustering space traced before fit replaced it.
    from torch.torch_version import TorchVersion

    monkeypatch.setattr(torch, "__version__", TorchVersion("2.3.1"))
    with pytest.raises(ValueError, match=r"compile=True needs torch>=2\.4.*torch 2\.3\.1"):
        fast_clusterer(compile=True, compile__backend="eager").fit(blobs_series[0])


def test_callbacks_progress_bar_and_early_stopping(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(
        n_clusters=3,
        max_epochs=30,
        random_state=0,
        callbacks=[ProgressBar(), EarlyStopping(monitor="train_loss", patience=1, threshold=10.0)],
    )
    est.fit(X)
    assert est.n_iter_ < 30  # stopped early, yet the clustering finished
    assert est.labels_.shape == (60,)


def test_callbacks_lr_scheduler_and_checkpoint(blobs_series, tmp_path):
    X, _ = blobs_series
    est = fast_clusterer(
        n_clusters=3,
        max_epochs=3,
        lr=0.01,
        random_state=0,
        callbacks=[
            LRScheduler("StepLR", step_size=1, gamma=0.5),
            Checkpoint(monitor="train_loss_best", dirname=str(tmp_path / "ckpt")),
        ],
    )
    est.fit(X)
    assert est.optimizer_.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5**3)
    assert (tmp_path / "ckpt" / "params.pt").exists()
    assert any(row.get("event_cp") for row in est.history_)


class _EncoderByEpoch(Callback):
    """Keep a copy of the encoder's weights at the end of every epoch."""

    def initialize(self):
        self.weights_ = {}
        return self

    def on_epoch_end(self, net, **kwargs):
        state = net.module_.encoder.state_dict()
        self.weights_[len(net.history)] = {
            k: v.clone() for k, v in state.items() if isinstance(v, torch.Tensor)
        }


@pytest.mark.parametrize(
    "restore",
    [
        lambda d: EarlyStopping(patience=3, threshold=0.0, load_best=True),
        lambda d: Checkpoint(monitor="valid_loss_best", dirname=str(d), load_best=True),
    ],
    ids=["early_stopping", "checkpoint"],
)
def test_callbacks_that_load_the_best_weights_restore_the_pretext_encoder(
    blobs_series, tmp_path, restore
):
    X, _ = blobs_series
    record = _EncoderByEpoch()
    est = fast_clusterer(
        n_clusters=3,
        max_epochs=8,
        lr=0.05,
        random_state=0,
        module__n_shapelets=0,  # draws whose validation loss is best before the last epoch
        train_split=ValidSplit(4),
        callbacks=[("record", record), ("restore", restore(tmp_path))],
    ).fit(X)
    losses = est.history_[:, "valid_loss"]
    best = int(np.argmin(losses)) + 1
    # The last epoch trained is not the best: weights were restored (Checkpoint
    # also restores the history of the best epoch, so its last row is the best).
    assert best < max(record.weights_)
    weights = est.module_.encoder.state_dict()
    for name, value in record.weights_[best].items():
        torch.testing.assert_close(weights[name], value, rtol=0, atol=0)
    # The clustering space was computed from the restored encoder.
    assert est.module_.projection.shape[1] < est.module_.projection.shape[0]
    np.testing.assert_array_equal(est.predict(X), est.labels_)


def test_checkpoint_load_best_with_a_clustering_phase(blobs_series, tmp_path):
    # The clustering phase minimises another loss: its best epoch is its own,
    # never a pretext epoch (whose network has no clustering space yet).
    X, _ = blobs_series
    est = fast_clusterer(
        n_clusters=3,
        random_state=0,
        clustering_loss="idec",
        gamma=100.0,  # a clustering loss far above the pretext's
        clustering_epochs=3,
        train_split=ValidSplit(4),
        callbacks=[Checkpoint(monitor="valid_loss_best", dirname=str(tmp_path), load_best=True)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a collapsed toy cluster may warn
        est.fit(X)
    phases = est.history_[:, "phase"]
    losses = est.history_[:, "valid_loss"]
    first = phases.index("clustering")
    assert losses[first] > min(losses[:first])  # worse than the pretext's best...
    assert est.history_[first, "valid_loss_best"]  # ...yet the best of its phase
    assert est.module_.projection.shape[1] < est.module_.projection.shape[0]
    np.testing.assert_array_equal(est.predict_proba(X).argmax(1), est.labels_)


def test_early_stopping_ends_the_clustering_phase(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(
        n_clusters=3,
        random_state=0,
        clustering_loss="idec",
        clustering_epochs=40,
        tol=0.0,
        callbacks=[EarlyStopping(monitor="train_loss", patience=1, threshold=10.0)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X)
    phases = est.history_[:, "phase"]
    assert 0 < phases.count("clustering") < 40
    assert est.labels_.shape == (60,)


def test_load_params_needs_a_fitted_clusterer_of_the_same_shape(blobs_series, tmp_path):
    X, _ = blobs_series
    params = dict(n_clusters=3, n_components=4)
    source = fast_clusterer(random_state=0, **params).fit(X)
    source.save_params(f_params=str(tmp_path / "params.pt"))
    with pytest.raises(NotFittedError, match="fitted on series of the same shape.*pickle"):
        fresh = fast_clusterer(**params)
        fresh.initialize()
        fresh.load_params(f_params=str(tmp_path / "params.pt"))
    target = fast_clusterer(random_state=1, **params).fit(X)
    assert not np.allclose(target.transform(X), source.transform(X))
    target.load_params(f_params=str(tmp_path / "params.pt"))
    np.testing.assert_allclose(target.transform(X), source.transform(X), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(target.predict(X), source.predict(X))


def test_encoder_without_reconstruction_needs_no_pretext(blobs_series):
    class NoDecoder(torch.nn.Module):
        def __init__(self, n_channels=1):
            super().__init__()
            self.linear = torch.nn.Linear(n_channels, 4)
            self.embedding_dim = 4

        def forward(self, x, mask):
            return self.linear(x).mean(dim=1), None

    X, _ = blobs_series
    with pytest.raises(ValueError, match="returned no reconstruction.*max_epochs=0"):
        NeuralNetClusterer(3, module=NoDecoder, max_epochs=1, random_state=0).fit(X)
    est = NeuralNetClusterer(3, module=NoDecoder, max_epochs=0, random_state=0).fit(X)
    assert est.labels_.shape == (60,)


class _Encoder(torch.nn.Module):
    """A custom encoder whose outputs a test bends out of the protocol."""

    def __init__(self, n_channels=1, output="pair", embedding_dim=4):
        super().__init__()
        self.linear = torch.nn.Linear(n_channels, 4)
        self.output = output
        if embedding_dim is not None:
            self.embedding_dim = embedding_dim

    def forward(self, x, mask):
        z, x_hat = self.linear(x).mean(dim=1), x * self.linear.weight.sum()
        return {
            "pair": (z, x_hat),
            "embeddings": z,
            "flat": (z, x_hat[..., 0]),
        }[self.output]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"embedding_dim": None}, r"_Encoder should expose embedding_dim.*got None"),
        ({"embedding_dim": 4.0}, r"expose embedding_dim.*got 4\.0"),
        ({"embedding_dim": 8}, r"embeddings of shape \(batch, embedding_dim\) = \(\d+, 8\); got"),
        ({"output": "embeddings"}, r"return a pair.*got a Tensor of shape \(\d+, 4\)"),
        ({"output": "flat"}, r"reconstruction of _Encoder should have the shape of its input"),
    ],
)
def test_a_custom_encoder_off_the_protocol_is_a_clear_error(blobs_series, params, message):
    X, _ = blobs_series
    kwargs = {f"module__{key}": value for key, value in params.items()}
    with pytest.raises(TypeError, match=message):
        NeuralNetClusterer(3, module=_Encoder, max_epochs=1, random_state=0, **kwargs).fit(X)
    # The same encoder, in the protocol, fits.
    NeuralNetClusterer(3, module=_Encoder, max_epochs=1, random_state=0).fit(X)


@pytest.mark.parametrize("loss", ["dec", "idec"])
def test_clustering_loss_phase_runs_and_records_label_changes(blobs_series, loss):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0, clustering_loss=loss, clustering_epochs=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a collapsed toy cluster may warn
        est.fit(X)
    phases = [row["phase"] for row in est.history_]
    assert phases[:2] == ["pretext", "pretext"] and "clustering" in phases
    assert "changed" in est.history_[-1]
    np.testing.assert_array_equal(est.predict_proba(X).argmax(1), est.labels_)
    assert np.isfinite(est.score(X))


def test_empty_clusters_are_reported():
    # Four identical series cannot fill three clusters.
    X = np.tile(np.sin(np.linspace(0, 3, 12)), (4, 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fast_clusterer(n_clusters=3, random_state=0, n_components=None).fit(X)
    ours = [w for w in caught if "clusters are empty after fit" in str(w.message)]
    assert len(ours) == 1 and issubclass(ours[0].category, ConvergenceWarning)
    assert "2 of the n_clusters=3 clusters are empty" in str(ours[0].message)
    assert ours[0].filename == __file__  # the caller's line, not skts's


def test_warnings_point_at_the_callers_line_at_any_depth():
    # More channels than timestamps warns from the validation shared by every
    # estimator, called at different depths (and under a Pipeline).
    X = np.random.RandomState(0).normal(size=(30, 5, 10))
    calls = [
        lambda: TimeSeriesScaler().fit(X),
        lambda: fast_clusterer(n_clusters=2, random_state=0).fit(X),
        lambda: make_pipeline(TimeSeriesScaler(), fast_clusterer(n_clusters=2)).fit(X),
        lambda: PaddingTransformer(max_length=3).fit(X[:, :, :2]).transform(X[:, :, :2]),
    ]
    for call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        assert caught and {w.filename for w in caught} == {__file__}


@pytest.mark.parametrize(
    "scale, params, match",
    [
        (
            1e20,
            {"standardize": False},
            "largest absolute value it read is [0-9.]+e\\+20. The values are too large for "
            "float32 arithmetic: scale the series \\(standardize=True, TimeSeriesScaler",
        ),
        (1.0, {"lr": 1e6}, "Training diverged \\(the last train_loss was nan\\): lower lr"),
    ],
)
def test_non_finite_embeddings_name_the_cause(blobs_series, scale, params, match):
    # Without the check, NaN embeddings reached Ward's clustering, whose
    # error spoke of missing values in the input.
    X, _ = blobs_series
    with pytest.raises(ValueError, match=f"embeddings are not finite .* for 60 of 60.*{match}"):
        fast_clusterer(n_clusters=3, random_state=0, max_epochs=5, **params).fit(X * scale)


def test_input_standardisation_is_per_channel_rounded_and_ignores_padding():
    rng = np.random.RandomState(0)
    X = np.stack([rng.normal(300.0, 20.0, (50, 40)), np.full((50, 40), 7.0)], axis=-1)
    X[::2, 30:] = np.nan  # padding
    offset, scale = _input_standardisation(X.astype(np.float32))
    observed = X[:, :, 0][~np.isnan(X[:, :, 0])]
    assert scale.tolist() == [16.0, 1.0]  # powers of two: 20 -> 16, constant -> 1
    assert abs(offset[0] - observed.mean()) <= 16.0 / 2048 and offset[1] == 7.0
    assert offset[0] * 1024 / 16.0 == round(offset[0] * 1024 / 16.0)


def test_standardised_data_passes_unchanged(blobs_series):
    X = TimeSeriesScaler().fit_transform(blobs_series[0])
    default = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    assert default.input_offset_.tolist() == [0.0] and default.input_scale_.tolist() == [1.0]
    plain = fast_clusterer(n_clusters=3, random_state=0, standardize=False).fit(X)
    np.testing.assert_array_equal(default.transform(X), plain.transform(X))


def test_level_and_units_of_the_series_do_not_change_the_clusters(blobs_series):
    # Zero padding beside a level of 5000 is a step the encoder reads as
    # shape; standardising the input removes it.
    X, y = blobs_series
    X = TimeSeriesScaler().fit_transform(X)
    raw = X * 1000.0 + 5000.0
    # Without shapelets, which z-normalise each window and so read raw units too.
    params = dict(n_clusters=3, random_state=0, module__n_kernels=200, module__n_shapelets=0)
    kept = fast_clusterer(**params).fit(X)
    moved = fast_clusterer(**params).fit(raw)
    plain = fast_clusterer(**params, standardize=False)
    assert adjusted_rand_score(y, kept.labels_) > 0.9
    assert adjusted_rand_score(y, moved.labels_) > 0.9
    assert adjusted_rand_score(y, plain.fit(raw).labels_) < 0.3
    np.testing.assert_array_equal(moved.predict(raw), moved.labels_)


def test_score_is_negative_reconstruction_error(blobs_series):
    X, _ = blobs_series
    short = fast_clusterer(n_clusters=3, random_state=0, max_epochs=1).fit(X)
    longer = fast_clusterer(n_clusters=3, random_state=0, max_epochs=40).fit(X)
    assert short.score(X) < 0
    assert longer.score(X) > short.score(X)  # more training reconstructs better
    state = torch.get_rng_state()
    assert longer.score(X) == longer.score(X)  # the same hidden timestamps each time
    assert torch.equal(torch.get_rng_state(), state)  # drawn from a generator of its own
    # Each series hides the same timestamps in any batch, and the error is
    # averaged over all of them: the batching does not change the score.
    default = longer.score(X)
    longer.set_params(iterator_valid__batch_size=7)
    assert longer.score(X) == pytest.approx(default, rel=1e-5)


def test_ragged_multivariate_pipeline():
    rng = np.random.RandomState(0)
    X = [
        rng.normal(size=(n, 3)) + (i % 2) * np.linspace(0, 3, n)[:, None]
        for i, n in enumerate(rng.randint(8, 20, size=40))
    ]
    pipe = make_pipeline(
        PaddingTransformer(), TimeSeriesScaler(), fast_clusterer(n_clusters=2, random_state=0)
    )
    labels = pipe.fit_predict(X)
    assert labels.shape == (40,)
    assert pipe[-1].n_channels_ == 3


def test_a_list_of_shorter_series_is_padded_and_arrays_keep_their_width():
    # A ragged list fitted directly: any subset of it must predict, though
    # its longest series is shorter than the longest seen in fit.
    X, _ = make_time_series_clusters(n_samples_per_cluster=10, random_state=0)
    est = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    short = [x for x in X if len(x) < est.n_features_in_]
    np.testing.assert_allclose(
        est.transform(short),
        est.transform(X)[[len(x) < est.n_features_in_ for x in X]],
        rtol=1e-5,
        atol=1e-6,
    )
    for other in (est.n_features_in_ - 1, est.n_features_in_ + 1):
        with pytest.raises(ValueError, match="needs arrays padded or truncated"):
            est.predict(np.zeros((2, other)))  # an array's width is kept
    with pytest.raises(ValueError, match="a list of series is padded, not truncated"):
        est.predict([np.zeros(est.n_features_in_ + 1)])


def test_long_series_are_encoded_fewer_at_a_time(monkeypatch, blobs_series, encoded_batch_sizes):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    sizes = encoded_batch_sizes(est)
    full = est.transform(X)
    assert set(sizes) == {32}  # batch_size: these series are short
    sizes.clear()
    # Series so long that a batch of 32 would exceed the budget: 5 of 19
    # timestamps at a time, 6 of those read on 16 (lengths 10 to 16).
    monkeypatch.setattr(skts.cluster, "_ENCODE_TIMESTAMPS", 5 * X.shape[1] + 3)
    capped = est.transform(X)
    assert set(sizes) == {5, 6}
    np.testing.assert_allclose(capped, full, rtol=1e-4, atol=1e-5)
    sizes.clear()
    forward = est.module_.forward

    def spy_forward(X, **kwargs):
        sizes.append(len(X))
        return forward(X, **kwargs)

    monkeypatch.setattr(est.module_, "forward", spy_forward)
    est.score(X)  # the reconstruction score is batched the same way
    assert max(sizes) == 6
    sizes.clear()
    est.set_params(iterator_valid__batch_size=7)  # an explicit inference batch is kept
    est.transform(X)
    assert set(sizes) == {7}


def test_an_accelerator_encodes_by_timestamps_whatever_batch_size(
    monkeypatch, blobs_series, encoded_batch_sizes
):
    # On a GPU, batches of batch_size series leave it waiting on kernel
    # launches: there an inference batch is a number of timestamps. The
    # device is faked here; tests/test_gpu.py checks it on CUDA.
    X, y = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0)
    monkeypatch.setattr(est, "_on_accelerator", lambda: True)
    monkeypatch.setattr(skts.cluster, "_ACCELERATOR_ENCODE_TIMESTAMPS", 40 * 16)
    monkeypatch.setattr(skts.cluster, "_ACCELERATOR_EMBEDDING_ROWS", 9)
    sizes = encoded_batch_sizes(est)
    fixed = est._fixed_batches

    def spy_fixed(A, size):
        sizes.append(("rows", size))
        return fixed(A, size)

    monkeypatch.setattr(est, "_fixed_batches", spy_fixed)
    est.fit(X)
    # Series of 19 timestamps and of 16 (read on 16): 33 and 40 at a time,
    # not batch_size=32; the embeddings are assigned 9 rows at a time.
    assert set(sizes) == {33, 40, ("rows", 9)}
    cpu = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    np.testing.assert_array_equal(est.labels_, cpu.labels_)
    sizes.clear()
    est.set_params(iterator_valid__batch_size=7)  # an explicit inference batch is kept
    np.testing.assert_allclose(est.transform(X), cpu.transform(X), rtol=1e-5, atol=1e-6)
    assert set(sizes) == {7}


def test_short_windows_of_many_channels_are_clustered_with_a_warning():
    # 6 timestamps of 16 sensors: more channels than timestamps, as in short
    # windows of a sensor array; the groups differ in which sensors rise.
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 20)
    X = rng.normal(scale=0.3, size=(40, 6, 16))
    for i, group in enumerate(y):
        X[i, :, 8 * group : 8 * group + 8] += np.linspace(-2, 2, 6)[:, None]
    pipe = make_pipeline(
        PaddingTransformer(), TimeSeriesScaler(), fast_clusterer(n_clusters=2, random_state=0)
    )
    with pytest.warns(UserWarning, match="axes may be swapped"):
        labels = pipe.fit_predict(X)
    assert pipe[-1].n_channels_ == 16 and pipe[-1].n_features_in_ == 6
    assert adjusted_rand_score(y, labels) > 0.9


def test_japanese_vowels_pipeline():
    X, y = load_dataset("JapaneseVowels")
    pipe = make_pipeline(
        PaddingTransformer(),
        TimeSeriesScaler(),
        fast_clusterer(n_clusters=9, random_state=0, max_epochs=1),
    )
    labels = pipe.fit_predict(X)
    assert labels.shape == (640,)
    assert pipe[-1].n_channels_ == 12


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("scoring", [hungarian_scorer, None])
def test_grid_search_with_and_without_labels(n_jobs, scoring):
    X, y = make_time_series_clusters(n_samples_per_cluster=15, random_state=0)
    pipe = make_pipeline(
        PaddingTransformer(),
        TimeSeriesScaler(),
        fast_clusterer(n_clusters=3, random_state=0, max_epochs=1),
    )
    grid = {
        "neuralnetclusterer__lr": [1e-3, 1e-2],
        "neuralnetclusterer__module__hidden_size": [4, 8],
    }
    search = GridSearchCV(
        pipe, grid, scoring=scoring, cv=KFold(2, shuffle=True, random_state=0), n_jobs=n_jobs
    )
    search.fit(X, y if scoring is not None else None)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(X).shape == (45,)


def test_kmeans_baseline_sits_beside_the_neural_pipeline():
    X, y = make_time_series_clusters(n_samples_per_cluster=20, random_state=0)
    for pipe in (
        make_kmeans_baseline(3, random_state=0),
        make_pipeline(
            PaddingTransformer(), TimeSeriesScaler(), fast_clusterer(n_clusters=3, random_state=0)
        ),
    ):
        search = GridSearchCV(
            pipe, {}, scoring=hungarian_scorer, cv=KFold(2, shuffle=True, random_state=0)
        )
        search.fit(X, y)
        assert 0 <= search.best_score_ <= 1
    grid = GridSearchCV(
        make_kmeans_baseline(random_state=0),
        {"kmeans__n_clusters": [2, 3]},
        scoring=hungarian_scorer,
        cv=2,
    )
    assert grid.fit(X, y).best_params_["kmeans__n_clusters"] in (2, 3)


def test_original_scenario_feed_forward_end_to_end():
    """The blog post's setup, done right: padding, no labels in fit, Hungarian scoring."""
    X, y = make_time_series_clusters(
        n_clusters=3, n_samples_per_cluster=100, min_length=10, max_length=20, random_state=0
    )
    pipe = make_pipeline(
        PaddingTransformer(),
        TimeSeriesScaler(),
        NeuralNetClusterer(
            n_clusters=3,
            module=FeedForward,
            module__hidden_size=64,
            module__embedding_dim=3,
            optimizer=torch.optim.Adam,
            lr=1e-3,
            batch_size=8,
            max_epochs=10,
            random_state=0,
        ),
    )
    pipe.fit(X)
    model = pipe[-1]
    assert model.module_.encoder.encoder[0].in_features == 19  # input: the padded length
    assert model.module_.encoder.encoder[0].out_features == 64
    assert len(model.history_) == 10
    score = hungarian_scorer(pipe, X, y)
    assert 1 / 3 <= score <= 1


def test_default_encoder_beats_kmeans_on_the_original_scenario():
    X, y = make_time_series_clusters(random_state=0)
    neural = make_pipeline(
        PaddingTransformer(), TimeSeriesScaler(), NeuralNetClusterer(3, random_state=0)
    )
    baseline = make_kmeans_baseline(3, random_state=0)
    neural_acc = clustering_accuracy(y, neural.fit_predict(X))
    baseline_acc = clustering_accuracy(y, baseline.fit_predict(X))
    assert neural_acc >= 0.95
    assert baseline_acc < 0.95


def test_other_encoders_plug_in_through_module(blobs_series):
    X, _ = blobs_series
    conv = NeuralNetClusterer(
        3, module=ConvEncoder, module__hidden_size=8, max_epochs=1, random_state=0
    ).fit(X)
    assert conv.transform(X).shape[0] == 60
    assert conv.module_.encoder.embedding_dim == 16
    ff = NeuralNetClusterer(
        3, module=FeedForward, module__embedding_dim=4, max_epochs=1, random_state=0
    ).fit(X)
    assert ff.module_.encoder.encoder[0].in_features == X.shape[1]


def test_shapelets_alone_find_patterns_anywhere_and_join_the_other_branches(blobs_series):
    # Two patterns, a spike and a ramp, each at a random place in noise of
    # random level and scale: the shapelets find them wherever they lie.
    rng = np.random.RandomState(0)
    spike, ramp = np.r_[0:1:0.2, 1:0:-0.2], np.linspace(-1, 1, 10)
    series, labels = [], []
    for i in range(40):
        x = 0.05 * rng.normal(size=80)
        start = rng.randint(10, 60)
        x[start : start + 10] += spike if i % 2 else ramp
        series.append(rng.uniform(-5, 5) + rng.uniform(0.5, 5) * x)
        labels.append(i % 2)
    alone = NeuralNetClusterer(2, module=ShapeletEncoder, random_state=0).fit(np.array(series))
    assert alone.n_iter_ == 0  # nothing to train
    assert adjusted_rand_score(labels, alone.labels_) > 0.9
    np.testing.assert_array_equal(alone.predict(np.array(series)), alone.labels_)
    X, _ = blobs_series
    hybrid = fast_clusterer(n_clusters=3, random_state=0, module__n_shapelets=60).fit(X)
    assert hybrid.module_.encoder.shapelets.embedding_dim == 60
    assert hybrid.module_.encoder.feature_weights.shape == (2, 16 + 32 + 60)
    np.testing.assert_array_equal(hybrid.predict(X), hybrid.labels_)


def test_kernel_statistics_are_a_parameter_of_the_estimator(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0, module__kernel_pooling=("ppv", "lspv"))
    est.fit(X)
    assert est.module_.encoder.random.embedding_dim == 2 * 32
    assert est.module_.encoder.embedding_dim == 16 + 64 + 32
    np.testing.assert_array_equal(est.labels_, est.predict(X))
    with pytest.raises(ValueError, match="pooling"):
        fast_clusterer(n_clusters=3, module__kernel_pooling=("mean",)).fit(X)


def test_bias_quantiles_are_a_parameter_of_the_estimator(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0, module__bias_quantiles=(0.5, 0.5))
    est.fit(X)
    assert est.module_.encoder.random.bias_quantiles == (0.5, 0.5)
    default = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    # Same seed, same kernels: only the biases differ.
    torch.testing.assert_close(
        est.module_.encoder.random.weight0, default.module_.encoder.random.weight0
    )
    assert not torch.equal(est.module_.encoder.random.bias0, default.module_.encoder.random.bias0)
    with pytest.raises(ValueError, match="bias_quantiles"):
        fast_clusterer(n_clusters=3, module__bias_quantiles=(0.9, 0.1)).fit(X)


def test_unpadded_kernels_are_a_parameter_of_the_estimator(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0, module__unpadded=0.5).fit(X)
    default = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    assert any(est.module_.encoder.random.n_unpadded)
    assert not any(default.module_.encoder.random.n_unpadded)
    # Same seed, same kernels: the pooling of some of them differs, so their features do.
    torch.testing.assert_close(
        est.module_.encoder.random.weight0, default.module_.encoder.random.weight0
    )
    x, mask = split_padding(torch.as_tensor(np.asarray(X, dtype=np.float32)))
    with torch.no_grad():
        ours, theirs = (
            est.module_.encoder.random(x, mask)[0],
            default.module_.encoder.random(x, mask)[0],
        )
    assert not torch.equal(ours, theirs)
    np.testing.assert_array_equal(est.labels_, est.predict(X))
    with pytest.raises(ValueError, match="unpadded"):
        fast_clusterer(n_clusters=3, module__unpadded=2.0).fit(X)


def test_the_clustering_space_applies_the_encoders_feature_weights(blobs_series):
    X, _ = blobs_series
    n_learned = 16  # module__hidden_size=8, mean and max pooling
    # Whitened as one space (whiten=True): each branch whitened apart would
    # give the learned features a space of their own.
    ignored = fast_clusterer(
        n_clusters=3, random_state=0, whiten=True, module__learned_weight=0.0
    ).fit(X)
    # Weight 0: the learned features do not reach the clustering space at all.
    assert not ignored.module_.projection[:n_learned].any()
    assert ignored.module_.projection[n_learned:].any()
    weighted = fast_clusterer(
        n_clusters=3, random_state=0, whiten=True, module__learned_weight=1.0
    ).fit(X)
    assert weighted.module_.projection[:n_learned].any()
    np.testing.assert_array_equal(ignored.labels_, ignored.predict(X))


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 2, 8), (0, 8)])
def test_feature_weights_of_the_wrong_shape_is_an_error(blobs_series, shape):
    X, _ = blobs_series

    class Misweighted(ConvEncoder):
        feature_weights = torch.ones(shape)

    est = NeuralNetClusterer(3, module=Misweighted, module__hidden_size=4, max_epochs=1)
    with pytest.raises(ValueError, match=r"feature_weights should hold one weight per"):
        est.fit(X)


class _TwoViews(torch.nn.Module):
    """Features 0-1 separate the series by their mean level, 2-9 are noise.

    ``feature_weights`` offers the two views as candidates, ``order`` first.
    """

    def __init__(self, n_channels=1, n_timestamps=None, order=("noise", "level")):
        super().__init__()
        self.embedding_dim = 10
        self.order = order
        # A frozen parameter: skorch's optimizer needs one; no pretext phase runs.
        self.frozen = torch.nn.Parameter(torch.zeros(1), requires_grad=False)

    @property
    def feature_weights(self):
        views = {"level": torch.zeros(10), "noise": torch.zeros(10)}
        views["level"][:2] = 1.0
        views["noise"][2:] = 1.0
        return torch.stack([views[name] for name in self.order])

    def forward(self, x, mask):
        level = (x.sum(dim=1) / mask.sum(dim=1, keepdim=True)).repeat(1, 2)
        generator = torch.Generator().manual_seed(int(x.abs().sum() * 1000) % 2**31)
        noise = torch.randn(x.shape[0], 8, generator=generator)
        return torch.cat([level, noise], dim=1), None


@pytest.mark.parametrize("order", [("noise", "level"), ("level", "noise")])
def test_a_markedly_more_stable_weighting_replaces_the_first(order):
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], 30)
    X = (y[:, None, None] * 5.0 + rng.normal(size=(90, 20, 1))).astype(np.float32)
    est = NeuralNetClusterer(3, module=_TwoViews, module__order=order, random_state=0).fit(X)
    level = order.index("level")
    assert est.space_index_ == level
    assert est.space_instability_.shape == (2,)
    assert est.space_instability_[level] < 0.05 < est.space_instability_[1 - level]
    assert adjusted_rand_score(y, est.labels_) == 1.0
    np.testing.assert_array_equal(est.labels_, est.predict(X))


def test_too_few_series_for_a_stability_check_keep_the_first_weighting():
    X = np.random.RandomState(0).normal(size=(4, 12, 1)).astype(np.float32)
    est = fast_clusterer(n_clusters=4, random_state=0).fit(X)
    assert est.space_index_ == 0 and np.isnan(est.space_instability_).all()
    assert sorted(est.labels_) == [0, 1, 2, 3]


def test_stability_is_measured_only_when_there_is_a_weighting_to_choose(blobs_series, monkeypatch):
    X, _ = blobs_series
    measured = []
    instability = skts._space.instability

    def spy(*args):
        measured.append(args)
        return instability(*args)

    monkeypatch.setattr(skts._space, "instability", spy)
    one = fast_clusterer(n_clusters=3, random_state=0, module__learned_weight=1.0).fit(X)
    assert measured == []
    assert one.space_index_ == 0 and one.space_instability_.shape == (1,)
    assert np.isnan(one.space_instability_).all()
    two = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    assert len(measured) == 2 and two.space_instability_.shape == (2,)
    assert ((two.space_instability_ >= 0) & (two.space_instability_ <= 1)).all()


def test_random_crops_are_windows_of_the_observed_steps():
    torch.manual_seed(0)
    lengths = [30, 12, 5, 30]
    X = torch.full((4, 30, 2), float("nan"))
    for i, n in enumerate(lengths):
        X[i, :n] = torch.arange(n, dtype=torch.float32)[:, None] + 100 * i
    crops = random_crops(X, 10)
    assert crops.shape == (4, 10, 2)
    for i, n in enumerate(lengths):
        values = crops[i, :, 0] - 100 * i
        if n >= 10:  # a run of 10 consecutive steps inside the series
            assert not torch.isnan(values).any()
            np.testing.assert_array_equal(torch.diff(values).numpy(), np.ones(9))
            assert 0 <= values[0] <= n - 10
        else:  # kept whole, with its padding
            torch.testing.assert_close(crops[i], X[i, :10], equal_nan=True)
    starts = {int(random_crops(X, 10)[0, 0, 0]) for _ in range(50)}
    assert len(starts) > 5  # the window moves
    assert random_crops(X, 30) is X


class _LengthRecorder(ConvEncoder):
    """A ConvEncoder that records the length of every batch it encodes."""

    def forward(self, x, mask):
        self.lengths.append((self.training, x.shape[1]))
        return super().forward(x, mask)


@pytest.mark.parametrize("crop_length, expected", [(8, 8), (None, 19), (100, 19)])
def test_pretext_trains_on_crops_and_embeds_whole_series(blobs_series, crop_length, expected):
    X, _ = blobs_series
    encoder = _LengthRecorder(hidden_size=4)
    encoder.lengths = []
    est = NeuralNetClusterer(3, module=encoder, max_epochs=1, crop_length=crop_length)
    est.fit(X)
    assert X.shape[1] == 19
    trained = {n for training, n in encoder.lengths if training}
    embedded = {n for training, n in encoder.lengths if not training}
    assert trained == {expected}
    assert embedded == {16, 19}  # whole series: lengths 10 to 16 on 16, 17 to 19 on 19


class _Values(torch.nn.Module):
    """An encoder without parameters whose embedding is the series itself."""

    def __init__(self, n_timestamps=1):
        super().__init__()
        self.embedding_dim = n_timestamps

    def forward(self, x, mask):
        return x[..., 0], None


def _groups_and_outliers():
    """Two groups split by the first 2 values; 3 series are outliers on the other 6."""
    rng = np.random.RandomState(0)
    groups = np.repeat([0, 1], 50)
    X = rng.normal(size=(100, 8))
    X[:, :2] += 4.0 * groups[:, None]
    X[:3, 2:] += 40.0
    return X, groups


def _dense_beside_wide():
    """A wide cloud of 300 points, a dense one of 100 beside it, and their groups."""
    rng = np.random.RandomState(0)
    points = np.r_[3 * rng.randn(300, 2), 0.3 * rng.randn(100, 2) + [6, 0]]
    return points, np.r_[np.zeros(300), np.ones(100)]


def _nearest_centre_ari(points, groups, method):
    centers = find_partition(points, 2, method=method, n_init=10, seed=0).centers
    return adjusted_rand_score(groups, ((points[:, None] - centers[None]) ** 2).sum(-1).argmin(1))


@pytest.mark.parametrize("method", ["ward", "spectral", "kmeans"])
@pytest.mark.parametrize("n_clusters", [1, 2])
def test_partition_holds_its_clusters_and_their_centres(method, n_clusters, monkeypatch):
    monkeypatch.setattr(skts._space, "WARD_SAMPLES", 150)
    points = _dense_beside_wide()[0]
    partition = find_partition(points, n_clusters, method=method, n_init=10, seed=0)
    # Ward's and the spectral clusters are found on a sample of large sets
    sampled = method != "kmeans" and n_clusters > 1
    assert partition.points.shape == ((150 if sampled else 400), 2)
    assert partition.labels.shape == (partition.points.shape[0],)
    assert sorted(np.unique(partition.labels)) == list(range(n_clusters))
    if method == "kmeans":  # Lloyd's last step: each point in the cluster of its nearest centre
        np.testing.assert_array_equal(
            partition.labels, pairwise_distances_argmin(points, partition.centers)
        )
    else:
        means = [partition.points[partition.labels == c].mean(axis=0) for c in range(n_clusters)]
        np.testing.assert_allclose(partition.centers, means, atol=1e-6)


def test_spectral_centres_follow_the_neighbourhood_graph_where_ward_splits_the_variance():
    # Ward's variance splits the wide cloud; few neighbours join the dense one to it.
    points, groups = _dense_beside_wide()
    ward = _nearest_centre_ari(points, groups, "ward")
    assert _nearest_centre_ari(points, groups, "spectral") > ward + 0.2


def test_neighbourhood_graph_is_symmetric_and_joins_each_point_to_its_nearest():
    points = _dense_beside_wide()[0]
    graph = neighbourhood_graph(points)
    assert (graph != graph.T).nnz == 0
    assert set(np.unique(graph.data)) <= {0.5, 1.0}
    nearest = np.argsort(((points[:, None] - points[None]) ** 2).sum(-1), axis=1)[:, 1:11]
    rows = np.repeat(np.arange(len(points)), 10)
    assert (np.asarray(graph[rows, nearest.ravel()]).ravel() > 0).all()
    assert (np.diff(graph.indptr) >= 10).all()


@pytest.mark.parametrize("n_points", [2, 3])
def test_spectral_centres_fall_back_on_ward_with_too_few_points(n_points):
    points = np.random.RandomState(0).normal(size=(n_points, 2))
    np.testing.assert_array_equal(
        find_partition(points, 2, method="spectral", n_init=10, seed=0).centers,
        find_partition(points, 2, method="ward", n_init=10, seed=0).centers,
    )


def test_spectral_centres_are_found_on_the_space_and_its_subsamples(blobs_series, monkeypatch):
    X, _ = blobs_series
    graphs = []
    spectral = skts._space.SpectralClustering

    class Spy(spectral):
        def fit_predict(self, graph, y=None):
            graphs.append(graph.shape[0])
            return super().fit_predict(graph)

    monkeypatch.setattr(skts._space, "SpectralClustering", Spy)
    est = fast_clusterer(n_clusters=3, centers="spectral", random_state=0).fit(X)
    # each of the two candidate spaces: all 60 series, then 80 % of them per draw;
    # the whitening reads the kept space's partition without clustering again
    assert graphs == 2 * ([60] + [48] * skts._space.STABILITY_DRAWS)
    assert sorted(np.unique(est.labels_)) == [0, 1, 2]
    np.testing.assert_array_equal(est.labels_, est.predict(X))


def test_tail_weights_spare_gaussian_and_bimodal_features_only():
    rng = np.random.RandomState(0)
    gaussian = rng.normal(size=5000)
    bimodal = np.repeat([-1.0, 1.0], 2500) + 0.1 * rng.normal(size=5000)
    spiky = np.where(np.arange(5000) < 25, 30.0, 0.0) + rng.normal(size=5000)
    columns = np.column_stack([gaussian, bimodal, spiky, np.zeros(5000)])
    standardised = (columns - columns.mean(0)) / np.where(columns.std(0) > 0, columns.std(0), 1)
    weights = tail_weights(standardised, 6.0)
    np.testing.assert_allclose(weights[[1, 3]], 1.0)
    assert weights[0] > 0.9
    assert weights[2] < 1e-3
    np.testing.assert_array_equal(tail_weights(standardised, 0.0), np.ones(4))


@pytest.mark.parametrize("n_samples", [30, 100, 400])  # fewer, about as many, more than features
def test_the_clustering_space_is_the_pca_of_the_weighted_features(n_samples):
    # Standardise, damp heavy tails, weight, then PCA to 90 % of the
    # variance, whichever solver computes the components.
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(n_samples, 5)) @ rng.normal(size=(5, 120)) + rng.normal(
        size=(n_samples, 120)
    )
    Z[:, 7] = 3.0  # constant: weight 0
    weights = rng.uniform(0.5, 1.5, size=120)
    offset, projection = affine_map(Z, 0, kurtosis_power=6.0, n_components=0.9, weights=weights)
    std = Z.std(axis=0)
    standardised = np.divide(Z - Z.mean(axis=0), std, out=np.zeros_like(Z), where=std > 1e-8)
    factor = tail_weights(standardised, 6.0) * weights
    reference = PCA(0.9, svd_solver="full").fit_transform(standardised * factor)
    embedded = (Z - offset) @ projection
    assert embedded.shape == reference.shape
    signs = np.sign((embedded * reference).sum(axis=0))  # a component's sign is arbitrary
    np.testing.assert_allclose(embedded * signs, reference, atol=1e-4)


@pytest.mark.parametrize("power", [6.0, 0.0])
def test_heavy_tailed_features_do_not_make_the_clusters(power):
    X, groups = _groups_and_outliers()
    est = NeuralNetClusterer(
        2, module=_Values(8), max_epochs=0, kurtosis_power=power, random_state=0
    ).fit(X[..., None])
    found = adjusted_rand_score(groups, est.labels_)
    if power > 0:
        assert found == 1.0
    else:  # every feature weighs the same: the outliers get a cluster of their own
        assert found < 0.1
        assert np.bincount(est.labels_).min() <= 3


def _matched(centers, expected):
    """``expected`` reordered to match the rows of ``centers`` (nearest row first)."""
    order = ((centers[:, None, :] - expected[None]) ** 2).sum(-1).argmin(axis=1)
    assert sorted(order) == list(range(len(expected)))
    return expected[order]


def test_ward_centers_are_the_means_of_wards_clusters(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, whiten=False, random_state=0).fit(X)
    embedded = est.transform(X)
    ward = AgglomerativeClustering(3, linkage="ward").fit_predict(embedded)
    means = np.stack([embedded[ward == c].mean(axis=0) for c in range(3)])
    np.testing.assert_allclose(
        est.cluster_centers_, _matched(est.cluster_centers_, means), atol=1e-4
    )
    # Each series belongs to its nearest centre.
    distances = ((embedded[:, None, :] - est.cluster_centers_[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(est.labels_, distances.argmin(axis=1))
    np.testing.assert_array_equal(est.labels_, est.predict(X))


def _pooled_covariance(embedded, labels):
    means = np.stack([embedded[labels == c].mean(axis=0) for c in np.unique(labels)])
    residuals = embedded - means[np.searchsorted(np.unique(labels), labels)]
    return residuals.T @ residuals / len(residuals)


def test_whitening_maps_the_clusters_pooled_covariance_to_the_identity():
    rng = np.random.RandomState(0)
    shape = np.linalg.cholesky([[9.0, 2.0], [2.0, 1.0]])  # elongated and tilted
    points = np.r_[rng.randn(1000, 2) @ shape.T, rng.randn(1000, 2) @ shape.T + [0, 10]]
    labels = np.repeat([0, 1], 1000)
    transform, centers = within_cluster_whitening(points, np.array([[0.0, 0.0], [0, 10]]), 0)
    np.testing.assert_allclose(transform, transform.T)
    whitened = points @ transform
    np.testing.assert_allclose(_pooled_covariance(whitened, labels), np.eye(2), atol=0.02)
    np.testing.assert_allclose(centers, [whitened[:1000].mean(0), whitened[1000:].mean(0)])


def test_whitening_assigns_elongated_clusters_better_than_euclidean_distance():
    rng = np.random.RandomState(0)
    points = np.r_[rng.randn(300, 2) * [3, 0.5], rng.randn(300, 2) * [3, 0.5] + [2, 2]]
    groups = np.repeat([0, 1], 300)
    centers = np.stack([points[:300].mean(0), points[300:].mean(0)])
    euclidean = adjusted_rand_score(groups, pairwise_distances_argmin(points, centers))
    transform, whitened = within_cluster_whitening(points, centers, 0)
    found = adjusted_rand_score(groups, pairwise_distances_argmin(points @ transform, whitened))
    assert found > euclidean + 0.03
    # Around the clusters themselves rather than the nearest centres': far better.
    transform, whitened = within_cluster_whitening(points, centers, 0, labels=groups)
    given = adjusted_rand_score(groups, pairwise_distances_argmin(points @ transform, whitened))
    assert given > found + 0.3


@pytest.mark.parametrize("points", [np.ones((1, 3)), np.ones((5, 3))])
def test_whitening_is_the_identity_where_nothing_spreads(points):
    transform, centers = within_cluster_whitening(points, points[:1], 0)
    np.testing.assert_array_equal(transform, np.eye(3))
    np.testing.assert_array_equal(centers, points[:1])


def test_whitened_space_evens_the_clusters_spread(blobs_series):
    X, _ = blobs_series
    spread = {}
    for whiten in (True, False):
        est = fast_clusterer(n_clusters=3, whiten=whiten, random_state=0).fit(X)
        embedded = est.transform(X)
        distances = ((embedded[:, None, :] - est.cluster_centers_[None]) ** 2).sum(-1)
        np.testing.assert_array_equal(est.labels_, distances.argmin(axis=1))
        np.testing.assert_array_equal(est.labels_, est.predict(X))
        values = np.linalg.eigvalsh(_pooled_covariance(embedded, est.labels_))
        spread[whiten] = values.max() / values.min()
    assert spread[True] < spread[False] / 2


@pytest.mark.parametrize("centers", ["ward", "spectral"])
def test_whitening_reads_the_spectral_clusters_themselves(blobs_series, monkeypatch, centers):
    X, _ = blobs_series
    given = []
    whitening = skts.cluster.within_cluster_whitening

    def spy(embedded, centers, seed, labels=None):
        given.append(labels)
        return whitening(embedded, centers, seed, labels=labels)

    monkeypatch.setattr(skts.cluster, "within_cluster_whitening", spy)
    est = fast_clusterer(n_clusters=3, centers=centers, random_state=0).fit(X)
    (labels,) = given
    if centers == "ward":  # around the clusters of the nearest centres
        assert labels is None
    else:  # around the spectral clusters, whose means are the centres
        assert sorted(np.unique(labels)) == [0, 1, 2] and labels.shape == (60,)
        embedded = est.transform(X)
        means = np.stack([embedded[labels == c].mean(axis=0) for c in range(3)])
        np.testing.assert_allclose(est.cluster_centers_, means, atol=1e-4)


def test_whitening_reads_a_random_sample_of_large_sets(blobs_series, monkeypatch):
    X, _ = blobs_series
    seen, apart = [], []
    whitening = skts.cluster.within_cluster_whitening
    branches = skts.cluster.branch_whitening

    def spy(embedded, centers, seed, labels=None):
        seen.append(embedded.shape)
        return whitening(embedded, centers, seed, labels=labels)

    def spy_branches(Z, offset, feature_branches, labels, n_clusters, seed, **kwargs):
        apart.append((Z.shape, labels.shape))
        return branches(Z, offset, feature_branches, labels, n_clusters, seed, **kwargs)

    monkeypatch.setattr(skts.cluster, "SPACE_SAMPLES", 25)
    monkeypatch.setattr(skts.cluster, "within_cluster_whitening", spy)
    monkeypatch.setattr(skts.cluster, "branch_whitening", spy_branches)
    est = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    n_features = est.module_.encoder.embedding_dim
    assert len(seen) == 1 and seen[0][0] == 25 and X.shape[0] == 60
    assert apart == [((25, n_features), (25,))]
    assert est.labels_.shape == (60,)


def _two_branch_clusters(n=200, seed=0):
    """Three clusters read by two branches of 3 and 4 features, each with its own noise."""
    rng = np.random.RandomState(seed)
    labels = np.repeat([0, 1, 2], n)
    first = rng.randn(3, 3)[labels] * 3 + rng.randn(3 * n, 3) * [2.0, 0.3, 0.3]
    second = rng.randn(3, 4)[labels] * 3 + rng.randn(3 * n, 4) * [0.3, 2.0, 0.3, 0.3]
    return np.hstack([first, second]), np.repeat([0, 1], [3, 4]), labels


def test_branch_whitening_gives_each_branch_its_own_columns():
    Z, branches, labels = _two_branch_clusters()
    offset = Z.mean(axis=0)
    projection, centers = branch_whitening(
        Z, offset, branches, labels, 3, 0, kurtosis_power=6.0, n_components=0.99
    )
    assert projection.shape[0] == 7 and centers.shape == (3, projection.shape[1])
    first = np.flatnonzero(np.abs(projection[:3]).sum(axis=0) > 0)
    second = np.flatnonzero(np.abs(projection[3:]).sum(axis=0) > 0)
    assert first.size and second.size and not set(first) & set(second)
    assert set(first) | set(second) == set(range(projection.shape[1]))
    # Squared distances are the sums of the branches' own.
    embedded = (Z - offset) @ projection
    whole = ((embedded[:, None] - centers[None]) ** 2).sum(-1)
    parts = sum(
        ((embedded[:, None, columns] - centers[None, :, columns]) ** 2).sum(-1)
        for columns in (first, second)
    )
    np.testing.assert_allclose(whole, parts)


def test_branch_whitening_moves_the_series_misplaced_at_the_start():
    Z, branches, labels = _two_branch_clusters()
    start = labels.copy()
    moved = np.random.RandomState(1).choice(len(labels), 60, replace=False)
    start[moved] = (start[moved] + 1) % 3
    offset = Z.mean(axis=0)
    projection, centers = branch_whitening(
        Z, offset, branches, start, 3, 0, kurtosis_power=6.0, n_components=0.99
    )
    found = pairwise_distances_argmin((Z - offset) @ projection, centers)
    assert adjusted_rand_score(labels, start) < 0.8
    assert adjusted_rand_score(labels, found) == 1.0


def test_branch_whitening_declines_a_branch_without_variance_or_an_empty_cluster():
    Z, branches, labels = _two_branch_clusters()
    kwargs = dict(kurtosis_power=6.0, n_components=0.9)
    flat = Z.copy()
    flat[:, 3:] = 1.0
    assert branch_whitening(flat, flat.mean(axis=0), branches, labels, 3, 0, **kwargs) is None
    empty = np.where(labels == 2, 0, labels)
    assert branch_whitening(Z, Z.mean(axis=0), branches, empty, 3, 0, **kwargs) is None


def test_each_branch_is_whitened_apart_by_default(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    assert est.whiten == "branches"
    branches = est.module_.encoder.feature_branches.numpy()
    projection = est.module_.projection.numpy()
    used = [set(np.flatnonzero(np.abs(projection[branches == b]).sum(axis=0))) for b in range(3)]
    assert all(used) and not (used[0] & used[1] or used[0] & used[2] or used[1] & used[2])
    embedded = est.transform(X)
    distances = ((embedded[:, None, :] - est.cluster_centers_[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(est.labels_, distances.argmin(axis=1))
    np.testing.assert_array_equal(est.labels_, est.predict(X))
    # One space whitened as a whole mixes the branches' features in its columns.
    joint = fast_clusterer(n_clusters=3, random_state=0, whiten=True).fit(X)
    mixed = joint.module_.projection.numpy()
    assert np.abs(mixed[branches == 0]).sum(axis=0).all()
    assert np.abs(mixed[branches == 1]).sum(axis=0).all()


@pytest.mark.parametrize("centers", ["ward", "spectral"])
def test_branches_whiten_as_one_space_without_branches_or_with_spectral_centres(
    blobs_series, centers
):
    X, _ = blobs_series
    if centers == "ward":  # an encoder that names no branches

        def build(**kwargs):
            return NeuralNetClusterer(
                3, module=ConvEncoder, module__hidden_size=8, max_epochs=2, random_state=0, **kwargs
            )
    else:

        def build(**kwargs):
            return fast_clusterer(n_clusters=3, centers="spectral", random_state=0, **kwargs)

    apart = build().fit(X)
    joint = build(whiten=True).fit(X)
    np.testing.assert_array_equal(apart.labels_, joint.labels_)
    np.testing.assert_allclose(apart.cluster_centers_, joint.cluster_centers_)


def test_feature_branches_of_the_wrong_shape_is_an_error(blobs_series):
    X, _ = blobs_series

    class Branched(ConvEncoder):
        feature_branches = torch.zeros(3, dtype=torch.long)

    est = NeuralNetClusterer(
        3, module=Branched, module__hidden_size=8, max_epochs=1, random_state=0
    )
    with pytest.raises(ValueError, match=r"feature_branches should name the branch of each"):
        est.fit(X)


def test_kmeans_centers_are_the_means_of_their_clusters(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, centers="kmeans", whiten=False, random_state=0).fit(X)
    embedded = est.transform(X)
    means = np.stack([embedded[est.labels_ == c].mean(axis=0) for c in range(3)])
    np.testing.assert_allclose(est.cluster_centers_, means, atol=1e-3)
    np.testing.assert_array_equal(est.labels_, est.predict(X))


def test_ward_reads_a_random_sample_of_large_sets(blobs_series, monkeypatch):
    X, _ = blobs_series
    seen = []

    class Spy(AgglomerativeClustering):
        def fit(self, X, y=None):
            seen.append(X.shape[0])
            return super().fit(X, y)

    monkeypatch.setattr(skts._space, "WARD_SAMPLES", 25)
    monkeypatch.setattr(skts._space, "AgglomerativeClustering", Spy)
    a = fast_clusterer(n_clusters=3, random_state=0, module__learned_weight=1.0).fit(X)
    # Every Ward call, the stability check's included, reads at most 25 series.
    assert seen[0] == 25 and max(seen) == 25 and X.shape[0] == 60
    b = fast_clusterer(n_clusters=3, random_state=0, module__learned_weight=1.0).fit(X)
    assert seen[: len(seen) // 2] == seen[len(seen) // 2 :]
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert np.bincount(a.labels_, minlength=3).min() > 0


@pytest.mark.parametrize(
    "phase, loss", [("pretext", None), ("clustering", "dec"), ("clustering", "idec")]
)
def test_long_training_batches_are_split_with_the_same_gradient(
    monkeypatch, blobs_series, phase, loss
):
    X, _ = blobs_series  # ragged: the parts hold unequal numbers of observed timestamps
    est = fast_clusterer(
        n_clusters=3, mask_ratio=0.0, crop_length=None, clustering_loss=loss, random_state=0
    ).fit(X)
    est.p_target_ = target_distribution(torch.as_tensor(est.predict_proba(X)))
    est.phase_ = phase
    est.module_.pretext_only = phase == "pretext"
    batch = (torch.as_tensor(X[:10]), torch.arange(10))
    forward = est.module_.forward
    sizes = []

    def spy_forward(X, **kwargs):
        sizes.append(len(X))
        return forward(X, **kwargs)

    monkeypatch.setattr(est.module_, "forward", spy_forward)

    def step():
        est.optimizer_.zero_grad()
        out = est.train_step_single(batch)
        grads = [p.grad.clone() for p in est.module_.parameters() if p.grad is not None]
        return out, grads

    whole, whole_grads = step()
    assert sizes == [10]
    sizes.clear()
    monkeypatch.setattr(skts.cluster, "_TRAIN_TIMESTAMPS", 3 * X.shape[1] + 2)
    split, split_grads = step()
    assert sizes == [3, 3, 3, 1]
    assert whole_grads and len(split_grads) == len(whole_grads)
    torch.testing.assert_close(split["loss"], whole["loss"].detach())
    for a, b in zip(split_grads, whole_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(split["y_pred"], whole["y_pred"]):
        if b is None:
            assert a is None
        else:
            torch.testing.assert_close(a, b.detach(), rtol=1e-4, atol=1e-6)


def test_ragged_series_are_encoded_on_the_width_they_need(monkeypatch, blobs_series):
    X, _ = blobs_series  # lengths 10 to 19, padded to 19
    est = fast_clusterer(n_clusters=3, random_state=0).fit(X)
    widths = []
    forward = est.module_.forward

    def spy_forward(X):
        widths.append(X.shape[1])
        return forward(X)

    monkeypatch.setattr(est.module_, "forward", spy_forward)
    narrow = est.transform(X)
    assert set(widths) == {16, 19}  # the smallest power of two that holds each, at most 19
    # A series' embedding does not depend on the series that come with it (to
    # the last bit of float32: the shapelets' products, in double precision,
    # may round either way).
    np.testing.assert_allclose(est.transform(X[::-1])[::-1], narrow, rtol=0, atol=1e-6)
    np.testing.assert_allclose(est.transform(X[:7]), narrow[:7], rtol=0, atol=1e-6)
    widths.clear()
    monkeypatch.setattr(type(est.module_.encoder), "padding_invariant", False)
    whole = est.transform(X)
    assert set(widths) == {19}
    np.testing.assert_allclose(narrow, whole, rtol=1e-4, atol=1e-5)


def test_an_encoder_that_reads_every_timestamp_gets_whole_series(blobs_series):
    X, _ = blobs_series
    est = NeuralNetClusterer(3, module=FeedForward, max_epochs=2, random_state=0).fit(X)
    assert not getattr(est.module_.encoder, "padding_invariant", False)
    widths = []
    forward = est.module_.forward
    est.module_.forward = lambda X: widths.append(X.shape[1]) or forward(X)
    est.predict(X)
    assert set(widths) == {19}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"module__unpadded": 0.5, "module__kernel_pooling": ("ppv", "lspv")},
        {"module__n_shapelets": 24},
    ],
)
def test_narrow_widths_match_whole_series_for_every_kernel_option(monkeypatch, params):
    # Series of 1 to 200 timestamps: the widest dilations' padding exceeds the narrow widths.
    rng = np.random.RandomState(0)
    X = np.full((40, 200), np.nan)
    for i, length in enumerate([1, 2, 3, 5, 9, 60, 120, 200] * 5):
        X[i, :length] = rng.normal(size=length)
    est = fast_clusterer(n_clusters=2, random_state=0, **params).fit(X)
    narrow = est.transform(X)
    monkeypatch.setattr(type(est.module_.encoder), "padding_invariant", False)
    np.testing.assert_allclose(narrow, est.transform(X), rtol=1e-4, atol=1e-5)


def test_length_grouped_batches_hold_every_series_once_by_similar_length():
    lengths = np.random.RandomState(0).randint(1, 500, size=3000)
    sampler = LengthGroupedBatches(lengths, 64)
    torch.manual_seed(0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 47
    assert sorted(np.concatenate(batches).tolist()) == list(range(3000))
    # Sorted within pools of 16 batches: a batch spans a small part of the lengths.
    assert np.median([np.ptp(lengths[b]) for b in batches]) < 0.1 * np.ptp(lengths)
    torch.manual_seed(0)
    assert list(sampler) == batches  # drawn from torch's generator, which fit seeds
    torch.manual_seed(1)
    assert list(sampler) != batches


def test_ragged_series_pretrain_in_batches_of_similar_length(blobs_series):
    X, _ = blobs_series  # lengths 10 to 19
    encoder = _LengthRecorder(hidden_size=4)
    encoder.lengths = []
    NeuralNetClusterer(3, module=encoder, max_epochs=2, batch_size=8, random_state=0).fit(X)
    trained = [n for training, n in encoder.lengths if training]
    assert max(trained) == 19 and min(trained) <= 12  # each batch cut after its longest series


@pytest.mark.parametrize("train_split, epochs", [(None, 75), (ValidSplit(4), 100)])
def test_auto_epochs_make_300_steps_on_the_training_series(blobs_series, train_split, epochs):
    X, _ = blobs_series  # 60 series: 4 batches of 15, or 3 once a quarter is held out
    est = fast_clusterer(n_clusters=3, max_epochs="auto", batch_size=15, train_split=train_split)
    est.fit(X)
    assert len(est.history) == epochs


@pytest.mark.parametrize(
    "lengths, batch_size, crop_length, epochs",
    [
        ([600] * 64, 64, 512, 88),  # 300 * 64 * 150 timestamps / (64 series * 512)
        ([600] * 64, 32, 512, 88),  # 176 steps of 32 series, two per epoch
        ([100] * 32 + [500] * 32, 64, None, 150),  # a mean length of 300
        ([150] * 64, 64, 512, 300),  # the budget's own width: the 300 steps
        ([1000] * 64, 64, None, 45),  # no crop: every timestamp counts
    ],
)
def test_auto_epochs_read_a_budget_of_timestamps_on_long_series(
    lengths, batch_size, crop_length, epochs
):
    X = PaddingTransformer().fit_transform([np.zeros(n) for n in lengths])
    est = NeuralNetClusterer(2, batch_size=batch_size, crop_length=crop_length)
    assert est._pretext_epochs(X, np.arange(len(X))) == epochs
    assert est.set_params(max_epochs=7)._pretext_epochs(X, np.arange(len(X))) == 7


class _Failing(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise RuntimeError("stopped by a callback")


def test_a_validation_split_of_ragged_series_pretrains_in_grouped_batches(blobs_series):
    X, _ = blobs_series
    est = fast_clusterer(n_clusters=3, train_split=ValidSplit(4), random_state=0).fit(X)
    assert np.isfinite(est.history[:, "valid_loss"]).all()
    assert "_validation_hidden" not in vars(est)  # state of the fit, not pickled with the model
    failing = fast_clusterer(n_clusters=3, train_split=ValidSplit(4), callbacks=[_Failing()])
    with pytest.raises(RuntimeError, match="stopped by a callback"):
        failing.fit(X)
    assert "_validation_hidden" not in vars(failing)  # however fit ends
    # The training part of the split is a Subset: its own series' lengths are read.
    est.phase_ = "pretext"
    rows = np.arange(0, len(X), 3)
    subset = Subset(est.get_dataset(X, np.arange(len(X))), rows)
    sampler = est.get_iterator(subset, training=True).batch_sampler
    assert isinstance(sampler, LengthGroupedBatches)
    np.testing.assert_array_equal(sampler.lengths, np.isfinite(X[rows, :, 0]).sum(axis=1))


class _Echo(torch.nn.Module):
    """Gives its input back as the reconstruction: only hidden timestamps cost anything."""

    embedding_dim = 2

    def __init__(self, n_channels=1):
        super().__init__()
        self.gain = torch.nn.Parameter(torch.ones(()))

    def forward(self, x, mask):
        return torch.stack([x.mean(dim=(1, 2)), x.std(dim=(1, 2))], dim=1), x * self.gain


def test_validation_loss_hides_the_same_timestamps_as_training_would(blobs_series):
    X, _ = blobs_series
    est = NeuralNetClusterer(
        3, module=_Echo, max_epochs=2, train_split=ValidSplit(4), standardize=False
    )
    est.fit(np.nan_to_num(X))
    batch = (torch.as_tensor(np.nan_to_num(X[:16])), torch.arange(16))
    first = est.validation_step(batch)["loss"]
    # Nothing hidden, the echo reconstructs every timestamp exactly.
    est.module_.eval()
    _, _, x_hat, target = est.module_(batch[0])
    assert est.criterion_(x_hat, batch[0], target) == 0.0
    # Hidden as in training, the hidden timestamps (set to 0) cost their square.
    assert first > 0.1
    assert est.validation_step(batch)["loss"] == first  # the same hidden timestamps
    assert np.all(np.diff(est.history[:, "valid_loss"]) == 0)  # nothing to learn here
    # score is the same loss on the same timestamps, negated.
    assert est.score(np.nan_to_num(X[:16])) == pytest.approx(-float(first))


@pytest.mark.parametrize(
    "equal_lengths, params, grouped",
    [
        (False, {}, True),
        (True, {}, False),
        (False, {"iterator_train__shuffle": False}, False),
        (False, {"iterator_train__drop_last": True}, False),
        (False, {"module": FeedForward}, False),
    ],
)
def test_pretext_loader_groups_only_ragged_series_of_invariant_encoders(
    blobs_series, equal_lengths, params, grouped
):
    X, _ = blobs_series
    if equal_lengths:
        X = np.nan_to_num(X)
    kwargs = {} if "module" in params else {"module__hidden_size": 4, "module__n_kernels": 16}
    est = NeuralNetClusterer(3, max_epochs=1, random_state=0, **kwargs, **params).fit(X)
    est.phase_ = "pretext"
    loader = est.get_iterator(est.get_dataset(X, np.arange(len(X))), training=True)
    assert isinstance(loader.batch_sampler, LengthGroupedBatches) is grouped
