"""Webhook ingress: routes from the database, verify tokens, `_webhook`, limits, headers."""

import pytest
from rest_framework.test import APIClient

from tests.e2e.helpers import activate, wait_terminal
from tests.factories import guide_workflow, make_provider_config, with_webhook
from tests.support.stub_server import StubResponse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hook(stub_server, client_api):
    stub_server.on("POST", "/score-transaction", StubResponse(200, {"score": 10}))
    provider = make_provider_config(base_url=stub_server.url)
    body = with_webhook(
        guide_workflow(provider.pk), path="payments/received", verify_token="my-secret-token"
    )
    return activate(client_api, body)


def test_guide_webhook_example_runs_with_its_token_and_no_api_key(
    worker, hook, stub_server, client_api
):
    caller = APIClient()
    response = caller.post(
        "/v1/webhooks/payments/received?source=psp&source=bank",
        b'{ "transactionId": "txn-123", "amount": 1500.00 }',
        content_type="application/json",
        HTTP_X_WEBHOOK_TOKEN="my-secret-token",
        HTTP_X_TRACE_ID="trace-7",
        HTTP_AUTHORIZATION="Bearer should-not-leak",
    )
    assert response.status_code == 201, response.content
    execution_id = response.json()["executionId"]
    assert response["X-Webhook-Workflow-ID"] == hook
    assert response["X-Webhook-Execution-ID"] == execution_id
    results = wait_terminal(client_api, execution_id)
    assert results["status"] == "completed"
    # The provider gets the body without `_webhook`.
    [call] = stub_server.requests("POST", "/score-transaction")
    assert set(call.body) == {"transactionId", "amount"}
    from executions.models import Execution

    meta = Execution.objects.get(pk=execution_id).input_data["_webhook"]
    assert meta["method"] == "POST" and meta["path"] == "payments/received"
    assert meta["query"] == {"source": "bank"}
    assert meta["headers"]["X-Trace-Id"] == "trace-7"
    assert meta["headers"]["Content-Type"] == "application/json"
    assert not {"Authorization", "X-Webhook-Token", "X-Api-Key"} & set(meta["headers"])
    assert meta["remote_ip"] == "127.0.0.1"
    from flowker.audit.models import AuditEvent

    started = AuditEvent.objects.get(event_type="EXECUTION_STARTED", resource_id=execution_id)
    assert (started.actor_type, started.actor_id) == ("webhook", "POST /payments/received")


@pytest.mark.parametrize("token", [None, "wrong-token", "my-secret-token-and-more"])
def test_wrong_or_missing_token_is_401_flk_0362(hook, token, client_api):
    headers = {"HTTP_X_WEBHOOK_TOKEN": token} if token else {}
    response = client_api.post("/v1/webhooks/payments/received", {}, format="json", **headers)
    assert response.status_code == 401
    assert response.json()["code"] == "FLK-0362"


def test_unknown_route_is_404_for_a_key_holder_and_401_for_others(hook, client_api):
    assert client_api.post("/v1/webhooks/nope", {}, format="json").json()["code"] == "FLK-0361"
    assert client_api.get("/v1/webhooks/payments/received").json()["code"] == "FLK-0361"
    anonymous = APIClient().post("/v1/webhooks/nope", {}, format="json")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHORIZED"


def test_route_without_token_needs_an_api_key(worker, stub_server, client_api):
    stub_server.on("POST", "/score-transaction", StubResponse(200, {"score": 10}))
    provider = make_provider_config(base_url=stub_server.url)
    activate(client_api, with_webhook(guide_workflow(provider.pk), path="open/hook"))
    anonymous = APIClient().post("/v1/webhooks/open/hook", {}, format="json")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHORIZED"
    response = client_api.post("/v1/webhooks/open/hook/", {"amount": 3}, format="json")
    assert response.status_code == 201
    wait_terminal(client_api, response.json()["executionId"])


def test_body_over_1_mib_is_413_flk_0363_before_anything_else(hook):
    big = b'{"x": "' + b"a" * (1024 * 1024) + b'"}'
    response = APIClient().post(
        "/v1/webhooks/payments/received", big, content_type="application/json"
    )
    assert response.status_code == 413 and response.json()["code"] == "FLK-0363"


def _nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[1, 2]", "application/json"),
        (b"{oops", "application/json"),
        (b"a=b", "text/plain"),
        (_nested(65), "application/json"),
        (_nested(990), "application/json"),
        (b'{"amount": NaN}', "application/json"),
        (b'{"amount": -Infinity}', "application/json"),
    ],
    ids=["array", "malformed", "form", "65-levels", "990-levels", "NaN", "-Infinity"],
)
def test_body_must_be_a_json_object(hook, body, content_type):
    response = APIClient().post(
        "/v1/webhooks/payments/received", body, content_type=content_type,
        HTTP_X_WEBHOOK_TOKEN="my-secret-token",
    )  # fmt: skip
    assert response.status_code == 400 and response.json()["code"] == "FLK-0001"


def test_a_body_nested_64_levels_is_accepted(hook):
    response = APIClient().post(
        "/v1/webhooks/payments/received", _nested(64), content_type="application/json",
        HTTP_X_WEBHOOK_TOKEN="my-secret-token",
    )  # fmt: skip
    assert response.status_code == 201, response.content


def test_deactivated_workflow_unregisters_its_route(hook, client_api):
    client_api.post(f"/v1/workflows/{hook}/deactivate")
    response = client_api.post("/v1/webhooks/payments/received", {}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "FLK-0361"
