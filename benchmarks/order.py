"""Classes that differ only by the order of two events: where pooled features fall short.

Each series (length 128, standard normal noise) holds two step patterns, an
"up" step (-5 for half its length, then +5) or a "down" step (the reverse),
of random lengths 8 to 32: the first somewhere in the first half of the
series, the second in the second half. The four classes are up-up,
up-down, down-up and down-down, 250 series each. The patterns are in the
spirit of Geurts's Two Patterns (2001), but this is not the archive's
dataset. Up-down and down-up hold the same two shapes, so only their order
tells them apart. The script writes the series as a UCR ``.tsv`` file and
runs the benchmark harness on it (seeds 0-2):

    python benchmarks/order.py --output benchmarks/results/order
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

from skts.cli import main

METHODS = ["neural", "kmeans", "tslearn-euclidean", "tslearn-dtw", "tslearn-kshape", "aeon-kasba"]


def make_event_order(n_per_class: int = 250, length: int = 128, seed: int = 0):
    """The series (n, length) and their classes 0-3 (up-up, up-down, down-up, down-down)."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for label in range(4):
        first_down, second_down = label >> 1, label & 1
        for _ in range(n_per_class):
            x = rng.standard_normal(length)
            lengths = rng.integers(8, 33, 2)
            starts = [
                rng.integers(0, length // 2 - lengths[0]),
                rng.integers(length // 2, length - lengths[1]),
            ]
            for start, size, down in zip(starts, lengths, (first_down, second_down)):
                step = np.r_[np.full(size // 2, -5.0), np.full(size - size // 2, 5.0)]
                x[start : start + size] = -step if down else step
            X.append(x)
            y.append(label)
    return np.asarray(X), np.asarray(y)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="benchmarks/results/order")
    parser.add_argument("--seeds", nargs="+", default=["0", "1", "2"])
    args = parser.parse_args()
    X, y = make_event_order()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "EventOrder_TRAIN.tsv")
        np.savetxt(path, np.column_stack([y, X]), fmt="%.6g", delimiter="\t")
        sys.exit(
            main(
                ["bench", "--datasets", path, "--methods", *METHODS, "--seeds", *args.seeds]
                + ["--output", args.output, "--no-plots"]
            )
        )
