"""Slow and silent clients: the run's loop never waits on the network (the Outbox)."""

import asyncio
import json
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from descend.shells.web import Limits, create_app  # noqa: E402


def local(app):
    return TestClient(app, base_url="http://127.0.0.1", headers={"X-Descend-Token": "t"})


def ws_scope(rid):
    return {
        "type": "websocket",
        "path": f"/api/runs/{rid}/ws",
        "raw_path": f"/api/runs/{rid}/ws".encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")],
        "scheme": "ws",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5555),
        "subprotocols": [],
        "root_path": "",
        "asgi": {"version": "3.0"},
    }


def drive(app, rid, commands, on_send, seconds):
    """Run the socket endpoint for one run with a scripted client; returns the frames sent."""
    frames = []

    async def main():
        queue = [{"type": "websocket.connect"}] + [
            {"type": "websocket.receive", "text": json.dumps(c)} for c in commands
        ]

        async def receive():
            if queue:
                return queue.pop(0)
            await asyncio.Event().wait()  # the client says nothing more

        async def send(message):
            if message["type"] == "websocket.send":
                await on_send(len(frames))
                frames.append(json.loads(message["text"]))

        try:
            await asyncio.wait_for(app(ws_scope(rid), receive, send), seconds)
        except TimeoutError:
            frames.append({"type": "still open"})

    asyncio.run(main())
    return frames


def test_a_client_that_never_reads_frees_its_slot():
    """Eight such clients used to lock everyone out for good; now each is cut off after the
    send timeout, and the 429 message says how long that takes."""
    lim = Limits(max_runs=2, send_timeout_s=0.5, max_queued_frames=4)
    app = create_app(lim, token="t")
    with local(app) as c:
        rids = [c.post("/api/runs", json={}).json()["id"] for _ in range(2)]
        busy = c.post("/api/runs", json={})
        assert busy.status_code == 429
        assert "disconnected after 0.5 s" in busy.json()["detail"]
        assert "closed after 300 s" in busy.json()["detail"]

        async def stop_reading(i):
            if i >= 1:  # reads "hello", then never again
                await asyncio.Event().wait()

        t0 = time.monotonic()
        frames = drive(app, rids[0], [{"action": "run", "speed": 20000}], stop_reading, 10)
        elapsed = time.monotonic() - t0
        assert [f["type"] for f in frames] == ["hello"]
        assert elapsed < 0.5 + 1.0 + 1.5  # send timeout + one look at the clock + the flush
        assert rids[0] not in app.state.manager.runs
        assert c.post("/api/runs", json={}).status_code == 201  # the slot is back


def test_the_idle_timeout_frees_a_slot_whatever_the_socket_does():
    """A page that reads a frame now and then, but never commands, is closed by the clock."""
    app = create_app(Limits(idle_timeout_s=1.0, send_timeout_s=30), token="t")
    with local(app) as c:
        rid = c.post("/api/runs", json={}).json()["id"]

        async def trickle(i):
            await asyncio.sleep(0.05)

        t0 = time.monotonic()
        drive(app, rid, [], trickle, 10)
        assert time.monotonic() - t0 < 1.0 + 1.5
        assert rid not in app.state.manager.runs


def test_a_slow_reader_gets_coalesced_updates_not_lost_ones():
    """While frames wait, the run does not step: every step is in some update frame, and the
    queue never holds more than its size."""
    app = create_app(Limits(max_queued_frames=4), token="t")
    with local(app) as c:
        rid = c.post("/api/runs", json={"learning_rate": 0.001}).json()["id"]

        async def slow(i):
            await asyncio.sleep(0.15)  # ~7 frames a second; the server makes up to 20

        frames = drive(app, rid, [{"action": "run", "speed": 2000}], slow, 2.5)
    assert frames[-1] == {"type": "still open"}  # slow, not gone: the run goes on
    updates = [f for f in frames if f["type"] == "update"]
    # about one frame per read; a little slack for the event loop's timing on a busy machine
    assert 5 <= len(updates) <= 2.5 / 0.15 + 3
    ks = [u["status"]["k"] for u in updates]
    assert sum(u["n_steps"] for u in updates) == ks[-1]  # no update frame dropped
    assert all(b - a == u["n_steps"] for a, b, u in zip(ks, ks[1:], updates[1:], strict=False))
