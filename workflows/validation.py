"""Validation of a workflow definition (CONTRACT §7): graph rules and node data at save, plus
the activation rules. One function per shape, used by the API, the admin and templates.

Failures are collected in body order; the error carries the first failure's code (a state
rule's as a StateRefusal) and every failure in `fields`, keyed by its path in the request
body (`nodes[3].data.condition`).
"""

from dataclasses import dataclass, field
from typing import Any

from catalog import registry
from catalog.definitions.triggers import SIGNATURE
from catalog.schemas import schema_errors
from executions.engine.mapping import MappingDefinitionError, compile_mapping, compile_transforms
from executions.engine.templating import TemplateError, template_paths
from executors.choices import ExecutorConfigStatus
from executors.resolution import (
    ResolutionError,
    endpoint_candidates,
    resolve_executor_node,
    schema_data,
)
from flowker.errors import FlowkerError, StateRefusal
from flowker.sealing import is_sealed
from webhooks.services import normalise_path, webhook_path_problem
from workflows import conditions, graph
from workflows.choices import NodeType

RESERVED_IDS = frozenset({"workflow", "output", "executor"})
ACTIONS = ("log", "set_output")
TRIGGER_TYPES = ("webhook", "manual")
USABLE_EXECUTOR_CONFIGS = (ExecutorConfigStatus.TESTED, ExecutorConfigStatus.ACTIVE)


@dataclass(frozen=True)
class Failure:
    path: str
    code: str
    message: str
    refusal: bool = False  # a state rule, not an input error: answered 422 whatever the code


@dataclass
class Definition:
    """What validation learned: routes to register and executor configurations in use."""

    webhook_routes: list[dict[str, Any]] = field(default_factory=list)
    executor_config_ids: set[Any] = field(default_factory=set)
    # Nodes that name an endpoint, pinned to the executor configuration it resolved to.
    executor_bindings: dict[str, str] = field(default_factory=dict)


def raise_failures(
    failures: list[Failure], message: str = "workflow definition is invalid"
) -> None:
    if not failures:
        return
    first = failures[0]
    fields: dict[str, str] = {}
    for failure in failures:
        fields.setdefault(failure.path, failure.message)
    text = first.message if len(failures) == 1 else f"{message}: {first.message}"
    error = StateRefusal if first.refusal else FlowkerError
    raise error(first.code, text, fields=fields)


def validate_definition(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]], *, activation: bool = False
) -> Definition:
    """Check a definition whose shapes the serializer already checked; raise FlowkerError."""
    definition = Definition()
    failures = _node_failures(nodes, definition, activation=activation)
    failures += _edge_failures(nodes, edges)
    if activation:
        failures += _activation_failures(nodes, edges)
    raise_failures(failures)
    return definition


def _node_failures(
    nodes: list[dict[str, Any]], definition: Definition, *, activation: bool
) -> list[Failure]:
    failures: list[Failure] = []
    seen: set[str] = set()
    for index, node in enumerate(nodes):
        where = f"nodes[{index}]"
        node_id = node["id"]
        if node_id in RESERVED_IDS:
            failures.append(Failure(f"{where}.id", "FLK-0120", f"node id {node_id!r} is reserved"))
        elif node_id in seen:
            failures.append(Failure(f"{where}.id", "FLK-0120", f"duplicate node id {node_id!r}"))
        seen.add(node_id)
        data = node.get("data") or {}
        check = _NODE_CHECKS.get(node["type"])
        if check is not None:
            failures += check(index, node_id, data, definition, activation)
    return failures


def _trigger_failures(
    index: int, node_id: str, data: dict[str, Any], definition: Definition, activation: bool
) -> list[Failure]:
    where = f"nodes[{index}].data"
    trigger_type = data.get("triggerType") or "manual"
    trigger = registry.get_trigger(trigger_type) if trigger_type in TRIGGER_TYPES else None
    if trigger is None:
        return [
            Failure(
                f"{where}.triggerType",
                "FLK-0302",
                f"triggerType must be one of {', '.join(TRIGGER_TYPES)}",
            )
        ]
    signature_failures = []
    if trigger_type == "webhook" and data.get("signature") is not None:
        signature_failures = _signature_failures(f"{where}.signature", data["signature"])
    if trigger_type == "webhook" and "path" not in data and "method" not in data:
        # A webhook trigger without a path registers no route (the guide's workflow example);
        # it is started through POST /v1/workflows/{id}/executions.
        return signature_failures
    plain = {k: v for k, v in data.items() if not (k == "verify_token" and is_sealed(v))}
    if is_sealed(data.get("verify_token")):
        plain["verify_token"] = "sealed"
    if trigger_type == "webhook":
        plain.pop("signature", None)  # checked above, with 400 codes
    errors = schema_errors(trigger.schema, plain)
    if errors or signature_failures:
        return signature_failures + [
            Failure(f"{where}.{path}" if path else where, "FLK-0201", reason)
            for path, reason in errors.items()
        ]
    if trigger_type == "webhook":
        path = normalise_path(str(data["path"]))
        if not path:
            return [Failure(f"{where}.path", "FLK-0302", "webhook path must not be empty")]
        problem = webhook_path_problem(path)
        if problem:
            return [Failure(f"{where}.path", "FLK-0302", problem)]
        definition.webhook_routes.append(
            {
                "index": index,
                "nodeId": node_id,
                "method": str(data["method"]).upper(),
                "path": path,
                "verifyToken": data.get("verify_token"),
                "signature": data.get("signature"),
            }
        )
    return []


def _signature_failures(where: str, signature: Any) -> list[Failure]:
    """A webhook trigger's `signature` (catalog SIGNATURE): a missing field is 400 FLK-0301,
    any other invalid value (an unknown scheme included) 400 FLK-0302."""
    if not isinstance(signature, dict):
        return [Failure(where, "FLK-0302", "signature must be an object")]
    shown = dict(signature)
    if is_sealed(shown.get("secret")):
        shown["secret"] = "sealed"
    failures = []
    for path, reason in schema_errors(SIGNATURE, shown).items():
        code = "FLK-0301" if reason.endswith("is a required property") else "FLK-0302"
        failures.append(Failure(f"{where}.{path}" if path else where, code, reason))
    scheme = signature.get("scheme")
    if scheme == "stripe" and "timestampHeader" in signature:
        failures.append(
            Failure(
                f"{where}.timestampHeader",
                "FLK-0302",
                "the stripe scheme carries its timestamp in Stripe-Signature",
            )
        )
    return failures


def definition_warnings(workflow_id: Any, nodes: list[dict[str, Any]]) -> list[str]:
    """What an activated workflow should tell its operator: a webhook trigger without a path
    registers no route, so no webhook traffic can start it."""
    warnings = []
    for node in graph.entry_triggers(nodes):
        data = node.get("data") or {}
        if data.get("triggerType") == "webhook" and not data.get("path"):
            warnings.append(
                "trigger has no webhook path: start it with "
                f"POST /v1/workflows/{workflow_id}/executions"
            )
    return warnings


def _conditional_failures(
    index: int, node_id: str, data: dict[str, Any], definition: Definition, activation: bool
) -> list[Failure]:
    where = f"nodes[{index}].data.condition"
    condition = data.get("condition")
    if not isinstance(condition, str) or not condition.strip():
        return [Failure(where, "FLK-0105", "condition is required")]
    try:
        conditions.parse(condition)
    except conditions.ConditionSyntaxError as exc:
        return [Failure(where, "FLK-0105", f"invalid condition: {exc}")]
    return []


def action_name(data: dict[str, Any]) -> str | None:
    """An action node's action: `data.action` (the guide) or `data.actionType` (upstream)."""
    return data.get("action") or data.get("actionType")


def _action_failures(
    index: int, node_id: str, data: dict[str, Any], definition: Definition, activation: bool
) -> list[Failure]:
    where = f"nodes[{index}].data"
    action, action_type = data.get("action"), data.get("actionType")
    if action and action_type and action != action_type:
        return [Failure(f"{where}.actionType", "FLK-0302", "action and actionType disagree")]
    name = action_name(data)
    if name not in ACTIONS:
        return [
            Failure(f"{where}.action", "FLK-0302", f"action must be one of {', '.join(ACTIONS)}")
        ]
    if name == "set_output":
        output = data.get("output")
        if not isinstance(output, dict):
            return [Failure(f"{where}.output", "FLK-0302", "set_output needs an object `output`")]

        try:
            template_paths(output, "output")
        except TemplateError as exc:
            return [Failure(f"{where}.{exc.where}", "FLK-0302", exc.message)]
    return []


def _executor_failures(
    index: int, node_id: str, data: dict[str, Any], definition: Definition, activation: bool
) -> list[Failure]:
    where = f"nodes[{index}].data"
    try:
        call = resolve_executor_node(data, bound_statuses=USABLE_EXECUTOR_CONFIGS)
    except ResolutionError as exc:
        return [Failure(f"{where}.{exc.field}", exc.code, f"node {node_id}: {exc.message}")]
    failures: list[Failure] = []
    remainder = schema_data(data)
    if remainder:
        for path, reason in schema_errors(call.executor.schema, remainder).items():
            failures.append(Failure(f"{where}.{path}", "FLK-0201", reason))
    for key in ("inputMapping", "outputMapping"):
        if data.get(key) is not None:
            try:
                compile_mapping(data[key], field=key)
            except MappingDefinitionError as exc:
                failures.append(Failure(f"{where}.{exc.path}", exc.code, exc.message))
    if data.get("transforms") is not None:
        try:
            compile_transforms(data["transforms"])
        except MappingDefinitionError as exc:
            failures.append(Failure(f"{where}.{exc.path}", exc.code, exc.message))
    if call.executor_config is not None:
        if activation and call.executor_config.status not in USABLE_EXECUTOR_CONFIGS:
            failures.append(
                Failure(
                    f"{where}.executorConfigId",
                    "FLK-0252",
                    f"executor configuration {call.executor_config.name!r} is "
                    f"{call.executor_config.status}; it must be tested or active",
                )
            )
        definition.executor_config_ids.add(call.executor_config.pk)
        if not data.get("executorConfigId"):
            definition.executor_bindings[node_id] = str(call.executor_config.pk)
            if activation:
                failures += _ambiguity_failures(where, node_id, call)
    return failures


def _ambiguity_failures(where: str, node_id: str, call: Any) -> list[Failure]:
    """A node naming an endpoint that several usable configurations offer is not activated:
    which one it would call must not depend on creation order."""
    candidates = endpoint_candidates(
        call.provider_config, call.endpoint_name, USABLE_EXECUTOR_CONFIGS
    )
    if len(candidates) < 2:
        return []
    names = ", ".join(repr(candidate.name) for candidate in candidates)
    return [
        Failure(
            f"{where}.endpointName",
            "FLK-0150",
            f"node {node_id}: endpoint {call.endpoint_name!r} of provider configuration "
            f"{call.provider_config.name!r} is offered by several executor configurations "
            f"({names}); name one with executorConfigId",
            refusal=True,
        )
    ]


_NODE_CHECKS = {
    NodeType.TRIGGER: _trigger_failures,
    NodeType.CONDITIONAL: _conditional_failures,
    NodeType.ACTION: _action_failures,
    NodeType.EXECUTOR: _executor_failures,
}


def _edge_failures(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[Failure]:
    failures: list[Failure] = []
    types = {node["id"]: node["type"] for node in nodes}
    seen: set[str] = set()
    references_ok = True
    for index, edge in enumerate(edges):
        where = f"edges[{index}]"
        if edge["id"] in seen:
            failures.append(Failure(f"{where}.id", "FLK-0130", f"duplicate edge id {edge['id']!r}"))
        seen.add(edge["id"])
        for end in ("source", "target"):
            if edge[end] not in types:
                references_ok = False
                failures.append(
                    Failure(f"{where}.{end}", "FLK-0115", f"edge {end} {edge[end]!r} is not a node")
                )
        failures += _branch_failures(where, edge, types.get(edge["source"]))
    if references_ok:
        cycle = graph.find_cycle([node["id"] for node in nodes], edges)
        if cycle:
            failures.append(
                Failure("edges", "FLK-0117", "workflow has a cycle: " + " → ".join(cycle))
            )
    return failures


def _branch_failures(where: str, edge: dict[str, Any], source_type: str | None) -> list[Failure]:
    handle, condition = edge.get("sourceHandle"), edge.get("condition")
    if source_type != NodeType.CONDITIONAL:
        if handle or condition:
            key = "sourceHandle" if handle else "condition"
            return [
                Failure(
                    f"{where}.{key}",
                    "FLK-0118",
                    "only edges out of a conditional node take a branch",
                )
            ]
        return []
    if handle and condition and handle != condition:
        return [Failure(f"{where}.condition", "FLK-0118", "sourceHandle and condition disagree")]
    branch = graph.branch_of(edge)
    if branch not in (graph.TRUE, graph.FALSE):
        key = "sourceHandle" if handle else "condition"
        return [
            Failure(
                f"{where}.{key}",
                "FLK-0118",
                'an edge out of a conditional needs branch "true" or "false"',
            )
        ]
    return []


def _activation_failures(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[Failure]:
    if not nodes:
        return [Failure("nodes", "FLK-0112", "workflow must have at least one node to activate")]
    triggers = graph.entry_triggers(nodes)
    if len(triggers) != 1:
        return [
            Failure("nodes", "FLK-0116", "workflow must have exactly one trigger node to activate")
        ]
    trigger_id = triggers[0]["id"]
    if graph.incoming(edges).get(trigger_id):
        index = next(i for i, n in enumerate(nodes) if n["id"] == trigger_id)
        return [
            Failure(f"nodes[{index}]", "FLK-0116", "the trigger node cannot have incoming edges")
        ]
    reachable = graph.reachable_from(trigger_id, edges)
    return [
        Failure(
            f"nodes[{index}]", "FLK-0119", f"node {node['id']!r} is not reachable from the trigger"
        )
        for index, node in enumerate(nodes)
        if node["id"] not in reachable
    ]
