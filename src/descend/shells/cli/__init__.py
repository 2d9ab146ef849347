"""The ``descend`` command line.

Each sub-command lives in its own module here, exposing ``register(subparsers)`` which adds
its parser and sets ``func``; :data:`COMMANDS` lists them in the order ``--help`` shows.
Shells contain no mathematics: they parse, call the library and print.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from descend.data.names import MissingExtraError
from descend.data.tables import DataError
from descend.shells.cli import signals
from descend.shells.cli.parser import Parser, UsageError

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
    parser = Parser(
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
    """Entry point: parse, run, and turn bad input into one clear line and exit status 2.

    Exit status: 0 done, 2 bad input (one ``error:`` line on stderr), 3 diverged, 4 stalled,
    130 Ctrl-C, 143 SIGTERM, 141 when the reader of stdout went away (``descend … | head``:
    the rest of the output is dropped silently).
    """
    try:
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
        except UsageError as exc:
            print(exc, file=sys.stderr)
            return 2
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        signals.install()
        try:
            return int(args.func(args) or 0)
        except (DataError, ValueError, TypeError, FileNotFoundError, KeyError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            print(f"descend: error: {msg}", file=sys.stderr)
            return 2
        except MissingExtraError as exc:
            print(f"descend: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("descend: interrupted", file=sys.stderr)
            return signals.exit_status()
    except BrokenPipeError:
        # the reader (head, less) closed the pipe: drop the rest of the output quietly; stdout
        # is pointed at /dev/null so that Python's own flush at exit cannot fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
