"""Load shedding at the door: past FLOWKER_MAX_BACKLOG pending executions, a start is refused
with 503 FLK-0006 and Retry-After, and nothing is written."""

import pytest

from executions.admission import BACKLOG
from executions.models import Execution
from tests.factories import guide_workflow, make_provider_config, with_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def workflow_id(client_api):
    provider = make_provider_config()
    body = with_webhook(guide_workflow(provider.pk), path="shed/test")
    created = client_api.post("/v1/workflows", body, format="json")
    workflow_id = created.json()["workflowId"]
    assert client_api.post(f"/v1/workflows/{workflow_id}/activate").status_code == 200
    return workflow_id


@pytest.fixture
def bound(settings):
    settings.FLOWKER_MAX_BACKLOG = 2
    settings.FLOWKER_ADMISSION_REFRESH_SECONDS = 0
    settings.FLOWKER_SHED_RETRY_AFTER_SECONDS = 3
    BACKLOG.forget()
    yield
    BACKLOG.forget()


def _start(client_api, workflow_id, **headers):
    return client_api.post(
        f"/v1/workflows/{workflow_id}/executions", {"inputData": {}}, format="json", **headers
    )


def test_starts_are_refused_past_the_backlog_bound(client_api, workflow_id, bound):
    assert _start(client_api, workflow_id).status_code == 201
    assert _start(client_api, workflow_id).status_code == 201
    refused = _start(client_api, workflow_id)
    assert refused.status_code == 503
    assert refused["Retry-After"] == "3"
    body = refused.json()
    assert body["code"] == "FLK-0006" and body["title"] == "Service Unavailable"
    assert "at most 2" in body["message"]
    assert Execution.objects.count() == 2  # nothing written for the refused one


def test_a_backlog_that_drains_admits_again(client_api, workflow_id, bound):
    _start(client_api, workflow_id)
    _start(client_api, workflow_id)
    assert _start(client_api, workflow_id).status_code == 503
    Execution.objects.filter(status="pending").update(status="running")  # a worker took them
    assert _start(client_api, workflow_id).status_code == 201


def test_the_webhook_path_is_shed_too(client_api, workflow_id, bound):
    Execution.objects.bulk_create(
        Execution(workflow_id=workflow_id, deadline_at="2100-01-01T00:00:00Z") for _ in range(2)
    )
    response = client_api.post("/v1/webhooks/shed/test", {}, format="json")
    assert response.status_code == 503 and response["Retry-After"] == "3"
    assert response.json()["code"] == "FLK-0006"


def test_zero_turns_shedding_off(client_api, workflow_id, bound, settings):
    settings.FLOWKER_MAX_BACKLOG = 0
    for _ in range(3):
        assert _start(client_api, workflow_id).status_code == 201


def test_the_bound_follows_the_pace_the_workers_finish_at(settings):
    from executions.admission import RATE_WINDOW_SECONDS, bound

    settings.FLOWKER_MAX_BACKLOG = 500
    settings.FLOWKER_MAX_QUEUE_SECONDS = 3
    settings.FLOWKER_MIN_BACKLOG = 20
    per_second = 40
    assert bound(int(per_second * RATE_WINDOW_SECONDS)) == 120  # 3 s of work at 40/s
    assert bound(0) == 20  # a quiet system still takes a burst
    assert bound(10_000) == 500  # never past the fixed bound
    settings.FLOWKER_MAX_QUEUE_SECONDS = 0
    assert bound(0) == 500  # the fixed bound alone


def test_a_start_is_shed_when_the_backlog_is_more_than_seconds_of_work(
    client_api, workflow_id, bound, settings
):
    from django.utils import timezone

    settings.FLOWKER_MAX_BACKLOG = 100
    settings.FLOWKER_MAX_QUEUE_SECONDS = 1
    settings.FLOWKER_MIN_BACKLOG = 1
    now = timezone.now()
    # 10 ended in the last 5 s (2 a second), so at most 2 may wait: 1 s of work.
    Execution.objects.bulk_create(
        Execution(
            workflow_id=workflow_id,
            status="completed",
            completed_at=now,
            deadline_at="2100-01-01T00:00:00Z",
        )
        for _ in range(10)
    )
    assert _start(client_api, workflow_id).status_code == 201
    assert _start(client_api, workflow_id).status_code == 201
    refused = _start(client_api, workflow_id)
    assert refused.status_code == 503 and refused["Retry-After"] == "3"
    assert "at most 2" in refused.json()["message"]
    assert Execution.objects.filter(status="pending").count() == 2
