"""The one resolver for every learning-rate setting, and the table of what "auto" means.

Every entry point — :func:`descend.fit`, :func:`descend.minimize`, :func:`descend.compare`,
:func:`descend.lr_sweep`, the estimator, the CLI and the playground — turns its
``learning_rate`` (and ``schedule``) into a :class:`Rate` here, once, before the run starts:

==========================  ===================================================================
``learning_rate``           what runs
==========================  ===================================================================
a number η > 0              constant η (``schedule="cosine"`` etc. shapes it over ``max_steps``)
a schedule object           that schedule, ``step -> η``
``"auto"``                  the curvature's best settings for the update rule (table below)
``"armijo"``                Armijo backtracking each step (full batch; the rule runs at rate 1)
==========================  ===================================================================

What ``"auto"`` gives each update rule (:func:`auto_settings`), for the Hessian's extreme
eigenvalues λ_min, λ_max (κ = λ_max/λ_min) of the problem descent runs on — after the
preconditioner, when there is one:

============  =========================================  ==========================================
rule          learning rate                              other settings
============  =========================================  ==========================================
gd, sgd       2/(λ_min + λ_max)                          —
momentum      4/(√λ_max + √λ_min)²  (Polyak)             β = ((√κ − 1)/(√κ + 1))², at most 0.99
nesterov      1/λ_max                                    β = (√κ − 1)/(√κ + 1), at most 0.99
adam, adamw,  ``ADAPTIVE_LR[rule]`` × std(y)             —
rmsprop       (their step is about η per coordinate,
adagrad       whatever the curvature)
============  =========================================  ==========================================

With κ = ∞ (a singular Hessian) momentum and nesterov fall back to gd's rate and their default
β. Settings the caller gives explicitly (``beta=0.5``) always win over the table.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

from descend.descent.linesearch import require_full_batch
from descend.descent.schedules import Schedule, get_schedule, to_spec
from descend.problems.curvature import Advice

__all__ = [
    "ADAPTIVE_LR",
    "AUTO",
    "ARMIJO",
    "DescendWarning",
    "Rate",
    "auto_settings",
    "is_auto",
    "resolve_rate",
]

AUTO = "auto"
ARMIJO = "armijo"


class DescendWarning(UserWarning):
    """A setting that will probably not work (e.g. a learning rate above the stability limit)."""


#: rates for the adaptive rules, per unit of the targets' standard deviation: their step is
#: about lr per coordinate, and a standardised model's weights are of the order of std(y)
ADAPTIVE_LR = {"adam": 0.01, "adamw": 0.01, "rmsprop": 0.01, "adagrad": 0.1}


def is_auto(learning_rate: Any) -> bool:
    """True for ``learning_rate="auto"`` (any case) — the one test every part uses."""
    return isinstance(learning_rate, str) and learning_rate.strip().lower() == AUTO


def auto_settings(
    advice: Advice, optimizer: str, target_scale: float = 1.0
) -> tuple[float, dict[str, float]]:
    """The curvature's best settings for an update rule: the table in the module docstring.

    Parameters
    ----------
    advice : Advice
        λ_min, λ_max and κ of the Hessian descent runs on.
    optimizer : str
        The rule's registry name.
    target_scale : float
        std(y) for data (1 for surfaces): the adaptive rules' rate is proportional to it.

    Returns
    -------
    lr : float
    hyper : dict
        Further settings (β for momentum and nesterov), possibly empty.
    """
    name = optimizer.lower()
    if name == "momentum" and math.isfinite(advice.kappa):
        sl, ss = math.sqrt(advice.lam_max), math.sqrt(advice.lam_min)
        beta = ((sl - ss) / (sl + ss)) ** 2
        return 4.0 / (sl + ss) ** 2, {"beta": min(beta, 0.99)}
    if name == "nesterov" and math.isfinite(advice.kappa):
        sk = math.sqrt(advice.kappa)
        return 1.0 / advice.lam_max, {"beta": min((sk - 1.0) / (sk + 1.0), 0.99)}
    if name in ADAPTIVE_LR:
        return ADAPTIVE_LR[name] * max(target_scale, 1e-12), {}
    return advice.best_lr, {}


@dataclass
class Rate:
    """A resolved learning-rate setting: what the update rule runs with.

    Attributes
    ----------
    learning_rate : float or Schedule
        What the optimizer is built with (1.0 under a line search, which scales each update).
    hyper : dict
        Hyperparameters for the rule: what "auto" chose (β), overridden by what the caller gave.
    line_search : bool
        Armijo backtracking picks each step.
    requested : Any
        What the caller asked for (``"auto"``, a number, a schedule, ``"armijo"``).
    schedule : str or None
        The schedule name that shapes the rate, if any.
    notes : list of str
        Sentences for ``res.warnings``: what "auto" chose and why; a rate above the limit.
    """

    learning_rate: float | Schedule
    hyper: dict[str, Any] = field(default_factory=dict)
    line_search: bool = False
    requested: Any = None
    schedule: str | None = None
    notes: list[str] = field(default_factory=list)

    def describe(self) -> Any:
        """The setting for ``res.settings["learning_rate"]``: a float, "armijo" or a dict."""
        if self.line_search:
            return ARMIJO
        lr = self.learning_rate
        if isinstance(lr, numbers.Real):
            return float(lr)
        spec = to_spec(lr)
        return spec if spec is not None else repr(lr)


def resolve_rate(
    learning_rate: Any,
    optimizer: str,
    *,
    advice: Advice | None = None,
    target_scale: float = 1.0,
    schedule: str | None = None,
    max_steps: int = 10_000,
    hyper: dict[str, Any] | None = None,
    batch_size: int | None = None,
    warn: bool = False,
    stacklevel: int = 2,
) -> Rate:
    """Turn any ``learning_rate`` setting into the one :class:`Rate` a run uses.

    Parameters
    ----------
    learning_rate : float, schedule, "auto", "armijo" or Rate
        A :class:`Rate` is returned as it is (already resolved at the edge).
    optimizer : str
        The update rule's name (``"custom"`` for a ready-made optimizer).
    advice : Advice, optional
        The curvature of the problem descent runs on; required for "auto".
    target_scale : float
        std(y) (see :func:`auto_settings`).
    schedule : str, optional
        A schedule name (``"cosine"``, …) that shapes the (auto or given) constant rate.
    max_steps : int
        The run length the schedule is shaped for.
    hyper : dict, optional
        The caller's hyperparameters; they win over what "auto" chooses.
    batch_size : int or None
        "armijo" needs full batches.
    warn : bool
        Warn (:class:`DescendWarning`) when a constant plain-GD rate is at or above 2/λ_max.

    Returns
    -------
    Rate

    Raises
    ------
    ValueError
        An unknown string, "auto" without curvature, a schedule name beside a schedule object.
    """
    given = dict(hyper or {})
    if isinstance(learning_rate, Rate):
        if not given:
            return learning_rate
        return replace(learning_rate, hyper={**learning_rate.hyper, **given})
    name = optimizer.lower()
    notes: list[str] = []
    if isinstance(learning_rate, str):
        key = learning_rate.strip().lower()
        if key == ARMIJO:
            require_full_batch(batch_size)
            if schedule is not None:
                raise ValueError("learning_rate='armijo' picks every step: drop the schedule")
            return Rate(1.0, given, True, ARMIJO, None, [])
        if key != AUTO:
            raise ValueError(
                "learning_rate must be a positive number, a schedule, 'auto' or 'armijo', "
                f"got {learning_rate!r}"
            )
        if advice is None:
            raise ValueError(
                "learning_rate='auto' needs the problem's curvature, which is not available "
                "here: give a number (e.g. learning_rate=0.01)"
            )
        lr, auto_hyper = auto_settings(advice, name, target_scale)
        shown = ", ".join(f"{k} = {v:.4g}" for k, v in auto_hyper.items() if k not in given)
        notes.append(
            f"learning_rate='auto' chose {lr:.4g}"
            + (f" and {shown}" if shown else "")
            + f" for {name} ({advice.describe()})"
        )
        value: Any = lr
        given = {**auto_hyper, **given}
    elif isinstance(learning_rate, bool) or learning_rate is None:
        raise ValueError(
            f"learning_rate must be a positive number, a schedule, 'auto' or 'armijo', "
            f"got {learning_rate!r}"
        )
    elif isinstance(learning_rate, numbers.Real):
        value = float(learning_rate)
        if not math.isfinite(value) or value <= 0:
            raise ValueError(
                f"learning_rate must be a positive finite number, got {learning_rate!r}"
            )
        if warn and advice is not None and name in ("gd", "sgd") and schedule is None:
            text = advice.check(value)
            if text:
                warnings.warn(text, DescendWarning, stacklevel=stacklevel + 1)
                notes.append(text)
    elif callable(learning_rate):
        if schedule is not None:
            raise ValueError("give either a schedule name or a schedule object, not both")
        return Rate(learning_rate, given, False, learning_rate, None, notes)
    else:
        raise TypeError(
            "learning_rate must be a number, a schedule, 'auto' or 'armijo', got "
            f"{type(learning_rate).__name__}"
        )
    if schedule is not None:
        value = get_schedule(schedule, float(value), max_steps=max(int(max_steps), 1))
    return Rate(value, given, False, learning_rate, schedule, notes)
