"""`{{ path }}` templates in action data: a string that is exactly one template takes the
value's JSON type; a template inside a longer string is replaced by the value's text."""

import re
from decimal import Decimal
from typing import Any

from flowker import jsoncodec
from flowker.paths import InvalidPath, MissingPath, get_path, parse_path

_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")


class TemplateError(ValueError):
    """A malformed template, or (when filling) a path missing from the context."""


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | Decimal | float):
        return str(value)
    return jsoncodec.dumps(value)


def _check(path: str) -> str:
    try:
        parse_path(path)
    except InvalidPath as exc:
        raise TemplateError(f"invalid template path {path!r}") from exc
    return path


def template_paths(value: Any) -> list[str]:
    """Every path a template document reads; raises TemplateError for a malformed one."""
    if isinstance(value, str):
        return [_check(match) for match in _TEMPLATE.findall(value)]
    if isinstance(value, dict):
        return [path for item in value.values() for path in template_paths(item)]
    if isinstance(value, list):
        return [path for item in value for path in template_paths(item)]
    return []


def _lookup(context: dict[str, Any], path: str) -> Any:
    try:
        return get_path(context, _check(path))
    except MissingPath as exc:
        raise TemplateError(f"template path {path!r} not found") from exc


def fill(value: Any, context: dict[str, Any]) -> Any:
    """`value` with every template filled from `context`."""
    if isinstance(value, str):
        whole = _TEMPLATE.fullmatch(value.strip())
        if whole and value.strip() == value:
            return _lookup(context, whole.group(1))
        return _TEMPLATE.sub(lambda m: _text(_lookup(context, m.group(1))), value)
    if isinstance(value, dict):
        return {key: fill(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, context) for item in value]
    return value
