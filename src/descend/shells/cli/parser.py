"""The argument parser every ``descend`` command uses: errors as one line, with "did you mean".

argparse prints the whole usage block before an error and says only "unrecognized arguments"
for a misspelt option. :class:`Parser` raises :class:`UsageError` instead; ``main`` prints it
as one line, ``descend fit: error: … (see 'descend fit --help')``, and exits 2. An unknown
option gets the closest options of its command (difflib), an unknown command the closest
command.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from descend.data.names import did_you_mean
from descend.descent.outputs import check_output_dir, check_output_file

__all__ = ["Parser", "UsageError", "add_step_limit", "output_dir", "output_file"]


class UsageError(Exception):
    """A command line argparse refused: ``prog`` and a one-line message."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog
        self.message = message

    def __str__(self) -> str:
        return f"{self.prog}: error: {self.message} (see '{self.prog} --help')"


_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")


class Parser(argparse.ArgumentParser):
    """argparse's parser with one-line errors (:class:`UsageError`) and suggestions."""

    def error(self, message: str) -> NoReturn:
        """Raise :class:`UsageError` (argparse would print the usage block and exit)."""
        m = _CHOICE.search(message)
        if m:
            choices = re.findall(r"'([^']*)'", m.group(2))
            hint = did_you_mean(m.group(1), choices)
            message += f".{hint}" if hint else ""
        raise UsageError(self.prog, message)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """As argparse's, but an unknown option is an error naming the closest options."""
        ns, extras = super().parse_known_args(args, namespace)
        if extras:
            options = [s for s in self._option_string_actions if s.startswith("--")]
            word = extras[0]
            hint = did_you_mean(word.split("=", 1)[0], options) if word.startswith("-") else ""
            self.error(f"unrecognized arguments: {' '.join(extras)}" + (f".{hint}" if hint else ""))
        return ns, extras


def add_step_limit(p: argparse.ArgumentParser, default: int | None, text: str) -> None:
    """``--max-steps N`` (alias ``--max-iter``), the step limit; read as ``args.max_steps``."""
    suffix = f" (default {default})" if default is not None else ""
    p.add_argument(
        "--max-steps",
        "--max-iter",
        dest="max_steps",
        type=int,
        default=default,
        metavar="N",
        help=f"{text}{suffix}; --max-iter is an alias",
    )


def output_file(example: str, *suffixes: str) -> Callable[[str], str]:
    """An argparse ``type`` for a file the command will write: a directory, or a folder that
    does not exist, is refused while parsing — before any data are read or steps run.

    ``example``: a file name suggested inside a directory given by mistake; ``suffixes``: files
    written beside it (``PATH + suffix``), checked too.
    """

    def check(text: str) -> str:
        try:
            check_output_file(text, "path", example)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        for other in (text + suffix for suffix in suffixes):
            if os.path.isdir(other):
                raise argparse.ArgumentTypeError(
                    f"{text!r} also writes {other!r}, which is a directory: move it, or choose "
                    "another name"
                )
        return text

    return check


def output_dir(text: str) -> str:
    """An argparse ``type`` for a directory the command will write into (made if missing)."""
    try:
        return check_output_dir(text, "path")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
