"""Figures of a run: the fit, the loss curve, the steps, the path on the loss landscape.

Every function returns a :class:`matplotlib.figure.Figure` and never calls ``show()``; save it
with ``fig.savefig("name.png")`` or display it in a notebook. matplotlib is imported inside the
functions (install the ``plot`` extra: ``pip install 'descend[plot]'``), so ``import descend``
stays NumPy-only. Figures are built without :mod:`matplotlib.pyplot`, so they work under any
backend and leave no global state behind.

The numbers come from the library (:mod:`descend.studies.landscape` for loss grids,
:mod:`descend.studies.sweep` for learning-rate sweeps, the run's :class:`~descend.History`); this
module only draws them.

Artists that tests and users may want to find carry a ``gid``: ``"path"`` (the descent path),
``"start"``, ``"end"``, ``"reference"`` (the exact optimum), ``"stability-limit"``,
``"best-lr"``, ``"diverged"``, ``"fit"``, ``"loss"``, ``"step-size"``, ``"grad-norm"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from descend.data.tables import as_arrays
from descend.problems.slices import landscape_grid, slice_values
from descend.studies.compare import Comparison

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from descend.descent.result import FitResult
    from descend.studies.landscape.edge import EdgeStudy
    from descend.studies.sweep import LRSweep, ValidationRow

Array = NDArray[np.float64]

__all__ = [
    "plot_fit",
    "plot_loss",
    "plot_steps",
    "plot_contour",
    "plot_surface3d",
    "plot_lr_sweep",
    "plot_validation_curve",
    "plot_edge_of_stability",
    "plot_runs",
    "save_figures",
    "FIGURE_FILES",
]

#: the files :func:`save_figures` writes (``descend fit --plot DIR``)
FIGURE_FILES = ("fit.png", "loss.png", "steps.png", "contour.png")

_INSTALL_HINT = "plots need matplotlib: pip install 'descend[plot]'"


# ---------------------------------------------------------------------------------------------
# helpers (layout only)
# ---------------------------------------------------------------------------------------------
def _figure(figsize: tuple[float, float] = (6.4, 4.4)) -> Figure:
    """A new Figure, not registered with pyplot (no GUI, nothing to close)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(_INSTALL_HINT) from exc
    return Figure(figsize=figsize, layout="constrained")


def _spans_decades(values: Array, decades: float = 2.0) -> bool:
    """True when the positive finite values span at least ``decades`` powers of ten."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size < 2:
        return False
    return bool(math.log10(float(v.max()) / float(v.min())) >= decades)


def _set_yscale(ax: Axes, values: Array) -> None:
    if _spans_decades(values):
        ax.set_yscale("log")


def _model_of(res: FitResult) -> Any:
    """The run's model, else its objective's (None for a surface or a loaded result)."""
    if res.model is not None:
        return res.model
    return None if res.objective is None else res.objective.model


def _param_names(res: FitResult) -> list[str]:
    p = int(np.asarray(res.params).shape[0])
    model = _model_of(res)
    if model is not None:
        try:
            names = list(model.param_names())
        except (NotImplementedError, RuntimeError, ValueError):
            names = []
        if len(names) == p:
            return names
    return [f"θ{k}" for k in range(p)]


def _axis_label(res: FitResult, k: int) -> str:
    name = _param_names(res)[k]
    model = _model_of(res)
    scaled = model is not None and bool(model.scale)
    base = name if name == f"θ{k}" else f"{name}  (θ{k})"
    return f"{base}, scaled features" if scaled else base


def _finite_rows(points: Array) -> Array:
    pts = np.asarray(points, dtype=np.float64)
    return pts[np.all(np.isfinite(pts), axis=1)]


def _box(points: Array, margin: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis limits around 2-D points with a relative margin (a unit box around one point)."""
    pts = _finite_rows(points)
    if pts.size == 0:
        return (-1.0, 1.0), (-1.0, 1.0)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = hi - lo
    scale = np.maximum(np.abs(lo), np.abs(hi))
    floor = np.where(scale > 0, 0.1 * scale, 1.0)
    span = np.maximum(span, np.maximum(floor, 0.6 * span.max()))
    centre = 0.5 * (lo + hi)
    half = 0.5 * span * (1.0 + 2.0 * margin)
    return (
        (float(centre[0] - half[0]), float(centre[0] + half[0])),
        (float(centre[1] - half[1]), float(centre[1] + half[1])),
    )


def _contour_levels(Z: Array, count: int) -> Array | int:
    """Levels crowded towards the minimum, so the bowl's floor is visible, not just its rim."""
    z = Z[np.isfinite(Z)]
    if z.size == 0:
        return count
    zmin, zmax = float(z.min()), float(z.max())
    if not zmax > zmin:
        return count
    return np.asarray(zmin + (zmax - zmin) * np.geomspace(1e-4, 1.0, count))


def _require_path(res: FitResult, what: str) -> Array:
    params = res.history.params
    if params is None:
        raise ValueError(
            f"{what} needs the recorded θ path: run with record_params=True "
            "(the default records it when θ has ≤ 100 entries)"
        )
    if res.objective is None:
        raise ValueError(
            f"{what} needs the run's objective (res.objective), which results loaded from "
            "JSON do not have: re-run fit() or minimize()"
        )
    return np.asarray(params, dtype=np.float64)


def _check_indices(res: FitResult, i: int, j: int) -> None:
    p = int(np.asarray(res.params).shape[0])
    if p < 2:
        raise ValueError(f"a contour needs two parameters, but θ has {p}")
    if not (0 <= i < p and 0 <= j < p) or i == j:
        raise ValueError(f"choose two different parameters i, j in 0..{p - 1}, got i={i}, j={j}")


def _reference_point(res: FitResult, i: int, j: int) -> Array | None:
    ref = res.reference
    if ref is None or np.asarray(ref.params).shape != np.asarray(res.params).shape:
        return None
    return np.asarray(ref.params, dtype=np.float64)[[i, j]]


def _slice_grid(
    res: FitResult, paths: Sequence[Array], i: int, j: int, n: int, margin: float
) -> tuple[tuple[tuple[float, float], tuple[float, float]], Array, Array, Array]:
    """The loss on an n × n grid over θ_i × θ_j, sliced through the final θ.

    The box covers every path's (θ_i, θ_j) (each path of shape (K + 1, p)) and the reference
    optimum, with ``margin`` to spare. Returns the box ((x0, x1), (y0, y1)), xs and ys (shape
    (n,) each) and Z (shape (n, n), ``Z[r, c]`` at θ_i = xs[c], θ_j = ys[r]).
    """
    _check_indices(res, i, j)
    pts = [p[:, [i, j]] for p in paths]
    ref_pt = _reference_point(res, i, j)
    if ref_pt is not None:
        pts.append(ref_pt.reshape(1, 2))
    box = _box(np.vstack(pts), margin)
    xs = np.linspace(*box[0], n)
    ys = np.linspace(*box[1], n)
    return box, xs, ys, landscape_grid(res.objective, res.params, i, j, xs, ys)


def _as_xy(X: Any, y: Any) -> tuple[Array, Array]:
    Xa, ya, _ = as_arrays(X, y)
    if ya is None:
        raise ValueError("plot_fit needs the targets y")
    return Xa, ya


def _equation(res: FitResult) -> str | None:
    """'ŷ = b + m·x' in original units for a one-input linear model, else None."""
    model = res.model
    if model is None or not model.is_linear or model.expands_features or model.n_outputs > 1:
        return None
    coef = np.asarray(res.coef)
    if coef.shape != (1,):
        return None
    x = model.feature_names[0] if model.feature_names else "x"
    return f"ŷ = {res.intercept:.4g} + {float(coef[0]):.4g}·{x}"


# ---------------------------------------------------------------------------------------------
# the fit
# ---------------------------------------------------------------------------------------------
def draw_fit(ax: Axes, res: FitResult, X: Any, y: Any, theta: Array | None = None) -> None:
    """Draw :func:`plot_fit` onto ``ax``: X of shape (n, d), y of shape (n,).

    ``theta``, shape (p,), overrides the final θ (for animations).
    """
    model = res.model
    if model is None:
        raise ValueError("plot_fit needs a fitted model: this result came from minimize()")
    Xa, ya = _as_xy(X, y)
    th = np.asarray(res.params if theta is None else theta, dtype=np.float64)
    ref = res.reference
    if Xa.shape[1] == 1:
        x = Xa[:, 0]
        xs = np.linspace(float(x.min()), float(x.max()), 200)
        ax.scatter(x, ya, s=14, color="C0", alpha=0.8, label="observations", gid="data")
        label = _equation(res) if theta is None else None
        ax.plot(
            xs,
            model.predict(th, xs.reshape(-1, 1)),
            color="C3",
            lw=2,
            label=f"descent: {label}" if label else "gradient descent",
            gid="fit",
        )
        if ref is not None:
            ax.plot(
                xs,
                model.predict(ref.params, xs.reshape(-1, 1)),
                color="k",
                lw=1,
                ls="--",
                label="exact least squares",
                gid="reference",
            )
        names = model.feature_names or ["x"]
        ax.set_xlabel(names[0])
        ax.set_ylabel("y")
    else:
        yhat = model.predict(th, Xa)
        lo = float(min(ya.min(), np.nanmin(yhat)))
        hi = float(max(ya.max(), np.nanmax(yhat)))
        ax.plot([lo, hi], [lo, hi], color="0.5", lw=1, ls=":", label="ŷ = y", gid="diagonal")
        ax.scatter(ya, yhat, s=14, color="C3", alpha=0.8, label="gradient descent", gid="fit")
        if ref is not None:
            ax.scatter(
                ya,
                model.predict(ref.params, Xa),
                s=30,
                facecolors="none",
                edgecolors="k",
                lw=0.8,
                label="exact least squares",
                gid="reference",
            )
        ax.set_xlabel("actual y")
        ax.set_ylabel("predicted ŷ")
    ax.legend(loc="best", fontsize="small")


def plot_fit(res: FitResult, X: Any, y: Any) -> Figure:
    """The observations and the fitted line (or curve), or predicted against actual.

    Parameters
    ----------
    res : FitResult
        A result of :func:`descend.fit` (it needs the fitted model).
    X : array-like, shape (n, d) or (n,)
        The inputs the model was fitted on (raw units).
    y : array-like, shape (n,)

    Returns
    -------
    matplotlib.figure.Figure
        One input: a scatter of (x, y) with the fitted curve and, when ``res.reference``
        exists, the exact least-squares curve dashed. Several inputs: ŷ against y with the
        diagonal ŷ = y.
    """
    fig = _figure()
    ax = fig.add_subplot()
    draw_fit(ax, res, X, y)
    spec = res.settings.get("model", "model")
    ax.set_title(f"{spec} fitted by gradient descent ({res.n_steps} steps, {res.stop_reason})")
    return fig


# ---------------------------------------------------------------------------------------------
# the loss curve and the steps
# ---------------------------------------------------------------------------------------------
def draw_loss(
    ax: Axes, res: FitResult, excess: bool | None = None, label: str | None = None
) -> None:
    """Draw :func:`plot_loss`'s curve onto ``ax``."""
    h = res.history
    ref = res.reference
    val = h.val_loss
    if excess is None and val is not None:
        excess = False  # training and validation loss on one axis
    use_excess = (ref is not None) if excess is None else bool(excess)
    if use_excess and ref is None:
        raise ValueError("excess=True needs a reference optimum (least-squares problems)")
    values = np.asarray(h.loss, dtype=np.float64)
    if use_excess:
        assert ref is not None
        values = values - ref.loss
        ylabel = "excess loss L(θ_k) − L(θ*)"
    else:
        ylabel = "loss L(θ_k)"
    shown = values.copy()
    log = _spans_decades(values)
    if log:
        shown[~(shown > 0)] = np.nan  # rounding can put the excess at or below 0
    ax.plot(h.step, shown, color="C0", lw=1.5, label=label or ylabel, gid="loss")
    if val is not None and not use_excess and len(val):
        ax.plot(_val_steps(res), val, color="C3", lw=1.5, label="validation loss", gid="val-loss")
        best = int(np.argmin(val))
        ax.plot(_val_steps(res)[best], val[best], "o", color="C3", ms=5, gid="val-best")
        log = log or _spans_decades(np.asarray(val))
    if log:
        ax.set_yscale("log")
    if ref is not None and not use_excess:
        ax.axhline(
            ref.loss,
            color="k",
            ls="--",
            lw=1,
            label=f"optimum L(θ*) = {ref.loss:.6g}",
            gid="reference",
        )
    ax.set_xlabel("step k")
    ax.set_ylabel(ylabel)


def _val_steps(res: FitResult) -> NDArray[np.float64]:
    """The step of each validation check: every step (full batch) or every epoch's end."""
    val = res.history.val_loss
    assert val is not None
    bs, n = res.settings.get("batch_size"), res.settings.get("n_samples")
    if bs is None or not n:
        return np.arange(len(val), dtype=np.float64)
    per_epoch = -(-int(n) // int(bs))
    return (np.arange(len(val), dtype=np.float64) + 1.0) * per_epoch


def plot_loss(res: FitResult, excess: bool | None = None) -> Figure:
    """The loss at each step (and the validation loss, when the run held rows out).

    Parameters
    ----------
    res : FitResult
    excess : bool, optional
        Plot L(θ_k) − L(θ*), the gap to the exact optimum (default when ``res.reference``
        exists), or the loss itself with the optimum as a horizontal line (``excess=False``).
        A run with a validation split (``res.history.val_loss``) shows the training and the
        validation loss (default ``excess=False``), the lowest validation loss marked: where
        they part, the model starts to overfit.

    Returns
    -------
    matplotlib.figure.Figure
        The y axis is logarithmic when the plotted values span two decades or more, so the
        straight line of linear convergence shows as a straight line.
    """
    fig = _figure()
    ax = fig.add_subplot()
    draw_loss(ax, res, excess)
    ax.set_title(f"loss per step — {res.stop_reason} after {res.n_steps} steps")
    ax.legend(loc="best", fontsize="small")
    return fig


def plot_steps(res: FitResult) -> Figure:
    """Step size ‖θ_{k+1} − θ_k‖ (= ‖lr·g_k‖ for plain descent) and gradient norm per step.

    Both shrink together near the minimum: the gradient vanishes there, so a constant
    learning rate automatically takes smaller steps.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes sharing the step axis: step sizes above, ‖∇L(θ_k)‖ below (each logarithmic
        when it spans decades).
    """
    h = res.history
    fig = _figure((6.4, 5.2))
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(h.step, h.step_size, color="C2", lw=1.5, label="‖θ_{k+1} − θ_k‖", gid="step-size")
    _set_yscale(top, h.step_size)
    top.set_ylabel("step size")
    top.set_title("steps shrink near the minimum")
    top.legend(loc="best", fontsize="small")
    bottom.plot(h.step, h.grad_norm, color="C1", lw=1.5, label="‖∇L(θ_k)‖", gid="grad-norm")
    _set_yscale(bottom, h.grad_norm)
    bottom.set_ylabel("gradient norm")
    bottom.set_xlabel("step k")
    bottom.legend(loc="best", fontsize="small")
    return fig


# ---------------------------------------------------------------------------------------------
# the landscape
# ---------------------------------------------------------------------------------------------
def draw_contour(
    ax: Axes,
    res: FitResult,
    i: int = 0,
    j: int = 1,
    *,
    paths: Sequence[Array] | None = None,
    n: int = 80,
    margin: float = 0.2,
    levels: int = 25,
    colorbar: bool = True,
) -> Any:
    """Draw the loss contours of ``res.objective`` over θ_i × θ_j (no path); return the grid.

    The box covers ``paths`` (default: this run's path) and the reference optimum.
    """
    path = _require_path(res, "plot_contour")
    box, xs, ys, Z = _slice_grid(res, paths if paths is not None else [path], i, j, n, margin)
    (x0, x1), (y0, y1) = box
    cs = ax.contour(xs, ys, Z, levels=_contour_levels(Z, levels), cmap="viridis", linewidths=0.8)
    if colorbar:
        ax.figure.colorbar(cs, ax=ax, label="loss", format="%.3g", shrink=0.75)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(_axis_label(res, i))
    ax.set_ylabel(_axis_label(res, j))
    ratio = (x1 - x0) / (y1 - y0)
    if 0.2 <= ratio <= 5.0:  # equal units show the path crossing contours at right angles
        ax.set_aspect("equal", adjustable="box")
    return xs, ys, Z


def draw_path(
    ax: Axes,
    path: Array,
    i: int,
    j: int,
    *,
    color: str = "C3",
    label: str = "descent path",
    gid: str = "path",
    ends: bool = True,
) -> None:
    """Draw θ_0 … θ_K in coordinates (i, j), with a dot per iterate and the start/end marked.

    ``path`` has shape (K + 1, p), one row per iterate.
    """
    xy = np.asarray(path, dtype=np.float64)[:, [i, j]]
    ax.plot(xy[:, 0], xy[:, 1], "-", color=color, lw=1.4, marker=".", ms=3, label=label, gid=gid)
    if ends and xy.shape[0]:
        ax.plot(*xy[0], "o", color=color, ms=7, mfc="white", label="start θ₀", gid="start")
        ax.plot(*xy[-1], "s", color=color, ms=6, label="end θ_K", gid="end")


def draw_reference(ax: Axes, res: FitResult, i: int, j: int) -> None:
    """Mark the exact optimum θ* at (θ*_i, θ*_j) with a gold star (``gid="reference"``).

    Draws nothing when ``res.reference`` is None or its θ* has another shape than ``res.params``
    (shape (p,)).
    """
    ref_pt = _reference_point(res, i, j)
    if ref_pt is not None:
        ax.plot(
            *ref_pt, "*", color="k", ms=13, mfc="gold", label="exact optimum θ*", gid="reference"
        )


def plot_contour(
    res: FitResult,
    i: int = 0,
    j: int = 1,
    *,
    n: int = 80,
    margin: float = 0.2,
    levels: int = 25,
) -> Figure:
    """Loss contours over two parameters with the descent path on them.

    Parameters
    ----------
    res : FitResult
        A run with its objective (``fit``/``minimize`` set it) and recorded θ path
        (``res.history.params``, shape (K + 1, p)).
    i, j : int
        The parameters on the x and y axes (indices into θ; for the lesson's model θ = [m, b]).
        The other parameters are held at the final θ, so with p > 2 the contours are a slice.
    n : int
        Grid points per axis.
    margin : float
        Extra room around the path and the optimum, relative to their extent.
    levels : int
        Number of contour levels (crowded towards the minimum).

    Returns
    -------
    matplotlib.figure.Figure
        Contours of L, the path (line ``gid="path"`` whose vertices are the recorded θ_k in
        coordinates i and j), the start (``"start"``), the end (``"end"``) and the exact optimum
        θ* (``"reference"``) when known. Coordinates are those descent ran in (standardised
        features for a scaled model).
    """
    path = _require_path(res, "plot_contour")
    fig = _figure((6.4, 5.2))
    ax = fig.add_subplot()
    xs, ys, _ = draw_contour(ax, res, i, j, n=n, margin=margin, levels=levels)
    if ax.get_aspect() == 1.0:  # equal units: fit the figure's height to the box
        ratio = float((xs[-1] - xs[0]) / (ys[-1] - ys[0]))
        fig.set_size_inches(6.4, float(np.clip(4.8 / ratio + 1.4, 3.6, 7.0)))
    draw_path(ax, path, i, j)
    draw_reference(ax, res, i, j)
    p = int(np.asarray(res.params).shape[0])
    title = f"descent on the loss surface ({res.n_steps} steps, {res.stop_reason})"
    if p > 2:
        title += "\nslice through the final θ"
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig


def plot_surface3d(
    res: FitResult, i: int = 0, j: int = 1, *, n: int = 50, margin: float = 0.2
) -> Figure:
    """The loss as a 3-D surface over θ_i × θ_j with the descent path lying on it.

    The path's height is the loss on the drawn slice (other parameters at the final θ), which
    is the run's own loss when θ has two entries.

    Returns
    -------
    matplotlib.figure.Figure
        A 3-D axes with the surface and the path (``gid="path"``).
    """
    path = _require_path(res, "plot_surface3d")
    _, xs, ys, Z = _slice_grid(res, [path], i, j, n, margin)
    fig = _figure((7.0, 5.6))
    ax: Any = fig.add_subplot(projection="3d")
    gx, gy = np.meshgrid(xs, ys)
    ax.plot_surface(gx, gy, Z, cmap="viridis", alpha=0.75, linewidth=0, antialiased=True)
    xy = _finite_rows(path[:, [i, j]])
    zpath = slice_values(res.objective, res.params, i, j, xy)
    ax.plot(
        xy[:, 0],
        xy[:, 1],
        zpath,
        color="C3",
        lw=2,
        marker=".",
        ms=3,
        gid="path",
        label="descent path",
    )
    if xy.shape[0]:
        ax.scatter([xy[0, 0]], [xy[0, 1]], [zpath[0]], color="C3", s=40, gid="start")
        ax.scatter([xy[-1, 0]], [xy[-1, 1]], [zpath[-1]], color="k", s=40, gid="end")
    ax.set_xlabel(_axis_label(res, i))
    ax.set_ylabel(_axis_label(res, j))
    ax.set_zlabel("loss")
    ax.set_title("the loss surface and the ball rolling down it")
    return fig


# ---------------------------------------------------------------------------------------------
# learning-rate sweep and several runs
# ---------------------------------------------------------------------------------------------
def plot_validation_curve(rows: Sequence[ValidationRow]) -> Figure:
    """Training and validation MSE against the polynomial degree, one pair of curves per α.

    Parameters
    ----------
    rows : sequence of ValidationRow
        From :func:`descend.studies.sweep.validation_curve`.

    Returns
    -------
    matplotlib.figure.Figure
        Log loss axis; per α the training MSE (solid, ``gid="train-α"``) and the validation
        MSE (dashed, ``gid="validation-α"``), the lowest validation MSE circled
        (``"best-validation"``): to its right the training loss still falls while the
        validation loss rises — the training optimum overfits.
    """
    if not rows:
        raise ValueError("plot_validation_curve needs at least one row")
    fig = _figure()
    ax = fig.add_subplot()
    alphas = sorted({r.alpha for r in rows})
    for i, alpha in enumerate(alphas):
        sel = sorted((r for r in rows if r.alpha == alpha), key=lambda r: r.degree)
        deg = [r.degree for r in sel]
        tag = "" if len(alphas) == 1 else f" (α = {alpha:g})"
        ax.plot(deg, [r.train_loss for r in sel], "o-", color=f"C{i}", lw=1.5,
                label=f"training MSE{tag}", gid=f"train-{alpha:g}")  # fmt: skip
        ax.plot(deg, [r.val_loss for r in sel], "s--", color=f"C{i}", lw=1.5,
                label=f"validation MSE{tag}", gid=f"validation-{alpha:g}")  # fmt: skip
    best = min(rows, key=lambda r: r.val_loss)
    label = f"lowest validation MSE (degree {best.degree})"
    ax.plot([best.degree], [best.val_loss], "o", ms=14, mfc="none", mec="k", label=label,
            gid="best-validation")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("polynomial degree")
    ax.set_ylabel("mean squared error")
    ax.set_title("training and validation loss by polynomial degree")
    ax.legend(fontsize=8)
    return fig


def plot_lr_sweep(sweep: LRSweep) -> Figure:
    """Final loss against learning rate, divergence marked, the stability limit drawn.

    Parameters
    ----------
    sweep : LRSweep
        From :func:`descend.studies.sweep.lr_sweep`.

    Returns
    -------
    matplotlib.figure.Figure
        Log lr axis; converged/unfinished runs as dots (``gid="final-loss"``), diverged runs as
        red crosses along the top (``"diverged"``), the limit 2/λ_max as a vertical line
        (``"stability-limit"``), the best constant rate 2/(λ_min + λ_max) dotted (``"best-lr"``)
        and the exact optimum's loss as a horizontal line (``"reference"``).
    """
    from matplotlib.transforms import blended_transform_factory

    lrs = np.asarray(sweep.lrs, dtype=np.float64)
    loss = np.asarray(sweep.final_loss, dtype=np.float64)
    bad = np.asarray(sweep.diverged, dtype=bool)
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ok = ~bad
    ax.plot(lrs[ok], loss[ok], "o-", color="C0", lw=1.2, label="final loss", gid="final-loss")
    if sweep.reference_loss is not None:
        ax.axhline(
            sweep.reference_loss,
            color="0.4",
            ls=":",
            lw=1,
            label=f"optimum {sweep.reference_loss:.6g}",
            gid="reference",
        )
    _set_yscale(ax, loss[ok])
    if bad.any():
        trans = blended_transform_factory(ax.transData, ax.transAxes)
        ax.plot(
            lrs[bad],
            np.full(int(bad.sum()), 0.95),
            "x",
            color="C3",
            ms=9,
            mew=2,
            transform=trans,
            label="diverged",
            gid="diverged",
        )
    adv = sweep.advice
    if adv is not None:
        ax.axvline(
            adv.stability_limit,
            color="C3",
            lw=1.5,
            label=f"stability limit 2/λ_max = {adv.stability_limit:.4g}",
            gid="stability-limit",
        )
        ax.axvline(
            adv.best_lr,
            color="C2",
            lw=1,
            ls="--",
            label=f"best rate 2/(λ_min+λ_max) = {adv.best_lr:.4g}",
            gid="best-lr",
        )
    steps = (sweep.settings or {}).get("max_steps")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final loss")
    ax.set_title("learning-rate sweep" + (f" ({steps} steps at most)" if steps else ""))
    ax.legend(loc="best", fontsize="small")
    return fig


def plot_edge_of_stability(study: EdgeStudy) -> Figure:
    """Loss and sharpness against steps, one colour per learning rate, 2/η dashed.

    Parameters
    ----------
    study : EdgeStudy
        From :func:`descend.studies.landscape.edge_of_stability`.

    Returns
    -------
    matplotlib.figure.Figure
        Top: the training loss per step (log axis; ``gid="loss-η"``). Bottom: the measured
        sharpness λ_max(∇²L(θ_k)) (``gid="sharpness-η"``) with its rate's 2/η as a dashed
        line of the same colour (``gid="edge-η"``).
    """
    fig = _figure((7.2, 6.4))
    ax_loss, ax_sharp = fig.subplots(2, 1, sharex=True)
    for i, run in enumerate(study.runs):
        color = f"C{i}"
        lr = f"{run.learning_rate:g}"
        steps = np.arange(run.loss.shape[0])
        ax_loss.plot(steps, run.loss, color=color, lw=0.8, label=f"η = {lr}", gid=f"loss-{lr}")
        ax_sharp.plot(
            run.sharpness_steps, run.sharpness, color=color, lw=1.2, gid=f"sharpness-{lr}"
        )
        edge = "38/η" if run.preconditioned else "2/η"
        if run.preconditioned and abs(run.threshold * run.learning_rate - 38.0) > 1e-9:
            edge = "edge"
        ax_sharp.axhline(
            run.threshold, color=color, ls="--", lw=1, label=f"{edge} = {run.threshold:.3g}",
            gid=f"edge-{lr}",
        )  # fmt: skip
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("training loss (MSE)")
    ax_loss.legend(loc="upper right", fontsize="small")
    ax_loss.set_title(
        f"edge of stability: tanh MLP {study.hidden}, {study.n_samples} rows, full-batch "
        f"{'GD' if study.optimizer == 'gd' else study.optimizer}",
        fontsize="medium",
    )
    pre = bool(study.runs) and study.runs[0].preconditioned
    ax_sharp.set_ylabel("λ_max(P⁻¹∇²L)" if pre else "sharpness λ_max(∇²L)")
    ax_sharp.set_xlabel("step")
    ax_sharp.legend(loc="lower right", fontsize="small", ncol=2)
    return fig


def plot_runs(
    results: Sequence[FitResult] | Comparison,
    labels: Sequence[str] | None = None,
    i: int = 0,
    j: int = 1,
    *,
    n: int = 80,
    margin: float = 0.2,
) -> Figure:
    """Several runs on the same problem overlaid: their paths on one contour, their losses.

    Parameters
    ----------
    results : sequence of FitResult, or Comparison
        Runs on the same objective (e.g. different optimizers or learning rates); the contours
        are those of the first run's objective, sliced through its final θ. A
        :func:`descend.studies.compare` result may be passed as it is.
    labels : sequence of str, optional
        Legend labels (default: the comparison's labels, or each run's optimizer and learning
        rate).
    i, j : int
        The parameters on the contour's axes.

    Returns
    -------
    matplotlib.figure.Figure
        Left: contours with one path per run (``gid="path-0"``, ``"path-1"``, …). Right: the
        loss curves (``"loss-0"``, …; the excess over the optimum when it is known, from the
        runs' references or the comparison), log scale when they span decades.
    """
    optimum: float | None = None
    if isinstance(results, Comparison):
        if labels is None:
            labels = [row.label for row in results.rows]
        optimum = results.reference_loss
        results = results.results
    runs = list(results)
    if not runs:
        raise ValueError("plot_runs needs at least one result")
    if labels is None:
        labels = [
            f"{r.settings.get('optimizer', 'run')} lr={r.settings.get('learning_rate', '?')}"
            for r in runs
        ]
    if len(labels) != len(runs):
        raise ValueError(f"{len(labels)} labels for {len(runs)} runs")
    paths = [_require_path(r, "plot_runs") for r in runs]
    fig = _figure((11.0, 4.8))
    left, right = fig.subplots(1, 2)
    draw_contour(left, runs[0], i, j, paths=paths, n=n, margin=margin, colorbar=False)
    for k, (path, label) in enumerate(zip(paths, labels, strict=True)):
        draw_path(
            left, path, i, j, color=f"C{(k + 3) % 10}", label=label, gid=f"path-{k}", ends=False
        )
        left.plot(*path[0, [i, j]], "o", color="k", mfc="white", ms=7)
    draw_reference(left, runs[0], i, j)
    left.set_title("paths on the loss surface")
    left.legend(loc="best", fontsize="small")
    if optimum is None and all(r.reference is not None for r in runs):
        optimum = min(float(r.reference.loss) for r in runs if r.reference is not None)
    excess = optimum is not None
    curves = [
        np.asarray(r.history.loss, dtype=np.float64) - (optimum if optimum is not None else 0.0)
        for r in runs
    ]
    log = bool(curves) and _spans_decades(np.concatenate(curves))
    for k, (r, vals, label) in enumerate(zip(runs, curves, labels, strict=True)):
        shown = np.where(vals > 0, vals, np.nan) if log else vals
        right.plot(
            r.history.step, shown, color=f"C{(k + 3) % 10}", lw=1.5, label=label, gid=f"loss-{k}"
        )
    if log:
        right.set_yscale("log")
    right.set_xlabel("step k")
    right.set_ylabel("excess loss L(θ_k) − L(θ*)" if excess else "loss L(θ_k)")
    right.set_title("loss per step")
    right.legend(loc="best", fontsize="small")
    return fig


# ---------------------------------------------------------------------------------------------
# all at once
# ---------------------------------------------------------------------------------------------
def save_figures(
    res: FitResult, X: Any, y: Any, directory: str | Path, dpi: int = 110
) -> list[Path]:
    """Write fit.png, loss.png, steps.png and contour.png for a run into ``directory``.

    A figure that does not apply is skipped: fit.png without a fitted model (a
    :func:`~descend.minimize` result), contour.png without a recorded path or with fewer than
    two parameters.

    Returns
    -------
    list of pathlib.Path
        The files written, in that order.
    """
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise ValueError(
            f"figure directory {str(out)!r} is an existing file; pass a directory name "
            "(it is created if missing)"
        )
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    makers: list[tuple[str, Any]] = []
    if res.model is not None:
        makers.append(("fit.png", lambda: plot_fit(res, X, y)))
    makers.append(("loss.png", lambda: plot_loss(res)))
    makers.append(("steps.png", lambda: plot_steps(res)))
    if (
        res.history.params is not None
        and res.objective is not None
        and np.asarray(res.params).shape[0] >= 2
    ):
        makers.append(("contour.png", lambda: plot_contour(res)))
    for name, make in makers:
        path = out / name
        make().savefig(path, dpi=dpi)
        written.append(path)
    return written
