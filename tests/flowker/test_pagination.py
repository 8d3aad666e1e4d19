"""Keyset pagination as every list uses it, exercised through /v1/audit-events."""

import base64
import json

import pytest

from flowker.audit.models import AuditEvent
from tests.factories import make_audit_event

pytestmark = pytest.mark.django_db


def _ids(body):
    return [item["eventId"] for item in body["items"]]


def _all_ids(order="-id"):
    return [str(e) for e in AuditEvent.objects.order_by(order).values_list("event_id", flat=True)]


def test_empty_list(client_api):
    body = client_api.get("/v1/audit-events?eventType=WORKFLOW_CREATED").json()
    assert body == {"items": [], "nextCursor": "", "hasMore": False}


def test_default_limit_is_10(client_api):
    for _ in range(12):
        make_audit_event()
    body = client_api.get("/v1/audit-events").json()
    assert len(body["items"]) == 10
    assert body["hasMore"] is True and body["nextCursor"]


def test_exact_page_has_no_more(client_api):
    for _ in range(4):
        make_audit_event()
    total = AuditEvent.objects.count()
    body = client_api.get(f"/v1/audit-events?limit={total}").json()
    assert len(body["items"]) == total
    assert body == {**body, "hasMore": False, "nextCursor": ""}


def test_pages_walk_every_row_once_in_order(client_api):
    for _ in range(7):
        make_audit_event()
    seen, cursor = [], ""
    while True:
        body = client_api.get("/v1/audit-events", {"limit": 3, "cursor": cursor}).json()
        seen += _ids(body)
        if not body["hasMore"]:
            assert body["nextCursor"] == ""
            break
        cursor = body["nextCursor"]
    assert seen == _all_ids("-id")


def test_ascending_order(client_api):
    for _ in range(5):
        make_audit_event()
    first = client_api.get("/v1/audit-events?limit=2&sortOrder=asc").json()
    rest = client_api.get(
        "/v1/audit-events",
        {"limit": 100, "sortOrder": "ASC", "cursor": first["nextCursor"]},
    ).json()
    assert _ids(first) + _ids(rest) == _all_ids("id")


def test_stable_under_concurrent_inserts(client_api):
    for _ in range(6):
        make_audit_event()
    before = _all_ids("-id")
    page1 = client_api.get("/v1/audit-events?limit=3").json()
    for _ in range(3):
        make_audit_event()  # newer rows land before the cursor, not on page 2
    page2 = client_api.get("/v1/audit-events", {"limit": 100, "cursor": page1["nextCursor"]}).json()
    assert _ids(page1) + _ids(page2) == before


def test_ties_are_broken_by_id(client_api):
    events = [make_audit_event() for _ in range(4)]
    # Same timestamp on every row: the order must still be total and stable.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE audit_events SET created_at = %s", [events[0].created_at])
        cursor.execute("SET session_replication_role = DEFAULT")
    seen, cursor_value = [], ""
    while True:
        body = client_api.get("/v1/audit-events", {"limit": 2, "cursor": cursor_value}).json()
        seen += _ids(body)
        if not body["hasMore"]:
            break
        cursor_value = body["nextCursor"]
    assert sorted(seen) == sorted(_all_ids()) and len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("limit=abc", 400, "FLK-0304"),
        ("limit=1.5", 400, "FLK-0304"),
        ("limit=0", 400, "FLK-0309"),
        ("limit=101", 400, "FLK-0309"),
        ("limit=-3", 400, "FLK-0309"),
        ("sortOrder=sideways", 400, "FLK-0310"),
        ("sortBy=name", 400, "FLK-0304"),
        ("cursor=%%%garbage", 400, "FLK-0304"),
        ("cursor=bm90IGpzb24", 400, "FLK-0304"),
        # A cursor nested past the recursion limit (fits in a 4 KiB request line).
        ("cursor=" + base64.urlsafe_b64encode(b"[" * 1500).decode(), 400, "FLK-0304"),
    ],
)
def test_bad_list_parameters(client_api, query, status, code):
    response = client_api.get(f"/v1/audit-events?{query}")
    assert response.status_code == status
    assert response.json()["code"] == code


def test_limit_bounds_are_accepted(client_api):
    assert client_api.get("/v1/audit-events?limit=1").status_code == 200
    assert client_api.get("/v1/audit-events?limit=100").status_code == 200


def _next_cursor(client_api, query="limit=1"):
    for _ in range(3):
        make_audit_event()
    return client_api.get(f"/v1/audit-events?{query}").json()["nextCursor"]


def test_cursor_with_other_sort_order_is_refused(client_api):
    cursor = _next_cursor(client_api)
    response = client_api.get(f"/v1/audit-events?cursor={cursor}&sortOrder=ASC")
    assert response.json()["code"] == "FLK-0304"


def test_cursor_with_other_filters_is_refused(client_api):
    cursor = _next_cursor(client_api, "limit=1&result=SUCCESS")
    response = client_api.get(f"/v1/audit-events?cursor={cursor}&result=FAILED")
    assert response.json()["code"] == "FLK-0304"
    ok = client_api.get(f"/v1/audit-events?cursor={cursor}&result=SUCCESS&limit=1")
    assert ok.status_code == 200


def test_forged_cursor_is_refused(client_api):
    cursor = _next_cursor(client_api)
    padded = cursor + "=" * (-len(cursor) % 4)
    state = json.loads(base64.urlsafe_b64decode(padded))
    state["sv"] = "not a timestamp"
    forged = base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")
    response = client_api.get(f"/v1/audit-events?cursor={forged}")
    assert response.status_code == 400
    assert response.json()["code"] == "FLK-0304"
