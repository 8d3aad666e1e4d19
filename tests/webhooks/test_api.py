"""Webhook ingress over HTTP without a worker: what a caller without credentials is told."""

import pytest
from rest_framework.test import APIClient

from tests.e2e.helpers import activate
from tests.factories import guide_workflow, make_provider_config, with_webhook

pytestmark = pytest.mark.django_db

HINT = "API key missing or invalid, or no webhook registered for this method and path"


def test_unknown_path_without_a_key_is_401_saying_what_to_check(client_api):
    response = APIClient().post("/v1/webhooks/payments/nowhere", {}, format="json")

    assert response.status_code == 401
    assert response.json() == {"code": "UNAUTHORIZED", "title": "Unauthorized", "message": HINT}


def test_a_registered_path_without_a_key_answers_exactly_the_same(client_api):
    """Same status and body as an unknown path, so the answer reveals no route."""
    provider = make_provider_config()
    activate(client_api, with_webhook(guide_workflow(provider.pk), path="open/hook"))

    registered = APIClient().post("/v1/webhooks/open/hook", {}, format="json")
    unknown = APIClient().post("/v1/webhooks/open/other", {}, format="json")

    assert registered.status_code == unknown.status_code == 401
    assert registered.json() == unknown.json()
    assert registered.json()["message"] == HINT
