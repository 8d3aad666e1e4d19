"""Field mappings of executor nodes: building the request from the context, and the node
output and workflow updates from the response; plus their save-time checks (FLK-0140–0142).
"""

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

from executions.engine import kazaam
from executions.engine.budget import SizeBudget
from executions.engine.transformations import MappingError
from flowker.paths import (
    InvalidPath,
    MissingPath,
    check_write_indexes,
    get_path,
    has_path,
    parse_path,
    set_path,
)

__all__ = [
    "MappingDefinitionError",
    "MappingError",
    "RequestDocument",
    "apply_workflow_updates",
    "build_output",
    "build_request",
    "compile_mapping",
    "compile_transforms",
]

_MAPPING_CODES = {"inputMapping": "FLK-0140", "outputMapping": "FLK-0141"}
_TRANSFORMS_CODE = "FLK-0142"
_RESPONSE_KEY = "_response"
_WEBHOOK_KEY = "_webhook"
# Roots of the upstream response envelope that output sources may still name directly.
_ENVELOPE_ROOTS = frozenset({"body", "status", "headers", "url"})
# Mapping transformations whose spec names the target in `path`, as upstream compiles them.
_PATH_OPERATIONS = kazaam.STRING_OPERATIONS | {"pass", "extract"}
# Mapping transformations whose config must name the value they put at the target.
_REQUIRED_CONFIG = {"default": "value", "coalesce": "paths"}


class MappingDefinitionError(ValueError):
    """A mapping or transform list that cannot be saved; `path` is relative to the node data."""

    def __init__(self, code: str, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.code = code
        self.path = path
        self.message = message


@dataclasses.dataclass(frozen=True)
class RequestDocument:
    """What an executor call sends: the JSON body (an object unless an `extract` made it
    another JSON value), plus query parameters and headers from `query.x` / `headers.x`
    targets, as text (a list for a repeated query parameter).
    """

    body: Any
    query: dict[str, str | list[str]] = dataclasses.field(default_factory=dict)
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


# --- save-time checks --------------------------------------------------------------------


def compile_mapping(entries: Any, *, field: str) -> None:
    """Check an `inputMapping` or `outputMapping` list; raise MappingDefinitionError if bad."""
    if field not in _MAPPING_CODES:
        raise ValueError(f"unknown mapping field {field!r}")
    if entries is None:
        return
    code = _MAPPING_CODES[field]
    if not isinstance(entries, list):
        raise MappingDefinitionError(code, field, "must be a list of mappings")
    for index, entry in enumerate(entries):
        _check_entry(entry, f"{field}[{index}]", code, output=field == "outputMapping")


def compile_transforms(operations: Any) -> None:
    """Check a `transforms` list of Kazaam operations; raise MappingDefinitionError if bad."""
    if operations is None:
        return
    if not isinstance(operations, list):
        raise MappingDefinitionError(_TRANSFORMS_CODE, "transforms", "must be a list of operations")
    for index, operation in enumerate(operations):
        try:
            kazaam.check_operation(operation)
        except kazaam.KazaamSpecError as exc:
            where = f"transforms[{index}]" + (f".{exc.where}" if exc.where else "")
            raise MappingDefinitionError(_TRANSFORMS_CODE, where, exc.message) from None


def _check_entry(entry: Any, where: str, code: str, *, output: bool) -> None:
    if not isinstance(entry, dict):
        raise MappingDefinitionError(code, where, "must be an object with source and target")
    for key in ("source", "target"):
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise MappingDefinitionError(code, f"{where}.{key}", f"{key} is required")
    try:
        kazaam.parse_source_path(entry["source"])
    except InvalidPath:
        if entry["source"] != kazaam.WHOLE_DOCUMENT:
            raise MappingDefinitionError(
                code, f"{where}.source", f"{entry['source']!r} is not a valid path"
            ) from None
    try:
        _, path = _output_target(entry["target"]) if output else _input_target(entry["target"])
    except InvalidPath as exc:
        raise MappingDefinitionError(code, f"{where}.target", str(exc)) from None
    if entry.get("required") is not None and not isinstance(entry["required"], bool):
        raise MappingDefinitionError(code, f"{where}.required", "must be true or false")
    if entry.get("transformation") is not None:
        _check_transformation(entry["transformation"], path, f"{where}.transformation", code)


def _check_transformation(transformation: Any, path: str, where: str, code: str) -> None:
    if not isinstance(transformation, dict):
        raise MappingDefinitionError(code, where, "must be an object with a type")
    kind = transformation.get("type")
    if not isinstance(kind, str) or not kind.strip():
        raise MappingDefinitionError(code, f"{where}.type", "type is required")
    if kind not in kazaam.OPERATIONS:
        known = ", ".join(sorted(kazaam.OPERATIONS))
        raise MappingDefinitionError(
            code, f"{where}.type", f"unknown transformation type {kind!r} (expected one of {known})"
        )
    config = transformation.get("config")
    if config is not None and not isinstance(config, dict):
        raise MappingDefinitionError(code, f"{where}.config", "must be an object")
    needed = _REQUIRED_CONFIG.get(kind)
    if needed and needed not in (config or {}):
        raise MappingDefinitionError(code, f"{where}.config", f"{kind} needs config.{needed}")
    try:
        kazaam.check_operation(_entry_operation(kind, config or {}, path))
    except kazaam.KazaamSpecError as exc:
        at = f"{where}.config" if config is None else _config_where(where, kind, path, exc.where)
        raise MappingDefinitionError(code, at, exc.message) from None


def _config_where(where: str, kind: str, path: str, spec_where: str) -> str:
    """Translate a place in the compiled spec back to the mapping's config."""
    rest = spec_where.removeprefix("spec")
    if kind in ("timestamp", "uuid"):
        rest = rest.removeprefix(f".{path}")
    elif kind in ("default", "coalesce") and rest.startswith(f".{path}"):
        rest = f".{_REQUIRED_CONFIG[kind]}{rest.removeprefix(f'.{path}')}"
    return f"{where}.config{rest}"


def _entry_operation(kind: str, config: dict, path: str) -> dict:
    """The Kazaam operation a mapping's transformation stands for, aimed at its target.

    Upstream merges `{"path": target}` into the config for every type, which only means
    something for operations taking a `path`; the others get the target where their spec
    names the field they write.
    """
    if kind in _PATH_OPERATIONS:
        spec: dict = {"path": path, **config}
    elif kind == "default":
        spec = {path: config.get("value")}
    elif kind in ("timestamp", "uuid"):
        spec = {path: config}
    elif kind == "coalesce":
        spec = {path: config.get("paths"), **_only(config, "ignore")}
    elif kind == "concat":
        spec = {**config, "targetPath": path}
    elif kind == "delete":
        spec = {"paths": [path]}
    else:
        spec = dict(config)
    return {"operation": kind, "spec": spec}


def _only(config: dict, key: str) -> dict:
    return {key: config[key]} if key in config else {}


def _input_target(target: str) -> tuple[str, str]:
    """(document, path): `executor.x` and bare `x` go to the body; `query.x`, `headers.x` apart."""
    parts = parse_path(target)
    check_write_indexes(parts, target)
    head = parts[0]
    if head == "executor":
        if len(parts) < 2 or not isinstance(parts[1], str):
            raise InvalidPath(f"target {target!r} must name a field after 'executor.'")
        return "body", target.removeprefix("executor.")
    if head in ("query", "headers") and len(parts) > 1 and isinstance(parts[1], str):
        return head, target.removeprefix(f"{head}.")
    return "body", target


def _output_target(target: str) -> tuple[str, str]:
    """(document, path): `workflow.x` updates the workflow input, anything else the node output."""
    parts = parse_path(target)
    check_write_indexes(parts, target)
    head = parts[0]
    if head in ("workflow", "executor"):
        if len(parts) < 2 or not isinstance(parts[1], str):
            raise InvalidPath(f"target {target!r} must name a field after '{head}.'")
        target = target.removeprefix(f"{head}.")
        if head == "workflow":
            return "workflow", target
    if parse_path(target)[0] == _RESPONSE_KEY:
        raise InvalidPath(f"target {target!r} is reserved for the HTTP response details")
    return "output", target


# --- run time ----------------------------------------------------------------------------


def build_request(
    context: dict, input_mapping: list | None, transforms: list | None
) -> RequestDocument:
    """The request an executor node sends, built from the execution context.

    With an input mapping the body holds only the mapped targets, and transforms run over it.
    Without one, transforms run over the whole context (`workflow.*` and the node outputs, as
    upstream); with neither, the body is the workflow input. `_webhook` is never sent.
    """
    _checked(compile_mapping, input_mapping, field="inputMapping")
    _checked(compile_transforms, transforms)
    query: dict[str, Any] = {}
    headers: dict[str, Any] = {}
    if input_mapping:
        documents = {"body": {}, "query": {}, "headers": {}}
        _map(lambda source: (context, source), input_mapping, documents, "inputMapping")
        body = documents["body"]
        query = _parameters(documents, input_mapping, "query")
        headers = _parameters(documents, input_mapping, "headers")
    elif transforms:
        body = {**copy.deepcopy(context), "workflow": _workflow_input(context)}
    else:
        body = _workflow_input(context)
    if transforms:
        body = kazaam.run_operations(transforms, body)
    return RequestDocument(
        body=body,
        query={name: _query_value(value) for name, value in query.items()},
        headers={name: _header_value(value) for name, value in headers.items()},
    )


def build_output(response: dict, output_mapping: list | None) -> tuple[dict, dict]:
    """(node output, workflow updates) from an executor's response.

    `response` is `{status, headers, url, body}`. The node output carries `_response`
    (status, headers, url) beside the body's fields, or beside the mapped targets when there
    is an output mapping. Workflow updates map paths inside the workflow input (targets
    `workflow.x`, prefix removed) to their new values, in mapping order.
    """
    _checked(compile_mapping, output_mapping, field="outputMapping")
    details = {
        "status": response.get("status"),
        "headers": copy.deepcopy(response.get("headers") or {}),
        "url": response.get("url"),
    }
    body = copy.deepcopy(response.get("body"))
    if not output_mapping:
        output = body if isinstance(body, dict) else {"body": body}
        return {**output, _RESPONSE_KEY: details}, {}
    documents: dict[str, Any] = {"output": {}, "workflow": {}}
    _map(_Response(response).locate, output_mapping, documents, "outputMapping")
    updates = {}
    for entry in output_mapping:
        namespace, path = _output_target(entry["target"])
        if namespace == "workflow" and has_path(documents["workflow"], path):
            updates[path] = copy.deepcopy(get_path(documents["workflow"], path))
    return {**documents["output"], _RESPONSE_KEY: details}, updates


def apply_workflow_updates(workflow: dict | None, updates: dict) -> dict:
    """A copy of the workflow input with the updates from `build_output` written in."""
    result = copy.deepcopy(workflow) if isinstance(workflow, dict) else {}
    for path, value in updates.items():
        try:
            set_path(result, path, copy.deepcopy(value))
        except InvalidPath as exc:
            raise MappingError(f"cannot update workflow.{path}: {exc}") from None
    return result


class _Response:
    """Where output sources read: `executor.x` and bare paths the body, envelope roots it."""

    def __init__(self, response: dict) -> None:
        headers = response.get("headers") or {}
        self.body = response.get("body")
        self.envelope = {
            "status": response.get("status"),
            "url": response.get("url"),
            # Header names are case-insensitive; sources may spell them either way.
            "headers": {str(name).lower(): value for name, value in headers.items()},
            "body": self.body,
        }

    def locate(self, source: str) -> tuple[Any, str]:
        if source == kazaam.WHOLE_DOCUMENT:
            return self.envelope, source
        head = kazaam.parse_source_path(source)[0]
        if head == "executor":
            rest = source.removeprefix("executor").removeprefix(".")
            return self.body, rest or kazaam.WHOLE_DOCUMENT
        if head == "headers" and source.startswith("headers."):
            name, dot, tail = source.removeprefix("headers.").partition(".")
            return self.envelope, f"headers.{name.lower()}{dot}{tail}"
        if head in _ENVELOPE_ROOTS:
            return self.envelope, source
        return self.body, source


def _map(
    locate: Callable[[str], tuple[Any, str]], entries: list, documents: dict, label: str
) -> None:
    """Copy every source to its target, then run the entries' transformations in order.

    All values are placed before any transformation runs, as upstream's single shift does.
    `locate` turns a source into the document it reads and the path inside it.
    """
    split = _output_target if label == "outputMapping" else _input_target
    budget = SizeBudget({})
    for index, entry in enumerate(entries):
        namespace, path = split(entry["target"])
        document, source = locate(entry["source"])
        try:
            value = kazaam.get_value(document, source, required=bool(entry.get("required")))
            budget.spend_on(value)
            set_path(documents[namespace], path, copy.deepcopy(value))
        except MissingPath:
            raise MappingError(
                f"{label}[{index}]: required source {entry['source']!r} not found"
            ) from None
        except (MappingError, InvalidPath) as exc:
            raise MappingError(f"{label}[{index}]: {exc}") from None
    for index, entry in enumerate(entries):
        transformation = entry.get("transformation")
        if transformation is None:
            continue
        namespace, path = split(entry["target"])
        kind = transformation["type"]
        operation = _entry_operation(kind, transformation.get("config") or {}, path)
        try:
            documents[namespace] = kazaam.apply_operation(operation, documents[namespace])
        except MappingError as exc:
            raise MappingError(f"{label}[{index}].transformation: {exc}") from None
        if namespace != "body" and not isinstance(documents[namespace], dict):
            raise MappingError(f"{label}[{index}].transformation: {kind} must leave an object")


def _workflow_input(context: dict) -> dict:
    workflow = context.get("workflow")
    if not isinstance(workflow, dict):
        return {}
    return {key: copy.deepcopy(value) for key, value in workflow.items() if key != _WEBHOOK_KEY}


def _checked(check: Any, value: Any, **options: Any) -> None:
    """Run-time guard for definitions that escaped save-time validation."""
    try:
        check(value, **options)
    except MappingDefinitionError as exc:
        raise MappingError(f"invalid {exc.path}: {exc.message}") from None


def _parameters(documents: dict, entries: list, namespace: str) -> dict[str, Any]:
    """Values of the `query.x` or `headers.x` targets by name (`x`); nulls are left out."""
    values: dict[str, Any] = {}
    for entry in entries:
        space, name = _input_target(entry["target"])
        if space == namespace and has_path(documents[namespace], name):
            value = get_path(documents[namespace], name)
            if value is not None:
                values[name] = value
    return values


def _query_value(value: Any) -> str | list[str]:
    """Text of a query parameter; a list repeats the parameter."""
    if isinstance(value, list):
        return [kazaam.value_text(item) for item in value if item is not None]
    return kazaam.value_text(value)


def _header_value(value: Any) -> str:
    """Text of a header; a list becomes one comma-separated value, as HTTP combines them."""
    if isinstance(value, list):
        return ", ".join(kazaam.value_text(item) for item in value if item is not None)
    return kazaam.value_text(value)
