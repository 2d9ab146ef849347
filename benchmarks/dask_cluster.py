"""Dask fits on a cluster of worker processes: time against one read, worker memory per chunk.

One Parquet file (``rows`` × 11 float64 columns, row groups of 100,000 rows) is written to a
temporary folder and opened with :func:`descend.problems.distributed.load`. A
``distributed.LocalCluster`` runs two worker *processes* of one thread each (what
``dask worker --nthreads 1`` starts), and the client is this process.

- **One read**: a pass that reads every chunk and reduces it to a number
  (``(X.sum() + y.sum()).compute()``; the fastest of two, then one more before each fit) —
  the floor of any pass.
- **Fits**, each the faster of two, timed whole (``ds.fit`` from the Dask arrays: the
  statistics pass, the reference, the loop) and per step or epoch (the loop's own time,
  ``res.wall_time``): least squares full batch (``lr="auto"``: one pass, then O(p²) steps
  on the client), Huber full batch (one pass per step), least squares and Huber
  mini-batches (one epoch: every chunk read once, batches drawn on the client).
- **Worker memory**: for partitions of 1, 4 and 10 row groups (``blocksize``), the workers
  are restarted, a small task imports what a read needs, reports the resident memory and
  resets the peak (``/proc/self/clear_refs``: a worker's start-up peak would hide small
  chunks), then a least-squares fit runs and each worker reports its peak resident memory
  (``VmHWM``); the larger of the two workers is quoted. Linux only.

``python -m benchmarks.dask_cluster [--rows N]`` prints the results as JSON; scripts/docs.py
quotes them in docs/dask.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

#: rows per Parquet row group; 11 float64 columns make 8.8 MB per group
ROW_GROUP = 100_000
D = 10


def write_parquet(path: Path, rows: int, seed: int = 0) -> None:
    """``rows`` × (10 features + target) as one Parquet file of 100,000-row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    w = np.linspace(-1.0, 2.0, D)
    writer = None
    try:
        for start in range(0, rows, ROW_GROUP):
            m = min(ROW_GROUP, rows - start)
            X = rng.standard_normal((m, D)) * np.arange(1, D + 1)
            y = X @ w + 0.5 + rng.standard_normal(m) + 0.3 * rng.standard_t(3, m)
            table = pa.table({**{f"x{j}": X[:, j] for j in range(D)}, "y": y})
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=ROW_GROUP)
    finally:
        if writer is not None:
            writer.close()


def _status(field: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status, in bytes (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def warm() -> int:
    """Import what reading a chunk needs, then reset the peak resident memory (Linux's
    ``clear_refs``); runs on a worker. Returns the resident memory now."""
    import pyarrow.parquet  # noqa: F401

    import descend.problems.distributed  # noqa: F401

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := VmRSS
    return _status("VmRSS")


def peak_rss() -> int:
    """The peak resident memory since :func:`warm` (runs on a worker)."""
    return _status("VmHWM")


def _read_time(X: Any, y: Any) -> float:
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        (X.sum() + y.sum()).compute()
        best = min(best, time.perf_counter() - t)
    return best


def _fit(X: Any, y: Any, **kw: Any) -> tuple[float, Any]:
    import descend as ds

    t = time.perf_counter()
    res = ds.fit(X, y, warn=False, **kw)
    return time.perf_counter() - t, res


def measure(rows: int = 2_000_000, blocksizes: tuple[int, ...] = (1, 4, 10)) -> dict[str, Any]:
    """Ratios to one read and worker memory per chunk size (``blocksizes`` in row groups)."""
    import distributed

    from descend.problems.distributed import load

    out: dict[str, Any] = {"rows": rows, "columns": D + 1, "row_group": ROW_GROUP}
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "data.parquet"
        write_parquet(f, rows)
        out["file_mb"] = f.stat().st_size / 1e6
        group_bytes = ROW_GROUP * (D + 1) * 8
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, memory_limit="2GB",
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):  # fmt: skip
            # -- time: partitions of 4 row groups ----------------------------------------------
            X, y, _ = load(f, blocksize=4 * group_bytes)
            out["chunks"] = X.numblocks[0]
            out["chunk_mb"] = max(X.chunks[0]) * (D + 1) * 8 / 1e6
            read = _read_time(X, y)
            out["read_s"] = read
            epoch = rows // 20_000  # mini-batches of 20,000 rows: one epoch
            runs = {
                "least squares, full batch (lr auto)": dict(learning_rate="auto"),
                "Huber, full batch (10 steps)": dict(
                    loss="huber", learning_rate=0.5, max_steps=10, tol=0
                ),
                "least squares, mini-batch (1 epoch)": dict(
                    learning_rate=0.01, batch_size=20_000, max_steps=epoch, tol=0
                ),
                "Huber, mini-batch (1 epoch)": dict(
                    loss="huber", learning_rate=0.05, batch_size=20_000, max_steps=epoch, tol=0
                ),
            }
            out["fits"] = []
            for name, kw in runs.items():
                read = min(read, _read_time(X, y))  # interleaved: the floor, measured again
                t, res = min((_fit(X, y, **kw) for _ in range(2)), key=lambda tr: tr[0])
                per = "epoch" if "batch_size" in kw else "step"
                units = res.n_steps / epoch if per == "epoch" else res.n_steps
                out["fits"].append({
                    "run": name, "steps": res.n_steps, "stop": res.stop_reason,
                    "fit_s": t, "per": per,
                    "loop_s": res.wall_time / max(units, 1),
                })  # fmt: skip
            for row in out["fits"]:  # against the fastest read seen
                row["fit_ratio"] = row["fit_s"] / read
                row["per_ratio"] = row["loop_s"] / read
            out["read_s"] = read
            # -- memory: a fresh worker per chunk size -----------------------------------------
            out["memory"] = []
            for groups in blocksizes:
                client.restart()
                base = client.run(warm)
                Xb, yb, _ = load(f, blocksize=groups * group_bytes)
                _fit(Xb, yb, learning_rate="auto")
                peak = client.run(peak_rss)
                out["memory"].append({
                    "row_groups": groups, "chunks": Xb.numblocks[0],
                    "chunk_mb": max(Xb.chunks[0]) * (D + 1) * 8 / 1e6,
                    "base_mb": max(base.values()) / 1e6, "peak_mb": max(peak.values()) / 1e6,
                })  # fmt: skip
    out["load"] = [load_start[0], os.getloadavg()[0]]
    return out


# ---------------------------------------------------------------------------------------------
# in-memory Dask arrays: the fit against one read (issue 19, item 5)
# ---------------------------------------------------------------------------------------------
#: rows and chunks of the ``--array`` case: 1e7×10 float64 (800 MB) held as 20 chunks
ARRAY_ROWS, ARRAY_CHUNKS = 10_000_000, 20


def array_data(rows: int, chunks: int, seed: int = 0) -> tuple[Any, Any]:
    """X (rows × 10, N(0, 1) columns scaled 1…10) and y = Xw + 0.5 + noise as Dask arrays of
    ``chunks`` row chunks, made by ``dask.array.random.default_rng(seed)`` and **persisted**
    (the active Client's workers hold the chunks; without one, this process): every chunk
    is the same for either scheduler, and a read or fit never recomputes them."""
    import dask
    import dask.array as da

    rng = da.random.default_rng(seed)
    size = -(-rows // chunks)
    X = rng.standard_normal((rows, D), chunks=(size, D)) * np.arange(1, D + 1)
    y = X @ np.linspace(-1.0, 2.0, D) + 0.5 + rng.standard_normal(rows, chunks=size)
    X, y = dask.persist(X, y)
    try:
        from distributed import get_client, wait

        get_client()  # ValueError without a Client: persisted in this process already
        wait([X, y], timeout=600)
    except (ImportError, ValueError):
        pass
    return X, y


#: the statistics routes compared: BLAS (two calls per row block) and the compiled kernels
ROUTES = ("blas", "kernels")


def set_route(route: str) -> None:
    """Run the chunks' statistics by ``route`` in this process (a worker, or the process of
    the local schedulers): ``DESCEND_NUMBA=0`` keeps BLAS; unset, the kernels loaded by
    ``prepare_kernels`` are used."""
    from descend.problems import fused

    if route == "blas":
        os.environ[fused.ENV] = "0"
    else:
        os.environ.pop(fused.ENV, None)


def _routes_everywhere(route: str) -> None:
    """:func:`set_route` here and, with an active Client, on every worker."""
    set_route(route)
    try:
        from distributed import get_client

        get_client().run(set_route, route)
    except (ImportError, ValueError):
        pass


def _pass_time(X: Any, y: Any) -> float:
    """The statistics pass alone (``moments_dask``: the probe and one chunked pass)."""
    from descend.problems.distributed import moments_dask

    t = time.perf_counter()
    moments_dask(X, y, fingerprint=False)
    return time.perf_counter() - t


def _task_profile(run: Any) -> dict[str, float]:
    """``run()``'s wall time, its tasks' count and their summed run time: on a
    ``distributed`` Client the workers' own compute times (the task stream); on the local
    schedulers from Dask's callbacks, which fire in the scheduling thread as a task is handed
    to a free thread and as its result comes back (so a little more than the task itself)."""
    try:
        from distributed import get_client, get_task_stream

        get_client()
    except (ImportError, ValueError):
        from dask.callbacks import Callback

        began: dict[Any, float] = {}
        spans: list[float] = []

        def pre(key: Any, *_: Any) -> None:
            began[key] = time.perf_counter()

        def post(key: Any, *_: Any) -> None:
            spans.append(time.perf_counter() - began.pop(key))

        t = time.perf_counter()
        with Callback(pretask=pre, posttask=post):
            run()
        return {"wall_s": time.perf_counter() - t, "tasks": len(spans),
                "task_s": float(sum(spans))}  # fmt: skip
    t = time.perf_counter()
    with get_task_stream() as ts:
        run()
    wall = time.perf_counter() - t
    computes = [s["stop"] - s["start"] for d in ts.data for s in d["startstops"]
                if s["action"] == "compute"]  # fmt: skip
    return {"wall_s": wall, "tasks": len(computes), "task_s": float(sum(computes))}


def _array_rounds(X: Any, y: Any, Xn: Any, yn: Any, repeat: int) -> dict[str, Any]:
    """Interleaved rounds: one read (``X.sum().compute()``), then per route (BLAS, kernels;
    the order alternates between rounds) the Dask fit, the statistics pass alone and the
    in-memory fit on the same values. Each ratio is the median of the per-round ratios; one
    unrecorded round first loads every route's kernels for these arrays."""
    import descend as ds

    def one_round(order: tuple[str, ...]) -> dict[str, Any]:
        rnd: dict[str, Any] = {"load": os.getloadavg()[0]}
        t = time.perf_counter()
        X.sum().compute()
        rnd["read_s"] = time.perf_counter() - t
        for route in order:
            _routes_everywhere(route)
            t_fit, res = _fit(X, y, learning_rate="auto")
            t_pass = _pass_time(X, y)
            t = time.perf_counter()
            mem = ds.fit(Xn, yn, learning_rate="auto", warn=False)
            t_mem = time.perf_counter() - t
            rnd[route] = {"fit_s": t_fit, "pass_s": t_pass, "memory_fit_s": t_mem,
                          "steps": res.n_steps, "stop": res.stop_reason,
                          "coef": res.coef.tolist(),
                          "coef_rel_diff": float(np.max(np.abs(res.coef - mem.coef))
                                                 / np.max(np.abs(mem.coef)))}  # fmt: skip
        return rnd

    one_round(ROUTES)  # warm-up: kernels loaded for these arrays' layouts, everywhere
    rounds = [one_round(ROUTES if k % 2 == 0 else ROUTES[::-1]) for k in range(repeat)]
    tasks = {"read": _task_profile(lambda: X.sum().compute())}
    for route in ROUTES:  # after the timed rounds: the profiling does not perturb them
        _routes_everywhere(route)
        tasks[route] = _task_profile(lambda: _pass_time(X, y))
    _routes_everywhere("kernels")
    out: dict[str, Any] = {"rounds": rounds, "tasks": tasks,
                           "read_s": float(np.median([r["read_s"] for r in rounds]))}  # fmt: skip
    for route in ROUTES:
        rs = [r[route] for r in rounds]
        med = {k: float(np.median([x[k] for x in rs])) for k in ("fit_s", "pass_s", "memory_fit_s")}
        out[route] = {
            **med,
            "steps": rs[0]["steps"],
            "stop": rs[0]["stop"],
            "fit_over_read": float(np.median([x["fit_s"] / r["read_s"]
                                              for x, r in zip(rs, rounds, strict=True)])),
            "pass_over_read": float(np.median([x["pass_s"] / r["read_s"]
                                               for x, r in zip(rs, rounds, strict=True)])),
            "fit_over_memory_fit": float(np.median([x["fit_s"] / x["memory_fit_s"] for x in rs])),
        }  # fmt: skip
    b, k = rounds[0]["blas"], rounds[0]["kernels"]
    out["routes_agree"] = {
        "same_steps_and_stop": (b["steps"], b["stop"]) == (k["steps"], k["stop"]),
        "coef_rel_diff": float(np.max(np.abs(np.subtract(b["coef"], k["coef"])))
                               / np.max(np.abs(b["coef"]))),
    }  # fmt: skip
    return out


def chunk_profile(rows: int, repeat: int = 7) -> dict[str, Any]:
    """What one chunk costs in this process (BLAS at one thread), median of ``repeat``: a
    summing read (``chunk.sum()``, what one read's task does), the raw sums by BLAS and by
    the kernels; and two chunks on two threads at once (the kernels release the GIL: the
    wall time of two stays near that of one where two cores are free)."""
    import threading

    from descend.problems import fused, stats

    rng = np.random.default_rng(1)
    Xs = [rng.standard_normal((rows, D)) for _ in range(2)]
    y = rng.standard_normal(rows)

    def med(f: Any) -> float:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return float(np.median(times))

    def two(f: Any) -> float:
        ts = [threading.Thread(target=f, args=(Z,)) for Z in Xs]
        t = time.perf_counter()
        for th in ts:
            th.start()
        for th in ts:
            th.join()
        return time.perf_counter() - t

    from threadpoolctl import threadpool_limits

    fused.prepare()
    limit = threadpool_limits(1)  # set here: the threads below cannot (see problems/blas.py)
    work = {
        "sum": lambda Z: Z.sum(),
        "blas": lambda Z: stats.raw_scatter(Z, y, 0.1, workers=1, fused=False),
        "kernels": lambda Z: stats.raw_scatter(Z, y, 0.1, workers=1, fused=True),
    }
    out: dict[str, Any] = {"rows": rows, "load_start": os.getloadavg()[0]}
    for name, f in work.items():
        f(Xs[0])
        out[f"{name}_ms"] = 1e3 * med(lambda f=f: f(Xs[0]))
        out[f"{name}_two_threads_ms"] = 1e3 * float(np.median([two(f) for _ in range(repeat)]))
    limit.restore_original_limits()
    out["load_end"] = os.getloadavg()[0]
    return out


#: the thread settings: (label, BLAS threads in this process, threads of the threaded
#: scheduler); None: the library's default (the number of CPUs)
THREADS = (("one thread", 1, 1), ("default threads", None, None))


def measure_array(
    rows: int = ARRAY_ROWS, chunks: int = ARRAY_CHUNKS, repeat: int = 3
) -> dict[str, Any]:
    """``ds.fit(X, y, learning_rate="auto")`` on persisted Dask arrays against one read of the
    same array and against the in-memory fit, with the chunks' statistics by BLAS and by the
    compiled kernels (``prepare_kernels``: in the workers on the cluster, in this process on
    the threaded scheduler), at one thread and at the default threads: the threaded scheduler
    with 1 thread (BLAS at 1) and with its default (BLAS at its default), and a
    ``LocalCluster`` of 2 worker processes × 1 thread (BLAS in this process at 1, then at its
    default, for the in-memory fit and the client's side). Plus :func:`chunk_profile`."""
    import dask
    import distributed
    from threadpoolctl import threadpool_limits

    from descend.problems import fused
    from descend.problems.distributed import prepare_kernels

    out: dict[str, Any] = {"rows": rows, "d": D, "chunks": chunks, "repeat": repeat}
    out["kernels_apply"] = rows * D >= fused.MIN_ENTRIES
    out["settings"] = []
    out["load_start"] = os.getloadavg()[0]
    saved = os.environ.get(fused.ENV)
    cpus = os.cpu_count() or 1
    try:
        out["profile"] = chunk_profile(-(-rows // chunks))
        with dask.config.set(scheduler="threads"):
            X, y = array_data(rows, chunks)
            Xn, yn = dask.compute(X, y)  # the in-memory copy: the same values
            prepare_kernels()  # no Client: this process
            for label, blas_threads, dask_threads in THREADS:
                start = os.getloadavg()[0]
                with (
                    threadpool_limits(blas_threads or cpus),
                    dask.config.set(num_workers=dask_threads or cpus),
                ):
                    row = _array_rounds(X, y, Xn, yn, repeat)
                n = dask_threads or cpus
                out["settings"].append({"scheduler": "threaded", "threads": label, "slots": n,
                                        "workers": f"{n} thread" + "s" * (n > 1),
                                        "load": [start, os.getloadavg()[0]], **row})  # fmt: skip
            del X, y
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, memory_limit="3GB",
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster),
        ):  # fmt: skip
            X, y = array_data(rows, chunks)
            out["workers_opted_in"] = prepare_kernels()
            for label, blas_threads, _ in THREADS:
                start = os.getloadavg()[0]
                with threadpool_limits(blas_threads or cpus):
                    row = _array_rounds(X, y, Xn, yn, repeat)
                out["settings"].append({"scheduler": "LocalCluster", "threads": label, "slots": 2,
                                        "workers": "2 processes × 1 thread",
                                        "load": [start, os.getloadavg()[0]], **row})  # fmt: skip
            del X, y
    finally:
        if saved is None:
            os.environ.pop(fused.ENV, None)
        else:
            os.environ[fused.ENV] = saved
    out["load_end"] = os.getloadavg()[0]
    return out


def array_targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 19 item 5: the Dask fit ≤ 1.5× one read of the same array, per scheduler, route
    and thread setting."""
    return [
        {"target": "Dask fit ≤ 1.5× one read (X.sum().compute())",
         "problem": f"{r['rows']:.0e}×{r['d']} in {r['chunks']} chunks, {s['scheduler']} "
                    f"({s['workers']}), {s['threads']}, statistics by {route}",
         "measured": s[route]["fit_over_read"], "met": s[route]["fit_over_read"] <= 1.5,
         "note": f"fit ÷ in-memory fit {s[route]['fit_over_memory_fit']:.2f}"}
        for s in r["settings"] for route in ROUTES
    ]  # fmt: skip


def array_markdown(r: dict[str, Any]) -> str:
    """The docs/dask.md block of the ``--array`` case."""
    lines = [
        f"X: {r['rows']:.0e}×{r['d']} float64 ({r['rows'] * r['d'] * 8 / 1e6:.0f} MB) and y, "
        f"{r['chunks']} row chunks made by `dask.array.random.default_rng(0)` and persisted "
        "(in the workers' memory on the cluster, in this process on the threaded scheduler); "
        '`ds.fit(X, y, learning_rate="auto")` (defaults), one read = `X.sum().compute()`, the '
        "in-memory fit on the NumPy copy of the same values (by the same route), the pass = "
        "the statistics pass alone (`moments_dask`: probe and chunked pass); chunks' "
        "statistics by BLAS (`DESCEND_NUMBA=0`) or by the compiled kernels "
        "(`descend.problems.distributed.prepare_kernels()`: in each worker on the cluster, in "
        "this process on the threaded scheduler), interleaved; "
        f"{r['repeat']} rounds after one warm-up round, medians (ratios: median of the "
        "per-round ratios). One thread: BLAS at 1 thread here and a threaded scheduler of 1 "
        "thread; default: both at their defaults (the cluster's workers are 1 thread each "
        "either way).",
        "",
        "| scheduler | threads | statistics | one read s | Dask fit s | pass s | "
        "in-memory fit s | fit ÷ one read | fit ÷ in-memory fit | steps | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in r["settings"]:
        for route in ROUTES:
            c = s[route]
            lines.append(
                f"| {s['scheduler']} ({s['workers']}) | {s['threads']} | {route} | "
                f"{s['read_s']:.3f} | {c['fit_s']:.3f} | {c['pass_s']:.3f} | "
                f"{c['memory_fit_s']:.3f} | **{c['fit_over_read']:.2f}×** | "
                f"{c['fit_over_memory_fit']:.2f}× | {c['steps']} | "
                f"{s['load'][0]:.1f}→{s['load'][1]:.1f} |"
            )
    agree = all(s["routes_agree"]["same_steps_and_stop"] for s in r["settings"])
    worst = max(s["routes_agree"]["coef_rel_diff"] for s in r["settings"])
    p = r["profile"]
    lines += [
        "",
        "Where the time goes (one more read and one statistics pass per route, after the "
        "timed rounds): wall time, the tasks' summed run time (worker-side on the cluster; "
        "on the threaded scheduler as its callbacks see it), and the rest: wall − summed task "
        "time ÷ the threads that run tasks (scheduling, graph building, transfers, waiting "
        "for a core).",
        "",
        "| scheduler | threads | run | wall s | tasks | Σ task s | rest s |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in r["settings"]:
        for run in ("read", *ROUTES):
            t = s["tasks"][run]
            name = "one read" if run == "read" else f"pass, {run}"
            rest = t["wall_s"] - t["task_s"] / s["slots"]
            lines.append(
                f"| {s['scheduler']} ({s['workers']}) | {s['threads']} | {name} | "
                f"{t['wall_s']:.3f} | {t['tasks']} | {t['task_s']:.3f} | {rest:.3f} |"
            )
    lines += [
        "",
        f"BLAS and kernels: {'the same' if agree else 'DIFFERENT'} steps and stop reasons; "
        f"coefficients agree to {worst:.1e} (relative). Workers opted in: "
        f"{sum(r.get('workers_opted_in', {}).values())} of "
        f"{len(r.get('workers_opted_in', {}))}."
        + ("" if r["kernels_apply"] else " (X under 2²² entries: the kernels do not apply.)"),
        "",
        f"One chunk ({p['rows']:,}×{r['d']}) in this process, BLAS at 1 thread, median: "
        f"summing read {p['sum_ms']:.1f} ms, raw sums by BLAS {p['blas_ms']:.1f} ms, by the "
        f"kernels {p['kernels_ms']:.1f} ms; two chunks on two threads at once: "
        f"{p['sum_two_threads_ms']:.1f}, {p['blas_two_threads_ms']:.1f} and "
        f"{p['kernels_two_threads_ms']:.1f} ms (load {p['load_start']:.1f}→{p['load_end']:.1f}).",
        "",
        f"Load average {r['load_start']:.1f} → {r['load_end']:.1f} "
        "(`python -m benchmarks.dask_cluster --array`).",
    ]
    return "\n".join(lines)


def to_markdown(r: dict[str, Any]) -> str:
    """The docs/dask.md block: the two tables and how they were made."""
    lines = [
        f"One Parquet file of {r['rows']:,} rows × {r['columns']} float64 columns "
        f"({r['file_mb']:.0f} MB on disk, row groups of {r['row_group']:,} rows), two worker "
        f"processes of one thread (`LocalCluster`), {r['chunks']} chunks of "
        f"{r['chunk_mb']:.0f} MB; one read (every chunk read and summed) took "
        f"{r['read_s']:.2f} s.",
        "",
        "| run | steps | whole fit ÷ one read | per step or epoch ÷ one read |",
        "|---|---|---|---|",
    ]
    for f in r["fits"]:
        lines.append(
            f"| {f['run']} | {f['steps']} | {f['fit_ratio']:.1f}× | "
            f"{f['per_ratio']:.2f}× per {f['per']} |"
        )
    lines += [
        "",
        "| chunk (row groups) | chunks | worker resident before | peak during a least-squares "
        "fit | growth ÷ chunk |",
        "|---|---|---|---|---|",
    ]
    for m in r["memory"]:
        grow = (m["peak_mb"] - m["base_mb"]) / m["chunk_mb"]
        lines.append(
            f"| {m['chunk_mb']:.0f} MB ({m['row_groups']}) | {m['chunks']} | "
            f"{m['base_mb']:.0f} MB | {m['peak_mb']:.0f} MB | {grow:.1f} |"
        )
    chunk = [m["chunk_mb"] for m in r["memory"]]
    slope, intercept = np.polyfit(chunk, [m["peak_mb"] for m in r["memory"]], 1)
    la, lb = r["load"]
    lines += [
        "",
        f"A line through the peaks: a worker thread needs about {intercept:.0f} MB + "
        f"{slope:.1f} × the chunk.",
        "",
        f"Load average {la:.1f} → {lb:.1f} on the shared 2-core machine "
        "(`python -m benchmarks.dask_cluster`).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--array", action="store_true",
                        help="in-memory Dask arrays (1e7×10, 20 chunks): the fit against one "
                        "read, threaded scheduler and LocalCluster")  # fmt: skip
    args = parser.parse_args(argv)
    if args.array:
        ra = measure_array()
        json.dump(ra, sys.stdout, indent=1)
        print()
        print(array_markdown(ra))
        return 0
    r = measure(args.rows)
    json.dump(r, sys.stdout, indent=1)
    print()
    print(to_markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
