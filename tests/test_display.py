"""Rich display: FitResult, Certificate, Advice, Comparison, LRSweep, certify, datasets.

The HTML is parsed (tests/test_html.py's strict parser); the numbers shown are compared with
NumPy's least squares and NIST's certified values, never with descend's own output.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import descend as ds
from descend.descent.display import line_equation
from test_html import cells, parse, polyline

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def norris_fit() -> ds.FitResult:
    d = ds.datasets.load("norris")
    return ds.fit(d.X, d.y, seed=0)


def _line_numbers(text: str) -> tuple[float, float]:
    """m and b from ``y = m·x ± b``."""
    m = re.fullmatch(r"y = (−?[\d.e+-]+)·x ([+−]) ([\d.e+-]+)", text)
    assert m, text
    slope = float(m.group(1).replace("−", "-"))
    b = float(m.group(3)) * (-1 if m.group(2) == "−" else 1)
    return slope, b


def test_one_feature_shows_the_line_beside_the_exact_answer(norris_fit) -> None:
    html = norris_fit._repr_html_()
    parse(html)
    rows = {r[0]: r[1:] for r in cells(html) if r}
    d = ds.datasets.load("norris")
    slope, b = np.polyfit(d.X[:, 0], d.y, 1)  # outside reference
    for key in ("fitted", "exact least squares"):
        m_shown, b_shown = _line_numbers(rows[key][0])
        assert m_shown == pytest.approx(slope, rel=1e-5)
        assert b_shown == pytest.approx(b, rel=1e-5)
    # and NIST's certified values (B1 = 1.00211681802045, B0 = −0.262323073774029)
    m_exact, b_exact = _line_numbers(rows["exact least squares"][0])
    assert (m_exact, b_exact) == pytest.approx((1.00212, -0.262323), rel=1e-6)
    assert rows["stop reason"][0].startswith("converged — certified")
    assert rows["certificate"][0].startswith("L − L* ≤")


def test_the_loss_curve_is_inline_svg_of_the_excess_loss(norris_fit) -> None:
    html = norris_fit._repr_html_()
    pts = polyline(html)
    excess = np.asarray(norris_fit.history.loss) - norris_fit.reference.loss
    assert 2 <= len(pts) <= len(excess)
    assert pts[0, 1] < pts[-1, 1]  # the excess loss falls: the curve goes down the picture
    assert "L(θ_k) − L* (log)" in html


def test_rich_display_needs_no_matplotlib() -> None:
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "import descend as ds\n"
        "d = ds.datasets.load('norris')\n"
        "r = ds.fit(d.X, d.y, seed=0)\n"
        "h = r._repr_html_() + d._repr_html_() + r.advice._repr_html_()\n"
        "assert '<polyline' in h\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": SRC}, timeout=120)  # fmt: skip
    assert out.stdout.strip() == "ok", out.stderr


def test_user_text_is_escaped(rng) -> None:
    X = rng.normal(size=(30, 1))
    y = 2 * X[:, 0] + 1 + 0.1 * rng.normal(size=30)
    evil = "<img src=x onerror=alert(1)>"
    res = ds.fit(X, y, feature_names=[evil], seed=0)
    html = res._repr_html_()
    tags = [t for t, _ in parse(html).tags]
    assert "img" not in tags
    assert any(evil in c for r in cells(html) for c in r)
    md = res._repr_markdown_()
    assert "<img" not in md and "&lt;img" in md


def test_markdown_has_the_same_table(norris_fit) -> None:
    md = norris_fit._repr_markdown_()
    assert md.startswith("**FitResult: converged after")
    line = next(ln for ln in md.splitlines() if ln.startswith("| fitted |"))
    slope, _ = _line_numbers(line.split("|")[2].strip())
    assert slope == pytest.approx(1.00211681802045, rel=1e-5)
    assert "\\|L\\|" in md  # pipes inside cells are escaped


def test_line_equation_signs() -> None:
    assert line_equation(-0.5, [2.0], ["x"]) == "y = 2·x − 0.5"
    assert line_equation(3.0, [-1.0, 0.25], ["x", "x^2"]) == "y = −1·x + 0.25·x^2 + 3"
    assert line_equation(None, [1.5], ["area"]) == "y = 1.5·area"


def test_polynomial_and_surface_results_display() -> None:
    d = ds.datasets.load("norris")
    res = ds.fit(d.X, d.y, model="poly:2", learning_rate="auto", seed=0)
    fitted = next(r for r in cells(res._repr_html_()) if r and r[0] == "fitted")[1]
    c = np.polynomial.polynomial.polyfit(d.X[:, 0], d.y, 2)
    assert fitted.startswith(f"y = {c[1]:.6g}·x")
    surf = ds.minimize(ds.surfaces.himmelblau(), [0.0, 0.0], learning_rate=0.01)
    rows = cells(surf._repr_html_())
    assert rows[0] == ["parameter", "fitted"] and rows[1][0] == "θ0"
    assert float(rows[1][1]) == pytest.approx(3.0, abs=1e-4)  # Himmelblau's minimum (3, 2)


def test_certificate_and_advice(norris_fit) -> None:
    cert = {r[0]: r[1] for r in cells(norris_fit.certificate._repr_html_())}
    assert cert["μ"] == "2"  # standardised single feature: H = 2·I
    adv = {r[0]: r[1] for r in cells(norris_fit.advice._repr_html_())}
    assert adv["stability limit 2/λ_max"] == "1"
    assert adv["best constant rate 2/(λ_min+λ_max)"] == "0.5"


def test_comparison_display(norris_fit) -> None:
    d = ds.datasets.load("norris")
    table = ds.compare(ds.objective(d.X, d.y), ["gd", "adam"], max_steps=200)
    html = table._repr_html_()
    rows = cells(html)
    assert rows[0][0] == "optimizer" and [r[0] for r in rows[1:]] == [r.label for r in table.rows]
    assert html.count("<polyline") == 2
    assert table._repr_markdown_() == table.to_markdown()


def test_lr_sweep_display_marks_the_stability_limit() -> None:
    d = ds.datasets.load("norris")
    sweep = ds.lr_sweep(d.X, d.y, lrs=[0.1, 0.5, 1.5], max_steps=100)
    html = sweep._repr_html_()
    tree = parse(html)
    assert [t for t, _ in tree.tags].count("line") == 1 and "2/λ_max" in "".join(tree.text)
    rows = cells(html)[1:]
    assert [r[-1] for r in rows][-1] == "diverged"  # 1.5 > 2/λ_max = 1
    assert [float(r[1]) for r in rows] == pytest.approx([0.1, 0.5, 1.5])  # lr/limit, limit 1


def test_certification_and_dataset_display() -> None:
    from descend.studies.certify import certify

    rows = certify(["norris"])
    html = rows._repr_html_()
    table = cells(html)
    assert table[0][:3] == ["dataset", "level", "model"] and table[1][0] == "Norris"
    assert rows[0]._repr_html_() == html
    d = ds.datasets.load("norris")
    dh = cells(d._repr_html_())
    cert = {r[0]: r[1] for r in dh if r and r[0] in ("B0", "B1")}
    assert cert == {"B0": "-0.262323073774029", "B1": "1.00211681802045"}  # NIST's values
    assert ["x", "y"] in dh and ["0.2", "0.1"] in dh  # Norris's first row
