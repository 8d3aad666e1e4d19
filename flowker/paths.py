"""Dotted paths into JSON documents: `check-fraud.score`, `workflow.items[0].id`.

Shared by the condition language, field mappings and `{{ path }}` templates. A segment is a
key (any characters but `.` and `[`); `[n]` indexes a list.
"""

import re
from typing import Any

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
# Highest list index a write may name. Writing `items[n]` pads the list with nulls up to n, so
# without a bound one mapping target could make a worker allocate billions of elements.
MAX_WRITE_INDEX = 10_000


class MissingPath(LookupError):
    """The path does not exist in the document."""

    def __init__(self, path: str) -> None:
        super().__init__(f"path {path!r} not found")
        self.path = path


class InvalidPath(ValueError):
    """The path is not well formed."""


def parse_path(path: str) -> list[str | int]:
    """Split a path into keys (str) and list indices (int)."""
    if not isinstance(path, str) or not path or path.startswith(".") or path.endswith("."):
        raise InvalidPath(f"invalid path {path!r}")
    parts: list[str | int] = []
    position = 0
    expect_key = True
    while position < len(path):
        if path[position] == "." and not expect_key:
            position += 1
            expect_key = True
            continue
        match = _SEGMENT.match(path, position)
        if match is None or (match.group(1) is not None and not expect_key):
            raise InvalidPath(f"invalid path {path!r} at position {position}")
        if match.group(1) is not None:
            parts.append(match.group(1))
        else:
            if expect_key and parts:
                raise InvalidPath(f"invalid path {path!r} at position {position}")
            parts.append(int(match.group(2)))
        position = match.end()
        expect_key = False
    if expect_key:
        raise InvalidPath(f"invalid path {path!r}")
    return parts


def check_write_indexes(parts: list[Any], path: str) -> None:
    """Raise InvalidPath when a path that writes names a list index above MAX_WRITE_INDEX."""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool) and part > MAX_WRITE_INDEX:
            raise InvalidPath(
                f"list index {part} in {path!r} is above the highest index a write may use "
                f"({MAX_WRITE_INDEX})"
            )


def get_path(document: Any, path: str) -> Any:
    """The value at `path`; raises MissingPath when any segment is absent."""
    current = document
    for part in parse_path(path):
        if isinstance(part, int):
            if not isinstance(current, list) or part >= len(current):
                raise MissingPath(path)
            current = current[part]
        else:
            if not isinstance(current, dict) or part not in current:
                raise MissingPath(path)
            current = current[part]
    return current


def has_path(document: Any, path: str) -> bool:
    try:
        get_path(document, path)
    except MissingPath:
        return False
    return True


def set_path(document: dict[str, Any], path: str, value: Any) -> None:
    """Write `value` at `path`, creating objects and lists on the way (lists padded with None,
    up to MAX_WRITE_INDEX)."""
    parts = parse_path(path)
    check_write_indexes(parts, path)
    current: Any = document
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        following = None if last else parts[index + 1]
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(part, int):
            if not isinstance(current, list):
                raise InvalidPath(f"cannot index a non-list at {path!r}")
            while len(current) <= part:
                current.append(None)
            if last:
                current[part] = value
            else:
                if not isinstance(current[part], dict | list):
                    current[part] = empty
                current = current[part]
        else:
            if not isinstance(current, dict):
                raise InvalidPath(f"cannot set a key on a non-object at {path!r}")
            if last:
                current[part] = value
            else:
                if not isinstance(current.get(part), dict | list):
                    current[part] = empty
                current = current[part]


def delete_path(document: Any, path: str) -> None:
    """Remove the value at `path` if it exists."""
    parts = parse_path(path)
    try:
        parent = get_path(document, _join(parts[:-1])) if len(parts) > 1 else document
    except MissingPath:
        return
    last = parts[-1]
    if isinstance(last, int) and isinstance(parent, list) and last < len(parent):
        parent.pop(last)
    elif isinstance(last, str) and isinstance(parent, dict):
        parent.pop(last, None)


def _join(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
