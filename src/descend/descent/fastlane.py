"""The loop's fast lane: the common run's steps with the stopping rules read per chunk.

:meth:`descend.descent.loop.Descent.run` is the loop's one body: at every step it checks every
rule in the order the class docstring gives. On small problems (a few hundred rows) that
bookkeeping costs as much as the step's arithmetic, so for the common run — a built-in rule
with its in-place (:class:`~descend.descent.optim.Fused`) update, no line search, no L1 part,
no validation split or separation rules (full batch), no smoothing, no averaging, no extra
record, no callback, ``rise_patience`` ≥ 1, and (full batch) θ of at most
:data:`~descend.descent.loop.DEFER_REVERSALS` entries, whose reversal count is deferred —
``run`` makes each chunk's steps here first:

* :func:`full_batch_pass` makes up to ``m`` full-batch steps keeping only what each step must
  keep (θ, the lowest-loss θ, the gradient's 1 % lows, the gradients for the reversal count,
  the rising counter, the record) and stops *before* a step at which a rule may fire: a loss
  or gradient norm that is not finite, a loss past the blow-up bound, the converged test (the
  certificate, decided by the run itself) or the stationary test, a rising run of
  ``rise_patience`` steps, or a run of ``stall_window`` *still* steps (|L_j − L_{j−1}| ≤
  √ε·max(|L_j|, ε·|L_0|): every calm step is still, so a stall needs such a run) ending where
  the gradient is quiet (the stall rule's own test on the 1 % lows of ‖∇L‖). These
  tests are the full body's own (the still run bounds the calm run from above), so in the
  steps the pass makes no rule fires, and its state after them is the full body's state,
  exactly; the step it stopped before, and the rest of the chunk, are the full body's. The
  calm counter (calm: still *and* no new low of the loss) is computed after the pass from its
  losses, vectorised, by :func:`calm_after`; the reversal count is the body's deferred one.
* :func:`batch_pass` makes mini-batch steps up to the end of the current epoch. A mini-batch
  step has one per-step rule, the divergence guard on the batch loss (non-finite or blown up;
  no rising run), which the pass applies itself at the step; the epoch's end and its rules
  are the full body's.

With the compiled kernels opted in (:func:`descend.problems.fused.enabled`), a full-batch
chunk of at least :data:`MIN_COMPILED` steps on an objective that declares
:meth:`~descend.problems.objective.Objective.dense_least_squares` (linear least squares on a
dense design), with gd, momentum, Nesterov or Adam at a fixed rate, is made by
:func:`compiled_pass` instead (:mod:`descend.problems.fused_steps`): the same steps and state
to rounding, not bit for bit, about ten times faster at 442×10. Everything else, and every
run without the opt-in, takes the NumPy passes below, bit for bit the full body.

The full-batch pass runs under ``np.errstate`` with every floating-point error that would
warn or raise routed to a flag instead: a chunk that met one is made again from its start by
the full body under the caller's settings (θ_k, the counters and the record position are the
caller's and untouched; the rule's in-place state is rewound by
:meth:`~descend.descent.optim.Fused.rewind`), so that every warning (or exception) appears
once, at the step where the full body meets it. An exception in the pass does the same. The
mini-batch pass needs no second try: it runs under the caller's settings and stops where the
full body stops. The rules the full body calls are listed in :data:`FULL_BODY_RULES` with how
the fast lane sees each; ``tests/test_fastlane.py`` fails when the body calls a rule method
that the list does not name — a new per-step rule must get its test into the passes (or turn
the lane off for the runs that have it) before it is listed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.problems import fused, fused_steps

Array = NDArray[np.float64]

__all__ = [
    "FULL_BODY_RULES", "MIN_COMPILED", "Pass", "Route", "batch_pass", "calm_after",
    "compiled_pass", "compiled_route", "full_batch_pass",
]  # fmt: skip

#: every rule method the full body (``Descent.run``) calls, and how the fast lane sees it: the
#: passes stop before a step at which it may fire, or a run that has it does not take the lane
FULL_BODY_RULES: dict[str, str] = {
    "_diverge": "the passes stop before a non-finite or blown-up step, a rising run's last",
    "_within_limit": "the full-batch pass stops before a rising run's rise_patience-th step",
    "_settled": "the full-batch pass stops before a step whose certificate holds (the run's "
    "_certificate decides) or that passes the stationary test",
    "_stall": "the full-batch pass stops before a still run's stall_window-th step (or a later "
    "one) where the gradient is quiet",
    "_budget_message": "the chunk never passes max_steps",
    "_screen": "off (validation, separation, smoothing)",
    "_next_stage": "off (smoothing)",
    "_stage_objective": "off (smoothing)",
    "_line_search": "off (line search)",
    "_no_decrease": "off (line search)",
    "_record_more": "off (recorded state norms, tracked columns)",
    "_end_epoch": "mini-batch: the pass ends at the epoch's end, the full body makes it",
    "stop": "the callback is off; max_steps as above",
}

_DT = np.dtype(np.float64)


@dataclass
class Pass:
    """What a full-batch pass made: ``q`` steps, their records and the state after them."""

    q: int
    #: per step (lists from the NumPy pass, arrays of q entries from the compiled one)
    losses: list[float] | Array
    gnorms: list[float] | Array
    sizes: list[float] | Array
    #: the gradients the deferred reversal count needs: every step's (NumPy pass), or the
    #: last steps' from the one before the reversal run that ends the pass (compiled pass)
    grads: list[Array]
    theta: Array
    best_theta: Array
    best_loss: float
    grad_low: float
    last_low: int
    low_gap: int
    #: the rising counter after the pass
    rising: int = 0


def full_batch_pass(
    vg: Any,
    theta: Array,
    k: int,
    m: int,
    rates: list[float],
    apply: Any,
    u: Array | None,
    params: Array | None,
    i: int,
    best_theta: Array,
    best_loss: float,
    grad_low: float,
    last_low: int,
    low_gap: int,
    blow: float,
    floor: float,
    hit_c: float | None,
    dist_c: float,
    theta_floor: float,
    certificate: Any,
    hit_level: float,
    prev_loss: float,
    rising: int,
    still: int,
    rise_level: float,
    rise_patience: int,
    sqrt_eps: float,
    stall_window: int,
) -> Pass | None:
    """Up to ``m`` full-batch steps from θ_k (see the module docstring); None: a step met a
    floating-point error or an exception, so the full body must make the chunk.

    ``u``: gradient descent's update buffer (u = −η·g into it), None for the other rules
    (``apply(g, η)``). ``params``/``i``: the record's θ path and θ_k's row, or None.
    ``dist_c``, ``theta_floor``: (1 + 10⁻⁹)·μ·tol and ε·‖θ₀‖ (the distance bound's cheap test
    ‖g‖ ≤ dist_c·max(‖θ‖, theta_floor), widened past its rounding; ignored without μ; no test
    where ``dist_c`` is inf).
    ``hit_c``: 2μ·tol where μ is known, else None (stationary: ‖g‖ ≤ ``hit_level``, which is
    gtol·‖g₀‖, or 0 when gtol ≤ 0). Where μ is known, a step that passes the cheap test
    ‖g‖² ≤ hit_c·max(floor, |L|) is given to ``certificate`` (L, ‖g‖, θ ↦ the certificate or
    None: the run's own converged decision, ``Descent._certificate``): the pass stops before
    the step only where it holds. The cheap test alone bounds the excess loss; the certificate
    also needs the distance bound ‖g‖/μ ≤ tol·‖θ‖, which on a long fixed-rate run fails for
    thousands of steps after the excess bound holds — each of them a full-body step when the
    pass stopped at the cheap test.
    ``prev_loss``, ``rising``, ``still``: the previous loss, the rising counter and the calm
    counter before θ_k (a bound on the run of still steps); ``rise_level`` = rise_floor·L_0.

    The pass stops before a step where a rule may fire: a loss or gradient norm that is not
    finite, a loss past ``blow``, a holding certificate or the stationary test, a rising run of
    ``rise_patience`` steps, a run of ``stall_window`` still steps (|L_j − L_{j−1}| ≤
    √ε·max(|L_j|, ``floor``), which every calm step is) at a quiet gradient. So no rule fires
    in the steps it makes.
    """
    errors: list[str] = []
    modes: Any = {key: "ignore" if v == "ignore" else "call" for key, v in np.geterr().items()}
    losses: list[float] = []
    gnorms: list[float] = []
    sizes: list[float] = []
    grads: list[Array] = []
    add_l, add_g, add_s, add_grad = losses.append, gnorms.append, sizes.append, grads.append
    sqrt, ndarray, dt, inf, mul, add = math.sqrt, np.ndarray, _DT, math.inf, np.multiply, np.add
    mu_known = hit_c is not None
    c = 0.0 if hit_c is None else hit_c
    low_mark = 0.99 * grad_low  # the body's per-step bound, made once per new low
    j = 0
    try:
        with np.errstate(call=lambda kind, flag: errors.append(kind), **modes):
            for j in range(m):  # noqa: B007 (j: the steps made when the loop breaks)
                loss, g = vg(theta)
                loss = float(loss)
                if not (type(g) is ndarray and g.dtype is dt and g.ndim == 1):
                    break  # the full body converts it
                gnorm = sqrt(float(g.dot(g)))
                if not (-inf < loss <= blow and gnorm < inf):  # non-finite or blown up
                    break
                scale = abs(loss)
                if floor > scale:
                    scale = floor
                if mu_known:
                    # the certificate's two bounds, each first as a cheap necessary test (the
                    # distance one with a margin over its rounding), then the run's own decision
                    if (
                        gnorm * gnorm <= c * scale
                        and (
                            dist_c == inf
                            or gnorm <= dist_c * max(sqrt(float(theta.dot(theta))), theta_floor)
                        )
                        and certificate(loss, gnorm, theta) is not None
                    ):
                        break  # the certificate holds: the full body stops there
                elif gnorm <= hit_level:
                    break  # stationary
                # a stall needs `stall_window` calm steps, each one still (this test) and
                # without a new low, and a quiet gradient (no new 1 % low of ‖∇L‖ for
                # `stall_window` steps and for three times the gap between its last two lows,
                # this step's low counted): a still run that long with a quiet gradient goes
                # to the full body; a gradient still setting lows is slow, steady progress
                if abs(loss - prev_loss) <= sqrt_eps * scale:
                    still += 1
                    if still >= stall_window:
                        s = k + j
                        last, gap = (s, s - last_low) if gnorm < low_mark else (last_low, low_gap)
                        if s - last >= stall_window and s - last >= 3 * gap:
                            break
                else:
                    still = 0
                if loss > prev_loss and loss > rise_level:  # rising (the full body's test)
                    if rising + 1 >= rise_patience:
                        break
                    rising += 1
                else:
                    rising = 0
                prev_loss = loss
                if loss < best_loss:
                    best_theta, best_loss = theta, loss
                if gnorm < low_mark:  # a new low of ‖∇L‖ by more than 1 % (at step k + j)
                    low_gap, last_low, grad_low = k + j - last_low, k + j, gnorm
                    low_mark = 0.99 * grad_low
                add_grad(g)
                lr = rates[j]
                w = apply(g, lr) if u is None else mul(g, -lr, out=u)
                add_l(loss)
                add_g(gnorm)
                add_s(sqrt(float(w.dot(w))))
                theta = theta + w if params is None else add(theta, w, out=params[i + j + 1])
            else:
                j = m
    except Exception:  # the full body meets it again, at the step where it arises
        return None
    if errors:
        return None
    return Pass(j, losses, gnorms, sizes, grads, theta, best_theta, best_loss, grad_low,
                last_low, low_gap, rising)  # fmt: skip


#: chunks shorter than this take the NumPy pass: the compiled pass's setup (a transposed
#: copy of Z, its buffers) costs more than it saves on a few steps
MIN_COMPILED = 16

_NONE = np.zeros(0)


@dataclass
class Route:
    """What :func:`compiled_pass` needs, made once per ``Descent.run`` call: the compiled
    kernel, Zᵗ (shape (k, n), C-ordered), y (shape (n,)), the rule (its code, constants, fixed
    rate η and its :class:`~descend.descent.optim.Fused`, whose buffers the kernel updates)."""

    steps: Any
    Zt: Array
    y: Array
    kind: int
    constants: tuple[float, float, float]
    lr: float
    rule: Any


def compiled_route(objective: Any, rule: Any) -> Route | None:
    """The compiled pass's :class:`Route` for ``objective`` and the in-place rule ``rule``, or
    None where the NumPy pass runs: kernels not opted in
    (:func:`~descend.problems.fused.enabled`), a rule other than gd, momentum, Nesterov or
    Adam, a rate that is not fixed, underflow not ignored in the caller's floating-point
    settings, or an objective that does not declare
    :meth:`~descend.problems.objective.Objective.dense_least_squares`."""
    if rule.fixed is None or rule.kind not in fused_steps.KINDS or not fused.enabled():
        return None
    if np.geterr()["under"] != "ignore":  # an underflow leaves no trace the pass could test
        return None
    arrays = objective.dense_least_squares()
    if arrays is None:
        return None
    Z, y = arrays
    con = rule.constants
    constants = (float(con[0]), 0.0, 0.0) if len(con) == 1 else (0.0, 0.0, 0.0)
    if rule.kind == "adam":
        constants = (float(con[0]), float(con[1]), float(con[2]))
    return Route(fused_steps.steps(), np.ascontiguousarray(Z.T), np.ascontiguousarray(y),
                 fused_steps.KINDS[rule.kind], constants, float(rule.fixed), rule)  # fmt: skip


def compiled_pass(
    route: Route,
    theta: Array,
    k: int,
    m: int,
    params: Array | None,
    i: int,
    best_theta: Array,
    best_loss: float,
    grad_low: float,
    last_low: int,
    low_gap: int,
    blow: float,
    floor: float,
    hit_c: float | None,
    hit_level: float,
    prev_loss: float,
    rising: int,
    still: int,
    rise_level: float,
    rise_patience: int,
    sqrt_eps: float,
    stall_window: int,
    stall_tol: float,
    dist_c: float = math.inf,
    theta_floor: float = 0.0,
) -> Pass | None:
    """:func:`full_batch_pass` compiled (:mod:`descend.problems.fused_steps`): the same steps,
    tests and state after them, the arithmetic in another order, so the same iterates **to
    rounding, not bit for bit**. The rule's buffers and Adam's step count are updated in place
    (the schedule's count is the caller's, as for the NumPy pass).

    One test is finer: the pass stops before a step at which the full body's stall test
    (``still`` is the calm counter before θ_k; calm ≥ ``stall_window`` while the gradient
    sets no new 1 % low, ``stall_tol``: the relative new low that resets it) may hold, rather
    than before every run of ``stall_window`` still steps, which a slowly converging run has
    for most of its steps (they would all go to the full body). Its calm count never falls
    below the body's (a new low must clear its rounding), so no stall is passed over.

    None (the caller rewinds the rule and the full body makes the chunk): a value was not
    finite (so a floating-point error may have occurred; no flags are read), or the kernel
    raised.
    """
    rule = route.rule
    bufs = rule.bufs
    p = theta.shape[0]
    th = theta.copy()
    best = np.empty(p)
    losses, gnorms, sizes = np.empty(m), np.empty(m), np.empty(m)
    G = np.empty((m, p))
    floats = np.empty(2)
    ints = np.zeros(8, dtype=np.int64)
    b1, b2, eps = route.constants
    try:
        route.steps(
            route.Zt, route.y, th, best, m, route.lr, route.kind, b1, b2, eps,
            bufs[0] if bufs else _NONE, bufs[1] if len(bufs) > 1 else _NONE, rule.adam_t,
            params if params is not None else _NONE.reshape(0, p), i, k, float(best_loss),
            float(grad_low), int(last_low), int(low_gap), float(blow), float(floor),
            hit_c is not None, 0.0 if hit_c is None else float(hit_c), float(hit_level),
            float(prev_loss), int(rising), int(still), float(rise_level), int(rise_patience),
            float(sqrt_eps), int(stall_window), float(stall_tol), float(dist_c),
            float(theta_floor), losses, gnorms, sizes, G, floats, ints,
        )  # fmt: skip
    except Exception:  # the full body meets it again, at the step where it arises
        return None
    q, status = int(ints[0]), int(ints[1])
    if status:
        return None
    rule.adam_t = int(ints[5])
    return Pass(q, losses[:q], gnorms[:q], sizes[:q], list(G[int(ints[7]) : q]), th,
                best if ints[6] else best_theta, float(floats[0]), float(floats[1]),
                int(ints[2]), int(ints[3]), int(ints[4]))  # fmt: skip


def batch_pass(
    vg: Any,
    batches: Any,
    theta: Array,
    k: int,
    m: int,
    rates: list[float],
    r: int,
    apply: Any,
    u: Array | None,
    params: Array | None,
    i: int,
    blow: float,
    cols: tuple[Any, Array, Array, Array, Array],
) -> tuple[int, Array, float, float, bool, BaseException | None]:
    """Up to ``m`` mini-batch steps from θ_k (the caller ends ``m`` at the epoch's end), at
    the rates ``rates[r:]``, recorded into the history's rows from ``i`` on (``cols``: the
    step, loss, gradient-norm, step-size and rate columns).

    The pass runs under the caller's floating-point settings and stops at the step whose
    batch loss or gradient norm is not finite or whose loss is past the blow-up bound (the run
    diverges there; its batch is drawn, nothing recorded). An exception ends the pass with the
    steps before it made (the caller keeps them and raises it, as the full body would).

    Returns
    -------
    (q, θ, L, ‖g‖, diverged, error)
        The steps made, θ after them, the last loss and gradient norm evaluated (those of the
        step that diverged, if one did), whether one did, and the exception, if any.
    """
    steps_col, loss_col, gnorm_col, size_col, lr_col = cols
    sqrt, ndarray, dt, inf, mul, add = math.sqrt, np.ndarray, _DT, math.inf, np.multiply, np.add
    loss = gnorm = math.nan
    diverged = False
    error: BaseException | None = None
    q = 0
    try:
        for q in range(m):  # noqa: B007
            loss, g = vg(theta, next(batches))
            loss = float(loss)
            if type(g) is ndarray and g.dtype is dt and g.ndim == 1:
                gnorm = sqrt(float(g.dot(g)))
            else:  # the norm of what the objective returned, then the rule's vector
                gnorm = float(np.linalg.norm(g))
                g = np.array(g, dtype=np.float64)
            if not (-inf < loss <= blow and gnorm < inf):
                diverged = True
                break
            lr = rates[r + q]
            w = apply(g, lr) if u is None else mul(g, -lr, out=u)
            steps_col[i] = k + q
            loss_col[i] = loss
            gnorm_col[i] = gnorm
            size_col[i] = sqrt(float(w.dot(w)))
            lr_col[i] = lr
            i += 1
            theta = theta + w if params is None else add(theta, w, out=params[i])
        else:
            q = m
    except BaseException as e:  # the steps before it stand, as in the full body
        error = e
    return q, theta, loss, gnorm, diverged, error


def calm_after(
    p: Pass,
    prev_loss: float,
    best_loss: float,
    calm: int,
    floor: float,
    stall_tol: float,
    sqrt_eps: float,
) -> int:
    """The stall rule's calm counter after a full-batch pass, from its losses.

    The full body's per-step test, vectorised (the same floating-point operations, so the same
    booleans): step j is calm when |L_j − L_{j−1}| ≤ √ε·s_j and not L_j < B_j − stall_tol·s_j,
    with s_j = max(|L_j|, ``floor``) and B_j the lowest loss before step j; the counter counts
    consecutive calm steps from ``calm`` (its value before the pass; ``prev_loss`` and
    ``best_loss`` are L and the lowest loss before it).
    """
    q = p.q
    loss = np.array(p.losses, dtype=np.float64)
    before = np.empty(q)  # L_{j−1}
    before[0] = prev_loss
    before[1:] = loss[:-1]
    size = np.abs(loss)
    scale = np.where(floor > size, floor, size)
    best = np.empty(q)
    best[0] = best_loss
    best[1:] = loss[:-1]
    best = np.minimum.accumulate(best)
    progress = loss < best - stall_tol * scale
    still = np.isfinite(before) & (np.abs(loss - before) <= sqrt_eps * scale)
    return int(runs(still & ~progress, calm, np.arange(q))[-1])


def runs(flags: NDArray[np.bool_], start: int, idx: NDArray[np.int64]) -> NDArray[np.int64]:
    """The counter c_j = c_{j−1} + 1 where ``flags[j]``, else 0 (c_{−1} = ``start``)."""
    last_false = np.maximum.accumulate(np.where(flags, -1, idx))
    return np.where(last_false < 0, start + idx + 1, idx - last_false)
