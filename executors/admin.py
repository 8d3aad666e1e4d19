"""Executor configurations in the operators' console, with their lifecycle as actions."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from catalog import registry
from executors import services
from executors.choices import ExecutorConfigStatus as Status
from executors.models import ExecutorConfiguration
from executors.serializers import ExecutorConfigCreateSerializer
from flowker.actors import actor_from_request
from flowker.admin_configs import ConfigButton, ConfigurationPageMixin
from flowker.admin_tools import (
    JSONTextField,
    ServiceRefusalsMixin,
    badge,
    flowker_error_to_form,
    moment,
    run_for_each,
)
from flowker.api.errors import envelope_for
from flowker.errors import FlowkerError

FIELD_MAP = {
    "name": "name",
    "description": "description",
    "executorId": "executor_id",
    "providerConfigId": "provider_config",
    "endpoints": "endpoints",
    "inputMapping": "input_mapping",
    "outputMapping": "output_mapping",
    "metadata": "metadata",
}


class ExecutorConfigForm(forms.ModelForm):
    executor_id = forms.ChoiceField(label="catalog executor", required=False)
    endpoints = JSONTextField(
        required=False, help_text='[{"name": "score", "method": "POST", "path": "/v1/score"}]'
    )
    input_mapping = JSONTextField(required=False)
    output_mapping = JSONTextField(required=False)
    metadata = JSONTextField(required=False)

    class Meta:
        model = ExecutorConfiguration
        fields = [
            "name",
            "description",
            "executor_id",
            "provider_config",
            "endpoints",
            "input_mapping",
            "output_mapping",
            "metadata",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["executor_id"].choices = [("", "—")] + [
            (e.id, f"{e.id} ({e.name})") for e in registry.executors()
        ]

    def api_data(self) -> dict[str, Any]:
        """The form as the API body, so it goes through the same validation."""
        data = self.cleaned_data
        body: dict[str, Any] = {
            "name": data.get("name"),
            "description": data.get("description") or "",
            "executorId": data.get("executor_id") or None,
            "providerConfigId": str(data["provider_config"].pk)
            if data.get("provider_config")
            else None,
            "endpoints": data.get("endpoints"),
            "inputMapping": data.get("input_mapping"),
            "outputMapping": data.get("output_mapping"),
            "metadata": data.get("metadata"),
        }
        return {key: value for key, value in body.items() if value is not None}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        serializer = ExecutorConfigCreateSerializer(data=self.api_data())
        if not serializer.is_valid():
            from rest_framework.exceptions import ValidationError

            _, body, _ = envelope_for(ValidationError(serializer.errors))
            flowker_error_to_form(
                self,
                FlowkerError(body["code"], body["message"], fields=body.get("fields")),
                FIELD_MAP,
            )
        else:
            self.validated_api_data = dict(serializer.validated_data)
            try:
                services.executor_config_check(
                    changes=self.validated_api_data,
                    config=None if self.instance._state.adding else self.instance,
                )
            except FlowkerError as exc:
                flowker_error_to_form(self, exc, FIELD_MAP)
        return cleaned


def _lifecycle(service: Any, done: str, description: str) -> Any:
    def action(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
        run_for_each(
            modeladmin, request, queryset, lambda obj, actor: service(config=obj, actor=actor), done
        )

    action.__name__ = service.__name__.removeprefix("executor_config_")
    return admin.action(description=description, permissions=["run"])(action)


def _button(service: Any, label: str, done: str, *shown_in: str) -> ConfigButton:
    return ConfigButton(
        label, done, lambda obj, actor: service(config=obj, actor=actor), shown_in or None
    )


@admin.register(ExecutorConfiguration)
class ExecutorConfigAdmin(ConfigurationPageMixin, ServiceRefusalsMixin, admin.ModelAdmin):
    form = ExecutorConfigForm
    list_display = ["name", "executor_id", "provider_config", "status_badge", "tested"]
    list_filter = ["status", "executor_id"]
    breaker_kind = "executor"
    buttons = {
        "test": _button(services.executor_config_test, "Test", "Tested"),
        "mark_configured": _button(
            services.executor_config_mark_configured,
            "Mark configured",
            "Configured",
            Status.UNCONFIGURED,
        ),
        "activate": _button(
            services.executor_config_activate, "Activate", "Activated", Status.TESTED
        ),
        "disable": _button(
            services.executor_config_disable,
            "Disable",
            "Disabled",
            Status.TESTED,
            Status.ACTIVE,
        ),
        "enable": _button(services.executor_config_enable, "Enable", "Enabled", Status.DISABLED),
    }

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: ExecutorConfiguration) -> str:
        return badge(obj.status)

    @admin.display(description="last tested", ordering="last_tested_at")
    def tested(self, obj: ExecutorConfiguration) -> str:
        return moment(obj.last_tested_at)

    search_fields = ["name", "description"]
    readonly_fields = ["status", "last_tested_at", "created_at", "updated_at"]
    actions = [
        _lifecycle(services.executor_config_mark_configured, "Configured", "Mark configured"),
        "test_endpoint",
        _lifecycle(services.executor_config_activate, "Activated", "Activate"),
        _lifecycle(services.executor_config_disable, "Disabled", "Disable"),
        _lifecycle(services.executor_config_enable, "Enabled", "Enable"),
    ]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        actor = actor_from_request(request)
        data = form.validated_api_data
        if change:
            saved = services.executor_config_update(
                config=ExecutorConfiguration.objects.get(pk=obj.pk), changes=data, actor=actor
            )
        else:
            saved = services.executor_config_create(**data, actor=actor)
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.executor_config_delete(config=obj, actor=actor_from_request(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    @admin.action(description="Test (connectivity of the first endpoint)", permissions=["run"])
    def test_endpoint(self, request: HttpRequest, queryset: Any) -> None:
        results = run_for_each(
            self,
            request,
            queryset,
            lambda obj, actor: services.executor_config_test(config=obj, actor=actor),
            "Tested",
        )
        for config in results:
            outcome = (config.last_test_result or {}).get("overallStatus", "unknown")
            self.message_user(request, f"{config.name}: test {outcome}, status {config.status}")
