"""Fit a model to data by gradient descent: :func:`fit`.

The one path of a fit: :func:`descend.problems.build.build_problem` builds the problem
(objective, θ₀, advice, reference, preconditioner), :func:`descend.descent.rates.resolve_rate`
resolves the learning rate once, the preconditioner's plan runs :func:`minimize` (and
iterative refinement) and maps the result back to the model's coordinates.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.names import step_limit
from descend.data.tables import DataError, as_arrays
from descend.descent.checkpoint import attach
from descend.descent.live import ChunkBar
from descend.descent.minimize import MINIMIZE_OPTIONS, check_keywords, minimize, optimizer_name
from descend.descent.optim import Optimizer
from descend.descent.rates import DescendWarning, is_auto, needs_target_scale, resolve_rate
from descend.descent.result import FitResult
from descend.descent.verdicts import (
    DEFAULT_N_ITER_NO_CHANGE,
    DEFAULT_TOL,
    MU_METHOD,
    certify,
    known_mu,
)
from descend.problems.build import build_problem
from descend.problems.distributed import CONNECT_TIMEOUT, connect, is_dask

Array = NDArray[np.float64]

__all__ = ["fit"]

#: options :func:`fit` consumes itself (where the checkpoint's data and notes come from)
_FIT_OPTIONS = frozenset({"checkpoint_data", "checkpoint_notes", "resume_sha256"})


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
    connect_timeout: float = CONNECT_TIMEOUT,
    progress: bool | Callable[[int, int], None] = False,
    penalty: str | None = None,
    alpha: float = 1e-4,
    l1_ratio: float = 0.15,
    validation_fraction: float | None = None,
    early_stopping: bool = False,
    n_iter_no_change: int = DEFAULT_N_ITER_NO_CHANGE,
    live: bool = False,
    sample_weight: Any = None,
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
        As in :func:`minimize` (``max_iter=`` is accepted as an alias of ``max_steps``; a
        misspelt keyword is refused with the closest valid names). ``learning_rate="auto"``
        takes the curvature's best rate; for ``loss="mae"`` with a model linear in θ (gd, full
        batch) it runs the smoothing continuation (:mod:`descend.descent.rates`): the MAE
        smoothed within δ, δ shrinking tenfold per stage down to 2·tol·MAE, each stage stepped
        by Armijo backtracking — so the MAE minimum is reached to about ``tol`` (relative), not
        just to an oscillation of size η·‖g‖ around it.
    seed : int ≥ 0 or None
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
    connect_timeout : float
        Dask only: seconds to wait for the scheduler at ``scheduler`` (a ValueError after).
    progress : bool or callable
        Dask only: the statistics pass (the one that reads every chunk) reports the chunks
        read. True: a tqdm bar; a callable: ``progress(done, total)`` after each chunk (the
        CLI's progress display takes it); the steps report through ``callback``.
    penalty : {None, "l2", "l1", "elasticnet"}
        Minimise loss(θ) + α·(r·‖w‖₁ + ½(1 − r)·‖w‖₂²), w = ``res.coef`` in the data's units
        (the intercept is never penalised; standardising does not change the problem).
        ``"l2"`` joins the Hessian (advice, "auto", the certificate follow); ``"l1"`` and
        ``"elasticnet"`` run proximal gradient steps (ISTA, ``optimizer="gd"``) with exact
        zeros. See :mod:`descend.problems.penalty` (scikit-learn's α is descend's α/2 for MSE).
    alpha : float
        α ≥ 0 (default 1e-4, scikit-learn's SGDRegressor's).
    l1_ratio : float
        r ∈ [0, 1], the L1 share of ``"elasticnet"`` (default 0.15).
    validation_fraction : float or None
        Hold out this share of the rows (a permutation seeded by ``seed``): the model is
        scaled on and trained on the rest, and the held-out loss (no penalty) at every step
        (every epoch for mini-batches) is ``res.history.val_loss``. Default None: no split,
        or 0.1 with ``early_stopping``.
    early_stopping : bool
        Stop when the validation loss has made no new low for ``n_iter_no_change`` checks
        (stop reason ``"early_stopped"``) and return the θ where it was lowest.
    n_iter_no_change : int
        Checks (steps; epochs for mini-batches) without improvement (default 10).
    live : bool
        Watch the run (:mod:`descend.descent.live`): in Jupyter the loss curve and, for two
        parameters, the path over the loss, updated in place in the output cell; in a terminal
        a tqdm progress bar. Redrawing is rationed to about 5 % of the run's time.
    sample_weight : array-like, shape (n,), optional
        Row weights s_i ≥ 0 (not all 0): the loss becomes the weighted mean
        Σ s_i ℓ_i / Σ s_i, so integer weights are the same as repeating rows and a penalty's α
        keeps its meaning (scikit-learn's ``LogisticRegression(C)`` is ``alpha = 1/(C·Σs)``).
        Runs on the plain objective; no closed-form reference or certificate for weighted
        least squares; not yet with a validation split, a checkpoint or Dask data.
    **options
        Passed to :func:`minimize` (``patience``, ``gtol``, ``schedule``, ``callback``,
        ``record_params``, ``track_sharpness=E`` (the sharpness every E steps into
        ``res.history.sharpness``, in the coordinates descent ran in),
        ``checkpoint``/``checkpoint_every``/``checkpoint_seconds``,
        ``sampling="slices"`` for shuffle-once mini-batches, ``average=True`` or a number of
        updates (Polyak–Ruppert: θ is the mean of the iterates), optimizer hyperparameters such as
        ``beta``). ``checkpoint_data`` (e.g. ``{"csv": path, "x": [...], "y": name}`` or
        ``{"dataset": "norris"}``) is stored in the checkpoint so that :func:`descend.resume`
        can find the data again.

    Returns
    -------
    FitResult
        ``.params``, ``.intercept``/``.coef`` in original units, ``.history``,
        ``.stop_reason``, ``.reference``, ``.advice``.
    """
    max_steps = step_limit(max_steps, options, 10_000)
    if dtype is not None and is_dask(X):
        raise ValueError("dtype is for in-memory arrays; cast the Dask array (X.astype)")
    bar = ChunkBar() if progress is True else None  # a callable is the caller's own hook
    report = bar if bar is not None else (progress if callable(progress) else None)
    try:
        with connect(scheduler, timeout=connect_timeout):
            return _fit(
                X, y, model, loss, optimizer, learning_rate, batch_size, max_steps, tol, seed,
                theta0=theta0, reference=reference, warn=warn, feature_names=feature_names,
                preconditioner=preconditioner, fast=fast, dtype=dtype, progress=report,
                live=live, options=options, penalty=(penalty, alpha, l1_ratio),
                validation=(validation_fraction, early_stopping, n_iter_no_change),
                sample_weight=sample_weight,
            )  # fmt: skip
    finally:
        if bar is not None:
            bar.close()


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
    progress: Callable[[int, int], None] | None,
    live: bool,
    options: dict[str, Any],
    penalty: tuple[Any, Any, Any] = (None, 1e-4, 0.15),
    validation: tuple[Any, bool, int] = (None, False, DEFAULT_N_ITER_NO_CHANGE),
    sample_weight: Any = None,
) -> FitResult:
    opt_name = optimizer_name(optimizer)
    fraction, early_stopping, n_iter_no_change = validation
    if early_stopping and fraction is None:
        fraction = 0.1  # scikit-learn's default
    problem = build_problem(
        X, y, model, loss, auto_rate=is_auto(learning_rate), preconditioner=preconditioner,
        seed=seed, theta0=theta0, reference=reference, feature_names=feature_names, fast=fast,
        dtype=dtype, full_batch=batch_size is None, progress=progress,
        penalty=penalty[0], alpha=penalty[1], l1_ratio=penalty[2],
        validation_fraction=fraction, sample_weight=sample_weight,
        fingerprint=options.get("checkpoint") is not None or bool(_FIT_OPTIONS & set(options)),
    )  # fmt: skip
    if sample_weight is not None and options.get("checkpoint") is not None:
        raise ValueError(
            "a checkpointed run cannot keep sample weights yet (resume would not find them): "
            "drop sample_weight or the checkpoint"
        )
    if problem.validation is not None and options.get("checkpoint") is not None:
        raise ValueError(
            "a checkpointed run cannot keep a validation split yet: drop validation_fraction/"
            "early_stopping or the checkpoint"
        )
    refine = options.pop("refine", "auto")
    hyper = {k: options.pop(k) for k in list(options) if k not in MINIMIZE_OPTIONS | _FIT_OPTIONS}
    check_keywords(hyper, optimizer, MINIMIZE_OPTIONS | _FIT_OPTIONS | _FIT_PARAMETERS, "fit")
    rate = resolve_rate(
        learning_rate,
        opt_name,
        advice=problem.advice,
        target_scale=(problem.target_scale if needs_target_scale(learning_rate, opt_name) else 1.0),
        schedule=options.pop("schedule", None),
        max_steps=max_steps,
        hyper=hyper,
        batch_size=batch_size,
        warn=warn,
        stacklevel=3,
        smoothable=problem.objective.smoothable,
        line_search_pays=problem.objective.line_search_pays,
    )
    notes = problem.notes + rate.notes
    penalized = (
        {"penalty": penalty[0], "alpha": penalty[1], "l1_ratio": penalty[2]}
        if penalty[0] is not None
        else {}
    )
    expected = options.pop("resume_sha256", None)
    digest = problem.base.data_fingerprint  # Dask: hashed by the statistics pass
    if expected is not None and digest != expected:
        raise DataError(
            f"refusing to resume on other data: the checkpoint was made on data with "
            f"fingerprint {expected[:12]}…, these {X.shape[0]} rows have "
            f"{(digest or 'none')[:12]}…. Pass the same files (same rows, same order, same chunks)."
        )

    if options.get("checkpoint") is not None or {"checkpoint_data", "checkpoint_notes"} & set(
        options
    ):
        if digest is None:
            Xh, yh, _ = as_arrays(X, y, feature_names=feature_names)  # what resume hashes
        else:
            Xh, yh = X if X.ndim == 2 else X[:, None], y
        attach(options, X=Xh, y=yh, data_sha256=digest, model=problem.model, loss=problem.base.loss,
               optimizer=optimizer, learning_rate=learning_rate, batch_size=batch_size,
               max_steps=max_steps, tol=tol, seed=seed, notes=notes,
               preconditioner=problem.plan.kind, preconditioner_reason=problem.plan.reason,
               refine=refine, extra={**hyper, "schedule": rate.schedule, **penalized})  # fmt: skip
    if problem.validation is not None:
        options.update(validation=problem.validation, early_stopping=early_stopping,
                       n_iter_no_change=n_iter_no_change)  # fmt: skip
    calls = 0

    def run(objective: Any, start: Array, **extra: Any) -> FitResult:
        nonlocal calls
        calls += 1
        opts = {**options, **extra}
        if calls > 1:  # iterative refinement's sub-runs are never checkpointed or resumed
            for key in ("checkpoint", "resume_from", "validation", "early_stopping",
                        "track_sharpness", "average"):  # fmt: skip
                opts.pop(key, None)
        view = None
        if live and calls == 1:  # the main run is drawn; refinement's sub-runs are not
            from descend.descent.live import LiveView

            view = LiveView(max_steps, objective)
            opts["callback"] = _both(view, opts.get("callback"))
        message = ""
        try:
            res = minimize(
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
            message = f"{res.stop_reason}: {res.message}"
            return res
        finally:  # also after Ctrl-C or an error: the final picture, the bar closed
            if view is not None:
                view.close(message)

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
         "n_samples": problem.base.n_samples, "feature_names": bound.feature_names,
         "penalty": penalized or None}
    )  # fmt: skip
    if problem.base.owns_batches or is_dask(X):
        res.settings["dask"] = True
    res.reference = problem.reference
    _compare_with_the_mean(res, problem.base.baseline_loss(), warn)
    return res


def _compare_with_the_mean(res: FitResult, baseline: float | None, warn: bool) -> None:
    """A note (and a DescendWarning) when the fit ends no better than predicting ȳ."""
    if baseline is None:
        return
    res.settings["baseline_loss"] = baseline
    if res.stop_reason == "diverged" or not math.isfinite(res.loss):
        return
    if res.loss <= baseline:
        return
    note = (
        f"the fit ends at loss {res.loss:.4g}, worse than predicting the mean of y for every "
        f"row (loss {baseline:.4g}): it has learned nothing useful yet. Try "
        "learning_rate='auto', more steps (max_steps), or optimizer='adam'"
    )
    res.warnings.append(note)
    if warn:
        warnings.warn(note, DescendWarning, stacklevel=3)


def _both(view: Any, user: Any) -> Any:
    """The loop's callback: the live view, then the user's (whose answer may stop the run)."""

    def callback(k: int, theta: Array, loss: float) -> Any:
        view(k, theta, loss)
        return user(k, theta, loss) if user is not None else False

    return callback


#: fit's own parameter names (for "did you mean" on a misspelt keyword)
_FIT_PARAMETERS = frozenset(inspect.signature(fit).parameters) - {"options"}
