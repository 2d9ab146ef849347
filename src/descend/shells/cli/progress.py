"""Progress on stderr for the commands that can run longer than a second.

One class serves every kind of work: the steps of one run (as the loop's callback
``(k, θ, L)``), the runs of a study (as its ``progress(done, total)`` hook) and, for a Dask
fit, the chunks its statistics pass reads before the first step (:meth:`Progress.chunks`,
the same bar counting chunks, then steps). On a terminal
it draws a `tqdm <https://tqdm.github.io>`_ bar (``tqdm.auto``, the optional ``progress``
extra) that appears only after the first second and is erased when the work ends; when
stderr is not a terminal (a pipe, a log file) it draws nothing while the work runs. Either
way, work that took a second or more ends with one line, ``descend fit: 5000 steps in 3.2 s``,
and ``--quiet`` silences everything. Without tqdm installed the terminal gets that final line
only.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

__all__ = [
    "Progress",
    "add_quiet_argument",
    "default_delay",
    "for_args",
    "tqdm_available",
]


def tqdm_available() -> bool:
    """True when the optional ``tqdm`` package can be imported."""
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def default_delay() -> float:
    """Seconds before progress shows: 1, or the number in ``$DESCEND_PROGRESS_DELAY``."""
    text = os.environ.get("DESCEND_PROGRESS_DELAY", "")
    try:
        return max(float(text), 0.0) if text else 1.0
    except ValueError:
        raise ValueError(
            f"DESCEND_PROGRESS_DELAY must be a number of seconds, e.g. 0.5, got {text!r}"
        ) from None


class Progress:
    """A progress bar for ``total`` units of work (steps or runs) named ``desc``.

    Parameters
    ----------
    total : int or None
        Units expected (the step budget, the number of runs); None when unknown.
    desc : str
        What is running, e.g. ``"fit"``; starts the bar and the final line.
    unit : str
        ``"step"`` or ``"run"`` (plural ``units`` in the final line).
    quiet : bool
        Draw and print nothing.
    stream : text stream, optional
        Where to write (default ``sys.stderr``); a bar is drawn only if it is a terminal.
    delay : float, optional
        Seconds before the bar appears and the least duration that earns a final line
        (default :func:`default_delay`: 1 s, or ``$DESCEND_PROGRESS_DELAY``).
    """

    def __init__(
        self,
        total: int | None,
        desc: str,
        unit: str = "step",
        *,
        quiet: bool = False,
        stream: TextIO | None = None,
        delay: float | None = None,
    ) -> None:
        self.total = None if total is None else max(int(total), 1)
        self.desc = desc
        self.unit = unit
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.delay = default_delay() if delay is None else float(delay)
        self.start = time.perf_counter()
        self.done = 0
        self.loss: float | None = None
        self.chunks_read = 0
        self._reading: float | None = None  # when the chunks' pass started; None: not reading
        self._chunk_time = 0.0
        self._last = self.start
        self._closed = False
        self.bar: Any = None
        if not quiet and _is_terminal(self.stream) and tqdm_available():
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=self.total, desc=desc, unit=unit, file=self.stream, delay=self.delay,
                leave=False, mininterval=0.1, dynamic_ncols=True,
            )  # fmt: skip

    def __call__(self, k: int, theta: Any, loss: float) -> bool:
        """The loop's callback after step ``k``: record it; never asks the run to stop."""
        self.done = k + 1
        self.loss = loss
        if self._reading is not None:
            self._end_reading()
        if self.bar is not None:
            now = time.perf_counter()
            if now - self._last >= 0.1:
                self._last = now
                self.bar.n = self.done
                self.bar.set_postfix_str(f"loss {loss:.6g}", refresh=True)
        return False

    def chunks(self, done: int, total: int) -> None:
        """A Dask fit's hook (``ds.fit(..., progress=...)``): ``done`` of the ``total`` chunks
        of the statistics pass have been read. The bar counts chunks until the first step."""
        if self._reading is None:
            self._reading = time.perf_counter()
            if self.bar is not None:
                self.bar.unit = "chunk"
                self.bar.set_description(f"{self.desc}: reading", refresh=False)
        self.chunks_read = done
        if self.bar is not None:
            self.bar.total = total
            self.bar.n = done
            self.bar.refresh()

    def _end_reading(self) -> None:
        """The first step after the chunks: the bar counts steps again."""
        assert self._reading is not None
        self._chunk_time += time.perf_counter() - self._reading
        self._reading = None
        self._last = 0.0  # draw the first step at once
        if self.bar is not None:
            self.bar.reset(total=self.total)
            self.bar.unit = self.unit
            self.bar.set_description(self.desc, refresh=False)

    def advance(self, done: int, total: int | None = None) -> None:
        """A study's hook: ``done`` of ``total`` runs have finished."""
        self.done = done
        if total is not None and self.bar is not None and total != self.bar.total:
            self.bar.total = total
        if total is not None:
            self.total = total
        if self.bar is not None:
            self.bar.n = done
            self.bar.refresh()

    @property
    def elapsed(self) -> float:
        """Seconds since the work started."""
        return time.perf_counter() - self.start

    def final_line(self) -> str:
        """``descend fit: 5000 steps in 3.2 s (loss 0.0123)`` — what was done and how long
        (for a Dask fit also ``, 48 chunks read in 1.1 s``)."""
        unit = self.unit if self.done == 1 else f"{self.unit}s"
        text = f"descend {self.desc}: {self.done:,} {unit} in {self.elapsed:.1f} s"
        if self.loss is not None:
            text += f" (loss {self.loss:.6g})"
        if self.chunks_read:
            if self._reading is not None:  # stopped while reading
                self._chunk_time += time.perf_counter() - self._reading
                self._reading = None
            text += f", {self.chunks_read:,} chunks read in {self._chunk_time:.1f} s"
        return text

    def close(self) -> None:
        """Erase the bar; print the final line if the work took ``delay`` seconds or more."""
        if self._closed:
            return
        self._closed = True
        if self.bar is not None:
            self.bar.close()
        if not self.quiet and self.elapsed >= self.delay:
            self.stream.write(self.final_line() + "\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def add_quiet_argument(p: Any) -> None:
    """``--quiet`` for a command whose results print anyway: it silences the progress only."""
    p.add_argument(
        "--quiet", action="store_true", help="no progress bar and no final timing line on stderr"
    )


def for_args(args: Any, total: int | None, desc: str, unit: str = "run") -> Progress:
    """A :class:`Progress` for a parsed command line (silent under ``--quiet``)."""
    return Progress(total, desc, unit, quiet=bool(getattr(args, "quiet", False)))
