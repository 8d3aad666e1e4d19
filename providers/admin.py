"""Provider configurations in the operators' console: secrets write-only, masked in lists."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from catalog import registry
from executors.selectors import executor_config_names_using
from flowker import jsoncodec
from flowker.actors import Actor, actor_from_request
from flowker.admin_configs import ConfigButton, ConfigurationPageMixin, describe_test
from flowker.admin_tools import (
    JSONTextField,
    ServiceRefusalsMixin,
    badge,
    flowker_error_to_form,
    moment,
    run_for_each,
)
from flowker.errors import FlowkerError
from providers import services
from providers.choices import ProviderConfigStatus
from providers.models import ProviderConfiguration
from providers.serializers import masked_config

FIELD_MAP = {"name": "name", "config": "config", "description": "description"}


class ProviderConfigForm(forms.ModelForm):
    provider_id = forms.ChoiceField(label="provider")
    config = JSONTextField(
        help_text="Secrets are shown masked; leave a masked value as it is to keep the secret."
    )
    metadata = JSONTextField(required=False)

    class Meta:
        model = ProviderConfiguration
        fields = ["name", "description", "provider_id", "config", "metadata"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider_id"].choices = [(p.id, p.name) for p in registry.providers()]
        if not self.instance._state.adding:
            self.fields["provider_id"].disabled = True
            self.initial["config"] = masked_config(self.instance)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            services.provider_config_check(
                provider_id=cleaned["provider_id"],
                config=cleaned.get("config") or {},
                stored=None if self.instance._state.adding else self.instance,
            )
        except FlowkerError as exc:
            flowker_error_to_form(self, exc, FIELD_MAP)
        return cleaned


def _test(obj: ProviderConfiguration, actor: Actor) -> dict[str, Any]:
    return services.provider_config_test(provider_config=obj, actor=actor)


def _enable(obj: ProviderConfiguration, actor: Actor) -> ProviderConfiguration:
    return services.provider_config_enable(provider_config=obj, actor=actor)


def _disable(obj: ProviderConfiguration, actor: Actor) -> ProviderConfiguration:
    return services.provider_config_disable(provider_config=obj, actor=actor)


@admin.register(ProviderConfiguration)
class ProviderConfigAdmin(ConfigurationPageMixin, ServiceRefusalsMixin, admin.ModelAdmin):
    form = ProviderConfigForm
    list_display = ["name", "provider_id", "status_badge", "last_test", "config_preview", "updated"]
    list_filter = ["provider_id", "status"]
    search_fields = ["name", "description"]
    readonly_fields = ["status", "created_at", "updated_at"]
    actions = ["enable", "disable", "test_connectivity"]
    breaker_kind = "provider"
    buttons = {
        "test": ConfigButton("Test connectivity", "Tested", _test),
        "enable": ConfigButton("Enable", "Enabled", _enable, (ProviderConfigStatus.DISABLED,)),
        "disable": ConfigButton("Disable", "Disabled", _disable, (ProviderConfigStatus.ACTIVE,)),
    }

    def related_rows(self, obj: ProviderConfiguration) -> list[tuple[str, str | None]]:
        return [(name, None) for name in executor_config_names_using(provider_config_id=obj.pk)]

    @admin.display(description="config")
    def config_preview(self, obj: ProviderConfiguration) -> str:
        return format_html("<code>{}</code>", jsoncodec.dumps(masked_config(obj))[:200])

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: ProviderConfiguration) -> str:
        return badge(obj.status)

    @admin.display(description="last test")
    def last_test(self, obj: ProviderConfiguration) -> str:
        result = obj.last_test_result if isinstance(obj.last_test_result, dict) else None
        return badge(result.get("overallStatus", "unknown")) if result else "—"

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, obj: ProviderConfiguration) -> str:
        return moment(obj.updated_at)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        actor = actor_from_request(request)
        if change:
            changes = {k: data[k] for k in ("name", "description", "config") if k in data}
            changes["metadata"] = data.get("metadata") or {}
            saved = services.provider_config_update(
                provider_config=ProviderConfiguration.objects.get(pk=obj.pk),
                changes=changes,
                actor=actor,
            )
        else:
            saved = services.provider_config_create(
                name=data["name"],
                description=data.get("description") or "",
                provider_id=data["provider_id"],
                config=data["config"],
                metadata=data.get("metadata") or {},
                actor=actor,
            )
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.provider_config_delete(provider_config=obj, actor=actor_from_request(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    @admin.action(description="Enable selected provider configurations", permissions=["run"])
    def enable(self, request: HttpRequest, queryset: Any) -> None:
        run_for_each(self, request, queryset, _enable, "Enabled")

    @admin.action(description="Disable selected provider configurations", permissions=["run"])
    def disable(self, request: HttpRequest, queryset: Any) -> None:
        run_for_each(self, request, queryset, _disable, "Disabled")

    @admin.action(
        description="Test connectivity of selected provider configurations", permissions=["run"]
    )
    def test_connectivity(self, request: HttpRequest, queryset: Any) -> None:
        for result in run_for_each(self, request, queryset, _test, "Tested"):
            self.message_user(request, *describe_test(result))
