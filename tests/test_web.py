"""The playground API: runs, limits, 4xx for malformed requests, uploads, socket lifecycle."""

import json
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from descend.shells.web import Limits, create_app  # noqa: E402
from descend.shells.web.app import STATIC_DIR  # noqa: E402

BAD_CSV = b"x,y\n1,2\n2,abc\n3,6\n"
GOOD_CSV = b"size,price\n1,2.1\n2,3.9\n3,6.2\n4,7.8\n5,10.1\n"


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


def make(limits=None):
    return TestClient(create_app(limits))


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
    with client.websocket_connect(f"/api/runs/{rid}/ws") as ws:
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
    with client.websocket_connect(f"/api/runs/{rid}/ws") as ws:
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
        with pytest.raises(WebSocketDisconnect), c.websocket_connect("/api/runs/nope/ws") as ws:
            ws.receive_json()
        rid = new_run(c)["id"]
        with c.websocket_connect(f"/api/runs/{rid}/ws") as ws:
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
