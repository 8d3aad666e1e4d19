"""Registering and clearing webhook routes (called by workflow activation/deactivation)."""

from typing import Any

from django.db import IntegrityError, transaction

from flowker.errors import FlowkerError
from webhooks.models import WebhookRoute


def normalise_path(path: str) -> str:
    """Leading `/`, no trailing `/`; inner segments and case kept as written."""
    path = path.strip()
    if not path.startswith("/"):
        path = "/" + path
    return path.rstrip("/")


def webhook_path_problem(normalised: str) -> str | None:
    """Why a normalised path can be no webhook route, or None. Routes are plain segments:
    an empty, `.` or `..` segment, or a control character, would make two spellings reach
    one route (or look like a climb out of /v1/webhooks/ to a proxy's rules)."""
    segments = normalised[1:].split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        return "webhook path must not have empty, '.' or '..' segments"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in normalised):
        return "webhook path must not have control characters"
    return None


def webhook_routes_register(*, workflow: Any, routes: list[dict[str, Any]]) -> None:
    """Insert the workflow's routes; the unique constraint decides conflicts (FLK-0360).
    Must run inside the activating transaction."""
    for route in routes:
        try:
            with transaction.atomic():
                WebhookRoute.objects.create(
                    method=route["method"],
                    path=route["path"],
                    workflow=workflow,
                    trigger_node_id=route["nodeId"],
                    verify_token=route.get("verifyToken"),
                    signature=route.get("signature"),
                )
        except IntegrityError as exc:
            owner = (
                WebhookRoute.objects.filter(method=route["method"], path=route["path"])
                .values_list("workflow_id", flat=True)
                .first()
            )
            raise FlowkerError(
                "FLK-0360",
                f"path {route['method']} {route['path']} already registered by workflow {owner}",
                fields={f"nodes[{route['index']}].data.path": "already registered"},
            ) from exc


def webhook_routes_clear(*, workflow: Any) -> None:
    WebhookRoute.objects.filter(workflow=workflow).delete()
