"""Time-series datasets: synthetic generators, file loaders and bundled data."""

from ._generators import SHAPES, make_cbf, make_synthetic_control, make_time_series_clusters
from ._loaders import BUNDLED_DATASETS, load_arff, load_dataset, load_ts, load_ucr_tsv
from ._torch import TimeSeriesDataset

__all__ = [
    "BUNDLED_DATASETS",
    "SHAPES",
    "TimeSeriesDataset",
    "load_arff",
    "load_dataset",
    "load_ts",
    "load_ucr_tsv",
    "make_cbf",
    "make_synthetic_control",
    "make_time_series_clusters",
]
