"""Schemathesis against the agency API's OpenAPI spec: generated requests never get a server error.

Bounded: a fixed number of examples per operation and generation mode (positive and negative),
in process (ASGI). Half of the generated assignment ids are replaced by one of the caller's own,
so the successful paths (201, 202, 409) are exercised as well as 404.

The cases are drawn with hypothesis directly from each operation's strategy: schemathesis's own
pytest integration (`from_fixture`) does not work with pytest 9 (it reads `node._nodeid`).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from config.intake import IntakeSettings
from intake.app import create_app
from tests.intake_helpers import TODAY, assignment_id, import_sample, token_for, use_intake

EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
OPERATIONS = [
    (method.upper(), path)
    for path, methods in create_app(settings=IntakeSettings(_env_file=None)).openapi()["paths"].items()
    for method in methods
]


@pytest.fixture
def api_setup(db, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The sample notice, a token for Hội Nông dân tỉnh, a generous rate limit, and the spec served by the app."""
    use_intake(
        monkeypatch,
        intake_api_burst="100000",
        intake_api_rate_per_minute="100000",
        intake_auth_failure_burst="100000",
        intake_auth_failures_per_minute="100000",
    )
    import_sample()
    token = token_for("HND_TINH", label="schemathesis")
    app = create_app(clock=lambda: TODAY, start_review=lambda parameters: ("run-id", "gia-han"))
    return {
        "schema": schemathesis.openapi.from_asgi("/api/openapi.json", app),
        "token": token,
        "own": [assignment_id("HND_TINH", n) for n in ("2.1", "2.3", "2.6")],
    }


def test_every_operation_of_the_spec_is_covered() -> None:
    assert len(OPERATIONS) == 5


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_generated_requests_never_get_a_server_error(
    api_setup: dict, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_setup["schema"][path][method]
    calls = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    def run(case) -> None:
        generated = (case.path_parameters or {}).get("assignment_id")
        if isinstance(generated, int) and generated % 2 == 0:
            case.path_parameters["assignment_id"] = api_setup["own"][generated % 3]
        response = case.call_and_validate(headers={"Authorization": f"Bearer {api_setup['token']}"}, checks=CHECKS)
        calls.append(response.status_code)

    run()
    assert calls and all(code < 500 for code in calls)
