"""Reads of provider configurations used across apps."""

from typing import Any

from django.db.models import QuerySet

from flowker.errors import FlowkerError
from providers.choices import ProviderConfigStatus
from providers.models import ProviderConfiguration


def provider_config_get(*, config_id: Any) -> ProviderConfiguration:
    config = ProviderConfiguration.objects.filter(pk=config_id).first()
    if config is None:
        raise FlowkerError("FLK-0290", "provider configuration not found")
    return config


def provider_config_list(*, filters: dict[str, Any]) -> QuerySet[ProviderConfiguration]:
    queryset = ProviderConfiguration.objects.all()
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("providerId"):
        queryset = queryset.filter(provider_id=filters["providerId"])
    return queryset


def provider_config_choices(*, provider_id: str) -> list[dict[str, str]]:
    """Active configurations of a provider as JSON Schema `oneOf` entries (name order, ≤100)."""
    rows = (
        ProviderConfiguration.objects.filter(
            provider_id=provider_id, status=ProviderConfigStatus.ACTIVE
        )
        .order_by("name")
        .values_list("id", "name")[:100]
    )
    return [{"const": str(config_id), "title": name} for config_id, name in rows]
