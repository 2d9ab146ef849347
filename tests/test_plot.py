"""Figures: each renders with Agg and draws what the run recorded, where it belongs."""

import io
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import descend as ds  # noqa: E402
from descend.pictures import plot  # noqa: E402
from descend.problems.objective import Objective  # noqa: E402
from descend.shells.cli import main  # noqa: E402
from descend.studies.sweep import lr_sweep  # noqa: E402


class Valley(Objective):
    """f(θ) = θ₀² + 10·θ₁²: a plain objective with no data, no model, no reference."""

    n_params = 2
    name = "valley"

    def value_and_grad(self, theta):
        return float(theta[0] ** 2 + 10 * theta[1] ** 2), np.array([2 * theta[0], 20 * theta[1]])


@pytest.fixture(scope="module")
def norris():
    d = ds.datasets.load("norris")
    return d, ds.fit(d.X, d.y)


@pytest.fixture(scope="module")
def three():
    """Two inputs: θ = [w1, w2, b], predicted-against-actual figures and 2-D slices."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 2))
    y = 1.0 + X @ [2.0, -1.0] + rng.normal(0, 0.1, 40)
    return X, y, ds.fit(X, y, learning_rate=0.1)


def render(fig):
    """Draw the figure to PNG bytes (fails if any artist cannot be drawn)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    assert buf.getvalue()[:4] == b"\x89PNG"


def by_gid(ax, gid):
    found = [a for a in [*ax.lines, *ax.collections] if a.get_gid() == gid]
    assert found, f"no artist with gid {gid!r}"
    return found[0]


def test_importing_descend_does_not_import_matplotlib():
    """matplotlib is imported lazily, inside the plotting functions."""
    code = (
        "import sys, descend, descend.pictures.plot, descend.pictures.animate, "
        "descend.pictures.report; "
        "assert 'matplotlib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_plot_fit_one_input(norris):
    """The fitted line is the model's prediction, and the reference line is the exact fit."""
    d, res = norris
    fig = plot.plot_fit(res, d.X, d.y)
    render(fig)
    ax = fig.axes[0]
    fit, ref = by_gid(ax, "fit"), by_gid(ax, "reference")
    xs = np.asarray(fit.get_xdata())
    np.testing.assert_allclose(fit.get_ydata(), res.predict(xs.reshape(-1, 1)))
    np.testing.assert_allclose(
        ref.get_ydata(), res.reference.intercept + res.reference.coef[0] * xs
    )
    np.testing.assert_allclose(by_gid(ax, "data").get_offsets(), np.column_stack([d.X[:, 0], d.y]))


def test_plot_fit_many_inputs_is_predicted_vs_actual(three):
    """With several inputs the figure shows ŷ against y."""
    X, y, res = three
    fig = plot.plot_fit(res, X, y)
    pts = by_gid(fig.axes[0], "fit").get_offsets()
    np.testing.assert_allclose(pts, np.column_stack([y, res.predict(X)]))


def test_plot_loss_excess_on_a_log_axis(norris):
    """With a reference the curve is L − L*, on a log axis because it spans many decades."""
    _, res = norris
    fig = plot.plot_loss(res)
    render(fig)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    line = by_gid(ax, "loss")
    np.testing.assert_array_equal(line.get_xdata(), res.history.step)
    expected = res.history.loss - res.reference.loss
    ok = expected > 0
    np.testing.assert_allclose(np.asarray(line.get_ydata())[ok], expected[ok])


def test_plot_loss_with_the_optimum_as_a_line_and_linear_scale(norris):
    """excess=False draws the loss and the optimum; a flat curve keeps a linear axis."""
    d, res = norris
    near = ds.fit(d.X, d.y, theta0=res.reference.params + 1e-3, max_steps=5)
    fig = plot.plot_loss(near, excess=False)
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear"
    np.testing.assert_allclose(by_gid(ax, "loss").get_ydata(), near.history.loss)
    np.testing.assert_allclose(by_gid(ax, "reference").get_ydata(), [near.reference.loss] * 2)


def test_plot_steps_draws_the_recorded_norms(norris):
    """Step sizes above, gradient norms below, both straight from the history."""
    _, res = norris
    fig = plot.plot_steps(res)
    render(fig)
    top, bottom = fig.axes
    np.testing.assert_allclose(by_gid(top, "step-size").get_ydata(), res.history.step_size)
    np.testing.assert_allclose(by_gid(bottom, "grad-norm").get_ydata(), res.history.grad_norm)
    assert top.get_yscale() == "log" and bottom.get_yscale() == "log"
    assert res.history.step_size[-1] < 1e-3 * res.history.step_size[0]  # the steps shrink


def test_plot_contour_path_is_the_recorded_history(norris):
    """The path's vertices are θ_0 … θ_K; start, end and θ* are marked where they are."""
    _, res = norris
    fig = plot.plot_contour(res)
    render(fig)
    ax = fig.axes[0]
    path = res.history.params
    assert path.shape == (res.n_steps + 1, 2)
    np.testing.assert_array_equal(by_gid(ax, "path").get_xydata(), path[:, [0, 1]])
    np.testing.assert_array_equal(by_gid(ax, "start").get_xydata(), path[:1])
    np.testing.assert_array_equal(by_gid(ax, "end").get_xydata(), path[-1:])
    np.testing.assert_allclose(by_gid(ax, "reference").get_xydata(), [res.reference.params])
    assert ax.collections, "no contour set"


def test_plot_contour_any_two_of_three_parameters(three):
    """Coordinates i, j choose the slice; the path shows those coordinates of θ."""
    _, _, res = three
    fig = plot.plot_contour(res, i=2, j=0, n=20)
    ax = fig.axes[0]
    np.testing.assert_array_equal(by_gid(ax, "path").get_xydata(), res.history.params[:, [2, 0]])
    assert "b" in ax.get_xlabel() and "w1" in ax.get_ylabel()
    with pytest.raises(ValueError, match="different"):
        plot.plot_contour(res, i=1, j=1)


def test_contour_needs_the_path(norris):
    """Without recorded θ the error says how to record it."""
    d, _ = norris
    res = ds.fit(d.X, d.y, max_steps=5, record_params=False)
    with pytest.raises(ValueError, match="record_params"):
        plot.plot_contour(res)


def test_contour_and_surface_on_a_plain_objective():
    """A surface minimised directly (no data, no model) has contours and a 3-D view too."""
    res = ds.minimize(Valley(), [2.0, 1.0], learning_rate=0.04, max_steps=60)
    fig = plot.plot_contour(res, n=25)
    render(fig)
    ax = fig.axes[0]
    np.testing.assert_array_equal(by_gid(ax, "path").get_xydata(), res.history.params)
    assert not [a for a in ax.lines if a.get_gid() == "reference"]
    fig3 = plot.plot_surface3d(res, n=15)
    render(fig3)
    line = by_gid(fig3.axes[0], "path")
    xs, ys, zs = line.get_data_3d()
    np.testing.assert_allclose(np.column_stack([xs, ys]), res.history.params)
    np.testing.assert_allclose(zs[:-1], res.history.loss)  # p = 2: the slice is the surface


def test_plot_lr_sweep_marks_the_limit_and_divergence():
    """The vertical line sits at 2/λ_max (computed here with eigvalsh); diverged rates crossed."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 1))
    y = 2 * X[:, 0] + 1 + rng.normal(0, 0.1, 30)
    sweep = lr_sweep(X, y, lrs=[0.05, 0.3, 0.8, 1.3, 2.5], max_steps=300)
    obj = ds.objective(X, y)
    A = np.column_stack([obj.Z, np.ones(30)])
    limit = 2.0 / np.linalg.eigvalsh((2.0 / 30) * A.T @ A).max()
    fig = plot.plot_lr_sweep(sweep)
    render(fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    np.testing.assert_allclose(by_gid(ax, "stability-limit").get_xdata(), [limit, limit])
    crosses = by_gid(ax, "diverged")
    np.testing.assert_allclose(crosses.get_xdata(), sweep.lrs[sweep.diverged])
    assert sweep.diverged.tolist() == (sweep.lrs > limit).tolist()
    np.testing.assert_allclose(by_gid(ax, "final-loss").get_xdata(), sweep.lrs[~sweep.diverged])


def test_plot_runs_overlays_paths_and_losses(norris):
    """Several runs: one path and one loss curve each, labelled."""
    d, res = norris
    other = ds.fit(d.X, d.y, learning_rate=0.3)
    fig = plot.plot_runs([res, other], ["lr 0.01", "lr 0.3"])
    render(fig)
    left, right = fig.axes
    for k, r in enumerate([res, other]):
        np.testing.assert_array_equal(by_gid(left, f"path-{k}").get_xydata(), r.history.params)
        assert by_gid(right, f"loss-{k}").get_label() == ["lr 0.01", "lr 0.3"][k]
    with pytest.raises(ValueError, match="labels"):
        plot.plot_runs([res], ["a", "b"])


def test_save_figures_and_cli_plot(norris, tmp_path, capsys):
    """`descend fit --plot DIR` writes the four PNGs."""
    assert main(["fit", "--plot", str(tmp_path / "figs"), "--max-iter", "200"]) == 0
    out = capsys.readouterr().out
    for name in plot.FIGURE_FILES:
        path = tmp_path / "figs" / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"wrote {path}" in out


def test_plot_runs_takes_a_comparison(norris):
    """A descend.studies.compare() result plots as it is: its labels, its optimum, one path per
    rule."""
    d, _ = norris
    comp = ds.compare(ds.objective(d.X, d.y), ["gd", "adam"], max_steps=50)
    fig = plot.plot_runs(comp)
    left, right = fig.axes
    for k, r in enumerate(comp.results):
        np.testing.assert_array_equal(by_gid(left, f"path-{k}").get_xydata(), r.history.params)
        assert by_gid(right, f"loss-{k}").get_label() == comp.rows[k].label
    assert "m" in left.get_xlabel()  # parameter names from the objective's model


def test_plot_loss_shows_training_and_validation_curves(rng):
    x = np.sort(rng.uniform(-1, 1, 30))
    y = np.sin(3 * x) + 0.3 * rng.normal(size=30)
    res = ds.fit(x, y, model="poly:12", learning_rate="auto", preconditioner="none",
                 validation_fraction=0.3, max_steps=2000)  # fmt: skip
    fig = ds.plot.plot_loss(res)
    lines = {ln.get_gid(): ln for ln in fig.axes[0].get_lines()}
    np.testing.assert_array_equal(lines["val-loss"].get_ydata(), res.history.val_loss)
    np.testing.assert_array_equal(lines["loss"].get_ydata(), res.history.loss)
    best = int(np.argmin(res.history.val_loss))
    assert lines["val-best"].get_xdata()[0] == best


def test_plot_validation_curve_draws_both_losses_per_alpha():
    """The curves carry the rows' numbers; the circled point is the lowest validation MSE."""
    from descend.studies.sweep import ValidationRow

    rows = [
        ValidationRow(d, a, 1.0 / d, 0.5 + (d - 3) ** 2 + a, "converged", 10)
        for d in range(1, 7)
        for a in (0.0, 0.1)
    ]
    fig = plot.plot_validation_curve(rows)
    lines = {ln.get_gid(): ln for ln in fig.axes[0].get_lines()}
    assert {"train-0", "validation-0", "train-0.1", "validation-0.1", "best-validation"} <= set(
        lines
    )
    np.testing.assert_allclose(lines["train-0"].get_ydata(), [1.0 / d for d in range(1, 7)])
    np.testing.assert_allclose(lines["validation-0.1"].get_xdata(), range(1, 7))
    assert list(lines["best-validation"].get_xdata()) == [3]
    assert list(lines["best-validation"].get_ydata()) == [0.5]
    with pytest.raises(ValueError, match="at least one row"):
        plot.plot_validation_curve([])
