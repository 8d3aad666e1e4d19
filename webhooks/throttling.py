"""Failed verify-token checks, counted per route and caller address in the shared cache.

Past FLOWKER_WEBHOOK_TOKEN_MAX_FAILURES failures within a fixed window the caller is refused
with 429 until the window ends, whatever token it sends, so a token cannot be guessed at line
speed. The counters live in the cache every web process shares; when the cache is unreachable
the check lets the request through (the token itself is still checked).
"""

import logging
import math
import time
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache

from flowker.errors import TooManyAttempts

logger = logging.getLogger("flowker.webhooks")
KEY = "webhook-token-failures:{route}:{ip}:{window}"
CACHE_ERRORS = (redis.RedisError, OSError)


def _window() -> tuple[int, int, int]:
    """(window index, window length, seconds until it ends)."""
    length = settings.FLOWKER_WEBHOOK_TOKEN_FAILURE_WINDOW_SECONDS
    now = time.time()
    index = int(now // length)
    return index, length, max(1, math.ceil((index + 1) * length - now))


def _key(route_id: Any, ip: str, window: int) -> str:
    return KEY.format(route=route_id, ip=ip, window=window)


def webhook_token_throttle_check(*, route_id: Any, ip: str) -> None:
    """Refuse (429 FLK-0362, Retry-After) a caller that used up its failures for this route."""
    window, _, retry_after = _window()
    try:
        failures = cache.get(_key(route_id, ip, window), 0)
    except CACHE_ERRORS as exc:
        logger.warning("webhook token throttle unavailable, not applied: %s", exc)
        return
    if failures >= settings.FLOWKER_WEBHOOK_TOKEN_MAX_FAILURES:
        raise TooManyAttempts(
            "FLK-0362",
            f"too many failed webhook verification attempts; retry in {retry_after} s",
            retry_after=retry_after,
        )


def webhook_token_failure_record(*, route_id: Any, ip: str) -> None:
    window, length, _ = _window()
    key = _key(route_id, ip, window)
    try:
        cache.add(key, 0, timeout=length + 1)
        cache.incr(key)
    except (ValueError, *CACHE_ERRORS) as exc:
        # ValueError: the counter expired between add and incr; the next failure starts anew.
        logger.warning("could not count a failed webhook token check: %s", exc)
