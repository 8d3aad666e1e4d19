"""/readyz against the suite's real worker: its ping travels on the health queue, which a
worker started without --queues consumes."""

import time

import pytest

from flowker import health

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_worker_answers_the_readiness_ping_on_the_health_queue(
    worker, anon_client, settings, monkeypatch
):
    monkeypatch.setattr(health, "READINESS", health.ReadinessCache())
    settings.FLOWKER_READYZ_CACHE_SECONDS = 0
    assert settings.FLOWKER_HEALTH_QUEUE != settings.FLOWKER_EXECUTION_QUEUE
    deadline = time.monotonic() + 30
    while True:
        response = anon_client.get("/readyz")
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["worker"]["status"] == "up"
