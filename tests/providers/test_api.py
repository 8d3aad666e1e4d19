"""Provider configurations over HTTP: the guide's example, validation, masking, lifecycle."""

import uuid

import pytest
from django.db import connection

from flowker.audit.models import AuditEvent
from providers.models import ProviderConfiguration

pytestmark = pytest.mark.django_db

GUIDE_EXAMPLE = {
    "name": "Midaz Production",
    "description": "Production Midaz instance for balance operations",
    "providerId": "midaz",
    "config": {"base_url": "https://midaz.example.com/api/v1", "api_key": "sk-prod-xxx"},
    "metadata": {"environment": "production"},
}

OIDC_HTTP = {
    "name": "FraudShield",
    "providerId": "http",
    "config": {
        "base_url": "https://fraud.example.com/api",
        "authentication": {
            "type": "oidc_client_credentials",
            "config": {
                "tokenURL": "https://auth.fraudshield.com/oauth/token",
                "clientID": "flowker-integration",
                "clientSecret": "secret-value",
                "scopes": ["transactions:read", "transactions:score"],
            },
        },
        "headers": {"X-Tenant": "tenant-4242"},
    },
}


def _create(client, body):
    response = client.post("/v1/provider-configurations", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_guide_example_is_created_active(client_api):
    created = _create(client_api, GUIDE_EXAMPLE)
    assert set(created) == {"id", "name", "status", "createdAt"}
    assert created["status"] == "active" and created["name"] == "Midaz Production"
    assert uuid.UUID(created["id"]).version == 7
    detail = client_api.get(f"/v1/provider-configurations/{created['id']}").json()
    assert detail["providerId"] == "midaz"
    assert detail["config"] == {
        "base_url": "https://midaz.example.com/api/v1",
        "api_key": "****-xxx",
    }
    assert detail["metadata"] == {"environment": "production"}
    assert detail["description"] == GUIDE_EXAMPLE["description"]
    event = AuditEvent.objects.get(event_type="PROVIDER_CONFIG_CREATED")
    assert event.resource_id == created["id"] and event.actor_id == "test-client"


def test_secrets_are_encrypted_in_the_database(client_api):
    created = _create(client_api, OIDC_HTTP)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT config::text FROM providers_providerconfiguration WHERE id = %s",
            [created["id"]],
        )
        raw = cursor.fetchone()[0]
    assert "secret-value" not in raw
    assert "tenant-4242" not in raw
    assert "flowker-integration" in raw  # the client id is not a declared secret
    assert "$encrypted" in raw


def test_secrets_are_masked_at_any_depth(client_api):
    created = _create(client_api, OIDC_HTTP)
    config = client_api.get(f"/v1/provider-configurations/{created['id']}").json()["config"]
    auth = config["authentication"]["config"]
    assert auth["clientSecret"] == "****alue"
    assert auth["clientID"] == "flowker-integration"
    assert auth["tokenURL"] == "https://auth.fraudshield.com/oauth/token"
    assert config["headers"] == {"X-Tenant": "****4242"}


def test_api_key_header_name_is_not_masked_but_its_value_is(client_api):
    body = {
        "name": "scorer",
        "providerId": "http",
        "config": {
            "base_url": "https://score.example.com",
            "authentication": {
                "type": "api_key",
                "config": {"key": "X-Api-Key", "value": "abcd-1234-efgh", "location": "header"},
            },
        },
    }
    created = _create(client_api, body)
    auth = client_api.get(f"/v1/provider-configurations/{created['id']}").json()["config"][
        "authentication"
    ]["config"]
    assert auth == {"key": "X-Api-Key", "value": "****efgh", "location": "header"}


def test_masking_in_list_responses(client_api):
    _create(client_api, GUIDE_EXAMPLE)
    items = client_api.get("/v1/provider-configurations").json()["items"]
    assert items[0]["config"]["api_key"] == "****-xxx"


def test_patch_with_masked_values_keeps_the_stored_secrets(client_api):
    created = _create(client_api, OIDC_HTTP)
    url = f"/v1/provider-configurations/{created['id']}"
    config = client_api.get(url).json()["config"]
    config["authentication"]["config"]["scopes"] = ["transactions:score"]
    config["timeout_seconds"] = 12
    response = client_api.patch(url, {"config": config}, format="json")
    assert response.status_code == 200, response.content
    from providers.services import plain_config

    stored = plain_config(ProviderConfiguration.objects.get(pk=created["id"]))
    assert stored["authentication"]["config"]["clientSecret"] == "secret-value"
    assert stored["headers"] == {"X-Tenant": "tenant-4242"}
    assert stored["authentication"]["config"]["scopes"] == ["transactions:score"]


def test_patch_with_full_mask_keeps_and_new_value_replaces(client_api):
    created = _create(client_api, GUIDE_EXAMPLE)
    url = f"/v1/provider-configurations/{created['id']}"
    from providers.services import plain_config

    base_url, ledger = GUIDE_EXAMPLE["config"]["base_url"], "01900000-0000-7000-8000-000000000001"
    kept = client_api.patch(
        url,
        {"config": {"base_url": base_url, "api_key": "********", "ledger_id": ledger}},
        format="json",
    )
    assert kept.status_code == 200, kept.content
    assert (
        plain_config(ProviderConfiguration.objects.get(pk=created["id"]))["api_key"]
        == "sk-prod-xxx"
    )
    client_api.patch(
        url,
        {"config": {"base_url": "https://m.example.com", "api_key": "sk-new-1234"}},
        format="json",
    )
    assert (
        plain_config(ProviderConfiguration.objects.get(pk=created["id"]))["api_key"]
        == "sk-new-1234"
    )


def test_patch_merges_metadata_and_is_audited(client_api):
    created = _create(client_api, GUIDE_EXAMPLE)
    url = f"/v1/provider-configurations/{created['id']}"
    response = client_api.patch(
        url, {"metadata": {"team": "ledger"}, "description": ""}, format="json"
    )
    body = response.json()
    assert body["metadata"] == {"environment": "production", "team": "ledger"}
    assert "description" not in body
    assert AuditEvent.objects.filter(event_type="PROVIDER_CONFIG_UPDATED").count() == 1


def test_patch_cannot_change_provider(client_api):
    created = _create(client_api, GUIDE_EXAMPLE)
    response = client_api.patch(
        f"/v1/provider-configurations/{created['id']}", {"providerId": "tracer"}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "FLK-0300"


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({**GUIDE_EXAMPLE, "name": None}, 400, "FLK-0295", "name"),
        ({**GUIDE_EXAMPLE, "name": ""}, 400, "FLK-0295", "name"),
        ({**GUIDE_EXAMPLE, "name": "n" * 101}, 400, "FLK-0296", "name"),
        (
            {k: v for k, v in GUIDE_EXAMPLE.items() if k != "providerId"},
            400,
            "FLK-0297",
            "providerId",
        ),
        ({**GUIDE_EXAMPLE, "config": {}}, 400, "FLK-0298", "config"),
        ({k: v for k, v in GUIDE_EXAMPLE.items() if k != "config"}, 400, "FLK-0298", "config"),
        ({**GUIDE_EXAMPLE, "description": "d" * 501}, 400, "FLK-0299", "description"),
        ({**GUIDE_EXAMPLE, "metadata": {"k": {"x": 1}}}, 400, "FLK-0314", "metadata"),
        ({**GUIDE_EXAMPLE, "name": 7}, 400, "FLK-0001", "name"),
        ({**GUIDE_EXAMPLE, "colour": "red"}, 400, "FLK-0300", "colour"),
        ({**GUIDE_EXAMPLE, "providerId": "s3"}, 404, "FLK-0294", None),
        (
            {**GUIDE_EXAMPLE, "config": {"base_url": "not a url"}},
            422,
            "FLK-0293",
            "config.base_url",
        ),
        (
            {
                **GUIDE_EXAMPLE,
                "providerId": "tracer",
                "config": {"base_url": "https://t.example.com"},
            },
            422,
            "FLK-0293",
            "config.api_key",
        ),
    ],
)
def test_create_rejects_bad_input(client_api, body, status, code, field):
    response = client_api.post("/v1/provider-configurations", body, format="json")
    assert response.status_code == status, response.content
    payload = response.json()
    assert payload["code"] == code
    if field:
        assert field in payload["fields"], payload
    assert ProviderConfiguration.objects.count() == 0
    assert not AuditEvent.objects.filter(resource_type="provider_config").exists()


@pytest.mark.parametrize(
    ("auth", "field"),
    [
        ({"type": "carrier-pigeon", "config": {}}, "config.authentication"),
        ({"type": "bearer", "config": {}}, "config.authentication.config.token"),
        (
            {
                "type": "oidc_client_credentials",
                "config": {"tokenURL": "https://a.example.com/t", "clientID": "x"},
            },
            "config.authentication.config.clientSecret",
        ),
    ],
)
def test_bad_authentication_is_422_naming_the_field(client_api, auth, field):
    body = {
        "name": "x",
        "providerId": "http",
        "config": {"base_url": "https://x.example.com", "authentication": auth},
    }
    response = client_api.post("/v1/provider-configurations", body, format="json")
    assert response.status_code == 422
    payload = response.json()
    assert payload["code"] == "FLK-0293"
    assert any(key.startswith(field) for key in payload["fields"]), payload["fields"]


def test_duplicate_name_is_409(client_api):
    _create(client_api, GUIDE_EXAMPLE)
    response = client_api.post("/v1/provider-configurations", GUIDE_EXAMPLE, format="json")
    assert response.status_code == 409 and response.json()["code"] == "FLK-0291"
    assert ProviderConfiguration.objects.count() == 1


def test_get_unknown_and_bad_ids(client_api):
    assert (
        client_api.get(f"/v1/provider-configurations/{uuid.uuid4()}").json()["code"] == "FLK-0290"
    )
    assert client_api.get("/v1/provider-configurations/xyz").json()["code"] == "FLK-0002"


def test_enable_disable_lifecycle(client_api):
    created = _create(client_api, GUIDE_EXAMPLE)
    base = f"/v1/provider-configurations/{created['id']}"
    enable_again = client_api.post(f"{base}/enable")
    assert enable_again.status_code == 422 and enable_again.json()["code"] == "FLK-0292"
    disabled = client_api.post(f"{base}/disable")
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    assert client_api.post(f"{base}/disable").json()["code"] == "FLK-0292"
    assert client_api.post(f"{base}/enable").json()["status"] == "active"
    types = list(
        AuditEvent.objects.filter(resource_id=created["id"])
        .order_by("id")
        .values_list("event_type", flat=True)
    )
    assert types == [
        "PROVIDER_CONFIG_CREATED",
        "PROVIDER_CONFIG_DISABLED",
        "PROVIDER_CONFIG_ENABLED",
    ]


def test_delete(client_api):
    created = _create(client_api, GUIDE_EXAMPLE)
    response = client_api.delete(f"/v1/provider-configurations/{created['id']}")
    assert response.status_code == 204
    assert not ProviderConfiguration.objects.exists()
    assert AuditEvent.objects.filter(event_type="PROVIDER_CONFIG_DELETED").count() == 1
    again = client_api.delete(f"/v1/provider-configurations/{created['id']}")
    assert again.status_code == 404


def test_delete_refused_while_an_active_workflow_uses_it(client_api):
    from workflows.models import Workflow

    created = _create(client_api, GUIDE_EXAMPLE)
    Workflow.objects.create(
        name="uses-it",
        status="active",
        nodes=[{"id": "n", "type": "executor", "data": {"providerConfigId": created["id"]}}],
    )
    response = client_api.delete(f"/v1/provider-configurations/{created['id']}")
    assert response.status_code == 422
    assert response.json()["code"] == "FLK-0292" and "uses-it" in response.json()["message"]
    assert ProviderConfiguration.objects.count() == 1


def test_list_filters_and_sorting(client_api):
    _create(client_api, GUIDE_EXAMPLE)
    _create(client_api, OIDC_HTTP)
    _create(client_api, {**GUIDE_EXAMPLE, "name": "A midaz"})
    names = [
        i["name"]
        for i in client_api.get("/v1/provider-configurations?sortBy=name&sortOrder=asc").json()[
            "items"
        ]
    ]
    assert names == ["A midaz", "FraudShield", "Midaz Production"]
    midaz = client_api.get("/v1/provider-configurations?providerId=midaz").json()["items"]
    assert {i["name"] for i in midaz} == {"A midaz", "Midaz Production"}
    assert client_api.get("/v1/provider-configurations?status=paused").json()["code"] == "FLK-0304"
    page = client_api.get("/v1/provider-configurations?limit=2&sortBy=name").json()
    rest = client_api.get(
        f"/v1/provider-configurations?limit=2&sortBy=name&cursor={page['nextCursor']}"
    ).json()
    assert [i["name"] for i in page["items"] + rest["items"]] == [
        "Midaz Production",
        "FraudShield",
        "A midaz",
    ]
