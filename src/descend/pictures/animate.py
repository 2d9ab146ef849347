"""The descent as a movie: the path growing on the contour, the fitted line moving over the data.

GIFs are written with matplotlib's ``PillowWriter`` (needs only Pillow, part of the ``plot``
extra); MP4 needs the ``ffmpeg`` program on the PATH and is refused with a clear message
otherwise (:func:`can_write_mp4` says in advance).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # pragma: no cover
    from descend.descent.result import FitResult

__all__ = ["animate", "frame_steps", "can_write_mp4"]


def can_write_mp4() -> bool:
    """True when matplotlib can write MP4 here (the ``ffmpeg`` program is installed)."""
    if shutil.which("ffmpeg") is None:
        return False
    try:
        from matplotlib.animation import FFMpegWriter
    except ImportError:  # pragma: no cover
        return False
    return bool(FFMpegWriter.isAvailable())


def frame_steps(n_steps: int, frames: int) -> NDArray[np.int64]:
    """The iterate shown in each frame: min(frames, K + 1) evenly spaced indices 0 … K.

    Parameters
    ----------
    n_steps : int
        K, the number of updates (the path has K + 1 points θ_0 … θ_K).
    frames : int
        The most frames wanted (≥ 1).

    Returns
    -------
    ndarray of int, shape (min(frames, K + 1),)
        Strictly increasing, starting at 0 and ending at K (when more than one frame).

    Examples
    --------
    >>> frame_steps(10, 4).tolist()
    [0, 3, 7, 10]
    >>> frame_steps(2, 60).tolist()
    [0, 1, 2]
    """
    if frames < 1:
        raise ValueError(f"frames must be ≥ 1, got {frames}")
    count = min(int(frames), int(n_steps) + 1)
    if count == 1:
        return np.zeros(1, dtype=np.int64)
    return np.rint(np.linspace(0, n_steps, count)).astype(np.int64)


def animate(
    res: FitResult,
    X: Any,
    y: Any,
    path: str | Path,
    frames: int = 60,
    fps: int = 15,
    *,
    i: int = 0,
    j: int = 1,
    dpi: int = 80,
    progress: Callable[[int, int], Any] | None = None,
) -> Path:
    """Write the descent as a GIF (or MP4) and return its path.

    Each frame shows the run up to step k: on the left the path θ_0 … θ_k growing on the loss
    contours over (θ_i, θ_j); on the right the model with θ_k over the data (one input), or ŷ
    against y (several). A result without a fitted model (from :func:`descend.minimize`, e.g.
    on a surface) shows the contour only.

    Parameters
    ----------
    res : FitResult
        A run with its objective and recorded θ path (``res.history.params``).
    X, y : array-like or None
        The data the model was fitted on (ignored when ``res.model`` is None).
    path : str or Path
        ``*.gif`` (Pillow) or ``*.mp4`` (needs ffmpeg).
    frames : int
        The most frames; the movie has min(frames, K + 1), evenly spaced over the K steps.
    fps : int
        Frames per second.
    i, j : int
        The parameters on the contour's axes.
    dpi : int
        Resolution (the figure is 10 × 4.2 inches, or 5.4 × 4.6 for the contour alone).
    progress : callable, optional
        ``progress(done, total)`` after each frame is drawn.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        For another file type, for MP4 without ffmpeg, or a run without a recorded path.
    """
    from matplotlib.animation import FFMpegWriter

    from descend.pictures.plot import _figure, _require_path, draw_contour, draw_fit, draw_reference

    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"animations are written as .gif or .mp4, not {out.name!r}")
    if suffix == ".mp4" and not can_write_mp4():
        raise ValueError("writing MP4 needs ffmpeg, which is not installed here; write a .gif")
    if fps < 1:
        raise ValueError(f"fps must be ≥ 1, got {fps}")
    params = _require_path(res, "animate")
    ks = frame_steps(params.shape[0] - 1, frames)
    with_data = res.model is not None and X is not None and y is not None

    fig = _figure((10.0, 4.2) if with_data else (5.4, 4.6))
    axes = fig.subplots(1, 2) if with_data else [fig.add_subplot()]
    left = axes[0]
    draw_contour(left, res, i, j, colorbar=False)
    xy = params[:, [i, j]]
    left.plot(*xy[0], "o", color="C3", mfc="white", ms=7, label="start θ₀", gid="start")
    (trail,) = left.plot(
        [], [], "-", color="C3", lw=1.4, marker=".", ms=3, label="path", gid="path"
    )
    (head,) = left.plot([], [], "o", color="C3", ms=7, gid="head")
    draw_reference(left, res, i, j)
    left.legend(loc="best", fontsize="small")
    counter = left.set_title("")

    fit_line: Any = None
    if with_data:
        right = axes[1]
        draw_fit(right, res, X, y, theta=params[0])
        fit_line = next(a for a in [*right.lines, *right.collections] if a.get_gid() == "fit")
        right.set_title("the model at step k")
        if hasattr(fit_line, "set_ydata"):
            right.set_ylim(*right.get_ylim())
        Xa = _fit_inputs(res, X, y, right)

    def draw(k: int) -> None:
        trail.set_data(xy[: k + 1, 0], xy[: k + 1, 1])
        head.set_data([xy[k, 0]], [xy[k, 1]])
        counter.set_text(f"step {k} of {params.shape[0] - 1}   loss {_loss_at(res, k):.6g}")
        if fit_line is not None:
            assert res.model is not None
            if hasattr(fit_line, "set_ydata"):
                fit_line.set_ydata(res.model.predict(params[k], Xa))
            else:  # several inputs: move the ŷ-against-y points
                offsets = fit_line.get_offsets()
                offsets[:, 1] = res.model.predict(params[k], Xa)
                fit_line.set_offsets(offsets)

    moving: list[Any] = [trail, head, counter] + ([fit_line] if fit_line is not None else [])
    if suffix == ".mp4":
        writer = FFMpegWriter(fps=fps)
        with writer.saving(fig, str(out), dpi):
            for n, k in enumerate(ks, start=1):
                draw(int(k))
                writer.grab_frame()
                if progress is not None:
                    progress(n, len(ks))
        return out
    images = _blit_frames(fig, moving, draw, ks, dpi, last=int(ks[-1]), progress=progress)
    # the same call matplotlib's PillowWriter makes, fed with blitted frames: only the moving
    # artists are redrawn each frame, which is many times faster than a full redraw
    images[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(int(round(1000 / fps)), 20),
        loop=0,
    )
    return out


def _blit_frames(
    fig: Any,
    moving: list[Any],
    draw: Any,
    ks: NDArray[np.int64],
    dpi: int,
    last: int,
    progress: Callable[[int, int], Any] | None = None,
) -> list[Any]:
    """Render the static figure once, then each frame's moving artists over it (Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    draw(last)  # the longest texts and widest limits, so the one layout pass fits every frame
    for artist in moving:
        artist.set_animated(True)
    canvas.draw()  # lays out (once) and draws everything except the animated artists
    fig.set_layout_engine(None)
    background = canvas.copy_from_bbox(fig.bbox)
    images = []
    for k in ks:
        canvas.restore_region(background)
        draw(int(k))
        for artist in moving:
            fig.draw_artist(artist)
        rgba = np.asarray(canvas.buffer_rgba())
        images.append(Image.fromarray(np.ascontiguousarray(rgba[..., :3])))
        if progress is not None:
            progress(len(images), len(ks))
    # one palette for the whole movie, from the fullest frame: quantising each frame on its own
    # costs most of the time and makes colours flicker
    palette = images[-1].quantize(colors=255)
    return [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]


def _fit_inputs(res: FitResult, X: Any, y: Any, ax: Any) -> NDArray[np.float64]:
    """The inputs at which the moving fit is evaluated: the line's x grid, or the data rows."""
    from descend.pictures.plot import _as_xy

    Xa, _ = _as_xy(X, y)
    if Xa.shape[1] == 1:
        line = next(a for a in ax.lines if a.get_gid() == "fit")
        return np.asarray(line.get_xdata(), dtype=np.float64).reshape(-1, 1)
    return Xa


def _loss_at(res: FitResult, k: int) -> float:
    """L(θ_k): the recorded loss before update k, or the final loss after the last update."""
    losses = res.history.loss
    return float(losses[k]) if k < len(losses) else float(res.loss)
