"""skts: neural clustering of time series for scikit-learn.

skts clusters collections of time series, of equal or different lengths and
with one or several channels, with a PyTorch encoder trained without labels,
behind scikit-learn's estimator API (through skorch).

The data flow is: raw series → (:class:`TimeSeriesImputer` where values
are missing) → :class:`PaddingTransformer` →
:class:`TimeSeriesScaler` → :class:`NeuralNetClusterer` → labels →
:mod:`skts.metrics`.
"""

from ._validation import check_time_series, split_long_frame
from .cluster import NeuralNetClusterer, make_kmeans_baseline
from .ensemble import ConsensusClusterer
from .preprocessing import (
    PaddingTransformer,
    TimeSeriesAligner,
    TimeSeriesImputer,
    TimeSeriesScaler,
)

__version__ = "0.1.0"

__all__ = [
    "ConsensusClusterer",
    "NeuralNetClusterer",
    "PaddingTransformer",
    "TimeSeriesAligner",
    "TimeSeriesImputer",
    "TimeSeriesScaler",
    "__version__",
    "check_time_series",
    "make_kmeans_baseline",
    "split_long_frame",
]
