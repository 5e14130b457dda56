"""The ``skts`` command: ``skts bench`` compares clusterers, ``skts cluster`` clusters a file."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import re
import sys
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

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


class _UserError(Exception):
    """An error in what the user asked for: reported in one line, no traceback."""


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
        help=f"methods among {', '.join(METHODS)} (default: all)",
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


def _source(path: str) -> str:
    """How messages name the input: its path, or standard input for ``-``."""
    return "standard input" if path == "-" else path


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _counts_columns(cells: list[str]) -> bool:
    """Whether ``cells`` are 0, 1, 2, ... or 1, 2, 3, ...: the column names pandas writes."""
    if len(cells) < 2 or not all(c.isdigit() for c in cells):
        return False
    first = int(cells[0])
    return first in (0, 1) and [int(c) for c in cells] == list(range(first, first + len(cells)))


# Cells that stand for no value: pandas writes NaN as an empty cell, the UCR
# archive uses '?', and R and databases write NA or null.
_MISSING = frozenset({"", "?", "nan", "NaN", "NA", "N/A", "na", "n/a", "null", "NULL", "None"})


# A number written with a decimal comma ("0,25", "-1,5e-3"), as spreadsheets
# in many locales write them, with ';' between the cells.
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def _csv_format(lines: Sequence[str]) -> tuple[str, str]:
    """The cell delimiter (``","``, ``";"`` or a tab) and the decimal mark of CSV text.

    Read from its first lines. The delimiter is the one that splits them
    into the most numbers (a comma on ties): spreadsheets in many locales
    separate cells by ';' and write a comma as the decimal mark, and some
    programs write tabs.
    """
    lines = [line for line in lines if line.strip()][:10]

    def cells(delimiter: str) -> list[str]:
        return [cell.strip() for row in csv.reader(lines, delimiter=delimiter) for cell in row]

    def decimal_commas(delimiter: str) -> int:
        if delimiter == ",":
            return 0
        return sum(_DECIMAL_COMMA.fullmatch(cell) is not None for cell in cells(delimiter))

    counts = {
        delimiter: sum(map(_is_number, cells(delimiter))) + decimal_commas(delimiter)
        for delimiter in _DELIMITER_NAMES
    }
    delimiter = max(counts, key=counts.__getitem__)  # the first of equals
    return delimiter, "," if decimal_commas(delimiter) else "."


def _csv_rows(lines: Iterable[str], delimiter: str, decimal: str) -> list[tuple[int, list[str]]]:
    """The numbered rows of CSV text, cells stripped, decimal commas made points."""
    rows = []
    for number, cells in enumerate(csv.reader(lines, delimiter=delimiter), 1):
        cells = [c.strip() for c in cells]
        if decimal == ",":
            cells = [c.replace(",", ".") if _DECIMAL_COMMA.fullmatch(c) else c for c in cells]
        rows.append((number, cells))
    return rows


def _read_csv_series(
    path: str, by_columns: bool = False
) -> tuple[list[np.ndarray], list[str] | None, bool]:
    """The series of a CSV file (one per row), their names, and whether it had a header.

    Cells are separated by commas, semicolons (then a comma may be the
    decimal mark) or tabs, whichever splits the first lines into the most
    numbers. The first column names the series (as a pandas index does) when
    no row after the first starts with a number, or when the header's first
    cell is empty or is its only cell that is not a number. The first line
    is a header when one of its values (its cells after the name, if any) is
    text (neither a number nor a missing value), when its first cell is
    empty, or when they count the columns (0, 1, 2, ... or 1, 2, 3, ...), as
    ``pandas.DataFrame.to_csv`` writes them. Empty, NaN, ``?``, ``NA`` or
    ``null`` cells at the end of a row are padding, and inside it missing
    values (for ``--fill-missing``).

    With ``by_columns``, each column is a series instead (time down the
    rows): the header names the series, a first column of text (dates), or
    one whose header names a time or an id, labels the rows and is dropped,
    and missing cells before and after a column's values are not part of
    it.
    """
    from ._validation import _long_format_columns
    from .datasets._loaders import _open_text

    source = contextlib.nullcontext(sys.stdin) if path == "-" else _open_text(path, newline="")
    with source as f:
        text = f.read()
    delimiter, decimal = _csv_format(text.splitlines()[:20])
    rows = _csv_rows(io.StringIO(text), delimiter, decimal)
    if rows and rows[0][1]:  # a byte-order mark on standard input (files drop it on reading)
        rows[0][1][0] = rows[0][1][0].removeprefix("\ufeff").strip()
    for _, cells in rows:
        while cells and cells[-1] in _MISSING:  # padding
            cells.pop()
    rows = [(number, cells) for number, cells in rows if cells]
    # Rows after the first that all start with text: the first column holds names.
    indexed = len(rows) > 1 and not any(_is_number(cells[0]) for _, cells in rows[1:])
    header = None
    if rows:
        first = rows[0][1][1:] if indexed else rows[0][1]
        # Text makes a header, a missing value does not, except an empty first
        # cell: pandas writes the header of its index so.
        text = [c for c in first if not _is_number(c) and c not in _MISSING]
        if text or first[:1] == [""] or _counts_columns(first):
            header = rows.pop(0)[1]
    if header is not None and len(header) > 1 and not _is_number(header[0]):
        indexed = indexed or header[0] == "" or all(map(_is_number, header[1:]))
    if by_columns and header is not None and len(header) > 1:
        indexed = indexed or header[0] in _long_format_columns(header[:1])
    series: list[np.ndarray] = []
    names: list[str] = []
    lines: dict[str, int] = {}
    for number, cells in rows:
        if indexed and not by_columns:
            if cells[0] in lines:
                raise _UserError(
                    f"{_source(path)}: the series name {cells[0]!r} is on lines "
                    f"{lines[cells[0]]} and {number}, but a file of one series per row names "
                    f"each once{_long_format_hint(header)}"
                )
            lines[cells[0]] = number
            names.append(cells[0])
        values = cells[1:] if indexed else cells
        try:
            series.append(
                np.asarray([np.nan if c in _MISSING else float(c) for c in values], np.float32)
            )
        except ValueError:
            bad = next(i for i, c in enumerate(values) if c not in _MISSING and not _is_number(c))
            column = bad + int(indexed)
            title = f" ({header[column]})" if header is not None and column < len(header) else ""
            raise _UserError(
                f"{_source(path)}, line {number}: expected {_DELIMITER_NAMES[delimiter]}-separated "
                f"numbers{_after_labels(indexed, by_columns)}, got {values[bad][:40]!r} in "
                f"column {column + 1}{title}" + _long_format_hint(header)
            ) from None
    if by_columns:
        columns, titles = _columns_as_series(series, header[int(indexed) :] if header else None)
        return columns, titles, header is not None
    longest = max((len(x) for x in series), default=0)
    if 0 < longest <= 10 and len(series) > 10 * longest:
        print(
            f"skts: warning: {_source(path)} was read as {len(series)} series of at most "
            f"{longest} timestamp{'s' * (longest > 1)}, one per row; if each column is a "
            "series, pass --series-in-columns",
            file=sys.stderr,
        )
    named = _long_format_columns(header or ())
    if named:
        print(
            f"skts: warning: column {named[0]!r} of {_source(path)} was read as a timestamp of "
            f"series that are rows{_long_format_hint(header)}",
            file=sys.stderr,
        )
    return series, names if indexed else None, header is not None


def _read_csv_folder(folder: str) -> _Input:
    """The series of a folder of CSV files, one series per file, its columns the channels."""
    files = sorted(name for name in os.listdir(folder) if name.endswith((".csv", ".csv.gz")))
    if not files:
        raise _UserError(f"{folder} holds no .csv files; a folder is read as one series per file")
    series: list[np.ndarray] = []
    names: list[str] = []
    for name in files:
        path = os.path.join(folder, name)
        channels, titles, _ = _read_csv_series(path, by_columns=True)
        lengths = sorted({len(c) for c in channels})
        if not channels or lengths == [0]:
            raise _UserError(f"{path}: no values")
        if len(lengths) > 1:
            raise _UserError(
                f"{path}: its columns, the channels of one series, have different lengths {lengths}"
            )
        if series and len(channels) != series[0].shape[1]:
            raise _UserError(
                f"{path} has {len(channels)} channels (columns), {files[0]} has "
                f"{series[0].shape[1]}: the series of a folder share their channels"
            )
        series.append(np.stack(channels, axis=1))
        names.append(name.removesuffix(".gz").removesuffix(".csv"))
    return _Input(series, names)


def _after_labels(indexed: bool, by_columns: bool) -> str:
    """Where a CSV row's numbers start, for messages: after its first cell, if that is a label."""
    if not indexed:
        return ""
    return " after the row label" if by_columns else " after the series name"


def _columns_as_series(
    rows: list[np.ndarray], titles: list[str] | None
) -> tuple[list[np.ndarray], list[str] | None]:
    """The columns of ragged rows as series, without the missing cells around their values."""
    width = max((len(row) for row in rows), default=0)
    grid = np.full((len(rows), width), np.nan, dtype=np.float32)
    for i, row in enumerate(rows):
        grid[i, : len(row)] = row
    columns = []
    for column in grid.T:
        observed = np.flatnonzero(~np.isnan(column))
        columns.append(column[observed[0] : observed[-1] + 1] if observed.size else column[:0])
    if titles is not None and len(titles) != width:
        titles = None  # a header that does not fit the columns names nothing
    return columns, titles


def _long_format_hint(header: list[str] | None) -> str:
    """What to pass when a CSV file with this header is in long format; empty without one."""
    if not header:
        return ""
    return (
        "; if each row is one observation (long format), pass --id-column and "
        f"--time-column (its columns: {', '.join(header)[:80]})"
    )


class _Input(NamedTuple):
    """What ``skts cluster`` read: the series, their names, whether line 1 was a header."""

    X: list[np.ndarray] | np.ndarray
    names: list[str] | None = None
    header: bool = False


def _read_long_csv(
    path: str,
    id_column: str,
    time_column: str | None,
    value_columns: list[str] | None,
    frequency: str | None,
) -> _Input:
    """The series of a CSV file in long format (one row per observation), by pandas."""
    from ._validation import split_long_frame

    try:
        import pandas as pd
    except ImportError:
        raise _UserError(
            "--id-column reads the file with pandas, which is not installed: pip install pandas"
        ) from None
    from .datasets._loaders import _open_text

    if path == "-":
        source: Any = io.StringIO(sys.stdin.read())
        head = source.getvalue().splitlines()[:20]
    else:
        source = path
        with _open_text(path, newline="") as f:
            head = [line for _, line in zip(range(20), f)]
    delimiter, decimal = _csv_format(head)
    frame = pd.read_csv(source, sep=delimiter, decimal=decimal)
    if (
        frequency is not None
        and time_column in frame
        and frame[time_column].dtype.kind not in "iuf"
    ):
        try:  # CSV holds dates as text, not always in one format
            frame[time_column] = pd.to_datetime(frame[time_column], format="mixed")
        except (ValueError, TypeError) as exc:
            raise _UserError(
                f"--frequency: could not read column {time_column!r} as dates: {exc}"
            ) from None
    try:
        series, ids = split_long_frame(
            frame,
            id_column=id_column,
            time_column=time_column,
            value_columns=value_columns,
            frequency=frequency,
        )
    except TypeError as exc:
        message = str(exc).replace("with value_columns=[...]", "with --value-columns")
        raise _UserError(f"could not read {_source(path)}: {message}") from None
    return _Input(series, [str(i) for i in ids])


def read_series(
    path: str,
    id_column: str | None = None,
    time_column: str | None = None,
    value_columns: list[str] | None = None,
    frequency: str | None = None,
    series_in_columns: bool = False,
) -> _Input:
    """Read the series of a file given to ``skts cluster`` (names and header from CSV only).

    With ``id_column``, a CSV file is in long format (one row per
    observation) and is split by :func:`skts.split_long_frame`, which
    ``time_column``, ``value_columns`` and ``frequency`` go to (a time
    column of text is read as dates for ``frequency``). With
    ``series_in_columns``, each column of a CSV file is a series.
    ``"-"`` reads CSV from standard input.
    """
    from .datasets._loaders import archive_reader

    if os.path.isdir(path):
        if id_column is not None:
            raise _UserError(f"--id-column reads one .csv file in long format; {path} is a folder")
        return _read_csv_folder(path)
    if path != "-" and not os.path.isfile(path):
        raise _UserError(f"no such file: {path}")
    if time_column is not None and id_column is None:
        raise _UserError("--time-column orders the rows of each series: give --id-column too")
    if frequency is not None and time_column is None:
        raise _UserError(
            "--frequency puts each series on a regular grid of its times: give --id-column "
            "and --time-column too"
        )
    if value_columns is not None and id_column is None:
        raise _UserError(
            "--value-columns names the channels of a file in long format: give --id-column too"
        )
    stem = path[:-3] if path.endswith(".gz") else path
    is_csv = path == "-" or stem.endswith(".csv")
    if id_column is not None and not is_csv:
        raise _UserError(f"--id-column reads .csv files in long format; got {path}")
    if series_in_columns and (id_column is not None or not is_csv):
        raise _UserError(
            "--series-in-columns reads a .csv file whose columns are the series; got "
            + ("--id-column too" if id_column is not None else path)
        )
    reader = archive_reader(path)
    try:
        if id_column is not None:
            return _read_long_csv(path, id_column, time_column, value_columns, frequency)
        if reader is not None:
            return _Input(reader(path)[0])
        if is_csv:
            return _Input(*_read_csv_series(path, series_in_columns))
        if stem.endswith(".npy"):
            return _Input(np.load(path, allow_pickle=False))
        if stem.endswith(".npz"):
            with np.load(path, allow_pickle=False) as data:
                key = "X" if "X" in data.files else data.files[0]
                return _Input(data[key])
    except (ValueError, OSError) as exc:
        raise _UserError(f"could not read {_source(path)}: {exc}") from None
    raise _UserError(
        f"unsupported file type: {path}; expected .ts, .tsv, .txt, .arff, .csv, .npy or .npz "
        "(optionally .gz for the text formats)"
    )


def _cluster(args: argparse.Namespace) -> int:
    import joblib
    from sklearn.pipeline import make_pipeline

    from . import NeuralNetClusterer, PaddingTransformer, TimeSeriesImputer, TimeSeriesScaler

    _check_writable(args.output, "--output")
    _check_writable(args.save_model, "--save-model")
    _check_plot(args.plot)
    data = _read_input(args)
    max_epochs = args.max_epochs if args.max_epochs == "auto" else _epochs(args.max_epochs)
    fill = [TimeSeriesImputer(method=args.fill_missing)] if args.fill_missing else []
    model = make_pipeline(
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
    """Draw each cluster's members as the clusterer saw them (after the pipeline's steps)."""
    if path is None:
        return
    from .plotting import _save_figure, plot_cluster_members

    steps = getattr(model, "steps", [])
    with contextlib.redirect_stdout(sys.stderr):
        seen = model[:-1].transform(X) if len(steps) > 1 else X
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
