"""Circuit breakers as operators see them: one per executor configuration and one per provider
configuration (the engine's breaker keys), their shared state, and the audited reset."""

import contextlib
import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from executors.models import ExecutorConfiguration
from executors.runtime.breaker import breaker_close, breaker_state
from executors.selectors import executor_config_get
from flowker.actors import Actor
from flowker.audit.choices import EventType
from flowker.audit.services import audit_record
from flowker.errors import FlowkerError
from providers.models import ProviderConfiguration
from providers.selectors import provider_config_get

# Breaker key prefix → the reader that proves the configuration exists (404 otherwise).
CONFIG_GETTERS = {"executor": executor_config_get, "provider": provider_config_get}


@dataclass(frozen=True)
class BreakerView:
    kind: str  # "executor" | "provider"
    config: ExecutorConfiguration | ProviderConfiguration
    key: str
    state: str  # closed | open | half-open | unknown (storage unreachable)
    failures: int
    opened_at: datetime.datetime | None  # the last time it opened, kept after it closes


def breaker_key(kind: str, config_id: Any) -> str:
    """The key the engine runs a configuration's calls under."""
    return f"{kind}:{config_id}"


def _parse_key(key: str) -> tuple[str, uuid.UUID]:
    kind, _, raw_id = str(key).partition(":")
    if kind in CONFIG_GETTERS:
        with contextlib.suppress(ValueError):
            return kind, uuid.UUID(raw_id)
    raise FlowkerError(
        "FLK-0302",
        "invalid breaker key, must be executor:<configuration id> or provider:<configuration id>",
        fields={"key": "invalid breaker key"},
    )


def breaker_list() -> list[BreakerView]:
    """Every configuration's breaker, executor configurations first, each kind by name."""
    configs: list[tuple[str, Any]] = [
        *(("executor", config) for config in ExecutorConfiguration.objects.order_by("name")),
        *(("provider", config) for config in ProviderConfiguration.objects.order_by("name")),
    ]
    views = []
    for kind, config in configs:
        key = breaker_key(kind, config.pk)
        state = breaker_state(key)
        views.append(
            BreakerView(
                kind=kind,
                config=config,
                key=key,
                state=state["state"],
                failures=state["failures"],
                opened_at=state["openedAt"],
            )
        )
    return views


def breaker_reset(*, key: str, actor: Actor) -> None:
    """Close the breaker of an existing configuration (its failure count back to zero)."""
    kind, config_id = _parse_key(key)
    CONFIG_GETTERS[kind](config_id=config_id)
    key = breaker_key(kind, config_id)
    breaker_close(key)
    # breaker_close does nothing while the storage is unreachable; recording a reset that did
    # not happen would mislead whoever reads the audit trail.
    if breaker_state(key)["state"] == "unknown":
        raise FlowkerError("FLK-0006", "breaker storage unreachable: the breaker was not reset")
    audit_record(
        event_type=EventType.BREAKER_RESET,
        action="RESET",
        resource_type="breaker",
        resource_id=config_id,
        actor=actor,
        metadata={"breaker.key": key},
    )
