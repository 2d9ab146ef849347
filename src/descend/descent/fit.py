"""Fit a model to data by gradient descent: :func:`fit`.

The one path of a fit: :func:`descend.problems.build.build_problem` builds the problem
(objective, θ₀, advice, reference, preconditioner), :func:`descend.descent.rates.resolve_rate`
resolves the learning rate once, the preconditioner's plan runs :func:`minimize` (and
iterative refinement) and maps the result back to the model's coordinates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.tables import as_arrays
from descend.descent.checkpoint import attach
from descend.descent.minimize import MINIMIZE_OPTIONS, minimize, optimizer_name
from descend.descent.optim import Optimizer
from descend.descent.rates import is_auto, resolve_rate
from descend.descent.result import FitResult
from descend.descent.verdicts import DEFAULT_TOL, MU_METHOD, certify, known_mu
from descend.problems.build import build_problem
from descend.problems.distributed import connect, is_dask

Array = NDArray[np.float64]

__all__ = ["fit"]

#: options :func:`fit` consumes itself (where the checkpoint's data and notes come from)
_FIT_OPTIONS = frozenset({"checkpoint_data", "checkpoint_notes"})


def fit(
    X: Any,
    y: Any,
    model: Any = "linear",
    loss: Any = "mse",
    optimizer: str | Optimizer = "gd",
    learning_rate: Any = 0.01,
    batch_size: int | None = None,
    max_steps: int = 10_000,
    tol: float = DEFAULT_TOL,
    seed: int | None = 0,
    *,
    theta0: Any = None,
    reference: bool = True,
    warn: bool = True,
    feature_names: list[str] | None = None,
    preconditioner: str | None = None,
    fast: bool | str = "auto",
    dtype: Any = None,
    scheduler: Any = None,
    progress: bool = False,
    **options: Any,
) -> FitResult:
    """Fit a model to data by gradient descent.

    Parameters
    ----------
    X : array-like, shape (n, d) or (n,); DataFrame
    y : array-like, shape (n,); Series
    model : str or Model
        ``"linear"``, ``"linear-nointercept"``, ``"poly:3"``, ``ds.Polynomial(3)``, ….
    loss : str or Loss
        ``"mse"`` (the lesson's), ``"mae"``, ``"huber"``/``"huber:2"``, ``"logloss"`` (targets
        in {0, 1}; anything else is a :class:`~descend.data.tables.DataError`).
    optimizer, learning_rate, batch_size, max_steps, tol
        As in :func:`minimize`. ``learning_rate="auto"`` takes the curvature's best rate; for
        ``loss="mae"`` with a model linear in θ (gd, full batch) it runs the smoothing
        continuation (:mod:`descend.descent.rates`): the MAE smoothed within δ, δ shrinking
        tenfold per stage down to 2·tol·MAE, each stage stepped by Armijo backtracking — so
        the MAE minimum is reached to about ``tol`` (relative), not just to an oscillation of
        size η·‖g‖ around it.
    seed : int
        Seeds θ₀ (each entry ~ N(0, 1) for linear models; Glorot/He for networks) and the
        mini-batch shuffling.
    theta0 : array-like, optional
        Start here instead of at random.
    reference : bool
        Compute the closed-form least-squares answer alongside (least squares only).
    warn : bool
        Warn before training when the learning rate is at or above the stability limit.
    preconditioner : {"none", "diagonal", "qr"} or None
        Descend in whitened coordinates θ = T·φ (:mod:`descend.problems.precondition`);
        ``res.params``
        stays in the model's coordinates. None: chosen automatically when
        ``learning_rate="auto"`` (κ(H) > 100 → Jacobi if that suffices, else QR), otherwise
        "none". On the fast path the preconditioner comes from the one-pass Gram matrix (no
        copy of X, no QR pass). A preconditioned least-squares fit is then refined on its
        correctly rounded residual — on the fast path only when κ(G) > 1e8, where its
        statistics lose digits (``refine=False`` in ``options`` turns that off,
        ``refine=True`` forces it).
        What ran and why: ``res.settings["preconditioner"]`` and a note in ``res.warnings``.
    feature_names : list of str, optional
        Column names (default: the DataFrame's, or x1, x2, …).
    fast : bool or "auto"
        Use the fast paths: for linear and polynomial models one blocked pass over X gives
        validation, scaling, curvature advice and (least squares) every full-batch step in
        O(p²) and the reference; X is not copied when it is already a float64 array.
        ``fast=False`` runs the plain path (a scaled copy Z of X, QR reference) — the same
        iterates to rounding, but the plain path keeps every digit the data allow, while the
        statistics (normal-equation) form can lose a few on hard data (NIST Pontius: 11.4
        correct digits instead of 13.1). "auto" (default): fast when X has at least
        2¹⁶ entries, where a pass over X is what costs. A Dask array X runs
        :mod:`descend.problems.distributed`.
    dtype : None, np.float32 or np.float64
        How the fast path stores X; the arithmetic is float64 either way (each block of rows
        is widened in a small buffer). None (default): a float32 or float64 array X is used
        as it is, anything else is copied to float64. ``np.float32``: X is stored as float32
        (converted once if needed): half the memory and half the bytes per pass, and the fit
        is the exact fit of the data rounded to float32 (relative 6e-8 per entry; on
        well-conditioned data the coefficients agree with float64 storage to about
        κ(A)·1e-7). ``np.float64``: always a float64 copy. See :mod:`descend.problems.fastfit`.
    scheduler : str, Client or None
        Dask only: None uses the active ``distributed.Client`` if any, else Dask's default
        scheduler; an address string (``"tcp://host:8786"``) connects a Client for the fit.
    progress : bool
        Dask only: a progress bar for each chunked pass.
    **options
        Passed to :func:`minimize` (``patience``, ``gtol``, ``schedule``, ``callback``,
        ``record_params``, ``checkpoint``/``checkpoint_every``/``checkpoint_seconds``,
        ``sampling="slices"`` for shuffle-once mini-batches, optimizer hyperparameters such as
        ``beta``). ``checkpoint_data`` (e.g. ``{"csv": path, "x": [...], "y": name}`` or
        ``{"dataset": "norris"}``) is stored in the checkpoint so that :func:`descend.resume`
        can find the data again.

    Returns
    -------
    FitResult
        ``.params``, ``.intercept``/``.coef`` in original units, ``.history``,
        ``.stop_reason``, ``.reference``, ``.advice``.
    """
    if dtype is not None and is_dask(X):
        raise ValueError("dtype is for in-memory arrays; cast the Dask array (X.astype)")
    with connect(scheduler):
        return _fit(
            X, y, model, loss, optimizer, learning_rate, batch_size, max_steps, tol, seed,
            theta0=theta0, reference=reference, warn=warn, feature_names=feature_names,
            preconditioner=preconditioner, fast=fast, dtype=dtype, progress=progress,
            options=options,
        )  # fmt: skip


def _fit(
    X: Any,
    y: Any,
    model: Any,
    loss: Any,
    optimizer: Any,
    learning_rate: Any,
    batch_size: int | None,
    max_steps: int,
    tol: float,
    seed: int | None,
    *,
    theta0: Any,
    reference: bool,
    warn: bool,
    feature_names: list[str] | None,
    preconditioner: str | None,
    fast: bool | str,
    dtype: Any,
    progress: bool,
    options: dict[str, Any],
) -> FitResult:
    opt_name = optimizer_name(optimizer)
    problem = build_problem(
        X, y, model, loss, auto_rate=is_auto(learning_rate), preconditioner=preconditioner,
        seed=seed, theta0=theta0, reference=reference, feature_names=feature_names, fast=fast,
        dtype=dtype, full_batch=batch_size is None, progress=progress,
    )  # fmt: skip
    refine = options.pop("refine", "auto")
    hyper = {k: options.pop(k) for k in list(options) if k not in MINIMIZE_OPTIONS | _FIT_OPTIONS}
    rate = resolve_rate(
        learning_rate,
        opt_name,
        advice=problem.advice,
        target_scale=problem.target_scale if is_auto(learning_rate) else 1.0,
        schedule=options.pop("schedule", None),
        max_steps=max_steps,
        hyper=hyper,
        batch_size=batch_size,
        warn=warn,
        stacklevel=3,
        smoothable=problem.objective.smoothable,
    )
    notes = problem.notes + rate.notes

    if options.get("checkpoint") is not None or {"checkpoint_data", "checkpoint_notes"} & set(
        options
    ):
        Xh, yh, _ = as_arrays(X, y, feature_names=feature_names)  # what resume hashes
        attach(options, X=Xh, y=yh, model=problem.model, loss=problem.base.loss,
               optimizer=optimizer, learning_rate=learning_rate, batch_size=batch_size,
               max_steps=max_steps, tol=tol, seed=seed, notes=notes,
               preconditioner=problem.plan.kind, preconditioner_reason=problem.plan.reason,
               refine=refine, extra={**hyper, "schedule": rate.schedule})  # fmt: skip
    calls = 0

    def run(objective: Any, start: Array, **extra: Any) -> FitResult:
        nonlocal calls
        calls += 1
        opts = {**options, **extra}
        if calls > 1:  # iterative refinement's sub-runs are never checkpointed or resumed
            opts.pop("checkpoint", None)
            opts.pop("resume_from", None)
        return minimize(
            objective,
            start,
            optimizer,
            rate,
            batch_size=batch_size,
            max_steps=max_steps,
            tol=tol,
            seed=seed,
            advice=problem.advice,
            **opts,
        )

    res = problem.plan.run(run, problem.theta0, refine, full_batch=batch_size is None)
    mu = known_mu(problem.objective, problem.advice)
    if mu is not None and res.settings.get("refine"):  # refinement moved θ: certify it there
        phi = problem.plan.pre.from_model(res.params)
        loss_phi, g_phi = problem.objective.value_and_grad(phi)
        res.certificate = certify(
            float(loss_phi), float(np.linalg.norm(g_phi)), mu, MU_METHOD, float(np.linalg.norm(phi))
        )
    bound = problem.model
    res.model = bound
    res.advice = problem.advice
    res.warnings.extend(notes)
    res.settings.update(
        {"model": bound.spec(), "loss": problem.base.loss.spec(),
         "n_samples": problem.base.n_samples, "feature_names": bound.feature_names}
    )  # fmt: skip
    if problem.base.owns_batches or is_dask(X):
        res.settings["dask"] = True
    res.reference = problem.reference
    return res
