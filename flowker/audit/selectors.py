"""Reads of the audit trail."""

from typing import Any

from django.db.models import QuerySet

from flowker.audit.models import AuditEvent
from flowker.errors import FlowkerError


def audit_event_get(*, event_id: Any) -> AuditEvent:
    event = AuditEvent.objects.filter(event_id=event_id).first()
    if event is None:
        raise FlowkerError("FLK-0600", "audit entry not found")
    return event


def audit_event_list(*, filters: dict[str, Any]) -> QuerySet[AuditEvent]:
    queryset = AuditEvent.objects.all()
    lookups = {
        "eventType": "event_type",
        "action": "action",
        "result": "result",
        "resourceType": "resource_type",
        "resourceId": "resource_id",
        "dateFrom": "created_at__gte",
        "dateTo": "created_at__lte",
    }
    for name, lookup in lookups.items():
        value = filters.get(name)
        if value is not None:
            queryset = queryset.filter(**{lookup: str(value) if name == "resourceId" else value})
    return queryset
