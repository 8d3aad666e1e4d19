"""Operational endpoints: /health (liveness), /readyz (readiness per dependency), /version.

Each dependency check answers (status, latency_ms, error). Checks use short timeouts so a dead
dependency makes the endpoint answer 503 quickly instead of hanging. /readyz is public and
sends a task, so each web process answers it from its last result for a few seconds.
"""

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from flowker.celery import app, worker_heartbeat_key
from flowker.redis_clients import redis_client
from flowker.timefmt import format_timestamp, now

STARTED_AT = time.monotonic()
PING_TASK = "flowker.ping"  # sent by name: flowker.tasks imports this module
PING_KEY = "flowker:ping:{token}"
BEAT_HEARTBEAT_KEY = "flowker:beat:last"


@dataclass(frozen=True)
class CheckResult:
    status: str  # up | down
    latency_ms: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "up"

    def as_readyz(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status}
        if self.latency_ms is not None:
            body["latency_ms"] = self.latency_ms
        if self.error:
            body["error"] = self.error
        return body

    def as_health(self, name: str) -> dict[str, Any]:
        """A /health entry in upstream's words (readiness keeps up/down)."""
        if self.ok:
            return {"status": "healthy", "message": f"{name} connection ok"}
        return {"status": "unhealthy", "message": f"{name} check failed: {self.error}"}


def _timed(check: Callable[[], None]) -> CheckResult:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:
        return CheckResult("down", error=_describe(exc))
    return CheckResult("up", latency_ms=round((time.perf_counter() - started) * 1000))


def _describe(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200]


def check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        client = redis_client(url, timeout=0.5)
        try:
            client.ping()
        finally:
            client.close()
        return

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=1)


def check_cache() -> None:
    token = uuid.uuid4().hex
    key = f"flowker:health:{token}"
    cache.set(key, token, timeout=10)
    if cache.get(key) != token:
        raise RuntimeError("cache did not return the value it was given")
    cache.delete(key)


def check_worker() -> None:
    """Round trip through broker and worker: send a ping task, wait for its reply in the cache."""

    token = uuid.uuid4().hex
    timeout = settings.FLOWKER_READYZ_WORKER_TIMEOUT
    app.send_task(
        PING_TASK,
        args=[token],
        queue=settings.FLOWKER_HEALTH_QUEUE,
        expires=max(timeout * 2, 5),
        retry=False,
    )
    deadline = time.monotonic() + timeout
    key = PING_KEY.format(token=token)
    while time.monotonic() < deadline:
        if cache.get(key) is not None:
            cache.delete(key)
            return
        time.sleep(0.02)
    raise TimeoutError(f"no worker answered within {timeout:g} s")


def check_worker_heartbeat() -> None:
    """A worker that serves the execution queue recorded its heartbeat lately (flowker.celery);
    a read from the cache, so /health never waits on the broker or a busy worker."""
    queue = settings.FLOWKER_EXECUTION_QUEUE
    last = cache.get(worker_heartbeat_key(queue))
    if last is None:
        raise RuntimeError(f"no worker has served the {queue!r} queue")
    age = time.time() - float(last)
    if age > settings.FLOWKER_WORKER_STALE_SECONDS:
        raise RuntimeError(f"no worker on the {queue!r} queue for {age:.0f} s")


def check_scheduler() -> None:
    last = cache.get(BEAT_HEARTBEAT_KEY)
    if last is None:
        raise RuntimeError("beat has not reported")
    age = time.time() - float(last)
    if age > settings.FLOWKER_SCHEDULER_STALE_SECONDS:
        # Beat sends it and the housekeeping worker runs it: either may be the one down.
        raise RuntimeError(f"last beat heartbeat {age:.0f} s ago (beat or housekeeping worker)")


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "worker": check_worker,
    "scheduler": check_scheduler,
}
# /health: cheap checks only (no task sent): the worker is known from its heartbeat.
HEALTH_CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "worker": check_worker_heartbeat,
}


def _run_checks(checks: dict[str, Callable[[], None]]) -> dict[str, CheckResult]:
    names = list(checks)

    def run(name: str) -> CheckResult:
        try:
            return _timed(checks[name])
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        results = list(pool.map(run, names))
    return dict(zip(names, results, strict=True))


class ReadinessCache:
    """The last readiness answer of this process, reused for FLOWKER_READYZ_CACHE_SECONDS.

    One computation at a time: callers arriving during one wait for its answer instead of
    sending pings of their own, so a flood of /readyz costs one ping per process per period.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answer: tuple[float, dict[str, Any], int] | None = None

    def get(self, compute: Callable[[], tuple[dict[str, Any], int]]) -> tuple[dict[str, Any], int]:
        with self._lock:
            if self._answer is not None:
                computed_at, body, status = self._answer
                if time.monotonic() - computed_at < settings.FLOWKER_READYZ_CACHE_SECONDS:
                    return body, status
            body, status = compute()
            self._answer = (time.monotonic(), body, status)
            return body, status


READINESS = ReadinessCache()


def _readiness() -> tuple[dict[str, Any], int]:
    results = _run_checks(READINESS_CHECKS)
    ready = all(result.ok for result in results.values())
    body = {
        "status": "healthy" if ready else "unhealthy",
        "checks": {name: result.as_readyz() for name, result in results.items()},
        "version": settings.FLOWKER_VERSION,
        "deployment_mode": "embedded" if settings.FLOWKER_EMBEDDED_BROKER else "distributed",
    }
    return body, 200 if ready else 503


def _uptime() -> str:
    seconds = int(time.monotonic() - STARTED_AT)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes}m{seconds}s"


class PublicView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class DependencyCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(["up", "down"])
    latency_ms = serializers.IntegerField(required=False)
    error = serializers.CharField(required=False)


class HealthCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(["healthy", "unhealthy"])
    message = serializers.CharField()


class HealthView(PublicView):
    @extend_schema(
        operation_id="health",
        summary="Liveness",
        description=(
            "Whether the service reaches its database and broker and a worker serves the "
            "execution queue (its recent heartbeat): `healthy` (200) or `unhealthy` (503), one "
            "entry per check. Public."
        ),
        tags=["Operations"],
        responses={
            (200, "application/json"): inline_serializer(
                "Health",
                {
                    "status": serializers.ChoiceField(["healthy", "unhealthy"]),
                    "version": serializers.CharField(),
                    "uptime": serializers.CharField(),
                    "timestamp": serializers.CharField(),
                    "checks": serializers.DictField(child=HealthCheckSerializer()),
                },
            ),
            503: None,
        },
    )
    def get(self, request: Any) -> Response:
        results = _run_checks(HEALTH_CHECKS)
        healthy = all(result.ok for result in results.values())
        body = {
            "status": "healthy" if healthy else "unhealthy",
            "version": settings.FLOWKER_VERSION,
            "uptime": _uptime(),
            "timestamp": format_timestamp(now()),
            "checks": {name: result.as_health(name) for name, result in results.items()},
        }
        return Response(body, status=200 if healthy else 503)


class ReadyzView(PublicView):
    @extend_schema(
        operation_id="readyz",
        summary="Readiness",
        description=(
            "Whether this instance can do work: database, cache, broker, a worker round trip and "
            "beat's heartbeat, each `up` or `down`; 503 when any is down. Public."
        ),
        tags=["Operations"],
        responses={
            (200, "application/json"): inline_serializer(
                "Readiness",
                {
                    "status": serializers.ChoiceField(["healthy", "unhealthy"]),
                    "checks": serializers.DictField(child=DependencyCheckSerializer()),
                    "version": serializers.CharField(),
                    "deployment_mode": serializers.ChoiceField(["embedded", "distributed"]),
                },
            ),
            503: None,
        },
    )
    def get(self, request: Any) -> Response:
        body, status = READINESS.get(_readiness)
        return Response(body, status=status)


class VersionView(PublicView):
    @extend_schema(
        operation_id="version",
        summary="Version",
        description="The running Flowker version. Public.",
        tags=["Operations"],
        responses=inline_serializer(
            "Version", {"version": serializers.CharField(), "requestDate": serializers.CharField()}
        ),
    )
    def get(self, request: Any) -> Response:
        return Response(
            {"version": settings.FLOWKER_VERSION, "requestDate": format_timestamp(now())}
        )


def dependency_health() -> dict[str, dict[str, Any]]:
    """/readyz's checks by name (`status`, and `error` when down), for the console's home;
    the same cached answer, so the console adds no load."""
    body, _ = READINESS.get(_readiness)
    return body["checks"]
