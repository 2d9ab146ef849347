"""A scikit-learn grid search over learning rates: GDRegressor against SGDRegressor.

Issue 19, item 3: ``GridSearchCV(GDRegressor(), {"learning_rate": ["auto", 1e-3, 1e-2, 1e-1]})``
on scikit-learn's diabetes data (442×10, 5-fold) against the same search over SGDRegressor's
rate (``eta0`` ∈ {1e-3, 1e-2, 1e-1}; its other settings default), timed interleaved in one
process at one BLAS thread and at the default, each on the quiet machine and with two spinning
background processes that the benchmark starts and stops itself (the issue's busy machine).
Reported: the time ratio, each search's best score and setting, the cross-validated score of
ordinary least squares (LinearRegression: the best a linear model can score here, an outside
reference) and how each of GDRegressor's candidates stopped on the full data. Beside them, where
Numba is installed, the GD search with the opt-in compiled kernels on
(:func:`descend.problems.fused.switched`; the loop's compiled full-batch pass), interleaved; the
other GD timings run inside ``switched(False)``, the default route.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from typing import Any

GD_GRID = ["auto", 1e-3, 1e-2, 1e-1]
SGD_GRID = [1e-3, 1e-2, 1e-1]


def _searches(max_iter: int | None = None) -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import SGDRegressor
    from sklearn.model_selection import GridSearchCV

    from descend.estimators import GDRegressor

    X, y = load_diabetes(return_X_y=True)
    est = GDRegressor() if max_iter is None else GDRegressor(max_iter=max_iter)
    gd = GridSearchCV(est, {"learning_rate": GD_GRID})
    sgd = GridSearchCV(SGDRegressor(), {"eta0": SGD_GRID})
    return X, y, gd, sgd


def search(
    quick: bool, threads_settings: tuple[int, ...] = (1, 0), busy_settings: tuple[int, ...] = (0, 2)
) -> dict[str, Any]:
    """Both searches at each thread setting (0: the default) and number of spinning background
    processes, ``repeat`` interleaved times."""
    from sklearn.base import clone
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import cross_val_score
    from threadpoolctl import threadpool_limits

    from benchmarks.stats_pass import background
    from descend.problems import fused

    X, y, gd, sgd = _searches(200 if quick else None)
    if quick:  # smoke test: fewer rows, a low step limit
        X, y = X[:120], y[:120]
    repeat = 1 if quick else 3
    out: dict[str, Any] = {"load_start": os.getloadavg(), "cases": []}
    out["ols_score"] = float(cross_val_score(LinearRegression(), X, y).mean())
    compiled = fused.available()
    if compiled:
        with fused.switched(True), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clone(gd).fit(X, y)  # the kernel loaded (or compiled) before timing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the estimators warn when a rate hits its step limit
        out["stops"] = [
            {"learning_rate": lr, "stop_reason": m.stop_reason_, "steps": int(m.n_iter_)}
            for lr in GD_GRID
            for m in [clone(gd.estimator).set_params(learning_rate=lr).fit(X, y)]
        ]
        for threads in threads_settings:
            for busy in busy_settings:
                with background(busy), threadpool_limits(limits=threads or os.cpu_count()):
                    load = os.getloadavg()[0]
                    t_gd, t_sgd, t_comp = [], [], []
                    for _ in range(repeat):
                        a, b = clone(gd), clone(sgd)
                        with fused.switched(False):  # the default route
                            t0 = time.perf_counter()
                            a.fit(X, y)
                            t_gd.append(time.perf_counter() - t0)
                        t0 = time.perf_counter()
                        b.fit(X, y)
                        t_sgd.append(time.perf_counter() - t0)
                        if compiled:  # the opt-in compiled kernels on
                            with fused.switched(True):
                                t0 = time.perf_counter()
                                clone(gd).fit(X, y)
                                t_comp.append(time.perf_counter() - t0)
                ratios = [p / q for p, q in zip(t_gd, t_sgd, strict=True)]
                comp = [p / q for p, q in zip(t_comp, t_sgd, strict=False)]
                out["cases"].append({
                    "threads": threads or "default", "busy": busy, "load": load,
                    "gd_s": min(t_gd), "sgd_s": min(t_sgd), "ratio": statistics.median(ratios),
                    "gd_best": float(a.best_score_),
                    "gd_params": str(a.best_params_["learning_rate"]),
                    "sgd_best": float(b.best_score_), "sgd_params": str(b.best_params_["eta0"]),
                    "gd_compiled_s": min(t_comp) if t_comp else None,
                    "ratio_compiled": statistics.median(comp) if comp else None,
                })  # fmt: skip
    out["load_end"] = os.getloadavg()
    return out


def targets(s: dict[str, Any]) -> list[dict[str, Any]]:
    """Per thread setting: the search no slower than SGDRegressor's, with a better best score."""
    return [
        {"target": "GridSearchCV over learning rates no slower than SGDRegressor's, better score",
         "problem": f"diabetes, threads {c['threads']}, {c['busy']} busy processes",
         "measured": c["ratio"],
         "met": c["ratio"] <= 1.0 and c["gd_best"] > c["sgd_best"],
         "note": f"best scores {c['gd_best']:.4f} vs {c['sgd_best']:.4f}"}
        for c in s["cases"]
    ]  # fmt: skip


def to_markdown(s: dict[str, Any]) -> list[str]:
    """The section of the report."""
    la, lb = s["load_start"], s["load_end"]
    grid = ", ".join(str(v) for v in GD_GRID)
    lines = [
        "",
        "## Grid search over learning rates: GDRegressor against SGDRegressor",
        "",
        f"`GridSearchCV(GDRegressor(), {{'learning_rate': [{grid}]}})` and "
        f"`GridSearchCV(SGDRegressor(), {{'eta0': {SGD_GRID}}})` on diabetes (5-fold), timed "
        "interleaved; ratio = median of the per-repeat GD ÷ SGD times; busy = spinning background "
        "processes the benchmark started, load = the 1-minute load average when the case began; "
        "compiled = the GD search with the opt-in compiled kernels on (`fused.switched(True)`, "
        "timed interleaved with the others), its fastest time and median ratio to SGD. "
        "Cross-validated score of "
        f"ordinary least squares (LinearRegression): {s['ols_score']:.4f}. Load average "
        f"{la[0]:.2f} before, {lb[0]:.2f} after.",
        "",
        "| threads | busy | load | GD search s | SGD search s | GD ÷ SGD | GD best (setting) "
        "| SGD best (eta0) | compiled s | compiled ÷ SGD |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in s["cases"]:
        cs, cr = c.get("gd_compiled_s"), c.get("ratio_compiled")
        comp = "— | —" if cs is None or cr is None else f"{cs:.2f} | {cr:.1f}×"
        lines.append(
            f"| {c['threads']} | {c['busy']} | {c['load']:.1f} | {c['gd_s']:.2f} | "
            f"{c['sgd_s']:.2f} | **{c['ratio']:.1f}×** | "
            f"{c['gd_best']:.4f} ({c['gd_params']}) | {c['sgd_best']:.4f} ({c['sgd_params']}) | "
            f"{comp} |"
        )
    stops = "; ".join(
        f"{r['learning_rate']}: {r['stop_reason']} after {r['steps']:,} steps" for r in s["stops"]
    )
    lines += ["", f"GDRegressor on the full data, per candidate: {stops}."]
    return lines
