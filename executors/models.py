"""Executor configurations: a catalog executor bound to a provider configuration, with the
endpoints (operations) a workflow can call and default mappings."""

from django.db import models

from executors.choices import ExecutorConfigStatus
from flowker.ids import new_id
from flowker.jsoncodec import DecimalJSONDecoder, DecimalJSONEncoder


def _json(verbose_name: str, **kwargs) -> models.JSONField:
    return models.JSONField(
        verbose_name, encoder=DecimalJSONEncoder, decoder=DecimalJSONDecoder, **kwargs
    )


class ExecutorConfiguration(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField("name", max_length=100, unique=True)
    description = models.TextField("description", max_length=500, blank=True, default="")
    executor_id = models.CharField("catalog executor", max_length=100, blank=True, default="")
    provider_config = models.ForeignKey(
        "providers.ProviderConfiguration",
        verbose_name="provider configuration",
        related_name="executor_configs",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    # [{name, method, path, timeoutSeconds}]
    endpoints = _json("endpoints", default=list, blank=True)
    input_mapping = _json("input mapping", null=True, blank=True)
    output_mapping = _json("output mapping", null=True, blank=True)
    metadata = _json("metadata", default=dict, blank=True)
    status = models.CharField(
        "status",
        max_length=16,
        choices=ExecutorConfigStatus.choices,
        default=ExecutorConfigStatus.UNCONFIGURED,
    )
    last_tested_at = models.DateTimeField("last tested at", null=True, blank=True)
    last_test_result = _json("last test result", null=True, blank=True)
    created_at = models.DateTimeField("created at", auto_now_add=True)
    updated_at = models.DateTimeField("updated at", auto_now=True)

    class Meta:
        verbose_name = "executor configuration"
        verbose_name_plural = "executor configurations"
        indexes = [
            models.Index(fields=["created_at", "id"], name="executorcfg_created_idx"),
            models.Index(fields=["updated_at", "id"], name="executorcfg_updated_idx"),
            models.Index(fields=["name", "id"], name="executorcfg_name_idx"),
            models.Index(fields=["status", "created_at"], name="executorcfg_status_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def endpoint(self, name: str | None) -> dict | None:
        """The endpoint called `name`, or the first one when no name is given."""
        if not self.endpoints:
            return None
        if name is None:
            return self.endpoints[0]
        return next((e for e in self.endpoints if e.get("name") == name), None)
