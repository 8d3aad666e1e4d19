"""Executor configurations in the operators' console: the add form goes through the API's
validation and the service, and the lifecycle actions call the same services (audited as the
admin user), reporting a wrong status as a message rather than an error page."""

import json

import pytest

from executors.models import ExecutorConfiguration
from flowker.audit.models import AuditEvent
from tests.factories import make_executor_config, make_provider_config
from tests.support.stub_server import StubResponse, StubServer

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/executors/executorconfiguration/"
ADD = CHANGELIST + "add/"


@pytest.fixture
def provider():
    return make_provider_config()


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


def form_data(provider_config, **overrides):
    data = {
        "name": "fraud-score",
        "description": "Scores card payments",
        "executor_id": "http.request",
        "provider_config": str(provider_config.pk),
        "endpoints": json.dumps([{"name": "score", "method": "post", "path": "/v1/score"}]),
        "input_mapping": "",
        "output_mapping": "",
        "metadata": "",
    }
    data.update(overrides)
    return data


def run_action(admin_client, action, *configs):
    response = admin_client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [str(config.pk) for config in configs]},
        follow=True,
    )
    assert response.status_code == 200
    return response


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def admin_events(config):
    return list(
        AuditEvent.objects.filter(resource_id=str(config.pk), actor_type="user", actor_id="admin")
        .order_by("id")
        .values_list("event_type", flat=True)
    )


def status_of(config):
    return ExecutorConfiguration.objects.get(pk=config.pk).status


def test_add_form_creates_an_unconfigured_configuration_through_the_service(admin_client, provider):
    response = admin_client.post(ADD, form_data(provider), follow=True)

    assert response.status_code == 200
    created = ExecutorConfiguration.objects.get(name="fraud-score")
    assert created.status == "unconfigured"  # even though it is complete
    assert created.provider_config == provider and created.executor_id == "http.request"
    # Validated like the API body: method upper-cased, default timeout filled in.
    assert created.endpoints == [
        {"name": "score", "method": "POST", "path": "/v1/score", "timeoutSeconds": 30}
    ]
    assert admin_events(created) == ["EXECUTOR_CONFIG_CREATED"]


def test_add_form_shows_field_failures_and_writes_nothing(admin_client, provider):
    endpoints = json.dumps([{"name": "score", "method": "FETCH", "path": "/v1/score"}])

    response = admin_client.post(ADD, form_data(provider, endpoints=endpoints))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "endpoints[0].method" in " ".join(errors["endpoints"])
    assert not ExecutorConfiguration.objects.exists()
    assert not AuditEvent.objects.filter(resource_type="executor_config").exists()


def test_add_form_refuses_a_provider_of_another_executor(admin_client):
    midaz = make_provider_config("Midaz Production", "midaz")

    response = admin_client.post(ADD, form_data(midaz))

    assert response.status_code == 200  # the form again, with the reason on the field
    errors = response.context["adminform"].form.errors
    assert "belongs to another provider" in " ".join(errors["provider_config"])
    assert not ExecutorConfiguration.objects.exists()
    assert not AuditEvent.objects.filter(resource_type="executor_config").exists()


def test_mark_configured_action_moves_a_complete_configuration(admin_client, provider):
    config = make_executor_config(provider)

    response = run_action(admin_client, "mark_configured", config)

    assert status_of(config) == "configured"
    assert "Configured: 1" in messages_of(response)
    assert admin_events(config) == ["EXECUTOR_CONFIG_CONFIGURED"]


def test_mark_configured_action_on_an_incomplete_configuration_shows_an_error(admin_client):
    config = make_executor_config(None, "no-provider")

    response = run_action(admin_client, "mark_configured", config)

    assert status_of(config) == "unconfigured"
    assert any(
        m.startswith("no-provider: FLK-0252") and "incomplete" in m for m in messages_of(response)
    )
    assert admin_events(config) == []


def test_test_action_runs_the_connectivity_stages_and_marks_it_tested(admin_client, stub):
    stub.on("GET", "/api/v1/score", StubResponse(200, {"status": "up"}))
    stub_provider = make_provider_config(
        "FraudShield stub",
        base_url=stub.url + "/api",
        authentication={"type": "bearer", "config": {"token": "tok-admin-1357"}},
    )
    config = make_executor_config(stub_provider, status="configured")

    response = run_action(admin_client, "test_endpoint", config)

    assert status_of(config) == "tested"
    assert "fraud-score: test passed, status tested" in messages_of(response)
    assert [r.bearer_token for r in stub.requests("GET", "/api/v1/score")] == [
        None,
        "tok-admin-1357",
        "tok-admin-1357",
    ]
    event = AuditEvent.objects.get(event_type="EXECUTOR_CONFIG_TESTED")
    assert (event.result, event.actor_type, event.actor_id) == ("SUCCESS", "user", "admin")


def test_test_action_reports_a_failing_provider_and_keeps_the_status(admin_client, stub):
    stub.on("GET", "/api/v1/score", StubResponse(503, {"error": "maintenance"}))
    stub_provider = make_provider_config("FraudShield stub", base_url=stub.url + "/api")
    config = make_executor_config(stub_provider, status="configured")

    response = run_action(admin_client, "test_endpoint", config)

    assert status_of(config) == "configured"
    assert "fraud-score: test failed, status configured" in messages_of(response)
    assert AuditEvent.objects.get(event_type="EXECUTOR_CONFIG_TESTED").result == "FAILED"


@pytest.mark.parametrize(
    ("action", "source", "target", "event"),
    [
        ("activate", "tested", "active", "EXECUTOR_CONFIG_ACTIVATED"),
        ("disable", "active", "disabled", "EXECUTOR_CONFIG_DISABLED"),
        ("disable", "tested", "disabled", "EXECUTOR_CONFIG_DISABLED"),
        ("enable", "disabled", "active", "EXECUTOR_CONFIG_ENABLED"),
    ],
)
def test_lifecycle_actions_move_the_status_with_audit(
    admin_client, provider, action, source, target, event
):
    config = make_executor_config(provider, status=source)

    response = run_action(admin_client, action, config)

    assert status_of(config) == target
    assert admin_events(config) == [event]
    assert not any("FLK-" in message for message in messages_of(response))


@pytest.mark.parametrize(
    ("action", "source"),
    [
        ("activate", "configured"),
        ("activate", "disabled"),
        ("disable", "configured"),
        ("enable", "active"),
        ("mark_configured", "tested"),
        ("test_endpoint", "active"),
    ],
)
def test_action_from_a_wrong_status_shows_an_error_message(admin_client, provider, action, source):
    config = make_executor_config(provider, status=source)

    response = run_action(admin_client, action, config)

    assert "fraud-score: FLK-0252 cannot" in " ".join(messages_of(response))
    assert status_of(config) == source
    assert admin_events(config) == []


def test_action_over_several_configurations_moves_those_it_can(admin_client, provider):
    ready = make_executor_config(provider, "ready", status="tested")
    early = make_executor_config(provider, "early", status="configured")

    response = run_action(admin_client, "activate", ready, early)

    assert status_of(ready) == "active"
    assert status_of(early) == "configured"
    messages = messages_of(response)
    assert "Activated: 1 of 2 (1 refused)" in messages
    assert any(m.startswith("early: FLK-0252") for m in messages)


def test_changelist_and_change_page_show_the_configuration(admin_client, provider):
    config = make_executor_config(provider, status="tested")

    listing = admin_client.get(CHANGELIST)
    detail = admin_client.get(f"{CHANGELIST}{config.pk}/change/")

    assert listing.status_code == 200 and detail.status_code == 200
    assert "fraud-score" in listing.content.decode()
    assert "/v1/score" in detail.content.decode()
