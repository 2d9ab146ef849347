"""Runs held by the playground server: data in, a :class:`descend.Session` out, and the views.

This module translates the page's settings into library calls and the library's results into
JSON; the mathematics (descent, curvature, reference answers, loss grids) is the library's.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data import datasets
from descend.data.synthetic import CLASS_KINDS, make_classification, make_regression
from descend.data.tables import DataError, as_arrays, check_fit_data, read_csv
from descend.descent import optim
from descend.descent.history import History
from descend.descent.rates import is_auto
from descend.descent.session import Session
from descend.problems.build import build_problem
from descend.problems.models import Model, get_model
from descend.problems.slices import GridCancelledError, landscape_grid, profile_grid
from descend.shells.web import controls
from descend.shells.web.limits import LimitError, Limits

Array = NDArray[np.float64]

__all__ = ["GridTicket", "Run", "RunManager", "Upload", "clean"]

#: points of the fitted curve drawn over the data
CURVE_POINTS = 200
#: most data points drawn (rows beyond are subsampled for display only)
PLOT_ROWS = 2000
#: grid points per axis of the decision boundary's logit map (classification on two features)
BOUNDARY_POINTS = 60
#: most loss-curve entries and path points per update message
STEPS_PER_MESSAGE = 200
PATH_PER_MESSAGE = 100


def clean(values: Any) -> Any:
    """Floats and arrays as JSON-safe lists: NaN and ±inf become None."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "iub":
            return values.tolist()
        arr = values.astype(np.float64)
        out = arr.astype(object)
        out[~np.isfinite(arr)] = None
        return out.tolist()
    if isinstance(values, float | np.floating):
        return float(values) if math.isfinite(values) else None
    if isinstance(values, dict):
        return {k: clean(v) for k, v in values.items()}
    if isinstance(values, list | tuple):
        return [clean(v) for v in values]
    return values


def _thin(n: int, most: int) -> NDArray[np.intp]:
    """At most ``most`` indices of range(n), evenly spread, always keeping the last."""
    if n <= most:
        return np.arange(n)
    idx = np.unique(np.linspace(0, n - 1, most).round().astype(np.intp))
    return idx


# ---------------------------------------------------------------------------------------------
# uploads
# ---------------------------------------------------------------------------------------------
@dataclass
class Upload:
    """A CSV file a page sent: kept in memory only, never written under a name it chose."""

    id: str
    name: str
    content: bytes
    columns: list[str]
    rows: int


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


#: a network's sharpness is measured every this many steps (drawn beside 2/η)
SHARPNESS_EVERY = 10


def _sharpness(h: History) -> dict[str, Any]:
    """``{"sharpness": {"k", "value", "edge"}}`` at the measured steps (edge = 2/η of that
    step), or ``{}`` when the run does not track it."""
    if h.sharpness is None:
        return {}
    at = np.flatnonzero(np.isfinite(h.sharpness))
    with np.errstate(divide="ignore"):
        edge = 2.0 / h.lr[at]
    return {"sharpness": {"k": clean(h.step[at]), "value": clean(h.sharpness[at]),
                          "edge": clean(edge)}}  # fmt: skip


def display_name(filename: str | None) -> str:
    """A harmless label for an uploaded file (the base name, odd characters dropped)."""
    base = os.path.basename((filename or "").replace("\\", "/")) or "upload.csv"
    base = _SAFE_NAME.sub("_", base)[:80]
    return base or "upload.csv"


def parse_csv(
    content: bytes, name: str, x: list[str] | None = None, y: str | None = None
) -> tuple[Array, Array, list[str], str]:
    """Parse uploaded bytes with :func:`descend.data.tables.read_csv` (via a private temporary
    file).

    Messages name the upload, never the temporary path.
    """

    with tempfile.TemporaryDirectory(prefix="descend-upload-") as tmp:
        path = os.path.join(tmp, "upload.csv")
        with open(path, "wb") as fh:
            fh.write(content)
        try:
            return read_csv(path, x=x, y=y)
        except DataError as exc:
            raise DataError(str(exc).replace(repr(path), repr(name))) from None


def hyperparameters(optimizer: str) -> dict[str, Any]:
    """The documented hyperparameters of a rule and their defaults (``optim.describe``),
    without ``learning_rate`` (a control of its own); ValueError naming the rules when
    ``optimizer`` is none of them."""
    key = optimizer.strip().lower().replace("_", "-")
    for rule in optim.describe():
        if key == rule["name"] or key in rule["aliases"]:
            return {k: v for k, v in rule["defaults"].items() if k != "learning_rate"}
    names = ", ".join(r["name"] for r in optim.describe())
    raise LimitError(f"unknown optimizer {optimizer!r}; use one of {names}")


def check_hyper(optimizer: str, hyper: dict[str, Any]) -> dict[str, Any]:
    """``hyper`` when every key is a documented hyperparameter of ``optimizer`` with a finite
    number, else a LimitError that names the key and the valid ones. Nothing else reaches the
    session (no ``path_limit``, no ``objective``)."""
    valid = hyperparameters(optimizer)
    out: dict[str, Any] = {}
    for key, value in hyper.items():
        if key not in valid:
            listed = ", ".join(sorted(valid)) or "none"
            raise LimitError(
                f"hyper: {key!r} is not a hyperparameter of {optimizer!r}; its hyperparameters "
                f"are {listed} (the learning rate has its own control)"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise LimitError(f"hyper: {key} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise LimitError(f"hyper: {key} must be finite, got {value!r}")
        out[key] = float(value)
    return out


# ---------------------------------------------------------------------------------------------
# a run
# ---------------------------------------------------------------------------------------------
class GridTicket:
    """One loss grid in flight: cancelled (with the reason and the HTTP status to answer) when
    the run is removed, when a newer grid of the run replaces it, or when its page goes away
    (``gone``, an event the server sets on a disconnect)."""

    def __init__(self, gone: threading.Event | None = None) -> None:
        self._event = threading.Event()
        self._gone = gone
        self.reason = ""
        self.status = 409

    def cancel(self, reason: str, status: int = 409) -> None:
        """Ask the grid to stop (the first reason wins)."""
        if not self._event.is_set():
            self.reason, self.status = reason, status
            self._event.set()

    def cancelled(self) -> bool:
        """Whether the grid should stop now (asked before each grid point)."""
        if self._gone is not None and self._gone.is_set():
            self.cancel("the page that asked for this contour went away")
        return self._event.is_set()


@dataclass
class Run:
    """One page's descent: the session, the data it plots, and bookkeeping."""

    id: str
    session: Session
    info: dict[str, Any]
    X: Array
    y: Array
    limits: Limits
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_seen: float = field(default_factory=time.monotonic)
    sockets: int = 0
    pair: tuple[int, int] = (0, 1)
    #: the loss grid being computed, if any (a newer one cancels it)
    grid: GridTicket | None = None
    grid_lock: threading.Lock = field(default_factory=threading.Lock)

    def touch(self) -> None:
        """Mark the run as used now (idle runs are evicted)."""
        self.last_seen = time.monotonic()

    def cancel_grid(self, reason: str, status: int = 409) -> None:
        """Stop the loss grid in flight, if any (within one loss evaluation)."""
        with self.grid_lock:
            if self.grid is not None:
                self.grid.cancel(reason, status)

    # -- views -----------------------------------------------------------------------------
    def draws_boundary(self) -> bool:
        """Whether the data plot is the plane of two features with the decision boundary: a
        loss on class logits (log loss, or a two-class softmax) on two features."""
        loss = self.session.objective.loss
        return self.X.shape[1] == 2 and loss.outputs_logits and loss.n_outputs <= 2

    def boundary_grid(self) -> tuple[Array, Array]:
        """The two features' grid axes (the data's range, padded by 5 %), each shape
        (BOUNDARY_POINTS,)."""
        lo, hi = self.X.min(axis=0), self.X.max(axis=0)
        pad = 0.05 * np.where(hi > lo, hi - lo, 1.0)
        a = np.linspace(lo[0] - pad[0], hi[0] + pad[0], BOUNDARY_POINTS)
        b = np.linspace(lo[1] - pad[1], hi[1] + pad[1], BOUNDARY_POINTS)
        return a, b

    def fit_view(self) -> dict[str, Any]:
        """The model's predictions at the current θ: a curve over x, ŷ per row, or (a
        classifier on two features) the logit z over a grid of the plane, whose 0 contour
        (p = ½) is the decision boundary."""
        s = self.session
        model = s.objective.model
        with np.errstate(all="ignore"):
            if self.draws_boundary():
                a, b = self.boundary_grid()
                A, B = np.meshgrid(a, b)  # z[r][c] at (a[c], b[r]), as a contour plot reads
                Z = np.asarray(model.predict(s.theta, np.column_stack([A.ravel(), B.ravel()])))
                if Z.ndim == 2:  # a two-class softmax: the logit of class 1 against class 0
                    Z = Z[:, 1] - Z[:, 0]
                return {"kind": "boundary", "a": clean(a), "b": clean(b),
                        "z": clean(Z.reshape(A.shape)), "level": 0.0}  # fmt: skip
            if self.X.shape[1] == 1:
                lo, hi = float(self.X.min()), float(self.X.max())
                pad = 0.05 * (hi - lo or 1.0)
                grid = np.linspace(lo - pad, hi + pad, CURVE_POINTS)
                pred = model.predict(s.theta, grid.reshape(-1, 1))
                return {"kind": "curve", "x": clean(grid), "y": clean(np.asarray(pred))}
            idx = self.info["plot_rows"]
            pred = model.predict(s.theta, self.X[idx])
            return {"kind": "scatter", "yhat": clean(np.asarray(pred))}

    def status(self) -> dict[str, Any]:
        """Where the run stands (JSON-ready)."""
        snap = self.session.snapshot()
        if self.session.stop_reason == "diverged":
            # θ was rolled back to the last good point: show the loss there, and the one that
            # tripped the guard apart (the status bar used to show 10²⁴ beside a sane θ)
            snap["loss_at_divergence"] = snap["loss"]
            with np.errstate(all="ignore"):
                snap["loss"] = float(self.session.objective.value(self.session.theta))
        snap["theta"] = clean(np.asarray(snap["theta"]))
        snap["current_lr"] = clean(snap["current_lr"])
        return clean(snap)

    def val_view(self, start: int = 0) -> dict[str, Any]:
        """``{"val": {"k", "loss"}}``: the held-out loss records from the ``start``-th on
        (thinned), or ``{}`` without a validation split."""
        if not self.session.has_validation:
            return {}
        k, v = self.session.val_curve(start)
        idx = _thin(len(k), STEPS_PER_MESSAGE) if start else np.arange(len(k))
        return {"val": {"k": clean(k[idx]), "loss": clean(v[idx])}}

    def update(self, batch: History, val_start: int | None = None) -> dict[str, Any]:
        """One update message: the steps of ``batch`` (thinned), the held-out losses recorded
        from the ``val_start``-th on (with a validation split), the path, the fit, status."""
        idx = _thin(len(batch), STEPS_PER_MESSAGE)
        i, j = self.pair
        p = self.session.theta.shape[0]
        if len(batch) and p >= 2:
            pidx = _thin(len(batch), PATH_PER_MESSAGE)
            assert batch.params is not None  # θ before and after each update of the batch
            path = batch.params[1:][pidx][:, [i, j]]
            if self.session.stop_reason == "diverged":
                path = np.vstack([path, self.session.theta[[i, j]]])
        else:
            path = np.zeros((0, 2))
        return {
            "type": "update",
            **_sharpness(batch),
            **({} if val_start is None else self.val_view(val_start)),
            "steps": {
                "k": clean(batch.step[idx]),
                "loss": clean(batch.loss[idx]),
                "grad_norm": clean(batch.grad_norm[idx]),
                "step_size": clean(batch.step_size[idx]),
                "lr": clean(batch.lr[idx]),
            },
            "n_steps": len(batch),
            "pair": [i, j],
            "path": clean(path),
            "fit": self.fit_view(),
            "status": self.status(),
        }

    def step(self, n: int, max_seconds: float | None = None) -> dict[str, Any]:
        """Advance up to n updates (thread-safe) and return the update message."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise LimitError(f"n must be a whole number ≥ 1, got {n!r}")
        cap = self.limits.max_steps_per_request
        if n > cap:
            raise LimitError(f"at most {cap} steps per request (asked for {n})")
        with self.lock:
            self.touch()
            val_start = self.session.n_val
            batch = self.session.step(n, max_seconds=max_seconds)
            return self.update(batch, val_start)

    def set_learning_rate(self, lr: Any) -> dict[str, Any]:
        """Change the learning rate without a reset; returns the status."""
        if isinstance(lr, bool) or not isinstance(lr, int | float):
            raise LimitError(f"learning rate must be a number, got {lr!r}")
        if not (math.isfinite(lr) and 0 < lr <= 1e6):
            raise LimitError(f"learning rate must be in (0, 1e6], got {lr!r}")
        with self.lock:
            self.touch()
            self.session.set_learning_rate(float(lr))
            return self.status()

    def reset(self) -> dict[str, Any]:
        """Back to θ₀ with a fresh optimizer state; returns the full description."""
        with self.lock:
            self.touch()
            self.session.reset()
            return self.describe()

    def set_pair(self, i: Any, j: Any) -> None:
        """Choose the two parameters the contour and the path show."""
        p = self.session.theta.shape[0]
        for v in (i, j):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < p:
                raise LimitError(f"parameter index must be a whole number in 0..{p - 1}, got {v!r}")
        if i == j:
            raise LimitError("choose two different parameters for the contour")
        self.pair = (i, j)

    def contour_size(self, n: int) -> int:
        """The grid side the contour uses when ``n`` is asked for: ``n``, or smaller so that
        rows × parameters × points stays within ``Limits.max_contour_cost``; LimitError when
        even a 5 × 5 grid costs more."""
        rows, p = self.y.shape[0], self.session.theta.shape[0]
        cap = self.limits.max_contour_cost
        most = math.isqrt(cap // max(rows * p, 1))
        if most < 5:
            raise LimitError(
                f"a loss contour of this run costs {rows:,} rows × {p} parameters per grid point; "
                f"even a 5 × 5 grid is over the playground's cap of {cap:,} (rows × parameters × "
                "points): use fewer rows or a smaller model to see it"
            )
        return min(n, most)

    def surface_kind(self) -> str:
        """What the contour draws: ``"profile"`` (the other parameters at their best for each
        (θ_i, θ_j), so θ* is its lowest point) when the run has a closed-form θ* and a constant
        Hessian (least squares on a model linear in θ, no L1 penalty), else ``"slice"`` (the
        others held at the current θ)."""
        obj = self.session.objective
        exact = obj.is_linear_least_squares and not obj.has_prox
        return "profile" if exact and self.info.get("reference") is not None else "slice"

    def contour(
        self, i: int, j: int, n: int = 40, gone: threading.Event | None = None
    ) -> dict[str, Any]:
        """The loss over a grid of θ_i, θ_j, and the path.

        The surface is the profile through θ* when there is one (:meth:`surface_kind`), else
        the slice through the current θ. The grid is computed outside the run's lock (the run
        goes on meanwhile) on a copy of θ, with at most ``Limits.max_contour_cost`` rows ×
        parameters × grid points (``n`` is lowered to fit; the answer's ``n`` says what was
        used). It is abandoned within one loss evaluation — LimitError 409, or 404 when the
        run was removed — when a newer contour of this run starts, when the run is removed, or
        when ``gone`` is set (the page went away).
        """
        p = self.session.theta.shape[0]
        if p < 2:
            raise LimitError("the contour needs a model with at least two parameters")
        if isinstance(n, bool) or not isinstance(n, int) or not 5 <= n <= self.limits.max_grid:
            raise LimitError(f"grid size must be a whole number from 5 to {self.limits.max_grid}")
        self.set_pair(i, j)
        n = self.contour_size(n)
        with self.lock:  # a consistent snapshot only; the grid is computed after
            self.touch()
            s = self.session
            path = s.path(i, j).copy()
            theta = s.theta.copy()
            objective = s.objective
        ref = self.info.get("reference")
        theta_star = None if ref is None else np.asarray(ref["params"], dtype=np.float64)
        pts = [path, theta[[i, j]][None, :]]
        if theta_star is not None:
            pts.append(theta_star[[i, j]][None, :])
        allp = np.vstack(pts)
        allp = allp[np.all(np.isfinite(allp), axis=1)]
        lo, hi = allp.min(axis=0), allp.max(axis=0)
        span = np.maximum(hi - lo, np.maximum(0.2 * np.abs(hi + lo) / 2, 1.0))
        lo, hi = lo - 0.2 * span, hi + 0.2 * span
        a = np.linspace(lo[0], hi[0], n)
        b = np.linspace(lo[1], hi[1], n)
        kind = self.surface_kind()
        ticket = GridTicket(gone)
        with self.grid_lock:
            if self.grid is not None:
                self.grid.cancel("a newer contour request for this run replaced this one")
            self.grid = ticket
        try:
            if kind == "profile":
                assert theta_star is not None
                Z = profile_grid(objective, theta_star, i, j, a, b, ticket.cancelled)
            else:
                Z = landscape_grid(objective, theta, i, j, a, b, ticket.cancelled)
        except GridCancelledError as exc:
            raise LimitError(f"contour abandoned: {ticket.reason} ({exc})", ticket.status) from None
        finally:
            with self.grid_lock:
                if self.grid is ticket:
                    self.grid = None
        names = self.info["param_names"]
        return {
            "i": i,
            "j": j,
            "n": n,
            "kind": kind,
            "names": [names[i], names[j]],
            "a": clean(a),
            "b": clean(b),
            "z": clean(Z),
            "path": clean(path),
            "reference": None if theta_star is None else clean(theta_star[[i, j]]),
        }

    def describe(self) -> dict[str, Any]:
        """Everything the page needs to draw a fresh run."""
        idx = self.info["plot_rows"]
        data: dict[str, Any] = {
            "n_rows": int(self.y.shape[0]),
            "feature_names": self.info["feature_names"],
            "target_name": self.info["target_name"],
            "label": self.info["label"],
            "y": clean(self.y[idx]),
        }
        if self.X.shape[1] == 1:
            data["x"] = clean(self.X[idx, 0])
        elif self.draws_boundary():  # the points in the plane, coloured by class
            data["x1"], data["x2"] = clean(self.X[idx, 0]), clean(self.X[idx, 1])
        hist = self.session.history
        return {
            "id": self.id,
            "data": data,
            "model": self.info["model"],
            "loss": self.info["loss"],
            "param_names": self.info["param_names"],
            "n_params": len(self.info["param_names"]),
            "advice": self.info["advice"],
            "reference": self.info["reference"],
            "notes": self.info["notes"],
            "settings": self.info["settings"],
            "history": {
                "k": clean(hist.step),
                "loss": clean(hist.loss),
                "step_size": clean(hist.step_size),
                "lr": clean(hist.lr),
                **_sharpness(hist),
                **self.val_view(),
            },
            "fit": self.fit_view(),
            "status": self.status(),
            "pair": list(self.pair),
        }


# ---------------------------------------------------------------------------------------------
# the registry of runs and uploads
# ---------------------------------------------------------------------------------------------


class RunManager:
    """Holds runs and uploads under the caps of :class:`Limits`; thread-safe."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        #: the page's run settings (``controls.CONTROLS`` when the manager was made)
        self.controls: tuple[controls.Control, ...] = controls.CONTROLS
        self.runs: dict[str, Run] = {}
        self.uploads: OrderedDict[str, Upload] = OrderedDict()
        self._lock = threading.Lock()

    # -- uploads ---------------------------------------------------------------------------
    def add_upload(self, filename: str | None, content: bytes) -> Upload:
        """Check and keep an uploaded CSV; raises DataError/LimitError with the reason."""
        lim = self.limits
        if len(content) > lim.max_upload_bytes:
            raise LimitError(
                f"the file is {len(content):,} bytes; uploads are limited to "
                f"{lim.max_upload_bytes:,} bytes",
                413,
            )
        name = display_name(filename)
        X, y, names, target = parse_csv(content, name)
        if y.shape[0] > lim.max_rows:
            raise LimitError(
                f"{name!r} has {y.shape[0]:,} rows; the playground takes at most {lim.max_rows:,}"
            )
        check_fit_data(X, y, names)  # the library's refusals (1e308: squares overflow) now
        up = Upload(secrets.token_urlsafe(9), name, content, [*names, target], int(y.shape[0]))
        with self._lock:
            self.uploads[up.id] = up
            while len(self.uploads) > lim.max_uploads:
                self.uploads.popitem(last=False)
        return up

    # -- runs ------------------------------------------------------------------------------
    def get(self, run_id: str) -> Run:
        """The run, touched; KeyError when there is none (expired or never made)."""
        with self._lock:
            run = self.runs.get(run_id)
        if run is None:
            raise KeyError(run_id)
        run.touch()
        return run

    def remove(self, run_id: str) -> bool:
        """Forget a run (its memory goes with it, its grid in flight is cancelled); True when
        there was one."""
        with self._lock:
            run = self.runs.pop(run_id, None)
        if run is None:
            return False
        run.cancel_grid("the run was removed", 404)
        return True

    def purge(self, now: float | None = None) -> list[str]:
        """Remove runs idle for longer than the timeout and without an open socket."""
        now = time.monotonic() if now is None else now
        with self._lock:
            old = [
                rid
                for rid, run in self.runs.items()
                if run.sockets == 0 and now - run.last_seen > self.limits.idle_timeout_s
            ]
            gone = [self.runs.pop(rid) for rid in old]
        for run in gone:
            run.cancel_grid("the run was removed", 404)
        return old

    def busy_message(self) -> str:
        """The 429 answer: how long until a slot frees itself at the latest."""
        lim = self.limits
        return (
            f"too many runs at once (the limit is {lim.max_runs}); close another playground "
            f"tab, or try again later: a run nobody uses is closed after {lim.idle_timeout_s:g} "
            f"s, and a page that stops reading its updates is disconnected after "
            f"{lim.send_timeout_s:g} s"
        )

    def create(self, spec: dict[str, Any]) -> Run:
        """Build a run from the page's settings (already type-checked)."""
        self.purge()
        with self._lock:
            if len(self.runs) >= self.limits.max_runs:
                raise LimitError(self.busy_message(), 429)
        run = self._build(spec)
        with self._lock:
            if len(self.runs) >= self.limits.max_runs:
                raise LimitError(self.busy_message(), 429)
            self.runs[run.id] = run
        return run

    # -- building a run: settings -> library calls -----------------------------------------
    def _data(self, d: dict[str, Any]) -> tuple[Array, Array, list[str], str, str, str | None]:
        lim = self.limits
        source = d.get("source", "dataset")
        if source == "dataset":
            ds_ = datasets.load(d.get("name") or datasets.DEFAULT)
            label = f"NIST StRD {ds_.title} ({ds_.y.shape[0]} rows)"
            return ds_.X, ds_.y, ds_.feature_names, ds_.target_name, label, ds_.model
        if source == "synthetic":
            n = d.get("n", 50)
            if n > lim.max_rows:
                raise LimitError(f"at most {lim.max_rows:,} rows (asked for {n:,})")
            if d.get("kind") in CLASS_KINDS:  # two classes in the plane (log loss)
                cls = make_classification(
                    d["kind"], n=n, noise=d.get("noise", 0.15), seed=d.get("seed", 0)
                )
                label = f"synthetic: {cls.description}"
                return cls.X, cls.y, ["x1", "x2"], "class", label, "linear"
            deg = d.get("degree", 3)
            if d.get("kind") == "poly" and deg > lim.max_degree:
                raise LimitError(f"polynomial degree is limited to {lim.max_degree} (got {deg})")
            syn = make_regression(
                d.get("kind", "linear"),
                n=n,
                noise=d.get("noise", 1.0),
                outliers=d.get("outliers", 0.0),
                degree=deg,
                seed=d.get("seed", 0),
            )
            default = "linear" if d.get("kind", "linear") == "linear" else f"poly:{deg}"
            return syn.X, syn.y, ["x"], "y", f"synthetic: {syn.description}", default
        if source == "upload":
            up_id = d.get("upload_id")
            with self._lock:
                up = self.uploads.get(up_id or "")
            if up is None:
                raise LimitError(
                    "that upload is no longer on the server (uploads are kept in memory for a "
                    "while only); upload the file again",
                    404,
                )
            X, y, names, target = parse_csv(up.content, up.name, x=d.get("x") or None, y=d.get("y"))
            label = f"{up.name}: {target} ~ {', '.join(names)} ({y.shape[0]} rows)"
            return X, y, names, target, label, None
        raise LimitError(f"unknown data source {source!r}; use dataset, synthetic or upload")

    def _check_model(self, model: Model) -> None:
        """The caps on the model as parsed (:meth:`Model.sizes`), before it meets the data."""
        lim = self.limits
        sizes = model.sizes()
        if sizes.get("degree", 0) > lim.max_degree:
            raise LimitError(
                f"polynomial degree is limited to {lim.max_degree} (got {sizes['degree']} in "
                f"{model.spec()!r})"
            )
        if sizes.get("layers", 0) > lim.max_hidden:
            raise LimitError(
                f"at most {lim.max_hidden} hidden layers (got {sizes['layers']} in "
                f"{model.spec()!r})"
            )
        if sizes.get("width", 0) > lim.max_width:
            raise LimitError(
                f"at most {lim.max_width} units per hidden layer (got {sizes['width']} in "
                f"{model.spec()!r})"
            )

    def _build(self, spec: dict[str, Any]) -> Run:
        lim = self.limits
        X0, y0, names0, target, label, default_model = self._data(spec.get("data") or {})
        X, y_or_none, names = as_arrays(X0, y0, feature_names=names0)
        assert y_or_none is not None
        y = y_or_none
        check_fit_data(X, y, names)  # what ds.fit refuses, the page refuses, with its message
        optimizer = spec.get("optimizer") or "gd"
        hyper = check_hyper(optimizer, spec.get("hyper") or {})
        # parsed once, strictly, by the library; the caps apply to what it parsed
        model = get_model((spec.get("model") or default_model or "linear").strip())
        self._check_model(model)
        # the page's controls (controls.py), each passed on by name
        settings = controls.values(spec, self.controls)
        controls.check_caps(settings, lim, self.controls)
        n_params = model.bind(X, feature_names=names).n_params
        if n_params > lim.max_params:
            raise LimitError(
                f"{model.spec()} on {X.shape[1]} feature(s) has {n_params} parameters; the "
                f"playground allows at most {lim.max_params}"
            )
        notes: list[str] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # the one problem builder and the one rate resolver, as ds.fit uses them
            problem = build_problem(
                X,
                y,
                model,
                spec.get("loss") or "mse",
                auto_rate=is_auto(settings.get("learning_rate")),
                feature_names=names,
                full_batch=settings.get("batch_size") is None,
                **controls.passed_to("problem", settings, self.controls),
            )
            session = Session(
                problem,
                optimizer=optimizer,
                # a network's curvature moves: its sharpness is drawn beside 2/η
                track_sharpness=None if problem.model.is_linear else SHARPNESS_EVERY,
                **controls.passed_to("session", settings, self.controls),
                **hyper,
            )
        notes.extend(str(w.message) for w in caught)
        notes.extend(session.notes)
        bound, obj, advice = problem.model, problem.base, problem.advice
        ref = problem.reference
        rows = _thin(y.shape[0], PLOT_ROWS)
        info: dict[str, Any] = {
            "label": label,
            "feature_names": list(names),
            "target_name": target,
            "model": bound.spec(),
            "loss": obj.loss.spec(),
            "param_names": bound.param_names(),
            "advice": None
            if advice is None
            else {**clean(advice.to_dict()), "describe": advice.describe()},
            "reference": None
            if ref is None
            else {"params": clean(ref.params), "loss": clean(ref.loss)},
            "notes": notes,
            "settings": {  # every control's value, as the session resolved it where it did
                "optimizer": session.optimizer_name,
                "hyper": session.hyper,
                **settings,
                "learning_rate": session.learning_rate,
                "schedule": session.rate.schedule_name,
                "batch_size": session.batch_size,
            },
            "plot_rows": rows,
        }
        run = Run(secrets.token_urlsafe(12), session, info, X, y, lim)
        if bound.n_params < 2:
            run.pair = (0, 0)
        return run
