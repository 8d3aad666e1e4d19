"""Factories shared by the test suite: rows created through the real services."""

from typing import Any

from flowker.actors import Actor
from flowker.audit.services import audit_record


def make_audit_event(**overrides: Any):
    fields: dict[str, Any] = {
        "event_type": "API_KEY_CREATED",
        "action": "CREATE",
        "resource_type": "api_key",
        "resource_id": "019c96a0-0ac0-7de9-9f53-9cf842a2ee5a",
        "actor": Actor(type="api_key", id="tests", ip="127.0.0.1"),
        "metadata": {"n": 1},
    }
    fields.update(overrides)
    return audit_record(**fields)
