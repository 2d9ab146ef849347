"""One problem, built once: data, model and loss in; everything a run needs out.

:func:`build_problem` is the only place that turns (X, y, model, loss) into a run's problem,
and :func:`prepare` the only place that turns an objective into one. Every entry point —
:func:`descend.fit`, :func:`descend.compare`, :func:`descend.lr_sweep`, the estimator, the
playground and the Dask path — calls them and repeats none of their steps:

1. the bound objective: plain, fast (one-pass statistics, no copy of X) or Dask — chosen from
   the data and the model's declared capabilities (:mod:`descend.problems.fastfit`,
   :mod:`descend.problems.distributed`);
2. θ₀: the given start, else the model's seeded random start, else the objective's suggested one;
3. the curvature advice (exact for models linear in θ, local at θ₀ otherwise, when "auto"
   needs it);
4. the reference answer (closed-form least squares) when there is one;
5. the preconditioner (:func:`descend.problems.precondition.plan`) and the advice in the
   coordinates descent runs in.

What the run does with the problem (the rate, the loop) belongs to :mod:`descend.descent`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.tables import as_arrays, check_seed
from descend.problems.curvature import Advice, advise
from descend.problems.distributed import dask_objective, is_dask
from descend.problems.fastfit import build_objective
from descend.problems.losses import get_loss
from descend.problems.models import get_model
from descend.problems.objective import DataObjective, Objective
from descend.problems.penalty import penalize
from descend.problems.precondition import Plan, PreconditionedObjective, plan
from descend.problems.reference import Reference

Array = NDArray[np.float64]

__all__ = ["Problem", "build_problem", "prepare", "split_validation", "start_for"]


@dataclass
class Problem:
    """Everything a run needs, built once.

    Attributes
    ----------
    base : Objective
        The objective in the model's coordinates θ.
    plan : Plan
        The preconditioner: ``plan.objective`` is what descent minimises (φ coordinates when
        preconditioned), ``plan.pre`` maps φ ↔ θ, ``plan.kind``/``plan.reason`` say what and why.
    theta0 : ndarray, shape (p,)
        The start in θ coordinates.
    advice : Advice or None
        Curvature of ``plan.objective`` (what "auto" and the divergence messages read).
    reference : Reference or None
        The closed-form answer (least squares), in θ and in original units.
    notes : list of str
        Sentences for ``res.warnings`` (what was chosen and why).
    validation : Objective or None
        The held-out rows' loss (no penalty) in the coordinates descent runs in, when a
        validation split was asked for.
    """

    base: Objective
    plan: Plan
    theta0: Array
    advice: Advice | None
    reference: Reference | None
    notes: list[str] = field(default_factory=list)
    validation: Objective | None = None

    @property
    def objective(self) -> Objective:
        """What descent minimises (the preconditioned objective when there is one)."""
        return self.plan.objective

    @property
    def start(self) -> Array:
        """θ₀ in the coordinates descent runs in."""
        return self.plan.pre.from_model(self.theta0)

    @property
    def model(self) -> Any:
        """The bound model (None for a surface)."""
        return self.base.model

    @property
    def target_scale(self) -> float:
        """std(y) for data, 1 otherwise (the adaptive rules' "auto" rate scales with it)."""
        return self.base.target_scale


def split_validation(
    X: Any, y: Any, fraction: float, seed: int | None, n_params_hint: int = 2
) -> tuple[Array, Array, Array, Array, list[str]]:
    """Split the rows at random (seeded) into training and validation sets.

    Parameters
    ----------
    X : array-like, shape (n, d); y : array-like, shape (n,)
    fraction : float
        The share of rows held out, in (0, 1); at least one row is.
    seed : int or None
        Seeds the permutation (the same seed as θ₀'s).
    n_params_hint : int
        The fewest training rows allowed (default 2; the parameter count is checked after
        the model is bound).

    Returns
    -------
    X_train, y_train, X_val, y_val, feature_names

    Raises
    ------
    ValueError
        ``fraction`` outside (0, 1), or a split that leaves no validation row or fewer
        training rows than ``n_params_hint``.
    """
    if (
        isinstance(fraction, bool)
        or not isinstance(fraction, int | float)
        or not (0.0 < float(fraction) < 1.0)
    ):
        raise ValueError(f"validation_fraction must be in (0, 1), e.g. 0.1; got {fraction!r}")
    Xa, ya, names = as_arrays(X, y)
    assert ya is not None
    n = Xa.shape[0]
    n_val = int(math.ceil(float(fraction) * n))
    if n_val < 1 or n - n_val < max(n_params_hint, 1):
        raise ValueError(
            f"validation_fraction={fraction} leaves {n - n_val} training and {n_val} validation "
            f"rows of {n}; training needs at least {max(n_params_hint, 1)} (the model's "
            "parameters): use a smaller fraction or more data"
        )
    perm = np.random.default_rng(seed).permutation(n)
    tr, va = np.sort(perm[n_val:]), np.sort(perm[:n_val])
    return Xa[tr], ya[tr], Xa[va], ya[va], names


def start_for(objective: Objective, theta0: Any = None, seed: int | None = 0) -> Array:
    """θ₀: the given start, else the model's seeded random start, else the suggested one.

    Raises
    ------
    ValueError
        No start given and the objective has neither a model nor a suggested start.
    """
    if theta0 is not None:
        return np.array(theta0, dtype=np.float64).reshape(-1)
    if objective.model is not None:
        return np.asarray(objective.model.init_params(np.random.default_rng(seed)))
    if objective.suggested_start is not None:
        return np.array(objective.suggested_start, dtype=np.float64)
    raise ValueError("give theta0: this objective has no model to draw a start from")


def prepare(
    objective: Objective,
    *,
    auto_rate: bool = False,
    preconditioner: str | None = None,
    seed: int | None = 0,
    theta0: Any = None,
    reference: bool = True,
    advice: Advice | None = None,
    penalty: str | None = None,
    alpha: float = 1e-4,
    l1_ratio: float = 0.15,
) -> Problem:
    """Turn a bound objective into a :class:`Problem`: θ₀, advice, reference, preconditioner.

    Parameters
    ----------
    objective : Objective
        A data objective (:func:`descend.objective`), a surface, anything with the protocol.
    auto_rate : bool
        The run's learning rate is "auto": compute the curvature even where it is local (at
        θ₀), and let ``preconditioner=None`` whiten an ill-conditioned least-squares problem.
    preconditioner : {"none", "diagonal", "qr"} or None
        As in :func:`descend.fit`.
    seed : int or None
        Seeds the model's random start.
    theta0 : array-like, optional
        The start (θ coordinates).
    reference : bool
        Compute the closed-form answer when there is one.
    advice : Advice, optional
        Curvature already known for ``objective`` (not recomputed).
    penalty : {None, "l2", "l1", "elasticnet"}
        Add α·(r·‖w‖₁ + ½(1 − r)·‖w‖₂²) on the coefficients w in the user's units
        (:mod:`descend.problems.penalty`). A penalised problem runs unpreconditioned.
    alpha, l1_ratio : float
        α ≥ 0 and r ∈ [0, 1] (scikit-learn's names and defaults).

    Returns
    -------
    Problem
    """
    penalized = penalize(objective, penalty, alpha, l1_ratio)
    is_penalized = penalized is not objective
    if is_penalized:
        objective = penalized
        if preconditioner not in (None, "none"):
            raise ValueError(
                f"preconditioner={preconditioner!r} cannot be combined with a penalty (the "
                "penalty is on the coefficients in your units); leave preconditioner unset"
            )
        preconditioner = "none"
        advice = None
    theta_start = start_for(objective, theta0, seed)
    # unpenalised log loss / softmax on a model linear in θ: a linear program says whether
    # the classes are separable (then no minimiser exists; the loop's "separated" verdict)
    objective.check_separable()
    ref = objective.reference() if (reference or objective.has_statistics) else None
    if objective.is_linear_least_squares and ref is None and objective.has_statistics:
        ref = objective.reference()
    notes: list[str] = []
    if advice is None and (objective.is_linear or auto_rate):
        try:
            advice = advise(objective, theta_start)
        except (ValueError, np.linalg.LinAlgError) as exc:
            notes.append(f"no curvature advice: {exc}")
    the_plan = plan(objective, preconditioner, auto_rate, advice)
    if is_penalized:  # not "as requested": the penalty decided it
        the_plan.reason = (
            "a penalised problem runs unpreconditioned: the penalty is on the coefficients in "
            "your units (see docs/penalties.md)"
        )
        notes.append(the_plan.note())
    elif (preconditioner is not None or auto_rate) and objective.is_linear:
        notes.insert(0, the_plan.note())
    return Problem(
        objective, the_plan, theta_start, the_plan.advice, ref if reference else None, notes
    )


def build_problem(
    X: Any,
    y: Any,
    model: Any = "linear",
    loss: Any = "mse",
    *,
    auto_rate: bool = False,
    preconditioner: str | None = None,
    seed: int | None = 0,
    theta0: Any = None,
    reference: bool = True,
    feature_names: list[str] | None = None,
    fast: bool | str = "auto",
    dtype: Any = None,
    full_batch: bool = True,
    progress: Callable[[int, int], None] | None = None,
    penalty: str | None = None,
    alpha: float = 1e-4,
    l1_ratio: float = 0.15,
    validation_fraction: float | None = None,
    sample_weight: Any = None,
    fingerprint: bool = True,
) -> Problem:
    """Validate the data, bind the model, build the objective and :func:`prepare` the problem.

    Parameters
    ----------
    X : array-like, shape (n, d) or (n,); DataFrame; Dask array
    y : array-like, shape (n,)
    model : str or Model
    loss : str or Loss
    auto_rate, preconditioner, seed, theta0, reference
        As in :func:`prepare`.
    feature_names : list of str, optional
    fast : bool or "auto"
        The fast path (see :func:`descend.problems.fastfit.build_objective`).
    dtype : None, np.float32 or np.float64
        How the fast path stores X.
    full_batch : bool
        The run uses full batches (a loss other than the squared error then stores X
        column-major on the fast path).
    progress : callable, optional
        Dask: ``progress(done, total)`` as the chunks of the statistics pass are read.
    penalty, alpha, l1_ratio
        As in :func:`prepare`.
    validation_fraction : float or None
        Hold out this share of the rows (seeded by ``seed``, :func:`split_validation`): the
        model is bound to and trained on the rest, and ``Problem.validation`` is the held-out
        loss (without the penalty) in the coordinates descent runs in.
    sample_weight : array-like, shape (n,), optional
        Row weights s_i ≥ 0: the loss is Σ s_i ℓ_i / Σ s_i (integer weights = repeated rows).
        Not yet with a validation split or Dask data.
    fingerprint : bool
        Dask: hash every chunk in the statistics pass (the objective's ``data_fingerprint``,
        which a checkpoint records); the fit asks for it only when it checkpoints or resumes.

    Returns
    -------
    Problem
    """
    check_seed(seed)
    loss = get_loss(loss)
    if loss.n_outputs != 1:  # the softmax: K from all the targets, before any split
        if is_dask(X):
            raise ValueError(
                f"loss={loss.spec()!r} is for in-memory data: load the Dask array (X.compute())"
            )
        loss = loss.for_targets(np.asarray(y))
    if sample_weight is not None and (validation_fraction is not None or is_dask(X)):
        raise ValueError(
            "sample_weight cannot be combined with a validation split or Dask data yet: "
            "drop validation_fraction/early_stopping, or repeat rows instead of weighting them"
        )
    X_val = y_val = None
    if validation_fraction is not None:
        if is_dask(X):
            raise ValueError("validation_fraction is for in-memory data; split the Dask array")
        X, y, X_val, y_val, names = split_validation(X, y, validation_fraction, seed)
        feature_names = feature_names or names
    if is_dask(X):
        if dtype is not None:
            raise ValueError("dtype is for in-memory arrays; cast the Dask array (X.astype)")
        obj: Objective = dask_objective(
            X, y, get_model(model), get_loss(loss), feature_names=feature_names,
            progress=progress, fingerprint=fingerprint,
        )  # fmt: skip
    else:
        obj = build_objective(
            X, y, model, loss, feature_names=feature_names, fast=fast,
            column_major=full_batch, dtype=dtype, sample_weight=sample_weight,
        )  # fmt: skip
    problem = prepare(
        obj,
        auto_rate=auto_rate,
        preconditioner=preconditioner,
        seed=seed,
        theta0=theta0,
        reference=reference,
        penalty=penalty,
        alpha=alpha,
        l1_ratio=l1_ratio,
    )
    if X_val is not None and y_val is not None:
        bound = obj.model
        n_train = len(y) if y is not None else 0
        if n_train < obj.n_params:
            raise ValueError(
                f"validation_fraction={validation_fraction} leaves {n_train} training "
                f"rows for {obj.n_params} parameters: use a smaller fraction or more data"
            )
        val: Objective = DataObjective(bound, obj.loss, bound.design(X_val), y_val)
        if problem.plan.kind != "none":
            val = PreconditionedObjective(val, problem.plan.pre)
        problem.validation = val
        problem.notes.append(
            f"validation: {len(y_val)} of {len(y_val) + n_train} rows held out "
            f"(seed {seed}); the model is trained on the other {n_train}"
        )
    return problem
