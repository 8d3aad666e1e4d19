"""Hostile requests against the real routes: every write route (found from the URL resolver)
answers each hostile body with a clear 4xx in the FLK envelope, never a 500; huge headers,
bodies and webhook paths that try to climb out of /v1/webhooks/ likewise."""

import re

import pytest
from rest_framework.test import APIClient

from tests.e2e.helpers import activate
from tests.factories import guide_workflow, make_provider_config, with_webhook

pytestmark = pytest.mark.django_db

ANY_ID = "019c96a0-0ac0-7de9-9f53-9cf842a2ee5a"
DEEP = 10_000
HOSTILE_BODIES = {
    "malformed": b'{"name": "a",',
    "not an object": b"[1, 2, 3]",
    "nested 10000 deep": b'{"name": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "objects nested 10000 deep": b'{"a": ' * DEEP + b"1" + b"}" * DEEP,
    "10000-digit integer": b'{"name": "a", "inputData": {"n": ' + b"9" * 10_000 + b"}}",
    "10000-digit decimal": b'{"name": "a", "inputData": {"n": 0.' + b"1" * 10_000 + b"}}",
    "huge exponent": b'{"name": "a", "inputData": {"n": 1e999999999}}',
    "NaN": b'{"name": "a", "inputData": {"n": NaN}}',
    "Infinity": b'{"name": "a", "inputData": {"n": -Infinity}}',
    "lone surrogate in a value": b'{"name": "\\ud800", "inputData": {"x": "\\udfff"}}',
    "lone surrogate in a key": b'{"name": "a", "inputData": {"\\ud800": 1}}',
    "NUL characters": b'{"name": "a\\u0000b", "inputData": {"\\u0000": "\\u0000"}}',
    "invalid UTF-8": b'{"name": "\xff\xfe"}',
    "UTF-16 body": '{"name": "a"}'.encode("utf-16"),
    "SQL-looking strings": (
        b'{"name": "x\'; DROP TABLE workflows; --", "description": "1 OR 1=1",'
        b' "inputData": {"q": "\' UNION SELECT hash FROM audit_events --"}}'
    ),
    "10 MiB": b'{"name": "' + b"a" * (10 * 1024 * 1024) + b'"}',
}
# Well-formed, storable JSON: a route that takes any document (a webhook) may accept it.
MAY_BE_ACCEPTED = {"10000-digit decimal", "SQL-looking strings"}
CONTENT_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]


def _write_routes():
    """(route, method) of every operation whose OpenAPI description takes a request body:
    the document is generated from the URL resolver, so a new route is included."""
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    for route, operations in document["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and "requestBody" in operation:
                yield route, method


WRITE_ROUTES = sorted(set(_write_routes()))


@pytest.fixture
def resources(client_api):
    """Real ids for every kind of path parameter, so requests reach the body parser."""
    provider = make_provider_config()
    workflow_id = activate(client_api, with_webhook(guide_workflow(provider.pk)))
    return {"provider": str(provider.pk), "workflow": workflow_id}


def _concrete(route: str, resources) -> str:
    route = route.replace("{path}", "payments/received")
    if route.startswith("/v1/provider-configurations/"):
        return re.sub(r"{[^}]+}", resources["provider"], route)
    if route.startswith("/v1/workflows/"):
        return re.sub(r"{[^}]+}", resources["workflow"], route)
    if route.startswith("/v1/catalog/"):
        return route.replace("{executor_key}", "http").replace("{template_key}", "x")
    return re.sub(r"{[^}]+}", ANY_ID, route)


def _refused_clearly(response, what):
    assert 400 <= response.status_code < 500, (what, response.status_code, response.content[:300])
    body = response.json()
    assert set(body) >= {"code", "title", "message"}, (what, body)
    assert body["code"].startswith("FLK-") or body["code"] == "UNAUTHORIZED", (what, body)


def test_the_enumeration_finds_the_write_routes():
    assert len(WRITE_ROUTES) >= 12
    assert ("/v1/workflows/{workflow_id}/executions", "post") in WRITE_ROUTES
    assert ("/v1/webhooks/{path}", "post") in WRITE_ROUTES
    assert ("/v1/provider-configurations", "post") in WRITE_ROUTES


@pytest.mark.parametrize("label", sorted(HOSTILE_BODIES))
def test_every_write_route_refuses_a_hostile_body_clearly(client_api, resources, label):
    body = HOSTILE_BODIES[label]
    for route, method in WRITE_ROUTES:
        path = _concrete(route, resources)
        response = client_api.generic(method.upper(), path, body, content_type="application/json")
        if label in MAY_BE_ACCEPTED and response.status_code < 300:
            continue
        _refused_clearly(response, (label, method, path))
    if label == "SQL-looking strings":
        from workflows.models import Workflow

        assert Workflow.objects.filter(pk=resources["workflow"]).exists()


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_every_write_route_refuses_a_wrong_content_type(client_api, resources, content_type):
    for route, method in WRITE_ROUTES:
        path = _concrete(route, resources)
        response = client_api.generic(
            method.upper(), path, b'{"name": "a"}', content_type=content_type
        )
        _refused_clearly(response, (content_type, method, path))


@pytest.mark.parametrize(
    "header",
    ["HTTP_X_API_KEY", "HTTP_IDEMPOTENCY_KEY", "HTTP_PREFER", "HTTP_X_WEBHOOK_TOKEN", "HTTP_X_X"],
)
def test_a_64_kib_header_is_refused_or_ignored_never_a_500(client_api, resources, header):
    value = "k" * (64 * 1024)
    workflow = resources["workflow"]
    for method, path in [
        ("POST", f"/v1/workflows/{workflow}/executions"),
        ("POST", "/v1/webhooks/payments/received"),
        ("GET", "/v1/workflows"),
    ]:
        response = client_api.generic(
            method, path, b'{"inputData": {}}', content_type="application/json", **{header: value}
        )
        assert response.status_code != 500 and response.status_code < 500, (header, path)
        if response.status_code >= 400:
            _refused_clearly(response, (header, path))


@pytest.mark.parametrize(
    "path",
    [
        "/v1/webhooks/../workflows",
        "/v1/webhooks/%2e%2e/workflows",
        "/v1/webhooks/%2E%2E/%2E%2E/admin/",
        "/v1/webhooks/payments/../received",
        "/v1/webhooks/payments/%2e%2e/received",
        "/v1/webhooks//payments/received",
        "/v1/webhooks/payments//received",
        "/v1/webhooks/payments/received%00",
        "/v1/webhooks/./payments/received",
        "/v1/webhooks/%252e%252e/workflows",
        "/v1/webhooks/payments/received/..%5c..%5cworkflows",
        "/v1/webhooks/' OR '1'='1",
    ],
)
def test_webhook_paths_that_climb_or_double_up_reach_no_other_route(client_api, resources, path):
    for client in (client_api, APIClient()):
        response = client.post(path, {"x": 1}, format="json")
        assert response.status_code in (401, 404), (path, response.status_code, response.content)
        _refused_clearly(response, path)
        assert "X-Webhook-Execution-ID" not in response


def test_the_registered_webhook_still_answers(client_api, resources):
    response = client_api.post("/v1/webhooks/payments/received", {"x": 1}, format="json")
    assert response.status_code in (200, 201, 202), response.content
