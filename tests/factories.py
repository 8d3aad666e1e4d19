"""Factories shared by the test suite: rows created through the real services."""

from typing import Any

from flowker.actors import Actor
from flowker.audit.services import audit_record, audit_seal
from tests.guide import guide_workflow, with_webhook  # noqa: F401 - shared by the tests


def make_audit_event(*, seal: bool = True, **overrides: Any):
    fields: dict[str, Any] = {
        "event_type": "API_KEY_CREATED",
        "action": "CREATE",
        "resource_type": "api_key",
        "resource_id": "019c96a0-0ac0-7de9-9f53-9cf842a2ee5a",
        "actor": Actor(type="api_key", id="tests", ip="127.0.0.1"),
        "metadata": {"n": 1},
    }
    fields.update(overrides)
    event = audit_record(**fields)
    if seal:  # as beat's sealer would, soon after the commit
        audit_seal()
        event.refresh_from_db()
    return event


def make_provider_config(name: str = "FraudShield", provider_id: str = "http", **config: Any):
    from providers.services import provider_config_create

    if provider_id == "http":
        config.setdefault("base_url", "https://fraud.example.com/api")
    elif provider_id == "tracer":
        config.setdefault("base_url", "https://tracer.example.com")
        config.setdefault("api_key", "tracer-key-1234")
    elif provider_id == "midaz":
        config.setdefault("base_url", "https://midaz.example.com/api/v1")
        config.setdefault("api_key", "sk-prod-xxx")
    return provider_config_create(
        name=name, provider_id=provider_id, config=config, actor=Actor.system()
    )


def make_executor_config(
    provider_config: Any = None,
    name: str = "fraud-score",
    *,
    status: str | None = None,
    **overrides: Any,
):
    """A complete executor configuration (the `http.request` executor with one POST endpoint)
    created through the service. `status` is then set directly, so a lifecycle test can start
    from any state."""
    from executors.models import ExecutorConfiguration
    from executors.services import executor_config_create

    fields: dict[str, Any] = {
        "name": name,
        "executor_id": "http.request",
        "endpoints": [
            {"name": "score", "method": "POST", "path": "/v1/score", "timeoutSeconds": 30}
        ],
        "provider_config_id": provider_config.pk if provider_config is not None else None,
    }
    fields.update(overrides)
    config = executor_config_create(**fields, actor=Actor.system())
    if status is not None:
        ExecutorConfiguration.objects.filter(pk=config.pk).update(status=status)
        config.refresh_from_db()
    return config
