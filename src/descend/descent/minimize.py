"""Run descent on any objective: :func:`minimize`.

One loop serves every problem. At each step k it samples the rows (all of them, a mini-batch
of ``batch_size`` rows, or one row), evaluates L(θ_k) and g_k = ∇L(θ_k), asks the optimizer
for the update u_k and sets θ_{k+1} = θ_k + u_k (for plain gradient descent u_k = −lr·g_k).
That iteration is :class:`descend.descent.loop.Descent`, shared with :class:`descend.Session`;
:func:`minimize` drives it to the end and adds callbacks, checkpoints and Ctrl-C.

The loop owns safety: it stops when the run has converged, hit ``max_steps``, diverged or was
interrupted (Ctrl-C), and in every case returns what it reached; it never raises finished work
away.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.names import did_you_mean, step_limit
from descend.data.tables import check_seed
from descend.descent import optim as _optim
from descend.descent.checkpoint import Checkpointer
from descend.descent.loop import Descent, LoopState, start_point
from descend.descent.rates import is_auto, needs_target_scale, resolve_rate
from descend.descent.result import FitResult
from descend.descent.verdicts import (
    DEFAULT_GTOL,
    DEFAULT_N_ITER_NO_CHANGE,
    DEFAULT_PATIENCE,
    DEFAULT_TOL,
    certify,
)
from descend.problems.curvature import Advice, advise
from descend.problems.penalty import penalize

Array = NDArray[np.float64]

__all__ = ["MINIMIZE_OPTIONS", "check_keywords", "minimize", "optimizer_name"]


#: a checkpointed run's chunks (steps between reads of the signal guard) grow while they take
#: under this many seconds, up to _CHUNK_MAX steps
_CHUNK_SECONDS = 0.01
_CHUNK_MAX = 4096


def optimizer_name(optimizer: Any) -> str:
    """The registry name of ``optimizer`` (a name or an :class:`~descend.descent.optim.Optimizer`).

    Raises
    ------
    TypeError
        Neither a name nor an Optimizer.
    """
    if isinstance(optimizer, _optim.Optimizer):
        return optimizer.name
    if isinstance(optimizer, str):
        return optimizer.strip().lower()
    raise TypeError(
        f"optimizer must be a name such as 'adam' or an optimizer from descend.optim "
        f"(e.g. descend.optim.adam()), got {type(optimizer).__name__} {optimizer!r}"
    )


def check_keywords(
    hyper: dict[str, Any], optimizer: Any, options: Any, where: str = "minimize"
) -> None:
    """Refuse a keyword that is neither one of ``options`` nor a hyperparameter of the rule.

    The message names the closest valid keyword ("did you mean"), so a misspelt option
    (``max_step``, ``tol_``) is caught before the run instead of reaching the update rule.

    Raises
    ------
    TypeError
        The first unknown keyword, with the closest valid names.
    """
    if isinstance(optimizer, _optim.Optimizer):
        return  # hyperparameters beside a ready-made rule are refused by _resolve_optimizer
    valid = _optim.hyperparameters(optimizer_name(optimizer))
    for key in hyper:
        if key not in valid:
            raise TypeError(
                f"{where}() got an unknown keyword {key!r} (neither an option nor a "
                f"hyperparameter of {optimizer_name(optimizer)!r}: {', '.join(valid)})."
                f"{did_you_mean(key, [*options, *valid])}"
            )


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
    return _optim.get(optimizer_name(optimizer), learning_rate, **hyper)


def minimize(
    objective: Any,
    theta0: Any,
    optimizer: str | _optim.Optimizer = "gd",
    learning_rate: Any = 0.01,
    *,
    batch_size: int | None = None,
    max_steps: int = 10_000,
    tol: float = DEFAULT_TOL,
    patience: int = DEFAULT_PATIENCE,
    gtol: float = DEFAULT_GTOL,
    stall_tol: float = 64 * float(np.finfo(np.float64).eps),
    schedule: str | None = None,
    seed: int | None = 0,
    record_params: bool | str = "auto",
    record_state: bool = False,
    callback: Callable[[int, Array, float], Any] | None = None,
    advice: Advice | None = None,
    rise_patience: int = 10,
    checkpoint: Any = None,
    checkpoint_every: int | None = None,
    checkpoint_seconds: float | None = None,
    resume_from: LoopState | None = None,
    sampling: str = "reshuffle",
    penalty: str | None = None,
    alpha: float = 1e-4,
    l1_ratio: float = 0.15,
    validation: Any = None,
    track_sharpness: int | None = None,
    early_stopping: bool = False,
    n_iter_no_change: int = DEFAULT_N_ITER_NO_CHANGE,
    average: bool | int = False,
    **hyper: Any,
) -> FitResult:
    """Minimise an objective by gradient descent from θ₀.

    Each step k evaluates L_k and g_k = ∇L(θ_k) on the sampled rows, asks the optimizer for
    the update, (u_k, s_{k+1}) = opt.update(g_k, s_k, θ_k), and sets θ_{k+1} = θ_k + u_k
    (plain gradient descent: u_k = −η_k·g_k). The run stops at the first of (defined in
    :mod:`descend.descent.verdicts`, applied by :class:`descend.descent.loop.Descent`)

    * ``"max_steps"``: ``max_steps`` updates made (the message says how far from done);
    * ``"diverged"``: a non-finite loss or gradient, or growth the update rule does not allow
      (judged by its own stability limit); θ is rolled back to the lowest-loss θ seen;
    * ``"converged"``: certified — L(θ) − L* ≤ ‖∇L‖²/(2μ) ≤ ``tol``·|L(θ)| on a strongly convex
      problem with μ known (least squares); ``res.certificate`` holds the bounds;
    * ``"stationary"``: ‖∇L‖ ≤ ``gtol``·‖∇L(θ₀)‖ where no certificate exists;
    * ``"stalled"``: the loss stopped changing but the gradient did not vanish (the message
      says why: a rate too small, oscillation at the stability limit, rounding, noise);
    * ``"interrupted"``: the callback returned True, Ctrl-C, or (with a checkpoint) SIGTERM.

    The iteration itself is :class:`descend.descent.loop.Descent` (shared with
    :class:`descend.Session`); this function drives it to a stop, saves checkpoints and builds
    the :class:`FitResult`.

    Parameters
    ----------
    objective : Objective
        Anything with ``value_and_grad(θ) -> (float, ndarray)``; a data objective also accepts
        ``rows`` for mini-batches.
    theta0 : array-like, shape (p,)
        Start; copied, never modified.
    optimizer : str or Optimizer
        ``"gd"``, ``"momentum"``, ``"adam"``, … or an :class:`descend.descent.optim.Optimizer`.
    learning_rate : float, schedule, "auto", "armijo" or Rate
        Constant rate, a schedule ``step -> lr``, ``"auto"`` (the curvature's best settings for
        the update rule: the table in :mod:`descend.descent.rates`, the same for every entry
        point; for the MAE of a linear model, gd on full batches, the smoothing continuation
        described there), or ``"armijo"`` (backtracking line search each step, full batch
        only).
    batch_size : int or None
        None: full-batch descent; k: mini-batches of k rows (each epoch a fresh shuffle);
        1: stochastic gradient descent. Every update rule works with every choice.
    max_steps : int
        Maximum number of updates (``max_iter=`` is accepted as an alias).
    tol : float
        The certified relative excess: "converged" when ‖∇L‖²/(2μ) ≤ tol·|L| (μ known). For
        mini-batches also the relative change of the full loss between epochs below which the
        run has "stalled" at its noise floor.
    patience : int
        Steps (epochs) an unchanged loss must last before the run counts as "stalled".
    gtol : float
        "stationary" when ‖∇L‖ ≤ gtol·‖∇L(θ₀)‖, for problems without a certificate.
    stall_tol : float
        The relative loss change that counts as unchanged (default 64·ε: rounding).
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
          same sequence as "reshuffle" (:func:`descend.data.tables.slice_batches`).
        - "contiguous": the same with the stored order as the shuffled one — each batch is a
          view X[i:i+b], no gather. Equivalent to "slices" only when the rows are already in
          random order (:func:`descend.data.tables.contiguous_batches`).
    rise_patience : int
        Diverged when the full-batch loss rose this many steps in a row while above its start
        (plain GD) or above 100× its start (momentum and adaptive rules, whose loss may rise
        for a while before it falls). A non-finite loss is always divergence.
    checkpoint : str, os.PathLike or Checkpointer, optional
        Save the loop's state to this file every ``checkpoint_every`` steps and/or
        ``checkpoint_seconds`` seconds (default: every 1000 steps), when the run stops at
        ``max_steps`` and when it is interrupted. While it runs in the main thread, SIGINT and
        SIGTERM stop it cleanly at the next step boundary (state saved, reason "interrupted").
        See :func:`descend.resume`.
    checkpoint_every, checkpoint_seconds : int or float, optional
        How often to save.
    resume_from : LoopState, optional
        Continue from a saved state instead of θ₀ (what :func:`descend.resume` passes); the
        iterates are bitwise those of the uninterrupted run.
    penalty : {None, "l2", "l1", "elasticnet"}
        Minimise L(θ) + α·(r·‖w‖₁ + ½(1 − r)·‖w‖₂²) on a data objective, w the coefficients in
        the user's units (:mod:`descend.problems.penalty`). With an L1 part the run takes
        proximal gradient steps (ISTA, ``optimizer="gd"``): θ ← prox(θ − η·∇smooth), exact
        zeros, and is judged by the minimum-norm subgradient of the whole objective.
    alpha, l1_ratio : float
        α ≥ 0 and r ∈ [0, 1] (scikit-learn's names and defaults).
    validation : Objective, optional
        A held-out loss in the same coordinates as ``objective`` (what :func:`descend.fit`
        builds from ``validation_fraction``): evaluated at every θ_k (every epoch's end for
        mini-batches) into ``res.history.val_loss``.
    early_stopping : bool
        Stop ("early_stopped") when the validation loss made no new low (beyond rounding) for
        ``n_iter_no_change`` checks, and return the θ where it was lowest.
    n_iter_no_change : int
        Checks without improvement before early stopping fires (default 10).
    average : bool or int
        Polyak–Ruppert averaging (SGDRegressor's ``average``, counted in updates): return
        θ̄ = (1/m)·Σ θ_k over the iterates after the first ``average`` updates (True: all of
        them; False or 0: off) instead of the last iterate — on a mini-batch run at a constant
        rate the average cancels much of the noise the last iterate keeps. The stopping rules
        still judge the iterates; the loss and certificate reported are θ̄'s. Not applied
        after a divergence or early stopping.
    track_sharpness : int, optional
        Measure the sharpness λ_max(∇²L(θ_k)) every this many steps into
        ``res.history.sharpness`` (NaN between measurements), and for an adaptive rule also
        λ_max(P_k⁻¹∇²L(θ_k)) with its preconditioner P_k into
        ``res.history.preconditioned_sharpness`` (:mod:`descend.problems.sharpness`; Lanczos
        on Hessian-vector products, warm-started). What it cost is
        ``res.settings["track_sharpness"]``: ``every``, ``measurements``, ``hvps``,
        ``seconds``. The iterates are the same, bit for bit, as without it.
    **hyper
        Optimizer hyperparameters (``beta=0.9``, ``b1=…``).

    Returns
    -------
    FitResult
    """
    t_start = time.perf_counter()
    objective = penalize(objective, penalty, alpha, l1_ratio)
    theta = start_point(objective, theta0)
    max_steps = step_limit(max_steps, hyper, 10_000)
    check_keywords(hyper, optimizer, MINIMIZE_OPTIONS | {"max_steps"})
    check_seed(seed)
    if not isinstance(max_steps, int | np.integer) or max_steps < 0:
        raise ValueError(f"max_steps must be a whole number ≥ 0, got {max_steps!r}")
    if not (tol >= 0) or not (gtol >= 0):
        raise ValueError(f"tol and gtol must be ≥ 0, got tol={tol!r}, gtol={gtol!r}")
    if patience < 1:
        raise ValueError(f"patience must be ≥ 1, got {patience!r}")
    if early_stopping and validation is None:
        raise ValueError(
            "early_stopping needs held-out rows: give validation_fraction (ds.fit) or a "
            "validation objective (ds.minimize)"
        )
    n_bad = isinstance(n_iter_no_change, bool) or not isinstance(n_iter_no_change, int | np.integer)
    if n_bad or n_iter_no_change < 1:
        raise ValueError(f"n_iter_no_change must be a whole number ≥ 1, got {n_iter_no_change!r}")

    # -- the rate: resolved once, by the one resolver (a Rate from fit passes through) ------
    opt_name = optimizer_name(optimizer)
    if is_auto(learning_rate) and advice is None:
        advice = advise(objective, theta)
    rate = resolve_rate(
        learning_rate,
        opt_name,
        advice=advice,
        target_scale=(
            objective.target_scale if needs_target_scale(learning_rate, opt_name) else 1.0
        ),
        schedule=schedule,
        max_steps=max_steps,
        hyper=hyper,
        batch_size=batch_size,
        smoothable=objective.smoothable,
        line_search_pays=objective.line_search_pays,
    )
    opt = _resolve_optimizer(optimizer, rate.learning_rate, rate.hyper)
    if objective.has_prox:
        if rate.line_search:
            raise ValueError(
                "learning_rate='armijo' cannot take proximal steps (an L1 penalty): use "
                "learning_rate='auto' or a number"
            )
        opt = _optim.proximal(opt, objective.prox)

    # -- the run: fresh, or restored from a checkpoint -------------------------------------
    if record_params == "auto":
        record_params = theta.shape[0] <= 100
    run = Descent(
        objective,
        theta,
        opt,
        max_steps=max_steps,
        batch_size=batch_size,
        seed=seed,
        tol=tol,
        patience=patience,
        gtol=gtol,
        stall_tol=stall_tol,
        rise_patience=rise_patience,
        line_search=rate.line_search,
        record_params=bool(record_params),
        record_state=record_state,
        advice=advice,
        callback=callback,
        start=resume_from,
        resumable=checkpoint is not None,
        sampling=sampling,
        validation=validation,
        early_stopping=early_stopping,
        n_iter_no_change=n_iter_no_change,
        smoothing=rate.smoothing,
        track_sharpness=track_sharpness,
        average=_average_start(average),
    )

    def snapshot() -> LoopState:
        return run.snapshot(elapsed=run.elapsed + time.perf_counter() - t_start)

    ckpt = None
    if checkpoint is not None:
        ckpt = (
            checkpoint
            if isinstance(checkpoint, Checkpointer)
            else Checkpointer(checkpoint, every=checkpoint_every, seconds=checkpoint_seconds)
        )
        ckpt.configure(every=checkpoint_every, seconds=checkpoint_seconds)
    elif checkpoint_every is not None or checkpoint_seconds is not None:
        raise ValueError("checkpoint_every/checkpoint_seconds need checkpoint='path'")
    guard = ckpt.guard() if ckpt is not None else None

    # The loop runs in chunks (Descent.run: the same steps and verdicts as one step() at a
    # time). With a checkpoint, a chunk ends at each `checkpoint_every` step and where the
    # signal guard is read: chunks grow while they take under 10 ms and shrink past it, so a
    # signal is answered within about that long (a step that takes longer: after that step).
    try:
        if ckpt is None:
            while run.stop_reason is None and run.run(max_steps - run.k + 1):
                pass
        else:
            assert guard is not None
            guard.install()
            chunk = 1
            while True:
                if guard.requested and run.k < max_steps:
                    run.stop("interrupted", f"interrupted by {guard.signal_name} at step {run.k}")
                    break
                n = chunk if ckpt.every is None else min(chunk, ckpt.every - run.k % ckpt.every)
                t0 = time.perf_counter()
                if run.run(n) == 0 or run.stop_reason is not None:
                    break
                if ckpt.due(run.k):
                    ckpt.save(snapshot(), "running")
                fast = time.perf_counter() - t0 < _CHUNK_SECONDS
                chunk = min(2 * chunk, _CHUNK_MAX) if fast else max(1, chunk // 2)
    except KeyboardInterrupt:
        run.stop(
            "interrupted", f"interrupted at step {run.k}: returning the parameters reached so far"
        )
    finally:
        if guard is not None:
            guard.uninstall()

    stop_reason = run.stop_reason
    assert stop_reason is not None
    message = run.message
    if ckpt is not None:
        message += ckpt.finish(snapshot, stop_reason, run.at_boundary)

    theta = run.theta  # after a divergence, the last good θ
    averaged = run.averaged
    if stop_reason in ("diverged", "early_stopped"):
        averaged = None  # the rolled-back θ, or the best on the validation rows
    if averaged is not None:
        theta = averaged  # Polyak–Ruppert: the mean of the iterates is the answer
        message += (
            f"; θ is the average of the last {run.avg_count} iterates (average={average!r}; "
            "any bound above is the last iterate's, res.certificate is the average's)"
        )
    elif run.average is not None and stop_reason not in ("diverged", "early_stopped"):
        # asked for, but no iterate came after the first `average` updates: say so
        message += (
            f"; θ is the last iterate, not an average: average={average!r} averages the "
            f"iterates after update {run.average} and the run made {run.k}"
        )
    if run.mu is not None and (run.certificate is None or averaged is not None):
        # the bound at the θ returned (the average's own, not the last iterate's)
        final_loss, final_grad = objective.value_and_grad(theta)
        final_loss = float(final_loss)
        certificate = certify(
            final_loss,
            float(np.linalg.norm(objective.stationarity(theta, final_grad))),
            run.mu,
            run.certificate_method,
            float(np.linalg.norm(theta)),
        )
    else:
        final_loss = float(objective.value(theta))
        certificate = run.certificate
    history = run.recorder.history()
    if validation is not None:
        history.val_loss = np.asarray(run.val_losses, dtype=np.float64)
    return FitResult(
        params=theta,
        loss=final_loss,
        certificate=certificate,
        history=history,
        stop_reason=stop_reason,
        message=message,
        n_steps=run.k,
        wall_time=run.elapsed + time.perf_counter() - t_start,
        advice=run.advice,
        settings={
            "optimizer": opt.name,
            "hyperparams": dict(opt.hyperparams or {}),
            "learning_rate": rate.describe(),
            "schedule": rate.schedule,
            "batch_size": run.batch_size,
            "max_steps": max_steps,
            "tol": tol,
            "patience": patience,
            "gtol": gtol,
            "stall_tol": stall_tol,
            "seed": seed,
            "sampling": sampling if batch_size is not None else None,
            **(
                {"early_stopping": bool(early_stopping), "n_iter_no_change": n_iter_no_change}
                if validation is not None
                else {}
            ),
            "average": average if averaged is not None else None,
            "smoothing": None
            if rate.smoothing is None
            else {**rate.smoothing.to_dict(), "delta": run.delta},
            "track_sharpness": None
            if track_sharpness is None
            else {"every": int(track_sharpness), **run.sharpness_cost},
        },
        objective=objective,
        opt_state=run.opt_state,
    )


def _average_start(average: Any) -> int | None:
    """The updates before averaging starts: True → 0 (every iterate), an int a ≥ 1 → a,
    False/None/0 → None (off), as SGDRegressor's ``average``.

    Raises
    ------
    ValueError
        Anything else (a negative or fractional number, a string).
    """
    if average is None or average is False:
        return None
    if average is True:
        return 0
    if isinstance(average, int | np.integer) and average >= 0:
        return None if average == 0 else int(average)
    raise ValueError(
        f"average must be True, False or a whole number of updates ≥ 0, got {average!r}"
    )


#: the keyword options :func:`minimize` itself takes; any other keyword is a hyperparameter of
#: the update rule (``beta``, ``b1``, …)
MINIMIZE_OPTIONS = frozenset(
    name
    for name, p in inspect.signature(minimize).parameters.items()
    if p.kind is inspect.Parameter.KEYWORD_ONLY or name in ("learning_rate", "optimizer")
)
