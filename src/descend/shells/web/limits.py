"""The playground's caps: what one page may ask of the server."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Limits", "LimitError"]


class LimitError(ValueError):
    """A request beyond a cap; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """Caps on uploads, problem size, work and concurrency.

    Attributes
    ----------
    max_upload_bytes : int
        Largest CSV upload (HTTP 413 beyond).
    max_rows : int
        Most data rows (uploads, synthetic data).
    max_params : int
        Most model parameters p (length of θ).
    max_degree : int
        Highest polynomial degree.
    max_hidden : int
        Most hidden layers of an MLP; ``max_width`` the most units per layer.
    max_steps : int
        Most updates one run may make in all.
    max_steps_per_request : int
        Most updates one ``step`` request (REST or WebSocket) may ask for.
    max_steps_per_second : int
        Fastest run speed a page may ask for.
    max_runs : int
        Runs held at once (HTTP 429 beyond).
    max_uploads : int
        Uploads kept in memory (the oldest is dropped).
    idle_timeout_s : float
        A run nobody has touched for this long (no request, a paused socket) is removed.
    max_grid : int
        Most points per side of a loss contour grid.
    max_contour_cost : int
        Most rows × parameters × grid points one loss contour may evaluate (a larger grid is
        shrunk to fit; about a second of work at the cap).
    max_message_bytes : int
        Longest WebSocket command and JSON body.
    max_message_depth : int
        Deepest nesting of ``[``/``{`` in a WebSocket command (deeper: an error frame).
    messages_per_second : float
        Most update messages per second on a socket (steps are batched between them).
    max_queued_frames : int
        Frames waiting to go out on one socket; while half of them wait, the run does not step
        (updates are coalesced), and replies beyond are dropped.
    max_queued_commands : int
        Commands waiting to be answered on one socket (beyond: an error frame).
    send_timeout_s : float
        Longest one frame may take to go out; a page that does not read for this long is
        disconnected and its run freed.
    """

    max_upload_bytes: int = 1_000_000
    max_rows: int = 10_000
    max_params: int = 500
    max_degree: int = 12
    max_hidden: int = 4
    max_width: int = 64
    max_steps: int = 100_000
    max_steps_per_request: int = 10_000
    max_steps_per_second: int = 20_000
    max_runs: int = 8
    max_uploads: int = 16
    idle_timeout_s: float = 300.0
    max_grid: int = 80
    max_contour_cost: int = 200_000_000
    max_message_bytes: int = 65_536
    max_message_depth: int = 8
    messages_per_second: float = 20.0
    max_queued_frames: int = 16
    max_queued_commands: int = 64
    send_timeout_s: float = 10.0

    def to_dict(self) -> dict[str, Any]:
        """The caps as plain values (the page shows them)."""
        return asdict(self)
