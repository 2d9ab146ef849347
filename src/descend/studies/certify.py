"""Accuracy you can certify: descend's fits on the NIST StRD problems, scored in digits.

:func:`certify` fits every embedded NIST StRD linear least-squares dataset with its stated model
by gradient descent (``learning_rate="auto"``, which preconditions the ill-conditioned ones,
see :mod:`descend.problems.precondition`) and scores the result against NIST's certified values by
the
log relative error (LRE, after McCullough 1998), beside NumPy's ``np.linalg.lstsq`` (default
``rcond``, raw design) measured in the same run:

    LRE(est, cert) = −log10(|est − cert| / |cert|)   (−log10|est| when cert = 0),

clipped to [0, 15]: roughly the number of correct significant digits.

:func:`sweep_degree` shows *why* the basis matters for plain descent: for each degree, κ of the
Hessian and the steps that plain gradient descent needs to reach a loss-gap tolerance, in the
monomial basis and in an orthogonal one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = [
    "lre",
    "coefficient_lres",
    "CertRow",
    "Certification",
    "certify",
    "format_table",
    "SweepRow",
    "sweep_degree",
    "format_sweep",
]


def lre(estimate: float, certified: float) -> float:
    """Log relative error, the number of correct significant digits, clipped to [0, 15].

    −log10(|est − cert| / |cert|), or −log10|est − cert| (absolute) when cert = 0; 15 when
    est == cert; 0 for a non-finite estimate.
    """
    if not math.isfinite(estimate):
        return 0.0
    err = abs(estimate - certified)
    if certified != 0:
        err /= abs(certified)
    if err == 0:
        return 15.0
    return float(min(15.0, max(0.0, -math.log10(err))))


def coefficient_lres(
    estimates: Sequence[float] | NDArray[Any], certified: Sequence[float] | NDArray[Any]
) -> tuple[tuple[float, ...], float]:
    """Per-coefficient LREs and their summary, the *minimum* (a fit is as good as its worst
    coefficient, as in McCullough 1998 and NIST's tables).

    Parameters
    ----------
    estimates, certified : sequence or ndarray of float, length p
        Estimated and certified coefficients, in the same order.

    Returns
    -------
    lres : tuple of float, length p
        :func:`lre` of each coefficient.
    worst : float
        min(lres).
    """
    lres = tuple(lre(float(e), float(c)) for e, c in zip(estimates, certified, strict=True))
    return lres, min(lres)


def _stats(y: Array, yhat: Array, p: int, intercept: bool) -> tuple[float, float]:
    """Residual SD √(SSE/(n − p)) and R² (centred; uncentred 1 − SSE/Σy² without intercept)."""
    r = (y - yhat).tolist()
    sse = math.fsum(v * v for v in r)
    n = y.shape[0]
    if intercept:
        mean = math.fsum(y.tolist()) / n
        sst = math.fsum((v - mean) ** 2 for v in y.tolist())
    else:
        sst = math.fsum(v * v for v in y.tolist())
    return math.sqrt(sse / (n - p)), 1.0 - sse / sst


@dataclass(frozen=True)
class CertRow:
    """One dataset's certification: descend's digits beside NumPy's.

    Attributes
    ----------
    name, title, model, difficulty : str
    n_params : int
    param_lre : tuple of float
        descend's LRE for B0, B1, … (NIST order).
    min_lre : float
        min(param_lre): the headline figure.
    sd_lre, r2_lre : float
        LRE of the residual SD and of R² (uncentred for the no-intercept files, as NIST's).
    numpy_param_lre : tuple of float
    numpy_min_lre, numpy_sd_lre, numpy_r2_lre : float
        The same for ``np.linalg.lstsq(X_raw, y, rcond=None)`` on the raw design.
    numpy_rank : int
        The rank lstsq found (Filip: 10 of 11).
    preconditioner : str
        What descent ran with (chosen by ``learning_rate="auto"``).
    steps : int
        Descent steps of the main run.
    refine_steps : int
        Descent steps spent in iterative refinement.
    stop_reason : str
    kappa : float
        κ(H) of the design descent was given (scaled features, before preconditioning).
    """

    name: str
    title: str
    model: str
    difficulty: str
    n_params: int
    param_lre: tuple[float, ...]
    min_lre: float
    sd_lre: float
    r2_lre: float
    numpy_param_lre: tuple[float, ...]
    numpy_min_lre: float
    numpy_sd_lre: float
    numpy_r2_lre: float
    numpy_rank: int
    preconditioner: str
    steps: int
    refine_steps: int
    stop_reason: str
    kappa: float

    def _repr_html_(self) -> str:
        return Certification([self])._repr_html_()


def _raw_design(X: Array, model: str) -> Array:
    """NIST's design: raw powers / raw columns, with a column of ones when there is B0."""
    if model.startswith("poly:"):
        degree = int(model.split(":")[1])
        return np.vander(X[:, 0], degree + 1, increasing=True)
    if model == "linear-nointercept":
        return X
    return np.column_stack([np.ones(X.shape[0]), X])


def certify(
    names: Sequence[str] | None = None,
    max_steps: int = 100_000,
    progress: Callable[[int, int], Any] | None = None,
    **fit_options: Any,
) -> Certification:
    """Fit NIST StRD datasets by gradient descent and score them against the certified values.

    Parameters
    ----------
    names : sequence of str, optional
        Dataset names (default: all 11, in NIST's order).
    max_steps : int
        Passed to :func:`descend.fit`.
    progress : callable, optional
        ``progress(done, total)`` after each dataset's fit.
    **fit_options
        More :func:`descend.fit` options (e.g. ``preconditioner="none"`` to see plain
        descent); ``learning_rate`` defaults to ``"auto"``.

    Returns
    -------
    Certification
        A list of :class:`CertRow` (one per dataset) with a notebook display.
    """
    from descend.data import datasets
    from descend.descent.fit import fit

    fit_options.setdefault("learning_rate", "auto")
    # descent to the rounding floor, not to a tolerance: the verdict is then "stalled" at
    # rounding level (the most digits float64 allows), which is what certification measures
    fit_options.setdefault("tol", 0.0)
    rows = Certification()
    todo = list(names) if names is not None else list(datasets.names())
    for name in todo:
        d = datasets.load(name)
        res = fit(d.X, d.y, model=d.model, max_steps=max_steps, **fit_options)
        est = np.r_[res.intercept, res.coef] if d.intercept else res.coef
        p_lre, p_min = coefficient_lres(est, d.certified)
        sd, r2 = _stats(d.y, res.predict(d.X), d.n_params, d.intercept)

        A = _raw_design(d.X, d.model)
        b, _, rank, _ = np.linalg.lstsq(A, d.y, rcond=None)
        n_lre, n_min = coefficient_lres(b, d.certified)
        nsd, nr2 = _stats(d.y, A @ b, d.n_params, d.intercept)

        refine = res.settings.get("refine") or {}
        rows.append(
            CertRow(
                name=d.name,
                title=d.title,
                model=d.model,
                difficulty=d.difficulty,
                n_params=d.n_params,
                param_lre=p_lre,
                min_lre=p_min,
                sd_lre=lre(sd, d.residual_sd),
                r2_lre=lre(r2, d.r_squared),
                numpy_param_lre=n_lre,
                numpy_min_lre=n_min,
                numpy_sd_lre=lre(nsd, d.residual_sd),
                numpy_r2_lre=lre(nr2, d.r_squared),
                numpy_rank=int(rank),
                preconditioner=str(res.settings.get("preconditioner", "none")),
                steps=int(res.n_steps),
                refine_steps=int(sum(refine.get("steps", []))),
                stop_reason=res.stop_reason,
                kappa=float(res.settings.get("conditioning", {}).get("kappa_given", math.nan)),
            )
        )
        if progress is not None:
            progress(len(rows), len(todo))
    return rows


def _table(header: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    for r in body:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(out)


def format_table(rows: Sequence[CertRow], markdown: bool = False, detail: bool = False) -> str:
    """The LRE table: descend's digits beside NumPy lstsq's, per dataset.

    Parameters
    ----------
    rows : sequence of CertRow
    markdown : bool
        A Markdown table instead of aligned columns.
    detail : bool
        Add the per-parameter LREs (B0, B1, …) of both.
    """
    return _table(*_cells(rows, detail), markdown)


def _cells(rows: Sequence[CertRow], detail: bool) -> tuple[list[str], list[list[str]]]:
    """The LRE table's header and rows as text."""
    header = [
        "dataset",
        "level",
        "model",
        "κ(H)",
        "precond",
        "steps",
        "coef LRE",
        "numpy",
        "resid-SD LRE",
        "numpy",
        "R² LRE",
        "numpy",
    ]
    if detail:
        header += ["descend B0..", "numpy B0.."]
    body = []
    for r in rows:
        steps = f"{r.steps}+{r.refine_steps}" if r.refine_steps else str(r.steps)
        npc = f"{r.numpy_min_lre:.1f}"
        if r.numpy_rank < r.n_params:
            npc += f" (rank {r.numpy_rank}/{r.n_params})"
        line = [
            r.title,
            r.difficulty,
            r.model,
            f"{r.kappa:.2g}",
            r.preconditioner,
            steps,
            f"{r.min_lre:.1f}",
            npc,
            f"{r.sd_lre:.1f}",
            f"{r.numpy_sd_lre:.1f}",
            f"{r.r2_lre:.1f}",
            f"{r.numpy_r2_lre:.1f}",
        ]
        if detail:
            line += [
                ", ".join(f"{v:.1f}" for v in r.param_lre),
                ", ".join(f"{v:.1f}" for v in r.numpy_param_lre),
            ]
        body.append(line)
    return header, body


class Certification(list[CertRow]):
    """What :func:`certify` returns: a list of :class:`CertRow` that notebooks show as a table."""

    def to_markdown(self, detail: bool = False) -> str:
        """The LRE table as Markdown (:func:`format_table`)."""
        return format_table(self, markdown=True, detail=detail)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        from descend.data.html import section, table

        header, body = _cells(self, detail=False)
        numeric = [h not in ("dataset", "level", "model", "precond") for h in header]
        return section(
            "NIST StRD certification: correct significant digits (LRE), descend beside "
            "np.linalg.lstsq",
            table(header, body, numeric=numeric),
        )


# ---------------------------------------------------------------------------------------------
# degree sweep
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepRow:
    """Plain descent on one degree and basis.

    Attributes
    ----------
    degree : int
    basis : str
    kappa_raw : float
        κ₂ of the raw design [1, x, …, x^d] (the problem as given).
    kappa : float
        κ(H) of the Hessian descent runs on (standardised basis columns, with the intercept).
    steps : int
        Steps taken: until the loss gap reached the tolerance, or ``max_steps``.
    reached : bool
        Whether the tolerance was reached within ``max_steps``.
    predicted_steps : float
        (κ-based) prediction for the same tolerance from the curvature.
    loss : float
        Final loss (MSE).
    loss_star : float
        The least-squares optimum (QR).
    """

    degree: int
    basis: str
    kappa_raw: float
    kappa: float
    steps: int
    reached: bool
    predicted_steps: float
    loss: float
    loss_star: float


def sweep_degree(
    x: Any,
    y: Any,
    max_degree: int = 12,
    bases: Sequence[str] = ("monomial", "chebyshev"),
    min_degree: int = 1,
    gap_tol: float = 1e-6,
    max_steps: int = 20_000,
    progress: Callable[[int, int], Any] | None = None,
) -> list[SweepRow]:
    """Plain gradient descent per degree and basis: κ, steps to tolerance, final loss.

    For each degree d and basis, the model ``poly:d:basis`` (x mapped onto [−1, 1], columns
    standardised) is fitted by plain gradient descent at the best constant rate
    2/(λ_min + λ_max), without a preconditioner, from θ = 0, until the loss gap to the
    closed-form optimum L* satisfies

        L(θ_k) − L* ≤ gap_tol · max(L*, 10⁻¹²·L(θ_0)),

    or ``max_steps`` runs out. The monomial basis's κ grows roughly geometrically with d and
    its step count with it; an orthogonal basis keeps κ (and the steps) small.

    Parameters
    ----------
    x : array-like, shape (n,) or (n, 1)
    y : array-like, shape (n,)
    max_degree, min_degree : int
    bases : sequence of {"monomial", "legendre", "chebyshev"}
    gap_tol : float
    max_steps : int
    progress : callable, optional
        ``progress(done, total)`` after each run (one degree in one basis).

    Returns
    -------
    list of SweepRow
        Ordered by degree, then basis.
    """
    from descend.data.tables import as_arrays
    from descend.descent.minimize import minimize
    from descend.problems.curvature import advise
    from descend.problems.models import get_model
    from descend.problems.objective import DataObjective
    from descend.problems.precondition import condition_number
    from descend.problems.reference import least_squares

    Xa, ya, names = as_arrays(x, y)
    if ya is None:
        raise ValueError("sweep_degree() needs targets y")
    if Xa.shape[1] != 1:
        raise ValueError(f"a degree sweep needs one input column, got {Xa.shape[1]}")
    if max_degree < min_degree or min_degree < 1:
        raise ValueError(f"need 1 ≤ min_degree ≤ max_degree, got {min_degree}, {max_degree}")
    rows = []
    for degree in range(min_degree, max_degree + 1):
        k_raw = condition_number(np.vander(Xa[:, 0], degree + 1, increasing=True))
        for basis in bases:
            model = get_model(f"poly:{degree}:{basis}").bind(Xa, feature_names=names)
            obj = DataObjective(model, "mse", model.design(Xa), ya)
            ref = least_squares(obj)
            advice = advise(obj)
            theta0 = np.zeros(obj.n_params)
            l0 = obj.value(theta0)
            if ref is None:  # rank deficient: no unique optimum to measure a gap to
                l_star = math.nan
                target = -math.inf
            else:
                l_star = ref.loss
                target = l_star + gap_tol * max(l_star, 1e-12 * l0)

            def reached_target(k: int, theta: Array, loss: float, target: float = target) -> bool:
                return loss <= target

            res = minimize(
                obj,
                theta0,
                "gd",
                advice.best_lr,
                max_steps=max_steps,
                tol=0.0,
                record_params=False,
                callback=reached_target,
            )
            reached = res.stop_reason == "interrupted"
            rel = gap_tol * max(l_star, 1e-12 * l0) / max(l0 - l_star, 1e-300)
            rows.append(
                SweepRow(
                    degree=degree,
                    basis=basis,
                    kappa_raw=k_raw,
                    kappa=advice.kappa,
                    steps=res.n_steps - 1 if reached else res.n_steps,
                    reached=reached,
                    predicted_steps=advice.predicted_steps(min(rel, 1.0)),
                    loss=res.loss,
                    loss_star=l_star,
                )
            )
            if progress is not None:
                progress(len(rows), (max_degree - min_degree + 1) * len(bases))
    return rows


def format_sweep(rows: Sequence[SweepRow], markdown: bool = False) -> str:
    """The sweep as a table, one line per degree, the bases side by side."""
    bases = list(dict.fromkeys(r.basis for r in rows))
    header = ["degree", "κ₂ raw"]
    for b in bases:
        header += [f"κ(H) {b}", f"steps {b}", f"loss {b}"]
    header.append("L*")
    body = []
    for degree in sorted({r.degree for r in rows}):
        cells = [r for r in rows if r.degree == degree]
        line = [str(degree), f"{cells[0].kappa_raw:.2g}"]
        for b in bases:
            r = next(c for c in cells if c.basis == b)
            steps = str(r.steps) if r.reached else f">{r.steps}"
            line += [f"{r.kappa:.2g}", steps, f"{r.loss:.6g}"]
        line.append(f"{cells[0].loss_star:.6g}")
        body.append(line)
    return _table(header, body, markdown)
