"""Ratio benchmarks: descend against NumPy, scikit-learn and PyTorch, and against the machine.

Run ``python -m benchmarks.run`` (full, ~10 minutes, < 24 GiB) or ``--quick`` (CI smoke, tiny
sizes, < 1 minute). Writes ``benchmarks/results/bench-<time>.{md,json}`` and prints the table.

Every problem reports, per method: seconds to reach a relative excess loss
(L − L*)/L* ≤ 1e-6 ("never" when it does not within its budget), the final excess, and the
ratio to the *physical reference* measured in the same run on the same array: one pass
X@w and one X.T@X. Ratios, not seconds, are the headline. L* is NumPy's lstsq optimum.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

TARGET = 1e-6
#: the eta0 grid of the "tuned" SGDRegressor (learning_rate="invscaling", its default)
SGD_ETA0 = (1e-4, 1e-3, 1e-2)


def _best(f: Callable[[], Any], repeat: int = 3) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


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


def lstsq_optimum(X: Any, y: Any) -> tuple[Any, float]:
    """Exact optimum (intercept last) and L* by lstsq on [X, 1]."""
    A = np.empty((X.shape[0], X.shape[1] + 1))
    A[:, :-1] = X
    A[:, -1] = 1.0
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    r = y - A @ coef
    return coef, float(r @ r) / len(y)


def mse(X: Any, y: Any, coef: Any, intercept: float) -> float:
    r = y - (X @ coef + intercept)
    return float(r @ r) / len(y)


def _row(method: str, t: float | None, excess: float, ref: float, **extra: Any) -> dict[str, Any]:
    reached = t is not None and excess <= TARGET
    return {
        "method": method,
        "seconds": t,
        "time_to_target": t if reached else None,
        "excess": excess,
        "ratio_to_XtX": (t / ref) if (reached and t is not None) else None,
        **extra,
    }


# ---------------------------------------------------------------------------------------------
def bench_descend(
    X: Any, y: Any, Lstar: float, tol: float, max_steps: int = 200_000
) -> tuple[float, float, Any]:
    import descend as ds

    t0 = time.perf_counter()
    res = ds.fit(X, y, learning_rate="auto", tol=tol, max_steps=max_steps, reference=True)
    t = time.perf_counter() - t0
    return t, (mse(X, y, res.coef, res.intercept) - Lstar) / Lstar, res


def bench_sgd(X: Any, y: Any, Lstar: float, eta0: float | None) -> tuple[float, float]:
    from sklearn.linear_model import SGDRegressor

    m = SGDRegressor() if eta0 is None else SGDRegressor(eta0=eta0)
    t0 = time.perf_counter()
    m.fit(X, y)
    t = time.perf_counter() - t0
    return t, (mse(X, y, m.coef_, float(m.intercept_[0])) - Lstar) / Lstar


def bench_linreg(X: Any, y: Any, Lstar: float) -> tuple[float, float]:
    from sklearn.linear_model import LinearRegression

    t0 = time.perf_counter()
    m = LinearRegression().fit(X, y)
    t = time.perf_counter() - t0
    return t, (mse(X, y, m.coef_, float(m.intercept_)) - Lstar) / Lstar


def bench_torch_full(X: Any, y: Any, Lstar: float, lr: float, budget: float) -> dict[str, Any]:
    """Plain PyTorch full-batch GD (float64, autograd) at descend's best rate on raw X."""
    import torch

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    t0 = time.perf_counter()
    steps, reached, loss_v = 0, None, math.inf
    while time.perf_counter() - t0 < budget:
        loss = ((Xt @ w + b - yt) ** 2).mean()
        loss_v = float(loss)
        if (loss_v - Lstar) / Lstar <= TARGET:
            reached = time.perf_counter() - t0
            break
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
            w.grad.zero_()
            b.grad.zero_()
        steps += 1
    t = time.perf_counter() - t0
    return {"t": reached, "excess": (loss_v - Lstar) / Lstar, "step": t / max(steps, 1)}


def bench_torch_minibatch(X: Any, y: Any, lr: float, batch: int, epochs: int = 1) -> float:
    """Seconds per epoch of a PyTorch mini-batch SGD loop (randperm, index, step)."""
    import torch

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr)
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(X.shape[0])
        for i in range(0, X.shape[0], batch):
            idx = perm[i : i + batch]
            loss = ((Xt[idx] @ w + b - yt[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return (time.perf_counter() - t0) / epochs


def peak_extra_bytes(f: Callable[[], Any]) -> int:
    """Peak bytes NumPy allocated during f() (tracemalloc; X itself excluded)."""
    tracemalloc.start()
    try:
        f()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------------------------------------
def least_squares_problem(n: int, d: int, kappa: float, quick: bool) -> dict[str, Any]:
    import descend as ds

    X, y = make_problem(n, d, kappa)
    t_xw = _best(lambda: X @ np.ones(d))
    t_xtx = _best(lambda: X.T @ X)
    _, Lstar = lstsq_optimum(X, y)
    rows: list[dict[str, Any]] = []
    tol = 1e-9 if kappa <= 10 else 1e-12
    t, ex, res = bench_descend(X, y, Lstar, tol, 5000 if quick else 200_000)
    adv = res.advice
    rows.append(_row("descend gd (auto lr)", t, ex, t_xtx, steps=res.n_steps))
    t_ls = _best(lambda: lstsq_optimum(X, y), repeat=1)
    rows.append(_row("numpy.linalg.lstsq", t_ls, 0.0, t_xtx))
    t, ex = bench_linreg(X, y, Lstar)
    rows.append(_row("sklearn LinearRegression", t, ex, t_xtx))
    t, ex = bench_sgd(X, y, Lstar, None)
    rows.append(_row("sklearn SGDRegressor (defaults)", t, ex, t_xtx))
    if n * d <= 1e7 or quick:
        tuned = [(*bench_sgd(X, y, Lstar, e), e) for e in SGD_ETA0]
        t, ex, e = min(tuned, key=lambda r: r[1])
        rows.append(_row(f"sklearn SGDRegressor (eta0={e:g}, best of grid)", t, ex, t_xtx))
    # PyTorch runs GD on the raw columns at the best rate for them
    A = np.column_stack([X[:20000], np.ones(min(n, 20000))])
    lam = np.linalg.eigvalsh(2 * A.T @ A / A.shape[0])
    lr = 2.0 / (lam[0] + lam[-1])
    tf = bench_torch_full(X, y, Lstar, lr, budget=2.0 if quick else 15.0)
    rows.append(
        _row("PyTorch full-batch GD loop", tf["t"], tf["excess"], t_xtx, step_seconds=tf["step"])
    )
    mem = peak_extra_bytes(
        lambda: ds.fit(X, y, learning_rate="auto", tol=tol, max_steps=res.n_steps + 1)
    )
    return {
        "problem": f"least squares {n:.0e}×{d}, κ≈{kappa:g}",
        "n": n,
        "d": d,
        "kappa_target": kappa,
        "kappa": adv.kappa if adv else None,
        "X_bytes": X.nbytes,
        "t_Xw": t_xw,
        "t_XtX": t_xtx,
        "descend_peak_extra_bytes": mem,
        "descend_peak_ratio": (X.nbytes + mem) / X.nbytes,
        "rows": rows,
    }


def huber_problem(n: int, d: int, quick: bool) -> dict[str, Any]:
    import torch

    import descend as ds
    from descend.models import Linear
    from descend.objective import make_objective

    X, y = make_problem(n, d, 1.0, seed=1)
    y[::50] += 50.0  # outliers
    XF = np.asfortranarray(X)
    del X
    w, r = np.ones(d), np.ones(n)
    t_two = _best(lambda: (XF @ w, XF.T @ r))
    obj = make_objective(Linear(), "huber", XF, y)
    th = np.zeros(d + 1)
    t_step = _best(lambda: obj.value_and_grad(th), repeat=5)
    Xt, yt = torch.from_numpy(XF), torch.from_numpy(y)
    wt = torch.zeros(d + 1, dtype=torch.float64, requires_grad=True)

    def torch_step() -> None:
        loss = torch.nn.functional.huber_loss(Xt @ wt[:d] + wt[d], yt)
        loss.backward()

    t_torch = _best(torch_step)
    t0 = time.perf_counter()
    res = ds.fit(XF, y, loss="huber", learning_rate="auto", tol=1e-10, max_steps=2000)
    t_fit = time.perf_counter() - t0
    return {
        "problem": f"Huber {n:.0e}×{d} (Fortran-ordered X)",
        "t_two_colmajor_passes": t_two,
        "descend_step": t_step,
        "torch_step": t_torch,
        "step_ratio": t_step / t_two,
        "torch_over_descend": t_torch / t_step,
        "fit_seconds": t_fit,
        "fit_steps": res.n_steps,
        "stop": res.stop_reason,
    }


def minibatch_problem(n: int, d: int, batch: int) -> dict[str, Any]:
    import descend as ds

    X, y = make_problem(n, d, 1.0, seed=2)
    steps = math.ceil(n / batch)
    res = ds.fit(X, y, learning_rate=0.01, batch_size=batch, max_steps=steps, tol=0.0)
    t_descend = res.wall_time
    perm = np.random.default_rng(0).permutation(n)
    Xp, yp = X[perm], y[perm]

    def numpy_slices() -> None:
        w = np.zeros(d)
        for i in range(0, n, batch):
            r = Xp[i : i + batch] @ w - yp[i : i + batch]
            w -= 0.01 * (Xp[i : i + batch].T @ r) / len(r)

    t_np = _best(numpy_slices, repeat=1)
    t_torch = bench_torch_minibatch(X, y, 0.01, batch)
    return {
        "problem": f"mini-batch epoch {n:.0e}×{d}, batch {batch}",
        "descend_epoch": t_descend,
        "numpy_contiguous_slices_epoch": t_np,
        "torch_epoch": t_torch,
        "torch_over_descend": t_torch / t_descend,
    }


def polynomial_problem(n: int, degree: int, quick: bool) -> dict[str, Any]:
    import descend as ds

    rng = np.random.default_rng(3)
    x = rng.uniform(0, 10, n)
    y = np.sin(x) + 0.1 * rng.standard_normal(n)
    out = []
    for spec, scale in (
        (f"poly:{degree}", False),
        (f"poly:{degree}", True),
        (f"poly:{degree}:legendre", True),
        (f"poly:{degree}:chebyshev", True),
    ):
        model = ds.models.get_model(spec)
        model.scale = scale
        t0 = time.perf_counter()
        res = ds.fit(
            x, y, model=model, learning_rate="auto", tol=1e-13, max_steps=2000 if quick else 100_000
        )
        t = time.perf_counter() - t0
        gap = res.loss_gap / res.reference.loss if res.reference else math.nan
        out.append(
            {
                "model": spec + ("" if scale else " (raw, unscaled)"),
                "seconds": t,
                "steps": res.n_steps,
                "kappa": res.advice.kappa,
                "excess": gap,
                "reached": bool(gap <= TARGET),
            }
        )
    return {"problem": f"polynomial degree {degree}, x∈[0,10], n={n:.0e}", "rows": out}


# ---------------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    import subprocess

    info: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        info["lscpu"] = "\n".join(lscpu.splitlines()[:10])
    except (OSError, subprocess.SubprocessError):
        info["lscpu"] = platform.processor()
    for mod in ("numpy", "sklearn", "torch", "dask"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    return info


def run(quick: bool = False, scale: float = 1.0, out: str | Path | None = None) -> dict[str, Any]:
    """Run the suite; return the results (also written as Markdown and JSON)."""
    import torch

    torch.set_num_threads(2)
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
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "problems": []}
    for n, d, k in ls:
        print(f"least squares {n}×{d} κ≈{k:g} …", file=sys.stderr, flush=True)
        results["problems"].append(least_squares_problem(n, d, k, quick))
    print("huber …", file=sys.stderr, flush=True)
    results["huber"] = huber_problem(*hub, quick)
    print("mini-batch …", file=sys.stderr, flush=True)
    results["minibatch"] = minibatch_problem(*mb, 1024 if not quick else 64)
    results["polynomial"] = [polynomial_problem(poly_n, deg, quick) for deg in (5, 8)]
    md = to_markdown(results)
    outdir = Path(out) if out else Path(__file__).parent / "results"
    outdir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + ("-quick" if quick else "")
    (outdir / f"bench-{stamp}.md").write_text(md)
    (outdir / f"bench-{stamp}.json").write_text(json.dumps(results, indent=1, default=float))
    print(md)
    return results


def _fmt(v: Any, spec: str = ".3g") -> str:
    if v is None:
        return "never"
    if isinstance(v, float) and math.isnan(v):
        return "–"
    return format(v, spec)


def to_markdown(r: dict[str, Any]) -> str:
    lines = [f"# descend benchmarks{' (quick)' if r['quick'] else ''}", ""]
    m = r["machine"]
    lines += [
        "```",
        m["lscpu"],
        f"python {m['python']}, numpy {m['numpy']}, scikit-learn "
        f"{m['sklearn']}, torch {m['torch']}, dask {m['dask']}",
        "```",
        "",
    ]
    lines += [
        "## Least squares: time to 1e-6 relative excess loss, as a ratio to one X.T@X",
        "",
        "| problem | X.T@X s | X@w s | method | time s | ratio to X.T@X | final excess |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in r["problems"]:
        head = f"{p['problem']} (κ={_fmt(p['kappa'])})"
        for i, row in enumerate(p["rows"]):
            lines.append(
                f"| {head if i == 0 else ''} | {_fmt(p['t_XtX']) if i == 0 else ''} | "
                f"{_fmt(p['t_Xw']) if i == 0 else ''} | {row['method']} | "
                f"{_fmt(row['time_to_target'])} | {_fmt(row['ratio_to_XtX'], '.2f')} | "
                f"{_fmt(row['excess'], '.1e')} |"
            )
        lines.append(
            f"| | | | descend peak memory / size of X | | {p['descend_peak_ratio']:.3f} | |"
        )
    h = r["huber"]
    lines += [
        "",
        "## General full-batch step (Huber)",
        "",
        f"{h['problem']}: descend step {_fmt(h['descend_step'])} s = "
        f"**{h['step_ratio']:.2f}×** two column-major passes ({_fmt(h['t_two_colmajor_passes'])}"
        f" s); PyTorch autograd step {_fmt(h['torch_step'])} s "
        f"(**{h['torch_over_descend']:.1f}×** slower); full fit {_fmt(h['fit_seconds'])} s, "
        f"{h['fit_steps']} steps, {h['stop']}.",
    ]
    b = r["minibatch"]
    lines += [
        "",
        "## Mini-batch epoch",
        "",
        f"{b['problem']}: descend {_fmt(b['descend_epoch'])} s, PyTorch loop "
        f"{_fmt(b['torch_epoch'])} s (**{b['torch_over_descend']:.1f}×**), NumPy contiguous "
        f"slices of a pre-shuffled copy {_fmt(b['numpy_contiguous_slices_epoch'])} s.",
    ]
    lines += [
        "",
        "## Polynomials (plain GD at the auto rate)",
        "",
        "| problem | basis | κ | steps | time s | final excess | reached 1e-6 |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in r["polynomial"]:
        for i, row in enumerate(p["rows"]):
            lines.append(
                f"| {p['problem'] if i == 0 else ''} | {row['model']} | "
                f"{_fmt(row['kappa'], '.2g')} | {row['steps']} | {_fmt(row['seconds'])} | "
                f"{_fmt(row['excess'], '.1e')} | {row['reached']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny sizes, < 1 minute (CI smoke)")
    p.add_argument("--out", help="output folder (default benchmarks/results)")
    args = p.parse_args(argv)
    run(quick=args.quick, out=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
