"""Keyset pagination shared by every list: `{items, nextCursor, hasMore}` (CONTRACT §3).

The cursor is opaque (base64url of JSON) and records sortBy, sortOrder and the filters it was
issued for, plus the last item's sort value and id; ties are broken by id, so pages stay
stable while rows are inserted.
"""

import base64
import binascii
import datetime
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet

from flowker import jsoncodec
from flowker.errors import FlowkerError

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str
    has_more: bool

    def as_response(self, serialize: Any) -> dict[str, Any]:
        return {
            "items": [serialize(item) for item in self.items],
            "nextCursor": self.next_cursor,
            "hasMore": self.has_more,
        }


def _bad_query(message: str) -> FlowkerError:
    return FlowkerError("FLK-0304", message)


def parse_limit(params: Any) -> int:
    raw = params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError as exc:
        raise _bad_query("invalid limit parameter, expected integer") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise FlowkerError("FLK-0309", f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _decode_value(value: Any, sample_type: str) -> Any:
    if value is None:
        return None
    if sample_type == "datetime":
        return datetime.datetime.fromisoformat(value)
    return value


class KeysetPaginator:
    """Validates list parameters and pages a queryset by (sort field, id).

    `sort_fields` maps API names to model fields, e.g. {"createdAt": "created_at"}.
    `filters` are the list's already-validated filter values, recorded in the cursor.
    """

    def __init__(
        self,
        *,
        params: Any,
        sort_fields: dict[str, str],
        default_sort: str,
        filters: dict[str, Any] | None = None,
        id_field: str = "id",
    ) -> None:
        self.limit = parse_limit(params)
        sort_by = params.get("sortBy") or default_sort
        if sort_by not in sort_fields:
            raise _bad_query(f"invalid sortBy, must be one of: {', '.join(sort_fields)}")
        sort_order = (params.get("sortOrder") or "DESC").upper()
        if sort_order not in ("ASC", "DESC"):
            raise FlowkerError("FLK-0310", "invalid sortOrder, must be ASC or DESC")
        self.sort_by = sort_by
        self.sort_field = sort_fields[sort_by]
        self.descending = sort_order == "DESC"
        self.sort_order = sort_order
        self.filters = {k: _encode_value(v) for k, v in (filters or {}).items() if v is not None}
        self.id_field = id_field
        self.after = self._decode_cursor(params.get("cursor"))

    def _decode_cursor(self, cursor: str | None) -> dict[str, Any] | None:
        if not cursor:
            return None
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            state = jsoncodec.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
            raise _bad_query("invalid cursor") from exc
        if not isinstance(state, dict) or {"sb", "so", "f", "sv", "id", "t"} - state.keys():
            raise _bad_query("invalid cursor")
        if (state["sb"], state["so"], state["f"]) != (self.sort_by, self.sort_order, self.filters):
            raise _bad_query("cursor does not match sortBy, sortOrder or filters of this request")
        try:
            state["sv"] = _decode_value(state["sv"], state["t"])
        except (ValueError, TypeError) as exc:
            raise _bad_query("invalid cursor") from exc
        return state

    def _encode_cursor(self, item: Any) -> str:
        value = getattr(item, self.sort_field)
        state = {
            "sb": self.sort_by,
            "so": self.sort_order,
            "f": self.filters,
            "sv": _encode_value(value),
            "t": "datetime" if isinstance(value, datetime.datetime) else "raw",
            "id": _encode_value(getattr(item, self.id_field)),
        }
        raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def _after_filter(self, nullable: bool) -> Q:
        """Rows strictly after the cursor in (sort field, id) order; NULL sort values last."""
        assert self.after is not None
        field, id_field = self.sort_field, self.id_field
        op = "lt" if self.descending else "gt"
        last_id, last_value = self.after["id"], self.after["sv"]
        if last_value is None:
            return Q(**{f"{field}__isnull": True, f"{id_field}__{op}": last_id})
        after = Q(**{f"{field}__{op}": last_value}) | Q(
            **{field: last_value, f"{id_field}__{op}": last_id}
        )
        if nullable:
            return after | Q(**{f"{field}__isnull": True})
        # The redundant bound (`≤`/`≥` the last value) is what an index on (field, id) can
        # start its scan at, so page N reads as few rows as page 1.
        return Q(**{f"{field}__{op}e": last_value}) & after

    def paginate(self, queryset: QuerySet) -> Page:
        # NULLS LAST only where NULLs can occur: on a NOT NULL field it orders the same rows
        # the same way, but a plain b-tree index on (field, id) serves `DESC, DESC` (read
        # backwards) only without it, and the list would otherwise sort the whole table.
        nullable = queryset.model._meta.get_field(self.sort_field).null
        nulls_last = {"nulls_last": True} if nullable else {}
        if self.descending:
            ordering = [F(self.sort_field).desc(**nulls_last), F(self.id_field).desc()]
        else:
            ordering = [F(self.sort_field).asc(**nulls_last), F(self.id_field).asc()]
        queryset = queryset.order_by(*ordering)
        if self.after is not None:
            queryset = queryset.filter(self._after_filter(nullable))
        rows = list(queryset[: self.limit + 1])
        has_more = len(rows) > self.limit
        items = rows[: self.limit]
        next_cursor = self._encode_cursor(items[-1]) if has_more else ""
        return Page(items=items, next_cursor=next_cursor, has_more=has_more)
