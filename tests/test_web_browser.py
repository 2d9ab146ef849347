"""The playground in a real browser: Debian's Chromium, headless, driven by Playwright.

Screenshots of each state go to $DESCEND_ARTIFACTS (or the test's tmp_path); with
DESCEND_UPDATE_FIGURES=1 they are also written to docs/figures/playground-*.png.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from _ci import skip_or_fail

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BAD_CSV = b"x,y\n1,2\n2,abc\n3,6\n"


def _requirements() -> None:
    if not os.path.exists(CHROMIUM):
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("playwright (Python) is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(*args: str):
    """Run ``python args… PORT`` (a playground server) on a free 127.0.0.1 port; yield its URL."""
    _requirements()
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen(
        [sys.executable, *args, str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"the playground server exited early:\n{out}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("the playground server did not start listening within 20 s")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def server():
    """`descend serve` in a subprocess on a free 127.0.0.1 port."""
    yield from _serve("-m", "descend", "serve", "--port")


#: a server whose control table has one more entry, the stopping rule's patience
PATIENT_SERVER = """
import sys
from descend.shells.web import controls, serve
patience = controls.Control("patience", "Patience (steps)", "integer", 7, minimum=1, maximum=1000)
controls.CONTROLS = (*controls.CONTROLS, patience)
serve(port=int(sys.argv[1]))
"""


@pytest.fixture(scope="module")
def patient_server():
    """A playground whose table gained a control, and nothing else changed."""
    yield from _serve("-c", PATIENT_SERVER)


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium with a fresh profile directory."""
    _requirements()
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="descend-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def _open(browser, url):
    pg = browser.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(url + "/")
    pg.wait_for_function("window.playground && window.playground.run !== null")
    pg.wait_for_function("window.playground.contour !== null")
    yield pg
    pg.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def page(browser, server):
    yield from _open(browser, server)


@pytest.fixture
def patient_page(browser, patient_server):
    yield from _open(browser, patient_server)


@pytest.fixture
def shoot(tmp_path):
    out = Path(os.environ.get("DESCEND_ARTIFACTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    figures = ROOT / "docs" / "figures"

    def save(pg, name: str) -> Path:
        path = out / f"playground-{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        if os.environ.get("DESCEND_UPDATE_FIGURES") == "1":
            figures.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, figures / path.name)
        return path

    return save


def steps(pg) -> int:
    return int(pg.inner_text("#step-count"))


def test_run_loss_falls_and_path_is_drawn(page, shoot):
    """Run on the default dataset at the lesson's rate: the loss falls, the path grows."""
    assert page.input_value("#lr") == "0.01"  # where the lesson, the CLI and ds.fit start
    page.select_option("#speed", "50")
    page.click("#run")
    page.wait_for_function("Number(document.getElementById('step-count').textContent) >= 200")
    page.click("#pause")
    page.wait_for_function("document.getElementById('plot-loss').data[0].y.length >= 40")
    page.wait_for_function("document.getElementById('plot-contour').data[1].x.length >= 40")
    loss = page.evaluate("document.getElementById('plot-loss').data[0].y")
    assert len(loss) >= 40 and loss[-1] < loss[0] / 100
    path_x = page.evaluate("document.getElementById('plot-contour').data[1].x")
    assert len(path_x) >= 40
    z = page.evaluate("document.getElementById('plot-contour').data[0].z")
    assert len(z) == 40
    assert page.is_hidden("#banner-diverged")
    assert "stability limit" in page.inner_text("#advice")
    page.wait_for_function("window.playground.flushTimer === null")
    shoot(page, "run")


def test_learning_rate_changes_mid_run(page, shoot):
    """A new rate while running takes effect without resetting the step count."""
    page.fill("#lr", "0.005")
    page.dispatch_event("#lr", "change")
    page.select_option("#speed", "50")
    page.click("#run")
    page.wait_for_function("Number(document.getElementById('step-count').textContent) >= 20")
    before = steps(page)
    page.fill("#lr", "0.2")
    page.dispatch_event("#lr", "change")
    page.wait_for_function("document.getElementById('lr-now').textContent.startsWith('0.2')")
    page.wait_for_function(
        f"Number(document.getElementById('step-count').textContent) >= {before + 15}"
    )
    page.click("#pause")
    lr = page.evaluate("window.playground.run.status.learning_rate")
    assert lr == 0.2
    page.wait_for_function(
        f"document.getElementById('plot-loss').data[0].x.length >= {before + 15}"
    )
    losses = page.evaluate("document.getElementById('plot-loss').data[0].x")
    assert losses[0] == 0 and len(losses) >= before + 15  # one run, not restarted
    assert "lr 0.2" in page.inner_text("#plot-loss")
    page.wait_for_function("window.playground.flushTimer === null")
    shoot(page, "lr-change")


def test_divergence_shows_the_banner(page, shoot):
    """Above the stability limit the run diverges and the banner says why."""
    page.fill("#lr", "1.5")
    page.dispatch_event("#lr", "change")
    page.click("#run")
    page.wait_for_selector("#banner-diverged", state="visible")
    text = page.inner_text("#banner-diverged")
    assert "diverged" in text and "stability limit" in text
    assert "will diverge" in page.inner_text("#advice")
    page.wait_for_function(
        "!window.playground.contourPending && window.playground.flushTimer === null"
    )
    shoot(page, "diverged")
    page.fill("#lr", "0.5")  # a good rate lifts the stop and the banner, without a reset
    page.dispatch_event("#lr", "change")
    page.wait_for_selector("#banner-diverged", state="hidden")


def test_auto_rate_is_the_library_s(page):
    """The "auto" button starts a run at the rate ds.fit(..., learning_rate="auto") chooses."""
    import descend as ds

    d = ds.datasets.load("norris")
    expected = ds.fit(d.X, d.y, learning_rate="auto", max_steps=1).settings["learning_rate"]
    page.select_option("#optimizer", "gd")
    page.click("#lr-auto")
    page.wait_for_function(
        f"window.playground.run && window.playground.run.settings.learning_rate === {expected}"
    )
    assert float(page.input_value("#lr")) == pytest.approx(expected, rel=1e-3)


def test_malformed_upload_shows_the_error(page, shoot):
    """A CSV with a non-numeric cell is refused with the data module's message."""
    page.select_option("#data-source", "upload")
    page.set_input_files(
        "#upload", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD_CSV}]
    )
    page.wait_for_selector("#banner-error", state="visible")
    text = page.inner_text("#banner-error")
    assert "'bad.csv'" in text and "'abc', which is not a number" in text and "line 3" in text
    shoot(page, "upload-error")


def test_synthetic_polynomial_with_outliers(page, shoot):
    """Generated polynomial data with outliers, fitted with the Huber loss."""
    page.select_option("#data-source", "synthetic")
    page.select_option("#syn-kind", "poly")
    page.fill("#syn-outliers", "0.08")
    page.select_option("#loss", "huber")
    page.click("#generate")
    page.wait_for_function("window.playground.run && window.playground.run.model === 'poly:3'")
    page.wait_for_function("window.playground.run.loss.startsWith('huber')")
    page.fill("#lr", "0.3")
    page.dispatch_event("#lr", "change")
    page.wait_for_function("window.playground.ws && window.playground.ws.readyState === 1")
    page.select_option("#speed", "1000")
    page.click("#run")
    page.wait_for_function(
        "window.playground.run.status.k >= 300 || window.playground.run.status.stop_reason"
    )
    page.click("#pause")
    page.wait_for_function(
        "!window.playground.contourPending && window.playground.flushTimer === null"
    )
    assert "synthetic" in page.inner_text("#data-title")
    shoot(page, "synthetic")


RENDERED = """els => els.map((e) => ({
  name: e.dataset.control, id: e.id, tag: e.tagName, value: e.value,
  options: e.tagName === "SELECT" ? [...e.options].map((o) => o.value) : null,
  label: e.closest(".control").querySelector(".label-text").textContent,
  fieldset: e.closest("fieldset").querySelector("legend").textContent,
}))"""


def test_rendered_inputs_match_the_table(page):
    """One input per control of shells/web/controls.py, in order, in the Descent fieldset, with
    the table's label and default; the first run was made with every default."""
    from descend.shells.web.controls import CONTROLS

    rendered = page.eval_on_selector_all("[data-control]", RENDERED)
    assert [r["name"] for r in rendered] == [c.name for c in CONTROLS]
    for r, c in zip(rendered, CONTROLS, strict=True):
        assert (r["id"], r["label"], r["fieldset"]) == (c.id, c.label, "Descent"), c.name
        assert page.locator(f"#{c.id}").count() == 1
        if c.kind == "choice":
            assert r["tag"] == "SELECT" and r["value"] == (c.default or "")
            assert c.options is not None
            values = [o["value"] for o in c.options()]
            assert r["options"] == ([""] if c.optional else []) + values
        elif c.default is None:
            assert r["tag"] == "INPUT" and r["value"] == ""
        else:
            assert r["tag"] == "INPUT" and float(r["value"]) == pytest.approx(c.default)
    assert page.input_value("#lr-slider") == "-2"  # log10 of the table's 0.01
    settings = page.evaluate("window.playground.run.settings")
    assert {c.name: settings[c.name] for c in CONTROLS} == {c.name: c.default for c in CONTROLS}


def test_a_new_control_needs_no_page_edit(patient_page):
    """An entry added to the table only: the page shows its input and sends its value."""
    pg = patient_page
    assert pg.input_value("#patience") == "7"
    assert pg.get_attribute("#patience", "min") == "1"
    assert pg.get_attribute("#patience", "max") == "1000"
    assert pg.evaluate("window.playground.run.settings.patience") == 7
    pg.fill("#patience", "3")
    pg.dispatch_event("#patience", "change")
    pg.wait_for_function("window.playground.run.settings.patience === 3")


# -- page defects found by the attack (issue 18) ------------------------------------------------
def test_theta_now_is_one_marker_and_the_path_is_capped(page):
    """The θ-now ring stays one point while running; the drawn path keeps ≤ 20,000 points."""
    page.select_option("#speed", "200")
    page.click("#run")
    page.wait_for_function("Number(document.getElementById('step-count').textContent) >= 300")
    page.click("#pause")
    page.wait_for_function("window.playground.flushTimer === null")
    traces = page.evaluate(
        "document.getElementById('plot-contour').data.map(t => (t.x || []).length)"
    )
    assert len(traces) == 4 and traces[3] == 1 and traces[1] >= 40
    # 25,000 more path points in one flush, as a long fast run sends them
    n = page.evaluate(
        """() => {
        const s = window.playground, c = s.contour;
        s.pending.pair = [c.i, c.j];
        for (let k = 0; k < 25000; k++) { s.pending.px.push(c.a[0]); s.pending.py.push(c.b[0]); }
        flush();
        return document.getElementById('plot-contour').data[1].x.length;
    }"""
    )
    assert n == 20000
    assert page.evaluate("document.getElementById('plot-contour').data[3].x.length") == 1


def test_after_a_divergence_the_status_shows_the_loss_at_the_rolled_back_theta(page):
    """The status bar's loss is the loss where θ now is, not the 10²⁴ that tripped the guard."""
    page.fill("#lr", "1.5")
    page.dispatch_event("#lr", "change")
    page.click("#run")
    page.wait_for_selector("#banner-diverged", state="visible")
    page.wait_for_function("window.playground.flushTimer === null")
    status = page.evaluate("window.playground.run.status")
    assert status["loss"] < status["loss_at_divergence"]
    shown = float(page.inner_text("#loss-value"))
    assert shown == pytest.approx(status["loss"], rel=1e-3)
    # the same number from the curve drawn at that θ: its own loss, recomputed here
    import numpy as np

    import descend as ds

    d = ds.datasets.load("norris")
    fit = page.evaluate("document.getElementById('plot-data').data[1]")
    yhat = np.interp(d.X[:, 0], fit["x"], fit["y"])
    mse = float(np.mean((yhat - d.y) ** 2))
    assert shown == pytest.approx(mse, rel=0.05) or shown == pytest.approx(mse / 2, rel=0.05)


HTML_CSV = b"<b>size</b>,<a href='x'>price</a>\n1,2.1\n2,3.9\n3,6.2\n4,7.8\n5,10.1\n"


def test_column_names_are_text_in_plots_and_contour_axes_say_standardised(page):
    """Plotly would render <b>/<a> in titles: names are escaped; the contour says its units."""
    page.select_option("#data-source", "upload")
    page.set_input_files(
        "#upload", files=[{"name": "h.csv", "mimeType": "text/csv", "buffer": HTML_CSV}]
    )
    page.wait_for_function(
        "window.playground.run && window.playground.run.data.target_name.startsWith('<a')"
    )
    page.wait_for_function(
        "window.playground.contour !== null && !window.playground.contourPending"
    )
    x_title = page.evaluate("document.querySelector('#plot-data .xtitle').textContent")
    y_title = page.evaluate("document.querySelector('#plot-data .ytitle').textContent")
    assert x_title == "<b>size</b>" and y_title == "<a href='x'>price</a>"
    assert page.evaluate("document.querySelectorAll('#plot-data a').length") == 0
    cx = page.evaluate("document.querySelector('#plot-contour .xtitle').textContent")
    assert cx.endswith("(standardised coordinates)")


def test_longley_surface_has_theta_star_at_its_lowest_point(page):
    """On Longley (7 parameters) the drawn surface is the profile: θ* sits in the lowest
    colours, inside the axes, and the caption says what the colours are."""
    page.select_option("#dataset", "longley")
    page.wait_for_function(
        "window.playground.run && window.playground.run.n_params === 7"
        " && window.playground.contour !== null && !window.playground.contourPending"
    )
    assert page.inner_text("#surface-note").startswith(
        "Colours: log₁₀ L with the other parameters at their best"
    )
    star = page.evaluate("document.getElementById('plot-contour').data[2]")
    c = page.evaluate("window.playground.contour")
    x, y = star["x"][0], star["y"][0]
    assert c["a"][0] <= x <= c["a"][-1] and c["b"][0] <= y <= c["b"][-1]
    col = min(range(len(c["a"])), key=lambda k: abs(c["a"][k] - x))
    row = min(range(len(c["b"])), key=lambda k: abs(c["b"][k] - y))
    flat = [v for r in c["z"] for v in r if v is not None]
    at_star = c["z"][row][col]
    assert sum(v < at_star for v in flat) <= 0.01 * len(flat)


def test_a_network_run_draws_its_sharpness_and_the_edge(page):
    """An MLP run shows the sharpness card: λ_max every 10 steps beside the dashed 2/η."""
    assert page.is_hidden("#card-sharpness")  # the default linear run has none
    page.select_option("#model-kind", "mlp")
    page.fill("#model-layers", "6")
    page.dispatch_event("#model-layers", "change")
    page.wait_for_function("!document.getElementById('card-sharpness').hidden")
    page.click("#lr-auto")  # Norris's y reaches 10³: the curvature's rate, not the lesson's 0.01
    page.wait_for_function("Number(document.getElementById('lr').value) < 0.001")
    page.select_option("#speed", "50")
    page.click("#run")
    page.wait_for_function("Number(document.getElementById('step-count').textContent) >= 100")
    page.click("#pause")
    page.wait_for_function("document.getElementById('plot-sharpness').data[0].y.length >= 5")
    lam = page.evaluate("document.getElementById('plot-sharpness').data[0].y")
    edge = page.evaluate("document.getElementById('plot-sharpness').data[1].y")
    lr = float(page.input_value("#lr"))
    assert all(v > 0 for v in lam) and edge[0] == pytest.approx(2 / lr, rel=1e-3)


def test_two_moons_draw_the_decision_boundary_and_the_validation_curve(page, shoot):
    """Two moons (synthetic): the page switches to the log loss, draws the classes and the
    decision boundary (the logit's 0 contour) over them, and — with a validation split — the
    held-out loss as a second, dashed curve on the loss plot; both follow the run."""
    page.select_option("#data-source", "synthetic")
    page.select_option("#syn-kind", "moons")
    assert page.input_value("#loss") == "logloss"
    page.fill("#validation-fraction", "0.2")
    page.locator("#validation-fraction").blur()  # the native change: a new run, once
    page.wait_for_function(
        "window.playground.run && window.playground.run.fit.kind === 'boundary'"
        " && window.playground.run.settings.validation_fraction === 0.2"
    )
    data = page.evaluate(
        "document.getElementById('plot-data').data.map((t) => ({type: t.type, name: t.name,"
        " start: t.contours && t.contours.start, end: t.contours && t.contours.end,"
        " coloring: t.contours && t.contours.coloring, n: (t.z || t.x).length}))"
    )
    assert [t["name"] for t in data] == ["class 0", "class 1", "decision boundary"]
    boundary = data[2]
    assert boundary["type"] == "contour" and boundary["coloring"] == "lines"
    assert boundary["start"] == boundary["end"] == 0 and boundary["n"] == 60
    assert data[0]["n"] + data[1]["n"] == page.evaluate("window.playground.run.data.n_rows")
    z0 = page.evaluate("document.getElementById('plot-data').data[2].z[30][30]")
    loss = page.evaluate("document.getElementById('plot-loss').data.map((t) => t.name)")
    assert loss == ["training", "validation"] and page.is_visible("#loss-legend")
    page.wait_for_function("window.playground.ws && window.playground.ws.readyState === 1")
    page.select_option("#speed", "200")  # the lesson's rate 0.01: slow, so still going at 50
    page.click("#run")
    page.wait_for_function("Number(document.getElementById('step-count').textContent) >= 50")
    page.click("#pause")
    page.wait_for_function("document.getElementById('plot-loss').data[1].x.length >= 50")
    z1 = page.evaluate("document.getElementById('plot-data').data[2].z[30][30]")
    assert z1 != z0  # the boundary moved with θ
    page.fill("#lr", "3")  # below the stability limit (≈ 5.7 here): on to the optimum
    page.dispatch_event("#lr", "change")
    page.wait_for_function("window.playground.run.status.learning_rate === 3")
    page.click("#run")
    page.wait_for_function(
        "window.playground.run.status.k >= 400 || window.playground.run.status.stop_reason"
    )
    page.click("#pause")
    page.wait_for_function(
        "!window.playground.contourPending && window.playground.flushTimer === null"
    )
    shoot(page, "classification")
