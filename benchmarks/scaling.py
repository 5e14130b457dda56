"""How fit time, predict throughput and memory grow with the number and length of series.

Runs NeuralNetClusterer (defaults), the KMeans baseline and tslearn's DTW
k-means on series from ``make_time_series_clusters`` (4 clusters, one fixed
length per run), each run in a fresh process so that its peak memory is its
own (the "process" column is the whole process's peak resident memory, the
"run" column what fit and predict added to it):

- growing the number of series: 1 000, 10 000, 100 000 series of length 128;
- growing the length: 1 000 series of length 64, 128, 256, 512, 1024;
- one head-to-head point: 10 000 series of length 256.

DTW k-means grows with n * length^2 and would take hours on the largest
settings: it is timed on a random subsample of at most ``--dtw-max-series``
series and at most ``--dtw-max-cells / length^2`` (but at least 50), and its
fit time is extrapolated linearly in the number of series (marked
``extrapolated``). Writes ``scaling.csv``, ``scaling.md`` and two log-log
plots to ``--output``.

    python benchmarks/scaling.py --output benchmarks/results
"""

from __future__ import annotations

import argparse
import csv
import math
import multiprocessing
import os
import resource
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from skts import NeuralNetClusterer, PaddingTransformer, TimeSeriesScaler, make_kmeans_baseline
from skts._benchmark import PeakMemory, machine_description
from skts.datasets import make_time_series_clusters


def make_data(n_samples: int, length: int, seed: int = 0):
    X, _ = make_time_series_clusters(
        n_clusters=4,
        n_samples_per_cluster=n_samples // 4,
        min_length=length,
        max_length=length + 1,
        random_state=seed,
    )
    return TimeSeriesScaler().fit_transform(PaddingTransformer().fit_transform(X))


def build(method: str, device: str):
    if method == "neural":
        return NeuralNetClusterer(4, random_state=0, device=device)
    if method == "kmeans":
        return make_kmeans_baseline(4, random_state=0)
    if method == "tslearn-dtw":
        from tslearn.clustering import TimeSeriesKMeans

        return TimeSeriesKMeans(4, metric="dtw", random_state=0)
    raise ValueError(method)


def measure(
    method: str, n: int, length: int, device: str, dtw_max_series: int, dtw_max_cells: float
) -> dict:
    """One run in a fresh process, so that its peak memory is its own."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        row = pool.submit(
            _measure, method, n, length, device, dtw_max_series, dtw_max_cells
        ).result()
    print(row, flush=True)
    return row


def _measure(
    method: str, n: int, length: int, device: str, dtw_max_series: int, dtw_max_cells: float
) -> dict:
    X = make_data(n, length)
    note = ""
    subsample = min(n, dtw_max_series, max(50, int(dtw_max_cells / length**2)))
    if method == "tslearn-dtw" and subsample < n:
        rng = np.random.RandomState(0)
        X = X[rng.choice(n, subsample, replace=False)]
        note = f"extrapolated from {subsample} series"
    model = build(method, device)
    on_gpu = method == "neural" and device != "cpu" and torch.cuda.is_available()
    if on_gpu:
        torch.cuda.reset_peak_memory_stats()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with PeakMemory() as memory:
            start = time.perf_counter()
            model.fit(X)
            fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            model.predict(X)
            predict_seconds = time.perf_counter() - start
    factor = n / X.shape[0]
    return {
        "method": method,
        "n_samples": n,
        "length": length,
        "fit_seconds": fit_seconds * factor,
        "predict_per_second": X.shape[0] / predict_seconds,
        "peak_memory_mb": memory.peak_mb if not note else math.nan,
        "process_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if not note
        else math.nan,
        "gpu_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if on_gpu else math.nan,
        "note": note,
    }


def growth_exponent(rows: list[dict], method: str, x: str) -> float:
    points = [(r[x], r["fit_seconds"]) for r in rows if r["method"] == method]
    if len(points) < 2:
        return math.nan
    xs, ys = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return float(np.polyfit(xs, ys, 1)[0])


def _mb(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.0f}"


def report(
    rows_n: list[dict],
    rows_len: list[dict],
    rows_point: list[dict],
    methods: list[str],
    device: str = "cpu",
) -> str:
    gpu = any(not math.isnan(r.get("gpu_peak_mb", math.nan)) for r in rows_n + rows_len)

    def table(rows):
        lines = [
            "| method | series | length | fit s | predict series/s | peak MB (run) "
            "| peak MB (process) |" + (" peak GPU MB |" if gpu else "") + " note |",
            "|---|---|---|---|---|---|---|" + ("---|" if gpu else "") + "---|",
        ]
        for r in rows:
            lines.append(
                f"| {r['method']} | {r['n_samples']} | {r['length']} | {r['fit_seconds']:.1f} | "
                f"{r['predict_per_second']:.0f} | {_mb(r['peak_memory_mb'])} | "
                f"{_mb(r['process_peak_mb'])} |"
                + (f" {_mb(r.get('gpu_peak_mb', math.nan))} |" if gpu else "")
                + f" {r['note']} |"
            )
        return "\n".join(lines)

    by_method = {r["method"]: r for r in rows_point}
    speedup = ""
    if "neural" in by_method and "tslearn-dtw" in by_method:
        ratio = by_method["tslearn-dtw"]["fit_seconds"] / by_method["neural"]["fit_seconds"]
        speedup = f"NeuralNetClusterer fits {ratio:.1f}× faster than tslearn's DTW k-means here."
    exponents = [
        f"| {m} | {growth_exponent(rows_n, m, 'n_samples'):.2f} | {growth_exponent(rows_len, m, 'length'):.2f} |"
        for m in methods
    ]
    return "\n".join(
        [
            "# Scaling",
            "",
            f"Measured on {machine_description(device)}.",
            "",
            "## Growing the number of series (length 128)",
            "",
            table(rows_n),
            "",
            "## Growing the length (1 000 series)",
            "",
            table(rows_len),
            "",
            "## Head to head: 10 000 series of length 256",
            "",
            table(rows_point),
            "",
            speedup,
            "",
            "## Observed growth exponents of fit time (slope of log time against log size)",
            "",
            "| method | in the number of series | in the length |",
            "|---|---|---|",
            *exponents,
            "",
        ]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", default="benchmarks/results")
    parser.add_argument("--sizes", nargs="+", type=int, default=[1_000, 10_000, 100_000])
    parser.add_argument("--lengths", nargs="+", type=int, default=[64, 128, 256, 512, 1024])
    parser.add_argument("--methods", nargs="+", default=["neural", "kmeans", "tslearn-dtw"])
    parser.add_argument("--dtw-max-series", type=int, default=500)
    parser.add_argument("--dtw-max-cells", type=float, default=3e7)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    rows_n, rows_len, rows_point = [], [], []
    limits = (args.device, args.dtw_max_series, args.dtw_max_cells)
    for n in args.sizes:
        rows_n += [measure(method, n, 128, *limits) for method in args.methods]
    for length in args.lengths:
        rows_len += [measure(method, 1_000, length, *limits) for method in args.methods]
    rows_point += [measure(m, 10_000, 256, *limits) for m in args.methods if m != "kmeans"]
    with open(os.path.join(args.output, "scaling.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows_n[0]) + ["grid"])
        writer.writeheader()
        for grid, rows in (("series", rows_n), ("length", rows_len), ("head-to-head", rows_point)):
            for r in rows:
                writer.writerow({**r, "grid": grid})
    with open(os.path.join(args.output, "scaling.md"), "w") as f:
        f.write(report(rows_n, rows_len, rows_point, args.methods, args.device))
    from skts.plotting import plot_scaling

    plot_scaling(rows_n, os.path.join(args.output, "scaling_series.png"), x="n_samples")
    plot_scaling(rows_len, os.path.join(args.output, "scaling_length.png"), x="length")


if __name__ == "__main__":
    main()
