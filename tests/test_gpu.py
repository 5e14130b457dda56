"""Checks that need a CUDA device; skipped cleanly without one."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline
from skorch.dataset import ValidSplit

from skts import NeuralNetClusterer, PaddingTransformer, TimeSeriesScaler
from skts.datasets import make_time_series_clusters
from skts.metrics import clustering_accuracy

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_fit_predict_on_cuda_then_on_cpu():
    X, y = make_time_series_clusters(random_state=0)
    pipe = make_pipeline(
        PaddingTransformer(),
        TimeSeriesScaler(),
        NeuralNetClusterer(3, device="cuda", random_state=0),
    )
    labels = pipe.fit_predict(X)
    model = pipe[-1]
    assert next(model.module_.parameters()).device.type == "cuda"
    assert isinstance(model.labels_, np.ndarray) and isinstance(model.cluster_centers_, np.ndarray)
    assert clustering_accuracy(y, labels) >= 0.9
    # Move to the CPU after fit: predictions agree up to float rounding.
    blob = pickle.dumps(pipe)
    pipe[-1].set_params(device="cpu")
    cpu_labels = pipe.predict(X)
    assert next(pipe[-1].module_.parameters()).device.type == "cpu"
    assert (cpu_labels == labels).mean() > 0.99
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.predict(X), labels)


def test_auto_picks_cuda():
    X, _ = make_time_series_clusters(n_samples_per_cluster=20, random_state=0)
    model = NeuralNetClusterer(3, device="auto", max_epochs=1, random_state=0).fit(
        PaddingTransformer().fit_transform(X)
    )
    assert next(model.module_.parameters()).device.type == "cuda"
    assert model.device == "auto"


def test_cuda_tensors_are_accepted_as_input():
    X, _ = make_time_series_clusters(n_samples_per_cluster=20, random_state=0)
    X = torch.as_tensor(PaddingTransformer().fit_transform(X), device="cuda")
    model = NeuralNetClusterer(3, max_epochs=1, random_state=0).fit(X)
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_validation_split_and_idec_on_cuda():
    X, _ = make_time_series_clusters(n_samples_per_cluster=20, random_state=0)
    model = NeuralNetClusterer(
        3,
        device="cuda",
        max_epochs=2,
        train_split=ValidSplit(4),
        clustering_loss="idec",
        clustering_epochs=2,
        random_state=0,
    ).fit(PaddingTransformer().fit_transform(X))
    # Validation hides timestamps with a generator on the device of the batch.
    assert np.isfinite(model.history[:, "valid_loss"]).all()
    assert model.history[-1, "phase"] == "clustering"


@pytest.mark.skipif(torch.__version__ < "2.4", reason="compile=True needs torch>=2.4")
def test_compiled_fit_on_cuda_with_inductor():
    # Inductor's generated CUDA kernels, not the eager backend of the CPU test.
    X, y = make_time_series_clusters(random_state=0)
    X = TimeSeriesScaler().fit_transform(PaddingTransformer().fit_transform(X))
    model = NeuralNetClusterer(3, device="cuda", compile=True, random_state=0).fit(X)
    assert type(model.module_).__name__ == "OptimizedModule"
    assert clustering_accuracy(y, model.labels_) >= 0.9
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_inference_batches_on_cuda_hold_many_series(encoded_batch_sizes):
    # Batches of batch_size series would leave the GPU waiting on launches.
    X, _ = make_time_series_clusters(n_samples_per_cluster=20, random_state=0)
    X = PaddingTransformer().fit_transform(X)
    model = NeuralNetClusterer(3, device="cuda", max_epochs=1, random_state=0).fit(X)
    sizes = encoded_batch_sizes(model)
    Z = model.transform(X)
    assert min(sizes) > model.batch_size
    model.set_params(iterator_valid__batch_size=model.batch_size)
    np.testing.assert_allclose(model.transform(X), Z, rtol=1e-3, atol=1e-3)


def test_shapelet_features_on_cuda_match_the_cpu():
    from skts.nn import ShapeletEncoder

    torch.manual_seed(0)
    x, mask = torch.randn(16, 60, 3), torch.ones(16, 60, dtype=torch.bool)
    mask[:4, 25:] = False  # ragged
    x = x.masked_fill(~mask[..., None], 0.0)
    net = ShapeletEncoder(3, 60, n_shapelets=90)
    net.calibrate(x, mask)
    on_cpu, _ = net(x, mask)
    on_cuda, _ = net.to("cuda")(x.cuda(), mask.cuda())
    torch.testing.assert_close(on_cuda.cpu(), on_cpu, atol=1e-5, rtol=0)
