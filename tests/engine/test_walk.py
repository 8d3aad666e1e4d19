"""The graph walk as a pure function: order, joins, skipped branches, resumption."""

import pytest

from executions.engine.walk import Move, StepView, next_move


def _node(node_id, node_type="action"):
    return {"id": node_id, "type": node_type}


def _edge(source, target, branch=None):
    edge = {"id": f"{source}-{target}", "source": source, "target": target}
    if branch:
        edge["condition"] = branch
    return edge


def _walk(nodes, edges, decide=lambda node_id: None):
    """Run the walk to the end; `decide` gives a conditional's branch. Returns the moves."""
    steps, order = {}, []
    while (move := next_move(nodes, edges, steps)) is not None:
        node_id = move.node["id"]
        order.append((node_id, "skip" if move.skip else "run"))
        status = "skipped" if move.skip else "completed"
        steps[node_id] = StepView(
            status, decide(node_id) if move.node["type"] == "conditional" else None
        )
    return order


GUIDE_NODES = [
    _node("trigger-payment", "trigger"),
    _node("check-fraud", "executor"),
    _node("evaluate-score", "conditional"),
    _node("approve"),
    _node("reject"),
]
GUIDE_EDGES = [
    _edge("trigger-payment", "check-fraud"),
    _edge("check-fraud", "evaluate-score"),
    _edge("evaluate-score", "approve", "true"),
    _edge("evaluate-score", "reject", "false"),
]


@pytest.mark.parametrize(
    ("branch", "ran", "skipped"), [("true", "approve", "reject"), ("false", "reject", "approve")]
)
def test_guide_workflow_runs_one_branch_and_skips_the_other(branch, ran, skipped):
    order = _walk(GUIDE_NODES, GUIDE_EDGES, lambda _: branch)
    assert order[:2] == [("check-fraud", "run"), ("evaluate-score", "run")]
    assert set(order[2:]) == {(ran, "run"), (skipped, "skip")}


def test_nodes_only_reachable_through_an_untaken_branch_are_skipped():
    nodes = [_node("t", "trigger"), _node("c", "conditional"), _node("a"), _node("a2"), _node("b")]
    edges = [_edge("t", "c"), _edge("c", "a", "true"), _edge("a", "a2"), _edge("c", "b", "false")]
    order = _walk(nodes, edges, lambda _: "false")
    assert ("a", "skip") in order and ("a2", "skip") in order and ("b", "run") in order


def test_join_waits_for_every_predecessor_and_runs_once():
    nodes = [_node("t", "trigger"), _node("left"), _node("right"), _node("join")]
    edges = [_edge("t", "left"), _edge("t", "right"), _edge("left", "join"), _edge("right", "join")]
    order = _walk(nodes, edges)
    assert order == [("left", "run"), ("right", "run"), ("join", "run")]


def test_join_after_a_branch_runs_when_one_path_is_live():
    nodes = [
        _node("t", "trigger"),
        _node("c", "conditional"),
        _node("a"),
        _node("b"),
        _node("join"),
    ]
    edges = [
        _edge("t", "c"),
        _edge("c", "a", "true"),
        _edge("c", "b", "false"),
        _edge("a", "join"),
        _edge("b", "join"),
    ]
    order = _walk(nodes, edges, lambda _: "true")
    assert order == [("c", "run"), ("a", "run"), ("b", "skip"), ("join", "run")]


def test_join_whose_every_path_is_skipped_is_skipped():
    nodes = [
        _node("t", "trigger"),
        _node("c", "conditional"),
        _node("a"),
        _node("b"),
        _node("after-a"),
        _node("ok"),
    ]
    edges = [
        _edge("t", "c"),
        _edge("c", "a", "true"),
        _edge("a", "after-a"),
        _edge("c", "ok", "false"),
    ]
    order = _walk(nodes, edges, lambda _: "false")
    assert ("after-a", "skip") in order


def test_ready_nodes_run_in_nodes_array_order():
    nodes = [_node("t", "trigger"), _node("z"), _node("a"), _node("m")]
    edges = [_edge("t", "a"), _edge("t", "m"), _edge("t", "z")]
    assert [node for node, _ in _walk(nodes, edges)] == ["z", "a", "m"]


def test_a_running_step_is_resumed_first():
    steps = {"check-fraud": StepView("running")}
    move = next_move(GUIDE_NODES, GUIDE_EDGES, steps)
    assert move == Move(node=GUIDE_NODES[1], skip=False)


def test_nothing_moves_after_a_failure_and_when_done():
    assert next_move(GUIDE_NODES, GUIDE_EDGES, {"check-fraud": StepView("failed")}) is None
    done = {n["id"]: StepView("completed", "true") for n in GUIDE_NODES[1:]}
    assert next_move(GUIDE_NODES, GUIDE_EDGES, done) is None
