"""Pure, optax-style update rules on a flat parameter vector θ (1-D float64 array).

An :class:`Optimizer` is a pair of pure functions plus the learning-rate schedule::

    state = opt.init(theta)
    u, state = opt.update(g, state, theta)     # g = ∇f(θ)
    theta = theta + u                          # plain GD: u = −η_t · g

Nothing is mutated: ``update`` returns new arrays and a new state. States are NamedTuples (a tuple
of NamedTuples for a :func:`chain`) so the loop can record them and :func:`state_norms` can plot
them. Full-batch, mini-batch and stochastic descent are *sampling* choices of the loop, so every
rule here works with all of them.

Rules are built from small :class:`GradientTransformation` blocks composed with :func:`chain`;
every alias ends with :func:`scale_by_schedule`, which multiplies by −η_t. The aliases reproduce
PyTorch's ``torch.optim`` iterates (same conventions, same placement of ε), and the clips
reproduce ``torch.nn.utils.clip_grad_value_`` / ``clip_grad_norm_``; ``tests/test_optim.py``
checks 50 steps of each rule, with and without clipping, to a relative 1e-12.

================  =====================================================================
name              update (g = ∇f(θ), η = η_t from the schedule, t = 1, 2, … )
================  =====================================================================
``gd``/``sgd``    u = −η g
``momentum``      v ← β v + g ;  u = −η v
``nesterov``      v ← β v + g ;  u = −η (g + β v)
``adagrad``       G ← G + g² ;  u = −η g / (√G + ε)
``rmsprop``       s ← ρ s + (1 − ρ) g² ;  u = −η g / (√s + ε)
``adam``          m ← β₁ m + (1 − β₁) g ;  v ← β₂ v + (1 − β₂) g² ;
                  u = −η (m / (1 − β₁ᵗ)) / (√v / √(1 − β₂ᵗ) + ε)
``adamw``         as adam, plus decoupled decay: u ← u − η λ θ
================  =====================================================================

Every alias takes ``clip_value=`` and ``clip_norm=``, applied to g before the rule, in that
order, exactly as ``torch.nn.utils.clip_grad_value_`` and ``clip_grad_norm_``:
g_i ← min(max(g_i, −clip_value), clip_value), then g ← g · min(1, clip_norm / (‖g‖₂ + 10⁻⁶)).
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from descend.data.names import did_you_mean
from descend.descent.schedules import Schedule, as_schedule

Array = NDArray[np.float64]

__all__ = [
    "Optimizer",
    "GradientTransformation",
    "EmptyState",
    "ScheduleState",
    "MomentumState",
    "AdagradState",
    "RmsState",
    "AdamState",
    "chain",
    "hyperparameters",
    "identity",
    "scale_by_momentum",
    "scale_by_adagrad",
    "scale_by_rms",
    "scale_by_adam",
    "add_decayed_weights",
    "clip_by_global_norm",
    "clip_by_value",
    "scale_by_schedule",
    "proximal",
    "gd",
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
    "get",
    "OPTIMIZERS",
    "describe",
    "state_norms",
    "Fused",
]

InitFn = Callable[[Array], Any]
UpdateFn = Callable[..., tuple[Array, Any]]


class GradientTransformation(NamedTuple):
    """A building block: ``init(θ) -> state`` and ``update(g, state, θ=None) -> (g', state)``."""

    init: InitFn
    update: UpdateFn


class Optimizer(NamedTuple):
    """A complete update rule.

    Attributes
    ----------
    init : Callable[[ndarray], Any]
        ``θ (shape (p,)) -> state``; a NamedTuple, or a tuple of them for a chain.
    update : Callable[[ndarray, Any, ndarray | None], tuple[ndarray, Any]]
        ``(g, state, θ) -> (u, new_state)`` with ``u`` of shape (p,); apply as θ ← θ + u.
    learning_rate : Schedule
        The schedule η_t (``learning_rate(t)`` is the rate of update t, 0-based), so the loop
        can record it.
    name : str
        Registry name (``"adam"``…) or ``"custom"``.
    hyperparams : Mapping[str, Any]
        Read-only constructor arguments (``learning_rate`` as given: a float or a schedule).
    applied_lr : Callable[[Any], float] or None
        ``new_state -> η``: the rate the update that produced ``new_state`` applied, read
        from the rule's own step count (what the history records, so recorded and applied
        rates cannot differ). None for a hand-built rule: the loop then records
        ``learning_rate(k)``.
    preconditioner : Callable[[Any], ndarray] or None
        ``new_state -> diag(P)`` (shape (p,)) for a rule whose update is u = −η·P⁻¹·(…) with
        a diagonal P built from the gradients (Adam: P = √v̂ + ε; RMSprop: √s + ε; Adagrad:
        √G + ε): the P the update that produced ``new_state`` applied. The loop's sharpness
        tracking measures λ_max(P⁻¹H) with it. None: no such P (plain GD, momentum).
    fused : Callable[[], Fused] or None
        A fresh :class:`Fused`: the same update in place, for the loop, :meth:`Descent.run` (the
        built-in rules without clipping or weight decay). None: the loop calls ``update``.
    """

    init: InitFn
    update: UpdateFn
    learning_rate: Schedule
    name: str = "custom"
    hyperparams: Mapping[str, Any] = MappingProxyType({})
    applied_lr: Callable[[Any], float] | None = None
    preconditioner: Callable[[Any], Array] | None = None
    fused: Callable[[], Fused] | None = None


# --------------------------------------------------------------------------------------------
# states


class EmptyState(NamedTuple):
    """State of a stateless transformation."""


class ScheduleState(NamedTuple):
    """Number of updates taken so far (the schedule's t) and the rate the last one applied."""

    step: int
    lr: float = math.nan


class MomentumState(NamedTuple):
    """Velocity v (shape (p,)) of heavy-ball / Nesterov momentum."""

    velocity: Array


class AdagradState(NamedTuple):
    """Running sum of squared gradients G (shape (p,))."""

    sum_of_squares: Array


class RmsState(NamedTuple):
    """Exponential moving average s of squared gradients (shape (p,))."""

    square_avg: Array


class AdamState(NamedTuple):
    """Adam's step count t and first/second moment estimates m, v (shape (p,))."""

    step: int
    m: Array
    v: Array


# --------------------------------------------------------------------------------------------
# validation (messages name the parameter and the bad value, as torch.optim does)


def _real(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _check_unit(name: str, value: Any) -> float:
    if not _real(value) or not 0.0 <= value < 1.0:
        raise ValueError(f"Invalid {name}: {value!r} (must be in [0, 1))")
    return float(value)


def _check_positive(name: str, value: Any) -> float:
    if not _real(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"Invalid {name}: {value!r} (must be a positive finite number)")
    return float(value)


def _check_nonnegative(name: str, value: Any) -> float:
    if not _real(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid {name}: {value!r} (must be a finite number >= 0)")
    return float(value)


def _as_array(x: Any) -> Array:
    return np.asarray(x, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# building blocks


def identity() -> GradientTransformation:
    """The transformation that returns g unchanged."""

    def init(theta: Array) -> EmptyState:
        return EmptyState()

    def update(g: Array, state: EmptyState, theta: Array | None = None) -> tuple[Array, EmptyState]:
        return _as_array(g), state

    return GradientTransformation(init, update)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Compose transformations left to right; the state is the tuple of their states.

    Parameters
    ----------
    *transforms : GradientTransformation
        Applied in order: the output of one is the input g of the next; all see the same θ.

    >>> tx = chain(clip_by_value(1.0), scale_by_schedule(0.5))
    >>> u, s = tx.update(np.array([3.0, -0.5]), tx.init(np.zeros(2)))
    >>> u, s
    (array([-0.5 ,  0.25]), (EmptyState(), ScheduleState(step=1, lr=0.5)))
    """

    n = len(transforms)
    updates = tuple(t.update for t in transforms)

    def init(theta: Array) -> tuple[Any, ...]:
        return tuple(t.init(theta) for t in transforms)

    def update(
        g: Array, state: tuple[Any, ...], theta: Array | None = None
    ) -> tuple[Array, tuple[Any, ...]]:
        if len(state) != len(transforms):
            raise ValueError(
                f"state has {len(state)} entries but the chain has {len(transforms)} transforms"
            )
        out = _as_array(g)
        if n == 1:  # plain rules: one call, no loop (this runs every step)
            out, s0 = updates[0](out, state[0], theta)
            return out, (s0,)
        if n == 2:  # a scaling then the schedule: momentum, Adam, RMSprop, …
            out, s0 = updates[0](out, state[0], theta)
            out, s1 = updates[1](out, state[1], theta)
            return out, (s0, s1)
        new_states = []
        for t, s in zip(transforms, state, strict=True):
            out, s = t.update(out, s, theta)
            new_states.append(s)
        return out, tuple(new_states)

    return GradientTransformation(init, update)


def scale_by_schedule(schedule: float | Schedule) -> GradientTransformation:
    """g ↦ −η_t · g, where η_t = ``schedule(t)`` and t counts this transform's updates from 0.

    Parameters
    ----------
    schedule : float or Schedule
        A positive learning rate or a schedule.
    """
    sched = as_schedule(schedule)

    def init(theta: Array) -> ScheduleState:
        return ScheduleState(step=0)

    def update(
        g: Array, state: ScheduleState, theta: Array | None = None
    ) -> tuple[Array, ScheduleState]:
        step = state.step
        lr = float(sched(step))
        return -lr * _as_array(g), ScheduleState(step + 1, lr)

    return GradientTransformation(init, update)


def scale_by_momentum(beta: float = 0.9, nesterov: bool = False) -> GradientTransformation:
    """Momentum, PyTorch convention: v ← β v + g; output v, or g + β v when ``nesterov``.

    Parameters
    ----------
    beta : float
        Momentum coefficient β in [0, 1).
    nesterov : bool
        Nesterov's look-ahead form (as ``torch.optim.SGD(nesterov=True)``).
    """
    beta = _check_unit("beta", beta)

    def init(theta: Array) -> MomentumState:
        return MomentumState(velocity=np.zeros_like(theta, dtype=np.float64))

    def update(
        g: Array, state: MomentumState, theta: Array | None = None
    ) -> tuple[Array, MomentumState]:
        g = _as_array(g)
        v = beta * state.velocity + g
        out = g + beta * v if nesterov else v
        return out, MomentumState(velocity=v)

    return GradientTransformation(init, update)


def scale_by_adagrad(
    eps: float = 1e-10, initial_accumulator: float = 0.0
) -> GradientTransformation:
    """Adagrad scaling, as torch: G ← G + g²; output g / (√G + ε).

    Parameters
    ----------
    eps : float
        ε > 0, added outside the square root.
    initial_accumulator : float
        Initial value of every entry of G, ≥ 0.
    """
    eps = _check_positive("eps", eps)
    acc0 = _check_nonnegative("initial_accumulator", initial_accumulator)

    def init(theta: Array) -> AdagradState:
        return AdagradState(sum_of_squares=np.full(np.shape(theta), acc0, dtype=np.float64))

    def update(
        g: Array, state: AdagradState, theta: Array | None = None
    ) -> tuple[Array, AdagradState]:
        g = _as_array(g)
        acc = state.sum_of_squares + g * g
        return g / (np.sqrt(acc) + eps), AdagradState(sum_of_squares=acc)

    return GradientTransformation(init, update)


def scale_by_rms(decay: float = 0.99, eps: float = 1e-8) -> GradientTransformation:
    """RMSprop scaling, as torch: s ← ρ s + (1 − ρ) g²; output g / (√s + ε), s₀ = 0.

    Parameters
    ----------
    decay : float
        ρ in [0, 1) (torch's ``alpha``).
    eps : float
        ε > 0, added *outside* the square root (torch's convention; optax puts it inside).
    """
    decay = _check_unit("decay", decay)
    eps = _check_positive("eps", eps)

    def init(theta: Array) -> RmsState:
        return RmsState(square_avg=np.zeros_like(theta, dtype=np.float64))

    def update(g: Array, state: RmsState, theta: Array | None = None) -> tuple[Array, RmsState]:
        g = _as_array(g)
        s = decay * state.square_avg + (1.0 - decay) * (g * g)
        return g / (np.sqrt(s) + eps), RmsState(square_avg=s)

    return GradientTransformation(init, update)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    """Adam scaling with torch's bias correction: output m̂ / (√v / √(1 − β₂ᵗ) + ε).

    m ← β₁ m + (1 − β₁) g,  v ← β₂ v + (1 − β₂) g²,  m̂ = m / (1 − β₁ᵗ), t = 1, 2, …

    ε is added after the bias correction of √v, exactly as ``torch.optim.Adam``.

    Parameters
    ----------
    b1, b2 : float
        Decay rates β₁, β₂ in [0, 1).
    eps : float
        ε > 0.
    """
    b1 = _check_unit("b1", b1)
    b2 = _check_unit("b2", b2)
    eps = _check_positive("eps", eps)

    def init(theta: Array) -> AdamState:
        z = np.zeros_like(theta, dtype=np.float64)
        return AdamState(step=0, m=z, v=z.copy())

    def update(g: Array, state: AdamState, theta: Array | None = None) -> tuple[Array, AdamState]:
        g = _as_array(g)
        t = state.step + 1
        m = b1 * state.m + (1.0 - b1) * g
        v = b2 * state.v + (1.0 - b2) * (g * g)
        bc1 = 1.0 - b1**t
        bc2_sqrt = math.sqrt(1.0 - b2**t)
        out = (m / bc1) / (np.sqrt(v) / bc2_sqrt + eps)
        return out, AdamState(step=t, m=m, v=v)

    return GradientTransformation(init, update)


def _adam_p(state: AdamState, b2: float, eps: float) -> Array:
    """Adam's P = √v̂ + ε = √v/√(1 − β₂ᵗ) + ε, as its update divides by it (t ≥ 1)."""
    return np.asarray(np.sqrt(state.v) / math.sqrt(1.0 - b2 ** max(state.step, 1)) + eps)


def add_decayed_weights(weight_decay: float = 0.0) -> GradientTransformation:
    """g ↦ g + λ θ (weight decay; decoupled when placed after the adaptive scaling).

    Needs θ: ``update(g, state, theta)``.

    Parameters
    ----------
    weight_decay : float
        λ ≥ 0.
    """
    wd = _check_nonnegative("weight_decay", weight_decay)

    def init(theta: Array) -> EmptyState:
        return EmptyState()

    def update(g: Array, state: EmptyState, theta: Array | None = None) -> tuple[Array, EmptyState]:
        if theta is None:
            raise ValueError("weight decay needs the parameters: call update(g, state, theta)")
        return _as_array(g) + wd * _as_array(theta), state

    return GradientTransformation(init, update)


#: The constant ``torch.nn.utils.clip_grad_norm_`` adds to the norm before dividing.
CLIP_NORM_EPS = 1e-6


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Rescale g as ``torch.nn.utils.clip_grad_norm_`` does (2-norm, one parameter tensor).

    .. math:: g \\leftarrow g \\cdot \\min\\left(1, \\frac{c}{\\lVert g\\rVert_2 + 10^{-6}}\\right)

    with c = ``max_norm``. The 10⁻⁶ (:data:`CLIP_NORM_EPS`) is PyTorch's: a gradient whose norm
    lies in (c − 10⁻⁶, c] is scaled down slightly as well, and one above c ends with norm
    c·‖g‖/(‖g‖ + 10⁻⁶), just under c. The coefficient is always multiplied in (by 1 when no
    clipping is needed), so a non-finite norm gives non-finite entries, as in PyTorch.

    Parameters
    ----------
    max_norm : float
        c > 0.

    >>> tx = clip_by_global_norm(1.0)
    >>> u, _ = tx.update(np.array([3.0, 4.0]), tx.init(np.zeros(2)))
    >>> bool(np.allclose(u, [0.6, 0.8], rtol=1e-6)), float(np.linalg.norm(u)) < 1.0
    (True, True)
    """
    max_norm = _check_positive("clip_norm", max_norm)

    def init(theta: Array) -> EmptyState:
        return EmptyState()

    def update(g: Array, state: EmptyState, theta: Array | None = None) -> tuple[Array, EmptyState]:
        g = _as_array(g)
        norm = np.linalg.norm(g)
        coef = np.minimum(max_norm / (norm + CLIP_NORM_EPS), 1.0)  # NaN propagates, as torch.clamp
        with np.errstate(invalid="ignore"):  # inf · 0 → NaN, as in torch
            return g * coef, state

    return GradientTransformation(init, update)


def clip_by_value(max_value: float) -> GradientTransformation:
    """Clip every entry as ``torch.nn.utils.clip_grad_value_``: g_i ← min(max(g_i, −c), c).

    With c = ``max_value``; NaN entries stay NaN.

    Parameters
    ----------
    max_value : float
        c > 0.
    """
    max_value = _check_positive("clip_value", max_value)

    def init(theta: Array) -> EmptyState:
        return EmptyState()

    def update(g: Array, state: EmptyState, theta: Array | None = None) -> tuple[Array, EmptyState]:
        return np.clip(_as_array(g), -max_value, max_value), state

    return GradientTransformation(init, update)


# --------------------------------------------------------------------------------------------
# the fused form (the loop's in-place updates)


class Fused:
    """A built-in rule's update made in place, bit for bit what ``update`` returns.

    The loop (:meth:`descend.descent.loop.Descent.run`) calls :meth:`step` once
    per iteration instead of ``Optimizer.update``: the same floating-point operations in the
    same order, written into buffers allocated once, with no state tuple built per step. The
    state leaves and enters as the rule's ordinary state (:meth:`load`, :meth:`state`), so a
    snapshot, a checkpoint or a switch back to ``update`` sees no difference.

    ======== ==========================================================================
    kind     step (g: the gradient; w, u: buffers; η = η_t; the operations of ``update``)
    ======== ==========================================================================
    gd       u = (−η)·g
    momentum v ← β·v + g;  u = (−η)·v
    nesterov v ← β·v + g;  u = (−η)·(g + β·v)
    adagrad  G ← G + g·g;  u = (−η)·(g / (√G + ε))
    rmsprop  s ← ρ·s + (1 − ρ)·(g·g);  u = (−η)·(g / (√s + ε))
    adam     m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·(g·g);
             u = (−η)·((m / (1 − β₁ᵗ)) / (√v / √(1 − β₂ᵗ) + ε))
    ======== ==========================================================================

    Parameters
    ----------
    kind : str
        One of the rows above.
    constants : tuple of float
        β (momentum, nesterov); ε (adagrad); (ρ, ε) (rmsprop); (β₁, β₂, ε) (adam).
    schedule : Schedule
        η_t, read as ``float(schedule(t))`` at the schedule's own step count t.
    fixed : float or None
        η when the rule was built from a number (its schedule is constant): the rates are then
        this number without a call per step.
    """

    def __init__(
        self,
        kind: str,
        constants: tuple[float, ...],
        schedule: Schedule,
        fixed: float | None = None,
    ) -> None:
        self.kind, self.constants, self.schedule, self.fixed = kind, constants, schedule, fixed
        self.t = 0  # the schedule's step count
        self.lr = math.nan
        self.bufs: list[Array] = []  # the state's arrays (v; G; s; m, v), owned here
        self.adam_t = 0
        self.u: Array = np.zeros(0)
        self.w: Array = np.zeros(0)

    def load(self, state: tuple[Any, ...]) -> None:
        """Start from the rule's state (``opt.init(θ)`` or a later one); its arrays are copied,
        never written."""
        sched = state[-1]
        self.t, self.lr = int(sched.step), float(sched.lr)
        kind = self.kind
        if kind == "gd":
            arrays: list[Array] = []
        elif kind in ("momentum", "nesterov"):
            arrays = [state[0].velocity]
        elif kind == "adagrad":
            arrays = [state[0].sum_of_squares]
        elif kind == "rmsprop":
            arrays = [state[0].square_avg]
        else:
            self.adam_t = int(state[0].step)
            arrays = [state[0].m, state[0].v]
        self.bufs = [np.array(a, dtype=np.float64) for a in arrays]
        p = self.bufs[0].shape[0] if self.bufs else 0  # gd: sized by its first gradient
        self.u = np.zeros(p)
        self.w = np.zeros(p)

    def state(self) -> tuple[Any, ...]:
        """The state ``update`` would have returned after the same steps (fresh arrays)."""
        kind, b = self.kind, [a.copy() for a in self.bufs]
        last = ScheduleState(self.t, self.lr)
        if kind == "gd":
            return (last,)
        if kind in ("momentum", "nesterov"):
            return (MomentumState(velocity=b[0]), last)
        if kind == "adagrad":
            return (AdagradState(sum_of_squares=b[0]), last)
        if kind == "rmsprop":
            return (RmsState(square_avg=b[0]), last)
        return (AdamState(step=self.adam_t, m=b[0], v=b[1]), last)

    def rates(self, m: int) -> list[float]:
        """η_t for the next ``m`` updates, t = :attr:`t`, … (the schedule read as ``update``
        reads it; nothing advances)."""
        if self.fixed is not None:
            return [self.fixed] * m
        sched, t = self.schedule, self.t
        return [float(sched(j)) for j in range(t, t + m)]

    def advance(self, steps: int, lr: float) -> None:
        """Count ``steps`` updates made by :meth:`apply`, the last at rate ``lr``."""
        if steps:
            self.t += steps
            self.lr = lr

    def mark(self) -> tuple[int, list[Array]]:
        """The in-place state now (copies), for :meth:`rewind`: what the loop's fast lane
        (:mod:`descend.descent.fastlane`) keeps at a chunk's start to make the chunk again."""
        return self.adam_t, [a.copy() for a in self.bufs]

    def rewind(self, mark: tuple[int, list[Array]]) -> None:
        """Back to the state :meth:`mark` returned (the schedule's count is not touched:
        :meth:`advance` counts only updates the loop kept)."""
        self.adam_t = mark[0]
        for a, saved in zip(self.bufs, mark[1], strict=True):
            a[...] = saved

    def step(self, g: Array) -> Array:
        """One whole update from the gradient g: :meth:`apply` at the schedule's next rate,
        counted (the rate is then :attr:`lr`)."""
        lr = self.rates(1)[0]
        u = self.apply(g, lr)
        self.advance(1, lr)
        return u

    def applier(self, p: int) -> Callable[[Array, float], Array]:
        """:meth:`apply` for θ of ``p`` entries with the rule's branch taken, its buffers and
        constants bound once: what the loop calls every step (the same operations in the same
        order, so the same bits; for momentum and Adam ~0.5 µs a step less Python). Valid until
        the next :meth:`load`."""
        if self.u.shape != (p,):
            self.u, self.w = np.zeros(p), np.zeros(p)
        u, w = self.u, self.w
        mul, add, div, sqrt = np.multiply, np.add, np.divide, np.sqrt
        if self.kind == "momentum":
            (beta,) = self.constants
            v = self.bufs[0]

            def momentum(g: Array, lr: float) -> Array:
                mul(v, beta, out=v)
                add(v, g, out=v)
                mul(v, -lr, out=u)
                return u

            return momentum
        if self.kind == "adam":
            b1, b2, eps = self.constants
            c1, c2 = 1.0 - b1, 1.0 - b2
            m, v = self.bufs
            root = math.sqrt

            def adam(g: Array, lr: float) -> Array:
                t = self.adam_t = self.adam_t + 1
                mul(m, b1, out=m)
                mul(g, c1, out=w)
                add(m, w, out=m)
                mul(g, g, out=w)
                mul(w, c2, out=w)
                mul(v, b2, out=v)
                add(v, w, out=v)
                bc1 = 1.0 - b1**t
                bc2_sqrt = root(1.0 - b2**t)
                div(m, bc1, out=u)
                sqrt(v, out=w)
                div(w, bc2_sqrt, out=w)
                add(w, eps, out=w)
                div(u, w, out=u)
                mul(u, -lr, out=u)
                return u

            return adam
        return self.apply

    def apply(self, g: Array, lr: float) -> Array:
        """The update from the gradient g (float64, shape (p,)) at rate η = ``lr``: u, in a
        buffer that the next call overwrites (the schedule's count is :meth:`advance`'s)."""
        kind, u, w = self.kind, self.u, self.w
        if u.shape != g.shape:  # gd keeps no state arrays to size the buffers by
            u = self.u = np.zeros(g.shape)
            w = self.w = np.zeros(g.shape)
        mul, add, div, sqrt = np.multiply, np.add, np.divide, np.sqrt
        if kind == "gd":
            mul(g, -lr, out=u)
        elif kind == "momentum" or kind == "nesterov":
            (beta,) = self.constants
            v = self.bufs[0]
            mul(v, beta, out=v)
            add(v, g, out=v)
            if kind == "nesterov":
                mul(v, beta, out=u)
                add(g, u, out=u)
                mul(u, -lr, out=u)
            else:
                mul(v, -lr, out=u)
        elif kind == "adam":
            b1, b2, eps = self.constants
            m, v = self.bufs
            t = self.adam_t = self.adam_t + 1
            mul(m, b1, out=m)
            mul(g, 1.0 - b1, out=w)
            add(m, w, out=m)
            mul(g, g, out=w)
            mul(w, 1.0 - b2, out=w)
            mul(v, b2, out=v)
            add(v, w, out=v)
            bc1 = 1.0 - b1**t
            bc2_sqrt = math.sqrt(1.0 - b2**t)
            div(m, bc1, out=u)
            sqrt(v, out=w)
            div(w, bc2_sqrt, out=w)
            add(w, eps, out=w)
            div(u, w, out=u)
            mul(u, -lr, out=u)
        else:  # adagrad, rmsprop: a sum or average of g², then g / (√· + ε)
            acc = self.bufs[0]
            mul(g, g, out=w)
            if kind == "rmsprop":
                decay, eps = self.constants
                mul(w, 1.0 - decay, out=w)
                mul(acc, decay, out=acc)
            else:
                (eps,) = self.constants
            add(acc, w, out=acc)
            sqrt(acc, out=w)
            add(w, eps, out=w)
            div(g, w, out=u)
            mul(u, -lr, out=u)
        return u


# --------------------------------------------------------------------------------------------
# aliases


def _make(
    name: str,
    core: list[GradientTransformation],
    learning_rate: float | Schedule,
    hyperparams: dict[str, Any],
    clip_norm: float | None,
    clip_value: float | None,
    preconditioner: Callable[[Any], Array] | None = None,
    fused: tuple[str, tuple[float, ...]] | None = None,
) -> Optimizer:
    """The chain clip → core → η_t; ``preconditioner`` reads diag(P) from the first core
    transform's state (see :attr:`Optimizer.preconditioner`); ``fused`` = (kind, constants)
    of the :class:`Fused` form, kept only without clipping (the chain is then core → η_t)."""
    schedule = as_schedule(learning_rate)
    pre: list[GradientTransformation] = []
    if clip_value is not None:
        pre.append(clip_by_value(clip_value))
    if clip_norm is not None:
        pre.append(clip_by_global_norm(clip_norm))
    tx = chain(*pre, *core, scale_by_schedule(schedule))
    params = {"learning_rate": learning_rate, **hyperparams}
    params.update(clip_norm=clip_norm, clip_value=clip_value)
    read: Callable[[Any], Array] | None = None
    if preconditioner is not None:
        at, core_p = len(pre), preconditioner

        def read(state: tuple[Any, ...]) -> Array:
            return np.asarray(core_p(state[at]), dtype=np.float64)

    make_fused: Callable[[], Fused] | None = None
    if fused is not None and not pre:
        kind, constants = fused
        fixed = None if callable(learning_rate) else float(schedule(0))  # a number: constant

        def make_fused() -> Fused:
            return Fused(kind, constants, schedule, fixed)

    return Optimizer(
        tx.init,
        tx.update,
        schedule,
        name,
        MappingProxyType(params),
        _last_schedule_lr,
        read,
        make_fused,
    )


def proximal(opt: Optimizer, prox: Callable[[Array, float], Array]) -> Optimizer:
    """Proximal gradient descent (ISTA): the step u, then the proximal map of the rest.

    u_t ← prox_{η_t·h}(θ_t + u_t) − θ_t

    so that θ_{t+1} = prox_{η h}(θ_t − η_t g_t) for plain gradient descent: with the L1
    penalty's prox (soft thresholding) the coefficients it sets to zero are exactly zero.
    The state and the recorded η are those of ``opt``.

    Parameters
    ----------
    opt : Optimizer
        Plain gradient descent (``gd``/``sgd``): a proximal step is defined for a scalar step
        size η; the momentum and adaptive rules have no such prox and are refused.
    prox : callable
        ``prox(v, η) -> ndarray (p,)``, the proximal map of η·h.

    Raises
    ------
    ValueError
        ``opt`` is not plain gradient descent, or reads no applied rate.

    >>> shrink = lambda v, eta: np.sign(v) * np.maximum(np.abs(v) - eta, 0.0)
    >>> opt = proximal(gd(0.5), shrink)
    >>> theta = np.array([1.0, 0.2])
    >>> u, _ = opt.update(np.array([0.0, 0.0]), opt.init(theta), theta)
    >>> theta + u
    array([0.5, 0. ])
    """
    applied = opt.applied_lr
    if opt.name not in ("gd", "sgd") or applied is None:
        raise ValueError(
            f"an L1 penalty runs by proximal gradient steps, which need optimizer='gd' "
            f"(ISTA); got {opt.name!r}. Use optimizer='gd', or penalty='l2'"
        )

    def update(g: Array, state: Any, theta: Array | None = None) -> tuple[Array, Any]:
        if theta is None:
            raise ValueError("a proximal step needs the parameters: call update(g, state, theta)")
        u, new_state = opt.update(g, state, theta)
        theta = _as_array(theta)
        return prox(theta + u, applied(new_state)) - theta, new_state

    return opt._replace(update=update, fused=None)


def _last_schedule_lr(state: tuple[Any, ...]) -> float:
    """η applied by the last update of a rule built by :func:`_make` (its last transform)."""
    return float(state[-1].lr)


def gd(
    learning_rate: float | Schedule = 0.01,
    *,
    clip_norm: float | None = None,
    clip_value: float | None = None,
) -> Optimizer:
    """Plain gradient descent (``torch.optim.SGD()``).

    .. math:: u_t = -\\eta_t g_t

    Parameters
    ----------
    learning_rate : float or Schedule
        η_t > 0.
    clip_norm, clip_value : float, optional
        Clip g first, as ``torch.nn.utils.clip_grad_value_`` then ``clip_grad_norm_``: entries
        to [−clip_value, clip_value], then g ← g · min(1, clip_norm / (‖g‖₂ + 10⁻⁶))
        (:func:`clip_by_value`, :func:`clip_by_global_norm`).

    Returns
    -------
    Optimizer
        ``update(g, state, θ) -> (u, state)``, g and u of shape (p,).

    Examples
    --------
    >>> opt = gd(learning_rate=0.1)
    >>> theta = np.array([1.0, -2.0])
    >>> u, state = opt.update(np.array([2.0, -4.0]), opt.init(theta), theta)
    >>> u
    array([-0.2,  0.4])
    """
    return _make("gd", [], learning_rate, {}, clip_norm, clip_value, fused=("gd", ()))


sgd = gd


def momentum(
    learning_rate: float | Schedule = 0.01,
    beta: float = 0.9,
    *,
    clip_norm: float | None = None,
    clip_value: float | None = None,
) -> Optimizer:
    """Heavy-ball momentum, PyTorch convention (``torch.optim.SGD(momentum=β)``).

    .. math::

        v_t = \\beta v_{t-1} + g_t,\\quad v_0 = 0 \\\\
        u_t = -\\eta_t v_t

    (The step is η·v, not η·(1 − β)·v: the velocity accumulates raw gradients.)

    Parameters
    ----------
    learning_rate : float or Schedule
        η_t > 0.
    beta : float
        β in [0, 1).
    clip_norm, clip_value : float, optional
        Clip g first (see :func:`gd`).

    Examples
    --------
    >>> opt = momentum(learning_rate=0.1, beta=0.5)
    >>> theta = np.zeros(1)
    >>> s = opt.init(theta)
    >>> u1, s = opt.update(np.array([1.0]), s, theta)
    >>> u2, s = opt.update(np.array([1.0]), s, theta)
    >>> u1, u2
    (array([-0.1]), array([-0.15]))
    """
    beta = _check_unit("beta", beta)
    return _make(
        "momentum",
        [scale_by_momentum(beta)],
        learning_rate,
        {"beta": beta},
        clip_norm,
        clip_value,
        fused=("momentum", (beta,)),
    )


def nesterov(
    learning_rate: float | Schedule = 0.01,
    beta: float = 0.9,
    *,
    clip_norm: float | None = None,
    clip_value: float | None = None,
) -> Optimizer:
    """Nesterov momentum, PyTorch convention (``torch.optim.SGD(momentum=β, nesterov=True)``).

    .. math::

        v_t = \\beta v_{t-1} + g_t,\\quad v_0 = 0 \\\\
        u_t = -\\eta_t (g_t + \\beta v_t)

    Parameters
    ----------
    learning_rate : float or Schedule
        η_t > 0.
    beta : float
        β in [0, 1).
    clip_norm, clip_value : float, optional
        Clip g first (see :func:`gd`).

    Examples
    --------
    >>> opt = nesterov(learning_rate=0.1, beta=0.5)
    >>> theta = np.zeros(1)
    >>> s = opt.init(theta)
    >>> u1, s = opt.update(np.array([1.0]), s, theta)
    >>> u2, s = opt.update(np.array([1.0]), s, theta)
    >>> u1, u2
    (array([-0.15]), array([-0.175]))
    """
    beta = _check_unit("beta", beta)
    return _make(
        "nesterov",
        [scale_by_momentum(beta, nesterov=True)],
        learning_rate,
        {"beta": beta},
        clip_norm,
        clip_value,
        fused=("nesterov", (beta,)),
    )


def adagrad(
    learning_rate: float | Schedule = 0.01,
    eps: float = 1e-10,
    initial_accumulator: float = 0.0,
    *,
    clip_norm: float | None = None,
    clip_value: float | None = None,
) -> Optimizer:
    """Adagrad (``torch.optim.Adagrad`` with ``lr_decay=0``, ``weight_decay=0``).

    .. math::

        G_t = G_{t-1} + g_t^2,\\quad G_0 = \\text{initial\\_accumulator} \\\\
        u_t = -\\eta_t\\, g_t / (\\sqrt{G_t} + \\epsilon)

    Parameters
    ----------
    learning_rate : float or Schedule
        η_t > 0.
    eps : float
        ε > 0, outside the square root.
    initial_accumulator : float
        G₀ ≥ 0 (torch's ``initial_accumulator_value``).
    clip_norm, clip_value : float, optional
        Clip g first (see :func:`gd`).

    Examples
    --------
    >>> opt = adagrad(learning_rate=0.1)
    >>> theta = np.zeros(2)
    >>> u, s = opt.update(np.array([3.0, -4.0]), opt.init(theta), theta)
    >>> np.round(u, 12)
    array([-0.1,  0.1])
    """
    eps = _check_positive("eps", eps)
    acc0 = _check_nonnegative("initial_accumulator", initial_accumulator)
    return _make(
        "adagrad",
        [scale_by_adagrad(eps, acc0)],
        learning_rate,
        {"eps": eps, "initial_accumulator": acc0},
        clip_norm,
        clip_value,
        lambda s: np.sqrt(s.sum_of_squares) + eps,  # P = √G + ε
        fused=("adagrad", (eps,)),
    )


def rmsprop(
    learning_rate: float | Schedule = 0.01,
    decay: float = 0.99,
    eps: float = 1e-8,
    momentum: float = 0.0,
    *,
    clip_norm: float | None = None,
    clip_value: float | None = None,
) -> Optimizer:
    """RMSprop (``torch.optim.RMSprop(alpha=decay, centered=False)``).

    .. math::

        s_t = \\rho s_{t-1} + (1 - \\rho) g_t^2,\\quad s_0 = 0 \\\\
        b_t = \\mu b_{t-1} + g_t / (\\sqrt{s_t} + \\epsilon) \\\\
        u_t = -\\eta_t b_t

    With ``momentum = 0`` (μ = 0), u_t = −η g_t / (√s_t + ε). Note ε is *outside* the square
    root (torch), and s starts at 0, so the first step is ≈ η / √(1 − ρ) = 10 η per coordinate
    for ρ = 0.99.

    Parameters
    ----------
    learning_rate : float or Schedule
        η_t > 0.
    decay : float
        ρ in [0, 1) (torch's ``alpha``).
    eps : float
        ε > 0.
    momentum : float
        μ in [0, 1).
    clip_norm, clip_value : float, optional
        Clip g first (see :func:`gd`).

    Examples
    --------
    >>> opt = rmsprop(learning_rate=0.01, decay=0.99)
    >>> theta = np.zeros(2)
    >>> u, s = opt.update(np.array([2.0, -0.5]), opt.init(theta), theta)
    >>> np.round(u, 6)
    array([-0.1,  0.1])
    """
    decay = _check_unit("decay", decay)
    eps = _check_positive("eps", eps)
    mu = _check_unit("momentum", momentum)
    core = [scale_by_rms(decay, eps)]
    if mu > 0.0:
        core.append(scale_by_momentum(mu))
    return _make(
        "rmsprop",
        core,
        learning_rate,
        {"decay": decay, "eps": eps, "momentum": mu},
        clip_norm,
        clip_value,
        lambda s: np.sqrt(s.square_avg) + eps,  # P = √s + ε
        fused=None if mu > 0.0 else ("rmsprop", (decay, eps)),
    )


def adam(
    learning_rate: float | Schedule = 0.001,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    *,
    clip_norm: float | None = None,
    clip_value: float | None = None,
) -> Optimizer:
    """Adam (``torch.optim.Adam``, bias correction as torch does it).

    .. math::

        m_t = \\beta_1 m_{t-1} + (1 - \\beta_1) g_t \\\\
        v_t = \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2 \\\\
        u_t = -\\eta_t \\frac{m_t / (1 - \\beta_1^t)}
              {\\sqrt{v_t} / \\sqrt{1 - \\beta_2^t} + \\epsilon}

    with m₀ = v₀ = 0 and t = 1, 2, … . The first step is u₁ ≈ −η sign(g₁).

    Parameters
    ----------
    learning_rate : float or Schedule
        η_t > 0.
    b1, b2 : float
        β₁, β₂ in [0, 1).
    eps : float
        ε > 0.
    clip_norm, clip_value : float, optional
        Clip g first (see :func:`gd`).

    Examples
    --------
    >>> opt = adam(learning_rate=0.1)
    >>> theta = np.zeros(2)
    >>> u, s = opt.update(np.array([5.0, -0.01]), opt.init(theta), theta)
    >>> np.round(u, 6)
    array([-0.1,  0.1])
    """
    b1 = _check_unit("b1", b1)
    b2 = _check_unit("b2", b2)
    eps = _check_positive("eps", eps)
    return _make(
        "adam",
        [scale_by_adam(b1, b2, eps)],
        learning_rate,
        {"b1": b1, "b2": b2, "eps": eps},
        clip_norm,
        clip_value,
        lambda s: _adam_p(s, b2, eps),
        fused=("adam", (b1, b2, eps)),
    )


def adamw(
    learning_rate: float | Schedule = 0.001,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.01,
    *,
    clip_norm: float | None = None,
    clip_value: float | None = None,
) -> Optimizer:
    """AdamW: Adam with decoupled weight decay (``torch.optim.AdamW``).

    .. math::

        u_t = -\\eta_t \\left( \\frac{m_t / (1 - \\beta_1^t)}
              {\\sqrt{v_t} / \\sqrt{1 - \\beta_2^t} + \\epsilon} + \\lambda \\theta_{t-1} \\right)

    i.e. θ ← θ − η λ θ, then the Adam step (m, v from g only; λ θ never enters them).
    Needs θ: ``update(g, state, theta)``.

    Parameters
    ----------
    learning_rate : float or Schedule
        η_t > 0.
    b1, b2 : float
        β₁, β₂ in [0, 1).
    eps : float
        ε > 0.
    weight_decay : float
        λ ≥ 0.
    clip_norm, clip_value : float, optional
        Clip g first (see :func:`gd`).

    Examples
    --------
    >>> opt = adamw(learning_rate=0.1, weight_decay=0.5)
    >>> theta = np.array([1.0, 1.0])
    >>> u, s = opt.update(np.array([5.0, -0.01]), opt.init(theta), theta)
    >>> np.round(u, 6)   # −0.1·sign(g) − 0.1·0.5·θ
    array([-0.15,  0.05])
    """
    b1 = _check_unit("b1", b1)
    b2 = _check_unit("b2", b2)
    eps = _check_positive("eps", eps)
    wd = _check_nonnegative("weight_decay", weight_decay)
    return _make(
        "adamw",
        [scale_by_adam(b1, b2, eps), add_decayed_weights(wd)],
        learning_rate,
        {"b1": b1, "b2": b2, "eps": eps, "weight_decay": wd},
        clip_norm,
        clip_value,
        lambda s: _adam_p(s, b2, eps),
    )


#: name → constructor; ``"sgd"`` is an alias of ``"gd"``.
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "gd": gd,
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adam": adam,
    "adamw": adamw,
}

_INFO: dict[str, tuple[str, str]] = {
    "gd": ("plain gradient descent (alias: sgd)", "u = −η g"),
    "momentum": (
        "heavy-ball momentum, PyTorch convention",
        "v ← β v + g ;  u = −η v",
    ),
    "nesterov": (
        "Nesterov momentum, PyTorch convention",
        "v ← β v + g ;  u = −η (g + β v)",
    ),
    "adagrad": (
        "per-coordinate rates shrinking with the summed squared gradients",
        "G ← G + g² ;  u = −η g / (√G + ε)",
    ),
    "rmsprop": (
        "per-coordinate rates from a moving average of squared gradients",
        "s ← ρ s + (1 − ρ) g² ;  b ← μ b + g / (√s + ε) ;  u = −η b",
    ),
    "adam": (
        "momentum + RMS scaling with bias correction",
        "m ← β₁ m + (1 − β₁) g ;  v ← β₂ v + (1 − β₂) g² ;  "
        "u = −η (m / (1 − β₁ᵗ)) / (√v / √(1 − β₂ᵗ) + ε)",
    ),
    "adamw": (
        "Adam with decoupled weight decay",
        "Adam's m, v ;  u = −η [(m / (1 − β₁ᵗ)) / (√v / √(1 − β₂ᵗ) + ε) + λ θ]",
    ),
}


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _defaults(factory: Callable[..., Optimizer]) -> dict[str, Any]:
    """The factory's keyword defaults (a copy; the signature is read once per factory — it
    costs ~0.1 ms, three times per fit otherwise)."""
    return dict(_signature_defaults(factory))


@functools.lru_cache(maxsize=64)
def _signature_defaults(factory: Callable[..., Optimizer]) -> tuple[tuple[str, Any], ...]:
    return tuple(
        (p.name, p.default)
        for p in inspect.signature(factory).parameters.values()
        if p.default is not inspect.Parameter.empty
    )


def hyperparameters(name: str) -> list[str]:
    """The hyperparameter names the rule ``name`` accepts (``learning_rate`` included).

    Raises
    ------
    ValueError
        Unknown optimizer name.
    """
    key = _canonical(name)
    if key not in OPTIMIZERS:
        raise ValueError(
            f"Unknown optimizer {name!r}; valid names: {', '.join(OPTIMIZERS)}."
            f"{did_you_mean(key, OPTIMIZERS)}"
        )
    return sorted(_defaults(OPTIMIZERS[key]))


def get(name: str, learning_rate: float | Schedule | None = None, **hyperparams: Any) -> Optimizer:
    """Build an optimizer by name.

    Parameters
    ----------
    name : str
        ``"gd"``/``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``,
        ``"adam"`` or ``"adamw"`` (case-insensitive).
    learning_rate : float or Schedule, optional
        None → the rule's default.
    **hyperparams
        The rule's other keyword arguments (``beta``, ``eps``, ``clip_norm``…).

    Raises
    ------
    ValueError
        Unknown name or hyperparameter (the message lists the valid ones), or invalid value.

    >>> get("adam", 0.1).hyperparams["learning_rate"]
    0.1
    >>> get("adam", betta=0.9)
    Traceback (most recent call last):
    ...
    ValueError: Unknown hyperparameter 'betta' for optimizer 'adam'; valid: b1, b2, clip_norm, \
clip_value, eps, learning_rate. Did you mean 'b1' or 'b2'?
    """
    key = _canonical(name)
    if key not in OPTIMIZERS:
        raise ValueError(
            f"Unknown optimizer {name!r}; valid names: {', '.join(OPTIMIZERS)}."
            f"{did_you_mean(key, OPTIMIZERS)}"
        )
    factory = OPTIMIZERS[key]
    valid = _defaults(factory)
    for hp in hyperparams:
        if hp not in valid:
            raise ValueError(
                f"Unknown hyperparameter {hp!r} for optimizer {key!r}; "
                f"valid: {', '.join(sorted(valid))}.{did_you_mean(hp, valid)}"
            )
    if learning_rate is not None:
        hyperparams["learning_rate"] = learning_rate
    return factory(**hyperparams)


def describe() -> list[dict[str, Any]]:
    """One entry per rule for ``descend optimizers``: name, aliases, summary, equations, defaults.

    >>> [d["name"] for d in describe()]
    ['gd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw']
    >>> describe()[0]["aliases"]
    ['sgd']
    """
    out = []
    for name, (summary, equations) in _INFO.items():
        factory = OPTIMIZERS[name]
        aliases = [k for k, f in OPTIMIZERS.items() if f is factory and k != name]
        out.append(
            {
                "name": name,
                "aliases": aliases,
                "summary": summary,
                "equations": equations,
                "defaults": _defaults(factory),
            }
        )
    return out


def state_norms(state: Any) -> dict[str, float]:
    """Euclidean norms of every array in an optimizer state, keyed by field name.

    Walks NamedTuples and (nested) tuples; integer counters are skipped. When two arrays share a
    field name the later one is keyed ``"<name>_<k>"``.

    >>> opt = adam(0.1)
    >>> theta = np.zeros(2)
    >>> _, s = opt.update(np.array([3.0, 4.0]), opt.init(theta), theta)
    >>> {k: round(v, 6) for k, v in state_norms(s).items()}
    {'m': 0.5, 'v': 0.018358}
    """
    out: dict[str, float] = {}

    def add(key: str, arr: Array) -> None:
        k, n = key, 1
        while k in out:
            n += 1
            k = f"{key}_{n}"
        out[k] = float(np.linalg.norm(arr))

    def walk(node: Any) -> None:
        if isinstance(node, tuple) and hasattr(node, "_fields"):
            for fname, value in zip(node._fields, node, strict=True):
                if isinstance(value, np.ndarray):
                    add(fname, value)
                elif isinstance(value, tuple):
                    walk(value)
        elif isinstance(node, tuple | list):
            for item in node:
                walk(item)

    walk(state)
    return out
