"""Tables from files by their suffix: CSV, NumPy ``.npy``/``.npz``, Parquet and Feather.

:func:`read_table` reads the whole file into memory (use ``--dask`` for data larger than
memory). CSV goes to :func:`descend.data.tables.read_csv`; ``.npy``/``.npz`` need NumPy only;
Parquet and Feather need pyarrow (the ``parquet`` extra: ``pip install "descend[parquet]"``).

Columns: Parquet and Feather name their own; a 2-D ``.npy`` array (or the single array of an
``.npz``) has columns ``x1 … x(d−1), y`` (the last is the target); an ``.npz`` holding arrays
named ``X`` and ``y`` uses them as they are.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.names import require
from descend.data.tables import CSV_MAX_BYTES, DataError, DataWarning, as_arrays, read_csv

__all__ = ["ARROW_SUFFIXES", "NUMPY_SUFFIXES", "read_table"]

Array = NDArray[np.float64]

NUMPY_SUFFIXES = (".npy", ".npz")
ARROW_SUFFIXES = (".parquet", ".pq", ".feather", ".arrow")


def _columns_of(fname: str) -> tuple[list[str], dict[str, Any]]:
    """Column names and columns (array-likes) of a NumPy or Arrow file."""
    low = fname.lower()
    if low.endswith(NUMPY_SUFFIXES):
        try:
            loaded = np.load(fname, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise DataError(f"cannot read {fname!r} as a NumPy file: {exc}.") from None
        if low.endswith(".npz"):
            with loaded:
                keys = list(loaded.files)
                if "X" in keys and "y" in keys:
                    X = np.asarray(loaded["X"])
                    X = X.reshape(-1, 1) if X.ndim == 1 else X
                    names = [f"x{j + 1}" for j in range(X.shape[1])]
                    cols = {n: X[:, j] for j, n in enumerate(names)}
                    cols["y"] = np.asarray(loaded["y"]).reshape(-1)
                    return [*names, "y"], cols
                if len(keys) != 1:
                    raise DataError(
                        f"{fname!r} holds the arrays {keys}; descend reads an .npz with arrays "
                        "named 'X' and 'y', or a single 2-D array whose last column is y."
                    )
                loaded = np.asarray(loaded[keys[0]])
        arr = np.asarray(loaded)
        if arr.ndim != 2 or arr.shape[1] < 2:
            raise DataError(
                f"{fname!r} holds an array of shape {arr.shape}; descend reads a 2-D array "
                "(rows × columns, the last column is y) with at least two columns."
            )
        names = [f"x{j + 1}" for j in range(arr.shape[1] - 1)] + ["y"]
        return names, {n: arr[:, j] for j, n in enumerate(names)}
    pa = require("pyarrow", "parquet", f"reading {os.path.basename(fname)!r}")
    try:
        if low.endswith((".parquet", ".pq")):
            table = require("pyarrow.parquet", "parquet", "reading Parquet").read_table(fname)
        else:
            table = require("pyarrow.feather", "parquet", "reading Feather").read_table(fname)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"cannot read {fname!r}: {exc}.") from None
    names = [str(n) for n in table.column_names]
    return names, {n: table.column(i).to_numpy() for i, n in enumerate(names)}


def read_table(
    path: str | os.PathLike[str],
    x: str | Sequence[str] | None = None,
    y: str | None = None,
    *,
    max_bytes: int | None = CSV_MAX_BYTES,
    dropna: bool = False,
) -> tuple[Array, Array, list[str], str]:
    """Read numeric columns from a CSV, ``.npy``, ``.npz``, Parquet or Feather file.

    Parameters
    ----------
    path : str or os.PathLike
        The file; its suffix chooses the reader (anything not listed is read as CSV).
    x, y, max_bytes, dropna
        As in :func:`descend.data.tables.read_csv` (``max_bytes`` applies to CSV only;
        ``dropna`` drops rows with NaN in the chosen columns of the other formats).

    Returns
    -------
    X : ndarray of float64, shape (n, d)
    y : ndarray of float64, shape (n,)
    feature_names : list of str, length d
    target_name : str

    Raises
    ------
    DataError
        Missing file, unknown columns, non-numeric or non-finite values (named).
    MissingExtraError
        Parquet/Feather without pyarrow: the message gives ``pip install "descend[parquet]"``.
    """
    fname = os.fspath(path)
    if not fname.lower().endswith(NUMPY_SUFFIXES + ARROW_SUFFIXES):
        return read_csv(fname, x=x, y=y, max_bytes=max_bytes, dropna=dropna)
    if not os.path.exists(fname):
        raise DataError(f"no such file: {fname!r}; check the path and the working directory.")
    names, cols = _columns_of(fname)
    wanted = [x] if isinstance(x, str) else list(x) if x is not None else None
    available = ", ".join(map(repr, names))
    for name in [*(wanted or []), *([y] if y is not None else [])]:
        if name not in names:
            raise DataError(f"{fname!r} has no column {name!r}; available columns: {available}.")
    target = y if y is not None else [n for n in names if n not in (wanted or [])][-1]
    features = wanted if wanted is not None else [n for n in names if n != target]
    if not features or target in features:
        raise DataError(f"{fname!r}: choose distinct x and y columns (available: {available}).")
    columns = []
    for n in [*features, target]:
        try:
            columns.append(np.asarray(cols[n], dtype=np.float64))
        except (ValueError, TypeError):
            raise DataError(
                f"{fname!r}: column {n!r} is not numeric; leave it out by choosing the "
                f"columns (--x, --y; x=[...], y=... in Python). Available: {available}."
            ) from None
    frame = np.column_stack(columns)
    if dropna:
        keep = ~np.isnan(frame).any(axis=1)
        if not keep.all():
            warnings.warn(
                f"{fname!r}: dropped {int((~keep).sum())} rows with NaN cells; "
                f"{int(keep.sum())} rows remain.",
                DataWarning,
                stacklevel=2,
            )
        frame = frame[keep]
    X, yv, _ = as_arrays(frame[:, :-1], frame[:, -1], feature_names=features)
    assert yv is not None
    return X, yv, list(features), target
