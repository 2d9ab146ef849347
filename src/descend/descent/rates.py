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

**The Huber and log losses** have a curvature that varies with θ: the only global fact is the
bound c·(1/n)·AᵀA (c = 1 and ¼, the loss's largest second derivative), and near the minimum
the curvature can be orders of magnitude below it (the log loss on nearly separable classes:
σ(1 − σ) → 0 on the rows classified with confidence). A constant rate tuned to the bound then
crawls (iris virginica against the rest: 0.0057 relative excess after 10,000 steps). For a model
linear in θ run by gd or sgd on full batches (``objective.line_search_pays``), ``"auto"``
therefore steps by Armijo backtracking, each trial starting from twice the last accepted step,
so the step follows the local curvature — in the coordinates the preconditioner chose (QR
whitening whenever κ(AᵀA) > 1, :func:`descend.problems.precondition.choose`). Other rules, mini-
batches, a schedule, a penalty with an L1 part, and callers that need a constant rate get the
bound's constant rate of the table.

**The MAE** is not differentiable: a constant rate only reaches its minimum to within an
oscillation of about η·‖g‖. For the MAE of a model linear in θ, run by gd or sgd on full
batches, ``"auto"`` therefore means a *smoothing continuation* (:class:`Smoothing`, run by
:class:`descend.descent.loop.Descent`): descent minimises S_δ, the MAE smoothed within δ
(:class:`descend.problems.losses.SmoothedMAE`, MAE − δ/2 ≤ S_δ ≤ MAE), for δ = MAE(θ₀) and then
δ/10, δ/100, … (each stage warm-started from the last, stepped by Armijo backtracking, which
adapts to the curvature S_δ has near its minimum — far below its bound 1/δ), down to
δ = 2·tol·S_δ(θ); the last stage is judged by the ordinary verdicts (stationary, stalled,
max_steps — never "converged": there is no certificate), and MAE(θ) − MAE* ≤
S_δ(θ) − S_δ* + δ/2. Where the caller needs a constant rate (a :class:`descend.Session`, which
steers it, and :func:`descend.lr_sweep`), with other update rules and with mini-batches the MAE
gets the constant rate of the table with c = 2 (the squared error's curvature, as a scale)
and a note that it stops short of the minimum.
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
    "Smoothing",
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


def needs_target_scale(learning_rate: Any, optimizer: str) -> bool:
    """Whether :func:`resolve_rate` reads ``target_scale``: "auto" for an adaptive rule only.

    Callers pass std(y) only then, so a fit that does not need it never pays its pass over y
    (about 8 ms at 10⁶ rows: a tenth of a least-squares fit).
    """
    return is_auto(learning_rate) and optimizer.lower() in ADAPTIVE_LR


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


@dataclass(frozen=True)
class Smoothing:
    """The smoothing continuation "auto" runs for the MAE (the module docstring).

    Attributes
    ----------
    factor : float
        δ ← factor·δ from one stage to the next (0 < factor < 1).
    stage_gtol : float
        A stage before the last ends when ‖∇S_δ‖ ≤ stage_gtol·‖∇S_δ₀(θ₀)‖, or when it stalls
        (loss unchanged, or no Armijo decrease): its minimiser only needs to be close enough
        to warm-start the next, smaller δ. The last stage uses the run's own ``gtol``.
    """

    factor: float = 0.1
    stage_gtol: float = 1e-5

    def final_delta(self, loss: float, loss0: float, tol: float) -> float:
        """The last stage's δ: 2·tol·|S_δ(θ)| — then δ/2 ≤ tol·MAE, the smoothing's share of
        the excess — but at least 2ε·|S_δ₀(θ₀)| (a perfect fit, MAE* = 0, needs a floor)."""
        return max(2.0 * tol * abs(loss), 2.0 * _EPS * abs(loss0))

    def to_dict(self) -> dict[str, float]:
        """Plain floats for ``res.settings``."""
        return {"factor": self.factor, "stage_gtol": self.stage_gtol}


_EPS = 2.0**-52


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
    smoothing : Smoothing or None
        The MAE's smoothing continuation (with ``line_search``), when "auto" chose it.
    """

    learning_rate: float | Schedule
    hyper: dict[str, Any] = field(default_factory=dict)
    line_search: bool = False
    requested: Any = None
    schedule: str | None = None
    notes: list[str] = field(default_factory=list)
    smoothing: Smoothing | None = None

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
    smoothable: bool = False,
    line_search_pays: bool = False,
    constant: bool = False,
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
    smoothable : bool
        The objective declares a smoothing (``objective.smoothable``: the MAE of a model linear
        in θ): "auto" for gd/sgd on full batches is then the smoothing continuation.
    line_search_pays : bool
        The objective declares ``line_search_pays`` (Huber or log loss, a model linear in θ):
        "auto" for gd/sgd on full batches, no schedule, is then Armijo backtracking.
    constant : bool
        The caller needs a constant rate (a steered :class:`~descend.Session`, a sweep over
        rates): "auto" never resolves to a line search or a continuation.

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
            if name not in ("gd", "sgd"):
                raise ValueError(
                    f"learning_rate='armijo' backtracks along −∇L, so it needs optimizer='gd': "
                    f"the {optimizer} update need not point downhill (no step along it is sure "
                    "to lower the loss); give it a number or 'auto' instead"
                )
            require_full_batch(batch_size)
            if schedule is not None:
                raise ValueError("learning_rate='armijo' picks every step: drop the schedule")
            return Rate(1.0, given, True, ARMIJO, None, [])
        if key != AUTO:
            raise ValueError(
                "learning_rate must be a positive number, a schedule, 'auto' or 'armijo', "
                f"got {learning_rate!r}"
            )
        continuation = (
            smoothable
            and not constant
            and name in ("gd", "sgd")
            and batch_size is None
            and schedule is None
        )
        if continuation:
            smoothing = Smoothing()
            return Rate(1.0, given, True, learning_rate, None, [
                "learning_rate='auto' runs the smoothing continuation for the non-differentiable "
                f"loss: S_δ (within δ/2 of it) for δ = L(θ₀), ×{smoothing.factor:g} per stage, "
                "down to 2·tol·L; each stage warm-started and stepped by Armijo backtracking"
            ], smoothing)  # fmt: skip
        if (
            line_search_pays
            and not constant
            and name in ("gd", "sgd")
            and batch_size is None
            and schedule is None
        ):
            return Rate(1.0, given, True, learning_rate, None, [
                "learning_rate='auto' steps by Armijo backtracking: the loss's curvature varies, "
                "and near the minimum it can be far below the bound a constant rate is tuned to"
            ])  # fmt: skip
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
        if smoothable:
            notes.append(
                "the loss is not differentiable: a constant rate stops within about lr·‖g‖ of "
                "its minimum (the smoothing continuation that reaches it runs for gd on full "
                "batches, with learning_rate='auto' in ds.fit, ds.minimize or ds.compare)"
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
