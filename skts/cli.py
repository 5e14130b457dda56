"""The ``skts`` command: ``skts bench`` compares clusterers, ``skts cluster`` clusters a file."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._files import _Input, _UserError, read_series

__all__ = ["main"]

_DESCRIPTION = """\
Neural clustering of time series.

  skts bench                      compare skts with classical clusterers on the
                                  bundled datasets and print the table
  skts cluster FILE -k K          cluster the series of FILE into K groups and
                                  write one label per series
  skts predict FILE --model PATH  label the series of FILE with a model that
                                  skts cluster --save-model saved
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _seed(text: str) -> int:
    """A seed for ``random_state``: an integer from 0 to 2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 4294967295, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    from ._benchmark import DEFAULT_DATASETS, DEFAULT_METHODS, METHODS

    parser = argparse.ArgumentParser(
        prog="skts", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"skts {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    bench = commands.add_parser(
        "bench",
        help="compare clusterers on datasets and print the table",
        description=(
            "Run clusterers on datasets under the field's protocol (train and test merged, "
            "per-series z-normalisation, n_clusters = number of classes) with several seeds; "
            "print ARI tables and write CSV, markdown and PNG files to --output."
        ),
    )
    bench.add_argument(
        "--datasets",
        nargs="+",
        default=list(DEFAULT_DATASETS),
        metavar="NAME_OR_PATH",
        help=f"dataset names ({', '.join(DEFAULT_DATASETS)}) or paths of .ts/.tsv/.txt/.arff "
        "files or of folders of NAME_TRAIN/NAME_TEST files (default: all names)",
    )
    bench.add_argument(
        "--methods",
        nargs="+",
        default=list(DEFAULT_METHODS),
        choices=list(METHODS),
        metavar="METHOD",
        help=f"methods among {', '.join(METHODS)} (default: {' '.join(DEFAULT_METHODS)})",
    )
    bench.add_argument(
        "--seeds",
        nargs="+",
        type=_seed,
        default=[0, 1, 2],
        metavar="SEED",
        help="seeds (default: 0 1 2)",
    )
    bench.add_argument(
        "--device", default="cpu", help="device of the neural methods (default: cpu)"
    )
    bench.add_argument(
        "--scaling",
        choices=("series", "collection"),
        default="series",
        help="series: z-normalise each series, the field's protocol (default); collection: "
        "standardise each channel over all series, keeping their levels and amplitudes",
    )
    bench.add_argument(
        "--jobs",
        type=_positive_int,
        default=1,
        help="runs in parallel, one thread each (default: 1)",
    )
    bench.add_argument(
        "--output",
        default="skts-bench-results",
        help="folder for the result files (default: %(default)s)",
    )
    bench.add_argument("--no-plots", action="store_true", help="skip the PNG charts")
    bench.add_argument("--quiet", action="store_true", help="no progress lines")

    # What skts cluster and skts predict share: the input, how to read it, the output.
    series = argparse.ArgumentParser(add_help=False)
    series.add_argument(
        "input",
        metavar="INPUT",
        help="the file of series, or a folder of .csv files of one series each; - reads CSV "
        "from standard input",
    )
    series.add_argument("-o", "--output", help="CSV file for the labels (default: standard output)")
    series.add_argument(
        "--proba",
        action="store_true",
        help="also write each series' soft assignment to every cluster (columns p0, p1, ...)",
    )
    series.add_argument(
        "--id-column",
        metavar="NAME",
        help="read a .csv file in long format, one row per observation: the column "
        "that names each row's series (the other columns are its values, or those that "
        "--value-columns names)",
    )
    series.add_argument(
        "--plot",
        metavar="PNG",
        help="also draw each cluster's members and mean, as the clusterer saw them (padded "
        "and scaled; first channel), into this image (needs matplotlib)",
    )
    series.add_argument(
        "--series-in-columns",
        action="store_true",
        help="read a .csv file whose columns are the series, time down the rows: the header "
        "names them, and a first column of dates or times labels the rows",
    )
    series.add_argument(
        "--time-column",
        metavar="NAME",
        help="with --id-column, the column that orders the rows of each series "
        "(default: the file's order)",
    )
    series.add_argument(
        "--value-columns",
        metavar="NAMES",
        type=lambda text: text.split(","),
        help="with --id-column, the comma-separated columns that hold the values, one "
        "channel each (default: every other column, which must then be numeric)",
    )
    series.add_argument(
        "--frequency",
        metavar="STEP",
        help="with --time-column, put irregularly sampled series on a regular grid: a "
        "duration such as 5min for dates, a number for numeric times; rows in one step are "
        "averaged, steps without rows are missing values (see --fill-missing)",
    )
    formats = (
        "INPUT may be a .ts file (UEA/UCR), a .tsv or .txt file (UCR: label first, then the "
        "values separated by tabs, commas or spaces; NAME_TRAIN and NAME_TEST files without "
        "extension too), a .arff file (Weka's, as the archive ships it), a .csv file (one "
        "series per row, shorter rows padded; cells separated by commas, semicolons, with a "
        "decimal comma or point, or tabs; a header line and a first column of series names, "
        "as pandas writes them, are recognised; with --id-column, one row per observation), "
        "or a .npy/.npz array of shape (n_series, n_timestamps) or (n_series, n_timestamps, "
        "n_channels). INPUT may also be a folder of .csv files that hold one series each, "
        "time down the rows and one column per channel (a first column of dates or times "
        "labels the rows), named by their file names."
    )

    cluster = commands.add_parser(
        "cluster",
        parents=[series],
        help="cluster the series of a file",
        description=(
            "Cluster the series of INPUT with NeuralNetClusterer (behind padding and "
            "scaling) and write one label per series as CSV. " + formats
        ),
    )
    cluster.add_argument(
        "-k", "--n-clusters", type=_positive_int, required=True, help="the number of clusters"
    )
    cluster.add_argument(
        "--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (default: cpu)"
    )
    cluster.add_argument(
        "--save-model",
        metavar="PATH",
        help="save the fitted pipeline with joblib, for skts predict or Python",
    )
    cluster.add_argument(
        "--scaling",
        choices=("series", "collection"),
        default="series",
        help="series: z-normalise each series, so that series are compared by shape (default); "
        "collection: standardise each channel over all series, so that differences of level "
        "and amplitude count too (often better on multivariate data)",
    )
    cluster.add_argument(
        "--fill-missing",
        choices=("linear", "previous"),
        help="fill missing values inside the series (NaN, or ? in .ts files) by linear "
        "interpolation or by carrying the previous value forward (default: reject them)",
    )
    cluster.add_argument("--seed", type=_seed, default=0, help="random seed (default: 0)")
    cluster.add_argument(
        "--n-fits",
        type=_positive_int,
        default=1,
        metavar="N",
        help="fit N times, each with its own seed drawn from --seed, and keep the partition "
        "the fits agree on (ConsensusClusterer; --proba then gives the share of fits voting "
        "for each cluster); N times the time (default: 1)",
    )
    cluster.add_argument(
        "--max-epochs", default="auto", help="pretext epochs or 'auto' (default: auto)"
    )
    cluster.add_argument("--verbose", action="store_true", help="print the training epochs")

    predict = commands.add_parser(
        "predict",
        parents=[series],
        help="label the series of a file with a saved model",
        description=(
            "Label the series of INPUT with a model that skts cluster --save-model saved (or "
            "any fitted clusterer saved with joblib), without training it again, and write "
            "one label per series as CSV. Series longer than those the model was fitted on "
            "are cut to their length. Loading a model runs Python code from its file: load "
            "only files you trust. " + formats
        ),
    )
    predict.add_argument(
        "-m", "--model", metavar="PATH", required=True, help="the model file (joblib)"
    )
    predict.add_argument(
        "--device",
        help="cpu, cuda, cuda:N, mps or auto (default: the device the model was fitted with)",
    )
    return parser


# ---------------------------------------------------------------------------
# skts cluster
# ---------------------------------------------------------------------------


def _cluster(args: argparse.Namespace) -> int:
    import joblib
    from sklearn.pipeline import make_pipeline

    from . import (
        ConsensusClusterer,
        NeuralNetClusterer,
        PaddingTransformer,
        TimeSeriesImputer,
        TimeSeriesScaler,
    )

    _check_writable(args.output, "--output")
    _check_writable(args.save_model, "--save-model")
    _check_plot(args.plot)
    data = _read_input(args)
    max_epochs = args.max_epochs if args.max_epochs == "auto" else _epochs(args.max_epochs)
    fill = [TimeSeriesImputer(method=args.fill_missing)] if args.fill_missing else []
    model: Any = make_pipeline(
        *fill,
        PaddingTransformer(),
        TimeSeriesScaler(scope=args.scaling),
        NeuralNetClusterer(
            args.n_clusters,
            max_epochs=max_epochs,
            device=args.device,
            random_state=args.seed,
            verbose=int(args.verbose),
        ),
    )
    if args.n_fits > 1:
        model = ConsensusClusterer(model, n_estimators=args.n_fits, random_state=args.seed)
    hint = " Here: pass --fill-missing linear (or previous)."
    # Standard output holds the labels: the training log (--verbose) goes to stderr.
    with _user_errors(hint), contextlib.redirect_stdout(sys.stderr):
        labels = model.fit_predict(data.X)
        proba = _soft_assignments(args, model, data.X)
    _write_labels(args, data, labels, proba, args.n_clusters)
    _plot_clusters(args.plot, model, data.X, labels)
    if args.save_model:
        try:
            joblib.dump(model, args.save_model)
        except OSError as exc:
            raise _UserError(f"--save-model: could not write {args.save_model}: {exc}") from None
    return 0


def _predict(args: argparse.Namespace) -> int:
    import joblib

    if not os.path.isfile(args.model):
        raise _UserError(f"no such model file: {args.model}")
    _check_writable(args.output, "--output")
    _check_plot(args.plot)
    try:
        model = joblib.load(args.model)
    except Exception as exc:  # unpickling fails in many ways; each is a bad model file
        raise _UserError(
            f"could not load the model {args.model} (expected a file that skts cluster "
            f"--save-model wrote): {exc!r}"
        ) from None
    if not hasattr(model, "predict"):
        raise _UserError(
            f"{args.model} holds a {type(model).__name__}, not a fitted clusterer: expected a "
            "model saved by skts cluster --save-model"
        )
    if args.device is not None and not _set_device(model, args.device):
        raise _UserError(f"--device: the {type(model).__name__} in {args.model} has no device")
    data = _read_input(args)
    hint = (
        " Here: the model was fitted without --fill-missing; fit it again with skts cluster "
        "--fill-missing linear (or previous) --save-model PATH."
    )
    with _user_errors(hint), contextlib.redirect_stdout(sys.stderr):
        labels = np.asarray(model.predict(data.X))
        proba = _soft_assignments(args, model, data.X)
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    n_clusters = getattr(final, "n_clusters_", None) or getattr(final, "n_clusters", None)
    _write_labels(args, data, labels, proba, n_clusters or int(labels.max()) + 1)
    _plot_clusters(args.plot, model, data.X, labels)
    return 0


def _set_device(model: Any, device: str) -> bool:
    """Set every ``device`` parameter of ``model`` and of its fitted members; whether any.

    A consensus's fitted clones (``estimators_``) are not reached by its own
    ``set_params``.
    """
    keys = [k for k in model.get_params() if k == "device" or k.endswith("__device")]
    model.set_params(**dict.fromkeys(keys, device))
    members = [_set_device(member, device) for member in getattr(model, "estimators_", [])]
    return bool(keys) or any(members)


def _check_writable(path: str | None, option: str) -> None:
    """Fail before any training when ``path``'s folder does not exist (None: not asked for)."""
    if path is None:
        return
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise _UserError(f"{option} {path}: no such folder: {folder}")
    if os.path.isdir(path):
        raise _UserError(f"{option} {path}: is a folder; give a file name")


def _check_plot(path: str | None) -> None:
    """Fail before any work when ``--plot`` cannot be written or drawn."""
    _check_writable(path, "--plot")
    if path is None:
        return
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError:
        raise _UserError(
            "--plot draws with matplotlib, which is not installed: pip install 'skts[plot]'"
        ) from None
    formats = FigureCanvasAgg.get_supported_filetypes()
    extension = os.path.splitext(path)[1].removeprefix(".").lower()
    if extension and extension not in formats:
        raise _UserError(
            f"--plot {path}: matplotlib writes no .{extension} files; use one of "
            f"{', '.join(sorted(formats))}"
        )


def _plot_clusters(path: str | None, model: Any, X: Any, labels: np.ndarray) -> None:
    """Draw each cluster's members as the clusterer saw them (after the pipeline's steps).

    A consensus's fits share their preprocessing: the first one's shows what they saw.
    """
    if path is None:
        return
    from .plotting import _save_figure, plot_cluster_members

    pipeline = getattr(model, "estimators_", [model])[0]
    steps = getattr(pipeline, "steps", [])
    with _user_errors(""), contextlib.redirect_stdout(sys.stderr):
        seen = pipeline[:-1].transform(X) if len(steps) > 1 else X
        axes = plot_cluster_members(seen, labels)
    try:
        _save_figure(axes[0], path)
    except (OSError, ValueError) as exc:
        raise _UserError(f"--plot: could not write {path}: {exc}") from None
    print(f"skts: clusters drawn in {path}", file=sys.stderr)


def _check_output_folder(path: str) -> None:
    """Fail before any run when the folder ``path`` could not be created or written to."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise _UserError(f"--output {path}: is a file; give a folder for the result files")
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.access(existing, os.W_OK):
        raise _UserError(f"--output {path}: cannot write in {existing}")


def _read_input(args: argparse.Namespace) -> _Input:
    return read_series(
        args.input,
        args.id_column,
        args.time_column,
        args.value_columns,
        args.frequency,
        args.series_in_columns,
    )


@contextlib.contextmanager
def _user_errors(missing_hint: str):
    """Turn the estimators' errors on bad input into one line; ``missing_hint`` says how to fill gaps."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        from ._validation import _IMPUTE_HINT

        message = str(exc)
        if _IMPUTE_HINT in message:  # missing values, not any error that names the imputer
            message += missing_hint
        raise _UserError(message) from None


def _soft_assignments(args: argparse.Namespace, model: Any, X: Any) -> np.ndarray | None:
    """``model.predict_proba(X)`` with ``--proba``, else None."""
    if not args.proba:
        return None
    if not hasattr(model, "predict_proba"):
        raise _UserError(f"--proba: a {type(model).__name__} has no predict_proba")
    return np.asarray(model.predict_proba(X))


def _write_labels(
    args: argparse.Namespace,
    data: _Input,
    labels: np.ndarray,
    proba: np.ndarray | None,
    n_clusters: int,
) -> None:
    """Write ``series,label`` (and ``p0, p1, ...`` with ``proba``) as CSV; report on stderr."""
    header = ["series", "label"]
    columns: list[Sequence[Any]] = [
        range(len(labels)) if data.names is None else data.names,
        labels.tolist(),
    ]
    if proba is not None:
        header += [f"p{j}" for j in range(proba.shape[1])]
        columns += [[f"{p:.6g}" for p in proba[:, j]] for j in range(proba.shape[1])]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(zip(*columns))
    if args.output:
        try:
            with open(args.output, "w") as f:
                f.write(buffer.getvalue())
        except OSError as exc:
            raise _UserError(f"--output: could not write {args.output}: {exc}") from None
    else:
        sys.stdout.write(buffer.getvalue())
    counts = np.bincount(labels, minlength=n_clusters)
    print(
        f"skts: {len(labels)} series in {n_clusters} clusters (sizes {counts.tolist()})"
        + (f"; labels written to {args.output}" if args.output else "")
        + ("; line 1 of the input was read as column names" if data.header else ""),
        file=sys.stderr,
    )


def _epochs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _UserError(f"--max-epochs: expected an integer or 'auto', got {text!r}") from None
    if value < 0:
        raise _UserError(f"--max-epochs: expected a non-negative integer, got {value}")
    return value


# ---------------------------------------------------------------------------
# skts bench
# ---------------------------------------------------------------------------


def _bench(args: argparse.Namespace) -> int:
    from . import _benchmark as bench
    from ._device import resolve_device

    def progress(result: bench.Result, done: int, total: int) -> None:
        if args.quiet:
            return
        detail = (
            f"ARI {result.ari:.3f}, fit {result.fit_seconds:.1f} s"
            if result.status == "ok"
            else result.status
        )
        print(
            f"[{done}/{total}] {result.dataset} · {result.method} · seed {result.seed}: {detail}",
            file=sys.stderr,
            flush=True,
        )

    _check_output_folder(args.output)
    try:
        resolve_device(args.device)  # an unavailable device fails before any run
        results = bench.run_benchmark(
            args.datasets,
            args.methods,
            args.seeds,
            device=args.device,
            scaling=args.scaling,
            n_jobs=args.jobs,
            progress=progress,
        )
    except ValueError as exc:
        raise _UserError(str(exc)) from None
    os.makedirs(args.output, exist_ok=True)
    bench.write_csv(results, os.path.join(args.output, "results.csv"))
    report = bench.markdown_report(
        results, args.seeds, n_jobs=args.jobs, device=args.device, scaling=args.scaling
    )
    with open(os.path.join(args.output, "results.md"), "w") as f:
        f.write(report)
    if not args.no_plots:
        try:
            from .plotting import plot_benchmark

            plot_benchmark(results, os.path.join(args.output, "scores.png"), metric="ari")
            plot_benchmark(results, os.path.join(args.output, "times.png"), metric="fit_seconds")
        except ImportError as exc:
            print(f"skts: plots skipped: {exc}", file=sys.stderr)
    print("Adjusted Rand index (mean ± std over seeds)\n")
    print(bench.markdown_table(results, "ari"))
    print(f"\nFull report: {os.path.join(args.output, 'results.md')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``skts`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    command = {"bench": _bench, "cluster": _cluster, "predict": _predict}[args.command]
    shown: set[str] = set()

    def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
        # One line each, as the errors, and once: the pipeline may meet the
        # same input twice (labels, then --proba); a source line means nothing here.
        if str(message) not in shown:
            shown.add(str(message))
            print(f"skts: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        try:
            return command(args)
        except _UserError as exc:
            print(f"skts: error: {exc}", file=sys.stderr)
            return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
