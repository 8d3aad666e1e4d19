"""Webhook routes in the console: read-only (they follow workflow activation)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from webhooks.models import WebhookRoute


@admin.register(WebhookRoute)
class WebhookRouteAdmin(admin.ModelAdmin):
    list_display = ["method", "path", "workflow", "has_verify_token", "signed_by", "created_at"]
    list_filter = ["method"]
    search_fields = ["path", "workflow__name"]
    exclude = ["verify_token", "signature"]

    @admin.display(boolean=True, description="verify token")
    def has_verify_token(self, obj: WebhookRoute) -> bool:
        return obj.verify_token is not None

    @admin.display(description="signature scheme")
    def signed_by(self, obj: WebhookRoute) -> str:
        """The scheme only: the secret is never shown."""
        return (obj.signature or {}).get("scheme") or "-"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["method", "path", "workflow", "trigger_node_id", "signed_by", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
