"""PyTorch modules of skts: encoders, the clustering model and losses.

Pure ``torch.nn``: nothing here imports scikit-learn. The estimator in
:mod:`skts.cluster` drives these modules.
"""

from ._masking import draw_hidden_spans, masked_max, masked_mean, split_padding
from .encoders import (
    ConvEncoder,
    FeedForward,
    HybridEncoder,
    RandomConvEncoder,
    ShapeletEncoder,
)
from .losses import MaskedMSELoss, kl_clustering_loss, student_t_assignment, target_distribution
from .model import ClusteringModel

__all__ = [
    "ClusteringModel",
    "ConvEncoder",
    "FeedForward",
    "HybridEncoder",
    "MaskedMSELoss",
    "RandomConvEncoder",
    "ShapeletEncoder",
    "draw_hidden_spans",
    "kl_clustering_loss",
    "masked_max",
    "masked_mean",
    "split_padding",
    "student_t_assignment",
    "target_distribution",
]
