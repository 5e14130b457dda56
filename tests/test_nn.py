import numpy as np
import pytest
import torch
from torch.nn import functional as F

from skts.nn import (
    ConvEncoder,
    FeedForward,
    HybridEncoder,
    RandomConvEncoder,
    ShapeletEncoder,
    draw_hidden_spans,
    encoders,
    split_padding,
)
from skts.nn._masking import masked_lspv, masked_ppv
from skts.nn.encoders import _dilated_conv, _whole_windows
from skts.nn.losses import student_t_assignment


def _padded(series, length):
    """One NaN-padded (1, length, C) batch holding ``series`` (T, C)."""
    X = torch.full((1, length, series.shape[1]), float("nan"))
    X[0, : series.shape[0]] = series
    return split_padding(X)


@pytest.mark.parametrize(
    "make",
    [
        lambda c: ConvEncoder(c, 40, hidden_size=8),
        lambda c: RandomConvEncoder(c, 40, n_kernels=64),
        lambda c: HybridEncoder(c, 40, hidden_size=8, n_kernels=64),
        lambda c: RandomConvEncoder(c, 40, n_kernels=64, pooling=("ppv", "lspv")),
        lambda c: ShapeletEncoder(c, 40, n_shapelets=30),
        lambda c: ShapeletEncoder(c, 40, n_shapelets=30, lengths=(4, 6), dilated=1.0),
        lambda c: HybridEncoder(c, 40, hidden_size=8, n_kernels=64, n_shapelets=30),
    ],
    ids=[
        "conv",
        "random",
        "hybrid",
        "random-lspv",
        "shapelets",
        "shapelets-dilated",
        "hybrid-shapelets",
    ],
)
@pytest.mark.parametrize("n_channels", [1, 3])
def test_embedding_ignores_padding(make, n_channels):
    torch.manual_seed(0)
    net = make(n_channels).eval()
    series = torch.randn(25, n_channels)
    if hasattr(net, "calibrate"):
        net.calibrate(*_padded(series, 25))
    with torch.no_grad():
        short = net(*_padded(series, 25))[0]
        long = net(*_padded(series, 40))[0]
    torch.testing.assert_close(short, long, atol=1e-5, rtol=1e-5)


def test_random_kernels_read_random_channel_subsets():
    torch.manual_seed(0)
    net = RandomConvEncoder(12, 50, n_kernels=400, max_channels=5)
    weights = [getattr(net, f"weight{g}") for g in range(len(net.dilations))]
    used = torch.cat([(w != 0).any(dim=-1) for w in weights])  # (kernels, channels)
    per_kernel = used.sum(dim=1)
    assert per_kernel.min() >= 1 and per_kernel.max() <= 5
    assert len(torch.unique(per_kernel)) > 1  # subset sizes vary
    assert used.any(dim=0).all()  # every channel is read by some kernel


def test_random_kernels_read_every_channel_when_unlimited():
    net = RandomConvEncoder(6, 50, n_kernels=64, max_channels=None)
    for g in range(len(net.dilations)):
        assert (getattr(net, f"weight{g}") != 0).any(dim=-1).all()


def test_univariate_kernels_do_not_depend_on_max_channels():
    torch.manual_seed(0)
    a = RandomConvEncoder(1, 50, n_kernels=64)
    torch.manual_seed(0)
    b = RandomConvEncoder(1, 50, n_kernels=64, max_channels=None)
    torch.testing.assert_close(a.weight0, b.weight0)


@pytest.mark.parametrize("max_channels", [0, -2])
def test_bad_max_channels_is_an_error(max_channels):
    with pytest.raises(ValueError, match="max_channels should be None or an int >= 1"):
        RandomConvEncoder(3, 50, max_channels=max_channels)


@pytest.mark.parametrize("depth", [0, 2.5, "3", True])
def test_bad_depth_is_an_error(depth):
    with pytest.raises(ValueError, match="depth should be 'auto' or an int >= 1"):
        ConvEncoder(depth=depth)


@pytest.mark.parametrize("kernel_lengths", [(), (9, 8), (0,), (-3,)])
def test_bad_kernel_lengths_is_an_error(kernel_lengths):
    with pytest.raises(ValueError, match=r"kernel_lengths=.* should hold odd positive ints"):
        RandomConvEncoder(1, 30, kernel_lengths=kernel_lengths)


def test_even_kernel_size_is_an_error():
    with pytest.raises(ValueError, match="kernel_size=4 should be odd"):
        ConvEncoder(kernel_size=4)


def test_feed_forward_names_the_shape_it_was_built_for():
    net = FeedForward(n_timestamps=20, n_channels=1)
    x, mask = split_padding(torch.zeros(2, 20, 1))
    assert net(x, mask)[0].shape[0] == 2
    x, mask = split_padding(torch.zeros(2, 19, 1))
    with pytest.raises(ValueError, match=r"FeedForward expects series of shape \(20, 1\)"):
        net(x, mask)


def test_student_t_assignment_rows_sum_to_one_and_favour_the_nearest_centre():
    rng = np.random.RandomState(0)
    z = torch.as_tensor(rng.normal(size=(30, 4)), dtype=torch.float32)
    centers = torch.as_tensor(rng.normal(size=(3, 4)), dtype=torch.float32)
    q = student_t_assignment(z, centers)
    torch.testing.assert_close(q.sum(dim=1), torch.ones(30))
    nearest = torch.cdist(z, centers).argmin(dim=1)
    assert torch.equal(q.argmax(dim=1), nearest)


def test_lspv_is_the_longest_positive_run_over_observed_steps():
    h = torch.tensor([[[1.0, 2.0, -1.0, 3.0, 1.0, 4.0, 0.0, 5.0, 5.0, 5.0]]])
    mask = torch.tensor([[True] * 8 + [False] * 2])
    # Runs of positives among the 8 observed steps: 2, 3 (a zero breaks it), 1.
    torch.testing.assert_close(masked_lspv(h, mask), torch.tensor([[3.0]]))
    ones = torch.ones(2, 3, 6)
    every_step = torch.ones(2, 6, dtype=torch.bool)
    torch.testing.assert_close(masked_lspv(ones, every_step), torch.full((2, 3), 6.0))
    assert masked_lspv(-ones, every_step).eq(0).all()


def test_ppv_counts_positive_observed_steps_only():
    h = torch.tensor([[[1.0, -2.0, 0.0, 3.0, 5.0, 7.0], [-1.0, -1.0, 2.0, 2.0, -5.0, 9.0]]])
    mask = torch.tensor([[True, True, True, True, False, False]])
    # Observed steps 0-3: 1 and 3 are positive (0 is not), then 2 and 2.
    torch.testing.assert_close(masked_ppv(h, mask), torch.tensor([[0.5, 0.5]]))
    torch.testing.assert_close(
        masked_ppv(h, torch.ones(1, 6, dtype=torch.bool)), torch.tensor([[4 / 6, 3 / 6]])
    )
    assert masked_ppv(h, torch.zeros(1, 6, dtype=torch.bool)).eq(0).all()


def test_compiled_ppv_traces_no_view_of_booleans_as_bytes():
    # The Inductor of torch 2.11 fails to lower bool.view(torch.uint8), so
    # the traced graph must not hold one; eager calls keep the byte count.
    views = []

    def backend(graph_module, example_inputs):
        views.extend(
            node.args[1:]
            for node in graph_module.graph.nodes
            if node.op == "call_method" and node.target == "view"
        )
        return graph_module.forward

    torch._dynamo.reset()
    h = torch.randn(3, 4, 9)
    mask = torch.arange(9)[None, :] < torch.tensor([[9], [5], [1]])
    compiled = torch.compile(masked_ppv, backend=backend, fullgraph=True)
    torch.testing.assert_close(compiled(h, mask), masked_ppv(h, mask))
    assert not any(torch.uint8 in args for args in views)


@pytest.mark.skipif(torch.__version__ < "2.4", reason="torch.export matured in torch 2.4")
@pytest.mark.parametrize(
    "params",
    [{}, {"module__n_shapelets": 30}, {"module__n_shapelets": 30, "module__shapelet_dilated": 0.5}],
    ids=["default", "shapelets", "dilated-shapelets"],
)
def test_the_fitted_network_exports_with_the_same_outputs(params):
    # torch.export is how the network is served without skts or skorch.
    from skts import NeuralNetClusterer

    X = np.random.RandomState(0).normal(size=(30, 40)).astype(np.float32)
    est = NeuralNetClusterer(2, max_epochs=1, random_state=0, **params)
    net = est.fit(X).module_.eval()
    padding = torch.arange(40)[None, :] >= torch.tensor([[40], [30], [9], [40], [1]])
    X = torch.randn(5, 40, 1).masked_fill(padding[..., None], float("nan"))  # ragged batch
    exported = torch.export.export(net, (X,)).module()
    q, e, *_ = exported(X)
    q_eager, e_eager, *_ = net(X)
    torch.testing.assert_close(q, q_eager)
    torch.testing.assert_close(e, e_eager)


def test_lspv_does_not_depend_on_the_length_around_a_pattern():
    pattern = torch.tensor([-1.0, 1.0, 1.0, 1.0, -1.0])
    short = torch.cat([pattern, -torch.ones(3)])[None, None]
    long = torch.cat([-torch.ones(20), pattern, -torch.ones(30)])[None, None]
    for h in (short, long):
        mask = torch.ones(1, h.shape[-1], dtype=torch.bool)
        torch.testing.assert_close(masked_lspv(h, mask), torch.tensor([[3.0]]))


def test_kernel_pooling_adds_one_feature_per_kernel_and_statistic():
    x, mask = torch.randn(5, 30, 1), torch.ones(5, 30, dtype=torch.bool)
    torch.manual_seed(0)
    ppv = RandomConvEncoder(1, 30, n_kernels=40)
    torch.manual_seed(0)
    both = RandomConvEncoder(1, 30, n_kernels=40, pooling=("ppv", "lspv"))
    for net in (ppv, both):
        torch.manual_seed(1)
        net.calibrate(x, mask)
    z_ppv, z_both = ppv(x, mask)[0], both(x, mask)[0]
    assert z_ppv.shape == (5, 40) and z_both.shape == (5, 80) == (5, both.embedding_dim)
    # Each kernel group yields its PPV block, then its LSPV block.
    size = ppv.weight0.shape[0]
    torch.testing.assert_close(z_both[:, :size], z_ppv[:, :size])
    # The longest run cannot exceed the number of positive steps.
    runs = z_both[:, size : 2 * size]
    assert bool(((runs >= 0) & (runs <= z_ppv[:, :size] * 30 + 1e-4)).all())
    hybrid = HybridEncoder(
        1, 30, hidden_size=8, n_kernels=40, kernel_pooling=("ppv", "lspv"), n_shapelets=0
    )
    assert hybrid.embedding_dim == 16 + 80


@pytest.mark.parametrize("pooling", [("ppv",), ("ppv", "lspv"), ("lspv", "ppv")])
# 10 kernels of 2 channels a group are convolved; 50 or 51 of 1 channel, a
# matrix product into one buffer that groups of unequal sizes share.
@pytest.mark.parametrize("n_channels, n_kernels", [(2, 80), (1, 403)])
def test_kernel_features_are_the_pooled_responses_minus_the_biases(pooling, n_channels, n_kernels):
    torch.manual_seed(0)
    X = torch.randn(12, 60, n_channels)
    X[::3, 41:] = float("nan")  # ragged: a third of the series end early
    x, mask = split_padding(X)
    net = RandomConvEncoder(n_channels, 60, n_kernels=n_kernels, pooling=pooling)
    net.calibrate(x, mask)
    expected = []
    for g, dilation in enumerate(net.dilations):
        weight, bias = getattr(net, f"weight{g}"), getattr(net, f"bias{g}")
        half = dilation * (weight.shape[-1] - 1) // 2
        # The convolution as the encoder makes it (conv1d up to rounding: the
        # next test), so that a count cannot flip on a response that rounds
        # to the other side of its bias.
        shifted = _dilated_conv(x.transpose(1, 2), weight, half, dilation)
        shifted = shifted - bias[None, :, None]
        pools = {"ppv": masked_ppv, "lspv": masked_lspv}
        expected.extend(pools[name](shifted, mask) for name in pooling)
    # Bit for bit: subtracting the biases and pooling are exact, whatever way they are made.
    assert torch.equal(net(x, mask)[0], torch.cat(expected, dim=1))
    # Under autograd the responses are not written into a shared buffer.
    assert torch.equal(net(x.requires_grad_(), mask)[0], torch.cat(expected, dim=1))


@pytest.mark.parametrize("n_channels, n_kernels", [(1, 125), (3, 40), (3, 20), (9, 30)])
@pytest.mark.parametrize("dilation", [1, 2, 7])
def test_random_kernels_convolve_as_conv1d(n_channels, n_kernels, dilation):
    # The CPU's matrix product (windows no larger than the responses), else conv1d itself.
    torch.manual_seed(0)
    h, weight = torch.randn(5, n_channels, 50), torch.randn(n_kernels, n_channels, 9)
    half = 4 * dilation
    expected = F.conv1d(h, weight, padding=half, dilation=dilation)
    # Equal up to rounding: the order of the sums depends on the CPU's instruction set
    # (bit for bit on one machine, 2e-6 apart in 4 % of the values on another).
    torch.testing.assert_close(_dilated_conv(h, weight, half, dilation), expected)


@pytest.mark.parametrize("bias_quantiles", [(0.25, 0.75), (0.5, 0.5), (0.0, 0.1)])
def test_biases_are_quantiles_of_the_response_in_the_given_range(bias_quantiles):
    """With one series to calibrate on, each bias lies between its response's quantiles."""
    torch.manual_seed(0)
    low, high = bias_quantiles
    net = RandomConvEncoder(1, 60, n_kernels=80, bias_quantiles=bias_quantiles)
    x, mask = torch.randn(1, 60, 1), torch.ones(1, 60, dtype=torch.bool)
    net.calibrate(x, mask)
    for g, response, whole in net._responses(x, mask):
        bias = getattr(net, f"bias{g}")
        # Kernels that read no padding take their quantile over whole windows.
        unpadded = torch.arange(len(bias)) >= len(bias) - net.n_unpadded[g]
        read = torch.where(unpadded[:, None], whole[0], mask[0])
        for k in range(len(bias)):
            values = response[0, k][read[k]]
            lo, hi = torch.quantile(values, low), torch.quantile(values, high)
            assert lo - 1e-5 <= bias[k] <= hi + 1e-5
    # The share of the series above its own bias (the PPV) mirrors the quantile.
    ppv = net(x, mask)[0][0]
    assert bool(((ppv >= 1 - high - 0.05) & (ppv <= 1 - low + 0.05)).all())


def test_each_bias_is_a_quantile_of_its_kernel_on_its_drawn_series():
    """Calibration reads each kernel on one drawn series only, as the full responses say."""
    torch.manual_seed(0)
    n, T, C = 7, 50, 3
    net = RandomConvEncoder(C, T, n_kernels=60, max_channels=2, unpadded=0.5)
    lengths = torch.tensor([50, 12, 33, 50, 20, 41, 8])
    mask = torch.arange(T)[None, :] < lengths[:, None]
    x = torch.randn(n, T, C) * torch.arange(1.0, n + 1)[:, None, None] * mask[..., None]
    torch.manual_seed(1)
    net.calibrate(x, mask)
    torch.manual_seed(1)  # the same draws, read from every kernel's response to every series
    low, high = net.bias_quantiles
    for g, response, whole in net._responses(x, mask):
        bias = getattr(net, f"bias{g}")
        rows = torch.randint(0, n, (len(bias),))
        quantiles = torch.rand(len(bias)) * (high - low) + low
        first_unpadded = len(bias) - net.n_unpadded[g]
        for k in range(len(bias)):
            read = (whole if k >= first_unpadded else mask)[rows[k]]
            expected = torch.quantile(response[rows[k], k][read], quantiles[k])
            torch.testing.assert_close(bias[k], expected, rtol=1e-5, atol=1e-5)
    assert sum(net.n_unpadded) > 0


def test_fewer_kernels_than_dilations_still_encode():
    net = RandomConvEncoder(1, 1000, n_kernels=3)  # 8 dilations, 3 kernels
    sizes = [getattr(net, f"bias{g}").shape[0] for g in range(len(net.dilations))]
    assert sizes == [1, 1, 1]
    x, mask = torch.randn(4, 1000, 1), torch.ones(4, 1000, dtype=torch.bool)
    net.calibrate(x, mask)
    z = net(x, mask)[0]
    assert z.shape == (4, 3) and bool(((z >= 0) & (z <= 1)).all())


def test_bias_quantiles_reach_the_random_branch():
    hybrid = HybridEncoder(1, 30, hidden_size=8, n_kernels=40, bias_quantiles=(0.5, 0.5))
    assert hybrid.random.bias_quantiles == (0.5, 0.5)
    assert RandomConvEncoder(1, 30, n_kernels=40).bias_quantiles == (0.25, 0.75)


@pytest.mark.parametrize("bias_quantiles", [(0.8, 0.2), (-0.1, 0.5), (0.5, 1.5), (0.5,), "mid"])
def test_bad_bias_quantiles_is_an_error(bias_quantiles):
    with pytest.raises(ValueError, match=r"bias_quantiles=.*0 <= low <= high <= 1"):
        RandomConvEncoder(1, 30, bias_quantiles=bias_quantiles)


@pytest.mark.parametrize("pooling", [(), ("mean",), ("ppv", "bogus")])
def test_bad_kernel_pooling_is_an_error(pooling):
    with pytest.raises(ValueError, match=r"pooling=.*\['lspv', 'ppv'\]"):
        RandomConvEncoder(1, 30, pooling=pooling)


@pytest.mark.parametrize("pooling", [(), ("lspv",), ("mean", "bogus")])
def test_bad_learned_pooling_is_an_error(pooling):
    with pytest.raises(ValueError, match=r"pooling=.*\['max', 'mean', 'ppv'\]"):
        ConvEncoder(1, 30, pooling=pooling)


def test_whole_windows_are_the_centres_of_windows_inside_the_series():
    mask = torch.zeros(3, 12, dtype=torch.bool)
    mask[0, :12], mask[1, :7], mask[2, :3] = True, True, True
    whole = _whole_windows(mask, 2)
    assert whole[0].nonzero().ravel().tolist() == list(range(2, 10))
    assert whole[1].nonzero().ravel().tolist() == [2, 3, 4]
    # Shorter than one window: the series keeps its observed timestamps.
    assert whole[2].tolist() == mask[2].tolist()
    assert _whole_windows(mask, 0) is mask


def test_unpadded_kernels_pool_only_where_the_window_lies_inside_the_series():
    torch.manual_seed(0)
    net = RandomConvEncoder(1, 64, n_kernels=160, unpadded=0.5)
    series = torch.randn(50, 1)
    x, mask = _padded(series, 64)
    net.calibrate(x, mask)
    z = net(x, mask)[0][0]
    start = 0
    for g, dilation in enumerate(net.dilations):
        weight, bias = getattr(net, f"weight{g}"), getattr(net, f"bias{g}")
        size, n_unpadded = len(bias), net.n_unpadded[g]
        half = dilation * (weight.shape[-1] - 1) // 2
        # Dilations whose window spans more than half the padded length read padding only.
        assert n_unpadded == (round(size * 0.5) if 4 * half <= 64 else 0)
        start += size
        if not n_unpadded:
            continue
        # Without any padding, the convolution gives the whole windows alone.
        inside = F.conv1d(series.T[None], weight[size - n_unpadded :], dilation=dilation)
        expected = (inside[0] > bias[size - n_unpadded :, None]).float().mean(-1)
        torch.testing.assert_close(z[start - n_unpadded : start], expected)
    assert any(net.n_unpadded) and not all(net.n_unpadded)


def test_no_kernel_is_unpadded_by_default_or_when_the_length_is_unknown():
    assert not any(RandomConvEncoder(1, 64, n_kernels=40).n_unpadded)
    assert not any(RandomConvEncoder(1, None, n_kernels=40, unpadded=0.5).n_unpadded)
    assert HybridEncoder(1, 64, n_kernels=40, unpadded=1.0).random.n_unpadded[0] == 5


@pytest.mark.parametrize("unpadded", [-0.1, 1.5])
def test_bad_unpadded_is_an_error(unpadded):
    with pytest.raises(ValueError, match=r"unpadded should be a fraction within \[0, 1\], got"):
        RandomConvEncoder(1, 30, unpadded=unpadded)


def test_hybrid_feature_weights_weigh_the_learned_features():
    hybrid = HybridEncoder(1, 30, hidden_size=8, n_kernels=40, learned_weight=0.5, n_shapelets=0)
    weights = hybrid.feature_weights
    assert weights.shape == (hybrid.embedding_dim,)
    n_learned = hybrid.learned.embedding_dim
    assert torch.equal(weights[:n_learned], torch.full((n_learned,), 0.5))
    assert torch.equal(weights[n_learned:], torch.ones(40))
    assert HybridEncoder(1, 30, hidden_size=8, n_kernels=0).feature_weights is None


def test_hybrid_weight_candidates_give_one_row_each():
    hybrid = HybridEncoder(1, 30, hidden_size=8, n_kernels=40, n_shapelets=12)
    weights = hybrid.feature_weights
    n_learned = hybrid.learned.embedding_dim
    assert hybrid.learned_weight == (1.0, 0.0) and hybrid.shapelet_weight is None
    assert hybrid.embedding_dim == n_learned + 40 + 12
    assert weights.shape == (2, hybrid.embedding_dim)
    # First every branch, then the random kernels alone.
    assert torch.equal(weights[0], torch.ones(hybrid.embedding_dim))
    assert torch.equal(weights[1, :n_learned], torch.zeros(n_learned))
    assert torch.equal(weights[1, n_learned : n_learned + 40], torch.ones(40))
    assert torch.equal(weights[1, n_learned + 40 :], torch.zeros(12))
    one = HybridEncoder(1, 30, hidden_size=8, n_kernels=40, learned_weight=[0.5], n_shapelets=0)
    assert torch.equal(one.feature_weights[:, :n_learned], torch.full((1, n_learned), 0.5))
    # A single shapelet weight is used in every candidate.
    fixed = HybridEncoder(1, 30, hidden_size=8, n_kernels=40, n_shapelets=12, shapelet_weight=0.5)
    assert fixed.feature_weights.shape == (2, fixed.embedding_dim)
    assert torch.equal(fixed.feature_weights[:, -12:], torch.full((2, 12), 0.5))
    alone = HybridEncoder(
        1, 30, hidden_size=8, n_kernels=40, n_shapelets=12, learned_weight=1.0, shapelet_weight=2.0
    )
    assert alone.feature_weights.shape == (alone.embedding_dim,)
    assert torch.equal(alone.feature_weights[-12:], torch.full((12,), 2.0))
    # None: the shapelets weigh what the learned features weigh.
    follows = HybridEncoder(1, 30, hidden_size=8, n_kernels=40, n_shapelets=12, learned_weight=0.5)
    assert torch.equal(follows.feature_weights[-12:], torch.full((12,), 0.5))


def test_hybrid_feature_branches_name_the_branch_of_each_feature():
    hybrid = HybridEncoder(1, 30, hidden_size=8, n_kernels=40, n_shapelets=12)
    n_learned = hybrid.learned.embedding_dim
    branches = hybrid.feature_branches
    assert branches.shape == (hybrid.embedding_dim,)
    assert torch.equal(branches[:n_learned], torch.zeros(n_learned, dtype=torch.long))
    assert torch.equal(branches[n_learned:-12], torch.ones(40, dtype=torch.long))
    assert torch.equal(branches[-12:], torch.full((12,), 2))
    # A missing branch names no feature.
    learned_only = HybridEncoder(1, 30, hidden_size=8, n_kernels=0, n_shapelets=0)
    assert torch.equal(learned_only.feature_branches, torch.zeros(n_learned, dtype=torch.long))


def test_hybrid_draws_shapelets_by_default_but_not_from_two_steps():
    assert HybridEncoder(1, 30, hidden_size=8, n_kernels=40).shapelets.embedding_dim == 1000
    # Two z-normalised steps hold only the sign of their slope.
    short = HybridEncoder(1, 2, hidden_size=8, n_kernels=40)
    assert short.shapelets is None
    assert short.embedding_dim == short.learned.embedding_dim + 40
    assert HybridEncoder(1, 3, hidden_size=8, n_kernels=40).shapelets is not None


@pytest.mark.parametrize("name", ["learned_weight", "shapelet_weight"])
@pytest.mark.parametrize("weight", [-0.5, float("nan"), (), (1.0, -1.0), ("a",), True])
def test_bad_branch_weight_is_an_error(name, weight):
    with pytest.raises(ValueError, match=f"{name} should be a float >= 0 or a non-empty"):
        HybridEncoder(1, 30, **{name: weight})


def test_branch_weights_of_different_candidate_counts_are_an_error():
    with pytest.raises(ValueError, match="as many candidates.*got 2 and 3"):
        HybridEncoder(1, 30, learned_weight=(1.0, 0.0), shapelet_weight=(1.0, 0.5, 0.0))


def _shapelet_batch(n=6, length=50, channels=1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, length, channels, generator=generator)
    return x, torch.ones(n, length, dtype=torch.bool)


def test_shapelet_features_are_the_distance_of_the_best_z_normalised_match():
    x, mask = _shapelet_batch()
    torch.manual_seed(0)
    net = ShapeletEncoder(1, 50, n_shapelets=9, lengths=(5, 8, 13))
    net.calibrate(x, mask)
    z, x_hat = net(x, mask)
    assert x_hat is None and z.shape == (6, 9)
    column = 0
    for g, length in enumerate(net.lengths):
        for shapelet in getattr(net, f"shapelet{g}"):
            assert abs(float(shapelet.mean())) < 1e-5
            assert abs(float(shapelet.pow(2).mean()) - 1) < 1e-4
            windows = x[:, :, 0].unfold(1, length, 1).double()
            windows = (windows - windows.mean(-1, keepdim=True)) / windows.std(
                -1, unbiased=False, keepdim=True
            )
            distance = ((windows - shapelet.double()).pow(2).mean(-1)).sqrt().amin(dim=1)
            torch.testing.assert_close(z[:, column].double(), distance, atol=1e-5, rtol=0)
            column += 1
    # Each shapelet is a window of some series of the batch: one distance is 0.
    assert bool((z.amin(dim=0) < 1e-5).all())


def test_shapelet_features_do_not_depend_on_the_batch_or_its_blocks(monkeypatch):
    # Near a shapelet's own window sqrt(2 - 2r) magnifies rounding: the
    # features must not move with the batch a series is in, nor with the
    # blocks of windows the correlations are taken in.
    x, mask = _shapelet_batch(n=8, length=60, channels=2)
    mask[::3, 35:] = False
    x = x.masked_fill(~mask[..., None], 0.0)
    torch.manual_seed(0)
    net = ShapeletEncoder(2, 60, n_shapelets=40)
    net.calibrate(x, mask)
    z, _ = net(x, mask)
    one_by_one = torch.cat([net(x[i : i + 1], mask[i : i + 1])[0] for i in range(8)])
    torch.testing.assert_close(one_by_one, z, atol=1e-6, rtol=0)
    monkeypatch.setattr(encoders, "_CORRELATION_BLOCK", 50)  # blocks of a few windows
    torch.testing.assert_close(net(x, mask)[0], z, atol=1e-6, rtol=0)


def test_dilated_shapelets_match_windows_of_steps_as_far_apart():
    x, mask = _shapelet_batch(length=60)
    torch.manual_seed(0)
    net = ShapeletEncoder(1, 60, n_shapelets=40, lengths=(4, 7), dilated=0.5)
    net.calibrate(x, mask)
    z, _ = net(x, mask)
    column = 0
    for g, length in enumerate(net.lengths):
        dilations = getattr(net, f"dilation{g}")
        # Half of each length dilated, each span within the series.
        assert int((dilations > 1).sum()) <= 10 <= int((dilations == 1).sum())
        assert int((dilations > 1).sum()) >= 5 and int(dilations.max()) * (length - 1) < 60
        for shapelet, dilation in zip(getattr(net, f"shapelet{g}"), dilations.tolist()):
            span = (length - 1) * dilation + 1
            windows = x[:, :, 0].unfold(1, span, 1)[..., ::dilation].double()
            windows = (windows - windows.mean(-1, keepdim=True)) / windows.std(
                -1, unbiased=False, keepdim=True
            )
            distance = ((windows - shapelet.double()).pow(2).mean(-1)).sqrt().amin(dim=1)
            torch.testing.assert_close(z[:, column].double(), distance, atol=1e-5, rtol=0)
            column += 1
    # The dilations and their runs travel with the state dict.
    again = ShapeletEncoder(1, 60, n_shapelets=40, lengths=(4, 7), dilated=0.5)
    again.load_state_dict(net.state_dict())
    assert again.runs == net.runs
    torch.testing.assert_close(again(x, mask)[0], z)


def test_shapelet_features_ignore_each_windows_level_and_scale():
    x, mask = _shapelet_batch()
    torch.manual_seed(0)
    net = ShapeletEncoder(1, 50, n_shapelets=12, lengths=(6, 12))
    net.calibrate(x, mask)
    z, _ = net(x, mask)
    torch.testing.assert_close(net(3.0 * x - 2.0, mask)[0], z, atol=1e-3, rtol=0)


def test_shapelet_features_ignore_trailing_padding_and_read_one_channel():
    x, mask = _shapelet_batch(channels=3)
    torch.manual_seed(0)
    net = ShapeletEncoder(3, 50, n_shapelets=10, lengths=(7,))
    net.calibrate(x, mask)
    z, _ = net(x, mask)
    padded = torch.cat([x, torch.zeros(6, 20, 3)], dim=1)
    longer = torch.cat([mask, torch.zeros(6, 20, dtype=torch.bool)], dim=1)
    torch.testing.assert_close(net(padded, longer)[0], z)
    # A channel that no shapelet reads changes nothing.
    unread = sorted(set(range(3)) - set(net.channel0.tolist()))
    if unread:
        other = x.clone()
        other[:, :, unread] = torch.randn(6, 50, len(unread))
        torch.testing.assert_close(net(other, mask)[0], z)
    assert torch.equal(torch.isfinite(z), torch.ones_like(z, dtype=torch.bool))


def test_shapelets_longer_than_a_series_still_give_finite_features():
    x, mask = _shapelet_batch(length=20)
    mask[0, 4:] = False  # a series of 4 steps, shorter than every shapelet
    x[0, 4:] = 0.0
    torch.manual_seed(0)
    net = ShapeletEncoder(1, 20, n_shapelets=6, lengths=(6, 30))
    assert net.lengths == [6, 20]
    net.calibrate(x, mask)
    assert net.lengths == [4, 4]  # capped at the shortest series calibrated on
    z, _ = net(x, mask)
    assert bool(torch.isfinite(z).all()) and bool(((z >= 0) & (z <= 2)).all())
    # The lengths travel with the state dict, as the shapelets do.
    again = ShapeletEncoder(1, 20, n_shapelets=6, lengths=(6, 30))
    again.load_state_dict(net.state_dict())
    assert again.lengths == [4, 4]
    torch.testing.assert_close(again(x, mask)[0], z)
    # Without the short series, the lengths asked for (capped at the padded length).
    net.calibrate(x[1:], mask[1:])
    assert net.lengths == [6, 20]
    # Flat series: every window z-normalises to zeros, at distance 1.
    flat, _ = net(torch.ones(2, 20, 1), torch.ones(2, 20, dtype=torch.bool))
    torch.testing.assert_close(flat, torch.ones_like(flat))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_shapelets": 0}, "n_shapelets should be an int >= 1"),
        ({"n_shapelets": 2.5}, "n_shapelets should be an int >= 1"),
        ({"dilated": 1.5}, r"dilated should be a float in \[0, 1\]"),
        ({"dilated": True}, r"dilated should be a float in \[0, 1\]"),
        ({"lengths": ()}, "should hold positive ints"),
        ({"lengths": (10, 0)}, "should hold positive ints"),
    ],
)
def test_bad_shapelet_parameters_are_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ShapeletEncoder(1, 30, **kwargs)


def _hidden_runs(hidden):
    """Lengths of the runs of True in each row of a boolean array."""
    runs = []
    for row in hidden.numpy():
        edges = np.diff(np.concatenate([[0], row.astype(int), [0]]))
        runs.extend(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1))
    return np.asarray(runs)


@pytest.mark.parametrize("length, span", [(128, 1 / 16), (400, 1 / 16), (128, 1 / 8)])
def test_hidden_spans_hide_the_ratio_in_runs_as_long_as_asked(length, span):
    generator = torch.Generator().manual_seed(0)
    mask = torch.ones(3000, length, dtype=torch.bool)
    hidden = draw_hidden_spans(mask, 0.3, span, generator=generator)
    assert hidden.float().mean().item() == pytest.approx(0.3, abs=0.01)
    # Every position alike (the chain starts stationary), and runs of the mean asked.
    assert hidden.float().mean(0).min().item() > 0.27
    inner = _hidden_runs(hidden[:, 1:-1] & ~hidden[:, :1] & ~hidden[:, -1:])
    assert inner.mean() == pytest.approx(span * length, rel=0.15)


def test_hidden_spans_at_zero_hide_each_timestamp_independently():
    generator = torch.Generator().manual_seed(0)
    hidden = draw_hidden_spans(torch.ones(20000, 24, dtype=torch.bool), 0.3, 0.0, generator)
    assert hidden.float().mean().item() == pytest.approx(0.3, abs=0.005)
    both = (hidden[:, 1:] & hidden[:, :-1]).float().mean().item()
    assert both == pytest.approx(0.3**2, abs=0.005)  # as Bernoulli(0.3) draws would be
    # Short series reach the floor: span * length below 1 / (1 - ratio).
    short = draw_hidden_spans(torch.ones(20000, 24, dtype=torch.bool), 0.3, 1 / 16, generator)
    assert (short[:, 1:] & short[:, :-1]).float().mean().item() == pytest.approx(0.09, abs=0.01)


def test_hidden_spans_follow_each_rows_length_and_never_hide_padding():
    mask = torch.zeros(4000, 256, dtype=torch.bool)
    mask[:2000, :64] = True
    mask[2000:] = True
    hidden = draw_hidden_spans(mask, 0.3, 1 / 8, generator=torch.Generator().manual_seed(1))
    assert not (hidden & ~mask).any()
    short, long = _hidden_runs(hidden[:2000, :64]), _hidden_runs(hidden[2000:])
    assert long.mean() > 2.5 * short.mean()  # 32 against 8 on average, ends cut short
    assert not draw_hidden_spans(mask, 0.0, 1 / 8).any()
    again = draw_hidden_spans(mask, 0.3, 1 / 8, generator=torch.Generator().manual_seed(1))
    assert torch.equal(hidden, again)


def test_hybrid_passes_the_dilated_share_to_its_shapelets():
    x = torch.randn(4, 40, 1)
    mask = torch.ones(4, 40, dtype=torch.bool)
    torch.manual_seed(0)
    net = HybridEncoder(1, 40, hidden_size=8, n_kernels=40, n_shapelets=30, shapelet_dilated=1.0)
    net.calibrate(x, mask)
    assert net.shapelets.dilated == 1.0
    assert any(int(getattr(net.shapelets, f"dilation{g}").max()) > 1 for g in range(3))
    assert HybridEncoder(1, 40, n_kernels=40, n_shapelets=30).shapelets.dilated == 0.0
