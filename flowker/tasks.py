"""Operational tasks: the readiness ping and beat's heartbeat."""

import time

from celery import shared_task
from django.core.cache import cache

from flowker.health import BEAT_HEARTBEAT_KEY, PING_KEY, PING_TASK


@shared_task(name=PING_TASK, acks_late=False)
def ping(token: str) -> None:
    """Answer /readyz's worker check: proves broker → worker → cache works end to end."""
    cache.set(PING_KEY.format(token=token), time.time(), timeout=60)


@shared_task(name="flowker.beat_heartbeat", acks_late=False)
def beat_heartbeat() -> None:
    """Sent by beat on schedule; when a worker runs it, both beat and a worker are alive."""
    cache.set(BEAT_HEARTBEAT_KEY, time.time(), timeout=None)
