"""Waking a request that waits (`Prefer: wait`) when its execution ends: Redis pub/sub in the
distributed mode; in the embedded mode the waiter polls the database every 100 ms. A waiter
holds a web thread, so each process lets only FLOWKER_MAX_WAITING_REQUESTS wait at once."""

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

import redis
from django.conf import settings

from flowker.redis_clients import shared_redis

logger = logging.getLogger("flowker.notify")
CHANNEL = "flowker:execution-ended:{id}"
POLL_SECONDS = 0.1


class WaitingSlots:
    """Places for waiting requests in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken = 0

    @contextlib.contextmanager
    def take(self) -> Iterator[bool]:
        """Yields True while holding a place, False when all are taken (then do not wait)."""
        with self._lock:
            granted = self._taken < settings.FLOWKER_MAX_WAITING_REQUESTS
            if granted:
                self._taken += 1
        try:
            yield granted
        finally:
            if granted:
                with self._lock:
                    self._taken -= 1


WAITING = WaitingSlots()


def publish_ended(execution_id: object) -> None:
    client = shared_redis()
    if client is None:
        return
    try:
        client.publish(CHANNEL.format(id=execution_id), b"1")
    except redis.RedisError as exc:
        logger.warning("could not publish the end of execution %s: %s", execution_id, exc)


def wait_until(is_terminal: Callable[[], bool], execution_id: object, seconds: float) -> bool:
    """Block until `is_terminal()` holds or `seconds` pass; True when it ended in time."""
    deadline = time.monotonic() + seconds
    client = shared_redis()
    if client is None:
        return _poll(is_terminal, deadline)
    try:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(CHANNEL.format(id=execution_id))
    except redis.RedisError:
        return _poll(is_terminal, deadline)
    try:
        # Subscribed before looking, so an end between the look and the wait is not missed.
        while not is_terminal():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                pubsub.get_message(timeout=min(remaining, 1.0))
            except redis.RedisError:
                return _poll(is_terminal, deadline)
        return True
    finally:
        with contextlib.suppress(redis.RedisError):
            pubsub.close()


def _poll(is_terminal: Callable[[], bool], deadline: float) -> bool:
    while not is_terminal():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True
