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


class _Listener(threading.local):
    """Each thread keeps one subscriber connection between its waits (opening one per wait
    cost a TCP connect and a handshake on every `Prefer: wait`)."""

    pubsub: redis.client.PubSub | None = None

    def get(self, client: redis.Redis) -> redis.client.PubSub:
        if self.pubsub is None:
            self.pubsub = client.pubsub(ignore_subscribe_messages=True)
        return self.pubsub

    def forget(self) -> None:
        if self.pubsub is not None:
            with contextlib.suppress(redis.RedisError):
                self.pubsub.close()
        self.pubsub = None


LISTENER = _Listener()


def _subscribe(client: redis.Redis, channel: str) -> redis.client.PubSub | None:
    """The thread's subscriber, subscribed to `channel` (a kept connection that broke is
    replaced once); None when Redis cannot be reached."""
    for _ in range(2):
        try:
            pubsub = LISTENER.get(client)
            pubsub.subscribe(channel)
            return pubsub
        except redis.RedisError:
            LISTENER.forget()
    return None


def wait_until(is_terminal: Callable[[], bool], execution_id: object, seconds: float) -> bool:
    """Block until the execution ends or `seconds` pass; True when it ended in time.
    `is_terminal()` is asked after subscribing (so an end between the look and the wait is not
    missed), then only after a second without a notice (one that got lost on the way); the end's
    notice is the answer."""
    deadline = time.monotonic() + seconds
    client = shared_redis()
    if client is None:
        return _poll(is_terminal, deadline)
    channel = CHANNEL.format(id=execution_id)
    pubsub = _subscribe(client, channel)
    if pubsub is None:
        return _poll(is_terminal, deadline)
    wanted = channel.encode()
    try:
        if is_terminal():
            return True
        looked = time.monotonic()
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = pubsub.get_message(timeout=min(remaining, 1.0))
            except redis.RedisError:
                LISTENER.forget()
                return _poll(is_terminal, deadline)
            # A late notice for an execution this thread waited for before is not ours.
            if message is not None and message.get("channel") == wanted:
                return True
            if time.monotonic() - looked >= 1.0:
                if is_terminal():
                    return True
                looked = time.monotonic()
        return False
    finally:
        try:
            if LISTENER.pubsub is not None:
                LISTENER.pubsub.unsubscribe(channel)
        except redis.RedisError:
            LISTENER.forget()


def _poll(is_terminal: Callable[[], bool], deadline: float) -> bool:
    while not is_terminal():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True
