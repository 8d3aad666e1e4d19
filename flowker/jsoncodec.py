"""JSON that keeps decimal numbers exact: parsed as Decimal, written back as the same digits."""

import datetime
import json
import re
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


# Deepest nesting of arrays and objects accepted wherever JSON enters Flowker (API and webhook
# bodies, admin forms, provider answers). Real documents stay far below it; much deeper ones
# reach Python's recursion limit in the code that copies, masks and stores them.
MAX_DEPTH = 64


# PostgreSQL's numeric (behind jsonb) holds up to 131072 digits before the point and 16383
# after it; a number beyond (`1e999999999`) cannot be stored.
MAX_DECIMAL_EXPONENT = 131_071
MIN_DECIMAL_EXPONENT = -16_383
# Escapes that make text PostgreSQL refuses to store (NUL) or that is not Unicode at all (a
# lone UTF-16 surrogate). Raw control characters and invalid UTF-8 never parse, so only an
# escape can produce these: the value walk runs when the text holds one.
_RISKY_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


class UnsafeJSON(ValueError):
    """Well-formed JSON that Flowker refuses: nested too deeply, NaN/Infinity, a number the
    database cannot hold, a NUL character or a lone surrogate."""


def _refuse_constant(name: str) -> Any:
    raise UnsafeJSON(f"{name} is not a JSON number")


def _decimal(text: str) -> Decimal:
    value = Decimal(text)
    if value and not MIN_DECIMAL_EXPONENT <= value.adjusted() <= MAX_DECIMAL_EXPONENT:
        raise UnsafeJSON(f"number {text[:20]}... is out of range")
    return value


def loads(text: str | bytes) -> Any:
    """Parse JSON with exact decimals; raises ValueError for malformed JSON and UnsafeJSON for
    nesting deeper than MAX_DEPTH, NaN/Infinity/-Infinity, numbers out of the database's range,
    NUL characters and lone surrogates."""
    try:
        value = json.loads(text, parse_float=_decimal, parse_constant=_refuse_constant)
    except RecursionError:
        raise UnsafeJSON(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    check_depth(value)
    raw = text if isinstance(text, str) else text.decode("utf-8", errors="replace")
    if _RISKY_ESCAPE.search(raw):
        _check_text(value)
    return value


def _check_text(value: Any) -> None:
    """Raise UnsafeJSON when a key or string holds NUL or a lone surrogate (iterative)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            texts: Any = (item,)
        elif isinstance(item, dict):
            texts = item.keys()
            pending.extend(item.values())
        elif isinstance(item, list):
            texts = ()
            pending.extend(item)
        else:
            continue
        for text in texts:
            found = _UNSTORABLE_TEXT.search(text)
            if found:
                what = "NUL character" if found.group() == "\x00" else "lone surrogate"
                raise UnsafeJSON(f"text with a {what} is not accepted")


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise UnsafeJSON when arrays and objects nest more than `limit` levels. Walks one level
    at a time without recursion, so the check itself cannot exhaust the stack."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            raise UnsafeJSON(f"JSON nested deeper than {limit} levels")
        below = []
        for container in level:
            for child in container.values() if isinstance(container, dict) else container:
                if isinstance(child, dict | list):
                    below.append(child)
        level = below


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
