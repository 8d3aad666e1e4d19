"""Webhook ingress: routes from the database, verify tokens, `_webhook`, limits, headers."""

import json

import pytest
from rest_framework.test import APIClient

from tests.e2e.helpers import activate, wait_all_terminal, wait_terminal
from tests.factories import guide_workflow, make_provider_config, with_webhook
from tests.support.stub_server import StubResponse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hook(worker, stub_server, client_api):
    """The guide's workflow behind a token-checked route. The executions a test starts are
    run to their end before teardown flushes the tables under the worker."""
    stub_server.on("POST", "/score-transaction", StubResponse(200, {"score": 10}))
    provider = make_provider_config(base_url=stub_server.url)
    body = with_webhook(
        guide_workflow(provider.pk), path="payments/received", verify_token="my-secret-token"
    )
    yield activate(client_api, body)
    wait_all_terminal()


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


def test_webhook_query_is_stored_masked_by_the_header_rules(hook):
    response = APIClient().post(
        "/v1/webhooks/payments/received?access_token=tok-abcd-9876&apiKey=k-5555&page=2",
        {"amount": 1},
        format="json",
        HTTP_X_WEBHOOK_TOKEN="my-secret-token",
    )
    assert response.status_code == 201, response.content
    from executions.models import Execution

    stored = Execution.objects.get(pk=response.json()["executionId"]).input_data
    assert stored["_webhook"]["query"] == {
        "access_token": "****9876",
        "apiKey": "****5555",
        "page": "2",
    }
    assert "tok-abcd-9876" not in json.dumps(stored, default=str)


@pytest.mark.parametrize("token", [None, "wrong-token", "my-secret-token-and-more"])
def test_wrong_or_missing_token_is_401_flk_0362(hook, token, client_api):
    headers = {"HTTP_X_WEBHOOK_TOKEN": token} if token else {}
    response = client_api.post("/v1/webhooks/payments/received", {}, format="json", **headers)
    assert response.status_code == 401
    assert response.json()["code"] == "FLK-0362"


def test_an_empty_stored_token_refuses_every_caller(hook):
    # A route saved before the schema required a non-empty token.
    from flowker.sealing import seal
    from webhooks.models import WebhookRoute

    WebhookRoute.objects.filter(workflow_id=hook).update(verify_token=seal(""))
    for headers in ({}, {"HTTP_X_WEBHOOK_TOKEN": ""}):
        response = APIClient().post("/v1/webhooks/payments/received", {}, format="json", **headers)
        assert response.status_code == 401 and response.json()["code"] == "FLK-0362"


def test_failed_token_checks_are_limited_per_route_and_address(hook, client_api, settings):
    settings.FLOWKER_WEBHOOK_TOKEN_MAX_FAILURES = 3
    settings.FLOWKER_WEBHOOK_TOKEN_FAILURE_WINDOW_SECONDS = 300
    caller = APIClient(REMOTE_ADDR="192.0.2.10")

    def send(client, token):
        return client.post(
            "/v1/webhooks/payments/received", {}, format="json", HTTP_X_WEBHOOK_TOKEN=token
        )

    assert [send(caller, f"guess-{n}").status_code for n in range(3)] == [401, 401, 401]
    refused = send(caller, "guess-4")
    assert refused.status_code == 429
    assert refused.json()["code"] == "FLK-0362"
    assert refused.json()["title"] == "Too Many Requests"
    assert 1 <= int(refused["Retry-After"]) <= 300
    # Refused whatever it sends, or a guess could still be told apart by its answer.
    assert send(caller, "my-secret-token").status_code == 429
    # Another address is not held back by this one's failures.
    assert send(APIClient(REMOTE_ADDR="192.0.2.11"), "my-secret-token").status_code == 201
    # Nor is another route.
    provider = make_provider_config(name="refunds-provider")
    other_body = with_webhook(
        guide_workflow(provider.pk, name="refunds"),
        path="refunds/received",
        verify_token="other-secret-token",
    )
    activate(client_api, other_body)
    response = caller.post(
        "/v1/webhooks/refunds/received", {}, format="json", HTTP_X_WEBHOOK_TOKEN="nope"
    )
    assert response.status_code == 401


def test_token_checks_go_on_when_the_cache_is_down(hook, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6390/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.FLOWKER_WEBHOOK_TOKEN_MAX_FAILURES = 1
    caller = APIClient()
    for _ in range(2):
        wrong = caller.post(
            "/v1/webhooks/payments/received", {}, format="json", HTTP_X_WEBHOOK_TOKEN="nope"
        )
        assert wrong.status_code == 401 and wrong.json()["code"] == "FLK-0362"
    right = caller.post(
        "/v1/webhooks/payments/received", {}, format="json", HTTP_X_WEBHOOK_TOKEN="my-secret-token"
    )
    assert right.status_code == 201, right.content


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
