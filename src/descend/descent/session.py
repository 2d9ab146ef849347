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
``minimize(objective, θ₀, …, max_steps=n)``: a session wraps the very
:class:`~descend.descent.loop.Descent` that :func:`descend.minimize` drives, and adds only what a
steerable shell needs — a learning rate that can change mid-run (:class:`AdjustableRate`),
going on after a divergence at a new rate, a thinned path for plots, a time budget per call and
a JSON-ready snapshot.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.descent import optim as _optim
from descend.descent.history import History
from descend.descent.loop import Descent, check_batch_size
from descend.descent.minimize import optimizer_name
from descend.descent.rates import is_auto, needs_target_scale, resolve_rate
from descend.descent.schedules import as_schedule, get_schedule
from descend.descent.verdicts import DEFAULT_GTOL, DEFAULT_PATIENCE, DEFAULT_TOL
from descend.problems.build import Problem, prepare
from descend.problems.curvature import Advice
from descend.problems.objective import Objective

Array = NDArray[np.float64]

__all__ = ["Session", "AdjustableRate"]


class AdjustableRate:
    """A learning-rate schedule whose peak rate can be changed while a run is going.

    The optimizer keeps a reference to this object and calls it with its own step counter, so
    :meth:`set` takes effect at the next update without touching the optimizer state.

    Parameters
    ----------
    learning_rate : float
        The (peak) rate η > 0.
    schedule : str, optional
        A schedule name for :func:`descend.descent.schedules.get_schedule`; None is a constant rate.
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


class Session:
    """Gradient descent on an objective, advanced a few steps at a time.

    Parameters
    ----------
    objective : Objective or Problem
        Anything with ``value_and_grad(θ)``; a data objective (with ``n_samples``) also allows
        mini-batches. A :class:`~descend.problems.build.Problem` (what
        :func:`~descend.problems.build.build_problem` makes, as the playground does) runs on
        its objective — preconditioned when "auto" chose so — while θ, the path and the
        history are shown in the model's coordinates.
    theta0 : array-like, shape (p,), optional
        The start (copied); default the problem's θ₀ (or the model's seeded random start).
    optimizer : str
        An update rule by name (``"gd"``, ``"adam"`` …, see :func:`descend.descent.optim.get`).
    learning_rate : float or "auto"
        The (peak) learning rate; "auto" resolves it (and β) from the curvature exactly as
        :func:`descend.fit` does. Change it later with :meth:`set_learning_rate`.
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
    track_sharpness : int, optional
        Measure the sharpness every this many steps into the history's ``sharpness`` column
        (the loop's tracking, :class:`~descend.descent.loop.Descent`); the playground does
        it for networks.
    **hyper
        Optimizer hyperparameters (``beta=0.9``, ``b1=…``).

    A :class:`~descend.problems.build.Problem` built with ``validation_fraction`` (its
    ``validation`` objective, the held-out rows' loss without the penalty) is validated as
    :func:`descend.fit` validates: the held-out loss at θ_k is recorded every step (every
    epoch's end for mini-batches) into the history's ``val_loss`` (:meth:`val_curve` gives
    the steps too). A session does not stop early on it: the playground shows the curve.

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
        theta0: Any = None,
        optimizer: str = "gd",
        learning_rate: float = 0.01,
        *,
        schedule: str | None = None,
        batch_size: int | None = None,
        seed: int | None = 0,
        max_steps: int = 10_000,
        tol: float = DEFAULT_TOL,
        patience: int = DEFAULT_PATIENCE,
        gtol: float = DEFAULT_GTOL,
        rise_patience: int = 10,
        advice: Advice | None = None,
        path_limit: int = 4000,
        track_sharpness: int | None = None,
        **hyper: Any,
    ) -> None:
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0:
            raise ValueError(f"max_steps must be a whole number ≥ 0, got {max_steps!r}")
        if not (tol >= 0) or not (gtol >= 0):
            raise ValueError(f"tol and gtol must be ≥ 0, got tol={tol!r}, gtol={gtol!r}")
        if patience < 1 or rise_patience < 1:
            raise ValueError("patience and rise_patience must be ≥ 1")
        if isinstance(objective, Problem):
            problem = objective
        else:
            problem = prepare(
                objective,
                auto_rate=is_auto(learning_rate),
                seed=seed,
                theta0=theta0,
                reference=False,
                advice=advice,
            )
        self.problem = problem
        #: the objective in the model's coordinates θ (what the contour shows)
        self.objective: Objective = problem.base
        self.n_samples: int | None = problem.objective.n_samples
        self.batch_size = check_batch_size(problem.objective, batch_size)
        self.optimizer_name = optimizer_name(optimizer)
        rate = resolve_rate(
            learning_rate,
            self.optimizer_name,
            advice=problem.advice,
            target_scale=(
                problem.target_scale
                if needs_target_scale(learning_rate, self.optimizer_name)
                else 1.0
            ),
            hyper=hyper,
            batch_size=batch_size,
            constant=True,  # a session steers its rate
            smoothable=problem.objective.smoothable,
            line_search_pays=problem.objective.line_search_pays,
        )
        if rate.line_search or not isinstance(rate.learning_rate, float):
            raise ValueError(
                "a Session steers a constant (or named-schedule) rate: give a number or 'auto'"
            )
        #: what "auto" resolved and chose (notes for the page)
        self.notes = problem.notes + rate.notes
        self.hyper = dict(rate.hyper)
        self.rate = AdjustableRate(rate.learning_rate, schedule, max_steps)
        self.opt = _optim.get(self.optimizer_name, self.rate, **self.hyper)
        if problem.objective.has_prox:  # an L1 penalty: proximal steps (ISTA), as minimize
            self.opt = _optim.proximal(self.opt, problem.objective.prox)
        self.seed = seed
        self.max_steps = max_steps
        self.tol, self.patience, self.gtol = float(tol), int(patience), float(gtol)
        self.rise_patience = int(rise_patience)
        self.path_limit = max(int(path_limit), 2)
        self.track_sharpness = track_sharpness
        start = problem.theta0 if theta0 is None else theta0
        self.theta0 = np.array(start, dtype=np.float64).reshape(-1)
        self._run = self._new_run(problem.advice)
        self._path: list[Array] = [self.theta0.copy()]
        self._path_stride = 1

    # -- life cycle ------------------------------------------------------------------------
    def reset(self, theta0: Any = None) -> None:
        """Start again from θ₀ (or a new start): fresh optimizer state, history and shuffling."""
        if theta0 is not None:
            theta = np.array(theta0, dtype=np.float64).reshape(-1)
            if theta.shape != self.theta0.shape or not np.all(np.isfinite(theta)):
                raise ValueError(f"theta0 must be {self.theta0.shape[0]} finite numbers")
            self.theta0 = theta
        # keep advice computed to explain an earlier divergence
        self._run = self._new_run(self._run.advice)
        self._path = [self.theta0.copy()]
        self._path_stride = 1

    def _new_run(self, advice: Advice | None) -> Descent:
        """A fresh :class:`Descent` from θ₀ (in the coordinates descent runs in)."""
        return Descent(
            self.problem.objective,
            self.problem.plan.pre.from_model(self.theta0),
            self.opt,
            max_steps=self.max_steps,
            batch_size=self.batch_size,
            seed=self.seed,
            tol=self.tol,
            patience=self.patience,
            gtol=self.gtol,
            rise_patience=self.rise_patience,
            advice=advice,
            track_sharpness=self.track_sharpness,
            validation=self.problem.validation,
        )

    def set_learning_rate(self, learning_rate: float) -> None:
        """Change the (peak) learning rate from the next update on, keeping θ and the state.

        After a divergence (θ was rolled back to the last good one) this also restarts the
        optimizer state there and clears the stop, so the run can go on at the new rate.
        """
        self.rate.set(learning_rate)
        if self.stop_reason == "diverged":
            self._run.restart()

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

    # -- the run's state (owned by the Descent) --------------------------------------------
    @property
    def theta(self) -> Array:
        """The current θ in the model's coordinates (after a divergence: the last good θ)."""
        return self._to_model(self._run.theta)

    def _to_model(self, phi: Array) -> Array:
        """θ from the coordinates descent runs in (the identity without a preconditioner)."""
        return np.asarray(self.problem.plan.pre.to_model(phi))

    @property
    def k(self) -> int:
        """Updates made so far."""
        return self._run.k

    @property
    def loss(self) -> float:
        """The last loss evaluated (NaN before the first step)."""
        return self._run.loss

    @property
    def state(self) -> Any:
        """The optimizer's state."""
        return self._run.opt_state

    @property
    def stop_reason(self) -> str | None:
        """None while the run may go on; ``"converged"``, ``"max_steps"`` or ``"diverged"``."""
        return self._run.stop_reason

    @property
    def message(self) -> str:
        """Why it stopped (for divergence: the loop's explanation), or ""."""
        return self._run.message

    @property
    def advice(self) -> Advice | None:
        """Curvature advice (given, or computed to explain a divergence)."""
        return self._run.advice

    # -- stepping --------------------------------------------------------------------------
    def step(self, n: int = 1, max_seconds: float | None = None) -> History:
        """Make up to ``n`` updates (fewer when the run stops or ``max_seconds`` runs out).

        A converged, stationary or stalled session goes on when stepped again (its counters
        restart); a
        diverged one waits for :meth:`set_learning_rate` or :meth:`reset`.

        Returns
        -------
        History
            The updates made by this call: a slice of the run's one record
            (:meth:`descend.descent.history.Recorder.history`), with ``params`` of shape
            (m + 1, p) — θ before the first of these updates and after each.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a whole number ≥ 0, got {n!r}")
        run = self._run
        if run.stop_reason in ("converged", "stationary", "stalled"):
            run.clear_stop()
        deadline = None if max_seconds is None else time.perf_counter() + max_seconds
        first = run.k
        first_val = len(run.val_losses)
        thetas: list[Array] = [self.theta.copy()]

        def collect(k: int, phi: Array, loss: float) -> bool:  # θ_{k+1}, for the path
            theta = self._to_model(phi)
            thetas.append(theta.copy())
            self._add_to_path(theta, k + 1)
            return False

        # Descent.run in chunks (the loop's one body, the same steps as one step() at a
        # time); without a deadline one chunk, with one the clock is read between chunks,
        # which grow while they take under a quarter of the time left
        previous, run.callback = run.callback, collect
        try:
            left, chunk = n, n if deadline is None else 1
            while left > 0 and not self.stopped:
                t0 = time.perf_counter()
                made_now = run.run(min(chunk, left))
                left -= made_now
                if run.stop_reason is not None or made_now == 0:
                    if run.stop_reason == "diverged":
                        self._add_to_path(self.theta, self.k, keep=True)  # the rolled-back θ
                    break
                if deadline is not None:
                    now = time.perf_counter()
                    if now >= deadline:
                        break
                    if now - t0 < 0.25 * (deadline - now):
                        chunk *= 2
                    else:
                        chunk = max(1, chunk // 2)
        finally:
            run.callback = previous
        made = run.recorder.history(start=first)
        made.params = np.vstack(thetas)
        if self.has_validation:
            made.val_loss = np.asarray(run.val_losses[first_val:], dtype=np.float64)
        return made

    def _add_to_path(self, theta: Array, k: int, keep: bool = False) -> None:
        """Keep θ_k on the drawn path (every ``_path_stride``-th, halved past the limit)."""
        if keep or k % self._path_stride == 0:
            self._path.append(theta.copy())
        if len(self._path) > self.path_limit:
            self._path = self._path[::2]
            self._path_stride *= 2

    # -- looking at the run ----------------------------------------------------------------
    @property
    def history(self) -> History:
        """Every update so far (loss, grad_norm, step_size, lr; ``val_loss`` with a
        validation split), as a :class:`History`."""
        h = self._run.recorder.history()
        if self.has_validation:
            h.val_loss = np.asarray(self._run.val_losses, dtype=np.float64)
        return h

    @property
    def has_validation(self) -> bool:
        """The problem holds rows out (``validation_fraction``): the held-out loss is
        recorded."""
        return self.problem.validation is not None

    @property
    def n_val(self) -> int:
        """How many held-out losses have been recorded (0 without a validation split)."""
        return len(self._run.val_losses)

    def val_curve(self, start: int = 0) -> tuple[NDArray[np.int64], Array]:
        """The held-out loss records from the ``start``-th on: the steps k, shape (m,), and
        L_val(θ_k), shape (m,) — one per step (full batch) or per epoch's end (mini-batches);
        empty without a validation split."""
        run = self._run
        return (
            np.asarray(run.val_steps[start:], dtype=np.int64),
            np.asarray(run.val_losses[start:], dtype=np.float64),
        )

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
            "certificate": None
            if self._run.certificate is None
            else self._run.certificate.to_dict(),
            "stopped": self.stopped,
        }
