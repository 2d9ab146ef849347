"""Run several optimizers on the same problem from the same start, and tabulate them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .train import ADAPTIVE_LR, FitResult, auto_learning_rate, minimize

Array = NDArray[np.float64]

__all__ = ["compare", "Comparison", "ComparisonRow"]


@dataclass(frozen=True)
class ComparisonRow:
    """One optimizer's outcome.

    Attributes
    ----------
    label : str
        Name and settings, e.g. ``"momentum(lr=0.01, beta=0.9)"``.
    steps_to_target : int or None
        First step k at which the excess loss (L_k − L*)/max(L*, tiny) ≤ ``target`` when a
        reference optimum L* is known, else the step count of a converged run; None if never.
    final_loss : float
    excess : float or None
        Relative excess loss of the final θ over the reference optimum.
    wall_time : float
        Seconds in the loop.
    stop_reason : str
    diverged : bool
    """

    label: str
    steps_to_target: int | None
    final_loss: float
    excess: float | None
    wall_time: float
    stop_reason: str
    diverged: bool


@dataclass
class Comparison:
    """Rows in the order given, the full results (for plots), and the shared start."""

    rows: list[ComparisonRow]
    results: list[FitResult] = field(repr=False)
    theta0: Array
    reference_loss: float | None
    target: float

    def to_markdown(self) -> str:
        """The table as GitHub-flavoured Markdown."""
        head = (
            f"| optimizer | steps to {self.target:g} excess | final loss | excess | "
            "time (ms) | stop |\n|---|---:|---:|---:|---:|---|"
        )
        lines = [head]
        for r in self.rows:
            steps = "never" if r.steps_to_target is None else str(r.steps_to_target)
            excess = "–" if r.excess is None else f"{r.excess:.2e}"
            stop = "**diverged**" if r.diverged else r.stop_reason
            lines.append(
                f"| {r.label} | {steps} | {r.final_loss:.6g} | {excess} | "
                f"{1000 * r.wall_time:.1f} | {stop} |"
            )
        return "\n".join(lines)


def _parse(entry: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(entry, str):
        return entry.lower(), {}
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
        return entry[0].lower(), dict(entry[1])
    raise TypeError(
        f"each optimizer is a name or (name, settings) pair, e.g. ('momentum', {{'beta': 0.8}}); "
        f"got {entry!r}"
    )


def compare(
    problem: Any,
    optimizers: list[Any] | tuple[Any, ...] = ("gd", "momentum", "nesterov", "adam"),
    *,
    theta0: Any = None,
    max_steps: int = 5_000,
    tol: float = 1e-12,
    target: float = 1e-6,
    batch_size: int | None = None,
    seed: int = 0,
) -> Comparison:
    """Run each optimizer on ``problem`` from one start and compare them.

    Parameters
    ----------
    problem : Objective
        E.g. ``ds.objective(X, y, model="poly:3")`` or ``ds.surfaces.rosenbrock()``.
    optimizers : list
        Names (``"adam"``) or ``(name, settings)`` pairs; settings may hold
        ``learning_rate`` and the rule's hyperparameters. Without a learning rate, gd,
        momentum and nesterov take the curvature's best settings (as ``learning_rate="auto"``)
        and adaptive rules take ``ADAPTIVE_LR`` × std(y) (see
        :func:`descend.train.auto_learning_rate`).
    theta0 : array-like, optional
        Shared start; default the model's seeded random start (or the surface's suggested one).
    max_steps, tol, batch_size, seed
        As in :func:`descend.minimize`.
    target : float
        Relative excess loss that counts as "reached" when a reference optimum exists.

    Returns
    -------
    Comparison
    """
    from .curvature import advise
    from .reference import least_squares

    model = getattr(problem, "model", None)
    if theta0 is None:
        if model is not None:
            theta0 = model.init_params(np.random.default_rng(seed))
        elif getattr(problem, "suggested_start", None) is not None:
            theta0 = problem.suggested_start
        else:
            raise ValueError("give theta0: this objective has no model to draw a start from")
    theta0 = np.array(theta0, dtype=np.float64)
    y = getattr(problem, "y", None)
    scale = float(np.std(y)) if y is not None else 1.0
    ref = least_squares(problem)
    ref_loss = None if ref is None else ref.loss
    try:
        advice = advise(problem, theta0)
    except (ValueError, np.linalg.LinAlgError):
        advice = None

    rows: list[ComparisonRow] = []
    results: list[FitResult] = []
    for entry in optimizers:
        name, settings = _parse(entry)
        lr = settings.pop("learning_rate", None)
        if lr is None or lr == "auto":
            if advice is not None:
                lr, extra = auto_learning_rate(advice, name, scale)
                settings = {**extra, **settings}
            else:
                lr = ADAPTIVE_LR.get(name, 0.01)
        res = minimize(
            problem,
            theta0,
            name,
            lr,
            max_steps=max_steps,
            tol=tol,
            batch_size=batch_size,
            seed=seed,
            advice=advice,
            **settings,
        )
        results.append(res)
        shown = ", ".join(
            [f"lr={lr:.3g}" if isinstance(lr, float) else f"lr={lr}"]
            + [f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in settings.items()]
        )
        rows.append(
            ComparisonRow(
                label=f"{name}({shown})",
                steps_to_target=_steps_to_target(res, ref_loss, target),
                final_loss=res.loss,
                excess=None if ref_loss is None else _excess(res.loss, ref_loss),
                wall_time=res.wall_time,
                stop_reason=res.stop_reason,
                diverged=res.stop_reason == "diverged",
            )
        )
    return Comparison(rows, results, theta0, ref_loss, target)


def _excess(loss: float, ref_loss: float) -> float:
    return (loss - ref_loss) / max(abs(ref_loss), np.finfo(np.float64).tiny)


def _steps_to_target(res: FitResult, ref_loss: float | None, target: float) -> int | None:
    if res.stop_reason == "diverged":
        return None
    if ref_loss is None:
        return res.n_steps if res.converged else None
    denom = max(abs(ref_loss), np.finfo(np.float64).tiny)
    losses = np.append(res.history.loss, res.loss)  # L(θ_0) … L(θ_K)
    hit = np.flatnonzero((losses - ref_loss) / denom <= target)
    return int(hit[0]) if hit.size else None
