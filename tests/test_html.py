"""descend.data.html: escaped tables and inline SVG charts, checked by parsing what they emit."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from descend.data.html import esc, kv_table, num, section, svg_line, table

VOID = {"br", "hr", "img", "meta", "input", "link"}


class Tree(HTMLParser):
    """A strict parser: every element closed in order; collects text, tags and attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Tree:
    """Parse ``html``; fail on unbalanced tags."""
    tree = Tree()
    tree.feed(html)
    tree.close()
    assert not tree.errors and not tree.stack, (tree.errors, tree.stack)
    return tree


def cells(html: str) -> list[list[str]]:
    """The text of each table row's cells, in order."""

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.rows: list[list[str]] = []
            self.cell: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = []

        def handle_endtag(self, tag: str) -> None:
            if tag in ("td", "th") and self.cell is not None:
                self.rows[-1].append("".join(self.cell))
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell.append(data)

    p = Rows()
    p.feed(html)
    return p.rows


def polyline(html: str) -> np.ndarray:
    """The (x, y) pixel points of the chart's curve, shape (k, 2)."""
    tree = parse(html)
    pts = next(a["points"] for t, a in tree.tags if t == "polyline")
    assert pts is not None
    return np.array([[float(v) for v in p.split(",")] for p in pts.split()])


@given(st.text(max_size=40))
def test_escaped_text_round_trips_through_a_parser(text: str) -> None:
    tree = parse(section(text, table(["h"], [[text]])))
    assert "".join(tree.text) == text + "h" + text
    assert [t for t, _ in tree.tags] == ["div", "div", "table", "thead", "tr", "th", "tbody",
                                         "tr", "td"]  # fmt: skip


def test_markup_in_cells_stays_text() -> None:
    evil = '<script>alert("x")</script>'
    html = kv_table([(evil, evil)])
    tree = parse(html)
    assert "script" not in [t for t, _ in tree.tags]
    assert cells(html) == [[evil, evil]]
    assert esc("a&b") == "a&amp;b"


def test_table_shape_and_alignment() -> None:
    html = table(["a", "b"], [[1, 2], [3, 4]], numeric=[False, True])
    assert cells(html) == [["a", "b"], ["1", "2"], ["3", "4"]]
    styles = [a.get("style") or "" for t, a in parse(html).tags if t == "td"]
    assert ["right" in s for s in styles] == [False, True, False, True]


def test_num() -> None:
    assert num(None) == "—" and num(math.nan) == "nan" and num(1 / 3, 3) == "0.333"


def test_svg_line_maps_values_to_pixels_linearly() -> None:
    y = np.array([4.0, 3.0, 1.0, 0.0])
    pts = polyline(svg_line(y, width=108, height=112))
    # x: 0..3 onto [8, 100]; y: 0..4 onto [106, 6] (top = max)
    np.testing.assert_allclose(pts[:, 0], 8 + np.arange(4) / 3 * 92, atol=0.06)
    np.testing.assert_allclose(pts[:, 1], 6 + (1 - y / 4) * 100, atol=0.06)


def test_svg_log_axis_turns_geometric_decay_into_a_straight_line() -> None:
    y = 10.0 ** -np.arange(50.0)
    pts = polyline(svg_line(y, log_y=True))
    steps = np.diff(pts[:, 1])
    assert np.ptp(steps) < 0.11  # equal steps down, to the 0.1 px rounding


def test_svg_skips_what_it_cannot_draw_and_says_no_data() -> None:
    pts = polyline(svg_line([1.0, math.nan, 0.0, -1.0, 10.0], log_y=True))
    assert pts.shape == (2, 2)  # nan, 0 and −1 have no logarithm
    tree = parse(svg_line([math.inf]))
    assert "no data" in "".join(tree.text)
    assert "polyline" not in [t for t, _ in tree.tags]


def test_svg_mark_widens_the_axis_and_is_drawn() -> None:
    html = svg_line([1.0, 0.5], [0.1, 0.2], log_x=True, marks=[(1.0, "2/λ")])
    tree = parse(html)
    lines = [a for t, a in tree.tags if t == "line"]
    assert len(lines) == 1 and "2/λ" in "".join(tree.text)
    # the mark (lr 1) lies beyond the data (0.1, 0.2): the axis reaches it, at the right edge
    assert float(lines[0]["x1"] or 0) == 320 - 8
    assert polyline(html)[:, 0].max() < 312 - 100


def test_long_histories_are_thinned_to_the_width() -> None:
    pts = polyline(svg_line(np.linspace(1, 0, 100_000), width=200))
    assert len(pts) <= 2 * 184 + 1
