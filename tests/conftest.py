import numpy as np
import pytest
import torch

# Keep each test process to one thread: the suite runs in parallel on small machines.
torch.set_num_threads(1)


@pytest.fixture
def ragged_univariate():
    rng = np.random.RandomState(0)
    return [rng.normal(size=n).astype(np.float32) for n in (5, 8, 3, 8, 6)]


@pytest.fixture
def ragged_multivariate():
    rng = np.random.RandomState(1)
    return [rng.normal(size=(n, 3)).astype(np.float32) for n in (7, 4, 9, 5)]


@pytest.fixture
def encoded_batch_sizes(monkeypatch):
    """``record(model)``: a list that gets the number of series of each batch ``model`` encodes."""

    def record(model):
        sizes = []
        step = model.evaluation_step

        def spy(batch, training=False):
            sizes.append(len(batch[0]))
            return step(batch, training=training)

        monkeypatch.setattr(model, "evaluation_step", spy)
        return sizes

    return record
