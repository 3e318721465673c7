"""A bounded property-based run over every operation of the OpenAPI document (schemathesis,
20 examples each, derandomised): no input, however odd, gets a 5xx, and every response has a
status code, content type and body the spec documents for it."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support import AppFactory

from app.config import Settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_operation_answers_as_documented(app_factory: AppFactory, settings: Settings) -> None:
    """Once on SQLite and once on PostgreSQL (NUL characters and large integers once broke only one)."""
    client = app_factory(settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @examples(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; failures listed together
            failures[operation.label] = str(exc)[:600]
    assert operations >= 25
    assert not failures, f"{sorted(failures)}\n\n" + "\n\n".join(f"{k}: {v}" for k, v in failures.items())
