"""Server-side SVG pictures of a workflow graph and, given its steps, of an execution's path.

Layout is pure functions over the stored node and edge dicts; the picture is drawn by the
autoescaped template workflows/graph.svg, so every string taken from the input is escaped on the
way out. It scales to the width it is given (viewBox, width 100%) up to its natural size.
"""

import hashlib
import math
import re
from dataclasses import dataclass

from django.template.loader import render_to_string

NODE_WIDTH = 200
NODE_HEIGHT = 84
COLUMN_GAP = 84
ROW_GAP = 28
PADDING = 24
# Edges that cannot run left to right (cycles in a draft, same-column links) swing below the graph.
LOOP_DROP = 56
LINE_SPACING = 15

NAME_FONT = (13, 7.4)  # (font size, estimated average glyph width) of the bold name line
SMALL_FONT = (11, 6.4)
TEXT_COLOUR = "#0f172a"
MUTED_COLOUR = "#475569"


@dataclass(frozen=True)
class _Look:
    fill: str
    stroke: str
    dash: str = ""
    opacity: float = 1.0


SHAPES = {"trigger": "pill", "conditional": "diamond"}  # every other type is a rectangle
TYPE_LOOKS = {
    "trigger": _Look("#ede9fe", "#7c3aed"),
    "executor": _Look("#dbeafe", "#2563eb"),
    "conditional": _Look("#fef3c7", "#d97706"),
    "action": _Look("#ccfbf1", "#0d9488"),
}
OTHER_TYPE_LOOK = _Look("#f3f4f6", "#6b7280")
STATUS_LOOKS = {
    "completed": _Look("#dcfce7", "#16a34a"),
    "failed": _Look("#fee2e2", "#dc2626"),
    "skipped": _Look("#f3f4f6", "#9ca3af", dash="5 4"),
    "running": _Look("#dbeafe", "#2563eb"),
    "pending": _Look("#fef9c3", "#ca8a04", dash="2 3"),
    "unknown": _Look("#f3f4f6", "#6b7280"),
    "not-reached": _Look("#ffffff", "#cbd5e1", dash="2 3", opacity=0.45),
}
# Both ends of an edge having run means the execution went along it.
RAN_STATUSES = frozenset({"completed", "failed"})

EDGE_COLOURS = {"plain": "#64748b", "taken": "#1e293b", "faded": "#cbd5e1"}
BRANCH_COLOURS = {"true": "#15803d", "false": "#b91c1c"}

_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render_workflow_svg(
    nodes: list[dict],
    edges: list[dict],
    *,
    steps: dict[str, dict] | None = None,
    node_urls: dict[str, str] | None = None,
) -> str:
    """A standalone `<svg>` of the graph laid out left to right from its trigger(s).

    Columns are longest-path depths from the entry nodes (no incoming edges, triggers first),
    ignoring edges that close a cycle; nodes no entry reaches share one last column. With
    `steps` (node id → step dict), nodes take their step status and the edges taken are
    highlighted; nodes without a step are drawn faded as not reached. `node_urls` (node id →
    URL) makes those nodes links, e.g. to the configuration they call.
    """
    links_to = node_urls or {}
    known = _known_nodes(nodes)
    links = _known_edges(edges, known)
    prefix = _id_prefix(nodes, edges, steps)
    if not known:
        return _empty_svg(prefix)

    columns = _columns(known, links)
    positions, content_width, content_height = _positions(known, columns)
    loops_below = any(columns[e["target"]] <= columns[e["source"]] for e in links)
    loop_y = PADDING + content_height + LOOP_DROP
    width = content_width + 2 * PADDING
    height = content_height + 2 * PADDING + (LOOP_DROP if loops_below else 0)

    statuses = None if steps is None else _statuses(known, steps)
    edge_items, label_items = [], []
    for edge in links:
        path, midpoint = _edge_geometry(edge, positions, columns, loop_y)
        edge_items.append(_edge_item(edge, path, _edge_state(edge, statuses), prefix))
        label, branch = _edge_label(edge, known[edge["source"]])
        if label:
            label_items.append(_edge_label_item(edge, label, branch, midpoint))
    node_items = [
        _node_item(
            node_id, node, positions[node_id], index, prefix, statuses, steps, links_to.get(node_id)
        )
        for index, (node_id, node) in enumerate(known.items())
    ]
    kind = "Workflow graph" if steps is None else "Workflow execution path"
    title = f"{kind}: {len(known)} nodes, {len(links)} edges"
    return _svg_document(
        prefix, width, height, title, edges=edge_items, nodes=node_items, labels=label_items
    )


def _clean(value: object) -> str:
    # Characters XML 1.0 forbids would make the whole picture unparseable, so they are dropped.
    return _INVALID_XML_CHARS.sub("", str(value))


def _fmt(number: float) -> str:
    text = f"{number:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _slug(value: object) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-") or "unknown"


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _id_prefix(nodes: list, edges: list, steps: dict | None) -> str:
    # Inline SVGs share their page's id namespace: a graph and an execution path shown together
    # must not resolve each other's arrowhead markers. A content hash keeps output deterministic.
    digest = hashlib.sha256(repr((nodes, edges, steps)).encode("utf-8", "replace")).hexdigest()
    return f"flowker-graph-{digest[:10]}"


def _known_nodes(nodes: list) -> dict[str, dict]:
    """Node dicts by id, in input order; entries without an id are skipped, first id wins."""
    known: dict[str, dict] = {}
    for node in nodes or []:
        if isinstance(node, dict) and node.get("id") is not None:
            known.setdefault(str(node["id"]), node)
    return known


def _known_edges(edges: list, known: dict[str, dict]) -> list[dict]:
    """Edges whose two ends exist, with `source`/`target` normalised to strings."""
    links = []
    for edge in edges or []:
        if not isinstance(edge, dict):
            continue
        source, target = str(edge.get("source")), str(edge.get("target"))
        if source in known and target in known:
            links.append({**edge, "source": source, "target": target})
    return links


def _node_type(node: dict) -> str:
    return str(node.get("type") or "")


def _entries(known: dict[str, dict], links: list[dict]) -> list[str]:
    has_incoming = {e["target"] for e in links if e["source"] != e["target"]}
    entries = [node_id for node_id in known if node_id not in has_incoming]
    if not entries:
        # A draft that is one big cycle still needs somewhere to start.
        triggers = [i for i, node in known.items() if _node_type(node) == "trigger"]
        entries = triggers or [next(iter(known))]
    return sorted(entries, key=lambda node_id: _node_type(known[node_id]) != "trigger")


def _postorder(entries: list[str], successors: dict[str, list[str]]) -> list[str]:
    """Depth-first finishing order of every node reachable from the entries (iterative)."""
    seen: set[str] = set()
    finished: list[str] = []
    for entry in entries:
        if entry in seen:
            continue
        seen.add(entry)
        stack = [(entry, iter(successors[entry]))]
        while stack:
            node_id, pending = stack[-1]
            child = next((s for s in pending if s not in seen), None)
            if child is None:
                stack.pop()
                finished.append(node_id)
            else:
                seen.add(child)
                stack.append((child, iter(successors[child])))
    return finished


def _columns(known: dict[str, dict], links: list[dict]) -> dict[str, int]:
    """Longest-path depth of each node from the entries; unreached nodes go one column past."""
    successors: dict[str, list[str]] = {node_id: [] for node_id in known}
    for edge in links:
        successors[edge["source"]].append(edge["target"])
    order = list(reversed(_postorder(_entries(known, links), successors)))
    rank = {node_id: position for position, node_id in enumerate(order)}
    depth = dict.fromkeys(order, 0)
    for node_id in order:
        for child in successors[node_id]:
            # In reverse finishing order an edge pointing backwards closes a cycle: ignore it.
            if rank[child] > rank[node_id]:
                depth[child] = max(depth[child], depth[node_id] + 1)
    last = max(depth.values()) + 1
    return {node_id: depth.get(node_id, last) for node_id in known}


def _positions(
    known: dict[str, dict], columns: dict[str, int]
) -> tuple[dict[str, tuple[float, float]], float, float]:
    """Top-left corner of each node, columns vertically centred, plus the content size."""
    by_column: dict[int, list[str]] = {}
    for node_id in known:
        by_column.setdefault(columns[node_id], []).append(node_id)
    column_count = max(by_column) + 1
    tallest = max(len(ids) for ids in by_column.values())
    content_height = tallest * NODE_HEIGHT + (tallest - 1) * ROW_GAP
    content_width = column_count * NODE_WIDTH + (column_count - 1) * COLUMN_GAP
    order = {node_id: index for index, node_id in enumerate(known)}
    positions = {}
    for column, ids in by_column.items():
        ids.sort(key=lambda node_id: (_position_y(known[node_id]), order[node_id]))
        column_height = len(ids) * NODE_HEIGHT + (len(ids) - 1) * ROW_GAP
        top = PADDING + (content_height - column_height) / 2
        x = PADDING + column * (NODE_WIDTH + COLUMN_GAP)
        for row, node_id in enumerate(ids):
            positions[node_id] = (x, top + row * (NODE_HEIGHT + ROW_GAP))
    return positions, content_width, content_height


def _position_y(node: dict) -> float:
    position = node.get("position")
    y = _number(position.get("y")) if isinstance(position, dict) else None
    return 0.0 if y is None else y


def _statuses(known: dict[str, dict], steps: dict) -> dict[str, str]:
    statuses = {}
    for node_id in known:
        step = steps.get(node_id) if isinstance(steps, dict) else None
        if not isinstance(step, dict):
            statuses[node_id] = "not-reached"
        else:
            status = str(step.get("status") or "")
            statuses[node_id] = status if status in STATUS_LOOKS else "unknown"
    return statuses


def _edge_state(edge: dict, statuses: dict[str, str] | None) -> str:
    if statuses is None:
        return "plain"
    ran = statuses[edge["source"]] in RAN_STATUSES and statuses[edge["target"]] in RAN_STATUSES
    return "taken" if ran else "faded"


def _edge_geometry(
    edge: dict,
    positions: dict[str, tuple[float, float]],
    columns: dict[str, int],
    loop_y: float,
) -> tuple[str, tuple[float, float]]:
    """The cubic Bézier path `d` of an edge and its midpoint (for the label)."""
    (sx, sy), (tx, ty) = positions[edge["source"]], positions[edge["target"]]
    if columns[edge["target"]] > columns[edge["source"]]:
        start = (sx + NODE_WIDTH, sy + NODE_HEIGHT / 2)
        end = (tx, ty + NODE_HEIGHT / 2)
        bend = (end[0] - start[0]) / 2
        c1, c2 = (start[0] + bend, start[1]), (end[0] - bend, end[1])
    else:
        # Leave from the bottom and come back up into the target's bottom, below every node.
        spread = NODE_WIDTH / 4 if edge["source"] == edge["target"] else 0
        start = (sx + NODE_WIDTH / 2 + spread, sy + NODE_HEIGHT)
        end = (tx + NODE_WIDTH / 2 - spread, ty + NODE_HEIGHT)
        c1, c2 = (start[0], loop_y), (end[0], loop_y)
    midpoint = (
        (start[0] + 3 * c1[0] + 3 * c2[0] + end[0]) / 8,
        (start[1] + 3 * c1[1] + 3 * c2[1] + end[1]) / 8,
    )
    points = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in (c1, c2, end))
    return f"M{_fmt(start[0])},{_fmt(start[1])} C{points}", midpoint


def _branch(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower() if value is not None else ""
    return text if text in BRANCH_COLOURS else None


def _edge_label(edge: dict, source: dict) -> tuple[str, str | None]:
    """(text, branch) of an edge: a conditional's "true"/"false" branch, else its own label."""
    if _node_type(source) == "conditional":
        branch = _branch(edge.get("sourceHandle")) or _branch(edge.get("condition"))
        if branch:
            return branch, branch
    label = edge.get("label")
    return (_clean(label).strip() if label is not None else ""), None


def _edge_item(edge: dict, path: str, state: str, prefix: str) -> dict[str, str]:
    return {
        "classes": "edge edge-taken" if state == "taken" else "edge",
        "edge_id": _clean(edge.get("id", "")),
        "source": _clean(edge["source"]),
        "target": _clean(edge["target"]),
        "d": path,
        "stroke": EDGE_COLOURS[state],
        "width": "2.5" if state == "taken" else "1.5",
        "marker": f"url(#{prefix}-arrow-{state})",
    }


def _edge_label_item(
    edge: dict, label: str, branch: str | None, midpoint: tuple[float, float]
) -> dict[str, str]:
    size, glyph = SMALL_FONT
    text = _truncate(label, 140, glyph)
    box_width = len(text) * glyph + 10
    x, y = midpoint
    return {
        "classes": f"edge-label branch-{branch}" if branch else "edge-label",
        "edge_id": _clean(edge.get("id", "")),
        "box_x": _fmt(x - box_width / 2),
        "box_y": _fmt(y - 9),
        "box_width": _fmt(box_width),
        "x": _fmt(x),
        "y": _fmt(y),
        "size": str(size),
        "fill": BRANCH_COLOURS.get(branch or "", MUTED_COLOUR),
        "text": text,
    }


def _truncate(text: str, max_width: float, glyph_width: float) -> str:
    """`text` cut with an ellipsis to about `max_width` pixels (glyph widths are estimates)."""
    limit = max(int(max_width // glyph_width), 1)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _text_width(shape: str, offset: float, font_size: int) -> float:
    """Room for a line centred `offset` px from the node's middle, inside its shape."""
    reach = abs(offset) + font_size / 2
    half_height = NODE_HEIGHT / 2
    if shape == "diamond":
        return NODE_WIDTH * (1 - reach / half_height) - 12
    if shape == "pill":
        inset = half_height - math.sqrt(max(half_height**2 - reach**2, 0))
        return NODE_WIDTH - 2 * (inset + 10)
    return NODE_WIDTH - 24


def _shape_item(shape: str, x: float, y: float, look: _Look) -> dict[str, str]:
    item = {"fill": look.fill, "stroke": look.stroke, "dash": look.dash}
    if shape == "diamond":
        cx, cy = x + NODE_WIDTH / 2, y + NODE_HEIGHT / 2
        corners = ((cx, y), (x + NODE_WIDTH, cy), (cx, y + NODE_HEIGHT), (x, cy))
        return {**item, "points": " ".join(f"{_fmt(px)},{_fmt(py)}" for px, py in corners)}
    radius = NODE_HEIGHT / 2 if shape == "pill" else 6
    return {**item, "x": _fmt(x), "y": _fmt(y), "rx": _fmt(radius)}


def _step_meta(step: dict) -> str:
    """`#<stepNumber> · <durationMs> ms`, with whichever of the two the step has."""
    parts = []
    number = step.get("stepNumber")
    if isinstance(number, int) and not isinstance(number, bool):
        parts.append(f"#{number}")
    duration = _number(step.get("durationMs"))
    if duration is not None:
        parts.append(f"{round(duration)} ms")
    return " · ".join(parts)


def _node_tooltip(name: str, node_type: str, status: str | None, meta: str) -> str:
    details = ", ".join(part for part in (status, meta) if part)
    return f"{name} ({node_type})" + (f": {details}" if details else "")


def _node_item(
    node_id: str,
    node: dict,
    position: tuple[float, float],
    index: int,
    prefix: str,
    statuses: dict[str, str] | None,
    steps: dict | None,
    url: str | None,
) -> dict[str, object]:
    node_type = _node_type(node)
    shape = SHAPES.get(node_type, "rect")
    name = _clean(node.get("name") or "").strip() or _clean(node_id)
    status = statuses[node_id] if statuses is not None else None
    step = (steps or {}).get(node_id)
    meta = _step_meta(step) if isinstance(step, dict) else ""
    look = STATUS_LOOKS[status] if status else TYPE_LOOKS.get(node_type, OTHER_TYPE_LOOK)

    # Type above the name, step timing below it: the name gets the widest line of a diamond.
    lines = [(_clean(node_type) or "untyped", SMALL_FONT, "node-type", MUTED_COLOUR, "normal")]
    lines.append((name, NAME_FONT, "node-name", TEXT_COLOUR, "600"))
    if meta:
        lines.append((meta, SMALL_FONT, "node-meta", TEXT_COLOUR, "normal"))
    x, y = position
    cx, cy = x + NODE_WIDTH / 2, y + NODE_HEIGHT / 2
    texts = []
    for row, (content, (size, glyph), css, colour, weight) in enumerate(lines):
        offset = (row - (len(lines) - 1) / 2) * LINE_SPACING
        texts.append(
            {
                "css": css,
                "x": _fmt(cx),
                "y": _fmt(cy + offset),
                "size": str(size),
                "weight": weight,
                "fill": colour,
                "text": _truncate(content, _text_width(shape, offset, size), glyph),
            }
        )
    return {
        "classes": f"node node-{_slug(node_type)}" + (f" status-{status}" if status else ""),
        "dom_id": f"{prefix}-node-{index}",
        "node_id": _clean(node_id),
        "status": status,
        "opacity": str(look.opacity) if look.opacity < 1 else "",
        "tooltip": _node_tooltip(name, _clean(node_type) or "untyped", status, meta),
        "shape": _shape_item(shape, x, y, look),
        "shape_kind": "polygon" if shape == "diamond" else "rect",
        "texts": texts,
        "url": url,
    }


def _svg_document(prefix: str, width: float, height: float, title: str, **body: object) -> str:
    context = {
        "prefix": prefix,
        "width": _fmt(width),
        "height": _fmt(height),
        "title": title,
        "node_width": NODE_WIDTH,
        "node_height": NODE_HEIGHT,
        "markers": [{"state": s, "colour": c} for s, c in EDGE_COLOURS.items()],
        **body,
    }
    # Autoescaped like every template: no string from the definition reaches the page raw.
    return render_to_string("workflows/graph.svg", context)


def _empty_svg(prefix: str) -> str:
    return _svg_document(prefix, 240, 64, "Workflow graph: no nodes", empty=True)
