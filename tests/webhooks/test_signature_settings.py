"""A webhook trigger's `signature` settings: validated at save, secret sealed, masked, kept
when the mask is sent back, copied by clone, carried to the route; shown masked in the console."""

import copy

import pytest
from django.db import connection

from flowker.sealing import unseal
from tests.factories import guide_workflow, make_provider_config, with_webhook
from webhooks.models import WebhookRoute
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

SIGNATURE = {"scheme": "stripe", "secret": "whsec_abc_12345678", "toleranceSeconds": 120}


@pytest.fixture
def guide():
    return guide_workflow(make_provider_config().pk)


def _stored_secret(workflow_id):
    return Workflow.objects.get(pk=workflow_id).nodes[0]["data"]["signature"]["secret"]


def test_signature_secret_is_sealed_masked_kept_cloned_and_routed(client_api, guide):
    created = client_api.post(
        "/v1/workflows", with_webhook(guide, signature=SIGNATURE), format="json"
    )
    assert created.status_code == 201, created.content
    wf_id = created.json()["workflowId"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT nodes::text FROM workflows_workflow WHERE id = %s", [wf_id])
        assert "whsec_abc_12345678" not in cursor.fetchone()[0]
    shown = client_api.get(f"/v1/workflows/{wf_id}").json()
    assert shown["nodes"][0]["data"]["signature"] == {**SIGNATURE, "secret": "****5678"}
    for key in ("id", "status", "createdAt", "updatedAt"):
        shown.pop(key)
    assert client_api.put(f"/v1/workflows/{wf_id}", shown, format="json").status_code == 200
    assert unseal(_stored_secret(wf_id)) == "whsec_abc_12345678"
    clone = client_api.post(f"/v1/workflows/{wf_id}/clone", {"name": "copy"}, format="json")
    assert unseal(_stored_secret(clone.json()["workflowId"])) == "whsec_abc_12345678"
    assert client_api.post(f"/v1/workflows/{wf_id}/activate").status_code == 200
    route = WebhookRoute.objects.get()
    assert route.signature["scheme"] == "stripe"
    assert unseal(route.signature["secret"]) == "whsec_abc_12345678"


def test_a_new_secret_replaces_the_stored_one(client_api, guide):
    wf_id = client_api.post(
        "/v1/workflows", with_webhook(guide, signature=SIGNATURE), format="json"
    ).json()["workflowId"]
    body = with_webhook(guide, signature={**SIGNATURE, "secret": "whsec_new_secret"})
    assert client_api.put(f"/v1/workflows/{wf_id}", body, format="json").status_code == 200
    assert unseal(_stored_secret(wf_id)) == "whsec_new_secret"


@pytest.mark.parametrize(
    ("signature", "code", "field"),
    [
        ({"scheme": "md5", "secret": "s"}, "FLK-0302", "nodes[0].data.signature.scheme"),
        ({"scheme": "stripe"}, "FLK-0301", "nodes[0].data.signature.secret"),
        ({"secret": "s"}, "FLK-0301", "nodes[0].data.signature.scheme"),
        ({"scheme": "stripe", "secret": ""}, "FLK-0302", "nodes[0].data.signature.secret"),
        (
            {"scheme": "hmac-sha256", "secret": "s", "toleranceSeconds": 0},
            "FLK-0302",
            "nodes[0].data.signature.toleranceSeconds",
        ),
        (
            {"scheme": "hmac-sha256", "secret": "s", "header": "bad header"},
            "FLK-0302",
            "nodes[0].data.signature.header",
        ),
        (
            {"scheme": "stripe", "secret": "s", "timestampHeader": "X-Time"},
            "FLK-0302",
            "nodes[0].data.signature.timestampHeader",
        ),
        (
            {"scheme": "stripe", "secret": "s", "extra": 1},
            "FLK-0302",
            "nodes[0].data.signature.extra",
        ),
        ("stripe", "FLK-0302", "nodes[0].data.signature"),
    ],
)
def test_invalid_signature_settings_are_400_with_fields(client_api, guide, signature, code, field):
    response = client_api.post(
        "/v1/workflows", with_webhook(guide, signature=signature), format="json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code
    assert field in body["fields"]
    assert "whsec" not in response.content.decode()


def test_the_catalog_documents_the_signature(client_api):
    trigger = client_api.get("/v1/catalog/triggers/webhook").json()
    schema = trigger.get("schema") or trigger.get("configSchema") or trigger
    signature = schema["properties"]["signature"]
    assert signature["properties"]["scheme"]["enum"] == ["hmac-sha256", "stripe"]
    assert signature["properties"]["secret"]["writeOnly"] is True


def test_the_console_shows_the_signature_secret_masked(admin_client, guide):
    from flowker.actors import Actor
    from workflows.services import workflow_create

    body = with_webhook(copy.deepcopy(guide), signature=SIGNATURE)
    workflow = workflow_create(data={**body, "name": "signed"}, actor=Actor.system())
    page = admin_client.get(f"/admin/workflows/workflow/{workflow.pk}/change/").content.decode()
    assert "whsec_abc_12345678" not in page
    assert "****5678" in page
