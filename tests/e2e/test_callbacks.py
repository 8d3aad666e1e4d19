"""Signed completion callbacks end to end: the real worker sends them to a stub receiver that
checks their signature with the README's verifier and records every delivery."""

import datetime
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from executions import callbacks
from executions.models import Execution, ExecutionCallback
from flowker import jsoncodec
from tests.e2e.helpers import activate, single_call_workflow, start, wait_all_terminal
from tests.factories import make_provider_config
from tests.support.stub_server import StubResponse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECRET = "cb-secret-0123456789"
RECEIVER = "/hooks/flowker"


def _readme_function(name: str) -> Any:
    """A function from one of the README's Python snippets, run as printed."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if f"def {name}" in b)
    namespace: dict[str, Any] = {}
    exec(block, namespace)
    return namespace[name]


verify_flowker_signature = _readme_function("verify_flowker_signature")


class Receiver:
    """The caller's endpoint: answers from a script, after checking each signature."""

    def __init__(self, stub: Any, *answers: int) -> None:
        self.stub = stub
        self.verified: list[bool] = []
        statuses = list(answers or (200,))

        def answer(request: Any) -> StubResponse:
            header = request.header("X-Flowker-Signature") or ""
            self.verified.append(verify_flowker_signature(SECRET, header, request.raw_body))
            status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            return StubResponse(status, {"ok": status < 300})

        stub.on("POST", RECEIVER, answer)

    @property
    def url(self) -> str:
        return self.stub.url_for(RECEIVER)

    def requests(self) -> list[Any]:
        return self.stub.requests("POST", RECEIVER)


@pytest.fixture
def provider(worker, stub_server):
    stub_server.on("POST", "/call", StubResponse(200, {"value": 7}))
    yield make_provider_config(name="stub", base_url=stub_server.url)
    wait_all_terminal()


def _workflow(client: Any, provider: Any, callback: dict[str, Any], **kwargs: Any) -> str:
    body = single_call_workflow(provider.pk, **kwargs)
    body["callback"] = callback
    return activate(client, body)


def _callback_when(client: Any, execution_id: str, *statuses: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/executions/{execution_id}").json()
        if body.get("callback", {}).get("status") in statuses:
            return body
        time.sleep(0.05)
    raise AssertionError(f"callback of {execution_id} never reached {statuses}: {body}")


def test_a_completed_execution_is_called_back_once_signed(client_api, provider, stub_server):
    receiver = Receiver(stub_server)
    workflow_id = _workflow(client_api, provider, {"url": receiver.url, "secret": SECRET})
    assert client_api.get(f"/v1/workflows/{workflow_id}").json()["callback"] == {
        "url": receiver.url,
        "secret": "****6789",
        "events": ["completed", "failed", "cancelled"],
    }
    execution_id = start(client_api, workflow_id).json()["executionId"]
    shown = _callback_when(client_api, execution_id, "delivered")
    assert shown["callback"] == {"status": "delivered", "attempts": 1, "lastStatusCode": 200}
    [request] = receiver.requests()
    assert receiver.verified == [True]
    assert request.body == {
        "executionId": execution_id,
        "workflowId": workflow_id,
        "status": "completed",
        "finalOutput": {"answer": 7},
        "completedAt": shown["completedAt"],
    }
    assert request.header("X-Flowker-Event") == "completed"
    assert request.header("Idempotency-Key") == f"callback:{execution_id}"
    # Answered 2xx: neither beat nor a stray task sends it again.
    delivery = ExecutionCallback.objects.get(execution_id=execution_id)
    assert callbacks.callback_deliver(delivery_id=delivery.pk) is None
    ExecutionCallback.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert callbacks.callbacks_resend() == 0
    time.sleep(1.5)  # two beat sweeps of the worker
    assert len(receiver.requests()) == 1


def test_a_wrong_secret_fails_the_receivers_check(client_api, provider, stub_server):
    receiver = Receiver(stub_server)
    workflow_id = _workflow(client_api, provider, {"url": receiver.url, "secret": "other"})
    execution_id = start(client_api, workflow_id).json()["executionId"]
    _callback_when(client_api, execution_id, "delivered")
    assert receiver.verified == [False]


def test_5xx_answers_are_retried_with_backoff_until_a_2xx(client_api, provider, stub_server):
    receiver = Receiver(stub_server, 503, 500, 200)
    workflow_id = _workflow(client_api, provider, {"url": receiver.url, "secret": SECRET})
    execution_id = start(client_api, workflow_id).json()["executionId"]
    shown = _callback_when(client_api, execution_id, "delivered")
    assert shown["callback"] == {"status": "delivered", "attempts": 3, "lastStatusCode": 200}
    first, second, third = receiver.requests()
    assert receiver.verified == [True, True, True]
    assert first.raw_body == second.raw_body == third.raw_body
    # Backoff 0.2 s, then 0.4 s (the worker's FLOWKER_CALLBACK_BACKOFF_SECONDS).
    assert second.received_at - first.received_at >= 0.2
    assert third.received_at - second.received_at >= 0.4
    attempts = ExecutionCallback.objects.get(execution_id=execution_id).attempts
    assert [a["statusCode"] for a in attempts] == [503, 500, 200]
    assert attempts[0]["error"] == "the receiver answered 503"


def test_attempts_run_out_and_the_callback_fails(client_api, provider, stub_server):
    receiver = Receiver(stub_server, 500)
    workflow_id = _workflow(client_api, provider, {"url": receiver.url, "secret": SECRET})
    execution_id = start(client_api, workflow_id).json()["executionId"]
    shown = _callback_when(client_api, execution_id, "failed")
    # FLOWKER_CALLBACK_MAX_ATTEMPTS is 4 for the test worker.
    assert shown["callback"] == {"status": "failed", "attempts": 4, "lastStatusCode": 500}
    assert len(receiver.requests()) == 4


def test_only_listed_events_are_called_back_and_failures_carry_the_error(
    client_api, provider, stub_server
):
    receiver = Receiver(stub_server)
    callback = {"url": receiver.url, "secret": SECRET, "events": ["failed"]}
    completes = _workflow(client_api, provider, callback, name="completes")
    execution_id = start(client_api, completes).json()["executionId"]
    assert _callback_when(client_api, execution_id, "skipped")["status"] == "completed"
    stub_server.on("POST", "/broken", StubResponse(400, {"reason": "bad"}))
    fails = _workflow(client_api, provider, callback, name="fails", data={"path": "/broken"})
    failed_id = start(client_api, fails).json()["executionId"]
    _callback_when(client_api, failed_id, "delivered")
    [request] = receiver.requests()
    assert request.body["status"] == "failed"
    assert request.body["error"]["code"] == "FLK-0504"
    assert "finalOutput" not in request.body
    assert request.body["executionId"] == failed_id


def test_a_cancelled_execution_is_called_back(client_api, provider, stub_server):
    receiver = Receiver(stub_server)
    stub_server.on("POST", "/slow", StubResponse(200, {"value": 1}, delay=1.5))
    workflow_id = _workflow(
        client_api, provider, {"url": receiver.url, "secret": SECRET}, data={"path": "/slow"}
    )
    execution_id = start(client_api, workflow_id).json()["executionId"]
    stub_server.wait_for(1, "POST", "/slow")
    assert client_api.post(f"/v1/executions/{execution_id}/cancel").status_code == 200
    _callback_when(client_api, execution_id, "delivered")
    [request] = receiver.requests()
    assert request.body["status"] == "cancelled"
    assert not {"finalOutput", "error"} & set(request.body)


def test_a_pending_outbox_row_without_a_task_is_sent_by_beat(client_api, provider, stub_server):
    """A crash between the commit of the terminal status and the send: the outbox row is there
    and no task is; likewise a row whose sending worker died (its lease expired)."""
    receiver = Receiver(stub_server)
    callback = {"url": receiver.url, "secret": SECRET, "events": ["failed"]}
    workflow_id = _workflow(client_api, provider, callback)
    orphans = []
    for lease in (None, timezone.now() - datetime.timedelta(seconds=1)):
        execution_id = start(client_api, workflow_id).json()["executionId"]
        _callback_when(client_api, execution_id, "skipped")  # completed: not a listed event
        execution = Execution.objects.get(pk=execution_id)
        # What `enqueue` writes in the terminal transaction, without the task it sends on commit.
        orphans.append(
            ExecutionCallback.objects.create(
                execution=execution,
                event=execution.status,
                url=receiver.url,
                secret=execution.callback_target["secret"],
                body=jsoncodec.dumps(callbacks.payload(execution)),
                next_attempt_at=timezone.now() - datetime.timedelta(seconds=5),
                lease_expires_at=lease,
            )
        )
    for orphan in orphans:
        _callback_when(client_api, str(orphan.execution_id), "delivered")
    sent = sorted(request.body["executionId"] for request in receiver.requests())
    assert sent == sorted(str(orphan.execution_id) for orphan in orphans)
    assert receiver.verified == [True, True]


def test_a_destination_the_policy_refuses_fails_without_retry(client_api, provider):
    callback = {"url": "http://169.254.169.254/latest", "secret": SECRET}
    workflow_id = _workflow(client_api, provider, callback)
    execution_id = start(client_api, workflow_id).json()["executionId"]
    shown = _callback_when(client_api, execution_id, "failed")
    assert shown["callback"] == {"status": "failed", "attempts": 1, "lastStatusCode": None}
    [attempt] = ExecutionCallback.objects.get(execution_id=execution_id).attempts
    assert "outbound policy refuses" in attempt["error"]


def test_callback_url_header_sends_this_execution_elsewhere(
    client_api, provider, stub_server, settings
):
    settings.FLOWKER_CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = Receiver(stub_server)
    workflow_id = _workflow(client_api, provider, {"secret": SECRET})
    execution_id = start(client_api, workflow_id, HTTP_CALLBACK_URL=receiver.url).json()[
        "executionId"
    ]
    _callback_when(client_api, execution_id, "delivered")
    assert receiver.verified == [True]
    # Without the header this workflow has nowhere to call back.
    plain = start(client_api, workflow_id).json()["executionId"]
    assert "callback" not in client_api.get(f"/v1/executions/{plain}").json()


@pytest.mark.parametrize(
    ("url", "allowed", "allow_private", "reason"),
    [
        ("http://evil.example.net/x", ["*.example.com"], True, "not allowed"),
        ("http://127.0.0.1:9/x", [], True, "not allowed"),
        ("http://127.0.0.1:9/x", ["127.0.0.1"], False, "outbound policy"),
        ("http://localhost:9/x", ["localhost"], False, "outbound policy"),
        ("http://169.254.169.254/x", ["169.254.169.254"], True, "outbound policy"),
        ("ftp://hooks.example.com/x", ["*.example.com"], True, "http or https"),
        ("http://[::1/x", ["*"], True, "not a valid URL"),
    ],
)
def test_refused_callback_url_headers(
    client_api, provider, settings, url, allowed, allow_private, reason
):
    workflow_id = _workflow(client_api, provider, {"secret": SECRET})
    settings.FLOWKER_CALLBACK_ALLOWED_HOSTS = allowed
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = allow_private
    response = start(client_api, workflow_id, HTTP_CALLBACK_URL=url)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "FLK-0513"
    assert reason in response.json()["message"]
    assert not Execution.objects.exists()


def test_callback_url_header_needs_a_workflow_callback(client_api, provider, settings):
    settings.FLOWKER_CALLBACK_ALLOWED_HOSTS = ["hooks.example.com"]
    workflow_id = activate(client_api, single_call_workflow(provider.pk))
    response = start(client_api, workflow_id, HTTP_CALLBACK_URL="https://hooks.example.com/x")
    assert response.status_code == 400
    assert response.json()["code"] == "FLK-0513"


def test_an_allowed_subdomain_passes(client_api, provider, settings):
    settings.FLOWKER_CALLBACK_ALLOWED_HOSTS = ["*.example.com"]
    workflow_id = _workflow(client_api, provider, {"secret": SECRET})
    response = start(client_api, workflow_id, HTTP_CALLBACK_URL="https://hooks.example.com/x")
    assert response.status_code == 201, response.content
    target = Execution.objects.get(pk=response.json()["executionId"]).callback_target
    assert target["url"] == "https://hooks.example.com/x"
