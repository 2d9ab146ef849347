"""What a run may claim: the stop reasons, the convergence certificate, each rule's stability.

This module owns the *definitions*; :class:`descend.descent.loop.Descent` applies them at each
step (the one place a stop is decided). Every claim is backed by evidence:

===============  =============================================================================
``stop_reason``  meaning
===============  =============================================================================
converged        **certified**: the objective is μ-strongly convex with μ known (least squares:
                 μ = λ_min of its Hessian, in the coordinates descent ran in), and both
                 L(θ) − L* ≤ ‖∇L(θ)‖²/(2μ) ≤ tol·|L(θ)| and ‖θ − θ*‖ ≤ ‖∇L(θ)‖/μ ≤ tol·‖θ‖
                 (with rounding-level floors for a perfect fit or θ* = 0).
stationary       ‖∇L(θ)‖ ≤ gtol·‖∇L(θ₀)‖ on a problem with no certificate (a network, MAE,
                 Huber, log loss): a stationary point to that tolerance, not a certified minimum.
stalled          the loss stopped changing (relative change ≤ ``stall_tol`` for ``patience``
                 steps) but the gradient did not vanish: a rate too small to move, iterates
                 oscillating at the rule's stability limit, or rounding; the message says which,
                 with the numbers.
max_steps        the step budget ran out; the message gives the bound reached so far and, where
                 the curvature is known, the steps still needed.
diverged         a non-finite loss or gradient, or a loss that kept rising in a way the rule that
                 ran does not allow (see :func:`stability_limit`); θ is rolled back.
interrupted      Ctrl-C, SIGTERM with a checkpoint, or a callback that returned True.
early_stopped    ``early_stopping``: the held-out (validation) loss made no new low for
                 ``n_iter_no_change`` checks (steps; epochs for mini-batches); θ is restored to
                 the iterate with the lowest validation loss.
separated        unpenalised log loss (or softmax) on a model linear in θ, on separable rows: either
                 θ classifies every training row correctly (all margins > 0), or a linear
                 program found the rows separable when the problem was built and, between
                 two marks at doublings of the step count (from ``SEPARATION_WINDOW`` steps;
                 for mini-batches epochs, from the first power of two ≥ ``patience``), the
                 loss fell and ‖θ‖ grew while no row changed between correct and wrong, or
                 the run would otherwise have
                 ended stationary, stalled or at max_steps. Then L(c·θ) → 0 as c → ∞ while
                 L > 0, so no minimiser exists (a penalty gives a finite one).
===============  =============================================================================

Stability of the update rules on a quadratic with Hessian eigenvalues λ ≤ λ_max (x = η·λ):

- plain gradient descent: x < 2, so η < 2/λ_max;
- heavy ball (PyTorch's form v ← βv + g, θ ← θ − ηv): 0 ≤ β < 1 and x < 2(1 + β);
- Nesterov (PyTorch's form, θ ← θ − η(g + βv)): x < 2(1 + β)/(1 + 2β);
- adaptive rules (adagrad, rmsprop, adam, adamw): no curvature limit — they rescale each step —
  so only non-finite values or sustained growth far beyond a transient count as divergence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

_EPS = 2.0**-52

__all__ = [
    "ADAPTIVE_RULES",
    "DEFAULT_GTOL",
    "DEFAULT_N_ITER_NO_CHANGE",
    "DEFAULT_PATIENCE",
    "DEFAULT_TOL",
    "CERTIFIED",
    "limit_text",
    "rule_memory",
    "SEPARATION_WINDOW",
    "STOP_REASONS",
    "Certificate",
    "certify",
    "known_mu",
    "MU_METHOD",
    "predicted_steps",
    "stability_limit",
    "sharpness_limit",
    "stall_diagnosis",
]

#: every stop reason and its one-line meaning (the table above); values are stable strings
STOP_REASONS: dict[str, str] = {
    "converged": "certified: L − L* ≤ ‖∇L‖²/(2μ) ≤ tol·|L| (strongly convex, μ known)",
    "stationary": "‖∇L‖ ≤ gtol·‖∇L(θ₀)‖; no certificate exists for this problem",
    "stalled": "the loss stopped changing but the gradient did not vanish",
    "max_steps": "the step budget ran out",
    "diverged": "non-finite values, or growth the update rule does not allow",
    "interrupted": "stopped by Ctrl-C, SIGTERM or the callback",
    "early_stopped": "the validation loss stopped improving (early_stopping); θ is the best on it",
    "separated": "the rows are linearly separable (θ separates them, or a linear program "
    "found it and the loss kept falling as ‖θ‖ grew): no minimiser exists (‖θ‖ → ∞)",
}

#: the default stopping settings, one place for every entry point: the certified relative
#: excess, the relative gradient norm for problems without a certificate, and the steps an
#: unchanged loss must last before the run counts as stalled
DEFAULT_TOL = 1e-9
DEFAULT_GTOL = 1e-8
DEFAULT_PATIENCE = 10
#: checks (steps, or epochs for mini-batches) without a new low of the validation loss before
#: early stopping fires
DEFAULT_N_ITER_NO_CHANGE = 10

#: on rows a linear program found separable, the first step count at which the loop marks
#: which rows θ classifies correctly (then at every doubling: 64, 128, 256, …); the run stops
#: as "separated" when no row changed class between two marks while the loss fell and ‖θ‖
#: grew (mini-batches: epochs, from ``patience``)
SEPARATION_WINDOW = 64

#: the stop reasons that say the run reached what it was after (certified or stationary)
CERTIFIED = ("converged",)

#: update rules that rescale each coordinate: no curvature limit to judge them by
ADAPTIVE_RULES = ("adagrad", "rmsprop", "adam", "adamw")


@dataclass(frozen=True)
class Certificate:
    """Bounds on how far θ is from the minimiser, and how they were obtained.

    Attributes
    ----------
    excess_bound : float
        An upper bound on L(θ) − L*: ‖∇L(θ)‖²/(2μ).
    distance_bound : float
        An upper bound on ‖θ − θ*‖ in the coordinates descent ran in: ‖∇L(θ)‖/μ.
    grad_norm : float
        ‖∇L(θ)‖ at the certified θ.
    mu : float
        The strong-convexity constant used (λ_min of the Hessian).
    loss : float
        L(θ).
    theta_norm : float
        ‖θ‖ at the certified θ (coordinates descent ran in).
    method : str
        Where μ came from, e.g. "least squares: μ = λ_min of the exact Hessian".
    """

    excess_bound: float
    distance_bound: float
    grad_norm: float
    mu: float
    loss: float
    theta_norm: float
    method: str

    @property
    def relative_excess_bound(self) -> float:
        """excess_bound / |L(θ)| (inf when L(θ) = 0 and the bound is not)."""
        if self.loss == 0.0:
            return 0.0 if self.excess_bound == 0.0 else math.inf
        return self.excess_bound / abs(self.loss)

    @property
    def relative_distance_bound(self) -> float:
        """distance_bound / ‖θ‖ (inf when θ = 0 and the bound is not)."""
        if self.theta_norm == 0.0:
            return 0.0 if self.distance_bound == 0.0 else math.inf
        return self.distance_bound / self.theta_norm

    def holds(self, tol: float, loss0: float = 0.0, theta0_norm: float = 0.0) -> bool:
        """The certified stopping rule, on the loss and on the parameters:

        excess_bound ≤ tol·max(|L(θ)|, ε·|L(θ₀)|) and distance_bound ≤ tol·max(‖θ‖, ε·‖θ₀‖).

        A small excess alone gives θ only to about √tol; the distance bound gives it to tol.
        The ε floors cover a perfect fit (L* = 0) and θ* = 0, where no bound can be a small
        fraction of the value itself: there the bound must reach rounding level of the start.
        """
        return self.excess_bound <= tol * max(
            abs(self.loss), _EPS * abs(loss0)
        ) and self.distance_bound <= tol * max(self.theta_norm, _EPS * theta0_norm)

    def describe(self) -> str:
        """One line for summaries: the bounds and where they come from."""
        return (
            f"L − L* ≤ {self.excess_bound:.3g} ({self.relative_excess_bound:.2g} of L), "
            f"‖θ − θ*‖ ≤ {self.distance_bound:.3g} ({self.relative_distance_bound:.2g} of ‖θ‖); "
            f"{self.method}"
        )

    def _repr_html_(self) -> str:
        """Notebook display: the two bounds, ‖∇L‖, μ and where μ came from."""
        from descend.data.html import kv_table, num, section

        return section(
            "Certificate",
            kv_table([
                ("L − L* ≤", f"{num(self.excess_bound, 3)} "
                             f"({num(self.relative_excess_bound, 2)} of L)"),
                ("‖θ − θ*‖ ≤", f"{num(self.distance_bound, 3)} "
                               f"({num(self.relative_distance_bound, 2)} of ‖θ‖)"),
                ("‖∇L(θ)‖", num(self.grad_norm, 3)),
                ("μ", num(self.mu, 6)),
                ("how", self.method),
            ]),
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Plain floats and strings (JSON-ready with the result serialiser)."""
        return {
            "excess_bound": self.excess_bound,
            "distance_bound": self.distance_bound,
            "relative_excess_bound": self.relative_excess_bound,
            "relative_distance_bound": self.relative_distance_bound,
            "grad_norm": self.grad_norm,
            "mu": self.mu,
            "loss": self.loss,
            "theta_norm": self.theta_norm,
            "method": self.method,
        }


def known_mu(objective: Any, advice: Any) -> float | None:
    """μ, the strong-convexity constant, where it is known: least squares with the exact
    Hessian's λ_min > 0 (in the coordinates of ``objective``); None otherwise."""
    if advice is None or not advice.exact or not objective.is_linear_least_squares:
        return None
    return float(advice.lam_min) if advice.lam_min > 0 else None


#: how μ is known, for the certificate
MU_METHOD = "least squares: μ = λ_min of the exact Hessian (coordinates descent ran in)"


def certify(
    loss: float, grad_norm: float, mu: float | None, method: str, theta_norm: float = math.nan
) -> Certificate | None:
    """The certificate at a point θ (‖θ‖ given) with loss L and gradient norm ‖g‖, for μ.

    L − L* ≤ ‖g‖²/(2μ) and ‖θ − θ*‖ ≤ ‖g‖/μ hold for any μ-strongly convex L (the
    Polyak–Łojasiewicz inequality and strong monotonicity of the gradient). None when μ is not
    known or not positive, or the numbers are not finite — and when the gradient evaluated to
    exactly 0 while L ≠ 0: a rounding coincidence (the statistics' Gram form 2(Gθ − c) reaches
    its own fixed point exactly), not evidence that L − L* = 0. Only an exactly zero residual
    (L = 0) makes a zero gradient exact.
    """
    if mu is None or not (mu > 0) or not math.isfinite(mu):
        return None
    if not (math.isfinite(loss) and math.isfinite(grad_norm)):
        return None
    if grad_norm == 0.0 and loss != 0.0:
        return None
    return Certificate(
        grad_norm**2 / (2.0 * mu), grad_norm / mu, grad_norm, mu, loss, theta_norm, method
    )


def stability_limit(optimizer: str, hyper: dict[str, Any], lam_max: float) -> float | None:
    """The largest stable learning rate of an update rule on curvature λ_max (None: no limit).

    gd/sgd: 2/λ_max; momentum: 2(1 + β)/λ_max for 0 ≤ β < 1; nesterov: 2(1 + β)/((1 + 2β)·λ_max);
    adaptive rules and unknown rules: None (no curvature limit to judge them by).
    """
    name = optimizer.lower()
    if not (lam_max > 0) or not math.isfinite(lam_max):
        return None
    beta = float(hyper.get("beta", 0.9) if hyper.get("beta") is not None else 0.9)
    if name in ("gd", "sgd"):
        return 2.0 / lam_max
    if name == "momentum":
        return 2.0 * (1.0 + beta) / lam_max if 0.0 <= beta < 1.0 else 0.0
    if name == "nesterov":
        return 2.0 * (1.0 + beta) / ((1.0 + 2.0 * beta) * lam_max) if 0.0 <= beta < 1.0 else 0.0
    return None


def sharpness_limit(optimizer: str, hyper: dict[str, Any], lr: float) -> tuple[float, bool] | None:
    """The sharpness at which a rule at rate η stops being stable on a quadratic, and whether
    it is of the preconditioned Hessian P⁻¹H (True) or of H itself (False); None: none known.

    The rate limits of :func:`stability_limit` read the other way round — gd/sgd: 2/η;
    momentum: 2(1 + β)/η; nesterov: 2(1 + β)/((1 + 2β)η) — and for the adaptive rules, on
    λ_max(P⁻¹H) with the rule's own P (Cohen et al., "Adaptive Gradient Methods at the Edge of
    Stability", 2022): adam/adamw (2 + 2β₁)/((1 − β₁)η), 38/η for β₁ = 0.9 (the first
    moment is dampened heavy-ball momentum); rmsprop (2 + 2μ)/η with its momentum μ (2/η
    without); adagrad 2/η.
    """
    if not (lr > 0) or not math.isfinite(lr):
        return None
    name = optimizer.lower()
    plain = stability_limit(name, hyper, 1.0)  # the rate limit at λ_max = 1 is c in c/λ_max
    if plain is not None:
        return (plain / lr, False)
    if name in ("adam", "adamw"):
        b1 = float(hyper.get("b1", 0.9) if hyper.get("b1") is not None else 0.9)
        return ((2.0 + 2.0 * b1) / ((1.0 - b1) * lr), True)
    if name == "rmsprop":
        mu = float(hyper.get("momentum", 0.0) or 0.0)
        return ((2.0 + 2.0 * mu) / lr, True)
    if name == "adagrad":
        return (2.0 / lr, True)
    return None


def rule_memory(optimizer: str, hyper: dict[str, Any]) -> int:
    """How many steps an update rule remembers: 1/(1 − β) for heavy ball and Nesterov,
    1/(1 − β₁) for Adam, 1 otherwise (at most 1000). A stall must outlast it."""
    name = optimizer.lower()
    if name in ("momentum", "nesterov"):
        beta = hyper.get("beta")
    elif name in ("adam", "adamw"):
        beta = hyper.get("b1")
    else:
        return 1
    beta = 0.9 if beta is None else float(beta)
    return int(min(1000, max(1, round(1.0 / max(1.0 - beta, 1e-3)))))


def limit_text(optimizer: str, hyper: dict[str, Any]) -> str:
    """The rule's stability condition in words (for messages)."""
    name = optimizer.lower()
    if name in ("gd", "sgd"):
        return "the stability limit of plain gradient descent, 2/λ_max"
    beta = hyper.get("beta", 0.9)
    if name == "momentum":
        return f"the heavy-ball stability limit 2(1 + β)/λ_max (β = {beta:.3g})"
    if name == "nesterov":
        return f"Nesterov's stability limit 2(1 + β)/((1 + 2β)·λ_max) (β = {beta:.3g})"
    return f"{name}, which has no curvature limit"


def predicted_steps(
    optimizer: str,
    lr: float,
    lam_min: float,
    lam_max: float,
    gap: float,
    target: float,
    distance: float = 0.0,
    distance_target: float = 0.0,
) -> float | None:
    """Steps plain gradient descent at a constant rate still needs to bring the excess bound
    ``gap`` to ``target`` and the distance bound ``distance`` to ``distance_target``.

    Both shrink geometrically: the excess by ρ² per step, the distance by ρ, with
    ρ = max(|1 − η·λ_min|, |1 − η·λ_max|). None for other rules, a non-contracting rate or
    unknown curvature.
    """
    if optimizer.lower() not in ("gd", "sgd") or not (lam_min > 0) or not (lr > 0):
        return None
    rho = max(abs(1.0 - lr * lam_min), abs(1.0 - lr * lam_max))
    if not rho < 1.0:
        return None
    needed = 0.0
    for now, goal, power in ((gap, target, 2.0), (distance, distance_target, 1.0)):
        if now > goal > 0:
            if rho == 0.0:  # the exact rate on a perfectly conditioned problem: one step
                needed = max(needed, 1.0)
            else:
                needed = max(needed, math.log(goal / now) / (power * math.log(rho)))
    return needed


def stall_diagnosis(
    optimizer: str,
    hyper: dict[str, Any],
    lr: float,
    lam_max: float | None,
    grad_norm: float,
    grad_norm0: float,
    oscillating: bool,
) -> str:
    """Why the loss stopped changing while the gradient did not vanish, with the numbers."""
    rel = grad_norm / grad_norm0 if grad_norm0 > 0 else math.nan
    where = f"‖∇L‖ = {grad_norm:.3g} ({rel:.2g} of the first gradient)"
    limit = stability_limit(optimizer, hyper, lam_max) if lam_max is not None else None
    if rel <= 1e3 * _EPS:  # the gradient is down to rounding: nothing left to gain
        return (
            f"stalled at rounding level: the loss no longer changes in floating point and "
            f"{where} is as small as float64 lets it get — as accurate as descent can make it, "
            "but the certificate's tolerance is tighter than rounding allows"
        )
    if oscillating and limit is not None and lr >= (1.0 - 1e-3) * limit:
        return (
            f"stalled: the iterates oscillate at the stability limit — lr = {lr:.6g} is "
            f"{lr / limit:.4g}× {limit_text(optimizer, hyper)} = {limit:.6g}, so the loss "
            f"repeats while {where}. Use a smaller rate (learning_rate='auto' for the best one)."
        )
    if oscillating:
        return (
            f"stalled: the iterates oscillate and the loss repeats while {where}; try a "
            "smaller learning rate."
        )
    if lam_max is not None and lam_max > 0 and lr * lam_max < 1e-6:
        return (
            f"stalled: the learning rate {lr:.3g} is too small to move — lr·λ_max = "
            f"{lr * lam_max:.3g}, so each step changes the loss by less than rounding — while "
            f"{where}. Use learning_rate='auto' or a rate near {1.0 / lam_max:.3g}."
        )
    return (
        f"stalled: the loss no longer changes in floating point while {where} — the gradient "
        "is as small as rounding lets it get at this rate; the result is as accurate as "
        "descent can make it here, but not certified"
    )
