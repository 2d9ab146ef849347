"""The playground's door: allowed Host names, Origin checks and the per-server token."""

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from descend.shells.web import create_app  # noqa: E402
from descend.shells.web.guard import allowed_hosts, host_name, names_for_bind  # noqa: E402

CSV = b"size,price\n1,2.1\n2,3.9\n3,6.2\n4,7.8\n5,10.1\n"


@pytest.fixture
def app():
    return create_app(hosts=["box.lan"], token="s3cret-token")


@pytest.fixture
def bare(app):
    """A client addressed to 127.0.0.1 that sends no token unless asked."""
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c


TOKEN = {"X-Descend-Token": "s3cret-token"}


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("127.0.0.1:8000", "127.0.0.1"),
        ("LOCALHOST", "localhost"),
        ("[::1]:9", "::1"),
        ("evil.example:8000", "evil.example"),
        ("127.0.0.1:notaport", None),
        ("a@127.0.0.1", None),
        ("127.0.0.1/x", None),
        ("", None),
    ],
)
def test_host_name_parses_host_headers(value, name):
    assert host_name(value) == name


def test_allowed_hosts_ignores_wildcards():
    assert allowed_hosts(["0.0.0.0", "::", "[fe80::1]", "Box.LAN"]) == {
        "127.0.0.1",
        "localhost",
        "::1",
        "fe80::1",
        "box.lan",
    }


def test_a_wildcard_bind_answers_to_this_machine_s_name():
    import socket

    assert names_for_bind("box.lan") == ["box.lan"]
    names = names_for_bind("0.0.0.0")
    assert socket.gethostname() in names and "0.0.0.0" not in allowed_hosts(names)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.nip.io", ""])
def test_wrong_host_is_refused_everywhere(bare, host):
    """A DNS-rebinding name gets 400 for the page, the options and run creation."""
    for method, path in (("GET", "/"), ("GET", "/api/options"), ("POST", "/api/runs")):
        r = bare.request(method, path, headers={"Host": host, **TOKEN}, json={})
        assert r.status_code == 400, (method, path, r.status_code)
        assert "answers only to" in r.json()["detail"]


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "box.lan:80"])
def test_local_and_named_hosts_are_served(bare, host):
    assert bare.get("/api/options", headers={"Host": host}).status_code == 200
    assert bare.post("/api/runs", json={}, headers={"Host": host, **TOKEN}).status_code == 201


def test_page_carries_the_token(bare):
    page = bare.get("/")
    assert page.status_code == 200
    assert '<meta name="descend-token" content="s3cret-token">' in page.text
    assert page.headers["cache-control"] == "no-store"


def test_fresh_servers_get_different_tokens():
    a, b = create_app(), create_app()
    assert a.state.token != b.state.token and len(a.state.token) >= 32


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://127.0.0.1.evil.example:8000"},
        {"Origin": "null"},
        {"Origin": "file://"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_cross_site_requests_are_refused(bare, headers):
    """With the right token still: a cross-site Origin is 403 on every state-changing route."""
    h = {**TOKEN, **headers}
    assert bare.post("/api/runs", json={}, headers=h).status_code == 403
    r = bare.post("/api/upload", files={"file": ("a.csv", CSV)}, headers=h)
    assert r.status_code == 403 and "cross-site" in r.json()["detail"]
    rid = bare.post("/api/runs", json={}, headers=TOKEN).json()["id"]
    assert bare.post(f"/api/runs/{rid}/step", json={"n": 1}, headers=h).status_code == 403
    assert bare.delete(f"/api/runs/{rid}", headers=h).status_code == 403
    # reading stays open to the same-site page only through the browser's own rules
    assert bare.get("/api/options", headers=headers).status_code == 200


def test_same_origin_requests_pass(bare):
    h = {**TOKEN, "Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"}
    assert bare.post("/api/runs", json={}, headers=h).status_code == 201
    assert bare.post("/api/upload", files={"file": ("a.csv", CSV)}, headers=h).status_code == 200


@pytest.mark.parametrize("token", [None, "", "wrong", "s3cret-token "])
def test_missing_or_wrong_token_is_403(bare, token):
    """A multipart form from another site (no preflight) cannot replace the user's upload."""
    h = {} if token is None else {"X-Descend-Token": token}
    r = bare.post("/api/upload", files={"file": ("a.csv", CSV)}, headers=h)
    assert r.status_code == 403 and "X-Descend-Token" in r.json()["detail"]
    assert bare.post("/api/runs", json={}, headers=h).status_code == 403
    assert bare.app.state.manager.runs == {} and len(bare.app.state.manager.uploads) == 0


def test_websocket_handshake_checks_host_and_origin(bare):
    rid = bare.post("/api/runs", json={}, headers=TOKEN).json()["id"]
    url = f"ws://127.0.0.1:8000/api/runs/{rid}/ws"
    for headers, code in (
        ({"Origin": "https://evil.example"}, 4403),
        ({"host": "evil.example:8000"}, 4400),
    ):
        with (
            pytest.raises(WebSocketDisconnect) as info,
            bare.websocket_connect(url, headers=headers),
        ):
            pass
        assert info.value.code == code
    assert rid in bare.app.state.manager.runs  # a refused handshake leaves the run alone
    with bare.websocket_connect(url, headers={"Origin": "http://localhost:8000"}) as ws:
        assert ws.receive_json()["type"] == "hello"
