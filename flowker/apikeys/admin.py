"""Operators list, create and revoke API keys; a key's secret is shown once, on creation."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from flowker.actors import actor_from_request
from flowker.admin_tools import RunActionsMixin
from flowker.apikeys import services
from flowker.apikeys.models import ApiKey
from flowker.errors import FlowkerError


class ApiKeyCreateForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name"]


@admin.register(ApiKey)
class ApiKeyAdmin(RunActionsMixin, admin.ModelAdmin):
    list_display = ["name", "masked_key", "created_at", "revoked_at", "is_active"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    actions = ["revoke_selected"]
    form = ApiKeyCreateForm

    @admin.display(description="key")
    def masked_key(self, obj: ApiKey) -> str:
        return f"flk_{obj.prefix}_…"

    @admin.display(boolean=True, description="active")
    def is_active(self, obj: ApiKey) -> bool:
        return obj.is_active

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["name", "masked_key", "created_at", "revoked_at"] if obj else []

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        api_key, raw = services.api_key_create(
            name=form.cleaned_data["name"], actor=actor_from_request(request)
        )
        obj.pk = api_key.pk
        obj._state.adding = False
        # Handed to response_add only: a message would carry it in a signed, unencrypted cookie.
        obj.raw_key = raw

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: Any = None) -> Any:
        """The key, shown once as the answer to the POST, with caching forbidden."""
        response = TemplateResponse(
            request,
            "admin/apikeys/apikey/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "API key created",
                "api_key": obj,
                "raw_key": obj.raw_key,
            },
        )
        add_never_cache_headers(response)
        return response

    @admin.action(description="Revoke selected API keys", permissions=["run"])
    def revoke_selected(self, request: HttpRequest, queryset: Any) -> None:
        actor = actor_from_request(request)
        revoked = 0
        for api_key in queryset:
            try:
                services.api_key_revoke(api_key=api_key, actor=actor)
                revoked += 1
            except FlowkerError as exc:
                self.message_user(request, f"{api_key.name}: {exc.message}", messages.ERROR)
        if revoked:
            self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)
