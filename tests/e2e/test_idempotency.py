"""Idempotency-Key (per workflow, body hash) and `Prefer: wait`."""

import threading

import pytest
from django.db import connection

from executions.models import Execution
from tests.e2e.helpers import call_workflow, start, wait_terminal
from tests.support.stub_server import StubResponse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_same_key_same_body_replays_the_original(worker, stub_server, client_api):
    stub_server.on("POST", "/call", StubResponse(200, {"value": 1}))
    workflow_id = call_workflow(client_api, stub_server)
    first = start(client_api, workflow_id, {"a": 1}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    wait_terminal(client_api, first.json()["executionId"])
    again = start(client_api, workflow_id, {"a": 1}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["executionId"] == first.json()["executionId"]
    assert again.json()["status"] == "completed"
    assert len(stub_server.requests("POST", "/call")) == 1


def test_same_key_with_other_body_is_rejected(worker, stub_server, client_api):
    stub_server.on("POST", "/call", StubResponse(200, {"value": 1}))
    workflow_id = call_workflow(client_api, stub_server)
    start(client_api, workflow_id, {"a": 1}, HTTP_IDEMPOTENCY_KEY="k-2")
    other = start(client_api, workflow_id, {"a": 2}, HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 422 and other.json()["code"] == "FLK-0510"


def test_keys_are_scoped_per_workflow(worker, stub_server, client_api):
    stub_server.on("POST", "/call", StubResponse(200, {"value": 1}))
    first = call_workflow(client_api, stub_server, name="wf-a", provider_name="p-a")
    second = call_workflow(client_api, stub_server, name="wf-b", provider_name="p-b")
    a = start(client_api, first, {"a": 1}, HTTP_IDEMPOTENCY_KEY="shared")
    b = start(client_api, second, {"a": 1}, HTTP_IDEMPOTENCY_KEY="shared")
    assert a.status_code == b.status_code == 201
    assert a.json()["executionId"] != b.json()["executionId"]


@pytest.mark.parametrize("key", ["", " ", "k" * 256, "ключ", "tab\tkey"])
def test_malformed_key_is_400_flk_0509(stub_server, client_api, key):
    workflow_id = call_workflow(client_api, stub_server)
    response = start(client_api, workflow_id, {}, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400 and response.json()["code"] == "FLK-0509"


def test_twenty_concurrent_duplicates_make_one_execution_and_one_call(
    worker, stub_server, client_api
):
    stub_server.on("POST", "/call", StubResponse(200, {"value": 7}, delay=0.2))
    workflow_id = call_workflow(client_api, stub_server)
    raw_key = client_api._credentials["HTTP_X_API_KEY"]
    answers: list[tuple[int, str, str | None]] = []
    barrier = threading.Barrier(20)

    def send() -> None:
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw_key)
        barrier.wait()
        response = start(client, workflow_id, {"order": 99}, HTTP_IDEMPOTENCY_KEY="dup-20")
        answers.append(
            (
                response.status_code,
                response.json()["executionId"],
                response.get("Idempotent-Replayed"),
            )
        )
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({execution_id for _, execution_id, _ in answers}) == 1
    assert sorted(status for status, _, _ in answers) == [200] * 19 + [201]
    assert Execution.objects.filter(idempotency_key="dup-20").count() == 1
    wait_terminal(client_api, answers[0][1])
    assert len(stub_server.wait_for(1, "POST", "/call")) == 1


def test_prefer_wait_returns_results_when_done_in_time(worker, stub_server, client_api):
    stub_server.on("POST", "/call", StubResponse(200, {"value": "ok"}))
    workflow_id = call_workflow(client_api, stub_server)
    response = start(client_api, workflow_id, {}, HTTP_PREFER="wait=15")
    assert response.status_code == 200
    assert response["Preference-Applied"] == "wait=15"
    assert response.json()["finalOutput"] == {"answer": "ok"}


def test_prefer_wait_that_runs_out_answers_201_with_the_actual_status(
    worker, stub_server, client_api
):
    release = threading.Event()

    def held(request):
        release.wait(30)  # the call stays in flight until the answer has been read
        return StubResponse(200, {"value": "slow"})

    stub_server.on("POST", "/call", held)
    workflow_id = call_workflow(client_api, stub_server)
    try:
        response = start(client_api, workflow_id, {}, HTTP_PREFER="wait=5")
        # The worker had reached the provider before the wait ran out, so it was running.
        assert stub_server.requests("POST", "/call"), "the worker did not start within 5 s"
    finally:
        release.set()
    assert response.status_code == 201
    assert response["Preference-Applied"] == "wait=5"
    assert response.json()["status"] == "running"
    assert wait_terminal(client_api, response.json()["executionId"])["status"] == "completed"


def test_requests_past_the_waiting_cap_are_answered_at_once(
    worker, stub_server, client_api, settings
):
    settings.FLOWKER_MAX_WAITING_REQUESTS = 1
    released = threading.Event()

    def held(request):
        released.wait(20)
        return StubResponse(200, {"value": "held"})

    # The first call is held until released; every later one answers at once.
    stub_server.on("POST", "/call", held, StubResponse(200, {"value": "quick"}))
    workflow_id = call_workflow(client_api, stub_server)
    raw_key = client_api._credentials["HTTP_X_API_KEY"]
    answers = []

    def wait_for_the_held_one() -> None:
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw_key)
        answers.append(start(client, workflow_id, {}, HTTP_PREFER="wait=20"))
        connection.close()

    waiter = threading.Thread(target=wait_for_the_held_one)
    waiter.start()
    try:
        stub_server.wait_for(1, "POST", "/call")
        # The one waiting place is taken: no waiting, whatever the preference says.
        over = start(client_api, workflow_id, {}, HTTP_PREFER="wait=20")
        assert over.status_code == 201, over.content
        assert "Preference-Applied" not in over
        wait_terminal(client_api, over.json()["executionId"])
    finally:
        released.set()
        waiter.join(30)
    [held_answer] = answers
    assert held_answer.status_code == 200 and held_answer["Preference-Applied"] == "wait=20"
    assert held_answer.json()["finalOutput"] == {"answer": "held"}
    # The place is given back when its waiter is answered.
    again = start(client_api, workflow_id, {}, HTTP_PREFER="wait=20")
    assert again.status_code == 200 and again["Preference-Applied"] == "wait=20"


@pytest.mark.parametrize(
    ("prefer", "applied"),
    [("wait=99", "wait=30"), ("wait=abc", None), ("respond-async, wait=2", "wait=2")],
)
def test_prefer_wait_parsing(worker, stub_server, client_api, prefer, applied):
    stub_server.on("POST", "/call", StubResponse(200, {"value": 1}))
    workflow_id = call_workflow(client_api, stub_server)
    response = start(client_api, workflow_id, {}, HTTP_PREFER=prefer)
    assert response.get("Preference-Applied") == applied
    wait_terminal(client_api, response.json()["executionId"])


def test_start_refuses_inactive_workflows_and_big_bodies(stub_server, client_api):
    workflow_id = call_workflow(client_api, stub_server)
    client_api.post(f"/v1/workflows/{workflow_id}/deactivate")
    response = start(client_api, workflow_id, {})
    assert response.status_code == 422 and response.json()["code"] == "FLK-0501"
    big = b'{"inputData": {"x": "' + b"a" * (1024 * 1024) + b'"}}'
    response = client_api.post(
        f"/v1/workflows/{workflow_id}/executions", big, content_type="application/json"
    )
    assert response.status_code == 413 and response.json()["code"] == "FLK-0506"
