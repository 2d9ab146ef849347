"""Loading and validating data, with errors that say what is wrong and how to fix it.

Everything that reads user data goes through this module:

* :func:`as_arrays` turns arrays, lists and pandas objects into a float64 design matrix ``X`` of
  shape ``(n, d)``, a target ``y`` of shape ``(n,)`` and a list of feature names;
* :func:`read_csv` reads a CSV file with a header row (standard library :mod:`csv`, no pandas);
* :func:`check_design` warns about designs that are usable but suspicious;
* :func:`batches` yields the row indices that mini-batch descent visits.

Every problem with the input raises :class:`DataError` (a :class:`ValueError`) whose message names
the column, the row (1-based, as a user sees a spreadsheet or CSV; for files: the line number),
the offending value and the fix. pandas is imported only when a pandas object is passed in.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import os
import re
import shlex
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = [
    "DataError",
    "DataWarning",
    "as_arrays",
    "read_csv",
    "check_design",
    "check_fit_data",
    "check_samples",
    "check_seed",
    "check_sample_weight",
    "CSV_MAX_BYTES",
    "magnitude_limits",
    "SPARSE_DENSE_LIMIT",
]

#: The largest sparse input (in bytes, once dense float64) that is densified with a warning;
#: anything larger is refused with a DataError.
SPARSE_DENSE_LIMIT = 256 * 2**20

#: the mini-batch samplers of :func:`descend.minimize` (``sampling=``)


class DataError(ValueError):
    """Input data that cannot be used; the message names the problem and the fix."""


class DataWarning(UserWarning):
    """Input data that is usable but suspicious (e.g. a constant column)."""


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------

_MAX_SHOWN = 5


def _is_pandas(obj: object) -> bool:
    return type(obj).__module__.startswith("pandas")


def _show(value: object) -> str:
    """A short printable form of a cell value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


#: cells :func:`read_csv` treats as missing (``dropna=True`` drops their rows)
NA_CELLS = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a"})

_DATE = re.compile(r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})([ T].*)?$")


def _is_na(cell: str) -> bool:
    return cell.strip().lower() in NA_CELLS


def _s(count: int) -> str:
    """Plural suffix."""
    return "" if count == 1 else "s"


def default_names(d: int) -> list[str]:
    """Column names for data without names: "x" for one column, x1 … xd for several."""
    return ["x"] if d == 1 else [f"x{j + 1}" for j in range(d)]


def _is_missing_marker(value: object) -> bool:
    """None, pandas.NA and pandas.NaT (checked by type name so pandas is not imported)."""
    return value is None or type(value).__name__ in ("NAType", "NaTType")


def _row_label(i: int, labels: Sequence[Any] | None) -> str:
    """'row 3' (1-based), plus the pandas index label when it differs from the position."""
    if labels is not None:
        label = labels[i]
        if not (isinstance(label, numbers.Integral) and int(label) == i):
            return f"row {i + 1} (index label {label!r})"
    return f"row {i + 1}"


def _object_column_to_float(
    values: NDArray[Any], what: str, column: str, labels: Sequence[Any] | None
) -> Array:
    """Convert a 1-D object (or text) column cell by cell, raising a precise DataError."""
    out = np.empty(values.shape[0], dtype=np.float64)
    numeric_text: tuple[int, object] | None = None  # first text cell that looks like a number
    for i, v in enumerate(values.tolist()):
        if _is_missing_marker(v):
            out[i] = np.nan  # reported as a missing value by the finite check
            continue
        if isinstance(v, str | bytes):
            try:
                float(v)
            except ValueError:
                raise DataError(
                    f"{what} column {column!r} holds text, not numbers: {_row_label(i, labels)} "
                    f"has {_show(v)}. Convert the column to numbers (e.g. pandas.to_numeric), "
                    f"fix that cell, or leave the column out of {what}."
                ) from None
            if numeric_text is None:
                numeric_text = (i, v)
            continue
        if isinstance(v, complex | np.complexfloating):
            raise DataError(
                f"{what} column {column!r} holds a complex number: {_row_label(i, labels)} has "
                f"{_show(v)}. descend fits real numbers only; use the real part (.real) if the "
                "imaginary parts are zero, or split it into two real columns."
            )
        try:
            out[i] = float(v)
        except (TypeError, ValueError, OverflowError):
            raise DataError(
                f"{what} column {column!r} holds a value that is not a number: "
                f"{_row_label(i, labels)} has {_show(v)} ({type(v).__name__}). Convert the column "
                f"to numbers or leave it out of {what}."
            ) from None
    if numeric_text is not None:
        i, v = numeric_text
        raise DataError(
            f"{what} column {column!r} holds numbers stored as text: {_row_label(i, labels)} has "
            f"{_show(v)} (text that looks like a number). Convert the column first, e.g. "
            ".astype(float) or pandas.to_numeric."
        )
    return out


def _complex_error(arr: NDArray[Any], what: str, names: Sequence[str]) -> DataError:
    a2 = arr.reshape(arr.shape[0], -1) if arr.ndim else arr.reshape(1, 1)
    nz = np.argwhere(a2.imag != 0)
    i, j = (int(nz[0][0]), int(nz[0][1])) if nz.size else (0, 0)
    col = names[j] if j < len(names) else f"{j + 1}"
    value = _show(a2[i, j].item()) if a2.size else "?"
    return DataError(
        f"{what} is complex (dtype {arr.dtype}); column {col!r} row {i + 1} has {value}. "
        "descend fits real numbers only; use the real part (.real) if the imaginary parts are "
        "zero, or split real and imaginary parts into separate columns."
    )


def _numeric_2d(
    arr: NDArray[Any], what: str, names: Sequence[str], labels: Sequence[Any] | None = None
) -> Array:
    """A 2-D array of any dtype -> a fresh C-contiguous float64 array, or a clear DataError."""
    kind = arr.dtype.kind
    if kind in "biuf":
        return np.array(arr, dtype=np.float64, order="C", copy=True)
    if kind == "c":
        raise _complex_error(arr, what, names)
    obj = arr.astype(object)
    out = np.empty(arr.shape, dtype=np.float64)
    for j in range(arr.shape[1]):
        out[:, j] = _object_column_to_float(obj[:, j], what, names[j], labels)
    return out


def _check_finite(
    arr: Array, what: str, names: Sequence[str], labels: Sequence[Any] | None
) -> None:
    """Raise a DataError naming the columns and rows that hold NaN or +-inf."""
    bad = ~np.isfinite(arr)
    if not bad.any():
        return
    total = int(bad.sum())
    n_nan = int(np.isnan(arr).sum())
    n_inf = total - n_nan
    parts = []
    cols = np.flatnonzero(bad.any(axis=0))
    for j in cols[:_MAX_SHOWN]:
        rows = np.flatnonzero(bad[:, j])
        first = int(rows[0])
        where = f"column {names[j]!r}: " if arr.shape[1] > 1 or what == "X" else ""
        parts.append(
            f"{where}{rows.size} cell{_s(rows.size)}, first at "
            f"{_row_label(first, labels)} (value {float(arr[first, j])!r})"
        )
    if cols.size > _MAX_SHOWN:
        parts.append(f"and {cols.size - _MAX_SHOWN} more columns")
    kinds = ", ".join(
        s
        for s in (f"{n_nan} NaN/missing" if n_nan else "", f"{n_inf} infinite" if n_inf else "")
        if s
    )
    n_rows = int(bad.any(axis=1).sum())
    raise DataError(
        f"{what} has {total} missing or non-finite cell{'s' if total != 1 else ''} ({kinds}) in "
        f"{n_rows} row{'s' if n_rows != 1 else ''}: " + "; ".join(parts) + ". "
        "Drop those rows (e.g. DataFrame.dropna()) or impute the values before fitting."
    )


def _ragged_message(obj: object, what: str) -> str:
    """Describe the first row whose length differs from row 1 of a nested list."""
    if isinstance(obj, list | tuple) and obj:
        lengths: list[int | None] = []
        for row in obj:
            try:
                lengths.append(len(row))
            except TypeError:
                lengths.append(None)
        first = lengths[0]
        for i, length in enumerate(lengths):
            if length != first:
                a = "a single value" if length is None else f"{length} value{_s(length)}"
                b = "a single value" if first is None else f"{first} value{_s(first)}"
                return (
                    f"{what} rows have different lengths: row {i + 1} has {a} but row 1 has {b}. "
                    "Every row needs one value per column; fix or drop the short/long rows."
                )
    return (
        f"{what} is not a rectangular table of numbers (rows of different lengths or nested "
        "objects). Pass a 2-D array, a list of equal-length rows, or a DataFrame."
    )


def _is_sparse(obj: object) -> bool:
    """A scipy.sparse matrix or array (checked without importing scipy)."""
    return type(obj).__module__.startswith("scipy.sparse") and hasattr(obj, "toarray")


def _densify(obj: Any, what: str) -> NDArray[Any]:
    """A small sparse input as a dense array (with a DataWarning); a large one is refused."""
    shape = tuple(int(s) for s in obj.shape)
    cells = math.prod(shape)
    size = cells * 8
    if size > SPARSE_DENSE_LIMIT:
        raise DataError(
            f"{what} is a scipy.sparse {type(obj).__name__} of shape {shape}; descend fits dense "
            f"arrays and this one would take {size / 2**30:.3g} GiB dense (limit "
            f"{SPARSE_DENSE_LIMIT / 2**20:.0f} MiB). Select fewer columns, or use an estimator "
            "with a sparse path (e.g. sklearn.linear_model.SGDRegressor)."
        )
    warnings.warn(
        f"{what} is a scipy.sparse {type(obj).__name__} of shape {shape} "
        f"({int(getattr(obj, 'nnz', 0))} stored values); descend fits dense arrays, so it was "
        f"converted to a dense array ({size / 2**20:.3g} MiB). Pass X.toarray() to silence "
        "this warning.",
        DataWarning,
        stacklevel=4,
    )
    return np.asarray(obj.toarray())


def _as_ndarray(obj: object, what: str) -> NDArray[Any]:
    """np.asarray without letting a raw NumPy error through."""
    if _is_sparse(obj):
        return _densify(obj, what)
    if isinstance(obj, np.ma.MaskedArray):
        # masked cells become None, which the cell-by-cell path reports as missing values
        if np.ma.is_masked(obj):
            filled = np.array(obj.data, dtype=object)
            filled[np.ma.getmaskarray(obj)] = None
            obj = filled
        else:
            obj = obj.data
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.VisibleDeprecationWarning)
            arr = np.asarray(obj)
            if arr.dtype.kind in "US" and not isinstance(obj, np.ndarray):
                # a list mixing numbers and text: keep each cell's own type for the message
                arr = np.array(obj, dtype=object)
    except (ValueError, TypeError, np.exceptions.VisibleDeprecationWarning):
        raise DataError(_ragged_message(obj, what)) from None
    if arr.dtype.kind == "O" and arr.ndim >= 1 and arr.size:
        # np.asarray of a ragged nested object can give a 1-D object array of sequences
        first = arr.flat[0]
        if isinstance(first, list | tuple | np.ndarray):
            raise DataError(_ragged_message(obj, what))
    return arr


# ----------------------------------------------------------------------------------------------
# as_arrays
# ----------------------------------------------------------------------------------------------


def _pandas_X(X: Any) -> tuple[Array, list[str], list[Any] | None]:
    """DataFrame or Series -> (float array (n, d), names, index labels or None)."""
    import pandas as pd  # lazy: only reached for pandas objects

    if isinstance(X, pd.Series):
        frame = X.to_frame(name=X.name if X.name is not None else "x")
    elif isinstance(X, pd.DataFrame):
        frame = X
    else:
        raise DataError(
            f"X is a pandas {type(X).__name__}; pass a DataFrame, a Series or a NumPy array."
        )
    names = [str(c) for c in frame.columns]
    index = frame.index
    default_index = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    labels = None if default_index else list(index)
    n, d = frame.shape
    out = np.empty((n, d), dtype=np.float64)
    for j in range(d):
        col = frame.iloc[:, j]
        dtype = col.dtype
        if pd.api.types.is_complex_dtype(dtype):
            raise _complex_error(col.to_numpy().reshape(-1, 1), "X", [names[j]])
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            try:
                out[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
                continue
            except (TypeError, ValueError):
                pass  # fall through to the cell-by-cell path for a precise message
        out[:, j] = _object_column_to_float(col.to_numpy(dtype=object), "X", names[j], labels)
    return out, names, labels


def _pandas_y(y: Any) -> NDArray[Any]:
    import pandas as pd  # lazy

    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise DataError(
                f"y must be a single column, but the DataFrame has {y.shape[1]} columns "
                f"({', '.join(map(str, y.columns[:_MAX_SHOWN]))}). Pick one, e.g. df['target']."
            )
        y = y.iloc[:, 0]
    if isinstance(y, pd.Series):
        if pd.api.types.is_complex_dtype(y.dtype):
            return y.to_numpy()
        if pd.api.types.is_bool_dtype(y.dtype) or pd.api.types.is_numeric_dtype(y.dtype):
            try:
                return y.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                pass
        return y.to_numpy(dtype=object)
    raise DataError(
        f"y is a pandas {type(y).__name__}; pass a Series, a 1-column DataFrame or an array."
    )


def _convert_y(y: Any, n: int) -> Array:
    arr = _pandas_y(y) if _is_pandas(y) else _as_ndarray(y, "y")
    if arr.ndim == 0:
        raise DataError(
            f"y is a single value ({_show(arr.item())}); it must hold one target value per row "
            f"of X ({n} rows)."
        )
    if arr.ndim == 2:
        if arr.shape[1] == 1:
            arr = arr[:, 0]
        else:
            raise DataError(
                f"y has shape {arr.shape}: {arr.shape[1]} columns, but descend fits one target. "
                "Pass a single column (e.g. y[:, 0]), or y.ravel() if it is a row vector."
            )
    elif arr.ndim > 2:
        raise DataError(f"y has {arr.ndim} dimensions (shape {arr.shape}); it must be 1-D.")
    if arr.shape[0] == 0:
        raise DataError("y is empty (0 values); it needs one target value per row of X.")
    out = _numeric_2d(arr.reshape(-1, 1), "y", ["y"])[:, 0].copy()
    return out


def as_arrays(
    X: Any, y: Any = None, *, feature_names: Sequence[str] | None = None
) -> tuple[Array, Array | None, list[str]]:
    """Validate and convert a design matrix and target to float64 NumPy arrays.

    Parameters
    ----------
    X : array_like or pandas.DataFrame or pandas.Series
        The features: an array or list of lists of shape ``(n, d)``, a DataFrame, a Series, or a
        1-D array / list of shape ``(n,)`` which is taken as a single feature column ``(n, 1)``.
    y : array_like or pandas.Series or pandas.DataFrame, optional
        The target, shape ``(n,)``; a single-column DataFrame or an ``(n, 1)`` array is flattened.
    feature_names : sequence of str, optional
        Names of the ``d`` columns of a non-pandas ``X``. A DataFrame's own column names (or a
        Series' name) always take precedence.

    Returns
    -------
    X : ndarray of float64, shape (n, d)
        A new C-contiguous array (never a view of the input).
    y : ndarray of float64, shape (n,), or None
        A new array, or None when ``y`` is None.
    feature_names : list of str, length d
        DataFrame columns, else the given names, else ``"x1" .. "xd"`` (``"x"`` when d == 1).

    Raises
    ------
    DataError
        For NaN/inf, text or complex cells, empty data, more than 2 dimensions, a multi-column
        ``y`` or lengths of ``X`` and ``y`` that differ. The message names column, row and value.

    Examples
    --------
    >>> X, y, names = as_arrays([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
    >>> X.shape, y.shape, names
    ((3, 1), (3,), ['x'])
    """
    labels: list[Any] | None = None
    if _is_pandas(X):
        X_arr, names, labels = _pandas_X(X)
        if X_arr.shape[0] == 0 or X_arr.shape[1] == 0:
            raise DataError(
                f"X is empty: {X_arr.shape[0]} rows and {X_arr.shape[1]} columns. "
                "It needs at least one row and one feature column."
            )
    else:
        raw = _as_ndarray(X, "X")
        if raw.ndim == 0:
            raise DataError(
                f"X is a single value ({_show(raw.item())}); pass one row per sample, e.g. a "
                "2-D array of shape (n, d) or a 1-D array of shape (n,) for one feature."
            )
        if raw.ndim == 1:
            raw = raw.reshape(-1, 1)
        elif raw.ndim > 2:
            raise DataError(
                f"X has {raw.ndim} dimensions (shape {raw.shape}); it must be 2-D (rows = "
                "samples, columns = features). Flatten the trailing axes, e.g. "
                "X.reshape(len(X), -1)."
            )
        if raw.shape[0] == 0 or raw.shape[1] == 0:
            raise DataError(
                f"X is empty: {raw.shape[0]} rows and {raw.shape[1]} columns. "
                "It needs at least one row and one feature column."
            )
        d = raw.shape[1]
        if feature_names is not None:
            names = [str(s) for s in feature_names]
            if len(names) != d:
                raise DataError(
                    f"feature_names has {len(names)} names but X has {d} columns; give one "
                    "name per column."
                )
        else:
            names = default_names(d)
        X_arr = _numeric_2d(raw, "X", names)
    _check_finite(X_arr, "X", names, labels)

    if y is None:
        return X_arr, None, names
    y_arr = _convert_y(y, X_arr.shape[0])
    if y_arr.shape[0] != X_arr.shape[0]:
        raise DataError(
            f"X and y have different lengths: X has {X_arr.shape[0]} rows but y has "
            f"{y_arr.shape[0]} values. They must describe the same samples, one y per row of X."
        )
    _check_finite(y_arr.reshape(-1, 1), "y", ["y"], labels)
    return X_arr, y_arr, names


# ----------------------------------------------------------------------------------------------
# read_csv
# ----------------------------------------------------------------------------------------------


def _sniff_delimiter(header_line: str) -> str:
    """',' unless the header line clearly uses ';' or a tab instead."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 0 else ","


def _select(
    fname: str, header: list[str], x: str | Sequence[str] | None, y: str | None
) -> tuple[list[int], int]:
    """The indices of the x columns and the y column that ``x`` and ``y`` name in ``header``."""
    available = ", ".join(map(repr, header))

    def _index(name: str, role: str) -> int:
        if name not in header:
            comma = (
                " (a name holding a comma needs its own --x)"
                if any("," in h for h in header)
                else ""
            )
            raise DataError(
                f"{fname!r} has no column {name!r} (asked for as {role}); "
                f"available columns: {available}.{comma}"
            )
        return header.index(name)

    x_names: list[str] | None
    if x is None:
        x_names = None
    else:
        x_names = []
        for item in [x] if isinstance(x, str) else [str(v) for v in x]:
            if item in header or "," not in item:
                x_names.append(item)
            else:  # "a,b" → a, b (a column whose name holds a comma is chosen by its full name)
                x_names += [c.strip() for c in item.split(",") if c.strip()]
    x_idx = [_index(n, "x") for n in x_names] if x_names is not None else None

    if y is not None:
        y_idx = _index(y, "y")
    else:
        candidates = [j for j in range(len(header)) if x_idx is None or j not in x_idx]
        if not candidates:
            raise DataError(
                f"{fname!r}: every column is used as x, so none is left for y; name the target "
                f"with y=... (available columns: {available})."
            )
        y_idx = candidates[-1]
    if x_idx is None:
        x_idx = [j for j in range(len(header)) if j != y_idx]
    if not x_idx:
        raise DataError(
            f"{fname!r} has only the column {header[y_idx]!r}; a feature column is needed too "
            f"(available columns: {available})."
        )
    if y_idx in x_idx:
        raise DataError(
            f"{fname!r}: column {header[y_idx]!r} is asked for as both x and y; "
            "choose different columns."
        )

    return x_idx, y_idx


def _read_capped(fh: Any, max_bytes: int | None) -> bytes:
    """The file's bytes, read in 1 MiB chunks up to ``max_bytes`` + 1 (no cap: all of it)."""
    if max_bytes is None:
        return bytes(fh.read())
    chunks, total = [], 0
    while total <= max_bytes:
        chunk = fh.read(min(1 << 20, max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _too_large(fname: str, max_bytes: int) -> str:
    return (
        f"{fname!r} is larger than the CSV size cap of {max_bytes / 2**20:.6g} MiB; raise "
        "it (--max-csv-mb MB on the command line, read_csv(..., max_bytes=N) in Python) if "
        "the file is meant to be this large, or fit it out of core with --dask."
    )


def _read_csv_columns(
    fname: str, x: str | Sequence[str] | None, y: str | None
) -> tuple[Array, Array, list[str], str] | None:
    """The fast path of :func:`read_csv`: NumPy's C parser straight into one float64 array.

    No Python object per row or cell: the file is streamed in chunks by ``np.loadtxt``, so the
    peak memory is about twice the parsed array (the array and X's contiguous copy). Taken
    only when every column is used and every cell is a finite number; anything else (text,
    empty cells, ragged rows, NaN, not UTF-8, …) returns None and the careful path runs, which
    names the cell.
    """
    try:
        with open(fname, encoding="utf-8-sig", newline="") as fh:
            first = ""
            while not first.strip():
                first = fh.readline()
                if not first:
                    return None
            delimiter = _sniff_delimiter(first)
            header = [
                c.strip().lstrip("\ufeff").strip()
                for c in next(csv.reader([first], delimiter=delimiter))
            ]
            if not all(header) or len(set(header)) != len(header):
                return None
            x_idx, y_idx = _select(fname, header, x, y)
            if sorted([*x_idx, y_idx]) != list(range(len(header))):
                return None  # text may sit in the columns left out: the careful path skips them
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # e.g. "input contained no data"
                data = np.loadtxt(
                    fh, delimiter=delimiter, comments=None, quotechar='"', ndmin=2,
                    dtype=np.float64,
                )  # fmt: skip
    except (ValueError, UnicodeDecodeError, csv.Error, UserWarning) as exc:
        if isinstance(exc, DataError):
            raise
        return None
    if data.shape[0] == 0 or data.shape[1] != len(header) or not np.isfinite(data).all():
        return None
    X_out = np.ascontiguousarray(data[:, x_idx])
    y_out = np.ascontiguousarray(data[:, y_idx])
    return X_out, y_out, [header[j] for j in x_idx], header[y_idx]


#: the largest CSV file :func:`read_csv` reads by default (bytes); ``max_bytes=`` or
#: ``descend fit --max-csv-mb`` raise it. Text takes about 3× its size in memory while parsed,
#: so a file of this size needs a few GiB.
CSV_MAX_BYTES = 1 << 30


def read_csv(
    path: str | os.PathLike[str],
    x: str | Sequence[str] | None = None,
    y: str | None = None,
    *,
    max_bytes: int | None = CSV_MAX_BYTES,
    dropna: bool = False,
) -> tuple[Array, Array, list[str], str]:
    """Read numeric columns from a CSV file that has a header row.

    Parameters
    ----------
    path : str or os.PathLike
        The file. UTF-8 (a byte-order mark is allowed); comma separated, or ``;`` / tab
        separated when the header line uses those instead.
    x : str or sequence of str, optional
        Names of the feature columns. Default: every column except the target. A name that
        is not a column but contains commas is split at them (``"a,b"`` → ``a`` and ``b``), so
        a column whose name holds a comma (``"area, m2"``) is chosen by its full name.
    y : str, optional
        Name of the target column. Default: the last column that is not in ``x``.
    max_bytes : int or None
        Refuse a file larger than this (default :data:`CSV_MAX_BYTES`, 1 GiB; None: no cap).
        It is enforced while reading, so an endless stream (``/dev/zero``, a pipe) stops too.
    dropna : bool
        Drop the rows with an empty or missing-value cell (empty, ``NA``, ``N/A``, ``NaN``,
        ``null``, ``None``) in a selected column, with a :class:`DataWarning` saying how many
        and on which lines. Default False: such a cell is a :class:`DataError` naming it.

    Returns
    -------
    X : ndarray of float64, shape (n, d)
    y : ndarray of float64, shape (n,)
    feature_names : list of str, length d
    target_name : str

    Raises
    ------
    DataError
        Missing or unreadable file; empty file or header only; unknown column names (the message
        lists the available ones); rows with the wrong number of cells; empty, non-numeric or
        non-finite cells in a selected column (the message names column, line number and value).
        Columns that are not selected are not parsed, so they may hold text.
    """
    fname = os.fspath(path)
    if not dropna and os.path.isfile(fname):
        if max_bytes is not None and os.path.getsize(fname) > max_bytes:
            raise DataError(_too_large(fname, max_bytes))
        fast = _read_csv_columns(fname, x, y)
        if fast is not None:
            return fast
    try:
        with open(fname, "rb") as fh:
            raw = _read_capped(fh, max_bytes)
    except FileNotFoundError:
        raise DataError(
            f"no such file: {fname!r}; check the path and the working directory."
        ) from None
    except IsADirectoryError:
        raise DataError(f"{fname!r} is a directory, not a CSV file.") from None
    except OSError as exc:
        raise DataError(f"cannot read {fname!r}: {exc.strerror or exc}.") from None
    if max_bytes is not None and len(raw) > max_bytes:
        raise DataError(_too_large(fname, max_bytes))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{fname!r} is not UTF-8 text: undecodable byte on line {line}. Save the file as "
            "UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet program)."
        ) from None
    if not text.strip():
        raise DataError(f"{fname!r} is empty; expected a header row followed by rows of numbers.")

    first_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = _sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if header is None:
                header = [c.strip().lstrip("\ufeff").strip() for c in row]
                header_line = reader.line_num
                continue
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise DataError(f"{fname!r} is not valid CSV near line {reader.line_num}: {exc}.") from None
    if header is None:  # pragma: no cover - text.strip() was non-empty
        raise DataError(f"{fname!r} is empty; expected a header row followed by rows of numbers.")

    for j, name in enumerate(header):
        if not name:
            raise DataError(
                f"{fname!r}: column {j + 1} has no name in the header (line {header_line}); "
                "give every column a name."
            )
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(
                f"{fname!r}: column name {name!r} appears more than once in the header "
                f"(line {header_line}); rename one of them."
            )
        seen.add(name)
    if not rows:
        raise DataError(
            f"{fname!r} has a header ({', '.join(map(repr, header))}) but no data rows."
        )

    x_idx, y_idx = _select(fname, header, x, y)
    available = ", ".join(map(repr, header))
    width = len(header)
    used = [*x_idx, y_idx]
    dropped: list[int] = []
    if dropna:
        kept = []
        for line, row in rows:
            if len(row) == width and any(_is_na(row[j]) for j in used):
                dropped.append(line)
            else:
                kept.append((line, row))
        rows = kept
        if not rows:
            raise DataError(
                f"{fname!r}: every row has an empty or NA cell in the selected columns; "
                "nothing is left after dropna."
            )
        if dropped:
            lines = ", ".join(map(str, dropped[:5])) + (", …" if len(dropped) > 5 else "")
            warnings.warn(
                f"{fname!r}: dropped {len(dropped)} row{_s(len(dropped))} with empty or NA "
                f"cells (line{_s(len(dropped))} {lines}); {len(rows)} rows remain.",
                DataWarning,
                stacklevel=2,
            )
    data = np.empty((len(rows), len(used)), dtype=np.float64)
    bad_finite: dict[int, list[tuple[int, str]]] = {}
    for i, (line, row) in enumerate(rows):
        if len(row) != width:
            raise DataError(
                f"{fname!r} line {line} has {len(row)} cells but the header has {width} columns "
                f"({available}). Fix that row (a missing or extra {delimiter!r} separator?)."
            )
        for k, j in enumerate(used):
            cell = row[j].strip()
            if not cell:
                raise DataError(
                    f"{fname!r}: missing value in column {header[j]!r} on line {line}. Fill it "
                    "in, delete the row, or drop such rows with --dropna (dropna=True)."
                )
            try:
                value = float(cell)
            except ValueError:
                fix = "Correct the value or delete the row."
                if delimiter != "," and "," in cell:
                    fix += " It looks like a decimal comma; use '.' as the decimal point."
                elif _is_na(cell):
                    fix = "Fill it in, or drop such rows with --dropna (dropna=True)."
                elif _DATE.match(cell):
                    others = [header[c] for c in x_idx if c != j] or ["COLUMN"]
                    fix = (
                        "It looks like a date: leave the column out by choosing the feature "
                        f"columns (--x {' --x '.join(map(shlex.quote, others[:3]))}; x=[...] in "
                        "Python), or "
                        "convert it to a number first, e.g. days since the first date "
                        "(docs/reliability.md)."
                    )
                raise DataError(
                    f"{fname!r}: column {header[j]!r} on line {line} holds {_show(cell)}, which "
                    f"is not a number. {fix}"
                ) from None
            if not math.isfinite(value):
                bad_finite.setdefault(j, []).append((line, cell))
            data[i, k] = value
    if bad_finite:
        parts = [
            f"column {header[j]!r}: {len(cells)} cell{'s' if len(cells) != 1 else ''}, first on "
            f"line {cells[0][0]} ({_show(cells[0][1])})"
            for j, cells in bad_finite.items()
        ]
        raise DataError(
            f"{fname!r} has NaN or infinite values: " + "; ".join(parts) + ". Drop those rows "
            "or impute the values before fitting (--dropna / dropna=True drops rows with NaN)."
        )
    X_out = np.ascontiguousarray(data[:, :-1])
    y_out = data[:, -1].copy()
    return X_out, y_out, [header[j] for j in x_idx], header[y_idx]


# ----------------------------------------------------------------------------------------------
# check_design
# ----------------------------------------------------------------------------------------------


def check_design(X: Any, n_params: int, feature_names: Sequence[str] | None = None) -> None:
    """Warn about a design matrix that will fit, but not meaningfully.

    Parameters
    ----------
    X : array_like, shape (n, d) or (n,)
        The raw feature columns (without an intercept column).
    n_params : int
        Number of parameters of the model that will be fitted to ``X``.
    feature_names : sequence of str, optional
        Column names used in the messages; default ``"x1" .. "xd"`` (``"x"`` when d == 1).

    Warns
    -----
    DataWarning
        For each constant feature column (it carries no information: only an intercept can fit
        it, and it makes the parameters non-identifiable), and when there are fewer rows than
        parameters (the fit is not unique).
    """
    arr = np.asarray(X)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        return
    n, d = arr.shape
    names = list(feature_names) if feature_names is not None else default_names(d)
    if n >= 2 and d:
        with np.errstate(invalid="ignore"):
            constant = np.all(arr == arr[0], axis=0)
        for j in np.flatnonzero(constant):
            name = names[j] if j < len(names) else f"x{j + 1}"
            warnings.warn(
                f"feature {name!r} is constant (every row is {float(arr[0, j])!r}): it carries no "
                "information, only the intercept can fit it, and its coefficient is not "
                "identifiable. Drop the column.",
                DataWarning,
                stacklevel=2,
            )
    if n < n_params:
        warnings.warn(
            f"only {n} row{'s' if n != 1 else ''} for {n_params} parameters: the fit is not "
            "unique (many parameter vectors fit the data equally well). Add rows or use a "
            "smaller model.",
            DataWarning,
            stacklevel=2,
        )


def check_seed(seed: Any) -> None:
    """Refuse a seed NumPy's generators cannot take, naming the value and the fix.

    Raises
    ------
    TypeError
        Not a whole number (or None).
    ValueError
        A negative whole number.
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise TypeError(f"seed must be a whole number ≥ 0 or None, got {seed!r}")
    if seed is not None and seed < 0:
        raise ValueError(
            f"seed must be a whole number ≥ 0 (NumPy's random generators take no negative "
            f"seeds), got {seed!r}; use e.g. seed={abs(int(seed))}"
        )


def check_samples(n: int, min_samples: int = 2) -> None:
    """:func:`check_fit_data`'s row count check alone (raises the same DataError)."""
    if n < min_samples:
        raise DataError(
            f"X has only {n} sample{_s(n)} (row{_s(n)}); fitting needs at least {min_samples}: "
            "one row cannot determine a slope or the scale of a feature. Add rows."
        )


def magnitude_limits(n: int) -> tuple[float, float]:
    """(tiny, huge): :func:`check_fit_data` refuses a column whose largest magnitude m has
    0 < m < tiny (squares underflow) or m > huge (a sum of n squares could overflow)."""
    tiny = math.sqrt(np.finfo(np.float64).tiny)
    huge = math.sqrt(np.finfo(np.float64).max / (16.0 * max(n, 1)))
    return tiny, huge


def check_sample_weight(sample_weight: Any, n: int) -> Array:
    """Validate sample weights for n rows: shape (n,), finite, ≥ 0, not all 0.

    Returns
    -------
    ndarray, shape (n,), float64

    Raises
    ------
    DataError
        Naming the problem (length, the first bad row and its value) and the fix.
    """
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            "sample_weight must be numbers, one per row (e.g. np.ones(n)), got "
            f"{type(sample_weight).__name__}"
        ) from None
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.shape != (n,):
        raise DataError(
            f"sample_weight has shape {w.shape} but the data have {n} rows: give one weight "
            "per row, shape (n,)"
        )
    bad = np.flatnonzero(~(np.isfinite(w) & (w >= 0.0)))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"sample_weight must be finite and ≥ 0, but row {i + 1} has {float(w[i])!r}: "
            "fix or drop that row"
        )
    if not np.any(w > 0.0):
        raise DataError("every sample_weight is 0: at least one row must count")
    return w


def check_fit_data(
    X: Array, y: Array | None = None, feature_names: Sequence[str] | None = None,
    *, min_samples: int = 2,
) -> None:  # fmt: skip
    """Refuse data that would give silently wrong numbers in a fit.

    Parameters
    ----------
    X : ndarray of float64, shape (n, d)
        Validated features (from :func:`as_arrays`).
    y : ndarray of float64, shape (n,), optional
    feature_names : sequence of str, optional
    min_samples : int
        Fewest rows accepted (2 for a fit: one row fixes no slope and scales no feature).

    Raises
    ------
    DataError
        Fewer than ``min_samples`` rows; or a column whose magnitude makes squares overflow
        (e.g. 1e200: the loss and the feature scaling would be inf) or underflow (e.g. 1e-200:
        they would be 0), since either gives wrong answers without an error. The message names
        the column and its largest value, and says to rescale it.
    """
    n, d = X.shape
    names = list(feature_names) if feature_names is not None else default_names(d)
    check_samples(n, min_samples)
    tiny, huge = magnitude_limits(n)
    columns: list[tuple[str, str, Array]] = [("X", names[j], X[:, j]) for j in range(d)]
    if y is not None:
        columns.append(("y", "y", y))
    for what, name, col in columns:
        m = float(np.max(np.abs(col))) if col.size else 0.0
        label = f"column {name!r} of X" if what == "X" else "y"
        if m > huge:
            raise DataError(
                f"{label} holds values as large as {m:.3g}: their squares overflow float64 "
                f"(max {np.finfo(np.float64).max:.3g}), so the loss and the feature scaling "
                f"would be inf. Rescale it (divide by a power of ten, e.g. {m:.0e} → "
                "1, or change its units) and fit again."
            )
        if 0.0 < m < tiny:
            raise DataError(
                f"{label} holds values no larger than {m:.3g}: their squares underflow to 0 in "
                "float64, so the loss and the feature scaling would be wrong. Rescale it "
                "(multiply by a power of ten, or change its units) and fit again."
            )
