"""Backtracking (Armijo) line search: pick the step length from the objective itself.

Given θ, the gradient g = ∇f(θ) and a descent direction d (gᵀd < 0), :func:`backtracking` tries
t = lr0, lr0·shrink, lr0·shrink², … and accepts the first t with *sufficient decrease*

    f(θ + t·d) ≤ f(θ) + c · t · gᵀd          (the Armijo condition, 0 < c < 1).

Recommended use in a descent loop (what ``learning_rate="armijo"`` does):

* direction = the optimizer's update computed with learning rate 1 (for plain GD, d = −g);
* warm start: lr0 = 2 × the previously accepted step (lr0 = 1.0, or the user's learning rate, on
  the first step), so the step can grow again after a cautious phase while each search usually
  costs only one or two extra evaluations of f;
* a returned step of 0.0 means no step length passed within ``max_halvings`` halvings (θ is at a
  minimum to machine precision, or d is barely a descent direction): the loop should stop or
  fall back rather than keep searching.

Line search compares values of *one* function, so it needs full-batch descent: a mini-batch loss
changes from step to step. :func:`require_full_batch` gives the loop its error message.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = ["backtracking", "ArmijoNotForMinibatch", "require_full_batch", "SupportsValue"]


@runtime_checkable
class SupportsValue(Protocol):
    """Anything with ``value(θ) -> float`` (an :class:`~descend.problems.objective.Objective`)."""

    def value(self, theta: Array) -> float:
        """f(θ) for θ of shape (p,)."""
        ...


class ArmijoNotForMinibatch(ValueError):  # noqa: N818 (name fixed by the API)
    """Backtracking line search was asked for with mini-batch or stochastic sampling."""


def require_full_batch(batch_size: int | None, n_samples: int | None = None) -> None:
    """Raise :class:`ArmijoNotForMinibatch` unless descent is full-batch.

    Parameters
    ----------
    batch_size : int or None
        The loop's ``batch_size``; None means full batch.
    n_samples : int, optional
        Number of samples; when given, ``batch_size >= n_samples`` also counts as full batch.

    >>> require_full_batch(None)
    >>> require_full_batch(32)
    Traceback (most recent call last):
    ...
    descend.descent.linesearch.ArmijoNotForMinibatch: learning_rate="armijo" (backtracking line
    search) \
needs full-batch descent: set batch_size=None (got batch_size=32)
    """
    if batch_size is None or (n_samples is not None and batch_size >= n_samples):
        return
    raise ArmijoNotForMinibatch(
        'learning_rate="armijo" (backtracking line search) needs full-batch descent: '
        f"set batch_size=None (got batch_size={batch_size!r})"
    )


def _evaluator(objective: SupportsValue | Callable[[Array], float]) -> Callable[[Array], float]:
    if callable(objective):  # a plain f(θ); an Objective is not callable and has .value
        return objective
    try:
        return objective.value
    except AttributeError:
        raise TypeError(
            "objective must have a .value(theta) method or be callable, "
            f"got {type(objective).__name__}"
        ) from None


def backtracking(
    objective: SupportsValue | Callable[[Array], float],
    theta: Array,
    g: Array,
    direction: Array,
    *,
    loss: float | None = None,
    lr0: float = 1.0,
    c: float = 1e-4,
    shrink: float = 0.5,
    max_halvings: int = 60,
) -> tuple[float, float]:
    """Armijo backtracking: the first t = lr0·shrinkᵏ with f(θ + t·d) ≤ f(θ) + c·t·gᵀd.

    Parameters
    ----------
    objective : object with ``value(θ) -> float``, or a callable ``f(θ)``
        The function being minimised.
    theta : ndarray, shape (p,)
        Current point θ.
    g : ndarray, shape (p,)
        Gradient ∇f(θ).
    direction : ndarray, shape (p,)
        Search direction d; must satisfy gᵀd < 0. For GD, d = −g; in general, the optimizer's
        update at learning rate 1.
    loss : float, optional
        f(θ) if already known (saves one evaluation).
    lr0 : float
        First trial step, > 0. Recommended: 2 × the previously accepted step (warm start).
    c : float
        Sufficient-decrease constant in (0, 1).
    shrink : float
        Factor applied to t after each rejection, in (0, 1).
    max_halvings : int
        At most this many reductions (so at most ``max_halvings + 1`` evaluations of f).

    Returns
    -------
    t : float
        The accepted step length, or 0.0 if none was accepted.
    f_new : float
        f(θ + t·d) (f(θ) when t = 0.0).

    Raises
    ------
    ValueError
        If d is not a descent direction (gᵀd ≥ 0 or not finite), f(θ) is not finite, or a
        parameter is out of range.

    Notes
    -----
    Trial points where f is not finite (overflow) are rejected like any other failing step.

    The test compares *values* of f, so it stops resolving progress once the decrease
    t·‖g‖² falls below the rounding error of f (about ε·|f|): near a minimum θ is located only
    to roughly √ε relative accuracy (≈ 1e-8 … 1e-6 in practice). Expect tiny accepted steps or
    t = 0.0 there; a loop should then stop (gradient-norm or loss-change tolerance).

    Examples
    --------
    >>> f = lambda th: float(th @ th)              # f(θ) = ‖θ‖², ∇f = 2θ
    >>> theta = np.array([1.0, 0.0]); g = 2 * theta
    >>> backtracking(f, theta, g, -g)              # t = 1 overshoots to −θ; t = ½ lands on 0
    (0.5, 0.0)
    """
    if not (isinstance(lr0, numbers.Real) and math.isfinite(lr0) and lr0 > 0):
        raise ValueError(f"Invalid lr0: {lr0!r} (must be a positive finite number)")
    if not (isinstance(c, numbers.Real) and 0 < c < 1):
        raise ValueError(f"Invalid c: {c!r} (must be in (0, 1))")
    if not (isinstance(shrink, numbers.Real) and 0 < shrink < 1):
        raise ValueError(f"Invalid shrink: {shrink!r} (must be in (0, 1))")
    if (
        isinstance(max_halvings, bool)
        or not isinstance(max_halvings, numbers.Integral)
        or max_halvings < 0
    ):
        raise ValueError(f"Invalid max_halvings: {max_halvings!r} (must be an integer >= 0)")

    f = _evaluator(objective)
    theta = np.asarray(theta, dtype=np.float64)
    d = np.asarray(direction, dtype=np.float64)
    slope = float(np.dot(np.asarray(g, dtype=np.float64), d))
    if not slope < 0:
        raise ValueError(
            f"direction is not a descent direction: gᵀd = {slope!r} (must be < 0); "
            "for gradient descent use direction = -g"
        )
    f0 = float(f(theta)) if loss is None else float(loss)
    if not math.isfinite(f0):
        raise ValueError(f"f(θ) is not finite ({f0!r}): cannot search from here")

    t = float(lr0)
    for k in range(max_halvings + 1):
        if k:
            t = lr0 * shrink**k
        with np.errstate(over="ignore", invalid="ignore"):
            f_new = float(f(theta + t * d))
        if math.isfinite(f_new) and f_new <= f0 + c * t * slope:
            return t, f_new
    return 0.0, f0
