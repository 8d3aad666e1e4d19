"""Creating and revoking API keys, audited in the same transaction."""

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from flowker.actors import Actor
from flowker.apikeys.models import ApiKey
from flowker.apikeys.selectors import KEY_PREFIX, hash_key
from flowker.audit.choices import EventType
from flowker.audit.services import audit_record
from flowker.errors import FlowkerError


def _generate() -> tuple[str, str]:
    prefix = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return prefix, raw


def api_key_create(*, name: str, actor: Actor) -> tuple[ApiKey, str]:
    """Create a key; returns it with the plain key, which is never available again."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise FlowkerError("FLK-0302", "name must be 1–100 characters")
    prefix, raw = _generate()
    try:
        with transaction.atomic():
            api_key = ApiKey.objects.create(name=name, prefix=prefix, key_hash=hash_key(raw))
            audit_record(
                event_type=EventType.API_KEY_CREATED,
                action="CREATE",
                resource_type="api_key",
                resource_id=api_key.id,
                actor=actor,
                metadata={"api_key.name": name, "api_key.prefix": prefix},
            )
    except IntegrityError as exc:
        raise FlowkerError("FLK-0302", f"an API key named {name!r} exists") from exc
    return api_key, raw


def api_key_revoke(*, api_key: ApiKey, actor: Actor) -> ApiKey:
    with transaction.atomic():
        updated = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if not updated:
            raise FlowkerError("FLK-0401", "API key already revoked")
        audit_record(
            event_type=EventType.API_KEY_REVOKED,
            action="REVOKE",
            resource_type="api_key",
            resource_id=api_key.id,
            actor=actor,
            metadata={"api_key.name": api_key.name},
        )
    api_key.refresh_from_db()
    return api_key
