"""The per-step record of a run, kept column by column."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = ["History", "Recorder", "row_dtype"]

FIELDS = ("step", "loss", "grad_norm", "step_size", "lr")
#: the columns measured every few steps only (NaN between), when a run tracks them
TRACKED = ("sharpness", "preconditioned_sharpness")


def row_dtype(
    norm_keys: list[str], n_params: int | None, tracked_keys: list[str] | tuple[str, ...] = ()
) -> np.dtype[Any]:
    """The fixed binary layout of one history row, for an append-only file.

    Little-endian and packed: ``step`` (int64), ``loss``, ``grad_norm``, ``step_size``, ``lr``
    (float64), one float64 per optimizer-state norm (``norm_keys``, in that order), one per
    tracked column (``tracked_keys``: :data:`TRACKED`, NaN between measurements) and, when the
    θ path is kept, ``theta``: θ_(k+1), shape (``n_params``,).
    """
    fields: list[tuple[Any, ...]] = [("step", "<i8")] + [(f, "<f8") for f in FIELDS[1:]]
    fields += [(f"norm:{key}", "<f8") for key in norm_keys]
    fields += [(f"tracked:{key}", "<f8") for key in tracked_keys]
    if n_params is not None:
        fields.append(("theta", "<f8", (int(n_params),)))
    return np.dtype(fields)


@dataclass
class History:
    """What happened at each step k = 0, 1, …, K−1 of a run.

    Attributes
    ----------
    step : ndarray of int, shape (K,)
    loss : ndarray, shape (K,)
        L(θ_k) before the k-th update (the batch loss for mini-batch runs).
    grad_norm : ndarray, shape (K,)
        ‖∇L(θ_k)‖₂.
    step_size : ndarray, shape (K,)
        ‖θ_{k+1} − θ_k‖₂ = ‖lr·g‖ for plain gradient descent: the lesson's step size, which
        shrinks near the minimum.
    lr : ndarray, shape (K,)
        The learning rate used at step k (from the schedule, or chosen by line search).
    params : ndarray, shape (K + 1, p), or None
        θ_0 … θ_K (the start and every iterate, the last one being the final θ) when recorded.
    state_norms : dict[str, ndarray]
        Optional norms of optimizer state (e.g. momentum's velocity), each shape (K,).
    val_loss : ndarray or None
        The held-out loss at θ_k, one per step (shape (K,), full batch) or one per epoch
        (mini-batches), when the run had a validation set; else None.
    sharpness : ndarray, shape (K,), or None
        λ_max(∇²L(θ_k)), measured every ``track_sharpness`` steps (NaN between measurements;
        None when not tracked): see :mod:`descend.problems.sharpness`.
    preconditioned_sharpness : ndarray, shape (K,), or None
        λ_max(P_k⁻¹∇²L(θ_k)) with the adaptive rule's P of step k (Adam: √v̂ + ε), at the same
        steps; None for rules without a preconditioner or when not tracked.
    """

    step: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    loss: Array = field(default_factory=lambda: np.zeros(0))
    grad_norm: Array = field(default_factory=lambda: np.zeros(0))
    step_size: Array = field(default_factory=lambda: np.zeros(0))
    lr: Array = field(default_factory=lambda: np.zeros(0))
    params: Array | None = None
    state_norms: dict[str, Array] = field(default_factory=dict)
    val_loss: Array | None = None
    sharpness: Array | None = None
    preconditioned_sharpness: Array | None = None

    def __len__(self) -> int:
        return int(self.loss.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, for JSON."""
        out: dict[str, Any] = {f: getattr(self, f).tolist() for f in FIELDS}
        out["params"] = None if self.params is None else self.params.tolist()
        out["state_norms"] = {k: v.tolist() for k, v in self.state_norms.items()}
        for name in TRACKED:
            column = getattr(self, name)
            if column is not None:
                out[name] = column.tolist()
        if self.val_loss is not None:
            out["val_loss"] = self.val_loss.tolist()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """Inverse of :meth:`to_dict` (float64 values round-trip exactly through JSON)."""
        params = d.get("params")
        return cls(
            step=np.asarray(d["step"], dtype=np.int64),
            **{f: np.asarray(d[f], dtype=np.float64) for f in FIELDS[1:]},
            params=None if params is None else np.asarray(params, dtype=np.float64),
            state_norms={
                k: np.asarray(v, dtype=np.float64) for k, v in d.get("state_norms", {}).items()
            },
            val_loss=None if d.get("val_loss") is None else np.asarray(d["val_loss"], np.float64),
            sharpness=_column(d.get("sharpness")),
            preconditioned_sharpness=_column(d.get("preconditioned_sharpness")),
        )

    def to_csv(self, path: str) -> None:
        """One row per step: step, loss, grad_norm, step_size, lr, state norms, and the
        tracked columns (sharpness; ``nan`` between measurements) when the run had them."""
        extra = sorted(self.state_norms)
        tracked = [(name, getattr(self, name)) for name in TRACKED]
        tracked = [(name, col) for name, col in tracked if col is not None]
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([*FIELDS, *extra, *(name for name, _ in tracked)])
            for k in range(len(self)):
                row = [int(self.step[k])] + [repr(float(getattr(self, f)[k])) for f in FIELDS[1:]]
                row += [repr(float(self.state_norms[e][k])) for e in extra]
                w.writerow(row + [repr(float(col[k])) for _, col in tracked])


def _column(values: Any) -> Array | None:
    return None if values is None else np.asarray(values, dtype=np.float64)


class Recorder:
    """Appends one step at a time into preallocated columns; :meth:`history` freezes them.

    The columns (step, loss, ‖g‖, ‖Δθ‖, lr) and the θ path live in NumPy arrays whose capacity
    doubles when full, so recording a step writes five numbers (and θ when kept) and allocates
    nothing: amortised O(1) per step, no Python tuple per row.
    """

    def __init__(self, record_params: bool, theta0: Array, capacity: int = 256) -> None:
        capacity = max(int(capacity), 1)
        self.n = 0
        self._step = np.zeros(capacity, dtype=np.int64)
        self._cols = np.zeros((4, capacity))  # loss, grad_norm, step_size, lr
        theta0 = np.asarray(theta0, dtype=np.float64).reshape(-1)
        self._params: Array | None = None
        if record_params:
            self._params = np.zeros((capacity + 1, theta0.shape[0]))
            self._params[0] = theta0
        self.norms: dict[str, list[float]] = {}
        #: columns measured every few steps (:data:`TRACKED`), NaN between measurements
        self.tracked: dict[str, list[float]] = {}

    def _grow(self) -> None:
        cap = 2 * self._step.shape[0]
        step = np.zeros(cap, dtype=np.int64)
        step[: self.n] = self._step[: self.n]
        cols = np.zeros((4, cap))
        cols[:, : self.n] = self._cols[:, : self.n]
        self._step, self._cols = step, cols
        if self._params is not None:
            params = np.zeros((cap + 1, self._params.shape[1]))
            params[: self.n + 1] = self._params[: self.n + 1]
            self._params = params

    def add(
        self,
        k: int,
        loss: float,
        grad_norm: float,
        step_size: float,
        lr: float,
        theta_next: Array | None = None,
        norms: dict[str, float] | None = None,
        tracked: dict[str, float] | None = None,
    ) -> None:
        """Record step k: its loss, ‖g‖, ‖Δθ‖ and lr; θ_(k+1) (shape (p,)) when recording θ;
        the tracked columns (:data:`TRACKED`, NaN when not measured at this step)."""
        i = self.n
        if i == self._step.shape[0]:
            self._grow()
        self._step[i] = k
        cols = self._cols
        cols[0, i] = loss
        cols[1, i] = grad_norm
        cols[2, i] = step_size
        cols[3, i] = lr
        if self._params is not None and theta_next is not None:
            self._params[i + 1] = theta_next
        self.n = i + 1
        if norms or tracked or self.tracked:
            self.add_extras(i, norms, tracked)

    def add_extras(
        self, i: int, norms: dict[str, float] | None, tracked: dict[str, float] | None
    ) -> None:
        """Row i's optimizer-state norms and tracked columns (:data:`TRACKED`; NaN when not
        measured at this step): what :meth:`add` writes beside the five columns, for a row
        written into :meth:`reserve`'s buffers."""
        if norms:
            for key, value in norms.items():
                self.norms.setdefault(key, []).append(value)
        if tracked:
            for key, value in tracked.items():
                self.tracked.setdefault(key, [math.nan] * i).append(value)
        elif self.tracked:  # a run resumed without tracking: the columns stay aligned
            for column in self.tracked.values():
                column.append(math.nan)

    def reserve(self, m: int) -> tuple[NDArray[np.int64], Array, Array | None]:
        """Room for ``m`` more rows, and the buffers to write them into: ``step`` (shape
        (capacity,)), the columns (shape (4, capacity): loss, grad_norm, step_size, lr) and the
        θ path (shape (capacity + 1, p), or None). The loop (:meth:`Descent.run`) writes rows
        ``n`` … ``n + m − 1`` there directly and then sets :attr:`n` (the norms and tracked
        columns through :meth:`add_extras`): what :meth:`add` would write."""
        while self.n + max(int(m), 0) > self._step.shape[0]:
            self._grow()
        return self._step, self._cols, self._params

    def __len__(self) -> int:
        return self.n

    def last(self) -> tuple[int, float, float, float, float]:
        """The last row, ``(k, L_k, ‖g_k‖, ‖u_k‖, η_k)`` (the record must not be empty)."""
        i = self.n - 1
        cols = self._cols
        return (
            int(self._step[i]),
            float(cols[0, i]),
            float(cols[1, i]),
            float(cols[2, i]),
            float(cols[3, i]),
        )

    @property
    def rows(self) -> list[tuple[int, float, float, float, float]]:
        """The record as ``(k, L_k, ‖g_k‖, ‖u_k‖, η_k)`` tuples (a copy; for inspection)."""
        n = self.n
        steps = self._step[:n].tolist()
        loss, gn, ss, lr = (self._cols[j, :n].tolist() for j in range(4))
        return list(zip(steps, loss, gn, ss, lr, strict=True))

    def columns(self) -> tuple[NDArray[np.int64], Array, Array, Array, Array]:
        """Copies of the five columns (step, loss, grad_norm, step_size, lr), each shape (K,)."""
        n = self.n
        return (self._step[:n].copy(), *(self._cols[j, :n].copy() for j in range(4)))  # type: ignore[return-value]

    @property
    def params(self) -> Array | None:
        """θ_0 … θ_K, shape (K + 1, p), when kept (a view; None otherwise)."""
        return None if self._params is None else self._params[: self.n + 1]

    @property
    def n_params(self) -> int | None:
        """Length p of the kept θ path's rows (None when θ is not kept)."""
        return None if self._params is None else int(self._params.shape[1])

    def norm_keys(self) -> list[str]:
        """The optimizer-state norms recorded, sorted.

        Raises
        ------
        ValueError
            A norm was not recorded at every step (the rows would not have one layout).
        """
        short = sorted(key for key, v in self.norms.items() if len(v) != self.n)
        if short:
            raise ValueError(f"the state norms {short} were not recorded at every step")
        return sorted(self.norms)

    def tracked_keys(self) -> list[str]:
        """The tracked columns (:data:`TRACKED`) this record has, sorted."""
        return sorted(self.tracked)

    def _tracked_rows(self, key: str, start: int, stop: int) -> Array:
        """Rows ``start`` … ``stop − 1`` of a tracked column, NaN where it was not measured."""
        out = np.full(stop - start, math.nan)
        column = self.tracked[key][start:stop]
        out[: len(column)] = column
        return out

    def row_dtype(self) -> np.dtype[Any]:
        """:func:`row_dtype` of this record (its norms, tracked columns and θ length)."""
        return row_dtype(self.norm_keys(), self.n_params, self.tracked_keys())

    def rows_array(self, start: int, stop: int) -> NDArray[Any]:
        """Rows ``start`` … ``stop − 1`` as a structured array of :meth:`row_dtype`, shape
        (stop − start,); its ``tobytes()`` is what an append-only history file holds."""
        out = np.empty(stop - start, dtype=self.row_dtype())
        out["step"] = self._step[start:stop]
        for j, f in enumerate(FIELDS[1:]):
            out[f] = self._cols[j, start:stop]
        for key in self.norm_keys():
            out[f"norm:{key}"] = self.norms[key][start:stop]
        for key in self.tracked_keys():
            out[f"tracked:{key}"] = self._tracked_rows(key, start, stop)
        if self._params is not None:
            out["theta"] = self._params[start + 1 : stop + 1]
        return out

    def load_rows(self, rows: NDArray[Any], theta0: Array | None) -> None:
        """Replace the record with rows read back from :meth:`rows_array` bytes (shape (K,))
        and θ_0 (shape (p,); None when θ is not kept)."""
        names = rows.dtype.names or ()
        params = None
        if theta0 is not None:
            params = np.vstack([np.asarray(theta0, dtype=np.float64).reshape(1, -1), rows["theta"]])
        loss, grad_norm, step_size, lr = (np.asarray(rows[f], dtype=np.float64) for f in FIELDS[1:])
        self.load(
            np.asarray(rows["step"], dtype=np.int64),
            loss,
            grad_norm,
            step_size,
            lr,
            params=params,
            norms={
                n[len("norm:") :]: [float(v) for v in rows[n]]
                for n in names
                if n.startswith("norm:")
            },
            tracked={
                n[len("tracked:") :]: [float(v) for v in rows[n]]
                for n in names
                if n.startswith("tracked:")
            },
        )

    def load(
        self,
        step: NDArray[np.int64],
        loss: Array,
        grad_norm: Array,
        step_size: Array,
        lr: Array,
        params: Array | None,
        norms: dict[str, list[float]],
        tracked: dict[str, list[float]] | None = None,
    ) -> None:
        """Replace the record with saved columns (each shape (K,)) and θ path (K + 1, p)."""
        n = int(step.shape[0])
        cap = max(256, 2 * n)
        self._step = np.zeros(cap, dtype=np.int64)
        self._step[:n] = step
        self._cols = np.zeros((4, cap))
        for j, col in enumerate((loss, grad_norm, step_size, lr)):
            self._cols[j, :n] = col
        if params is not None:
            P = np.asarray(params, dtype=np.float64)
            self._params = np.zeros((cap + 1, P.shape[1]))
            self._params[: P.shape[0]] = P
        else:
            self._params = None
        self.n = n
        self.norms = norms
        self.tracked = dict(tracked or {})

    def history(self, start: int = 0) -> History:
        """The rows from update ``start`` on as a columnar :class:`History`.

        With ``start = 0`` (default) the whole run, θ path of shape (K + 1, p) if kept; later
        starts give a slice of the same record (θ_start … θ_K when kept).
        """
        n = self.n
        params = None if self._params is None else self._params[start : n + 1].copy()
        return History(
            step=self._step[start:n].copy(),
            loss=self._cols[0, start:n].copy(),
            grad_norm=self._cols[1, start:n].copy(),
            step_size=self._cols[2, start:n].copy(),
            lr=self._cols[3, start:n].copy(),
            params=params,
            state_norms={k: np.asarray(v[start:]) for k, v in self.norms.items()},
            sharpness=self._tracked("sharpness", start),
            preconditioned_sharpness=self._tracked("preconditioned_sharpness", start),
        )

    def _tracked(self, name: str, start: int) -> Array | None:
        column = self.tracked.get(name)
        return None if column is None else np.asarray(column[start:], dtype=np.float64)
