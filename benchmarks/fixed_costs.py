"""The fixed costs of a large least-squares fit: what ``ds.fit`` spends outside the pass.

Issue 19, item 1. At 10⁶×10 one ``X.T @ X`` takes about 12 ms, so the milliseconds a fit
spends outside its statistics pass (advice, preconditioner choice, reference, the exact
unscaling of the coefficients, the pool that makes the pass's blocks) decide whether it meets
1.5× one ``X.T @ X``. One process times, interleaved and repeated, on one problem: one
``X.T @ X``, one ``X @ w``, ``ds.fit(X, y, learning_rate="auto")`` and the statistics pass
alone (:func:`descend.problems.stats.moments`) and the fit with that pass's result given
(the fixed cost, "outside"), each with the compiled kernels (this process opts in with
``fused.prepare()`` when Numba is installed) and by the BLAS route (``DESCEND_NUMBA=0``). Run it
against two checkouts in alternating processes to compare them::

    for i in 1 2 3; do for src in OLD/src NEW/src; do
        PYTHONPATH=$src python -m benchmarks.fixed_costs --label $src; done; done

(run from the repository root, so that ``benchmarks`` is importable; ``--threads 1`` for one
BLAS thread). Prints the load average and one line per route: the fastest and the median
time of each operation, and the median ratios; then what the pass pays to hand out its
blocks to its threads (:func:`scheduling`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.run import make_problem
from benchmarks.stats_pass import blas_route


def measure(X: Any, y: Any, repeat: int) -> dict[str, dict[str, float]]:
    """Per route (``"kernels"``, ``"blas"``): the fastest and the median ms of each operation
    over the repeats, and the median per-repeat ratios fit/X.T@X and fit/X@w.

    ``outside`` is a whole fit whose statistics pass returns the moments computed beforehand
    (:func:`descend.problems.stats.moments` replaced for the call): everything the fit does
    besides reading X, measured directly rather than as a difference of two noisy times.
    """
    import descend as ds
    from descend.problems import stats

    w = np.ones(X.shape[1])
    real = stats.moments

    def fit() -> Any:
        return ds.fit(X, y, learning_rate="auto")

    def moments() -> Any:
        return stats.moments(X, y)

    def blas(f: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with blas_route():
                return f()

        return run

    def outside(mom: Any) -> Callable[[], Any]:
        def run() -> Any:
            stats.moments = lambda *a, **k: mom
            try:
                return fit()
            finally:
                stats.moments = real

        return run

    ops: dict[str, Callable[[], Any]] = {
        "xtx": lambda: X.T @ X,
        "xw": lambda: X @ w,
        "fit": fit,
        "pass": moments,
        "outside": outside(moments()),
        "fit_blas": blas(fit),
        "pass_blas": blas(moments),
        "outside_blas": outside(blas(moments)()),
    }
    for f in ops.values():  # warm: pools, caches, compiled kernels
        f()
    times: dict[str, list[float]] = {k: [] for k in ops}
    for _ in range(repeat):
        for k, f in ops.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    out: dict[str, dict[str, float]] = {}
    for name, suffix in (("kernels", ""), ("blas", "_blas")):
        r: dict[str, float] = {}
        for op in ("fit", "pass", "outside"):
            r[f"{op}_min"] = 1e3 * min(times[op + suffix])
            r[f"{op}_med"] = 1e3 * statistics.median(times[op + suffix])
        r["xtx_min"] = 1e3 * min(times["xtx"])
        for ref in ("xtx", "xw"):
            r[f"fit_over_{ref}"] = statistics.median(
                a / b for a, b in zip(times["fit" + suffix], times[ref], strict=True)
            )
        out[name] = r
    return out


def scheduling(blocks: int = 20, repeat: int = 300) -> tuple[float, float]:
    """Fastest and median ms of :func:`descend.problems.stats.in_order` over ``blocks`` empty
    blocks with as many workers as BLAS may use: what a pass pays to hand out its blocks (a
    10⁶×10 pass with the kernels has 20), whatever the blocks cost."""
    from descend.problems import blas, stats

    workers = blas.blas_threads()

    def run() -> None:
        for _ in stats.in_order(lambda i, j: None, blocks, 1, workers):
            pass

    for _ in range(20):
        run()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times), 1e3 * statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="")
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("-d", type=int, default=10)
    parser.add_argument("--kappa", type=float, default=1e4)
    parser.add_argument("--threads", type=int, default=0, help="BLAS threads (0: default)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    from descend.problems import fused

    if fused.available():
        fused.prepare()
    X, y = make_problem(args.n, args.d, args.kappa)
    with threadpool_limits(limits=args.threads or os.cpu_count()):
        load = os.getloadavg()[0]
        res = measure(X, y, args.repeat)
        sched = scheduling()
    threads = args.threads or "default"
    print(f"{args.label}: {args.n:.0e}x{args.d} kappa {args.kappa:g} threads {threads}, "
          f"load {load:.2f}; ms fastest/median", flush=True)  # fmt: skip
    for route, r in res.items():
        print(
            f"  {route:7s} fit {r['fit_min']:6.2f}/{r['fit_med']:6.2f}  pass "
            f"{r['pass_min']:6.2f}/{r['pass_med']:6.2f}  outside "
            f"{r['outside_min']:5.2f}/{r['outside_med']:5.2f}  X.T@X {r['xtx_min']:6.2f}  "
            f"fit/X.T@X {r['fit_over_xtx']:.2f}  fit/X@w {r['fit_over_xw']:.2f}",
            flush=True,
        )
    print(f"  handing out 20 blocks (in_order, empty blocks): {sched[0]:.3f}/{sched[1]:.3f}")


if __name__ == "__main__":
    main()
