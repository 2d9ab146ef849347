"""A bounded load test of the playground: many sockets at once, a few that never read, many
short runs. Asserts no lock-out beyond the send timeout, memory back after the runs end, and
prints the p95 latency of step messages."""

import asyncio
import gc
import json
import time
import tracemalloc

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from descend.shells.web import Limits, create_app  # noqa: E402

pytestmark = pytest.mark.slow

SOCKETS = 24  # concurrent sockets (and runs), of which SILENT never read
SILENT = 3
STEPS = 8  # step commands per reading socket
SHORT_RUNS = 200


def scope(rid):
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


async def reading_client(app, rid, latencies):
    """Send STEPS step commands one after another; time each until its update frame."""
    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})

    async def receive():
        return await inbox.get()

    async def send(message):
        await outbox.put(message)

    task = asyncio.create_task(app(scope(rid), receive, send))
    while (await outbox.get())["type"] != "websocket.send":  # accept, then hello
        pass
    for _ in range(STEPS):
        t0 = time.perf_counter()
        await inbox.put({"type": "websocket.receive", "text": '{"action":"step","n":20}'})
        while True:
            m = await outbox.get()
            if m["type"] == "websocket.send" and json.loads(m["text"])["type"] == "update":
                break
        latencies.append(time.perf_counter() - t0)
    await inbox.put({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(task, 30)


async def silent_client(app, rid):
    """Reads the first frame, then never again."""
    sent = 0

    async def receive():
        nonlocal sent
        if sent == 0:
            sent = 1
            return {"type": "websocket.connect"}
        if sent == 1:
            sent = 2
            return {"type": "websocket.receive", "text": '{"action":"run","speed":20000}'}
        await asyncio.Event().wait()

    frames = 0

    async def send(message):
        nonlocal frames
        if message["type"] == "websocket.send":
            frames += 1
            if frames > 1:
                await asyncio.Event().wait()

    await asyncio.wait_for(app(scope(rid), receive, send), 30)


def rss_mb():
    """Resident memory of this process (Linux), MB; None elsewhere."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
    except OSError:
        return None
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def test_many_sockets_silent_clients_and_short_runs():
    lim = Limits(max_runs=SOCKETS, send_timeout_s=1.0)
    app = create_app(lim, token="t")
    headers = {"X-Descend-Token": "t"}
    with TestClient(app, base_url="http://127.0.0.1", headers=headers) as c:
        # -- 500-ish short runs: memory comes back ------------------------------------------
        c.delete(f"/api/runs/{c.post('/api/runs', json={}).json()['id']}")  # warm caches
        gc.collect()
        rss0 = rss_mb()
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(SHORT_RUNS):
            rid = c.post("/api/runs", json={"data": {"source": "synthetic", "n": 200}}).json()["id"]
            assert c.post(f"/api/runs/{rid}/step", json={"n": 50}).status_code == 200
            assert c.delete(f"/api/runs/{rid}").status_code == 200
        gc.collect()
        end = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        rss1 = rss_mb()
        assert app.state.manager.runs == {}
        # Python allocations still held after every run is gone: under 1 MB of loose change
        assert end - start <= 1_000_000, (start, end)

        # -- SOCKETS at once, SILENT of them never reading --------------------------------
        rids = [c.post("/api/runs", json={}).json()["id"] for _ in range(SOCKETS)]
        assert c.post("/api/runs", json={}).status_code == 429  # full
        latencies: list[float] = []

        async def main():
            t0 = time.monotonic()
            tasks = [silent_client(app, r) for r in rids[:SILENT]]
            tasks += [reading_client(app, r, latencies) for r in rids[SILENT:]]
            await asyncio.gather(*tasks)
            return time.monotonic() - t0

        elapsed = asyncio.run(main())
        assert len(latencies) == (SOCKETS - SILENT) * STEPS
        p95 = float(np.percentile(latencies, 95))
        print(
            f"\n{SHORT_RUNS} short runs: {(end - start) / 1e6:.2f} MB still traced after, process "
            f"RSS {rss0} → {rss1} MB; "
            f"{SOCKETS} sockets ({SILENT} silent) in {elapsed:.1f} s; step-message latency "
            f"p50 {np.median(latencies) * 1e3:.0f} ms, p95 {p95 * 1e3:.0f} ms"
        )
        # every slot is back: the silent ones were cut off after the send timeout
        assert app.state.manager.runs == {}
        assert c.post("/api/runs", json={}).status_code == 201
