"""The engine's little languages under random and adversarial input: Kazaam operations,
`{{ }}` templates and condition expressions fail only with their own errors (never a
TypeError, KeyError, RecursionError...), and a transform that would build a huge array or
string is refused by the documented limit (budget.MAX_DOCUMENT_BYTES) before it is built,
with memory staying far below what the document would have taken."""

import contextlib
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from executions.engine import kazaam, templating
from executions.engine.budget import MAX_DOCUMENT_BYTES, DocumentTooLarge
from executions.engine.transformations import MappingError
from workflows import conditions

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

keys = st.sampled_from(["a", "b", "items", "name", "n", "x.y", "0", "", "$", "[*]"])
paths = st.one_of(
    st.lists(st.sampled_from(["a", "b", "items", "name", "n"]), min_size=1, max_size=4).map(
        ".".join
    ),
    st.sampled_from(["$", "items[*]", "items[0]", "items[*].name", "a[9999]", "a[10001]", "[*]"]),
    st.text(max_size=12),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=30,
)
json_values = documents
specs = st.one_of(
    st.dictionaries(paths, st.one_of(paths, st.lists(paths, max_size=4), json_values), max_size=4),
    st.fixed_dictionaries(
        {"path": paths},
        optional={"characters": st.text(max_size=5), "prefix": st.text(max_size=5)},
    ),
    st.fixed_dictionaries(
        {
            "sources": st.lists(
                st.one_of(
                    st.fixed_dictionaries({"path": paths}),
                    st.fixed_dictionaries({"value": st.text(max_size=10)}),
                ),
                max_size=5,
            ),
            "targetPath": paths,
        },
        optional={"delim": st.text(max_size=3)},
    ),
    st.fixed_dictionaries({"paths": st.lists(paths, max_size=4)}),
    st.dictionaries(
        paths,
        st.fixed_dictionaries(
            {
                "inputFormat": st.sampled_from(["$now", "$unix", "2006-01-02", "Jan _2 15:04:05"]),
                "outputFormat": st.sampled_from(["$unix", "2006-01-02T15:04:05Z07:00", "x"]),
            }
        ),
        max_size=2,
    ),
    st.dictionaries(
        paths,
        st.fixed_dictionaries(
            {"version": st.sampled_from([1, 3, 4, 5, 7, "x"])},
            optional={
                "namespace": st.sampled_from(["DNS", "URL", "bad"]),
                "names": st.lists(
                    st.one_of(
                        st.fixed_dictionaries({"path": paths}),
                        st.fixed_dictionaries({"value": st.text(max_size=5)}),
                    ),
                    max_size=3,
                ),
            },
        ),
        max_size=2,
    ),
)
operations = st.fixed_dictionaries(
    {"operation": st.sampled_from(sorted(kazaam.OPERATIONS)), "spec": specs},
    optional={"require": st.booleans()},
)


@FUZZ
@given(st.lists(operations, min_size=1, max_size=4), documents)
def test_kazaam_fails_only_with_its_own_errors(ops, document):
    with contextlib.suppress(kazaam.KazaamSpecError):
        kazaam.check_operation(ops[0])
    with contextlib.suppress(MappingError):
        kazaam.run_operations(ops, document)


templates = st.lists(
    st.one_of(
        st.text(max_size=8),
        paths.map(lambda p: "{{" + p + "}}"),
        paths.map(lambda p: "{{ " + p + " }}"),
        st.sampled_from(["{{", "}}", "{{}}", "{{ {{a}} }}", "{{{a}}}"]),
    ),
    max_size=6,
).map("".join)
template_documents = st.recursive(
    templates, lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(keys, c, max_size=3))
)


@FUZZ
@given(template_documents, st.dictionaries(keys, documents, max_size=5))
def test_templates_fail_only_with_their_own_errors(template, context):
    with contextlib.suppress(templating.TemplateError):
        templating.template_paths(template)
    with contextlib.suppress(templating.TemplateError, MappingError):
        templating.fill(template, context)


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                ["a", "b.c", "(", ")", "==", "!=", ">=", "<", "&&", "||", "!", "and", "or",
                 "not", "true", "null", "'x'", '"y"', "1.5", "-3", "1e400", "[0]", " "]
            ),
            st.text(max_size=4),
        ),
        max_size=30,
    ).map(" ".join),
    st.dictionaries(keys, documents, max_size=5),
)  # fmt: skip
def test_conditions_fail_only_with_their_own_errors(expression, context):
    with contextlib.suppress(conditions.ConditionSyntaxError, conditions.ConditionEvaluationError):
        conditions.evaluate(expression, context)


def test_a_deeply_nested_condition_is_a_syntax_error():
    for expression in [
        "(" * 10_000 + "a" + ")" * 10_000,
        "!" * 10_000 + "a",
        "a && " * 5_000 + "a",
    ]:
        with pytest.raises(conditions.ConditionSyntaxError):
            conditions.parse(expression)


# --- amplification: each would build far more than MAX_DOCUMENT_BYTES -----------------------

MIB = 1024 * 1024
BIG = "x" * MIB


def _peak_while(action) -> int:
    tracemalloc.start()
    try:
        action()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def _refused(action) -> int:
    def run():
        with pytest.raises((DocumentTooLarge, MappingError, templating.TemplateError)) as raised:
            action()
        assert f"{MAX_DOCUMENT_BYTES // MIB} MiB" in str(raised.value)

    return _peak_while(run)


AMPLIFIERS = {
    "shift one value to many targets": lambda: kazaam.apply_operation(
        {"operation": "shift", "spec": {f"t{i}": "big" for i in range(100)}}, {"big": BIG}
    ),
    "concat the same path many times": lambda: kazaam.apply_operation(
        {
            "operation": "concat",
            "spec": {"sources": [{"path": "big"}] * 100, "targetPath": "out"},
        },
        {"big": BIG},
    ),
    "operations that double the document": lambda: kazaam.run_operations(
        [{"operation": "shift", "spec": {"a": "$", "b": "$"}}] * 30, {"seed": "x" * 1024}
    ),
    "default writes a huge array many times": lambda: kazaam.apply_operation(
        {"operation": "default", "spec": {f"t{i}": [BIG] for i in range(40)}}, {}
    ),
    "a template repeating a large value": lambda: templating.fill("{{big}}" * 100, {"big": BIG}),
    "a template document repeating a large value": lambda: templating.fill(
        ["{{big}}"] * 100, {"big": [BIG]}
    ),
}


@pytest.mark.parametrize("label", sorted(AMPLIFIERS))
def test_a_transform_that_would_build_a_huge_document_is_refused_by_the_limit(label):
    peak = _refused(AMPLIFIERS[label])
    # Well under what the refused document would take (>= 100 MiB), and bounded by the limit.
    assert peak < 4 * MAX_DOCUMENT_BYTES, (label, peak // MIB)


def test_writing_past_the_highest_list_index_is_refused():
    with pytest.raises(MappingError, match="10000"):
        kazaam.apply_operation({"operation": "default", "spec": {"a[10000001]": 1}}, {})
