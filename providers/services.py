"""Every write to provider configurations: validated, audited in the same transaction."""

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog import registry
from catalog.schemas import schema_errors
from executors.runtime.connectivity import connectivity_test
from executors.selectors import executor_config_names_using
from flowker.actors import Actor
from flowker.audit.choices import EventType
from flowker.audit.services import audit_record
from flowker.errors import FlowkerError
from flowker.sealing import is_sealed, keep_masked_secrets, seal_document, unseal_document
from flowker.transitions import transition
from providers.choices import ProviderConfigStatus
from providers.models import ProviderConfiguration
from workflows.selectors import active_workflow_names_using

_NAME_TAKEN = "provider configuration name already exists"
LOST_RACE = "FLK-0352"

# A header field name is an RFC 9110 token; a value has no control characters (CR/LF split the
# request) and no surrounding whitespace. requests refuses anything else at send time with an
# error that quotes the value, so it is refused here, where the value is still a field.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"(?:[^\x00-\x20\x7f](?:[^\x00-\x08\x0a-\x1f\x7f]*[^\x00-\x20\x7f])?)?")
_BAD_HEADER_VALUE = "must not start or end with whitespace or contain control characters (CR, LF)"

# Where a configuration sends its secrets: a change to any of these re-targets the stored ones.
_DESTINATION_FIELDS = (
    ("base_url",),
    ("onboarding_base_url",),
    ("transaction_base_url",),
    ("verify_tls",),
    ("authentication", "type"),
    ("authentication", "config", "tokenURL"),
    ("authentication", "config", "issuer_url"),
    ("authentication", "config", "location"),
    ("authentication", "config", "key"),
    ("auth", "issuer_url"),
)


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
    _refuse_bad_header_values(provider_id, config)
    _refuse_credentials_in_urls(config)
    return seal_document(config, schema)


def _refuse_credentials_in_urls(config: dict[str, Any]) -> None:
    """A base URL is shown and stored as written, so a credential in its query string or
    userinfo would be too: credentials belong in `authentication` (api_key can go in the query),
    where they are sealed and masked."""
    from urllib.parse import parse_qsl, urlsplit

    from executors.runtime.connections import BASE_URL_KEYS
    from flowker.sealing import is_sensitive_key

    fields = {}
    for key in BASE_URL_KEYS:
        value = config.get(key)
        if not isinstance(value, str):
            continue
        parts = urlsplit(value)
        names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
        if "@" in parts.netloc or any(is_sensitive_key(name) for name in names):
            fields[f"config.{key}"] = (
                "must not carry credentials (user:password or a key in the query string): "
                "use authentication (api_key with location query)"
            )
    if fields:
        raise FlowkerError("FLK-0302", "credentials in a URL are not stored", fields=fields)


def _header_fields(provider_id: str, config: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(field path, header name, value) of every configured value sent as an HTTP header."""
    if provider_id == "tracer":
        return [("config.api_key", "X-API-Key", config.get("api_key"))]
    if provider_id == "midaz":
        return [("config.api_key", "Authorization", config.get("api_key"))]
    found = [
        (f"config.headers.{name}", name, value)
        for name, value in (config.get("headers") or {}).items()
    ]
    authentication = config.get("authentication") or {}
    fields = authentication.get("config") or {}
    auth_type = authentication.get("type")
    location = fields.get("location") or "header"
    if auth_type == "api_key" and location == "header":
        found.append(("config.authentication.config.value", fields.get("key"), fields.get("value")))
    if auth_type == "bearer":
        found.append(("config.authentication.config.token", "Authorization", fields.get("token")))
    return found


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_bad_header_values(provider_id: str, config: dict[str, Any]) -> None:
    problems = {}
    for path, name, value in _header_fields(provider_id, config):
        if isinstance(name, str) and not _HEADER_NAME.fullmatch(name):
            problems[path] = "is not a valid HTTP header name"
        elif isinstance(value, str) and not _HEADER_VALUE.fullmatch(value):
            problems[path] = _BAD_HEADER_VALUE
        elif isinstance(value, str) and not _latin1(value):
            problems[path] = "must be ISO-8859-1 text (HTTP header values are)"
    if problems:
        raise FlowkerError(
            "FLK-0302",
            "config has values that cannot be sent as HTTP headers",
            fields=problems,
        )


# What an absent destination field means, so spelling out the default is not a change.
_DESTINATION_DEFAULTS = {
    ("verify_tls",): True,
    ("authentication", "type"): "none",
    ("authentication", "config", "location"): "header",
}


def _at(document: Any, path: tuple[str, ...]) -> Any:
    value = document
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return _DESTINATION_DEFAULTS.get(path) if value is None else value


def _kept_secrets(new: Any, merged: Any, prefix: str) -> list[str]:
    """Paths where `new` only echoed a mask and `merged` kept the stored (sealed) secret."""
    if is_sealed(merged):
        return [prefix] if not is_sealed(new) else []
    if isinstance(new, dict) and isinstance(merged, dict):
        return [
            path
            for key in new
            if key in merged
            for path in _kept_secrets(new[key], merged[key], f"{prefix}.{key}")
        ]
    if isinstance(new, list) and isinstance(merged, list):
        return [
            path
            for index, (item, kept) in enumerate(zip(new, merged, strict=False))
            for path in _kept_secrets(item, kept, f"{prefix}[{index}]")
        ]
    return []


def _with_stored_secrets(stored: ProviderConfiguration, new: dict[str, Any]) -> dict[str, Any]:
    """`new` with echoed masks replaced by the stored secrets, unless a destination or the
    authentication changed: then the secrets must be sent again, never carried to the new
    destination (400 FLK-0301 naming each)."""
    merged = keep_masked_secrets(new, stored.config)
    plain = unseal_document(merged)
    before = unseal_document(stored.config)
    changed = [
        ".".join(path) for path in _DESTINATION_FIELDS if _at(before, path) != _at(plain, path)
    ]
    kept = _kept_secrets(new, merged, "config")
    if changed and kept:
        reason = "must be sent again because " + ", ".join(changed) + " changed"
        raise FlowkerError(
            "FLK-0301",
            "config changes where credentials are sent: send its secrets again",
            fields=dict.fromkeys(kept, reason),
        )
    return plain


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
        plain = _with_stored_secrets(provider_config, changes["config"])
        fields["config"] = _validated_config(provider_config.provider_id, plain)
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
        result = connectivity_test(
            provider_config.provider_id,
            plain_config(provider_config),
            owner=str(provider_config.pk),
        )
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
        ProviderConfiguration.objects.filter(pk=provider_config.pk).update(
            last_test_result=result, last_tested_at=timezone.now()
        )
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
        config = _with_stored_secrets(stored, config)
    _validated_config(provider_id, config)
