"""Guarded status transitions, the one way lifecycle services change a row's status.

A service reads the row, refuses a wrong source status with its own code (422), then writes
with `UPDATE … WHERE status IN (sources)`. When that matches no row, another request changed
the status in between: the loser gets the resource's lost-race code (409, CONTRACT §0)."""

from collections.abc import Collection
from typing import Any

from django.db import models
from django.utils import timezone

from flowker.errors import FlowkerError

LOST_RACE_MESSAGE = "resource state changed concurrently; retry with latest version"


def status_update(
    instance: models.Model,
    *,
    sources: Collection[str],
    guard: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """`UPDATE … SET fields WHERE pk AND status IN sources [AND guard]`; on success the
    instance carries the new values. False when no row matched."""
    model = type(instance)
    if any(field.name == "updated_at" for field in model._meta.concrete_fields):
        fields.setdefault("updated_at", timezone.now())
    rows = model._default_manager.filter(pk=instance.pk, status__in=tuple(sources), **(guard or {}))
    if not rows.update(**fields):
        return False
    for name, value in fields.items():
        setattr(instance, name, value)
    return True


def transition(
    instance: models.Model, *, sources: Collection[str], lost_race: str, **fields: Any
) -> None:
    """`status_update`, raising the resource's lost-race error when another request won."""
    if not status_update(instance, sources=sources, **fields):
        raise FlowkerError(lost_race, LOST_RACE_MESSAGE)


def guarded_delete(instance: models.Model, *, sources: Collection[str], lost_race: str) -> None:
    """`DELETE … WHERE pk AND status IN sources`, with the same lost-race error."""
    rows = type(instance)._default_manager.filter(pk=instance.pk, status__in=tuple(sources))
    deleted, _ = rows.delete()
    if not deleted:
        raise FlowkerError(lost_race, LOST_RACE_MESSAGE)
