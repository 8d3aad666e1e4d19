"""Templates build valid, activatable workflows through the same create service."""

import threading
import uuid

import pytest
from django.db import connection

from flowker.actors import Actor
from tests.factories import guide_workflow, make_provider_config, with_webhook
from webhooks.models import WebhookRoute
from workflows.models import Workflow
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db


def _from_template(client, template_id, params):
    return client.post(
        "/v1/workflows/from-template", {"templateId": template_id, "params": params}, format="json"
    )


def test_payment_fraud_check_builds_the_guide_workflow_and_activates(client_api):
    fraud = make_provider_config()
    response = _from_template(
        client_api,
        "payment-fraud-check",
        {
            "workflowName": "payments",
            "fraudProviderConfigId": str(fraud.pk),
            "threshold": 70,
            "verifyToken": "tok-1234",
        },
    )
    assert response.status_code == 201, response.content
    workflow = Workflow.objects.get(pk=response.json()["workflowId"])
    assert [n["id"] for n in workflow.nodes] == [
        "trigger-payment",
        "check-fraud",
        "evaluate-score",
        "approve",
        "reject",
    ]
    assert len(workflow.edges) == 4
    assert workflow.nodes[2]["data"]["condition"] == "check-fraud.score < 70"
    assert workflow.nodes[1]["data"]["endpointName"] == "score-transaction"
    assert workflow.nodes[3]["data"] == {
        "action": "set_output",
        "output": {"decision": "approved", "score": "{{ check-fraud.score }}"},
    }
    assert workflow.metadata == {"templateId": "payment-fraud-check", "templateVersion": "v1"}
    activated = client_api.post(f"/v1/workflows/{workflow.pk}/activate")
    assert activated.status_code == 200
    route = WebhookRoute.objects.get()
    assert (route.method, route.path) == ("POST", "/payments/received")
    assert activated.json()["nodes"][0]["data"]["verify_token"] == "****1234"


def test_tracer_midaz_validation_builds_and_activates(client_api):
    tracer = make_provider_config("tracer", "tracer")
    midaz = make_provider_config("midaz", "midaz")
    response = _from_template(
        client_api,
        "tracer-midaz-validation",
        {
            "workflowName": "tx",
            "tracerProviderConfigId": str(tracer.pk),
            "midazProviderConfigId": str(midaz.pk),
        },
    )
    assert response.status_code == 201, response.content
    workflow_id = response.json()["workflowId"]
    workflow = Workflow.objects.get(pk=workflow_id)
    assert workflow.nodes[2]["data"]["condition"] == 'tracer-validate.decision == "ALLOW"'
    assert client_api.post(f"/v1/workflows/{workflow_id}/activate").status_code == 200
    assert WebhookRoute.objects.get().path == "/validate-and-transact"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "params.workflowName"),
        (
            {"workflowName": "x", "fraudProviderConfigId": "not-a-uuid"},
            "params.fraudProviderConfigId",
        ),
        (
            {"workflowName": "x", "fraudProviderConfigId": str(uuid.uuid4()), "threshold": "high"},
            "params.threshold",
        ),
        (
            {
                "workflowName": "x",
                "fraudProviderConfigId": str(uuid.uuid4()),
                "webhookMethod": "GET",
            },
            "params.webhookMethod",
        ),
    ],
)
def test_bad_params_are_422_flk_0242(client_api, params, field):
    response = _from_template(client_api, "payment-fraud-check", params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "FLK-0242" and field in body["fields"]
    same = client_api.post(
        "/v1/catalog/templates/payment-fraud-check/validate", {"params": params}, format="json"
    )
    assert same.status_code == 422 and same.json()["fields"] == body["fields"]
    assert not Workflow.objects.exists()


def test_unknown_template_is_404_flk_0240(client_api):
    response = _from_template(client_api, "nope", {})
    assert response.status_code == 404 and response.json()["code"] == "FLK-0240"


def test_template_detail_lists_active_provider_configurations(client_api):
    make_provider_config("Zeta fraud")
    alpha = make_provider_config("Alpha fraud")
    disabled = make_provider_config("Disabled fraud")
    client_api.post(f"/v1/provider-configurations/{disabled.pk}/disable")
    make_provider_config("a tracer", "tracer")
    schema = client_api.get("/v1/catalog/templates/payment-fraud-check").json()["paramSchema"]
    choices = schema["properties"]["fraudProviderConfigId"]["oneOf"]
    assert [c["title"] for c in choices] == ["Alpha fraud", "Zeta fraud"]
    assert choices[0]["const"] == str(alpha.pk)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_activations_of_the_same_path_one_wins():
    provider = make_provider_config()
    workflows = [
        workflow_create(
            data={
                **with_webhook(guide_workflow(provider.pk), path="race/path"),
                "name": f"racer-{i}",
            },
            actor=Actor.system(),
        )
        for i in range(2)
    ]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def activate(workflow):
        barrier.wait()
        try:
            workflow_activate(workflow=workflow, actor=Actor.system())
            outcomes.append("active")
        except Exception as exc:  # the loser's FLK error
            outcomes.append(getattr(exc, "code", repr(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=activate, args=(w,)) for w in workflows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["FLK-0360", "active"]
    assert WebhookRoute.objects.count() == 1
    assert Workflow.objects.filter(status="active").count() == 1
