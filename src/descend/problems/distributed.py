"""Dask: fit data larger than memory, or spread over a cluster (the ``dask`` extra).

``ds.fit`` hands a Dask array to :func:`fit_dask`. Every pass over the data is a chunked
reduction — each task reads one chunk of rows, reduces it to a few numbers of size O(p²),
and drops it — so a data set far larger than any worker's memory streams through:

- **least squares, full batch**: one pass builds the sufficient statistics
  (:func:`descend.problems.stats.block_scatter` per chunk, summed); then every step is O(p²) on the
  client, exactly as in memory (:class:`descend.problems.stats.QuadraticStats`);
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
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.problems.losses import Loss, get_loss
from descend.problems.objective import Objective
from descend.problems.stats import Moments, QuadraticStats, block_scatter

Array = NDArray[np.float64]

__all__ = ["load", "connect", "dask_objective", "is_dask", "DaskObjective", "moments_dask"]


def _da() -> Any:
    try:
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Dask support needs the dask extra: pip install 'descend[dask]'") from exc
    return da


# ---------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------
def load(path: str | Path, y: str | int | None = None) -> tuple[Any, Any, list[str]]:
    """Open a chunked data set lazily: ``(X, y, feature_names)`` as Dask arrays.

    Parameters
    ----------
    path : str or Path
        - a directory of ``.npy`` files (sorted by name), each a 2-D block of rows: one chunk
          per file, read only when a task needs it;
        - a Parquet file or directory (``dask.dataframe.read_parquet``);
        - a Zarr store (``.zarr``): a group with arrays ``X`` and ``y``, or one 2-D array.
    y : str or int, optional
        The target column (name for Parquet, index otherwise); default the last column.

    Returns
    -------
    X : dask.array.Array, shape (n, d)
    y : dask.array.Array, shape (n,)
    feature_names : list of str
    """
    da = _da()
    p = Path(path)
    if p.is_dir() and sorted(p.glob("*.npy")):
        import dask

        files = sorted(p.glob("*.npy"))
        parts = []
        for f in files:
            mm = np.load(f, mmap_mode="r")  # header only: shape and dtype
            if mm.ndim != 2:
                raise ValueError(f"{f} holds a {mm.ndim}-D array; each chunk must be 2-D")
            parts.append(da.from_delayed(dask.delayed(np.load)(f), shape=mm.shape, dtype=mm.dtype))
        data = da.concatenate(parts, axis=0)
        return _split(data, y, None)
    if p.suffix == ".zarr" or (p / ".zgroup").exists() or (p / "zarr.json").exists():
        import zarr

        root = zarr.open(str(p), mode="r")
        if hasattr(root, "keys") and {"X", "y"} <= set(root.keys()):
            X = da.from_zarr(str(p), component="X")
            Y = da.from_zarr(str(p), component="y")
            return X, Y, [f"x{j + 1}" for j in range(X.shape[1])]
        return _split(da.from_zarr(str(p)), y, None)
    if p.suffix == ".parquet" or (p.is_dir() and sorted(p.glob("*.parquet"))):
        import dask.dataframe as dd

        df = dd.read_parquet(str(p))
        cols = list(df.columns)
        target = cols[-1] if y is None else (cols[y] if isinstance(y, int) else y)
        if target not in cols:
            raise ValueError(f"no column {target!r} in {p}; columns: {', '.join(cols)}")
        xcols = [c for c in cols if c != target]
        X = df[xcols].to_dask_array(lengths=True).astype(np.float64)
        Y = df[target].to_dask_array(lengths=True).astype(np.float64)
        return X, Y, [str(c) for c in xcols]
    raise ValueError(
        f"cannot load {path!s}: give a directory of .npy chunks, a Parquet file/directory or a "
        "Zarr store"
    )


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


def _compute(*values: Any, progress: bool = False) -> Any:
    import dask

    ctx: Any = contextlib.nullcontext()
    if progress:
        try:
            from distributed import get_client

            get_client()
            from distributed import progress as dprogress

            futures = dask.persist(*values)
            dprogress(futures)
            return dask.compute(*futures)
        except (ImportError, ValueError):
            from dask.diagnostics import ProgressBar

            ctx = ProgressBar()
    with ctx:
        return dask.compute(*values)


def _pairs(X: Any, y: Any) -> list[tuple[Any, Any]]:
    return list(zip(X.to_delayed().ravel(), y.to_delayed().ravel(), strict=True))


def moments_dask(X: Any, y: Any, *, progress: bool = False) -> Moments:
    """:class:`~descend.problems.stats.Moments` of Dask arrays: one chunked pass, summed on the
    way."""
    import dask

    X, y = _align(X, y)
    x0, y0 = _compute(X[0], y[0])
    x0 = np.asarray(x0, dtype=np.float64)
    parts = [dask.delayed(block_scatter)(xb, yb, x0, float(y0)) for xb, yb in _pairs(X, y)]
    total = _tree_sum(parts)
    (S,) = _compute(total, progress=progress)
    return Moments.from_scatter(np.asarray(S), x0, float(y0))


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
    xb: Array, yb: Array, theta: Array, model: Any, loss: Loss, want_grad: bool
) -> tuple[float, Array | None]:
    """Sums over one chunk: (Σ ℓ, Σ ∂ℓ/∂θ) on the scaled rows (mean × rows)."""
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
        self.progress = False

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

    def hvp(self, theta: Array, v: Array) -> Array:
        if self.quad is not None:
            return np.asarray(2.0 * (self.quad.G @ v))
        return super().hvp(theta, v)

    def _reduce(self, theta: Array, want_grad: bool, loss: Loss | None = None) -> Any:
        import dask

        f = dask.delayed(_chunk_value_grad, nout=2)
        parts = [f(xb, yb, theta, self.model, loss or self.loss, want_grad)
                 for xb, yb in _pairs(self.X, self.y)]  # fmt: skip
        vals = _tree_sum([p[0] for p in parts])
        if not want_grad:
            (v,) = _compute(vals, progress=self.progress)
            return float(v) / self.n_samples, None
        v, g = _compute(vals, _tree_sum([p[1] for p in parts]), progress=self.progress)
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

    def batches(self, batch_size: int, rng: np.random.Generator) -> Iterator[tuple[int, Any]]:
        """Epochs of (chunk, rows): chunks in a random order, shuffled batches within each."""
        sizes = self.X.chunks[0]
        while True:
            for c in rng.permutation(len(sizes)):
                perm = rng.permutation(sizes[c])
                for s in range(0, sizes[c], batch_size):
                    yield int(c), perm[s : s + batch_size]

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


@contextlib.contextmanager
def connect(scheduler: Any) -> Iterator[None]:
    """Run the block on ``scheduler``: an address string connects a Client for its duration;
    None keeps the active Client (or Dask's default scheduler)."""
    if not isinstance(scheduler, str):
        yield
        return
    from distributed import Client

    with Client(scheduler):
        yield


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
    progress: bool = False,
) -> DaskObjective:
    """Bind a linear model to Dask arrays from one pass of statistics and build its objective.

    Parameters
    ----------
    X, y : dask.array.Array (y may also be a NumPy array)
    model : Model
        :class:`~descend.problems.models.Linear` only (the statistics are those of X's columns).
    loss : Loss
    progress : bool
        Show a progress bar for each chunked pass.
    """
    if not model.is_linear or model.expands_features:
        raise NotImplementedError(
            f"Dask fits support the linear model, not {model.spec()}; expand polynomial features "
            "into columns first (e.g. with dask.array.map_blocks) and fit 'linear'"
        )
    Xd, yd = _align(X, y)
    if loss.checks_targets:  # the loss's own check, chunk by chunk (one pass over y)
        _compute(yd.map_blocks(_target_checker(loss), dtype=np.float64).sum(), progress=progress)
    mom = moments_dask(Xd, yd, progress=progress)
    if not mom.finite:
        raise ValueError("X or y holds NaN or inf: drop or impute those rows first")
    bound = model.bind_features(np.zeros((1, Xd.shape[1])), feature_names=feature_names)
    bound.set_scaling(mom.mean, mom.std, mom.rms)
    bound.bind_target_mean(mom.ymean)  # start the intercept at ȳ, as in memory
    obj = DaskObjective(bound, loss, Xd, yd, mom)
    obj.progress = progress
    return obj
