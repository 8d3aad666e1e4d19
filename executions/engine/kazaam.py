"""Kazaam operations over JSON documents: spec checks, wildcard paths and the operations.

Same operations and semantics as Kazaam v4 plus Flowker's five string operations, except that
numbers are never re-encoded (Decimals pass through untouched) and spec keys apply in order.
"""

import copy
import functools
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from executions.engine import transformations
from executions.engine.budget import SizeBudget
from executions.engine.transformations import MappingError
from flowker import jsoncodec
from flowker.ids import new_id
from flowker.paths import (
    InvalidPath,
    MissingPath,
    check_write_indexes,
    delete_path,
    parse_path,
    set_path,
)

STRING_OPERATIONS = frozenset(
    {"remove_characters", "add_prefix", "add_suffix", "to_uppercase", "to_lowercase"}
)
OPERATIONS = frozenset(
    {"pass", "shift", "extract", "default", "delete", "concat", "coalesce", "timestamp", "uuid"}
    | STRING_OPERATIONS
)
WHOLE_DOCUMENT = "$"
_EACH_MARK = "[*]"
_UUID_NAMESPACES = {
    "DNS": uuid.NAMESPACE_DNS,
    "URL": uuid.NAMESPACE_URL,
    "OID": uuid.NAMESPACE_OID,
    "X500": uuid.NAMESPACE_X500,
}
# Version 4 is Kazaam's random UUID; 7 (Flowker's addition) is time-ordered like Flowker's ids.
# Without `version` the operation writes a version 4 UUID, as Kazaam does.
_RANDOM_UUID_VERSIONS = {4: uuid.uuid4, 7: new_id}
DEFAULT_UUID_VERSION = 4
_NAMED_UUID_VERSIONS = {3: uuid.uuid3, 5: uuid.uuid5}


class KazaamSpecError(ValueError):
    """An operation is malformed; `where` locates the problem inside it (e.g. `spec.path`)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message


class _Each:
    """Marks `[*]` in a parsed path: every element of the list at that point."""

    def __repr__(self) -> str:
        return "[*]"


EACH = _Each()
PathPart = str | int | _Each


def parse_source_path(path: str) -> list[PathPart]:
    """Parse a dotted path that may use `[*]` (every element of a list)."""
    if not isinstance(path, str) or not path:
        raise InvalidPath(f"invalid path {path!r}")
    parts: list[PathPart] = []
    for index, piece in enumerate(path.split(_EACH_MARK)):
        if index > 0:
            parts.append(EACH)
            if piece.startswith("."):
                piece = piece[1:]
                if not piece:
                    raise InvalidPath(f"invalid path {path!r}")
            elif piece and not piece.startswith("["):
                raise InvalidPath(f"invalid path {path!r}")
        if piece:
            parts.extend(parse_path(piece))
    if not parts:
        raise InvalidPath(f"invalid path {path!r}")
    return parts


def get_value(document: Any, path: str, *, required: bool = False) -> Any:
    """The value at `path` (`$` is the whole document); a `[*]` path yields a list.

    A missing value is None, or raises MissingPath when `required`. Inside a `[*]`, each
    element missing the rest of the path contributes None (or raises when required).
    """
    if path == WHOLE_DOCUMENT:
        return document
    return _get(document, parse_source_path(path), path, required)


def _get(current: Any, parts: list[PathPart], path: str, required: bool) -> Any:
    for index, part in enumerate(parts):
        if part is EACH:
            if not isinstance(current, list):
                return _absent(path, required)
            rest = parts[index + 1 :]
            return [_get(item, rest, path, required) for item in current]
        if not _has_child(current, part):
            return _absent(path, required)
        current = current[part]
    return current


def _has_child(container: Any, part: PathPart) -> bool:
    if isinstance(part, int):
        return isinstance(container, list) and part < len(container)
    return isinstance(container, dict) and part in container


def _absent(path: str, required: bool) -> None:
    if required:
        raise MissingPath(path)
    return None


def _update(
    current: Any,
    parts: list[PathPart],
    change: Callable[[Any], Any],
    path: str,
    required: bool,
) -> None:
    """Replace, in place, every value `parts` reaches by `change(value)`."""
    part, rest = parts[0], parts[1:]
    if part is EACH:
        if not isinstance(current, list):
            _absent(path, required)
            return
        keys: range | list[PathPart] = range(len(current))
    else:
        if not _has_child(current, part):
            _absent(path, required)
            return
        keys = [part]
    for key in keys:
        if rest:
            _update(current[key], rest, change, path, required)
        else:
            current[key] = change(current[key])


def value_text(value: Any) -> str:
    """A value as Kazaam writes it into strings: strings bare, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return jsoncodec.canonical(value)


def _json_equal(left: Any, right: Any) -> bool:
    """Equality of JSON values: `true` is not `1`, `1.0` equals `1`."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if _is_number(left) and _is_number(right):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    return type(left) is type(right) and left == right


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


# --- spec checks -------------------------------------------------------------------------


def check_operation(operation: Any) -> None:
    """Raise KazaamSpecError unless `operation` is `{operation, spec, require?}` and well formed."""
    if not isinstance(operation, dict):
        raise KazaamSpecError("", "must be an object with 'operation' and 'spec'")
    name = operation.get("operation")
    if not isinstance(name, str) or not name.strip():
        raise KazaamSpecError("operation", "is required")
    if name not in OPERATIONS:
        known = ", ".join(sorted(OPERATIONS))
        raise KazaamSpecError("operation", f"unknown operation {name!r} (expected one of {known})")
    spec = operation.get("spec")
    if not isinstance(spec, dict) or not spec:
        raise KazaamSpecError("spec", "must be a non-empty object")
    require = operation.get("require")
    if require is not None and not isinstance(require, bool):
        raise KazaamSpecError("require", "must be true or false")
    _SPEC_CHECKS[name](name, spec, bool(require))


def _check_source(where: str, path: Any, *, allow_whole: bool = False) -> None:
    if allow_whole and path == WHOLE_DOCUMENT:
        return
    try:
        parse_source_path(path)
    except InvalidPath:
        raise KazaamSpecError(where, f"{path!r} is not a valid path") from None


def _check_target(where: str, path: Any) -> None:
    if isinstance(path, str) and _EACH_MARK in path:
        raise KazaamSpecError(where, "a target path cannot use [*]")
    try:
        parts = parse_path(path)
    except InvalidPath:
        raise KazaamSpecError(where, f"{path!r} is not a valid path") from None
    try:
        check_write_indexes(parts, path)
    except InvalidPath as exc:
        raise KazaamSpecError(where, str(exc)) from None


def _check_nothing(name: str, spec: dict, require: bool) -> None:
    return None


def _check_shift(name: str, spec: dict, require: bool) -> None:
    for target, source in spec.items():
        where = f"spec.{target}"
        _check_target(where, target)
        sources = source if isinstance(source, list) else [source]
        if not sources:
            raise KazaamSpecError(where, "needs at least one source path")
        for item in sources:
            _check_source(where, item, allow_whole=True)


def _check_extract(name: str, spec: dict, require: bool) -> None:
    _check_source("spec.path", spec.get("path"))


def _check_default(name: str, spec: dict, require: bool) -> None:
    for target in spec:
        _check_target(f"spec.{target}", target)


def _check_delete(name: str, spec: dict, require: bool) -> None:
    paths = spec.get("paths")
    if not isinstance(paths, list) or not paths:
        raise KazaamSpecError("spec.paths", "must be a non-empty list of paths")
    for index, path in enumerate(paths):
        _check_target(f"spec.paths[{index}]", path)


def _check_concat(name: str, spec: dict, require: bool) -> None:
    sources = spec.get("sources")
    if not isinstance(sources, list) or not sources:
        raise KazaamSpecError("spec.sources", "must be a non-empty list")
    for index, source in enumerate(sources):
        where = f"spec.sources[{index}]"
        if not isinstance(source, dict) or ("value" not in source and "path" not in source):
            raise KazaamSpecError(where, "must be an object with 'value' or 'path'")
        if "value" in source:
            if not isinstance(source["value"], str):
                raise KazaamSpecError(f"{where}.value", "must be a string")
        else:
            _check_source(f"{where}.path", source["path"])
    _check_target("spec.targetPath", spec.get("targetPath"))
    if not isinstance(spec.get("delim", ""), str):
        raise KazaamSpecError("spec.delim", "must be a string")


def _check_coalesce(name: str, spec: dict, require: bool) -> None:
    if require:
        raise KazaamSpecError("require", "coalesce does not support require")
    if not isinstance(spec.get("ignore", []), list):
        raise KazaamSpecError("spec.ignore", "must be a list of values")
    targets = {target: paths for target, paths in spec.items() if target != "ignore"}
    if not targets:
        raise KazaamSpecError("spec", "needs at least one target path")
    for target, paths in targets.items():
        where = f"spec.{target}"
        _check_target(where, target)
        if not isinstance(paths, list) or not paths:
            raise KazaamSpecError(where, "must be a non-empty list of paths")
        for path in paths:
            _check_source(where, path)


def _check_timestamp(name: str, spec: dict, require: bool) -> None:
    for path, formats in spec.items():
        where = f"spec.{path}"
        _check_source(where, path)
        try:
            check_write_indexes(parse_source_path(path), path)
        except InvalidPath as exc:
            raise KazaamSpecError(where, str(exc)) from None
        if not isinstance(formats, dict):
            raise KazaamSpecError(where, "must be an object with inputFormat and outputFormat")
        for key in ("inputFormat", "outputFormat"):
            if not isinstance(formats.get(key), str) or not formats[key]:
                raise KazaamSpecError(f"{where}.{key}", "must be a non-empty string")
        if formats["outputFormat"] == "$now":
            raise KazaamSpecError(f"{where}.outputFormat", "$now is only an input format")


def _check_uuid(name: str, spec: dict, require: bool) -> None:
    for path, options in spec.items():
        where = f"spec.{path}"
        _check_target(where, path)
        if not isinstance(options, dict):
            raise KazaamSpecError(where, "must be an object (with an optional version)")
        version = _uuid_version(options.get("version", DEFAULT_UUID_VERSION))
        if version is None:
            raise KazaamSpecError(f"{where}.version", "must be 3, 4, 5 or 7")
        if version in _NAMED_UUID_VERSIONS:
            _check_uuid_names(where, options)


def _check_uuid_names(where: str, options: dict) -> None:
    try:
        _uuid_namespace(options.get("namespace"))
    except ValueError:
        raise KazaamSpecError(
            f"{where}.namespace", "must be DNS, URL, OID, X500 or a UUID for versions 3 and 5"
        ) from None
    names = options.get("names")
    if not isinstance(names, list) or not names:
        raise KazaamSpecError(f"{where}.names", "must be a non-empty list for versions 3 and 5")
    for index, item in enumerate(names):
        item_where = f"{where}.names[{index}]"
        if not isinstance(item, dict) or ("path" not in item and "default" not in item):
            raise KazaamSpecError(item_where, "must be an object with 'path' and/or 'default'")
        if "path" in item:
            _check_source(f"{item_where}.path", item["path"])
        if "default" in item and not isinstance(item["default"], str):
            raise KazaamSpecError(f"{item_where}.default", "must be a string")


def _uuid_version(value: Any) -> int | None:
    if not _is_number(value) or value != int(value):
        return None
    version = int(value)
    return version if version in (*_RANDOM_UUID_VERSIONS, *_NAMED_UUID_VERSIONS) else None


def _uuid_namespace(value: Any) -> uuid.UUID:
    """A namespace name (DNS, URL, OID, X500) or UUID text; raises ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError("namespace must be a string")
    return _UUID_NAMESPACES.get(value) or uuid.UUID(value)


_STRING_PARAMETERS = {
    "remove_characters": "characters",
    "add_prefix": "prefix",
    "add_suffix": "suffix",
}


def _check_string_operation(name: str, spec: dict, require: bool) -> None:
    path = spec.get("path")
    if not isinstance(path, str) or not path:
        raise KazaamSpecError("spec.path", f"{name}: 'path' is required")
    _check_source("spec.path", path)
    parameter = _STRING_PARAMETERS.get(name)
    if parameter is None:
        return
    value = spec.get(parameter)
    if name == "remove_characters":
        if not isinstance(value, str) or not value.strip():
            raise KazaamSpecError(
                f"spec.{parameter}",
                f"{name}: '{parameter}' is required and must not be empty or whitespace-only",
            )
    elif not isinstance(value, str) or not value:
        raise KazaamSpecError(
            f"spec.{parameter}", f"{name}: '{parameter}' is required and must not be empty"
        )


_SPEC_CHECKS: dict[str, Callable[[str, dict, bool], None]] = {
    "pass": _check_nothing,
    "shift": _check_shift,
    "extract": _check_extract,
    "default": _check_default,
    "delete": _check_delete,
    "concat": _check_concat,
    "coalesce": _check_coalesce,
    "timestamp": _check_timestamp,
    "uuid": _check_uuid,
    **dict.fromkeys(STRING_OPERATIONS, _check_string_operation),
}


# --- operations --------------------------------------------------------------------------


def apply_operation(operation: dict, document: Any) -> Any:
    """Run one operation on a copy of `document` and return the result.

    Raises MappingError for a malformed operation or when the data does not allow it.
    """
    try:
        check_operation(operation)
    except KazaamSpecError as exc:
        raise MappingError(f"invalid operation: {exc}") from None
    name = operation["operation"]
    document = copy.deepcopy(document)
    # A shift builds a new document; every other operation grows the one it was given.
    budget = SizeBudget({} if name == "shift" else document)
    try:
        return _OPERATIONS[name](
            operation["spec"], document, bool(operation.get("require")), budget
        )
    except MissingPath as exc:
        raise MappingError(f"{name}: required path {exc.path!r} does not exist") from None
    except InvalidPath as exc:
        raise MappingError(f"{name}: {exc}") from None


def run_operations(operations: list, document: Any, *, label: str = "transforms") -> Any:
    """Run Kazaam operations in order over a copy of `document`."""
    for index, operation in enumerate(operations):
        try:
            document = apply_operation(operation, document)
        except MappingError as exc:
            raise MappingError(f"{label}[{index}]: {exc}") from None
    return document


def _pass(spec: dict, document: Any, require: bool, budget: SizeBudget) -> Any:
    return document


def _shift(spec: dict, document: Any, require: bool, budget: SizeBudget) -> Any:
    result: dict[str, Any] = {}
    for target, source in spec.items():
        for path in source if isinstance(source, list) else [source]:
            value = get_value(document, path, required=require)
            budget.spend_on(value)
            # A list of sources wraps the value in a one-element list; the last source wins.
            set_path(result, target, copy.deepcopy([value] if isinstance(source, list) else value))
    return result


def _extract(spec: dict, document: Any, require: bool, budget: SizeBudget) -> Any:
    return get_value(document, spec["path"], required=require)


def _default(spec: dict, document: Any, require: bool, budget: SizeBudget) -> Any:
    for path, value in spec.items():
        budget.spend_on(value)
        set_path(document, path, copy.deepcopy(value))
    return document


def _delete(spec: dict, document: Any, require: bool, budget: SizeBudget) -> Any:
    for path in spec["paths"]:
        if require:
            get_value(document, path, required=True)
        delete_path(document, path)
    return document


def _concat(spec: dict, document: Any, require: bool, budget: SizeBudget) -> Any:
    delim = spec.get("delim", "")
    pieces = []
    for source in spec["sources"]:
        if "value" in source:
            piece = source["value"]
        else:
            piece = _concat_piece(document, source["path"], require)
        budget.spend(len(piece) + len(delim))
        pieces.append(piece)
    set_path(document, spec["targetPath"], delim.join(pieces))
    return document


def _concat_piece(document: Any, path: str, require: bool) -> str:
    """A missing path gives "" (unless required); a list gives its items joined, nulls left out."""
    parts = parse_source_path(path)
    try:
        value = _get(document, parts, path, True)
    except MissingPath:
        if require:
            raise
        if EACH not in parts:
            return ""
        value = _get(document, parts, path, False)
    if value is None and EACH in parts:
        return ""
    if isinstance(value, list):
        return "".join(value_text(item) for item in value if item is not None)
    return value_text(value)


def _coalesce(spec: dict, document: Any, require: bool, budget: SizeBudget) -> Any:
    ignore = spec.get("ignore", [])
    for target, paths in spec.items():
        if target == "ignore":
            continue
        for path in paths:
            value = get_value(document, path)
            if value is not None and not any(_json_equal(value, item) for item in ignore):
                budget.spend_on(value)
                set_path(document, target, copy.deepcopy(value))
                break
    return document


def _timestamp(spec: dict, document: Any, require: bool, budget: SizeBudget) -> Any:
    for path, formats in spec.items():
        input_format, output_format = formats["inputFormat"], formats["outputFormat"]
        parts = parse_source_path(path)
        if input_format == "$now" and EACH not in parts:
            now = transformations.reformat_timestamp(None, input_format, output_format)
            set_path(document, path, now)
            continue
        reformat = functools.partial(_reformat, formats=(input_format, output_format))
        _update(document, parts, _paid(reformat, budget), path, require)
    return document


def _paid(change: Callable[[Any], Any], budget: SizeBudget) -> Callable[[Any], Any]:
    """`change`, with the growth of each value it replaces paid from `budget`."""

    def paid(value: Any) -> Any:
        changed = change(value)
        budget.spend_change(value, changed)
        return changed

    return paid


def _reformat(value: Any, *, formats: tuple[str, str]) -> Any:
    """Kazaam skips nulls and reformats each string of a list."""
    if value is None:
        return None
    if isinstance(value, list):
        return [_reformat(item, formats=formats) for item in value]
    return transformations.reformat_timestamp(value, *formats)


def _uuid(spec: dict, document: Any, require: bool, budget: SizeBudget) -> Any:
    for path, options in spec.items():
        version = _uuid_version(options.get("version", DEFAULT_UUID_VERSION))
        if version in _NAMED_UUID_VERSIONS:
            value = _named_uuid(document, version, options)
        else:
            value = _RANDOM_UUID_VERSIONS[version]()
        set_path(document, path, str(value))
    return document


def _named_uuid(document: Any, version: int, options: dict) -> uuid.UUID:
    """Kazaam chains the names: each one is hashed into the namespace the previous produced."""
    make = _NAMED_UUID_VERSIONS[version]
    result = _uuid_namespace(options["namespace"])
    for item in options["names"]:
        try:
            name = value_text(get_value(document, item.get("path", ""), required=True))
        except (MissingPath, InvalidPath):
            if not isinstance(item.get("default"), str):
                raise MappingError(
                    f"uuid: name path {item.get('path')!r} does not exist and has no default"
                ) from None
            name = item["default"]
        result = make(result, name)
    return result


_STRING_FUNCTIONS: dict[str, Callable[[str, dict], str]] = {
    "remove_characters": lambda value, spec: transformations.remove_characters(
        value, spec["characters"]
    ),
    "add_prefix": lambda value, spec: transformations.add_prefix(value, spec["prefix"]),
    "add_suffix": lambda value, spec: transformations.add_suffix(value, spec["suffix"]),
    "to_uppercase": lambda value, spec: transformations.to_uppercase(value),
    "to_lowercase": lambda value, spec: transformations.to_lowercase(value),
}


def _string_operation(name: str) -> Callable[[dict, Any, bool, SizeBudget], Any]:
    function = _STRING_FUNCTIONS[name]

    def run(spec: dict, document: Any, require: bool, budget: SizeBudget) -> Any:
        # A missing path, a non-string value or a non-object document leave the data as is.
        if not isinstance(document, dict):
            return document

        def change(value: Any) -> Any:
            return function(value, spec) if isinstance(value, str) else value

        _update(
            document, parse_source_path(spec["path"]), _paid(change, budget), spec["path"], False
        )
        return document

    return run


_OPERATIONS: dict[str, Callable[[dict, Any, bool, SizeBudget], Any]] = {
    "pass": _pass,
    "shift": _shift,
    "extract": _extract,
    "default": _default,
    "delete": _delete,
    "concat": _concat,
    "coalesce": _coalesce,
    "timestamp": _timestamp,
    "uuid": _uuid,
    **{name: _string_operation(name) for name in STRING_OPERATIONS},
}
