"""Fixtures for the outbound HTTP client tests: the provider stub and a clean token cache."""

from collections.abc import Callable

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from tests.support.stub_server import stub_server  # noqa: F401 - a fixture


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Tokens and discovery documents cached by an earlier test must not answer for this one."""
    cache.clear()


@pytest.fixture
def raw_cache() -> Callable[[str], dict[str, bytes]]:
    """The cache as stored in Redis: {key: raw bytes} of the keys containing `fragment`."""
    client = redis.Redis.from_url(settings.REDIS_URL)

    def entries(fragment: str) -> dict[str, bytes]:
        return {key.decode(): client.get(key) for key in client.keys(f"*{fragment}*")}

    return entries
