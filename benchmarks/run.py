"""Ratio benchmarks: descend against NumPy, scikit-learn and PyTorch, and against the machine.

Run ``python -m benchmarks.run`` (full: ≤ 15 minutes, < 24 GiB) or ``--quick`` (CI smoke,
tiny sizes, < 1 minute). Writes ``benchmarks/results/bench-<time>.{md,json}`` and prints the
Markdown.

Every least-squares problem reports, per method: seconds to reach a relative excess loss
(L − L*)/L* ≤ 1e-6 ("never" when it does not), the final excess, the peak memory it
allocated, and two ratios: to the *physical reference* measured in the same run on the same
array (one X.T@X pass), and to descend's time. Ratios, not seconds, are the headline.

L* comes from the normal equations solved in float64 and refined once on the float64
residual (one extra pass; its error is second order in the solution's), independently of
descend's code.

Budgets (so that the full run fits in 15 minutes on 2 cores):

- scikit-learn's SGDRegressor: defaults, and the best ``eta0`` of :data:`SGD_ETA0` chosen on
  the first :data:`GRID_ROWS` rows of each problem (lowest excess there), then run once at
  full size with that ``eta0``;
- numpy.linalg.lstsq, LinearRegression and SGDRegressor run at full size when a run on the
  first :data:`GRID_ROWS` rows predicts (linearly in n) at most :data:`CAP` seconds; otherwise
  the row shows that prediction, marked "extrapolated";
- the PyTorch full-batch loop runs for at most :data:`TORCH_BUDGET` seconds; if it has not
  reached the tolerance by then, its time is extrapolated from its per-step time and the
  worst-case gradient-descent rate ρ² = ((κ−1)/(κ+1))² per step (κ of its raw design), and
  marked so.

Threads: ``--threads 1`` (default) limits BLAS (threadpoolctl) and PyTorch to one thread for
every method and for the reference passes alike; on a shared 2-core machine two threads were
up to 10× slower under contention. ``--threads 0`` keeps the libraries' defaults. The
small-problem family (:mod:`benchmarks.small`) and the statistics-pass family
(:mod:`benchmarks.stats_pass`, least squares against one X.T@X and one X @ w, also with
``--busy`` spinning background processes) run at both settings whatever ``--threads`` says.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import dask_cluster, search, small, stats_pass

TARGET = 1e-6
#: the eta0 grid of the tuned SGDRegressor (its other settings stay at their defaults)
SGD_ETA0 = (1e-4, 1e-3, 1e-2, 1e-1)
#: rows of the subsample that picks eta0 and predicts the expensive methods' times
GRID_ROWS = 100_000
#: seconds: a method predicted to take longer is extrapolated, not run
CAP = 30.0
#: seconds for the PyTorch full-batch loop
TORCH_BUDGET = 5.0


def set_threads(threads: int) -> tuple[dict[str, Any], Callable[[], None]]:
    """Limit BLAS and PyTorch to ``threads`` threads (0: library defaults).

    Returns what runs now, and a function that restores the previous limits.
    """
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    torch_before = torch.get_num_threads()
    limits = threadpool_limits(limits=threads) if threads > 0 else None
    if threads > 0:
        torch.set_num_threads(threads)

    def restore() -> None:
        if limits is not None:
            limits.restore_original_limits()
        torch.set_num_threads(torch_before)

    blas = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]
    return {"blas": blas, "torch_threads": torch.get_num_threads()}, restore


def timed(f: Callable[[], Any], trace: bool = False) -> tuple[float, Any, int | None]:
    """(seconds, f(), peak bytes allocated through Python/NumPy during f, if traced)."""
    if trace:
        tracemalloc.start()
    try:
        t0 = time.perf_counter()
        out = f()
        t = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] if trace else None
    finally:
        if trace:
            tracemalloc.stop()
    return t, out, peak


def _best(f: Callable[[], Any], repeat: int = 3) -> float:
    return min(timed(f)[0] for _ in range(repeat))


def make_problem(n: int, d: int, kappa: float, seed: int = 0) -> tuple[Any, Any]:
    """X (n, d) with Gram condition number ≈ kappa after standardising, and y = Xw + 1 + noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if kappa > 1:
        Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        sv = np.geomspace(1.0, kappa**-0.5, d)
        M = (Q * sv) @ Q.T
        for i in range(0, n, 1 << 16):  # in place, blockwise: no second copy of X
            X[i : i + (1 << 16)] = X[i : i + (1 << 16)] @ M
        X /= X[:10000].std(axis=0)
    w = rng.standard_normal(d)
    y = X @ w + 1.0 + 0.5 * rng.standard_normal(n)
    return X, y


def optimum(X: Any, y: Any) -> tuple[Any, float, float]:
    """(θ* = [w, b], L*, κ of the raw design [X, 1]) by refined normal equations."""
    n = X.shape[0]
    s = X.sum(axis=0)
    G = np.empty((X.shape[1] + 1,) * 2)
    G[:-1, :-1] = X.T @ X
    G[:-1, -1] = G[-1, :-1] = s
    G[-1, -1] = n

    def rhs(r: Any) -> Any:
        return np.append(X.T @ r, r.sum())

    theta = np.linalg.solve(G, rhs(y))
    for _ in range(2):  # refinement on the float64 residual
        r = y - (X @ theta[:-1] + theta[-1])
        theta = theta + np.linalg.solve(G, rhs(r))
    r = y - (X @ theta[:-1] + theta[-1])
    lam = np.linalg.eigvalsh(G / n)
    return theta, float(r @ r) / n, float(lam[-1] / lam[0])


def mse(X: Any, y: Any, coef: Any, intercept: float) -> float:
    r = y - (X @ np.asarray(coef, dtype=np.float64) + intercept)
    return float(r @ r) / len(y)


def _row(method: str, t: float | None, excess: float | None, **extra: Any) -> dict[str, Any]:
    """One method's result; ``time_to_target`` is None ("never") unless excess ≤ TARGET."""
    reached = t is not None and excess is not None and excess <= TARGET
    return {
        "method": method,
        "seconds": t,
        "time_to_target": t if reached else None,
        "excess": excess,
        "how": extra.pop("how", "measured"),
        **extra,
    }


# ---------------------------------------------------------------------------------------------
# the methods
# ---------------------------------------------------------------------------------------------
def sgd(X: Any, y: Any, eta0: float | None) -> Any:
    from sklearn.linear_model import SGDRegressor

    m = SGDRegressor() if eta0 is None else SGDRegressor(eta0=eta0)
    return m.fit(X, y)


def linreg(X: Any, y: Any) -> Any:
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(X, y)


def lstsq(X: Any, y: Any) -> Any:
    A = np.empty((X.shape[0], X.shape[1] + 1))
    A[:, :-1] = X
    A[:, -1] = 1.0
    return np.linalg.lstsq(A, y, rcond=None)[0]


def _coef(model: Any) -> tuple[Any, float]:
    """(coef, intercept) of a fitted estimator or an lstsq solution."""
    if isinstance(model, np.ndarray):
        return model[:-1], float(model[-1])
    return model.coef_, float(np.ravel(model.intercept_)[0])


def capped(
    name: str, run: Callable[[Any, Any], Any], X: Any, y: Any, Lstar: float, quick: bool
) -> dict[str, Any]:
    """Run a method at full size, or extrapolate it from GRID_ROWS rows when that predicts
    more than CAP seconds (its excess is then unknown)."""
    n = X.shape[0]
    if n > GRID_ROWS and not quick:
        t_sub, _, _ = timed(lambda: run(X[:GRID_ROWS], y[:GRID_ROWS]))
        predicted = t_sub * n / GRID_ROWS
        if predicted > CAP:
            return _row(name, predicted, None, how=f"extrapolated ×{n / GRID_ROWS:g} from "
                        f"{GRID_ROWS:.0e} rows ({t_sub:.3g} s)", peak_bytes=None)  # fmt: skip
    t, model, peak = timed(lambda: run(X, y), trace=True)
    coef, b = _coef(model)
    ex = (mse(X, y, coef, b) - Lstar) / Lstar
    extra: dict[str, Any] = {"peak_bytes": peak}
    if hasattr(model, "n_iter_"):
        extra["epochs"] = int(model.n_iter_)
    return _row(name, t, ex, **extra)


def best_eta0(X: Any, y: Any) -> tuple[float, list[dict[str, float]]]:
    """The eta0 of SGD_ETA0 with the lowest excess on the first GRID_ROWS rows."""
    Xs, ys = X[:GRID_ROWS], y[:GRID_ROWS]
    _, Ls, _ = optimum(Xs, ys)
    trials = []
    for e in SGD_ETA0:
        t, m, _ = timed(lambda e=e: sgd(Xs, ys, e))
        c, b = _coef(m)
        ex = (mse(Xs, ys, c, b) - Ls) / Ls
        trials.append({"eta0": e, "excess": ex if math.isfinite(ex) else math.inf, "seconds": t})
    return min(trials, key=lambda r: r["excess"])["eta0"], trials


def torch_full(X: Any, y: Any, Lstar: float, budget: float) -> dict[str, Any]:
    """Plain PyTorch full-batch GD (float64, autograd) on the raw X at its best constant rate
    2/(λ_min + λ_max); extrapolated past the budget (see the module docstring)."""
    import torch

    A = np.column_stack([X[:20000], np.ones(min(len(y), 20000))])
    lam = np.linalg.eigvalsh(2 * A.T @ A / A.shape[0])
    lr = 2.0 / (lam[0] + lam[-1])
    kappa = lam[-1] / lam[0]
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    t0 = time.perf_counter()
    steps, reached, ex = 0, None, math.inf
    while time.perf_counter() - t0 < budget:
        loss = ((Xt @ w + b - yt) ** 2).mean()
        ex = (float(loss.detach()) - Lstar) / Lstar
        if ex <= TARGET:
            reached = time.perf_counter() - t0
            break
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
            w.grad.zero_()
            b.grad.zero_()
        steps += 1
    elapsed = time.perf_counter() - t0
    step = elapsed / max(steps, 1)
    if reached is not None:
        return _row("PyTorch full-batch GD loop", reached, ex, steps=steps, step_seconds=step)
    rho = (kappa - 1.0) / (kappa + 1.0)
    more = math.log(max(ex, TARGET) / TARGET) / (-2.0 * math.log(rho)) if rho > 0 else 0.0
    est = elapsed + more * step
    return _row(
        "PyTorch full-batch GD loop", est, TARGET, steps=steps, step_seconds=step,
        how=f"extrapolated: {steps} steps in {elapsed:.1f} s reached excess {ex:.2g}; "
        f"≈{more:.3g} more at ρ² per step (κ = {kappa:.3g})", final_excess_measured=ex,
    )  # fmt: skip


def _descend_float32(X: Any, y: Any, tol: float, ex_of: Callable[[Any], float]) -> dict[str, Any]:
    """descend on a float32 copy of X (the copy is not timed: the user holds float32 data)."""
    X32 = X.astype(np.float32)
    t, res, _ = timed(lambda: descend_fit(X32, y, tol))
    _, _, peak = timed(lambda: descend_fit(X32, y, tol), trace=True)
    return _row("descend gd, lr='auto', X stored float32", t, ex_of(res), steps=res.n_steps,
                peak_bytes=peak, preconditioner=res.settings.get("preconditioner"),
                X_bytes=X32.nbytes)  # fmt: skip


def descend_fit(X: Any, y: Any, tol: float, **kw: Any) -> Any:
    import descend as ds

    return ds.fit(X, y, learning_rate="auto", tol=tol, max_steps=200_000, **kw)


# ---------------------------------------------------------------------------------------------
# the problems
# ---------------------------------------------------------------------------------------------
def least_squares_problem(n: int, d: int, kappa: float, quick: bool) -> dict[str, Any]:
    X, y = make_problem(n, d, kappa)
    w = np.ones(d)
    t_xw = _best(lambda: X @ w)
    t_xtx = _best(lambda: X.T @ X)
    _, Lstar, kappa_raw = optimum(X, y)
    tol = 1e-9 if kappa <= 10 else 1e-12
    rows: list[dict[str, Any]] = []

    def ex_of(res: Any) -> float:
        return (mse(X, y, res.coef, res.intercept) - Lstar) / Lstar

    for label, kw in (("descend gd, lr='auto'", {}), ("descend momentum, lr='auto'",
                                                      {"optimizer": "momentum"})):  # fmt: skip
        descend_fit(X, y, tol, **kw)  # warm-up (imports, caches): timings are of a second call
        t, res, _ = timed(lambda kw=kw: descend_fit(X, y, tol, **kw))
        _, _, peak = timed(lambda kw=kw: descend_fit(X, y, tol, **kw), trace=True)
        rows.append(_row(label, t, ex_of(res), steps=res.n_steps, peak_bytes=peak,
                         preconditioner=res.settings.get("preconditioner")))  # fmt: skip
    rows.append(_descend_float32(X, y, tol, ex_of))
    rows.append(capped("numpy.linalg.lstsq", lstsq, X, y, Lstar, quick))
    rows.append(capped("sklearn LinearRegression", linreg, X, y, Lstar, quick))
    rows.append(capped("sklearn SGDRegressor (defaults)", lambda a, b: sgd(a, b, None), X, y,
                       Lstar, quick))  # fmt: skip
    eta0, trials = best_eta0(X, y)
    rows.append(capped(f"sklearn SGDRegressor (eta0={eta0:g}, best of grid)",
                       lambda a, b: sgd(a, b, eta0), X, y, Lstar, quick))  # fmt: skip
    rows.append(torch_full(X, y, Lstar, 0.5 if quick else TORCH_BUDGET))
    return {
        "problem": f"least squares {n:.0e}×{d}, κ≈{kappa:g}",
        "n": n,
        "d": d,
        "kappa_target": kappa,
        "kappa_raw": kappa_raw,
        "X_bytes": X.nbytes,
        "t_Xw": t_xw,
        "t_XtX": t_xtx,
        "L_star": Lstar,
        "sgd_grid": trials,
        "rows": rows,
    }


def huber_problem(n: int, d: int, quick: bool) -> dict[str, Any]:
    import torch

    import descend as ds
    from descend.problems.fastfit import make_objective
    from descend.problems.models import Linear

    X, y = make_problem(n, d, 1.0, seed=1)
    y[::50] += 50.0  # outliers
    XF = np.asfortranarray(X)
    del X
    w, r = np.ones(d), np.ones(n)
    t_two = _best(lambda: (XF @ w, XF.T @ r))
    obj = make_objective(Linear(), "huber", XF, y)
    th = np.zeros(d + 1)
    obj.value_and_grad(th)
    t_step = _best(lambda: obj.value_and_grad(th), repeat=5)
    t_step32, t_two32 = _huber_float32(XF, y, th)
    Xt, yt = torch.from_numpy(XF), torch.from_numpy(y)
    wt = torch.zeros(d + 1, dtype=torch.float64, requires_grad=True)

    def torch_step() -> None:
        loss = torch.nn.functional.huber_loss(Xt @ wt[:d] + wt[d], yt)
        loss.backward()
        wt.grad = None

    t_torch = _best(torch_step)
    t_fit, res, _ = timed(
        lambda: ds.fit(XF, y, loss="huber", learning_rate="auto", tol=1e-10,
                       max_steps=2000 if quick else 60)
    )  # fmt: skip
    return {
        "problem": f"Huber {n:.0e}×{d} (Fortran-ordered X)",
        "t_two_colmajor_passes": t_two,
        "descend_step": t_step,
        "torch_step": t_torch,
        "step_ratio": t_step / t_two,
        "torch_over_descend": t_torch / t_step,
        "descend_step_float32": t_step32,
        "t_two_colmajor_passes_float32": t_two32,
        "fit_seconds": t_fit,
        "fit_steps": res.n_steps,
        "stop": res.stop_reason,
    }


def _huber_float32(XF: Any, y: Any, th: Any) -> tuple[float, float]:
    """(descend Huber step, two column-major passes), X stored float32 (Fortran order)."""
    from descend.problems.fastfit import make_objective
    from descend.problems.models import Linear

    XF32 = XF.astype(np.float32, order="F")
    obj32 = make_objective(Linear(), "huber", XF32, y)
    obj32.value_and_grad(th)
    w32, r32 = np.ones(XF.shape[1], dtype=np.float32), np.ones(XF.shape[0], dtype=np.float32)
    return (
        _best(lambda: obj32.value_and_grad(th), repeat=5),
        _best(lambda: (XF32 @ w32, XF32.T @ r32)),
    )


def _torch_epoch(X: Any, y: Any, lr: float, batch: int) -> float:
    """Seconds for one epoch of a PyTorch mini-batch SGD loop (randperm, index, step)."""
    import torch

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr)
    t0 = time.perf_counter()
    perm = torch.randperm(X.shape[0])
    for i in range(0, X.shape[0], batch):
        idx = perm[i : i + batch]
        loss = ((Xt[idx] @ w + b - yt[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def _descend_epoch(X: Any, y: Any, batch: int, sampling: str) -> dict[str, float]:
    """The second epoch of a ``ds.fit`` mini-batch run: wall seconds, process CPU seconds
    (every thread: the reshuffling sampler's prefetch included), and setup + first epoch."""
    import descend as ds

    steps = math.ceil(X.shape[0] / batch)
    marks: list[tuple[float, float]] = []

    def cb(k: int, theta: Any, loss: float) -> None:
        if (k + 1) % steps == 0:
            marks.append((time.perf_counter(), time.process_time()))

    t0 = time.perf_counter()
    ds.fit(X, y, learning_rate=0.01, batch_size=batch, max_steps=2 * steps, tol=0.0,
           sampling=sampling, reference=False, callback=cb)  # fmt: skip
    (w1, c1), (w2, c2) = marks[0], marks[1]
    return {"epoch": w2 - w1, "cpu": c2 - c1, "setup_and_first": w1 - t0}


#: rounds of (descend reshuffle epoch, PyTorch epoch), interleaved: the headline ratio is the
#: median of the per-round ratios
MINIBATCH_ROUNDS = 2


#: spinning background processes of the busy-machine measurements (issue 19: two)
BUSY = 2


def minibatch_problem(n: int, d: int, batch: int, rounds: int = MINIBATCH_ROUNDS) -> dict[str, Any]:
    """Mini-batch epochs (batch ``batch``) of descend's three samplers, a PyTorch loop and a
    NumPy loop on X (n×d). The default sampler and PyTorch are timed in ``rounds``
    interleaved pairs (the ratio is the median of the per-round ratios, each round's load
    average recorded); the other samplers once."""
    X, y = make_problem(n, d, 1.0, seed=2)
    out: dict[str, Any] = {"problem": f"mini-batch epoch {n:.0e}×{d}, batch {batch}"}
    pairs = []
    for _ in range(rounds):
        load = os.getloadavg()[0]
        r = _descend_epoch(X, y, batch, "reshuffle")
        t_torch = _torch_epoch(X, y, 0.01, batch)
        pairs.append({**r, "torch_epoch": t_torch, "ratio": t_torch / r["epoch"], "load": load})
    out["rounds"] = pairs
    med = float(np.median([p["ratio"] for p in pairs]))
    out["torch_epoch"] = float(np.median([p["torch_epoch"] for p in pairs]))
    out["descend_reshuffle_epoch"] = float(np.median([p["epoch"] for p in pairs]))
    out["descend_reshuffle_epoch_cpu"] = float(np.median([p["cpu"] for p in pairs]))
    out["descend_reshuffle_setup_and_first"] = float(np.median([p["setup_and_first"]
                                                                for p in pairs]))  # fmt: skip
    for sampling in ("slices", "contiguous"):
        r = _descend_epoch(X, y, batch, sampling)
        out[f"descend_{sampling}_epoch"] = r["epoch"]
        out[f"descend_{sampling}_epoch_cpu"] = r["cpu"]
        out[f"descend_{sampling}_setup_and_first"] = r["setup_and_first"]
    perm = np.random.default_rng(0).permutation(n)
    Xp, yp = X[perm], y[perm]
    del perm

    def numpy_slices() -> None:
        w = np.zeros(d)
        for i in range(0, n, batch):
            r = Xp[i : i + batch] @ w - yp[i : i + batch]
            w -= 0.01 * (Xp[i : i + batch].T @ r) / len(r)

    out["numpy_contiguous_slices_epoch"] = timed(numpy_slices)[0]
    out["torch_over_reshuffle"] = med
    for sampling in ("slices", "contiguous"):
        out[f"torch_over_{sampling}"] = out["torch_epoch"] / out[f"descend_{sampling}_epoch"]
    # the default sampler and PyTorch once more with the libraries' default thread counts (the
    # rounds above run at the suite's setting, one thread unless --threads says otherwise)
    _, restore = set_threads(os.cpu_count() or 1)
    try:
        load = os.getloadavg()[0]
        r = _descend_epoch(X, y, batch, "reshuffle")
        t_torch = _torch_epoch(X, y, 0.01, batch)
    finally:
        restore()
    out["default_threads"] = {**r, "torch_epoch": t_torch, "ratio": t_torch / r["epoch"],
                              "load": load, "threads": os.cpu_count() or 1}  # fmt: skip
    # the same pair beside two spinning processes (the busy machine), at the suite's
    # thread setting and at the libraries' defaults
    out["busy"] = []
    for default in (False, True):
        restore = None
        if default:
            _, restore = set_threads(os.cpu_count() or 1)
        try:
            with stats_pass.background(BUSY):
                load = os.getloadavg()[0]
                r = _descend_epoch(X, y, batch, "reshuffle")
                t_torch = _torch_epoch(X, y, 0.01, batch)
        finally:
            if restore is not None:
                restore()
        out["busy"].append({**r, "torch_epoch": t_torch, "ratio": t_torch / r["epoch"],
                            "load": load, "busy": BUSY,
                            "threads": "default" if default else "suite"})  # fmt: skip
    return out


def polynomial_problem(n: int, degree: int, quick: bool) -> dict[str, Any]:
    import descend as ds

    rng = np.random.default_rng(3)
    x = rng.uniform(0, 10, n)
    y = np.sin(x) + 0.1 * rng.standard_normal(n)
    V = np.vander(x, degree + 1, increasing=True)
    t_ls, sol, _ = timed(lambda: np.linalg.lstsq(V, y, rcond=None)[0])
    r = y - V @ sol
    out = []
    for spec, scale in (
        (f"poly:{degree}", False),
        (f"poly:{degree}", True),
        (f"poly:{degree}:legendre", True),
        (f"poly:{degree}:chebyshev", True),
    ):
        model = ds.models.get_model(spec)
        model.scale = scale
        t, res, _ = timed(lambda model=model: ds.fit(
            x, y, model=model, learning_rate="auto", tol=1e-13,
            max_steps=2000 if quick else 100_000))  # fmt: skip
        gap = res.loss_gap / res.reference.loss if res.reference else math.nan
        out.append(
            {
                "model": spec + ("" if scale else " (raw, unscaled)"),
                "seconds": t,
                "steps": res.n_steps,
                "kappa": res.settings["conditioning"]["kappa_given"],
                "preconditioner": res.settings.get("preconditioner"),
                "excess": gap,
                "reached": bool(gap <= TARGET),
            }
        )
    return {
        "problem": f"polynomial degree {degree}, x∈[0,10], n={n:.0e}",
        "lstsq_seconds": t_ls,
        "lstsq_loss": float(r @ r) / n,
        "rows": out,
    }


# ---------------------------------------------------------------------------------------------
def warm_up() -> None:
    """Run every method once on a tiny problem (imports and first-call costs are not timed)."""
    X, y = make_problem(3000, 3, 1.0, seed=9)
    _, Ls, _ = optimum(X, y)
    descend_fit(X, y, 1e-9)
    descend_fit(X.astype(np.float32), y, 1e-9)
    lstsq(X, y)
    linreg(X, y)
    sgd(X, y, None)
    torch_full(X, y, Ls, 0.05)
    _torch_epoch(X, y, 0.01, 64)


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "nproc": os.cpu_count(),
    }
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        info["lscpu"] = "\n".join(lscpu.splitlines()[:20])
    except (OSError, subprocess.SubprocessError):
        info["lscpu"] = platform.processor()
    import descend

    info["descend"] = f"{descend.__version__} from {Path(descend.__file__).parent}"
    for mod in ("numpy", "sklearn", "torch", "scipy"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    return info


#: the problem families, in run order (``--only`` selects some)
FAMILIES = (
    "least-squares", "stats-pass", "huber", "minibatch", "polynomial", "small", "search", "dask"
)  # fmt: skip


def run(
    quick: bool = False,
    scale: float = 1.0,
    out: str | Path | None = None,
    threads: int = 1,
    only: tuple[str, ...] | list[str] | None = None,
    busy: tuple[int, ...] = (0, 2),
) -> dict[str, Any]:
    """Run the suite (or only the families named in ``only``, see :data:`FAMILIES`); return
    the results (also written as Markdown and JSON)."""
    chosen = tuple(only) if only else FAMILIES
    unknown = set(chosen) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown problem families {sorted(unknown)}; choose from {FAMILIES}")
    t_start = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "problems": []}
    results["only"] = list(chosen)
    results["threads"], restore = set_threads(threads)
    try:
        _run(results, quick, scale, chosen, busy)
    finally:
        restore()
    results["targets"] = targets(results)
    results["total_seconds"] = time.perf_counter() - t_start
    md = to_markdown(results)
    outdir = Path(out) if out else Path(__file__).parent / "results"
    outdir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + ("-quick" if quick else "")
    if only:
        stamp += "-only-" + "-".join(chosen)
    (outdir / f"bench-{stamp}.md").write_text(md)
    (outdir / f"bench-{stamp}.json").write_text(json.dumps(results, indent=1, default=float))
    print(md)
    return results


def _run(
    results: dict[str, Any],
    quick: bool,
    scale: float,
    chosen: tuple[str, ...] = FAMILIES,
    busy: tuple[int, ...] = (0, 2),
) -> None:
    results["load_start"] = os.getloadavg()
    warm_up()
    if quick:
        ls = [(int(2000 * scale), 10, k) for k in (1.0, 1e4)]
        hub, mb, poly_n = (int(5000 * scale), 10), (int(5000 * scale), 10), int(1000 * scale)
    else:
        ls = [
            (n, d, k)
            for (n, d) in ((100_000, 10), (1_000_000, 10), (1_000_000, 100), (10_000_000, 10))
            for k in (1.0, 1e4)
        ]
        hub, mb, poly_n = (10_000_000, 10), (10_000_000, 10), 100_000
    for n, d, k in ls if "least-squares" in chosen else []:
        print(f"least squares {n}×{d} κ≈{k:g} …", file=sys.stderr, flush=True)
        results["problems"].append(least_squares_problem(n, d, k, quick))
    if "stats-pass" in chosen:
        print("least squares at the memory limit …", file=sys.stderr, flush=True)
        results["stats_pass"] = stats_pass.stats_pass(quick, busy_settings=tuple(busy))
    if "huber" in chosen:
        print("huber …", file=sys.stderr, flush=True)
        results["huber"] = huber_problem(*hub, quick)
    if "minibatch" in chosen:
        print("mini-batch …", file=sys.stderr, flush=True)
        rounds = 1 if quick else MINIBATCH_ROUNDS
        results["minibatch"] = minibatch_problem(*mb, 1024 if not quick else 64, rounds=rounds)
    if "polynomial" in chosen:
        print("polynomials …", file=sys.stderr, flush=True)
        results["polynomial"] = [polynomial_problem(poly_n, deg, quick) for deg in (5, 8)]
    if "small" in chosen:
        print("small problems …", file=sys.stderr, flush=True)
        results["small"] = small.small_problems(quick)
    if "search" in chosen:
        print("grid search …", file=sys.stderr, flush=True)
        results["search"] = search.search(quick)
    if "dask" in chosen:  # issue 19 item 5: a persisted 1e7×10 dask array, 20 chunks
        print("dask (threaded scheduler and LocalCluster) …", file=sys.stderr, flush=True)
        rows = 500_000 if quick else dask_cluster.ARRAY_ROWS  # quick: the kernels still apply
        results["dask"] = dask_cluster.measure_array(rows, repeat=1 if quick else 3)
    results["load_end"] = os.getloadavg()


# ---------------------------------------------------------------------------------------------
def _fmt(v: Any, spec: str = ".3g") -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and math.isnan(v):
        return "–"
    return format(v, spec)


def _row_of(p: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(r for r in p["rows"] if r["method"].startswith(prefix))


def _speedup(row: dict[str, Any], t_descend: float) -> tuple[str, float | None]:
    """(text, value) of a method's time over descend's time to the target."""
    if row["seconds"] is None or not t_descend:
        return "–", None
    ratio = row["seconds"] / t_descend
    if row["how"].startswith("extrapolated"):
        return f"≈{ratio:.3g}", ratio
    if row["time_to_target"] is None:
        return f"> {ratio:.3g}", ratio  # never reached: its whole run is a lower bound
    return f"{ratio:.3g}", ratio


#: allowance of the memory target: X's size × 0.2 plus this many float64 n-vectors
MEMORY_VECTORS = 4


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with its measured ratio and whether it was met."""
    out: list[dict[str, Any]] = []
    for p in r["problems"]:
        dsc = _row_of(p, "descend gd")
        t = dsc["time_to_target"]
        name = p["problem"]
        ratio = t / p["t_XtX"] if t else None
        out.append({"target": "least-squares time to 1e-6 ≤ 1.5× one X.T@X", "problem": name,
                    "measured": ratio, "met": ratio is not None and ratio <= 1.5})  # fmt: skip
        sgd_row = _row_of(p, "sklearn SGDRegressor (defaults)")
        _, v = _speedup(sgd_row, t or math.nan)
        out.append({"target": "≥ 10× faster than SGDRegressor (defaults)", "problem": name,
                    "measured": v, "met": v is not None and v >= 10,
                    "note": "defaults reach 1e-6: "
                    + ("yes" if sgd_row["time_to_target"] else "no")})  # fmt: skip
        tr = _row_of(p, "PyTorch full-batch")
        _, v = _speedup(tr, t or math.nan)
        out.append({"target": "≥ 3× faster than the PyTorch full-batch loop", "problem": name,
                    "measured": v, "met": v is not None and v >= 3,
                    "note": tr["how"].split(":")[0]})  # fmt: skip
        peak = dsc["peak_bytes"] or 0
        allowance = 0.2 * p["X_bytes"] + MEMORY_VECTORS * 8 * p["n"]
        out.append({"target": "peak memory ≤ 1.2× X + O(n)", "problem": name,
                    "measured": (p["X_bytes"] + peak) / p["X_bytes"], "met": peak <= allowance,
                    "note": f"extra = {peak / (8 * p['n']):.2f} n-vectors"})  # fmt: skip
    h = r.get("huber")
    if h is not None:
        out.append({"target": "Huber full-batch step ≤ 1.3× two column-major passes",
                    "problem": h["problem"], "measured": h["step_ratio"],
                    "met": h["step_ratio"] <= 1.3})  # fmt: skip
    b = r.get("minibatch")
    for s in ("reshuffle", "slices", "contiguous") if b is not None else ():
        v = b[f"torch_over_{s}"]
        out.append({"target": "mini-batch epoch ≥ 5× faster than the PyTorch loop",
                    "problem": f"{b['problem']}, sampling='{s}'", "measured": v,
                    "met": v >= 5})  # fmt: skip
    dt = None if b is None else b.get("default_threads")
    if dt is not None:
        out.append({"target": "mini-batch epoch ≥ 5× faster than the PyTorch loop",
                    "problem": f"{b['problem']}, sampling='reshuffle', default threads",
                    "measured": dt["ratio"], "met": dt["ratio"] >= 5})  # fmt: skip
    for bz in [] if b is None else b.get("busy", []):
        threads = "default threads" if bz["threads"] == "default" else "suite threads"
        out.append({"target": "mini-batch epoch ≥ 5× faster than the PyTorch loop",
                    "problem": f"{b['problem']}, sampling='reshuffle', {threads}, "
                    f"{bz['busy']} busy processes",
                    "measured": bz["ratio"], "met": bz["ratio"] >= 5})  # fmt: skip
    if "stats_pass" in r:
        out += stats_pass.targets(r["stats_pass"])
    if "small" in r:
        out += small.targets(r["small"])
    if "search" in r:
        out += search.targets(r["search"])
    if "dask" in r:
        out += dask_cluster.array_targets(r["dask"])
    return out


def minibatch_markdown(b: dict[str, Any]) -> list[str]:
    """The mini-batch family's section (heading, method, table) from its result."""
    rounds = b.get("rounds", [])
    lines = [
        "",
        "## Mini-batch epoch",
        "",
        f"{b['problem']} (the second epoch of a run; setup = the one-pass statistics and the "
        "first epoch; CPU = process CPU seconds over the epoch, all threads). The default "
        f"sampler and the PyTorch loop ran in {len(rounds) or 1} interleaved rounds: their times "
        "are medians and their ratio the median of the per-round ratios "
        + ", ".join(f"{p['ratio']:.2f}× (load {p['load']:.1f})" for p in rounds)
        + ".",
        "",
        "| method | epoch s | CPU s | PyTorch loop ÷ this | setup + first epoch s |",
        "|---|---|---|---|---|",
    ]
    for s in ("reshuffle", "slices", "contiguous"):
        lines.append(
            f"| descend, sampling='{s}' | {_fmt(b[f'descend_{s}_epoch'])} | "
            f"{_fmt(b.get(f'descend_{s}_epoch_cpu'))} | "
            f"**{b[f'torch_over_{s}']:.2f}×** | {_fmt(b[f'descend_{s}_setup_and_first'])} |"
        )
    lines += [
        f"| PyTorch loop (randperm, index, autograd, SGD step) | {_fmt(b['torch_epoch'])} | | 1 "
        "| |",
        "| NumPy loop over contiguous slices of a pre-shuffled copy | "
        f"{_fmt(b['numpy_contiguous_slices_epoch'])} | | "
        f"{b['torch_epoch'] / b['numpy_contiguous_slices_epoch']:.2f}× | |",
    ]
    dt = b.get("default_threads")
    if dt is not None:
        lines += [
            "",
            f"At the libraries' default thread counts ({dt['threads']} BLAS and PyTorch threads; "
            f"one interleaved pair, load {dt['load']:.1f}): descend's default sampler "
            f"{_fmt(dt['epoch'])} s per epoch, the PyTorch loop {_fmt(dt['torch_epoch'])} s: "
            f"**{dt['ratio']:.2f}×**.",
        ]
    for bz in b.get("busy", []):
        threads = "the libraries' default" if bz["threads"] == "default" else "the suite's"
        lines += [
            "",
            f"Beside {bz['busy']} spinning processes, at {threads} thread setting (one "
            f"interleaved pair, load {bz['load']:.1f}): descend's default sampler "
            f"{_fmt(bz['epoch'])} s per epoch, the PyTorch loop {_fmt(bz['torch_epoch'])} s: "
            f"**{bz['ratio']:.2f}×**.",
        ]
    return lines


def to_markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [f"# descend benchmarks{' (quick)' if r['quick'] else ''}", ""]
    if r["quick"]:
        lines += ["Quick mode: tiny sizes (smoke test only; the ratios mean nothing here).", ""]
    la, lb = r["load_start"], r["load_end"]
    lines += [
        "```",
        m["lscpu"],
        f"nproc {m['nproc']}; python {m['python']}, numpy {m['numpy']}, scikit-learn "
        f"{m['sklearn']}, torch {m['torch']}, scipy {m['scipy']}",
        f"descend {m['descend']}",
        f"threads: {r['threads']}",
        f"problem families: {', '.join(r.get('only', FAMILIES))}",
        f"load average at start {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}, at end "
        f"{lb[0]:.2f} {lb[1]:.2f} {lb[2]:.2f}; total {r['total_seconds']:.0f} s",
        "```",
        "",
        "## Least squares: time to 1e-6 relative excess loss",
        "",
        "×X.T@X: time over one X.T@X pass on the same array in the same run. ×descend: the "
        'method\'s time over descend gd\'s ("> ": never reached 1e-6, its whole run; "≈": '
        "extrapolated). Peak: bytes allocated during the call (tracemalloc; PyTorch's allocator "
        "is not traced) over the size of X.",
        "",
        "| problem | X.T@X s | X@w s | method | time to 1e-6 s | ×X.T@X | ×descend | "
        "final excess | peak / X | notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in r["problems"]:
        head = f"{p['problem']} (κ={_fmt(p['kappa_raw'])})"
        t_d = _row_of(p, "descend gd")["time_to_target"]
        for i, row in enumerate(p["rows"]):
            extrap = row["how"].startswith("extrapolated")
            if row["time_to_target"] is not None:
                tt = ("≈" if extrap else "") + _fmt(row["time_to_target"])
                rx = ("≈" if extrap else "") + _fmt(row["time_to_target"] / p["t_XtX"], ".3g")
            elif row["seconds"] is None:
                tt, rx = "–", "–"
            else:
                tt = ("≈" if extrap else "") + f"never (ran {_fmt(row['seconds'])} s)"
                rx = "–"
            sp, _ = _speedup(row, t_d) if t_d else ("–", None)
            if row["method"].startswith("descend gd, lr='auto'") and "float32" not in row["method"]:
                sp = "1"
            ex = row.get("final_excess_measured", row["excess"]) if extrap else row["excess"]
            ex_s = _fmt(ex, ".1e") + (" (measured at stop)" if extrap and ex else "")
            xb = row.get("X_bytes", p["X_bytes"])
            peak = "–" if row.get("peak_bytes") is None else f"{(xb + row['peak_bytes']) / xb:.2f}"
            notes = []
            if row.get("preconditioner"):
                notes.append(f"preconditioner {row['preconditioner']}, {row['steps']} steps")
            if "epochs" in row:
                notes.append(f"{row['epochs']} epochs")
            if row["how"] != "measured":
                notes.append(row["how"])
            lines.append(
                f"| {head if i == 0 else ''} | {_fmt(p['t_XtX']) if i == 0 else ''} | "
                f"{_fmt(p['t_Xw']) if i == 0 else ''} | {row['method']} | {tt} | {rx} | {sp} | "
                f"{ex_s} | {peak} | {'; '.join(notes)} |"
            )
    h = r.get("huber")
    lines += (
        []
        if h is None
        else [
            "",
            "## General full-batch step (Huber)",
            "",
            f"{h['problem']}: descend step {_fmt(h['descend_step'])} s = "
            f"**{h['step_ratio']:.2f}×** two column-major passes X@w, Xᵀr "
            f"({_fmt(h['t_two_colmajor_passes'])} s); PyTorch autograd step "
            f"{_fmt(h['torch_step'])} s "
            f"(**{h['torch_over_descend']:.1f}×** descend's). X stored float32: step "
            f"{_fmt(h['descend_step_float32'])} s (two float32 passes "
            f"{_fmt(h['t_two_colmajor_passes_float32'])} s). Full fit (lr 'auto', at most 60 "
            f"steps): {_fmt(h['fit_seconds'])} s, "
            f"{h['fit_steps']} steps, {h['stop']}.",
        ]
    )
    b = r.get("minibatch")
    lines += [] if b is None else minibatch_markdown(b)
    lines += (
        []
        if "polynomial" not in r
        else [
            "",
            "## Polynomials (learning_rate='auto')",
            "",
            "| problem | basis | κ | preconditioner | steps | time s | final excess | "
            "reached 1e-6 |",
            "|---|---|---|---|---|---|---|---|",
        ]
    )
    for p in r.get("polynomial", []):
        for i, row in enumerate(p["rows"]):
            head = f"{p['problem']} (lstsq {_fmt(p['lstsq_seconds'])} s)" if i == 0 else ""
            lines.append(
                f"| {head} | {row['model']} | {_fmt(row['kappa'], '.2g')} | "
                f"{row['preconditioner']} | {row['steps']} | {_fmt(row['seconds'])} | "
                f"{_fmt(row['excess'], '.1e')} | {row['reached']} |"
            )
    if "stats_pass" in r:
        lines += stats_pass.to_markdown(r["stats_pass"])
    if "small" in r:
        lines += small.to_markdown(r["small"])
    if "search" in r:
        lines += search.to_markdown(r["search"])
    if "dask" in r:
        lines += ["", "## Dask: a persisted dask array, fit against one read", ""]
        lines += [dask_cluster.array_markdown(r["dask"])]
    lines += ["", "## Targets", "", "| target | problem | measured | met | notes |",
              "|---|---|---|---|---|"]  # fmt: skip
    for t in r["targets"]:
        lines.append(
            f"| {t['target']} | {t['problem']} | {_fmt(t['measured'], '.3g')} | "
            f"{'yes' if t['met'] else 'no'} | {t.get('note', '')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny sizes, < 1 minute (CI smoke)")
    p.add_argument("--out", help="output folder (default benchmarks/results)")
    p.add_argument("--threads", type=int, default=1, help="BLAS/PyTorch threads (0: defaults)")
    p.add_argument(
        "--busy",
        nargs="+",
        type=int,
        default=[0, 2],
        metavar="N",
        help="stats-pass family: background spinning processes per case (0 2)",
    )
    p.add_argument("--only", nargs="+", choices=FAMILIES, metavar="FAMILY",
                   help=f"run only these problem families ({', '.join(FAMILIES)})")  # fmt: skip
    args = p.parse_args(argv)
    run(quick=args.quick, out=args.out, threads=args.threads, only=args.only,
        busy=tuple(args.busy))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
