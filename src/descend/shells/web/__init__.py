"""The playground: a local web page to watch and steer gradient descent (``descend serve``).

The server (FastAPI on uvicorn, the ``web`` extra) owns every run as a
:class:`descend.Session`; the page only draws what it is sent. Import :func:`create_app` to
embed it, or call :func:`serve`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve", "Limits"]

from descend.shells.web.limits import Limits


def create_app(limits: Limits | None = None, hosts: Any = (), token: str | None = None) -> Any:
    """The FastAPI application (see :mod:`descend.shells.web.app`); needs the ``web`` extra.

    ``hosts`` are host names to answer to besides the local ones, ``token`` the token
    state-changing requests carry (default: a random one); see :mod:`descend.shells.web.guard`.
    """
    from descend.shells.web.app import create_app as _create

    return _create(limits, hosts, token)


def serve(host: str = "127.0.0.1", port: int = 8000, limits: Limits | None = None) -> None:
    """Run the playground with uvicorn until interrupted.

    Parameters
    ----------
    host : str
        Interface to bind; the default 127.0.0.1 keeps the page private to this machine. The
        server answers only to requests addressed to 127.0.0.1, localhost, [::1] or ``host``
        (for 0.0.0.0: this machine's host name and addresses).
    port : int
        TCP port (0 picks a free one).
    limits : Limits, optional
        Caps on uploads, problem sizes, steps and concurrent runs.
    """
    import uvicorn

    from descend.shells.web.guard import names_for_bind

    uvicorn.run(
        create_app(limits, hosts=names_for_bind(host)),
        host=host,
        port=port,
        log_level="warning",
        ws="auto",
    )
