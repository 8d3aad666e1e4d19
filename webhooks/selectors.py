"""Reads of webhook routes: the route (with its workflow) that answers METHOD + path.

Every webhook asks the database which route matches, so an activation or deactivation is seen
by the next request in every process. Only the answer's identity is read each time (route id,
workflow id, the workflow's `updated_at`: one small indexed query); the route and its workflow
(whose definition is the costly part to load and decode) are kept per process under that
identity. Routes never change in place (activation inserts them, deactivation deletes them), and
every change of a workflow moves its `updated_at`, so a kept pair is used only while it is
exactly what the database holds.
"""

import threading
from collections import OrderedDict
from typing import Any

from django.db import connection

from webhooks.models import WebhookRoute
from workflows.models import Workflow

CACHED_ROUTES = 1024


class _Routes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[str, str], tuple[tuple[Any, ...], WebhookRoute]] = (
            OrderedDict()
        )

    def get(self, where: tuple[str, str], identity: tuple[Any, ...]) -> WebhookRoute | None:
        with self._lock:
            kept = self._kept.get(where)
            if kept is None or kept[0] != identity:
                return None
            self._kept.move_to_end(where)
            return kept[1]

    def put(self, where: tuple[str, str], identity: tuple[Any, ...], route: WebhookRoute) -> None:
        with self._lock:
            self._kept[where] = (identity, route)
            self._kept.move_to_end(where)
            while len(self._kept) > CACHED_ROUTES:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


ROUTES = _Routes()


def _identity_statement() -> str:
    routes, workflows = WebhookRoute._meta.db_table, Workflow._meta.db_table
    return (
        f"SELECT r.id, r.workflow_id, w.updated_at FROM {routes} r "  # noqa: S608 - table names
        f"JOIN {workflows} w ON w.id = r.workflow_id WHERE r.method = %s AND r.path = %s"
    )


def webhook_route_get(*, method: str, path: str) -> WebhookRoute | None:
    """The route registered for METHOD + normalised path, with its workflow; None if none.
    The returned objects may be shared with other requests of this process: read them only."""
    with connection.cursor() as cursor:
        cursor.execute(_identity_statement(), [method, path])
        row = cursor.fetchone()
    if row is None:
        return None
    where, identity = (method, path), tuple(row)
    route = ROUTES.get(where, identity)
    if route is None:
        route = (
            WebhookRoute.objects.select_related("workflow")
            .filter(pk=row[0], workflow__updated_at=row[2])
            .first()
        )
        if route is None:  # changed between the two reads: the next request reads it again
            return WebhookRoute.objects.select_related("workflow").filter(pk=row[0]).first()
        ROUTES.put(where, identity, route)
    return route
