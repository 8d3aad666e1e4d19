"""Who gets in: every /v1 route (found from the URL resolver, so a new route cannot be
forgotten) refuses missing, malformed, unknown and revoked API keys for every method it
serves; the console's views and actions need a login and the right permission; production
settings pass `check --deploy`; DEBUG cannot run against a production database."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from flowker.actors import Actor
from flowker.apikeys.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ANY_ID = "019c96a0-0ac0-7de9-9f53-9cf842a2ee5a"
# /v1 routes anyone may call (CONTRACT §3); webhook routes are judged in webhook tests.
PUBLIC = {"/v1/openapi.json"}
METHODS = ("get", "post", "put", "patch", "delete")


def _v1_routes(patterns=None, prefix=""):
    """(concrete path, view) for every URL pattern under /v1."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        text = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            yield from _v1_routes(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern) and text.startswith("v1/"):
            text = text.replace("(?P<path>.+)", "payments/received")
            yield "/" + re.sub(r"<[^>]+>", ANY_ID, text), pattern.callback


def _served_methods(view) -> list[str]:
    cls = getattr(view, "cls", None)
    actions = getattr(view, "actions", None)
    if actions:
        return sorted(actions)
    if cls is not None:
        return [m for m in METHODS if hasattr(cls, m)]
    return list(METHODS)


ROUTES = sorted(
    (path, method)
    for path, view in _v1_routes()
    if path not in PUBLIC
    for method in _served_methods(view)
)


def test_the_enumeration_covers_every_v1_route():
    paths = {path for path, _ in ROUTES}
    assert len(paths) >= 40
    assert {"/v1/executors", f"/v1/workflows/{ANY_ID}/activate", "/v1/audit-events"} <= paths
    assert ("/v1/webhooks/payments/received", "post") in ROUTES


@pytest.fixture
def keys(db):
    revoked, revoked_raw = api_key_create(name="revoked", actor=Actor.system())
    api_key_revoke(api_key=revoked, actor=Actor.system())
    _, valid = api_key_create(name="valid", actor=Actor.system())
    prefix = valid.split("_")[1]
    return {
        "missing": None,
        "empty": "",
        "malformed": "not-a-flowker-key",
        "unknown": "flk_zzzzzzzz_" + "A" * 43,
        "known prefix, wrong secret": f"flk_{prefix}_" + "B" * 43,
        "revoked": revoked_raw,
    }


@pytest.mark.parametrize(("path", "method"), ROUTES)
def test_every_v1_route_refuses_bad_keys(keys, path, method):
    for label, key in keys.items():
        client = APIClient()
        if key is not None:
            client.credentials(HTTP_X_API_KEY=key)
        response = getattr(client, method)(path, {"a": 1}, format="json")
        assert response.status_code == 401, (label, method, path, response.content)
        assert response.json()["code"] == "UNAUTHORIZED", (label, method, path)


# --- the console -------------------------------------------------------------------------


def _admin_paths():
    from django.contrib import admin

    for pattern in admin.site.get_urls():
        text = str(pattern.pattern).lstrip("^").rstrip("$")
        if "(?P<url>.*)" in text or text.startswith(("login", "logout", "password_change/done")):
            continue
        path = re.sub(r"<path:object_id>", ANY_ID, text)
        path = re.sub(r"<[^>]+>", "x", re.sub(r"\(\?P<(\w+)>[^)]*\)", "x", path))
        yield "/admin/" + path
    for model_admin in admin.site._registry.values():
        for pattern in model_admin.urls:
            text = str(pattern.pattern).lstrip("^").rstrip("$")
            meta = model_admin.model._meta
            path = re.sub(r"<[^>]+>", ANY_ID, text)
            yield f"/admin/{meta.app_label}/{meta.model_name}/{path}"


ADMIN_PATHS = sorted(set(_admin_paths()))


def test_every_console_url_sends_an_anonymous_visitor_to_the_login_page(client):
    assert len(ADMIN_PATHS) > 40
    for path in ADMIN_PATHS:
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            assert response.status_code in (302, 404), (method, path, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith("/admin/login/"), (method, path)


def test_a_staff_user_without_permissions_reads_nothing(client, db):
    from django.contrib import admin
    from django.contrib.auth.models import User

    user = User.objects.create_user("nobody", password="nobody-password-1", is_staff=True)
    client.force_login(user)
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for path in (base, base + "add/"):
            response = client.get(path)
            assert response.status_code == 403, (path, response.status_code)


# --- production settings -------------------------------------------------------------------

PRODUCTION = {
    "DJANGO_SECRET_KEY": "q" * 20 + "k9ZxR2vT8wLmN4pB7cF1hJ5sD3gY6uE0aQ-_",
    "FLOWKER_ENCRYPTION_KEY": "X7pDIiUQxJ1MIDJ7PmkxgoNBCKTEyI6dLSfWEUL_uiA=",
    "DATABASE_URL": "postgres://flowker@db.internal:5432/flowker",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "DJANGO_ALLOWED_HOSTS": "flowker.example.com",
    "DJANGO_SECURE_COOKIES": "true",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
}


def _manage(tmp_path, *args, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "FLOWKER_", "DATABASE_", "REDIS_", "CELERY_"))
    }
    clean.update(FLOWKER_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="flowker.settings", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_is_refused_with_a_database_on_another_host(tmp_path):
    result = _manage(tmp_path, "check", **PRODUCTION, DJANGO_DEBUG="true")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DJANGO_DEBUG" in result.stderr


@pytest.mark.parametrize(
    "database",
    ["", "postgres://postgres@127.0.0.1:5432/flowker_dev", "postgres://postgres@localhost/dev"],
)
def test_debug_is_allowed_with_a_database_on_this_machine(tmp_path, database):
    env = {**PRODUCTION, "DATABASE_URL": database, "REDIS_URL": "", "DJANGO_DEBUG": "true"}
    result = _manage(tmp_path, "check", **env)
    assert result.returncode == 0, result.stderr
