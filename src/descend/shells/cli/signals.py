"""SIGTERM as Ctrl-C for the command line, so both stop a run cleanly with their exit status.

Without ``--checkpoint`` the loop only catches KeyboardInterrupt (Ctrl-C), and SIGTERM would
kill the process without the summary of what was reached. :func:`install` turns SIGTERM into
KeyboardInterrupt and remembers it, so ``descend fit`` prints the summary and exits 143
(SIGTERM) or 130 (Ctrl-C). With ``--checkpoint`` the loop's own guard takes both signals over
for the run and restores this handler afterwards.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType

__all__ = ["exit_status", "install", "terminated"]

_STATE = {"terminated": False}


def _handler(signum: int, frame: FrameType | None) -> None:
    _STATE["terminated"] = True
    raise KeyboardInterrupt


def install() -> None:
    """Turn SIGTERM into KeyboardInterrupt in the main thread (from here on)."""
    _STATE["terminated"] = False
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGTERM, _handler)


def terminated() -> bool:
    """Whether SIGTERM arrived since :func:`install`."""
    return _STATE["terminated"]


def exit_status(message: str = "") -> int:
    """143 after SIGTERM (named in ``message`` or caught here), else 130 (Ctrl-C)."""
    return 143 if terminated() or "SIGTERM" in message else 130
