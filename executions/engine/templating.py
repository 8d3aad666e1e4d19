"""`{{ path }}` templates in action data: a string that is exactly one template takes the
value's JSON type; a template inside a longer string is replaced by the value's text."""

import re
from decimal import Decimal
from typing import Any

from executions.engine.budget import DocumentTooLarge, SizeBudget
from flowker import jsoncodec
from flowker.paths import InvalidPath, MissingPath, get_path, parse_path

# No braces inside a template, so a match can never stretch past the next `{` or `}`: linear
# time on any input (a lazy `.*?` made a run of `{{` quadratic).
_TEMPLATE = re.compile(r"\{\{([^{}]*)\}\}")
# Longest string that may hold templates, in characters: far beyond any real output text, and
# it keeps the work per string (and the text a string can multiply) small.
MAX_TEMPLATE_LENGTH = 10_000


class TemplateError(ValueError):
    """A malformed template, or (when filling) a path missing from the context. `where` is the
    string's place inside the template document (`message`, `items[2]`), "" at its root."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.message = message
        self.where = where


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


def _child(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def _templates(text: str, where: str) -> list[re.Match[str]]:
    """The templates in `text`; raises TemplateError when a string holding any is too long."""
    if "{{" in text and len(text) > MAX_TEMPLATE_LENGTH:
        raise TemplateError(
            f"a string with templates is limited to {MAX_TEMPLATE_LENGTH} characters "
            f"(this one has {len(text)})",
            where,
        )
    return list(_TEMPLATE.finditer(text))


def _path(match: re.Match[str]) -> str:
    return match.group(1).strip()


def template_paths(value: Any, where: str = "") -> list[str]:
    """Every path a template document reads; raises TemplateError for a malformed one."""
    if isinstance(value, str):
        try:
            return [_check(_path(match)) for match in _templates(value, where)]
        except TemplateError as exc:
            raise TemplateError(exc.message, where) from None
    if isinstance(value, dict):
        return [
            path for key, item in value.items() for path in template_paths(item, _child(where, key))
        ]
    if isinstance(value, list):
        return [
            path
            for index, item in enumerate(value)
            for path in template_paths(item, _child(where, index))
        ]
    return []


def _lookup(context: dict[str, Any], path: str) -> Any:
    try:
        return get_path(context, _check(path))
    except MissingPath as exc:
        raise TemplateError(f"template path {path!r} not found") from exc


def fill(value: Any, context: dict[str, Any], where: str = "") -> Any:
    """`value` with every template filled from `context`; the values filled in may add up to
    at most MAX_DOCUMENT_BYTES."""
    return _fill(value, context, where, SizeBudget({}))


def _fill(value: Any, context: dict[str, Any], where: str, budget: SizeBudget) -> Any:
    if isinstance(value, str):
        try:
            return _fill_text(value, context, where, budget)
        except TemplateError as exc:
            raise TemplateError(exc.message, where) from None
        except DocumentTooLarge as exc:
            raise TemplateError(str(exc), where) from None
    if isinstance(value, dict):
        return {
            key: _fill(item, context, _child(where, key), budget) for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _fill(item, context, _child(where, index), budget) for index, item in enumerate(value)
        ]
    return value


def _fill_text(text: str, context: dict[str, Any], where: str, budget: SizeBudget) -> Any:
    matches = _templates(text, where)
    values = []
    for match in matches:
        values.append(_lookup(context, _path(match)))
        budget.spend_on(values[-1])
    if len(matches) == 1 and matches[0].span() == (0, len(text)):
        return values[0]
    pieces, end = [], 0
    for match, found in zip(matches, values, strict=True):
        pieces += [text[end : match.start()], _text(found)]
        end = match.end()
    return "".join([*pieces, text[end:]])
