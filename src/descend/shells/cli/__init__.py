"""The ``descend`` command line.

Each sub-command lives in its own module here, exposing ``register(subparsers)`` which adds
its parser and sets ``func``; :data:`COMMANDS` lists them in the order ``--help`` shows.
Shells contain no mathematics: they parse, call the library and print.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from descend.data.tables import DataError

__all__ = ["build_parser", "main"]


COMMANDS = [
    "fit",
    "resume",
    "compare",
    "optimizers",
    "datasets",
    "certify",
    "sweep-degree",
    "landscape",
    "sweep-lr",
    "animate",
    "serve",
]

DESCRIPTION = """\
descend fits models by minimising a loss with gradient descent, and shows its work.

Gradient descent repeats θ ← θ − lr·∇L(θ): it moves the parameters a small step (lr times the
gradient) downhill on the loss. Steps shrink near the minimum because the gradient does; a
learning rate above the stability limit 2/λ_max overshoots and diverges — descend measures the
curvature, suggests a rate (--lr auto) and says why a run diverged.
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``descend`` parser with every sub-command in :data:`COMMANDS` registered."""
    parser = argparse.ArgumentParser(
        prog="descend",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'descend COMMAND --help' for each command's options.",
    )
    from descend import __version__

    parser.add_argument("--version", action="version", version=f"descend {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f".{name.replace('-', '_')}", __name__).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, and turn bad input into one clear line and exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (DataError, ValueError, TypeError, FileNotFoundError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"descend: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("descend: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
