"""``descend serve``: the playground, a local web page to watch and steer gradient descent."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register", "run"]


EPILOG = """\
Open the printed address in a browser. The page runs gradient descent on the server (this
machine) through the library; choose data (embedded, synthetic or your CSV), a model, loss,
optimizer and learning rate, then Run, Pause, Step or Reset, and change the learning rate while
it runs. See docs/playground.md.
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``descend serve`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "serve",
        help="start the playground web page (needs the 'web' extra)",
        description="Serve the descend playground: watch and steer gradient descent in a browser.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to bind (default 127.0.0.1: only this machine can connect)",
    )
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``descend serve`` with the parsed ``args``; return the exit status."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        print(
            "descend: error: the playground needs the web extra: "
            "python -m pip install 'descend[web]'",
            file=sys.stderr,
        )
        return 2
    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port must be from 1 to 65535, got {args.port}")
    from descend.shells.web import serve

    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"descend playground: http://{shown}:{args.port}/  (Ctrl-C to stop)", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"note: bound to {args.host}: other machines on the network can reach the page",
            file=sys.stderr,
        )
    serve(args.host, args.port)
    return 0
