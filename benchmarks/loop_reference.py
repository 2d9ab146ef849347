"""The descent loop as it ran before chunks: one ``Descent.step`` per iteration (issue 19).

``Descent.run`` (the loop's one body: counters in local variables, records written into
preallocated buffers, fused in-place updates; ``Descent.step`` is ``run(1)``) must give *bit
for bit* what this step-by-step loop gives: the same stop reason, step count, message, history
and θ, with every feature (line search, smoothing, validation, separation, L1, sharpness,
state norms). :func:`reference_run` is the driver the
loop used before (``while step() is not None and stop_reason is None``, one step per call) and
:func:`reference_step` is a verbatim copy of ``Descent.step`` at that time (commit f1bea6c),
kept here so that a later change to either body is compared against the original. (One
call follows a later change of a rule's method: ``_escaping``, the separated rule, lost its
``prev_loss`` argument.)
``tests/test_loop_run.py`` patches ``Descent.run`` with :func:`reference_run` to produce the
reference fits; ``benchmarks/small.py`` can time it beside the new loop.
"""

# ruff: noqa: E501

from __future__ import annotations

import math
from typing import Any

import numpy as np

from descend.descent.linesearch import backtracking
from descend.descent.loop import _EPS, _SQRT_EPS, _norm, _state_norms

__all__ = ["reference_run", "reference_step"]


def reference_run(self: Any, n: int) -> int:
    """``n`` calls of :func:`reference_step` (fewer when the run stops): the old driver."""
    made = 0
    while made < n and self.stop_reason is None:
        if reference_step(self) is None:
            break
        made += 1
    return made


def reference_step(self: Any) -> Any:
    """Make one iteration (see the class docstring).

    Returns
    -------
    tuple or None
        The history row ``(k, L_k, ‖g_k‖, ‖u_k‖, η_k)`` of the update made, or None when
        the run stopped before updating (or had stopped already). An update can also end
        the run (the callback, a mini-batch epoch's convergence): check
        :attr:`stop_reason`.
    """
    if self.stop_reason is not None:
        return None
    k = self.k
    if k >= self.max_steps:
        self.stop("max_steps", self._budget_message())
        return None
    self.at_boundary = False
    theta, full_batch = self.theta, self.full_batch
    objective = self.objective if self.smoothing is None else self._stage_objective(theta)
    if full_batch:
        loss, g = objective.value_and_grad(theta)
    else:
        if self.grad0 is None:  # the full gradient at θ₀: what "stationary" is relative to
            self.grad0 = float(np.linalg.norm(objective.value_and_grad(theta)[1]))
        loss, g = objective.value_and_grad(theta, next(self.batches))
    loss = float(loss)
    # with an L1 part, stationarity is the minimum-norm subgradient of the whole objective
    gnorm = _norm(objective.stationarity(theta, g) if self.prox else g)
    self.loss = loss
    self.last_gnorm = gnorm
    loss0 = self.loss0
    if loss0 is None:
        self.loss0 = loss0 = loss
    if self.grad0 is None:
        self.grad0 = gnorm
    prev_loss = self.prev_loss
    finite = math.isfinite(loss) and math.isfinite(gnorm)

    # divergence guard: non-finite, or growth the rule that ran does not allow
    prev_best = self.best_loss
    if full_batch and finite and loss < self.best_loss:
        self.best_theta, self.best_loss = theta.copy(), loss
    if full_batch and gnorm < 0.99 * self.grad_low:  # a new low of ‖∇L‖ by more than 1 %
        self.low_gap, self.last_low, self.grad_low = k - self.last_low, k, gnorm
    a0 = abs(loss0)
    blown = finite and loss > 1e12 * (1e-300 if a0 < 1e-300 else a0)  # max, inlined
    if full_batch and finite and loss > prev_loss and loss > self.rise_floor * loss0:
        self.rising += 1
    else:
        self.rising = 0
    rising = self.rising >= self.rise_patience and not self._within_limit()
    if not finite or blown or rising:
        self._diverge(loss, "non-finite" if not finite else "blown" if blown else "rising")
        return None

    if full_batch:
        # the gradient's direction reversing step after step: oscillation
        prev_g = self.prev_grad
        reversed_ = prev_g is not None and float(np.dot(g, prev_g)) < 0.0
        self.flips = self.flips + 1 if reversed_ else 0
        self.prev_grad = (
            g.copy()
            if type(g) is np.ndarray and g.dtype == np.float64
            else np.array(g, dtype=np.float64)
        )
        if self.validation is not None and self._validate(theta, k):
            return None
        if self.may_separate and self._separated(theta, k):
            return None
        if self.known_separable and self._escaping(theta, loss, k, "steps"):
            return None
        if self._stage_done(loss, gnorm, k):
            return reference_step(self)  # the next, smaller δ, from the same θ
        if self._settled(loss, gnorm, k):
            return None
        # a stall: for `patience` steps no new low of the loss (beyond rounding) while it
        # hardly moves (≤ √ε relative: rounding noise, not momentum's transient rise)…
        scale, floor = abs(loss), _EPS * a0
        scale = floor if floor > scale else scale  # a perfect fit's loss is all rounding
        progress = loss < prev_best - self.stall_tol * scale
        still = math.isfinite(prev_loss) and abs(loss - prev_loss) <= _SQRT_EPS * scale
        self.calm = self.calm + 1 if still and not progress else 0
        # …and the gradient has set no new 1 % low for three times the gap between its
        # last two lows: slow but steady progress is never a stall, a stopped one is
        quiet = k - self.last_low >= self.stall_window and k - self.last_low >= 3 * self.low_gap
        if self.calm >= self.stall_window and quiet and k >= self.resume_at:
            if self._next_stage(loss):
                return reference_step(self)
            self._stall(gnorm, oscillating=self.flips >= self.patience)
            return None
    self.prev_loss = loss

    # the update
    u, new_state = self.opt.update(g, self.opt_state, theta)
    if self.line_search:
        t, _ = backtracking(objective, theta, g, u, loss=loss, lr0=2.0 * self.lr_ls)
        if t == 0.0 and self._next_stage(loss):
            return reference_step(self)
        if t == 0.0:
            self.stop(
                "stalled",
                "stalled: the line search found no decrease along the update direction "
                f"(‖∇L‖ = {gnorm:.3g}, {gnorm / (self.grad0 or 1.0):.2g} of the first "
                "gradient): the loss cannot fall further in floating point here"
                + self._bound_text(),
            )
            return None
        self.lr_ls = lr = t
        u = t * u
    else:
        # the η this update applied, from the rule's own step count (a restart resets it)
        applied = self.opt.applied_lr
        lr = applied(new_state) if applied is not None else float(self.opt.learning_rate(k))
    self.last_lr = lr
    self.opt_state = new_state
    theta_k = theta
    self.theta = theta = theta + u
    self.k = k + 1
    if self.average is not None and self.k > self.average:  # θ̄ ← θ̄ + (θ_k − θ̄)/m
        self.avg_count += 1
        if self.avg_theta is None:
            self.avg_theta = theta.copy()
        else:
            self.avg_theta += (theta - self.avg_theta) / self.avg_count
    step_size = _norm(u)
    self.recorder.add(
        k,
        loss,
        gnorm,
        step_size,
        lr,
        theta,
        _state_norms(new_state) if self.record_state else None,
        None if self.track_sharpness is None else self._measure(objective, theta_k, k),
    )
    row = (k, loss, gnorm, step_size, lr)
    epoch_end = not full_batch and (k + 1) % self.steps_per_epoch == 0
    self.at_boundary = not epoch_end
    callback = self.callback
    if callback is not None and callback(k, theta, loss):
        self.stop("interrupted", f"stopped by the callback at step {k + 1}")
        return row
    if epoch_end:
        self._end_epoch(theta)
    self.at_boundary = True
    return row
