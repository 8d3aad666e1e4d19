"""JSON Schema helpers for the catalog's schemas: validation failures keyed by field path, and
where a configuration keeps its secrets (the fields its schema declares `writeOnly`)."""

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import best_match

# Request numbers are Decimals; a message should show 2.5, not Decimal('2.5').
_DECIMAL_REPR = re.compile(r"Decimal\('([^']*)'\)")


def _is_integer(checker: Any, instance: Any) -> bool:
    # Request bodies parse non-integers as Decimal, and draft 2020-12 counts 30.0 as an integer.
    if isinstance(instance, bool):
        return False
    if isinstance(instance, Decimal):
        return instance.is_finite() and instance == instance.to_integral_value()
    if isinstance(instance, float):
        return instance.is_integer()
    return isinstance(instance, int)


_Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def schema_errors(schema: dict, instance: object) -> dict[str, str]:
    """Every way `instance` fails `schema`, as `{path: message}`; `{}` when it is valid.

    Draft 2020-12 with `format` asserted. A path is relative to the instance, dotted and
    indexed: `base_url`, `headers.X-Trace`, `send.source.from[0].accountAlias`; `""` is the
    instance itself, so callers prefix paths with where the instance sits in their request body
    (`f"config.{path}" if path else "config"`). A missing property is reported at its own path,
    an unexpected one too. A failed `oneOf`/`anyOf` is reported through its most relevant
    sub-error (jsonschema's `best_match`); when no single sub-error stands out, through the
    errors of the alternative that came closest (fewest errors). Messages never repeat the
    value of a `writeOnly` field.
    """
    validator = _Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    found: dict[str, str] = {}
    for error in validator.iter_errors(instance):
        for reported in _expand(error):
            for path, message in _located(reported):
                found.setdefault(path, message)
    return found


def _expand(error: ValidationError) -> list[ValidationError]:
    """The errors that tell the user what to fix; a failed oneOf/anyOf never says it alone."""
    if not error.context:
        return [error]
    best = best_match([error])
    if best is not error:
        return _expand(best)
    alternatives: dict[Any, list[ValidationError]] = {}
    for sub_error in error.context:
        alternatives.setdefault(sub_error.relative_schema_path[0], []).append(sub_error)
    closest = min(alternatives.values(), key=len)
    return [leaf for sub_error in closest for leaf in _expand(sub_error)]


def _located(error: ValidationError) -> Iterator[tuple[str, str]]:
    """(path, message) for an error; missing and unexpected properties get their own path."""
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = next(
            (
                name
                for name in error.validator_value
                if error.message == f"{name!r} is a required property"
            ),
            None,
        )
        if missing is not None:
            yield _format_path([*path, missing]), error.message
            return
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        declared = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        for name in error.instance:
            if name not in declared and not any(re.search(p, name) for p in patterns):
                yield (
                    _format_path([*path, name]),
                    f"Additional properties are not allowed ({name!r} was unexpected)",
                )
        return
    if isinstance(error.schema, dict) and error.schema.get("writeOnly"):
        rule = json.dumps(error.validator_value, default=str)
        yield _format_path(path), f"secret value does not satisfy {error.validator} {rule}"
        return
    yield _format_path(path), _DECIMAL_REPR.sub(r"\1", error.message)


def _format_path(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
