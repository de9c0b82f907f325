"""Contract fuzzing: Schemathesis generates valid and invalid requests from `/v1/openapi.json` and checks that
the service never answers 5xx, always conforms to its own schema, and sends every error as problem+json.

This is the bounded run of `make test`; `make fuzz` runs the same with many more examples (docs/reliability.md).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.core.transport import Response

from tests.support.servers import epay_serve

pytestmark = pytest.mark.e2e
MAX_EXAMPLES = int(os.environ.get("EPAY_FUZZ_EXAMPLES", "25"))


@schemathesis.check
def errors_are_problem_json(ctx: object, response: Response, case: Case) -> bool:
    """Every 4xx/5xx of the JSON API is RFC 9457 problem details with a machine code."""
    if response.status_code < 400:
        return True
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), f"{response.status_code} sent as {content_type}"
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= body.keys(), body
    assert body["status"] == response.status_code
    return True


# Requests the schema cannot tell apart from good ones, refused for reasons only the data knows (api.md).
SEMANTIC_REFUSALS = {
    400: {"INVALID_CURSOR"},  # a well-shaped cursor the service did not mint
    422: {"MIXED_ISSUERS", "IDEMPOTENCY_KEY_REUSED"},
}


def _reversed_range(problem: dict) -> bool:
    """A range whose bounds are swapped (from > to, min > max): JSON Schema cannot compare two fields."""
    fields = {error["field"] for error in problem.get("errors", [])}
    return problem["code"] == "VALIDATION_ERROR" and fields == {"filters"}


ACCEPTED = range(200, 400)
ACCEPTED_REFUSALS = {404, 409, 429}


@schemathesis.check
def schema_valid_requests_are_accepted(ctx: object, response: Response, case: Case) -> bool:
    """A request the schema calls valid is served, or refused only for a reason the contract names."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return True
    status = response.status_code
    if status in ACCEPTED or status in ACCEPTED_REFUSALS or status >= 500:
        return True  # 5xx are not_a_server_error's to report
    problem = response.json()
    assert status in SEMANTIC_REFUSALS, f"schema-valid request refused with {status}: {response.text[:300]}"
    assert problem["code"] in SEMANTIC_REFUSALS[status] or _reversed_range(problem), response.text[:300]
    return True


@pytest.fixture(scope="module")
def api_schema():
    # Generous limits: the fuzzer sends hundreds of requests from one address within a minute.
    limits = {
        "EPAY_LOOKUP_LIMIT_PER_MINUTE": "100000",
        "EPAY_LOOKUP_MISSES_PER_HOUR": "100000",
        "EPAY_PAYMENT_LIMIT_PER_MINUTE": "100000",
        "EPAY_PAYMENT_MISSES_PER_HOUR": "100000",
    }
    with epay_serve("--demo", **limits) as base:
        schema = schemathesis.openapi.from_url(f"{base}/v1/openapi.json")
        schema.config.base_url = base
        yield schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_honours_the_contract(case: Case) -> None:
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])
