"""Which node runs next (CONTRACT §8 graph semantics), as a pure function of the definition
and the steps recorded so far: each node at most once, joins wait for every live predecessor,
untaken branches and what only they lead to are skipped, ties broken by `nodes` order.
`ready_moves` gives every node that can move at once (parallel branches); `next_move` the
first of them."""

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


def ready_moves(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]], steps: dict[str, StepView]
) -> list[Move]:
    """Every node that can move now, each once: the steps left running (a retry is due, or
    their worker died) first, then every node whose incoming edges are all decided — to run
    when one of them is live, to record as skipped when none is — in `nodes` order. The
    branches after a fork are all ready together, so they may run at the same time."""
    counted = counted_nodes(nodes)
    moves = [
        Move(node=node, skip=False)
        for node in counted
        if (step := steps.get(node["id"])) is not None and step.status == "running"
    ]
    types = {node["id"]: node.get("type", "") for node in nodes}
    into = incoming(edges)
    for node in counted:
        if node["id"] in steps:
            continue
        states = [_edge_state(edge, types, steps) for edge in into.get(node["id"], [])]
        if "open" in states:
            continue
        moves.append(Move(node=node, skip="live" not in states))
    return moves


def next_move(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]], steps: dict[str, StepView]
) -> Move | None:
    """The first of the ready moves (a running step before a new node, then `nodes` order);
    None when nothing more can move — normally because every node has its step."""
    moves = ready_moves(nodes, edges, steps)
    return moves[0] if moves else None
