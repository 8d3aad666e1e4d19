"""Reads of executor configurations used across apps."""

from typing import Any

from django.db.models import QuerySet

from executors.models import ExecutorConfiguration
from flowker.errors import FlowkerError


def executor_config_get(*, config_id: Any) -> ExecutorConfiguration:
    config = (
        ExecutorConfiguration.objects.select_related("provider_config").filter(pk=config_id).first()
    )
    if config is None:
        raise FlowkerError("FLK-0250", "executor configuration not found")
    return config


def executor_config_list(*, filters: dict[str, Any]) -> QuerySet[ExecutorConfiguration]:
    queryset = ExecutorConfiguration.objects.all()
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("executorId"):
        queryset = queryset.filter(executor_id=filters["executorId"])
    if filters.get("providerConfigId"):
        queryset = queryset.filter(provider_config_id=filters["providerConfigId"])
    return queryset


def executor_config_names_using(*, provider_config_id: Any) -> list[str]:
    return sorted(
        ExecutorConfiguration.objects.filter(provider_config_id=provider_config_id).values_list(
            "name", flat=True
        )
    )
