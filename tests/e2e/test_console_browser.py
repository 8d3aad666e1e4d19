"""The operators' console in a real browser (headless chromium) against the live server, a real
worker and a provider stub: an operator finds a failing provider, disables it, sees executions
fail fast, re-enables it and retries the failures; a viewer sees the same pages but cannot act.
Screenshots land in var/screenshots/."""

import json
import time

import pytest
import requests

from executions.models import Execution
from providers.models import ProviderConfiguration
from tests.support.browser import log_in
from tests.support.stub_server import StubResponse
from workflows.models import Workflow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECRET = "tok-browser-secret-9876"
VERIFY_TOKEN = "browser-verify-token-1234"
PAYMENT = {"transactionId": "txn-1", "amount": 1500, "currency": "BRL", "customerId": "c-1"}


def _wait(predicate, what, timeout=45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _trigger(live_server, path="payments/received"):
    response = requests.post(
        f"{live_server.url}/v1/webhooks/{path}",
        json=PAYMENT,
        headers={"X-Webhook-Token": VERIFY_TOKEN},
        timeout=10,
    )
    assert response.status_code in (200, 201, 202), response.text
    return response.json()["executionId"]


def _terminal(execution_id):
    def done():
        execution = Execution.objects.filter(pk=execution_id).first()
        return execution if execution and execution.status in ("completed", "failed") else None

    return _wait(done, f"execution {execution_id} to end")


def _submit(page, selector):
    """Click a button that posts a form and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


def _messages(page):
    return page.locator("ul.messagelist li").all_inner_texts()


def _create_provider(page, stub):
    page.goto("/admin/providers/providerconfiguration/add/")
    page.fill("#id_name", "FraudShield")
    page.select_option("#id_provider_id", "http")
    config = {
        "base_url": stub.url,
        "authentication": {"type": "bearer", "config": {"token": SECRET}},
    }
    page.fill("#id_config", json.dumps(config))
    _submit(page, "input[name=_save]")
    page.wait_for_url("**/providerconfiguration/")
    return ProviderConfiguration.objects.get(name="FraudShield")


def _build_workflow(page, provider, screenshot):
    page.goto("/admin/catalog/templates/payment-fraud-check/")
    _submit(page, "#template-build")
    page.fill("#id_workflowName", "payments")
    page.select_option("#id_fraudProviderConfigId", str(provider.pk))
    page.fill("#id_verifyToken", VERIFY_TOKEN)
    screenshot("template")
    _submit(page, "#template-build-form input[type=submit]")
    page.wait_for_url("**/workflows/workflow/*/change/")
    workflow = Workflow.objects.get(name="payments")
    page.goto("/admin/workflows/workflow/")
    page.check(f"input[name=_selected_action][value='{workflow.pk}']")
    page.select_option("select[name=action]", "activate")
    _submit(page, "button[name=index]")
    assert "Activated: 1" in _messages(page)
    workflow.refresh_from_db()
    assert workflow.status == "active"
    return workflow


def test_operator_finds_a_failing_provider_disables_it_and_retries_the_failures(
    console_page, screenshot, live_server, worker, stub_server, operator_user
):
    page = console_page
    stub_server.on("GET", "/", StubResponse(200, {"status": "up"}))
    stub_server.on("POST", "/score-transaction", StubResponse(200, {"score": 12}))
    log_in(page, "operator", "operator-password")

    # A provider configuration with a secret: the secret never comes back to the page.
    provider = _create_provider(page, stub_server)
    page.goto(f"/admin/providers/providerconfiguration/{provider.pk}/change/")
    assert SECRET not in page.content()
    assert f'"****{SECRET[-4:]}"' in page.input_value("#id_config")
    _submit(page, "#config-actions input[value='Test connectivity']")
    assert any(m.startswith("PASSED") for m in _messages(page))
    assert page.locator("#config-test .stage").count() == 3
    screenshot("provider")

    # A workflow from the template, activated, triggered through its webhook.
    workflow = _build_workflow(page, provider, screenshot)
    good = _terminal(_trigger(live_server))
    assert good.status == "completed"
    page.goto(f"/admin/executions/execution/{good.pk}/change/")
    path = page.locator("#execution-path svg.flowker-graph")
    assert path.locator("g.node[data-status=completed]").count() == 4
    assert path.locator("g.node[data-status=skipped]").count() == 1
    assert page.locator("#execution-steps tr.step").count() == 4
    assert page.locator("#execution-transitions").count() == 0  # nothing valid to do
    screenshot("execution")

    # The provider fails: executions fail and its breaker opens, both on the dashboard.
    stub_server.on("POST", "/score-transaction", StubResponse(503, {"error": "down"}))
    failed = [_terminal(_trigger(live_server)) for _ in range(2)]
    assert [e.status for e in failed] == ["failed", "failed"]
    page.goto("/admin/")
    assert page.locator(f"#home-breakers tr[data-key='provider:{provider.pk}']").count() == 1
    failures = page.locator("#home-failures").inner_text()
    assert str(failed[0].pk)[-8:] in failures and "FLK-05" in failures
    screenshot("dashboard")

    # Disabled, the provider makes new executions fail fast with FLK-0512.
    page.goto(f"/admin/providers/providerconfiguration/{provider.pk}/change/")
    _submit(page, "#config-actions input[value='Disable']")
    assert "Disabled: 1" in _messages(page)
    fast = _terminal(_trigger(live_server))
    assert fast.status == "failed" and fast.error["code"] == "FLK-0512"
    page.goto("/admin/executions/execution/?error_code=FLK-0512")
    assert page.locator("#result_list tbody tr").count() == 1

    # Re-enabled and reset, the failures are retried from their failed step in one go.
    stub_server.on("POST", "/score-transaction", StubResponse(200, {"score": 12}))
    page.goto(f"/admin/providers/providerconfiguration/{provider.pk}/change/")
    _submit(page, "#config-actions input[value='Enable']")
    _submit(page, "#config-actions input[value='Reset breaker']")
    assert "Breaker reset: 1" in _messages(page)
    page.goto(
        f"/admin/executions/execution/?status__exact=failed&workflow__id__exact={workflow.pk}"
    )
    page.check("#action-toggle")
    page.select_option("select[name=action]", "retry_from_failed_step")
    _submit(page, "button[name=index]")
    assert "Retried from the failed step: 3" in _messages(page)
    screenshot("retried")
    retried = list(Execution.objects.filter(retry_of__isnull=False))
    assert len(retried) == 3
    assert {_terminal(e.pk).status for e in retried} == {"completed"}


def test_viewer_sees_every_page_but_is_offered_no_action(
    console_page, screenshot, live_server, worker, stub_server, viewer_user
):
    from tests.factories import make_executor_config, make_provider_config

    page = console_page
    provider = make_provider_config(base_url=stub_server.url)
    executor = make_executor_config(provider)
    log_in(page, "viewer", "viewer-password")

    assert page.locator("#console-dashboard").count() == 1
    page.goto(f"/admin/providers/providerconfiguration/{provider.pk}/change/")
    assert page.locator("#config-state").count() == 1
    assert page.locator("#config-actions").count() == 0
    page.goto("/admin/providers/providerconfiguration/")
    assert page.locator("select[name=action]").count() == 0
    page.goto(f"/admin/executors/executorconfiguration/{executor.pk}/change/")
    assert page.locator("#config-test").inner_text().strip().endswith("Not tested yet.")
    assert page.locator("#config-actions").count() == 0
    screenshot("executor")
    page.goto("/admin/operations/breakers/")
    assert page.locator("#breakers input[value=Reset]").count() == 0
    screenshot("breakers")
    page.goto("/admin/audit/auditevent/")
    assert page.locator("#result_list tbody tr").count() >= 1
    assert page.locator("select[name=action]").count() == 0  # verifying the chain is an action
    screenshot("audit")
    page.goto("/admin/catalog/templates/payment-fraud-check/")
    assert page.locator("#template-build").count() == 0
    # A crafted POST with a valid CSRF token is refused all the same.
    token = page.context.cookies()[0]["value"] if page.context.cookies() else ""
    csrf = next((c["value"] for c in page.context.cookies() if c["name"] == "csrftoken"), token)
    refused = page.request.post(
        f"/admin/providers/providerconfiguration/{provider.pk}/act/disable/",
        headers={"X-CSRFToken": csrf, "Referer": live_server.url + "/admin/"},
    )
    assert refused.status == 403
    provider.refresh_from_db()
    assert provider.status == "active"
    # The last screenshot shows the home in the dark theme (Django's admin follows the system).
    page.emulate_media(color_scheme="dark")
    page.goto("/admin/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)"


def test_graph_fits_a_1280_wide_screen(
    console_page, screenshot, live_server, worker, stub_server, operator_user
):
    from flowker.actors import Actor
    from tests.factories import guide_workflow, make_provider_config
    from workflows.services import workflow_create

    page = console_page
    provider = make_provider_config(base_url=stub_server.url)
    workflow = workflow_create(data=guide_workflow(provider.pk), actor=Actor.system())
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, "operator", "operator-password")
    page.goto(f"/admin/workflows/workflow/{workflow.pk}/change/")

    boxes = page.evaluate(
        """() => {
        const frame = document.querySelector('.flowker-graph-frame');
        const area = frame.getBoundingClientRect();
        return {
            area: {left: area.left, right: area.left + Math.max(frame.scrollWidth, area.width)},
            page: document.documentElement.scrollWidth,
            nodes: [...frame.querySelectorAll('g.node')].map(n => {
                const r = n.getBoundingClientRect();
                return {id: n.dataset.nodeId, left: r.left, right: r.right, width: r.width};
            }),
        };
    }"""
    )
    assert len(boxes["nodes"]) == 5
    for node in boxes["nodes"]:
        assert node["width"] > 40, node
        assert node["left"] >= boxes["area"]["left"] - 1, node
        assert node["right"] <= boxes["area"]["right"] + 1, node
        assert node["right"] <= 1280, node  # visible without scrolling the page sideways
    assert boxes["page"] <= 1280
    link = page.locator(".flowker-graph a.node-link").first
    assert link.get_attribute("href").endswith(f"/providerconfiguration/{provider.pk}/change/")
