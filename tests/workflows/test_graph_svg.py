"""The workflow graph picture: left-to-right layout, shapes per node type, branch labels, an
execution's path, escaping of user text and tolerance of draft graphs. Pure, no database."""

import copy
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.guide import guide_workflow
from workflows.graph_svg import render_workflow_svg

SVG = "{http://www.w3.org/2000/svg}"

_GUIDE = guide_workflow("019c96a0-0ac0-7de9-9f53-9cf842a2ee5a")
PAYMENT_NODES = _GUIDE["nodes"]
PAYMENT_EDGES = _GUIDE["edges"]
APPROVED_RUN = {
    "trigger-payment": {"status": "completed", "durationMs": 3, "stepNumber": 1},
    "check-fraud": {"status": "completed", "durationMs": 412, "stepNumber": 2},
    "evaluate-score": {"status": "completed", "durationMs": 1, "stepNumber": 3},
    "approve": {"status": "failed", "durationMs": 27, "stepNumber": 4},
    "reject": {"status": "skipped", "stepNumber": 5},
}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def node_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-node-id"): g for g in root.iter(f"{SVG}g") if "node" in classes(g)}


def classes(element: ET.Element) -> set[str]:
    return set((element.get("class") or "").split())


def centre_x(group: ET.Element) -> float:
    return float(group.find(f"{SVG}text").get("x"))


def centre_y(group: ET.Element) -> float:
    return float(group.find(f"{SVG}text[@class='node-name']").get("y"))


def shape(group: ET.Element) -> ET.Element:
    return next(child for child in group if "node-shape" in classes(child))


def text_of(group: ET.Element, css_class: str) -> str:
    return group.find(f"{SVG}text[@class='{css_class}']").text


def edges_by_id(root: ET.Element) -> dict[str, ET.Element]:
    return {p.get("data-edge-id"): p for p in root.iter(f"{SVG}path") if "edge" in classes(p)}


def edge_labels(root: ET.Element) -> dict[str, str]:
    return {
        g.get("data-edge-id"): g.find(f"{SVG}text").text
        for g in root.iter(f"{SVG}g")
        if "edge-label" in classes(g)
    }


def test_payment_validation_nodes_run_left_to_right_in_graph_order():
    nodes = node_groups(parse(render_workflow_svg(PAYMENT_NODES, PAYMENT_EDGES)))

    xs = [centre_x(nodes[i]) for i in ("trigger-payment", "check-fraud", "evaluate-score")]
    assert xs == sorted(xs) and len(set(xs)) == 3
    assert centre_x(nodes["approve"]) == centre_x(nodes["reject"]) > xs[-1]


def test_nodes_sharing_a_column_are_ordered_by_their_position_y():
    flipped = copy.deepcopy(PAYMENT_NODES)
    flipped[3]["position"]["y"], flipped[4]["position"]["y"] = 100, -100

    usual = node_groups(parse(render_workflow_svg(PAYMENT_NODES, PAYMENT_EDGES)))
    swapped = node_groups(parse(render_workflow_svg(flipped, PAYMENT_EDGES)))

    assert centre_y(usual["approve"]) < centre_y(usual["reject"])
    assert centre_y(swapped["approve"]) > centre_y(swapped["reject"])


def test_node_column_is_its_longest_path_from_the_trigger():
    nodes = [
        {"id": "start", "type": "trigger"},
        {"id": "short", "type": "executor"},
        {"id": "long-1", "type": "executor"},
        {"id": "long-2", "type": "executor"},
        {"id": "end", "type": "action"},
    ]
    edges = [
        {"source": "start", "target": "short"},
        {"source": "start", "target": "long-1"},
        {"source": "long-1", "target": "long-2"},
        {"source": "long-2", "target": "end"},
        {"source": "short", "target": "end"},
    ]

    groups = node_groups(parse(render_workflow_svg(nodes, edges)))

    assert centre_x(groups["short"]) == centre_x(groups["long-1"])
    assert centre_x(groups["long-1"]) < centre_x(groups["long-2"]) < centre_x(groups["end"])


def test_conditional_node_is_drawn_as_a_diamond():
    nodes = node_groups(parse(render_workflow_svg(PAYMENT_NODES, PAYMENT_EDGES)))

    diamond = shape(nodes["evaluate-score"])
    assert diamond.tag == f"{SVG}polygon"
    assert len(diamond.get("points").split()) == 4


def test_conditional_edges_carry_their_true_and_false_branch_labels():
    root = parse(render_workflow_svg(PAYMENT_NODES, PAYMENT_EDGES))

    assert edge_labels(root) == {"e3": "true", "e4": "false"}
    branch_groups = [g for g in root.iter(f"{SVG}g") if "edge-label" in classes(g)]
    assert {c for g in branch_groups for c in classes(g)} >= {"branch-true", "branch-false"}


def test_branch_label_comes_from_source_handle_else_the_edge_label():
    nodes = [
        {"id": "if", "type": "conditional"},
        {"id": "yes", "type": "action"},
        {"id": "no", "type": "action"},
        {"id": "other", "type": "action"},
    ]
    edges = [
        {"id": "h", "source": "if", "target": "yes", "sourceHandle": "true"},
        {"id": "b", "source": "if", "target": "no", "condition": False},
        {"id": "l", "source": "if", "target": "other", "label": "fallback"},
        {"id": "plain", "source": "yes", "target": "other"},
    ]

    labels = edge_labels(parse(render_workflow_svg(nodes, edges)))

    assert labels == {"h": "true", "b": "false", "l": "fallback"}


def test_node_types_are_distinguishable_by_class_shape_and_colour():
    nodes = [
        {"id": "t", "type": "trigger", "name": "T"},
        {"id": "e", "type": "executor", "name": "E"},
        {"id": "c", "type": "conditional", "name": "C"},
        {"id": "a", "type": "action", "name": "A"},
    ]

    groups = node_groups(parse(render_workflow_svg(nodes, [])))

    assert {node_id: classes(g) for node_id, g in groups.items()} == {
        "t": {"node", "node-trigger"},
        "e": {"node", "node-executor"},
        "c": {"node", "node-conditional"},
        "a": {"node", "node-action"},
    }
    pill, box = shape(groups["t"]), shape(groups["e"])
    assert float(pill.get("rx")) * 2 == float(pill.get("height"))
    assert float(box.get("rx")) * 2 < float(box.get("height"))
    assert shape(groups["c"]).tag == f"{SVG}polygon"
    assert len({shape(g).get("fill") for g in groups.values()}) == 4
    assert {text_of(g, "node-type") for g in groups.values()} == {
        "trigger",
        "executor",
        "conditional",
        "action",
    }


def test_unknown_node_type_is_drawn_as_a_box_with_a_class_naming_it():
    group = node_groups(parse(render_workflow_svg([{"id": "x", "type": "Web Hook"}], [])))["x"]

    assert "node-web-hook" in classes(group)
    assert shape(group).tag == f"{SVG}rect"
    assert text_of(group, "node-type") == "Web Hook"


def test_node_shows_its_name_or_else_its_id():
    nodes = [{"id": "named", "type": "action", "name": "Approve"}, {"id": "bare", "type": "action"}]

    groups = node_groups(parse(render_workflow_svg(nodes, [])))

    assert text_of(groups["named"], "node-name") == "Approve"
    assert text_of(groups["bare"], "node-name") == "bare"


def test_long_names_are_truncated_to_fit_and_kept_whole_in_the_tooltip():
    name = "Reconcile the settlement ledger against the acquirer report"
    group = node_groups(
        parse(render_workflow_svg([{"id": "n", "type": "executor", "name": name}], []))
    )["n"]

    shown = text_of(group, "node-name")
    assert shown.endswith("…") and len(shown) < len(name)
    assert name.startswith(shown[:-1])
    assert name in group.find(f"{SVG}title").text


def test_steps_colour_each_node_by_its_status():
    steps = {**APPROVED_RUN}
    del steps["reject"]
    steps["check-fraud"] = {**steps["check-fraud"], "status": "skipped"}

    groups = node_groups(parse(render_workflow_svg(PAYMENT_NODES, PAYMENT_EDGES, steps=steps)))

    assert "status-completed" in classes(groups["trigger-payment"])
    assert "status-skipped" in classes(groups["check-fraud"])
    assert "status-failed" in classes(groups["approve"])
    assert "status-not-reached" in classes(groups["reject"])
    assert float(groups["reject"].get("opacity")) < 1
    assert shape(groups["check-fraud"]).get("stroke-dasharray")
    fills = {node_id: shape(groups[node_id]).get("fill") for node_id in groups}
    assert len({fills["trigger-payment"], fills["check-fraud"], fills["approve"]}) == 3


def test_steps_show_step_number_and_duration_under_the_name():
    groups = node_groups(
        parse(render_workflow_svg(PAYMENT_NODES, PAYMENT_EDGES, steps=APPROVED_RUN))
    )

    meta = groups["check-fraud"].find(f"{SVG}text[@class='node-meta']")
    assert meta.text == "#2 · 412 ms"
    assert float(meta.get("y")) > centre_y(groups["check-fraud"])
    assert text_of(groups["reject"], "node-meta") == "#5"


def test_steps_highlight_only_the_edges_the_execution_took():
    steps = {**APPROVED_RUN, "approve": {**APPROVED_RUN["approve"], "status": "completed"}}

    edges = edges_by_id(parse(render_workflow_svg(PAYMENT_NODES, PAYMENT_EDGES, steps=steps)))

    taken = {edge_id for edge_id, path in edges.items() if "edge-taken" in classes(path)}
    assert taken == {"e1", "e2", "e3"}
    assert edges["e3"].get("stroke-width") != edges["e4"].get("stroke-width")


def test_without_steps_no_node_has_a_status_and_no_edge_is_highlighted():
    root = parse(render_workflow_svg(PAYMENT_NODES, PAYMENT_EDGES))

    assert not any(c.startswith("status-") for g in node_groups(root).values() for c in classes(g))
    assert not any("edge-taken" in classes(p) for p in edges_by_id(root).values())


def test_cycles_and_self_loops_render_without_hanging():
    nodes = [
        {"id": "start", "type": "trigger"},
        {"id": "a", "type": "executor"},
        {"id": "b", "type": "conditional"},
    ]
    edges = [
        {"id": "1", "source": "start", "target": "a"},
        {"id": "2", "source": "a", "target": "b"},
        {"id": "back", "source": "b", "target": "a", "sourceHandle": "false"},
        {"id": "self", "source": "b", "target": "b"},
    ]

    root = parse(render_workflow_svg(nodes, edges))

    groups = node_groups(root)
    assert centre_x(groups["start"]) < centre_x(groups["a"]) < centre_x(groups["b"])
    assert set(edges_by_id(root)) == {"1", "2", "back", "self"}


def test_graph_that_is_only_a_cycle_still_renders_every_node():
    nodes = [{"id": "a", "type": "executor"}, {"id": "b", "type": "executor"}]
    edges = [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}]

    groups = node_groups(parse(render_workflow_svg(nodes, edges)))

    assert centre_x(groups["a"]) < centre_x(groups["b"])


def test_nodes_no_entry_reaches_go_in_a_last_column():
    nodes = [
        {"id": "start", "type": "trigger"},
        {"id": "next", "type": "action"},
        {"id": "loop-1", "type": "executor"},
        {"id": "loop-2", "type": "executor"},
    ]
    edges = [
        {"source": "start", "target": "next"},
        {"source": "loop-1", "target": "loop-2"},
        {"source": "loop-2", "target": "loop-1"},
    ]

    groups = node_groups(parse(render_workflow_svg(nodes, edges)))

    assert centre_x(groups["loop-1"]) == centre_x(groups["loop-2"]) > centre_x(groups["next"])


def test_edges_to_missing_nodes_are_skipped():
    edges = [
        *PAYMENT_EDGES,
        {"id": "dangling", "source": "approve", "target": "deleted-node"},
        {"id": "orphan", "source": None, "target": "approve"},
    ]

    root = parse(render_workflow_svg(PAYMENT_NODES, edges))

    assert set(edges_by_id(root)) == {"e1", "e2", "e3", "e4"}
    assert len(node_groups(root)) == 5


def test_empty_workflow_gives_a_small_valid_svg():
    for steps in (None, {}):
        root = parse(render_workflow_svg([], [], steps=steps))

        assert root.tag == f"{SVG}svg"
        assert float(root.get("width")) <= 300 and float(root.get("height")) <= 100
        assert node_groups(root) == {}


def test_svg_is_standalone_with_viewbox_size_role_and_title():
    svg = render_workflow_svg(PAYMENT_NODES, PAYMENT_EDGES)
    root = parse(svg)

    assert svg.startswith("<svg ") and 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert root.get("role") == "img"
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert "5 nodes" in root.find(f"{SVG}title").text


def test_arrowheads_use_markers_unique_to_each_picture():
    plain = parse(render_workflow_svg(PAYMENT_NODES, PAYMENT_EDGES))
    run = parse(render_workflow_svg(PAYMENT_NODES, PAYMENT_EDGES, steps=APPROVED_RUN))

    def marker_ids(root):
        return {m.get("id") for m in root.iter(f"{SVG}marker")}

    for root in (plain, run):
        used = {p.get("marker-end")[len("url(#") : -1] for p in edges_by_id(root).values()}
        assert used <= marker_ids(root)
    assert not marker_ids(plain) & marker_ids(run)


def test_user_text_is_xml_escaped():
    script = "<script>alert(1)</script>"
    nodes = [
        {"id": 'start"><script>', "type": "trigger", "name": script},
        {"id": "end", "type": "<b>action</b>", "name": "End"},
    ]
    edges = [{"id": "e&1", "source": 'start"><script>', "target": "end", "label": '"&<>'}]

    svg = render_workflow_svg(nodes, edges, steps={"end": {"status": "<img src=x>"}})
    root = parse(svg)

    assert "<script>" not in svg and "<b>" not in svg and "<img" not in svg
    assert "&lt;script&gt;" in svg
    groups = node_groups(root)
    assert set(groups) == {'start"><script>', "end"}
    assert groups['start"><script>'].find(f"{SVG}title").text.startswith(script)
    assert edge_labels(root) == {"e&1": '"&<>'}
    assert text_of(groups["end"], "node-type") == "<b>action</b>"


nasty_text = st.one_of(st.none(), st.integers(), st.text(max_size=40))
node_ids = st.sampled_from(["a", "b", "c", "d", "<&>", "é"])


@settings(max_examples=150, deadline=None)
@given(
    nodes=st.lists(
        st.fixed_dictionaries(
            {"id": node_ids, "type": st.sampled_from(["trigger", "conditional", "x"]) | nasty_text},
            optional={
                "name": nasty_text,
                "position": st.fixed_dictionaries({"y": st.floats() | nasty_text}),
            },
        ),
        max_size=8,
    ),
    edges=st.lists(
        st.fixed_dictionaries(
            {"source": node_ids | nasty_text, "target": node_ids | nasty_text},
            optional={"id": nasty_text, "label": nasty_text, "condition": nasty_text},
        ),
        max_size=12,
    ),
    steps=st.none()
    | st.dictionaries(
        node_ids,
        st.fixed_dictionaries(
            {"status": st.sampled_from(["completed", "failed", "running"]) | nasty_text},
            optional={"durationMs": st.floats() | nasty_text, "stepNumber": nasty_text},
        ),
    ),
)
def test_any_draft_graph_renders_well_formed_xml_with_each_node_once(nodes, edges, steps):
    root = parse(render_workflow_svg(nodes, edges, steps=steps))

    assert len(node_groups(root)) == len({node["id"] for node in nodes})


def test_picture_scales_to_the_width_it_is_given_up_to_its_natural_size():
    root = parse(render_workflow_svg(PAYMENT_NODES, PAYMENT_EDGES))

    style = root.get("style").replace(" ", "")
    assert "width:100%" in style and f"max-width:{root.get('width')}px" in style
    assert "height:auto" in style


def test_nodes_given_a_url_are_links_and_the_url_is_escaped():
    urls = {"check-fraud": '/admin/x/?a=1&b="2"'}
    svg = render_workflow_svg(PAYMENT_NODES, PAYMENT_EDGES, node_urls=urls)
    root = parse(svg)

    links = list(root.iter(f"{SVG}a"))
    assert [a.get("href") for a in links] == ['/admin/x/?a=1&b="2"']
    assert links[0].find(f"{SVG}g").get("data-node-id") == "check-fraud"
    assert 'b="2"' not in svg
