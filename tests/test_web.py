"""The playground API: runs, limits, 4xx for malformed requests, uploads, socket lifecycle."""

import json
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from descend.shells.web import Limits, create_app  # noqa: E402
from descend.shells.web.app import STATIC_DIR  # noqa: E402


def local(app):
    """A client addressed to 127.0.0.1 that carries the page's token (as the page does)."""
    return TestClient(
        app, base_url="http://127.0.0.1", headers={"X-Descend-Token": app.state.token}
    )


BAD_CSV = b"x,y\n1,2\n2,abc\n3,6\n"
GOOD_CSV = b"size,price\n1,2.1\n2,3.9\n3,6.2\n4,7.8\n5,10.1\n"


@pytest.fixture
def client():
    with local(create_app()) as c:
        yield c


def make(limits=None):
    return local(create_app(limits))


def new_run(client, **body):
    r = client.post("/api/runs", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def detail(r):
    return r.json()["detail"]


# -- the page and its assets ---------------------------------------------------------------
def test_page_and_vendored_plotting_library(client):
    """/ serves the page; plotly.js and its licence come from package data, no CDN."""
    page = client.get("/")
    assert page.status_code == 200 and "descend playground" in page.text
    assert "http://" not in page.text.replace("http://www.w3.org", "")
    js = client.get("/static/vendor/plotly-cartesian-4.1.1.min.js")
    assert js.status_code == 200 and b"window.Plotly" in js.content
    assert (STATIC_DIR / "vendor" / "LICENSE-plotly.js.txt").read_text().startswith("MIT License")
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_options(client):
    """Options list the datasets, losses, optimizers, schedules and the limits."""
    o = client.get("/api/options").json()
    assert "norris" in [d["name"] for d in o["datasets"]] and o["default_dataset"] == "norris"
    assert "mse" in o["losses"] and "gd" in [x["name"] for x in o["optimizers"]]
    assert o["limits"]["max_runs"] == Limits().max_runs


# -- a run -----------------------------------------------------------------------------------
def test_run_lifecycle(client):
    """Create, step (loss falls), contour, change lr without reset, reset, delete."""
    run = new_run(client)
    rid = run["id"]
    assert run["param_names"] == ["m", "b"] and run["advice"]["stability_limit"] == 1.0
    u = client.post(f"/api/runs/{rid}/step", json={"n": 40}).json()
    assert u["n_steps"] == 40 and u["steps"]["loss"][-1] < u["steps"]["loss"][0]
    assert len(u["path"]) == 40 and u["fit"]["kind"] == "curve"
    c = client.get(f"/api/runs/{rid}/contour", params={"i": 0, "j": 1, "n": 12}).json()
    assert len(c["z"]) == 12 and len(c["z"][0]) == 12 and len(c["path"]) == 41
    s = client.post(f"/api/runs/{rid}/learning-rate", json={"learning_rate": 0.3}).json()
    assert s["k"] == 40 and s["learning_rate"] == 0.3
    u = client.post(f"/api/runs/{rid}/step", json={"n": 2}).json()
    assert u["steps"]["lr"] == [0.3, 0.3] and u["steps"]["k"] == [40, 41]
    d = client.post(f"/api/runs/{rid}/reset").json()
    assert d["status"]["k"] == 0 and d["history"]["k"] == []
    assert client.delete(f"/api/runs/{rid}").status_code == 200
    assert client.get(f"/api/runs/{rid}").status_code == 404


def test_divergence_over_rest_is_json_safe(client):
    """A diverging run reports the loop's message; infinities become null, never a 500."""
    rid = new_run(client, learning_rate=3.0)["id"]
    u = client.post(f"/api/runs/{rid}/step", json={"n": 2000})
    assert u.status_code == 200
    st = u.json()["status"]
    assert st["stop_reason"] == "diverged" and "stability limit" in st["message"]
    assert client.get(f"/api/runs/{rid}").status_code == 200
    assert client.get(f"/api/runs/{rid}/contour").status_code == 200


def test_synthetic_and_polynomial(client):
    """Synthetic poly data with outliers, the huber loss and a schedule-free adam-less gd."""
    run = new_run(
        client,
        data={"source": "synthetic", "kind": "poly", "n": 80, "noise": 0.3, "outliers": 0.1},
        loss="huber",
    )
    assert run["model"] == "poly:3" and run["loss"].startswith("huber")
    assert run["reference"] is None  # no closed form for the Huber loss
    assert len(run["data"]["x"]) == 80


def test_multi_feature_dataset_plots_predictions(client):
    """Longley (6 features) plots ŷ against y."""
    run = new_run(client, data={"source": "dataset", "name": "longley"}, learning_rate=0.01)
    assert run["fit"]["kind"] == "scatter" and "x" not in run["data"]
    assert run["n_params"] == 7


# -- malformed requests and limits -------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"learning_rate": -1}, 422, "learning_rate"),
        ({"learning_rate": "fast"}, 422, "learning_rate"),
        ({"colour": "red"}, 422, "colour"),
        ({"model": "spline:3"}, 422, "unknown model"),
        ({"model": "poly:40"}, 422, "degree is limited"),
        ({"loss": "hinge"}, 422, "unknown loss"),
        ({"optimizer": "lbfgs"}, 422, "optimizer"),
        ({"schedule": "zigzag"}, 422, "schedule"),
        ({"max_steps": 10**9}, 422, "steps per run"),
        ({"data": {"source": "dataset", "name": "nope"}}, 422, "unknown dataset"),
        ({"data": {"source": "synthetic", "n": 10**6}}, 422, "rows"),
        ({"data": {"source": "upload", "upload_id": "zzz"}}, 404, "upload the file again"),
        ({"data": {"source": "ftp"}}, 422, "source"),
        ({"data": {"source": "dataset", "name": "longley"}, "model": "poly:2"}, 422, "one input"),
        ({"loss": "logloss", "data": {"source": "dataset", "name": "norris"}}, 422, "{0, 1}"),
    ],
)
def test_bad_run_settings_are_4xx(client, body, status, needle):
    """Every bad setting is answered with a 4xx and a reason, never a 500."""
    r = client.post("/api/runs", json=body)
    assert r.status_code == status, r.text
    assert needle in detail(r)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"hyper": {"path_limit": 1e9}}, "'path_limit' is not a hyperparameter of 'gd'"),
        ({"hyper": {"objective": 1}}, "'objective' is not a hyperparameter"),
        ({"hyper": {"learning_rate": 0.1}}, "its own control"),
        ({"optimizer": "adam", "hyper": {"beta": 0.5}}, "b1, b2, clip_norm"),
        ({"optimizer": "momentum", "hyper": {"beta": "x"}}, "hyper.beta"),
    ],
)
def test_hyper_takes_only_the_rule_s_documented_hyperparameters(client, body, needle):
    """Nothing but the rule's own hyperparameters (optim.describe) reaches the session."""
    r = client.post("/api/runs", json=body)
    assert r.status_code == 422 and needle in detail(r), r.text
    assert client.app.state.manager.runs == {}


def test_hyper_documented_values_are_used(client):
    run = new_run(client, optimizer="momentum", hyper={"beta": 0.5, "clip_norm": 10})
    assert run["settings"]["hyper"]["beta"] == 0.5
    # the path a run keeps is bounded by the session's default, whatever the page sends
    session = client.app.state.manager.runs[run["id"]].session
    assert session.path_limit == 4000


@pytest.mark.parametrize(
    ("model", "needle"),
    [
        ("poly:+499", "bad model"),
        ("poly:1_00", "bad model"),
        ("mlp:+65", "bad model"),
        ("mlp:65", "at most 64 units"),
        ("mlp:2,2,2,2,2", "at most 4 hidden layers"),
        ("poly:13", "degree is limited to 12"),
        ("poly:013", "degree is limited to 12"),
    ],
)
def test_model_caps_apply_to_the_parsed_model(client, model, needle):
    """Specs are parsed once by get_model; the caps see its numbers, before any data binding."""
    t0 = time.perf_counter()
    r = client.post(
        "/api/runs", json={"model": model, "data": {"source": "synthetic", "n": 10_000}}
    )
    assert r.status_code == 422 and needle in detail(r), r.text
    assert time.perf_counter() - t0 < 2.0  # refused before a 10k-row design is built


def test_malformed_bodies(client):
    """Non-JSON, wrong types and oversized bodies are 4xx."""
    r = client.post("/api/runs", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    rid = new_run(client)["id"]
    assert client.post(f"/api/runs/{rid}/step", json={"n": "many"}).status_code == 422
    assert client.post(f"/api/runs/{rid}/step", json={"n": 10**6}).status_code == 422
    assert client.post(f"/api/runs/{rid}/learning-rate", json={}).status_code == 422
    assert client.get(f"/api/runs/{rid}/contour", params={"i": 0, "j": 0}).status_code == 422
    assert client.get(f"/api/runs/{rid}/contour", params={"i": 0, "j": 9}).status_code == 422
    assert client.get(f"/api/runs/{rid}/contour", params={"n": 10**4}).status_code == 422
    assert client.get(f"/api/runs/{rid}/contour", params={"i": "a"}).status_code == 422
    assert client.post("/api/runs/nope/step", json={"n": 1}).status_code == 404
    big = client.post(
        "/api/runs", content=b" " * 100_000, headers={"content-type": "application/json"}
    )
    assert big.status_code == 413 and "too large" in detail(big)


def test_parameter_and_run_caps():
    """Too many parameters is 422; one run beyond max_runs is 429."""
    with make(Limits(max_params=3, max_runs=2)) as c:
        r = c.post("/api/runs", json={"model": "poly:5", "data": {"source": "synthetic"}})
        assert r.status_code == 422 and "at most 3" in detail(r)
        new_run(c)
        new_run(c)
        r = c.post("/api/runs", json={})
        assert r.status_code == 429 and "too many runs" in detail(r)


def test_idle_runs_are_purged():
    """Runs nobody touches past the idle timeout are removed."""
    with make(Limits(idle_timeout_s=0.05)) as c:
        rid = new_run(c)["id"]
        time.sleep(0.1)
        c.app.state.manager.purge()
        assert c.get(f"/api/runs/{rid}").status_code == 404


# -- uploads ---------------------------------------------------------------------------------
def test_upload_then_run(client):
    """A good CSV becomes a run; the file name is a label only."""
    r = client.post("/api/upload", files={"file": ("../../etc/passwd", GOOD_CSV, "text/csv")})
    assert r.status_code == 200, r.text
    up = r.json()
    assert up["columns"] == ["size", "price"] and up["rows"] == 5 and "/" not in up["name"]
    run = new_run(client, data={"source": "upload", "upload_id": up["upload_id"]})
    assert run["data"]["feature_names"] == ["size"] and run["data"]["target_name"] == "price"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (BAD_CSV, "'abc', which is not a number"),
        (b"", "empty"),
        (b"x,y\n", "no data rows"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"x,y\n1,2,3\n", "cells"),
        # the library's fit-data check (check_fit_data): squares of 1e308 overflow
        (b"x,y\n1,2\n2,1e308\n3,6\n", "holds values as large as 1e+308"),
        (b"x,y\n1e300,2\n2,1\n3,6\n", "column 'x' of X holds values as large as 1e+300"),
        (b"x,y\n1,2\n", "only 1 sample"),
    ],
)
def test_upload_errors(client, content, needle):
    """Malformed CSVs are 422 with the data module's message, naming the upload."""
    r = client.post("/api/upload", files={"file": ("data.csv", content, "text/csv")})
    assert r.status_code == 422 and needle in detail(r)
    assert "/tmp" not in detail(r) and "upload.csv" not in detail(r)


def test_upload_limits():
    """Too large is 413, too many rows 422, no file 422."""
    with make(Limits(max_upload_bytes=100, max_rows=3)) as c:
        r = c.post("/api/upload", files={"file": ("big.csv", b"x,y\n" + b"1,2\n" * 50, "text/csv")})
        assert r.status_code == 413 and "limit" in detail(r)
        r = c.post("/api/upload", files={"file": ("rows.csv", GOOD_CSV, "text/csv")})
        assert r.status_code == 422 and "at most 3" in detail(r)
        assert c.post("/api/upload").status_code == 422


def _stream_post(app, path, chunks, headers=()):
    """Drive the ASGI app with one POST whose body arrives in ``chunks`` (as a client
    streaming it); return (status or None, how many chunks the app pulled)."""
    import asyncio
    import contextlib

    pulled = 0
    sent = []

    async def receive():
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1],
                    "more_body": pulled < len(chunks)}  # fmt: skip
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
        "headers": [(b"host", b"127.0.0.1"), (b"x-descend-token", app.state.token.encode()),
                    (b"content-type", b"multipart/form-data; boundary=XyZ"), *headers],
    }  # fmt: skip
    with contextlib.suppress(Exception):  # a client gone: the app may give up without answer
        asyncio.run(app(scope, receive, send))
    status = next((m["status"] for m in sent if m["type"] == "http.response.start"), None)
    return status, pulled


@pytest.mark.timeout(60)
@pytest.mark.parametrize("length", [None, b"100", b"not a number"])
def test_the_upload_body_cap_stops_reading_a_stream_early(length):
    """A 10 MB multipart upload streamed in 64 KiB chunks with no Content-Length, or one that
    lies (says 100 bytes), or a garbled one: the app stops reading after the upload cap
    (max_upload_bytes + 64 KiB of form overhead) — at most 3 chunks of the 160 — and answers no
    200. The handler's own check would only refuse it after reading it all."""
    cap = 1000
    app = create_app(Limits(max_upload_bytes=cap))
    part = 65_536
    head = b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\nx,y\n'
    body = head + b"1,2\n" * (10_000_000 // 4) + b"\r\n--XyZ--\r\n"
    chunks = [body[i : i + part] for i in range(0, len(body), part)]
    assert len(chunks) > 150
    headers = [] if length is None else [(b"content-length", length)]
    status, pulled = _stream_post(app, "/api/upload", chunks, headers)
    if length == b"not a number":
        assert status == 413 and pulled == 0  # refused on the header, body never read
    else:
        assert pulled * part <= cap + 65_536 + part, pulled
        assert status != 200


def test_a_declared_oversized_upload_is_refused_before_reading():
    """Content-Length over the cap: 413 at once; not one chunk of the body is read."""
    app = create_app(Limits(max_upload_bytes=1000))
    big = str(1000 + 65_536 + 1).encode()
    status, pulled = _stream_post(
        app, "/api/upload", [b"x" * 65_536] * 3, [(b"content-length", big)]
    )
    assert status == 413 and pulled == 0
    ok = str(1000 + 65_536).encode()  # at the cap: let through to the handler's own check
    status, pulled = _stream_post(app, "/api/upload", [b"x" * 100], [(b"content-length", ok)])
    assert status != 413 or pulled > 0


# -- the socket ------------------------------------------------------------------------------
def receive_until(ws, pred, limit=200):
    for _ in range(limit):
        msg = ws.receive_json()
        if pred(msg):
            return msg
    raise AssertionError("message never came")


def test_socket_run_set_lr_and_close_frees_run(client):
    """run streams batched updates; set_lr applies mid-run; closing the socket ends the run."""
    rid = new_run(client, learning_rate=0.001)["id"]
    with client.websocket_connect(f"ws://127.0.0.1/api/runs/{rid}/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"action": "run", "speed": 1000})
        first = receive_until(ws, lambda m: m["type"] == "update")
        assert 1 <= first["n_steps"] <= 100
        ws.send_json({"action": "set_lr", "value": 0.2})
        st = receive_until(ws, lambda m: m["type"] == "status")["status"]
        assert st["learning_rate"] == 0.2 and st["k"] >= first["status"]["k"]
        later = receive_until(ws, lambda m: m["type"] == "update" and 0.2 in m["steps"]["lr"])
        assert later["status"]["k"] > first["status"]["k"]  # no reset
        ws.send_json({"action": "pause"})
        receive_until(ws, lambda m: m["type"] == "status" and m["status"]["k"] > 0)
        ws.send_text("not json")
        assert "JSON" in receive_until(ws, lambda m: m["type"] == "error")["detail"]
        ws.send_json({"action": "launch"})
        assert "unknown action" in receive_until(ws, lambda m: m["type"] == "error")["detail"]
        ws.send_json({"action": "speed", "value": 10**9})
        assert "speed" in receive_until(ws, lambda m: m["type"] == "error")["detail"]
        ws.send_json({"action": "set_lr", "value": -1})
        assert "learning rate" in receive_until(ws, lambda m: m["type"] == "error")["detail"]
        ws.send_json({"action": "step", "n": 3})
        assert receive_until(ws, lambda m: m["type"] == "update")["n_steps"] == 3
        ws.send_json({"action": "reset"})
        assert receive_until(ws, lambda m: m["type"] == "reset")["status"]["k"] == 0
    assert client.get(f"/api/runs/{rid}").status_code == 404


def test_socket_divergence_stops_running(client):
    """A diverging run stops streaming and reports why."""
    rid = new_run(client, learning_rate=2.5)["id"]
    with client.websocket_connect(f"ws://127.0.0.1/api/runs/{rid}/ws") as ws:
        ws.receive_json()
        ws.send_json({"action": "run", "speed": 5000})
        msg = receive_until(ws, lambda m: m["type"] == "update" and m["status"]["stopped"])
        assert msg["status"]["stop_reason"] == "diverged"
        assert "stability limit" in msg["status"]["message"]
        json.dumps(msg, allow_nan=False)
        ws.send_json({"action": "run"})
        st = receive_until(ws, lambda m: m["type"] == "status")["status"]
        assert st["stop_reason"] == "diverged"


def test_socket_unknown_run_and_idle_timeout():
    """A socket to no run is closed; an idle paused socket is closed and its run freed."""
    with make(Limits(idle_timeout_s=0.3)) as c:
        with (
            pytest.raises(WebSocketDisconnect),
            c.websocket_connect("ws://127.0.0.1/api/runs/nope/ws") as ws,
        ):
            ws.receive_json()
        rid = new_run(c)["id"]
        with c.websocket_connect(f"ws://127.0.0.1/api/runs/{rid}/ws") as ws:
            ws.receive_json()
            msg = ws.receive_json()
            assert msg["type"] == "closing" and "idle" in msg["detail"]
        assert c.get(f"/api/runs/{rid}").status_code == 404


def test_cli_serve_parser():
    """`descend serve` binds 127.0.0.1:8000 by default."""
    from descend.shells.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)


def test_mlp_and_adam_run(client):
    """An MLP fitted with Adam: parameters named per layer, the loss falls."""
    run = new_run(
        client,
        data={"source": "synthetic", "kind": "poly", "n": 60},
        model="mlp:6",
        optimizer="adam",
        learning_rate=0.05,
    )
    assert run["n_params"] == 1 * 6 + 6 + 6 + 1 and run["reference"] is None
    u = client.post(f"/api/runs/{run['id']}/step", json={"n": 200}).json()
    assert u["steps"]["loss"][-1] < u["steps"]["loss"][0]
    r = client.post("/api/runs", json={"model": "mlp:8,8,8,8,8"})
    assert r.status_code == 422 and "hidden layers" in detail(r)
    r = client.post("/api/runs", json={"model": "mlp:500"})
    assert r.status_code == 422 and "units per hidden layer" in detail(r)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"action":"step","n":' + "[" * 30_000 + "]" * 30_000 + "}", "nested too deeply"),
        ('{"action":"pair","i":' + "{" * 9 + "}" * 9 + "}", "nested too deeply"),
        ('{"action":"step","x":"' + "a" * 70_000 + '"}', "command too long"),
        ('{"action":"step","x":"' + "é" * 40_000 + '"}', "80,024 bytes"),
        ("[[1]]", "commands are JSON objects"),
    ],
    ids=["deep-60KB", "depth-10", "long", "long-in-bytes", "not-an-object"],
)
def test_socket_deep_or_long_commands_get_an_error_frame(client, text, needle):
    """60 KB of nesting never reaches json.loads' recursion: an error frame, the run kept."""
    rid = new_run(client)["id"]
    with client.websocket_connect(f"ws://127.0.0.1/api/runs/{rid}/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_text(text)
        msg = ws.receive_json()
        assert msg["type"] == "error" and needle in msg["detail"], msg["detail"][:200]
        ws.send_json({"action": "step", "n": 3})  # the socket and the run carry on
        assert ws.receive_json()["n_steps"] == 3
    assert client.get(f"/api/runs/{rid}").status_code == 404  # closed normally: run ended


def test_json_depth_ignores_brackets_in_strings():
    from descend.shells.web.app import json_depth

    assert json_depth('{"a": "[[[{{{", "b": [1, [2]]}') == 3
    assert json_depth('{"a": "\\"[["}') == 1
    assert json_depth("3") == 0


# -- the contour: outside the run's lock, within a cost cap -----------------------------------
def test_contour_grid_is_computed_outside_the_run_s_lock(client, monkeypatch):
    """The run can step while its grid is being computed (the grid used to hold the lock)."""
    from descend.shells.web import runs

    rid = new_run(client)["id"]
    run = client.app.state.manager.runs[rid]
    seen = []
    for name in ("landscape_grid", "profile_grid"):  # the slice, or the profile through θ*
        original = getattr(runs, name)

        def watched(*args, _original=original, **kwargs):
            seen.append(run.lock.locked())
            return _original(*args, **kwargs)

        monkeypatch.setattr(runs, name, watched)
    assert client.get(f"/api/runs/{rid}/contour", params={"n": 10}).status_code == 200
    assert seen == [False]


def _slowed_grids(monkeypatch, delay=0.005):
    """Make every grid point of the playground's contours take ``delay`` seconds more (the
    objective is untouched: the wait sits in the grid's stop check); returns an event set at
    the first point."""
    import threading

    from descend.shells.web import runs

    started = threading.Event()
    for name in ("landscape_grid", "profile_grid"):
        original = getattr(runs, name)

        def slow(*args, _original=original):
            *rest, stop = args

            def slow_stop():
                started.set()
                time.sleep(delay)
                return stop()

            return _original(*rest, slow_stop)

        monkeypatch.setattr(runs, name, slow)
    return started


def _grid_in_thread(run, n=40):
    """run.contour(0, 1, n) in a thread; returns (thread, outcome dict)."""
    import threading

    from descend.shells.web.limits import LimitError

    out = {}

    def grid():
        try:
            out["result"] = run.contour(0, 1, n)
        except LimitError as exc:
            out["error"] = exc

    t = threading.Thread(target=grid, daemon=True)
    t.start()
    return t, out


@pytest.mark.timeout(60)
def test_run_keeps_stepping_while_its_grid_computes_and_a_removed_run_s_grid_stops(
    client, monkeypatch
):
    """A 40 × 40 grid slowed to ≥ 8 s: the run makes 100 steps meanwhile, each request fast;
    deleting the run stops the grid within a second (one point), answered 404."""
    started = _slowed_grids(monkeypatch)
    rid = new_run(client)["id"]
    run = client.app.state.manager.runs[rid]
    t, out = _grid_in_thread(run)
    assert started.wait(10)
    t0 = time.monotonic()
    for _ in range(5):
        assert client.post(f"/api/runs/{rid}/step", json={"n": 20}).status_code == 200
    stepping = time.monotonic() - t0
    assert t.is_alive(), "the grid ended before the steps: the test proves nothing"
    assert stepping < 4.0  # 100 Norris steps; behind the grid's 8 s they would wait
    assert client.get(f"/api/runs/{rid}").json()["status"]["k"] == 100
    t1 = time.monotonic()
    assert client.delete(f"/api/runs/{rid}").status_code == 200
    t.join(5)
    assert not t.is_alive() and time.monotonic() - t1 < 2.0
    assert out["error"].status == 404 and "the run was removed" in str(out["error"])


@pytest.mark.timeout(60)
def test_a_newer_contour_replaces_the_one_in_flight(client, monkeypatch):
    started = _slowed_grids(monkeypatch)
    rid = new_run(client)["id"]
    run = client.app.state.manager.runs[rid]
    t, out = _grid_in_thread(run)
    assert started.wait(10)
    t0 = time.monotonic()
    newer = run.contour(0, 1, 5)  # 25 points
    t.join(5)
    assert not t.is_alive() and time.monotonic() - t0 < 3.0
    assert newer["n"] == 5 and len(newer["z"]) == 5
    assert out["error"].status == 409 and "newer contour" in str(out["error"])
    assert run.grid is None  # nothing left in flight


@pytest.mark.timeout(60)
def test_a_contour_stops_when_its_page_disconnects(client, monkeypatch):
    """The HTTP request goes away 0.3 s into a ≥ 8 s grid: the grid stops within a second."""
    import asyncio

    started = _slowed_grids(monkeypatch)
    rid = new_run(client)["id"]
    run = client.app.state.manager.runs[rid]
    app = client.app
    path = f"/api/runs/{rid}/contour"
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"n=40",
        "headers": [(b"host", b"127.0.0.1")],
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5555),
        "root_path": "",
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }
    sent = []

    async def main():
        asked = 0

        async def receive():
            nonlocal asked
            asked += 1
            if asked == 1:
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.to_thread(started.wait, 10)
            await asyncio.sleep(0.3)
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        t0 = time.monotonic()
        await asyncio.wait_for(app(scope, receive, send), 30)
        return time.monotonic() - t0

    elapsed = asyncio.run(main())
    assert started.is_set() and elapsed < 3.0  # not the 8 s of the whole grid
    assert sent[0]["status"] == 409
    assert b"went away" in sent[1]["body"]
    assert run.grid is None and client.get(f"/api/runs/{rid}").status_code == 200


def test_longley_contour_puts_theta_star_at_the_bottom_and_the_path_in_view(client):
    """Longley's 7 parameters: the slice through θ now put θ* in the top 12 % of the drawn
    colours (issue 18, item 8); the profile (others at their best) has θ* as its lowest point,
    and the grid spans θ*, θ now and the path."""
    import numpy as np

    run = new_run(client, data={"source": "dataset", "name": "longley"}, learning_rate=0.01)
    rid = run["id"]
    client.post(f"/api/runs/{rid}/step", json={"n": 500})
    c = client.get(f"/api/runs/{rid}/contour", params={"i": 0, "j": 1, "n": 40}).json()
    assert c["kind"] == "profile"
    a, b, Z = np.array(c["a"]), np.array(c["b"]), np.array(c["z"], dtype=float)
    star = np.array(c["reference"])
    path = np.array(c["path"])
    for pts in (star[None, :], path):
        assert np.all((a[0] <= pts[:, 0]) & (pts[:, 0] <= a[-1]))
        assert np.all((b[0] <= pts[:, 1]) & (pts[:, 1] <= b[-1]))
    near = Z[np.abs(b - star[1]).argmin(), np.abs(a - star[0]).argmin()]
    assert np.mean(near > Z) <= 0.01  # θ*'s cell is among the lowest of the picture
    # the lowest colour is L* (NIST's certified residual sum of squares / n for Longley)
    assert Z.min() == pytest.approx(836424.055505915 / 16, rel=1e-3)
    # a model without a closed form keeps the slice through θ now
    mlp = new_run(client, model="mlp:3")["id"]
    assert client.get(f"/api/runs/{mlp}/contour", params={"n": 5}).json()["kind"] == "slice"


def test_contour_cost_cap_shrinks_or_refuses_the_grid():
    """rows × parameters × points ≤ max_contour_cost: n = ⌊√(cap / (rows·p))⌋, or a 422."""
    body = {"model": "poly:3", "data": {"source": "synthetic", "kind": "poly", "n": 1000}}
    with make(Limits(max_contour_cost=1000 * 4 * 12**2)) as c:  # p = 4: room for 12 × 12
        rid = new_run(c, **body)["id"]
        r = c.get(f"/api/runs/{rid}/contour", params={"n": 40}).json()
        assert r["n"] == 12 and len(r["a"]) == 12 and len(r["z"]) == 12
        small = c.get(f"/api/runs/{rid}/contour", params={"n": 8}).json()
        assert small["n"] == 8  # under the cap: as asked
    with make(Limits(max_contour_cost=1000 * 4 * 24)) as c:  # not even 5 × 5
        rid = new_run(c, **body)["id"]
        r = c.get(f"/api/runs/{rid}/contour")
        assert r.status_code == 422 and "even a 5 × 5 grid" in detail(r)


def test_a_network_run_streams_its_sharpness_beside_the_edge(client):
    """MLP runs measure the sharpness every 10 steps (with 2/η at those steps) in the run's
    history and in each update; a linear run sends none."""
    run = new_run(client, data={"source": "synthetic", "kind": "poly", "n": 60}, model="mlp:4",
                  learning_rate=0.05)  # fmt: skip
    assert run["history"]["sharpness"] == {"k": [], "value": [], "edge": []}
    u = client.post(f"/api/runs/{run['id']}/step", json={"n": 25}).json()
    sh = u["sharpness"]
    assert sh["k"] == [0, 10, 20] and sh["edge"] == [pytest.approx(2 / 0.05)] * 3
    assert all(v > 0 for v in sh["value"])
    lin = new_run(client, learning_rate=0.05)
    assert "sharpness" not in lin["history"]
    assert "sharpness" not in client.post(f"/api/runs/{lin['id']}/step", json={"n": 5}).json()


# -- penalties, validation and classification (issue 14) ---------------------------------------
LINE = {"source": "synthetic", "kind": "linear", "n": 80, "noise": 1.0, "seed": 0}


def _line_of(fit):
    """Slope and intercept of the fitted straight line drawn over x (the page's curve)."""
    x, y = fit["x"], fit["y"]
    slope = (y[-1] - y[0]) / (x[-1] - x[0])
    return slope, y[0] - slope * x[0]


def test_l2_penalty_reaches_the_closed_form_ridge(client):
    """penalty='l2' with α: the run ends on the minimiser of MSE + α·½w², solved by hand
    ((2/n)·Sxx + α) w = (2/n)·Sxy on centred data; the intercept is not penalised."""
    from descend.data.synthetic import make_regression

    alpha = 1.0
    run = new_run(client, data=LINE, penalty="l2", alpha=alpha, learning_rate="auto")
    assert run["settings"]["penalty"] == "l2" and run["settings"]["alpha"] == alpha
    u = client.post(f"/api/runs/{run['id']}/step", json={"n": 3000}).json()
    d = make_regression("linear", n=80, noise=1.0, seed=0)
    x, y = d.X[:, 0], d.y
    xc, yc = x - x.mean(), y - y.mean()
    n = len(y)
    w = (2 / n * xc @ yc) / (2 / n * xc @ xc + alpha)
    slope, intercept = _line_of(u["fit"])
    assert slope == pytest.approx(w, rel=1e-7)
    assert intercept == pytest.approx(y.mean() - w * x.mean(), rel=1e-7)
    assert w < 0.9 * (xc @ yc) / (xc @ xc)  # the penalty visibly shrinks the slope


def test_l1_penalty_gives_an_exact_zero(client):
    """The lasso's proximal steps: α above |(2/n)·Sxy| leaves the slope exactly 0 (a flat line
    at ȳ), not a tiny number."""
    run = new_run(client, data=LINE, penalty="l1", alpha=20.0, learning_rate="auto")
    u = client.post(f"/api/runs/{run['id']}/step", json={"n": 3000}).json()
    assert len(set(u["fit"]["y"])) == 1


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"penalty": "l3"}, "penalty must be None, 'l2', 'l1' or 'elasticnet', got 'l3'"),
        ({"penalty": "l2", "alpha": -1}, "alpha: Input should be greater than or equal to 0"),
        ({"alpha": "lots"}, "alpha"),
        ({"penalty": "elasticnet", "l1_ratio": 1.5}, "l1_ratio: Input should be less than or"),
        ({"validation_fraction": 0}, "validation_fraction: Input should be greater than 0"),
        ({"validation_fraction": 0.95}, "validation_fraction: Input should be less than or"),
        ({"penalty": "l2", "model": "mlp:4"}, "needs a model linear in θ"),
        (
            {"validation_fraction": 0.9, "model": "poly:8"},
            "leaves 3 training rows for 9 parameters",  # Norris: 36 rows, 33 held out
        ),
        (
            {"data": {"source": "synthetic", "kind": "moons", "n": 3}},
            "n must be a whole number ≥ 4",
        ),
        ({"data": {"source": "synthetic", "kind": "spiral"}}, "data.kind"),
    ],
)
def test_bad_penalty_validation_and_class_settings_are_422(client, body, needle):
    r = client.post("/api/runs", json=body)
    assert r.status_code == 422 and needle in detail(r), r.text
    assert client.app.state.manager.runs == {}


def test_validation_loss_comes_with_the_run_s_frames(client):
    """validation_fraction: the held-out loss at every θ_k, in the update messages and the
    full description, equal to ds.fit's val_loss on the same split."""
    import descend as ds
    from descend.data.synthetic import make_regression

    run = new_run(client, data=LINE, validation_fraction=0.25, learning_rate=0.05)
    assert run["history"]["val"] == {"k": [], "loss": []}
    assert any("20 of 80 rows held out" in note for note in run["notes"])
    rid = run["id"]
    first = client.post(f"/api/runs/{rid}/step", json={"n": 30}).json()
    second = client.post(f"/api/runs/{rid}/step", json={"n": 20}).json()
    assert first["val"]["k"] == list(range(30)) and second["val"]["k"] == list(range(30, 50))
    d = make_regression("linear", n=80, noise=1.0, seed=0)
    res = ds.fit(d.X, d.y, validation_fraction=0.25, learning_rate=0.05, max_steps=50, tol=0)
    got = first["val"]["loss"] + second["val"]["loss"]
    np.testing.assert_allclose(got, res.history.val_loss, rtol=1e-12)
    whole = client.get(f"/api/runs/{rid}").json()["history"]["val"]
    assert whole["k"] == list(range(50)) and whole["loss"] == pytest.approx(got, rel=1e-12)
    # no split: no validation curve at all
    plain = new_run(client, data=LINE)
    assert "val" not in plain["history"]
    u = client.post(f"/api/runs/{plain['id']}/step", json={"n": 5}).json()
    assert "val" not in u


def test_two_moons_with_log_loss_draw_the_decision_boundary(client):
    """A classification data set fitted with the log loss: the points in the plane, and the
    logit over a grid whose 0 contour is the boundary — the plane of scikit-learn's
    LogisticRegression (C = 1/(n·α)) at the end."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    from descend.data.synthetic import make_classification

    data = {"source": "synthetic", "kind": "moons", "n": 100, "noise": 0.15, "seed": 1}
    alpha = 0.01
    run = new_run(
        client, data=data, loss="logloss", penalty="l2", alpha=alpha, learning_rate="auto"
    )
    assert run["loss"] == "logloss" and run["model"] == "linear"
    assert run["data"]["feature_names"] == ["x1", "x2"] and set(run["data"]["y"]) == {0, 1}
    assert len(run["data"]["x1"]) == len(run["data"]["x2"]) == 100
    fit = run["fit"]
    assert fit["kind"] == "boundary" and fit["level"] == 0.0
    assert len(fit["a"]) == len(fit["b"]) == len(fit["z"]) == len(fit["z"][0]) == 60
    u = client.post(f"/api/runs/{run['id']}/step", json={"n": 5000}).json()
    a, b, z = np.array(u["fit"]["a"]), np.array(u["fit"]["b"]), np.array(u["fit"]["z"])
    A, B = np.meshgrid(a, b)
    plane, *_ = np.linalg.lstsq(
        np.column_stack([np.ones(A.size), A.ravel(), B.ravel()]), z.ravel(), rcond=None
    )
    d = make_classification("moons", n=100, noise=0.15, seed=1)
    ref = linear_model.LogisticRegression(C=1 / (100 * alpha), tol=1e-12, max_iter=10_000)
    ref.fit(d.X, d.y)
    np.testing.assert_allclose(plane, [ref.intercept_[0], *ref.coef_[0]], rtol=1e-6, atol=1e-8)


def test_blobs_run_with_a_two_class_softmax_boundary(client):
    """Blobs fitted with the softmax (K = 2): the boundary is the 0 contour of z₁ − z₀, and it
    separates the two blobs' centres."""
    data = {"source": "synthetic", "kind": "blobs", "n": 80, "noise": 0.8}
    run = new_run(client, data=data, loss="softmax", learning_rate=0.5)
    u = client.post(f"/api/runs/{run['id']}/step", json={"n": 200}).json()
    fit = u["fit"]
    assert fit["kind"] == "boundary"
    a, b, z = np.array(fit["a"]), np.array(fit["b"]), np.array(fit["z"])
    near = lambda p: z[np.abs(b - p[1]).argmin(), np.abs(a - p[0]).argmin()]  # noqa: E731
    assert near((-1.5, -1.0)) < 0 < near((1.5, 1.0))


def test_the_boundary_is_for_logit_losses_and_bends_for_a_network(client):
    """The squared error on the same classes plots ŷ against y (its ŷ are not logits); an MLP
    on the moons draws a boundary whose logit map is no plane."""
    data = {"source": "synthetic", "kind": "moons", "n": 80}
    assert new_run(client, data=data, loss="mse")["fit"]["kind"] == "scatter"
    run = new_run(
        client, data=data, loss="logloss", model="mlp:8", optimizer="adam", learning_rate=0.05
    )
    u = client.post(f"/api/runs/{run['id']}/step", json={"n": 300}).json()
    a, b, z = np.array(u["fit"]["a"]), np.array(u["fit"]["b"]), np.array(u["fit"]["z"])
    A, B = np.meshgrid(a, b)
    design = np.column_stack([np.ones(A.size), A.ravel(), B.ravel()])
    _, residual, *_ = np.linalg.lstsq(design, z.ravel(), rcond=None)
    assert np.sqrt(residual[0] / z.size) > 0.05 * np.std(z)
