"""Operational endpoints and what they report when a dependency is down."""

import time
import uuid

import pytest
import redis
from django.core.cache import cache

from flowker import health
from flowker.celery import worker_heartbeat_key

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:6390/0"  # nothing listens there


@pytest.fixture(autouse=True)
def fresh_readiness(monkeypatch):
    """Each test sees its own /readyz answers, not one cached by an earlier test."""
    monkeypatch.setattr(health, "READINESS", health.ReadinessCache())


@pytest.fixture
def unconsumed_health_queue(settings):
    """A health queue no worker consumes, so /readyz's ping is never answered."""
    settings.FLOWKER_HEALTH_QUEUE = f"health-test-{uuid.uuid4().hex}"
    broker = redis.Redis.from_url(settings.REDIS_URL)
    yield broker, settings.FLOWKER_HEALTH_QUEUE
    broker.delete(settings.FLOWKER_HEALTH_QUEUE)


@pytest.fixture
def worker_heartbeat(settings):
    """A worker on the execution queue, as far as its heartbeat tells (flowker.celery)."""
    key = worker_heartbeat_key(settings.FLOWKER_EXECUTION_QUEUE)
    cache.set(key, time.time())
    yield key
    cache.delete(key)


def test_health_is_200_with_database_and_broker_up(anon_client, worker_heartbeat):
    response = anon_client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["checks"]["database"] == {
        "status": "healthy",
        "message": "database connection ok",
    }
    assert body["checks"]["broker"]["status"] == "healthy"
    assert body["checks"]["worker"]["status"] == "healthy"
    assert body["timestamp"].endswith("Z")


def test_health_is_503_when_no_worker_serves_the_execution_queue(anon_client, settings):
    settings.FLOWKER_EXECUTION_QUEUE = f"nobody-{uuid.uuid4().hex}"
    response = anon_client.get("/health")
    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert worker["status"] == "unhealthy"
    assert "no worker has served" in worker["message"]


def test_health_is_503_when_the_worker_heartbeat_is_stale(anon_client, settings):
    """A worker that died, or lost the broker, stops its heartbeat: /health says so."""
    key = worker_heartbeat_key(settings.FLOWKER_EXECUTION_QUEUE)
    cache.set(key, time.time() - settings.FLOWKER_WORKER_STALE_SECONDS - 1)
    try:
        response = anon_client.get("/health")
    finally:
        cache.delete(key)
    assert response.status_code == 503
    assert "no worker on the" in response.json()["checks"]["worker"]["message"]


def test_health_is_503_when_the_broker_is_down(anon_client, settings, worker_heartbeat):
    settings.CELERY_BROKER_URL = DEAD_REDIS
    response = anon_client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["broker"]["status"] == "unhealthy"
    assert body["checks"]["broker"]["message"].startswith("broker check failed: ")
    assert body["checks"]["database"]["status"] == "healthy"


def test_readyz_reports_each_dependency(anon_client, settings):
    settings.FLOWKER_READYZ_WORKER_TIMEOUT = 0.3
    body = anon_client.get("/readyz").json()
    assert set(body["checks"]) == {"database", "cache", "broker", "worker", "scheduler"}
    for name in ("database", "cache", "broker"):
        assert body["checks"][name]["status"] == "up"
        assert isinstance(body["checks"][name]["latency_ms"], int)
    assert body["deployment_mode"] == "distributed"


def test_readyz_is_503_when_no_worker_answers(anon_client, settings, unconsumed_health_queue):
    settings.FLOWKER_READYZ_WORKER_TIMEOUT = 0.3
    response = anon_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["status"] == "down"


def test_readyz_pings_on_its_own_queue_once_per_cache_period(
    anon_client, settings, unconsumed_health_queue
):
    broker, queue = unconsumed_health_queue
    settings.FLOWKER_READYZ_WORKER_TIMEOUT = 0.3
    settings.FLOWKER_READYZ_CACHE_SECONDS = 60
    first, second = anon_client.get("/readyz"), anon_client.get("/readyz")
    assert first.status_code == second.status_code == 503
    assert second.json() == first.json()
    # One ping, and on the health queue (a worker backlog of executions does not delay it).
    assert broker.llen(queue) == 1
    settings.FLOWKER_READYZ_CACHE_SECONDS = 0
    anon_client.get("/readyz")
    assert broker.llen(queue) == 2


def test_readyz_is_503_with_redis_down(anon_client, settings):
    settings.FLOWKER_READYZ_WORKER_TIMEOUT = 0.3
    settings.CELERY_BROKER_URL = DEAD_REDIS
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    response = anon_client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"]["status"] == "down"
    assert checks["broker"]["status"] == "down"
    assert checks["database"]["status"] == "up"


def test_scheduler_check_follows_beat_heartbeat(anon_client, settings):
    from flowker.health import BEAT_HEARTBEAT_KEY, check_scheduler

    cache.set(BEAT_HEARTBEAT_KEY, time.time())
    check_scheduler()
    cache.set(BEAT_HEARTBEAT_KEY, time.time() - settings.FLOWKER_SCHEDULER_STALE_SECONDS - 1)
    with pytest.raises(RuntimeError, match="ago"):
        check_scheduler()


def test_version(anon_client):
    body = anon_client.get("/version").json()
    assert body["version"] and body["requestDate"].endswith("Z")


def test_metrics_are_prometheus_text(anon_client):
    anon_client.get("/health")
    response = anon_client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_requests_total_by_method_total" in response.content


def test_openapi_document_describes_the_api(anon_client):
    response = anon_client.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/v1/audit-events" in document["paths"]
    assert "ApiKeyAuth" in document["components"]["securitySchemes"]
    operation = document["paths"]["/v1/audit-events/{id}"]["get"]
    assert {"200", "400", "401", "404"} <= set(operation["responses"])
    [id_parameter] = [p for p in operation["parameters"] if p["name"] == "id"]
    assert id_parameter["schema"] == {"type": "string", "format": "uuid"}
    listing = document["paths"]["/v1/audit-events"]["get"]["parameters"]
    [limit] = [p for p in listing if p["name"] == "limit"]
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)


def test_openapi_document_is_built_once_per_process(anon_client, monkeypatch):
    from drf_spectacular.generators import SchemaGenerator

    from flowker.urls import OpenAPIView

    monkeypatch.setattr(OpenAPIView, "document", None)
    builds = []
    build = SchemaGenerator.get_schema

    def counted_build(self, *args, **kwargs):
        builds.append(self)
        return build(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counted_build)
    first, second = anon_client.get("/v1/openapi.json"), anon_client.get("/v1/openapi.json")
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert len(builds) == 1


def test_swagger_ui_is_served_locally(anon_client):
    response = anon_client.get("/swagger/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/v1/openapi.json" in html
    assert "cdn" not in html.lower()
