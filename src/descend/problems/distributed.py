"""Dask: fit data larger than memory, or spread over a cluster (the ``dask`` extra).

``ds.fit`` hands a Dask array to :func:`fit_dask`. Every pass over the data is a chunked
reduction — each task reads one chunk of rows, reduces it to a few numbers of size O(p²),
and drops it — so a data set far larger than any worker's memory streams through:

- **least squares, full batch**: one pass builds the sufficient statistics
  (:func:`moments_dask`: :func:`descend.problems.stats.raw_scatter` or
  :func:`~descend.problems.stats.block_scatter` per chunk, summed — the compiled kernels of
  :mod:`descend.problems.fused` in the workers that opted in, see :func:`prepare_kernels`);
  then every step is O(p²) on the client, exactly as in memory
  (:class:`descend.problems.stats.QuadraticStats`);
- **other losses, full batch**: each step is one reduction of per-chunk (loss, gradient) sums;
- **mini-batches** sample chunks: each epoch visits the chunks in a random order, loads one
  at a time and takes shuffled mini-batches from its rows.

Runs on Dask's default scheduler, on an active ``dask.distributed`` ``Client`` (e.g.
``Client(LocalCluster(...))``) or on a scheduler address (``scheduler="tcp://host:8786"``).
Dask is imported only when this module is used.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.samplers import ChunkSampler
from descend.problems import blas
from descend.problems import fused as _fused
from descend.problems.losses import Loss, get_loss
from descend.problems.objective import Objective
from descend.problems.stats import (
    PROBE_ROWS,
    Moments,
    QuadraticStats,
    block_scatter,
    probe_ok,
    ratio_ok,
    raw_scatter,
)

Array = NDArray[np.float64]

__all__ = [
    "load", "connect", "dask_objective", "is_dask", "DaskObjective", "moments_dask",
    "prepare_kernels",
]  # fmt: skip


def _da() -> Any:
    try:
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Dask support needs the dask extra: pip install 'descend[dask]'") from exc
    return da


# ---------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------
#: The default size of one Parquet partition (uncompressed bytes): consecutive row groups of a
#: file are read together up to this size. A worker thread peaks at about 250 MB + 5 × the
#: partition (benchmarks/dask_cluster.py), so 32 MB stays near 400 MB.
BLOCKSIZE = 32_000_000


def load(
    path: str | Path, y: str | int | None = None, *, blocksize: int = BLOCKSIZE
) -> tuple[Any, Any, list[str]]:
    """Open a chunked data set lazily: ``(X, y, feature_names)`` as Dask arrays.

    Only headers and Parquet footers are read here; every chunk is read by the task that needs
    it (on a worker when a ``distributed`` Client is active), checked for NaN and inf, and
    dropped after its reduction.

    Parameters
    ----------
    path : str or Path
        - a directory of ``.npy`` files (sorted by name), each a 2-D block of rows with the
          same number of columns: one chunk per file;
        - a Parquet file or a directory of Parquet files (sorted by name) with the same
          numeric columns: one chunk per run of consecutive row groups of one file, up to
          ``blocksize`` bytes (a row group is never split: write files with row groups that
          fit a worker several times over);
        - a Zarr store (``.zarr``): a group with arrays ``X`` and ``y``, or one 2-D array.
    y : str or int, optional
        The target column (name for Parquet, index otherwise); default the last column.
    blocksize : int
        Parquet: the largest partition, in uncompressed bytes, that row groups are merged up to.

    Returns
    -------
    X : dask.array.Array, shape (n, d)
    y : dask.array.Array, shape (n,)
    feature_names : list of str

    Raises
    ------
    ValueError
        One line naming the file (and column, and row for values): an unreadable or truncated
        file, a column missing from one file, a non-numeric column, chunks of different widths,
        NaN or inf (raised by the pass that reads the chunk).
    """
    da = _da()
    p = Path(path)
    if p.is_dir() and sorted(p.glob("*.npy")):
        return _load_npy(sorted(p.glob("*.npy")), y)
    if p.suffix == ".zarr" or (p / ".zgroup").exists() or (p / "zarr.json").exists():
        try:
            import zarr
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("Zarr stores need zarr: pip install 'descend[dask]'") from exc

        root = zarr.open(str(p), mode="r")
        if isinstance(root, zarr.Group) and {"X", "y"} <= set(root.keys()):
            X = da.from_zarr(str(p), component="X")
            Y = da.from_zarr(str(p), component="y")
            return X, Y, [f"x{j + 1}" for j in range(X.shape[1])]
        return _split(da.from_zarr(str(p)), y, None)
    if p.suffix == ".parquet" or (p.is_dir() and sorted(p.glob("*.parquet"))):
        files = [p] if p.is_file() else sorted(p.glob("*.parquet"))
        return _load_parquet(files, y, blocksize)
    if not p.exists():
        raise FileNotFoundError(f"no such file or directory: {path!s}")
    raise ValueError(
        f"cannot load {path!s}: give a directory of .npy chunks, a Parquet file/directory or a "
        "Zarr store"
    )


def _check_finite(block: Array, where: str, names: list[str], first_row: int) -> None:
    """Raise one line naming the chunk, the row and the column of the first NaN or inf."""
    bad = ~np.isfinite(block)
    if bad.any():
        r, c = (int(i[0]) for i in np.nonzero(bad))
        raise ValueError(
            f"{where}, row {first_row + r}: column {names[c]!r} is {block[r, c]}; drop or "
            "impute the rows with NaN or inf first"
        )


def _read_npy(f: str, names: list[str]) -> Array:
    """One .npy chunk as float64, checked for NaN and inf (runs in a task)."""
    try:
        block = np.asarray(np.load(f), dtype=np.float64)
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{f}: cannot read this .npy chunk ({exc}); re-write it") from None
    _check_finite(block, f, names, 0)
    return block


def _load_npy(files: list[Path], y: Any) -> tuple[Any, Any, list[str]]:
    import dask

    da = _da()
    parts, width = [], None
    for f in files:
        try:
            mm = np.load(f, mmap_mode="r")  # header only: shape and dtype
        except (OSError, ValueError, EOFError) as exc:
            raise ValueError(f"{f}: not a readable .npy file ({exc}); re-write it") from None
        if mm.ndim != 2:
            raise ValueError(f"{f} holds a {mm.ndim}-D array; each chunk must be 2-D")
        if width is None:
            width = mm.shape[1]
        elif mm.shape[1] != width:
            raise ValueError(
                f"{f} has {mm.shape[1]} columns but {files[0]} has {width}: every chunk needs "
                "the same columns"
            )
        if not (np.issubdtype(mm.dtype, np.number) or mm.dtype == np.bool_):
            raise ValueError(f"{f} holds {mm.dtype} values; chunks must be numeric")
        names = [f"column {j}" for j in range(mm.shape[1])]
        read = dask.delayed(_read_npy, pure=True)(str(f), names)
        parts.append(da.from_delayed(read, shape=mm.shape, dtype=np.float64))
    data = da.concatenate(parts, axis=0)
    return _split(data, y, None)


def _read_parquet(f: str, groups: list[int], columns: list[str], first_row: int) -> Array:
    """Row groups ``groups`` of one Parquet file: columns in order, float64 (runs in a task)."""
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(f).read_row_groups(groups, columns=columns)
    except Exception as exc:  # noqa: BLE001 - any reader error is a bad file
        raise ValueError(f"{f}: cannot read row groups {groups} ({exc}); re-write it") from None
    block = np.empty((table.num_rows, len(columns)), dtype=np.float64)
    for j, c in enumerate(columns):
        block[:, j] = table.column(c).to_numpy(zero_copy_only=False)
    _check_finite(block, f, columns, first_row)
    return block


def _load_parquet(files: list[Path], y: Any, blocksize: int) -> tuple[Any, Any, list[str]]:
    import dask
    import pyarrow as pa
    import pyarrow.parquet as pq

    da = _da()
    cols: list[str] | None = None
    parts = []
    for f in files:
        try:
            meta = pq.ParquetFile(f).metadata  # the footer only
        except Exception as exc:  # noqa: BLE001 - truncated or not Parquet at all
            raise ValueError(f"{f}: not a readable Parquet file ({exc}); re-write it") from None
        schema = meta.schema.to_arrow_schema()
        names = [n for n in schema.names if not n.startswith("__index_level_")]
        if cols is None:
            cols = names
            target = cols[-1] if y is None else (cols[y] if isinstance(y, int) else y)
            if target not in cols:
                raise ValueError(f"no column {target!r} in {f}; columns: {', '.join(cols)}")
            order = [c for c in cols if c != target] + [target]
        missing = [c for c in order if c not in names]
        if missing:
            raise ValueError(
                f"{f} has no column {missing[0]!r} (its columns: {', '.join(names)}); every "
                "file needs the same columns"
            )
        for c in order:
            t = schema.field(c).type
            if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)):
                raise ValueError(
                    f"{f}: column {c!r} holds {t} values; descend fits numeric columns only "
                    "(encode or drop it)"
                )
        row = 0
        groups: list[int] = []
        rows = size = 0
        for g in range(meta.num_row_groups):
            rg = meta.row_group(g)
            groups.append(g)
            rows += rg.num_rows
            size += rg.total_byte_size
            if size >= blocksize or g == meta.num_row_groups - 1:
                if rows:
                    read = dask.delayed(_read_parquet, pure=True)(str(f), groups, order, row)
                    parts.append(da.from_delayed(read, shape=(rows, len(order)), dtype=float))
                row += rows
                groups, rows, size = [], 0, 0
    if not parts:
        raise ValueError(f"{files[0]}: no rows")
    data = da.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
    d = data.shape[1] - 1
    return data[:, :d], data[:, d], [str(c) for c in order[:d]]


def _split(data: Any, y: Any, names: list[str] | None) -> tuple[Any, Any, list[str]]:
    """Target column j and the others, by plain slices (no shuffle tasks in the graph)."""
    da = _da()
    d = data.shape[1]
    j = d - 1 if y is None else int(y) % d
    pieces = [data[:, :j]] if j > 0 else []
    if j < d - 1:
        pieces.append(data[:, j + 1 :])
    X = pieces[0] if len(pieces) == 1 else da.concatenate(pieces, axis=1)
    names = names or [f"x{c + 1}" for c in range(d) if c != j]
    return X.astype(np.float64), data[:, j].astype(np.float64), names


# ---------------------------------------------------------------------------------------------
# chunked reductions
# ---------------------------------------------------------------------------------------------
def _align(X: Any, y: Any) -> tuple[Any, Any]:
    da = _da()
    if X.ndim == 1:
        X = X[:, None]
    X = X.rechunk({1: -1}).astype(np.float64)
    y = da.asarray(y).astype(np.float64).rechunk((X.chunks[0],))
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]} values")
    return X, y


def _compute(*values: Any) -> Any:
    import dask

    return dask.compute(*values)


#: ``progress(done, total)``: ``done`` of the ``total`` chunks of a pass have been read
ChunkProgress = Callable[[int, int], None]


def _compute_chunks(parts: list[Any], *, progress: ChunkProgress | None = None) -> list[Any]:
    """Compute one delayed value per chunk; with ``progress``, call ``progress(done, total)``
    as each chunk finishes (on the workers when a ``distributed`` Client is active: counted
    here as their results arrive), starting with ``(0, total)``."""
    import dask

    if progress is None:
        return list(dask.compute(parts)[0])
    total = len(parts)
    progress(0, total)
    try:
        from distributed import as_completed, get_client

        client = get_client()
    except (ImportError, ValueError):
        client = None
    if client is not None:
        futures = client.compute(parts)
        for done, _ in enumerate(as_completed(futures), start=1):
            progress(done, total)
        return list(client.gather(futures))
    from dask.callbacks import Callback

    keys = {p.key for p in parts}
    count = [0]

    def finished(key: Any, *_: Any) -> None:
        if key in keys:
            count[0] += 1
            progress(count[0], total)

    with Callback(posttask=finished):
        return list(dask.compute(parts)[0])


def _blocks(X: Any, y: Any) -> list[Any]:
    """Each chunk of ``[X, y]`` as one delayed block, shape (rows, d + 1), from one optimised
    graph: X's and y's columns come from the same read task (delayed chunks of X and of y
    made separately would each read the chunk), and every graph sent to a scheduler is
    optimised alike, so a chunk's key always names the same task."""
    da = _da()
    both = da.concatenate([X, y[:, None]], axis=1).rechunk({1: -1})
    return list(both.to_delayed().ravel())


def _chunk_scatter(
    xb: Array,
    yb: Array,
    x0: Array,
    y0: float,
    chunk: int,
    fingerprint: bool = True,
    raw: bool = False,
    large: bool = False,
) -> tuple[Array, str | None]:
    """One chunk's scatter matrix and, with ``fingerprint``, the SHA-256 of its float64 X and y.

    ``raw``: the sums for the shift (0, y₀) read in place (:func:`~descend.problems.stats.
    raw_scatter`: the compiled kernels of :mod:`descend.problems.fused` when ``large`` — the
    whole X has at least :data:`fused.MIN_ENTRIES <descend.problems.fused.MIN_ENTRIES>`
    entries, the in-memory rule — and the process running this task has opted in
    (:func:`fused.enabled <descend.problems.fused.enabled>`, decided here, on the worker),
    else two BLAS calls per row block); otherwise shifted by (x₀, y₀)
    (:func:`~descend.problems.stats.block_scatter`, each block copied and shifted first).

    NaN and inf: any one in the chunk makes the scatter matrix non-finite (its diagonal holds
    the sum of squares of every column of X and of y, shifted or not), so the rows are
    searched — for the one-line error naming row and column — only then, not on every chunk.
    Finite data whose sums overflow pass the search and come back non-finite (the caller
    falls back to the shifted sums, then reports the overflow).
    """
    xb = np.asarray(xb, dtype=np.float64)
    yb = np.asarray(yb, dtype=np.float64).reshape(-1)
    with np.errstate(all="ignore"):
        if raw:
            S = raw_scatter(xb, yb, y0, workers=1, fused=large and _fused.enabled())
        else:
            S = block_scatter(xb, yb, x0, y0)
    if not np.isfinite(S).all():
        _check_finite(xb, f"chunk {chunk} of X", [f"x{j + 1}" for j in range(xb.shape[1])], 0)
        _check_finite(yb[:, None], f"chunk {chunk} of y", ["y"], 0)
    if not fingerprint:
        return S, None
    h = hashlib.sha256()
    for a in (xb, yb):
        a = np.ascontiguousarray(a, dtype="<f8")
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return S, h.hexdigest()


def _accept_raw(S: Array, x0: Array, y0: float) -> Moments | None:
    """The raw sums as :class:`Moments` when the in-memory rule accepts them (finite, and
    every column's r² = 1 + μ²/σ² ≤ RAW_RATIO, as :func:`descend.problems.stats.moments`
    checks); None: the shifted pass is needed."""
    if not bool(np.all(np.isfinite(S))):
        return None
    d = S.shape[0] - 2
    n = S[d + 1, d + 1]
    mom = Moments.from_scatter(S, np.zeros(d), y0)
    sq = np.diag(S)[: d + 1] / n
    mean = np.append(mom.mean, mom.ymean - y0)
    var = np.append(np.diag(mom.Sxx), mom.syy) / n
    return replace(mom, x0=x0) if ratio_ok(sq, mean, var) else None


def moments_dask(
    X: Any, y: Any, *, progress: ChunkProgress | None = None, fingerprint: bool = True
) -> tuple[Moments, str | None]:
    """:class:`~descend.problems.stats.Moments` of Dask arrays and the data's fingerprint.

    One chunked pass, the scatter matrices summed on the way, with the in-memory route
    (:func:`descend.problems.stats.moments`): the first rows (probed by a task of the pass's
    graph, which shares the first chunk's read) decide
    whether each chunk's raw sums are read in place, and the finished sums are checked as in
    memory; when they fail the check (a column whose mean dwarfs its spread, or sums that
    overflow) a second pass makes the sums shifted by the first row. A chunk's raw sums are
    made by the compiled kernels (:mod:`descend.problems.fused`) where the process that runs
    the task has opted in — the workers, after :func:`prepare_kernels` or with
    ``DESCEND_NUMBA=1`` in their environment; this process on the local schedulers — and X
    has at least :data:`fused.MIN_ENTRIES <descend.problems.fused.MIN_ENTRIES>` entries; by
    BLAS otherwise: the same sums to rounding, checked by the same rule, and bitwise the same
    for every scheduler and number of workers (each chunk's sums depend only on its values,
    and they are added here in chunk order). With ``fingerprint``,
    one SHA-256 per chunk is computed where the chunk is read (on the workers), combined with
    the chunk sizes here (None without: hashing costs more than the sums, and only a
    checkpoint needs it). ``progress(done, total)`` is called as chunks finish (counting again
    from 0 for a second pass).
    """
    X, y = _align(X, y)
    n = X.shape[0]
    head, yhead = _compute(X[:PROBE_ROWS], y[:PROBE_ROWS])
    head, yhead = np.asarray(head, dtype=np.float64), np.asarray(yhead, dtype=np.float64)
    x0, y0 = head[0].copy(), float(yhead[0])
    with np.errstate(all="ignore"):
        raw = n > PROBE_ROWS and probe_ok(head, yhead, y0)
    large = X.size >= _fused.MIN_ENTRIES  # the kernels' size rule, for the whole X

    def one_pass(raw: bool, fingerprint: bool) -> list[tuple[Array, str | None]]:
        def block(xb: Array, yb: Array, block_info: Any = None) -> NDArray[np.object_]:
            out = np.empty((1, 1), dtype=object)
            i = int(block_info[0]["chunk-location"][0]) if block_info else 0
            out[0, 0] = _chunk_scatter(xb, yb, x0, y0, i, fingerprint, raw, large)
            return out

        # one task per chunk, X's and y's blocks as they are (no copy): a blockwise graph,
        # optimised like every other graph sent to the scheduler (a chunk's key always names
        # the same task), in which a task that reads the chunk feeds both
        res = _da().map_blocks(block, X, y[:, None], dtype=object,
                               chunks=((1,) * X.numblocks[0], (1,)),
                               meta=np.empty((0, 0), dtype=object))  # fmt: skip
        parts = list(res.to_delayed().ravel())
        # one BLAS thread per call for the whole pass, limited here, where the pass runs: the
        # chunks' own limits (raw_scatter's) then only join it. Limited from the threaded
        # scheduler's threads alone they can be ignored (threadpoolctl lets only the thread
        # that first limited OpenBLAS change it), and two threaded BLAS calls at once made the
        # pass several times slower (benchmarks/dask_cluster.py, default threads)
        with blas.one_blas_thread():
            return [p[0, 0] for p in _compute_chunks(parts, progress=progress)]  # small

    done = one_pass(raw, fingerprint)
    S = np.asarray(_add(*[np.asarray(p[0]) for p in done]))
    moments = _accept_raw(S, x0, y0) if raw else None
    if moments is None:
        shifted = one_pass(False, False) if raw else done
        S = np.asarray(_add(*[np.asarray(p[0]) for p in shifted]))
        moments = Moments.from_scatter(S, x0, y0)
    if not fingerprint:
        return moments, None
    h = hashlib.sha256(repr((X.shape, X.chunks[0])).encode())
    for p in done:
        assert p[1] is not None
        h.update(p[1].encode())
    return moments, h.hexdigest()


def _tree_sum(parts: list[Any]) -> Any:
    import dask

    add = dask.delayed(_add)
    while len(parts) > 1:
        parts = [add(*parts[i : i + 8]) for i in range(0, len(parts), 8)]
    return parts[0]


def _add(*xs: Any) -> Any:
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


def _chunk_value_grad(
    zb: Array, theta: Array, model: Any, loss: Loss, want_grad: bool
) -> tuple[float, Array | None]:
    """Sums over one chunk ``[X, y]``: (Σ ℓ, Σ ∂ℓ/∂θ) on the scaled rows (mean × rows)."""
    xb, yb = zb[:, :-1], zb[:, -1]
    Z = model.scaler.transform(xb) if model.scale else np.asarray(xb, dtype=np.float64)
    yhat = model.forward(theta, Z)
    m = xb.shape[0]
    if not want_grad:
        return float(loss.value(yb, yhat)) * m, None
    val, g = loss.value_and_grad(yb, yhat)
    return float(val) * m, model.vjp(theta, Z, g) * m


class DaskObjective(Objective):
    """L(θ) of a linear model over Dask arrays, every pass a chunked reduction.

    Attributes mirror :class:`descend.problems.objective.DataObjective` where they can: ``model``,
    ``loss``, ``y`` (a Dask array), ``n_samples``, ``n_params``, ``moments``, ``quad``.
    """

    has_statistics = True
    refinement_pays = False  # refinement needs the rows in memory
    owns_batches = True
    n_samples: int

    def __init__(self, model: Any, loss: Loss, X: Any, y: Any, moments: Moments) -> None:
        self.model = model
        self.loss = loss
        self.X, self.y = X, y
        self.moments = moments
        self.n_samples = moments.n
        self.n_params = int(model.n_params)
        self.name = f"{loss.spec()} of {model.spec()} (dask)"
        sc = model.scaler
        self._gram = QuadraticStats.build(moments, sc.mean, sc.scale, bool(model.intercept))
        self.quad: QuadraticStats | None = self._gram if loss.is_least_squares else None
        self._chunk_cache: tuple[int, Array, Array] | None = None

    @property
    def is_linear_least_squares(self) -> bool:  # type: ignore[override]
        return bool(self.loss.is_least_squares)

    @property
    def target_scale(self) -> float:  # type: ignore[override]
        """std(y) from the one-pass statistics."""
        return math.sqrt(self.moments.syy / self.moments.n)

    def gram(self) -> Array:
        """(1/n)·AᵀA from the one-pass statistics."""
        return self._gram.G.copy()

    @property
    def exact_hvp(self) -> bool:  # type: ignore[override]
        """Exact for least squares (2·G·v from the statistics); a difference otherwise."""
        return self.quad is not None

    def hvp(self, theta: Array, v: Array) -> Array:
        if self.quad is not None:
            return np.asarray(2.0 * (self.quad.G @ v))
        return super().hvp(theta, v)

    def _reduce(self, theta: Array, want_grad: bool, loss: Loss | None = None) -> Any:
        import dask

        f = dask.delayed(_chunk_value_grad, nout=2)
        parts = [f(zb, theta, self.model, loss or self.loss, want_grad)
                 for zb in _blocks(self.X, self.y)]  # fmt: skip
        vals = _tree_sum([p[0] for p in parts])
        if not want_grad:
            (v,) = _compute(vals)
            return float(v) / self.n_samples, None
        v, g = _compute(vals, _tree_sum([p[1] for p in parts]))
        return float(v) / self.n_samples, np.asarray(g) / self.n_samples

    def smoothed(self, delta: float) -> DaskObjective:
        """The same chunks and statistics with the loss smoothed within ``delta``."""
        twin = copy.copy(self)
        twin.loss = self.loss.smoothed(delta)
        twin.name = f"{twin.loss.spec()} of {self.model.spec()} (dask)"
        return twin

    def value_and_grad(self, theta: Array, rows: Any = None) -> tuple[float, Array]:
        theta = np.asarray(theta, dtype=np.float64)
        if rows is None:
            if self.quad is not None:
                return self.quad.value_and_grad(theta)
            v, g = self._reduce(theta, True)
            return v, g
        Z, yb = self._batch(rows)
        yhat = self.model.forward(theta, Z)
        val, g = self.loss.value_and_grad(yb, yhat)
        return float(val), self.model.vjp(theta, Z, g)

    def value(self, theta: Array, rows: Any = None) -> float:
        theta = np.asarray(theta, dtype=np.float64)
        if rows is None:
            if self.quad is not None:
                return self.quad.value(theta)
            return float(self._reduce(theta, False)[0])
        return self.value_and_grad(theta, rows)[0]

    # -- mini-batches that sample chunks ----------------------------------------------------
    def _batch(self, rows: tuple[int, Any]) -> tuple[Array, Array]:
        chunk, idx = rows
        if self._chunk_cache is None or self._chunk_cache[0] != chunk:
            xb, yb = _compute(self.X.blocks[chunk], self.y.blocks[chunk])
            self._chunk_cache = (chunk, np.asarray(xb, dtype=np.float64), np.asarray(yb))
        _, xb, yb = self._chunk_cache
        Z = self.model.scaler.transform(xb[idx]) if self.model.scale else xb[idx]
        return Z, yb[idx]

    def batches(self, batch_size: int, rng: np.random.Generator) -> ChunkSampler:
        """Epochs of (chunk, rows): chunks in a random order, shuffled batches within each."""
        return ChunkSampler(self.X.chunks[0], batch_size, rng)

    def reference(self) -> Any:
        """The least-squares answer from the statistics (exact L* pass when 1 − R² is tiny)."""
        if self.quad is None:
            return None
        from descend.problems.reference import Reference

        q = self.quad
        method = "stats"
        if q.needs_exact_minimum:
            q = q.with_minimum(self._reduce(q.theta_star, False, get_loss("mse"))[0])
            method = "stats+exact"
        self.quad = q
        b, coef = self.model.to_original(q.theta_star)
        return Reference(q.theta_star.copy(), q.loss_star, b, coef, method)


# ---------------------------------------------------------------------------------------------
# the objective, built from Dask arrays
# ---------------------------------------------------------------------------------------------
def is_dask(X: Any) -> bool:
    """True for a Dask collection (checked by module, so Dask is never imported for this)."""
    return type(X).__module__.split(".")[0] == "dask"


#: Seconds :func:`connect` waits for a scheduler before giving up.
CONNECT_TIMEOUT = 5.0


@contextlib.contextmanager
def connect(
    scheduler: Any, *, timeout: float = CONNECT_TIMEOUT, announce: Any = None
) -> Iterator[None]:
    """Run the block on ``scheduler``: an address string connects a Client for its duration;
    None keeps the active Client (or Dask's default scheduler).

    Parameters
    ----------
    scheduler : str, Client or None
    timeout : float
        Seconds to wait for the scheduler at an address.
    announce : callable, optional
        Called with one line (the dashboard link) once a Client is connected.

    Raises
    ------
    ValueError
        The scheduler did not answer within ``timeout`` seconds (one line, with the address).
    """
    if not isinstance(scheduler, str):
        yield
        return
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("a scheduler address needs dask.distributed: pip install "
                          "'descend[dask]'") from exc  # fmt: skip
    try:
        client = Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ValueError(
            f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s "
            f"({type(exc).__name__}): check the address, that 'dask scheduler' runs there, "
            "or raise --connect-timeout"
        ) from None
    with client:
        _check_workers(client, scheduler, timeout)
        if announce is not None:
            announce(f"Dask dashboard: {client.dashboard_link}")
        yield


def _check_workers(client: Any, scheduler: str, timeout: float) -> None:
    """Refuse a cluster that would leave a fit waiting forever: no worker within ``timeout``
    seconds, or a worker that cannot import descend (it closes on the first task it cannot
    unpickle, and the tasks wait for workers that never come)."""
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        raise ValueError(
            f"the Dask scheduler at {scheduler} has no workers (waited {timeout:g} s): start "
            f"some with 'dask worker {scheduler}', or raise --connect-timeout"
        ) from None
    # the import itself, by a builtin (which unpickles on a worker without descend): a missing
    # or broken descend comes back as that worker's exception, not as a spec that exists
    found = client.run(exec, "import descend", on_error="return")  # {address: None or error}
    names = {a: str(w.get("name", a)) for a, w in client.scheduler_info()["workers"].items()}
    bare = sorted(names.get(a, a) for a, r in found.items() if isinstance(r, BaseException))
    if bare:
        raise ValueError(
            f"the Dask workers {', '.join(bare)} cannot import descend: install descend (the "
            "same version) in the workers' Python environment, or set their PYTHONPATH"
        )


#: the name of :func:`prepare_kernels`' worker plugin (registering it again replaces nothing)
KERNEL_PLUGIN = "descend-fused-kernels"


def prepare_kernels(client: Any = None) -> dict[str, bool]:
    """Opt the processes that run a Dask fit's chunks in to the compiled statistics kernels.

    The least-squares statistics pass makes each chunk's sums with the kernels of
    :mod:`descend.problems.fused` (Numba: one read of each row for every sum, 1.5–2× faster
    than the BLAS route at 10 columns) wherever the process that runs the task has opted in —
    like the in-memory pass, opt-in per process, because importing Numba costs a fresh
    process about a second (see :mod:`descend.problems.fused`). With a ``distributed`` Client
    (``client``, or the active one) this registers a worker plugin that calls
    :func:`fused.prepare <descend.problems.fused.prepare>` on every worker now and on every
    worker that joins or restarts later; without one (the threaded or synchronous scheduler:
    the chunks run in this process) it calls it here. The other way to opt workers in is
    ``DESCEND_NUMBA=1`` in their environment (``dask worker``'s shell, or the environment of
    the process that starts a ``LocalCluster``): each worker then loads the kernels on its
    first large chunk. ``DESCEND_NUMBA=0`` in a worker's environment keeps it on BLAS.

    Parameters
    ----------
    client : distributed.Client, optional
        Default: the active Client, if any.

    Returns
    -------
    dict of str to bool
        Per worker address (``{"local": …}`` without a Client): whether that process now uses
        the kernels (False where Numba is missing or does not import — that worker warns and
        uses BLAS — or where ``DESCEND_NUMBA=0``). The fits give the same results either way,
        to rounding.
    """
    if client is None:
        try:
            from distributed import get_client

            client = get_client()
        except (ImportError, ValueError):  # no distributed, or no active Client
            _fused.prepare()
            return {"local": _fused.enabled()}
    from distributed.diagnostics.plugin import WorkerPlugin

    class Kernels(WorkerPlugin):
        """Load the kernels in every worker, now and as workers join or restart."""

        idempotent = True
        name = KERNEL_PLUGIN

        def setup(self, worker: Any) -> None:
            _fused.prepare()

    client.register_plugin(Kernels(), name=KERNEL_PLUGIN)
    return {str(a): bool(v) for a, v in client.run(_fused.enabled).items()}


def _target_checker(loss: Loss) -> Any:
    """A block function that runs ``loss.check_targets`` on a chunk of y, rows numbered in all
    of y (the chunk's offset from Dask's ``block_info``), and returns the chunk."""

    def check(block: Array, block_info: Any = None) -> Array:
        first = block_info[0]["array-location"][0][0] if block_info else 0
        loss.check_targets(np.asarray(block), int(first))
        return block

    return check


def dask_objective(
    X: Any,
    y: Any,
    model: Any,
    loss: Any,
    *,
    feature_names: list[str] | None = None,
    progress: ChunkProgress | None = None,
    fingerprint: bool = True,
) -> DaskObjective:
    """Bind a linear model to Dask arrays from one pass of statistics and build its objective.

    Parameters
    ----------
    X, y : dask.array.Array (y may also be a NumPy array)
    model : Model
        :class:`~descend.problems.models.Linear` only (the statistics are those of X's columns).
    loss : Loss
    progress : callable, optional
        ``progress(done, total)``, called as the chunks of the statistics pass (the pass that
        reads the data) finish; the steps are the caller's to show (``callback``).
    fingerprint : bool
        Hash every chunk in the statistics pass (``data_fingerprint``, what a checkpoint
        records and a resume checks); False leaves it None and saves the hashing.
    """
    if not model.is_linear or model.expands_features:
        raise NotImplementedError(
            f"Dask fits support the linear model, not {model.spec()}; expand polynomial features "
            "into columns first (e.g. with dask.array.map_blocks) and fit 'linear'"
        )
    Xd, yd = _align(X, y)
    if loss.checks_targets:  # the loss's own check, chunk by chunk (one pass over y)
        _compute(yd.map_blocks(_target_checker(loss), dtype=np.float64).sum())
    mom, digest = moments_dask(Xd, yd, progress=progress, fingerprint=fingerprint)
    if not mom.finite:
        raise ValueError("the sums of X and y overflow float64: rescale the columns first")
    bound = model.bind_features(np.zeros((1, Xd.shape[1])), feature_names=feature_names)
    bound.set_scaling(mom.mean, mom.std, mom.rms)
    bound.bind_target_mean(mom.ymean)  # start the intercept at ȳ, as in memory
    obj = DaskObjective(bound, loss, Xd, yd, mom)
    obj.data_fingerprint = digest
    return obj
