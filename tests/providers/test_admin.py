"""Provider configurations in the operators' console: secrets never shown, writes through the
services (validated, sealed, audited as the admin user), and the lifecycle/test actions."""

import html
import json
import re

import pytest

from flowker.audit.models import AuditEvent
from providers.models import ProviderConfiguration
from providers.services import plain_config
from tests.factories import make_provider_config
from tests.support.stub_server import StubResponse, StubServer

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/providers/providerconfiguration/"
ADD = CHANGELIST + "add/"
SECRET = "sk-prod-xxx"


def change_url(provider_config):
    return f"{CHANGELIST}{provider_config.pk}/change/"


@pytest.fixture
def midaz():
    return make_provider_config("Midaz Production", "midaz", api_key=SECRET)


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


def shown_config(page: str) -> dict:
    """The config document as the change form shows it for editing."""
    match = re.search(r'<textarea name="config"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, "the change form has no config field"
    return json.loads(html.unescape(match.group(1)))


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def run_action(admin_client, action, *objects):
    response = admin_client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [str(obj.pk) for obj in objects]},
        follow=True,
    )
    assert response.status_code == 200
    return response


def test_changelist_shows_the_config_masked(admin_client, midaz):
    page = admin_client.get(CHANGELIST).content.decode()

    assert "Midaz Production" in page
    assert "****-xxx" in page
    assert SECRET not in page


def test_change_page_shows_the_config_masked(admin_client, midaz):
    response = admin_client.get(change_url(midaz))

    assert response.status_code == 200
    page = response.content.decode()
    assert SECRET not in page
    assert shown_config(page) == {
        "base_url": "https://midaz.example.com/api/v1",
        "api_key": "****-xxx",
    }


def test_add_form_creates_through_the_service_sealed_and_audited_as_the_user(admin_client):
    config = {
        "base_url": "https://fraud.example.com/api",
        "authentication": {"type": "bearer", "config": {"token": "tok-admin-5678"}},
    }
    response = admin_client.post(
        ADD,
        {
            "name": "FraudShield",
            "description": "Fraud scoring",
            "provider_id": "http",
            "config": json.dumps(config),
            "metadata": json.dumps({"environment": "production"}),
        },
        follow=True,
    )

    assert response.status_code == 200
    created = ProviderConfiguration.objects.get(name="FraudShield")
    assert created.status == "active"
    assert created.provider_id == "http" and created.description == "Fraud scoring"
    assert created.metadata == {"environment": "production"}
    assert plain_config(created) == config
    assert "tok-admin-5678" not in json.dumps(created.config)  # sealed at rest
    event = AuditEvent.objects.get(event_type="PROVIDER_CONFIG_CREATED")
    assert event.resource_id == str(created.pk)
    assert (event.actor_type, event.actor_id) == ("user", "admin")
    assert "tok-admin-5678" not in response.content.decode()


LEDGER = "01900000-0000-7000-8000-000000000001"


def test_change_form_with_the_masked_secret_untouched_keeps_the_stored_secret(admin_client, midaz):
    config = shown_config(admin_client.get(change_url(midaz)).content.decode())
    config["ledger_id"] = LEDGER

    response = admin_client.post(
        change_url(midaz),
        {
            "name": "Midaz Production",
            "description": "pinned a ledger",
            "config": json.dumps(config),
            "metadata": "",
        },
        follow=True,
    )

    assert response.status_code == 200
    midaz.refresh_from_db()
    assert plain_config(midaz) == {
        "base_url": "https://midaz.example.com/api/v1",
        "api_key": SECRET,
        "ledger_id": LEDGER,
    }
    assert midaz.description == "pinned a ledger"
    event = AuditEvent.objects.get(event_type="PROVIDER_CONFIG_UPDATED")
    assert (event.actor_type, event.actor_id) == ("user", "admin")


def test_change_form_moving_the_base_url_with_the_masked_secret_asks_for_it_again(
    admin_client, midaz
):
    config = shown_config(admin_client.get(change_url(midaz)).content.decode())
    config["base_url"] = "https://midaz-dr.example.com/api/v1"

    response = admin_client.post(
        change_url(midaz),
        {
            "name": "Midaz Production",
            "description": "moved to DR",
            "config": json.dumps(config),
            "metadata": "",
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert "must be sent again because base_url changed" in response.content.decode()
    midaz.refresh_from_db()
    assert plain_config(midaz)["base_url"] == "https://midaz.example.com/api/v1"
    assert not AuditEvent.objects.filter(event_type="PROVIDER_CONFIG_UPDATED").exists()


def test_change_form_with_a_new_secret_replaces_it(admin_client, midaz):
    config = {"base_url": "https://midaz.example.com/api/v1", "api_key": "sk-rotated-2468"}

    admin_client.post(
        change_url(midaz),
        {"name": "Midaz Production", "description": "", "config": json.dumps(config)},
        follow=True,
    )

    midaz.refresh_from_db()
    assert plain_config(midaz)["api_key"] == "sk-rotated-2468"


def test_schema_invalid_config_on_add_is_a_form_error_and_writes_nothing(admin_client):
    response = admin_client.post(
        ADD,
        {
            "name": "Broken",
            "provider_id": "midaz",
            "config": json.dumps({"base_url": "not a url", "api_key": "sk-1"}),
        },
    )

    assert response.status_code == 200  # the form again, with its errors
    errors = response.context["adminform"].form.errors
    assert "config" in errors
    assert "config.base_url" in " ".join(errors["config"])
    assert not ProviderConfiguration.objects.exists()
    assert not AuditEvent.objects.filter(resource_type="provider_config").exists()


def test_schema_invalid_config_on_change_is_a_form_error_and_writes_nothing(admin_client, midaz):
    before = dict(midaz.config)

    response = admin_client.post(
        change_url(midaz),
        {
            "name": "Renamed",
            "description": "",
            "config": json.dumps({"base_url": "https://m.example.com"}),  # api_key missing
        },
    )

    assert response.status_code == 200
    assert "config" in response.context["adminform"].form.errors
    midaz.refresh_from_db()
    assert midaz.name == "Midaz Production" and midaz.config == before
    assert not AuditEvent.objects.filter(event_type="PROVIDER_CONFIG_UPDATED").exists()


def test_invalid_json_is_a_form_error(admin_client):
    response = admin_client.post(
        ADD, {"name": "Broken", "provider_id": "http", "config": "{not json"}
    )

    assert "invalid JSON" in " ".join(response.context["adminform"].form.errors["config"])
    assert not ProviderConfiguration.objects.exists()


def test_disable_and_enable_actions_move_the_status_with_audit(admin_client, midaz):
    run_action(admin_client, "disable", midaz)
    midaz.refresh_from_db()
    assert midaz.status == "disabled"

    run_action(admin_client, "enable", midaz)
    midaz.refresh_from_db()
    assert midaz.status == "active"

    events = AuditEvent.objects.filter(resource_id=str(midaz.pk), actor_type="user").order_by("id")
    assert [e.event_type for e in events] == ["PROVIDER_CONFIG_DISABLED", "PROVIDER_CONFIG_ENABLED"]


def test_enable_action_on_an_active_configuration_shows_an_error(admin_client, midaz):
    response = run_action(admin_client, "enable", midaz)

    assert any("FLK-0292" in message for message in messages_of(response))
    midaz.refresh_from_db()
    assert midaz.status == "active"
    assert not AuditEvent.objects.filter(event_type="PROVIDER_CONFIG_ENABLED").exists()


def test_test_connectivity_action_reports_each_stage(admin_client, stub):
    stub.on("GET", "/", StubResponse(200, {"status": "up"}))
    provider = make_provider_config(
        "FraudShield stub",
        base_url=stub.url,
        authentication={"type": "bearer", "config": {"token": "tok-admin-5678"}},
    )

    response = run_action(admin_client, "test_connectivity", provider)

    [report] = [m for m in messages_of(response) if m.startswith("PASSED")]
    assert "connectivity: passed (Provider is reachable)" in report
    assert "authentication: passed (Authentication successful)" in report
    assert "end_to_end: passed" in report
    assert [r.bearer_token for r in stub.requests("GET", "/")] == [
        None,
        "tok-admin-5678",
        "tok-admin-5678",
    ]
    event = AuditEvent.objects.get(event_type="PROVIDER_CONFIG_TESTED")
    assert (event.result, event.actor_type, event.actor_id) == ("SUCCESS", "user", "admin")


def test_test_connectivity_action_reports_a_failing_provider(admin_client, stub):
    stub.on("GET", "/", StubResponse(500, {"error": "down"}))
    provider = make_provider_config("FraudShield stub", base_url=stub.url)

    response = run_action(admin_client, "test_connectivity", provider)

    [report] = [m for m in messages_of(response) if m.startswith("FAILED")]
    assert "connectivity: failed (unexpected status code: 500)" in report
    assert "authentication: skipped" in report
    assert AuditEvent.objects.get(event_type="PROVIDER_CONFIG_TESTED").result == "FAILED"


def test_test_connectivity_action_shows_a_policy_refusal_as_an_error(admin_client, stub, settings):
    provider = make_provider_config("FraudShield stub", base_url=stub.url)
    settings.FLOWKER_OUTBOUND_ALLOW_PRIVATE = False

    response = run_action(admin_client, "test_connectivity", provider)

    assert any("FLK-0341" in message for message in messages_of(response))
    assert stub.requests() == []
    assert AuditEvent.objects.get(event_type="PROVIDER_CONFIG_TESTED").result == "FAILED"
