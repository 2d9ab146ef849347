"""Property-based fuzzing of the playground's API against its own OpenAPI schema (Schemathesis).

Every operation gets generated requests (valid and invalid bodies, queries, paths) with the
page's Host and token; the checks: no 5xx, and every answer (status, content type, body)
conforms to the schema the app publishes.
"""

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, settings  # noqa: E402

from descend.shells.web import Limits, create_app  # noqa: E402

APP = create_app(Limits(max_runs=10_000, max_steps_per_request=50, max_grid=12), token="fuzz")
SCHEMA = schemathesis.openapi.from_dict(APP.openapi())
HEADERS = {"X-Descend-Token": "fuzz", "Host": "127.0.0.1"}
#: (operation, status) of every answer, for the test below
SEEN: list[tuple[str, int]] = []
#: the guard's answers (there should be none: every request carries the right Host and token)
GUARDED: list[str] = []


def live_run() -> str:
    """The id of a run that exists now (one is made when the last was deleted by the fuzzer)."""
    manager = APP.state.manager
    if not manager.runs:
        manager.create({})
    return next(iter(manager.runs))


@SCHEMA.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case):
    """No 5xx, no answer outside the schema (checks: not_a_server_error,
    status_code_conformance, content_type_conformance, response_schema_conformance)."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    if case.path_parameters and "run_id" in case.path_parameters and len(SEEN) % 3:
        # two cases in three address a run that exists (random ids only reach the 404)
        case.path_parameters["run_id"] = live_run()
    response = case.call(app=APP, base_url="http://127.0.0.1", headers=HEADERS)
    SEEN.append((case.operation.label, response.status_code))
    if response.status_code in (400, 403):
        text = response.text
        if "answers only to" in text or "X-Descend-Token" in text or "cross-site" in text:
            GUARDED.append(text)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


def test_the_fuzzer_reached_the_app():
    """The run above really got through the guard: runs were made, and refused too."""
    if not SEEN:
        pytest.skip("run with the fuzz test")
    statuses = {status for _, status in SEEN}
    assert 201 in statuses and 422 in statuses and 200 in statuses and not GUARDED
    assert all(status < 500 for status in statuses)
    counts = {status: sum(s == status for _, s in SEEN) for status in sorted(statuses)}
    print(
        f"fuzzed {len(SEEN)} requests over {len({op for op, _ in SEEN})} operations; "
        f"answers by status: {counts}"
    )
