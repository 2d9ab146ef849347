"""The per-step record of a run, kept column by column."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = ["History", "Recorder"]

FIELDS = ("step", "loss", "grad_norm", "step_size", "lr")


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
    """

    step: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    loss: Array = field(default_factory=lambda: np.zeros(0))
    grad_norm: Array = field(default_factory=lambda: np.zeros(0))
    step_size: Array = field(default_factory=lambda: np.zeros(0))
    lr: Array = field(default_factory=lambda: np.zeros(0))
    params: Array | None = None
    state_norms: dict[str, Array] = field(default_factory=dict)
    val_loss: Array | None = None

    def __len__(self) -> int:
        return int(self.loss.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, for JSON."""
        out: dict[str, Any] = {f: getattr(self, f).tolist() for f in FIELDS}
        out["params"] = None if self.params is None else self.params.tolist()
        out["state_norms"] = {k: v.tolist() for k, v in self.state_norms.items()}
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
        )

    def to_csv(self, path: str) -> None:
        """One row per step: step, loss, grad_norm, step_size, lr, state norms."""
        extra = sorted(self.state_norms)
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([*FIELDS, *extra])
            for k in range(len(self)):
                row = [int(self.step[k])] + [repr(float(getattr(self, f)[k])) for f in FIELDS[1:]]
                w.writerow(row + [repr(float(self.state_norms[e][k])) for e in extra])


class Recorder:
    """Appends one step at a time; :meth:`history` freezes the columns into a History."""

    def __init__(self, record_params: bool, theta0: Array) -> None:
        self.rows: list[tuple[int, float, float, float, float]] = []
        self.params: list[Array] | None = [theta0.copy()] if record_params else None
        self.norms: dict[str, list[float]] = {}

    def add(
        self,
        k: int,
        loss: float,
        grad_norm: float,
        step_size: float,
        lr: float,
        theta_next: Array | None = None,
        norms: dict[str, float] | None = None,
    ) -> None:
        """Record step k: its loss, ‖g‖, ‖Δθ‖ and lr; θ_(k+1) (shape (p,)) when recording θ."""
        self.rows.append((k, loss, grad_norm, step_size, lr))
        if self.params is not None and theta_next is not None:
            self.params.append(theta_next.copy())
        if norms:
            for key, value in norms.items():
                self.norms.setdefault(key, []).append(value)

    def history(self, start: int = 0) -> History:
        """The rows from update ``start`` on as a columnar :class:`History`.

        With ``start = 0`` (default) the whole run, θ path of shape (K + 1, p) if kept; later
        starts give a slice of the same record (θ_start … θ_K when kept).
        """
        rows = self.rows[start:] if start else self.rows
        cols = list(zip(*rows, strict=True)) if rows else [()] * 5
        params = None if self.params is None else np.vstack(self.params[start:])
        return History(
            step=np.asarray(cols[0], dtype=np.int64),
            loss=np.asarray(cols[1], dtype=np.float64),
            grad_norm=np.asarray(cols[2], dtype=np.float64),
            step_size=np.asarray(cols[3], dtype=np.float64),
            lr=np.asarray(cols[4], dtype=np.float64),
            params=params,
            state_norms={k: np.asarray(v[start:]) for k, v in self.norms.items()},
        )
