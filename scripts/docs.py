"""Regenerate the figures, tables and verdicts quoted in README.md and docs/.

Each quoted block sits between ``<!-- docs:NAME -->`` and ``<!-- /docs:NAME -->`` in a Markdown
file; :data:`BLOCKS` says how to make it. ``python scripts/docs.py`` rewrites every block from
what the code prints now; ``python scripts/docs.py --check`` exits 1 and names the blocks that
differ (timings are masked: they vary from run to run). tests/test_docs.py runs the cheap ones
and checks that every block's markers are in place.

A block may quote figures too: its ``draw`` writes them (docs/figures/…) whenever the block is
written, never under ``--check``. Slow blocks (``cheap=False``: the benchmarks, the saddle
study, command outputs that take minutes) are rewritten only when asked for:
``python scripts/docs.py speed-readme speed-full`` reruns the benchmarks (≈ 8 minutes) and
rewrites the README's speed summary and docs/benchmarks.md's tables.

Usage: python scripts/docs.py [--check] [NAME ...]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import descend as ds
from descend.descent.verdicts import STOP_REASONS

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmark suite's package, for the blocks that quote it
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Block:
    """A quoted block: the file it lives in, how to make it, whether a test may run it, and
    the figures it quotes (``draw`` writes them and returns their paths; run when the block is
    written, not by ``--check``)."""

    path: str
    make: Callable[[], str]
    cheap: bool = True
    draw: Callable[[], list[str]] | None = None


def stop_reasons() -> str:
    """The table of stop reasons, from descend.descent.verdicts.STOP_REASONS."""
    rows = ["| `stop_reason` | meaning |", "|---|---|"]
    rows += [f"| `{name}` | {text} |" for name, text in STOP_REASONS.items()]
    return "\n".join(rows)


def separation() -> str:
    """Steps to the "separated" verdict on separable rows, and what inseparable rows reach
    (docs/verdicts.md): the linear program's answer, the verdict, the steps, ‖θ‖."""
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine
    from sklearn.preprocessing import StandardScaler

    from descend.problems.separability import linearly_separable

    Xc, yc = load_breast_cancer(return_X_y=True)
    Xw, yw = load_wine(return_X_y=True)
    Xi, yi = load_iris(return_X_y=True)
    std = StandardScaler().fit_transform
    cases = [
        ("breast cancer, 30 features, standardised", std(Xc), yc.astype(float)),
        ("wine class 0, 13 features, standardised", std(Xw), (yw == 0).astype(float)),
        ("breast cancer, 10 mean features", Xc[:, :10], yc.astype(float)),
        ("iris versicolor", Xi, (yi == 1).astype(float)),
    ]
    rows = [
        "| data (log loss, no penalty) | separable (LP) | learning rate | verdict | why | steps "
        "| ‖θ‖ | training rows right |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, X, y in cases:
        A = np.column_stack([std(X), np.ones(len(X))])
        sep = linearly_separable(A, y)
        for lr in ("auto", 0.1, 0.01):
            with contextlib.redirect_stderr(io.StringIO()), _quiet():
                res = ds.fit(X, y, loss="logloss", learning_rate=lr, max_steps=10_000, warn=False)
            norm = float(np.linalg.norm(res.params))
            right = int(np.sum((res.predict(X) > 0.0) == (y == 1.0)))  # logits: class 1 if z > 0
            why = (
                "θ separates"
                if "classifies every training row" in res.message
                else "classes settled"
                if "no row changed class" in res.message
                else "step limit"
                if "would have ended max_steps" in res.message
                else "—"
            )
            rows.append(
                f"| {name} | {'yes' if sep else 'no'} | {lr} | {res.stop_reason} | {why} | "
                f"{res.n_steps:,} | {norm:.3g} | {right} of {len(y)} |"
            )
    return "\n".join(rows) + "\n\n(max_steps = 10,000 in every run.)"


def _norris_case(lr: float | str) -> tuple[str, int, str]:
    d = ds.datasets.load("norris")
    with contextlib.redirect_stderr(io.StringIO()), _quiet():
        res = ds.fit(d.X, d.y, learning_rate=lr, warn=False)
    c = res.certificate
    bound = "—" if c is None else f"{c.relative_excess_bound:.1e}, {c.relative_distance_bound:.1e}"
    return res.stop_reason, res.n_steps, bound


@contextlib.contextmanager
def _quiet():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def verdict_cases() -> str:
    """What descend says on NIST Norris at the rates the lesson talks about."""
    rows = [
        "| `descend fit` on Norris | stop reason | steps "
        "| bound at the end: L − L*, ‖θ − θ*‖ (relative) |",
        "|---|---|---:|---|",
    ]
    for label, lr in [
        ("`--lr 0.01` (the lesson's rate)", 0.01),
        ("`--lr auto` (2/(λ_min+λ_max) = 0.5)", "auto"),
        ("`--lr 1` (exactly 2/λ_max)", 1.0),
        ("`--lr 1e-300`", 1e-300),
        ("`--lr 1.5` (above 2/λ_max)", 1.5),
    ]:
        reason, steps, bound = _norris_case(lr)
        rows.append(f"| {label} | {reason} | {steps} | {bound} |")
    return "\n".join(rows)


def compare_longley() -> str:
    """The optimizer comparison on NIST Longley, as ``descend compare --dataset longley``."""
    d = ds.datasets.load("longley")
    table = ds.compare(
        ds.objective(d.X, d.y),
        ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"],
        preconditioner="none",
    )
    return table.to_markdown()


#: the comparison drawn in docs/figures/runs_longley.png (docs/plots.md shows the code)
LONGLEY_RULES = ("gd", "momentum", "adam")


@functools.cache
def _longley_runs() -> tuple[Any, Any]:
    """gd, momentum and Adam on NIST Longley, 2000 steps each, no preconditioner (the
    valley is the point): (comparison, curvature advice)."""
    d = ds.datasets.load("longley")
    obj = ds.objective(d.X, d.y)
    with _quiet():
        comp = ds.compare(obj, list(LONGLEY_RULES), max_steps=2000, preconditioner="none")
    return comp, ds.advise(obj)


def _longley_outcomes() -> str:
    comp, _ = _longley_runs()
    parts = []
    for row in comp.rows:
        if row.steps_to_target is not None:
            parts.append(
                f"{row.label} reaches 1e-6 relative excess loss at step {row.steps_to_target:,}"
            )
        else:
            parts.append(f"{row.label} ends at a relative excess loss of {row.excess:.3g}")
    return "; ".join(parts)


def runs_longley() -> str:
    """README: the Longley figure and what it shows, from the runs that draw it."""
    _, adv = _longley_runs()
    return (
        "![gd, momentum and Adam on Longley](docs/figures/runs_longley.png)\n\n"
        f"On NIST Longley (κ = {adv.kappa_text()} after standardising), 2,000 steps each at "
        f"each rule's 'auto' rate without a preconditioner: {_longley_outcomes()}."
    )


def runs_longley_text() -> str:
    """docs/plots.md: the paragraph under the Longley figure."""
    _, adv = _longley_runs()
    return (
        f"Longley's six correlated columns make a long narrow valley (κ = {adv.kappa_text()}, "
        f"even after scaling). After 2,000 steps: {_longley_outcomes()}. With seven parameters "
        "the contours are a slice through the first run's final θ."
    )


def draw_runs_longley() -> list[str]:
    """docs/figures/runs_longley.png, as docs/plots.md's code draws it."""
    from descend.pictures.plot import plot_runs

    comp, _ = _longley_runs()
    path = ROOT / "docs" / "figures" / "runs_longley.png"
    plot_runs(comp, i=0, j=1).savefig(path, dpi=90)
    return [str(path)]


def norris_figures() -> str:
    """README: the caption of the figures `descend fit --plot docs/figures` draws."""
    d = ds.datasets.load("norris")
    with _quiet():
        res = ds.fit(d.X, d.y, warn=False)
    return (
        f"(`descend fit --plot docs/figures`: {res.n_steps:,} steps at lr 0.01, stop reason "
        f"*{res.stop_reason}*; these figures, `lr_sweep.png` and `descent.gif` are redrawn by "
        "`python scripts/docs.py norris-figures`.)"
    )


def draw_norris_figures() -> list[str]:
    """fit.png, loss.png, steps.png, contour.png, lr_sweep.png and descent.gif in docs/figures,
    by the commands docs/plots.md gives."""
    from descend.shells.cli import main as cli

    out = ROOT / "docs" / "figures"
    for argv in (
        ["fit", "--plot", str(out)],
        ["sweep-lr", "--plot", str(out / "lr_sweep.png")],
        ["animate", "--out", str(out / "descent.gif")],
    ):
        with contextlib.redirect_stdout(io.StringIO()):
            status = cli([*argv, "--quiet"])
        if status != 0:
            raise RuntimeError(f"descend {' '.join(argv)} exited {status}")
    names = ("fit.png", "loss.png", "steps.png", "contour.png", "lr_sweep.png", "descent.gif")
    return [str(out / n) for n in names]


def measured_norris() -> str:
    """The paragraph quoting the lesson's run on Norris."""
    d = ds.datasets.load("norris")
    slow = ds.fit(d.X, d.y)
    auto = ds.fit(d.X, d.y, learning_rate="auto")

    def digits(res: ds.FitResult) -> float:
        est = np.r_[res.intercept, res.coef]
        return min(
            -math.log10(max(abs(e - c) / abs(c), 1e-16))
            for e, c in zip(est, d.certified, strict=True)
        )

    cert = slow.certificate
    assert cert is not None
    return (
        f"On NIST Norris (36 rows), `descend fit` (lr 0.01) stops *{slow.stop_reason}* after "
        f"{slow.n_steps} steps with the certificate L − L* ≤ {cert.excess_bound:.1e} and "
        f"‖θ − θ*‖ ≤ {cert.distance_bound:.1e} ({cert.relative_distance_bound:.0e} of ‖θ‖), "
        f"{slow.wall_time * 1e3:.0f} ms for the loop, and matches NIST's certified parameters to "
        f"{digits(slow):.1f} digits; `descend fit --lr auto` (the best constant rate "
        f"2/(λ_min+λ_max) = {auto.settings['learning_rate']:g}, κ = 1 after standardising) "
        f"stops *{auto.stop_reason}* after {auto.n_steps} step and matches them to "
        f"{digits(auto):.1f} digits."
    )


def live_overhead() -> str:
    """The measured cost of ``live=True`` and of the CLI's progress bar (benchmarks/)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.live_overhead import measure

    t = measure(repeats=5, steps=20_000)
    spread = 100 * t.pop("plain spread")
    pct = {k: 100 * (v / t["plain"] - 1) for k, v in t.items()}
    return (
        f"Measured on NIST Longley (plain GD, 20,000 steps, best of 5 interleaved runs, "
        f"{t['plain']:.2f} s without): `live=True` adds {pct['live (terminal)']:+.1f} % in a "
        f"terminal and {pct['live (notebook)']:+.1f} % in a notebook (every redraw rendered), "
        f"the CLI's progress bar {pct['CLI progress']:+.1f} %; the plain runs' own median lay "
        f"{spread:.1f} % above their best on this shared 2-core machine "
        f"(`python benchmarks/live_overhead.py`)."
    )


def playground_load() -> str:
    """docs/playground.md: the load test's figures (benchmarks/playground_load.py, at the size
    tests/test_web_load.py asserts on)."""
    from benchmarks.playground_load import measure, summary

    return (
        summary(measure(sockets=50, silent=5, short_runs=500))
        + " (`python -m benchmarks.playground_load`; on the shared 2-core machine.)"
    )


def sharpness_cost() -> str:
    """What ``track_sharpness`` costs on a small tanh network (the edge-of-stability task)."""
    import time

    from descend.studies.landscape import saddle_task

    X, y = saddle_task(100, seed=0, noise=0.0)
    kw = dict(model="mlp:16", learning_rate=0.2, max_steps=2000, seed=0, gtol=0.0, tol=0.0,
              patience=10**6, warn=False)  # fmt: skip
    rows = []
    for every in (None, 10, 1):
        best: tuple[float, Any] = (math.inf, None)
        for _ in range(2):
            t0 = time.perf_counter()
            res = ds.fit(X, y, track_sharpness=every, **kw)
            best = min(best, (time.perf_counter() - t0, res.settings["track_sharpness"]),
                       key=lambda tc: tc[0])  # fmt: skip
        rows.append((every, *best))
    plain = rows[0][1]
    parts = []
    for every, t, cost in rows[1:]:
        per = cost["hvps"] / cost["measurements"]
        parts.append(
            f"every {every} step{'s' if every > 1 else ''}: {cost['measurements']} "
            f"measurements, {per:.1f} Hessian-vector products each, the run "
            f"{t / plain:.1f}× as long ({100 * cost['seconds'] / t:.0f} % of it measuring)"
        )
    return (
        f"Measured (tanh MLP [16], 65 parameters, 100 rows, full-batch GD at lr 0.2, 2,000 "
        f"steps, {plain:.2f} s untracked, best of 2): " + "; ".join(parts) + ". One product "
        "costs about three gradients here (the R-operator's forward and backward passes), "
        "and ARPACK's own overhead per call is of the same order on a network this small."
    )


SADDLE_RUN = dict(sizes=(2, 4, 8, 16, 32, 64), n_points=6, snapshots=0, path_starts=4,
                  random_starts=12, max_iter=300, workers=2, seed=0)  # fmt: skip


@functools.cache
def _saddle_run() -> tuple[Any, float]:
    """The saddle study of docs/landscapes.md and the README (run once for both blocks)."""
    import time

    from descend.studies.landscape import saddle_study

    t0 = time.perf_counter()
    st = saddle_study(**SADDLE_RUN)  # type: ignore[arg-type]
    return st, time.perf_counter() - t0


def _saddle_counts(st: Any) -> str:
    srcs = ("plateau", "path", "random")
    return ", ".join(
        f"{r['n_params']} parameters {sum(r['reached'][k] for k in srcs)} of "
        f"{sum(r['tried'][k] for k in srcs)}"
        for r in st.rows
    )


def saddles_table() -> str:
    """The saddle study by Newton-MR: the per-size table, the binned index–loss table, notes."""
    from descend.problems.curvature import CRITICAL_STEP_RTOL

    st, seconds = _saddle_run()
    loss, index = st.scatter()
    corr = float(np.corrcoef(loss, index)[0, 1])
    pts = st.points
    low = [p for p in pts if p["loss"] < 0.2]
    deg = sum(1 for p in pts if p["nullity"] > 0)
    gmax = max(p["grad_norm"] for p in pts)
    step = max(  # the Newton step as a fraction of classify's critical-point bound
        p["newton_step"] / (CRITICAL_STEP_RTOL * max(1.0, float(np.linalg.norm(p["theta"]))))
        for p in pts
    )
    call = ", ".join(
        f"sizes={list(v)}" if k == "sizes" else f"{k}={v}" for k, v in SADDLE_RUN.items()
    )
    lows = [[p for p in pts if p["size"] == i and p["loss"] < 0.2] for i in range(len(st.rows))]
    low_by_size = ", ".join(
        f"{r['n_params']}: {sum(1 for p in lo if p['kind'] == 'minimum')} of {len(lo)}"
        for r, lo in zip(st.rows, lows, strict=True)
    )
    return (
        f"`saddle_study({call})`, {seconds:.0f} s wall clock in all on the shared 2-core "
        f"machine (load average {os.getloadavg()[0]:.1f} at the end; "
        "`python scripts/docs.py saddles-table`; the CLI: `descend landscape saddles --sizes "
        f"{','.join(map(str, SADDLE_RUN['sizes']))} --points {SADDLE_RUN['n_points']} "
        f"--plateaus 0 --path {SADDLE_RUN['path_starts']} --random "
        f"{SADDLE_RUN['random_starts']} --max-iter {SADDLE_RUN['max_iter']} --workers "
        f"{SADDLE_RUN['workers']}`). Searches are counted as *converged / tried*, by where they "
        "started; critical points are the distinct verified points, in brackets those first "
        "reached by a Newton-MR search (the others are saddle-free Newton's, minima by design); "
        "the fractions of minima are over those points, ± the binomial standard error "
        "√(f(1 − f)/n).\n\n"
        + st.table()
        + "\n\nAll "
        + f"{len(pts)} distinct points pooled over sizes and binned by loss (`st.binned()`):\n\n"
        + st.binned()
        + "\n\n"
        + f"Pooled Pearson corr(index, loss) = {corr:.2f} over {len(pts)} points. Every point "
        f"has ‖∇L‖ ≤ {gmax:.1e} and a Newton step ‖H⁻¹∇L‖ at most {100 * step:.2g} % of "
        f"classify's bound 10⁻⁴·max(1, ‖θ‖); {deg} of them have a Hessian eigenvalue within "
        f"the zero threshold (degenerate). Of the {len(low)} points with loss < 0.2, "
        f"{sum(1 for p in low if p['kind'] == 'minimum')} are minima (per size, parameters: "
        f"minima of points with loss < 0.2, {low_by_size}). Newton-MR searches "
        f"(path and random starts) converged: {_saddle_counts(st)}. Of the others, per "
        "size: how many ran out of iterations while still moving / how many stalled (the "
        "least ‖∇L‖ not 1 % lower in 40 iterations), the median least ‖∇L‖ they reached, "
        "and for the stalled ones the median ‖H∇L‖/(max|λ|·‖∇L‖), which is near 0 in a "
        "gradient-flat region: "
        + ", ".join(
            f"{r['n_params']} parameters {r['stopped_at_limit']} / {r['stalled']}, "
            f"{r['stalled_grad_norm']:.0e}"
            + (f", {r['stalled_flatness']:.0e}" if r["stalled"] else "")
            for r in st.rows
            if math.isfinite(r["stalled_grad_norm"])
        )
        + "."
    )


def saddles_search() -> str:
    """Why the saddle study's search is non-monotone, and why low-loss starts fail: the same
    starts on the 129-parameter network searched with memory 1 (monotone) and 10."""
    import time

    from descend.problems.blas import one_blas_thread
    from descend.studies.landscape import newton_mr, saddle_free_newton
    from descend.studies.landscape.saddles import _descent_starts, _objective

    key = ((32,), 200, 0.3, 1e-3)
    obj = _objective(*key)
    rng = np.random.default_rng(0)
    starts, ends = [], []
    for _ in range(3):
        got = _descent_starts(key, obj.model.init_params(rng), 3000, 0.05, 0, 8)
        starts += [th for src, _, th in got if src == "path"]
        ends += [th for src, _, th in got if src == "descent"]
    parts = []
    with one_blas_thread():
        for memory in (1, 10):
            t0 = time.perf_counter()
            ok = sum(newton_mr(obj, th, max_iter=300, memory=memory)[1] for th in starts)
            seconds = time.perf_counter() - t0
            parts.append(f"memory {memory}: {ok} of {len(starts)} converged ({seconds:.0f} s)")
        notes = []
        for th in ends:
            lam = np.linalg.eigvalsh(obj.hessian(th))
            minimum, _, _ = saddle_free_newton(obj, th, max_iter=300)
            notes.append(
                f"loss {obj.mse(th):.3f}, ‖∇L‖ = {np.linalg.norm(obj.grad(th)):.1e}, "
                f"{int(np.sum(lam < -1e-6 * lam[-1]))} negative eigenvalues, "
                f"{np.linalg.norm(minimum - th):.1f} from the minimum saddle-free Newton reaches "
                f"(loss {obj.mse(minimum):.4f})"
            )
    return (
        "Newton-MR on the 129-parameter network from the same 24 starts (3 descent runs, seed "
        "0, 8 steps spaced geometrically along each, `python scripts/docs.py saddles-search`): "
        + "; ".join(parts)
        + ". The three descent end points (3,000 steps of lr 0.05): "
        + "; ".join(notes)
        + "."
    )


def saddles_readme() -> str:
    """One sentence for the README: what the Newton-MR saddle study measured."""
    st, seconds = _saddle_run()
    loss, index = st.scatter()
    corr = float(np.corrcoef(loss, index)[0, 1])
    fr = ", ".join(
        f"{r['frac_minima']:.2f} ± {r['frac_minima_se']:.2f} ({r['n_params']})"
        if r["found"]
        else f"– ({r['n_params']})"
        for r in st.rows
    )
    by_search = [
        [p for p in st.points if p["size"] == i and p["source"] != "descent"]
        for i in range(len(st.rows))
    ]
    fs = ", ".join(
        f"{sum(1 for p in found if p['kind'] == 'minimum')} of {len(found)} ({r['n_params']})"
        for r, found in zip(st.rows, by_search, strict=True)
    )
    return (
        f"Measured ({seconds:.0f} s with 2 processes, {len(st.points)} verified critical points "
        f"of networks with {st.n_params[0]} to {st.n_params[-1]} parameters, `python "
        f"scripts/docs.py saddles-readme`): the index grows with the loss (corr {corr:.2f}); "
        f"fraction of minima among the distinct points (parameters): {fr}; minima among the "
        f"points reached by Newton-MR searches: {fs}; those searches converged "
        f"{_saddle_counts(st)}."
    )


def mlp_units() -> str:
    """Networks on unscaled data: NIST Norris (y up to ~1000) with an MLP, Adam and GD auto."""
    d = ds.datasets.load("norris")
    line = ds.fit(d.X, d.y, learning_rate="auto")
    parts = []
    for label, opt, lr in [("Adam at lr 0.01", "adam", 0.01), ("GD at lr 'auto'", "gd", "auto")]:
        with _quiet():
            res = ds.fit(d.X, d.y, model="mlp:8,8", optimizer=opt, learning_rate=lr,
                         max_steps=6000, seed=0)  # fmt: skip
        at = res.predict(np.array([[400.0], [900.0]]))
        parts.append(
            f"{label} ends at MSE {res.loss:.3g} (ŷ(400) = {at[0]:.1f}, ŷ(900) = {at[1]:.1f})"
        )
    base = float(np.var(d.y))
    ref = line.predict(np.array([[400.0], [900.0]]))
    return (
        f"Measured on NIST Norris (36 rows, y from {d.y.min():.3g} to {d.y.max():.3g}), "
        f"`mlp:8,8`, 6,000 steps, seed 0: " + "; ".join(parts) + f" — against {base:.4g} for "
        f"predicting the mean and {line.loss:.3g} for the least-squares line (ŷ(400) = "
        f"{ref[0]:.1f}, ŷ(900) = {ref[1]:.1f})."
    )


@functools.lru_cache(maxsize=1)
def _edge_study() -> Any:
    """The edge-of-stability study at its defaults (run once per docs.py call)."""
    with _quiet():
        return ds.edge_of_stability()


def _edge_text(study: Any, figure: str, alt: str) -> str:
    """The figure (written here), the table and one measured line per rate."""
    from descend.pictures.plot import plot_edge_of_stability

    plot_edge_of_stability(study).savefig(ROOT / "docs/figures" / figure, dpi=100)
    name = "38/η" if study.runs[0].preconditioned else "2/η"
    lines = []
    for r in study.runs:
        lo, hi = r.late_spread
        head = f"- **η = {r.learning_rate:g}** ({name} = {r.threshold:.3g}): "
        if r.first_crossing is None:
            lines.append(
                head + f"the sharpness rose from {r.sharpness[0]:.3g} to {r.sharpness[-1]:.3g} "
                f"and never reached {name} in {study.max_steps:,} steps (late median / edge = "
                f"{r.late_ratio:.3f}): still progressive sharpening — the edge is *not* "
                f"reached at this rate within the budget. The loss rose at "
                f"{100 * r.late_rises:.0f} % of the late steps and ended at {r.final_loss:.3g}."
            )
            continue
        start = (
            f"was already above {name} at step 0"
            if r.first_crossing == 0
            else (
                f"rose from {r.sharpness[0]:.3g} and first reached {name} at step "
                f"{r.first_crossing:,}"
            )
        )
        change = r.loss_at_end / r.loss_at_half - 1.0
        trend = (
            "fell further" if change < -0.05
            else "stayed level (within 5 %)" if change <= 0.05
            else "*rose*"
        )  # fmt: skip
        lines.append(
            head + f"the sharpness {start}, peaked at {r.peak_ratio:.2f} × {name}, and over "
            f"the last half of the run its median was {r.late_ratio:.3f} × {name} (10–90 %: "
            f"{lo:.2f}–{hi:.2f}). The loss rose at {100 * r.late_rises:.0f} % of those steps "
            f"and {trend}: median {r.loss_at_half:.3g} over the third quarter of the steps, "
            f"{r.loss_at_end:.3g} over the fourth (last value {r.final_loss:.3g})."
        )
    cost = [r.cost for r in study.runs]
    hvps = sum(c["hvps"] for c in cost) / sum(c["measurements"] for c in cost)
    share = sum(c["seconds"] for c in cost) / sum(r.seconds for r in study.runs)
    return (
        f"{study.describe()}; {study.wall_time:.0f} s in all.\n\n"
        f"![{alt}](figures/{figure})\n\n"
        + study.table()
        + "\n\n"
        + "\n".join(lines)
        + f"\n\nTracking cost {hvps:.1f} Hessian-vector products per measurement and "
        f"{100 * share:.0f} % of the runs' time."
    )


def edge_page() -> str:
    """docs/edge-of-stability.md: full-batch GD at four rates."""
    return _edge_text(
        _edge_study(), "edge_of_stability.png",
        "Loss and sharpness against steps at four learning rates, 2/η dashed",
    )  # fmt: skip


def edge_adam() -> str:
    """docs/edge-of-stability.md: Adam's preconditioned sharpness against 38/η."""
    with _quiet():
        study = ds.edge_of_stability([0.003, 0.01, 0.03], optimizer="adam")
    return _edge_text(
        study, "edge_of_stability_adam.png",
        "Loss and preconditioned sharpness against steps for Adam at three rates, 38/η dashed",
    )  # fmt: skip


def edge_readme() -> str:
    """The README's one-paragraph summary of the edge-of-stability study."""
    study = _edge_study()
    at = [r for r in study.runs if r.verdict() == "at the edge"]
    below = [r for r in study.runs if r.first_crossing is None]
    ratios = ", ".join(f"{r.late_ratio:.3f} (η = {r.learning_rate:g})" for r in at)
    text = (
        f"Measured ({study.describe()}): at {len(at)} of {len(study.runs)} rates the "
        f"sharpness ends at the edge — median sharpness × η/2 over the last half of the run "
        f"{ratios}"
    )
    if below:
        text += (
            "; at "
            + ", ".join(f"η = {r.learning_rate:g}" for r in below)
            + (" it was still rising, below 2/η, when the run ended")
        )
    return text + "."


def certify_text() -> str:
    """What ``descend certify`` prints (docs/certification.md)."""
    from descend.studies.certify import certify, format_table

    return "```\n$ descend certify\n" + format_table(certify()) + "\n```"


def certify_readme() -> str:
    """The README's certification table: descend's digits beside numpy.linalg.lstsq's."""
    from descend.studies.certify import certify

    rows = [
        "| dataset | κ(H) | preconditioner | descend | np.linalg.lstsq |",
        "|---|---:|---|---:|---:|",
    ]
    for r in certify():
        kappa = f"{r.kappa:.2g}".replace("e+0", "e")
        rank = "" if r.numpy_rank == r.n_params else f" (rank {r.numpy_rank}/{r.n_params})"
        rows.append(
            f"| {r.title} | {kappa} | {r.preconditioner} | {r.min_lre:.1f} | "
            f"{r.numpy_min_lre:.1f}{rank} |"
        )
    return "\n".join(rows)


def certify_plain() -> str:
    """The README's sentence on plain descent (no preconditioner) on the hard datasets."""
    from descend.studies.certify import certify

    rows = certify(["filip", "longley", "wampler3", "wampler4", "wampler5"], preconditioner="none")
    parts = [f"{r.title} {r.min_lre:.1f} ({r.stop_reason}, {r.steps:,} steps)" for r in rows]
    return (
        "Plain descent (`--preconditioner none`) on the hard problems gets "
        + ", ".join(parts[:-1])
        + f" and {parts[-1]} digits."
    )


@functools.cache
def _small_run() -> dict[str, Any]:
    """One run of the small-problem benchmark family, shared by the blocks that quote it."""
    from benchmarks import small

    return small.small_problems(quick=False)


def small_table() -> str:
    """docs/benchmarks.md: every case of the small-problem family and the playground's rate."""
    from benchmarks import small

    return "\n".join(small.to_markdown(_small_run())[2:]).strip()


def small_readme() -> str:
    """README: fit ÷ the hand-written loop per rule (median ratio, default threads; quiet and
    beside two spinning processes)."""
    r = _small_run()
    rows = [
        "| data | rule | full batch | mini-batch | full batch, busy | mini-batch, busy |",
        "|---|---|---|---|---|---|",
    ]
    for data in ("diabetes", "norris"):
        for rule in ("gd", "momentum", "adam"):
            cells = []
            for busy in (0, 2):
                cases = [c for c in r["cases"] if c["threads"] == "default" and c["busy"] == busy]
                full, mini = (
                    next(
                        c
                        for c in cases
                        if c["data"] == data and c["rule"] == rule and (c["batch"] is None) == f
                    )
                    for f in (True, False)
                )
                cells += [
                    f"{full['ratio_median']:.2f}×",
                    f"{mini['ratio_median']:.2f}× (batch {mini['batch']})",
                ]
            rows.append(f"| {data} | {rule} | {' | '.join(cells)} |")
    pg = r["playground"]
    la, lb = r["load_start"], r["load_end"]
    rows += [
        "",
        f"Playground at its top speed ({pg['top_speed']:,} steps/s asked): "
        f"{pg['steps_per_second']:,.0f} steps/s made (a run that never stops; ticks replayed on "
        f"the server's schedule). Load average {la[0]:.1f} → {lb[0]:.1f}.",
    ]
    return "\n".join(rows)


def dask_cluster() -> str:
    """docs/dask.md: fit time ÷ one read and worker memory per chunk size, on two worker
    processes (benchmarks/dask_cluster.py; a few minutes)."""
    from benchmarks import dask_cluster

    return dask_cluster.to_markdown(dask_cluster.measure())


def dask_array() -> str:
    """docs/dask.md: a fit on in-memory Dask arrays (1e7×10, 20 chunks) ÷ one read and ÷ the
    in-memory fit, threaded scheduler and LocalCluster, statistics by BLAS and by the kernels
    (``dask_cluster --array``; ~1.5 minutes)."""
    from benchmarks import dask_cluster

    return dask_cluster.array_markdown(dask_cluster.measure_array())


@functools.cache
def _stats_pass_run() -> dict[str, Any]:
    """One run of the least-squares-at-the-memory-limit family (issue 19, item 1), shared by
    the blocks that quote it: each case quiet and with two spinning background processes the
    benchmark starts and stops itself, 3 interleaved repeats (the load is in the table)."""
    from benchmarks import stats_pass

    return stats_pass.stats_pass(quick=False, busy_settings=(0, 2), repeat=3)


def stats_pass_table() -> str:
    """docs/benchmarks.md: every case of the stats-pass family."""
    from benchmarks import stats_pass

    return "\n".join(stats_pass.to_markdown(_stats_pass_run())[2:]).strip()


def stats_pass_readme() -> str:
    """README: fit over one X.T@X and one X @ w per problem at the default thread count."""
    r = _stats_pass_run()
    rows = [
        "| least squares | route | fit ÷ one X.T@X | fit ÷ one X @ w | without Numba ÷ X.T@X |",
        "|---|---|---|---|---|",
    ]
    for c in r["cases"]:
        if c["threads"] == "default" and c["busy"] == 0:
            rows.append(
                f"| {c['n']:.0e}×{c['d']}, κ≈{c['kappa']:g} | {c['route']} | "
                f"{c['fit_over_xtx']:.2f}× | {c['fit_over_xw']:.2f}× | "
                f"{c['fit_blas_over_xtx']:.2f}× |"
            )
    la, lb = r["load_start"], r["load_end"]
    rows += [
        "",
        f"Load average {la[0]:.1f} → {lb[0]:.1f} (the cases with the benchmark's own busy "
        "processes included).",
    ]
    return "\n".join(rows)


def search_table() -> str:
    """docs/benchmarks.md: the grid search over learning rates, GDRegressor against SGD."""
    from benchmarks import search

    return "\n".join(search.to_markdown(search.search(quick=False))[2:]).strip()


def minibatch_table() -> str:
    """docs/benchmarks.md: the mini-batch epoch family (from the speed blocks' shared run,
    so that one regeneration times the PyTorch epochs once)."""
    from benchmarks import run

    r = _speed_run()
    la, lb = r["load_start"], r["load_end"]
    body = run.minibatch_markdown(r["minibatch"])[3:]  # without the heading
    return "\n".join(
        body + ["", f"Load average {la[0]:.2f} before, {lb[0]:.2f} after; threads {r['threads']}."]
    ).strip()


#: the families the speed blocks quote (``python -m benchmarks.run --only …``; ≈ 8 min)
SPEED_FAMILIES = ("least-squares", "huber", "minibatch", "polynomial")


@functools.cache
def _speed_run() -> dict[str, Any]:
    """One run of the ratio benchmarks, shared by the blocks that quote it."""
    import tempfile

    from benchmarks import run

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        return run.run(only=SPEED_FAMILIES, out=tmp)


def _short(p: dict[str, Any]) -> str:
    """'1e6×10, κ≈1e4' for a least-squares problem."""
    n = f"{p['n']:.0e}".replace("e+0", "e")
    k = "1" if p["kappa_target"] == 1 else f"{p['kappa_target']:.0e}".replace("e+0", "e")
    return f"{n}×{p['d']}, κ≈{k}"


def speed_readme_from(r: dict[str, Any]) -> str:
    """The README's speed paragraph and table from a benchmarks.run result."""
    from benchmarks import run

    m = r["machine"]
    model = next(
        (line.split(":", 1)[1].strip() for line in m["lscpu"].splitlines() if "Model name" in line),
        "?",
    )
    la, lb = r["load_start"], r["load_end"]
    lines = [
        f"Ratios from `PYTHONPATH=src python -m benchmarks.run --only {' '.join(SPEED_FAMILIES)}` "
        f"({r['total_seconds']:.0f} s, load average {la[0]:.1f} → {lb[0]:.1f}) on {m['nproc']} "
        f"CPUs ({model}; numpy {m['numpy']}, scikit-learn {m['sklearn']}, torch {m['torch']}; one "
        "thread per library). Time to 1e-6 relative excess loss with "
        '`ds.fit(X, y, learning_rate="auto")`:',
        "",
        "| least squares | descend ÷ one X.T@X | SGDRegressor (defaults) ÷ descend "
        "| PyTorch full-batch GD ÷ descend | lstsq ÷ descend | peak memory / X |",
        "|---|---|---|---|---|---|",
    ]
    for p in r["problems"]:
        d = run._row_of(p, "descend gd")
        t = d["time_to_target"]
        cells = []
        for prefix in ("sklearn SGDRegressor (defaults)", "PyTorch full-batch", "numpy.linalg"):
            text, _ = run._speedup(run._row_of(p, prefix), t or math.nan)
            row = run._row_of(p, prefix)
            if row["how"].startswith("extrapolated"):
                text += " (extrapolated)"
            elif row["time_to_target"] is None and row["seconds"] is not None:
                text += " (never reaches 1e-6)"
            cells.append(text)
        peak = (p["X_bytes"] + (d["peak_bytes"] or 0)) / p["X_bytes"]
        ratio = "never" if not t else f"{t / p['t_XtX']:.3g}"
        lines.append(f"| {_short(p)} | {ratio} | {' | '.join(cells)} | {peak:.2f} |")
    h, b = r.get("huber"), r.get("minibatch")
    lines.append("")
    if h is not None:
        lines.append(
            f"{h['problem']}: a full-batch step costs {h['step_ratio']:.3g}× two column-major "
            f"passes (PyTorch autograd's {h['torch_over_descend']:.2g}× descend's)."
        )
    if b is not None:
        lines.append(
            f"{b['problem'][0].upper()}{b['problem'][1:]}, against a PyTorch loop: "
            f"{b['torch_over_reshuffle']:.3g}× faster with the default sampler, "
            f'{b["torch_over_slices"]:.3g}× with `sampling="slices"` (shuffle once), '
            f'{b["torch_over_contiguous"]:.3g}× with `sampling="contiguous"` (pre-shuffled rows '
            "only)."
        )
    missed = [f"{t['target']} ({t['problem']}: {t['measured']:.3g})" for t in r["targets"]
              if not t["met"] and t["measured"] is not None]  # fmt: skip
    lines.append(
        (
            "Targets not met in this run: " + "; ".join(missed) + "."
            if missed
            else "Every target was met in this run."
        )  # fmt: skip
        + " Method, full tables and the machine: [docs/benchmarks.md](docs/benchmarks.md)."
    )
    return "\n".join(lines)


def speed_readme() -> str:
    """README: the least-squares speed table, Huber and mini-batch ratios, targets missed."""
    return speed_readme_from(_speed_run())


def speed_full() -> str:
    """docs/benchmarks.md: the whole run as benchmarks.run prints it (headings one level down)."""
    from benchmarks import run

    text = run.to_markdown(_speed_run())
    body = text.split("\n", 2)[2]  # without the "# descend benchmarks" title
    return re.sub(r"^## ", "### ", body, flags=re.M).strip()


def multistart_tiny() -> str:
    """README: where descent on the one-hidden-unit network ends, polished and not."""
    from descend.studies.landscape import multistart, tiny_network_objective

    obj = tiny_network_objective()
    with _quiet():
        kw: dict[str, Any] = dict(n_starts=8, seed=0, learning_rate=0.3, max_steps=1500,
                                  cluster_tol=0.05)  # fmt: skip
        polished = multistart(obj, **kw)
        raw = multistart(obj, polish=False, **kw)
    kinds = ", ".join(
        f"{b.loss:.6f} ({b.point.kind}, {b.count} start{'s' if b.count > 1 else ''})"
        for b in polished.basins
    )
    ok = raw.labels >= 0
    lo, hi = raw.losses[ok].min(), raw.losses[ok].max()
    g_lo, g_hi = raw.grad_norms[ok].min(), raw.grad_norms[ok].max()
    not_critical = sum(b.count for b in raw.basins if b.point.kind == "not critical")
    return (
        "`ds.multistart` converges each descent end point (saddle-free Newton) before "
        "classifying it. On the one-hidden-unit network (`descend landscape multistart "
        "--surface tiny-network --starts 8 --lr 0.3 --max-steps 1500 --cluster-tol 0.05`, as in "
        f"[docs/landscapes.md](docs/landscapes.md)) the polished end points are at MSE {kinds}; "
        f"descent alone ({polished.settings['max_steps']:,} steps at lr "
        f"{polished.settings['learning_rate']:g}, `--no-polish`) had stopped at MSE {lo:.3f}–"
        f"{hi:.3f} with ‖∇f‖ = {g_lo:.1e}–{g_hi:.1e}: {not_critical} of its {len(raw.losses)} "
        "end points are not critical points."
    )


def csv_memory() -> str:
    """docs/reliability.md: the peak memory of reading a 1,000,000-row CSV of two columns."""
    import tempfile
    import tracemalloc

    from descend.data.tables import read_csv

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 100, 1_000_000).round(3)
    y = (2 * x + 1 + rng.normal(size=x.size)).round(3)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("x,y\n")
            np.savetxt(fh, np.column_stack([x, y]), fmt="%.3f", delimiter=",")
        size = path.stat().st_size
        tracemalloc.start()
        try:
            X, yv, _, _ = read_csv(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    array = X.nbytes + yv.nbytes
    return (  # indented: the block sits in a list item
        f"  on a 1,000,000-row, {size / 1e6:.0f} MB file of two columns the peak (tracemalloc, "
        f"one run) was {peak / 1e6:.0f} MB, {peak / array:.1f}× the {array / 1e6:.0f} MB array."
    )


def loss_references() -> str:
    """docs/losses.md: descend's Huber, log-loss and MAE fits against outside solvers, with
    the versions of the solvers (scripts/loss_references.py)."""
    import importlib.util

    import scipy
    import sklearn

    spec = importlib.util.spec_from_file_location(
        "loss_refs", ROOT / "scripts" / "loss_references.py"
    )
    assert spec is not None and spec.loader is not None
    refs = importlib.util.module_from_spec(spec)
    sys.modules["loss_refs"] = refs
    spec.loader.exec_module(refs)
    with _quiet():
        rows = [refs.measure(c) for c in refs.CASES]
    return (
        refs.table(rows).strip()
        + f"\n\n(scikit-learn {sklearn.__version__}, SciPy {scipy.__version__}.)"
    )


def _cli_text(argv: list[str], fence: str = "") -> str:
    """What ``descend ARGV`` prints on stdout, as a fenced block headed by the command."""
    from descend.shells.cli import main as cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()), _quiet():
        cli(list(argv))
    return f"```{fence}\n$ descend {' '.join(argv)}\n{out.getvalue().rstrip()}\n```"


#: command-output blocks: name → (file, argv)
COMMAND_OUTPUTS = {
    "sweep-degree-filip": (
        "docs/certification.md",
        ["sweep-degree", "--dataset", "filip", "--max-degree", "10"],
    ),
    "multistart-himmelblau": (
        "docs/landscapes.md",
        ["landscape", "multistart", "--surface", "himmelblau", "--starts", "20", "--seed", "0",
         "--lr", "0.005"],
    ),
    "multistart-tiny-polished": (
        "docs/landscapes.md",
        ["landscape", "multistart", "--surface", "tiny-network", "--starts", "8", "--seed", "0",
         "--lr", "0.3", "--max-steps", "1500", "--cluster-tol", "0.05"],
    ),
    "multistart-tiny-raw": (
        "docs/landscapes.md",
        ["landscape", "multistart", "--surface", "tiny-network", "--starts", "8", "--seed", "0",
         "--lr", "0.3", "--max-steps", "1500", "--cluster-tol", "0.05", "--no-polish"],
    ),
    "sweep-lr-norris": ("docs/plots.md", ["sweep-lr"]),
}  # fmt: skip


def goe_table() -> str:
    """docs/landscapes.md: the GOE table for n = 1 … 7 and the comparison with the exact values."""
    r = ds.goe_positive_definite_fraction(list(range(1, 8)), 100_000, 0)
    by_n = {row["n"]: row for row in r.rows}
    two, five = by_n[2], by_n[5]
    return (
        f"{r.table()}\n\nThe coin-flip estimate is *optimistic*: eigenvalues of random "
        "symmetric matrices repel each other, so all of them landing on one side is much rarer "
        f"than independent coins would give (n = 2: {two['fraction']:.3g}, against the exact GOE "
        f"value (2 − √2)/4 = {GOE_EXACT[2][1]:.4g}, vs {two['coin_flip']:.3g}; n = 5: "
        f"{five['fraction']:.2g} vs {five['coin_flip']:.2g})."
    )


#: exact P(H ≻ 0) for GOE matrices of size n (Dean & Majumdar 2006; n = 3 in closed form)
GOE_EXACT = {
    1: ("1/2", 0.5),
    2: ("(2 − √2)/4", (2 - math.sqrt(2)) / 4),
    3: ("(π − 2√2)/(4π)", (math.pi - 2 * math.sqrt(2)) / (4 * math.pi)),
}


def goe_fractions() -> str:
    """The README's GOE sentence, from ``descend landscape goe``'s defaults (seed 0)."""
    r = ds.goe_positive_definite_fraction((1, 2, 3, 4), 100_000, 0)
    measured = ", ".join(f"{row['fraction']:.3g} ± {row['stderr']:.1g}" for row in r.rows)
    coins = ", ".join(f"{row['coin_flip']:.3g}" for row in r.rows)
    exact = ", ".join(f"{text} = {value:.4g}" for text, value in GOE_EXACT.values())
    return (
        f"{measured} for n = 1…4 (100,000 matrices each, seed 0), against the exact {exact} "
        f"for n = 1…3 — and {coins} for n coin flips."
    )


def overfitting() -> str:
    """docs/plots.md's overfitting figure and table: training and validation MSE by degree
    on noisy samples of sin(3x) (seeded), written to docs/figures/overfitting.png."""
    from descend.pictures.plot import plot_validation_curve
    from descend.studies.sweep import format_validation, validation_curve

    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-1, 1, 40))
    y = np.sin(3 * x) + 0.3 * rng.normal(size=40)
    with _quiet():
        rows = validation_curve(x, y, degrees=range(1, 16), validation_fraction=0.3, seed=0)
    fig = plot_validation_curve(rows)
    fig.savefig(ROOT / "docs" / "figures" / "overfitting.png", dpi=100)
    best = min(rows, key=lambda r: r.val_loss)
    low = min(rows, key=lambda r: r.train_loss)
    return (
        "![training and validation MSE by polynomial degree](figures/overfitting.png)\n\n"
        f"40 noisy samples of sin(3x) (noise σ = 0.3, seed 0), 12 held out: the validation MSE "
        f"is lowest at degree {best.degree} ({best.val_loss:.3g}), while the training MSE keeps "
        f"falling to {low.train_loss:.3g} at degree {low.degree}, where the validation MSE is "
        f"{low.val_loss:.3g} — the training optimum overfits.\n\n"
        + format_validation(rows, markdown=True)
    )


def softmax_references() -> str:
    """docs/losses.md's softmax table: descend's multinomial fits against scikit-learn's
    LogisticRegression (lbfgs, tol 1e-12) on the same objective, evaluated with SciPy."""
    from scipy.special import logsumexp
    from sklearn.datasets import load_iris, make_classification
    from sklearn.linear_model import LogisticRegression

    Xi, yi = load_iris(return_X_y=True)
    Xm, ym = make_classification(
        n_samples=300, n_features=5, n_informative=3, n_classes=4, flip_y=0.2, random_state=0
    )
    cases = [
        ("iris (4 features, raw units)", Xi, yi, 0.01),
        ("iris sepal width alone", Xi[:, [1]], yi, 0.0),
        ("noisy 4 classes (make_classification, seed 0)", Xm, ym, 0.0),
    ]
    rows = [
        "| data | n × d, K | penalty | scikit-learn objective | descend objective | "
        "relative difference | descend's stop (steps) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, X, y, alpha in cases:
        n = len(y)
        C = np.inf if alpha == 0 else 1.0 / (n * alpha)
        ref = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
        kw: dict[str, Any] = {"penalty": "l2", "alpha": alpha} if alpha else {}
        with _quiet():
            res = ds.fit(X, y, loss="softmax", learning_rate="auto", max_steps=50_000,
                         gtol=1e-12, **kw)  # fmt: skip

        def objective(b: Any, W: Any, X: Any = X, y: Any = y, alpha: float = alpha) -> float:
            Z = X @ W.T + b
            lse = logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]
            return float(np.mean(lse) + 0.5 * alpha * np.sum(W * W))

        theirs = objective(ref.intercept_, ref.coef_)
        ours = objective(res.intercept, res.coef)
        pen = f"l2, α = {alpha:g} (C = 1/(n·α))" if alpha else "none (C = ∞)"
        rows.append(
            f"| {name} | {n} × {X.shape[1]}, {len(np.unique(y))} | {pen} | {theirs:.12g} | "
            f"{ours:.12g} | {(ours - theirs) / theirs:.1e} | {res.stop_reason} ({res.n_steps}) |"
        )
    return "\n".join(rows)


BLOCKS: dict[str, Block] = {
    "small-table": Block("docs/benchmarks.md", small_table, cheap=False),
    "small-readme": Block("README.md", small_readme, cheap=False),
    "stats-pass-table": Block("docs/benchmarks.md", stats_pass_table, cheap=False),
    "stats-pass-readme": Block("README.md", stats_pass_readme, cheap=False),
    "search-table": Block("docs/benchmarks.md", search_table, cheap=False),
    "minibatch-table": Block("docs/benchmarks.md", minibatch_table, cheap=False),
    "goe-fractions": Block("README.md", goe_fractions),
    "certify-plain": Block("README.md", certify_plain, cheap=False),
    "certify-readme": Block("README.md", certify_readme),
    "certify-text": Block("docs/certification.md", certify_text),
    "stop-reasons": Block("docs/verdicts.md", stop_reasons),
    "separation": Block("docs/verdicts.md", separation, cheap=False),
    "verdict-cases": Block("README.md", verdict_cases),
    "measured-norris": Block("README.md", measured_norris),
    "compare-longley": Block("README.md", compare_longley),
    "live-overhead": Block("README.md", live_overhead, cheap=False),
    "softmax-references": Block("docs/losses.md", softmax_references, cheap=False),
    "overfitting": Block("docs/plots.md", overfitting, cheap=False),
    "playground-load": Block("docs/playground.md", playground_load, cheap=False),
    "sharpness-cost": Block("README.md", sharpness_cost, cheap=False),
    "mlp-units": Block("README.md", mlp_units, cheap=False),
    "edge-page": Block("docs/edge-of-stability.md", edge_page, cheap=False),
    "edge-readme": Block("README.md", edge_readme, cheap=False),
    "edge-adam": Block("docs/edge-of-stability.md", edge_adam, cheap=False),
    "dask-cluster": Block("docs/dask.md", dask_cluster, cheap=False),
    "dask-array": Block("docs/dask.md", dask_array, cheap=False),
    "speed-readme": Block("README.md", speed_readme, cheap=False),
    "speed-full": Block("docs/benchmarks.md", speed_full, cheap=False),
    "multistart-tiny": Block("README.md", multistart_tiny, cheap=False),
    "csv-memory": Block("docs/reliability.md", csv_memory, cheap=False),
    "loss-references": Block("docs/losses.md", loss_references, cheap=False),
    **{
        name: Block(path, functools.partial(_cli_text, argv), cheap=False)
        for name, (path, argv) in COMMAND_OUTPUTS.items()
    },
    "goe-table": Block("docs/landscapes.md", goe_table),
    "runs-longley": Block("README.md", runs_longley, draw=draw_runs_longley),
    "runs-longley-text": Block("docs/plots.md", runs_longley_text),
    "norris-figures": Block("README.md", norris_figures, draw=draw_norris_figures),
    "saddles-table": Block("docs/landscapes.md", saddles_table, cheap=False),
    "saddles-readme": Block("README.md", saddles_readme, cheap=False),
    "saddles-search": Block("docs/landscapes.md", saddles_search, cheap=False),
}

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def code_blocks(path: str, lang: str) -> list[tuple[int, str]]:
    """The fenced ```lang blocks of a Markdown file: (line of the fence, code)."""
    text = (ROOT / path).read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(2))
        for m in _FENCE.finditer(text)
        if m.group(1) == lang
    ]


def commands(path: str) -> list[str]:
    """The ``descend …`` commands of a file's ```bash blocks, comments stripped, in order.

    A line that only installs or runs the suite (``python -m pip …``, ``bash scripts/…``) is
    not a descend command; its ``&& descend …`` tail is."""
    out = []
    for _, code in code_blocks(path, "bash"):
        for line in code.splitlines():
            line = line.split(" #", 1)[0].strip()
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith("descend"):
                    out.append(part)
    return out


_TIME_COLUMN = re.compile(r"\| [0-9.]+ \| (\S+) \|$", re.M)
_TIME_TEXT = re.compile(r"[0-9.]+ ms for the loop")


def masked(text: str) -> str:
    """The block with its timings masked (they vary from run to run)."""
    return _TIME_TEXT.sub("… ms for the loop", _TIME_COLUMN.sub(r"| … | \1 |", text))


def _span(text: str, name: str) -> tuple[int, int]:
    """Where the block's body lies: from the line after its start marker to the end of the
    line before its end marker (markers may be indented, e.g. inside a list item)."""
    start = f"<!-- docs:{name} -->\n"
    i = text.index(start) + len(start)
    k = text.index(f"<!-- /docs:{name} -->", i)
    return i, text.rindex("\n", i - 1, k)


def current(name: str) -> str:
    """The block as it stands in its file."""
    text = (ROOT / BLOCKS[name].path).read_text(encoding="utf-8")
    i, j = _span(text, name)
    return text[i:j]


def write(name: str, body: str) -> None:
    path = ROOT / BLOCKS[name].path
    text = path.read_text(encoding="utf-8")
    i, j = _span(text, name)
    path.write_text(text[:i] + body + text[j:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a diff")
    parser.add_argument("names", nargs="*", help=f"blocks (default all): {', '.join(BLOCKS)}")
    args = parser.parse_args(argv)
    stale = []
    for name in args.names or list(BLOCKS):
        body = BLOCKS[name].make()
        if args.check:
            if masked(body) != masked(current(name)):
                stale.append(name)
        else:
            write(name, body)
            print(f"wrote {name} in {BLOCKS[name].path}")
            draw = BLOCKS[name].draw
            for figure in draw() if draw is not None else []:
                print(f"drew {Path(figure).relative_to(ROOT)}")
    if stale:
        print(f"stale: {', '.join(stale)} (run python scripts/docs.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
