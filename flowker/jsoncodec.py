"""JSON that keeps decimal numbers exact: parsed as Decimal, written back as the same digits."""

import datetime
import json
import uuid
from decimal import Decimal
from typing import Any

import simplejson

from flowker.timefmt import format_timestamp


def _default(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return format_timestamp(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any, *, indent: int | None = None) -> str:
    """Serialise with Decimals written as numbers, digits untouched."""
    return simplejson.dumps(
        value, use_decimal=True, default=_default, ensure_ascii=False, indent=indent
    )


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def canonical(value: Any) -> str:
    """Canonical JSON (sorted keys, no whitespace): the input of every hash Flowker computes."""
    return simplejson.dumps(
        value,
        use_decimal=True,
        default=_default,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


class DecimalJSONEncoder(json.JSONEncoder):
    """For JSONField: Django calls json.dumps(cls=...), we answer with exact decimals."""

    def encode(self, o: Any) -> str:
        return dumps(o)


class DecimalJSONDecoder(json.JSONDecoder):
    """For JSONField: read non-integer numbers back as Decimal."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["parse_float"] = Decimal
        super().__init__(*args, **kwargs)
