"""The secrets a workflow holds — a webhook trigger's `verify_token` and `signature.secret`, and
its callback's `secret` — sealed for storage, masked for display, kept when a mask is sent
back."""

import copy
from collections.abc import Iterator
from typing import Any

from executions.choices import CALLBACK_EVENTS
from flowker.sealing import FULL_MASK, is_sealed, mask_value, seal, unseal
from workflows.choices import NodeType

# Where a trigger node's `data` keeps a secret.
TRIGGER_SECRETS: tuple[tuple[str, ...], ...] = (("verify_token",), ("signature", "secret"))


def _holders(node: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """(dict, key) of each secret a trigger node carries."""
    if not isinstance(node, dict) or node.get("type") != NodeType.TRIGGER:
        return
    for path in TRIGGER_SECRETS:
        holder = node.get("data")
        for key in path[:-1]:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and holder.get(path[-1]) is not None:
            yield holder, path[-1]


def _kept_or_sealed(value: Any, old: Any) -> Any:
    if is_sealed(value):
        return value
    if is_sealed(old) and value in (FULL_MASK, mask_value(unseal(old))):
        return old
    return seal(str(value))


def seal_callback(
    callback: dict[str, Any] | None, stored: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The callback as stored: its secret sealed (a mask sent back keeps the stored one) and
    its events listed once each, all terminal statuses when none are given."""
    if not callback:
        return None
    events = callback.get("events") or CALLBACK_EVENTS
    sealed = {
        "secret": _kept_or_sealed(callback["secret"], (stored or {}).get("secret")),
        "events": [event for event in CALLBACK_EVENTS if event in events],
    }
    if callback.get("url"):
        sealed = {"url": callback["url"], **sealed}
    return sealed


def _stored_secrets(nodes: list[dict[str, Any]] | None) -> dict[tuple[str, str], Any]:
    found = {}
    for node in nodes or []:
        for holder, key in _holders(node):
            found[(node.get("id"), key)] = holder[key]
    return found


def seal_trigger_secrets(
    nodes: list[dict[str, Any]], stored: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """A copy with every trigger secret sealed; a mask sent back keeps the stored secret."""
    previous = _stored_secrets(stored)
    result = copy.deepcopy(nodes)
    for node in result:
        for holder, key in _holders(node):
            holder[key] = _kept_or_sealed(holder[key], previous.get((node.get("id"), key)))
    return result


def mask_trigger_secrets(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nodes as shown: each sealed trigger secret becomes its mask."""
    shown = copy.deepcopy(nodes)
    for node in shown:
        for holder, key in _holders(node):
            if is_sealed(holder[key]):
                holder[key] = mask_value(unseal(holder[key]))
    return shown
