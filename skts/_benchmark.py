"""The comparison harness behind ``skts bench`` and ``benchmarks/``.

It runs clusterers on datasets under the field's protocol: train and test
splits merged, every series z-normalised on its own, ``n_clusters`` set to
the number of classes, several seeds; it records ARI, NMI, Hungarian
accuracy, fit and predict seconds and peak memory per run.
"""

from __future__ import annotations

import csv
import functools
import math
import os
import platform
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.pipeline import Pipeline, make_pipeline

from ._device import resolve_device
from ._validation import _is_dataframe
from ._warnings import warn
from .cluster import NeuralNetClusterer, make_kmeans_baseline
from .datasets import (
    BUNDLED_DATASETS,
    load_dataset,
    make_cbf,
    make_synthetic_control,
    make_time_series_clusters,
)
from .datasets._loaders import archive_reader
from .ensemble import ConsensusClusterer
from .metrics import clustering_accuracy
from .nn import FeedForward
from .preprocessing import PaddingTransformer, TimeSeriesImputer, TimeSeriesScaler

DEFAULT_DATASETS = (
    "synthetic",
    "CBF",
    "SyntheticControl",
    "GunPoint",
    "ItalyPowerDemand",
    "BasicMotions",
    "JapaneseVowels",
)
DEFAULT_METHODS = (
    "neural",
    "neural-feedforward",
    "kmeans",
    "tslearn-euclidean",
    "tslearn-dtw",
    "tslearn-kshape",
    "aeon-kasba",
)


# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------


def _synthetic() -> tuple[list[np.ndarray], np.ndarray]:
    return make_time_series_clusters(n_clusters=3, random_state=0)


def _cbf() -> tuple[np.ndarray, np.ndarray]:
    return make_cbf(random_state=0)


def _synthetic_control() -> tuple[np.ndarray, np.ndarray]:
    return make_synthetic_control(random_state=0)


_GENERATED: dict[str, Callable] = {
    "synthetic": _synthetic,
    "CBF": _cbf,
    "SyntheticControl": _synthetic_control,
}


@functools.lru_cache(maxsize=16)
def load_benchmark_dataset(name: str) -> tuple[list[np.ndarray] | np.ndarray, np.ndarray]:
    """Return ``(X, y)`` for a dataset name or a path.

    Names: ``"synthetic"`` (make_time_series_clusters, 3 clusters), ``"CBF"``
    and ``"SyntheticControl"`` (the generators, sized like the UCR archive's
    sets), the bundled datasets (train and test merged), or a path to a
    ``.ts``, ``.tsv``, ``.txt`` or ``.arff`` file or to a folder holding
    ``NAME_TRAIN`` and ``NAME_TEST`` files in any of these formats, or without
    extension as the archive wrote them before 2018 (merged). Missing values inside the
    series of a file are filled by linear interpolation along time
    (:class:`~skts.TimeSeriesImputer`), as the archive did for the datasets
    that had them, so that every method can run.
    """
    known = _known_name(name)
    if known in _GENERATED:
        return _GENERATED[known]()
    if known is not None:
        return load_dataset(known)
    if os.path.isdir(name):
        X, y = [], []
        for path in _archive_parts(name):
            reader = archive_reader(path)
            assert reader is not None  # _archive_parts lists only files it can read
            Xp, yp = reader(path)
            X.extend(Xp)
            y.extend(yp)
        return _fill_gaps(X, name), np.asarray(y)
    reader = archive_reader(name) if os.path.isfile(name) else None
    if reader is not None:
        X, y = reader(name)
        return _fill_gaps(X, name), y
    raise ValueError(
        f"Unknown dataset {name!r}: expected one of {', '.join(DEFAULT_DATASETS)}, or the path "
        "of a .ts/.tsv/.txt/.arff file or of a folder of NAME_TRAIN/NAME_TEST files."
    )


def _fill_gaps(X: list[np.ndarray], name: str) -> list[np.ndarray]:
    """The series with their missing values interpolated, or as they are without any."""
    gaps = sum(bool(np.isnan(x).any()) for x in X)
    if not gaps:
        return X
    warn(
        f"{gaps} of the {len(X)} series of {dataset_label(name)} have missing values; "
        "they were filled by linear interpolation along time.",
        UserWarning,
    )
    filled = TimeSeriesImputer().fit_transform(X)
    return PaddingTransformer().fit(filled).inverse_transform(filled)


def _archive_parts(folder: str) -> list[str]:
    """The NAME_TRAIN and NAME_TEST files of the one dataset in ``folder``, train first.

    Archives ship variants beside a dataset (aeon's ``NAME_eq_TRAIN.ts``)
    and the same split in several formats: the dataset named like the
    folder is read, or the only one there, one file per split (``.ts``
    before ``.tsv`` and ``.txt``, ``.arff`` last).
    """
    found: dict[str, dict[str, str]] = {}
    for file in sorted(os.listdir(folder), key=lambda file: (".arff" in file, file)):
        dataset, _, split = file.partition(".")[0].rpartition("_")
        if dataset and split in ("TRAIN", "TEST") and archive_reader(file) is not None:
            found.setdefault(dataset, {}).setdefault(split, os.path.join(folder, file))
    if not found:
        raise ValueError(
            "No NAME_TRAIN/NAME_TEST files (.ts, .tsv, .txt, .arff or no extension) found in "
            f"{folder!r}."
        )
    dataset = os.path.basename(os.path.normpath(folder))
    if dataset not in found:
        if len(found) > 1:
            raise ValueError(
                f"{folder!r} holds several datasets ({', '.join(sorted(found))}) and none is "
                "named like the folder: give the path of one of their files."
            )
        (dataset,) = found
    return [found[dataset][split] for split in ("TRAIN", "TEST") if split in found[dataset]]


def _known_name(name: str) -> str | None:
    """The spelling of a generated or bundled dataset's name, matched in any case; or None."""
    known = (*_GENERATED, *BUNDLED_DATASETS)
    return next((spelt for spelt in known if spelt.lower() == name.lower()), None)


def dataset_label(name: str) -> str:
    """A short label for a dataset name (as the table spells it) or path."""
    known = _known_name(name)
    if known is not None:
        return known
    base = os.path.basename(os.path.normpath(name))
    for suffix in (".gz", ".ts", ".tsv", ".txt", ".arff"):
        base = base.removesuffix(suffix)
    return base.removesuffix("_TRAIN").removesuffix("_TEST")


# ---------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------


class _Resample(TransformerMixin, BaseEstimator):
    """Linearly resample each padded series to the padded length.

    For peers that need series of equal length; a no-op on equal-length data.
    """

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=np.float64)
        n, length, channels = X.shape
        lengths = (~np.isnan(X[:, :, 0])).sum(axis=1)
        if np.all(lengths == length):
            return X
        out = np.empty_like(X)
        grid = np.arange(length)
        for i, n_i in enumerate(lengths):
            source = np.linspace(0, n_i - 1, length)
            for c in range(channels):
                out[i, :, c] = np.interp(source, grid[:n_i], X[i, :n_i, c])
        return out


class _ChannelsFirst(TransformerMixin, BaseEstimator):
    """aeon's layout: (n_samples, n_channels, n_timestamps)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.ascontiguousarray(np.swapaxes(X, 1, 2))


@dataclass
class Method:
    """A clusterer to benchmark: how to build it, and what it needs."""

    name: str
    build: Callable[[int, int, str, str], Any]  # (n_clusters, seed, device, scaling)
    requires: str | None = None
    note: str = ""


def _neural(n_clusters: int, seed: int, device: str, scaling: str) -> Pipeline:
    return make_pipeline(
        PaddingTransformer(),
        TimeSeriesScaler(scope=scaling),
        NeuralNetClusterer(n_clusters, random_state=seed, device=device),
    )


def _neural_spectral(n_clusters: int, seed: int, device: str, scaling: str) -> Pipeline:
    pipeline = _neural(n_clusters, seed, device, scaling)
    return pipeline.set_params(neuralnetclusterer__centers="spectral")


def _neural_consensus(n_clusters: int, seed: int, device: str, scaling: str) -> ConsensusClusterer:
    member = _neural(n_clusters, seed, device, scaling)
    return ConsensusClusterer(member, n_estimators=3, random_state=seed)


def _neural_feedforward(n_clusters: int, seed: int, device: str, scaling: str) -> Pipeline:
    return make_pipeline(
        PaddingTransformer(),
        TimeSeriesScaler(scope=scaling),
        NeuralNetClusterer(n_clusters, module=FeedForward, random_state=seed, device=device),
    )


def _kmeans(n_clusters: int, seed: int, device: str, scaling: str) -> Pipeline:
    baseline = make_kmeans_baseline(n_clusters, random_state=seed)
    return baseline.set_params(timeseriesscaler__scope=scaling)


def _kmeans_aligned(n_clusters: int, seed: int, device: str, scaling: str) -> Pipeline:
    baseline = make_kmeans_baseline(n_clusters, align=True, random_state=seed)
    return baseline.set_params(timeseriesscaler__scope=scaling)


def _tslearn(kind: str) -> Callable[[int, int, str, str], Pipeline]:
    def build(n_clusters: int, seed: int, device: str, scaling: str) -> Pipeline:
        with warnings.catch_warnings():  # tslearn warns about optional h5py on import
            warnings.simplefilter("ignore")
            from tslearn.clustering import KShape, TimeSeriesKMeans

        if kind == "kshape":
            model = KShape(n_clusters, random_state=seed)
        else:
            model = TimeSeriesKMeans(n_clusters, metric=kind, random_state=seed)
        steps = [PaddingTransformer(), TimeSeriesScaler(scope=scaling)]
        if kind != "dtw":  # DTW aligns series of different lengths itself
            steps.append(_Resample())
        return make_pipeline(*steps, model)

    return build


def _aeon_kasba(n_clusters: int, seed: int, device: str, scaling: str) -> Pipeline:
    from aeon.clustering import KASBA

    return make_pipeline(
        PaddingTransformer(),
        TimeSeriesScaler(scope=scaling),
        _Resample(),
        _ChannelsFirst(),
        KASBA(n_clusters=n_clusters, random_state=seed),
    )


METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        Method("neural", _neural, note="skts NeuralNetClusterer, defaults"),
        Method(
            "neural-consensus",
            _neural_consensus,
            note="skts ConsensusClusterer over 3 fits of the default (3 times the cost)",
        ),
        Method(
            "neural-spectral",
            _neural_spectral,
            note="skts NeuralNetClusterer, centres of spectral clusters (centers='spectral')",
        ),
        Method(
            "neural-feedforward",
            _neural_feedforward,
            note="skts NeuralNetClusterer with the feed-forward module",
        ),
        Method(
            "kmeans",
            _kmeans,
            note="KMeans on the scaled series, zero-filled and flattened (make_kmeans_baseline)",
        ),
        Method(
            "kmeans-aligned",
            _kmeans_aligned,
            note="the KMeans baseline on series shifted to the mean shape (align=True)",
        ),
        Method(
            "tslearn-euclidean",
            _tslearn("euclidean"),
            "tslearn",
            "tslearn TimeSeriesKMeans, Euclidean; unequal lengths resampled",
        ),
        Method("tslearn-dtw", _tslearn("dtw"), "tslearn", "tslearn TimeSeriesKMeans, DTW"),
        Method(
            "tslearn-kshape",
            _tslearn("kshape"),
            "tslearn",
            "tslearn KShape; unequal lengths resampled",
        ),
        Method(
            "aeon-kasba",
            _aeon_kasba,
            "aeon",
            "aeon KASBA (elastic k-means); unequal lengths resampled",
        ),
    ]
}
"""The methods ``skts bench`` knows, by name."""


SCALINGS = {
    "series": "each series z-normalised",
    "collection": "each channel standardised over the whole collection (series not z-normalised)",
}
"""What ``scaling`` may be, and how reports word it."""


def method_available(method: Method) -> bool:
    """Whether the library a method needs is installed."""
    if method.requires is None:
        return True
    try:
        __import__(method.requires)
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


class PeakMemory:
    """Peak resident memory above the starting level while the block runs (MB).

    Samples the process's resident set size every few milliseconds, so it
    sees memory that Python's allocator does not (PyTorch's tensors). Reports
    NaN where ``/proc`` is not available.
    """

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak_mb = math.nan

    def __enter__(self) -> PeakMemory:
        self._start = _rss_bytes()
        self._peak = self._start or 0
        self._stop = threading.Event()
        if self._start is not None:
            self._thread = threading.Thread(target=self._watch, daemon=True)
            self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, _rss_bytes() or 0)
            self._stop.wait(self.interval)

    def __exit__(self, *exc: object) -> Literal[False]:
        self._stop.set()
        if self._start is not None:
            self._thread.join()
            self._peak = max(self._peak, _rss_bytes() or 0)
            self.peak_mb = (self._peak - self._start) / 2**20
        return False


@dataclass
class Result:
    """One run: a method on a dataset with one seed."""

    dataset: str
    method: str
    seed: int
    n_samples: int
    n_clusters: int
    ari: float = math.nan
    nmi: float = math.nan
    accuracy: float = math.nan
    fit_seconds: float = math.nan
    predict_seconds: float = math.nan
    peak_memory_mb: float = math.nan
    status: str = "ok"


def run_one(
    method: Method,
    X,
    y,
    dataset: str,
    seed: int,
    device: str = "cpu",
    scaling: str = "series",
) -> Result:
    """Fit and score one method on one dataset with one seed (``scaling``: see ``run_benchmark``)."""
    y = np.asarray(y)
    n_clusters = len(np.unique(y))
    result = Result(dataset, method.name, seed, len(y), n_clusters)
    if not method_available(method):
        result.status = f"missing: pip install {method.requires}"
        return result
    model = method.build(n_clusters, seed, device, scaling)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with PeakMemory() as memory:
            start = time.perf_counter()
            model.fit(X)
            result.fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            labels = model.predict(X)
            result.predict_seconds = time.perf_counter() - start
    result.peak_memory_mb = memory.peak_mb
    result.ari = adjusted_rand_score(y, labels)
    result.nmi = normalized_mutual_info_score(y, labels)
    result.accuracy = clustering_accuracy(y, labels)
    return result


def _run_task(
    method_name: str, dataset: str, seed: int, device: str, scaling: str, single_thread: bool
) -> Result:
    """One run; with ``single_thread``, every library in it uses one thread."""
    from threadpoolctl import threadpool_limits

    X, y = load_benchmark_dataset(dataset)
    args = (METHODS[method_name], X, y, dataset_label(dataset), seed, device, scaling)
    if not single_thread:
        return run_one(*args)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            return run_one(*args)
    finally:
        torch.set_num_threads(threads)


def run_benchmark(
    datasets: Iterable[str] = DEFAULT_DATASETS,
    methods: Iterable[str] = DEFAULT_METHODS,
    seeds: Iterable[int] = (0, 1, 2),
    *,
    device: str = "cpu",
    scaling: str = "series",
    n_jobs: int = 1,
    progress: Callable[[Result, int, int], None] | None = None,
) -> list[Result]:
    """Run every method on every dataset with every seed.

    Parameters
    ----------
    datasets : iterable of str
        Dataset names or paths (see :func:`load_benchmark_dataset`).
    methods : iterable of str
        Keys of :data:`METHODS`; a method whose library is missing gives
        rows marked ``missing``.
    seeds : iterable of int
        The seeds; each run uses one.
    device : str, default="cpu"
        The device of the neural methods.
    scaling : {"series", "collection"}, default="series"
        What every method's :class:`~skts.TimeSeriesScaler` does:
        z-normalise each series (the field's protocol), or standardise each
        channel over the whole collection, which keeps the differences of
        level and amplitude between series.
    n_jobs : int, default=1
        Runs in parallel (joblib processes, one thread each); with 1, runs
        in this process with every core.
    progress : callable, default=None
        Called with ``(result, done, total)`` after each run.

    Returns
    -------
    results : list of Result
    """
    from joblib import Parallel, delayed

    datasets, seeds = list(datasets), list(seeds)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"Unknown methods {unknown}; choose among {list(METHODS)}.")
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {list(SCALINGS)}; got {scaling!r}.")
    for name in datasets:
        load_benchmark_dataset(name)  # fail early on a bad name or path
    tasks = [(m, d, s) for d in datasets for m in methods for s in seeds]
    results = []
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    outputs = runner(delayed(_run_task)(m, d, s, device, scaling, n_jobs != 1) for m, d, s in tasks)
    for result in outputs:
        results.append(result)
        if progress is not None:
            progress(result, len(results), len(tasks))
    return results


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


def write_csv(results: list[Result], path: str) -> None:
    """Write one row per run."""
    rows = [asdict(r) for r in results]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )


def read_csv(path: str) -> list[Result]:
    """Read rows written by :func:`write_csv`."""
    with open(path, newline="") as f:
        return [_result(row) for row in csv.DictReader(f)]


def _result(row: Mapping[str, Any]) -> Result:
    """A :class:`Result` from a row of ``results.csv``; absent counts are 0."""
    kwargs: dict[str, Any] = {"seed": 0, "n_samples": 0, "n_clusters": 0}
    for name, typ in Result.__annotations__.items():
        if name in row:
            value = row[name]
            kwargs[name] = (
                int(value) if typ == "int" else float(value) if typ == "float" else str(value)
            )
    return Result(**kwargs)


def as_results(results: Any) -> list[Result]:
    """Benchmark runs from a ``results.csv`` path, a DataFrame, or Results or mappings.

    A mapping needs the keys ``"dataset"`` and ``"method"``; the scores,
    times and counts it lacks are missing (NaN, or 0 for the counts).
    """
    if isinstance(results, (str, os.PathLike)):
        return read_csv(os.fspath(results))
    if _is_dataframe(results):
        results = results.to_dict("records")
    out = []
    for i, row in enumerate(results):
        if isinstance(row, Result):
            out.append(row)
            continue
        if not isinstance(row, Mapping):
            raise TypeError(
                "Expected benchmark results as a path to results.csv, a DataFrame, or "
                f"Result objects or mappings; item {i} is a {type(row).__name__}."
            )
        missing = [key for key in ("dataset", "method") if key not in row]
        if missing:
            raise ValueError(
                f"Each benchmark row needs the keys 'dataset' and 'method'; row {i} "
                f"lacks {missing} (it has {sorted(row)})."
            )
        out.append(_result(row))
    return out


@dataclass
class Summary:
    """Mean and spread of a metric per (dataset, method)."""

    datasets: list[str]
    methods: list[str]
    mean: dict = field(default_factory=dict)
    std: dict = field(default_factory=dict)


def summarise(results: list[Result], metric: str = "ari") -> Summary:
    """Mean and standard deviation over seeds of ``metric`` per (dataset, method)."""
    datasets = list(dict.fromkeys(r.dataset for r in results))
    methods = list(dict.fromkeys(r.method for r in results))
    summary = Summary(datasets, methods)
    for d in datasets:
        for m in methods:
            values = [
                getattr(r, metric)
                for r in results
                if r.dataset == d and r.method == m and r.status == "ok"
            ]
            summary.mean[d, m] = float(np.mean(values)) if values else math.nan
            summary.std[d, m] = float(np.std(values)) if values else math.nan
    return summary


def _cell(mean: float, std: float, best: bool) -> str:
    if math.isnan(mean):
        return "missing"
    text = f"{mean:.3f} ± {std:.3f}"
    return f"**{text}**" if best else text


def markdown_table(results: list[Result], metric: str = "ari") -> str:
    """A markdown table: datasets as rows, methods as columns, the best in bold, a mean row."""
    summary = summarise(results, metric)
    header = "| dataset | " + " | ".join(summary.methods) + " |"
    lines = [header, "|---" * (len(summary.methods) + 1) + "|"]
    for d in summary.datasets:
        values = [summary.mean[d, m] for m in summary.methods]
        best = np.nanmax(values) if not all(math.isnan(v) for v in values) else math.nan
        cells = [
            _cell(summary.mean[d, m], summary.std[d, m], summary.mean[d, m] == best)
            for m in summary.methods
        ]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    means = [np.mean([summary.mean[d, m] for d in summary.datasets]) for m in summary.methods]
    best = np.nanmax(means) if not all(math.isnan(v) for v in means) else math.nan
    cells = [
        "missing" if math.isnan(v) else (f"**{v:.3f}**" if v == best else f"{v:.3f}") for v in means
    ]
    lines.append("| **mean** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_times(results: list[Result]) -> str:
    """Mean fit seconds, predict seconds and peak memory per (dataset, method)."""
    fit, pred, mem = (
        summarise(results, k) for k in ("fit_seconds", "predict_seconds", "peak_memory_mb")
    )
    lines = [
        "| dataset | " + " | ".join(fit.methods) + " |",
        "|---" * (len(fit.methods) + 1) + "|",
    ]
    for d in fit.datasets:
        cells = []
        for m in fit.methods:
            if math.isnan(fit.mean[d, m]):
                cells.append("missing")
            else:
                cells.append(
                    f"{fit.mean[d, m]:.1f} / {pred.mean[d, m]:.2f} s, {mem.mean[d, m]:.0f} MB"
                )
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine_description(device: str = "cpu") -> str:
    """The date and the machine a benchmark ran on, with the GPU that ``device`` names."""
    cores = os.cpu_count()
    text = (
        f"{date.today().isoformat()}, {platform.system()} {platform.machine()}, {cores} CPU cores, "
        f"Python {platform.python_version()}, torch {torch.__version__}"
    )
    try:
        resolved = resolve_device(device)
    except ValueError:  # not on this machine: no GPU to name
        resolved = None
    if resolved is not None and resolved.startswith("cuda"):
        text += f", GPU {torch.cuda.get_device_name(torch.device(resolved))} for the neural methods"
    return text


def markdown_report(
    results: list[Result],
    seeds: list[int],
    *,
    n_jobs: int = 1,
    device: str = "cpu",
    scaling: str = "series",
) -> str:
    """The whole markdown summary of a comparison run (``n_jobs``, ``device``, ``scaling`` as it ran)."""
    methods = list(dict.fromkeys(r.method for r in results))
    missing = sorted({r.method for r in results if r.status != "ok"})
    notes = "\n".join(f"- `{m}`: {METHODS[m].note}" for m in methods if m in METHODS)
    parts = [
        "# skts benchmark",
        "",
        f"Measured on {machine_description(device)}; seeds {seeds}; "
        + (
            "one run at a time, with every core."
            if n_jobs == 1
            else f"{n_jobs} runs at a time, one thread each."
        ),
        f"Protocol: train and test splits merged, {SCALINGS[scaling]}, "
        "n_clusters = number of classes.",
        "",
        "## Adjusted Rand index (mean ± std over seeds; higher is better)",
        "",
        markdown_table(results, "ari"),
        "",
        "## Normalised mutual information",
        "",
        markdown_table(results, "nmi"),
        "",
        "## Hungarian-matched accuracy",
        "",
        markdown_table(results, "accuracy"),
        "",
        "## Fit / predict seconds and peak memory (mean over seeds)",
        "",
        "Peak memory is the resident memory above its level when the run started; memory the",
        "process already held from earlier runs is reused, so small runs often show 0 MB.",
        "",
        markdown_times(results),
        "",
        "## Methods",
        "",
        notes,
    ]
    if missing:
        parts += ["", "Missing peers (library not installed): " + ", ".join(missing) + "."]
    return "\n".join(parts) + "\n"
