"""The audit trail in the operators' console: read-only, with a chain check per event."""

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from flowker.admin_tools import RunActionsMixin, badge, moment, short_id
from flowker.audit import services
from flowker.audit.models import AuditCheckpoint, AuditEvent

# resource_type → the console page of such a resource (deleted ones answer the admin's 404
# message, which still says what was there).
RESOURCE_PAGES = {
    "workflow": "admin:workflows_workflow_change",
    "execution": "admin:executions_execution_change",
    "provider_config": "admin:providers_providerconfiguration_change",
    "executor_config": "admin:executors_executorconfiguration_change",
    "api_key": "admin:apikeys_apikey_change",
}


@admin.register(AuditEvent)
class AuditEventAdmin(RunActionsMixin, admin.ModelAdmin):
    list_display = [
        "created",
        "event_type",
        "result_badge",
        "resource",
        "actor",
        "actor_ip",
    ]
    list_filter = ["event_type", "action", "result", "resource_type", "actor_type", "created_at"]
    search_fields = ["resource_id", "actor_id", "event_id"]
    search_help_text = "A resource id, an actor (user name or API key name) or an event id."
    date_hierarchy = "created_at"
    ordering = ["-id"]
    actions = ["verify_chain"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["created_micro", *(field.name for field in self.model._meta.fields)]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="at (UTC)", ordering="created_at")
    def created(self, obj: AuditEvent) -> str:
        return moment(obj.created_at, micro=True)

    @admin.display(description="at, to the microsecond")
    def created_micro(self, obj: AuditEvent) -> str:
        return obj.created_at.isoformat(timespec="microseconds")

    @admin.display(description="result", ordering="result")
    def result_badge(self, obj: AuditEvent) -> str:
        return badge(obj.result)

    @admin.display(description="resource", ordering="resource_type")
    def resource(self, obj: AuditEvent) -> str:
        page = RESOURCE_PAGES.get(obj.resource_type)
        if page is None or not obj.resource_id:
            return format_html("{} {}", obj.resource_type, obj.resource_id or "")
        url = reverse(page, args=[obj.resource_id])
        return format_html(
            '{} <a href="{}">{}</a>', obj.resource_type, url, short_id(obj.resource_id)
        )

    @admin.display(description="actor", ordering="actor_id")
    def actor(self, obj: AuditEvent) -> str:
        filtered = f"?actor_type__exact={obj.actor_type}&q={obj.actor_id}"
        return format_html('<a href="{}">{}</a> ({})', filtered, obj.actor_id, obj.actor_type)

    @admin.action(
        description="Verify the hash chain up to the newest selected event (from its checkpoint)",
        permissions=["run"],
    )
    def verify_chain(self, request: HttpRequest, queryset: Any) -> None:
        newest = queryset.order_by("-id").first()
        result = services.audit_verify(event=newest)
        if result.is_valid:
            self.message_user(
                request, f"{result.message} ({result.total_checked} checked)", messages.SUCCESS
            )
            return
        broken = AuditEvent.objects.filter(event_id=result.first_invalid_id).first()
        link = (
            format_html(
                ' <a href="{}">Open the first broken event</a>.',
                reverse("admin:audit_auditevent_change", args=[broken.pk]),
            )
            if broken
            else ""
        )
        self.message_user(
            request,
            format_html("{} ({} checked).{}", result.message, result.total_checked, link),
            messages.ERROR,
        )


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(admin.ModelAdmin):
    """Where verification of the chain starts; `manage.py verify_audit_chain` checks it all."""

    list_display = ["event", "events_checked", "hash", "created_at"]
    list_select_related = ["event"]
    ordering = ["-event_id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
