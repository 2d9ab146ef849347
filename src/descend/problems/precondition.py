"""Preconditioned least squares: descend in whitened coordinates, then refine.

For a model linear in θ with the squared error, L(θ) = (1/n)‖y − Aθ‖² with the design
A = [Z, 1] of shape (n, p), and the Hessian is the constant H = (2/n)·AᵀA. Plain gradient
descent at its best constant rate contracts the error by ρ = (κ − 1)/(κ + 1) per step,
κ = λ_max(H)/λ_min(H), so it needs about (κ/4)·ln(1/ε) steps to shrink the loss gap by ε: for
Filip (κ ≈ 2.4e6) that is tens of millions of steps.

A *preconditioner* is a change of variables θ = T·φ with T invertible. Descent runs on

    f(φ) = L(T·φ),   ∇f(φ) = Tᵀ·∇L(T·φ),   ∇²f = Tᵀ·H·T = (2/n)·(AT)ᵀ(AT),

which is the same problem (same minimiser, mapped by T) with a better conditioned Hessian:

- ``"diagonal"`` (Jacobi): T = diag(√n/‖A_j‖), the columns of AT get norm √n, so the
  Hessian's diagonal is 2 everywhere. It helps when the columns are badly *scaled* (e.g.
  ``scale=False`` on raw powers), not when they are nearly *collinear*.
- ``"qr"``: A = Q·R (Householder, Q of shape (n, p) with orthonormal columns, R upper
  triangular), T = √n·R⁻¹, i.e. φ = R·θ/√n. Then AT = √n·Q, the Hessian is exactly 2·I
  (κ = 1), the best rate is lr = 1/2 and one step lands on the minimiser; later steps are
  steps of iterative refinement (each gradient recomputes the residual with the real A).

``learning_rate="auto"`` chooses for you (:func:`choose`): no preconditioner while
κ(H) ≤ :data:`AUTO_KAPPA` (= 100: plain descent then needs at most about 25·ln(1/ε) steps),
otherwise Jacobi scaling if it alone brings κ down to that threshold, otherwise QR — and QR
for the MAE's smoothing continuation whenever κ > 1 (:func:`choose`).

**Iterative refinement** (:func:`refine`). Floating-point residuals r = y − Aθ lose digits to
cancellation when ŷ ≈ y (e.g. an exact fit with |y| ≈ 10⁶). After the descent, the residual is
recomputed *correctly rounded* (each product a_ij·θ_j split exactly into two floats by
Dekker's TwoProduct, each row summed exactly by ``math.fsum``), descent is run again on the
residual problem min_δ (1/n)‖r − Aδ‖² in the same whitened coordinates, and θ ← θ + δ; this is
repeated while the corrections keep shrinking.

Everything here sits behind the Objective seam: :class:`PreconditionedObjective` wraps a
:class:`~descend.problems.objective.DataObjective`, and results are mapped back so that
``res.params``
stays in the model's coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.tables import as_arrays
from descend.problems.curvature import Advice, advise, eigenvalues
from descend.problems.models import get_model
from descend.problems.objective import DataObjective, Objective

Array = NDArray[np.float64]

__all__ = [
    "PRECONDITIONERS",
    "AUTO_KAPPA",
    "Preconditioner",
    "PreconditionedObjective",
    "Plan",
    "Conditioning",
    "choose",
    "plan",
    "refine",
    "exact_residual",
    "conditioning",
    "condition_number",
]

PRECONDITIONERS = ("none", "diagonal", "qr")

#: κ(H) above which ``learning_rate="auto"`` preconditions: plain descent at the best rate
#: needs about (κ/4)·ln(1/ε) steps, ≤ 25·ln(1/ε) ≈ 900 steps for full float64 accuracy here.
AUTO_KAPPA = 100.0

#: at most this many rounds of iterative refinement
MAX_REFINE_ROUNDS = 3

_EPS = float(np.finfo(np.float64).eps)


# ---------------------------------------------------------------------------------------------
# the change of variables θ = T·φ
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Preconditioner:
    """A change of variables θ = T·φ for a design A of shape (n, p).

    Attributes
    ----------
    kind : {"none", "diagonal", "qr"}
    d : ndarray, shape (p,), or None
        ``"diagonal"``: T = diag(d), d_j = √n/‖A_j‖₂.
    R : ndarray, shape (p, p), or None
        ``"qr"``: the triangular factor of A = QR; T = √n·R⁻¹.
    n : int
        Rows of A.
    """

    kind: str
    d: Array | None = None
    R: Array | None = None
    n: int = 1

    @classmethod
    def build(cls, kind: str, A: Array) -> Preconditioner:
        """The preconditioner ``kind`` for the design A of shape (n, p).

        Raises
        ------
        ValueError
            For an unknown kind, or a rank-deficient A (a zero column, or R singular to
            working precision), which no change of variables can whiten.
        """
        if kind not in PRECONDITIONERS:
            raise ValueError(f"unknown preconditioner {kind!r}; choose one of {PRECONDITIONERS}")
        n = int(A.shape[0])
        if kind == "none":
            return cls("none", n=n)
        if kind == "diagonal":
            norms = np.linalg.norm(A, axis=0)
            if np.any(norms == 0):
                raise ValueError("preconditioner='diagonal': the design has an all-zero column")
            return cls("diagonal", d=math.sqrt(n) / norms, n=n)
        R = np.asarray(np.linalg.qr(A, mode="r"), dtype=np.float64)
        diag = np.abs(np.diag(R))
        if diag.size and diag.min() <= diag.max() * _EPS * max(A.shape):
            raise ValueError(
                "preconditioner='qr': the design is rank deficient to working precision "
                "(a column is a combination of the others), so R has no usable inverse; "
                "drop the redundant column or use preconditioner='none'"
            )
        return cls("qr", R=R, n=n)

    @classmethod
    def from_gram(cls, kind: str, G: Array, n: int) -> Preconditioner:
        """The preconditioner ``kind`` from the Gram matrix G = AᵀA/n alone (no pass over A).

        What the fast path (:class:`~descend.problems.fast_objective.FastDataObjective`) uses:
        its one-pass statistics already hold G, so neither the design A nor its QR
        factorisation is formed.

        - ``"diagonal"``: d_j = 1/√G_jj, which equals √n/‖A_j‖₂ of :meth:`build`.
        - ``"qr"``: AᵀA = n·G = RᵀR with R = √n·Lᵀ and G = LLᵀ (Cholesky). This is the R of
          A = QR up to the signs of its rows (a sign flip of some φ_j, the same descent);
          computed from G it carries a relative error of about κ(G)·ε instead of κ(A)·ε, so
          the whitened Hessian is 2·I + O(κ(G)·ε): κ ≈ 1 while κ(G) ≪ 1/ε.

        Parameters
        ----------
        kind : {"none", "diagonal", "qr"}
        G : ndarray, shape (p, p)
            Symmetric positive (semi)definite.
        n : int
            Rows of A.

        Raises
        ------
        ValueError
            For an unknown kind, or a G that is singular to working precision.
        """
        if kind not in PRECONDITIONERS:
            raise ValueError(f"unknown preconditioner {kind!r}; choose one of {PRECONDITIONERS}")
        if kind == "none":
            return cls("none", n=n)
        diag = np.diag(G)
        if kind == "diagonal":
            if not np.all(diag > 0):
                raise ValueError("preconditioner='diagonal': the design has an all-zero column")
            return cls("diagonal", d=1.0 / np.sqrt(diag), n=n)
        try:
            L = np.linalg.cholesky(G)
        except np.linalg.LinAlgError:
            L = None
        ld = np.diag(L) ** 2 if L is not None else np.zeros(1)
        if L is None or ld.min() <= ld.max() * _EPS * G.shape[0]:
            raise ValueError(
                "preconditioner='qr': the design is rank deficient to working precision "
                "(a column is a combination of the others), so R has no usable inverse; "
                "drop the redundant column or use preconditioner='none'"
            )
        return cls("qr", R=np.ascontiguousarray(math.sqrt(n) * L.T), n=n)

    @classmethod
    def for_objective(cls, kind: str, objective: Any) -> Preconditioner:
        """:meth:`from_gram` when the objective carries one-pass statistics, else :meth:`build`.

        Objectives with statistics (the fast path) say so with ``has_statistics = True``;
        their :meth:`gram` costs O(p²), while the design A of :meth:`build` would be an n×p
        copy of the data and its QR a full pass.
        """
        if objective.has_statistics or objective.model.n_outputs > 1:  # K outputs: I_K ⊗ G
            return cls.from_gram(kind, objective.gram(), int(objective.n_samples))
        return cls.build(kind, objective.model.augmented(objective.Z))

    def to_model(self, phi: Array) -> Array:
        """θ = T·φ; φ of shape (p,) or (p, m)."""
        if self.kind == "diagonal":
            assert self.d is not None
            return np.asarray(phi * (self.d if phi.ndim == 1 else self.d[:, None]))
        if self.kind == "qr":
            assert self.R is not None
            return np.asarray(np.linalg.solve(self.R, phi) * math.sqrt(self.n))
        return phi

    def from_model(self, theta: Array) -> Array:
        """φ = T⁻¹·θ, shape (p,)."""
        if self.kind == "diagonal":
            assert self.d is not None
            return np.asarray(theta / self.d)
        if self.kind == "qr":
            assert self.R is not None
            return np.asarray(self.R @ theta / math.sqrt(self.n))
        return theta

    def pullback(self, g: Array) -> Array:
        """Tᵀ·g: a gradient with respect to θ turned into one with respect to φ.

        g of shape (p,), or (p, m) for m vectors at once.
        """
        if self.kind == "diagonal":
            assert self.d is not None
            return np.asarray(g * (self.d if g.ndim == 1 else self.d[:, None]))
        if self.kind == "qr":
            assert self.R is not None
            return np.asarray(np.linalg.solve(self.R.T, g) * math.sqrt(self.n))
        return g

    def congruence(self, M: Array) -> Array:
        """Tᵀ·M·T for a symmetric M of shape (p, p) (e.g. the Hessian)."""
        if self.kind == "none":
            return M
        TM = self.pullback(np.asarray(M))  # Tᵀ M, all columns at once
        out = self.pullback(np.ascontiguousarray(TM.T)).T  # (Tᵀ M) T = (Tᵀ (Tᵀ M)ᵀ)ᵀ
        return np.asarray(0.5 * (out + out.T))


class PreconditionedObjective(Objective):
    """f(φ) = L(T·φ) for a data objective L and a :class:`Preconditioner` T.

    Parameters
    ----------
    base : DataObjective
        The objective in the model's coordinates θ.
    pre : Preconditioner

    Notes
    -----
    ``value_and_grad(φ, rows)`` returns (L(Tφ), Tᵀ∇L(Tφ)); mini-batches pass straight through.
    For least squares the Hessian is the constant Tᵀ·H·T (2·I for ``"qr"``).
    """

    def __init__(self, base: Objective, pre: Preconditioner) -> None:
        self.base = base
        self.pre = pre
        self.model = base.model
        self.loss = base.loss
        self.n_params = base.n_params
        self.n_samples = base.n_samples
        self.name = f"{base.name}, preconditioned ({pre.kind})"

    @property
    def is_linear_least_squares(self) -> bool:  # type: ignore[override]
        """True when the base objective is linear least squares (then so is f(φ))."""
        return bool(self.base.is_linear_least_squares)

    @property
    def target_scale(self) -> float:  # type: ignore[override]
        """The base objective's std(y)."""
        return self.base.target_scale

    @property
    def owns_batches(self) -> bool:  # type: ignore[override]
        """Mini-batches are the base objective's (rows pass straight through)."""
        return self.base.owns_batches

    @property
    def may_separate(self) -> bool:
        """The base objective can lack a minimiser by separation (log loss)."""
        return self.base.may_separate

    def separated(self, phi: Array) -> bool:
        """θ = Tφ separates the data (the base objective's test, in its coordinates)."""
        return self.base.separated(self.pre.to_model(phi))

    def correct(self, phi: Array) -> NDArray[np.bool_]:
        """Per row: classified correctly by θ = Tφ (the base objective's test)."""
        return self.base.correct(self.pre.to_model(phi))

    @property
    def known_separable(self) -> bool | None:
        """The base objective's linear-programming answer (separability is unchanged by the
        invertible map θ = Tφ)."""
        return self.base.known_separable

    def batches(self, batch_size: int, rng: np.random.Generator) -> Any:
        """The base objective's own mini-batches."""
        return self.base.batches(batch_size, rng)

    def smoothed(self, delta: float) -> PreconditionedObjective:
        """The base objective smoothed within ``delta``, in the same coordinates φ."""
        return PreconditionedObjective(self.base.smoothed(delta), self.pre)

    def value_and_grad(self, phi: Array, rows: Array | None = None) -> tuple[float, Array]:
        """(L(Tφ), Tᵀ∇L(Tφ)) for φ of shape (p,), on ``rows`` (indices) or all rows."""
        loss, g = self.base.value_and_grad(self.pre.to_model(phi), rows)  # type: ignore[call-arg]
        return loss, self.pre.pullback(g)

    def value(self, phi: Array, rows: Array | None = None) -> float:
        """L(Tφ) for φ of shape (p,), on ``rows`` (indices) or all rows."""
        return self.base.value(self.pre.to_model(phi), rows)  # type: ignore[call-arg]

    def gram(self) -> Array:
        """(1/n)·(AT)ᵀ(AT), shape (p, p): the identity for ``"qr"``, up to rounding."""
        return self.pre.congruence(self.base.gram())

    def hessian(self, phi: Array) -> Array:
        """∇²f(φ) = Tᵀ·∇²L(Tφ)·T, shape (p, p)."""
        if self.is_linear_least_squares:
            return 2.0 * self.gram()
        return self.pre.congruence(self.base.hessian(self.pre.to_model(phi)))

    @property
    def exact_hvp(self) -> bool:  # type: ignore[override]
        """The base objective's products are exact (the change of variables is linear)."""
        return bool(self.base.exact_hvp)

    def baseline_loss(self) -> float | None:
        """The base objective's loss of predicting the mean of y."""
        return self.base.baseline_loss()

    def hvp(self, phi: Array, v: Array) -> Array:
        """∇²f(φ)·v = Tᵀ·∇²L(Tφ)·(Tv), shape (p,), for φ and v of shape (p,)."""
        return self.pre.pullback(self.base.hvp(self.pre.to_model(phi), self.pre.to_model(v)))


# ---------------------------------------------------------------------------------------------
# choosing
# ---------------------------------------------------------------------------------------------
def _kappa(gram: Array) -> float:
    lam = eigenvalues(gram)
    if not lam[-1] > 0:
        return math.inf
    return float(lam[-1] / lam[0]) if lam[0] > lam[-1] * _EPS * lam.shape[0] else math.inf


def choose(objective: Objective, preconditioner: str | None, auto_rate: bool) -> tuple[str, str]:
    """Which preconditioner to run, and a sentence saying why.

    Parameters
    ----------
    objective : Objective
    preconditioner : {"none", "diagonal", "qr"} or None
        None: decide automatically when the learning rate is "auto", else ``"none"``.
    auto_rate : bool
        The learning rate is "auto".

    Returns
    -------
    kind, reason : str, str

    Notes
    -----
    The automatic rule, for a model linear in θ with κ = κ(H) of the Hessian (or of its
    curvature bound (1/n)·AᵀA for other smooth losses):

    - the MAE of a linear model (``objective.smoothable``): ``"qr"`` whenever κ > 1 — the
      smoothing continuation's line search is limited by the design's conditioning at every
      stage, so whitening it once pays at every stage;
    - the Huber and log losses of a linear model (``objective.line_search_pays``): ``"qr"``
      whenever κ > 1 — "auto" steps them by a line search, which the design's conditioning
      limits near the minimum as everywhere;
    - κ ≤ :data:`AUTO_KAPPA` (100): ``"none"``;
    - else ``"diagonal"`` if Jacobi scaling alone gives κ ≤ 100;
    - else ``"qr"`` (κ = 1), unless A is rank deficient (κ = ∞), where nothing whitens it.
    """
    linear = objective.is_linear
    if preconditioner is not None:
        if preconditioner not in PRECONDITIONERS:
            raise ValueError(
                f"unknown preconditioner {preconditioner!r}; choose one of {PRECONDITIONERS}"
            )
        if preconditioner != "none" and not linear:
            raise ValueError(
                f"preconditioner={preconditioner!r} needs a model linear in θ (linear or "
                f"polynomial), not {objective.name}"
            )
        return preconditioner, "as requested"
    if not auto_rate:
        return "none", "plain descent (preconditioner=None decides only with learning_rate='auto')"
    if not linear:
        return "none", f"{objective.name} is not linear in θ, so there is no fixed whitening"
    gram = objective.gram()
    kappa = _kappa(gram)
    if not math.isfinite(kappa):
        return "none", "the design is rank deficient (κ = ∞): no change of variables whitens it"
    if objective.smoothable and kappa > 1.0 + 1e-9:
        return "qr", (
            f"the MAE's smoothing continuation: its stages are as well conditioned as the "
            f"design allows only when (1/n)·AᵀA = I (κ = {kappa:.3g} here), so descent runs on "
            "φ = Rθ/√n with A = QR"
        )
    if objective.line_search_pays and kappa > 1.0 + 1e-9:
        return "qr", (
            f"the {objective.loss.name} loss's line search: the step follows the local curvature, "
            f"which is best conditioned where the design is, (1/n)·AᵀA = I (κ = {kappa:.3g} "
            "here), so descent runs on φ = Rθ/√n with A = QR"
        )
    if kappa <= AUTO_KAPPA:
        return "none", f"κ(H) = {kappa:.3g} ≤ {AUTO_KAPPA:g}: plain descent converges quickly"
    k_diag = _kappa(Preconditioner.for_objective("diagonal", objective).congruence(gram))
    if k_diag <= AUTO_KAPPA:
        return "diagonal", (
            f"κ(H) = {kappa:.3g} > {AUTO_KAPPA:g}, and Jacobi scaling by the Hessian diagonal "
            f"brings it to {k_diag:.3g}"
        )
    steps = plain_steps(kappa)
    return "qr", (
        f"κ(H) = {kappa:.3g} > {AUTO_KAPPA:g} (plain descent would need about {steps:.2g} steps "
        f"per factor 10⁻⁹ of loss gap; Jacobi scaling leaves κ = {k_diag:.3g}), so descent runs "
        "on φ = Rθ/√n with A = QR, where κ = 1"
        + (
            " (R from the Cholesky factor of the one-pass Gram matrix, AᵀA = RᵀR)"
            if objective.has_statistics
            else ""
        )
    )


def plain_steps(kappa: float, tol: float = 1e-9) -> float:
    """(κ/4)·ln(1/tol): plain descent's steps at the best rate to shrink the gap by ``tol``."""
    return kappa / 4.0 * math.log(1.0 / tol)


@dataclass
class Plan:
    """What :func:`descend.fit` runs: the objective in descent coordinates and how to map back.

    Attributes
    ----------
    kind : str
        The preconditioner (``"none"``, ``"diagonal"`` or ``"qr"``).
    reason : str
        Why it was chosen.
    base : Objective
        The objective in the model's coordinates θ.
    objective : Objective
        What descent minimises: ``base`` itself, or a :class:`PreconditionedObjective`.
    pre : Preconditioner
    advice : Advice or None
        Curvature advice for ``objective`` (the whitened Hessian when preconditioned).
    conditioning : dict
        κ(H) as given (``"kappa_given"``) and as descended on (``"kappa_descent"``).
    """

    kind: str
    reason: str
    base: Objective
    objective: Objective
    pre: Preconditioner
    advice: Advice | None
    conditioning: dict[str, float] = field(default_factory=dict)

    def note(self) -> str:
        """The sentence for ``res.warnings``: what ran and why."""
        if self.kind == "none":
            return f"preconditioner: none — {self.reason}"
        given, descent = self.conditioning["kappa_given"], self.conditioning["kappa_descent"]
        return f"preconditioner: {self.kind} — {self.reason}; κ(H) {given:.3g} → {descent:.3g}"

    def run(
        self,
        minimize_fn: Callable[..., Any],
        theta0: Array,
        refine_mode: bool | str = "auto",
        full_batch: bool = True,
    ) -> Any:
        """Run descent (``minimize_fn(objective, start)``) and map the result back to θ.

        Parameters
        ----------
        minimize_fn : callable
            ``minimize_fn(objective, start, **overrides) -> FitResult`` with the caller's
            settings (refinement passes ``callback=None``).
        theta0 : ndarray, shape (p,)
            Start in the model's coordinates.
        refine_mode : bool or "auto"
            Iterative refinement after descent: "auto" refines preconditioned full-batch least
            squares runs that converged or used up their steps, except on the fast path while
            its statistics are accurate (``base.refinement_pays`` False: κ(G) ≤ 1e8).
        full_batch : bool

        Returns
        -------
        FitResult
            ``params``, ``loss``, ``objective`` and ``history.params`` in θ coordinates;
            ``settings["preconditioner"]``, ``settings["refine"]`` and
            ``settings["conditioning"]`` filled in.
        """
        res = minimize_fn(self.objective, self.pre.from_model(theta0))
        if self.kind != "none":
            res.params = self.pre.to_model(res.params)
            if res.history.params is not None:
                # one θ at a time, by the same call that maps the final θ and a steered
                # session's θ (a matrix product may round differently from a vector one)
                res.history.params = np.array([self.pre.to_model(p) for p in res.history.params])
        res.objective = self.base
        res.settings["preconditioner"] = self.kind
        res.settings["preconditioner_reason"] = self.reason
        res.settings["conditioning"] = dict(self.conditioning)
        if refine_mode == "auto":
            # The fast path's least-squares steps come from its one-pass statistics, which are
            # accurate to about κ(G)·ε: refinement (a correctly rounded pass in Python over all
            # n rows, and a copy of the design) only pays where they are not.
            want = self.kind != "none" and self.base.refinement_pays
        else:
            want = bool(refine_mode)
        can = (
            self.base.is_linear_least_squares
            and full_batch
            and res.stop_reason in ("converged", "stalled", "max_steps")
        )
        if want and can:
            theta, info = refine(self.base, self.pre, res.params, minimize_fn)
            res.params = theta
            res.settings["refine"] = info
            res.warnings.append(
                f"iterative refinement: {info['rounds']} round(s) of descent on the correctly "
                f"rounded residual ({sum(info['steps'])} steps), last ‖δ‖/‖θ‖ = "
                f"{info['last_relative_correction']:.2g}"
            )
        else:
            res.settings["refine"] = None
        res.loss = float(self.base.value(res.params))
        return res


def plan(
    objective: Objective,
    preconditioner: str | None,
    auto_rate: bool,
    advice: Advice | None,
) -> Plan:
    """Decide the preconditioner (:func:`choose`) and build the objective descent runs on.

    Parameters
    ----------
    objective : Objective
    preconditioner : {"none", "diagonal", "qr"} or None
    auto_rate : bool
        The learning rate is "auto" (lets ``preconditioner=None`` decide).
    advice : Advice or None
        Curvature advice for ``objective`` as given (reused for ``"none"``).

    Returns
    -------
    Plan
    """
    kind, reason = choose(objective, preconditioner, auto_rate)
    linear = objective.is_linear
    kappa_given = advice.kappa if advice is not None else math.nan
    if kind == "none":
        pre = Preconditioner("none", n=objective.n_samples or 1)
        cond = {"kappa_given": kappa_given, "kappa_descent": kappa_given}
        return Plan(kind, reason, objective, objective, pre, advice, cond)
    pre = Preconditioner.for_objective(kind, objective)
    wrapped = PreconditionedObjective(objective, pre)
    new_advice = advise(wrapped) if linear else None
    cond = {
        "kappa_given": kappa_given,
        "kappa_descent": new_advice.kappa if new_advice is not None else math.nan,
    }
    return Plan(kind, reason, objective, wrapped, pre, new_advice, cond)


# ---------------------------------------------------------------------------------------------
# iterative refinement
# ---------------------------------------------------------------------------------------------
_SPLIT = 134217729.0  # 2**27 + 1, Dekker's splitting constant for float64


def _two_product(a: Array, b: Array) -> tuple[Array, Array]:
    """Dekker's TwoProduct: p + e = a·b exactly, p = fl(a·b) (elementwise, no overflow)."""
    p = a * b
    ca, cb = _SPLIT * a, _SPLIT * b
    ahi = ca - (ca - a)
    alo = a - ahi
    bhi = cb - (cb - b)
    blo = b - bhi
    e = ((ahi * bhi - p) + ahi * blo + alo * bhi) + alo * blo
    return p, e


def exact_residual(A: Array, theta: Array, y: Array) -> Array:
    """The residual r = y − A·θ, each entry correctly rounded, shape (n,).

    Each product a_ij·θ_j is split exactly into two floats (TwoProduct), and each row
    y_i − Σ_j (p_ij + e_ij) is summed exactly by ``math.fsum`` and rounded once. Valid while no
    product overflows (|a_ij·θ_j| < 1e300).

    Parameters
    ----------
    A : ndarray, shape (n, p)
    theta : ndarray, shape (p,)
    y : ndarray, shape (n,)
    """
    P, E = _two_product(A, np.broadcast_to(theta, A.shape))
    terms = np.column_stack([y, -P, -E])
    return np.array([math.fsum(row) for row in terms.tolist()], dtype=np.float64)


def refine(
    base: Any,
    pre: Preconditioner,
    theta: Array,
    minimize_fn: Callable[..., Any],
    max_rounds: int = MAX_REFINE_ROUNDS,
) -> tuple[Array, dict[str, Any]]:
    """Iterative refinement of a least-squares θ by descent on the residual problem.

    Each round computes r = y − Aθ correctly rounded (:func:`exact_residual`), minimises
    (1/n)‖r − Aδ‖² by descent from δ = 0 in the same coordinates as the main run, and sets
    θ ← θ + δ. It stops when ‖δ‖ ≤ ε·‖θ‖ (nothing left to gain in float64), when a
    correction fails to shrink to half the previous one (no longer converging), or after
    ``max_rounds``.

    Returns
    -------
    theta : ndarray, shape (p,)
    info : dict
        ``rounds``, ``steps`` (per round) and ``last_relative_correction`` ‖δ‖/‖θ‖.
    """
    model = base.model
    A = model.augmented(base.Z)
    steps: list[int] = []
    last = math.inf
    prev_norm = math.inf
    for _ in range(max_rounds):
        r = exact_residual(A, theta, base.y)
        sub = DataObjective(model, base.loss, base.Z, r)
        obj: Objective = sub if pre.kind == "none" else PreconditionedObjective(sub, pre)
        sres = minimize_fn(obj, np.zeros(base.n_params), callback=None)
        delta = pre.to_model(sres.params)
        steps.append(int(sres.n_steps))
        dnorm = float(np.linalg.norm(delta))
        if not np.all(np.isfinite(delta)) or sres.stop_reason == "diverged":
            break
        if dnorm > 0.5 * prev_norm:
            break
        theta = theta + delta
        tnorm = float(np.linalg.norm(theta))
        last = dnorm / tnorm if tnorm > 0 else dnorm
        prev_norm = dnorm
        if dnorm <= _EPS * tnorm:
            break
    info = {"rounds": len(steps), "steps": steps, "last_relative_correction": last}
    return theta, info


# ---------------------------------------------------------------------------------------------
# conditioning report
# ---------------------------------------------------------------------------------------------
def condition_number(A: Array) -> float:
    """κ₂(A) = σ_max/σ_min from the singular values of A, shape (n, k) (inf when σ_min = 0)."""
    s = np.linalg.svd(np.asarray(A, dtype=np.float64), compute_uv=False)
    if s.size == 0 or not s[-1] > 0:
        return math.inf
    return float(s[0] / s[-1])


@dataclass(frozen=True)
class Conditioning:
    """How well conditioned a least-squares problem is, before and after each remedy.

    κ₂ is the 2-norm condition number σ_max/σ_min of a design; the Hessian of the MSE,
    (2/n)·AᵀA, has κ(H) = κ₂(A)², which is what sets plain descent's speed.

    Attributes
    ----------
    model : str
        The model spec.
    kappa_raw : float
        κ₂ of the design as the model states it on the raw data: [x, x², …, 1] with raw
        powers, or [X, 1] (NIST's "cond₂(X), raw design").
    kappa_scaled : float
        κ₂ of the design descent sees: A = [Z, 1] with the model's basis and scaling.
    kappa_hessian : float
        κ(H) = κ₂(A)² for plain descent on A.
    kappa_diagonal : float
        κ(H) after Jacobi scaling.
    kappa_qr : float
        κ(H) after QR whitening (1 up to rounding).
    auto : str
        The preconditioner ``learning_rate="auto"`` would choose.
    reason : str
        Why.
    """

    model: str
    kappa_raw: float
    kappa_scaled: float
    kappa_hessian: float
    kappa_diagonal: float
    kappa_qr: float
    auto: str
    reason: str

    def describe(self) -> str:
        """A few lines for the CLI."""
        return (
            f"model {self.model}\n"
            f"  κ₂ of the raw design (as stated)      {self.kappa_raw:.3g}\n"
            f"  κ₂ of the scaled design descent sees  {self.kappa_scaled:.3g}\n"
            f"  κ(H) plain / Jacobi / QR              {self.kappa_hessian:.3g} / "
            f"{self.kappa_diagonal:.3g} / {self.kappa_qr:.3g}\n"
            f"  learning_rate='auto' picks            {self.auto} ({self.reason})"
        )


def _raw_design(model: Any, X: Array) -> Array:
    """The unscaled design of the model's stated form: raw powers or raw columns (+ 1s)."""
    if model.expands_features:
        V = np.vander(X[:, 0], model.degree + 1, increasing=True)
        return V if model.intercept else V[:, 1:]
    return np.column_stack([X, np.ones(X.shape[0])]) if model.intercept else X


def conditioning(X: Any, model: Any = "linear", y: Any = None) -> Conditioning:
    """Condition numbers of a linear least-squares problem, as given and as descended on.

    Parameters
    ----------
    X : array-like, shape (n, d) or (n,)
    model : str or Model
        ``"linear"``, ``"poly:10"``, ``"poly:10:chebyshev"``, ….
    y : array-like, optional
        Not needed (κ depends on X only); accepted for symmetry with :func:`descend.fit`.

    Returns
    -------
    Conditioning

    Examples
    --------
    >>> import descend as ds
    >>> d = ds.datasets.load("filip")
    >>> c = ds.conditioning(d.X, d.model)
    >>> c.kappa_raw > 1e14, c.kappa_qr < 1.01
    (True, True)
    """
    Xa, _, names = as_arrays(X)
    bound: Any = get_model(model).bind(Xa, feature_names=names)
    if not bound.is_linear:
        raise ValueError(f"conditioning() needs a model linear in θ, not {bound.spec()}")
    obj = DataObjective(bound, "mse", bound.design(Xa), np.zeros(Xa.shape[0]))
    A = bound.augmented(obj.Z)
    gram = obj.gram()
    try:
        k_diag = _kappa(Preconditioner.build("diagonal", A).congruence(gram))
    except ValueError:
        k_diag = math.inf
    try:
        k_qr = _kappa(Preconditioner.build("qr", A).congruence(gram))
    except ValueError:
        k_qr = math.inf
    kind, reason = choose(obj, None, True)
    return Conditioning(
        model=bound.spec(),
        kappa_raw=condition_number(_raw_design(bound, Xa)),
        kappa_scaled=condition_number(A),
        kappa_hessian=_kappa(gram),
        kappa_diagonal=k_diag,
        kappa_qr=k_qr,
        auto=kind,
        reason=reason,
    )
