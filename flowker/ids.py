"""Identifiers: UUIDv7, time-ordered (stdlib-compatible UUID objects for UUIDField)."""

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    return uuid7()
