"""The one Redis client factory: short socket timeouts and no client-side retries, because a
Redis outage on the request and engine paths must fail fast, never hang a worker."""

import functools

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry


def redis_client(url: str, *, timeout: float | None = None) -> redis.Redis:
    """A new client for `url` (FLOWKER_REDIS_SOCKET_TIMEOUT unless `timeout` says otherwise)."""
    seconds = settings.REDIS_SOCKET_TIMEOUT if timeout is None else timeout
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=seconds,
        socket_timeout=seconds,
        retry=Retry(NoBackoff(), 0),
    )


@functools.cache
def shared_redis() -> redis.Redis | None:
    """This process's client for REDIS_URL (breaker state, end-of-execution notices); None in
    the embedded mode, which runs without Redis."""
    return redis_client(settings.REDIS_URL) if settings.REDIS_URL else None
