"""Who may talk to the playground: allowed Host names, same-origin requests, the page's token.

A server on 127.0.0.1 is still reachable from any web page the user opens: a page can post
forms to it (no preflight for a multipart upload), open WebSockets to it (the browser sends any
Origin), and, through DNS rebinding (``evil.example`` resolving to 127.0.0.1), even read its
answers. :class:`Guard` closes these doors:

1. **Host**: every HTTP request and WebSocket handshake must name one of the hosts the server
   was started for (``127.0.0.1``, ``localhost``, ``[::1]`` and the ``--host`` name), else
   HTTP 400 / WebSocket close 4400. A rebinding domain fails here.
2. **Origin**: a state-changing request (POST, PUT, PATCH, DELETE) and a WebSocket handshake
   that carries an ``Origin`` header must come from an allowed host, else HTTP 403 / close
   4403; ``Sec-Fetch-Site: cross-site`` is refused the same way. Clients that send no Origin
   (curl, scripts) pass this check.
3. **Token**: state-changing HTTP requests must carry the server's token in the
   ``X-Descend-Token`` header, else HTTP 403. The page reads it from a ``<meta>`` tag of the
   page it was served (only a same-origin page can read it); a custom header also forces a
   CORS preflight the server never grants.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["Guard", "LOCAL_HOSTS", "TOKEN_HEADER", "host_name", "allowed_hosts", "names_for_bind"]

#: the names of this machine the server always answers to
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: the header that carries the per-server token
TOKEN_HEADER = "x-descend-token"
#: methods that change state (GET, HEAD, OPTIONS only read)
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def host_name(value: str) -> str | None:
    """The host of a ``Host`` header value (``name[:port]``, ``[v6][:port]``), lower case;
    None when it does not parse."""
    value = value.strip().lower()
    if not value:
        return None
    try:
        parts = urlsplit("//" + value)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return None
    if parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return parts.hostname or None


def allowed_hosts(extra: Iterable[str] = ()) -> frozenset[str]:
    """The local names plus ``extra`` (the ``--host`` the server binds), normalised."""
    names = set(LOCAL_HOSTS)
    for h in extra:
        h = h.strip().lower().strip("[]")
        if h and h not in ("0.0.0.0", "::"):  # a wildcard bind is not a name to answer to
            names.add(h)
    return frozenset(names)


def names_for_bind(host: str) -> list[str]:
    """The names a server bound to ``host`` answers to besides the local ones: ``host`` itself,
    or, for a wildcard bind (``0.0.0.0``, ``::``), this machine's host name and its addresses
    (what another machine on the network would type)."""
    if host.strip().strip("[]") not in ("0.0.0.0", "::", ""):
        return [host]
    name = socket.gethostname()
    names = [name, f"{name}.local"]
    with contextlib.suppress(OSError):
        names += [str(info[4][0]) for info in socket.getaddrinfo(name, None)]
    return names


class Guard:
    """ASGI middleware: the Host, Origin and token checks of the module docstring.

    Parameters
    ----------
    app : ASGIApp
        The application behind the guard.
    hosts : frozenset of str
        Host names (no port) the server answers to; see :func:`allowed_hosts`.
    token : str
        The per-server token state-changing requests must present.
    """

    def __init__(self, app: ASGIApp, hosts: frozenset[str], token: str) -> None:
        self.app = app
        self.hosts = hosts
        self.token = token

    def _allowed_origin(self, origin: str) -> bool:
        if origin == "null":  # sandboxed frames, file:// pages
            return False
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and (parts.hostname or "") in self.hosts

    def check(self, scope: Scope) -> tuple[int, str] | None:
        """None when the request may pass, else (HTTP status, reason)."""
        headers: dict[str, str] = {}
        for k, v in scope.get("headers") or []:
            headers.setdefault(k.decode("latin-1").lower(), v.decode("latin-1"))
        host = host_name(headers.get("host", ""))
        if host is None or host not in self.hosts:
            return 400, (
                f"this server answers only to {', '.join(sorted(self.hosts))}, not to the host "
                f"{headers.get('host', '')!r}; open the address `descend serve` printed"
            )
        unsafe = scope["type"] == "websocket" or scope.get("method", "GET") in UNSAFE
        if not unsafe:
            return None
        origin = headers.get("origin")
        if origin is not None and not self._allowed_origin(origin):
            return 403, f"cross-site request refused: origin {origin!r} is not this server's page"
        if headers.get("sec-fetch-site") == "cross-site":
            return 403, "cross-site request refused: it did not come from this server's page"
        if scope["type"] == "http":
            given = headers.get(TOKEN_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return 403, (
                    "missing or wrong X-Descend-Token header: requests that change state must "
                    "come from the playground page (it carries the token) or send its token"
                )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refused = self.check(scope)
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, reason = refused
        if scope["type"] == "websocket":
            # before accept: the server answers the handshake with HTTP 403
            await send({"type": "websocket.close", "code": 4000 + status, "reason": reason[:120]})
            return
        body = json.dumps({"detail": reason}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
