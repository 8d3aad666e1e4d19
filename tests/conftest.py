"""Shared fixtures: API clients with a real API key, actors."""

import pytest
from rest_framework.test import APIClient

from flowker.actors import Actor
from flowker.apikeys.services import api_key_create


@pytest.fixture
def actor() -> Actor:
    return Actor(type="api_key", id="tests", ip="127.0.0.1")


@pytest.fixture
def api_key(db):
    """(ApiKey, raw key) of a freshly created key."""
    return api_key_create(name="test-client", actor=Actor.system())


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_api(api_key) -> APIClient:
    """A DRF test client that sends a valid X-API-Key on every request."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key[1])
    return client
