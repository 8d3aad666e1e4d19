"""The graph walk as a pure function: order, joins, skipped branches, resumption."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executions.engine.walk import Move, StepView, counted_nodes, next_move, ready_moves

DECIDED = ("completed", "skipped")


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


# --- ready_moves: every node that can move at once (parallel branches) ------------------------

PROPERTY_SETTINGS = settings(database=None, deadline=None, max_examples=200)


def test_branches_after_a_fork_are_ready_together_and_the_join_waits_for_both():
    nodes = [_node("t", "trigger"), _node("fraud", "executor"), _node("kyc", "executor")]
    nodes += [_node("join", "conditional")]
    edges = [_edge("t", "fraud"), _edge("t", "kyc"), _edge("fraud", "join"), _edge("kyc", "join")]
    assert [m.node["id"] for m in ready_moves(nodes, edges, {})] == ["fraud", "kyc"]
    one_running = {"fraud": StepView("completed"), "kyc": StepView("running")}
    assert ready_moves(nodes, edges, one_running) == [Move(node=nodes[2], skip=False)]
    both = {"fraud": StepView("completed"), "kyc": StepView("completed")}
    assert ready_moves(nodes, edges, both) == [Move(node=nodes[3], skip=False)]


def test_running_steps_come_first_then_ready_nodes_in_nodes_order():
    nodes = [_node("t", "trigger"), _node("a", "executor"), _node("b"), _node("c", "executor")]
    edges = [_edge("t", "a"), _edge("t", "b"), _edge("t", "c")]
    moves = ready_moves(nodes, edges, {"c": StepView("running")})
    assert [m.node["id"] for m in moves] == ["c", "a", "b"]


@st.composite
def graphs(draw):
    """A random acyclic workflow: a trigger, then nodes whose edges only go forward; a
    conditional's edges each carry a branch."""
    count = draw(st.integers(min_value=1, max_value=8))
    types = draw(st.lists(st.sampled_from(["action", "executor", "conditional"]), min_size=count))
    nodes = [_node("t", "trigger")] + [_node(f"n{i}", kind) for i, kind in enumerate(types[:count])]
    edges = []
    for target in range(1, len(nodes)):
        sources = draw(st.sets(st.integers(min_value=0, max_value=target - 1), max_size=3))
        for source in sorted(sources):
            branch = None
            if nodes[source]["type"] == "conditional":
                branch = draw(st.sampled_from(["true", "false"]))
            edges.append(_edge(nodes[source]["id"], nodes[target]["id"], branch))
    branches = {node["id"]: draw(st.sampled_from(["true", "false"])) for node in nodes}
    return nodes, edges, branches


def _predecessors(edges, node_id):
    return {edge["source"] for edge in edges if edge["target"] == node_id}


@PROPERTY_SETTINGS
@given(graphs(), st.data())
def test_any_order_of_running_ready_branches_ends_as_the_sequential_walk(graph, data):
    """Run the ready moves in any grouping and order (as parallel branches finish): each node
    moves once, only after every predecessor has its step, and the end is the same set of run
    and skipped nodes as one-at-a-time `next_move`."""
    nodes, edges, branches = graph
    sequential = set(_walk(nodes, edges, branches.get))
    types = {node["id"]: node["type"] for node in nodes}
    steps, moved = {}, []
    while moves := ready_moves(nodes, edges, steps):
        ids = [move.node["id"] for move in moves]
        assert len(ids) == len(set(ids))
        assert moves[0] == next_move(nodes, edges, steps)
        for move in moves:
            node_id = move.node["id"]
            assert node_id not in steps or steps[node_id].status == "running"
            assert all(
                types[p] == "trigger" or steps.get(p, StepView("open")).status in DECIDED
                for p in _predecessors(edges, node_id)
            )
        picked = st.lists(st.sampled_from(range(len(moves))), min_size=1, unique=True)
        for move in [moves[index] for index in data.draw(picked)]:
            node_id = move.node["id"]
            fresh_call = not move.skip and node_id not in steps and types[node_id] == "executor"
            if fresh_call and data.draw(st.booleans()):  # started, in flight: resumed later
                steps[node_id] = StepView("running")
                continue
            moved.append((node_id, "skip" if move.skip else "run"))
            status = "skipped" if move.skip else "completed"
            branch = branches[node_id] if types[node_id] == "conditional" else None
            steps[node_id] = StepView(status, branch)
    assert len(moved) == len({node_id for node_id, _ in moved})
    assert set(moved) == sequential
    assert set(steps) == {node["id"] for node in counted_nodes(nodes)}
