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
