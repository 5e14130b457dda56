"""How fit time, predict throughput and memory grow with the number and length of series.

Runs NeuralNetClusterer (defaults), the KMeans baseline and tslearn's DTW
k-means on series from ``make_time_series_clusters`` (4 clusters, one fixed
length per run):

- growing the number of series: 1 000, 10 000, 100 000 series of length 128;
- growing the length: 1 000 series of length 64, 128, 256, 512, 1024.

DTW k-means grows with n * length^2 and would take hours on the largest
settings: above ``--dtw-max-series`` series it is timed on a random subsample
and its times are extrapolated linearly in the number of series (marked
``extrapolated``). Writes ``scaling.csv``, ``scaling.md`` and two log-log
plots to ``--output``.

    python benchmarks/scaling.py --output benchmarks/results
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import time
import warnings

import numpy as np

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


def measure(method: str, X: np.ndarray, device: str, dtw_max_series: int) -> dict:
    n = X.shape[0]
    note = ""
    if method == "tslearn-dtw" and n > dtw_max_series:
        rng = np.random.RandomState(0)
        X = X[rng.choice(n, dtw_max_series, replace=False)]
        note = f"extrapolated from {dtw_max_series} series"
    model = build(method, device)
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
        "length": X.shape[1],
        "fit_seconds": fit_seconds * factor,
        "predict_per_second": X.shape[0] / predict_seconds,
        "peak_memory_mb": memory.peak_mb if not note else math.nan,
        "note": note,
    }


def growth_exponent(rows: list[dict], method: str, x: str) -> float:
    points = [(r[x], r["fit_seconds"]) for r in rows if r["method"] == method]
    if len(points) < 2:
        return math.nan
    xs, ys = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return float(np.polyfit(xs, ys, 1)[0])


def report(rows_n: list[dict], rows_len: list[dict], methods: list[str]) -> str:
    def table(rows):
        lines = [
            "| method | series | length | fit s | predict series/s | peak MB | note |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            lines.append(
                f"| {r['method']} | {r['n_samples']} | {r['length']} | {r['fit_seconds']:.1f} | "
                f"{r['predict_per_second']:.0f} | "
                + ("" if math.isnan(r["peak_memory_mb"]) else f"{r['peak_memory_mb']:.0f}")
                + f" | {r['note']} |"
            )
        return "\n".join(lines)

    exponents = [
        f"| {m} | {growth_exponent(rows_n, m, 'n_samples'):.2f} | {growth_exponent(rows_len, m, 'length'):.2f} |"
        for m in methods
    ]
    return "\n".join(
        [
            "# Scaling",
            "",
            f"Measured on {machine_description()}.",
            "",
            "## Growing the number of series (length 128)",
            "",
            table(rows_n),
            "",
            "## Growing the length (1 000 series)",
            "",
            table(rows_len),
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
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    rows_n, rows_len = [], []
    for n in args.sizes:
        X = make_data(n, 128)
        for method in args.methods:
            rows_n.append(measure(method, X, args.device, args.dtw_max_series))
            print(rows_n[-1], flush=True)
    for length in args.lengths:
        X = make_data(1_000, length)
        for method in args.methods:
            rows_len.append(measure(method, X, args.device, args.dtw_max_series))
            print(rows_len[-1], flush=True)
    with open(os.path.join(args.output, "scaling.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows_n[0]) + ["grid"])
        writer.writeheader()
        for grid, rows in (("series", rows_n), ("length", rows_len)):
            for r in rows:
                writer.writerow({**r, "grid": grid})
    with open(os.path.join(args.output, "scaling.md"), "w") as f:
        f.write(report(rows_n, rows_len, args.methods))
    from skts.plotting import plot_scaling

    plot_scaling(rows_n, os.path.join(args.output, "scaling_series.png"), x="n_samples")
    plot_scaling(rows_len, os.path.join(args.output, "scaling_length.png"), x="length")


if __name__ == "__main__":
    main()
