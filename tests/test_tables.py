"""Tests for descend.data.tables: conversion, clear errors, CSV reading, design checks."""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from descend.data.tables import (
    DataError,
    DataWarning,
    as_arrays,
    check_design,
    check_seed,
    read_csv,
)

# ----------------------------------------------------------------------------------------------
# as_arrays: good input
# ----------------------------------------------------------------------------------------------


def test_as_arrays_2d_array_defaults(rng: np.random.Generator) -> None:
    """A 2-D float array comes back as a new C-contiguous float64 copy with default names."""
    X = rng.normal(size=(5, 3))
    y = rng.normal(size=5)
    X2, y2, names = as_arrays(X, y)
    assert X2.dtype == np.float64 and X2.flags.c_contiguous and X2.shape == (5, 3)
    assert y2 is not None and y2.shape == (5,)
    assert names == ["x1", "x2", "x3"]
    np.testing.assert_array_equal(X2, X)
    assert not np.shares_memory(X2, X) and not np.shares_memory(y2, y)


def test_as_arrays_1d_is_one_feature() -> None:
    """A 1-D X is one feature column named 'x'."""
    X, y, names = as_arrays([1, 2, 3], [2, 4, 6])
    assert X.shape == (3, 1) and X.dtype == np.float64
    assert names == ["x"]
    np.testing.assert_array_equal(y, [2.0, 4.0, 6.0])


def test_as_arrays_list_of_lists_and_given_names() -> None:
    """Lists of lists work; given feature names are used."""
    X, y, names = as_arrays([[1, 2], [3, 4]], None, feature_names=["a", "b"])
    assert y is None
    assert X.shape == (2, 2) and names == ["a", "b"]


def test_as_arrays_y_column_vector_flattened() -> None:
    """An (n, 1) y is flattened to (n,)."""
    _, y, _ = as_arrays(np.ones((4, 2)) + np.arange(4)[:, None], np.arange(4.0).reshape(4, 1))
    assert y is not None and y.shape == (4,)


def test_as_arrays_readonly_and_fortran_inputs_untouched(rng: np.random.Generator) -> None:
    """Read-only and Fortran-ordered inputs work and are not modified."""
    X = np.asfortranarray(rng.normal(size=(6, 2)))
    X.setflags(write=False)
    y = rng.normal(size=6)
    y.setflags(write=False)
    X_before, y_before = X.copy(), y.copy()
    X2, y2, _ = as_arrays(X, y)
    assert X2.flags.c_contiguous and X2.flags.writeable
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    assert y2 is not None and y2.flags.writeable


def test_as_arrays_int_and_bool_columns() -> None:
    """Integer and boolean arrays convert to float64."""
    X, _, _ = as_arrays(np.array([[1, 0], [2, 1]], dtype=np.int32))
    assert X.dtype == np.float64
    Xb, _, _ = as_arrays(np.array([True, False, True]))
    np.testing.assert_array_equal(Xb[:, 0], [1.0, 0.0, 1.0])


def test_as_arrays_object_array_of_numbers() -> None:
    """An object array that holds only numbers converts fine."""
    X, _, _ = as_arrays(np.array([[1, 2.5], [3, 4]], dtype=object))
    np.testing.assert_array_equal(X, [[1.0, 2.5], [3.0, 4.0]])


# ----------------------------------------------------------------------------------------------
# as_arrays: bad input, one test per case
# ----------------------------------------------------------------------------------------------


def test_as_arrays_nan_names_column_row_count_and_fix() -> None:
    """NaN: the message names the column, the 1-based row, how many cells, and the fix."""
    X = np.ones((5, 3))
    X[3, 1] = np.nan
    X[4, 1] = np.nan
    with pytest.raises(DataError) as exc:
        as_arrays(X, np.arange(5.0), feature_names=["a", "b", "c"])
    msg = str(exc.value)
    assert "'b'" in msg and "row 4" in msg and "2 cells" in msg
    assert "Drop those rows" in msg and "impute" in msg


def test_as_arrays_inf_reported() -> None:
    """An infinite value is reported like a NaN, with its column and row."""
    X = np.ones((3, 2))
    X[0, 0] = np.inf
    with pytest.raises(DataError, match=r"column 'x1'.*row 1.*inf"):
        as_arrays(X)


def test_as_arrays_nan_in_y() -> None:
    """NaN in y names y and its row."""
    with pytest.raises(DataError, match=r"y has 1 missing.*row 2"):
        as_arrays([1.0, 2.0, 3.0], [1.0, np.nan, 3.0])


def test_as_arrays_text_cell_names_column_row_value() -> None:
    """A text cell: the message names column, first bad row and the value."""
    with pytest.raises(DataError) as exc:
        as_arrays([[1, 2], [3, "abc"], [5, "def"]])
    msg = str(exc.value)
    assert "'x2'" in msg and "row 2" in msg and "'abc'" in msg


def test_as_arrays_text_that_looks_numeric_is_flagged() -> None:
    """Numbers stored as text are rejected, with a hint that they look numeric."""
    with pytest.raises(DataError, match="looks like a number"):
        as_arrays(np.array(["1.5", "2.5"]))


def test_as_arrays_complex() -> None:
    """Complex input is rejected, naming the first cell with an imaginary part."""
    X = np.array([[1 + 0j, 2 + 0j], [3 + 0j, 4 + 1j]])
    with pytest.raises(DataError) as exc:
        as_arrays(X)
    msg = str(exc.value)
    assert "complex" in msg and "'x2'" in msg and "row 2" in msg and ".real" in msg


def test_as_arrays_empty_rows() -> None:
    """Zero rows is an error that says so."""
    with pytest.raises(DataError, match="0 rows"):
        as_arrays(np.empty((0, 3)))


def test_as_arrays_empty_columns() -> None:
    """Zero columns is an error that says so."""
    with pytest.raises(DataError, match="0 columns"):
        as_arrays(np.empty((4, 0)))


def test_as_arrays_length_mismatch_gives_both_lengths() -> None:
    """Different lengths of X and y: both lengths appear."""
    with pytest.raises(DataError, match=r"X has 4 rows but y has 3 values"):
        as_arrays(np.ones((4, 2)), np.ones(3))


def test_as_arrays_3d_X() -> None:
    """X with 3 dimensions is rejected with its shape and a reshape hint."""
    with pytest.raises(DataError, match=r"3 dimensions.*\(2, 3, 4\).*reshape"):
        as_arrays(np.ones((2, 3, 4)))


def test_as_arrays_y_with_several_columns() -> None:
    """A 2-D y with several columns is rejected, naming the column count."""
    with pytest.raises(DataError, match=r"y has shape \(4, 2\): 2 columns"):
        as_arrays(np.ones((4, 1)), np.ones((4, 2)))


def test_as_arrays_ragged_rows() -> None:
    """Ragged nested lists name the first row of a different length."""
    with pytest.raises(DataError, match=r"row 3 has 1 value but row 1 has 2 values"):
        as_arrays([[1, 2], [3, 4], [5]])


def test_as_arrays_scalar_X() -> None:
    """A scalar X is explained, not a NumPy traceback."""
    with pytest.raises(DataError, match="single value"):
        as_arrays(3.0)


def test_as_arrays_wrong_number_of_names() -> None:
    """feature_names must match the number of columns."""
    with pytest.raises(DataError, match="2 names but X has 3 columns"):
        as_arrays(np.ones((2, 3)), feature_names=["a", "b"])


def test_as_arrays_none_cell_is_missing() -> None:
    """None in a list is a missing value, reported with its row."""
    with pytest.raises(DataError, match=r"row 2"):
        as_arrays([1.0, None, 3.0])


def test_as_arrays_masked_cells_are_missing() -> None:
    """Masked cells of a masked array are missing values, reported with their row."""
    with pytest.raises(DataError, match=r"1 NaN/missing.*row 2"):
        as_arrays(np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0]))


def test_datawarning_and_dataerror_types() -> None:
    """DataError is a ValueError; DataWarning is a UserWarning."""
    assert issubclass(DataError, ValueError)
    assert issubclass(DataWarning, UserWarning)


# ----------------------------------------------------------------------------------------------
# as_arrays with pandas
# ----------------------------------------------------------------------------------------------


def test_as_arrays_dataframe_names_and_series_y() -> None:
    """DataFrame columns become the feature names; a Series y is accepted."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"size": [1.0, 2.0, 3.0], "age": [3, 2, 1]})
    X, y, names = as_arrays(df, pd.Series([1.0, 2.0, 3.0], name="price"))
    assert names == ["size", "age"]
    assert X.shape == (3, 2) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y is not None and y.shape == (3,)


def test_as_arrays_series_X_and_single_column_frame_y() -> None:
    """A Series X is one column named after the Series; a 1-column DataFrame y is flattened."""
    pd = pytest.importorskip("pandas")
    X, y, names = as_arrays(pd.Series([1.0, 2.0], name="t"), pd.DataFrame({"y": [3.0, 4.0]}))
    assert X.shape == (2, 1) and names == ["t"]
    assert y is not None and y.shape == (2,)


def test_as_arrays_dataframe_text_column() -> None:
    """A text cell in a DataFrame names the column, row and value."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "city": ["1", "Oslo", "Rome"]})
    with pytest.raises(DataError) as exc:
        as_arrays(df)
    msg = str(exc.value)
    assert "'city'" in msg and "row 2" in msg and "'Oslo'" in msg


def test_as_arrays_dataframe_nan_with_index_label() -> None:
    """NaN in a DataFrame names the column, the row and the index label."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0]}, index=["p", "q", "r"])
    with pytest.raises(DataError, match=r"'a'.*row 2 \(index label 'q'\)"):
        as_arrays(df)


def test_as_arrays_nullable_int_with_na() -> None:
    """pandas nullable integers with <NA> are reported as missing values."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")})
    with pytest.raises(DataError, match=r"'n'.*row 2"):
        as_arrays(df)


def test_as_arrays_dataframe_y_several_columns() -> None:
    """A DataFrame y with two columns is rejected."""
    pd = pytest.importorskip("pandas")
    with pytest.raises(DataError, match="2 columns"):
        as_arrays(np.ones((2, 1)), pd.DataFrame({"a": [1, 2], "b": [3, 4]}))


def test_as_arrays_dataframe_not_mutated() -> None:
    """The input DataFrame is unchanged and the output does not share its memory."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    before = df.copy()
    X, _, _ = as_arrays(df)
    X[:] = 0.0
    pd.testing.assert_frame_equal(df, before)


# ----------------------------------------------------------------------------------------------
# read_csv
# ----------------------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8", newline="")
    return p


def test_read_csv_default_last_column_is_y(tmp_path: Path) -> None:
    """By default the last column is y and the others are X, in file order."""
    p = _write(tmp_path, "a,b,target\n1,2,3\n4,5,6\n")
    X, y, names, target = read_csv(p)
    np.testing.assert_array_equal(X, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(y, [3, 6])
    assert names == ["a", "b"] and target == "target"
    assert X.dtype == np.float64 and X.flags.c_contiguous


def test_read_csv_select_by_name(tmp_path: Path) -> None:
    """Columns chosen by name; unselected text columns are ignored."""
    p = _write(tmp_path, "id,a,b,c\nfoo,1,2,3\nbar,4,5,6\n")
    X, y, names, target = read_csv(p, x="b", y="a")
    np.testing.assert_array_equal(X[:, 0], [2, 5])
    np.testing.assert_array_equal(y, [1, 4])
    assert names == ["b"] and target == "a"


def test_read_csv_only_x_given_y_is_last_other(tmp_path: Path) -> None:
    """With only x given, y is the last column not in x."""
    p = _write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n")
    _, y, names, target = read_csv(p, x=["b", "c"])
    assert names == ["b", "c"] and target == "a"
    np.testing.assert_array_equal(y, [1, 4])


def test_read_csv_bom_whitespace_crlf_semicolon(tmp_path: Path) -> None:
    """A BOM, spaces around cells, CRLF endings and ';' separators are all accepted."""
    p = tmp_path / "semi.csv"
    p.write_bytes("\ufeff x ; y \r\n 1.5 ; 2 \r\n3;4\r\n\r\n".encode())
    X, y, names, target = read_csv(p)
    assert names == ["x"] and target == "y"
    np.testing.assert_array_equal(X[:, 0], [1.5, 3.0])
    np.testing.assert_array_equal(y, [2.0, 4.0])


def test_read_csv_tab_separated(tmp_path: Path) -> None:
    """Tab-separated files are sniffed from the header."""
    p = _write(tmp_path, "x\ty\n1\t2\n")
    _, y, names, _ = read_csv(p)
    assert names == ["x"]
    np.testing.assert_array_equal(y, [2.0])


def test_read_csv_missing_file(tmp_path: Path) -> None:
    """A missing file says 'no such file' and the path."""
    with pytest.raises(DataError, match="no such file: .*nope.csv"):
        read_csv(tmp_path / "nope.csv")


def test_read_csv_unknown_column_lists_available(tmp_path: Path) -> None:
    """An unknown column name lists the available ones."""
    p = _write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"no column 'zz'.*available columns: 'a', 'b'"):
        read_csv(p, y="zz")


def test_read_csv_non_numeric_cell(tmp_path: Path) -> None:
    """A non-numeric cell names the column, the line number in the file and the value."""
    p = _write(tmp_path, "a,b\n1,2\n3,oops\n")
    with pytest.raises(DataError, match=r"column 'b' on line 3 holds 'oops'"):
        read_csv(p)


def test_read_csv_empty_cell(tmp_path: Path) -> None:
    """An empty cell is a missing value, with its column and line."""
    p = _write(tmp_path, "a,b\n1,2\n\n3, \n")
    with pytest.raises(DataError, match=r"missing value in column 'b' on line 4"):
        read_csv(p)


def test_read_csv_ragged_row(tmp_path: Path) -> None:
    """A row with the wrong number of cells names its line."""
    p = _write(tmp_path, "a,b\n1,2\n3,4,5\n")
    with pytest.raises(DataError, match=r"line 3 has 3 cells but the header has 2 columns"):
        read_csv(p)


def test_read_csv_empty_file(tmp_path: Path) -> None:
    """An empty file is an error that says it is empty."""
    with pytest.raises(DataError, match="is empty"):
        read_csv(_write(tmp_path, ""))


def test_read_csv_header_only(tmp_path: Path) -> None:
    """A header without rows is an error that says so."""
    with pytest.raises(DataError, match="no data rows"):
        read_csv(_write(tmp_path, "a,b\n"))


def test_read_csv_nan_cell(tmp_path: Path) -> None:
    """'nan' / 'inf' cells are rejected, naming column, line, count and the fix."""
    p = _write(tmp_path, "a,b\n1,nan\n2,inf\n3,4\n")
    with pytest.raises(DataError, match=r"column 'b': 2 cells, first on line 2.*Drop those rows"):
        read_csv(p)


def test_read_csv_decimal_comma_hint(tmp_path: Path) -> None:
    """A decimal comma in a ';' file gets a hint."""
    p = _write(tmp_path, "a;b\n1,5;2\n")
    with pytest.raises(DataError, match="decimal comma"):
        read_csv(p)


def test_read_csv_not_utf8(tmp_path: Path) -> None:
    """Undecodable bytes give a DataError naming the line."""
    p = tmp_path / "latin.csv"
    p.write_bytes(b"a,b\n1,2\n\xe9,3\n")
    with pytest.raises(DataError, match="not UTF-8.*line 3"):
        read_csv(p)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(
        alphabet=st.sampled_from(list("0123456789.,;\t\n\r -+eEnaifxy\"'ab\x00\ufeff"))
        | st.characters(blacklist_categories=("Cs",))  # surrogates cannot be written as UTF-8
    )
)
def test_read_csv_fuzz_text_loads_or_dataerror(tmp_path: Path, text: str) -> None:
    """Arbitrary text in a CSV file either loads or raises DataError, nothing else."""
    p = tmp_path / "fuzz.csv"
    p.write_text(text, encoding="utf-8", newline="")
    try:
        X, y, names, target = read_csv(p)
    except DataError:
        return
    assert X.ndim == 2 and X.shape[0] == y.shape[0] == len(y) and X.shape[1] == len(names)
    assert np.isfinite(X).all() and np.isfinite(y).all() and isinstance(target, str)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=200))
def test_read_csv_fuzz_bytes_loads_or_dataerror(tmp_path: Path, data: bytes) -> None:
    """Arbitrary bytes in a CSV file either load or raise DataError, nothing else."""
    p = tmp_path / "fuzz.bin"
    p.write_bytes(data)
    with contextlib.suppress(DataError):
        read_csv(p)


# ----------------------------------------------------------------------------------------------
# check_design
# ----------------------------------------------------------------------------------------------


def test_check_design_constant_column_warns() -> None:
    """A constant column is named and called uninformative."""
    X = np.column_stack([np.arange(5.0), np.full(5, 2.0)])
    with pytest.warns(DataWarning, match=r"'speed' is constant.*no information.*intercept"):
        check_design(X, n_params=3, feature_names=["t", "speed"])


def test_check_design_fewer_rows_than_params_warns() -> None:
    """Fewer rows than parameters: the fit is not unique."""
    X = np.array([[1.0, 2.0], [3.0, 5.0]])
    with pytest.warns(DataWarning, match=r"2 rows for 3 parameters: the fit is not unique"):
        check_design(X, n_params=3)


def test_check_design_clean_design_is_silent(rng: np.random.Generator) -> None:
    """A healthy design raises no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_design(rng.normal(size=(20, 3)), n_params=4)


def test_import_does_not_load_pandas() -> None:
    """The core imports without pandas: data and datasets do not import it."""
    import subprocess
    import sys

    code = (
        "import sys, descend.data.tables, descend.data.datasets; "
        "descend.data.tables.as_arrays([[1.0, 2.0]]); descend.data.datasets.load('norris'); "
        "sys.exit('pandas' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_csv_size_cap_stops_an_endless_stream(tmp_path):
    """A file over the cap is refused with the cap and how to raise it; /dev/zero stops too."""
    path = tmp_path / "big.csv"
    path.write_text("x,y\n" + "1,2\n" * 1000)
    with pytest.raises(DataError, match=r"CSV size cap.*--max-csv-mb"):
        read_csv(path, max_bytes=1000)
    X, _, _, _ = read_csv(path, max_bytes=None)
    assert X.shape == (1000, 1)
    if os.path.exists("/dev/zero"):
        with pytest.raises(DataError, match="size cap"):
            read_csv("/dev/zero", max_bytes=1 << 16)


def test_check_seed():
    """Negative or non-integer seeds are refused with descend's own message."""
    check_seed(None)
    check_seed(0)
    with pytest.raises(ValueError, match="≥ 0"):
        check_seed(-3)
    with pytest.raises(TypeError, match="whole number"):
        check_seed(True)


def _date_csv(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(
        'date,"area, m2",rooms,price\n2024-01-01,50,2,100\n2024-01-02,,3,150\n'
        "2024-01-03,70,NA,160\n2024-01-04,80,4,210\n2024-01-05,90,5,230\n"
    )
    return path


def test_a_date_column_points_to_choosing_columns(tmp_path):
    """A date cell is named, with --x and the conversion to days as the fixes."""
    with pytest.raises(DataError, match="looks like a date") as exc:
        read_csv(_date_csv(tmp_path))
    assert "--x 'area, m2' --x rooms" in str(exc.value) and "days since" in str(exc.value)


def test_a_column_name_with_a_comma_is_chosen_by_its_full_name(tmp_path):
    """x=["area, m2", "rooms"] selects the column whose name holds a comma."""
    X, y, names, target = read_csv(_date_csv(tmp_path), x=["area, m2", "rooms"], dropna=True)
    assert names == ["area, m2", "rooms"] and target == "price"
    np.testing.assert_array_equal(X, [[50, 2], [80, 4], [90, 5]])
    np.testing.assert_array_equal(y, [100, 210, 230])


def test_missing_cells_are_refused_by_default_and_dropped_on_request(tmp_path):
    """dropna=False names the cell; dropna=True drops those rows and says how many, where."""
    path = _date_csv(tmp_path)
    with pytest.raises(DataError, match=r"missing value in column 'area, m2' on line 3.*dropna"):
        read_csv(path, x=["area, m2", "rooms"])
    with pytest.warns(DataWarning, match=r"dropped 2 rows .* \(lines 3, 4\); 3 rows remain"):
        read_csv(path, x=["area, m2", "rooms"], dropna=True)


def _numbers_csv(path, rng, n=100_000):
    values = rng.normal(size=(n, 3)).round(6)
    with open(path, "w") as fh:
        fh.write("a,b,y\n")
        np.savetxt(fh, values, delimiter=",", fmt="%.6f")
    return values


def test_column_wise_parsing_agrees_with_the_careful_path(tmp_path, rng):
    """The fast (np.loadtxt) path returns bit for bit what the cell-by-cell path returns, and
    both agree with the numbers written (%.6f of values rounded to 6 digits)."""
    path = tmp_path / "n.csv"
    values = _numbers_csv(path, rng, n=2000)
    X, y, names, target = read_csv(path)
    Xs, ys, _, _ = read_csv(path, dropna=True)  # dropna takes the cell-by-cell path
    np.testing.assert_array_equal(X, Xs)
    np.testing.assert_array_equal(y, ys)
    np.testing.assert_array_equal(X, values[:, :2])
    assert names == ["a", "b"] and target == "y" and X.flags.c_contiguous


@pytest.mark.slow
def test_csv_peak_memory_is_at_most_three_times_the_array(tmp_path, rng):
    """Parsing 100,000 rows allocates at most 3× the float64 array it returns (tracemalloc:
    NumPy reports its buffers to it); the old row-object parser took about 40×."""
    import tracemalloc

    path = tmp_path / "n.csv"
    _numbers_csv(path, rng)
    tracemalloc.start()
    try:
        X, y, _, _ = read_csv(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= 3 * (X.nbytes + y.nbytes), peak / (X.nbytes + y.nbytes)
