"""Workflows in the operators' console: the graph, forms validated like the API, and the
lifecycle actions going through the services (audited, errors shown instead of raised)."""

import copy
import json

import pytest
from django.contrib.admin.models import LogEntry

from flowker.actors import Actor
from flowker.audit.models import AuditEvent
from flowker.errors import FlowkerError
from flowker.sealing import unseal
from webhooks.models import WebhookRoute
from workflows import services
from workflows.admin import clone_name
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/workflows/workflow/"
ADD = "/admin/workflows/workflow/add/"

BODY = {
    "name": "wf",
    "nodes": [
        {
            "id": "t",
            "type": "trigger",
            "position": {"x": 0, "y": 0},
            "data": {"triggerType": "webhook", "path": "orders/new", "method": "POST"},
        },
        {"id": "log", "type": "action", "position": {"x": 200, "y": 0}, "data": {"action": "log"}},
    ],
    "edges": [{"id": "e1", "source": "t", "target": "log"}],
}


def _body(**overrides):
    return {**copy.deepcopy(BODY), **overrides}


def _create(**overrides):
    return services.workflow_create(data=_body(**overrides), actor=Actor.system())


def _active(**overrides):
    return services.workflow_activate(workflow=_create(**overrides), actor=Actor.system())


def _change_url(workflow):
    return f"/admin/workflows/workflow/{workflow.pk}/change/"


def _form(name="wf", nodes=None, edges=None, metadata=""):
    return {
        "name": name,
        "description": "",
        "nodes": json.dumps(BODY["nodes"] if nodes is None else nodes),
        "edges": json.dumps(BODY["edges"] if edges is None else edges),
        "metadata": metadata,
        "_save": "Save",
    }


def _action(client, action, *workflows, **extra):
    selected = [str(workflow.pk) for workflow in workflows]
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": selected, **extra}, follow=True
    )


def _events(event_type):
    return AuditEvent.objects.filter(event_type=event_type)


def _user_event(event_type, workflow):
    event = _events(event_type).get(resource_id=str(workflow.pk))
    assert (event.actor_type, event.actor_id) == ("user", "admin")
    return event


def test_changelist_shows_status_node_count_and_routes_and_filters_by_status(admin_client):
    _active(name="live")
    _create(name="sketch", nodes=BODY["nodes"][:1], edges=[])
    page = admin_client.get(CHANGELIST).content.decode()
    assert "live" in page and "sketch" in page
    assert "POST /v1/webhooks/orders/new" in page
    assert '<td class="field-node_count">2</td>' in page
    assert '<td class="field-node_count">1</td>' in page
    assert "?status__exact=active" in page
    drafts = admin_client.get(CHANGELIST, {"status__exact": "draft"}).content.decode()
    assert "sketch" in drafts and "live" not in drafts
    found = admin_client.get(CHANGELIST, {"q": "sket"}).content.decode()
    assert "sketch" in found and "live" not in found


def test_change_page_shows_the_graph_and_the_webhook_routes(admin_client):
    workflow = _active()
    page = admin_client.get(_change_url(workflow)).content.decode()
    assert "<svg" in page and 'data-node-id="t"' in page and 'data-node-id="log"' in page
    assert "POST /v1/webhooks/orders/new" in page


def test_adding_a_workflow_creates_it_through_the_service_audited_as_the_user(admin_client):
    response = admin_client.post(ADD, _form(name="orders", metadata='{"team": "payments"}'))
    assert response.status_code == 302, response.content.decode()
    workflow = Workflow.objects.get(name="orders")
    assert workflow.status == "draft" and workflow.nodes == BODY["nodes"]
    assert workflow.edges == BODY["edges"] and workflow.metadata == {"team": "payments"}
    _user_event("WORKFLOW_CREATED", workflow)


def test_an_invalid_condition_is_a_form_error_and_creates_nothing(admin_client):
    nodes = [
        *BODY["nodes"],
        {
            "id": "check",
            "type": "conditional",
            "position": {"x": 400, "y": 0},
            "data": {"condition": "amount >"},
        },
    ]
    response = admin_client.post(ADD, _form(nodes=nodes))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "nodes[2].data.condition" in errors["nodes"][0]
    assert not Workflow.objects.exists() and not _events("WORKFLOW_CREATED").exists()


def test_an_edge_to_a_missing_node_is_a_form_error_and_creates_nothing(admin_client):
    edges = [{"id": "e1", "source": "t", "target": "ghost"}]
    response = admin_client.post(ADD, _form(edges=edges))
    assert response.status_code == 200
    assert "edges[0].target" in response.context["adminform"].form.errors["edges"][0]
    assert not Workflow.objects.exists()


def test_a_cycle_is_a_form_error(admin_client):
    edges = [*BODY["edges"], {"id": "e2", "source": "log", "target": "t"}]
    response = admin_client.post(ADD, _form(edges=edges))
    assert response.status_code == 200
    assert "cycle" in response.context["adminform"].form.errors["edges"][0]
    assert not Workflow.objects.exists()


def test_a_request_shape_error_comes_from_the_api_serializer(admin_client):
    nodes = [{"id": "t", "type": "teleport", "position": {"x": 0, "y": 0}}]
    response = admin_client.post(ADD, _form(nodes=nodes, edges=[]))
    assert response.status_code == 200
    assert "nodes[0].type" in response.context["adminform"].form.errors["nodes"][0]
    assert not Workflow.objects.exists()


def test_malformed_json_is_a_form_error(admin_client):
    response = admin_client.post(ADD, {**_form(), "edges": "[{"})
    assert response.status_code == 200
    assert "invalid JSON" in response.context["adminform"].form.errors["edges"][0]
    assert not Workflow.objects.exists()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 65 + "]" * 65, "nested deeper than 64 levels"),
        ("[" * 5000 + "]" * 5000, "nested deeper than 64 levels"),
        ('[{"id": NaN}]', "NaN is not a JSON number"),
    ],
    ids=["65-levels", "5000-levels", "NaN"],
)
def test_json_too_deep_or_with_nan_is_a_form_error(admin_client, text, reason):
    response = admin_client.post(ADD, {**_form(), "edges": text})
    assert response.status_code == 200
    assert reason in response.context["adminform"].form.errors["edges"][0]
    assert not Workflow.objects.exists()


def test_editing_a_draft_updates_it_and_keeps_the_masked_verify_token(admin_client):
    nodes = copy.deepcopy(BODY["nodes"])
    nodes[0]["data"]["verify_token"] = "tok-secret-123"
    workflow = _create(nodes=nodes)
    form = admin_client.get(_change_url(workflow)).context["adminform"].form
    shown_nodes = form["nodes"].value()
    assert "****-123" in shown_nodes
    data = {**_form(name="wf renamed"), "nodes": shown_nodes}
    response = admin_client.post(_change_url(workflow), data)
    assert response.status_code == 302, response.content.decode()
    workflow.refresh_from_db()
    assert workflow.name == "wf renamed"
    assert unseal(workflow.nodes[0]["data"]["verify_token"]) == "tok-secret-123"
    _user_event("WORKFLOW_UPDATED", workflow)


def test_a_verify_token_never_appears_in_plain_text_on_the_change_page(admin_client):
    nodes = copy.deepcopy(BODY["nodes"])
    nodes[0]["data"]["verify_token"] = "tok-secret-123"
    draft = _create(name="draft", nodes=nodes)
    active = _active(name="live", nodes=nodes)
    for workflow in (draft, active):
        page = admin_client.get(_change_url(workflow)).content.decode()
        assert "tok-secret-123" not in page
        assert "****-123" in page


def test_a_non_draft_workflow_opens_read_only_with_its_graph(admin_client):
    workflow = _active()
    page = admin_client.get(_change_url(workflow)).content.decode()
    assert 'name="_save"' not in page and "<textarea" not in page
    assert 'data-node-id="t"' in page and "orders/new" in page


def test_editing_a_non_draft_workflow_is_refused_on_the_form(admin_client):
    workflow = _active()
    response = admin_client.post(_change_url(workflow), _form(name="sneaky"))
    assert response.status_code == 200
    assert "Only draft workflows can be edited" in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.name == "wf" and not _events("WORKFLOW_UPDATED").exists()


def test_a_save_that_loses_a_race_shows_the_service_error_instead_of_success(
    admin_client, monkeypatch
):
    workflow = _create()

    def changed_meanwhile(**kwargs):
        raise FlowkerError("FLK-0350", "resource state changed concurrently")

    monkeypatch.setattr(services, "workflow_update", changed_meanwhile)
    response = admin_client.post(_change_url(workflow), _form(name="renamed"), follow=True)
    page = response.content.decode()
    assert "FLK-0350" in page and "successfully" not in page
    assert not LogEntry.objects.exists()
    workflow.refresh_from_db()
    assert workflow.name == "wf"


def test_activate_action_activates_registers_the_route_and_audits(admin_client):
    workflow = _create()
    response = _action(admin_client, "activate", workflow)
    assert "Activated: 1" in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.status == "active"
    route = WebhookRoute.objects.get(workflow=workflow)
    assert (route.method, route.path) == ("POST", "/orders/new")
    _user_event("WORKFLOW_ACTIVATED", workflow)


def test_activating_a_webhook_trigger_without_path_warns_how_to_start_it(admin_client):
    nodes = copy.deepcopy(BODY["nodes"])
    nodes[0]["data"] = {"triggerType": "webhook"}
    workflow = _create(nodes=nodes)
    warning = (
        f"trigger has no webhook path: start it with POST /v1/workflows/{workflow.pk}/executions"
    )

    page = _action(admin_client, "activate", workflow).content.decode()

    assert "Activated: 1" in page and f"f: {warning}</li>" in page
    assert warning in admin_client.get(_change_url(workflow)).content.decode()


def test_activating_a_webhook_trigger_with_a_path_has_no_warning(admin_client):
    page = _action(admin_client, "activate", _create()).content.decode()
    assert "Activated: 1" in page and "has no webhook path" not in page


def test_deactivate_action_deactivates_clears_the_route_and_audits(admin_client):
    workflow = _active()
    _action(admin_client, "deactivate", workflow)
    workflow.refresh_from_db()
    assert workflow.status == "inactive"
    assert not WebhookRoute.objects.exists()
    _user_event("WORKFLOW_DEACTIVATED", workflow)


def test_move_to_draft_action_drafts_an_inactive_workflow_and_audits(admin_client):
    workflow = services.workflow_deactivate(workflow=_active(), actor=Actor.system())
    _action(admin_client, "move_to_draft", workflow)
    workflow.refresh_from_db()
    assert workflow.status == "draft"
    _user_event("WORKFLOW_DRAFTED", workflow)


def test_an_action_in_the_wrong_status_shows_an_error_message(admin_client):
    workflow = _create()
    response = _action(admin_client, "deactivate", workflow)
    assert response.status_code == 200
    assert "FLK-0102 cannot deactivate a workflow in status draft" in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.status == "draft" and not _events("WORKFLOW_DEACTIVATED").exists()


def test_activation_refused_by_validation_shows_an_error_message(admin_client):
    workflow = _create(edges=[])
    response = _action(admin_client, "activate", workflow)
    assert "FLK-" in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.status == "draft" and not WebhookRoute.objects.exists()


def test_clone_action_creates_a_copy_then_a_numbered_copy(admin_client):
    workflow = _active()
    _action(admin_client, "clone", workflow)
    _action(admin_client, "clone", workflow)
    copy_1 = Workflow.objects.get(name="wf (copy)")
    copy_2 = Workflow.objects.get(name="wf (copy 2)")
    assert copy_1.status == copy_2.status == "draft"
    assert copy_1.nodes == workflow.nodes and copy_1.edges == workflow.edges
    _user_event("WORKFLOW_CLONED", copy_1)


def test_clone_name_is_shortened_to_fit_the_name_limit():
    long_name = "x" * 100
    _create(name=long_name)
    assert clone_name(long_name) == "x" * 93 + " (copy)"
    _create(name="x" * 93 + " (copy)")
    assert clone_name(long_name) == "x" * 91 + " (copy 2)"


def test_deleting_an_active_workflow_is_refused_with_a_message(admin_client):
    workflow = _active()
    url = f"/admin/workflows/workflow/{workflow.pk}/delete/"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "FLK-0103: cannot delete a workflow in status active" in page
    assert "successfully" not in page
    assert Workflow.objects.filter(pk=workflow.pk).exists()
    assert not _events("WORKFLOW_DELETED").exists() and not LogEntry.objects.exists()


def test_deleting_a_draft_goes_through_the_service_and_is_audited(admin_client):
    workflow = _create()
    url = f"/admin/workflows/workflow/{workflow.pk}/delete/"
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert "deleted successfully" in response.content.decode()
    assert not Workflow.objects.exists()
    _user_event("WORKFLOW_DELETED", workflow)


def test_bulk_delete_removes_drafts_and_reports_the_refused_active_ones(admin_client):
    draft, active = _create(name="draft"), _active(name="live")
    confirmation = _action(admin_client, "delete_selected", draft, active)
    assert "Are you sure" in confirmation.content.decode()
    response = _action(admin_client, "delete_selected", draft, active, post="yes")
    page = response.content.decode()
    assert "Live: FLK-0103 cannot delete a workflow in status active" in page
    assert "Deleted: 1" in page and "Successfully deleted" not in page
    assert list(Workflow.objects.values_list("name", flat=True)) == ["live"]
    _user_event("WORKFLOW_DELETED", draft)
    assert LogEntry.objects.get().object_repr == "draft"
