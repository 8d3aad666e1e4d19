"""The operators' console as a page-by-page contract (Django's test client; the browser tests
in tests/e2e/test_console_browser.py drive the same pages in chromium): the home dashboard,
sidebar sections, scannable lists, configuration pages and their buttons, templates by form,
the audit trail's chain check."""

import copy
import datetime
import re

import pytest
from django.db import connection

from executions.breakers import breaker_key
from executions.models import Execution
from executions.services import execution_start
from executors.runtime.breaker import breaker_for, breaker_state
from flowker.actors import Actor
from flowker.audit.models import AuditEvent
from providers.models import ProviderConfiguration
from tests.factories import guide_workflow, make_audit_event, make_provider_config
from tests.support.stub_server import StubResponse, StubServer
from workflows.models import Workflow
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db

TRIGGER = {"triggerType": "manual"}
BODY = {
    "name": "console",
    "nodes": [
        {"id": "t", "type": "trigger", "position": {"x": 0, "y": 0}, "data": TRIGGER},
        {"id": "log", "type": "action", "position": {"x": 200, "y": 0}, "data": {"action": "log"}},
    ],
    "edges": [{"id": "e1", "source": "t", "target": "log"}],
}


@pytest.fixture
def workflow():
    created = workflow_create(data=copy.deepcopy(BODY), actor=Actor.system())
    return workflow_activate(workflow=created, actor=Actor.system())


def _failed(workflow, code="FLK-0504", **fields):
    execution, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system(), **fields)
    Execution.objects.filter(pk=execution.pk).update(
        status="failed",
        completed_at=execution.started_at + datetime.timedelta(seconds=2),
        error={"code": code, "message": f"it failed with {code}"},
    )
    return Execution.objects.get(pk=execution.pk)


def _messages(response):
    return [str(message) for message in response.context["messages"]]


# --- Home and navigation --------------------------------------------------------------------


def test_home_shows_failures_open_breakers_with_next_trial_and_health(admin_client, workflow):
    failed = _failed(workflow, "FLK-0507")
    provider = make_provider_config()
    key = breaker_key("provider", provider.pk)
    storage = breaker_for(key).storage
    storage.opened_at = datetime.datetime(2025, 3, 1, 13, 45, 10, tzinfo=datetime.UTC)
    storage.state = "open"

    page = admin_client.get("/admin/").content.decode()

    assert 'id="console-dashboard"' in page and "<svg" in page
    failures = page[page.index('id="home-failures"') :]
    assert str(failed.pk)[-8:] in failures and "FLK-0507" in failures
    breakers = page[page.index('id="home-breakers"') : page.index('id="home-failures"')]
    assert f'data-key="{key}"' in breakers and provider.name in breakers
    assert "next trial 13:45:" in breakers  # opened_at + FLOWKER_BREAKER_RESET_SECONDS
    for check in ("database", "cache", "broker", "worker", "scheduler"):
        assert f'class="health-{check}"' in page


def test_home_figures_refresh_from_a_fragment_viewers_may_read(viewer_client, workflow):
    _failed(workflow)
    fragment = viewer_client.get("/admin/operations/home/")

    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert 'id="console-dashboard"' in text and "<html" not in text
    assert (
        'data-refresh-url="/admin/operations/home/"'
        in viewer_client.get("/admin/").content.decode()
    )


def test_every_page_lists_the_catalog_and_operations_sections_in_its_sidebar(admin_client):
    page = admin_client.get("/admin/providers/providerconfiguration/").content.decode()

    assert 'href="/admin/catalog/templates/"' in page
    assert 'href="/admin/operations/breakers/"' in page


def test_view_site_link_is_gone_rather_than_a_404(admin_client):
    page = admin_client.get("/admin/").content.decode()

    assert "View site" not in page


# --- Lists ------------------------------------------------------------------------------------


def test_execution_list_is_scannable_and_filters_by_error_code(admin_client, workflow):
    bad = _failed(workflow, "FLK-0512")
    other = _failed(workflow, "FLK-0504")

    page = admin_client.get("/admin/executions/execution/?error_code=FLK-0512").content.decode()

    assert f'title="{bad.pk}">…{str(bad.pk)[-8:]}<' in page
    assert str(other.pk) not in page
    assert 'class="flk-badge tone-bad">failed<' in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</span> <span class=\"flk-age\">", page)
    assert "<code>FLK-0512</code>" in page


def test_execution_list_finds_an_idempotency_key(admin_client, workflow):
    keyed = _failed(workflow, idempotency_key="order-4711")
    _failed(workflow)

    page = admin_client.get("/admin/executions/execution/?q=order-4711").content.decode()

    assert "1 result" in page and str(keyed.pk) in page


def test_execution_page_offers_only_the_transitions_its_status_allows(admin_client, workflow):
    failed = _failed(workflow)
    pending, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())

    failed_page = admin_client.get(f"/admin/executions/execution/{failed.pk}/change/")
    pending_page = admin_client.get(f"/admin/executions/execution/{pending.pk}/change/")

    assert [label for _, label in failed_page.context["execution_transitions"]] == [
        "Retry from start",
        "Retry from the failed step",
    ]
    assert [label for _, label in pending_page.context["execution_transitions"]] == ["Cancel"]


def test_bulk_retry_says_how_many_were_retried_and_refused(admin_client, workflow):
    failed = [_failed(workflow), _failed(workflow)]
    pending, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())

    response = admin_client.post(
        "/admin/executions/execution/",
        {
            "action": "retry_from_failed_step",
            "_selected_action": [str(e.pk) for e in [*failed, pending]],
        },
        follow=True,
    )

    messages = _messages(response)
    assert "Retried from the failed step: 2 of 3 (1 refused)" in messages
    assert any(m.startswith("New executions: ") for m in messages)
    assert Execution.objects.filter(retry_of__in=failed).count() == 2


# --- Configuration pages -------------------------------------------------------------------


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


def test_provider_page_tests_connectivity_and_shows_the_three_stages(operator_client, stub):
    stub.on("GET", "/", StubResponse(200, {"status": "up"}))
    provider = make_provider_config(
        base_url=stub.url, authentication={"type": "bearer", "config": {"token": "tok-123456"}}
    )
    url = f"/admin/providers/providerconfiguration/{provider.pk}/"

    response = operator_client.post(f"{url}act/test/", follow=True)

    assert any(m.startswith("PASSED") for m in _messages(response))
    page = response.content.decode()
    assert page.count('class="stage stage-passed"') == 3
    assert "tok-123456" not in page
    provider.refresh_from_db()
    assert provider.last_test_result["overallStatus"] == "passed"
    event = AuditEvent.objects.get(event_type="PROVIDER_CONFIG_TESTED")
    assert (event.actor_type, event.actor_id) == ("user", "operator")


def test_provider_page_buttons_follow_the_status(operator_client):
    provider = make_provider_config()
    url = f"/admin/providers/providerconfiguration/{provider.pk}/"

    def labels():
        page = operator_client.get(f"{url}change/")
        return [label for _, label in page.context["config_page"]["buttons"]]

    assert labels() == ["Test connectivity", "Disable", "Reset breaker"]
    operator_client.post(f"{url}act/disable/")
    assert ProviderConfiguration.objects.get(pk=provider.pk).status == "disabled"
    assert labels() == ["Test connectivity", "Enable", "Reset breaker"]
    assert operator_client.get(f"{url}act/enable/").status_code == 405
    assert operator_client.post(f"{url}act/delete/").status_code == 404


def test_provider_page_resets_its_breaker_and_lists_the_workflows_using_it(operator_client):
    provider = make_provider_config()
    workflow = workflow_create(data=guide_workflow(provider.pk), actor=Actor.system())
    key = breaker_key("provider", provider.pk)
    breaker_for(key).storage.state = "open"
    url = f"/admin/providers/providerconfiguration/{provider.pk}/"

    response = operator_client.post(f"{url}act/reset_breaker/", follow=True)

    assert "Breaker reset: 1" in _messages(response)
    assert breaker_state(key)["state"] == "closed"
    assert AuditEvent.objects.filter(event_type="BREAKER_RESET", actor_id="operator").exists()
    usage = response.content.decode().split('id="config-usage"')[1]
    assert f'/admin/workflows/workflow/{workflow.pk}/change/">{workflow.name}<' in usage


def test_graph_nodes_link_to_the_configuration_they_call(admin_client):
    provider = make_provider_config()
    workflow = workflow_create(data=guide_workflow(provider.pk), actor=Actor.system())

    page = admin_client.get(f"/admin/workflows/workflow/{workflow.pk}/change/").content.decode()

    assert (
        f'<a class="node-link" href="/admin/providers/providerconfiguration/{provider.pk}/change/">'
        in page
    )


# --- Templates and audit -----------------------------------------------------------------------


def test_a_workflow_is_built_from_a_template_by_form(operator_client):
    provider = make_provider_config()
    url = "/admin/catalog/templates/payment-fraud-check/build/"

    form = operator_client.get(url).content.decode()
    response = operator_client.post(
        url,
        {
            "workflowName": "from-template",
            "fraudProviderConfigId": str(provider.pk),
            "endpointName": "score-transaction",
            "threshold": "75",
            "webhookPath": "payments/new",
            "webhookMethod": "POST",
        },
    )

    assert provider.name in form
    workflow = Workflow.objects.get(name="from-template")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/workflows/workflow/{workflow.pk}/change/"
    assert workflow.status == "draft" and workflow.metadata["templateId"] == "payment-fraud-check"


def test_a_bad_template_parameter_is_shown_on_its_field(operator_client):
    response = operator_client.post(
        "/admin/catalog/templates/payment-fraud-check/build/",
        {"workflowName": "x", "fraudProviderConfigId": "", "webhookMethod": "POST"},
    )

    assert response.status_code == 200
    assert "fraudProviderConfigId" in response.context["form"].errors
    assert not Workflow.objects.exists()


def test_audit_list_shows_microseconds_and_links_the_resource(admin_client):
    provider = make_provider_config()
    event = AuditEvent.objects.get(resource_id=str(provider.pk))

    page = admin_client.get("/admin/audit/auditevent/").content.decode()

    assert event.created_at.strftime("%H:%M:%S.%f") in page
    assert f'href="/admin/providers/providerconfiguration/{provider.pk}/change/"' in page


def test_verify_chain_names_and_links_the_first_broken_event(admin_client):
    events = [make_audit_event(metadata={"n": n}) for n in range(3)]
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(
                "UPDATE audit_events SET metadata = %s WHERE id = %s", ['{"n": 9}', events[1].pk]
            )
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")

    response = admin_client.post(
        "/admin/audit/auditevent/",
        {"action": "verify_chain", "_selected_action": [str(events[2].pk)]},
        follow=True,
    )

    [message] = _messages(response)
    assert f"broken at event {events[1].event_id}" in message
    assert f'href="/admin/audit/auditevent/{events[1].pk}/change/"' in message


def test_dashboards_page_lists_each_workflow_status_once(admin_client, workflow):
    page = admin_client.get("/admin/operations/dashboards/").content.decode()

    assert page.count('id="workflows-active"') == 1
    assert page.count(">Active</th>") == 1


def test_step_timeline_bars_are_each_steps_share_of_the_longest(admin_client, workflow):
    from executions.models import ExecutionStep

    execution = _failed(workflow)
    for number, (node, took) in enumerate([("t", 250), ("log", 1000)], start=1):
        ExecutionStep.objects.create(
            execution=execution,
            step_number=number,
            node_id=node,
            node_type="action",
            step_name=node,
            status="completed",
            started_at=execution.started_at,
            completed_at=execution.started_at,
            duration_ms=took,
        )

    page = admin_client.get(f"/admin/executions/execution/{execution.pk}/change/")

    assert [s["bar_percent"] for s in page.context["execution_steps"]] == [25, 100]
    assert 'style="width: 25%"' in page.content.decode()
