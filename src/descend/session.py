"""A descent you can steer: the loop of :func:`descend.minimize`, one call at a time.

:func:`descend.minimize` runs to the end in one call. A :class:`Session` owns the same state
(θ, the optimizer state, the mini-batch stream, the divergence guard and the stopping rule) and
advances it on request, so a shell (the web playground, a notebook) can step, pause, change the
learning rate *without resetting* the optimizer state, and look at the run in between::

    >>> import numpy as np
    >>> import descend as ds
    >>> obj = ds.objective([[0.0], [1.0], [2.0], [3.0]], [1.0, 3.0, 5.0, 7.0])
    >>> s = ds.Session(obj, np.zeros(2), learning_rate=0.1)
    >>> batch = s.step(50)
    >>> s.k, len(batch)
    (50, 50)
    >>> s.set_learning_rate(0.5)          # same θ, same optimizer state, larger rate
    >>> _ = s.step(100)
    >>> round(s.loss, 9)
    0.0

With a constant learning rate, stepping a session n times gives exactly the iterates of
``minimize(objective, θ₀, …, max_steps=n)``: the mathematics is the loop's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import optim as _optim
from .curvature import Advice, advise
from .history import History, Recorder

Array = NDArray[np.float64]

__all__ = ["Session", "StepBatch", "AdjustableRate", "loss_grid"]


class AdjustableRate:
    """A learning-rate schedule whose peak rate can be changed while a run is going.

    The optimizer keeps a reference to this object and calls it with its own step counter, so
    :meth:`set` takes effect at the next update without touching the optimizer state.

    Parameters
    ----------
    learning_rate : float
        The (peak) rate η > 0.
    schedule : str, optional
        A schedule name for :func:`descend.schedules.get_schedule`; None is a constant rate.
    max_steps : int
        The run length the schedule is shaped for (cosine decays to 0 there, …).
    """

    def __init__(self, learning_rate: float, schedule: str | None = None, max_steps: int = 10_000):
        self.schedule_name = schedule
        self.max_steps = max(int(max_steps), 1)
        self.value = 0.0
        self._schedule: Any = None
        self.set(learning_rate)

    def set(self, learning_rate: float) -> None:
        """Change the peak rate (validated: a positive, finite number)."""
        from .schedules import as_schedule, get_schedule

        if (
            isinstance(learning_rate, bool)
            or not isinstance(learning_rate, int | float | np.floating)
            or not math.isfinite(learning_rate)
            or learning_rate <= 0
        ):
            raise ValueError(
                f"learning rate must be a positive, finite number, got {learning_rate!r}"
            )
        lr = float(learning_rate)
        if self.schedule_name is None:
            sched = as_schedule(lr)
        else:
            sched = get_schedule(self.schedule_name, lr, max_steps=self.max_steps)
        self._schedule, self.value = sched, lr

    def __call__(self, step: int) -> float:
        return float(self._schedule(step))

    def __repr__(self) -> str:
        return f"AdjustableRate({self.value!r}, schedule={self.schedule_name!r})"


@dataclass
class StepBatch:
    """The steps made by one :meth:`Session.step` call, column by column.

    Attributes
    ----------
    step, loss, grad_norm, step_size, lr : ndarray, shape (m,)
        As in :class:`descend.History`: L(θ_k) and ‖g_k‖ before update k, ‖θ_{k+1} − θ_k‖ and
        the rate used.
    params : ndarray, shape (m, p)
        θ after each update.
    """

    step: NDArray[np.int64]
    loss: Array
    grad_norm: Array
    step_size: Array
    lr: Array
    params: Array

    def __len__(self) -> int:
        return int(self.step.shape[0])


@dataclass
class _Guard:
    """The loop's bookkeeping between steps (see :func:`descend.minimize`)."""

    loss0: float | None = None
    prev_loss: float = math.nan
    calm: int = 0
    rising: int = 0
    best_loss: float = math.inf
    epoch_losses: list[float] = field(default_factory=list)


class Session:
    """Gradient descent on an objective, advanced a few steps at a time.

    Parameters
    ----------
    objective : Objective
        Anything with ``value_and_grad(θ)``; a data objective (with ``n_samples``) also allows
        mini-batches.
    theta0 : array-like, shape (p,)
        The start (copied).
    optimizer : str
        An update rule by name (``"gd"``, ``"adam"`` …, see :func:`descend.optim.get`).
    learning_rate : float
        The (peak) learning rate; change it later with :meth:`set_learning_rate`.
    schedule : str, optional
        A learning-rate schedule by name, shaped for ``max_steps``.
    batch_size : int, optional
        None for full batch, k for mini-batches (reshuffled every epoch), 1 for stochastic.
    seed : int or None
        Seeds the mini-batch shuffling.
    max_steps : int
        The session never makes more updates than this (stop reason ``"max_steps"``).
    tol, patience, gtol, rise_patience
        The stopping rule and divergence guard of :func:`descend.minimize`.
    advice : Advice, optional
        Curvature advice, used to explain a divergence (computed when needed otherwise).
    path_limit : int
        Keep at most about this many θ's of the path (thinned by 2 when full) for plots.
    **hyper
        Optimizer hyperparameters (``beta=0.9``, ``b1=…``).

    Attributes
    ----------
    theta : ndarray, shape (p,)
        The current θ (after a divergence: the last good θ).
    k : int
        Updates made so far.
    loss : float
        The last loss evaluated (NaN before the first step).
    stop_reason : str or None
        None while the run may go on; ``"converged"``, ``"max_steps"`` or ``"diverged"``.
    message : str
        Why it stopped (for divergence: the loop's explanation), or "".
    """

    def __init__(
        self,
        objective: Any,
        theta0: Any,
        optimizer: str = "gd",
        learning_rate: float = 0.01,
        *,
        schedule: str | None = None,
        batch_size: int | None = None,
        seed: int | None = 0,
        max_steps: int = 10_000,
        tol: float = 1e-9,
        patience: int = 5,
        gtol: float = 0.0,
        rise_patience: int = 10,
        advice: Advice | None = None,
        path_limit: int = 4000,
        **hyper: Any,
    ) -> None:
        theta = np.array(theta0, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(theta)):
            raise ValueError("theta0 contains NaN or inf: start from finite parameters")
        n_params = getattr(objective, "n_params", 0) or theta.shape[0]
        if theta.shape[0] != n_params:
            raise ValueError(
                f"theta0 has {theta.shape[0]} entries but the objective has {n_params}"
            )
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0:
            raise ValueError(f"max_steps must be a whole number ≥ 0, got {max_steps!r}")
        if not (tol >= 0) or not (gtol >= 0):
            raise ValueError(f"tol and gtol must be ≥ 0, got tol={tol!r}, gtol={gtol!r}")
        if patience < 1 or rise_patience < 1:
            raise ValueError("patience and rise_patience must be ≥ 1")
        self.n_samples: int | None = getattr(objective, "n_samples", None)
        if batch_size is not None:
            if self.n_samples is None:
                raise ValueError(
                    "batch_size needs a data objective (rows to sample); this objective has none"
                )
            if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
                raise ValueError(
                    f"batch_size must be a whole number ≥ 1 or None, got {batch_size!r}"
                )
            if batch_size >= self.n_samples:
                batch_size = None
        self.objective = objective
        self.optimizer_name = optimizer
        self.hyper = dict(hyper)
        self.rate = AdjustableRate(learning_rate, schedule, max_steps)
        self.opt = _optim.get(optimizer.lower(), self.rate, **hyper)
        # as in minimize: momentum and adaptive rules may rise for a while before they fall
        self._rise_floor = 1.0 if self.opt.name in ("gd", "sgd") else 100.0
        self.batch_size = batch_size
        self.seed = seed
        self.max_steps = max_steps
        self.tol, self.patience, self.gtol = float(tol), int(patience), float(gtol)
        self.rise_patience = int(rise_patience)
        self.advice = advice
        self.path_limit = max(int(path_limit), 2)
        self.theta0 = theta.copy()
        self.reset()

    # -- life cycle ------------------------------------------------------------------------
    def reset(self, theta0: Any = None) -> None:
        """Start again from θ₀ (or a new start): fresh optimizer state, history and shuffling."""
        if theta0 is not None:
            theta = np.array(theta0, dtype=np.float64).reshape(-1)
            if theta.shape != self.theta0.shape or not np.all(np.isfinite(theta)):
                raise ValueError(f"theta0 must be {self.theta0.shape[0]} finite numbers")
            self.theta0 = theta
        self.theta = self.theta0.copy()
        self.state = self.opt.init(self.theta)
        self.k = 0
        self.loss = math.nan
        self.stop_reason: str | None = None
        self.message = ""
        self._guard = _Guard()
        self._best_theta = self.theta.copy()
        self._recorder = Recorder(False, self.theta)
        self._path: list[Array] = [self.theta.copy()]
        self._path_stride = 1
        self._last_lr = math.nan
        if self.batch_size is not None:
            from .data import batches

            assert self.n_samples is not None
            own = getattr(self.objective, "batches", None)  # e.g. Dask samples chunks
            rng = np.random.default_rng(self.seed)
            self._batches = (
                own(self.batch_size, rng)
                if callable(own)
                else batches(self.n_samples, self.batch_size, rng)
            )
            self._steps_per_epoch = math.ceil(self.n_samples / self.batch_size)

    def set_learning_rate(self, learning_rate: float) -> None:
        """Change the (peak) learning rate from the next update on, keeping θ and the state.

        After a divergence (θ was rolled back to the last good one) this also restarts the
        optimizer state there and clears the stop, so the run can go on at the new rate.
        """
        self.rate.set(learning_rate)
        if self.stop_reason == "diverged":
            self.state = self.opt.init(self.theta)
            self.stop_reason, self.message = None, ""
            self._guard = _Guard()

    @property
    def learning_rate(self) -> float:
        """The peak learning rate set now."""
        return self.rate.value

    @property
    def current_lr(self) -> float:
        """The rate the next update will use (the schedule at the current step)."""
        return self.rate(self.k)

    @property
    def stopped(self) -> bool:
        """True when :meth:`step` would make no update (diverged or max_steps reached)."""
        return self.stop_reason in ("diverged", "max_steps")

    # -- stepping --------------------------------------------------------------------------
    def step(self, n: int = 1, max_seconds: float | None = None) -> StepBatch:
        """Make up to ``n`` updates (fewer when the run stops or ``max_seconds`` runs out).

        A converged session goes on when stepped again (its stopping counter restarts); a
        diverged one waits for :meth:`set_learning_rate` or :meth:`reset`.

        Returns
        -------
        StepBatch
            The updates made by this call.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a whole number ≥ 0, got {n!r}")
        if self.stop_reason == "converged":
            self.stop_reason, self.message = None, ""
            self._guard.calm = 0
        deadline = None if max_seconds is None else time.perf_counter() + max_seconds
        rows: list[tuple[int, float, float, float, float]] = []
        thetas: list[Array] = []
        for _ in range(n):
            if self.stopped:
                break
            if self.k >= self.max_steps:
                self.stop_reason = "max_steps"
                self.message = f"stopped after max_steps = {self.max_steps} updates"
                break
            row = self._one_step()
            if row is None:
                break
            rows.append(row)
            thetas.append(self.theta.copy())
            if self.stop_reason is not None:
                break
            if deadline is not None and time.perf_counter() >= deadline:
                break
        p = self.theta.shape[0]
        cols = list(zip(*rows, strict=True)) if rows else [()] * 5
        return StepBatch(
            step=np.asarray(cols[0], dtype=np.int64),
            loss=np.asarray(cols[1], dtype=np.float64),
            grad_norm=np.asarray(cols[2], dtype=np.float64),
            step_size=np.asarray(cols[3], dtype=np.float64),
            lr=np.asarray(cols[4], dtype=np.float64),
            params=np.vstack(thetas) if thetas else np.zeros((0, p)),
        )

    def _one_step(self) -> tuple[int, float, float, float, float] | None:
        """One iteration of the loop in :func:`descend.minimize`; None when it stopped first."""
        g_ = self._guard
        obj, theta, k = self.objective, self.theta, self.k
        full_batch = self.batch_size is None
        if full_batch:
            loss, g = obj.value_and_grad(theta)
        else:
            loss, g = obj.value_and_grad(theta, next(self._batches))
        loss = float(loss)
        gnorm = float(np.linalg.norm(g))
        self.loss = loss
        if g_.loss0 is None:
            g_.loss0 = loss
        finite = math.isfinite(loss) and math.isfinite(gnorm)
        if full_batch and finite and loss < g_.best_loss:
            self._best_theta, g_.best_loss = theta.copy(), loss
        if full_batch and finite and loss > g_.prev_loss and loss > self._rise_floor * g_.loss0:
            g_.rising += 1
        else:
            g_.rising = 0
        blown = not full_batch and finite and loss > 1e12 * max(g_.loss0, 1e-300)
        if not finite or g_.rising >= self.rise_patience or blown:
            self._diverge(loss, not finite or blown)
            return None
        if full_batch:
            if gnorm <= self.gtol:
                self.stop_reason = "converged"
                self.message = f"‖g‖ = {gnorm:.3g} ≤ gtol = {self.gtol:g}"
                return None
            if k > 0 and math.isfinite(g_.prev_loss):
                denom = max(abs(loss), np.finfo(np.float64).eps * abs(g_.loss0))
                change = abs(g_.prev_loss - loss) / denom if denom > 0 else 0.0
                g_.calm = g_.calm + 1 if change <= self.tol else 0
                if g_.calm >= self.patience:
                    self.stop_reason = "converged"
                    self.message = (
                        f"relative loss change ≤ tol = {self.tol:g} for "
                        f"{self.patience} steps in a row (at step {k})"
                    )
                    return None
        g_.prev_loss = loss

        u, self.state = self.opt.update(g, self.state, theta)
        lr = float(self.opt.learning_rate(k))
        self._last_lr = lr
        self.theta = theta + u
        self.k = k + 1
        step_size = float(np.linalg.norm(u))
        self._recorder.add(k, loss, gnorm, step_size, lr)
        self._add_to_path(self.theta)

        if not full_batch and self.k % self._steps_per_epoch == 0:
            full = float(obj.value(self.theta))
            if math.isfinite(full) and full < g_.best_loss:
                self._best_theta, g_.best_loss = self.theta.copy(), full
            if g_.epoch_losses:
                first = g_.epoch_losses[0]
                denom = max(abs(full), np.finfo(np.float64).eps * abs(first))
                change = abs(g_.epoch_losses[-1] - full) / denom if denom > 0 else 0.0
                g_.calm = g_.calm + 1 if change <= self.tol else 0
                if g_.calm >= self.patience:
                    self.stop_reason = "converged"
                    self.message = (
                        f"full loss changed by ≤ tol = {self.tol:g} (relative) for "
                        f"{self.patience} epochs in a row"
                    )
            g_.epoch_losses.append(full)
        return (k, loss, gnorm, step_size, lr)

    def _diverge(self, loss: float, nonfinite: bool) -> None:
        from .train import _divergence_message

        if self.advice is None and getattr(self.objective, "model", None) is not None:
            try:
                self.advice = advise(self.objective, self._best_theta)
            except (ValueError, np.linalg.LinAlgError):
                self.advice = None
        self.stop_reason = "diverged"
        self.message = _divergence_message(
            self.k, loss, self._last_lr, self.advice, nonfinite, self.objective
        )
        self.theta = self._best_theta.copy()
        self._add_to_path(self.theta)

    def _add_to_path(self, theta: Array) -> None:
        if self.k % self._path_stride == 0 or self.stop_reason == "diverged":
            self._path.append(theta.copy())
        if len(self._path) > self.path_limit:
            self._path = self._path[::2]
            self._path_stride *= 2

    # -- looking at the run ----------------------------------------------------------------
    @property
    def history(self) -> History:
        """Every update so far (loss, grad_norm, step_size, lr), as a :class:`History`."""
        return self._recorder.history()

    def path(self, i: int | None = None, j: int | None = None) -> Array:
        """θ along the run, thinned to at most ``path_limit`` rows: shape (m, p), or (m, 2)
        for the two coordinates ``i`` and ``j``; the first row is θ₀, the last the current θ."""
        rows = (
            self._path if np.array_equal(self._path[-1], self.theta) else [*self._path, self.theta]
        )
        P = np.vstack(rows)
        if i is None or j is None:
            return P
        self._check_index(i)
        self._check_index(j)
        return P[:, [i, j]]

    def _check_index(self, i: int) -> None:
        p = self.theta.shape[0]
        if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= i < p:
            raise ValueError(f"parameter index must be a whole number in 0..{p - 1}, got {i!r}")

    def snapshot(self) -> dict[str, Any]:
        """The state in plain Python types (JSON-ready)."""
        return {
            "k": self.k,
            "theta": self.theta.tolist(),
            "loss": None if not math.isfinite(self.loss) else self.loss,
            "learning_rate": self.learning_rate,
            "current_lr": self.current_lr,
            "schedule": self.rate.schedule_name,
            "optimizer": self.optimizer_name,
            "batch_size": self.batch_size,
            "stop_reason": self.stop_reason,
            "message": self.message,
            "stopped": self.stopped,
        }


def loss_grid(objective: Any, theta: Any, i: int, j: int, a: Any, b: Any) -> Array:
    """The objective over a grid of two coordinates of θ, the others held fixed.

    Parameters
    ----------
    objective : Objective
    theta : array-like, shape (p,)
        The point whose other coordinates are held fixed.
    i, j : int
        The two coordinates that vary (i ≠ j).
    a, b : array-like, shapes (na,) and (nb,)
        Values for θ_i (columns) and θ_j (rows).

    Returns
    -------
    ndarray, shape (nb, na)
        ``Z[r, c] = f(θ with θ_i = a[c], θ_j = b[r])``; non-finite values become NaN.
    """
    theta = np.array(theta, dtype=np.float64).reshape(-1)
    p = theta.shape[0]
    for idx in (i, j):
        if isinstance(idx, bool) or not isinstance(idx, int | np.integer) or not 0 <= idx < p:
            raise ValueError(f"parameter index must be a whole number in 0..{p - 1}, got {idx!r}")
    if i == j:
        raise ValueError(f"choose two different parameters (got {i} twice)")
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    Z = np.empty((b.shape[0], a.shape[0]))
    point = theta.copy()
    with np.errstate(all="ignore"):
        for r, bv in enumerate(b):
            point[j] = bv
            for c, av in enumerate(a):
                point[i] = av
                Z[r, c] = float(objective.value(point))
    Z[~np.isfinite(Z)] = np.nan
    return Z
