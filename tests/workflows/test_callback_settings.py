"""A workflow's `callback`: validated at save (400 with `fields`), secret sealed and masked,
kept when the mask is sent back, copied by clone, editable in the console; an execution's
`callback` state on GET /v1/executions/{id}."""

import pytest
from django.db import connection

from flowker.actors import Actor
from flowker.sealing import unseal
from tests.factories import guide_workflow, make_provider_config
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

CALLBACK = {"url": "https://payments.example.com/flowker", "secret": "cb-secret-abcd"}


@pytest.fixture
def guide():
    return guide_workflow(make_provider_config().pk)


def _create(client, body):
    response = client.post("/v1/workflows", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["workflowId"]


def test_callback_secret_is_sealed_masked_kept_and_cloned(client_api, guide):
    wf_id = _create(client_api, {**guide, "callback": CALLBACK})
    with connection.cursor() as cursor:
        cursor.execute("SELECT callback::text FROM workflows_workflow WHERE id = %s", [wf_id])
        assert "cb-secret-abcd" not in cursor.fetchone()[0]
    shown = client_api.get(f"/v1/workflows/{wf_id}").json()
    assert shown["callback"] == {
        **CALLBACK,
        "secret": "****abcd",
        "events": ["completed", "failed", "cancelled"],
    }
    for key in ("id", "status", "createdAt", "updatedAt"):
        shown.pop(key)
    shown["callback"]["events"] = ["failed", "completed", "failed"]
    assert client_api.put(f"/v1/workflows/{wf_id}", shown, format="json").status_code == 200
    stored = Workflow.objects.get(pk=wf_id).callback
    assert unseal(stored["secret"]) == "cb-secret-abcd"
    assert stored["events"] == ["completed", "failed"]
    clone = client_api.post(f"/v1/workflows/{wf_id}/clone", {"name": "copy"}, format="json")
    cloned = Workflow.objects.get(pk=clone.json()["workflowId"]).callback
    assert unseal(cloned["secret"]) == "cb-secret-abcd"
    # A PUT without `callback` removes it (PUT replaces the definition).
    shown.pop("callback")
    assert client_api.put(f"/v1/workflows/{wf_id}", shown, format="json").status_code == 200
    assert Workflow.objects.get(pk=wf_id).callback is None


@pytest.mark.parametrize(
    ("callback", "code", "field"),
    [
        ({"url": "https://x.example.com"}, "FLK-0301", "callback.secret"),
        ({**CALLBACK, "url": "ftp://x.example.com/"}, "FLK-0302", "callback.url"),
        ({**CALLBACK, "url": "not a url"}, "FLK-0302", "callback.url"),
        ({**CALLBACK, "url": "http://[::1/x"}, "FLK-0302", "callback.url"),
        ({**CALLBACK, "url": "http://x.example.com:99999/"}, "FLK-0302", "callback.url"),
        ({**CALLBACK, "events": ["done"]}, "FLK-0302", "callback.events[0]"),
        ({**CALLBACK, "events": []}, "FLK-0302", "callback.events"),
        ({**CALLBACK, "extra": True}, "FLK-0300", "callback.extra"),
    ],
)
def test_invalid_callbacks_are_400_with_fields(client_api, guide, callback, code, field):
    response = client_api.post("/v1/workflows", {**guide, "callback": callback}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code, body
    assert field in body["fields"], body
    assert "cb-secret-abcd" not in response.content.decode()


def test_the_console_edits_the_callback_with_its_secret_masked(admin_client, guide):
    from workflows.services import workflow_create

    workflow = workflow_create(
        data={**guide, "name": "called back", "callback": CALLBACK}, actor=Actor.system()
    )
    url = f"/admin/workflows/workflow/{workflow.pk}/change/"
    page = admin_client.get(url)
    assert "cb-secret-abcd" not in page.content.decode()
    form = page.context["adminform"].form
    assert "****abcd" in form["callback"].value()
    data = {
        "name": "called back",
        "description": "",
        "nodes": form["nodes"].value(),
        "edges": form["edges"].value(),
        "metadata": "",
        "callback": form["callback"].value(),
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    workflow.refresh_from_db()
    assert unseal(workflow.callback["secret"]) == "cb-secret-abcd"


def test_execution_shows_a_waiting_callback_until_it_ends(client_api, guide):
    from executions.services import execution_start
    from workflows.services import workflow_activate, workflow_create

    workflow = workflow_create(
        data={**guide, "name": "cb", "callback": CALLBACK}, actor=Actor.system()
    )
    workflow_activate(workflow=workflow, actor=Actor.system())
    execution, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    shown = client_api.get(f"/v1/executions/{execution.pk}").json()
    assert shown["callback"] == {"status": "waiting", "attempts": 0, "lastStatusCode": None}
    listed = client_api.get("/v1/executions").json()["items"][0]
    assert "callback" not in listed
