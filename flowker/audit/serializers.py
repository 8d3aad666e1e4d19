"""Audit events as the API shows them (upstream AuditEntryOutput)."""

from typing import Any

from rest_framework import serializers

from flowker.audit.models import AuditEvent
from flowker.timefmt import format_timestamp


class ActorSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()
    ipAddress = serializers.CharField()


class AuditEventSerializer(serializers.Serializer):
    eventId = serializers.UUIDField()
    eventType = serializers.CharField()
    action = serializers.CharField()
    result = serializers.CharField()
    resourceId = serializers.CharField()
    resourceType = serializers.CharField()
    actor = ActorSerializer()
    context = serializers.DictField(required=False)
    metadata = serializers.DictField(required=False)
    timestamp = serializers.CharField()
    hash = serializers.CharField()
    previousHash = serializers.CharField(required=False)

    def to_representation(self, event: AuditEvent) -> dict[str, Any]:
        body: dict[str, Any] = {
            "eventId": str(event.event_id),
            "eventType": event.event_type,
            "action": event.action,
            "result": event.result,
            "resourceId": event.resource_id,
            "resourceType": event.resource_type,
            "actor": {"type": event.actor_type, "id": event.actor_id, "ipAddress": event.actor_ip},
        }
        if event.context:
            body["context"] = event.context
        if event.metadata:
            body["metadata"] = event.metadata
        body["timestamp"] = format_timestamp(event.created_at)
        body["hash"] = event.hash
        if event.previous_hash:
            body["previousHash"] = event.previous_hash
        return body


class ChainVerificationSerializer(serializers.Serializer):
    isValid = serializers.BooleanField()
    firstInvalidId = serializers.UUIDField(required=False)
    totalChecked = serializers.IntegerField()
    message = serializers.CharField()
