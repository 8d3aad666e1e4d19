"""Workflows over HTTP: the guide's example, validation codes, lifecycle, webhook routes."""

import copy
import uuid

import pytest
from django.db import connection

from flowker.audit.models import AuditEvent
from tests.factories import guide_workflow, make_provider_config, with_webhook
from webhooks.models import WebhookRoute
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider():
    return make_provider_config()


@pytest.fixture
def guide(provider):
    return guide_workflow(provider.pk)


def _create(client, body):
    response = client.post("/v1/workflows", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    return body


def test_guide_example_is_accepted_verbatim_and_activates(client_api, guide):
    created = _create(client_api, guide)
    assert set(created) == {"workflowId", "version", "status", "createdAt"}
    assert created["status"] == "draft" and created["version"] == "1.0.0"
    wf_id = created["workflowId"]
    detail = client_api.get(f"/v1/workflows/{wf_id}").json()
    assert detail["nodes"] == guide["nodes"] and detail["edges"] == guide["edges"]
    activated = client_api.post(f"/v1/workflows/{wf_id}/activate")
    assert activated.status_code == 200, activated.content
    assert activated.json()["status"] == "active"
    types = AuditEvent.objects.filter(resource_id=wf_id).order_by("id")
    assert [e.event_type for e in types] == ["WORKFLOW_CREATED", "WORKFLOW_ACTIVATED"]


def test_a_node_without_position_is_placed_at_the_origin(client_api, guide):
    del guide["nodes"][1]["position"]
    created = _create(client_api, guide)
    nodes = client_api.get(f"/v1/workflows/{created['workflowId']}").json()["nodes"]
    assert nodes[1]["position"] == {"x": 0, "y": 0}
    assert nodes[2]["position"] == guide["nodes"][2]["position"]


def test_webhook_trigger_without_path_activates_with_a_warning_and_starts_by_api(client_api, guide):
    """The guide's workflow: its trigger names no path, so no webhook can start it."""
    workflow_id = _create(client_api, guide)["workflowId"]

    activated = client_api.post(f"/v1/workflows/{workflow_id}/activate")

    assert activated.status_code == 200, activated.content
    assert activated.json()["status"] == "active"
    assert activated.json()["warnings"] == [
        f"trigger has no webhook path: start it with POST /v1/workflows/{workflow_id}/executions"
    ]
    assert not WebhookRoute.objects.exists()
    started = client_api.post(
        f"/v1/workflows/{workflow_id}/executions", {"inputData": {"amount": 1}}, format="json"
    )
    assert started.status_code == 201, started.content
    assert started.json()["status"] == "pending"


def test_webhook_trigger_with_a_path_activates_without_warnings(client_api, guide):
    workflow_id = _create(client_api, with_webhook(guide))["workflowId"]
    activated = client_api.post(f"/v1/workflows/{workflow_id}/activate")
    assert activated.status_code == 200 and activated.json()["warnings"] == []


def test_webhook_trigger_registers_its_route_on_activation(client_api, guide):
    created = _create(client_api, with_webhook(guide))
    client_api.post(f"/v1/workflows/{created['workflowId']}/activate")
    route = WebhookRoute.objects.get()
    assert (route.method, route.path) == ("POST", "/payments/received")
    client_api.post(f"/v1/workflows/{created['workflowId']}/deactivate")
    assert not WebhookRoute.objects.exists()


def test_conflicting_webhook_path_is_refused(client_api, guide):
    first = _create(client_api, with_webhook(guide, path="/payments/received/"))
    second = _create(client_api, {**with_webhook(guide, path="payments/received"), "name": "other"})
    client_api.post(f"/v1/workflows/{first['workflowId']}/activate")
    body = _error(
        client_api.post(f"/v1/workflows/{second['workflowId']}/activate"), 400, "FLK-0360"
    )
    assert first["workflowId"] in body["message"]
    assert Workflow.objects.get(pk=second["workflowId"]).status == "draft"


def test_same_path_with_other_method_or_case_is_free(client_api, guide):
    first = _create(client_api, with_webhook(guide))
    second = _create(client_api, {**with_webhook(guide, path="payments/received"), "name": "put"})
    second_body = client_api.get(f"/v1/workflows/{second['workflowId']}").json()
    client_api.post(f"/v1/workflows/{first['workflowId']}/activate")
    Workflow.objects.filter(pk=second["workflowId"]).update(
        nodes=[
            {
                **second_body["nodes"][0],
                "data": {**second_body["nodes"][0]["data"], "method": "PUT"},
            },
            *second_body["nodes"][1:],
        ]
    )
    assert client_api.post(f"/v1/workflows/{second['workflowId']}/activate").status_code == 200
    third = _create(client_api, {**with_webhook(guide, path="Payments/Received"), "name": "case"})
    assert client_api.post(f"/v1/workflows/{third['workflowId']}/activate").status_code == 200


def test_verify_token_is_sealed_masked_kept_and_cloned(client_api, guide):
    body = with_webhook(guide, verify_token="my-secret-token")
    created = _create(client_api, body)
    wf_id = created["workflowId"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT nodes::text FROM workflows_workflow WHERE id = %s", [wf_id])
        assert "my-secret-token" not in cursor.fetchone()[0]
    shown = client_api.get(f"/v1/workflows/{wf_id}").json()
    assert shown["nodes"][0]["data"]["verify_token"] == "****oken"
    shown.pop("id"), shown.pop("status"), shown.pop("createdAt"), shown.pop("updatedAt")
    assert client_api.put(f"/v1/workflows/{wf_id}", shown, format="json").status_code == 200
    from flowker.sealing import unseal

    stored = Workflow.objects.get(pk=wf_id).nodes[0]["data"]["verify_token"]
    assert unseal(stored) == "my-secret-token"
    clone = client_api.post(f"/v1/workflows/{wf_id}/clone", {"name": "copy"}, format="json").json()
    cloned = Workflow.objects.get(pk=clone["workflowId"]).nodes[0]["data"]["verify_token"]
    assert unseal(cloned) == "my-secret-token"
    client_api.post(f"/v1/workflows/{wf_id}/activate")
    assert unseal(WebhookRoute.objects.get().verify_token) == "my-secret-token"


def _with(guide, mutate):
    body = copy.deepcopy(guide)
    mutate(body)
    return body


def _set_node(index, key, value):
    def mutate(body):
        body["nodes"][index][key] = value

    return mutate


def _set_data(index, key, value):
    def mutate(body):
        body["nodes"][index]["data"][key] = value

    return mutate


def _set_edge(index, key, value):
    def mutate(body):
        body["edges"][index][key] = value

    return mutate


VALIDATION_CASES = [
    ("name missing", lambda b: b.pop("name"), 400, "FLK-0110", "name"),
    ("name too long", lambda b: b.update(name="n" * 101), 400, "FLK-0111", "name"),
    (
        "description too long",
        lambda b: b.update(description="d" * 501),
        400,
        "FLK-0302",
        "description",
    ),
    (
        "too many nodes",
        lambda b: b.update(nodes=[{**b["nodes"][3], "id": f"n{i}"} for i in range(101)], edges=[]),
        400,
        "FLK-0113",
        "nodes",
    ),
    (
        "too many edges",
        lambda b: b.update(edges=[{**b["edges"][0], "id": f"e{i}"} for i in range(201)]),
        400,
        "FLK-0114",
        "edges",
    ),
    ("node id malformed", _set_node(1, "id", "has space"), 400, "FLK-0120", "nodes[1].id"),
    ("node id too long", _set_node(1, "id", "x" * 51), 400, "FLK-0120", "nodes[1].id"),
    ("node id duplicated", _set_node(4, "id", "approve"), 400, "FLK-0120", "nodes[4].id"),
    ("node id reserved", _set_node(3, "id", "workflow"), 400, "FLK-0120", "nodes[3].id"),
    ("node type unknown", _set_node(3, "type", "teleport"), 400, "FLK-0121", "nodes[3].type"),
    (
        "node position not a number",
        _set_node(3, "position", {"x": "left", "y": 0}),
        400,
        "FLK-0001",
        "nodes[3].position.x",
    ),
    ("edge id malformed", _set_edge(0, "id", "e 1"), 400, "FLK-0130", "edges[0].id"),
    ("edge id duplicated", _set_edge(1, "id", "e1"), 400, "FLK-0130", "edges[1].id"),
    ("edge target unknown", _set_edge(1, "target", "nowhere"), 400, "FLK-0115", "edges[1].target"),
    ("edge source unknown", _set_edge(0, "source", "nowhere"), 400, "FLK-0115", "edges[0].source"),
    (
        "cycle",
        lambda b: b["edges"].append(
            {"id": "back", "source": "evaluate-score", "target": "check-fraud", "condition": "true"}
        ),
        400,
        "FLK-0117",
        "edges",
    ),
    (
        "conditional edge without branch",
        lambda b: b["edges"][2].pop("condition"),
        400,
        "FLK-0118",
        "edges[2]",
    ),
    (
        "conditional edge other branch",
        _set_edge(2, "condition", "maybe"),
        400,
        "FLK-0118",
        "edges[2].condition",
    ),
    (
        "handle and condition disagree",
        _set_edge(2, "sourceHandle", "false"),
        400,
        "FLK-0118",
        "edges[2].condition",
    ),
    (
        "branch on non-conditional edge",
        _set_edge(0, "sourceHandle", "true"),
        400,
        "FLK-0118",
        "edges[0].sourceHandle",
    ),
    (
        "condition does not parse",
        _set_data(2, "condition", "check-fraud.score <"),
        400,
        "FLK-0105",
        "nodes[2].data.condition",
    ),
    (
        "condition missing",
        lambda b: b["nodes"][2].update(data={}),
        400,
        "FLK-0105",
        "nodes[2].data.condition",
    ),
    ("action unknown", _set_data(3, "action", "launch"), 400, "FLK-0302", "nodes[3].data.action"),
    (
        "action and actionType disagree",
        _set_data(3, "actionType", "set_output"),
        400,
        "FLK-0302",
        "nodes[3].data.actionType",
    ),
    (
        "set_output without output",
        _set_data(3, "action", "set_output"),
        400,
        "FLK-0302",
        "nodes[3].data.output",
    ),
    (
        "set_output template string too long",
        lambda b: b["nodes"][3].update(
            data={"action": "set_output", "output": {"note": "{{ workflow.a }}" + "x" * 10_000}}
        ),
        400,
        "FLK-0302",
        "nodes[3].data.output.note",
    ),
    (
        "unknown executorId",
        _set_data(1, "executorId", "fax.send"),
        404,
        "FLK-0104",
        "nodes[1].data.executorId",
    ),
    (
        "provider config not uuid",
        _set_data(1, "providerConfigId", "abc"),
        400,
        "FLK-0150",
        "nodes[1].data.providerConfigId",
    ),
    (
        "provider config unknown",
        _set_data(1, "providerConfigId", str(uuid.uuid4())),
        400,
        "FLK-0150",
        "nodes[1].data.providerConfigId",
    ),
    (
        "provider of another executor",
        _set_data(1, "executorId", "tracer.validate-transaction"),
        400,
        "FLK-0151",
        "nodes[1].data.providerConfigId",
    ),
    (
        "node data fails executor schema",
        _set_data(1, "headers", {"X-A": 5}),
        422,
        "FLK-0201",
        "nodes[1].data.headers.X-A",
    ),
    (
        "bad input mapping",
        _set_data(1, "inputMapping", [{"source": "", "target": "x"}]),
        400,
        "FLK-0140",
        "nodes[1].data.inputMapping[0]",
    ),
    (
        "input mapping target pads a list past the highest index",
        _set_data(1, "inputMapping", [{"source": "workflow.amount", "target": "a[1000000000]"}]),
        400,
        "FLK-0140",
        "nodes[1].data.inputMapping[0].target",
    ),
    (
        "transform target pads a list past the highest index",
        _set_data(1, "transforms", [{"operation": "default", "spec": {"a[1000000000]": 1}}]),
        400,
        "FLK-0142",
        "nodes[1].data.transforms[0].spec.a[1000000000]",
    ),
    (
        "bad output mapping",
        _set_data(1, "outputMapping", "nope"),
        400,
        "FLK-0141",
        "nodes[1].data.outputMapping",
    ),
    (
        "bad transforms",
        _set_data(1, "transforms", [{"operation": "teleport", "spec": {}}]),
        400,
        "FLK-0142",
        "nodes[1].data.transforms[0]",
    ),
    (
        "webhook method invalid",
        lambda b: b["nodes"][0]["data"].update(path="p", method="BREW"),
        422,
        "FLK-0201",
        "nodes[0].data.method",
    ),
    (
        # An empty token would match a caller that sends none (CONTRACT §0).
        "webhook verify token empty",
        lambda b: b["nodes"][0]["data"].update(path="p", method="POST", verify_token=""),
        422,
        "FLK-0201",
        "nodes[0].data.verify_token",
    ),
    (
        "trigger type unknown",
        _set_data(0, "triggerType", "carrier-pigeon"),
        400,
        "FLK-0302",
        "nodes[0].data.triggerType",
    ),
    ("unknown top-level field", lambda b: b.update(colour="red"), 400, "FLK-0300", "colour"),
    ("nodes not a list", lambda b: b.update(nodes="x"), 400, "FLK-0001", "nodes"),
]


@pytest.mark.parametrize(
    ("case", "mutate", "status", "code", "field"),
    VALIDATION_CASES,
    ids=[case[0] for case in VALIDATION_CASES],
)
def test_save_validation(client_api, guide, case, mutate, status, code, field):
    response = client_api.post("/v1/workflows", _with(guide, mutate), format="json")
    body = _error(response, status, code)
    assert any(key.startswith(field) for key in body.get("fields", {})), body
    assert not Workflow.objects.exists()


def test_every_failing_field_is_listed(client_api, guide):
    def mutate(body):
        body["nodes"][2]["data"]["condition"] = "((("
        body["edges"][1]["target"] = "nowhere"

    body = _error(
        client_api.post("/v1/workflows", _with(guide, mutate), format="json"), 400, "FLK-0105"
    )
    assert {"nodes[2].data.condition", "edges[1].target"} <= set(body["fields"])


def test_condition_error_names_the_position(client_api, guide):
    body = _error(
        client_api.post(
            "/v1/workflows", _with(guide, _set_data(2, "condition", "a == (b")), format="json"
        ),
        400,
        "FLK-0105",
    )
    assert "position" in body["fields"]["nodes[2].data.condition"]


def test_disabled_provider_config_is_refused(client_api, guide, provider):
    client_api.post(f"/v1/provider-configurations/{provider.pk}/disable")
    _error(client_api.post("/v1/workflows", guide, format="json"), 400, "FLK-0150")


def test_duplicate_name_is_409(client_api, guide):
    _create(client_api, guide)
    _error(client_api.post("/v1/workflows", guide, format="json"), 409, "FLK-0101")


ACTIVATION_CASES = [
    ("no nodes", lambda b: b.update(nodes=[], edges=[]), "FLK-0112", "nodes"),
    ("no trigger", lambda b: (b["nodes"].pop(0), b["edges"].pop(0)), "FLK-0116", "nodes"),
    (
        "two triggers",
        lambda b: b["nodes"].append({**b["nodes"][0], "id": "t2"}),
        "FLK-0116",
        "nodes",
    ),
    ("unreachable node", lambda b: b["edges"].pop(3), "FLK-0119", "nodes[4]"),
]


@pytest.mark.parametrize(
    ("case", "mutate", "code", "field"), ACTIVATION_CASES, ids=[c[0] for c in ACTIVATION_CASES]
)
def test_activation_validation(client_api, guide, case, mutate, code, field):
    created = _create(client_api, _with(guide, mutate))
    body = _error(client_api.post(f"/v1/workflows/{created['workflowId']}/activate"), 422, code)
    assert field in body["fields"]
    assert Workflow.objects.get(pk=created["workflowId"]).status == "draft"


LIFECYCLE = [
    # (status, operation, expected HTTP status, expected code or resulting status)
    ("draft", "activate", 200, "active"),
    ("draft", "deactivate", 422, "FLK-0102"),
    ("draft", "draft", 422, "FLK-0102"),
    ("draft", "update", 200, "draft"),
    ("draft", "delete", 204, None),
    ("draft", "clone", 201, "draft"),
    ("active", "activate", 422, "FLK-0102"),
    ("active", "deactivate", 200, "inactive"),
    ("active", "draft", 422, "FLK-0102"),
    ("active", "update", 422, "FLK-0103"),
    ("active", "delete", 422, "FLK-0103"),
    ("active", "clone", 201, "draft"),
    ("inactive", "activate", 422, "FLK-0102"),
    ("inactive", "deactivate", 422, "FLK-0102"),
    ("inactive", "draft", 200, "draft"),
    ("inactive", "update", 422, "FLK-0103"),
    ("inactive", "delete", 204, None),
    ("inactive", "clone", 201, "draft"),
]


@pytest.mark.parametrize(("status", "operation", "http", "expected"), LIFECYCLE)
def test_lifecycle_table(client_api, guide, status, operation, http, expected):
    wf_id = _create(client_api, guide)["workflowId"]
    Workflow.objects.filter(pk=wf_id).update(status=status)
    base = f"/v1/workflows/{wf_id}"
    if operation == "update":
        response = client_api.put(base, {**guide, "description": "changed"}, format="json")
    elif operation == "delete":
        response = client_api.delete(base)
    elif operation == "clone":
        response = client_api.post(f"{base}/clone", {"name": "the clone"}, format="json")
    else:
        response = client_api.post(f"{base}/{operation}")
    assert response.status_code == http, response.content
    if http >= 400:
        assert response.json()["code"] == expected
    elif expected is not None:
        assert response.json()["status"] == expected


def test_put_replaces_and_merges_metadata(client_api, guide):
    wf_id = _create(client_api, {**guide, "metadata": {"team": "payments"}})["workflowId"]
    response = client_api.put(
        f"/v1/workflows/{wf_id}",
        {"name": "renamed", "nodes": guide["nodes"][:1], "metadata": {"tier": "1"}},
        format="json",
    )
    body = response.json()
    assert body["name"] == "renamed" and len(body["nodes"]) == 1 and body["edges"] == []
    assert "description" not in body
    assert body["metadata"] == {"team": "payments", "tier": "1"}


def test_clone_and_delete_are_audited(client_api, guide):
    wf_id = _create(client_api, guide)["workflowId"]
    clone_id = client_api.post(f"/v1/workflows/{wf_id}/clone", {"name": "c"}, format="json").json()[
        "workflowId"
    ]
    assert client_api.delete(f"/v1/workflows/{clone_id}").status_code == 204
    assert AuditEvent.objects.filter(event_type="WORKFLOW_CLONED", resource_id=clone_id).exists()
    assert AuditEvent.objects.filter(event_type="WORKFLOW_DELETED", resource_id=clone_id).exists()


def test_unknown_and_bad_ids(client_api):
    _error(client_api.get(f"/v1/workflows/{uuid.uuid4()}"), 404, "FLK-0100")
    _error(client_api.get("/v1/workflows/nope"), 400, "FLK-0002")
    _error(client_api.post(f"/v1/workflows/{uuid.uuid4()}/activate"), 404, "FLK-0100")


def test_list_filters_and_pagination(client_api, guide):
    ids = [_create(client_api, {**guide, "name": f"wf-{i}"})["workflowId"] for i in range(3)]
    client_api.post(f"/v1/workflows/{ids[0]}/activate")
    active = client_api.get("/v1/workflows?status=active").json()["items"]
    assert [w["id"] for w in active] == [ids[0]]
    _error(client_api.get("/v1/workflows?status=paused"), 400, "FLK-0304")
    page = client_api.get("/v1/workflows?limit=2&sortBy=name&sortOrder=ASC").json()
    rest = client_api.get(
        f"/v1/workflows?limit=2&sortBy=name&sortOrder=ASC&cursor={page['nextCursor']}"
    ).json()
    assert [w["name"] for w in page["items"] + rest["items"]] == ["wf-0", "wf-1", "wf-2"]


def test_executor_config_form_resolves_and_activation_activates_it(client_api, provider):
    created = client_api.post(
        "/v1/executors",
        {
            "name": "fraud-scorer",
            "executorId": "http.request",
            "providerConfigId": str(provider.pk),
            "endpoints": [{"name": "score-transaction", "method": "POST", "path": "/v1/score"}],
        },
        format="json",
    ).json()
    from executors.models import ExecutorConfiguration

    ExecutorConfiguration.objects.filter(pk=created["id"]).update(status="tested")
    body = guide_workflow(provider.pk)
    body["nodes"][1]["data"] = {
        "executorConfigId": created["id"],
        "endpointName": "score-transaction",
    }
    wf_id = _create(client_api, body)["workflowId"]
    assert client_api.post(f"/v1/workflows/{wf_id}/activate").status_code == 200
    assert ExecutorConfiguration.objects.get(pk=created["id"]).status == "active"


def test_activation_refuses_untested_executor_config(client_api, provider):
    created = client_api.post(
        "/v1/executors",
        {
            "name": "untested",
            "executorId": "http.request",
            "providerConfigId": str(provider.pk),
            "endpoints": [{"name": "score-transaction", "method": "POST", "path": "/v1/score"}],
        },
        format="json",
    ).json()
    body = guide_workflow(provider.pk)
    body["nodes"][1]["data"] = {"executorConfigId": created["id"]}
    wf_id = _create(client_api, body)["workflowId"]
    _error(client_api.post(f"/v1/workflows/{wf_id}/activate"), 422, "FLK-0252")


def test_a_transition_that_lost_a_race_is_409_flk_0350(guide):
    from flowker.actors import Actor
    from flowker.api.errors import status_for
    from flowker.errors import FlowkerError
    from workflows.services import workflow_activate, workflow_create

    workflow = workflow_create(data=guide, actor=Actor.system())
    Workflow.objects.filter(pk=workflow.pk).update(status="inactive")  # changed meanwhile
    with pytest.raises(FlowkerError) as raised:
        workflow_activate(workflow=workflow, actor=Actor.system())  # still reads "draft"
    assert (raised.value.code, status_for(raised.value.code)) == ("FLK-0350", 409)
    assert not WebhookRoute.objects.exists()


def test_nested_webhook_paths_are_registered_as_written(client_api, guide):
    created = _create(client_api, with_webhook(guide, path="payments/stripe/received/"))
    client_api.post(f"/v1/workflows/{created['workflowId']}/activate")
    assert WebhookRoute.objects.get().path == "/payments/stripe/received"


def _scorer(provider, name, path, status="tested"):
    from tests.factories import make_executor_config

    return make_executor_config(
        provider,
        name,
        status=status,
        endpoints=[{"name": "score-transaction", "method": "POST", "path": path}],
    )


def test_activation_pins_an_endpoint_name_and_executions_snapshot_the_configuration(
    client_api, guide, provider
):
    first = _scorer(provider, "scorer-v1", "/v1/score")
    wf_id = _create(client_api, guide)["workflowId"]
    assert client_api.post(f"/v1/workflows/{wf_id}/activate").status_code == 200
    assert Workflow.objects.get(pk=wf_id).executor_bindings == {"check-fraud": str(first.pk)}

    # A second configuration offering the same name cannot go live while the workflow is.
    second = _scorer(provider, "scorer-v2", "/v2/score")
    refused = client_api.post(f"/v1/executors/{second.pk}/activate")
    body = _error(refused, 422, "FLK-0252")
    assert "payment-validation" in body["message"] and "ambiguous" in body["message"]

    # Even if it were active, the live workflow keeps calling the configuration it was pinned to.
    from executions.models import Execution
    from executors.models import ExecutorConfiguration

    ExecutorConfiguration.objects.filter(pk=second.pk).update(status="active")
    started = client_api.post(f"/v1/workflows/{wf_id}/executions", {"inputData": {}}, format="json")
    assert started.status_code == 201, started.content
    snapshot = Execution.objects.get(pk=started.json()["executionId"]).nodes
    assert snapshot[1]["data"] == {
        "providerConfigId": str(provider.pk),
        "endpointName": "score-transaction",
        "executorConfigId": str(first.pk),
    }
    # The definition as the user wrote it is unchanged.
    assert (
        "executorConfigId"
        not in client_api.get(f"/v1/workflows/{wf_id}").json()["nodes"][1]["data"]
    )


def test_an_endpoint_name_without_configuration_blocks_one_from_going_live(
    client_api, guide, provider
):
    """The node calls `score-transaction` under the base URL; a configuration offering that name
    would re-route it, so it cannot be activated while the workflow is active."""
    wf_id = _create(client_api, guide)["workflowId"]
    assert client_api.post(f"/v1/workflows/{wf_id}/activate").status_code == 200
    late = _scorer(provider, "late-scorer", "/v1/score", status="disabled")
    body = _error(client_api.post(f"/v1/executors/{late.pk}/enable"), 422, "FLK-0252")
    assert "payment-validation" in body["message"]
    client_api.post(f"/v1/workflows/{wf_id}/deactivate")
    assert client_api.post(f"/v1/executors/{late.pk}/enable").status_code == 200


def test_activation_refuses_an_endpoint_name_two_configurations_offer(client_api, guide, provider):
    _scorer(provider, "scorer-a", "/a")
    _scorer(provider, "scorer-b", "/b", status="active")
    wf_id = _create(client_api, guide)["workflowId"]
    body = _error(client_api.post(f"/v1/workflows/{wf_id}/activate"), 422, "FLK-0150")
    assert body["fields"]["nodes[1].data.endpointName"].startswith("node check-fraud: endpoint")
    assert "'scorer-a', 'scorer-b'" in body["message"]
    assert Workflow.objects.get(pk=wf_id).status == "draft"
