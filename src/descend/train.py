"""The descent loop: :func:`minimize` for any objective, :func:`fit` for data.

One loop serves every problem. At each step k it samples the rows (all of them, a mini-batch
of ``batch_size`` rows, or one row), evaluates L(θ_k) and g_k = ∇L(θ_k), asks the optimizer
for the update u_k and sets θ_{k+1} = θ_k + u_k (for plain gradient descent u_k = −lr·g_k).
That iteration is :class:`descend.loop.Descent`, shared with :class:`descend.Session`;
:func:`minimize` drives it to the end and adds callbacks, checkpoints and Ctrl-C.

The loop owns safety: it stops when the run has converged, hit ``max_steps``, diverged or was
interrupted (Ctrl-C), and in every case returns what it reached; it never raises finished work
away.

:class:`~descend.result.FitResult` lives in :mod:`descend.result`, the learning-rate rules
(``auto_learning_rate``, ``choose_learning_rate``, ``ADAPTIVE_LR``, ``DescendWarning``) in
:mod:`descend.rates`; both are re-exported here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import optim as _optim
from . import precondition as _precondition
from .curvature import Advice, advise
from .loop import Descent, LoopState, start_point
from .rates import ADAPTIVE_LR, DescendWarning, auto_learning_rate, choose_learning_rate
from .reference import least_squares
from .result import STOP_REASONS, FitResult

Array = NDArray[np.float64]

__all__ = [
    "minimize",
    "fit",
    "FitResult",
    "DescendWarning",
    "STOP_REASONS",
    "ADAPTIVE_LR",
    "auto_learning_rate",
    "choose_learning_rate",
]


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
    checkpoint: Any = None,
    checkpoint_every: int | None = None,
    checkpoint_seconds: float | None = None,
    resume_from: LoopState | None = None,
    sampling: str = "reshuffle",
    **hyper: Any,
) -> FitResult:
    """Minimise an objective by gradient descent from θ₀.

    Each step k evaluates L_k and g_k = ∇L(θ_k) on the sampled rows, asks the optimizer for
    the update, (u_k, s_{k+1}) = opt.update(g_k, s_k, θ_k), and sets θ_{k+1} = θ_k + u_k
    (plain gradient descent: u_k = −η_k·g_k). The run stops at the first of

    * ``"max_steps"``: ``max_steps`` updates made;
    * ``"diverged"``: a non-finite loss or gradient, or a loss that kept rising (see
      ``rise_patience``); θ is rolled back to the lowest-loss θ seen and the message explains
      the stop (the rate against the stability limit 2/λ_max);
    * ``"converged"``: ‖g_k‖ ≤ ``gtol``, or the relative loss change ≤ ``tol`` for
      ``patience`` steps (full batch) or epochs (mini-batch) in a row;
    * ``"interrupted"``: the callback returned True, Ctrl-C, or (with a checkpoint) SIGTERM.

    The iteration itself is :class:`descend.loop.Descent` (shared with
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
    **hyper
        Optimizer hyperparameters (``beta=0.9``, ``b1=…``).

    Returns
    -------
    FitResult
    """
    t_start = time.perf_counter()
    theta = start_point(objective, theta0)
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

    # -- the run: fresh, or restored from a checkpoint -------------------------------------
    from .data import SAMPLINGS

    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
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
        rise_patience=rise_patience,
        line_search=line_search,
        record_params=bool(record_params),
        record_state=record_state,
        advice=advice,
        callback=callback,
        start=resume_from,
        resumable=checkpoint is not None,
        sampling=sampling,
    )

    def snapshot() -> LoopState:
        return run.snapshot(elapsed=run.elapsed + time.perf_counter() - t_start)

    ckpt = None
    if checkpoint is not None:
        from .checkpoint import Checkpointer

        ckpt = (
            checkpoint
            if isinstance(checkpoint, Checkpointer)
            else Checkpointer(checkpoint, every=checkpoint_every, seconds=checkpoint_seconds)
        )
        ckpt.configure(every=checkpoint_every, seconds=checkpoint_seconds)
    elif checkpoint_every is not None or checkpoint_seconds is not None:
        raise ValueError("checkpoint_every/checkpoint_seconds need checkpoint='path'")
    guard = ckpt.guard() if ckpt is not None else None

    step = run.step
    try:
        if ckpt is None:
            while step() is not None and run.stop_reason is None:
                pass
        else:
            assert guard is not None
            guard.install()
            while True:
                if guard.requested and run.k < max_steps:
                    run.stop("interrupted", f"interrupted by {guard.signal_name} at step {run.k}")
                    break
                if step() is None or run.stop_reason is not None:
                    break
                if ckpt.due(run.k):
                    ckpt.save(snapshot(), "running")
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
    return FitResult(
        params=theta,
        loss=float(objective.value(theta)),
        history=run.recorder.history(),
        stop_reason=stop_reason,
        message=message,
        n_steps=run.k,
        wall_time=run.elapsed + time.perf_counter() - t_start,
        advice=run.advice,
        settings={
            "optimizer": opt.name,
            "hyperparams": dict(opt.hyperparams or {}),
            "learning_rate": "armijo" if line_search else _describe_lr(lr_for_opt),
            "schedule": schedule,
            "batch_size": run.batch_size,
            "max_steps": max_steps,
            "tol": tol,
            "patience": patience,
            "gtol": gtol,
            "seed": seed,
            "sampling": sampling if batch_size is not None else None,
        },
        objective=objective,
        opt_state=run.opt_state,
    )


def _describe_lr(lr: Any) -> Any:
    if isinstance(lr, int | float):
        return float(lr)
    to_dict = getattr(lr, "to_dict", None)
    return to_dict() if callable(to_dict) else repr(lr)


# ---------------------------------------------------------------------------------------------
# fit: data in, model out
# ---------------------------------------------------------------------------------------------
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

    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise TypeError(f"seed must be a whole number or None, got {seed!r}")
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

    if not isinstance(optimizer, str) and not isinstance(getattr(optimizer, "name", None), str):
        raise TypeError(
            f"optimizer must be a name such as 'adam' or an optimizer from descend.optim "
            f"(e.g. descend.optim.Adam()), got {type(optimizer).__name__} {optimizer!r}"
        )
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
    # the targets' spread only matters to the adaptive rules (and costs a pass over y)
    spread = float(np.std(ya)) if opt_name.lower() in ADAPTIVE_LR else 1.0
    learning_rate, rate_notes = choose_learning_rate(
        learning_rate, advice, opt_name, spread, options, warn, stacklevel=3
    )
    notes.extend(rate_notes)

    if options.get("checkpoint") is not None or {"checkpoint_data", "checkpoint_notes"} & set(
        options
    ):
        from .checkpoint import attach
        from .data import as_arrays

        Xh, yh, _ = as_arrays(X, y, feature_names=feature_names)  # what resume hashes
        attach(options, X=Xh, y=yh, model=bound, loss=obj.loss, optimizer=optimizer,
               learning_rate=learning_rate, batch_size=batch_size, max_steps=max_steps, tol=tol,
               seed=seed, notes=notes, preconditioner=plan.kind,
               preconditioner_reason=plan.reason, refine=refine)  # fmt: skip
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
            learning_rate,
            batch_size=batch_size,
            max_steps=max_steps,
            tol=tol,
            seed=seed,
            advice=advice,
            **opts,
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
