"""Shared fixtures: API clients with a real API key, actors."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from flowker.actors import Actor
from flowker.apikeys.services import api_key_create


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Mark the test database as one whose audit trail may be truncated, so tests can flush
    (see flowker/audit/migrations/0003_truncate_only_in_the_test_database.py)."""
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        name = connection.settings_dict["NAME"]
        cursor.execute(
            f"ALTER DATABASE {connection.ops.quote_name(name)} SET flowker.test_database = %s",
            [name],
        )


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


@pytest.fixture
def console_groups(db) -> None:
    """The groups the data migration creates (a transactional test's flush removes them)."""
    from django.apps import apps

    from flowker.permissions import console_groups_sync

    console_groups_sync(apps=apps)


def _console_user(group: str):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(group, password=f"{group}-password", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def viewer_user(console_groups):
    return _console_user("viewer")


@pytest.fixture
def operator_user(console_groups):
    return _console_user("operator")


@pytest.fixture
def viewer_client(viewer_user):
    from django.test import Client

    client = Client()
    client.force_login(viewer_user)
    return client


@pytest.fixture
def operator_client(operator_user):
    from django.test import Client

    client = Client()
    client.force_login(operator_user)
    return client
