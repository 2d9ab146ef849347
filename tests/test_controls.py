"""The playground's control table (shells/web/controls.py): one entry makes a page control —
the API field and its validation, the options the page renders, and the keyword passed on."""

import inspect

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from descend.descent.session import Session  # noqa: E402
from descend.problems.build import build_problem  # noqa: E402
from descend.shells.web import Limits, create_app  # noqa: E402
from descend.shells.web import controls as controls_module  # noqa: E402
from descend.shells.web.app import RunIn, run_model  # noqa: E402
from descend.shells.web.controls import CONTROLS, Control  # noqa: E402


def local(app):
    """A client addressed to 127.0.0.1 that carries the page's token (as the page does)."""
    return TestClient(
        app, base_url="http://127.0.0.1", headers={"X-Descend-Token": app.state.token}
    )


RECEIVERS = {"session": Session.__init__, "problem": build_problem}

#: a hypothetical new control: the stopping rule's patience, passed to Session by name
PATIENCE = Control(
    "patience",
    "Patience (steps)",
    "integer",
    7,
    help="steps in a row with a relative loss change ≤ tol before stopping",
    minimum=1,
    maximum=1000,
)
#: and a page-only choice (passed to nobody), with a blank option
SHADE = Control(
    "shade",
    "Shade",
    "choice",
    None,
    options=lambda: [{"value": "light", "label": "light"}, {"value": "dark", "label": "dark"}],
    blank="default",
    to=(),
)


@pytest.fixture
def added(monkeypatch):
    """The table with the two hypothetical controls appended (the app built after)."""
    monkeypatch.setattr(controls_module, "CONTROLS", (*CONTROLS, PATIENCE, SHADE))
    with local(create_app()) as c:
        yield c


def served(client):
    return {c["name"]: c for c in client.get("/api/options").json()["controls"]}


# -- the table ---------------------------------------------------------------------------------
def test_the_table_is_the_page_s_descent_settings():
    """Learning rate, schedule, batch size, seed, max steps, tol, the penalty (α, l1_ratio) and
    the validation split, with the API's defaults."""
    assert [c.name for c in CONTROLS] == [
        "learning_rate",
        "schedule",
        "batch_size",
        "seed",
        "max_steps",
        "tol",
        "penalty",
        "alpha",
        "l1_ratio",
        "validation_fraction",
    ]
    assert RunIn().model_dump(include={c.name for c in CONTROLS}) == {
        c.name: c.default for c in CONTROLS
    }
    assert controls_module.get("learning_rate").default == 0.01
    ids = [c.id for c in CONTROLS]
    assert len(set(ids)) == len(ids) and "lr" in ids and "max-steps" in ids


@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: c.name)
def test_every_control_is_a_keyword_of_its_receivers(control):
    """``name`` is the keyword build_problem / Session take, so it is passed on by name."""
    for target in control.to:
        assert control.name in inspect.signature(RECEIVERS[target]).parameters, target


def test_bad_entries_are_refused():
    """A malformed entry fails when the table is made, not when a page uses it."""
    with pytest.raises(ValueError, match="needs options"):
        Control("colour", "Colour", "choice", None)
    with pytest.raises(ValueError, match="unknown kind"):
        Control("colour", "Colour", "colour", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a field of Limits"):
        Control("steps", "Steps", "integer", 1, cap="max_stepz")
    with pytest.raises(ValueError, match="identifier"):
        Control("max-steps", "Max steps", "integer", 1)
    with pytest.raises(ValueError, match="unknown target"):
        Control("seed", "Seed", "integer", 0, to=("optimizer",))


def test_options_serve_the_table_with_caps_resolved():
    """The page receives every control in order; a cap from Limits tightens ``max``."""
    with local(create_app(Limits(max_steps=500))) as c:
        got = c.get("/api/options").json()["controls"]
    assert [g["name"] for g in got] == [c.name for c in CONTROLS]
    by_name = {g["name"]: g for g in got}
    assert by_name["max_steps"]["max"] == 500 and by_name["max_steps"]["step"] == "1"
    lr = by_name["learning_rate"]
    assert lr["default"] == 0.01 and lr["auto"] and lr["custom"] and lr["id"] == "lr"
    sched = by_name["schedule"]
    assert sched["kind"] == "choice" and sched["optional"] and sched["blank"] == "constant"
    assert "cosine" in [o["value"] for o in sched["options"]]
    assert by_name["batch_size"]["placeholder"] == "full batch"


def test_learning_rate_validation_comes_from_the_table():
    """A number in (0, 1e6] or "auto", with one message; the mid-run change has the same bounds."""
    with local(create_app()) as c:
        for bad in (-1, 0, 2e6, "fast", True):
            r = c.post("/api/runs", json={"learning_rate": bad})
            assert r.status_code == 422, bad
            assert r.json()["detail"].startswith("invalid request: learning_rate: must be a number")
        assert c.post("/api/runs", json={"learning_rate": "auto"}).status_code == 201
        rid = c.post("/api/runs", json={}).json()["id"]
        r = c.post(f"/api/runs/{rid}/learning-rate", json={"learning_rate": 2e6})
        assert r.status_code == 422 and "less than or equal to 1000000" in r.json()["detail"]


# -- a new control is one entry -----------------------------------------------------------------
def test_an_added_control_is_served(added):
    """The page receives the new entries: kind, default, bounds, help, options."""
    got = served(added)
    assert list(got)[-2:] == ["patience", "shade"]
    p = got["patience"]
    assert (p["kind"], p["default"], p["min"], p["max"], p["id"]) == (
        "integer",
        7,
        1,
        1000,
        "patience",
    )
    assert p["label"] == "Patience (steps)" and "loss change" in p["help"]
    s = got["shade"]
    assert s["optional"] and s["blank"] == "default"
    assert [o["value"] for o in s["options"]] == ["light", "dark"]


def test_an_added_control_is_accepted_and_passed_on(added):
    """The API takes it, defaults it, and Session receives it by name; a page-only choice goes
    nowhere but is reported back."""
    manager = added.app.state.manager
    r = added.post("/api/runs", json={"patience": 3, "shade": "dark"})
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["settings"]["patience"] == 3 and run["settings"]["shade"] == "dark"
    assert manager.get(run["id"]).session.patience == 3
    run = added.post("/api/runs", json={"shade": ""}).json()  # blank option: null
    assert run["settings"]["patience"] == 7 and run["settings"]["shade"] is None
    assert manager.get(run["id"]).session.patience == 7


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"patience": 0}, "patience: Input should be greater than or equal to 1"),
        ({"patience": 5000}, "patience: Input should be less than or equal to 1000"),
        ({"patience": 2.5}, "patience: Input should be a valid integer"),
        ({"patience": "soon"}, "patience: Input should be a valid integer"),
        ({"shade": "x" * 100}, "shade: String should have at most"),
        ({"patiense": 3}, "patiense: Extra inputs are not permitted"),
    ],
)
def test_an_added_control_is_validated(added, body, needle):
    """Out of bounds, the wrong type, a misspelt name: 422 naming the field."""
    r = added.post("/api/runs", json=body)
    assert r.status_code == 422 and needle in r.json()["detail"], r.text


def test_without_the_entry_the_field_is_unknown():
    """The stock table has no such control: the API refuses it as an extra input."""
    with local(create_app()) as c:
        r = c.post("/api/runs", json={"patience": 3})
    assert r.status_code == 422 and "patience: Extra inputs are not permitted" in r.json()["detail"]
    assert "patience" not in run_model().model_fields
    assert "patience" in run_model((*CONTROLS, PATIENCE)).model_fields
