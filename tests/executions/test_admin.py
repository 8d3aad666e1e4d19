"""Executions, circuit breakers and dashboards in the operators' console: read-only records with
their path drawn on the workflow, cancel and retry through the execution services (audited as
the admin user, refusals shown as messages), breaker state and reset, and the dashboard chart."""

import copy
import datetime
import re
import uuid
import xml.etree.ElementTree as ET

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from executions.admin import CHART_HEIGHT, CHART_MARGIN, stacked_bar_chart_svg, timeseries_bars
from executions.models import Execution, ExecutionStep
from executions.services import execution_start
from executors.runtime.breaker import breaker_for, breaker_state
from flowker.actors import Actor
from flowker.audit.models import AuditEvent
from tests.factories import make_executor_config, make_provider_config
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/executions/execution/"
BREAKERS = "/admin/operations/breakers/"
BREAKER_RESET = "/admin/operations/breakers/reset/"
DASHBOARDS = "/admin/operations/dashboards/"
SVG_NS = "{http://www.w3.org/2000/svg}"

BODY = {
    "name": "wf",
    "nodes": [
        {
            "id": "t",
            "type": "trigger",
            "position": {"x": 0, "y": 0},
            "data": {"triggerType": "manual"},
        },
        {"id": "log", "type": "action", "position": {"x": 200, "y": 0}, "data": {"action": "log"}},
    ],
    "edges": [{"id": "e1", "source": "t", "target": "log"}],
}


def _active_workflow(body):
    created = workflow_create(data=copy.deepcopy(body), actor=Actor.system())
    return workflow_activate(workflow=created, actor=Actor.system())


@pytest.fixture
def workflow():
    return _active_workflow(BODY)


def _start(workflow, **input_data):
    execution, _ = execution_start(workflow=workflow, input_data=input_data, actor=Actor.system())
    return execution


def _finish(execution, status, *, seconds=1.5, error=None):
    """Move an execution to a terminal status directly (no worker runs in these tests)."""
    started = Execution.objects.get(pk=execution.pk).started_at
    Execution.objects.filter(pk=execution.pk).update(
        status=status, completed_at=started + datetime.timedelta(seconds=seconds), error=error
    )
    execution.refresh_from_db()
    return execution


def _step(execution, number, node_id, status, **fields):
    now = datetime.datetime.now(datetime.UTC)
    return ExecutionStep.objects.create(
        execution=execution,
        step_number=number,
        node_id=node_id,
        node_type="action",
        step_name=node_id,
        status=status,
        started_at=now,
        completed_at=now,
        **fields,
    )


def _failed(workflow):
    """An execution whose `log` step failed after two attempts against a busy provider."""
    execution = _start(workflow, amount=10, currency="BRL")
    _step(
        execution,
        1,
        "log",
        "failed",
        attempts=[{"attempt": 1}, {"attempt": 2}],
        call_details={"method": "POST", "url": "https://p.example/x", "statusCode": 503},
        duration_ms=1234,
        error_code="FLK-0504",
        error_message="provider answered 503",
    )
    error = {
        "code": "FLK-0504",
        "message": "node log failed",
        "nodeId": "log",
        "stepNumber": 1,
        "output": {"reason": "<b>busy</b>"},
    }
    return _finish(execution, "failed", error=error)


def _change_url(execution):
    return f"{CHANGELIST}{execution.pk}/change/"


def _transition_url(execution, name):
    return f"{CHANGELIST}{execution.pk}/transition/{name}/"


def _action(client, action, *executions):
    selected = [str(execution.pk) for execution in executions]
    response = client.post(
        CHANGELIST, {"action": action, "_selected_action": selected}, follow=True
    )
    assert response.status_code == 200
    return response


def _messages(response):
    return [str(message) for message in response.context["messages"]]


def _status(execution):
    return Execution.objects.get(pk=execution.pk).status


def _user_events(event_type, resource_id):
    return list(
        AuditEvent.objects.filter(
            event_type=event_type,
            resource_id=str(resource_id),
            actor_type="user",
            actor_id="admin",
        )
    )


def _svg(page, css_class):
    """The inline `<svg>` of the given class on a page, parsed."""
    pattern = rf'<svg xmlns="http://www.w3.org/2000/svg"[^>]*class="{css_class}".*?</svg>'
    match = re.search(pattern, page, re.DOTALL)
    assert match is not None, f"no {css_class} picture on the page"
    return ET.fromstring(match.group(0))


# --- Executions: list and change page ------------------------------------------------------


def test_changelist_shows_status_workflow_duration_and_error_code(admin_client, workflow):
    failed = _failed(workflow)
    pending = _start(workflow)

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    page = response.content.decode()
    assert str(failed.pk) in page and str(pending.pk) in page
    assert f'<a href="/admin/workflows/workflow/{workflow.pk}/change/">wf</a>' in page
    assert "1.5 s" in page and "FLK-0504" in page


def test_changelist_names_a_deleted_workflow_by_its_id(admin_client, workflow):
    execution = _start(workflow)
    gone = uuid.uuid4()
    Execution.objects.filter(pk=execution.pk).update(workflow_id=gone)

    page = admin_client.get(CHANGELIST).content.decode()

    assert str(execution.pk) in page  # not dropped by a join to the missing workflow
    assert f"deleted workflow {gone}" in page


def test_changelist_searches_by_id_and_filters_by_status_and_workflow(admin_client, workflow):
    failed = _failed(workflow)
    pending = _start(workflow)
    other = _start(_active_workflow({**BODY, "name": "other"}))

    def listed(query):
        response = admin_client.get(CHANGELIST + query)
        assert response.status_code == 200
        return {row.pk for row in response.context["cl"].result_list}

    assert listed(f"?q={failed.pk}") == {failed.pk}
    assert listed(f"?q={str(pending.pk)[-12:]}") == {pending.pk}
    assert listed("?q=not-an-id") == set()
    assert listed("?status__exact=failed") == {failed.pk}
    assert listed(f"?workflow__id__exact={workflow.pk}") == {failed.pk, pending.pk}
    assert listed(f"?workflow__id__exact={other.workflow_id}") == {other.pk}


def test_change_page_draws_the_path_with_each_steps_status(admin_client, workflow):
    execution = _failed(workflow)

    response = admin_client.get(_change_url(execution))

    assert response.status_code == 200
    svg = _svg(response.content.decode(), "flowker-graph")
    nodes = {g.get("data-node-id"): g for g in svg.iter(f"{SVG_NS}g") if g.get("data-node-id")}
    assert "status-failed" in nodes["log"].get("class")
    assert "#1 · 1234 ms" in "".join(nodes["log"].itertext())
    assert "status-completed" in nodes["t"].get("class")  # the trigger fired
    edge = next(p for p in svg.iter(f"{SVG_NS}path") if p.get("data-edge-id") == "e1")
    assert "edge-taken" in edge.get("class")


def test_change_page_lists_steps_error_and_documents(admin_client, workflow):
    execution = _failed(workflow)

    page = admin_client.get(_change_url(execution)).content.decode()

    row = re.search(r'<tr class="step step-failed" data-node-id="log">(.*?)</tr>', page, re.DOTALL)
    cells = [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td>(.*?)</td>", row.group(1), re.DOTALL)
    ]
    assert cells[0] == "1" and cells[2] == "failed" and cells[3] == "1.2 s"
    assert cells[4] == "2" and cells[5] == "503"
    assert cells[6] == "FLK-0504 provider answered 503"
    error = re.search(r'<div class="module" id="execution-error">(.*?)</div>', page, re.DOTALL)
    assert "node log failed" in error.group(1)
    assert "&lt;b&gt;busy&lt;/b&gt;" in error.group(1) and "<b>busy</b>" not in page
    shown_input = re.search(r'id="execution-input">.*?<pre[^>]*>(.*?)</pre>', page, re.DOTALL)
    assert (
        shown_input.group(1)
        == "{\n  &quot;amount&quot;: 10,\n  &quot;currency&quot;: &quot;BRL&quot;\n}"
    )


def test_change_page_of_a_pending_execution_draws_nothing_reached(admin_client, workflow):
    execution = _start(workflow)

    response = admin_client.get(_change_url(execution))

    assert response.status_code == 200
    page = response.content.decode()
    svg = _svg(page, "flowker-graph")
    log = next(g for g in svg.iter(f"{SVG_NS}g") if g.get("data-node-id") == "log")
    assert "status-not-reached" in log.get("class")
    assert "No steps recorded yet." in page and 'id="execution-error"' not in page


def test_executions_cannot_be_added_changed_or_deleted(admin_client, workflow):
    execution = _failed(workflow)

    assert admin_client.get(CHANGELIST + "add/").status_code == 403
    assert admin_client.post(_change_url(execution), {"status": "completed"}).status_code == 403
    assert (
        admin_client.post(f"{CHANGELIST}{execution.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert _status(execution) == "failed"


# --- Executions: cancel and retry ----------------------------------------------------------


def test_cancel_action_cancels_a_pending_execution_as_the_admin_user(admin_client, workflow):
    execution = _start(workflow)

    response = _action(admin_client, "cancel", execution)

    assert _status(execution) == "cancelled"
    assert "Cancelled: 1" in _messages(response)
    assert len(_user_events("EXECUTION_CANCELLED", execution.pk)) == 1


def test_cancel_action_on_a_completed_execution_shows_flk_0511(admin_client, workflow):
    execution = _finish(_start(workflow), "completed")

    response = _action(admin_client, "cancel", execution)

    assert _status(execution) == "completed"
    assert any("FLK-0511" in message and "completed" in message for message in _messages(response))
    assert not AuditEvent.objects.filter(event_type="EXECUTION_CANCELLED").exists()


def test_retry_from_start_action_starts_a_new_execution_that_retries_the_failed_one(
    admin_client, workflow
):
    failed = _failed(workflow)

    response = _action(admin_client, "retry_from_start", failed)

    retried = Execution.objects.get(retry_of=failed)
    assert retried.status == "pending" and retried.input_data == failed.input_data
    assert "Retried from start: 1" in _messages(response)
    assert len(_user_events("EXECUTION_RETRIED", failed.pk)) == 1
    assert len(_user_events("EXECUTION_STARTED", retried.pk)) == 1


def test_retry_from_failed_step_action_keeps_the_completed_steps(admin_client):
    body = copy.deepcopy(BODY)
    body["nodes"].append(
        {"id": "log2", "type": "action", "position": {"x": 400, "y": 0}, "data": {"action": "log"}}
    )
    body["edges"].append({"id": "e2", "source": "log", "target": "log2"})
    execution = _start(_active_workflow(body))
    _step(execution, 1, "log", "completed", output={"action": "log"})
    _step(execution, 2, "log2", "failed", error_code="FLK-0504", error_message="boom")
    failed = _finish(execution, "failed")

    _action(admin_client, "retry_from_failed_step", failed)

    retried = Execution.objects.get(retry_of=failed)
    assert list(retried.steps.values_list("node_id", "status")) == [("log", "completed")]


def test_retry_of_a_pending_execution_shows_flk_0511(admin_client, workflow):
    execution = _start(workflow)

    response = _action(admin_client, "retry_from_start", execution)

    assert any("FLK-0511" in message for message in _messages(response))
    assert not Execution.objects.filter(retry_of=execution).exists()


def test_change_page_buttons_cancel_and_retry_through_the_same_services(admin_client, workflow):
    pending = _start(workflow)
    failed = _failed(workflow)

    page = admin_client.get(_change_url(pending)).content.decode()
    assert f'action="{_transition_url(pending, "cancel")}"' in page

    cancelled = admin_client.post(_transition_url(pending, "cancel"))
    assert cancelled.status_code == 302 and cancelled["Location"] == _change_url(pending)
    assert _status(pending) == "cancelled"
    assert len(_user_events("EXECUTION_CANCELLED", pending.pk)) == 1

    retried = admin_client.post(_transition_url(failed, "retry_from_start"))
    new = Execution.objects.get(retry_of=failed)
    assert retried.status_code == 302 and retried["Location"] == _change_url(new)


def test_change_page_button_refusal_is_a_message_on_the_same_page(admin_client, workflow):
    completed = _finish(_start(workflow), "completed")

    response = admin_client.post(_transition_url(completed, "cancel"), follow=True)

    assert response.redirect_chain == [(_change_url(completed), 302)]
    assert any("FLK-0511" in message for message in _messages(response))


def test_transition_urls_refuse_get_and_unknown_names(admin_client, workflow):
    execution = _start(workflow)

    assert admin_client.get(_transition_url(execution, "cancel")).status_code == 405
    assert admin_client.post(_transition_url(execution, "delete")).status_code == 404
    assert admin_client.post(f"{CHANGELIST}{uuid.uuid4()}/transition/cancel/").status_code == 404
    assert _status(execution) == "pending"


def test_staff_who_may_only_view_executions_cannot_cancel_or_retry(workflow):
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_execution"))
    client = Client()
    client.force_login(viewer)
    execution = _start(workflow)

    page = client.get(_change_url(execution))
    listing = client.get(CHANGELIST)

    assert page.status_code == 200 and 'id="execution-transitions"' not in page.content.decode()
    assert listing.context["action_form"] is None  # no actions offered
    _action(client, "cancel", execution)
    assert client.post(_transition_url(execution, "cancel")).status_code == 403
    assert _status(execution) == "pending"


# --- Circuit breakers ----------------------------------------------------------------------


OPENED_AT = datetime.datetime(2025, 3, 1, 13, 45, 10, tzinfo=datetime.UTC)


def _breaker_row(page, key):
    row = re.search(
        rf'<tr class="breaker breaker-([\w-]+)" data-key="{key}">(.*?)</tr>', page, re.DOTALL
    )
    assert row is not None, f"no row for {key}"
    failures = re.search(r'class="breaker-failures">(\d+)<', row.group(2)).group(1)
    return row.group(1), int(failures), row.group(2)


def _open(key, failures=5):
    """Open a breaker the way the engine's breaker would have: through its shared storage."""
    storage = breaker_for(key).storage
    storage.opened_at = OPENED_AT
    storage.state = "open"
    for _ in range(failures):
        storage.increment_counter()


def test_breakers_page_lists_every_configuration_with_its_state(admin_client):
    provider = make_provider_config()
    executor = make_executor_config(provider)

    response = admin_client.get(BREAKERS)

    assert response.status_code == 200
    page = response.content.decode()
    state, failures, row = _breaker_row(page, f"provider:{provider.pk}")
    assert (state, failures) == ("closed", 0)
    assert f'href="/admin/providers/providerconfiguration/{provider.pk}/change/"' in row
    state, _, row = _breaker_row(page, f"executor:{executor.pk}")
    assert state == "closed" and "fraud-score" in row


def test_breaker_reset_closes_an_open_breaker_and_audits_it(admin_client):
    provider = make_provider_config()
    key = f"provider:{provider.pk}"
    _open(key, failures=3)
    state, failures, row = _breaker_row(admin_client.get(BREAKERS).content.decode(), key)
    assert (state, failures) == ("open", 3) and "2025-03-01 13:45:10 UTC" in row

    response = admin_client.post(BREAKER_RESET, {"key": key}, follow=True)

    assert response.redirect_chain == [(BREAKERS, 302)]
    assert breaker_state(key)["state"] == "closed" and breaker_state(key)["failures"] == 0
    assert _breaker_row(response.content.decode(), key)[:2] == ("closed", 0)
    (event,) = _user_events("BREAKER_RESET", provider.pk)
    assert (event.action, event.resource_type) == ("RESET", "breaker")
    assert event.metadata == {"breaker.key": key}


def test_breaker_reset_form_needs_its_csrf_token(admin_user):
    provider = make_provider_config()
    key = f"provider:{provider.pk}"
    _open(key)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    assert client.post(BREAKER_RESET, {"key": key}).status_code == 403
    assert breaker_state(key)["state"] == "open"
    assert not AuditEvent.objects.filter(event_type="BREAKER_RESET").exists()

    page = client.get(BREAKERS).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(BREAKER_RESET, {"key": key, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and breaker_state(key)["state"] == "closed"


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (f"provider:{uuid.uuid4()}", "FLK-0290"),
        (f"executor:{uuid.uuid4()}", "FLK-0250"),
        ("provider:not-a-uuid", "FLK-0302"),
        ("webhook:019c96a0-0ac0-7de9-9f53-9cf842a2ee5a", "FLK-0302"),
    ],
)
def test_breaker_reset_of_an_unknown_breaker_is_an_error_message(admin_client, key, code):
    response = admin_client.post(BREAKER_RESET, {"key": key}, follow=True)

    assert response.status_code == 200
    assert any(code in message for message in _messages(response))
    assert not AuditEvent.objects.filter(event_type="BREAKER_RESET").exists()


def test_breaker_reset_is_not_audited_while_the_storage_is_unreachable(admin_client, monkeypatch):
    provider = make_provider_config()
    unknown = {"state": "unknown", "failures": 0, "openedAt": None}
    monkeypatch.setattr("executions.breakers.breaker_state", lambda key: unknown)

    response = admin_client.post(BREAKER_RESET, {"key": f"provider:{provider.pk}"}, follow=True)

    assert any("FLK-0006" in message for message in _messages(response))
    assert not AuditEvent.objects.filter(event_type="BREAKER_RESET").exists()


def test_breaker_reset_refuses_get(admin_client):
    assert admin_client.get(BREAKER_RESET).status_code == 405


# --- Dashboards ----------------------------------------------------------------------------


def _figure(page, figure_id):
    return int(re.search(rf'<td id="{figure_id}">(\d+)</td>', page).group(1))


def test_dashboards_page_shows_the_figures_chart_and_performance(admin_client, workflow):
    _finish(_start(workflow), "completed", seconds=1.5)
    _finish(_start(workflow), "failed", seconds=0.5)
    _start(workflow)

    response = admin_client.get(DASHBOARDS)

    assert response.status_code == 200
    page = response.content.decode()
    assert (_figure(page, "workflows-total"), _figure(page, "workflows-active")) == (1, 1)
    counts = {
        name: _figure(page, f"executions-{name}")
        for name in ("total", "completed", "failed", "pending", "running", "cancelled")
    }
    assert counts == {
        "total": 3,
        "completed": 1,
        "failed": 1,
        "pending": 1,
        "running": 0,
        "cancelled": 0,
    }

    chart = _svg(page, "flowker-chart")
    bars = [g for g in chart.iter(f"{SVG_NS}g") if g.get("class") == "bar"]
    assert len(bars) == 25  # every hour of the window, the current one included
    heights = {
        rect.get("class"): float(rect.get("height")) for rect in bars[-1].iter(f"{SVG_NS}rect")
    }
    assert heights["bar-completed"] == heights["bar-failed"] == heights["bar-other"] > 0
    assert all(float(r.get("height")) == 0 for g in bars[:-1] for r in g.iter(f"{SVG_NS}rect"))

    row = re.search(rf'<tr data-workflow-id="{workflow.pk}">(.*?)</tr>', page, re.DOTALL).group(1)
    assert f'<a href="/admin/workflows/workflow/{workflow.pk}/change/">wf</a>' in row
    assert '<td class="total">2</td>' in row and '<td class="success-rate">50.0 %</td>' in row
    assert '<td class="p50">500 ms</td>' in row and '<td class="p95">1.5 s</td>' in row


def test_dashboards_page_renders_without_any_executions(admin_client):
    response = admin_client.get(DASHBOARDS)

    assert response.status_code == 200
    page = response.content.decode()
    assert _figure(page, "executions-total") == 0
    assert "No terminal executions in the last 24 hours." in page
    _svg(page, "flowker-chart")


# --- The chart builder ---------------------------------------------------------------------


def test_chart_builder_escapes_every_label_and_parses_as_xml():
    hostile = "<script>alert(\"x\")</script> & 'q' \x01"
    svg = stacked_bar_chart_svg(
        [{"label": hostile, "tooltip": hostile, "values": {"completed": 1}}], title=hostile
    )

    assert "<script>" not in svg
    root = ET.fromstring(svg)
    clean = hostile.replace("\x01", "")
    assert root.find(f"{SVG_NS}title").text == clean
    bar = root.find(f"{SVG_NS}g")
    assert bar.get("data-label") == clean and bar.find(f"{SVG_NS}title").text == clean
    labels = [t.text for t in root.iter(f"{SVG_NS}text") if t.get("class") == "x-label"]
    assert labels == [clean]


def test_chart_builder_stacks_series_in_proportion_to_the_tallest_bar():
    svg = stacked_bar_chart_svg(
        [
            {"label": "a", "values": {"completed": 2, "failed": 1, "other": 1}},
            {"label": "b", "values": {"completed": 1, "failed": 0, "other": 0}},
        ],
        title="t",
    )

    bars = [g for g in ET.fromstring(svg).iter(f"{SVG_NS}g") if g.get("class") == "bar"]
    first = {r.get("class"): r for r in bars[0].iter(f"{SVG_NS}rect")}
    plot_height = CHART_HEIGHT - CHART_MARGIN["top"] - CHART_MARGIN["bottom"]
    assert sum(float(r.get("height")) for r in first.values()) == pytest.approx(plot_height)
    assert float(first["bar-completed"].get("height")) == pytest.approx(plot_height / 2)
    # Stacked bottom up: completed at the bottom, failed on it, the rest on top.
    assert float(first["bar-other"].get("y")) < float(first["bar-failed"].get("y"))
    assert float(first["bar-failed"].get("y")) < float(first["bar-completed"].get("y"))
    second = {r.get("class"): float(r.get("height")) for r in bars[1].iter(f"{SVG_NS}rect")}
    assert second["bar-completed"] == pytest.approx(plot_height / 4)


def test_chart_builder_draws_an_empty_chart_without_dividing_by_zero():
    for bars in ([], [{"label": "00:00", "values": {"completed": 0}}]):
        root = ET.fromstring(stacked_bar_chart_svg(bars, title="empty"))
        assert root.get("class") == "flowker-chart"


def test_timeseries_buckets_become_completed_failed_cancelled_and_the_rest():
    start = datetime.datetime(2025, 3, 1, 13, 0, tzinfo=datetime.UTC)
    item = {
        "bucketStart": start,
        "total": 6,
        "completed": 2,
        "failed": 1,
        "pending": 1,
        "running": 1,
        "cancelled": 1,
    }

    (bar,) = timeseries_bars([item])

    assert bar["label"] == "13:00"
    assert bar["values"] == {"completed": 2, "failed": 1, "cancelled": 1, "other": 2}
    assert bar["tooltip"].startswith("2025-03-01 13:00 UTC: 6 executions")


# --- Access --------------------------------------------------------------------------------


def test_console_index_links_the_operations_pages(admin_client):
    page = admin_client.get("/admin/").content.decode()

    assert f'href="{BREAKERS}">Circuit breakers</a>' in page
    assert f'href="{DASHBOARDS}">Dashboards</a>' in page
    assert "Reset a circuit breaker" not in page


ANY_ID = "019c96a0-0ac0-7de9-9f53-9cf842a2ee5a"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", CHANGELIST),
        ("get", f"{CHANGELIST}{ANY_ID}/change/"),
        ("post", f"{CHANGELIST}{ANY_ID}/transition/cancel/"),
        ("get", BREAKERS),
        ("post", BREAKER_RESET),
        ("get", DASHBOARDS),
    ],
)
def test_anonymous_visitors_are_sent_to_the_login_page(client, method, url):
    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
