"""Watching a run while it goes: ``ds.fit(..., live=True)``.

In Jupyter the run is drawn into one output cell through an IPython *display handle*
(``display(..., display_id=True)`` then ``handle.update(...)``): the step, the loss, the loss
curve as inline SVG and, for two parameters, the path θ₀ … θ_k over a shaded map of the loss.
A display handle was chosen over ipywidgets/anywidget because it needs nothing beyond the
IPython every kernel already has — no front-end extension to install or keep in step — and its
last state is saved in the notebook, so a notebook executed by nbclient or rendered by nbconvert
shows the final picture. In a terminal the run draws a tqdm bar (the ``progress`` extra) with
the loss.

Redrawing costs time, so it is rationed: a redraw happens at most every ``interval`` seconds
and never sooner than ``budget⁻¹`` times the last redraw's own cost after it (default 5 %), so
the drawing adds at most about 5 % to the run; between redraws a step costs one clock read.
:meth:`LiveView.close` (called in a ``finally``, also after Ctrl-C) draws the final state and
closes the bar, so nothing is left behind.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.html import esc, num, section, svg_line
from descend.problems.slices import landscape_grid

Array = NDArray[np.float64]

__all__ = ["ChunkBar", "LiveView", "in_notebook"]


class ChunkBar:
    """``ds.fit(dask_X, y, progress=True)``: a tqdm bar counting the chunks of the statistics
    pass, as a ``progress(done, total)`` hook. It appears with the first call and closes itself
    when ``done`` reaches ``total`` (or at :meth:`close`); without tqdm it draws nothing."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.closed = False

    def __call__(self, done: int, total: int) -> None:
        if self.closed:
            return
        if self.bar is None:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                self.closed = True
                return
            self.bar = tqdm(total=total, desc="reading", unit="chunk", leave=False)
        self.bar.n = done
        self.bar.refresh()
        if done >= total:
            self.close()

    def close(self) -> None:
        """Erase the bar (idempotent)."""
        if self.bar is not None and not self.closed:
            self.bar.close()
        self.closed = True


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell), False in a terminal or script."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class LiveView:
    """A run's live picture: call it as the loop's callback, :meth:`close` when the run ends.

    Parameters
    ----------
    total : int
        The step budget (the bar's length).
    objective : Objective, optional
        What descent runs on; with two parameters its loss is mapped under the path.
    interval : float
        Least seconds between redraws.
    budget : float
        Largest fraction of the run's time that redrawing may take.
    notebook : bool, optional
        Draw into a notebook cell (default: :func:`in_notebook`), else a terminal bar.
    """

    def __init__(
        self,
        total: int,
        objective: Any = None,
        *,
        interval: float = 0.25,
        budget: float = 0.05,
        notebook: bool | None = None,
    ) -> None:
        self.total = max(int(total), 1)
        self.objective = objective
        self.interval = interval
        self.budget = budget
        self.notebook = in_notebook() if notebook is None else notebook
        self.losses: list[float] = []
        self.path: list[Array] = []
        self.k = 0
        self.start = time.perf_counter()
        self.next_draw = self.start
        self.draw_time = 0.0
        self.longest_draw = 0.0
        self.draws = 0
        self.handle: Any = None
        self.bar: Any = None
        self.closed = False
        if self.notebook:
            from IPython.display import HTML, display

            self.handle = display(HTML(self.html()), display_id=True)
        else:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=self.total, desc="descent", unit="step", leave=False,
                                disable=None, mininterval=interval)  # fmt: skip

    def __call__(self, k: int, theta: Array, loss: float) -> bool:
        """The loop's callback after step ``k``: record, maybe redraw; never stops the run."""
        self.k = k + 1
        self.losses.append(loss)
        if self.objective is not None and theta.shape[0] == 2:
            self.path.append(np.array(theta, dtype=np.float64))
        now = time.perf_counter()
        if now >= self.next_draw:
            self._draw()
            cost = time.perf_counter() - now
            self.next_draw = now + max(self.interval, cost / self.budget)
        return False

    def _draw(self) -> None:
        t0 = time.perf_counter()
        if self.handle is not None:
            from IPython.display import HTML

            self.handle.update(HTML(self.html()))
        if self.bar is not None:
            self.bar.n = self.k
            self.bar.set_postfix_str(f"loss {self.losses[-1]:.6g}" if self.losses else "")
        cost = time.perf_counter() - t0
        self.draws += 1
        self.draw_time += cost
        self.longest_draw = max(self.longest_draw, cost)

    def html(self, final: str = "") -> str:
        """The picture now: step, loss, loss curve and (two parameters) the path."""
        loss = self.losses[-1] if self.losses else None
        head = (
            f"step {self.k:,} of at most {self.total:,} · loss {num(loss, 8)} · "
            f"{time.perf_counter() - self.start:.1f} s"
        )
        parts = [f'<div class="live-status">{esc(head)}</div>']
        if final:
            parts.append(f'<div class="live-final">{esc(final)}</div>')
        if self.losses:
            losses = np.asarray(self.losses)
            pos = bool(np.all(losses[np.isfinite(losses)] > 0))
            parts.append(svg_line(losses, log_y=pos, title="L(θ_k)" + (" (log)" if pos else ""),
                                  x_label="step k"))  # fmt: skip
        if len(self.path) >= 1:
            parts.append(self._path_svg())
        return section("descent, live", *parts)

    def _path_svg(self, size: int = 160, cells: int = 24) -> str:
        """θ₀ … θ_k over a shaded map of the loss (darker = lower), as inline SVG."""
        P = np.asarray(self.path)
        lo, hi = P.min(axis=0), P.max(axis=0)
        pad = np.maximum((hi - lo) * 0.15, 1e-3 * (1 + np.abs(hi)))
        lo, hi = lo - pad, hi + pad
        xs, ys = np.linspace(lo[0], hi[0], cells), np.linspace(lo[1], hi[1], cells)
        Z = landscape_grid(self.objective, P[-1], 0, 1, xs, ys)
        finite = np.isfinite(Z)
        Zl = np.log10(np.where(finite, Z - np.nanmin(Z) + 1e-12 * (1 + abs(np.nanmin(Z))), 1.0))
        span = float(np.ptp(Zl[finite])) if finite.any() else 1.0
        shade = (Zl - Zl[finite].min()) / (span or 1.0) if finite.any() else Zl * 0
        c = size / cells
        rects = []
        for r in range(cells):
            for q in range(cells):
                g = int(90 + 160 * shade[r, q]) if finite[r, q] else 255
                y = size - (r + 1) * c
                rects.append(f'<rect x="{q * c:.1f}" y="{y:.1f}" width="{c + 0.5:.1f}" '
                             f'height="{c + 0.5:.1f}" fill="rgb({g},{g},255)"/>')  # fmt: skip

        def px(p: Array) -> tuple[float, float]:
            u = (p - lo) / (hi - lo)
            return float(u[0] * size), float((1 - u[1]) * size)

        idx = np.unique(np.linspace(0, len(P) - 1, min(len(P), 400)).astype(np.int64))
        pts = " ".join("{:.1f},{:.1f}".format(*px(P[i])) for i in idx)
        x0, y0 = px(P[0])
        xk, yk = px(P[-1])
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 {size} {size}" role="img" aria-label="path on the loss">'
            + "".join(rects)
            + f'<polyline class="path" points="{pts}" fill="none" stroke="#c33" '
            f'stroke-width="1.5"/>'
            f'<circle cx="{x0:.1f}" cy="{y0:.1f}" r="3" fill="white" stroke="#c33"/>'
            f'<circle cx="{xk:.1f}" cy="{yk:.1f}" r="3" fill="#c33"/></svg>'
        )

    def close(self, message: str = "") -> None:
        """Draw the final state (with ``message``, e.g. the stop reason) and close the bar."""
        if self.closed:
            return
        self.closed = True
        if self.handle is not None:
            from IPython.display import HTML

            self.handle.update(HTML(self.html(final=message)))
        if self.bar is not None:
            self.bar.close()
