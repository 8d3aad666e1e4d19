"""Every write to provider configurations: validated, audited in the same transaction."""

from typing import Any

from django.db import IntegrityError, transaction

from catalog import registry
from catalog.schemas import schema_errors
from executors.runtime.connectivity import connectivity_test
from executors.selectors import executor_config_names_using
from flowker.actors import Actor
from flowker.audit.choices import EventType
from flowker.audit.services import audit_record
from flowker.errors import FlowkerError
from flowker.sealing import keep_masked_secrets, seal_document, unseal_document
from flowker.transitions import transition
from providers.choices import ProviderConfigStatus
from providers.models import ProviderConfiguration
from workflows.selectors import active_workflow_names_using

_NAME_TAKEN = "provider configuration name already exists"
LOST_RACE = "FLK-0352"


def _provider_schema(provider_id: str) -> dict[str, Any]:
    provider = registry.get_provider(provider_id)
    if provider is None:
        raise FlowkerError("FLK-0294", "provider not found in catalog")
    return provider.config_schema


def _validated_config(provider_id: str, config: dict[str, Any]) -> dict[str, Any]:
    """Validate a plain config against the provider schema; return it sealed for storage."""
    schema = _provider_schema(provider_id)
    if not config:
        raise FlowkerError("FLK-0298", "config is required", fields={"config": "must not be empty"})
    errors = schema_errors(schema, config)
    if errors:
        raise FlowkerError(
            "FLK-0293",
            "config validation failed against provider schema",
            fields={
                f"config.{path}" if path else "config": reason for path, reason in errors.items()
            },
        )
    return seal_document(config, schema)


def plain_config(provider_config: ProviderConfiguration) -> dict[str, Any]:
    """The configuration with secrets decrypted — only for making provider calls."""
    return unseal_document(provider_config.config)


def _audit(
    event_type: str, action: str, provider_config: ProviderConfiguration, actor: Actor, **extra: Any
) -> None:
    audit_record(
        event_type=event_type,
        action=action,
        resource_type="provider_config",
        resource_id=provider_config.pk,
        actor=actor,
        result=extra.pop("result", "SUCCESS"),
        metadata={
            "provider_config.name": provider_config.name,
            "provider_config.provider_id": provider_config.provider_id,
            **extra,
        },
    )


def provider_config_create(
    *,
    name: str,
    provider_id: str,
    config: dict[str, Any],
    actor: Actor,
    description: str = "",
    metadata: dict[str, Any] | None = None,
) -> ProviderConfiguration:
    sealed = _validated_config(provider_id, config)
    try:
        with transaction.atomic():
            provider_config = ProviderConfiguration.objects.create(
                name=name,
                description=description or "",
                provider_id=provider_id,
                config=sealed,
                metadata=metadata or {},
            )
            _audit(EventType.PROVIDER_CONFIG_CREATED, "CREATE", provider_config, actor)
    except IntegrityError as exc:
        raise FlowkerError("FLK-0291", _NAME_TAKEN) from exc
    return provider_config


def provider_config_update(
    *, provider_config: ProviderConfiguration, changes: dict[str, Any], actor: Actor
) -> ProviderConfiguration:
    """Partial update: `config` replaces the whole config (masked values keep the stored
    secret), `metadata` is merged key by key."""
    fields: dict[str, Any] = {}
    if "name" in changes:
        fields["name"] = changes["name"]
    if "description" in changes:
        fields["description"] = changes["description"] or ""
    if "config" in changes:
        merged = keep_masked_secrets(changes["config"], provider_config.config)
        fields["config"] = _validated_config(provider_config.provider_id, unseal_document(merged))
    if "metadata" in changes:
        fields["metadata"] = {**provider_config.metadata, **changes["metadata"]}
    try:
        with transaction.atomic():
            locked = ProviderConfiguration.objects.select_for_update().get(pk=provider_config.pk)
            for field, value in fields.items():
                setattr(locked, field, value)
            locked.save()
            _audit(
                EventType.PROVIDER_CONFIG_UPDATED,
                "UPDATE",
                locked,
                actor,
                changed=sorted(changes),
            )
    except IntegrityError as exc:
        raise FlowkerError("FLK-0291", _NAME_TAKEN) from exc
    return locked


def _transition(
    provider_config: ProviderConfiguration,
    *,
    source: str,
    target: str,
    event_type: str,
    action: str,
    actor: Actor,
) -> ProviderConfiguration:
    if provider_config.status != source:
        raise FlowkerError("FLK-0292", "cannot modify provider configuration in current status")
    with transaction.atomic():
        transition(provider_config, sources=(source,), lost_race=LOST_RACE, status=target)
        _audit(event_type, action, provider_config, actor)
    return provider_config


def provider_config_disable(
    *, provider_config: ProviderConfiguration, actor: Actor
) -> ProviderConfiguration:
    return _transition(
        provider_config,
        source=ProviderConfigStatus.ACTIVE,
        target=ProviderConfigStatus.DISABLED,
        event_type=EventType.PROVIDER_CONFIG_DISABLED,
        action="DISABLE",
        actor=actor,
    )


def provider_config_enable(
    *, provider_config: ProviderConfiguration, actor: Actor
) -> ProviderConfiguration:
    return _transition(
        provider_config,
        source=ProviderConfigStatus.DISABLED,
        target=ProviderConfigStatus.ACTIVE,
        event_type=EventType.PROVIDER_CONFIG_ENABLED,
        action="ENABLE",
        actor=actor,
    )


def provider_config_delete(*, provider_config: ProviderConfiguration, actor: Actor) -> None:
    with transaction.atomic():
        locked = ProviderConfiguration.objects.select_for_update().filter(pk=provider_config.pk)
        if not locked.exists():
            raise FlowkerError("FLK-0290", "provider configuration not found")
        workflows = active_workflow_names_using(provider_config_id=provider_config.pk)
        if workflows:
            raise FlowkerError(
                "FLK-0292",
                "provider configuration is referenced by active workflows: " + ", ".join(workflows),
            )
        executors = executor_config_names_using(provider_config_id=provider_config.pk)
        if executors:
            raise FlowkerError(
                "FLK-0292",
                "provider configuration is used by executor configurations: "
                + ", ".join(executors),
            )
        _audit(EventType.PROVIDER_CONFIG_DELETED, "DELETE", provider_config, actor)
        locked.delete()


def provider_config_test(*, provider_config: ProviderConfiguration, actor: Actor) -> dict[str, Any]:
    """Run the connectivity test (real requests with the real credentials) and audit it."""

    try:
        result = connectivity_test(provider_config.provider_id, plain_config(provider_config))
    except FlowkerError as exc:
        with transaction.atomic():
            _audit(
                EventType.PROVIDER_CONFIG_TESTED,
                "TEST",
                provider_config,
                actor,
                result="FAILED",
                error=f"{exc.code}: {exc.message}",
            )
        raise
    body = {"providerConfigId": str(provider_config.pk), "providerId": provider_config.provider_id}
    body.update(result)
    with transaction.atomic():
        _audit(
            EventType.PROVIDER_CONFIG_TESTED,
            "TEST",
            provider_config,
            actor,
            result="SUCCESS" if result["overallStatus"] == "passed" else "FAILED",
            overall_status=result["overallStatus"],
        )
    return body


def provider_config_check(
    *, provider_id: str, config: dict[str, Any], stored: ProviderConfiguration | None = None
) -> None:
    """Validate without writing (admin forms show the errors before saving)."""
    if stored is not None:
        config = unseal_document(keep_masked_secrets(config, stored.config))
    _validated_config(provider_id, config)
