import gzip
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.pipeline import make_pipeline

from skts import PaddingTransformer
from skts.cli import main, read_series
from skts.datasets import make_time_series_clusters


@pytest.fixture(scope="module")
def series():
    X, y = make_time_series_clusters(n_samples_per_cluster=8, random_state=0)
    return X, y


def _write_inputs(tmp_path, X, y):
    ts = tmp_path / "data.ts"
    ts.write_text(
        "@problemName toy\n@univariate true\n@classLabel true 0 1 2\n@data\n"
        + "".join(",".join(f"{v:.5f}" for v in x) + f":{label}\n" for x, label in zip(X, y))
    )
    tsv = tmp_path / "data.tsv"
    longest = max(len(x) for x in X)
    tsv.write_text(
        "".join(
            f"{label}\t" + "\t".join([f"{v:.5f}" for v in x] + ["NaN"] * (longest - len(x))) + "\n"
            for x, label in zip(X, y)
        )
    )
    # The UCR archive before 2018: spaces in .txt files, commas in files without extension.
    txt = tmp_path / "data.txt"
    txt.write_text(tsv.read_text().replace("\t", "  "))
    old_archive = tmp_path / "data_TRAIN"
    old_archive.write_text(tsv.read_text().replace("\t", ","))
    arff = tmp_path / "data.arff"  # Weka's format: shorter series padded with '?'
    arff.write_text(
        "@relation toy\n"
        + "".join(f"@attribute t{i} numeric\n" for i in range(longest))
        + "@attribute target {0,1,2}\n@data\n"
        + "".join(
            ",".join([f"{v:.5f}" for v in x] + ["?"] * (longest - len(x)) + [str(label)]) + "\n"
            for x, label in zip(X, y)
        )
    )
    csv = tmp_path / "data.csv"
    csv.write_text("".join(",".join(f"{v:.5f}" for v in x) + "\n" for x in X))
    csv_gz = tmp_path / "data.csv.gz"
    csv_gz.write_bytes(gzip.compress(csv.read_bytes()))
    padded = np.full((len(X), longest), np.nan, dtype=np.float32)
    for i, x in enumerate(X):
        padded[i, : len(x)] = x
    npy = tmp_path / "data.npy"
    np.save(npy, padded)
    npz = tmp_path / "data.npz"
    np.savez(npz, X=padded)
    return {
        "ts": ts,
        "tsv": tsv,
        "txt": txt,
        "archive": old_archive,
        "arff": arff,
        "csv": csv,
        "csv_gz": csv_gz,
        "npy": npy,
        "npz": npz,
    }


@pytest.mark.parametrize(
    "kind", ["ts", "tsv", "txt", "archive", "arff", "csv", "csv_gz", "npy", "npz"]
)
def test_cluster_reads_each_format_and_writes_one_label_per_series(tmp_path, series, kind, capsys):
    X, y = series
    path = _write_inputs(tmp_path, X, y)[kind]
    out = tmp_path / "labels.csv"
    code = main(["cluster", str(path), "-k", "3", "--max-epochs", "1", "--output", str(out)])
    assert code == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "series,label"
    assert len(lines) == 1 + len(X)
    labels = [int(line.split(",")[1]) for line in lines[1:]]
    assert set(labels) <= {0, 1, 2}
    assert "24 series in 3 clusters" in capsys.readouterr().err


_IDS = [f"s,{i}" for i in range(24)]  # a comma inside: CSV quoting must hold


@pytest.mark.parametrize(
    "index, index_label, header, names",
    [
        (None, None, True, [str(i) for i in range(24)]),  # pandas' default: header and index
        (False, None, True, None),  # header 0, 1, 2, ...: pandas' column numbers
        (_IDS, "id", True, _IDS),  # named index
        (_IDS, None, False, _IDS),  # names, no header
        (False, None, [f"t{i}" for i in range(19)], None),  # column names
    ],
)
def test_cluster_reads_csv_headers_and_series_names_as_pandas_writes_them(
    tmp_path, series, index, index_label, header, names, capsys
):
    pd = pytest.importorskip("pandas")
    X, _ = series
    # Ragged rows padded with NaN, which pandas writes as empty cells.
    padded = PaddingTransformer().fit_transform(X)[:, :, 0]
    frame = pd.DataFrame(padded, index=None if index in (None, False) else index)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=index is not False, index_label=index_label, header=header)
    read, read_names, read_header = read_series(str(path))
    assert len(read) == len(X)  # the header is no series
    for x, r in zip(X, read):  # and the names are no values
        np.testing.assert_allclose(r, x, rtol=1e-6)
    assert read_names == names
    assert read_header == (header is not False)
    out = tmp_path / "labels.csv"
    assert main(["cluster", str(path), "-k", "2", "--max-epochs", "1", "-o", str(out)]) == 0
    written = pd.read_csv(out, dtype={"series": str})
    assert written["series"].tolist() == (names or [str(i) for i in range(len(X))])
    assert ("read as column names" in capsys.readouterr().err) == read_header


def test_csv_missing_cells_are_missing_values_not_errors_or_headers(tmp_path, capsys):
    import pandas as pd

    frame = pd.DataFrame(np.random.RandomState(0).normal(size=(6, 8)))
    frame.iloc[1, 3] = np.nan  # pandas writes NaN as an empty cell
    frame.to_csv(tmp_path / "gaps.csv")
    args = ["cluster", str(tmp_path / "gaps.csv"), "-k", "2", "--max-epochs", "1"]
    assert main(args) == 2
    assert "pass --fill-missing linear" in capsys.readouterr().err
    assert main([*args, "--fill-missing", "linear"]) == 0
    _, rows = _read_labels(capsys.readouterr().out)
    assert [row[0] for row in rows] == [str(i) for i in range(6)]
    # A gap in the first row, in any usual spelling, does not make it a header.
    for gap in ["", "NA", "?", "null"]:
        (tmp_path / "plain.csv").write_text(f"1.5,{gap},3\n4,5,6\n")
        series, names, header = read_series(str(tmp_path / "plain.csv"))
        assert not header and len(series) == 2 and np.isnan(series[0][1])


def test_csv_with_a_byte_order_mark_keeps_its_first_row(tmp_path):
    # Spreadsheet programs start "CSV UTF-8" files with a byte-order mark,
    # which made the first row look like a header of names.
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeff1.5,2,3,4\n2,3,4,5\n5,4,3,2\n".encode())
    series, names, header = read_series(str(path))
    assert names is None and not header
    assert [x.tolist() for x in series][0] == [1.5, 2.0, 3.0, 4.0] and len(series) == 3


@pytest.mark.parametrize(
    "sep, decimal",
    [(";", ","), (";", "."), ("\t", "."), ("\t", ",")],
    ids=["euro", "semicolon", "tab", "tab-comma"],
)
def test_csv_cells_separated_by_semicolons_or_tabs_with_decimal_commas(tmp_path, sep, decimal):
    # Spreadsheets in many locales write ';' between cells and ',' as the
    # decimal mark; a comma-only reader took each such row for one name.
    pd = pytest.importorskip("pandas")
    values = np.random.RandomState(0).normal(size=(6, 5)).round(4)
    frame = pd.DataFrame(values, index=[f"s,{i}" for i in range(6)])
    frame.iloc[2, 4] = np.nan  # padding
    frame.to_csv(tmp_path / "data.csv", sep=sep, decimal=decimal)
    series, names, header = read_series(str(tmp_path / "data.csv"))
    assert names == [f"s,{i}" for i in range(6)] and header
    assert [len(x) for x in series] == [5, 5, 4, 5, 5, 5]
    np.testing.assert_allclose(series[0], values[0], rtol=1e-6)
    # Without names nor header, and in long format.
    frame.to_csv(tmp_path / "bare.csv", sep=sep, decimal=decimal, index=False, header=False)
    series, names, header = read_series(str(tmp_path / "bare.csv"))
    assert names is None and not header and len(series) == 6
    np.testing.assert_allclose(series[5], values[5], rtol=1e-6)
    long = frame.stack().rename("v").rename_axis(["machine", "t"]).reset_index()
    long.to_csv(tmp_path / "long.csv", sep=sep, decimal=decimal, index=False)
    series, ids, _ = read_series(str(tmp_path / "long.csv"), id_column="machine", time_column="t")
    assert ids == [f"s,{i}" for i in range(6)]
    np.testing.assert_allclose(series[1], values[1], rtol=1e-6)


# Cell delimiters and decimal marks as pandas writes them, and how many
# random frames to write in them (tmp_path is shared: each file is named).
_CSV_DIALECTS = st.sampled_from([(",", "."), (";", ","), (";", "."), ("\t", "."), ("\t", ",")])
_CSV_EXAMPLES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_CSV_EXAMPLES
@given(
    n=st.integers(2, 6),
    width=st.integers(2, 7),
    seed=st.integers(0, 10**6),
    sep_decimal=_CSV_DIALECTS,
    index=st.booleans(),
    header=st.booleans(),
    ragged=st.booleans(),
    scale=st.sampled_from([1e-7, 1e-3, 1.0, 1e6, 1e17]),
    name=st.sampled_from(["s{}", "s,{}", "s;{}", "a b {}", "{}x"]),
)
def test_csv_written_by_pandas_reads_back_in_any_dialect(
    tmp_path, n, width, seed, sep_decimal, index, header, ragged, scale, name
):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, width)) * scale
    if ragged:  # shorter rows end in empty cells
        for row in values:
            row[rng.integers(1, width + 1) :] = np.nan
    sep, decimal = sep_decimal
    path = tmp_path / f"{seed}.csv"
    frame = pd.DataFrame(values, index=[name.format(i) for i in range(n)])
    frame.to_csv(path, sep=sep, decimal=decimal, index=index, header=header)
    series, names, read_header = read_series(str(path))
    assert names == ([name.format(i) for i in range(n)] if index else None)
    assert read_header == header and len(series) == n
    for x, row in zip(series, values):
        np.testing.assert_allclose(x, row[~np.isnan(row)].astype(np.float32), rtol=1e-6)


@_CSV_EXAMPLES
@given(
    n=st.integers(1, 5),
    length=st.integers(2, 8),
    seed=st.integers(0, 10**6),
    sep_decimal=_CSV_DIALECTS,
    index=st.sampled_from([None, "dates", "time"]),
    ragged=st.booleans(),
    scale=st.sampled_from([1e-7, 1.0, 1e6]),
)
def test_csv_of_series_in_columns_reads_back_in_any_dialect(
    tmp_path, n, length, seed, sep_decimal, index, ragged, scale
):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(length, n)) * scale
    if ragged:  # shorter columns end in empty cells
        for column in values.T:
            column[rng.integers(1, length + 1) :] = np.nan
    frame = pd.DataFrame(values, columns=[f"c{j}" for j in range(n)])
    if index == "dates":
        frame.index = pd.date_range("2026-01-01", periods=length, freq="h")
    elif index == "time":
        frame.index = pd.Index(np.arange(length), name="time")
    sep, decimal = sep_decimal
    path = tmp_path / f"{seed}.csv"
    frame.to_csv(path, sep=sep, decimal=decimal, index=index is not None)
    series, names, _ = read_series(str(path), series_in_columns=True)
    assert names == [f"c{j}" for j in range(n)]
    for x, column in zip(series, values.T):
        np.testing.assert_allclose(x, column[~np.isnan(column)].astype(np.float32), rtol=1e-6)


def test_csv_series_in_columns_as_spreadsheets_lay_them_out(tmp_path, capsys):
    # Time down the rows, one column per series: read row by row, such a file
    # gave one short series per timestamp, clustered without a word.
    rows = ["date,pump,fan,valve"]
    rows += [f"2026-01-{d:02d},{d}.5,{-d},{d * 2 if d > 2 else ''}" for d in range(1, 31)]
    rows[-1] = rows[-1].rsplit(",", 2)[0] + ",,"  # fan and valve end a day earlier
    (tmp_path / "wide.csv").write_text("\n".join(rows) + "\n")
    series, names, header = read_series(str(tmp_path / "wide.csv"), series_in_columns=True)
    assert names == ["pump", "fan", "valve"] and header
    assert [len(x) for x in series] == [30, 29, 27]  # valve starts on day 3
    assert series[0][0] == 1.5 and series[2][0] == 6.0 and series[1][-1] == -29.0
    # A numeric first column named as a time labels the rows, as dates do.
    numeric = "time;a;b\n" + "".join(f"{m};{m},5;{-m}\n" for m in range(40))
    (tmp_path / "minutes.csv").write_text(numeric)
    series, names, _ = read_series(str(tmp_path / "minutes.csv"), series_in_columns=True)
    assert names == ["a", "b"] and series[0][:2].tolist() == [0.5, 1.5]
    # Read row by row, the same file says what to pass.
    args = ["cluster", str(tmp_path / "minutes.csv"), "-k", "2", "--max-epochs", "1"]
    assert main(args) == 0
    assert "was read as 40 series of at most 3 timestamps" in capsys.readouterr().err
    assert main([*args, "--series-in-columns"]) == 0
    captured = capsys.readouterr()
    labels = dict(line.split(",") for line in captured.out.splitlines()[1:])
    assert sorted(labels) == ["a", "b"] and labels["a"] != labels["b"]
    assert "warning" not in captured.err
    (tmp_path / "x.ts").write_text("@data\n1,2:a\n")
    for args in (
        [str(tmp_path / "x.ts"), "--series-in-columns"],
        [str(tmp_path / "minutes.csv"), "--series-in-columns", "--id-column", "a"],
    ):
        assert main(["cluster", *args, "-k", "2"]) == 2
        assert "--series-in-columns reads a .csv file" in capsys.readouterr().err


def test_a_folder_of_csv_files_is_one_series_per_file(tmp_path, capsys):
    # Sensor logs often come one file per machine or session.
    logs = tmp_path / "logs"
    logs.mkdir()
    for i, n in enumerate([30, 25, 40]):
        rows = ["time,temp,pressure"]
        rows += [f"2026-01-01 00:00:{t:02d},{t + i},{-t}" for t in range(n)]
        (logs / f"m{i}.csv").write_text("\n".join(rows) + "\n")
    (logs / "notes.txt").write_text("not a series")
    (logs / "m3.csv.gz").write_bytes(gzip.compress(b"temp,pressure\n1,2\n3,4\n"))
    series, names, _ = read_series(str(logs))
    assert names == ["m0", "m1", "m2", "m3"]
    assert [x.shape for x in series] == [(30, 2), (25, 2), (40, 2), (2, 2)]
    assert series[1][3].tolist() == [4.0, -3.0] and series[3][1].tolist() == [3.0, 4.0]
    assert main(["cluster", str(logs), "-k", "2", "--max-epochs", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in out] == ["series", "m0", "m1", "m2", "m3"]
    (logs / "m4.csv").write_text("temp\n1\n2\n")
    assert main(["cluster", str(logs), "-k", "2"]) == 2
    assert "m4.csv has 1 channels (columns), m0.csv has 2" in capsys.readouterr().err
    # Channels are cut alike: a gap in one of them is a missing value.
    (logs / "m4.csv").write_text("temp,pressure\n,2\n1,3\n2,\n3,5\n")
    np.testing.assert_array_equal(
        read_series(str(logs))[0][4], [[np.nan, 2], [1, 3], [2, np.nan], [3, 5]]
    )
    assert main(["cluster", str(logs), "-k", "2"]) == 2
    assert "pass --fill-missing" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["cluster", str(empty), "-k", "2"]) == 2
    assert "holds no .csv files" in capsys.readouterr().err
    assert main(["cluster", str(logs), "-k", "2", "--id-column", "time"]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_csv_error_names_the_cell_that_is_not_a_number(tmp_path, capsys):
    # A label column at the end of each row: the message once showed the
    # first 40 characters of the row, which did not reach the culprit.
    rows = ["".join(f"t{i}," for i in range(30)) + "label"]
    rows += [",".join(["0.5"] * 30) + f",{c}" for c in "ab"]
    (tmp_path / "labelled.csv").write_text("\n".join(rows) + "\n")
    assert main(["cluster", str(tmp_path / "labelled.csv"), "-k", "2"]) == 2
    err = capsys.readouterr().err
    assert "line 2: expected comma-separated numbers, got 'a' in column 31 (label)" in err
    (tmp_path / "semi.csv").write_text("1,5;2;3\n3;4;x\n")
    assert main(["cluster", str(tmp_path / "semi.csv"), "-k", "2"]) == 2
    assert "line 2: expected semicolon-separated numbers, got 'x' in column 3" in (
        capsys.readouterr().err
    )


def test_cluster_csv_without_header_keeps_every_row(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("0.5,1.5,2.5\n3,4,5,6\n7,8\n")  # ragged, no header, no names
    read, names, header = read_series(str(path))
    assert [r.tolist() for r in read] == [[0.5, 1.5, 2.5], [3, 4, 5, 6], [7, 8]]
    assert names is None and not header


def test_cluster_reads_a_long_format_csv_by_id_and_time_columns(tmp_path, series):
    pd = pytest.importorskip("pandas")
    X, _ = series
    rows = [
        {"machine": f"m{i}", "minute": t, "temperature": v}
        for i, x in enumerate(X)
        for t, v in enumerate(x)
    ]
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # rows in any order
    path = tmp_path / "logs.csv"
    frame.to_csv(path, index=False)
    read, names, _ = read_series(str(path), "machine", "minute")
    order = list(pd.unique(frame["machine"]))
    assert names == order
    for name, r in zip(names, read):
        np.testing.assert_allclose(r, X[int(name[1:])], rtol=1e-6)
    out = tmp_path / "labels.csv"
    args = ["cluster", str(path), "-k", "3", "--max-epochs", "1", "-o", str(out)]
    assert main(args + ["--id-column", "machine", "--time-column", "minute"]) == 0
    assert pd.read_csv(out)["series"].tolist() == order


def test_cluster_puts_irregular_dates_on_a_grid_with_frequency(tmp_path, series, capsys):
    pd = pytest.importorskip("pandas")
    X, _ = series
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2026-01-01")
    rows = []
    for i, x in enumerate(X):
        seconds = np.cumsum(rng.uniform(30, 90, size=len(x)))  # one reading a minute, roughly
        for s, v in zip(seconds, x):
            rows.append({"machine": f"m{i}", "at": (start + pd.Timedelta(seconds=s)).isoformat()})
            rows[-1]["value"] = v
    path = tmp_path / "logs.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    read, names, _ = read_series(str(path), "machine", "at", None, "1min")
    assert names == [f"m{i}" for i in range(len(X))]
    total = sum(len(x) for x in X)
    assert sum(int(np.sum(~np.isnan(r))) for r in read) < total  # steps averaged
    assert any(np.isnan(r).any() for r in read)  # and steps without rows
    args = ["cluster", str(path), "-k", "3", "--max-epochs", "1", "--id-column", "machine"]
    args += ["--time-column", "at", "--frequency", "1min", "--fill-missing", "linear"]
    assert main(args) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + len(X)
    assert main(args[:-6] + ["--frequency", "1min"]) == 2
    assert "give --id-column and --time-column too" in capsys.readouterr().err


def test_cluster_long_format_takes_the_value_columns_named(tmp_path, series, capsys):
    pd = pytest.importorskip("pandas")
    X, _ = series
    rows = [
        {"machine": f"m{i}", "site": "north", "temperature": v, "pressure": -v}
        for i, x in enumerate(X)
        for v in x
    ]
    path = tmp_path / "logs.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    args = ["cluster", str(path), "-k", "3", "--max-epochs", "1", "--id-column", "machine"]
    assert main(args) == 2
    assert "column 'site' has dtype" in capsys.readouterr().err
    read, _, _ = read_series(str(path), "machine", None, ["temperature", "pressure"])
    assert read[0].shape == (len(X[0]), 2)
    np.testing.assert_allclose(read[0][:, 1], -X[0], rtol=1e-6)
    assert main(args + ["--value-columns", "temperature,pressure"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + len(X)


def test_cluster_reads_csv_from_standard_input(tmp_path, series, monkeypatch, capsys):
    import io

    X, y = series
    text = _write_inputs(tmp_path, X, y)["csv"].read_text()
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["cluster", "-", "-k", "3", "--max-epochs", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "series,label" and len(out) == 1 + len(X)
    monkeypatch.setattr(sys, "stdin", io.StringIO("1,2\n3,x\n"))
    assert main(["cluster", "-", "-k", "2"]) == 2
    assert "standard input, line 2: expected comma-separated numbers" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # toy series
def test_cluster_says_how_to_read_a_csv_file_in_long_format(tmp_path, capsys):
    text = "machine,minute,temp\n" + "".join(f"m{i // 4},{i % 4},{i * 0.5}\n" for i in range(12))
    (tmp_path / "long.csv").write_text(text)
    assert main(["cluster", str(tmp_path / "long.csv"), "-k", "2"]) == 2
    err = capsys.readouterr().err
    assert "the series name 'm0' is on lines 2 and 3" in err
    assert "pass --id-column and --time-column (its columns: machine, minute, temp)" in err
    (tmp_path / "text.csv").write_text(text.replace("\n", ",A\n").replace("temp,A", "temp,site"))
    assert main(["cluster", str(tmp_path / "text.csv"), "-k", "2"]) == 2
    err = capsys.readouterr().err
    assert "expected comma-separated numbers" in err and "(its columns: machine," in err
    numeric = "id,t,v\n" + "".join(f"{i // 4},{i % 4},{i * 0.5}\n" for i in range(12))
    (tmp_path / "numeric.csv").write_text(numeric)  # readable as 12 series of 3 values...
    args = ["cluster", str(tmp_path / "numeric.csv"), "-k", "2", "--max-epochs", "1"]
    assert main(args) == 0
    err = capsys.readouterr().err  # ...but its header says long format
    assert "warning: column 'id'" in err and "pass --id-column" in err
    args += ["--id-column", "id", "--time-column", "t"]
    assert main(args) == 0
    assert "warning" not in capsys.readouterr().err


def test_cluster_prints_to_stdout_and_saves_the_model(tmp_path, series, capsys):
    import joblib

    X, y = series
    path = _write_inputs(tmp_path, X, y)["npy"]
    model_path = tmp_path / "model.joblib"
    assert (
        main(
            ["cluster", str(path), "-k", "2", "--max-epochs", "1", "--save-model", str(model_path)]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "series,label" and len(out) == 25
    model = joblib.load(model_path)
    assert model.predict(X).shape == (24,)


def _read_labels(text):
    """The rows of a labels CSV as (header, rows of cells)."""
    lines = text.splitlines()
    return lines[0].split(","), [line.split(",") for line in lines[1:]]


@pytest.fixture
def saved_model(tmp_path, series, capsys):
    """A model saved by ``skts cluster``, the file it was fitted on and its labels."""
    X, y = series
    path = _write_inputs(tmp_path, X, y)["csv"]
    model_path = tmp_path / "model.joblib"
    args = ["cluster", str(path), "-k", "3", "--max-epochs", "2", "--save-model", str(model_path)]
    assert main(args) == 0
    _, rows = _read_labels(capsys.readouterr().out)
    return model_path, path, [int(row[1]) for row in rows]


def test_plot_draws_the_clusters_or_fails_before_any_work(
    saved_model, tmp_path, monkeypatch, capsys
):
    pytest.importorskip("matplotlib")
    model_path, data, labels = saved_model
    image = tmp_path / "clusters.png"
    assert main(["predict", str(data), "--model", str(model_path), "--plot", str(image)]) == 0
    assert image.read_bytes().startswith(b"\x89PNG")  # one panel per cluster
    assert f"clusters drawn in {image}" in capsys.readouterr().err
    args = ["cluster", str(data), "-k", "3", "--max-epochs", "1", "--plot"]
    assert main([*args, str(tmp_path / "clusters.pngx")]) == 2
    captured = capsys.readouterr()
    assert "matplotlib writes no .pngx files" in captured.err and captured.out == ""
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)  # not installed
    assert main([*args, str(image)]) == 2
    assert "pip install 'skts[plot]'" in capsys.readouterr().err


def test_cluster_scaling_is_saved_with_the_model(tmp_path, series, capsys):
    import joblib

    X, y = series
    path = _write_inputs(tmp_path, X, y)["npy"]
    saved = {}
    for scaling in ("series", "collection"):
        model_path = tmp_path / f"{scaling}.joblib"
        args = ["cluster", str(path), "-k", "3", "--max-epochs", "1", "--scaling", scaling]
        assert main([*args, "--save-model", str(model_path)]) == 0
        saved[scaling] = joblib.load(model_path)
        assert saved[scaling].named_steps["timeseriesscaler"].scope == scaling
    # The transformed series differ: levels are kept only with collection scaling.
    series_t, collection_t = (saved[s][:-1].transform(X) for s in ("series", "collection"))
    assert not np.allclose(np.nan_to_num(series_t), np.nan_to_num(collection_t))


def test_cluster_n_fits_keeps_the_consensus_of_that_many_seeded_fits(
    tmp_path, series, capsys, monkeypatch
):
    import joblib

    from skts import ConsensusClusterer, NeuralNetClusterer, TimeSeriesScaler, plotting

    pytest.importorskip("matplotlib")
    drawn = []
    draw = plotting.plot_cluster_members
    monkeypatch.setattr(
        plotting, "plot_cluster_members", lambda X, *a: drawn.append(X) or draw(X, *a)
    )
    X, y = series
    path = _write_inputs(tmp_path, X, y)["npy"]
    model_path, image = tmp_path / "consensus.joblib", tmp_path / "clusters.png"
    args = ["cluster", str(path), "-k", "3", "--max-epochs", "1", "--seed", "4", "--n-fits", "3"]
    assert main([*args, "--proba", "--save-model", str(model_path), "--plot", str(image)]) == 0
    captured = capsys.readouterr()
    _, rows = _read_labels(captured.out)
    labels = [int(row[1]) for row in rows]
    proba = np.array([[float(p) for p in row[2:]] for row in rows])
    member = make_pipeline(
        PaddingTransformer(), TimeSeriesScaler(), NeuralNetClusterer(3, max_epochs=1)
    )
    expected = ConsensusClusterer(member, n_estimators=3, random_state=4).fit(X)
    assert labels == expected.labels_.tolist()
    np.testing.assert_allclose(proba, expected.predict_proba(X), atol=1e-6)
    assert set(np.round(proba.ravel() * 3, 4)) <= {0.0, 1.0, 2.0, 3.0}  # shares of 3 votes
    saved = joblib.load(model_path)
    assert isinstance(saved, ConsensusClusterer) and len(saved.estimators_) == 3
    assert image.read_bytes().startswith(b"\x89PNG")
    np.testing.assert_array_equal(drawn[0], expected.estimators_[0][:-1].transform(X))  # as seen
    assert main(["predict", str(path), "--model", str(model_path)]) == 0
    _, rows = _read_labels(capsys.readouterr().out)
    assert [int(row[1]) for row in rows] == labels


def test_predict_labels_series_with_a_saved_model_as_cluster_did(saved_model, capsys):
    model_path, path, fitted = saved_model
    assert main(["predict", str(path), "--model", str(model_path)]) == 0
    captured = capsys.readouterr()
    header, rows = _read_labels(captured.out)
    assert header == ["series", "label"]
    assert [int(row[1]) for row in rows] == fitted
    assert "24 series in 3 clusters" in captured.err


def test_predict_and_cluster_write_soft_assignments_with_proba(saved_model, tmp_path, capsys):
    model_path, path, fitted = saved_model
    out = tmp_path / "predicted.csv"
    args = ["predict", str(path), "-m", str(model_path), "--proba", "-o", str(out)]
    assert main(args) == 0
    header, rows = _read_labels(out.read_text())
    assert header == ["series", "label", "p0", "p1", "p2"]
    proba = np.array([[float(p) for p in row[2:]] for row in rows])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert proba.argmax(axis=1).tolist() == [int(row[1]) for row in rows] == fitted
    assert main(["cluster", str(path), "-k", "2", "--max-epochs", "1", "--proba"]) == 0
    header, rows = _read_labels(capsys.readouterr().out)
    assert header == ["series", "label", "p0", "p1"] and len(rows) == 24


def test_predict_keeps_series_names_and_warns_once_in_one_line(saved_model, tmp_path, capsys):
    model_path, _, _ = saved_model
    X, _ = make_time_series_clusters(
        n_samples_per_cluster=2, min_length=25, max_length=30, random_state=1
    )
    path = tmp_path / "new.csv"
    path.write_text("".join(f"day{i}," + ",".join(map(str, x)) + "\n" for i, x in enumerate(X)))
    assert main(["predict", str(path), "-m", str(model_path), "--proba"]) == 0
    captured = capsys.readouterr()
    _, rows = _read_labels(captured.out)
    assert [row[0] for row in rows] == [f"day{i}" for i in range(6)]
    warnings = [line for line in captured.err.splitlines() if "warning" in line.lower()]
    # predict and predict_proba both cut the long series: one line, said once.
    assert len(warnings) == 1 and warnings[0].startswith("skts: warning: 6 series are longer")
    assert "UserWarning" not in captured.err


def test_verbose_training_log_goes_to_stderr_not_into_the_labels(tmp_path, series, capsys):
    X, y = series
    path = _write_inputs(tmp_path, X, y)["csv"]
    assert main(["cluster", str(path), "-k", "3", "--max-epochs", "2", "--verbose"]) == 0
    captured = capsys.readouterr()
    header, rows = _read_labels(captured.out)
    assert header == ["series", "label"] and len(rows) == len(X)
    assert all(len(row) == 2 and row[1].isdigit() for row in rows)
    assert "train_loss" in captured.err and "pretext" in captured.err


def test_cluster_warnings_are_one_line(tmp_path, capsys):
    path = tmp_path / "wide.npy"
    np.save(path, np.random.default_rng(0).normal(size=(12, 3, 40)).astype(np.float32))
    assert main(["cluster", str(path), "-k", "2", "--max-epochs", "1"]) == 0
    err = capsys.readouterr().err
    assert "skts: warning: The axes may be swapped" in err
    assert "UserWarning" not in err and "sys.exit" not in err


def test_predict_with_a_model_without_soft_assignments(tmp_path, series, capsys):
    import joblib

    from skts import make_kmeans_baseline

    X, y = series
    path = _write_inputs(tmp_path, X, y)["ts"]
    baseline = make_kmeans_baseline(n_clusters=4, random_state=0).fit(X)
    joblib.dump(baseline, tmp_path / "kmeans.joblib")
    assert main(["predict", str(path), "-m", str(tmp_path / "kmeans.joblib")]) == 0
    captured = capsys.readouterr()
    _, rows = _read_labels(captured.out)
    assert [int(row[1]) for row in rows] == baseline.predict(X).tolist()
    assert "24 series in 4 clusters" in captured.err
    assert main(["predict", str(path), "-m", str(tmp_path / "kmeans.joblib"), "--proba"]) == 2
    assert "--proba: a Pipeline has no predict_proba" in capsys.readouterr().err


def test_predict_device_reaches_the_fitted_members_of_a_consensus(tmp_path, series, capsys):
    import joblib

    from skts import ConsensusClusterer, NeuralNetClusterer, PaddingTransformer

    X, y = series
    member = make_pipeline(PaddingTransformer(), NeuralNetClusterer(2, max_epochs=1))
    consensus = ConsensusClusterer(member, n_estimators=2, random_state=0).fit(X)
    joblib.dump(consensus, tmp_path / "consensus.joblib")
    path = _write_inputs(tmp_path, X, y)["npy"]
    args = ["predict", str(path), "-m", str(tmp_path / "consensus.joblib"), "--device", "auto"]
    assert main(args) == 0
    loaded_members = joblib.load(tmp_path / "consensus.joblib").estimators_
    assert all(m[-1].device == "cpu" for m in loaded_members)  # as saved
    assert main([*args[:-1], "cuda:7"]) == (0 if torch_has_cuda_7() else 2)


def torch_has_cuda_7():
    import torch

    return torch.cuda.device_count() > 7


@pytest.mark.parametrize(
    "model, extra, message",
    [
        ("none", [], "no such model file"),
        ("not_joblib", [], "could not load the model"),
        ("not_a_model", [], "holds a dict, not a fitted clusterer"),
        ("saved", ["--device", "cuda:7"], "CUDA"),
        ("kmeans", ["--device", "cpu"], "has no device"),
        ("saved", ["--gaps"], "fitted without --fill-missing; fit it again"),
    ],
)
def test_predict_errors_are_one_clear_line(
    saved_model, tmp_path, series, model, extra, message, capsys
):
    import joblib
    from sklearn.cluster import KMeans

    model_path, path, _ = saved_model
    joblib.dump({"a": 1}, tmp_path / "dict.joblib")
    (tmp_path / "text.joblib").write_text("not a model")
    joblib.dump(KMeans(2).fit(np.zeros((4, 2)) + np.arange(4)[:, None]), tmp_path / "km.joblib")
    models = {
        "none": tmp_path / "missing.joblib",
        "not_joblib": tmp_path / "text.joblib",
        "not_a_model": tmp_path / "dict.joblib",
        "saved": model_path,
        "kmeans": tmp_path / "km.joblib",
    }
    if "--gaps" in extra:
        extra = []
        path = tmp_path / "gaps.csv"
        path.write_text("1,2,nan,4,5\n1,2,3,4,5\n")
    args = ["predict", str(path), "-m", str(models[model]), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("skts: error: ") and message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("method", ["linear", "previous"])
def test_cluster_fills_missing_values_only_when_asked(tmp_path, series, method, capsys):
    X, y = series
    path = _write_inputs(tmp_path, X, y)["ts"]
    lines = path.read_text().splitlines(keepends=True)
    for i in range(4, len(lines), 3):  # a gap inside every third series (? in .ts files)
        values, label = lines[i].rsplit(":", 1)
        values = values.split(",")
        values[2:4] = ["?", "?"]
        lines[i] = ",".join(values) + ":" + label
    path.write_text("".join(lines))
    assert main(["cluster", str(path), "-k", "3", "--max-epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "missing values" in err and "pass --fill-missing linear" in err
    args = ["cluster", str(path), "-k", "3", "--max-epochs", "1", "--fill-missing", method]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "series,label" and len(out) == 1 + len(X)


@pytest.mark.parametrize(
    "args, message",
    [
        (["cluster", "missing.ts", "-k", "2"], "no such file: missing.ts"),
        (["cluster", "{bad_ext}", "-k", "2"], "unsupported file type"),
        (["cluster", "{bad_csv}", "-k", "2"], "expected comma-separated numbers"),
        (["cluster", "{bad_npy}", "-k", "2"], "got a 1-D array"),
        (["cluster", "{bad_4d}", "-k", "2"], "got a 4-D array"),
        (
            ["cluster", "{good}", "-k", "99", "--max-epochs", "1"],
            "n_samples=24 should be >= n_clusters=99",
        ),
        (
            ["cluster", "{good}", "-k", "2", "--max-epochs", "x"],
            "--max-epochs: expected an integer",
        ),
        (
            ["cluster", "{good}", "-k", "2", "--max-epochs", "-1"],
            "--max-epochs: expected a non-negative integer, got -1",
        ),
        (["cluster", "{good}", "-k", "2", "--device", "cuda:7"], "CUDA"),
        (["cluster", "{bad_ts}", "-k", "2"], "could not read"),
        (["bench", "--datasets", "NoSuchSet"], "Unknown dataset 'NoSuchSet'"),
        (["bench", "--methods", "kmeans", "--output", "{good}"], "is a file; give a folder"),
        (["cluster", "{good}", "-k", "2", "--time-column", "t"], "give --id-column too"),
        (["cluster", "{good}", "-k", "2", "--value-columns", "v"], "give --id-column too"),
        (
            ["cluster", "{long}", "-k", "2", "--id-column", "machine", "--value-columns", "x"],
            "it lacks ['x']",
        ),
        (["cluster", "{good}", "-k", "2", "--id-column", "id"], "reads .csv files in long"),
        (["cluster", "{ts}", "-k", "2", "--id-column", "id"], "reads .csv files in long"),
        (["cluster", "{long}", "-k", "2", "--id-column", "id"], "it lacks ['id']"),
        (["cluster", "{good}", "-k", "2", "-o", "{nodir}/labels.csv"], "no such folder"),
        (["cluster", "{good}", "-k", "2", "--save-model", "{nodir}/m.joblib"], "no such folder"),
        (["cluster", "{good}", "-k", "2", "-o", "{folder}"], "is a folder"),
    ],
)
def test_bad_inputs_give_one_clear_line_and_exit_code_2(tmp_path, series, args, message, capsys):
    X, y = series
    files = _write_inputs(tmp_path, X, y)
    (tmp_path / "data.xlsx").write_text("x")
    (tmp_path / "bad.csv").write_text("1,2,3\n4,five,6\n")
    (tmp_path / "long.csv").write_text("machine,value\nm0,1.5\nm0,2.5\n")
    np.save(tmp_path / "bad.npy", np.arange(5.0))
    np.save(tmp_path / "bad4d.npy", np.zeros((2, 3, 4, 5)))
    (tmp_path / "bad.ts").write_text("not a ts file\n")
    names = {
        "bad_ext": tmp_path / "data.xlsx",
        "bad_csv": tmp_path / "bad.csv",
        "bad_npy": tmp_path / "bad.npy",
        "bad_4d": tmp_path / "bad4d.npy",
        "bad_ts": tmp_path / "bad.ts",
        "good": files["npy"],
        "long": tmp_path / "long.csv",
        "ts": files["ts"],
        "nodir": tmp_path / "missing",
        "folder": tmp_path,
    }
    args = [a.format(**names) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("skts: error: ")
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["cluster", "x.ts", "-k", "0"],
        ["cluster", "x.ts", "-k", "two"],
        ["cluster", "x.ts"],
        ["frobnicate"],
        ["cluster", "x.ts", "-k", "2", "--seed", "-1"],  # refused before reading, not after
        ["cluster", "x.ts", "-k", "2", "--n-fits", "0"],
        ["bench", "--seeds", "0", "2**32"],
    ],
)
def test_argument_errors_exit_with_usage(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: skts" in err
    if "seed" in " ".join(args):
        assert "expected an integer from 0 to 4294967295" in err
    if "two" in args:
        assert "expected a positive integer, got 'two'" in err
    if "--n-fits" in args:
        assert "argument --n-fits: expected a positive integer, got 0" in err


def test_module_entry_point_has_help_and_no_traceback_on_error(tmp_path):
    help_text = subprocess.run(
        [sys.executable, "-m", "skts", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "skts bench" in help_text and "skts cluster" in help_text
    assert "skts predict" in help_text
    failed = subprocess.run(
        [sys.executable, "-m", "skts", "cluster", str(tmp_path / "none.csv"), "-k", "2"],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 2
    assert "Traceback" not in failed.stderr and "no such file" in failed.stderr


def test_bench_with_an_unavailable_device_fails_before_any_run(tmp_path, capsys):
    out = tmp_path / "bench"
    args = ["bench", "--datasets", "synthetic", "--methods", "kmeans", "--seeds", "0"]
    code = main([*args, "--device", "cuda:99", "--output", str(out)])
    assert code == 2
    captured = capsys.readouterr()
    assert "device='cuda:99' was requested" in captured.err
    assert "[1/1]" not in captured.err and not out.exists()


def test_bench_writes_table_csv_markdown_and_plots(tmp_path, capsys):
    out = tmp_path / "bench"
    code = main(
        [
            "bench",
            "--datasets",
            "synthetic",
            "ItalyPowerDemand",
            "--methods",
            "kmeans",
            "--seeds",
            "0",
            "1",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "| dataset | kmeans |" in captured.out
    assert "[4/4] ItalyPowerDemand · kmeans · seed 1" in captured.err
    rows = (out / "results.csv").read_text().splitlines()
    assert rows[0].startswith("dataset,method,seed,n_samples,n_clusters,ari,nmi,accuracy")
    assert len(rows) == 5
    report = (out / "results.md").read_text()
    assert "## Adjusted Rand index" in report and "CPU cores" in report
    assert "one run at a time" in report
    assert (out / "scores.png").stat().st_size > 1000
    assert (out / "times.png").stat().st_size > 1000


def test_predict_hints_at_fill_missing_only_for_missing_values(tmp_path, series, capsys):
    X, y = series
    path = _write_inputs(tmp_path, X, y)["csv"]
    model_path = tmp_path / "filled.joblib"
    args = ["cluster", str(path), "-k", "2", "--max-epochs", "1", "--fill-missing", "linear"]
    assert main([*args, "--save-model", str(model_path)]) == 0
    capsys.readouterr()
    two = tmp_path / "two.npy"
    np.save(two, np.ones((3, 8, 2), dtype=np.float32))
    assert main(["predict", str(two), "-m", str(model_path)]) == 2
    err = capsys.readouterr().err
    # The imputer's channel check names TimeSeriesImputer; no gap is to blame.
    assert "Expected series with 1 channels" in err and "--fill-missing" not in err


def test_readme_command_lines_parse():
    """The cluster and predict lines of README's "Command line" block, options included."""
    import pathlib
    import re
    import shlex

    from skts.cli import _parser

    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    block = readme.split("## Command line", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if re.match(r"skts (cluster|predict) ", line)]
    assert {line.split()[1] for line in lines} == {"cluster", "predict"}
    for line in lines:
        words = shlex.split(line.replace("[", "").replace("]", ""), comments=True)
        args = _parser().parse_args(words[1:])
        assert args.input.endswith((".ts", ".csv", "/"))
