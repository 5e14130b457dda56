"""Reading the series of a file, or of a folder of files, for the ``skts`` command.

The archive formats are read by :mod:`skts.datasets`; this module reads CSV
files (one series per row or per column, in long format, or a folder of
them) and NumPy arrays, keeps the series' names, and reports bad input as
one-line :class:`_UserError`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = ["read_series"]


class _UserError(Exception):
    """An error in what the user asked for: reported in one line, no traceback."""


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

    Read from its first lines. Spreadsheets in many locales separate cells
    by ';' and write a comma as the decimal mark, and some programs write
    tabs: a semicolon, else a tab, is the delimiter when it is on every line
    after the first (a header) and splits them into cells of which at least
    half are numbers, with a decimal point or comma, or missing, leaving out
    the first cell of each (a name). Otherwise it is a comma, but for one
    column of decimal commas under a header without a comma.
    """
    lines = [line.rstrip("\r\n") for line in lines if line.strip()][:10]
    data = lines[1:] or lines
    cells = [line.strip().strip('"') for line in data]
    if (
        lines[1:]
        and "," not in lines[0]
        and all(_DECIMAL_COMMA.fullmatch(cell) or cell in _MISSING for cell in cells)
    ):
        return ";", ","  # one cell per line
    for delimiter in (";", "\t"):
        if not data or not all(delimiter in line for line in data):
            continue
        rows = [[c.strip() for c in row] for row in csv.reader(lines, delimiter=delimiter)]
        values = [cell for row in rows[1:] or rows for cell in row[1:]]
        if 2 * sum(_is_value(cell, decimal_comma=True) for cell in values) >= len(values):
            commas = (_DECIMAL_COMMA.fullmatch(cell) for row in rows for cell in row)
            return delimiter, "," if any(commas) else "."
    return ",", "."


def _is_value(cell: str, decimal_comma: bool = False) -> bool:
    """Whether a stripped CSV cell is a number or a missing value."""
    if decimal_comma and _DECIMAL_COMMA.fullmatch(cell):
        return True
    return cell in _MISSING or _is_number(cell)


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
    path: str, by_columns: bool = False, channels: bool = False
) -> tuple[list[np.ndarray], list[str] | None, bool]:
    """The series of a CSV file (one per row), their names, and whether it had a header.

    Cells are separated by commas, semicolons (then a comma may be the
    decimal mark) or tabs, as :func:`_csv_format` reads from the first
    lines. The first column names the series (as a pandas index does) when
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
    it; with ``channels`` too, the columns are the channels of one series,
    cut alike where any of them is observed.
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
            bad = next(i for i, c in enumerate(values) if not _is_value(c))
            column = bad + int(indexed)
            title = f" ({header[column]})" if header is not None and column < len(header) else ""
            raise _UserError(
                f"{_source(path)}, line {number}: expected {_DELIMITER_NAMES[delimiter]}-separated "
                f"numbers{_after_labels(indexed, by_columns)}, got {values[bad][:40]!r} in "
                f"column {column + 1}{title}" + _long_format_hint(header)
            ) from None
    if by_columns:
        titles = header[int(indexed) :] if header else None
        columns, titles = _columns_as_series(series, titles, together=channels)
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
        channels, _, _ = _read_csv_series(path, by_columns=True, channels=True)
        if not channels or len(channels[0]) == 0:
            raise _UserError(f"{path}: no values")
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
    rows: list[np.ndarray], titles: list[str] | None, together: bool = False
) -> tuple[list[np.ndarray], list[str] | None]:
    """The columns of ragged rows, without the missing cells around their values.

    Each column is cut on its own, as a series; ``together`` cuts them all
    alike, as the channels of one series, where any of them is observed.
    """
    width = max((len(row) for row in rows), default=0)
    grid = np.full((len(rows), width), np.nan, dtype=np.float32)
    for i, row in enumerate(rows):
        grid[i, : len(row)] = row
    observed = ~np.isnan(grid)
    if together:
        observed[:] = observed.any(axis=1, keepdims=True)
    columns = []
    for column, seen in zip(grid.T, observed.T):
        steps = np.flatnonzero(seen)
        columns.append(column[steps[0] : steps[-1] + 1] if steps.size else column[:0])
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
