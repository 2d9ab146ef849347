"""The descent loop's body and its resumable state.

:class:`Descent` is *the* loop: every shell that runs gradient descent —
:func:`descend.minimize` (run to the end, with callbacks and checkpoints) and
:class:`descend.Session` (a few steps at a time, for the web playground) — builds one and calls
:meth:`Descent.run` until it reports a stop. Sampling, evaluation, the divergence guard, the
stopping rules, the optimizer update, the line search and the history all live in one body,
:meth:`Descent.run` (n iterations, in chunks, the counters in local variables; every feature
a branch on a flag read once per call), so that each stopping rule is written once;
:meth:`Descent.step` is ``run(1)``. ``tests/test_loop_run.py`` holds it, bit for bit, to a
copy of the step-by-step loop it replaced (``benchmarks/loop_reference.py``). For the common
run, each chunk's steps are made first by the fast lane (:mod:`descend.descent.fastlane`): a
tight pass that stops before any step at which a rule may fire, which the body then makes.

A :class:`LoopState` is what a :class:`Descent` starts from and what it hands out when asked for
a snapshot: everything needed to continue a run *bitwise* as if it had never stopped — θ, the
optimizer state, the history so far, the stopping counters and the sampler's random state.
It encodes to plain JSON without loss (:mod:`descend.data.encoding`).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.encoding import (
    decode_array,
    decode_float,
    decode_tree,
    encode_array,
    encode_float,
    encode_tree,
)
from descend.data.samplers import SAMPLINGS, BatchSampler, ChunkSampler, sampler
from descend.descent.fastlane import (
    MIN_COMPILED,
    batch_pass,
    calm_after,
    compiled_pass,
    compiled_route,
    full_batch_pass,
)
from descend.descent.history import Recorder
from descend.descent.linesearch import backtracking
from descend.descent.optim import Optimizer, state_norms
from descend.descent.rates import Smoothing
from descend.descent.verdicts import (
    ADAPTIVE_RULES,
    DEFAULT_GTOL,
    DEFAULT_N_ITER_NO_CHANGE,
    DEFAULT_PATIENCE,
    DEFAULT_TOL,
    SEPARATION_WINDOW,
    Certificate,
    certify,
    known_mu,
    limit_text,
    predicted_steps,
    rule_memory,
    stability_limit,
    stall_diagnosis,
)
from descend.problems.curvature import Advice, advise
from descend.problems.sharpness import sharpness

Array = NDArray[np.float64]

#: one row of the history: step k, L(θ_k), ‖g_k‖, ‖θ_{k+1} − θ_k‖, the learning rate used
Row = tuple[int, float, float, float, float]

__all__ = [
    "Descent",
    "LoopState",
    "Row",
    "check_batch_size",
    "divergence_message",
    "start_point",
]


# ---------------------------------------------------------------------------------------------
# the loop state
# ---------------------------------------------------------------------------------------------
@dataclass
class LoopState:
    """Everything :func:`descend.minimize` needs to continue a run exactly.

    Attributes
    ----------
    k : int
        Updates made so far.
    theta : ndarray, shape (p,)
        θ_k.
    opt_state : Any
        The optimizer's state (NamedTuples), or its encoded form before :meth:`restore`.
    recorder : Recorder
        The history so far.
    loss0, grad0, prev_loss, best_loss, lr_ls, last_lr : float or None
        The first loss and gradient norm, the previous loss, the lowest loss, the line
        search's warm start, the last rate applied.
        First loss, previous loss, lowest loss, line-search warm start, last learning rate.
    calm, rising, flips : int
        Consecutive steps (epochs) with an unchanged loss, with a rising loss, with the
        gradient's direction reversed.
    grad_low, last_low, low_gap : float, int, int
        ‖∇L‖ at its last new low by more than 1 %, the step of that low, and the steps between
        it and the low before (full batch; the stall rule's measure of progress).
        Consecutive calm (small change) and rising steps.
    best_theta : ndarray, shape (p,)
        θ with the lowest loss (the divergence guard's rollback).
    epoch_losses : list of float
        Full losses at the end of each mini-batch epoch.
    sampler : dict or None
        :meth:`BatchSampler.state_dict` (mini-batch runs).
    elapsed : float
        Seconds spent in the loop before this state was taken.
    delta : float or None
        The smoothing continuation's current δ (None: no smoothing, or not started).
    stage_end, stage_delta : ndarray (p,) and float, or None
        Where the previous stage ended and its δ (the continuation's secant predictor).
    """

    k: int
    theta: Array
    opt_state: Any
    recorder: Recorder
    loss0: float | None = None
    grad0: float | None = None
    prev_loss: float = math.nan
    calm: int = 0
    flips: int = 0
    sep_mark: str = ""
    sep_loss: float = math.nan
    sep_norm: float = math.nan
    grad_low: float = math.inf
    last_low: int = 0
    low_gap: int = 0
    rising: int = 0
    best_theta: Array | None = None
    best_loss: float = math.inf
    epoch_losses: list[float] = field(default_factory=list)
    lr_ls: float = 1.0
    last_lr: float = math.nan
    sampler: dict[str, Any] | None = None
    elapsed: float = 0.0
    encoded_opt_state: bool = False
    prev_grad: Array | None = None
    delta: float | None = None
    avg_theta: Array | None = None
    avg_count: int = 0
    stage_end: Array | None = None
    stage_delta: float | None = None

    def to_dict(self, history: bool = True) -> dict[str, Any]:
        """Plain JSON (exact; no pickle).

        ``history=False`` leaves the record out (``"history": None``): a checkpoint keeps it in
        an append-only file beside the state, so that a save costs O(new steps).
        """
        rec = self.recorder
        record: dict[str, Any] | None = None
        if history:
            cols = rec.columns()
            record = {
                "step": encode_array(cols[0]),
                "loss": encode_array(cols[1]),
                "grad_norm": encode_array(cols[2]),
                "step_size": encode_array(cols[3]),
                "lr": encode_array(cols[4]),
                "params": None if rec.params is None else encode_array(rec.params),
                "norms": {
                    key: encode_array(np.asarray(v, dtype=np.float64))
                    for key, v in rec.norms.items()
                },
                "tracked": {
                    key: encode_array(np.asarray(v, dtype=np.float64))
                    for key, v in rec.tracked.items()
                },
            }
        return {
            "k": int(self.k),
            "theta": encode_array(self.theta),
            "opt_state": self.opt_state if self.encoded_opt_state else encode_tree(self.opt_state),
            "history": record,
            "loss0": None if self.loss0 is None else encode_float(self.loss0),
            "grad0": None if self.grad0 is None else encode_float(self.grad0),
            "prev_loss": encode_float(self.prev_loss),
            "calm": int(self.calm),
            "flips": int(self.flips),
            "sep_mark": self.sep_mark,
            "sep_loss": encode_float(self.sep_loss),
            "sep_norm": encode_float(self.sep_norm),
            "grad_low": encode_float(self.grad_low),
            "last_low": int(self.last_low),
            "low_gap": int(self.low_gap),
            "prev_grad": None if self.prev_grad is None else encode_array(self.prev_grad),
            "rising": int(self.rising),
            "best_theta": encode_array(self.theta if self.best_theta is None else self.best_theta),
            "best_loss": encode_float(self.best_loss),
            "epoch_losses": [encode_float(v) for v in self.epoch_losses],
            "lr_ls": encode_float(self.lr_ls),
            "last_lr": encode_float(self.last_lr),
            "sampler": self.sampler,
            "elapsed": float(self.elapsed),
            "delta": None if self.delta is None else encode_float(self.delta),
            "avg_theta": None if self.avg_theta is None else encode_array(self.avg_theta),
            "avg_count": int(self.avg_count),
            "stage_end": None if self.stage_end is None else encode_array(self.stage_end),
            "stage_delta": None if self.stage_delta is None else encode_float(self.stage_delta),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], recorder: Recorder | None = None) -> LoopState:
        """Inverse of :meth:`to_dict`; the optimizer state stays encoded until :meth:`restore`.

        ``recorder``: the history, when ``d`` was written without it (``history=False``).
        """
        theta = decode_array(d["theta"]).astype(np.float64)
        if recorder is not None:
            rec = recorder
        else:
            h = d["history"]
            if h is None:
                raise ValueError("the state was saved without its history")
            rec = Recorder(False, theta)
            loss, grad_norm, step_size, lr = (
                decode_array(h[f]).astype(np.float64)
                for f in ("loss", "grad_norm", "step_size", "lr")
            )
            rec.load(
                decode_array(h["step"]).astype(np.int64),
                loss,
                grad_norm,
                step_size,
                lr,
                params=None if h["params"] is None else decode_array(h["params"]),
                norms={key: [float(v) for v in decode_array(a)] for key, a in h["norms"].items()},
                tracked={
                    key: [float(v) for v in decode_array(a)]
                    for key, a in h.get("tracked", {}).items()
                },
            )
        return cls(
            k=int(d["k"]),
            theta=theta,
            opt_state=d["opt_state"],
            recorder=rec,
            loss0=None if d["loss0"] is None else decode_float(d["loss0"]),
            grad0=None if d.get("grad0") is None else decode_float(d["grad0"]),
            prev_loss=decode_float(d["prev_loss"]),
            calm=int(d["calm"]),
            flips=int(d.get("flips", 0)),
            sep_mark=str(d.get("sep_mark", "")),
            sep_loss=decode_float(d.get("sep_loss", "NaN")),
            sep_norm=decode_float(d.get("sep_norm", "NaN")),
            grad_low=decode_float(d.get("grad_low", "Infinity")),
            last_low=int(d.get("last_low", 0)),
            low_gap=int(d.get("low_gap", 0)),
            prev_grad=None if d.get("prev_grad") is None else decode_array(d["prev_grad"]),
            rising=int(d["rising"]),
            best_theta=decode_array(d["best_theta"]).astype(np.float64),
            best_loss=decode_float(d["best_loss"]),
            epoch_losses=[decode_float(v) for v in d["epoch_losses"]],
            lr_ls=decode_float(d["lr_ls"]),
            last_lr=decode_float(d["last_lr"]),
            sampler=d["sampler"],
            elapsed=float(d["elapsed"]),
            encoded_opt_state=True,
            delta=None if d.get("delta") is None else decode_float(d["delta"]),
            avg_theta=None if d.get("avg_theta") is None else decode_array(d["avg_theta"]),
            avg_count=int(d.get("avg_count", 0)),
            stage_end=None if d.get("stage_end") is None else decode_array(d["stage_end"]),
            stage_delta=None if d.get("stage_delta") is None else decode_float(d["stage_delta"]),
        )

    def decoded_opt_state(self, template: Any) -> Any:
        """The optimizer state, decoded against ``template = opt.init(θ)`` when needed."""
        if self.encoded_opt_state:
            return decode_tree(self.opt_state, template)
        return self.opt_state


# ---------------------------------------------------------------------------------------------
# the loop body
# ---------------------------------------------------------------------------------------------
_EPS = float(np.finfo(np.float64).eps)
_SQRT_EPS = math.sqrt(_EPS)
#: the most steps :meth:`Descent.run` makes between two readings of the schedule and two
#: reservations of history rows
CHUNK = 1024
#: what :meth:`Descent._screen` says: go on, the run stopped, a smoothing stage ended
_GO_ON, _STOPPED, _NEXT_STAGE = 0, 1, 2
#: up to this many parameters, :meth:`Descent.run` keeps a chunk's gradients (references) and
#: makes the oscillation rule's reversal tests when its counter is read
DEFER_REVERSALS = 256
#: take the fast lane (:mod:`descend.descent.fastlane`) where a run allows it; False: every
#: step through the full body (for comparisons: the results are the same, bit for bit)
FAST_LANE = True


def start_point(objective: Any, theta0: Any) -> Array:
    """θ₀ as a fresh flat float64 array, checked against the objective.

    Raises
    ------
    ValueError
        θ₀ holds NaN or inf, or has another length than the objective's parameter vector.
    """
    theta = np.array(theta0, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(theta)):
        raise ValueError("theta0 contains NaN or inf: start from finite parameters")
    n_params = objective.n_params or theta.shape[0]
    if theta.shape[0] != n_params:
        raise ValueError(f"theta0 has {theta.shape[0]} entries but the objective has {n_params}")
    return theta


def check_batch_size(objective: Any, batch_size: Any) -> int | None:
    """The sampling a ``batch_size`` asks for: None (full batch) or k with 1 ≤ k < n.

    A batch of every row (k ≥ n) is full-batch descent, exactly, and becomes None.

    Raises
    ------
    ValueError
        A batch size for an objective without rows, or one that is not a whole number ≥ 1.
    """
    if batch_size is None:
        return None
    n_samples = objective.n_samples
    if n_samples is None:
        raise ValueError(
            "batch_size needs a data objective (rows to sample); this objective has none"
        )
    if (
        isinstance(batch_size, bool | np.bool_)
        or not isinstance(batch_size, int | np.integer)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a whole number ≥ 1 or None, got {batch_size!r}")
    return None if batch_size >= n_samples else int(batch_size)


def divergence_message(
    k: int,
    loss: float,
    lr: float,
    advice: Advice | None,
    how: str,
    objective: Any,
    optimizer: str = "gd",
    hyper: dict[str, Any] | None = None,
) -> str:
    """Why a run diverged at step k, judged by the stability limit of the rule that ran.

    ``how`` is "non-finite", "blown" (beyond 10¹²·L_0) or "rising" (``rise_patience`` steps).
    """
    hyper = dict(hyper or {})
    what = {
        "non-finite": "became non-finite",
        "blown": "grew by more than 10¹² times its start",
        "rising": "kept rising",
    }[how]
    msg = f"diverged at step {k}: the loss {what} (last value {loss:.4g})."
    limit = None if advice is None else stability_limit(optimizer, hyper, advice.lam_max)
    if advice is not None and limit is not None:
        best = advice.best_lr if optimizer in ("gd", "sgd") else None
        if lr >= limit:
            msg += (
                f" The learning rate {lr:.4g} is above {limit_text(optimizer, hyper)} = "
                f"{limit:.4g}, so each step overshoots the minimum by more than it gains. Use "
                f"lr < {limit:.4g}"
                + (f"; the best constant rate is {best:.4g}" if best is not None else "")
                + " (learning_rate='auto' chooses the rule's best settings)."
            )
        else:
            msg += (
                f" The rate {lr:.4g} is within {limit_text(optimizer, hyper)} = {limit:.4g}; "
                f"the curvature says: {advice.describe()}."
            )
        model = objective.model
        if model is not None and not model.scale:
            msg += (
                f" The features are unscaled (scale=False), which makes κ = {advice.kappa_text()}: "
                "scale=True standardises them."
            )
    elif optimizer in ADAPTIVE_RULES:
        msg += (
            f" {optimizer} has no curvature limit; its loss grew far beyond a transient. Try a "
            "rate 10× smaller, or learning_rate='auto'."
        )
    else:
        msg += " The learning rate is probably too large: try one 10× smaller."
    return msg + " Returned the last good θ (lowest loss seen)."


class Descent:
    r"""One run of gradient descent, advanced one iteration at a time.

    This is the loop body that :func:`descend.minimize` and :class:`descend.Session` share. It
    owns the run's state — θ, the optimizer state, the mini-batch sampler, the divergence guard's
    and the stopping rules' counters, the lowest-loss θ and the history — and :meth:`run` makes
    up to n iterations (:meth:`step`, one), each of them:

    1. sample rows B_k: all of them (full batch), or the next ``batch_size`` rows of a fresh
       shuffle per epoch (mini-batch; ``batch_size=1`` is stochastic descent);
    2. evaluate L_k = L_{B_k}(θ_k) and g_k = ∇L_{B_k}(θ_k);
    3. check the divergence guard, then (full batch) the stopping rules;
    4. update: (u_k, s_{k+1}) = opt.update(g_k, s_k, θ_k) and θ_{k+1} = θ_k + u_k (for plain
       gradient descent u_k = −η_k·g_k with η_k = ``opt.learning_rate(k)``; with a line search,
       u_k = t_k·d_k where d_k is the update at rate 1 and t_k the Armijo step);
    5. record (k, L_k, ‖g_k‖, ‖u_k‖, η_k) — and, every ``track_sharpness`` steps, the
       sharpness λ_max(∇²L(θ_k)) (and λ_max(P_k⁻¹∇²L(θ_k)) for a rule that declares its
       preconditioner P), by Lanczos on Hessian-vector products warm-started from the last
       measurement's eigenvector (:mod:`descend.problems.sharpness`); call the callback, and
       at the end of a mini-batch epoch evaluate the full loss.

    Stopping rules, checked in this order (``stop_reason`` and ``message`` say which fired; the
    reasons are defined in :mod:`descend.descent.verdicts`):

    * **max_steps** — k = ``max_steps`` updates were made (the message gives the bound reached
      and, for plain GD with known curvature, the steps still needed).
    * **diverged** — L_k or ‖g_k‖ is not finite; or the loss grew in a way the rule that ran
      does not allow: with known curvature (a model linear in θ) and a rate inside the rule's
      stability limit (:func:`~descend.descent.verdicts.stability_limit`), only growth beyond
      10¹²·L_0 counts (momentum's loss may rise for a while before it falls); outside the limit,
      or without a limit to judge by, L_k rising for ``rise_patience`` steps in a row while
      above ``rise_floor``·L_0 (1 for plain GD, 100 for the others). Mini-batch: a batch loss
      above 10¹²·L_0. θ is rolled back to the lowest-loss θ seen; the message names the limit
      of the rule that ran.
    * **converged** — certified (see :class:`~descend.descent.verdicts.Certificate`): on a
      μ-strongly convex problem with μ known (least squares), ‖g‖²/(2μ) ≤ ``tol``·|L| and
      ‖g‖/μ ≤ ``tol``·‖θ‖ (full batch each step; mini-batch at each epoch's end, on the full
      gradient).
    * **stationary** — no certificate exists for the problem, and ‖g‖ ≤ ``gtol``·‖g_0‖.
    * **stalled** — for ``patience`` steps the loss set no new low beyond ``stall_tol``
      (rounding) while moving by ≤ √ε relatively, and ‖g‖ set no new 1 % low for three times the
      gap between its last two lows (slow but steady progress is not a stall); or (mini-batch)
      the full loss at epoch ends changed by ≤ ``tol`` relatively for ``patience`` epochs; or the
      line search found no decrease. The message says why (a rate too small, oscillation at the
      stability limit, rounding, mini-batch noise) with the numbers.
    * **interrupted** — the callback returned True (or a shell called :meth:`stop`).

    **Smoothing continuation** (``smoothing``, what ``learning_rate="auto"`` gives the MAE; see
    :mod:`descend.descent.rates`): the loop evaluates S_δ, the loss smoothed within δ
    (``objective.smoothed(δ)``), instead of the loss itself, starting at δ = L(θ₀). A stage
    whose δ is above its last value 2·tol·|S_δ(θ)| ends — without stopping the run — where the
    rules above would end a run (‖∇S_δ‖ ≤ ``stage_gtol``·‖g_0‖, a stall, no Armijo decrease);
    δ then shrinks by ``factor`` (at most to that last value), the Armijo warm start with it,
    and descent goes on from the stage's end — or, from the third stage on, from the secant
    predictor through the last two stage ends when S_δ is lower there (θ_δ is affine in δ
    once the residuals' signs settle, so later stages then start at their minimiser; this
    move is not an update and has no history row). The last stage is judged by the rules
    above, and the message adds the smoothing's bound: L(θ) ≤ S_δ(θ) + δ/2. The history
    records S_δ.

    Parameters
    ----------
    objective : Objective
        ``value_and_grad(θ)`` (and ``value_and_grad(θ, rows)`` and ``value(θ)`` for
        mini-batches); a data objective may draw its own batches (``batches(k, rng)``, Dask).
    theta0 : array-like, shape (p,)
        The start (copied); ignored when ``start`` is given.
    opt : Optimizer
        The update rule, its learning rate or schedule built in.
    max_steps : int
        The most updates to make.
    batch_size : int or None
        None: full batch; k: mini-batches of k rows (see :func:`check_batch_size`).
    seed : int or None
        Seeds the mini-batch shuffling.
    tol, gtol, patience, stall_tol, rise_patience
        The stopping rules above: the certified relative excess, the relative gradient norm
        for problems without a certificate, the steps (epochs) an unchanged loss must last, the
        relative change that counts as unchanged, the steps a rising loss must last.
    line_search : bool
        Armijo backtracking each step (full batch; ``opt`` then runs at rate 1).
    record_params, record_state : bool
        Keep θ at every step; keep the norms of the optimizer state.
    advice : Advice, optional
        Curvature advice for explaining a divergence (computed then, when cheap, if None).
    callback : callable, optional
        ``callback(k, θ_{k+1}, L_k)`` after each update; True stops the run ("interrupted").
    start : LoopState, optional
        Continue from a saved state (bitwise the uninterrupted run's iterates).
    resumable : bool
        The state will be checkpointed: refuse an objective that draws its own batches.
    sampling : {"reshuffle", "slices", "contiguous"}
        The mini-batch sampler (:data:`descend.data.tables.SAMPLINGS`): a fresh permutation each
        epoch (default, checkpointable), one permutation cut into slices visited in a new
        order each epoch, or contiguous views of pre-shuffled rows.
    smoothing : Smoothing, optional
        Run the smoothing continuation (full batch, with ``line_search``, on an objective that
        declares ``smoothable``).
    average : int or None
        Polyak–Ruppert averaging: keep θ̄ = the mean of the iterates θ_{a+1}, …, θ_k made
        after the first ``a = average`` updates (0: all of them), updated in place as
        θ̄ ← θ̄ + (θ_k − θ̄)/m (m iterates so far); :attr:`averaged` returns it. None: off.
    track_sharpness : int or None
        Measure the sharpness every this many steps (k = 0, E, 2E, …) into the history's
        ``sharpness`` column (NaN between); None: never. The cost (products, seconds) is
        in :attr:`sharpness_cost`.

    Attributes
    ----------
    k : int
        Updates made.
    theta : ndarray, shape (p,)
        θ_k (after a divergence: the lowest-loss θ seen).
    opt_state : Any
        The optimizer's state.
    loss : float
        The last loss evaluated (NaN before the first step).
    recorder : Recorder
        The history so far.
    stop_reason : str or None
        None while the run may go on.
    message : str
        Why it stopped, or "".
    at_boundary : bool
        The state is between two iterations, so a snapshot resumes exactly.
    """

    def __init__(
        self,
        objective: Any,
        theta0: Any,
        opt: Optimizer,
        *,
        max_steps: int = 10_000,
        batch_size: int | None = None,
        seed: int | None = 0,
        tol: float = DEFAULT_TOL,
        patience: int = DEFAULT_PATIENCE,
        gtol: float = DEFAULT_GTOL,
        rise_patience: int = 10,
        stall_tol: float = 64 * _EPS,
        line_search: bool = False,
        record_params: bool = False,
        record_state: bool = False,
        advice: Advice | None = None,
        callback: Callable[[int, Array, float], Any] | None = None,
        start: LoopState | None = None,
        resumable: bool = False,
        sampling: str = "reshuffle",
        validation: Any = None,
        early_stopping: bool = False,
        n_iter_no_change: int = DEFAULT_N_ITER_NO_CHANGE,
        smoothing: Smoothing | None = None,
        track_sharpness: int | None = None,
        average: int | None = None,
    ) -> None:
        theta = start_point(objective, theta0)
        if track_sharpness is not None and (
            isinstance(track_sharpness, bool)
            or not isinstance(track_sharpness, int | np.integer)
            or track_sharpness < 1
        ):
            raise ValueError(
                f"track_sharpness must be a whole number of steps ≥ 1 (measure every that many "
                f"steps) or None, got {track_sharpness!r}"
            )
        self.track_sharpness = None if track_sharpness is None else int(track_sharpness)
        #: what tracking cost so far: measurements, Hessian-vector products, seconds
        self.sharpness_cost = {"measurements": 0, "hvps": 0, "seconds": 0.0}
        self._sharp_v: dict[str, Array] = {}  # the last top eigenvectors (warm starts)
        batch_size = check_batch_size(objective, batch_size)
        if sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
        if smoothing is not None and not (
            objective.smoothable and line_search and batch_size is None
        ):
            raise ValueError(
                "the smoothing continuation needs an objective with a smoothing (the MAE of a "
                "model linear in θ), full batches and the line search"
            )
        self.smoothing = smoothing
        self.objective = objective
        self.opt = opt
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.full_batch = batch_size is None
        self.tol, self.patience, self.gtol = tol, patience, gtol
        self.stall_tol = stall_tol
        self.rise_patience = rise_patience
        self.line_search = line_search
        self.record_state = record_state
        if advice is None and objective.is_linear_least_squares:
            advice = advise(objective)  # exact and cheap (p × p): what the certificate needs
        self.advice = advice
        self.callback = callback
        self.hyper = dict(opt.hyperparams or {})
        # Plain GD below the stability limit never raises a smooth convex loss, so a rising run
        # is diverging; momentum and adaptive rules may rise for a while before they settle.
        self.rise_floor = 1.0 if opt.name in ("gd", "sgd") else 100.0
        # how many steps a stall must last: `patience`, times the rule's memory — momentum's
        # loss and gradient spiral (no new low for many steps) while it still converges
        self.stall_window = self.patience * rule_memory(opt.name, self.hyper)
        # What the verdicts may rely on: the curvature is a global fact only for a model linear
        # in θ (exact Hessian or a bound), and μ is known only for least squares.
        trusted = advice is not None and objective.is_linear
        self.lam_max = advice.lam_max if trusted and advice is not None else None
        self.mu = known_mu(objective, advice)
        self.prox = objective.has_prox  # judged by the minimum-norm subgradient
        self.may_separate = objective.may_separate  # log loss: separable data, no minimiser
        # …and a linear program found the training rows separable when the problem was built
        self.known_separable = bool(self.may_separate and objective.known_separable)
        # the held-out loss: recorded each step (each epoch for mini-batches); with early
        # stopping, the run ends n_iter_no_change checks after its last new low
        self.validation = validation
        self.early_stopping = bool(early_stopping)
        self.n_iter_no_change = int(n_iter_no_change)
        self.val_losses: list[float] = []
        self.val_steps: list[int] = []  # the k of each held-out loss (it is at θ_k)
        self.best_val, self.best_val_step, self.val_since = math.inf, 0, 0
        self.best_val_theta: Array | None = None
        self.certificate: Certificate | None = None

        # -- sampling ----------------------------------------------------------------------
        self.sampler: BatchSampler | ChunkSampler | None = None
        self.batches: Iterator[Any] = iter(())  # full batch draws none
        self.steps_per_epoch = 0
        if batch_size is not None:
            n_samples = int(objective.n_samples)
            rng = np.random.default_rng(seed)
            own = objective.owns_batches  # e.g. Dask: batches that sample chunks
            if own and sampling != "reshuffle":
                raise ValueError(
                    f"sampling={sampling!r} is for in-memory data; this objective samples its "
                    "own batches (e.g. Dask chunks)"
                )
            if own:
                self.sampler = objective.batches(batch_size, rng)
                self.batches = self.sampler
            elif sampling != "reshuffle":
                if resumable or start is not None:
                    raise ValueError(
                        "checkpoints need descend's own reshuffling mini-batch sampler "
                        "(sampling='reshuffle'): checkpoint that, or a full-batch run"
                    )
                self.batches = sampler(sampling, n_samples, batch_size, rng)
            else:
                self.sampler = BatchSampler(n_samples, batch_size, rng)
                self.batches = self.sampler
            self.steps_per_epoch = math.ceil(n_samples / batch_size)

        # -- state: fresh, or restored from a checkpoint -----------------------------------
        if start is None:
            start = LoopState(
                k=0, theta=theta, opt_state=opt.init(theta), recorder=Recorder(record_params, theta)
            )
            opt_state = start.opt_state
        else:
            if start.theta.shape != theta.shape:
                raise ValueError(
                    f"the saved state has {start.theta.shape[0]} parameters, this objective "
                    f"{theta.shape[0]}"
                )
            if (start.recorder.params is not None) != record_params:
                raise ValueError("record_params differs from the run being resumed")
            opt_state = start.decoded_opt_state(opt.init(theta))
            if self.sampler is not None:
                if start.sampler is None:
                    raise ValueError("the saved run was full-batch; resume it without batch_size")
                self.sampler.load_state(start.sampler)
            elif start.sampler is not None:
                raise ValueError("the saved run was mini-batch; resume it with the same batch_size")
        self.k = start.k
        self.theta = start.theta.copy()
        self.opt_state = opt_state
        self.recorder = start.recorder
        if self.track_sharpness is not None:  # the columns exist from the start (NaN before)
            names = ["sharpness"] + (["preconditioned_sharpness"] if opt.preconditioner else [])
            for name in names:
                self.recorder.tracked.setdefault(name, [math.nan] * self.recorder.n)
        self.loss0: float | None = start.loss0
        self.grad0: float | None = start.grad0
        self.prev_loss = start.prev_loss
        self.flips = start.flips  # consecutive steps whose gradient reversed direction
        # on separable rows, at the last mark (step or epoch 2^j): which rows θ classified
        # correctly (a SHA-256 of the pattern), the loss and ‖θ‖
        self.sep_mark, self.sep_loss, self.sep_norm = start.sep_mark, start.sep_loss, start.sep_norm
        self.grad_low = start.grad_low  # ‖∇L‖ at its last new 1 % low …
        self.last_low = start.last_low  # … at this step,
        self.low_gap = start.low_gap  # … that many steps after the low before
        self.prev_grad = None if start.prev_grad is None else start.prev_grad.copy()
        self.calm = start.calm  # consecutive steps (epochs) with a small relative loss change
        self.rising = start.rising  # consecutive steps with a rising full-batch loss
        self.best_theta = self.theta.copy() if start.best_theta is None else start.best_theta.copy()
        self.best_loss = start.best_loss
        self.epoch_losses: list[float] = list(start.epoch_losses)
        self.lr_ls = start.lr_ls  # warm start of the line search
        self.last_lr = start.last_lr
        #: seconds the run had spent before ``start`` was saved
        self.elapsed = start.elapsed
        self.loss = math.nan
        self.last_gnorm = math.nan
        self.resume_at = 0  # verdicts resume at this step after clear_stop()
        #: the continuation's δ (None before its first step) and the objective S_δ it runs on
        self.delta: float | None = start.delta if smoothing is not None else None
        self.stage: Any = None if self.delta is None else objective.smoothed(self.delta)
        self.stage_end = None if start.stage_end is None else start.stage_end.copy()
        self.stage_delta = start.stage_delta
        self.average = average  # Polyak–Ruppert: average the iterates after this many updates
        self.avg_theta = None if start.avg_theta is None else start.avg_theta.copy()
        self.avg_count = start.avg_count
        self.theta0_norm = float(np.linalg.norm(self.theta))
        self.stop_reason: str | None = None
        self.message = ""
        self.at_boundary = True

    # -- the loop body ---------------------------------------------------------------------
    def step(self) -> Row | None:
        """Make one iteration (see the class docstring): :meth:`run` with n = 1.

        Returns
        -------
        tuple or None
            The history row ``(k, L_k, ‖g_k‖, ‖u_k‖, η_k)`` of the update made, or None when
            the run stopped before updating (or had stopped already). An update can also end
            the run (the callback, a mini-batch epoch's convergence): check
            :attr:`stop_reason`.
        """
        if self.run(1) == 0:
            return None
        return self.recorder.last()

    def run(self, n: int) -> int:
        """Make up to ``n`` iterations: the loop's one body (:meth:`step` is ``run(1)``).

        Each iteration is the class docstring's steps 1–5, and every stopping rule is checked
        at every step in the order given there. The bookkeeping is what makes it cheap: the
        loop runs in chunks of up to :data:`CHUNK` steps; before a chunk it reserves the
        chunk's history rows (:meth:`Recorder.reserve`) and reads the chunk's learning rates
        from the schedule; within it, the counters live in local variables, written back to
        the object (``save``) only when a rule's method needs them, a callback or an epoch's
        end reads them, or the chunk ends, and read back (``load``) where a rule changed
        them; the lowest-loss θ and the previous gradient are kept by reference (θ_{k+1} is
        a new array each step — written straight into the history's θ path when that is
        kept — and objectives return fresh gradients, so neither changes afterwards); and a
        built-in rule updates in place (:class:`~descend.descent.optim.Fused`, bit for bit
        ``opt.update``) unless the step needs the rule's state tuple (a line search, recorded
        state norms, tracked columns).

        The fast lane (:mod:`descend.descent.fastlane`, for runs without the features below,
        a callback or averaging, with a fused rule): each chunk's steps are made first by a
        tight pass that stops before any step at which a rule may fire (the same tests), and
        the body makes that step and the rest of the chunk — the same iterates, record and
        verdicts (``FAST_LANE = False``: every step here).

        The features most runs lack are branches on flags read once per call: the L1 part's
        stationarity measure, the full-batch rules before the verdicts (validation, the
        separation rules, a smoothing stage's end: :meth:`_screen`), the line search after
        the update direction, the recorded extras (:meth:`_record_more`). A smoothing stage
        that ends makes no update: the chunk ends and the same step is made again on the next
        δ.

        Returns
        -------
        int
            Updates made; fewer than ``n`` when the run stopped (see :attr:`stop_reason`).
        """
        if self.stop_reason is not None or n <= 0:
            return 0

        opt = self.opt
        full_batch = self.full_batch
        batches = self.batches
        max_steps = self.max_steps
        k = self.k
        theta = self.theta
        loss0, grad0, prev_loss = self.loss0, self.grad0, self.prev_loss
        best_theta, best_loss = self.best_theta, self.best_loss
        grad_low, last_low, low_gap = self.grad_low, self.last_low, self.low_gap
        rising, calm, flips, prev_grad = self.rising, self.calm, self.flips, self.prev_grad
        loss, gnorm, last_lr = self.loss, self.last_gnorm, self.last_lr
        avg_theta, avg_count, average = self.avg_theta, self.avg_count, self.average
        rise_floor, rise_patience = self.rise_floor, self.rise_patience
        stall_window, stall_tol, resume_at = self.stall_window, self.stall_tol, self.resume_at
        mu, tol, gtol = self.mu, self.tol, self.gtol
        callback, steps_per_epoch = self.callback, self.steps_per_epoch
        # the features most runs lack, each a branch taken only when present
        smoothing, line_search, prox = self.smoothing, self.line_search, self.prox
        screen = full_batch and (
            self.validation is not None or self.may_separate or smoothing is not None
        )
        extra = self.record_state or self.track_sharpness is not None or bool(self.recorder.tracked)
        fused = opt.fused
        kernel = None if fused is None or line_search or extra else fused()
        opt_state = self.opt_state
        if kernel is not None:
            kernel.load(opt_state)
            apply = kernel.applier(theta.shape[0])
            gd = kernel.kind == "gd"
            u = np.zeros(theta.shape)
        else:
            update, applied, schedule = opt.update, opt.applied_lr, opt.learning_rate
        rec = self.recorder
        isfinite, sqrt, ndarray, f64 = math.isfinite, math.sqrt, np.ndarray, np.float64
        mul, add = np.multiply, np.add
        sqrt_eps = _SQRT_EPS
        # constants of loss0, once it is known (the numbers the rules compute from it)
        a0 = blow = floor = 0.0
        if loss0 is not None:
            a0 = abs(loss0)
            blow, floor = 1e12 * (1e-300 if a0 < 1e-300 else a0), _EPS * a0
        at_boundary = True
        made = 0
        counted = 0  # the fused rule's updates not yet counted in its schedule
        stopped = False
        i = rec.n
        params = None
        # The reversal test g_k·g_{k−1} < 0 of a small θ is made when its counter is read (a
        # rule, a chunk's end): walking back from the last gradient, usually one product per
        # chunk instead of one per step; the same products, so the same count.
        defer = full_batch and theta.shape[0] <= DEFER_REVERSALS
        pending: list[Array] = []  # gradients whose reversal test is still to make
        base = prev_grad  # the gradient before the first of them
        # the fast lane (descent/fastlane.py): the common run's steps, the rules read per chunk
        lane = (
            FAST_LANE
            and kernel is not None
            and not prox
            and not screen
            and callback is None
            and average is None
            and rise_patience >= 1
            and (defer or not full_batch)
        )
        hit_c = None if mu is None else 2.0 * mu * tol  # the certificate's test: ‖g‖² ≤ hit_c·s
        # and ‖g‖ ≤ dist_c·‖θ‖, widened past rounding (no test where μ·tol is near underflow)
        dist_c = 0.0 if mu is None else (1.0 + 1e-9) * mu * tol if mu * tol > 1e-280 else math.inf
        # the compiled full-batch pass (opt-in: problems/fused_steps.py), made on first use
        route: Any = None
        routed = not (lane and full_batch)

        def settle() -> None:  # flips: consecutive reversals up to the last gradient
            nonlocal flips, pending, base
            if not pending:
                return
            j, run_ = len(pending) - 1, 0
            while j >= 0:
                before = pending[j - 1] if j else base
                if before is None or not float(pending[j].dot(before)) < 0.0:
                    break
                run_ += 1
                j -= 1
            flips = flips + run_ if j < 0 else run_
            base, pending = pending[-1], []

        def save(state: bool = True) -> None:  # the locals back into the object
            nonlocal counted
            settle()
            self.k, self.loss0, self.grad0 = k, loss0, grad0
            self.theta = theta if params is None else theta.copy()  # not a view of the record
            self.prev_loss, self.best_theta, self.best_loss = prev_loss, best_theta, best_loss
            self.grad_low, self.last_low, self.low_gap = grad_low, last_low, low_gap
            self.rising, self.calm, self.flips, self.prev_grad = rising, calm, flips, prev_grad
            self.loss, self.last_gnorm, self.last_lr = loss, gnorm, last_lr
            self.avg_theta, self.avg_count = avg_theta, avg_count
            if not state:  # the rules read no optimizer state: built when the run hands over
                pass
            elif kernel is not None:
                kernel.advance(counted, last_lr)
                counted = 0
                self.opt_state = kernel.state()
            else:
                self.opt_state = opt_state
            self.at_boundary = at_boundary
            rec.n = i

        def load() -> None:  # the locals from the object, after a rule's method changed it
            nonlocal theta, prev_loss, best_theta, best_loss, grad_low, last_low, low_gap
            nonlocal rising, calm, flips, prev_grad, loss, gnorm, pending, base
            theta = self.theta
            prev_loss, best_theta, best_loss = self.prev_loss, self.best_theta, self.best_loss
            grad_low, last_low, low_gap = self.grad_low, self.last_low, self.low_gap
            rising, calm, flips, prev_grad = self.rising, self.calm, self.flips, self.prev_grad
            loss, gnorm = self.loss, self.last_gnorm
            pending, base = [], prev_grad

        def end_epoch() -> bool:  # a mini-batch epoch's end (its rules); True: the run stopped
            nonlocal at_boundary
            save(state=False)
            self._end_epoch(self.theta)
            load()
            at_boundary = True
            if self.stop_reason is None:
                return False
            save()
            return True

        try:
            while made < n:
                if k >= max_steps:
                    save()
                    self.stop("max_steps", self._budget_message())
                    stopped = True
                    break
                # a chunk: its history rows reserved, its rates read from the schedule, the
                # function it descends (the smoothing continuation: this stage's S_δ)
                m = min(n - made, CHUNK, max_steps - k)
                if lane and loss0 is None:  # the first step sets L_0 and ‖g_0‖: the full body's
                    m = 1
                objective = self.objective if smoothing is None else self._stage_objective(theta)
                vg = objective.value_and_grad
                rec.n = i
                steps_col, cols, params = rec.reserve(m)
                loss_col, gnorm_col, size_col, lr_col = cols
                if kernel is not None:
                    kernel.advance(counted, last_lr)
                    counted = 0
                    rates = kernel.rates(m)
                settle()
                start = 0  # the steps of this chunk the fast lane made
                if lane and loss0 is not None and k >= resume_at:
                    assert kernel is not None and grad0 is not None
                    w = u if gd else None
                    if full_batch:
                        mark = kernel.mark()
                        if not routed and m >= MIN_COMPILED:
                            route, routed = compiled_route(objective, kernel), True
                        try:
                            if route is not None and m >= MIN_COMPILED:
                                p = compiled_pass(
                                    route, theta, k, m, params, i, best_theta, best_loss,
                                    grad_low, last_low, low_gap, blow, floor, hit_c,
                                    gtol * grad0 if gtol > 0 else 0.0, prev_loss, rising, calm,
                                    rise_floor * loss0, rise_patience, sqrt_eps, stall_window,
                                    stall_tol, dist_c, _EPS * self.theta0_norm,
                                )  # fmt: skip
                            else:
                                p = full_batch_pass(
                                    vg, theta, k, m, rates, apply, w, params, i, best_theta,
                                    best_loss, grad_low, last_low, low_gap, blow, floor, hit_c,
                                    dist_c, _EPS * self.theta0_norm,
                                    partial(self._certificate, loss0=loss0),
                                    gtol * grad0 if gtol > 0 else 0.0, prev_loss, rising, calm,
                                    rise_floor * loss0, rise_patience, sqrt_eps, stall_window,
                                )  # fmt: skip
                        except BaseException:
                            kernel.rewind(mark)
                            raise
                        if p is None:  # a floating-point error or an exception: the full body
                            kernel.rewind(mark)
                        elif p.q:
                            q = start = p.q
                            calm = calm_after(p, prev_loss, best_loss, calm, floor, stall_tol,
                                              sqrt_eps)  # fmt: skip
                            steps_col[i : i + q] = np.arange(k, k + q)
                            loss_col[i : i + q] = p.losses
                            gnorm_col[i : i + q] = p.gnorms
                            size_col[i : i + q] = p.sizes
                            lr_col[i : i + q] = rates[:q]
                            i, k, made, counted = i + q, k + q, made + q, counted + q
                            theta, best_theta, best_loss = p.theta, p.best_theta, p.best_loss
                            grad_low, last_low, low_gap = p.grad_low, p.last_low, p.low_gap
                            pending.extend(p.grads)
                            prev_grad = p.grads[-1]
                            loss = prev_loss = float(p.losses[-1])
                            gnorm, last_lr, rising = float(p.gnorms[-1]), rates[q - 1], p.rising
                    else:
                        record = (steps_col, loss_col, gnorm_col, size_col, lr_col)
                        while start < m:  # one pass per epoch (part)
                            mm = min(m - start, steps_per_epoch - k % steps_per_epoch)
                            q, theta, loss_q, gnorm_q, diverged, error = batch_pass(
                                vg, batches, theta, k, mm, rates, start, apply, w, params, i,
                                blow, record,
                            )  # fmt: skip
                            if q:
                                i, k, made, counted = i + q, k + q, made + q, counted + q
                                start += q
                                last_lr, rising = rates[start - 1], 0
                            if error is not None:  # raised at step k, as in the full body
                                if q:
                                    loss = prev_loss = float(loss_col[i - 1])
                                    gnorm = float(gnorm_col[i - 1])
                                at_boundary = False
                                raise error
                            loss, gnorm = loss_q, gnorm_q
                            if diverged:  # the batch loss diverged at step k
                                if q:
                                    prev_loss = float(loss_col[i - 1])
                                at_boundary = False
                                rising = 0
                                save()
                                finite = isfinite(loss) and isfinite(gnorm)
                                self._diverge(loss, "non-finite" if not finite else "blown")
                                stopped = True
                                break
                            prev_loss = loss
                            if k % steps_per_epoch == 0:  # the epoch's end: as in the body
                                at_boundary = False
                                if end_epoch():
                                    stopped = True
                                    break
                        if stopped:
                            break
                for j in range(start, m):
                    at_boundary = False
                    if full_batch:
                        loss, g = vg(theta)
                    else:
                        if grad0 is None:  # the full gradient at θ₀: "stationary" is relative to it
                            grad0 = float(np.linalg.norm(vg(theta)[1]))
                        loss, g = vg(theta, next(batches))
                    loss = float(loss)
                    if prox:  # an L1 part: stationarity is the minimum-norm subgradient
                        gnorm = _norm(objective.stationarity(theta, g))
                        if not (type(g) is ndarray and g.dtype == f64 and g.ndim == 1):
                            g = np.array(g, dtype=np.float64)
                    elif type(g) is ndarray and g.dtype == f64 and g.ndim == 1:
                        gnorm = sqrt(float(g.dot(g)))  # _norm(g), inlined
                    else:  # the norm of what the objective returned, then the rule's vector
                        gnorm = _norm(g)
                        g = np.array(g, dtype=np.float64)
                    if loss0 is None:
                        loss0 = loss
                        a0 = abs(loss0)
                        blow, floor = 1e12 * (1e-300 if a0 < 1e-300 else a0), _EPS * a0
                    if grad0 is None:
                        grad0 = gnorm
                    finite = isfinite(loss) and isfinite(gnorm)

                    # divergence guard: non-finite, or growth the rule that ran does not allow
                    prev_best = best_loss
                    if full_batch and finite and loss < best_loss:
                        best_theta, best_loss = theta, loss  # θ_k is never written again
                    if full_batch and gnorm < 0.99 * grad_low:  # a new low of ‖∇L‖ by > 1 %
                        low_gap, last_low, grad_low = k - last_low, k, gnorm
                    blown = finite and loss > blow
                    if full_batch and finite and loss > prev_loss and loss > rise_floor * loss0:
                        rising += 1
                    else:
                        rising = 0
                    rose = False
                    if rising >= rise_patience:
                        save()
                        rose = not self._within_limit()
                    if not finite or blown or rose:
                        save()
                        how = "non-finite" if not finite else "blown" if blown else "rising"
                        self._diverge(loss, how)
                        stopped = True
                        break

                    if full_batch:
                        # the gradient's direction reversing step after step: oscillation
                        if defer:
                            pending.append(g)
                        else:
                            reversed_ = prev_grad is not None and float(g.dot(prev_grad)) < 0.0
                            flips = flips + 1 if reversed_ else 0
                        prev_grad = g
                        if screen:  # validation, separation, a smoothing stage's end
                            save()
                            verdict = self._screen(theta, loss, gnorm, k)
                            if verdict == _STOPPED:
                                stopped = True
                                break
                            if verdict == _NEXT_STAGE:  # the same step on the next δ
                                load()
                                break
                        # converged / stationary: the cheap tests first, _settled decides
                        if k >= resume_at:
                            size = abs(loss)
                            if mu is not None:
                                hit = gnorm * gnorm <= 2.0 * mu * tol * (
                                    floor if floor > size else size
                                )
                            else:
                                hit = gnorm == 0.0 or (gtol > 0 and gnorm <= gtol * grad0)
                            if hit:
                                save()
                                if self._settled(loss, gnorm, k):
                                    stopped = True
                                    break
                        # a stall: for `patience` steps no new low of the loss (beyond
                        # rounding) while it hardly moves (≤ √ε relative: rounding noise, not
                        # momentum's transient rise; a perfect fit's loss is all rounding)…
                        scale = abs(loss)
                        scale = floor if floor > scale else scale
                        progress = loss < prev_best - stall_tol * scale
                        still = isfinite(prev_loss) and abs(loss - prev_loss) <= sqrt_eps * scale
                        calm = calm + 1 if still and not progress else 0
                        # …and the gradient has set no new 1 % low for three times the gap
                        # between its last two lows: slow but steady progress is never a stall
                        quiet = k - last_low >= stall_window and k - last_low >= 3 * low_gap
                        if calm >= stall_window and quiet and k >= resume_at:
                            save()
                            if smoothing is not None and self._next_stage(loss):
                                load()
                                break
                            self._stall(gnorm, oscillating=flips >= self.patience)
                            stopped = True
                            break
                    prev_loss = loss

                    # the update, θ_{k+1} (into the record's θ path when it is kept), the record
                    if kernel is not None:
                        lr = rates[j]
                        if gd:
                            mul(g, -lr, out=u)
                        else:
                            u = apply(g, lr)
                        counted += 1
                    else:
                        u, new_state = update(g, opt_state, theta)
                        if line_search:  # u_k = t_k·d_k, t_k the Armijo step along d_k
                            t = self._line_search(objective, theta, g, u, loss)
                            if t == 0.0:
                                save()
                                if self._no_decrease(loss, gnorm):
                                    stopped = True
                                    break
                                load()  # the same step on the next δ
                                break
                            lr = t
                            u = t * u
                        else:
                            lr = applied(new_state) if applied is not None else float(schedule(k))
                        opt_state = new_state
                    last_lr = lr
                    steps_col[i] = k
                    loss_col[i] = loss
                    gnorm_col[i] = gnorm
                    size_col[i] = sqrt(float(u.dot(u)))
                    lr_col[i] = lr
                    i += 1
                    theta_k = theta
                    theta = theta + u if params is None else add(theta, u, out=params[i])
                    k += 1
                    made += 1
                    if average is not None and k > average:  # θ̄ ← θ̄ + (θ_k − θ̄)/m
                        avg_count += 1
                        if avg_theta is None:
                            avg_theta = theta.copy()
                        else:
                            avg_theta += (theta - avg_theta) / avg_count
                    if extra:  # state norms, tracked columns (the sharpness at θ_k)
                        self._record_more(i - 1, k - 1, objective, theta_k, opt_state)
                    epoch_end = not full_batch and k % steps_per_epoch == 0
                    at_boundary = not epoch_end
                    if callback is not None and callback(k - 1, theta, loss):
                        save()
                        self.stop("interrupted", f"stopped by the callback at step {k}")
                        stopped = True
                        break
                    if epoch_end and end_epoch():
                        stopped = True
                        break
                    at_boundary = True
                if stopped:
                    break
        finally:
            if not stopped:  # a rule that fired wrote back, then changed the state it owns
                save()
        return made

    # -- the rarer branches of the body ----------------------------------------------------
    def _screen(self, theta: Array, loss: float, gnorm: float, k: int) -> int:
        """The full-batch rules before the verdicts, for the runs that have them (the locals
        saved): the validation split's early stopping, the log loss's separation rules, a
        smoothing stage's end. :data:`_STOPPED`, :data:`_NEXT_STAGE` (a stage before the last
        ended: δ shrank, make the step again) or :data:`_GO_ON`."""
        if self.validation is not None and self._validate(theta, k):
            return _STOPPED
        if self.may_separate and self._separated(theta, k):
            return _STOPPED
        if self.known_separable and self._escaping(theta, loss, k, "steps"):
            return _STOPPED
        if self._stage_done(loss, gnorm, k):
            return _NEXT_STAGE
        return _GO_ON

    def _line_search(self, objective: Any, theta: Array, g: Array, d: Array, loss: float) -> float:
        """The Armijo step t along the update at rate 1, d (0: no decrease), warm-started at
        twice the last one; a step found becomes the next warm start."""
        t, _ = backtracking(objective, theta, g, d, loss=loss, lr0=2.0 * self.lr_ls)
        if t != 0.0:
            self.lr_ls = t
        return t

    def _no_decrease(self, loss: float, gnorm: float) -> bool:
        """The line search found no decrease (the locals saved): the next smoothing stage
        (False: go on from there), or the run stalls (True)."""
        if self._next_stage(loss):
            return False
        self.stop(
            "stalled",
            "stalled: the line search found no decrease along the update direction "
            f"(‖∇L‖ = {gnorm:.3g}, {gnorm / (self.grad0 or 1.0):.2g} of the first "
            "gradient): the loss cannot fall further in floating point here" + self._bound_text(),
        )
        return True

    def _record_more(
        self, row: int, k: int, objective: Any, theta_k: Array, opt_state: Any
    ) -> None:
        """The record's extras of row ``row`` (step k), as :meth:`Recorder.add` writes them:
        the norms of the optimizer state after the update, and the tracked columns (the
        sharpness at θ_k every ``track_sharpness`` steps, NaN between)."""
        self.opt_state = opt_state  # what a preconditioned sharpness reads
        norms = _state_norms(opt_state) if self.record_state else None
        tracked = None if self.track_sharpness is None else self._measure(objective, theta_k, k)
        self.recorder.add_extras(row, norms, tracked)

    @property
    def averaged(self) -> Array | None:
        """θ̄, the mean of the iterates after the first ``average`` updates (None: averaging is
        off, or no iterate has been averaged yet)."""
        return None if self.avg_theta is None else self.avg_theta.copy()

    # -- sharpness tracking ----------------------------------------------------------------
    def _measure(self, objective: Any, theta: Array, k: int) -> dict[str, float]:
        """The tracked columns at θ_k: λ_max(H) (and λ_max(P⁻¹H) with the rule's P of this
        step) every ``track_sharpness`` steps, NaN otherwise."""
        read = self.opt.preconditioner
        names = ("sharpness",) if read is None else ("sharpness", "preconditioned_sharpness")
        every = self.track_sharpness
        if every is None or k % every:
            return dict.fromkeys(names, math.nan)
        out: dict[str, float] = {}
        t0 = time.perf_counter()
        for name in names:
            P = None if read is None or name == "sharpness" else read(self.opt_state)
            try:
                s = sharpness(objective, theta, 1, tol=1e-6, v0=self._sharp_v.get(name),
                              preconditioner=P)  # fmt: skip
            except (RuntimeError, ValueError):  # no convergence, or a P with zeros
                out[name] = math.nan
                continue
            self._sharp_v[name] = s.vectors[:, 0]
            self.sharpness_cost["hvps"] += s.n_hvp
            out[name] = s.lam_max
        self.sharpness_cost["measurements"] += 1
        self.sharpness_cost["seconds"] += time.perf_counter() - t0
        return out

    # -- the smoothing continuation -------------------------------------------------------
    def _stage_objective(self, theta: Array) -> Any:
        """S_δ for the current stage; the first call starts the continuation at δ = L(θ₀)."""
        if self.stage is None:
            loss = float(self.objective.value(theta))
            self.delta = loss if loss > 0 and math.isfinite(loss) else 1.0
            self.stage = self.objective.smoothed(self.delta)
            self.lr_ls = self.delta  # the Armijo warm start: S_δ's safe rate scales with δ
        return self.stage

    def _last_stage(self, loss: float) -> bool:
        """No smoothing, or δ has reached its last value (2·tol·|S_δ(θ)|, floored)."""
        if self.smoothing is None or self.delta is None:
            return True
        last = self.smoothing.final_delta(loss, self.loss0 or 0.0, self.tol)
        return self.delta <= last * (1.0 + 1e-12)

    def _stage_done(self, loss: float, gnorm: float, k: int) -> bool:
        """A stage before the last reached ‖∇S_δ‖ ≤ stage_gtol·‖g_0‖: move to the next δ."""
        if self.smoothing is None or k < self.resume_at or self._last_stage(loss):
            return False
        level = max(self.gtol, self.smoothing.stage_gtol) * (self.grad0 or 0.0)
        return (gnorm == 0.0 or gnorm <= level) and self._next_stage(loss)

    def _next_stage(self, loss: float) -> bool:
        """Shrink δ (a stage before the last ended): False when this is the last stage.

        The per-stage guards start afresh (the function changed); θ, the optimizer state, k
        and the history carry on, and the line search's warm start shrinks with δ.
        """
        if self.smoothing is None or self.delta is None or self._last_stage(loss):
            return False
        last = self.smoothing.final_delta(loss, self.loss0 or 0.0, self.tol)
        new = max(self.smoothing.factor * self.delta, last)
        stage = self.objective.smoothed(new)
        end = self.theta
        if self.stage_end is not None and self.stage_delta is not None:
            # secant predictor: once the signs of the residuals settle, the minimiser θ_δ is
            # affine in δ, so the next one lies on the line through the last two stage ends
            guess = end + ((new - self.delta) / (self.delta - self.stage_delta)) * (
                end - self.stage_end
            )
            if stage.value(guess) < stage.value(end):
                self.theta = guess
        self.stage_end, self.stage_delta = end.copy(), self.delta
        self.lr_ls *= new / self.delta
        self.delta = new
        self.stage = stage
        self.prev_loss, self.calm, self.flips, self.rising = math.nan, 0, 0, 0
        self.prev_grad = None
        self.grad_low, self.last_low, self.low_gap = math.inf, self.k, 0
        self.best_theta, self.best_loss = self.theta.copy(), math.inf
        return True

    def _smoothing_text(self) -> str:
        """The last stage's bound, for the verdict's message."""
        if self.smoothing is None or self.delta is None:
            return ""
        share = 0.5 * self.delta / abs(self.loss) if self.loss else math.inf
        return (
            f" [smoothing continuation: the last stage minimised S_δ with δ = {self.delta:.3g}; "
            f"L(θ) ≤ S_δ(θ) + δ/2, so L(θ) − L* ≤ (S_δ(θ) − S_δ*) + δ/2, and δ/2 is "
            f"{share:.2g} of S_δ(θ)]"
        )

    def _within_limit(self) -> bool:
        """The rate that ran is inside the rule's stability limit on known curvature."""
        if self.lam_max is None or self.line_search:
            return False
        limit = stability_limit(self.opt.name, self.hyper, self.lam_max)
        return limit is not None and math.isfinite(self.last_lr) and self.last_lr < limit

    def _settled(self, loss: float, gnorm: float, k: int) -> bool:
        """Certified convergence (μ known) or stationarity (no certificate): stop and say so."""
        if k < self.resume_at:  # a shell asked for more steps after a stop: make them
            return False
        mu = self.mu
        if mu is not None:
            # cheap first: the excess bound ‖g‖²/(2μ) against tol·|L| (no allocation per step)
            size, floor = abs(loss), _EPS * abs(self.loss0 or 0.0)
            if gnorm * gnorm > 2.0 * mu * self.tol * (floor if floor > size else size):
                return False
            cert = self._certificate(loss, gnorm, self.theta, self.loss0 or 0.0)
            if cert is not None:
                self.certificate = cert
                self.stop(
                    "converged",
                    f"certified at step {k}: L − L* ≤ ‖∇L‖²/(2μ) = {cert.excess_bound:.3g} ≤ "
                    f"tol·|L| and ‖θ − θ*‖ ≤ ‖∇L‖/μ = {cert.distance_bound:.3g} ≤ tol·‖θ‖ "
                    f"(tol = {self.tol:g}, μ = {self.mu:.4g})",
                )
                return True
            return False
        g0 = self.grad0 or 0.0
        if gnorm == 0.0 or (self.gtol > 0 and gnorm <= self.gtol * g0):
            self.stop(
                "stationary",
                f"stationary at step {k}: ‖∇L‖ = {gnorm:.3g} ≤ gtol·‖∇L(θ₀)‖ = "
                f"{self.gtol * g0:.3g}; no certificate exists for this problem (it is not "
                "strongly convex with a known μ), so this is a stationary point to that "
                "tolerance, not a certified minimum",
            )
            return True
        return False

    def _certificate(
        self, loss: float, gnorm: float, theta: Array, loss0: float
    ) -> Certificate | None:
        """The certificate at θ (loss L, gradient norm ‖g‖; L₀ the first loss) where it holds
        at ``tol``, else None: the converged rule's decision, made here for the full body and
        the fast lane."""
        assert self.mu is not None
        cert = certify(loss, gnorm, self.mu, self.certificate_method, float(np.linalg.norm(theta)))
        if cert is not None and cert.holds(self.tol, loss0, self.theta0_norm):
            return cert
        return None

    #: how μ is known, for the certificate
    certificate_method = (
        "least squares: μ = λ_min of the exact Hessian (coordinates descent ran in)"
    )

    def _stall(self, gnorm: float, oscillating: bool) -> None:
        if self.smoothing is not None and self.delta is not None:
            rel = gnorm / self.grad0 if self.grad0 else math.nan
            self.stop(
                "stalled",
                f"stalled: S_δ no longer changes in floating point while ‖∇S_δ‖ = {gnorm:.3g} "
                f"({rel:.2g} of the first gradient) — the line search's steps shrink with δ, "
                "so near the end each step lowers S_δ by less than its rounding; the result is "
                "as accurate as descent can make it here, but not certified",
            )
            return
        lam_max = self.lam_max
        self.stop(
            "stalled",
            stall_diagnosis(
                self.opt.name,
                self.hyper,
                self.last_lr if math.isfinite(self.last_lr) else math.nan,
                lam_max,
                gnorm,
                self.grad0 or 0.0,
                oscillating,
            )
            + self._bound_text(),
        )

    def _bound_so_far(self) -> Certificate | None:
        """The certificate at the last evaluated point, where μ is known (else None)."""
        if self.mu is None or not math.isfinite(self.loss):
            return None
        theta_norm = float(np.linalg.norm(self.theta))
        return certify(self.loss, self.last_gnorm, self.mu, self.certificate_method, theta_norm)

    def _bound_text(self) -> str:
        """'; the certificate's bound so far: …' where μ is known."""
        cert = self._bound_so_far()
        if cert is None:
            return ""
        rel = cert.relative_excess_bound
        return f"; bound reached: L − L* ≤ {cert.excess_bound:.3g} ({rel:.2g} of L)"

    def _budget_message(self) -> str:
        """Why max_steps is not a success: the bound reached and the steps still needed."""
        msg = f"stopped after max_steps = {self.max_steps} updates"
        cert = self._bound_so_far()
        if cert is not None:
            msg += (
                f" before the certificate held: L − L* ≤ {cert.excess_bound:.3g} "
                f"({cert.relative_excess_bound:.2g} of L) and ‖θ − θ*‖ ≤ "
                f"{cert.distance_bound:.3g} ({cert.relative_distance_bound:.2g} of ‖θ‖), "
                f"tol = {self.tol:g}"
            )
            advice = self.advice
            if advice is not None and math.isfinite(self.last_lr):
                more = predicted_steps(
                    self.opt.name,
                    self.last_lr,
                    advice.lam_min,
                    advice.lam_max,
                    cert.excess_bound,
                    self.tol * abs(self.loss),
                    cert.distance_bound,
                    self.tol * cert.theta_norm,
                )
                if more is not None and math.isfinite(more) and more > 0:
                    msg += f"; about {math.ceil(more):,} more steps at this rate"
            return msg
        if math.isfinite(self.last_gnorm) and self.grad0:
            msg += (
                f" with ‖∇L‖ = {self.last_gnorm:.3g} ({self.last_gnorm / self.grad0:.2g} of the "
                f"first gradient; gtol = {self.gtol:g})"
            )
        return msg

    def _end_epoch(self, theta: Array) -> None:
        """Mini-batch: the full loss and gradient at an epoch's end, for the rollback, the
        certificate (or stationarity) and the stall rule."""
        full, g = self.objective.value_and_grad(theta)
        full = float(full)
        gnorm = _norm(self.objective.stationarity(theta, g) if self.prox else g)
        if math.isfinite(full) and full < self.best_loss:
            self.best_theta, self.best_loss = theta.copy(), full
        self.loss, self.last_gnorm = full, gnorm
        if self.validation is not None and self._validate(theta, self.k):
            return
        if self.may_separate and self._separated(theta, self.k):
            return
        if self.known_separable and self._escaping(theta, full, self.k, "epochs"):
            return
        if math.isfinite(full) and math.isfinite(gnorm) and self._settled(full, gnorm, self.k):
            return
        losses = self.epoch_losses
        if losses:
            denom = max(abs(full), _EPS * abs(losses[0]))
            change = abs(losses[-1] - full) / denom if denom > 0 else 0.0
            self.calm = self.calm + 1 if change <= self.tol else 0
            if self.calm >= self.patience:
                rel = gnorm / self.grad0 if self.grad0 else math.nan
                self.stop(
                    "stalled",
                    f"stalled: the full loss changed by ≤ tol = {self.tol:g} (relative) for "
                    f"{self.patience} epochs in a row while ‖∇L‖ = {gnorm:.3g} ({rel:.2g} of the "
                    "first gradient): the mini-batch noise floor at this rate — a decaying "
                    "schedule or larger batches go further" + self._bound_text(),
                )
        losses.append(full)

    def _separated(self, theta: Array, k: int) -> bool:
        """Stop when θ separates the training rows: the log loss then has no minimiser."""
        if not self.objective.separated(theta):
            return False
        self.stop(
            "separated",
            f"separated at step {k}: θ classifies every training row correctly (all margins "
            "y·z > 0), so the log loss has no minimiser — it falls towards 0 only as ‖θ‖ → ∞. "
            "θ is a separating classifier; add a penalty (penalty='l2') for a finite optimum",
        )
        return True

    def _escaping(self, theta: Array, loss: float, k: int, unit: str) -> bool:
        """On rows a linear program found separable: stop as "separated" once θ's classes
        have settled while descent only scales θ up.

        Marks at c = 2^j steps (epochs for mini-batches; ``unit``) from ``SEPARATION_WINDOW``
        steps (the first power of two ≥ ``patience`` epochs) on: at each, which rows θ
        classifies correctly, the loss and ‖θ‖. The run stops when, since the previous mark
        (c/2), the loss fell and ‖θ‖ grew while not one row changed between correct and
        wrong: more steps would sharpen the classifier, not change it. Marking only at
        doublings costs one pass per mark and lets a slow run go on for as long again as it
        has run.
        """
        c = k if unit == "steps" else k // self.steps_per_epoch
        first = SEPARATION_WINDOW if unit == "steps" else self.patience
        if c < first or c & (c - 1):  # not a mark: c below the first, or not a power of two
            return False
        ok = np.asarray(self.objective.correct(theta), dtype=bool)
        mark = hashlib.sha256(np.packbits(ok).tobytes() + ok.size.to_bytes(8, "little"))
        digest, norm = mark.hexdigest(), _norm(theta)
        same = digest == self.sep_mark and loss < self.sep_loss and norm > self.sep_norm
        last_loss, last_norm = self.sep_loss, self.sep_norm
        self.sep_mark, self.sep_loss, self.sep_norm = digest, loss, norm
        if not same:
            return False
        self.stop(
            "separated",
            self._separable_message(k)
            + f": from {unit[:-1]} {c // 2:,} to {c:,} the loss fell ({last_loss:.3g} → "
            f"{loss:.3g}) and ‖θ‖ grew ({last_norm:.3g} → {norm:.3g}, in the coordinates descent "
            f"ran in) while no row changed class ({int(ok.sum()):,} of {ok.size:,} classified "
            "correctly): more steps would scale θ up, not change the classifier",
        )
        return True

    def _separable_message(self, k: int) -> str:
        """Why a run on rows a linear program found separable stops as "separated"."""
        side = (
            "θ already separates every training row"
            if self.objective.separated(self.theta)
            else "θ does not yet separate every row"
        )
        return (
            f"separated at step {k}: the training rows are linearly separable (a linear program "
            "found a θ with every margin ≥ 1 when the problem was built), so the loss has no "
            "minimiser — it falls towards 0 only as ‖θ‖ → ∞, and no step budget reaches an "
            f"optimum. {side}; add a penalty (penalty='l2') for a finite optimum"
        )

    def _validate(self, theta: Array, k: int) -> bool:
        """Record the held-out loss at θ_k; early stopping: stop at the best θ on it."""
        v = float(self.validation.value(theta))
        self.val_losses.append(v)
        self.val_steps.append(k)
        best = self.best_val
        if math.isfinite(v) and (not math.isfinite(best) or v < best - self.stall_tol * abs(best)):
            self.best_val, self.best_val_step, self.val_since = v, k, 0
            self.best_val_theta = theta.copy()
            return False
        self.val_since += 1
        if not self.early_stopping or self.val_since < self.n_iter_no_change:
            return False
        unit = "steps" if self.full_batch else "epochs"
        assert self.best_val_theta is not None
        self.theta = self.best_val_theta.copy()
        self.stop(
            "early_stopped",
            f"early stopped at step {k}: the validation loss has not improved for "
            f"{self.n_iter_no_change} {unit} (n_iter_no_change); θ restored to step "
            f"{self.best_val_step}, where the validation loss was lowest ({self.best_val:.6g}; "
            f"now {v:.6g})",
        )
        return True

    def _diverge(self, loss: float, how: str) -> None:
        if self.advice is None and self.objective.model is not None:
            try:
                self.advice = advise(self.objective, self.best_theta)
            except (ValueError, np.linalg.LinAlgError):
                self.advice = None
        self.stop(
            "diverged",
            divergence_message(
                self.k,
                loss,
                self.last_lr,
                self.advice,
                how,
                self.objective,
                self.opt.name,
                self.hyper,
            ),
        )
        self.theta = self.best_theta.copy()

    # -- control ---------------------------------------------------------------------------
    def stop(self, reason: str, message: str) -> None:
        """End the run: :meth:`run` makes no update until :meth:`clear_stop`/:meth:`restart`."""
        if reason in ("stationary", "stalled", "max_steps"):
            if self.known_separable and self.loss0 is not None and self.loss < self.loss0:
                message = f"{self._separable_message(self.k)} (it would have ended {reason})"
                reason = "separated"
            else:
                message += self._smoothing_text()
        self.stop_reason, self.message = reason, message

    def clear_stop(self) -> None:
        """Let a stopped run go on, e.g. after convergence: the next ``patience`` steps are
        made whatever the verdicts say, then they apply again."""
        self.stop_reason, self.message = None, ""
        self.calm = 0
        self.certificate = None
        self.resume_at = self.k + self.patience

    def restart(self) -> None:
        """Go on from the current θ with a fresh optimizer state and fresh guards.

        What a steerable shell does after a divergence (θ was rolled back to the lowest-loss
        θ), typically with a smaller learning rate: k, the history and the sampler carry on.
        """
        self.opt_state = self.opt.init(self.theta)
        self.stop_reason, self.message = None, ""
        self.loss0, self.grad0, self.prev_loss = None, None, math.nan
        self.calm = self.rising = self.flips = 0
        self.prev_grad = None
        self.grad_low, self.last_low, self.low_gap = math.inf, self.k, 0
        self.best_loss = math.inf
        self.epoch_losses = []

    def snapshot(self, elapsed: float = 0.0) -> LoopState:
        """The state as a :class:`LoopState` (shares the arrays; encode it before going on).

        Parameters
        ----------
        elapsed : float
            Seconds the run has spent in all, saved with the state.
        """
        return LoopState(
            k=self.k,
            theta=self.theta,
            opt_state=self.opt_state,
            recorder=self.recorder,
            loss0=self.loss0,
            grad0=self.grad0,
            prev_loss=self.prev_loss,
            calm=self.calm,
            flips=self.flips,
            sep_mark=self.sep_mark,
            sep_loss=self.sep_loss,
            sep_norm=self.sep_norm,
            grad_low=self.grad_low,
            last_low=self.last_low,
            low_gap=self.low_gap,
            prev_grad=self.prev_grad,
            rising=self.rising,
            best_theta=self.best_theta,
            best_loss=self.best_loss,
            epoch_losses=self.epoch_losses,
            lr_ls=self.lr_ls,
            last_lr=self.last_lr,
            sampler=None if self.sampler is None else self.sampler.state_dict(),
            elapsed=elapsed,
            delta=self.delta,
            avg_theta=self.avg_theta,
            avg_count=self.avg_count,
            stage_end=self.stage_end,
            stage_delta=self.stage_delta,
        )


def _norm(x: Any) -> float:
    """‖x‖₂ as a float: ``np.linalg.norm(x)`` bit for bit (it is √(x·x) for a real vector),
    without its per-call checks for the float64 vectors the loop sees every step."""
    if type(x) is np.ndarray and x.dtype == np.float64 and x.ndim == 1:
        return math.sqrt(float(x.dot(x)))
    return float(np.linalg.norm(x))


def _state_norms(state: Any) -> dict[str, float]:
    return state_norms(state)
