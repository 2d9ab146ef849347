"""ds.fit(..., live=True): the run is unchanged, redraws are rationed, nothing is left behind."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import descend as ds
from descend.descent import live
from test_html import parse

IPython = pytest.importorskip("IPython")


class Handle:
    """IPython's display handle, recorded."""

    def __init__(self, first: Any) -> None:
        self.shown = [first._repr_html_()]

    def update(self, obj: Any) -> None:
        self.shown.append(obj._repr_html_())


@pytest.fixture
def notebook(monkeypatch) -> list[Handle]:
    """Pretend to be a Jupyter kernel: display() returns a recording handle."""
    import IPython.display

    handles: list[Handle] = []

    def display(obj: Any, display_id: bool = False) -> Handle:
        assert display_id is True  # an updatable output, not a new one per redraw
        handles.append(Handle(obj))
        return handles[-1]

    monkeypatch.setattr(IPython.display, "display", display)
    monkeypatch.setattr(live, "in_notebook", lambda: True)
    return handles


def test_not_a_notebook_under_pytest() -> None:
    assert live.in_notebook() is False


def test_live_does_not_change_the_run() -> None:
    d = ds.datasets.load("longley")
    kw = dict(max_steps=300, tol=0.0, seed=0, warn=False, preconditioner="none", learning_rate=0.2)
    a = ds.fit(d.X, d.y, **kw)
    b = ds.fit(d.X, d.y, live=True, **kw)
    assert np.array_equal(a.params, b.params) and a.n_steps == b.n_steps
    assert np.array_equal(a.history.loss, b.history.loss)


def test_notebook_cell_is_updated_in_place_and_ends_with_the_verdict(notebook) -> None:
    d = ds.datasets.load("norris")
    res = ds.fit(d.X, d.y, live=True, seed=0)
    assert len(notebook) == 1  # one output, updated in place
    shown = notebook[0].shown
    assert len(shown) >= 2
    final = shown[-1]
    tree = parse(final)
    text = "".join(tree.text)
    assert f"step {res.n_steps:,} of at most 10,000" in text
    assert f"{res.stop_reason}: {res.message}" in text
    # two parameters: the loss curve and the path over the loss map
    assert [t for t, a in tree.tags if t == "polyline" and a.get("class") == "curve"]
    path = [a for t, a in tree.tags if t == "polyline" and a.get("class") == "path"]
    assert len(path) == 1


def test_path_is_drawn_where_the_run_went(notebook) -> None:
    d = ds.datasets.load("norris")
    view = live.LiveView(100, ds.objective(d.X, d.y), interval=0.0)
    thetas = [np.array([0.0, 0.0]), np.array([1.0, 0.5]), np.array([2.0, 1.0])]
    for k, th in enumerate(thetas):
        view(k, th, 1.0)
    view.close()
    tree = parse(notebook[0].shown[-1])
    circles = [a for t, a in tree.tags if t == "circle"]
    start = (float(circles[0]["cx"] or 0), float(circles[0]["cy"] or 0))
    end = (float(circles[1]["cx"] or 0), float(circles[1]["cy"] or 0))
    assert start[0] < end[0] and start[1] > end[1]  # up and to the right (SVG y points down)


def test_redraws_are_rationed(notebook) -> None:
    import time

    import IPython.display  # noqa: F401  (imported before timing: not the view's cost)

    view = live.LiveView(10**6, None, interval=0.05, budget=0.05)

    t0 = time.perf_counter()
    k = 0
    while time.perf_counter() - t0 < 1.0:  # a second of steps
        view(k, np.zeros(3), 1.0 / (k + 1))
        k += 1
    elapsed = time.perf_counter() - t0
    view.close()
    assert 2 <= view.draws <= elapsed / 0.05 + 2
    # drawing costs at most the budget (5 % of the time) plus one draw (the last may overrun;
    # on a busy machine any one draw may be preempted, hence the longest)
    assert view.draw_time <= 0.05 * elapsed + 2 * view.longest_draw


def test_ctrl_c_leaves_nothing_behind(notebook, monkeypatch) -> None:
    closed: list[str] = []
    orig = live.LiveView.close

    def close(self: live.LiveView, message: str = "") -> None:
        closed.append(message)
        orig(self, message)

    monkeypatch.setattr(live.LiveView, "close", close)

    def interrupt(k: int, theta: Any, loss: float) -> None:
        if k == 20:
            raise KeyboardInterrupt

    d = ds.datasets.load("norris")
    res = ds.fit(d.X, d.y, live=True, callback=interrupt, seed=0)
    assert res.stop_reason == "interrupted"
    assert len(closed) == 1 and closed[0].startswith("interrupted")
    assert "interrupted" in notebook[0].shown[-1]


def test_an_error_still_closes_the_terminal_bar(monkeypatch) -> None:
    bars: list[Any] = []
    orig = live.LiveView.__init__

    def init(self: live.LiveView, *a: Any, **k: Any) -> None:
        orig(self, *a, **k)
        bars.append(self)

    monkeypatch.setattr(live.LiveView, "__init__", init)

    def boom(k: int, theta: Any, loss: float) -> None:
        if k == 5:
            raise RuntimeError("boom")

    d = ds.datasets.load("norris")
    with pytest.raises(RuntimeError, match="boom"):
        ds.fit(d.X, d.y, live=True, callback=boom, seed=0)
    assert len(bars) == 1 and bars[0].closed


def test_the_users_callback_still_stops_the_run() -> None:
    d = ds.datasets.load("norris")
    res = ds.fit(d.X, d.y, live=True, callback=lambda k, th, loss: k >= 9, seed=0)
    assert res.stop_reason == "interrupted" and res.n_steps == 10


def test_the_estimator_passes_live_on(notebook) -> None:
    pytest.importorskip("sklearn")
    from descend.estimators import GDRegressor

    d = ds.datasets.load("norris")
    est = GDRegressor(live=True).fit(d.X, d.y)
    plain = GDRegressor().fit(d.X, d.y)
    assert len(notebook) == 1 and est.stop_reason_ in notebook[0].shown[-1]
    assert np.array_equal(est.coef_, plain.coef_)
    assert est.get_params()["live"] is True


def test_chunk_bar_closes_itself_at_the_last_chunk(capsys):
    """`ds.fit(dask_X, y, progress=True)`'s bar: counts chunks, closes at done == total."""
    pytest.importorskip("tqdm")
    from descend.descent.live import ChunkBar

    bar = ChunkBar()
    for done in range(4):
        bar(done, 3)
    assert bar.closed and bar.bar is not None and bar.bar.disable
    bar(3, 3)  # after closing: nothing
    bar.close()
    assert "3/3" in capsys.readouterr().err
