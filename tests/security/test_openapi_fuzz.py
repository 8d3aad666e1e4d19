"""The API against its own OpenAPI document: schemathesis generates requests for every
operation (with a valid API key), valid ones and invalid ones, and checks that none answers
500, that every response — status code, content type, headers, body — is one the document
declares, that invalid requests are refused and valid ones accepted.

schemathesis's pytest plugin does not load under this pytest, so the operations are driven
through its Python API: one hypothesis run per operation and generation mode, every failure
collected and reported together."""

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from flowker.actors import Actor
from flowker.apikeys.services import api_key_create

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 6}

# Refusals of schema-valid requests by rules a JSON Schema cannot state, so the "valid data
# is accepted" check does not apply to them: (FLK code, start of the message) → why.
SEMANTIC_REFUSALS = {
    ("FLK-0304", "invalid cursor"): "a cursor is opaque: only one the server issued decodes",
    ("FLK-0308", "dateFrom must be before dateTo"): "an order between two parameters",
    ("FLK-0302", "startTime must be before endTime"): "an order between two parameters",
    ("FLK-0302", "the window holds more than"): "a bucket count derived from three parameters",
    (None, "workflow definition is invalid"): (
        "graph rules: unique node ids, edges between existing nodes, node data by node type"
    ),
    (None, "is not a valid path"): "the path syntax of mapping sources and targets",
    (None, "invalid path"): "the path syntax of mapping sources and targets",
    (None, ".transformation.config"): "the config each transformation type needs",
}


def _semantic_refusal(response) -> bool:
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    code, message = body.get("code"), str(body.get("message", ""))
    fields = body.get("fields") or {}
    reasons = [message, *fields, *map(str, fields.values())]
    return any(
        c in (None, code) and any(m in reason for reason in reasons) for c, m in SEMANTIC_REFUSALS
    )


def valid_data_is_accepted(ctx, response, case):
    """schemathesis's positive_data_acceptance, less the refusals listed above."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except Failure:
        if _semantic_refusal(response):
            return None
        raise


def never_a_500(ctx, response, case):
    """5xx other than 500 (503 for an unavailable dependency) are judged by the documented
    status codes instead; a 500 is always a bug."""
    if response.status_code == 500:
        raise AssertionError(f"500 from {case.operation.label}: {response.content[:500]!r}")


@pytest.fixture
def api_schema(transactional_db):
    from flowker.wsgi import application

    return schemathesis.openapi.from_wsgi("/v1/openapi.json", application)


@pytest.fixture
def key(transactional_db) -> str:
    return api_key_create(name="fuzz", actor=Actor.system())[1]


def _fuzz(operation, mode, headers) -> list[str]:
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case):
        try:
            case.call_and_validate(
                headers=headers,
                excluded_checks=[not_a_server_error, positive_data_acceptance],
                additional_checks=[never_a_500, valid_data_is_accepted],
            )
        except (AssertionError, FailureGroup) as exc:
            failures.append(f"{operation.label} ({mode.value}): {exc}")

    try:
        run()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE  # an operation without inputs has no invalid ones
    return failures


def test_every_operation_answers_as_documented(api_schema, key, settings):
    settings.FLOWKER_READYZ_WORKER_TIMEOUT = 0.05
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 50
    for operation in operations:
        for mode in EXAMPLES:
            failures += _fuzz(operation, mode, {"X-API-Key": key})
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures)
