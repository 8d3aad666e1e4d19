"""Timestamps as the API shows them: RFC 3339, UTC, `Z`, milliseconds."""

import datetime

from django.utils import timezone


def format_timestamp(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def format_timestamp_micro(value: datetime.datetime) -> str:
    """Microsecond precision, for hashes that must be recomputable from stored rows."""
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime.datetime | None:
    """Parse an RFC 3339 timestamp (offset required) into UTC; None when it is not one.

    In UTC because PostgreSQL refuses offsets beyond ±15:59 that RFC 3339 and Python allow
    (a `-20:07` once reached the database and answered 500)."""
    try:
        value = datetime.datetime.fromisoformat(text.strip().replace("z", "Z"))
        if value.tzinfo is None:
            return None
        return value.astimezone(datetime.UTC)
    except (ValueError, AttributeError, OverflowError):
        return None


def now() -> datetime.datetime:
    return timezone.now()
