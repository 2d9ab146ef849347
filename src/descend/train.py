"""The descent loop: :func:`minimize` for any objective, :func:`fit` for data.

One loop serves every problem. At each step k it samples the rows (all of them, a mini-batch
of ``batch_size`` rows, or one row), evaluates L(θ_k) and g_k = ∇L(θ_k), asks the optimizer
for the update u_k and sets θ_{k+1} = θ_k + u_k (for plain gradient descent u_k = −lr·g_k).

The loop owns safety: it stops when the run has converged, hit ``max_steps``, diverged or was
interrupted (Ctrl-C), and in every case returns what it reached; it never raises finished work
away.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import optim as _optim
from . import precondition as _precondition
from .curvature import Advice, advise
from .history import History, Recorder
from .reference import Reference, least_squares

Array = NDArray[np.float64]

__all__ = ["minimize", "fit", "FitResult", "DescendWarning", "STOP_REASONS"]

STOP_REASONS = ("converged", "max_steps", "diverged", "interrupted")


class DescendWarning(UserWarning):
    """A setting that will probably not work (e.g. a learning rate above the stability limit)."""


@dataclass
class FitResult:
    """What a run reached, and why it stopped.

    Attributes
    ----------
    params : ndarray, shape (p,)
        Final θ, in the coordinates descent ran in (scaled features for a scaled model).
        After divergence this is the last good θ (the lowest loss seen), not the blown-up one.
    loss : float
        Full-data loss at ``params``.
    history : History
        Per-step record (loss, grad_norm, step_size, lr, optionally θ).
    stop_reason : {"converged", "max_steps", "diverged", "interrupted"}
    message : str
        One or two sentences explaining the stop (for divergence: why, and what to change).
    n_steps : int
        Updates made.
    wall_time : float
        Seconds spent in the loop.
    reference : Reference or None
        For least-squares problems, the closed-form optimum (``.intercept .coef .loss``).
    advice : Advice or None
        Curvature-based learning-rate advice (λ_max, κ, stability limit).
    settings : dict
        The options the run used (optimizer, learning rate, batch size, …).
    """

    params: Array
    loss: float
    history: History
    stop_reason: str
    message: str
    n_steps: int
    wall_time: float
    reference: Reference | None = None
    advice: Advice | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    objective: Any = field(default=None, repr=False)
    opt_state: Any = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list)

    # -- original units -------------------------------------------------------------------
    def _linear_model(self) -> Any:
        if self.model is None or not hasattr(self.model, "to_original"):
            kind = "this objective" if self.model is None else self.model.spec()
            raise AttributeError(
                f"intercept/coef exist for linear and polynomial models only, not {kind}; "
                "use res.params, res.unpack() or res.predict(X)"
            )
        return self.model

    @property
    def intercept(self) -> float:
        """b in the data's original units (y ≈ intercept + coef·x)."""
        return float(self._linear_model().to_original(self.params)[0])

    @property
    def coef(self) -> Array:
        """Coefficients in original units; a polynomial's coef[k−1] multiplies x**k."""
        return np.asarray(self._linear_model().to_original(self.params)[1])

    def predict(self, X: Any) -> Array:
        """Predictions for raw inputs X (original units), shape (n,)."""
        if self.model is None:
            raise AttributeError("predict() needs a fitted model: this result came from minimize")
        from .data import as_arrays

        Xa, _, _ = as_arrays(X)
        return np.asarray(self.model.predict(self.params, Xa))

    def unpack(self) -> dict[str, Any]:
        """Named views of θ (``{"m": …, "b": …}``, per-layer weights)."""
        if self.model is None:
            return {f"θ{j}": float(v) for j, v in enumerate(self.params)}
        return dict(self.model.unpack(self.params))

    # -- gap to the reference -------------------------------------------------------------
    @property
    def distance_to_reference(self) -> float | None:
        """‖θ − θ*‖₂ in descent coordinates (None without a reference)."""
        if self.reference is None:
            return None
        return float(np.linalg.norm(self.params - self.reference.params))

    @property
    def loss_gap(self) -> float | None:
        """L(θ) − L(θ*) ≥ 0 (None without a reference)."""
        if self.reference is None:
            return None
        return float(self.loss - self.reference.loss)

    @property
    def converged(self) -> bool:
        return self.stop_reason == "converged"

    def summary(self) -> str:
        """A readable multi-line summary (what the CLI prints)."""
        from .report_text import summary_text

        return summary_text(self)


# ---------------------------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------------------------
def _resolve_optimizer(
    optimizer: str | _optim.Optimizer, learning_rate: Any, hyper: dict[str, Any]
) -> _optim.Optimizer:
    if isinstance(optimizer, _optim.Optimizer):
        if hyper:
            raise ValueError(
                f"hyperparameters {sorted(hyper)} were given beside a ready-made optimizer; "
                "set them when you build it (e.g. ds.optim.adam(b1=0.8))"
            )
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a name or an Optimizer, got {type(optimizer).__name__}")
    return _optim.get(optimizer.lower(), learning_rate, **hyper)


def _divergence_message(
    k: int, loss: float, lr: float, advice: Advice | None, nonfinite: bool, objective: Any
) -> str:
    what = "became non-finite" if nonfinite else "kept rising"
    msg = f"diverged at step {k}: the loss {what} (last value {loss:.4g})."
    if advice is not None:
        if lr >= advice.stability_limit:
            msg += (
                f" The learning rate {lr:.4g} is above the stability limit 2/λ_max = "
                f"{advice.stability_limit:.4g}, so each step overshoots the minimum by more than "
                f"it gains. Use lr < {advice.stability_limit:.4g}; the best constant rate is "
                f"{advice.best_lr:.4g} (learning_rate='auto')."
            )
        else:
            msg += f" The curvature says: {advice.describe()}."
        model = getattr(objective, "model", None)
        if model is not None and getattr(model, "scale", True) is False:
            msg += (
                f" The features are unscaled (scale=False), which makes κ = {advice.kappa:.3g}: "
                "scale=True standardises them."
            )
    else:
        msg += " The learning rate is probably too large: try one 10× smaller."
    return msg + " Returned the last good θ (lowest loss seen)."


def minimize(
    objective: Any,
    theta0: Any,
    optimizer: str | _optim.Optimizer = "gd",
    learning_rate: Any = 0.01,
    *,
    batch_size: int | None = None,
    max_steps: int = 10_000,
    tol: float = 1e-9,
    patience: int = 5,
    gtol: float = 0.0,
    schedule: str | None = None,
    seed: int | None = 0,
    record_params: bool | str = "auto",
    record_state: bool = False,
    callback: Callable[[int, Array, float], Any] | None = None,
    advice: Advice | None = None,
    rise_patience: int = 10,
    sampling: str = "reshuffle",
    **hyper: Any,
) -> FitResult:
    """Minimise an objective by gradient descent from θ₀.

    Parameters
    ----------
    objective : Objective
        Anything with ``value_and_grad(θ) -> (float, ndarray)``; a data objective also accepts
        ``rows`` for mini-batches.
    theta0 : array-like, shape (p,)
        Start; copied, never modified.
    optimizer : str or Optimizer
        ``"gd"``, ``"momentum"``, ``"adam"``, … or an :class:`descend.optim.Optimizer`.
    learning_rate : float, schedule, "auto" or "armijo"
        Constant rate, a schedule ``step -> lr``, ``"auto"`` (the curvature's best constant
        rate), or ``"armijo"`` (backtracking line search each step, full batch only).
    batch_size : int or None
        None: full-batch descent; k: mini-batches of k rows (each epoch a fresh shuffle);
        1: stochastic gradient descent. Every update rule works with every choice.
    max_steps : int
        Maximum number of updates.
    tol : float
        Converged when the relative loss change |L_{k−1} − L_k| / max(|L_k|, ε·L_0) ≤ tol for
        ``patience`` consecutive steps (full batch), or the full loss changes by ≤ tol
        relatively between ``patience`` consecutive epochs (mini-batch).
    gtol : float
        Also converged when ‖g‖ ≤ gtol (full batch).
    schedule : str, optional
        Name of a learning-rate schedule built from ``learning_rate`` (``"cosine"``, …).
    seed : int or None
        Seeds the mini-batch shuffling.
    record_params : bool or "auto"
        Keep θ at every step in ``history.params`` ("auto": when p ≤ 100).
    record_state : bool
        Keep norms of the optimizer state (e.g. velocity) in ``history.state_norms``.
    callback : callable, optional
        ``callback(k, θ_{k+1}, L_k)`` after each step; returning True stops the run
        (reason "interrupted").
    advice : Advice, optional
        Curvature advice used to explain a divergence (computed when cheap if not given).
    sampling : {"reshuffle", "slices", "contiguous"}
        How mini-batches are drawn (ignored for full batches).

        - "reshuffle" (default, unchanged): a fresh permutation of the rows each epoch, cut
          into consecutive batches.
        - "slices": one permutation at the start, cut once into contiguous slices that every
          epoch visits in a fresh random order ("shuffle once"): no O(n) permutation per
          epoch and sorted gathers; the batch *sets* repeat across epochs, so it is not the
          same sequence as "reshuffle" (:func:`descend.data.slice_batches`).
        - "contiguous": the same with the stored order as the shuffled one — each batch is a
          view X[i:i+b], no gather. Equivalent to "slices" only when the rows are already in
          random order (:func:`descend.data.contiguous_batches`).
    rise_patience : int
        Diverged when the full-batch loss rose this many steps in a row while above its start
        (plain GD) or above 100× its start (momentum and adaptive rules, whose loss may rise
        for a while before it falls). A non-finite loss is always divergence.
    **hyper
        Optimizer hyperparameters (``beta=0.9``, ``b1=…``).

    Returns
    -------
    FitResult
    """
    t_start = time.perf_counter()
    theta = np.array(theta0, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(theta)):
        raise ValueError("theta0 contains NaN or inf: start from finite parameters")
    n_params = getattr(objective, "n_params", 0) or theta.shape[0]
    if theta.shape[0] != n_params:
        raise ValueError(f"theta0 has {theta.shape[0]} entries but the objective has {n_params}")
    if not isinstance(max_steps, int | np.integer) or max_steps < 0:
        raise ValueError(f"max_steps must be a whole number ≥ 0, got {max_steps!r}")
    if not (tol >= 0) or not (gtol >= 0):
        raise ValueError(f"tol and gtol must be ≥ 0, got tol={tol!r}, gtol={gtol!r}")
    if patience < 1:
        raise ValueError(f"patience must be ≥ 1, got {patience!r}")

    # -- learning rate: a number, a schedule, "auto" or "armijo" --------------------------
    line_search = isinstance(learning_rate, str) and learning_rate.lower() == "armijo"
    if isinstance(learning_rate, str) and learning_rate.lower() == "auto":
        advice = advice or advise(objective, theta)
        learning_rate = advice.best_lr
    elif isinstance(learning_rate, str) and not line_search:
        raise ValueError(
            f"learning_rate must be a number, a schedule, 'auto' or 'armijo', got {learning_rate!r}"
        )
    if line_search:
        from .linesearch import require_full_batch

        require_full_batch(batch_size)
        lr_for_opt: Any = 1.0
    else:
        lr_for_opt = learning_rate
    if schedule is not None and not line_search:
        from .schedules import get_schedule

        if callable(lr_for_opt):
            raise ValueError("give either a schedule name or a schedule object, not both")
        lr_for_opt = get_schedule(schedule, float(lr_for_opt), max_steps=max(max_steps, 1))
    opt = _resolve_optimizer(optimizer, lr_for_opt, hyper)

    # -- sampling --------------------------------------------------------------------------
    n_samples = getattr(objective, "n_samples", None)
    if batch_size is not None:
        if n_samples is None:
            raise ValueError(
                "batch_size needs a data objective (rows to sample); this objective has none"
            )
        if not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise ValueError(f"batch_size must be a whole number ≥ 1 or None, got {batch_size!r}")
        if batch_size >= n_samples:
            batch_size = None  # a batch of every row is full-batch descent, exactly
    full_batch = batch_size is None
    from .data import SAMPLINGS

    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    if not full_batch:
        from .data import batches, contiguous_batches, slice_batches

        assert n_samples is not None and batch_size is not None
        own = getattr(objective, "batches", None)  # e.g. Dask: batches that sample chunks
        if callable(own) and sampling != "reshuffle":
            raise ValueError(
                f"sampling={sampling!r} is for in-memory data; this objective samples its own "
                "batches (e.g. Dask chunks)"
            )
        batch_rng = np.random.default_rng(seed)
        samplers = {"reshuffle": batches, "slices": slice_batches, "contiguous": contiguous_batches}
        batch_iter: Any = (
            own(batch_size, batch_rng)
            if callable(own)
            else samplers[sampling](n_samples, batch_size, batch_rng)
        )
        steps_per_epoch = math.ceil(n_samples / batch_size)

    if record_params == "auto":
        record_params = theta.shape[0] <= 100
    rec = Recorder(bool(record_params), theta)
    # Plain GD below the stability limit never raises a smooth convex loss, so a rising run
    # is diverging; momentum and adaptive rules may rise for a while before they settle.
    rise_floor = 1.0 if opt.name in ("gd", "sgd") else 100.0
    state = opt.init(theta)

    stop_reason = "max_steps"
    message = f"stopped after max_steps = {max_steps} updates without meeting tol = {tol:g}"
    loss0: float | None = None
    prev_loss = math.nan
    calm = 0  # consecutive steps with a small relative loss change
    rising = 0  # consecutive steps with a rising full-batch loss
    best_theta, best_loss = theta.copy(), math.inf
    epoch_losses: list[float] = []
    lr_ls = 1.0  # warm start of the line search
    k = 0
    last_lr = math.nan

    def _full_loss(th: Array) -> float:
        return float(objective.value(th))

    try:
        while k < max_steps:
            if full_batch:
                loss, g = objective.value_and_grad(theta)
            else:
                loss, g = objective.value_and_grad(theta, next(batch_iter))
            loss = float(loss)
            gnorm = float(np.linalg.norm(g))
            if loss0 is None:
                loss0 = loss
            finite = math.isfinite(loss) and math.isfinite(gnorm)
            if full_batch and finite and loss < best_loss:
                best_theta, best_loss = theta.copy(), loss
            # divergence guard: non-finite, or rising persistently above the start
            if full_batch and finite and loss > prev_loss and loss > rise_floor * loss0:
                rising += 1
            else:
                rising = 0
            blown = not full_batch and finite and loss > 1e12 * max(loss0, 1e-300)
            if not finite or rising >= rise_patience or blown:
                stop_reason = "diverged"
                if advice is None and getattr(objective, "model", None) is not None:
                    try:
                        advice = advise(objective, best_theta)
                    except (ValueError, np.linalg.LinAlgError):
                        advice = None
                message = _divergence_message(
                    k, loss, last_lr, advice, not finite or blown, objective
                )
                break
            # convergence (full batch): gradient norm, then relative loss change
            if full_batch:
                if gnorm <= gtol:
                    stop_reason, message = "converged", f"‖g‖ = {gnorm:.3g} ≤ gtol = {gtol:g}"
                    break
                if k > 0:
                    denom = max(abs(loss), np.finfo(np.float64).eps * abs(loss0))
                    change = abs(prev_loss - loss) / denom if denom > 0 else 0.0
                    calm = calm + 1 if change <= tol else 0
                    if calm >= patience:
                        stop_reason = "converged"
                        message = (
                            f"relative loss change ≤ tol = {tol:g} for {patience} "
                            f"steps in a row (at step {k})"
                        )
                        break
            prev_loss = loss

            # the update
            u, new_state = opt.update(g, state, theta)
            if line_search:
                from .linesearch import backtracking

                t, _ = backtracking(objective, theta, g, u, loss=loss, lr0=2.0 * lr_ls)
                if t == 0.0:
                    stop_reason = "converged"
                    message = "the line search found no decrease along the update direction"
                    break
                lr_ls = t
                u = t * u
                last_lr = t
            else:
                last_lr = float(opt.learning_rate(k))
            state = new_state
            theta = theta + u
            k += 1
            rec.add(
                k - 1,
                loss,
                gnorm,
                float(np.linalg.norm(u)),
                last_lr,
                theta,
                _optim.state_norms(state) if record_state else None,
            )
            if callback is not None and callback(k - 1, theta, loss):
                stop_reason, message = "interrupted", f"stopped by the callback at step {k}"
                break
            # mini-batch: check the full loss once per epoch
            if not full_batch and k % steps_per_epoch == 0:
                full = _full_loss(theta)
                if math.isfinite(full) and full < best_loss:
                    best_theta, best_loss = theta.copy(), full
                if epoch_losses:
                    denom = max(abs(full), np.finfo(np.float64).eps * abs(epoch_losses[0]))
                    change = abs(epoch_losses[-1] - full) / denom if denom > 0 else 0.0
                    calm = calm + 1 if change <= tol else 0
                    if calm >= patience:
                        stop_reason = "converged"
                        message = (
                            f"full loss changed by ≤ tol = {tol:g} (relative) for "
                            f"{patience} epochs in a row"
                        )
                        epoch_losses.append(full)
                        break
                epoch_losses.append(full)
    except KeyboardInterrupt:
        stop_reason = "interrupted"
        message = f"interrupted at step {k}: returning the parameters reached so far"

    if stop_reason == "diverged":
        theta = best_theta
    final_loss = _full_loss(theta)
    history = rec.history()
    return FitResult(
        params=theta,
        loss=final_loss,
        history=history,
        stop_reason=stop_reason,
        message=message,
        n_steps=k,
        wall_time=time.perf_counter() - t_start,
        advice=advice,
        settings={
            "optimizer": opt.name,
            "hyperparams": dict(opt.hyperparams or {}),
            "learning_rate": "armijo" if line_search else _describe_lr(lr_for_opt),
            "schedule": schedule,
            "batch_size": batch_size,
            "max_steps": max_steps,
            "tol": tol,
            "patience": patience,
            "gtol": gtol,
            "seed": seed,
            "sampling": sampling if batch_size is not None else None,
        },
        objective=objective,
        opt_state=state,
    )


def _describe_lr(lr: Any) -> Any:
    if isinstance(lr, int | float):
        return float(lr)
    to_dict = getattr(lr, "to_dict", None)
    return to_dict() if callable(to_dict) else repr(lr)


# ---------------------------------------------------------------------------------------------
# fit: data in, model out
# ---------------------------------------------------------------------------------------------
def auto_learning_rate(
    advice: Advice, optimizer: str, target_scale: float = 1.0
) -> tuple[float, dict[str, float]]:
    """The curvature's best settings for an update rule.

    gd: lr = 2/(λ_min + λ_max). momentum (heavy ball, Polyak): lr = 4/(√λ_max + √λ_min)²,
    β = ((√κ − 1)/(√κ + 1))². nesterov: lr = 1/λ_max, β = (√κ − 1)/(√κ + 1). Adaptive rules
    (adam, rmsprop, adagrad) move each coordinate by about lr per step, whatever the
    curvature: they get :data:`ADAPTIVE_LR` × ``target_scale`` (the std of y for data).
    """
    name = optimizer.lower()
    if name in ("gd", "sgd"):
        return advice.best_lr, {}
    if name == "momentum" and math.isfinite(advice.kappa):
        sl, ss = math.sqrt(advice.lam_max), math.sqrt(advice.lam_min)
        beta = ((sl - ss) / (sl + ss)) ** 2
        return 4.0 / (sl + ss) ** 2, {"beta": min(beta, 0.99)}
    if name == "nesterov" and math.isfinite(advice.kappa):
        sk = math.sqrt(advice.kappa)
        return 1.0 / advice.lam_max, {"beta": min((sk - 1.0) / (sk + 1.0), 0.99)}
    if name in ("momentum", "nesterov"):
        return advice.best_lr, {}
    if name in ADAPTIVE_LR:
        return ADAPTIVE_LR[name] * max(target_scale, 1e-12), {}
    return advice.best_lr, {}


#: rates for the adaptive rules, per unit of the targets' standard deviation: their step is
#: about lr per coordinate, and a standardised model's weights are of the order of std(y)
ADAPTIVE_LR = {"adam": 0.01, "adamw": 0.01, "rmsprop": 0.01, "adagrad": 0.1}


def fit(
    X: Any,
    y: Any,
    model: Any = "linear",
    loss: Any = "mse",
    optimizer: str | _optim.Optimizer = "gd",
    learning_rate: Any = 0.01,
    batch_size: int | None = None,
    max_steps: int = 10_000,
    tol: float = 1e-9,
    seed: int | None = 0,
    *,
    theta0: Any = None,
    reference: bool = True,
    warn: bool = True,
    feature_names: list[str] | None = None,
    preconditioner: str | None = None,
    fast: bool | str = "auto",
    dtype: Any = None,
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
        ``"mse"`` (the lesson's), ``"mae"``, ``"huber"``/``"huber:2"``, ``"logloss"``.
    optimizer, learning_rate, batch_size, max_steps, tol
        As in :func:`minimize`. ``learning_rate="auto"`` takes the curvature's best rate.
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
        Descend in whitened coordinates θ = T·φ (:mod:`descend.precondition`); ``res.params``
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
        :func:`descend.distributed.fit_dask`.
    dtype : None, np.float32 or np.float64
        How the fast path stores X; the arithmetic is float64 either way (each block of rows
        is widened in a small buffer). None (default): a float32 or float64 array X is used
        as it is, anything else is copied to float64. ``np.float32``: X is stored as float32
        (converted once if needed): half the memory and half the bytes per pass, and the fit
        is the exact fit of the data rounded to float32 (relative 6e-8 per entry; on
        well-conditioned data the coefficients agree with float64 storage to about
        κ(A)·1e-7). ``np.float64``: always a float64 copy. See :mod:`descend.fastfit`.
    **options
        Passed to :func:`minimize` (``patience``, ``gtol``, ``schedule``, ``callback``,
        ``record_params``, ``sampling="slices"`` for shuffle-once mini-batches, optimizer
        hyperparameters such as ``beta``).

    Returns
    -------
    FitResult
        ``.params``, ``.intercept``/``.coef`` in original units, ``.history``,
        ``.stop_reason``, ``.reference``, ``.advice``.
    """
    if type(X).__module__.startswith("dask"):
        from .distributed import fit_dask

        if dtype is not None:
            raise ValueError("dtype is for in-memory arrays; cast the Dask array (X.astype)")

        return fit_dask(
            X, y, model=model, loss=loss, optimizer=optimizer, learning_rate=learning_rate,
            batch_size=batch_size, max_steps=max_steps, tol=tol, seed=seed, theta0=theta0,
            reference=reference, warn=warn, feature_names=feature_names, **options,
        )  # fmt: skip
    from .fastfit import build_objective

    obj = build_objective(
        X, y, model, loss, feature_names=feature_names, fast=fast,
        column_major=batch_size is None, dtype=dtype,
    )  # fmt: skip
    bound = obj.model
    ya = obj.y

    if getattr(obj, "quad", None) is not None:
        least_squares(obj)  # fast path: cheap, and refines L* before descent when needed
    rng = np.random.default_rng(seed)
    if theta0 is None:
        theta_start = bound.init_params(rng)
    else:
        theta_start = np.array(theta0, dtype=np.float64).reshape(-1)

    opt_name = optimizer if isinstance(optimizer, str) else optimizer.name
    advice: Advice | None = None
    if bound.is_linear:
        advice = advise(obj)
    elif isinstance(learning_rate, str) and learning_rate.lower() == "auto":
        advice = advise(obj, theta_start)
    plan = _precondition.plan(obj, preconditioner, learning_rate, advice)
    advice = plan.advice
    refine = options.pop("refine", "auto")

    # Say what ran and why whenever a choice was made (auto, or an explicit preconditioner).
    chose = preconditioner is not None or (
        isinstance(learning_rate, str) and learning_rate.lower() == "auto"
    )
    notes: list[str] = [plan.note()] if chose and bound.is_linear else []
    if isinstance(learning_rate, str) and learning_rate.lower() == "auto":
        assert advice is not None
        # the targets' spread only matters to the adaptive rules (and costs a pass over y)
        spread = float(np.std(ya)) if opt_name.lower() in ADAPTIVE_LR else 1.0
        learning_rate, auto_hyper = auto_learning_rate(advice, opt_name, spread)
        for key, value in auto_hyper.items():
            options.setdefault(key, value)
        notes.append(f"learning_rate='auto' chose {learning_rate:.4g} ({advice.describe()})")
    elif (
        warn
        and advice is not None
        and isinstance(learning_rate, int | float)
        and opt_name in ("gd", "sgd")
        and (text := advice.check(float(learning_rate)))
    ):
        warnings.warn(text, DescendWarning, stacklevel=2)
        notes.append(text)

    def run(objective: Any, start: Array, **extra: Any) -> FitResult:
        return minimize(
            objective,
            start,
            optimizer,
            learning_rate,
            batch_size=batch_size,
            max_steps=max_steps,
            tol=tol,
            seed=seed,
            advice=advice,
            **{**options, **extra},
        )

    res = plan.run(run, theta_start, refine, full_batch=batch_size is None)
    res.model = bound
    res.advice = advice
    res.warnings.extend(notes)
    res.settings.update({"model": bound.spec(), "loss": obj.loss.spec(), "n_samples": len(ya)})
    res.settings["feature_names"] = bound.feature_names
    if reference:
        res.reference = least_squares(obj)
    return res
