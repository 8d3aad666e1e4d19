"""Waking a request that waits (`Prefer: wait`) when its execution ends: Redis pub/sub in the
distributed mode; in the embedded mode the waiter polls the database every 100 ms."""

import contextlib
import logging
import time
from collections.abc import Callable

import redis

from flowker.redis_clients import shared_redis

logger = logging.getLogger("flowker.notify")
CHANNEL = "flowker:execution-ended:{id}"
POLL_SECONDS = 0.1


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
