"""Circuit breakers around provider calls, one per executor configuration (per provider
configuration when a node has none), with state shared by every worker.

pybreaker keeps the counts and states; its storage is Redis (pybreaker's own storage) or the
Django cache (embedded mode), chosen by FLOWKER_BREAKER_STORAGE. pybreaker lets every process
through in half-open, so a `SET NX` trial lock admits exactly one trial across workers. When
the storage is unreachable the breaker counts as closed and the call proceeds.
"""

import contextlib
import datetime
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pybreaker
import redis
from django.conf import settings
from django.core.cache import cache

from flowker import metrics
from flowker.redis_clients import shared_redis

logger = logging.getLogger("flowker.breaker")
T = TypeVar("T")

NAMESPACE = "flowker:breaker"


class BreakerOpen(Exception):
    """The call was refused without reaching the provider (FLK-0507)."""


class CountsAsFailure(Exception):
    """Base of the errors a breaker counts; any other exception passes through uncounted."""


class CircuitCacheStorage(pybreaker.CircuitBreakerStorage):
    """pybreaker storage over the Django cache (shared through the file cache when embedded)."""

    def __init__(self, namespace: str) -> None:
        super().__init__("cache")
        self._prefix = f"{NAMESPACE}:{namespace}"

    def _key(self, name: str) -> str:
        return f"{self._prefix}:{name}"

    @property
    def state(self) -> str:
        return cache.get(self._key("state"), pybreaker.STATE_CLOSED)

    @state.setter
    def state(self, state: str) -> None:
        cache.set(self._key("state"), str(state), timeout=None)

    def _increment(self, name: str) -> None:
        key = self._key(name)
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)

    def increment_counter(self) -> None:
        self._increment("fail_counter")

    def reset_counter(self) -> None:
        cache.set(self._key("fail_counter"), 0, timeout=None)

    def increment_success_counter(self) -> None:
        self._increment("success_counter")

    def reset_success_counter(self) -> None:
        cache.set(self._key("success_counter"), 0, timeout=None)

    @property
    def counter(self) -> int:
        return int(cache.get(self._key("fail_counter"), 0))

    @property
    def success_counter(self) -> int:
        return int(cache.get(self._key("success_counter"), 0))

    @property
    def opened_at(self) -> datetime.datetime | None:
        stamp = cache.get(self._key("opened_at"))
        return datetime.datetime.fromtimestamp(stamp, tz=datetime.UTC) if stamp else None

    @opened_at.setter
    def opened_at(self, value: datetime.datetime) -> None:
        cache.set(self._key("opened_at"), value.timestamp(), timeout=None)


class SnapshotRedisStorage(pybreaker.CircuitRedisStorage):
    """pybreaker's Redis storage, read once per call: `snapshot()` fetches the state and the
    failure count in one MGET, and while it lasts (in this thread) the state is answered from
    it and resetting a failure count it saw at zero sends nothing. A call through a closed
    breaker costs one round trip instead of three (our look, pybreaker's look, its reset on
    success). A failure that another worker counted meanwhile is not erased by this call's
    success: the two calls simply count in the other order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen = threading.local()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        try:
            raw_state, raw_count = self._redis.mget(
                self._namespace("state"), self._namespace("fail_counter")
            )
        except redis.RedisError:  # unreachable: the breaker's own reads say so to the caller
            raw_state = None
        if raw_state is None:  # never stored (or lost): pybreaker's own read initialises it
            yield
            return
        self._seen.value = (raw_state.decode("utf-8"), int(raw_count or 0))
        try:
            yield
        finally:
            self._seen.value = None

    def _snapshot(self) -> tuple[str, int] | None:
        return getattr(self._seen, "value", None)

    def _get_state(self) -> str:
        seen = self._snapshot()
        return seen[0] if seen is not None else pybreaker.CircuitRedisStorage.state.fget(self)

    def _set_state(self, state: str) -> None:
        self._seen.value = None  # a change: read again from here on
        pybreaker.CircuitRedisStorage.state.fset(self, state)

    state = property(_get_state, _set_state)

    def reset_counter(self) -> None:
        seen = self._snapshot()
        if seen is not None and seen[1] == 0:
            return
        super().reset_counter()

    def increment_counter(self) -> None:
        self._seen.value = None
        super().increment_counter()


class RedisBreakerStore:
    """Breaker state in Redis (pybreaker's storage); trial locks are `SET NX` keys."""

    def storage(self, key: str) -> pybreaker.CircuitBreakerStorage:
        return SnapshotRedisStorage(
            pybreaker.STATE_CLOSED, shared_redis(), namespace=f"{NAMESPACE}:{key}"
        )

    def acquire_trial(self, name: str, ttl: int) -> bool:
        return bool(shared_redis().set(name, b"1", nx=True, ex=ttl))

    def release_trial(self, name: str) -> None:
        shared_redis().delete(name)


class CacheBreakerStore:
    """Breaker state in the Django cache (the embedded mode's file cache)."""

    def storage(self, key: str) -> pybreaker.CircuitBreakerStorage:
        return CircuitCacheStorage(key)

    def acquire_trial(self, name: str, ttl: int) -> bool:
        return cache.add(name, 1, timeout=ttl)

    def release_trial(self, name: str) -> None:
        cache.delete(name)


# FLOWKER_BREAKER_STORAGE → store (the setting is validated in settings.py).
STORES = {"redis": RedisBreakerStore, "cache": CacheBreakerStore}


@functools.cache
def _store() -> RedisBreakerStore | CacheBreakerStore:
    """Chosen once per process, from the settings."""
    return STORES[settings.FLOWKER_BREAKER_STORAGE]()


@dataclass(frozen=True)
class Breaker:
    """pybreaker's circuit and the storage it counts in (read for state and trial decisions)."""

    circuit: pybreaker.CircuitBreaker
    storage: pybreaker.CircuitBreakerStorage


_breakers: dict[str, Breaker] = {}
_last_outage_log = 0.0


def _log_outage(exc: Exception) -> None:
    global _last_outage_log
    if time.monotonic() - _last_outage_log > 60:
        _last_outage_log = time.monotonic()
        logger.warning("breaker storage unreachable; treating breakers as closed: %s", exc)


class _MetricsListener(pybreaker.CircuitBreakerListener):
    """Counts every state change and publishes the new state at once (beat refreshes it too)."""

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        name = getattr(new_state, "name", str(new_state))
        metrics.breaker_transition(breaker=cb.name, to=name)


class SharedCircuit(pybreaker.CircuitBreaker):
    """pybreaker's circuit without its process lock around the provider call itself.

    pybreaker holds the breaker's lock for the whole call, so two branches of an execution (or
    two executions in one process) calling the same configuration at once ran one after the
    other, the second waiting out the first's response. Here the lock guards only reading the
    state before the call and counting its outcome after; the call runs outside it. An open
    breaker keeps pybreaker's own path (refused, or moved to half-open for the one trial call
    that `call_through_breaker` admits)."""

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self._lock:
            state = self.state
            if state.name == pybreaker.STATE_OPEN:
                return super().call(func, *args, **kwargs)
            state.before_call(func, *args, **kwargs)
            for listener in self.listeners:
                listener.before_call(self, func, *args, **kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            with self._lock:
                state._handle_error(exc)  # counted (the breaker may open), then raised again
            raise
        with self._lock:
            state._handle_success()
        return result


def breaker_for(key: str) -> Breaker | None:
    """The breaker for `key`, built lazily; None while its storage is unreachable."""
    breaker = _breakers.get(key)
    if breaker is None:
        try:
            storage = _store().storage(key)
        except Exception as exc:
            _log_outage(exc)
            return None
        circuit = SharedCircuit(
            fail_max=settings.FLOWKER_BREAKER_FAILURE_THRESHOLD,
            reset_timeout=settings.FLOWKER_BREAKER_RESET_SECONDS,
            state_storage=storage,
            throw_new_error_on_trip=False,
            exclude=[lambda exc: not isinstance(exc, CountsAsFailure)],
            name=key,
            listeners=[_MetricsListener()],
        )
        breaker = _breakers[key] = Breaker(circuit=circuit, storage=storage)
    return breaker


def _trial_name(key: str) -> str:
    return f"{NAMESPACE}:{key}:trial"


def _needs_trial(breaker: Breaker) -> bool:
    """Open past its reset timeout (the next call is the trial) or already half-open."""
    storage = breaker.storage
    state = storage.state
    if state == pybreaker.STATE_HALF_OPEN:
        return True
    if state != pybreaker.STATE_OPEN:
        return False
    opened_at = storage.opened_at
    if opened_at is None:
        return True
    elapsed = datetime.datetime.now(opened_at.tzinfo) - opened_at
    if elapsed.total_seconds() < settings.FLOWKER_BREAKER_RESET_SECONDS:
        raise BreakerOpen(f"circuit open for {breaker.circuit.name}")
    return True


def call_through_breaker(key: str, call: Callable[[], T], *, timeout: float) -> T:
    """Run `call` under the breaker of `key`. `call` raises for failures that count (transient);
    anything it returns counts as a success. Raises BreakerOpen when refused."""
    breaker = breaker_for(key)
    if breaker is None:
        return call()
    snapshot = getattr(breaker.storage, "snapshot", contextlib.nullcontext)
    try:
        with snapshot():
            return _call_through(key, breaker, call, timeout)
    except _StorageUnreachable:
        return call()


class _StorageUnreachable(Exception):
    pass


def _call_through(key: str, breaker: Breaker, call: Callable[[], T], timeout: float) -> T:
    try:
        trial = _needs_trial(breaker)
    except BreakerOpen:
        raise
    except Exception as exc:
        _log_outage(exc)
        raise _StorageUnreachable from exc
    if trial and not _store().acquire_trial(_trial_name(key), max(1, int(timeout + 1))):
        raise BreakerOpen(f"circuit half-open for {key}: a trial call is in flight")
    try:
        return breaker.circuit.call(call)
    except pybreaker.CircuitBreakerError as exc:
        raise BreakerOpen(f"circuit open for {key}") from exc
    finally:
        if trial:
            _store().release_trial(_trial_name(key))


def breaker_state(key: str) -> dict[str, Any]:
    """What the console shows: state, consecutive failures, when it opened."""
    breaker = breaker_for(key)
    if breaker is None:
        return {"state": "unknown", "failures": 0, "openedAt": None}
    storage = breaker.storage
    try:
        opened = storage.opened_at
        return {
            "state": storage.state,
            "failures": storage.counter,
            "openedAt": opened.astimezone(datetime.UTC) if opened else None,
        }
    except Exception as exc:
        _log_outage(exc)
        return {"state": "unknown", "failures": 0, "openedAt": None}


def breaker_close(key: str) -> None:
    breaker = breaker_for(key)
    if breaker is not None:
        breaker.circuit.close()
        _store().release_trial(_trial_name(key))
