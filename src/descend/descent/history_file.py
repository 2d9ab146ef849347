"""The history beside a checkpoint: an append-only file of fixed-size binary rows.

A checkpoint's state is small (θ, the optimizer state, the counters); its history grows by one
row per step. Rewriting the whole history at every save makes a run of K steps saved every N
cost O(K²/N) — 100,000 steps took three times as long with ``--checkpoint`` as without. So the
rows live in ``<checkpoint>.history`` and each save *appends* only the rows made since the last
one: O(new steps). The checkpoint, replaced atomically after the append, records how many rows
are valid and the SHA-256 of their bytes; rows beyond that (a kill between the append and the
replace) are ignored when reading and overwritten by the next save. The prefix a checkpoint
names is never rewritten by the run that wrote it.

Row layout: :func:`descend.descent.history.row_dtype` (little-endian, packed; no pickle).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np

from descend.data.encoding import decode_array, encode_array
from descend.descent.history import Recorder, row_dtype

__all__ = ["SUFFIX", "HistoryWriter", "history_path", "read_history"]

#: the history file's name is the checkpoint's with this added
SUFFIX = ".history"


def history_path(checkpoint: str) -> str:
    """Where the history of the checkpoint ``checkpoint`` lives."""
    return checkpoint + SUFFIX


def _theta0(rec: Recorder) -> dict[str, Any] | None:
    params = rec.params
    return None if params is None else encode_array(params[0])


class HistoryWriter:
    """Appends a run's history rows to ``path``; :meth:`append` returns what the checkpoint
    records about them.

    Parameters
    ----------
    path : str
        The history file (``<checkpoint>.history``).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.rows = 0
        self.dtype: np.dtype[Any] | None = None
        self._hash = hashlib.sha256()
        self._theta0: dict[str, Any] | None = None

    def _start(self, rec: Recorder, dtype: np.dtype[Any], previous: dict[str, Any] | None) -> None:
        """Continue the file the checkpoint on disk names when it is a prefix of this record
        (a resumed run), else start it afresh."""
        self.dtype, self._hash, self.rows = dtype, hashlib.sha256(), 0
        self._theta0 = _theta0(rec)
        try:
            m = int(previous["rows"]) if previous else -1
            same = (
                previous is not None
                and 0 <= m <= rec.n
                and row_dtype(
                    list(previous["norms"]), previous["n_params"], previous.get("tracked", [])
                )
                == dtype
                and previous.get("theta0") == self._theta0
                and os.path.getsize(self.path) >= m * dtype.itemsize
            )
        except (KeyError, TypeError, ValueError, OSError):
            same = False
        if same and previous is not None:
            prefix = hashlib.sha256(rec.rows_array(0, m).tobytes())
            if prefix.hexdigest() == previous.get("sha256"):
                self._hash, self.rows = prefix, m
                return
        with open(self.path, "wb"):
            pass

    def append(self, rec: Recorder, previous: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write the rows of ``rec`` not yet in the file (flushed to disk) and return the
        checkpoint's reference to them: ``{"file", "rows", "norms", "tracked", "n_params",
        "theta0", "sha256"}``.

        ``previous``: that reference in the checkpoint now on disk, if any (read once, on the
        first save of a resumed run, to append after it).
        """
        dtype = rec.row_dtype()
        n = rec.n
        if self.dtype != dtype or self.rows > n or _theta0(rec) != self._theta0:
            self._start(rec, dtype, previous)
        assert self.dtype is not None
        if n > self.rows:
            data = rec.rows_array(self.rows, n).tobytes()
            with open(self.path, "r+b") as fh:
                fh.seek(self.rows * self.dtype.itemsize)
                fh.write(data)
                fh.truncate()
                fh.flush()
                os.fsync(fh.fileno())
            self._hash.update(data)
            self.rows = n
        return {
            "file": os.path.basename(self.path),
            "rows": n,
            "norms": rec.norm_keys(),
            "tracked": rec.tracked_keys(),
            "n_params": rec.n_params,
            "theta0": self._theta0,
            "sha256": self._hash.hexdigest(),
        }


def read_history(checkpoint: str, ref: dict[str, Any]) -> Recorder:
    """The record that the checkpoint at ``checkpoint`` names (``ref``, from :meth:`append`).

    Raises
    ------
    ValueError
        The history file is missing, shorter than the checkpoint says, or its bytes do not match
        the checkpoint's SHA-256 (changed, or written by another run).
    """
    name = str(ref["file"])
    if os.path.basename(name) != name or name in ("", ".", ".."):
        raise ValueError(f"its history file name {name!r} is not a plain file name")
    path = os.path.join(os.path.dirname(os.path.abspath(checkpoint)), name)
    n_params = None if ref["n_params"] is None else int(ref["n_params"])
    dtype = row_dtype(
        [str(k) for k in ref["norms"]], n_params, [str(k) for k in ref.get("tracked", [])]
    )
    rows = int(ref["rows"])
    if rows < 0:
        raise ValueError(f"it names {rows} history rows")
    need = rows * dtype.itemsize
    try:
        with open(path, "rb") as fh:
            data = fh.read(need)
    except FileNotFoundError:
        raise ValueError(
            f"its history file {path!r} is missing: keep {name!r} beside the checkpoint (copy "
            "or move both together)"
        ) from None
    if len(data) < need:
        raise ValueError(
            f"its history file {path!r} holds {len(data) // dtype.itemsize} whole rows, the "
            f"checkpoint says {rows} (truncated)"
        )
    if hashlib.sha256(data).hexdigest() != ref["sha256"]:
        raise ValueError(
            f"its history file {path!r} does not match the checkpoint's SHA-256 (changed, or "
            "written by another run)"
        )
    theta0 = None if ref["theta0"] is None else decode_array(ref["theta0"]).astype(np.float64)
    if (theta0 is None) != (n_params is None) or (
        theta0 is not None and theta0.shape != (n_params,)
    ):
        raise ValueError("its history's θ_0 does not match its θ path")
    rec = Recorder(theta0 is not None, np.zeros(n_params or 1) if theta0 is None else theta0)
    rec.load_rows(np.frombuffer(data, dtype=dtype, count=rows), theta0)
    return rec
