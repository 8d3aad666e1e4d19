"""The audit trail in the operators' console: read-only, with a chain check per event."""

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from flowker.audit import services
from flowker.audit.models import AuditCheckpoint, AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "event_type",
        "result",
        "resource_type",
        "resource_id",
        "actor_type",
        "actor_id",
        "actor_ip",
    ]
    list_filter = ["event_type", "action", "result", "resource_type", "actor_type"]
    search_fields = ["resource_id", "actor_id", "event_id"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    actions = ["verify_chain"]

    @admin.action(
        description="Verify the hash chain up to the newest selected event (from its checkpoint)"
    )
    def verify_chain(self, request: HttpRequest, queryset: Any) -> None:
        newest = queryset.order_by("-id").first()
        result = services.audit_verify(event=newest)
        level = messages.SUCCESS if result.is_valid else messages.ERROR
        self.message_user(request, f"{result.message} ({result.total_checked} checked)", level)


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    """Where verification of the chain starts; `manage.py verify_audit_chain` checks it all."""

    list_display = ["event", "events_checked", "hash", "created_at"]
    list_select_related = ["event"]
    ordering = ["-event_id"]
