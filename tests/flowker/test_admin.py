"""Operators' console: API keys (shown once, revocable) and the read-only audit trail."""

import re

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from flowker.apikeys.models import ApiKey
from flowker.audit.models import AuditEvent
from tests.factories import make_audit_event

pytestmark = pytest.mark.django_db


def test_admin_creates_a_key_and_shows_it_once(admin_client):
    response = admin_client.post("/admin/apikeys/apikey/add/", {"name": "ops-key"})
    # Shown in the answer to the POST itself, which no cache may keep.
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    raw = re.search(r"flk_[0-9a-f]{8}_[A-Za-z0-9_-]+", text).group(0)
    key = ApiKey.objects.get(name="ops-key")
    assert raw.startswith(f"flk_{key.prefix}_")
    # Never in a cookie (messages are signed, not encrypted) nor in the session.
    assert raw not in str(response.cookies)
    assert raw not in str(dict(admin_client.session))
    works = APIClient()
    works.credentials(HTTP_X_API_KEY=raw)
    assert works.get("/v1/audit-events").status_code == 200
    event = AuditEvent.objects.get(event_type="API_KEY_CREATED", resource_id=str(key.pk))
    assert event.actor_type == "user" and event.actor_id == "admin"
    detail = admin_client.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    assert raw not in detail
    listing = admin_client.get("/admin/apikeys/apikey/").content.decode()
    assert raw not in listing and f"flk_{key.prefix}_" in listing


def test_admin_revokes_keys(admin_client, api_key):
    key, _ = api_key
    response = admin_client.post(
        "/admin/apikeys/apikey/",
        {"action": "revoke_selected", "_selected_action": [str(key.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEvent.objects.filter(event_type="API_KEY_REVOKED").count() == 1


def test_audit_trail_is_read_only_in_admin(admin_client):
    event = make_audit_event()
    assert admin_client.get("/admin/audit/auditevent/").status_code == 200
    page = admin_client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.get("/admin/audit/auditevent/add/").status_code == 403


def test_admin_verifies_the_chain(admin_client):
    event = make_audit_event()
    response = admin_client.post(
        "/admin/audit/auditevent/",
        {"action": "verify_chain", "_selected_action": [str(event.pk)]},
        follow=True,
    )
    assert "hash chain is valid" in response.content.decode().lower()


def test_console_requires_login(client):
    response = client.get("/admin/apikeys/apikey/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_audit_checkpoints_are_listed_read_only(admin_client):
    event = make_audit_event()
    response = admin_client.post(
        "/admin/audit/auditevent/",
        {"action": "verify_chain", "_selected_action": [str(event.pk)]},
        follow=True,
    )
    assert "hash chain is valid" in response.content.decode().lower()
    listing = admin_client.get("/admin/audit/auditcheckpoint/")
    assert listing.status_code == 200 and event.hash in listing.content.decode()
    assert admin_client.get("/admin/audit/auditcheckpoint/add/").status_code == 403


@pytest.mark.parametrize("password", ["short-1A", "password1234", "123456789012", "operator-kim-1"])
def test_console_users_need_a_password_that_passes_the_validators(admin_client, password):
    response = admin_client.post(
        "/admin/auth/user/add/",
        {
            "username": "operator-kim",
            "usable_password": "true",
            "password1": password,
            "password2": password,
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["password2"]
    assert not get_user_model().objects.filter(username="operator-kim").exists()


def test_a_strong_console_password_is_accepted(admin_client):
    password = "correct-horse-battery-staple-42"
    response = admin_client.post(
        "/admin/auth/user/add/",
        {"username": "operator-kim", "usable_password": "true", "password1": password,
         "password2": password},
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert get_user_model().objects.get(username="operator-kim").check_password(password)
