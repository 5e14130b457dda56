"""Readers of the UEA/UCR archive formats and of the bundled datasets."""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["BUNDLED_DATASETS", "load_arff", "load_dataset", "load_ts", "load_ucr_tsv"]

BUNDLED_DATASETS = ("BasicMotions", "GunPoint", "ItalyPowerDemand", "JapaneseVowels")
"""The names :func:`load_dataset` accepts."""

_SPLITS = ("all", "train", "test")


def _open_text(path: str | os.PathLike, newline: str | None = None) -> io.TextIOBase:
    """A text file, decompressed when it ends in ``.gz`` (``newline`` as for ``open``)."""
    path = os.fspath(path)
    # utf-8-sig also reads a byte-order mark, as some editors write it, as nothing.
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline=newline)
    return open(path, encoding="utf-8-sig", newline=newline)


def _as_series(channels: list[np.ndarray]) -> np.ndarray:
    """One case: a 1-D array for one channel, ``(n_timestamps, n_channels)`` otherwise."""
    if len(channels) == 1:
        return channels[0]
    return np.stack(channels, axis=1)


def archive_reader(path: str | os.PathLike) -> Callable[..., Any] | None:
    """The loader of an archive file by its name, or None.

    ``.ts`` files are read by :func:`load_ts`; ``.tsv`` and ``.txt`` files,
    and ``NAME_TRAIN``/``NAME_TEST`` files without extension (the UCR
    archive before 2018), by :func:`load_ucr_tsv`; ``.arff`` files by
    :func:`load_arff`; each optionally ``.gz``.
    """
    name = os.path.basename(os.fspath(path)).removesuffix(".gz")
    if name.endswith(".ts"):
        return load_ts
    if name.endswith(".arff"):
        return load_arff
    if name.endswith((".tsv", ".txt")):
        return load_ucr_tsv
    if "." not in name and name.endswith(("_TRAIN", "_TEST")):
        return load_ucr_tsv
    return None


def load_ts(path: str | os.PathLike) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Read a file in the ``.ts`` format of the UEA/UCR archive.

    The format has header lines starting with ``@`` (``@problemName``,
    ``@univariate``, ``@equalLength``, ``@classLabel true ...``, ``@data``),
    comments starting with ``#``, then one case per line: channels separated
    by ``:``, values within a channel by ``,``, and the class label last
    (or, with ``@targetLabel true``, a regression target).
    ``?`` marks a missing value, read as NaN. Univariate, multivariate and
    variable-length files are supported; files with ``@timeStamps true``
    are not. A ``.gz`` file is decompressed on the fly.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    X : list of ndarray
        One float32 array per case, of shape ``(n_timestamps_i,)`` for a
        univariate file and ``(n_timestamps_i, n_channels)`` otherwise.
    y : ndarray of shape (n_cases,)
        The class labels (or regression targets) as strings, or None when
        the file has none.

    Raises
    ------
    ValueError
        When the file is not in the ``.ts`` format, or a case is malformed.

    Examples
    --------
    >>> import tempfile, os
    >>> from skts.datasets import load_ts
    >>> text = "@problemName toy\\n@classLabel true a b\\n@data\\n1,2,3:4,5,6:a\\n7,8:9,10:b\\n"
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "toy.ts")
    ...     with open(path, "w") as f:
    ...         _ = f.write(text)
    ...     X, y = load_ts(path)
    >>> [x.shape for x in X], y.tolist()
    ([(3, 2), (2, 2)], ['a', 'b'])
    """
    with _open_text(path) as f:
        return _parse_ts(f, os.fspath(path))


def _parse_ts(lines: Iterator[str], source: str) -> tuple[list[np.ndarray], np.ndarray | None]:
    header: dict[str, str] = {}
    in_data = has_label = False
    X: list[np.ndarray] = []
    labels: list[str] = []
    n_channels = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        # Comments start with '#'; some archive files (aeon's UnitTest cut of
        # Chinatown) open with '%' lines instead.
        if not line or line.startswith("#") or (not in_data and line.startswith("%")):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise ValueError(
                    f"{source}, line {number}: expected a header line starting with '@' "
                    f"before @data, got {line[:40]!r}. Is this a .ts file?"
                )
            key, _, value = line[1:].partition(" ")
            key = key.lower()
            if key == "data":
                in_data = True
                # Classification files end each case with a class label,
                # regression files (the TSER archive's) with a target value.
                has_label = any(
                    header.get(k, "false").lower().startswith("true")
                    for k in ("classlabel", "targetlabel")
                )
                if header.get("timestamps", "false").lower() == "true":
                    raise ValueError(f"{source}: files with '@timeStamps true' are not supported.")
            else:
                header[key] = value.strip()
            continue
        fields = line.split(":")
        if has_label:
            if len(fields) < 2:
                raise ValueError(
                    f"{source}, line {number}: expected channels and a label separated "
                    f"by ':', got {line[:40]!r}."
                )
            labels.append(fields[-1].strip())
            fields = fields[:-1]
        if n_channels is None:
            n_channels = len(fields)
        elif len(fields) != n_channels:
            raise ValueError(
                f"{source}, line {number}: expected {n_channels} channels (as in the first "
                f"case), got {len(fields)}."
            )
        channels = []
        for field in fields:
            try:
                values = [np.nan if v.strip() == "?" else float(v) for v in field.split(",")]
            except ValueError:
                raise ValueError(
                    f"{source}, line {number}: expected comma-separated numbers or '?', got "
                    f"{field[:40]!r}."
                ) from None
            channels.append(np.asarray(values, dtype=np.float32))
        if len({c.shape[0] for c in channels}) > 1:
            raise ValueError(
                f"{source}, line {number}: the channels of this case have different lengths "
                f"{sorted({c.shape[0] for c in channels})}."
            )
        X.append(_as_series(channels))
    if not in_data:
        raise ValueError(f"{source}: no '@data' line found. Is this a .ts file?")
    if not X:
        raise ValueError(f"{source}: the file holds no cases after '@data'.")
    return X, (np.asarray(labels) if labels else None)


def load_ucr_tsv(path: str | os.PathLike) -> tuple[list[np.ndarray], np.ndarray]:
    """Read a file in the tab-separated format of the UCR archive (2018).

    Each line holds one univariate series: the class label, then the values,
    separated by tabs, commas, or spaces (the archive's format before 2018,
    still shipped as ``NAME_TRAIN.txt`` by some packages). Trailing ``NaN``
    values pad variable-length series and are removed.

    Parameters
    ----------
    path : str or path-like
        The file (``.tsv``, ``.txt``, optionally ``.gz``).

    Returns
    -------
    X : list of ndarray
        One float32 array of shape ``(n_timestamps_i,)`` per series.
    y : ndarray of shape (n_series,)
        The class labels as strings.

    Examples
    --------
    >>> import tempfile, os
    >>> from skts.datasets import load_ucr_tsv
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "toy_TRAIN.tsv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("1\\t0.5\\t0.7\\tNaN\\n2\\t1.0\\t2.0\\t3.0\\n")
    ...     X, y = load_ucr_tsv(path)
    >>> [x.tolist() for x in X], y.tolist()
    ([[0.5, 0.699999988079071], [1.0, 2.0, 3.0]], ['1', '2'])
    """
    X, labels = [], []
    source = os.fspath(path)
    with _open_text(path) as f:
        for number, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line:
                continue
            if "\t" in line or "," in line:
                fields = line.replace(",", "\t").split("\t")
            else:  # the archive's format before 2018: runs of spaces
                fields = line.split()
            fields = [v for v in fields if v.strip() != ""]
            if len(fields) < 2:
                raise ValueError(
                    f"{source}, line {number}: expected a label and at least one value, "
                    f"got {line[:40]!r}."
                )
            try:
                values = np.asarray([float(v) for v in fields[1:]], dtype=np.float32)
            except ValueError:
                raise ValueError(
                    f"{source}, line {number}: expected numbers after the label, got {line[:40]!r}."
                ) from None
            observed = np.flatnonzero(~np.isnan(values))
            stop = observed[-1] + 1 if observed.size else 0
            label = fields[0].strip()
            try:  # the archive writes integer classes as floats, e.g. "1.0000000e+00"
                as_float = float(label)
                if as_float.is_integer():
                    label = str(int(as_float))
            except ValueError:
                pass
            labels.append(label)
            X.append(values[:stop])
    if not X:
        raise ValueError(f"{source}: the file holds no series.")
    return X, np.asarray(labels)


def load_arff(path: str | os.PathLike) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Read a file in the ARFF format (Weka's), as the UEA/UCR archive ships it.

    Univariate files have one numeric attribute per timestamp; multivariate
    files one relational attribute, whose rows are the channels. A nominal
    attribute last is the class label. Missing values (``?``) at the end of
    a series pad it and are removed; inside it they stay NaN. The file is
    parsed by :func:`scipy.io.arff.loadarff`.

    Parameters
    ----------
    path : str or path-like
        The file (``.arff``, optionally ``.gz``).

    Returns
    -------
    X : list of ndarray
        One float32 array per series, of shape ``(n_timestamps_i,)`` or
        ``(n_timestamps_i, n_channels)``.
    y : ndarray of shape (n_series,) or None
        The class labels as strings, or None when the file has no nominal
        attribute last.

    Examples
    --------
    >>> import tempfile, os
    >>> from skts.datasets import load_arff
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "toy_TRAIN.arff")
    ...     with open(path, "w") as f:
    ...         _ = f.write(
    ...             "@relation toy\\n@attribute t0 numeric\\n@attribute t1 numeric\\n"
    ...             "@attribute target {a,b}\\n@data\\n0.5,?,a\\n1.0,2.0,b\\n"
    ...         )
    ...     X, y = load_arff(path)
    >>> [x.tolist() for x in X], y.tolist()
    ([[0.5], [1.0, 2.0]], ['a', 'b'])
    """
    from scipy.io import arff

    source = os.fspath(path)
    with _open_text(path) as f:
        try:
            data, meta = arff.loadarff(f)
        except (arff.ArffError, NotImplementedError, ValueError, StopIteration) as exc:
            # scipy raises a bare StopIteration on a file without its header.
            detail = str(exc)[:200] or "expected @relation, @attribute and @data lines"
            raise ValueError(f"{source}: not a readable ARFF file: {detail}") from None
    names, types = meta.names(), meta.types()
    label = names[-1] if types[-1] == "nominal" else None
    values = [(name, kind) for name, kind in zip(names, types) if name != label]
    kinds = {kind for _, kind in values}
    if kinds == {"numeric"}:  # one attribute per timestamp
        columns = [name for name, _ in values]
        cases = [np.asarray(row[columns].tolist(), dtype=np.float32) for row in data]
    elif kinds == {"relational"} and len(values) == 1:  # rows are channels
        cases = [np.asarray(row[values[0][0]].tolist(), dtype=np.float32).T for row in data]
    else:
        raise ValueError(
            f"{source}: expected numeric attributes (one per timestamp) or one relational "
            "attribute (one row per channel), and optionally a nominal class last; got "
            f"{', '.join(f'{name} ({kind})' for name, kind in values)[:200]}."
        )
    X = []
    for case in cases:
        observed = ~np.isnan(case) if case.ndim == 1 else ~np.isnan(case).all(axis=1)
        stop = np.flatnonzero(observed)[-1] + 1 if observed.any() else 0
        X.append(_as_series(list(case[:stop].T)) if case.ndim == 2 else case[:stop])
    if not X:
        raise ValueError(f"{source}: the file holds no series.")
    y = None if label is None else np.asarray([v.decode() for v in data[label]])
    return X, y


def load_dataset(name: str, split: str = "all") -> tuple[list[np.ndarray], np.ndarray]:
    """Load one of the datasets bundled with skts.

    The datasets come from the UEA & UCR Time Series Classification
    Repository (timeseriesclassification.com):

    - ``"BasicMotions"``: 4 classes, 40 + 40 series of length 100, 6 channels;
    - ``"GunPoint"``: 2 classes, 50 + 150 series of length 150;
    - ``"ItalyPowerDemand"``: 2 classes, 67 + 1029 series of length 24;
    - ``"JapaneseVowels"``: 9 classes, 270 + 370 series of length 7 to 29,
      12 channels.

    Parameters
    ----------
    name : str
        One of :data:`BUNDLED_DATASETS`, in any letter case.
    split : {"all", "train", "test"}, default="all"
        The published split to load; ``"all"`` is the training split followed
        by the test split, the protocol of clustering benchmarks.

    Returns
    -------
    X : list of ndarray
        One float32 array per series, of shape ``(n_timestamps_i,)`` or
        ``(n_timestamps_i, n_channels)``.
    y : ndarray of shape (n_series,)
        The class labels as strings.

    Examples
    --------
    >>> from skts.datasets import load_dataset
    >>> X, y = load_dataset("JapaneseVowels")
    >>> len(X), X[0].shape[1], min(len(x) for x in X), max(len(x) for x in X)
    (640, 12, 7, 29)
    """
    matches = [d for d in BUNDLED_DATASETS if d.lower() == str(name).lower()]
    if not matches:
        raise ValueError(
            f"Unknown dataset {name!r}; the bundled datasets are {', '.join(BUNDLED_DATASETS)}. "
            "Read other files with load_ts, load_ucr_tsv or load_arff."
        )
    if split not in _SPLITS:
        raise ValueError(f"split should be one of {_SPLITS}, got {split!r}.")
    parts = ("TRAIN", "TEST") if split == "all" else (split.upper(),)
    X: list[np.ndarray] = []
    y: list[np.ndarray] = []  # the bundled files are labelled
    for part in parts:
        ref = resources.files("skts.datasets") / "data" / f"{matches[0]}_{part}.ts.gz"
        with ref.open("rb") as raw, io.TextIOWrapper(gzip.open(raw), encoding="utf-8") as f:
            Xp, yp = _parse_ts(f, f"{matches[0]}_{part}.ts")
        X.extend(Xp)
        y.append(np.asarray(yp))
    return X, np.concatenate(y)
