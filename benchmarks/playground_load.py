"""A bounded load test of the playground server (issue 18): many runs, many sockets, some silent.

In one process, against the ASGI app itself (no network; the server's code paths are the same):

1. **Warm-up** — 20 short runs, then ``sockets`` sockets at once for two steps each, so that
   caches, imports, the thread pool and the allocator's per-thread arenas are in place; then
   the resident memory (RSS, ``/proc/self/statm``) is read.
2. **Short runs** — ``short_runs`` runs created, stepped 50 steps and deleted one after another
   over HTTP (every tenth also draws a 10 × 10 contour), cycling through a linear model, a
   cubic and a small MLP on 200 synthetic rows.
3. **Sockets** — ``sockets`` runs held at once, each with its WebSocket; ``silent`` of them ask
   for the top speed and then never read a frame again; the others send ``steps`` step commands
   one after another and time each until its update frame arrives. The server must cut the
   silent ones off after ``send_timeout_s`` (their slots come back) while the others are
   answered.
4. **After** — every run is gone, a new run can be created at once, and RSS is read again.

Every HTTP status is counted (no 5xx allowed) and every socket frame is checked (no "the server
failed" error frame). :func:`measure` returns the figures; tests/test_web_load.py asserts on
them and scripts/docs.py quotes them in docs/playground.md.

Usage: python -m benchmarks.playground_load [--sockets 50] [--silent 5] [--short-runs 500]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import time
from collections import Counter
from typing import Any

import numpy as np

TOKEN = "load-test"
MODELS = ("linear", "poly:3", "mlp:4")


def rss_mb() -> float | None:
    """Resident memory of this process in MB (Linux); None elsewhere."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
    except OSError:
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _scope(rid: str) -> dict[str, Any]:
    path = f"/api/runs/{rid}/ws"
    return {
        "type": "websocket",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")],
        "scheme": "ws",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5555),
        "subprotocols": [],
        "root_path": "",
        "asgi": {"version": "3.0"},
    }


def _check_frame(text: str, failures: list[str]) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(text)
    if msg.get("type") == "error" and "server failed" in str(msg.get("detail")):
        failures.append(str(msg["detail"]))
    return msg


async def _reading_client(
    app: Any, rid: str, steps: int, latencies: list[float], failures: list[str]
) -> None:
    """Send ``steps`` step commands one after another; time each until its update frame."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        await outbox.put(message)

    task = asyncio.create_task(app(_scope(rid), receive, send))
    while (await outbox.get())["type"] != "websocket.send":  # accept, then hello
        pass
    for _ in range(steps):
        t0 = time.perf_counter()
        await inbox.put({"type": "websocket.receive", "text": '{"action":"step","n":20}'})
        while True:
            m = await outbox.get()
            if m["type"] == "websocket.send" and _check_frame(m["text"], failures)["type"] in (
                "update",
                "error",
            ):
                break
        latencies.append(time.perf_counter() - t0)
    await inbox.put({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(task, 60)


async def _silent_client(app: Any, rid: str, freed: dict[str, float], t0: float) -> None:
    """Asks for the top speed, reads the first frame, then never again."""
    state = 0

    async def receive() -> dict[str, Any]:
        nonlocal state
        if state == 0:
            state = 1
            return {"type": "websocket.connect"}
        if state == 1:
            state = 2
            return {"type": "websocket.receive", "text": '{"action":"run","speed":20000}'}
        await asyncio.Event().wait()  # never says anything again
        raise AssertionError("unreachable")

    frames = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal frames
        if message["type"] == "websocket.send":
            frames += 1
            if frames > 1:
                await asyncio.Event().wait()  # never reads again

    await asyncio.wait_for(app(_scope(rid), receive, send), 60)
    freed[rid] = time.monotonic() - t0


def measure(
    sockets: int = 50,
    silent: int = 5,
    short_runs: int = 500,
    steps: int = 8,
    send_timeout_s: float = 1.0,
) -> dict[str, Any]:
    """Run the load scenario of the module docstring; return its figures.

    Returns
    -------
    dict
        ``statuses`` (Counter of HTTP statuses), ``failures`` (server-failure frames),
        ``rss_before_mb``/``rss_after_mb`` (after warm-up; None off Linux), ``short_runs_s``,
        ``sockets_s``, ``latency_p50_ms``/``latency_p95_ms`` (step command → update frame),
        ``silent_freed_s`` (longest time until a silent client's slot came back),
        ``full_answer`` (the status of one run too many while all slots were held),
        ``runs_left`` and ``created_after`` (the status of a new run at the end).
    """
    from fastapi.testclient import TestClient

    from descend.shells.web import Limits, create_app

    lim = Limits(max_runs=sockets, send_timeout_s=send_timeout_s)
    app = create_app(lim, token=TOKEN)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    out: dict[str, Any] = {"sockets": sockets, "silent": silent, "short_runs": short_runs}
    with TestClient(app, base_url="http://127.0.0.1", headers={"X-Descend-Token": TOKEN}) as c:

        def call(method: str, url: str, **kw: Any) -> Any:
            r = c.request(method, url, **kw)
            statuses[r.status_code] += 1
            return r

        def short_run(k: int) -> None:
            body = {
                "data": {"source": "synthetic", "kind": "poly", "n": 200, "seed": k},
                "model": MODELS[k % len(MODELS)],
            }
            rid = call("POST", "/api/runs", json=body).json()["id"]
            call("POST", f"/api/runs/{rid}/step", json={"n": 50})
            if k % 10 == 0:
                call("GET", f"/api/runs/{rid}/contour", params={"n": 10})
            call("DELETE", f"/api/runs/{rid}")

        # -- 1. warm-up: caches, the thread pool and its allocator arenas ----------------------
        for k in range(20):
            short_run(k)
        warm = [call("POST", "/api/runs", json={}).json()["id"] for _ in range(sockets)]

        async def warm_up() -> None:
            await asyncio.gather(*(_reading_client(app, r, 2, [], failures) for r in warm))

        asyncio.run(warm_up())
        gc.collect()
        out["rss_before_mb"] = rss_mb()

        # -- 2. short runs -----------------------------------------------------------------
        t0 = time.monotonic()
        for k in range(short_runs):
            short_run(k)
        out["short_runs_s"] = time.monotonic() - t0

        # -- 3. sockets --------------------------------------------------------------------
        rids = [call("POST", "/api/runs", json={}).json()["id"] for _ in range(sockets)]
        out["full_answer"] = call("POST", "/api/runs", json={}).status_code
        latencies: list[float] = []
        freed: dict[str, float] = {}

        async def main() -> float:
            start = time.monotonic()
            tasks = [_silent_client(app, r, freed, start) for r in rids[:silent]]
            tasks += [_reading_client(app, r, steps, latencies, failures) for r in rids[silent:]]
            await asyncio.gather(*tasks)
            return time.monotonic() - start

        out["sockets_s"] = asyncio.run(main())
        out["latency_p50_ms"] = float(np.median(latencies)) * 1e3
        out["latency_p95_ms"] = float(np.percentile(latencies, 95)) * 1e3
        out["answered"] = len(latencies)
        out["silent_freed_s"] = max(freed.values()) if freed else None

        # -- 4. after ----------------------------------------------------------------------
        out["runs_left"] = len(app.state.manager.runs)
        gc.collect()
        out["rss_after_mb"] = rss_mb()
        last = call("POST", "/api/runs", json={})
        out["created_after"] = last.status_code
        call("DELETE", f"/api/runs/{last.json()['id']}")
    out["statuses"] = statuses
    out["failures"] = failures
    return out


def summary(r: dict[str, Any]) -> str:
    """The figures as the sentence docs/playground.md quotes."""
    requests = sum(r["statuses"].values())
    fivexx = sum(n for s, n in r["statuses"].items() if s >= 500)
    codes = ", ".join(f"{n:,} × {s}" for s, n in sorted(r["statuses"].items()))
    before, after = r["rss_before_mb"], r["rss_after_mb"]
    rss = (
        "RSS not measured (no /proc)"
        if before is None or after is None
        else f"server RSS {before:.0f} MB after warm-up → {after:.0f} MB after every run ended "
        f"({100 * (after - before) / before:+.1f} %)"
    )
    return (
        f"{r['short_runs']} short runs created, stepped and deleted in {r['short_runs_s']:.1f} s; "
        f"then {r['sockets']} runs with a socket each held at once ({r['silent']} of them never "
        f"reading; run {r['sockets'] + 1} was answered {r['full_answer']}), {r['answered']} step "
        f"commands answered in {r['sockets_s']:.1f} s, step-message latency p50 "
        f"{r['latency_p50_ms']:.0f} ms, p95 {r['latency_p95_ms']:.0f} ms; the silent sockets' "
        f"slots came back after {r['silent_freed_s']:.1f} s (send timeout 1 s); {rss}; "
        f"{requests:,} HTTP requests ({codes}), {fivexx} answered 5xx, "
        f"{len(r['failures'])} server-failure frames."
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sockets", type=int, default=50)
    ap.add_argument("--silent", type=int, default=5)
    ap.add_argument("--short-runs", type=int, default=500)
    args = ap.parse_args()
    print(summary(measure(args.sockets, args.silent, args.short_runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
