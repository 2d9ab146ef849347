"""A small progress line on stderr for runs longer than a second."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """Callable ``(k, θ, loss)``: draws ``[####....] k/total loss`` after the first second."""

    def __init__(self, total: int, stream: TextIO | None = None, delay: float = 1.0) -> None:
        self.total = max(int(total), 1)
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()
        self.delay = delay
        self.last = 0.0
        self.shown = False

    def __call__(self, k: int, theta: Any, loss: float) -> bool:
        now = time.perf_counter()
        if now - self.start < self.delay or now - self.last < 0.1:
            return False
        self.last = now
        frac = min((k + 1) / self.total, 1.0)
        bar = "#" * int(30 * frac)
        self.stream.write(f"\r[{bar:<30}] {k + 1}/{self.total} loss {loss:.6g}")
        self.stream.flush()
        self.shown = True
        return False

    def close(self) -> None:
        """End the progress line (if one was drawn) so that later output starts afresh."""
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
