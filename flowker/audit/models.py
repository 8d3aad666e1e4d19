"""The hash-chained, append-only audit trail (CONTRACT §11)."""

from typing import Any

from django.db import models

from flowker.audit.choices import Action, ActorType, EventType, ResourceType, Result
from flowker.ids import new_id
from flowker.jsoncodec import DecimalJSONDecoder, DecimalJSONEncoder


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit row."""


class AuditEvent(models.Model):
    # event_id is the public identifier. The chain is ordered by chain_position, given when the
    # sealer (flowker.audit.services.audit_seal) links the committed row into it; until then
    # chain_position is NULL and hash empty.
    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField("event id", default=new_id, unique=True, editable=False)
    event_type = models.CharField("event type", max_length=40, choices=EventType.choices)
    action = models.CharField("action", max_length=16, choices=Action.choices)
    result = models.CharField("result", max_length=8, choices=Result.choices)
    resource_type = models.CharField("resource type", max_length=24, choices=ResourceType.choices)
    resource_id = models.CharField("resource id", max_length=255)
    actor_type = models.CharField("actor type", max_length=16, choices=ActorType.choices)
    actor_id = models.CharField("actor id", max_length=255)
    actor_ip = models.CharField("actor IP", max_length=45, default="0.0.0.0")
    context = models.JSONField(
        "context", default=dict, encoder=DecimalJSONEncoder, decoder=DecimalJSONDecoder
    )
    metadata = models.JSONField(
        "metadata", default=dict, encoder=DecimalJSONEncoder, decoder=DecimalJSONDecoder
    )
    created_at = models.DateTimeField("timestamp")
    hash = models.CharField("hash", max_length=64, blank=True, default="")
    previous_hash = models.CharField("previous hash", max_length=64, null=True, blank=True)
    chain_position = models.BigIntegerField("chain position", null=True, blank=True, unique=True)

    class Meta:
        db_table = "audit_events"
        verbose_name = "audit event"
        verbose_name_plural = "audit events"
        indexes = [
            models.Index(fields=["created_at", "id"], name="audit_created_idx"),
            models.Index(fields=["event_type", "created_at"], name="audit_type_idx"),
            models.Index(fields=["resource_type", "resource_id"], name="audit_resource_idx"),
            models.Index(fields=["actor_type", "actor_id"], name="audit_actor_idx"),
            models.Index(
                fields=["id"],
                name="audit_unsealed_idx",
                condition=models.Q(chain_position__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.resource_type}/{self.resource_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("audit events are append-only")


class AuditCheckpoint(models.Model):
    """An event up to which the whole chain was verified, with the hash it had then. Later
    verifications of events after it start here instead of at the first event."""

    id = models.BigAutoField(primary_key=True)
    event = models.OneToOneField(
        AuditEvent,
        verbose_name="event",
        on_delete=models.PROTECT,
        related_name="checkpoint",
    )
    hash = models.CharField("hash", max_length=64)
    events_checked = models.PositiveBigIntegerField("events from the first up to this one")
    created_at = models.DateTimeField("verified at", auto_now_add=True)

    class Meta:
        db_table = "audit_checkpoints"
        verbose_name = "audit checkpoint"
        verbose_name_plural = "audit checkpoints"

    def __str__(self) -> str:
        return f"verified up to event {self.event_id}"
