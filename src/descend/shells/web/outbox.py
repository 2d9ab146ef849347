"""A socket's outgoing frames: a bounded queue and a writer with a deadline per frame.

The run's loop never waits on the network: it offers frames to an :class:`Outbox` and goes on.
A client that reads slowly gets fewer frames (the loop does not step while the queue is half
full, so updates are coalesced into the next one rather than lost; replies beyond the queue are
dropped and counted); a client that does not read at all makes one send wait past
``timeout_s``, and the outbox is marked failed so the loop closes the socket and frees the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from starlette.websockets import WebSocket

__all__ = ["Outbox"]


class Outbox:
    """Frames waiting for one WebSocket.

    Parameters
    ----------
    ws : WebSocket
        The accepted socket.
    size : int
        Most frames queued; :meth:`offer` drops beyond.
    timeout_s : float
        Longest one frame may take to go out before the client counts as gone.
    """

    def __init__(self, ws: WebSocket, size: int, timeout_s: float) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=size)
        self.timeout_s = timeout_s
        self.dropped = 0
        self.failed = False
        #: when a frame last went out (or the outbox was made)
        self.last_sent = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    @property
    def congested(self) -> bool:
        """Half full or more: the loop should not make more frames yet."""
        return self.failed or self.queue.qsize() * 2 >= self.queue.maxsize

    def offer(self, payload: dict[str, Any]) -> bool:
        """Queue a frame without waiting; False (and counted) when it was dropped."""
        if self.failed:
            return False
        text = json.dumps(payload, allow_nan=False, separators=(",", ":"))
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped += 1
            return False
        return True

    async def _write(self) -> None:
        while True:
            text = await self.queue.get()
            if text is None:
                return
            try:
                await asyncio.wait_for(self.ws.send_text(text), self.timeout_s)
            except Exception:  # too slow, or the transport broke: either way the client is gone
                self.failed = True
                return
            self.last_sent = time.monotonic()

    def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.create_task(self._write())

    async def close(self, code: int = 1000, reason: str = "", flush_s: float = 1.0) -> None:
        """Let queued frames go out for up to ``flush_s``, then close the socket (bounded by
        the frame deadline); never raises."""
        task = self._task
        if task is not None and not self.failed:
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(task), flush_s)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(code=code, reason=reason), self.timeout_s)
