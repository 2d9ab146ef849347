"""Learning-rate schedules: step number → learning rate.

A *schedule* is any callable ``schedule(t) -> float`` where ``t`` is the 0-based number of updates
already taken (the first update uses ``schedule(0)``). The schedules defined here are small frozen
dataclasses, so they have a readable ``repr``, compare by value, and serialise with
:meth:`to_dict` (and back with :func:`from_dict`):

==================  =======================================================================
``constant``        η_t = η
``step``            η_t = η · γ^⌊t / s⌋
``exponential``     η_t = η · r^(t / s)
``inverse-time``    η_t = η / (1 + r · t / s)
``cosine``          η_t = η · ((1 − α) · ½ (1 + cos(π · min(t, T) / T)) + α)
``warmup``          η_t = η₀ + (S(0) − η₀) · t / W  for t < W,  then S(t − W)
==================  =======================================================================

:func:`get_schedule` builds any of them by name with defaults derived from ``max_steps``;
:data:`SCHEDULES` is the registry behind it (names, one-line summaries, default parameters).

>>> s = cosine_decay(0.1, decay_steps=100)
>>> s(0), s(50), s(100), s(1000)
(0.1, 0.05, 0.0, 0.0)
>>> s
CosineDecay(lr=0.1, decay_steps=100, alpha=0.0)
>>> s.to_dict()
{'name': 'cosine', 'lr': 0.1, 'decay_steps': 100, 'alpha': 0.0}
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

__all__ = [
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "CosineDecay",
    "Warmup",
    "constant",
    "step_decay",
    "exponential_decay",
    "inverse_time_decay",
    "cosine_decay",
    "warmup",
    "as_schedule",
    "get_schedule",
    "from_dict",
    "to_spec",
    "describe",
    "ScheduleSpec",
    "SCHEDULES",
]

#: step (0-based update count) → learning rate.
Schedule: TypeAlias = Callable[[int], float]


# --------------------------------------------------------------------------------------------
# validation helpers (messages name the parameter and the bad value, as PyTorch does)


def _is_real(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _positive(name: str, value: Any) -> float:
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"Invalid {name}: {value!r} (must be a positive finite number)")
    return float(value)


def _nonnegative(name: str, value: Any) -> float:
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid {name}: {value!r} (must be a finite number >= 0)")
    return float(value)


def _in_range(name: str, value: Any, lo: float, hi: float, interval: str) -> float:
    ok = _is_real(value) and math.isfinite(value)
    if ok:
        lo_ok = value > lo if interval[0] == "(" else value >= lo
        hi_ok = value < hi if interval[-1] == ")" else value <= hi
        ok = lo_ok and hi_ok
    if not ok:
        raise ValueError(f"Invalid {name}: {value!r} (must be in {interval})")
    return float(value)


def _positive_int(name: str, value: Any) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"Invalid {name}: {value!r} (must be a positive integer)")
    return int(value)


def _nonnegative_int(name: str, value: Any) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise ValueError(f"Invalid {name}: {value!r} (must be an integer >= 0)")
    return int(value)


def _check_lr(value: Any) -> float:
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"Invalid learning rate: {value!r} (must be a positive finite number or a schedule)"
        )
    return float(value)


# --------------------------------------------------------------------------------------------
# the schedules


@dataclass(frozen=True)
class Constant:
    """η_t = lr for every step.

    Parameters
    ----------
    lr : float
        The learning rate, positive and finite.
    """

    lr: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _check_lr(self.lr))

    def __call__(self, step: int) -> float:
        return self.lr

    def to_dict(self) -> dict[str, Any]:
        """``{"name": "constant", "lr": …}``; :func:`from_dict` inverts it."""
        return {"name": "constant", "lr": self.lr}


@dataclass(frozen=True)
class StepDecay:
    """η_t = lr · gamma^⌊t / step_size⌋ (multiply by ``gamma`` every ``step_size`` steps).

    Parameters
    ----------
    lr : float
        Initial learning rate, positive.
    step_size : int
        Number of steps between decays, ≥ 1.
    gamma : float
        Multiplicative factor per decay, in (0, 1].
    """

    lr: float
    step_size: int
    gamma: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "step_size", _positive_int("step_size", self.step_size))
        object.__setattr__(self, "gamma", _in_range("gamma", self.gamma, 0.0, 1.0, "(0, 1]"))

    def __call__(self, step: int) -> float:
        return self.lr * self.gamma ** (int(step) // self.step_size)

    def to_dict(self) -> dict[str, Any]:
        """``{"name": "step", "lr", "step_size", "gamma"}``."""
        return {"name": "step", "lr": self.lr, "step_size": self.step_size, "gamma": self.gamma}


@dataclass(frozen=True)
class ExponentialDecay:
    """η_t = lr · decay_rate^(t / decay_steps) (smooth; multiplies by ``decay_rate`` per period).

    Parameters
    ----------
    lr : float
        Initial learning rate, positive.
    decay_rate : float
        Factor per ``decay_steps`` steps, in (0, 1].
    decay_steps : int
        Length of one decay period, ≥ 1.
    """

    lr: float
    decay_rate: float
    decay_steps: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _check_lr(self.lr))
        rate = _in_range("decay_rate", self.decay_rate, 0.0, 1.0, "(0, 1]")
        object.__setattr__(self, "decay_rate", rate)
        object.__setattr__(self, "decay_steps", _positive_int("decay_steps", self.decay_steps))

    def __call__(self, step: int) -> float:
        return self.lr * self.decay_rate ** (step / self.decay_steps)

    def to_dict(self) -> dict[str, Any]:
        """``{"name": "exponential", "lr", "decay_rate", "decay_steps"}``."""
        return {
            "name": "exponential",
            "lr": self.lr,
            "decay_rate": self.decay_rate,
            "decay_steps": self.decay_steps,
        }


@dataclass(frozen=True)
class InverseTimeDecay:
    """η_t = lr / (1 + decay_rate · t / decay_steps) (the classic 1/t Robbins–Monro decay).

    Parameters
    ----------
    lr : float
        Initial learning rate, positive.
    decay_rate : float
        ≥ 0; zero gives a constant schedule.
    decay_steps : int
        Time unit of the decay, ≥ 1.
    """

    lr: float
    decay_rate: float
    decay_steps: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "decay_rate", _nonnegative("decay_rate", self.decay_rate))
        object.__setattr__(self, "decay_steps", _positive_int("decay_steps", self.decay_steps))

    def __call__(self, step: int) -> float:
        return self.lr / (1.0 + self.decay_rate * step / self.decay_steps)

    def to_dict(self) -> dict[str, Any]:
        """``{"name": "inverse-time", "lr", "decay_rate", "decay_steps"}``."""
        return {
            "name": "inverse-time",
            "lr": self.lr,
            "decay_rate": self.decay_rate,
            "decay_steps": self.decay_steps,
        }


@dataclass(frozen=True)
class CosineDecay:
    """η_t = lr · ((1 − α) · ½ (1 + cos(π · min(t, T) / T)) + α), T = ``decay_steps``.

    Falls from ``lr`` at t = 0 to ``alpha · lr`` at t = T and stays there.

    Parameters
    ----------
    lr : float
        Initial learning rate, positive.
    decay_steps : int
        T, the length of the decay, ≥ 1.
    alpha : float
        Final learning rate as a fraction of ``lr``, in [0, 1].
    """

    lr: float
    decay_steps: int
    alpha: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "decay_steps", _positive_int("decay_steps", self.decay_steps))
        object.__setattr__(self, "alpha", _in_range("alpha", self.alpha, 0.0, 1.0, "[0, 1]"))

    def __call__(self, step: int) -> float:
        frac = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * frac))
        return self.lr * ((1.0 - self.alpha) * cosine + self.alpha)

    def to_dict(self) -> dict[str, Any]:
        """``{"name": "cosine", "lr", "decay_steps", "alpha"}``."""
        return {
            "name": "cosine",
            "lr": self.lr,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
        }


@dataclass(frozen=True)
class Warmup:
    """Linear warm-up from ``init_lr`` to ``schedule(0)`` over ``warmup_steps``, then ``schedule``.

    η_t = init_lr + (S(0) − init_lr) · t / W for t < W, and η_t = S(t − W) for t ≥ W.

    With the default ``init_lr = 0`` the very first update has learning rate 0 (a no-op step),
    exactly as in optax's ``linear_schedule``.

    Parameters
    ----------
    schedule : Schedule
        S, the schedule that takes over after the warm-up (its clock starts at 0 there).
    warmup_steps : int
        W ≥ 0; zero means no warm-up.
    init_lr : float
        Learning rate at t = 0, ≥ 0.
    """

    schedule: Schedule
    warmup_steps: int
    init_lr: float = 0.0
    _peak: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schedule", as_schedule(self.schedule))
        steps = _nonnegative_int("warmup_steps", self.warmup_steps)
        object.__setattr__(self, "warmup_steps", steps)
        object.__setattr__(self, "init_lr", _nonnegative("init_lr", self.init_lr))
        object.__setattr__(self, "_peak", float(self.schedule(0)))

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.init_lr + (self._peak - self.init_lr) * (step / self.warmup_steps)
        return float(self.schedule(step - self.warmup_steps))

    def to_dict(self) -> dict[str, Any]:
        """``{"name": "warmup", "schedule": {…}, "warmup_steps", "init_lr"}`` (nested)."""
        inner = to_spec(self.schedule)
        if inner is None:
            raise TypeError(f"cannot serialise the wrapped schedule {self.schedule!r}")
        return {
            "name": "warmup",
            "schedule": inner,
            "warmup_steps": self.warmup_steps,
            "init_lr": self.init_lr,
        }


# --------------------------------------------------------------------------------------------
# constructors (the public API the loop uses)


def constant(lr: float) -> Schedule:
    """Constant learning rate: η_t = lr.

    >>> constant(0.1)(1000)
    0.1
    """
    return Constant(lr)


def step_decay(lr: float, step_size: int, gamma: float = 0.5) -> Schedule:
    """Piecewise constant: η_t = lr · gamma^⌊t / step_size⌋.

    >>> s = step_decay(1.0, step_size=10, gamma=0.5)
    >>> s(0), s(9), s(10), s(25)
    (1.0, 1.0, 0.5, 0.25)
    """
    return StepDecay(lr, step_size, gamma)


def exponential_decay(lr: float, decay_rate: float, decay_steps: int = 1) -> Schedule:
    """Smooth exponential decay: η_t = lr · decay_rate^(t / decay_steps).

    >>> s = exponential_decay(1.0, decay_rate=0.5, decay_steps=10)
    >>> s(0), s(10), s(20)
    (1.0, 0.5, 0.25)
    """
    return ExponentialDecay(lr, decay_rate, decay_steps)


def inverse_time_decay(lr: float, decay_rate: float, decay_steps: int = 1) -> Schedule:
    """Inverse-time decay: η_t = lr / (1 + decay_rate · t / decay_steps).

    >>> s = inverse_time_decay(1.0, decay_rate=1.0, decay_steps=10)
    >>> s(0), s(10), s(30)
    (1.0, 0.5, 0.25)
    """
    return InverseTimeDecay(lr, decay_rate, decay_steps)


def cosine_decay(lr: float, decay_steps: int, alpha: float = 0.0) -> Schedule:
    """Cosine annealing: η_t = lr · ((1 − α) · ½ (1 + cos(π · min(t, T) / T)) + α).

    >>> s = cosine_decay(1.0, decay_steps=10, alpha=0.1)
    >>> s(0), s(5), s(10), s(11)
    (1.0, 0.55, 0.1, 0.1)
    """
    return CosineDecay(lr, decay_steps, alpha)


def warmup(schedule: Schedule | float, warmup_steps: int, init_lr: float = 0.0) -> Schedule:
    """Linear warm-up from ``init_lr`` to ``schedule(0)`` over ``warmup_steps``, then ``schedule``.

    A float ``schedule`` means a constant one. For t ≥ W the wrapped schedule runs on its own clock,
    ``schedule(t − W)``.

    >>> s = warmup(cosine_decay(1.0, decay_steps=10), warmup_steps=4)
    >>> [s(t) for t in (0, 1, 2, 4, 9, 14)]
    [0.0, 0.25, 0.5, 1.0, 0.5, 0.0]
    """
    return Warmup(as_schedule(schedule), warmup_steps, init_lr)


#: the schedule classes defined here: they serialise with ``to_dict``
SERIALISABLE = (Constant, StepDecay, ExponentialDecay, InverseTimeDecay, CosineDecay, Warmup)


def to_spec(schedule: Any) -> dict[str, Any] | None:
    """``schedule.to_dict()`` for a schedule defined here; None for any other callable."""
    return schedule.to_dict() if isinstance(schedule, SERIALISABLE) else None


def as_schedule(lr: float | Schedule) -> Schedule:
    """A schedule from a float (→ :func:`constant`) or a schedule (returned unchanged).

    Raises
    ------
    ValueError
        If ``lr`` is a number that is not positive and finite, or neither a number nor callable;
        the message names the bad value.

    >>> as_schedule(0.5)
    Constant(lr=0.5)
    >>> as_schedule(-1.0)
    Traceback (most recent call last):
    ...
    ValueError: Invalid learning rate: -1.0 (must be a positive finite number or a schedule)
    """
    if callable(lr):
        return lr
    return Constant(_check_lr(lr))


# --------------------------------------------------------------------------------------------
# registry


@dataclass(frozen=True)
class ScheduleSpec:
    """One entry of :data:`SCHEDULES`: how to build a schedule by name.

    Attributes
    ----------
    name : str
        Registry name (what :func:`get_schedule` takes).
    summary : str
        One-line description.
    formula : str
        The learning rate η_t as a formula.
    defaults : Callable[[int], dict]
        ``max_steps -> {parameter: default}`` (everything except ``lr``).
    build : Callable[..., Schedule]
        ``build(lr, **params) -> Schedule``.
    """

    name: str
    summary: str
    formula: str
    defaults: Callable[[int], dict[str, Any]]
    build: Callable[..., Schedule]


def _build_warmup_cosine(
    lr: float, warmup_steps: int, decay_steps: int, alpha: float = 0.0, init_lr: float = 0.0
) -> Schedule:
    return warmup(cosine_decay(lr, decay_steps, alpha), warmup_steps, init_lr)


def _build_warmup_constant(lr: float, warmup_steps: int, init_lr: float = 0.0) -> Schedule:
    return warmup(constant(lr), warmup_steps, init_lr)


def _warmup_len(max_steps: int) -> int:
    return max(1, max_steps // 20)


#: name → :class:`ScheduleSpec`; defaults are functions of ``max_steps``.
SCHEDULES: dict[str, ScheduleSpec] = {
    spec.name: spec
    for spec in (
        ScheduleSpec(
            "constant",
            "the same learning rate at every step",
            "η_t = η",
            lambda max_steps: {},
            constant,
        ),
        ScheduleSpec(
            "step",
            "halve the learning rate every quarter of the run",
            "η_t = η · γ^⌊t / step_size⌋",
            lambda max_steps: {"step_size": max(1, max_steps // 4), "gamma": 0.5},
            step_decay,
        ),
        ScheduleSpec(
            "exponential",
            "smooth decay to 1% of the learning rate at max_steps",
            "η_t = η · r^(t / decay_steps)",
            lambda max_steps: {"decay_rate": 0.01, "decay_steps": max(1, max_steps)},
            exponential_decay,
        ),
        ScheduleSpec(
            "inverse-time",
            "1/t decay to 10% of the learning rate at max_steps",
            "η_t = η / (1 + r · t / decay_steps)",
            lambda max_steps: {"decay_rate": 9.0, "decay_steps": max(1, max_steps)},
            inverse_time_decay,
        ),
        ScheduleSpec(
            "cosine",
            "cosine annealing to 0 at max_steps",
            "η_t = η · ((1 − α) · ½ (1 + cos(π · min(t, T) / T)) + α)",
            lambda max_steps: {"decay_steps": max(1, max_steps), "alpha": 0.0},
            cosine_decay,
        ),
        ScheduleSpec(
            "warmup",
            "linear warm-up over the first 5% of the run, then constant",
            "η_t = η₀ + (η − η₀) · t / W  (t < W),  η",
            lambda max_steps: {"warmup_steps": _warmup_len(max_steps), "init_lr": 0.0},
            _build_warmup_constant,
        ),
        ScheduleSpec(
            "warmup-cosine",
            "linear warm-up over the first 5% of the run, then cosine annealing to 0",
            "η_t = η₀ + (η − η₀) · t / W  (t < W),  cosine(t − W) with T = max_steps − W",
            lambda max_steps: {
                "warmup_steps": _warmup_len(max_steps),
                "decay_steps": max(1, max_steps - _warmup_len(max_steps)),
                "alpha": 0.0,
                "init_lr": 0.0,
            },
            _build_warmup_cosine,
        ),
    )
}

_ALIASES = {
    "const": "constant",
    "step-decay": "step",
    "exp": "exponential",
    "exponential-decay": "exponential",
    "inverse": "inverse-time",
    "inverse-time-decay": "inverse-time",
    "cosine-decay": "cosine",
}


def _canonical(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    return _ALIASES.get(key, key)


def get_schedule(name: str, lr: float, *, max_steps: int = 10_000, **kwargs: Any) -> Schedule:
    """Build a schedule by name, with defaults derived from ``max_steps``.

    ================  ========================================================================
    name              defaults (``M = max_steps``)
    ================  ========================================================================
    ``constant``      —
    ``step``          ``step_size = M // 4``, ``gamma = 0.5``  (ends at η/8 … η/16)
    ``exponential``   ``decay_rate = 0.01``, ``decay_steps = M``  (η/100 at t = M)
    ``inverse-time``  ``decay_rate = 9``, ``decay_steps = M``  (η/10 at t = M)
    ``cosine``        ``decay_steps = M``, ``alpha = 0``  (0 at t = M)
    ``warmup``        ``warmup_steps = M // 20`` (≥ 1), ``init_lr = 0``, then constant η
    ``warmup-cosine`` ``warmup_steps = M // 20`` (≥ 1), ``init_lr = 0``, then cosine over the
                      remaining ``M − warmup_steps`` steps, ``alpha = 0``
    ================  ========================================================================

    Underscores and hyphens are interchangeable (``"inverse_time"``); ``kwargs`` override the
    defaults.

    Parameters
    ----------
    name : str
        A key of :data:`SCHEDULES` (or an alias such as ``"exp"``).
    lr : float
        The peak / initial learning rate η.
    max_steps : int
        Planned number of updates; sets the time scale of the defaults.
    **kwargs
        Parameters of the schedule, overriding the defaults.

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid ones), unknown parameter, or invalid value.

    >>> get_schedule("cosine", 0.1, max_steps=100)
    CosineDecay(lr=0.1, decay_steps=100, alpha=0.0)
    >>> get_schedule("step", 0.1, max_steps=100, gamma=0.1)
    StepDecay(lr=0.1, step_size=25, gamma=0.1)
    """
    key = _canonical(name)
    if key not in SCHEDULES:
        raise ValueError(f"Unknown schedule {name!r}; valid names: {', '.join(sorted(SCHEDULES))}")
    spec = SCHEDULES[key]
    max_steps = _positive_int("max_steps", max_steps)
    params = spec.defaults(max_steps)
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise ValueError(
            f"Unknown parameter {unknown[0]!r} for schedule {key!r}; "
            f"valid: {', '.join(sorted(params)) or '(none besides lr)'}"
        )
    params.update(kwargs)
    return spec.build(lr, **params)


def describe(max_steps: int = 10_000) -> list[dict[str, Any]]:
    """Registry listing for the CLI: name, summary, formula and defaults for ``max_steps``.

    >>> [d["name"] for d in describe()][:3]
    ['constant', 'step', 'exponential']
    """
    return [
        {
            "name": spec.name,
            "summary": spec.summary,
            "formula": spec.formula,
            "defaults": spec.defaults(max_steps),
        }
        for spec in SCHEDULES.values()
    ]


_CLASSES: dict[str, type] = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "inverse-time": InverseTimeDecay,
    "cosine": CosineDecay,
    "warmup": Warmup,
}


def from_dict(data: Mapping[str, Any]) -> Schedule:
    """Inverse of ``to_dict()``: rebuild a schedule from its serialised form.

    >>> s = warmup(step_decay(0.1, 10), 5)
    >>> from_dict(s.to_dict()) == s
    True
    """
    params = dict(data)
    try:
        name = params.pop("name")
    except KeyError:
        raise ValueError(f"schedule dict has no 'name': {data!r}") from None
    if name not in _CLASSES:
        raise ValueError(f"Unknown schedule {name!r}; valid names: {', '.join(sorted(_CLASSES))}")
    if name == "warmup":
        params["schedule"] = from_dict(params["schedule"])
    schedule: Schedule = _CLASSES[name](**params)
    return schedule
