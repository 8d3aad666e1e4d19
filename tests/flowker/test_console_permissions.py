"""Who may act in the console: every admin action and every custom console URL declares the
permission it needs; a view-only user sees the pages but is refused each action, an operator
is offered them. The checks enumerate the admin site, so a new action or URL is covered."""

import copy

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.forms.models import model_to_dict
from django.test import RequestFactory

from executions.services import execution_start
from flowker.actors import Actor
from flowker.apikeys.services import api_key_create
from flowker.audit.models import AuditCheckpoint, AuditEvent
from flowker.audit.services import audit_verify
from flowker.permissions import RUN_ACTIONS
from tests.factories import (
    make_audit_event,
    make_executor_config,
    make_provider_config,
    with_webhook,
)
from workflows.models import Workflow
from workflows.services import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db

# The URLs Django's ModelAdmin gives every model; anything else in get_urls() is ours.
STANDARD_URL_SUFFIXES = ("_changelist", "_add", "_history", "_delete", "_change")

WORKFLOW = {
    "name": "permissions",
    "nodes": [
        {"id": "t", "type": "trigger", "position": {"x": 0, "y": 0},
         "data": {"triggerType": "manual"}},
        {"id": "log", "type": "action", "position": {"x": 200, "y": 0}, "data": {"action": "log"}},
    ],
    "edges": [{"id": "e1", "source": "t", "target": "log"}],
}  # fmt: skip


def _actions(model_admin):
    """(name, function) of every action the ModelAdmin defines, before permission filtering."""
    return [(name, func) for func, name, _ in model_admin._get_base_actions()]


def _custom_urls():
    """(pattern, view) of every console URL that is not one of Django's standard admin URLs."""
    site_urls = admin.site.get_urls()
    found = [(p, p.callback) for p in site_urls if getattr(p, "name", None) and p.callback]
    found = [(p, view) for p, view in found if p.name not in {"index", "login", "logout"}]
    standard_site = {
        "password_change",
        "password_change_done",
        "jsi18n",
        "view_on_site",
        "app_list",
        "autocomplete",
    }
    found = [(p, view) for p, view in found if p.name not in standard_site]
    for model_admin in admin.site._registry.values():
        for pattern in model_admin.get_urls():
            name = getattr(pattern, "name", None)
            if name is None or name.endswith(STANDARD_URL_SUFFIXES):
                continue
            found.append((pattern, pattern.callback))
    return found


@pytest.fixture
def one_of_each(viewer_user):
    """One row of every model the console lists, for the actions to be tried on."""
    provider = make_provider_config()
    body = with_webhook(
        WORKFLOW, "permissions", triggerType="webhook", verify_token="permissions-token"
    )
    workflow = workflow_activate(
        workflow=workflow_create(data=body, actor=Actor.system()), actor=Actor.system()
    )
    execution, _ = execution_start(workflow=workflow, input_data={}, actor=Actor.system())
    draft = workflow_create(data={**copy.deepcopy(WORKFLOW), "name": "draft"}, actor=Actor.system())
    from django.utils import timezone

    from executions.models import ExecutionCallback
    from flowker.sealing import seal

    callback = ExecutionCallback.objects.create(
        execution=execution,
        event="completed",
        url="https://hooks.example.com/flowker",
        secret=seal("callback-secret"),
        body="{}",
        next_attempt_at=timezone.now(),
    )
    audited = make_audit_event()
    audit_verify(event=audited)  # records a checkpoint there
    rows = [
        api_key_create(name="permissions", actor=Actor.system())[0],
        provider,
        make_executor_config(provider),
        draft,
        execution,
        callback,
        workflow.webhook_routes.get(),
        audited,
        AuditCheckpoint.objects.get(event=audited),
        viewer_user,
        Group.objects.get(name="viewer"),
    ]
    return {type(row): row for row in rows} | {Workflow: draft}


def _state(row):
    model = type(row)
    return model.objects.count(), model_to_dict(model.objects.get(pk=row.pk))


def test_every_action_declares_the_permission_it_needs():
    undeclared = [
        f"{model.__name__}.{name}"
        for model, model_admin in admin.site._registry.items()
        for name, func in _actions(model_admin)
        if not getattr(func, "allowed_permissions", None)
    ]
    assert undeclared == []


def test_state_changing_actions_need_run_actions():
    for model_admin in admin.site._registry.values():
        for name, func in _actions(model_admin):
            if name != "delete_selected":
                assert tuple(func.allowed_permissions) == ("run",), name


def test_a_viewer_is_offered_no_action_and_each_is_refused(viewer_client, viewer_user, one_of_each):
    request = RequestFactory().get("/admin/")
    request.user = viewer_user
    tried = []
    for model, model_admin in admin.site._registry.items():
        assert model_admin.get_actions(request) == {}, model.__name__
        for name, _ in _actions(model_admin):
            row = one_of_each[model]
            before, audited = _state(row), AuditEvent.objects.count()
            url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            payload = {"action": name, "_selected_action": [str(row.pk)], "post": "yes"}
            response = viewer_client.post(url, payload)
            assert response.status_code in (200, 302, 403), (model.__name__, name)
            assert _state(row) == before, f"{model.__name__}.{name} ran for a viewer"
            assert AuditEvent.objects.count() == audited, f"{model.__name__}.{name} audited"
            tried.append(f"{model.__name__}.{name}")
    # The actions issue 12 names, so the enumeration cannot silently find nothing.
    for expected in [
        "ApiKey.revoke_selected",
        "ProviderConfiguration.enable",
        "ProviderConfiguration.disable",
        "ProviderConfiguration.test_connectivity",
        "ExecutorConfiguration.activate",
        "ExecutorConfiguration.disable",
        "Workflow.activate",
        "Workflow.deactivate",
        "Workflow.move_to_draft",
        "Workflow.clone",
        "Execution.cancel",
        "AuditEvent.verify_chain",
    ]:
        assert expected in tried


def test_an_operator_is_offered_every_run_action(operator_user):
    request = RequestFactory().get("/admin/")
    request.user = operator_user
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label == "auth":
            continue  # users and groups stay with superusers
        offered = model_admin.get_actions(request)
        for name, func in _actions(model_admin):
            if "run" in func.allowed_permissions:
                assert name in offered, f"{model.__name__}.{name}"


def test_every_custom_console_url_declares_its_permission():
    urls = _custom_urls()
    names = {pattern.name for pattern, _ in urls}
    assert {
        "operations_breaker_reset",
        "executions_execution_transition",
        "providers_providerconfiguration_act",
        "executors_executorconfiguration_act",
        "catalog_template_build",
    } <= names
    for pattern, view in urls:
        assert hasattr(view, "required_permission"), pattern.name
        permission = view.required_permission
        reads, adds = ".view_" in str(permission), ".add_" in str(permission)
        assert permission in (None, RUN_ACTIONS) or reads or adds, pattern.name


def test_a_viewer_is_refused_every_custom_url_that_acts(viewer_client):
    for pattern, view in _custom_urls():
        if ".view_" in str(view.required_permission):
            continue  # a page that reads: viewers are welcome
        route = str(pattern.pattern)
        for converter in ("<path:object_id>", "<str:name>", "<str:key>"):
            route = route.replace(converter, "x")
        prefix = (
            ""
            if pattern.name.startswith(("operations_", "catalog_"))
            else _model_prefix(pattern.name)
        )
        response = viewer_client.post(f"/admin/{prefix}{route}")
        expected = 405 if view.required_permission is None else 403
        assert response.status_code == expected, (pattern.name, response.status_code)


def _model_prefix(url_name):
    for model in admin.site._registry:
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if url_name.startswith(prefix):
            return f"{model._meta.app_label}/{model._meta.model_name}/"
    raise AssertionError(f"no model for {url_name}")


def test_groups_grant_reading_to_viewers_and_actions_to_operators(viewer_user, operator_user):
    assert viewer_user.has_perm("providers.view_providerconfiguration")
    assert not viewer_user.has_perm("providers.change_providerconfiguration")
    assert not viewer_user.has_perm(RUN_ACTIONS)
    assert operator_user.has_perm(RUN_ACTIONS)
    assert operator_user.has_perm("providers.add_providerconfiguration")
    assert operator_user.has_perm("audit.view_auditevent")
    assert not operator_user.has_perm("auth.change_user")


def test_a_viewer_reads_every_console_list(viewer_client, one_of_each):
    for model in admin.site._registry:
        if model._meta.app_label == "auth":
            continue
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert viewer_client.get(url).status_code == 200, url


def test_bootstrap_completes_the_groups_after_they_lost_permissions(console_groups):
    from io import StringIO

    from django.core.management import call_command

    operator = Group.objects.get(name="operator")
    operator.permissions.clear()

    call_command("flowker_bootstrap", stdout=StringIO())

    granted = {p.codename for p in operator.permissions.all()}
    assert {"run_actions", "view_execution", "change_providerconfiguration"} <= granted
