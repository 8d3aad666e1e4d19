"""The route a webhook reaches is asked of the database every time, while the route and its
workflow definition are loaded once per process and kept while the database holds exactly them
(webhooks/selectors.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from executions.models import Execution
from tests.e2e.helpers import activate
from tests.factories import guide_workflow, make_provider_config, with_webhook
from webhooks.selectors import ROUTES

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    ROUTES.clear()
    yield
    ROUTES.clear()


def _hook(client_api):
    return client_api.post("/v1/webhooks/cached/hook", {"amount": 1}, format="json")


def _route_reads(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "webhooks_webhookroute" in q["sql"]]


def test_a_kept_route_costs_one_small_read(client_api):
    provider = make_provider_config()
    activate(client_api, with_webhook(guide_workflow(provider.pk), path="cached/hook"))

    with CaptureQueriesContext(connection) as first:
        assert _hook(client_api).status_code == 201
    with CaptureQueriesContext(connection) as second:
        assert _hook(client_api).status_code == 201

    assert len(_route_reads(first)) == 2  # the identity, then the route and its workflow
    (identity,) = _route_reads(second)
    assert "nodes" not in identity  # the definition is not read again
    assert Execution.objects.count() == 2


def test_a_deactivated_workflow_is_not_started_from_a_kept_route(client_api):
    provider = make_provider_config()
    workflow_id = activate(
        client_api, with_webhook(guide_workflow(provider.pk), path="cached/hook")
    )
    assert _hook(client_api).status_code == 201

    assert client_api.post(f"/v1/workflows/{workflow_id}/deactivate").status_code == 200

    assert _hook(client_api).status_code == 404  # a key holder is told there is no route
    assert Execution.objects.count() == 1


def test_a_changed_and_reactivated_workflow_is_served_as_it_is_now(client_api):
    provider = make_provider_config()
    body = with_webhook(guide_workflow(provider.pk), path="cached/hook")
    workflow_id = activate(client_api, body)
    assert _hook(client_api).status_code == 201
    assert client_api.post(f"/v1/workflows/{workflow_id}/deactivate").status_code == 200
    assert client_api.post(f"/v1/workflows/{workflow_id}/draft").status_code == 200
    changed = client_api.put(
        f"/v1/workflows/{workflow_id}", {**body, "name": "renamed-while-inactive"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert client_api.post(f"/v1/workflows/{workflow_id}/activate").status_code == 200

    response = _hook(client_api)

    assert response.status_code == 201
    execution = Execution.objects.get(pk=response.json()["executionId"])
    assert execution.workflow.name == "renamed-while-inactive"
