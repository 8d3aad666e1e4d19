"""Routing: every route with or without a trailing slash, the root URL, /swagger."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

SKIPPED = ("admin", "swagger", "static/")  # served with their slash (or redirected there)
ANY_ID = "019c96a0-0ac0-7de9-9f53-9cf842a2ee5a"


def _routes(patterns=None, prefix=""):
    """Every URL pattern of the project as a concrete path (ids filled in)."""
    for pattern in patterns if patterns is not None else get_resolver("flowker.urls").url_patterns:
        text = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if text.startswith(SKIPPED):
            continue
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern) and text and not text.endswith("/"):
            text = text.replace("(?P<path>.+)", "payments/received")
            yield "/" + re.sub(r"<[^>]+>", ANY_ID, text)


ROUTES = sorted(set(_routes()))


def test_the_enumeration_covers_the_api():
    assert "/v1/executors" in ROUTES and "/v1/webhooks/payments/received" in ROUTES
    assert any(route.endswith("/results") for route in ROUTES)
    assert len([route for route in ROUTES if route.startswith("/v1/")]) > 30


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_answers_the_same_with_a_trailing_slash(client_api, settings, route):
    settings.FLOWKER_READYZ_WORKER_TIMEOUT = 0.1
    plain = client_api.get(route)
    slashed = client_api.get(route + "/")

    assert slashed.status_code == plain.status_code, (route, slashed.content)
    if isinstance(plain.json() if _is_json(plain) else None, dict):
        assert slashed.json().get("code") == plain.json().get("code")
    assert slashed.status_code != 404 or slashed.json()["code"] != "FLK-0003"


def _is_json(response):
    return response["Content-Type"].startswith("application/json")


def test_trailing_slash_on_a_list_and_a_write(client_api):
    listed = client_api.get("/v1/executors/")
    assert listed.status_code == 200 and "items" in listed.json()
    created = client_api.post(
        "/v1/provider-configurations/",
        {"name": "slash", "providerId": "http", "config": {"base_url": "https://x.example.com"}},
        format="json",
    )
    assert created.status_code == 201, created.content


def test_unknown_route_with_a_slash_is_still_flk_0003(client_api):
    response = client_api.get("/v1/nowhere/")
    assert response.status_code == 404 and response.json()["code"] == "FLK-0003"


def test_root_sends_browsers_to_the_console(anon_client):
    response = anon_client.get("/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 302 and response["Location"] == "/admin/"


@pytest.mark.parametrize("accept", ["application/json", "*/*", None])
def test_root_gives_api_clients_links(anon_client, accept, settings):
    import time

    from django.core.cache import cache

    from flowker.celery import worker_heartbeat_key

    # /health is 200 only with a worker on the execution queue (its heartbeat).
    cache.set(worker_heartbeat_key(settings.FLOWKER_EXECUTION_QUEUE), time.time())
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = anon_client.get("/", **headers)
    assert response.status_code == 200
    links = response.json()["links"]
    assert links["docs"] == "/swagger/" and links["openapi"] == "/v1/openapi.json"
    assert links["health"] == "/health"
    for link in links.values():
        assert anon_client.get(link).status_code in (200, 302), link


def test_root_refuses_other_methods_in_the_envelope(anon_client):
    response = anon_client.post("/", {}, format="json")
    assert response.status_code == 405 and response.json()["code"] == "FLK-0004"
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(("path", "target"), [("/swagger", "/swagger/"), ("/admin", "/admin/")])
def test_slashless_console_and_docs_redirect(anon_client, path, target):
    response = anon_client.get(path)
    assert response.status_code == 302 and response["Location"] == target
