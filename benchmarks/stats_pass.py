"""Least squares at the memory limit: ``ds.fit`` against one ``X.T @ X`` and one ``X @ w``.

Issue 19, item 1. For each problem (n×d, κ≈1 and κ≈1e4) one process times, interleaved and
repeated: one ``X.T @ X`` (the physical reference of the suite), one streaming read ``X @ w``
(the real floor), ``ds.fit(X, y, learning_rate="auto")`` (defaults otherwise: advice and
reference included) — with the compiled Numba kernels of :mod:`descend.problems.fused` when
Numba is installed (this process opts in with ``fused.prepare()``), and again with
``DESCEND_NUMBA=0`` (the BLAS route, what a user without
Numba runs) —, the statistics pass alone (:func:`descend.problems.stats.moments`, both routes)
and the pass as it was before issue 19's threads-over-chunks change (every block's BLAS call
threaded by BLAS itself: :func:`old_pass`, the loop as it was). The headline is the median of
the per-repeat ratios (robust to a busy machine); the fastest times are reported too. The
cost of Numba in a fresh process (import and loading the cached kernels: what the first large
fit of each process pays) is measured in a subprocess and reported.

Every case runs at one BLAS thread and at the library default, and with ``busy`` background
processes (each a pure-Python spin loop on one core, started before the case and stopped after
it) — 0 and 2 by default: the issue's "two busy background processes that the benchmark starts
and stops itself". The load average before and after is reported.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

#: the issue's bounds: fit ≤ 1.5× one X.T@X and ≤ 2× one X @ w
TARGET_XTX, TARGET_XW = 1.5, 2.0
#: (n, d) of the full run, each at κ≈1 and κ≈1e4
SIZES = ((1_000_000, 10), (10_000_000, 10), (1_000_000, 100))
KAPPAS = (1.0, 1e4)


@contextmanager
def background(count: int) -> Iterator[list[int]]:
    """``count`` spinning Python processes for the duration of the block (stopped by pid)."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True:\n    pass"]) for _ in range(count)
    ]
    try:
        time.sleep(0.2 if procs else 0.0)
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)


def old_pass(X: Any, y: Any) -> Any:
    """The raw-sums pass before the change, verbatim: one serial loop over 1 MiB row blocks,
    each block's two BLAS calls threaded (or not) by BLAS itself."""
    from descend.problems.stats import RAW_BLOCK_BYTES

    m, d = X.shape
    y0 = float(y[0])
    rows = max(256, RAW_BLOCK_BYTES // (8 * d))
    W = np.empty((min(rows, max(m, 1)), 2), order="F")
    W[:, 1] = 1.0
    S = np.zeros((d + 2, d + 2))
    G = S[:d, :d]
    C = S[:d, d:]
    yy = 0.0
    ys = 0.0
    for i in range(0, m, rows):
        j = min(i + rows, m)
        Xb = X[i:j]
        Wb = W[: j - i]
        yb = Wb[:, 0]
        np.subtract(y[i:j], y0, out=yb)
        G += Xb.T @ Xb
        C += Xb.T @ Wb
        yy += float(yb @ yb)
        ys += float(yb.sum())
    S[d, d] = yy
    S[d, d + 1] = ys
    S[d + 1, d + 1] = float(m)
    S[d:, :d] = S[:d, d:].T
    S[d + 1, d] = ys
    return S


@contextmanager
def blas_route() -> Iterator[None]:
    """The statistics pass without the Numba kernels (``DESCEND_NUMBA=0``) inside the block."""
    from descend.problems import fused

    before = os.environ.get(fused.ENV)
    os.environ[fused.ENV] = "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ[fused.ENV]
        else:
            os.environ[fused.ENV] = before


def route(X: Any) -> str:
    """Which statistics pass ``ds.fit`` runs on X here."""
    from descend.problems import fused

    if X.size < fused.MIN_ENTRIES or not fused.enabled():
        return "BLAS"
    return "Numba kernel" if X.shape[1] <= fused.MAX_COLUMNS else "syrk + Numba"


def numba_first_call() -> float | None:
    """Seconds a fresh process spends importing Numba and loading the cached kernels (None
    without Numba). Run once in this process first, so that the cache exists."""
    from descend.problems import fused

    if not fused.available() or not fused.prepare():  # prepare(): this process opts in
        return None
    code = (
        "import time; import numpy; t = time.perf_counter(); "
        "from descend.problems import fused; fused.prepare(); "
        "X = numpy.ones((300, 3)); fused.block_sums(X, numpy.ones(300), 0.0, 0, 300); "
        "print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def case(X: Any, y: Any, Lstar: float, repeat: int) -> dict[str, Any]:
    """Interleaved timings of the operations on one problem; ratios per repeat."""
    import descend as ds
    from descend.problems import stats

    def without_numba(f: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with blas_route():
                return f()

        return run

    w = np.ones(X.shape[1])
    fit = lambda: ds.fit(X, y, learning_rate="auto")  # noqa: E731
    moments = lambda: stats.moments(X, y)  # noqa: E731
    ops: dict[str, Callable[[], Any]] = {
        "xtx": lambda: X.T @ X,
        "xw": lambda: X @ w,
        "fit": fit,
        "fit_blas": without_numba(fit),
        "pass": moments,
        "pass_blas": without_numba(moments),
        "old_pass": lambda: old_pass(X, y),
    }
    res = ops["fit"]()
    r = y - res.predict(X)
    excess = (float(r @ r) / len(y) - Lstar) / Lstar
    times: dict[str, list[float]] = {k: [] for k in ops}
    for _ in range(repeat):
        for k, f in ops.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    out: dict[str, Any] = {"excess": excess, "stop_reason": res.stop_reason, "route": route(X)}
    out.update({f"{k}_s": min(v) for k, v in times.items()})
    for k in ("fit", "fit_blas", "pass", "pass_blas", "old_pass"):
        for ref in ("xtx", "xw"):
            ratios = [a / b for a, b in zip(times[k], times[ref], strict=True)]
            out[f"{k}_over_{ref}"] = statistics.median(ratios)
            out[f"{k}_over_{ref}_fastest"] = min(times[k]) / min(times[ref])
    return out


def stats_pass(
    quick: bool,
    threads_settings: tuple[int, ...] = (1, 0),
    busy_settings: tuple[int, ...] = (0, 2),
    sizes: tuple[tuple[int, int], ...] = SIZES,
    repeat: int = 5,
) -> dict[str, Any]:
    """Every (size, κ) at each thread setting (0: the default) and background load."""
    from threadpoolctl import threadpool_limits

    from benchmarks.run import make_problem, optimum

    if quick:
        sizes, repeat = ((500_000, 10), (120_000, 40)), 2  # both Numba routes (≥ 2²² entries)
    out: dict[str, Any] = {"load_start": os.getloadavg(), "cases": [],
                           "numba_first_call_s": numba_first_call()}  # fmt: skip
    # the kernels are opt-in per process: this one opts in (its cost is the line above)
    for n, d in sizes:
        for kappa in KAPPAS:
            X, y = make_problem(n, d, kappa)
            Lstar = optimum(X, y)[1]
            for busy in busy_settings:
                with background(busy):
                    for threads in threads_settings:
                        with threadpool_limits(limits=threads or os.cpu_count()):
                            load = os.getloadavg()[0]
                            row = case(X, y, Lstar, repeat)
                        row.update(n=n, d=d, kappa=kappa, busy=busy, load=load,
                                   threads=threads or "default")  # fmt: skip
                        out["cases"].append(row)
                        print(f"  {n}×{d} κ≈{kappa:g} threads {row['threads']} busy {busy}: "
                              f"fit/X.T@X {row['fit_over_xtx']:.2f} (BLAS route "
                              f"{row['fit_blas_over_xtx']:.2f})", file=sys.stderr,
                              flush=True)  # fmt: skip
            del X, y
    out["load_end"] = os.getloadavg()
    return out


def targets(s: dict[str, Any]) -> list[dict[str, Any]]:
    """Two target rows per case: fit ≤ 1.5× X.T@X and ≤ 2× X @ w (median ratios)."""
    rows = []
    for c in s["cases"]:
        problem = (f"{c['n']:.0e}×{c['d']} κ≈{c['kappa']:g}, threads {c['threads']}, "
                   f"{c['busy']} busy processes")  # fmt: skip
        for ref, bound, name in (("xtx", TARGET_XTX, "X.T@X"), ("xw", TARGET_XW, "X @ w")):
            v = c[f"fit_over_{ref}"]
            rows.append({"target": f"least-squares fit ≤ {bound}× one {name}", "problem": problem,
                         "measured": v, "met": v <= bound,
                         "note": f"route {c['route']}; fastest {c[f'fit_over_{ref}_fastest']:.2f}; "
                                 f"BLAS route {c[f'fit_blas_over_{ref}']:.2f}"})  # fmt: skip
    return rows


def to_markdown(s: dict[str, Any]) -> list[str]:
    """The section of the report: one row per case."""
    la, lb = s["load_start"], s["load_end"]
    first = s.get("numba_first_call_s")
    numba = (
        f"Numba in a fresh process (import, cached kernels loaded): {first:.2f} s, paid once "
        "per process by `descend.problems.fused.prepare()` (the kernels are opt-in; this "
        "process opted in before the first case)."
        if first is not None
        else "Numba is not installed here: both routes are the BLAS route."
    )
    lines = [
        "",
        "## Least squares at the memory limit: fit against one X.T@X and one X @ w",
        "",
        '`ds.fit(X, y, learning_rate="auto")` (defaults, advice and reference included) with '
        "the statistics pass it takes here (route) and with the BLAS route (`DESCEND_NUMBA=0`, "
        "what runs without Numba), the pass alone by each route, and the pass as it was before "
        "issue 19 (BLAS threading each block's call), each over one X.T@X and one X @ w timed "
        "interleaved in the same process; median of the per-repeat ratios (fastest-time ratio "
        "of fit in brackets). busy = spinning background processes the benchmark started; "
        "load = 1-minute load average when the case began. "
        f"Load average {la[0]:.2f} before, {lb[0]:.2f} after. {numba}",
        "",
        "| n×d | κ | threads | busy | load | route | X.T@X ms | X@w ms | fit ms | excess | "
        "fit/X.T@X | fit/X@w | BLAS-route fit/X.T@X | pass/X.T@X | BLAS pass/X.T@X | "
        "old pass/X.T@X |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in s["cases"]:
        lines.append(
            f"| {c['n']:.0e}×{c['d']} | {c['kappa']:g} | {c['threads']} | {c['busy']} | "
            f"{c['load']:.1f} | {c['route']} | {1e3 * c['xtx_s']:.1f} | {1e3 * c['xw_s']:.1f} | "
            f"{1e3 * c['fit_s']:.1f} | {c['excess']:.1e} | **{c['fit_over_xtx']:.2f}×** "
            f"({c['fit_over_xtx_fastest']:.2f}) | **{c['fit_over_xw']:.2f}×** | "
            f"{c['fit_blas_over_xtx']:.2f}× | {c['pass_over_xtx']:.2f}× | "
            f"{c['pass_blas_over_xtx']:.2f}× | {c['old_pass_over_xtx']:.2f}× |"
        )
    return lines + ["", *summary(s)]


def summary(s: dict[str, Any]) -> list[str]:
    """How many cases meet each target, with the route taken and with the BLAS route, and the
    ranges of the ratios, by width d (d = 100 is compute-bound: X.T@X is far above a read)."""
    cases = s["cases"]
    out = []
    for ref, bound, name in (("xtx", TARGET_XTX, "X.T@X"), ("xw", TARGET_XW, "X @ w")):
        met = sum(c[f"fit_over_{ref}"] <= bound for c in cases)
        blas = sum(c[f"fit_blas_over_{ref}"] <= bound for c in cases)
        ranges = "; ".join(
            f"d = {d}: {min(v):.2f}–{max(v):.2f}× (BLAS route {min(w):.2f}–{max(w):.2f}×)"
            for d in sorted({c["d"] for c in cases})
            for v, w in [(
                [c[f"fit_over_{ref}"] for c in cases if c["d"] == d],
                [c[f"fit_blas_over_{ref}"] for c in cases if c["d"] == d],
            )]
        )  # fmt: skip
        missed = ", ".join(
            f"{c['n']:.0e}×{c['d']} κ≈{c['kappa']:g} threads {c['threads']} busy {c['busy']} "
            f"({c[f'fit_over_{ref}']:.2f})"
            for c in cases
            if c[f"fit_over_{ref}"] > bound
        )
        out.append(
            f"- fit ≤ {bound}× one {name}: **met in {met} of {len(cases)} cases** ({blas} by the "
            f"BLAS route); {ranges}." + (f" Not met: {missed}." if missed else "")
        )
    return out
