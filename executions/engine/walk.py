"""Which node runs next (CONTRACT §8 graph semantics), as a pure function of the definition
and the steps recorded so far: each node at most once, joins wait for every live predecessor,
untaken branches and what only they lead to are skipped, ties broken by `nodes` order."""

from dataclasses import dataclass
from typing import Any

from workflows.graph import branch_of, incoming

TRIGGER = "trigger"
CONDITIONAL = "conditional"


@dataclass(frozen=True)
class StepView:
    status: str  # completed | failed | skipped | running
    branch: str | None = None  # a completed conditional's branch: "true" or "false"


@dataclass(frozen=True)
class Move:
    node: dict[str, Any]
    skip: bool


def counted_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every node that gets a step: all but triggers."""
    return [node for node in nodes if node.get("type") != TRIGGER]


def _edge_state(edge: dict[str, Any], types: dict[str, str], steps: dict[str, StepView]) -> str:
    """live (the path through it was taken), dead (it was not), or open (not decided yet)."""
    source = edge["source"]
    if types.get(source) == TRIGGER:
        return "live"
    step = steps.get(source)
    if step is None or step.status not in ("completed", "skipped"):
        return "open"
    if step.status == "skipped":
        return "dead"
    if types.get(source) == CONDITIONAL:
        return "live" if branch_of(edge) == step.branch else "dead"
    return "live"


def next_move(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]], steps: dict[str, StepView]
) -> Move | None:
    """The next node to run (or resume), or to record as skipped; None when nothing more can
    move — normally because every node has its step."""
    counted = counted_nodes(nodes)
    # A step left running (a retry is due, or its worker died) resumes first.
    for node in counted:
        step = steps.get(node["id"])
        if step is not None and step.status == "running":
            return Move(node=node, skip=False)
    types = {node["id"]: node.get("type", "") for node in nodes}
    into = incoming(edges)
    for node in counted:
        if node["id"] in steps:
            continue
        states = [_edge_state(edge, types, steps) for edge in into.get(node["id"], [])]
        if "open" in states:
            continue
        return Move(node=node, skip="live" not in states)
    return None
