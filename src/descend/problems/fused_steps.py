"""The compiled full-batch pass: a run of gradient steps on linear least squares (Numba).

On small data (a few hundred rows, ten columns) a full-batch step of the loop's fast lane
(:func:`descend.descent.fastlane.full_batch_pass`) costs 10–20 µs, nearly all of it NumPy's
per-call overhead: the arithmetic, 4·n·k flops for the two products with Z, takes about 1 µs.
:func:`steps` makes the same steps in one compiled loop, for the objective

    L(θ) = (1/n)·‖r‖²,  r = y − Z·w − b·1,  ∇_w L = (−2/n)·Zᵀr,  ∂L/∂b = (−2/n)·Σ r,

with θ = (w, b) (k + 1 entries), which a data objective declares by
:meth:`~descend.problems.objective.Objective.dense_least_squares`, and the rules gd, momentum,
Nesterov momentum and Adam at a fixed rate η (the update equations of
:class:`descend.descent.optim.Fused`). Both products read a transposed copy Zᵗ of shape
(k, n), made once per ``Descent.run`` call, along its rows: ŷ = Σ_a w_a·Zᵗ[a] is k vector
multiply-adds, and each ∂L/∂w_a a dot product over contiguous memory.

The stopping tests are the NumPy pass's, in its order (the stall's finer: see
:func:`_steps`), and the state after the steps is the one it leaves (θ, the lowest-loss θ,
the gradient's 1 % lows, the rising and calm counters, the rule's buffers). The arithmetic is
not in NumPy's order (the compiler may reassociate the sums and contract multiply-adds), so
the iterates are the NumPy pass's **to rounding, not bit for bit** (a relative difference of
~1e-15 per step; the tests ask for 1e-12 over hundreds of steps), and a stop decided by
rounding noise — a stall at the rounding floor — may come at another step.

No floating-point flags are read: a pass in which any loss, gradient norm, step size, θ or
buffer is not finite reports it (status 1), and the caller makes the chunk again through
the NumPy pass and the full body, which warn or raise as the caller's settings say. Underflow
leaves every value finite, so the caller does not take this route when underflow is not
ignored.

The kernel is opt-in with the statistics kernels (:func:`descend.problems.fused.enabled`:
after :func:`~descend.problems.fused.prepare`, or with ``DESCEND_NUMBA=1``; never with
``DESCEND_NUMBA=0``; the caller, :func:`descend.descent.fastlane.compiled_route`, reads the
switch); it is compiled once, cached on disk, and loaded by ``prepare`` (:func:`warm`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["KINDS", "steps", "warm"]

_EPS = float(np.finfo(np.float64).eps)

#: the rules the kernel makes, with their codes in the compiled loop
KINDS: dict[str, int] = {"gd": 0, "momentum": 1, "nesterov": 2, "adam": 3}

_STEPS: list[Any] = []


def steps() -> Any:
    """The compiled pass (Numba imported on first use; the cache is loaded, or the kernel
    compiled, on its first call: :func:`warm`). Its arguments and results: :func:`_steps`."""
    if not _STEPS:
        import numba

        # reassociation (vectorised sums) and contraction (FMA) only: no finite-math
        # assumptions, so the finiteness tests below see NaN and ±inf
        jit = numba.njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
        _STEPS.append(jit(_steps))
    return _STEPS[0]


def warm() -> None:
    """Load (or compile) the kernel for the argument types the loop passes, by one call that
    makes no step: what :func:`descend.problems.fused.prepare` calls, so that a session pays
    for it there (a few tenths of a second from the disk cache) and not in its first fit."""
    z = np.zeros(1)
    n2 = np.zeros((1, 1))
    steps()(n2, z, np.zeros(2), np.zeros(2), 0, 0.0, 0, 0.0, 0.0, 0.0, z, z, 0,
            np.zeros((0, 2)), 0, 0, 0.0, 0.0, 0, 0, 0.0, 0.0, False, 0.0, 0.0, 0.0, 0, 0,
            0.0, 1, 0.0, 1, 0.0, math.inf, 0.0, z, z, z, np.zeros((0, 2)), np.zeros(2),
            np.zeros(8, dtype=np.int64))  # fmt: skip


def _steps(
    Zt: Any, y: Any, theta: Any, best: Any, m: int, lr: float, kind: int,
    b1: float, b2: float, eps: float, v1: Any, v2: Any, adam_t: int,
    params: Any, i: int, k: int, best_loss: float, grad_low: float, last_low: int,
    low_gap: int, blow: float, floor: float, mu_known: bool, c: float, hit_level: float,
    prev_loss: float, rising: int, calm: int, rise_level: float, rise_patience: int,
    sqrt_eps: float, stall_window: int, stall_tol: float, dist_c: float, theta_floor: float,
    losses: Any, gnorms: Any,
    sizes: Any, G: Any, floats: Any, ints: Any,
) -> None:  # fmt: skip
    """Up to ``m`` steps from θ_k, in place (the source that :func:`steps` compiles).

    Parameters
    ----------
    Zt : ndarray, shape (k, n)
        The design, transposed, C-ordered; ``y``: the targets, shape (n,).
    theta, best : ndarray, shape (p,), p = k + 1
        θ_k, overwritten with θ after the steps; ``best``: written with the lowest-loss θ
        when a step lowers ``best_loss``.
    kind, b1, b2, eps, v1, v2, adam_t
        The rule (:data:`KINDS`), its constants (momentum: β = ``b1``; Adam: β₁, β₂, ε) and
        buffers (momentum: v = ``v1``; Adam: m = ``v1``, v = ``v2``), updated in place, and
        Adam's step count.
    params, i
        The record's θ path, shape (≥ i + m + 1, p), and θ_k's row; empty when not recorded.
    k … theta_floor
        As :func:`descend.descent.fastlane.full_batch_pass` (``mu_known``, ``c``: the
        certificate's cheap tests ‖g‖² ≤ c·max(|L|, floor) and ‖g‖ ≤ ``dist_c``·max(‖θ‖,
        ``theta_floor``) — inf: the first alone; else ‖g‖ ≤ ``hit_level``), except that
        ``calm`` is the stall rule's calm counter before θ_k and the pass stops before a step
        at which the full body's stall test (calm ≥ ``stall_window``, quiet) may hold, not
        before every run of ``stall_window`` still steps: the NumPy pass's bound would hand a
        slowly converging run's steps to the full body, ten times slower.
    losses, gnorms, sizes : ndarray, shape (m,)
        Written with each step's L, ‖g‖ and ‖u‖; ``G``, shape (m, p): its gradient.
    floats, ints : ndarray, shape (2,) and (8,)
        Out: [best_loss, grad_low]; [q (steps made), status (0: every value finite, 1: not),
        last_low, low_gap, rising, adam_t, a new lowest loss (0/1), the first gradient of
        the reversal run that ends the pass (see below)].

    Each step, with g = ∇L(θ_j) and η = ``lr``: gd u = −η·g; momentum v ← β·v + g, u = −η·v;
    Nesterov v ← β·v + g, u = −η·(g + β·v); Adam (t ← t + 1) m ← β₁·m + (1 − β₁)·g,
    v ← β₂·v + (1 − β₂)·g², u = −η·(m/(1 − β₁ᵗ))/(√v/√(1 − β₂ᵗ) + ε); then θ ← θ + u.

    The reversal index: the loop counts reversals g_j·g_{j−1} < 0 walking back from the last
    gradient; it needs only the gradients from the one before the first product that is
    certainly not negative (> 4p·ε·Σ|g_j g_{j−1}|, so NumPy's dot is not negative either).
    """
    kk, n = Zt.shape
    p = kk + 1
    r = np.empty(n)
    g = np.empty(p)
    u = np.empty(p)
    record = params.shape[0] > 0
    cn = -2.0 / n
    low_mark = 0.99 * grad_low
    status = 0
    improved = 0
    c1 = 1.0 - b1
    c2 = 1.0 - b2
    q = 0
    for j in range(m):
        # r = y − (Zw + b), loss = r·r / n, g = (−2/n)·[Zᵀr, Σr]
        for s in range(n):
            r[s] = 0.0
        for a in range(kk):
            wa = theta[a]
            za = Zt[a]
            for s in range(n):
                r[s] += wa * za[s]
        b = theta[kk]
        rr = 0.0
        rs = 0.0
        for s in range(n):
            t = y[s] - (r[s] + b)
            r[s] = t
            rr += t * t
            rs += t
        loss = rr / n
        gg = 0.0
        for a in range(kk):
            za = Zt[a]
            acc = 0.0
            for s in range(n):
                acc += za[s] * r[s]
            ga = cn * acc
            g[a] = ga
            gg += ga * ga
        ga = cn * rs
        g[kk] = ga
        gg += ga * ga
        gnorm = math.sqrt(gg)
        # the NumPy pass's tests, in its order: the step is the full body's where one holds
        if not (-math.inf < loss <= blow and gnorm < math.inf):
            # blown up: the full body's step; non-finite: the chunk is the full body's (it
            # warns where it meets it)
            status = 0 if math.isfinite(loss) and math.isfinite(gnorm) else 1
            break
        scale = abs(loss)
        if floor > scale:
            scale = floor
        if mu_known and gnorm * gnorm <= c * scale:
            # the certificate's distance bound as the NumPy pass tests it (inf: no test); the
            # full body's certificate decides at the step the pass stops before
            if dist_c == math.inf:
                break
            tt = 0.0
            for a in range(p):
                tt += theta[a] * theta[a]
            tn = math.sqrt(tt)
            if gnorm <= dist_c * (tn if tn > theta_floor else theta_floor):
                break
        elif not mu_known and gnorm <= hit_level:
            break
        # the stall rule's test (the full body's): calm = still and no new low of the loss by
        # stall_tol·s, counted exactly except that a new low must clear its rounding (so the
        # count is never below the body's); quiet with the 1 % lows this step would set
        low_step = gnorm < low_mark
        since = 0 if low_step else k + j - last_low
        gap = k + j - last_low if low_step else low_gap
        slack = stall_tol * scale
        progress = best_loss - loss > slack + 4.0 * _EPS * (abs(best_loss) + abs(loss) + slack)
        if abs(loss - prev_loss) <= sqrt_eps * scale and not progress:
            if calm + 1 >= stall_window and since >= stall_window and since >= 3 * gap:
                break
            calm += 1
        else:
            calm = 0
        if loss > prev_loss and loss > rise_level:
            if rising + 1 >= rise_patience:
                break
            rising += 1
        else:
            rising = 0
        prev_loss = loss
        if loss < best_loss:
            best_loss = loss
            improved = 1
            for a in range(p):
                best[a] = theta[a]
        if low_step:
            low_gap = k + j - last_low
            last_low = k + j
            grad_low = gnorm
            low_mark = 0.99 * grad_low
        for a in range(p):
            G[j, a] = g[a]
        if kind == 0:
            for a in range(p):
                u[a] = -lr * g[a]
        elif kind == 1 or kind == 2:
            for a in range(p):
                v1[a] = v1[a] * b1 + g[a]
            if kind == 1:
                for a in range(p):
                    u[a] = -lr * v1[a]
            else:
                for a in range(p):
                    u[a] = -lr * (g[a] + v1[a] * b1)
        else:
            adam_t += 1
            bc1 = 1.0 - b1**adam_t
            bc2 = math.sqrt(1.0 - b2**adam_t)
            for a in range(p):
                ga = g[a]
                v1[a] = v1[a] * b1 + c1 * ga
                v2[a] = v2[a] * b2 + c2 * (ga * ga)
                u[a] = -lr * ((v1[a] / bc1) / (math.sqrt(v2[a]) / bc2 + eps))
        uu = 0.0
        for a in range(p):
            uu += u[a] * u[a]
            theta[a] += u[a]
        if record:
            for a in range(p):
                params[i + j + 1, a] = theta[a]
        losses[j] = loss
        gnorms[j] = gnorm
        sizes[j] = math.sqrt(uu)
        q = j + 1
    # an overflow or an invalid operation leaves a non-finite value in what the steps keep
    for j in range(q):
        if not math.isfinite(sizes[j]):
            status = 1
    for a in range(p):
        if not math.isfinite(theta[a]):
            status = 1
    for a in range(v1.shape[0]):
        if not math.isfinite(v1[a]):
            status = 1
    for a in range(v2.shape[0]):
        if not math.isfinite(v2[a]):
            status = 1
    # the reversal run that ends the pass (the loop's own test decides; see the docstring)
    start = q - 1
    while start >= 1:
        dot = 0.0
        mag = 0.0
        for a in range(p):
            x = G[start, a] * G[start - 1, a]
            dot += x
            mag += abs(x)
        if dot >= 0.0 and dot >= 4.0 * p * _EPS * mag:
            break
        start -= 1
    floats[0] = best_loss
    floats[1] = grad_low
    ints[0] = q
    ints[1] = status
    ints[2] = last_low
    ints[3] = low_gap
    ints[4] = rising
    ints[5] = adam_t
    ints[6] = improved
    ints[7] = max(start - 1, 0)
