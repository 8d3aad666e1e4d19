"""Graph facts about a workflow definition, as plain functions over node and edge dicts.
Used by save-time validation and by the engine's walk."""

from collections import defaultdict
from typing import Any

TRUE, FALSE = "true", "false"


def branch_of(edge: dict[str, Any]) -> str | None:
    """The conditional branch an edge belongs to: its `sourceHandle` or `condition`."""
    return edge.get("sourceHandle") or edge.get("condition") or None


def outgoing(edges: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for edge in edges:
        result[edge["source"]].append(edge)
    return result


def incoming(edges: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for edge in edges:
        result[edge["target"]].append(edge)
    return result


def find_cycle(node_ids: list[str], edges: list[dict[str, Any]]) -> list[str] | None:
    """A cycle as a list of node ids (first == last), or None. Iterative: deep graphs are fine."""
    nexts = outgoing(edges)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for start in node_ids:
        if state.get(start):
            continue
        path = [start]
        iterators = [iter(nexts.get(start, []))]
        state[start] = 1
        while iterators:
            edge = next(iterators[-1], None)
            if edge is None:
                state[path.pop()] = 2
                iterators.pop()
                continue
            target = edge["target"]
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if not state.get(target):
                state[target] = 1
                path.append(target)
                iterators.append(iter(nexts.get(target, [])))
    return None


def reachable_from(start: str, edges: list[dict[str, Any]]) -> set[str]:
    nexts = outgoing(edges)
    seen = {start}
    pending = [start]
    while pending:
        for edge in nexts.get(pending.pop(), []):
            if edge["target"] not in seen:
                seen.add(edge["target"])
                pending.append(edge["target"])
    return seen


def entry_triggers(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [node for node in nodes if node.get("type") == "trigger"]
