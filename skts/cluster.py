"""Clusterers: the neural :class:`NeuralNetClusterer` and a KMeans baseline."""

from __future__ import annotations

import inspect
import math
import time
from contextlib import contextmanager
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances_argmin
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    Options,
    RealNotInt,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.dataset import Dataset
from skorch.exceptions import NotInitializedError
from skorch.utils import to_tensor
from torch.utils.data import DataLoader

from ._batching import LengthGroupedBatches, dataset_lengths, filled, random_crops, trimmed
from ._device import resolve_device
from ._sampling import sample_rows
from ._space import (
    SPACE_SAMPLES,
    branch_whitening,
    choose_space,
    find_partition,
    within_cluster_whitening,
)
from ._validation import series_lengths, validate_time_series
from ._warnings import warn
from .nn import ClusteringModel, HybridEncoder, MaskedMSELoss, draw_hidden_spans, split_padding
from .nn.losses import kl_clustering_loss, student_t_assignment, target_distribution
from .preprocessing import PaddingTransformer, TimeSeriesAligner, TimeSeriesScaler

__all__ = ["NeuralNetClusterer", "make_kmeans_baseline"]

# torch.compile before 2.4 misses that fit replaces the buffers of the
# clustering space (new shapes), and runs the graph traced with the old ones.
_COMPILE_MIN_TORCH = "2.4"

# Optimizer steps of the pretext phase when max_epochs="auto"; chosen on the
# benchmark datasets (benchmarks/NOTES.md).
_AUTO_STEPS = 300
# Timestamps the pretext phase reads when max_epochs="auto", at most: 300
# steps of 64 series of 150, which no bundled dataset exceeds. Longer series
# take fewer steps (benchmarks/NOTES.md, "A pretext budget of timestamps").
_AUTO_TIMESTAMPS = 300 * 64 * 150
# Series used to calibrate data-dependent encoders (random-kernel biases).
_CALIBRATION_SAMPLES = 512
# Parameters read each time data is loaded: setting them rebuilds nothing.
_DATA_PREFIXES = ("iterator_train", "iterator_valid", "dataset")
# Timestamps encoded in one inference batch at most on the CPU, unless
# iterator_valid__batch_size says otherwise: long series, fewer at a time.
_ENCODE_TIMESTAMPS = 64 * 4096
# Timestamps in one inference batch on a GPU (or another accelerator), unless
# iterator_valid__batch_size says otherwise: batches of batch_size series
# leave it waiting on kernel launches (benchmarks/NOTES.md). 4 096 series
# of 128 take about 840 MB of GPU memory with the default encoder.
_ACCELERATOR_ENCODE_TIMESTAMPS = 2**19
# Rows of embeddings per batch on an accelerator: as many as series of 128.
_ACCELERATOR_EMBEDDING_ROWS = _ACCELERATOR_ENCODE_TIMESTAMPS // 128
# Timestamps one training forward pass holds at most (the activations kept
# for the backward pass): larger batches are split and their gradients summed.
_TRAIN_TIMESTAMPS = 64 * 1024
# Seed of the timestamps that valid_loss and score hide (mask_ratio of each
# series'), drawn per row: every epoch, and every model, hides the same.
_MASK_SEED = 0


def _never(estimator: Any) -> bool:
    return False


class NeuralNetClusterer(
    ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, NeuralNet
):
    """Cluster time series with a neural encoder trained without labels.

    A scikit-learn clusterer built on :class:`skorch.NeuralNet`. ``fit``
    runs three phases inside one estimator:

    1. **pretext**: the encoder (``module``) learns from the series alone by
       masked reconstruction: a fraction ``mask_ratio`` of the observed
       timestamps is hidden, in spans (``mask_span``), and must be
       predicted (``criterion``);
    2. **centres**: every feature of the embeddings is standardised,
       heavy-tailed features are down-weighted (``kurtosis_power``), the
       encoder's ``feature_weights`` are applied when it has them, and the
       whole is reduced by PCA (``n_components``): the clustering space. Its
       ``n_clusters`` centres are found there by Ward's hierarchical
       clustering, spectral clustering or KMeans (``centers``), and each
       series belongs to its nearest centre. When the encoder offers
       several weightings of its features (the default
       :class:`~skts.nn.HybridEncoder` offers its learned and random
       features together, or the random ones alone), the first is kept
       unless another gives a markedly more stable partition (the first's
       instability exceeds twice the other's by more than 0.05): the
       centres are found again on subsamples of the series and the
       partitions compared (``space_instability_``). The space is then
       whitened by the clusters' pooled covariance and the centres
       become the clusters' means; by default each branch of the encoder
       then gets a space of its own, whitened by the clusters found
       again there, and the series are assigned by the sum of the
       branches' distances (``whiten``);
    3. **clustering** (optional, ``clustering_loss="dec"`` or ``"idec"``):
       encoder and centres are refined by DEC's self-training loss, the
       target distribution being recomputed on all series every
       ``update_interval`` epochs until fewer than a fraction ``tol`` of the
       labels change.

    Series are given as padded arrays, as :class:`PaddingTransformer` returns
    them (NaN marks padding, which the encoder masks), or in any form
    :func:`skts.check_time_series` accepts. After ``fit``, arrays need the
    training array's number of timestamps; a list of series is padded to it
    when its longest series is shorter. Longer series must be truncated
    first (``PaddingTransformer`` does it in a ``Pipeline``).
    Labels passed to ``fit`` are ignored, so label-based scorers work in
    ``GridSearchCV``.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters.
    module : torch.nn.Module class or instance, default=skts.nn.HybridEncoder
        The encoder (see :mod:`skts.nn.encoders` for the protocol). Its
        ``n_channels`` and ``n_timestamps`` arguments, when it has them, are
        set from the data; set others with ``module__<name>``.
    criterion : torch.nn.Module class, default=skts.nn.MaskedMSELoss
        The reconstruction loss of the pretext task.
    optimizer : torch.optim.Optimizer class, default=torch.optim.Adam
        The optimizer; set its options with ``optimizer__<name>``.
    lr : float, default=1e-3
        The learning rate.
    max_epochs : int or "auto", default="auto"
        Epochs of the pretext phase. ``"auto"`` runs as many epochs as make
        about 300 optimizer steps on the training series (those that
        ``train_split`` leaves; at least one epoch), so that small
        datasets are trained enough and large ones stay linear in time;
        fewer steps where a step reads more than 9 600 timestamps (64
        series of 150), so that the phase reads at most about 2.9 million:
        long series (each counted up to ``crop_length``) train faster. On
        20 UCR datasets of series of 234 to 1 460 timestamps, fits took
        two to three times less time for the same mean ARI
        (``benchmarks/NOTES.md``, "A pretext budget of timestamps").
        The budget does not count channels, and each step of the default
        encoder reads every channel: with hundreds of them a step costs
        several times as much (9 times at 1 345 channels), and a smaller
        ``max_epochs`` is the way to trade quality for time
        (``benchmarks/NOTES.md``, "The archives' extreme shapes").
    batch_size : int, default=64
        Series per optimizer step (in the pretext phase, series of unequal
        lengths are batched with others of similar length and each batch
        is cut after its longest series; see :meth:`get_iterator`), and
        per inference batch on the CPU as long as a
        batch holds at most 262 144 timestamps (64 series of 4 096): longer
        series are encoded fewer at a time, which bounds the memory of
        encoding. On a GPU an inference batch holds 524 288 timestamps
        (4 096 series of 128) whatever ``batch_size`` is, since small
        batches leave it idle. ``iterator_valid__batch_size`` sets the
        inference batch exactly. Every inference batch is full (the last
        one is filled with copies of a series), so that a series gets
        the same embedding whatever comes with it: encoding one series
        costs a whole batch, and a stream of series is best predicted
        many at a time. An optimizer step on more than 65 536 timestamps (long
        series in the clustering phase, or without ``crop_length``) passes
        its series through the network in parts and adds up their
        gradients: the same step, with the memory of a smaller batch.
    standardize : bool, default=True
        Centre and scale each channel by the mean and standard deviation of
        its observed values over the training series (learned in ``fit``,
        applied to every input), so that the network works near unit scale
        whatever the units: a large level would otherwise turn the zeros
        that stand for padding, and the convolutions' zero borders, into
        steps the encoder reads as shape. Differences of level and
        amplitude between series are kept (per-series z-normalisation is
        :class:`TimeSeriesScaler`'s job). The scale is rounded to a power of
        two and the offset to a multiple of 1/1024 of it, so data already
        standardised, such as :class:`TimeSeriesScaler`'s output, passes
        unchanged.
    mask_ratio : float, default=0.3
        The fraction of timestamps hidden by the masked-reconstruction
        pretext, in [0, 1). With 0 the encoder is a plain autoencoder.
    mask_span : float, default=0.0625
        The mean length of a hidden span, as a fraction of each series'
        length (1/16), in [0, 1]: the pretext hides the same share of a
        shape whatever the sampling rate, where isolated hidden timestamps
        could be filled in by interpolating their neighbours. Spans are
        never shorter on average than when each timestamp is hidden
        independently, which 0 gives everywhere
        (:func:`skts.nn.draw_hidden_spans`).
    crop_length : int or None, default=512
        In the pretext phase, series longer than this are trained on a random
        window of ``crop_length`` timestamps, a new one at every step, which
        bounds the cost of a step on long series; embeddings, centres and
        predictions always read whole series. None trains on whole series.
    n_components : int, float or None, default=0.9
        The dimension of the clustering space: an int keeps that many
        principal components of the standardised (and weighted) embeddings,
        a float in (0, 1) as many as explain that fraction of their
        variance, None skips PCA.
    kurtosis_power : float, default=6.0
        Down-weights heavy-tailed features of the embeddings before PCA: a
        standardised feature whose kurtosis ``k`` exceeds a Gaussian's (3)
        is multiplied by ``(3 / k) ** kurtosis_power``. Most of such a
        feature's variance comes from a few series far from the others,
        which KMeans would otherwise spend clusters on; Gaussian-like and
        multimodal features (kurtosis 3 or less) keep their weight. 0 weighs
        every feature alike, which suits many small clusters: a feature
        that marks one of ``k`` equal clusters has kurtosis near ``k``
        (PigCVP, 52 classes of 6 series, seed 0: ARI 0.27 at 6, 0.45 at 0).
    centers : {"ward", "spectral", "kmeans"}, default="ward"
        How the centres are found in the clustering space. ``"ward"``: the
        means of the clusters of Ward's agglomerative clustering
        (:class:`~sklearn.cluster.AgglomerativeClustering`, on at most 5 000
        series drawn at random), deterministic given the embeddings.
        ``"spectral"``: the means of the clusters that
        :class:`~sklearn.cluster.SpectralClustering` finds in the graph
        joining each series to its 10 nearest (on as many series). It
        follows groups of any shape where few neighbours join them, such as
        classes that differ by the order of events (Two_Patterns in
        ``benchmarks/NOTES.md``), but finds nothing on GunPoint and
        ItalyPowerDemand, whose classes are halves of one cloud that Ward's
        variance split finds, and loses 0.18 ARI on Synthetic Control.
        ``"kmeans"``: :class:`~sklearn.cluster.KMeans` with ``n_init``
        restarts, which finds a lower within-cluster variance but, on some
        data, by cutting through dense groups along the largest variation
        (ItalyPowerDemand in ``benchmarks/NOTES.md``).
    whiten : bool or "branches", default="branches"
        Once the centres are found, whiten the clustering space by the
        clusters' pooled covariance (each series in the cluster of its
        nearest centre, or, with ``centers="spectral"``, in its spectral
        cluster; Ledoit-Wolf shrinkage), and take the clusters' means as
        the centres. Distances to the centres then follow elongated
        clusters, as in a Gaussian mixture with one shared covariance, and
        each series is assigned again. On 43 datasets that were not
        bundled this raised the mean ARI from 0.341 to 0.357 (``True``;
        ``benchmarks/NOTES.md``, "Whitening the clustering space by its
        clusters"). ``"branches"``: then, when the encoder names the
        branch of each feature (``feature_branches``, as
        :class:`~skts.nn.HybridEncoder` does), give each branch a space of
        its own (standardised, weighted by ``kurtosis_power`` and reduced
        by PCA apart from the others), find the clusters again in each,
        whiten each by them, and assign every series by the sum of the
        branches' distances, in rounds until no series moves (at most
        20). The clusters are still the partition chosen above; the
        branches then move the series near their borders, each branch
        with its own directions, where one PCA of all the features keeps
        mostly the branch with the most variance. With ``centers="spectral"``
        or an encoder without branches, ``"branches"`` is ``True``. False
        keeps the space and the centres as found. (``benchmarks/NOTES.md``,
        "Each branch whitened apart".)
    n_init : int, default=10
        KMeans restarts on the embeddings, with ``centers="kmeans"``, or on
        the spectral embedding of the graph, with ``centers="spectral"``.
    clustering_loss : {None, "dec", "idec"}, default=None
        The refinement phase: None keeps the centres found by ``centers``
        (the best choice on average in published benchmarks), ``"dec"``
        trains on the KL divergence to DEC's target distribution, ``"idec"``
        adds it to the reconstruction loss with weight ``gamma``.
    clustering_epochs : int, default=100
        The most epochs of the clustering phase.
    update_interval : int, default=1
        Epochs between two updates of the target distribution.
    tol : float, default=1e-3
        The clustering phase stops when fewer than this fraction of labels
        changed between two updates.
    gamma : float, default=0.1
        Weight of the clustering loss for ``"idec"``.
    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel of ``predict_proba``.
    random_state : int, RandomState instance or None, default=None
        Seeds torch (weights, masking, batch order), PCA, KMeans and the
        sampling of series for ``fit``;
        the global random generators are left untouched. Fits on the CPU
        with the same seed give identical labels.
    device : str, default="cpu"
        Where to train and predict: ``"cpu"``, ``"cuda"``, ``"cuda:N"``,
        ``"mps"`` or ``"auto"`` (the best available). An unavailable device
        is an error that lists the available ones.
    verbose : int, default=0
        0 is silent; 1 prints skorch's table of epochs (with the phase),
        then how long encoding the series and finding the centres took, the
        size of the clustering space and of each cluster, and the
        instability of each weighting of the features.
    train_split : callable or None, default=None
        skorch's validation split (such as ``skorch.dataset.ValidSplit(5)``);
        None trains on every series. ``valid_loss`` is the training loss on
        the held-out series, with the same timestamps hidden at every epoch,
        so ``EarlyStopping`` can watch it.
    callbacks : list of skorch callbacks, default=None
        For example ``skorch.callbacks.ProgressBar()`` or ``EarlyStopping``
        (which ends the current phase only). Each training phase is one
        training run for them (``on_train_begin`` to ``on_train_end``), so
        ``load_best=True`` (``EarlyStopping``, ``Checkpoint``) restores the
        pretext's best encoder before the clustering space is computed.
    predict_nonlinearity : callable or None, default=None
        skorch's output transform; unused by ``predict``, ``predict_proba``
        and ``transform``, which compute their own outputs.
    iterator_train, iterator_valid : class, default=torch.utils.data.DataLoader
        The data loaders of training and of skorch's validation; set their
        options with ``iterator_train__<name>`` and ``iterator_valid__<name>``.
    dataset : class, default=skorch.dataset.Dataset
        skorch's dataset wrapper.
    warm_start : bool, default=False
        skorch's parameter; True is refused, as every ``fit`` starts anew.
    compile : bool, default=False
        Compile the network with :func:`torch.compile` (options by
        ``compile__<name>``). On the CPU the compilation outweighs what it
        saves on small sets: the 300 series of
        ``make_time_series_clusters()`` took 54 to 84 s to fit with it
        (22 s once Inductor's cache held the kernels), 5 to 6 s without.
        On one NVIDIA H200 the same fit took 47 s compiled (3.4 s cached)
        against 3.3 to 5.3 s eager, with the same partition.
        Needs torch 2.4 or later.
    use_caching, torch_load_kwargs : default="auto", None
        skorch's parameters (see :class:`skorch.NeuralNet`).
    iterator_train__shuffle : bool, default=True
        Whether each training epoch draws its mini-batches in a new order.
    **kwargs
        Any other :class:`skorch.NeuralNet` argument, including
        ``module__*``, ``optimizer__*``, ``iterator_train__*`` and
        ``compile__*``.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        The cluster of each training series.
    cluster_centers_ : ndarray of shape (n_clusters, n_dims)
        The centres in the clustering space (that of :meth:`transform`).
    space_instability_ : ndarray of shape (n_candidates,)
        For each weighting of the features the encoder offers, 1 minus the
        mean adjusted Rand index between its partition and the partitions
        found again on 50 random subsamples of 80 % of the series (of at
        most 500): 0 when every subsample agrees. NaN where it was not
        measured: when the encoder offers a single weighting (or none),
        since there is nothing to choose, and when there are too few series
        for ``n_clusters``. Computed before ``clustering_loss`` refines the
        centres.
    space_index_ : int
        The weighting kept (the row of the encoder's ``feature_weights``).
    input_offset_ : ndarray of shape (n_channels_,)
        What ``standardize`` subtracts from each channel (zeros without it).
    input_scale_ : ndarray of shape (n_channels_,)
        What ``standardize`` then divides each channel by (ones without it).
    n_features_in_ : int
        The number of timestamps of the training array.
    n_channels_ : int
        The number of channels.
    n_iter_ : int
        Training epochs run, pretext and clustering phases together.
    history_ : skorch.History
        skorch's record of every epoch (losses, phase, label changes).
    module_ : skts.nn.ClusteringModel
        The trained network (encoder, clustering space, centres).

    See Also
    --------
    make_kmeans_baseline : KMeans behind the same padding and scaling.
    skts.PaddingTransformer : Pads ragged collections for this estimator.
    skts.ConsensusClusterer : The partition that several seeds agree on.

    Notes
    -----
    Save a fitted clusterer with ``pickle`` or ``joblib``: everything users
    read is numpy, so a model fitted on a GPU loads and predicts on a
    CPU-only machine. skorch's ``save_params`` and ``load_params`` move the
    network's weights alone, into a clusterer fitted on series of the same
    shape. ``set_params(device=...)`` after ``fit`` moves the
    network at the next prediction. On a GPU, cuDNN may make fits differ
    slightly between runs unless ``torch.use_deterministic_algorithms(True)``.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skts import NeuralNetClusterer, PaddingTransformer, TimeSeriesScaler
    >>> from skts.datasets import make_time_series_clusters
    >>> from skts.metrics import clustering_accuracy
    >>> X, y = make_time_series_clusters(n_samples_per_cluster=30, random_state=0)
    >>> model = make_pipeline(
    ...     PaddingTransformer(),
    ...     TimeSeriesScaler(),
    ...     NeuralNetClusterer(n_clusters=3, max_epochs=5, random_state=0),
    ... )
    >>> labels = model.fit_predict(X)
    >>> labels.shape
    (90,)
    >>> clustering_accuracy(y, labels) > 0.8
    True
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        # A class (built in fit with the data's shape) or a built network.
        "module": [type, torch.nn.Module],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
        "standardize": ["boolean"],
        "mask_ratio": [Interval(Real, 0, 1, closed="left")],
        "mask_span": [Interval(Real, 0, 1, closed="both")],
        "crop_length": [Interval(Integral, 1, None, closed="left"), None],
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "kurtosis_power": [Interval(Real, 0, None, closed="left")],
        "centers": [StrOptions({"ward", "spectral", "kmeans"})],
        "whiten": ["boolean", StrOptions({"branches"})],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "clustering_loss": [StrOptions({"dec", "idec"}), None],
        "clustering_epochs": [Interval(Integral, 0, None, closed="left")],
        "update_interval": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        module=HybridEncoder,
        criterion=MaskedMSELoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs="auto",
        batch_size=64,
        standardize=True,
        mask_ratio=0.3,
        mask_span=0.0625,
        crop_length=512,
        n_components=0.9,
        kurtosis_power=6.0,
        centers="ward",
        whiten="branches",
        n_init=10,
        clustering_loss=None,
        clustering_epochs=100,
        update_interval=1,
        tol=1e-3,
        gamma=0.1,
        alpha=1.0,
        random_state=None,
        device="cpu",
        verbose=0,
        train_split=None,
        callbacks=None,
        predict_nonlinearity=None,
        iterator_train=DataLoader,
        iterator_valid=DataLoader,
        dataset=Dataset,
        warm_start=False,
        compile=False,
        use_caching="auto",
        torch_load_kwargs=None,
        iterator_train__shuffle=True,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            callbacks=callbacks,
            predict_nonlinearity=predict_nonlinearity,
            device=device,
            verbose=verbose,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            dataset=dataset,
            warm_start=warm_start,
            compile=compile,
            use_caching=use_caching,
            torch_load_kwargs=torch_load_kwargs,
            iterator_train__shuffle=iterator_train__shuffle,
            **kwargs,
        )
        self.n_clusters = n_clusters
        self.standardize = standardize
        self.mask_ratio = mask_ratio
        self.mask_span = mask_span
        self.crop_length = crop_length
        self.n_components = n_components
        self.kurtosis_power = kurtosis_power
        self.centers = centers
        self.whiten = whiten
        self.n_init = n_init
        self.clustering_loss = clustering_loss
        self.clustering_epochs = clustering_epochs
        self.update_interval = update_interval
        self.tol = tol
        self.gamma = gamma
        self.alpha = alpha
        self.random_state = random_state

    # ------------------------------------------------------------------
    # scikit-learn plumbing
    # ------------------------------------------------------------------

    # Warm-starting a multi-phase fit has no clear meaning: hide partial_fit.
    partial_fit = available_if(_never)(NeuralNet.partial_fit)

    def set_params(self, **params):
        """Set parameters; see :meth:`skorch.NeuralNet.set_params`.

        Unlike skorch, setting ``callbacks`` on an uninitialised net only
        stores it: the callbacks are built, and checked, by ``fit``. And
        ``iterator_train__*``, ``iterator_valid__*`` and ``dataset__*`` can be
        set on a fitted net (such as the inference batch before ``predict``):
        skorch (1.4) refuses them there, though nothing needs rebuilding.
        """
        if "callbacks" in params and not self.initialized_:
            self.callbacks = params.pop("callbacks")
        if self.initialized_:
            for key in [k for k in params if k.split("__", 1)[0] in _DATA_PREFIXES and "__" in k]:
                setattr(self, key, params.pop(key))
                self._params_to_validate.add(key)
        return super().set_params(**params)

    def __repr__(self, N_CHAR_MAX=700):
        # scikit-learn's repr (the parameters set), as in a Pipeline; skorch's
        # hides them behind the module. print(est.module_) shows the network.
        return BaseEstimator.__repr__(self, N_CHAR_MAX)

    def _get_param_names(self):
        # skorch lists every public attribute; drop its private bookkeeping.
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    @property
    def _n_features_out(self):
        # Columns of transform (the clustering space), for get_feature_names_out.
        return self.cluster_centers_.shape[1]

    def __sklearn_is_fitted__(self):
        return hasattr(self, "labels_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def __setstate__(self, state):
        # "auto" is resolved on the machine that loads the model.
        requested = state["device"]
        if requested == "auto":
            state["device"] = resolve_device("auto")
        super().__setstate__(state)
        if requested == "auto":
            self.device = "auto"

    def load_params(self, f_params=None, *args, checkpoint=None, **kwargs):
        """skorch's ``load_params``, into a clusterer that ``fit`` has sized.

        The network's shape depends on the series ``fit`` saw (channels,
        length, size of the clustering space), so weights load only into a
        clusterer fitted on series of the same shape, and they bring the
        network alone, not the input standardisation nor ``labels_``. Save
        and load a whole fitted clusterer with ``pickle`` or ``joblib``.
        """
        sized = hasattr(self, "n_features_in_") and hasattr(self, "module_")
        if not sized and (f_params is not None or checkpoint is not None):
            raise NotInitializedError(
                f"{type(self).__name__}.load_params needs a clusterer fitted on series of the "
                "same shape as those the weights were trained on: the network is sized in fit, "
                "and initialize() alone builds it for 1-channel series of unknown length. To "
                "save and load a fitted clusterer, use pickle or joblib."
            )
        return super().load_params(f_params, *args, checkpoint=checkpoint, **kwargs)

    @contextmanager
    def _on_device(self):
        """Run skorch's machinery with ``device`` resolved to a real device."""
        requested = self.device
        device = resolve_device(requested)
        self.device = device
        try:
            module = getattr(self, "module_", None)
            if device is not None and module is not None:
                param = next(module.parameters())
                if param.device != torch.device(device):
                    self.module_.to(device)
                    self.criterion_.to(device)
            yield device
        finally:
            self.device = requested

    def _validate_X(self, X, reset):
        """Validate ``X`` and apply the input standardisation (learned when ``reset``)."""
        X, _ = validate_time_series(self, X, reset=reset, fixed_length=True)
        if reset:
            if self.standardize:
                self.input_offset_, self.input_scale_ = _input_standardisation(X)
            else:
                self.input_offset_ = np.zeros(X.shape[2])
                self.input_scale_ = np.ones(X.shape[2])
        if np.any(self.input_offset_ != 0) or np.any(self.input_scale_ != 1):
            offset = self.input_offset_.astype(X.dtype)
            X = (X - offset) / self.input_scale_.astype(X.dtype)
        return X

    # ------------------------------------------------------------------
    # skorch template methods
    # ------------------------------------------------------------------

    def initialize_module(self):
        """Build the encoder, sized from the data seen in ``fit``, inside a ClusteringModel."""
        kwargs = self.get_params_for("module")
        if isinstance(self.module, type):
            accepted = inspect.signature(self.module).parameters
            if "n_channels" in accepted:
                kwargs.setdefault("n_channels", getattr(self, "n_channels_", 1))
            if "n_timestamps" in accepted and hasattr(self, "n_features_in_"):
                kwargs.setdefault("n_timestamps", self.n_features_in_)
        encoder = self.initialized_instance(self.module, kwargs)
        self.module_ = ClusteringModel(
            encoder,
            self.n_clusters,
            mask_ratio=self.mask_ratio,
            mask_span=self.mask_span,
            alpha=self.alpha,
        )
        return self

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """skorch's hook; also records the epoch's phase in ``history`` ("pretext", "clustering")."""
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self.history.record("phase", self.phase_)

    def _padding_invariant(self):
        """Whether the encoder's embedding of a series ignores the padding after it."""
        return getattr(self.module_.encoder, "padding_invariant", False)

    def get_iterator(self, dataset, training=False):
        """skorch's loader; in the pretext phase, ragged series come in batches of similar length.

        When the encoder is ``padding_invariant`` and the training series
        differ in length, each batch of the pretext phase holds series of
        similar lengths (``LengthGroupedBatches``) and is trimmed to its
        longest series: a ragged collection then trains on fewer padded
        timestamps. Series of one length, other phases, and loaders set
        through ``iterator_train`` (another class, a sampler,
        ``drop_last`` or ``shuffle=False``) are left to skorch.
        """
        kwargs = self.get_params_for("iterator_train")
        custom = self.iterator_train is not DataLoader or not kwargs.get("shuffle", False)
        # Options a batch sampler excludes: the user's loader wins.
        custom = custom or bool({"sampler", "batch_sampler", "drop_last"} & set(kwargs))
        if not training or custom or getattr(self, "phase_", None) != "pretext":
            return super().get_iterator(dataset, training)
        if not self._padding_invariant():
            return super().get_iterator(dataset, training)
        lengths = dataset_lengths(dataset)
        if lengths is None or lengths.min() == lengths.max():
            return super().get_iterator(dataset, training)
        size = kwargs.pop("batch_size", self.batch_size)
        size = len(dataset) if size == -1 else size
        kwargs.pop("shuffle")
        return DataLoader(dataset, batch_sampler=LengthGroupedBatches(lengths, size), **kwargs)

    def validation_step(self, batch, **fit_params):
        """skorch's validation step, on the loss that training minimises.

        Timestamps are hidden as in training (``mask_ratio``,
        ``mask_span``), drawn once per series from a fixed seed, so every
        epoch scores the same ones: ``valid_loss`` then compares with
        ``train_loss``, and ``EarlyStopping`` on it follows the pretext task
        (:meth:`score` hides timestamps the same way).
        """
        Xi, yi = batch
        rows = to_tensor(yi, device="cpu").long().view(-1)  # the series' rows in fit's X
        hidden = self.__dict__.get("_validation_hidden")
        if hidden is None or hidden.shape[1] != Xi.shape[1]:  # outside fit
            observed = torch.zeros((int(rows.max()) + 1, Xi.shape[1]), dtype=torch.bool)
            observed[rows] = split_padding(to_tensor(Xi, device="cpu"))[1]
            hidden = _held_out_hidden(observed, self.mask_ratio, self.mask_span)
        hidden = hidden[rows].to(self.device)
        return super().validation_step(batch, hidden=hidden, **fit_params)

    def train_step_single(self, batch, **fit_params):
        """One optimizer step; in the pretext phase, on random crops of long series.

        A batch of more than 65 536 timestamps (64 series of 1 024) is passed
        through the network in parts of at most that many, whose gradients
        add up to the whole batch's: the activations kept for the backward
        pass grow with the timestamps of one forward pass, and the
        clustering phase trains on whole series.
        """
        Xi, yi = batch
        if self.phase_ == "pretext" and self._padding_invariant():
            Xi = trimmed(to_tensor(Xi, device=self.device))
        crop = self.phase_ == "pretext" and self.crop_length is not None
        if crop and Xi.shape[1] > self.crop_length:
            Xi = random_crops(to_tensor(Xi, device=self.device), self.crop_length)
        size = max(1, _TRAIN_TIMESTAMPS // Xi.shape[1])
        if Xi.shape[0] <= size:
            return super().train_step_single((Xi, yi), **fit_params)
        return self._accumulated_step(Xi, yi, size, fit_params)

    def _accumulated_step(self, Xi, yi, size, fit_params):
        """Gradients of one batch, summed over parts of ``size`` series.

        Each part's reconstruction loss is weighted by its share of the
        batch's observed timestamps and its clustering loss by its share of
        the series, so the sum is the loss of the whole batch (up to which
        timestamps the masking draws).
        """
        self._set_training(True)
        Xi = to_tensor(Xi, device=self.device)
        yi = to_tensor(yi, device=self.device)
        observed = split_padding(Xi)[1].sum(dim=1).float()
        total, parts = 0.0, []
        for start in range(0, Xi.shape[0], size):
            rows = slice(start, start + size)
            y_pred = self.infer(Xi[rows], **fit_params)
            reconstruction, clustering = self._loss_terms(y_pred, yi[rows], Xi[rows])
            loss = 0.0
            if reconstruction is not None:
                loss = loss + reconstruction * (observed[rows].sum() / observed.sum())
            if clustering is not None:
                loss = loss + clustering * (len(observed[rows]) / len(observed))
            loss.backward()
            total += loss.detach()
            parts.append([None if o is None else o.detach() for o in y_pred])
        y_pred = tuple(None if o[0] is None else torch.cat(o) for o in zip(*parts))
        return {"loss": total, "y_pred": y_pred}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Pretext loss, clustering loss, or both, by phase.

        ``y_true`` carries the indices of the batch's series (``fit`` passes
        ``np.arange(n_samples)`` as targets), which locate their rows of the
        target distribution.
        """
        return sum(term for term in self._loss_terms(y_pred, y_true, X) if term is not None)

    def _loss_terms(self, y_pred, y_true, X):
        """The reconstruction and the (weighted) clustering loss; None where the phase has none."""
        q, _, x_hat, target = y_pred
        reconstruction = clustering = None
        if self.phase_ == "pretext" or self.clustering_loss == "idec":
            if x_hat is None:
                raise ValueError(
                    f"The encoder {type(self.module_.encoder).__name__} returned no reconstruction, "
                    "which the pretext phase (and clustering_loss='idec') trains on. Give it a "
                    "decoder, or set max_epochs=0 to use it untrained."
                )
            x = torch.nan_to_num(to_tensor(X, device=x_hat.device))
            reconstruction = self.criterion_(x_hat, x, target)
        if self.phase_ == "clustering":
            rows = to_tensor(y_true, device=q.device).long().view(-1)
            kl = kl_clustering_loss(q, self.p_target_[rows])
            clustering = kl if self.clustering_loss == "dec" else self.gamma * kl
        return reconstruction, clustering

    # ------------------------------------------------------------------
    # fit
    # ------------------------------------------------------------------

    def fit(self, X, y=None):
        """Train the encoder without labels and cluster the series.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timestamps[, n_channels]) or list
            The series, NaN-padded to one length (use PaddingTransformer).
        y : Ignored
            Not used; present so that label-based scorers work in
            ``GridSearchCV``.

        Returns
        -------
        self : NeuralNetClusterer
            The fitted clusterer.
        """
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        if self.warm_start:
            raise ValueError(
                "warm_start=True is not supported: fit trains the encoder, finds the clustering "
                "space and its centres anew each time. Train longer with max_epochs."
            )
        if self.compile and torch.__version__ < _COMPILE_MIN_TORCH:
            raise ValueError(
                f"compile=True needs torch>={_COMPILE_MIN_TORCH}, and this is torch "
                f"{torch.__version__}: older torch.compile keeps running the clustering space "
                "of the pretext phase after fit has replaced it. Upgrade torch, or leave "
                "compile=False, which is faster on the CPU anyway (see the docstring)."
            )
        X = self._validate_X(X, reset=True)
        n_samples = X.shape[0]
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}: "
                "there are fewer series than clusters."
            )
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        with self._on_device() as device:
            cuda = [torch.device(device)] if device and device.startswith("cuda") else []
            with torch.random.fork_rng(devices=cuda):
                torch.manual_seed(seed)
                try:
                    self._fit_phases(X, seed)
                finally:  # state of the fit, not of the fitted model
                    self.__dict__.pop("p_target_", None)
                    self.__dict__.pop("_validation_hidden", None)
        return self

    def _fit_phases(self, X, seed):
        index = np.arange(X.shape[0])
        self.initialize()
        encoder = self.module_.encoder
        if hasattr(encoder, "calibrate"):
            sample = X[torch.randperm(X.shape[0])[:_CALIBRATION_SAMPLES].numpy()]
            x, mask = self._batch_tensors(sample)
            encoder.calibrate(x, mask)
        if self.train_split is not None:
            self._validation_hidden = self._held_out(X)
        self.phase_ = "pretext"
        self.n_iter_ = 0
        if any(p.requires_grad for p in encoder.parameters()):
            self.module_.pretext_only = True
            try:
                with self._training_run(X):
                    self._run_epochs(X, index, self._pretext_epochs(X, index))
            finally:
                self.module_.pretext_only = False

        start = time.perf_counter()
        Z = self._outputs(X)[1]
        self._log(f"Encoded {X.shape[0]} series in {time.perf_counter() - start:.1f} s.")
        start = time.perf_counter()
        offset, projection, partition = self._choose_space(Z, seed)
        centers = partition.centers
        whitened = ""
        if self.whiten and self.n_clusters > 1:
            projection, centers = self._whitened(Z, offset, projection, partition, seed)
            whitened = ", whitened"
            if self.whiten == "branches" and self.centers != "spectral":
                apart = self._branches_whitened(Z, offset, projection, centers, seed)
                if apart is not None:
                    projection, centers = apart
                    whitened = ", each branch whitened apart"
        self.module_.set_clustering_space(offset, projection, centers)
        # The encoder has not changed since Z was computed: assign Z instead
        # of encoding every series again.
        q = self._assign(Z)
        sizes = np.bincount(q.argmax(axis=1), minlength=self.n_clusters)
        message = (
            f"Clustering space of {projection.shape[1]} dimensions"
            f"{whitened}, centres by {self.centers} "
            f"in {time.perf_counter() - start:.1f} s; cluster sizes {sizes.tolist()}."
        )
        if np.isfinite(self.space_instability_).any():
            message += (
                f" Instability of each weighting {np.round(self.space_instability_, 3).tolist()}"
                f", kept weighting {self.space_index_}."
            )
        self._log(message)

        refine = self.clustering_loss is not None and self.clustering_epochs > 0
        if refine:
            with self._training_run(X, new_loss=True):
                self._fit_clustering_phase(X, index, q.argmax(axis=1))
            q = self._outputs(X)[0]

        self.labels_ = q.argmax(axis=1)
        self.cluster_centers_ = self.module_.centers.detach().cpu().numpy().copy()
        self._warn_empty_clusters()

    def _log(self, message):
        """Print ``message`` when ``verbose`` is set, as skorch prints its epochs."""
        if self.verbose:
            print(message)

    def _pretext_epochs(self, X, index):
        """``max_epochs``; for ``"auto"``, the epochs that make about ``_AUTO_STEPS`` steps.

        Fewer where those steps would read more than ``_AUTO_TIMESTAMPS``
        timestamps: a step reads ``batch_size`` series of the mean length
        (each cut at ``crop_length``).
        """
        if self.max_epochs != "auto":
            return self.max_epochs
        n_train = X.shape[0]
        if self.train_split is not None:  # steps are taken on the training part only
            n_train = len(self.get_split_datasets(X, index)[0])
        batch = n_train if self.batch_size == -1 else min(self.batch_size, n_train)
        steps_per_epoch = math.ceil(n_train / batch)
        lengths = series_lengths(X)
        if self.crop_length is not None:
            lengths = np.minimum(lengths, self.crop_length)
        budget = round(_AUTO_TIMESTAMPS / (batch * float(lengths.mean())))
        steps = max(1, min(_AUTO_STEPS, budget))
        return max(1, math.ceil(steps / steps_per_epoch))

    @contextmanager
    def _training_run(self, X, new_loss=False):
        """Bracket one training phase with skorch's ``on_train_begin`` and ``on_train_end``.

        Callbacks see each phase as a training run of its own, so those
        that restore the best weights at its end (``EarlyStopping`` or
        ``Checkpoint`` with ``load_best=True``) restore the pretext's
        encoder before the clustering space is computed from it, and the
        clustering phase's model after it. A phase with ``new_loss``
        minimises another loss than the one before it: the best scores
        the callbacks remember are forgotten, so that its first epoch is
        compared with its own epochs only.
        """
        self.notify("on_train_begin", X=X, y=None)
        if new_loss:
            for _, callback in self.callbacks_:
                better = getattr(callback, "lower_is_better", None)
                if hasattr(callback, "best_score_") and better is not None:
                    callback.best_score_ = np.inf if better else -np.inf
        yield
        self.notify("on_train_end", X=X, y=None)

    def _run_epochs(self, X, index, epochs):
        """Train ``epochs`` epochs; return whether a callback (``EarlyStopping``) stopped them."""
        if epochs <= 0:
            return False
        before = len(self.history)
        stopped = False
        try:
            self.fit_loop(X, index, epochs=epochs)
        except KeyboardInterrupt:  # EarlyStopping ends this phase only
            stopped = True
        self.n_iter_ += len(self.history) - before
        return stopped

    def _fit_clustering_phase(self, X, index, labels):
        self.phase_ = "clustering"
        previous = labels
        for update in range(math.ceil(self.clustering_epochs / self.update_interval)):
            q, _ = self._outputs(X)
            current = q.argmax(axis=1)
            changed = float(np.mean(current != previous))
            if update > 0 and changed < self.tol:
                break
            previous = current
            self.p_target_ = target_distribution(
                torch.as_tensor(q, device=self.module_.centers.device)
            )
            epochs = min(
                self.update_interval, self.clustering_epochs - update * self.update_interval
            )
            stopped = self._run_epochs(X, index, epochs)
            self.history.record("changed", changed)
            if stopped:
                break

    def _choose_space(self, Z, seed):
        """``(offset, projection, partition)`` of the clustering space (``skts._space``).

        The candidates are the rows of the encoder's ``feature_weights``.
        Sets ``space_instability_`` and ``space_index_``.
        """

        def find(embedded):
            return find_partition(
                embedded, self.n_clusters, method=self.centers, n_init=self.n_init, seed=seed
            )

        space, self.space_index_, self.space_instability_ = choose_space(
            Z,
            self._candidate_weights(Z.shape[1]),
            find,
            seed,
            kurtosis_power=self.kurtosis_power,
            n_components=self.n_components,
        )
        return space

    def _whitened(self, Z, offset, projection, partition, seed):
        """``(projection, centers)`` of the space whitened by its clusters (``skts._space``).

        Around the clusters of the nearest centres, or, with
        ``centers="spectral"``, around the spectral clusters themselves
        (``partition``), which are not round: their nearest centres would
        cut through them (``benchmarks/NOTES.md``, "Whitening the
        clustering space by its clusters").
        """
        if self.centers == "spectral":
            embedded, labels = partition.points, partition.labels
        else:
            # The rows the whitening reads, not a float64 copy of every embedding.
            rows = sample_rows(Z, SPACE_SAMPLES, np.random.RandomState(seed))
            embedded, labels = (rows.astype(np.float64) - offset) @ projection, None
        transform, centers = within_cluster_whitening(
            embedded, partition.centers, seed, labels=labels
        )
        return (projection @ transform).astype(np.float32), centers

    def _branches_whitened(self, Z, offset, projection, centers, seed):
        """``(projection, centers)`` with each branch whitened apart, or None (``skts._space``).

        None when the encoder names no branches (``feature_branches``) or
        one only, or where :func:`~skts._space.branch_whitening` declines.
        The clusters to start from are those of the nearest ``centers`` in
        the space ``offset`` and ``projection`` map to.
        """
        branches = getattr(self.module_.encoder, "feature_branches", None)
        if branches is None:
            return None
        branches = torch.as_tensor(branches).detach().cpu().numpy()
        if branches.shape != (Z.shape[1],):
            raise ValueError(
                f"The encoder's feature_branches should name the branch of each embedding "
                f"feature, shape ({Z.shape[1]},); got shape {branches.shape}."
            )
        if np.unique(branches).size < 2:
            return None
        rows = sample_rows(Z, SPACE_SAMPLES, np.random.RandomState(seed))
        labels = pairwise_distances_argmin((rows.astype(np.float64) - offset) @ projection, centers)
        apart = branch_whitening(
            rows,
            offset,
            branches,
            labels,
            self.n_clusters,
            seed,
            kurtosis_power=self.kurtosis_power,
            n_components=self.n_components,
        )
        if apart is None:
            return None
        projection, centers = apart
        return projection.astype(np.float32), centers

    def _candidate_weights(self, n_features):
        """The rows of the encoder's ``feature_weights`` as float64 arrays, or ``[None]``."""
        weights = getattr(self.module_.encoder, "feature_weights", None)
        if weights is None:
            return [None]
        weights = torch.as_tensor(weights).detach().cpu().double().numpy()
        if weights.ndim not in (1, 2) or weights.shape[-1] != n_features or not weights.size:
            raise ValueError(
                f"The encoder's feature_weights should hold one weight per embedding "
                f"feature, shape ({n_features},), or one row of them per candidate, shape "
                f"(n_candidates, {n_features}); got shape {weights.shape}."
            )
        return list(np.atleast_2d(weights))

    def _warn_empty_clusters(self):
        counts = np.bincount(self.labels_, minlength=self.n_clusters)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            warn(
                f"{empty.size} of the n_clusters={self.n_clusters} clusters are empty after fit "
                f"(clusters {empty.tolist()}): the series do not support that many groups, or the "
                "clustering phase collapsed them. Lower n_clusters, or use clustering_loss=None.",
                ConvergenceWarning,
            )

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------

    def _batch_tensors(self, X):
        return split_padding(torch.as_tensor(X, device=self.device))

    def _inference_batch_size(self, n_rows, n_timestamps=None):
        """Rows per inference batch: of embeddings, or of series ``n_timestamps`` wide.

        ``iterator_valid__batch_size`` when set; else, on the CPU,
        ``batch_size`` rows of at most ``_ENCODE_TIMESTAMPS`` timestamps, and
        on an accelerator ``_ACCELERATOR_ENCODE_TIMESTAMPS`` timestamps,
        whatever ``batch_size`` is. The size depends on the width and the
        device alone, never on ``n_rows`` unless a batch size is -1.
        """
        fixed = self.get_params_for("iterator_valid").get("batch_size")
        if fixed is not None:
            return n_rows if fixed == -1 else fixed
        if self._on_accelerator():
            if n_timestamps is None:
                return _ACCELERATOR_EMBEDDING_ROWS
            return max(1, _ACCELERATOR_ENCODE_TIMESTAMPS // n_timestamps)
        size = n_rows if self.batch_size == -1 else self.batch_size
        if n_timestamps is not None:
            size = max(1, min(size, _ENCODE_TIMESTAMPS // n_timestamps))
        return size

    def _on_accelerator(self):
        """Whether the network runs on a device other than the CPU."""
        return self.module_.centers.device.type != "cpu"

    def _fixed_batches(self, A, size):
        """Yield ``(batch, n)``: ``A`` in batches of ``size`` rows, the last one filled.

        The last batch is filled with copies of its first row and ``n`` says
        how many rows are real: with every batch the same size, a row gets
        the same result whatever batch it falls in (kernels chosen by batch
        size round differently).
        """
        for start in range(0, A.shape[0], size):
            batch = A[start : start + size]
            yield filled(batch, size), batch.shape[0]

    def _widths(self, X):
        """Yield ``(rows, width)``: the series of ``X`` grouped by how many timestamps are read.

        When the encoder says that a series' embedding does not depend on
        the padding after it (``padding_invariant``), each series is read on
        the smallest power of two of timestamps that holds it (at most the
        padded length): a ragged collection is then not encoded at the
        length of its longest series. The width depends on the series
        alone, so a series gets the same embedding in ``fit`` and
        ``predict``, whatever series come with it. Other encoders read
        every series whole.
        """
        n_samples, n_timestamps = X.shape[:2]
        if not self._padding_invariant():
            yield np.arange(n_samples), n_timestamps
            return
        lengths = series_lengths(X)
        widths = np.minimum(n_timestamps, 2 ** np.ceil(np.log2(lengths)).astype(np.int64))
        for width in np.unique(widths):
            yield np.flatnonzero(widths == width), int(width)

    def _series_batches(self, X):
        """Yield ``(rows, batch)``: the series ``rows`` of ``X``, read on their width.

        Batches of one width have one size, the last one filled with copies
        of its first series, for the reason :meth:`_fixed_batches` gives:
        at most ``_ENCODE_TIMESTAMPS`` timestamps unless
        ``iterator_valid__batch_size`` is set, so the size depends only on
        the width.
        """
        for rows, width in self._widths(X):
            size = self._inference_batch_size(len(rows), width)
            for start in range(0, len(rows), size):
                part = rows[start : start + size]
                yield part, filled(X[part, :width], size)

    def _outputs(self, X):
        """Soft assignments and clustering-space embeddings of every series, as numpy.

        Each batch is written into arrays allocated once: gathering the
        batches and concatenating them would hold the embeddings twice.
        """
        outputs = None
        for rows, batch in self._series_batches(X):
            out = self.evaluation_step((batch, None), training=False)
            out = [o[: len(rows)].cpu().numpy() for o in out[:2]]
            if outputs is None:
                outputs = [np.empty((X.shape[0], o.shape[1]), dtype=o.dtype) for o in out]
            for whole, part in zip(outputs, out):
                whole[rows] = part
        self._check_finite_embeddings(outputs[1], X)
        return outputs[0], outputs[1]

    def _check_finite_embeddings(self, Z, X):
        """Raise a ValueError that names the likely cause when ``Z`` is not finite.

        Without it, NaN embeddings reach scikit-learn's clustering (a message
        about missing values) or become cluster 0 in ``predict``.
        """
        bad = np.flatnonzero(~np.isfinite(Z).all(axis=1))
        if not bad.size:
            return
        message = (
            f"The encoder's embeddings are not finite (NaN or infinite) for {bad.size} of "
            f"{Z.shape[0]} series (sample {bad[0]} first); the largest absolute value it read "
            f"is {np.nanmax(np.abs(X)):.3g}."
        )
        loss = self.history[-1].get("train_loss") if len(self.history) else None
        scale = "scale the series (standardize=True, TimeSeriesScaler())"
        # The reconstruction loss squares the values: beyond this they overflow
        # float32 whatever the learning rate.
        squares_overflow = float(np.nanmax(np.abs(X))) ** 2 > float(np.finfo(np.float32).max)
        if loss is not None and not np.isfinite(loss) and not squares_overflow:
            message += f" Training diverged (the last train_loss was {loss}): lower lr, or {scale}."
        else:
            message += f" The values are too large for float32 arithmetic: {scale}."
        raise ValueError(message)

    @torch.no_grad()
    def _assign(self, Z):
        """Soft assignments of encoder embeddings ``Z``, batched as in :meth:`_outputs`."""
        module = self.module_
        q = []
        for batch, n in self._fixed_batches(Z, self._inference_batch_size(len(Z))):
            e = module.embed(torch.as_tensor(batch, device=module.centers.device))
            q.append(student_t_assignment(e, module.centers, module.alpha)[:n].cpu().numpy())
        return np.concatenate(q)

    def _predict_outputs(self, X):
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        with self._on_device():
            return self._outputs(X)

    def predict_proba(self, X):
        """Soft assignment of each series to each cluster (Student's t kernel).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timestamps[, n_channels]) or list
            The series: an array as long as in ``fit``, or a list of series
            at most that long.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Rows sum to 1; the largest entry is the cluster :meth:`predict`
            returns.
        """
        q = self._predict_outputs(X)[0].astype(np.float64)
        return q / q.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The cluster of each series: the nearest centre in the clustering space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timestamps[, n_channels]) or list
            The series: an array as long as in ``fit``, or a list of series
            at most that long.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The index of each series' nearest centre in the clustering space.
        """
        return self._predict_outputs(X)[0].argmax(axis=1)

    def transform(self, X):
        """Embed each series in the clustering space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timestamps[, n_channels]) or list
            The series: an array as long as in ``fit``, or a list of series
            at most that long.

        Returns
        -------
        embeddings : ndarray of shape (n_samples, n_dims), dtype float32
            The space of ``cluster_centers_``.
        """
        return self._predict_outputs(X)[1].astype(np.float32, copy=False)

    def fit_predict(self, X, y=None):
        """Fit and return ``labels_``.

        Parameters
        ----------
        X : array-like or list
            The series.
        y : Ignored
            Not used.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``labels_``: the cluster of each training series.
        """
        return self.fit(X).labels_

    def _held_out(self, X):
        """The timestamps of each series of the padded array ``X`` that validation hides."""
        observed = torch.from_numpy(~np.isnan(X).all(axis=2))
        return _held_out_hidden(observed, self.mask_ratio, self.mask_span)

    def score(self, X, y=None):
        """Negative loss of the trained objective on ``X`` (higher is better).

        The error of reconstructing the timestamps that training would hide
        (``mask_ratio`` of each series', in spans, drawn per row of ``X``
        from a fixed seed, so models scored on the same series are scored on
        the same timestamps), averaged over all of them whatever the
        batching, plus
        the clustering loss when ``clustering_loss`` is set (its target
        distribution is computed per inference batch): the loss training
        minimises, on these series, as ``valid_loss`` is. The network is
        trained to fill in hidden timestamps, not to copy visible ones, so
        this is what measures it. It lets ``GridSearchCV`` compare settings
        without labels; it is not comparable across encoders, ``mask_ratio``,
        ``mask_span`` or ``gamma``, and without ``clustering_loss`` it does not depend on
        ``n_clusters``, so it cannot choose the number of clusters. With
        labels, prefer
        :data:`skts.metrics.CLUSTERING_SCORERS`.

        Parameters
        ----------
        X : array-like or list
            The series: an array as long as in ``fit``, or a list of series
            at most that long.
        y : Ignored
            Not used.

        Returns
        -------
        score : float
            Minus the loss described above: at most 0, higher is better.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        hidden = self._held_out(X)
        reconstruction = clustering = 0.0
        scored = 0  # timestamps the reconstruction is scored on
        with self._on_device():
            self.module_.eval()
            with torch.no_grad():
                for rows, batch in self._series_batches(X):
                    Xb = to_tensor(batch[: len(rows)], device=self.device)
                    hb = hidden[rows, : Xb.shape[1]].to(Xb.device)
                    q, e, x_hat, target = self.module_(Xb, hidden=hb)
                    if x_hat is not None and self.clustering_loss != "dec":
                        error = self.criterion_(x_hat, torch.nan_to_num(Xb), target)
                        n_scored = int(target.sum())  # the error is a mean over these
                        reconstruction += float(error) * n_scored
                        scored += n_scored
                    if self.clustering_loss is not None:
                        kl = float(kl_clustering_loss(q, target_distribution(q)))
                        weight = 1.0 if self.clustering_loss == "dec" else self.gamma
                        clustering += weight * kl * len(rows)
        return -(reconstruction / max(scored, 1) + clustering / X.shape[0])


def _held_out_hidden(observed: torch.Tensor, ratio: float, span: float) -> torch.Tensor:
    """The timestamps ``valid_loss`` and ``score`` hide, drawn as in training.

    Drawn from a generator of its own with a fixed seed, so a row hides the
    same timestamps every time and the global random state is untouched.
    """
    generator = torch.Generator().manual_seed(_MASK_SEED)
    return draw_hidden_spans(observed, ratio, span, generator=generator)


def _input_standardisation(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``(offset, scale)`` that bring the observed values of ``X`` near 0 and 1.

    The mean and standard deviation of each channel over the observed
    timestamps (scikit-learn's ``StandardScaler``, which skips NaN), rounded:
    the scale to the nearest power of two (1 for a constant channel), the
    offset to the nearest multiple of ``scale / 1024``. Dividing by a power
    of two is exact, so data whose mean is about 0 and standard deviation
    about 1 gets offset 0 and scale 1 and passes bit for bit.
    """
    stats = StandardScaler().fit(X.reshape(-1, X.shape[2]))  # constant channels: scale_ 1
    scale = 2.0 ** np.round(np.log2(stats.scale_))
    offset = np.round(stats.mean_ / scale * 1024) / 1024 * scale
    return offset, scale


def _zero_filled_vectors(X: Any) -> np.ndarray:
    """Flatten padded series into vectors, padding as zeros (what KMeans can take)."""
    X = np.asarray(X, dtype=np.float32)
    return np.nan_to_num(X.reshape(X.shape[0], -1), nan=0.0)


def make_kmeans_baseline(
    n_clusters: int = 8,
    *,
    max_length: int | None = None,
    n_init: int = 10,
    align: bool = False,
    random_state: int | np.random.RandomState | None = None,
) -> Pipeline:
    """KMeans on padded, z-normalised series: the classical baseline.

    The pipeline pads the series (:class:`PaddingTransformer`), z-normalises
    each one (:class:`TimeSeriesScaler`), fills the padding with zeros,
    flattens each series into one vector and runs scikit-learn's
    :class:`~sklearn.cluster.KMeans` with the Euclidean distance. It takes
    the same input as a ``NeuralNetClusterer`` pipeline, so both sit side by
    side in the same ``Pipeline`` or ``GridSearchCV`` code (its steps are
    named ``paddingtransformer``, ``timeseriesscaler``,
    ``functiontransformer`` and ``kmeans``).
    ``set_params(timeseriesscaler__scope="collection")`` keeps the levels
    and amplitudes of the series instead of z-normalising each one (on
    JapaneseVowels: ARI 0.179 to 0.786, ``benchmarks/NOTES.md``).
    ``align=True`` shifts each series to best match the collection's mean
    shape first (:class:`TimeSeriesAligner`, a step named
    ``timeseriesaligner`` after the scaler): series whose shapes appear a
    few timestamps early or late, such as ECG beats, are then compared by
    their shapes (on ECGFiveDays: ARI 0.000 to 0.794), while series whose
    offsets are the signal lose it.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters.
    max_length : int, default=None
        The padded length; None uses the longest series seen in fit.
    n_init : int, default=10
        KMeans restarts.
    align : bool, default=False
        Whether to shift each series to best match the collection's mean
        shape before KMeans (:class:`TimeSeriesAligner`).
    random_state : int, RandomState instance or None, default=None
        Seeds KMeans.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The unfitted pipeline; ``fit_predict`` labels ragged series as
        ``NeuralNetClusterer`` pipelines do.

    Examples
    --------
    >>> from skts import make_kmeans_baseline
    >>> from skts.datasets import make_time_series_clusters
    >>> X, y = make_time_series_clusters(random_state=0)
    >>> baseline = make_kmeans_baseline(n_clusters=3, random_state=0)
    >>> baseline.fit_predict(X).shape
    (300,)
    """
    steps = [PaddingTransformer(max_length), TimeSeriesScaler()]
    if align:
        steps.append(TimeSeriesAligner())
    return make_pipeline(
        *steps,
        FunctionTransformer(_zero_filled_vectors),
        KMeans(n_clusters, n_init=n_init, random_state=random_state),
    )
