"""API keys: X-API-Key on every /v1 route, hashed storage, revocation, the off switch."""

import hashlib
import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from flowker.actors import Actor, actor_from_request
from flowker.apikeys.models import ApiKey
from flowker.apikeys.services import api_key_create, api_key_revoke
from flowker.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _unauthorized(response):
    assert response.status_code == 401
    assert response.json() == {
        "code": "UNAUTHORIZED",
        "title": "Unauthorized",
        "message": "API Key missing or invalid",
    }


def test_missing_key_is_401(anon_client):
    _unauthorized(anon_client.get("/v1/audit-events"))


@pytest.mark.parametrize(
    "key",
    ["nonsense", "flk_abcdefgh_wrongsecret", "flk_short_x", "flk__", "Bearer xyz"],
)
def test_wrong_key_is_401(api_key, key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    _unauthorized(client.get("/v1/audit-events"))


def test_right_prefix_with_wrong_secret_is_401(api_key):
    _, raw = api_key
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw[:-2] + ("AA" if not raw.endswith("AA") else "BB"))
    _unauthorized(client.get("/v1/audit-events"))


def test_valid_key_is_accepted(client_api):
    assert client_api.get("/v1/audit-events").status_code == 200


def test_revoked_key_is_401(api_key):
    key, raw = api_key
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    assert client.get("/v1/audit-events").status_code == 200
    api_key_revoke(api_key=key, actor=Actor.system())
    _unauthorized(client.get("/v1/audit-events"))


def test_key_format_and_hashed_storage():
    key, raw = api_key_create(name="ledger-team", actor=Actor.system())
    prefix, secret = raw.removeprefix("flk_").split("_", 1)
    assert raw.startswith("flk_") and len(prefix) == 8 and len(secret) >= 43
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.prefix == prefix
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiKey.objects.filter(pk=key.pk).values().first())


def test_key_creation_and_revocation_are_audited():
    key, _ = api_key_create(name="audited", actor=Actor(type="user", id="ops", ip="10.0.0.1"))
    api_key_revoke(api_key=key, actor=Actor.system())
    events = list(AuditEvent.objects.filter(resource_id=str(key.pk)).order_by("id"))
    assert [e.event_type for e in events] == ["API_KEY_CREATED", "API_KEY_REVOKED"]
    assert events[0].actor_id == "ops" and events[0].actor_ip == "10.0.0.1"


def test_key_names_are_unique():
    api_key_create(name="twice", actor=Actor.system())
    with pytest.raises(Exception, match="exists"):
        api_key_create(name="twice", actor=Actor.system())


def test_create_api_key_command_prints_a_working_key():
    out = io.StringIO()
    call_command("create_api_key", "cli-key", stdout=out)
    raw = out.getvalue().strip()
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    assert client.get("/v1/audit-events").status_code == 200
    assert ApiKey.objects.get(name="cli-key").prefix == raw[4:12]


def test_actor_is_the_key_name_with_client_ip(api_key, rf):
    request = rf.get("/v1/audit-events", REMOTE_ADDR="192.0.2.7")
    request.auth = api_key[0]
    assert actor_from_request(request) == Actor(type="api_key", id="test-client", ip="192.0.2.7")


def test_forwarded_for_is_ignored_without_trusted_proxies(rf):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    assert actor_from_request(request).ip == "10.0.0.2"


@pytest.mark.parametrize(
    ("proxies", "expected"),
    [
        # The caller wrote 198.51.100.66 itself; the one proxy appended the address it saw.
        (1, "203.0.113.9"),
        # Two proxies: the outer one appended the caller, the inner one the outer proxy.
        (2, "198.51.100.66"),
        # More proxies configured than hops: nothing in the header can be trusted.
        (3, "10.0.0.2"),
    ],
)
def test_client_ip_is_the_hop_added_by_the_outermost_trusted_proxy(rf, settings, proxies, expected):
    settings.FLOWKER_TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.9")
    assert actor_from_request(request).ip == expected


def test_a_spoofed_first_hop_does_not_reach_the_audit_trail(client_api, settings):
    settings.FLOWKER_TRUSTED_PROXY_COUNT = 1
    response = client_api.post(
        "/v1/provider-configurations",
        {"name": "ip-check", "providerId": "http", "config": {"base_url": "http://127.0.0.1:9"}},
        format="json",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9",
    )
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(event_type="PROVIDER_CONFIG_CREATED")
    assert event.actor_ip == "203.0.113.9"


def test_actor_without_key_is_anonymous(rf):
    assert actor_from_request(rf.get("/")).type == "anonymous"


def test_auth_disabled_only_by_the_explicit_switch(anon_client, settings):
    _unauthorized(anon_client.get("/v1/audit-events"))
    settings.FLOWKER_AUTH_DISABLED = True
    assert anon_client.get("/v1/audit-events").status_code == 200


@pytest.mark.parametrize(
    "path", ["/health", "/version", "/v1/openapi.json", "/swagger/", "/metrics"]
)
def test_public_routes_need_no_key(anon_client, path, settings):
    import time

    from django.core.cache import cache

    from flowker.celery import worker_heartbeat_key

    # /health is 200 only with a worker on the execution queue (its heartbeat).
    cache.set(worker_heartbeat_key(settings.FLOWKER_EXECUTION_QUEUE), time.time())
    assert anon_client.get(path).status_code == 200


def test_bootstrap_creates_admin_and_key_once():
    out = io.StringIO()
    call_command("flowker_bootstrap", stdout=out)
    text = out.getvalue()
    assert "password" in text and "flk_" in text
    raw = next(word for word in text.split() if word.startswith("flk_"))
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    assert client.get("/v1/audit-events").status_code == 200
    again = io.StringIO()
    call_command("flowker_bootstrap", stdout=again)
    assert again.getvalue() == ""
