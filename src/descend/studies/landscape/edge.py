"""The edge of stability: full-batch gradient descent on a small tanh network.

On a quadratic, gradient descent at rate η is stable only while the sharpness λ_max(H) stays
below 2/η — the lesson's rule. For a network H moves with θ, and Cohen, Kaur, Li, Kolter and
Talwalkar ("Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability",
ICLR 2021) observed two phases in full-batch training:

1. **progressive sharpening**: the sharpness rises while the loss falls, until it reaches 2/η;
2. **the edge of stability**: it then hovers at (or just above) 2/η — where a quadratic would
   diverge — while the loss keeps falling, no longer monotonically (Damian, Nichani and Lee,
   "Self-Stabilization", ICLR 2023, explain the mechanism: the step's overshoot along the top
   eigenvector itself lowers the sharpness).

:func:`edge_of_stability` trains the same network from the same start at several rates with
the sharpness measured every few steps (``ds.fit(..., track_sharpness=E)``, exact
Hessian-vector products through the R-operator, Lanczos) and reports, per rate, where the
sharpness ends relative to 2/η (the median of sharpness × η/2 over the last half of the run)
and what the loss did. Nothing here decides what the answer should be: a rate whose
sharpness has not reached 2/η by the end is reported as such.

Adaptive rules have their own edge (Cohen et al., "Adaptive Gradient Methods at the Edge of
Stability", 2022): ``optimizer="adam"`` tracks λ_max(P⁻¹H) with Adam's P = √v̂ + ε against
(2 + 2β₁)/((1 − β₁)η) = 38/η (:func:`descend.descent.verdicts.sharpness_limit`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.descent.fit import fit
from descend.descent.verdicts import sharpness_limit
from descend.studies.landscape.saddles import saddle_task

Array = NDArray[np.float64]

__all__ = ["EdgeRun", "EdgeStudy", "edge_of_stability", "EDGE_BAND"]

#: |median(sharpness)·η/2 − 1| within this counts as "at the edge" in :meth:`EdgeRun.verdict`
EDGE_BAND = 0.1


@dataclass(frozen=True)
class EdgeRun:
    """One full-batch run at rate η with its sharpness trace.

    Attributes
    ----------
    learning_rate : float
        η.
    loss : ndarray, shape (K,)
        L(θ_k) for k = 0 … K−1.
    sharpness_steps : ndarray of int, shape (m,)
        The steps k at which the sharpness was measured (0, E, 2E, …).
    sharpness : ndarray, shape (m,)
        λ_max(∇²L(θ_k)) at those steps — of P_k⁻¹∇²L(θ_k) for an adaptive rule.
    stop_reason : str
        The run's verdict ("max_steps" when it ran its whole budget).
    seconds : float
        Wall time of the run, tracking included.
    cost : dict
        What tracking cost: ``every``, ``measurements``, ``hvps``, ``seconds``.
    threshold : float
        The rule's edge (:func:`descend.descent.verdicts.sharpness_limit`): 2/η for plain
        gradient descent (the default), 38/η on P⁻¹H for Adam with β₁ = 0.9.
    preconditioned : bool
        ``sharpness`` and ``threshold`` are of P⁻¹H (adaptive rules).
    """

    learning_rate: float
    loss: Array
    sharpness_steps: NDArray[np.int64]
    sharpness: Array
    stop_reason: str
    seconds: float
    cost: dict[str, Any]
    threshold: float = math.nan
    preconditioned: bool = False

    def __post_init__(self) -> None:
        if math.isnan(self.threshold):  # plain gradient descent: 2/η
            object.__setattr__(self, "threshold", 2.0 / self.learning_rate)

    def _late(self) -> Array:
        """Sharpness measured in the last half of the run (the late phase)."""
        half = len(self.loss) // 2
        return self.sharpness[self.sharpness_steps >= half]

    @property
    def late_ratio(self) -> float:
        """median(sharpness in the late phase) · η/2: 1 at the edge of stability."""
        late = self._late()
        return float(np.median(late)) / self.threshold if late.size else math.nan

    @property
    def late_spread(self) -> tuple[float, float]:
        """The 10th and 90th percentiles of sharpness · η/2 in the late phase."""
        late = self._late() / self.threshold
        if not late.size:
            return (math.nan, math.nan)
        lo, hi = np.percentile(late, [10, 90])
        return (float(lo), float(hi))

    @property
    def peak_ratio(self) -> float:
        """max(sharpness) · η/2 over the whole run."""
        return float(np.max(self.sharpness)) / self.threshold

    @property
    def first_crossing(self) -> int | None:
        """The first measured step with sharpness ≥ 2/η (None: it never got there)."""
        hit = np.flatnonzero(self.sharpness >= self.threshold)
        return int(self.sharpness_steps[hit[0]]) if hit.size else None

    @property
    def late_rises(self) -> float:
        """The fraction of late-phase steps at which the loss rose (0 for monotone descent)."""
        late = self.loss[len(self.loss) // 2 :]
        return float(np.mean(np.diff(late) > 0)) if late.size > 1 else math.nan

    @property
    def loss_at_half(self) -> float:
        """The median loss over steps K/2 … 3K/4 (the late phase's first half: the loss
        oscillates at the edge, so single values say little)."""
        K = len(self.loss)
        return float(np.median(self.loss[K // 2 : max(3 * K // 4, K // 2 + 1)]))

    @property
    def loss_at_end(self) -> float:
        """The median loss over steps 3K/4 … K (the late phase's second half)."""
        K = len(self.loss)
        return float(np.median(self.loss[min(3 * K // 4, K - 1) :]))

    @property
    def final_loss(self) -> float:
        """L at the last step."""
        return float(self.loss[-1])

    def verdict(self) -> str:
        """ "at the edge", "below the edge" (still sharpening) or "above the edge" — or
        "diverged at step K" when the run blew up (its traces are too short to judge), or "not
        measured" (no sharpness in the late phase, e.g. ``every`` ≥ the run's steps)."""
        if self.stop_reason == "diverged":
            return f"diverged at step {len(self.loss)}"
        r = self.late_ratio
        if not math.isfinite(r):
            return "not measured"
        if abs(r - 1.0) <= EDGE_BAND:
            return "at the edge"
        return "below the edge" if r < 1.0 else "above the edge"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: the traces and the summary numbers."""
        return {
            "learning_rate": self.learning_rate,
            "threshold": self.threshold,
            "preconditioned": self.preconditioned,
            "loss": self.loss.tolist(),
            "sharpness_steps": self.sharpness_steps.tolist(),
            "sharpness": self.sharpness.tolist(),
            "stop_reason": self.stop_reason,
            "seconds": self.seconds,
            "cost": dict(self.cost),
            "late_ratio": self.late_ratio,
            "peak_ratio": self.peak_ratio,
            "first_crossing": self.first_crossing,
            "late_rises": self.late_rises,
            "final_loss": self.final_loss,
            "loss_third_quarter": self.loss_at_half,
            "loss_fourth_quarter": self.loss_at_end,
            "verdict": self.verdict(),
        }


@dataclass
class EdgeStudy:
    """Runs at several rates of one network from one start (see :func:`edge_of_stability`)."""

    runs: list[EdgeRun]
    hidden: list[int]
    optimizer: str
    n_samples: int
    n_params: int
    max_steps: int
    every: int
    seed: int
    wall_time: float = 0.0
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        """A Markdown table: one row per rate."""
        rows = [
            "| η | edge | sharpness at step 0 | first at the edge at step | peak / edge "
            "| late median / edge (10–90 %) | late steps with the loss rising "
            "| median loss: 3rd → 4th quarter | verdict |",
            "|---:|---:|---:|---:|---:|---|---:|---|---|",
        ]
        for r in self.runs:
            lo, hi = r.late_spread
            cross = "never" if r.first_crossing is None else f"{r.first_crossing:,}"
            rows.append(
                f"| {r.learning_rate:g} | {r.threshold:.3g} | {r.sharpness[0]:.3g} | {cross} "
                f"| {r.peak_ratio:.2f} | {r.late_ratio:.3f} ({lo:.2f}–{hi:.2f}) "
                f"| {100 * r.late_rises:.0f} % | {r.loss_at_half:.3g} → {r.loss_at_end:.3g} "
                f"| {r.verdict()} |"
            )
        return "\n".join(rows)

    def describe(self) -> str:
        """What was run, in one line."""
        what = "GD" if self.optimizer == "gd" else self.optimizer
        pre = (
            " (of P⁻¹H, the rule's preconditioned Hessian)"
            if self.runs and self.runs[0].preconditioned
            else ""
        )
        return (
            f"tanh MLP {self.hidden} ({self.n_params} parameters), MSE on {self.n_samples} "
            f"rows, full-batch {what} for {self.max_steps:,} steps from one seeded start "
            f"(seed {self.seed}), sharpness{pre} every {self.every} steps"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "hidden": self.hidden,
            "optimizer": self.optimizer,
            "n_samples": self.n_samples,
            "n_params": self.n_params,
            "max_steps": self.max_steps,
            "every": self.every,
            "seed": self.seed,
            "wall_time": self.wall_time,
            "runs": [r.to_dict() for r in self.runs],
        }


def edge_of_stability(
    learning_rates: Sequence[float] = (0.05, 0.1, 0.2, 0.4),
    hidden: Sequence[int] = (16,),
    *,
    n_samples: int = 100,
    max_steps: int = 3000,
    every: int = 10,
    seed: int = 0,
    X: Any = None,
    y: Any = None,
    optimizer: str = "gd",
    progress: Callable[[int, int], Any] | None = None,
    **hyper: Any,
) -> EdgeStudy:
    """Train a tanh network by full-batch gradient descent at each rate, tracking sharpness.

    Every run starts from the same θ₀ (the model's seeded Glorot start) on the same data and
    runs its whole budget: the stopping rules that would end it early (stationary, stalled)
    are switched off (``gtol=0``, ``tol=0``, unbounded patience); only a divergence stops it.

    Parameters
    ----------
    learning_rates : sequence of float
        The rates η (each > 0), three or more to see the pattern.
    hidden : sequence of int
        Hidden-layer widths of the tanh MLP.
    n_samples : int
        Rows of the default task (:func:`~descend.studies.landscape.saddles.saddle_task`
        without noise: y = standardised sin(2x₁)·cos(x₂) + 0.5·x₂² on [−2, 2]²).
    max_steps : int
        Steps per run.
    every : int
        Measure the sharpness every this many steps.
    seed : int
        Seeds the data and θ₀.
    X, y : array-like, optional
        Other data (shape (n, d) and (n,)) instead of the default task.
    optimizer : str
        The update rule ("gd" by default). For an adaptive rule (Adam, RMSprop, Adagrad) the
        sharpness is that of P⁻¹H with the rule's own P and the edge is
        :func:`~descend.descent.verdicts.sharpness_limit`'s (38/η for Adam, β₁ = 0.9).
    **hyper
        The rule's hyperparameters (``b1=…``).
    progress : callable, optional
        ``progress(done, total)`` after each rate.

    Returns
    -------
    EdgeStudy
    """
    rates = [float(lr) for lr in learning_rates]
    if not rates or not all(math.isfinite(lr) and lr > 0 for lr in rates):
        raise ValueError(f"learning rates must be positive numbers, got {list(learning_rates)!r}")
    widths = [int(h) for h in hidden]
    if int(every) * 2 > int(max_steps):
        raise ValueError(
            f"every = {every} measures the sharpness at most once in the late half of "
            f"max_steps = {max_steps} steps, which the study compares with the edge: give "
            f"every ≤ max_steps/2 (e.g. every = {max(1, int(max_steps) // 100)})"
        )
    if X is None or y is None:
        X, y = saddle_task(n_samples, seed=seed, noise=0.0)
    t0 = time.perf_counter()
    runs = []
    n_params = 0
    for i, lr in enumerate(rates):
        t = time.perf_counter()
        res = fit(
            X, y, model=f"mlp:{','.join(map(str, widths))}", loss="mse", optimizer=optimizer,
            learning_rate=lr, max_steps=max_steps, seed=seed, gtol=0.0, tol=0.0,
            patience=10**9, warn=False, track_sharpness=every, record_params=False, **hyper,
        )  # fmt: skip
        seconds = time.perf_counter() - t
        h = res.history
        edge = sharpness_limit(optimizer, dict(res.settings["hyperparams"]), lr)
        if edge is None:
            raise ValueError(f"no known edge of stability for optimizer {optimizer!r}")
        trace = h.preconditioned_sharpness if edge[1] else h.sharpness
        assert trace is not None
        measured = np.flatnonzero(np.isfinite(trace))
        n_params = int(res.params.shape[0])
        runs.append(
            EdgeRun(
                learning_rate=lr,
                loss=h.loss,
                sharpness_steps=h.step[measured],
                sharpness=trace[measured],
                stop_reason=res.stop_reason,
                seconds=seconds,
                cost=dict(res.settings["track_sharpness"]),
                threshold=edge[0],
                preconditioned=edge[1],
            )
        )
        if progress is not None:
            progress(i + 1, len(rates))
    return EdgeStudy(
        runs=runs,
        hidden=widths,
        optimizer=res.settings["optimizer"] if runs else optimizer,
        n_samples=int(np.shape(y)[0]),
        n_params=n_params,
        max_steps=max_steps,
        every=every,
        seed=seed,
        wall_time=time.perf_counter() - t0,
    )
