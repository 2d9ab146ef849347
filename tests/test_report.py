"""The HTML report: valid, self-contained, and carrying the run's numbers."""

import re
from html.parser import HTMLParser

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import descend as ds  # noqa: E402
from descend.pictures.report import report_html, write_report  # noqa: E402
from descend.problems.objective import Objective  # noqa: E402
from descend.shells.cli import main  # noqa: E402

VOID = {"meta", "img", "br", "hr", "link", "input"}


class Checker(HTMLParser):
    """Collects tags and URL attributes; records any nesting error."""

    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.urls, self.errors = [], set(), [], []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href")]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")


def parse(text):
    checker = Checker()
    checker.feed(text)
    checker.close()
    assert not checker.errors and not checker.stack, (checker.errors, checker.stack)
    return checker


@pytest.fixture(scope="module")
def norris():
    d = ds.datasets.load("norris")
    return d, ds.fit(d.X, d.y)


@pytest.fixture(scope="module")
def page(norris, tmp_path_factory):
    d, res = norris
    path = write_report(
        res,
        d.X,
        d.y,
        tmp_path_factory.mktemp("r") / "run.html",
        data_label="NIST StRD Norris",
        dpi=40,
    )
    return path.read_text(encoding="utf-8")


def test_report_is_valid_html(page):
    """It parses cleanly, with html, head and body, and every element closed."""
    checker = parse(page)
    assert {"html", "head", "body", "title", "table", "img"} <= checker.tags
    assert page.startswith("<!DOCTYPE html>")


def test_report_is_self_contained(page):
    """No external URL anywhere: images are data: URIs, nothing is fetched."""
    assert "http://" not in page and "https://" not in page
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert "://" not in text and "url(" not in text and "<link" not in text
    assert "<script" not in text
    checker = parse(page)
    assert checker.urls and all(u.startswith("data:image/png;base64,") for u in checker.urls)
    assert len(checker.urls) == 4  # fit, loss, steps, contour


def test_report_has_the_runs_numbers(norris, page):
    """Intercept and slope as the summary prints them, the reference, the stop reason."""
    _, res = norris
    assert f"{res.intercept:.10g}" in page
    assert f"{float(res.coef[0]):.10g}" in page
    assert f"{res.reference.intercept:.10g}" in page
    assert f"{res.loss:.10g}" in page and f"{res.loss_gap:.3g}" in page
    assert "stop reason: converged" in page
    assert res.message.replace("≤", "≤") in page
    assert f"{res.advice.stability_limit:.6g}" in page
    assert "36 rows" in page and "NIST StRD Norris" in page


def test_text_is_escaped(norris):
    """Titles and labels cannot inject markup."""
    d, res = norris
    text = report_html(
        res, d.X, d.y, title="<script>alert(1)</script>", data_label="a & b", figures=False
    )
    assert "<script>" not in text and "&lt;script&gt;" in text and "a &amp; b" in text
    assert "<img" not in text
    parse(text)


def test_report_of_a_plain_objective(tmp_path):
    """A minimize() result without data or model still gets a report, its contour included."""

    class Bowl(Objective):
        n_params = 2

        def value_and_grad(self, theta):
            return float(theta @ theta), 2 * theta

    res = ds.minimize(Bowl(), np.array([1.0, -2.0]), learning_rate=0.2, max_steps=30)
    text = write_report(res, None, None, tmp_path / "bowl.html", dpi=30).read_text()
    checker = parse(text)
    assert len(checker.urls) == 3  # loss, steps, contour: no data, no fit figure
    assert re.search(r"stop reason: (converged|max_steps)", text)


def test_cli_report(tmp_path, capsys):
    """`descend fit --report run.html` writes the page and says so."""
    out = tmp_path / "run.html"
    assert main(["fit", "--max-iter", "100", "--report", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    parse(text)
    assert "stop reason: max_steps" in text and "https://" not in text


def test_a_validation_run_reports_its_held_out_loss(rng):
    """With a validation split the report gives the last and the lowest held-out loss (the
    history's own numbers) and says the loss figure shows both curves."""
    x = np.sort(rng.uniform(-1, 1, 40))
    y = np.sin(3 * x) + 0.3 * rng.normal(size=40)
    res = ds.fit(x, y, model="poly:8", validation_fraction=0.3, learning_rate="auto",
                 max_steps=300)  # fmt: skip
    page = report_html(res, figures=True)
    val = np.asarray(res.history.val_loss)
    assert "validation loss (last check)" in page
    assert f"validation loss (lowest, check {int(np.argmin(val))})" in page
    assert "the held-out loss beside it" in page
    assert 'id="fig-loss"' in page
