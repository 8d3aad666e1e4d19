"""The condition language: results, fail-closed errors, syntax errors with positions, and
properties over random input. Pure functions, no database."""

import contextlib
import dataclasses
import pickle
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.conditions import (
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Comparison,
    ConditionEvaluationError,
    ConditionSyntaxError,
    Constant,
    Not,
    Or,
    Path,
    evaluate,
    parse,
    referenced_paths,
)

CONTEXT = {
    "workflow": {
        "score": 85,
        "status": "approved",
        "name": "Alice",
        "amount": Decimal("1500.00"),
        "limit": "1500",
        "numeric": "12.5",
        "huge": Decimal("12345678901234567890.123456789"),
        "ratio": 0.1,
        "flag": True,
        "off": False,
        "nothing": None,
        "empty": "",
        "shouting_false": "FALSE",
        "zero_text": "0",
        "tags": [],
        "items": [{"id": "a1", "qty": 2}, {"id": "b2", "qty": 0}],
        "copy_of_items": [{"id": "a1", "qty": Decimal("2.0")}, {"id": "b2", "qty": 0}],
    },
    "check-fraud": {"score": 42},
    "kyc-executor": {"result": {"riskScore": "80"}},
    "node-kyc": {"score": 90},
    "node-aml": {"risk": "low"},
    "status": "active",
}

TRUE_OR_63_TIMES = "true OR " * 63 + "true"

RESULTS = [
    # The upstream engine's own examples (reference §3.4).
    pytest.param("workflow.score > 70", True, id="greater_than"),
    pytest.param("workflow.score >= 85", True, id="greater_or_equal_at_boundary"),
    pytest.param("workflow.status == 'approved'", True, id="single_quoted_string"),
    pytest.param(
        'node-kyc.score > 80 AND node-aml.risk == "low"', True, id="hyphenated_node_ids_with_and"
    ),
    pytest.param("true", True, id="true_literal"),
    pytest.param("false", False, id="false_literal"),
    pytest.param("10 > 5", True, id="integer_literals"),
    pytest.param("3.14 > 3.0", True, id="decimal_literals"),
    pytest.param('status == "active"', True, id="top_level_key"),
    # Numbers compare exactly, whatever their type or spelling.
    pytest.param("workflow.score < 85", False, id="less_than_at_boundary"),
    pytest.param("workflow.score <= 85", True, id="less_or_equal_at_boundary"),
    pytest.param("workflow.score != 85.0", False, id="int_equals_its_decimal_spelling"),
    pytest.param("workflow.amount == 1500", True, id="decimal_context_value_equals_int"),
    pytest.param("workflow.amount == workflow.limit", True, id="decimal_equals_numeric_string"),
    pytest.param("workflow.limit > 999.99", True, id="numeric_string_orders_as_number"),
    pytest.param("workflow.numeric == 12.50", True, id="decimal_numeric_string"),
    pytest.param('"80" > 70', True, id="numeric_string_literal_orders_as_number"),
    pytest.param('"1e3" == 1000', True, id="numeric_string_with_exponent"),
    pytest.param("kyc-executor.result.riskScore >= 80", True, id="nested_numeric_string"),
    pytest.param(
        "workflow.huge == 12345678901234567890.123456789", True, id="huge_decimal_stays_exact"
    ),
    pytest.param(
        "workflow.huge < 12345678901234567890.12345679", True, id="huge_decimal_orders_exactly"
    ),
    pytest.param(
        "workflow.huge == 12345678901234567890.123456788", False, id="huge_decimals_differ"
    ),
    pytest.param("workflow.ratio == 0.1", True, id="float_compares_by_its_shortest_repr"),
    pytest.param("-5 < 0", True, id="negative_literal"),
    pytest.param("workflow.score > -100.5", True, id="negative_decimal_literal"),
    # Equality of values that are not both numbers.
    pytest.param("workflow.flag == true", True, id="boolean_equals_true_literal"),
    pytest.param('workflow.flag == "true"', True, id="boolean_equals_its_text"),
    pytest.param('workflow.flag == "True"', False, id="boolean_text_is_case_sensitive"),
    pytest.param("workflow.flag != false", True, id="boolean_not_equal"),
    pytest.param("workflow.flag == 1", False, id="boolean_is_not_numeric"),
    pytest.param("workflow.nothing == null", True, id="null_equals_null"),
    pytest.param('workflow.nothing == "null"', False, id="null_does_not_equal_its_text"),
    pytest.param("workflow.nothing == false", False, id="null_does_not_equal_false"),
    pytest.param('workflow.status == "Approved"', False, id="string_equality_is_case_sensitive"),
    pytest.param('workflow.score == "eighty-five"', False, id="number_never_equals_a_word"),
    pytest.param('workflow.items[0].id == "a1"', True, id="list_index_in_path"),
    pytest.param("workflow.items[1].qty == 0", True, id="second_list_element"),
    pytest.param("workflow.items == workflow.copy_of_items", True, id="lists_compare_by_content"),
    pytest.param('workflow.items != "a1"', True, id="list_differs_from_string"),
    # A lone operand is tested for truthiness, as upstream.
    pytest.param("workflow.flag", True, id="truthy_true"),
    pytest.param("workflow.off", False, id="truthy_false"),
    pytest.param("workflow.nothing", False, id="null_is_falsy"),
    pytest.param("workflow.empty", False, id="empty_string_is_falsy"),
    pytest.param("workflow.shouting_false", False, id="string_false_in_any_case_is_falsy"),
    pytest.param("workflow.zero_text", True, id="string_zero_is_truthy"),
    pytest.param("workflow.status", True, id="non_empty_string_is_truthy"),
    pytest.param("workflow.items[1].qty", False, id="zero_is_falsy"),
    pytest.param("workflow.tags", True, id="empty_list_is_truthy"),
    pytest.param("null", False, id="null_literal_is_falsy"),
    pytest.param("TRUE", True, id="boolean_literals_ignore_case"),
    # Precedence: NOT, then AND, then OR; parentheses override.
    pytest.param("true OR false AND false", True, id="and_binds_tighter_than_or"),
    pytest.param("false AND false OR true", True, id="and_binds_tighter_than_or_on_the_left"),
    pytest.param("(true OR false) AND false", False, id="parentheses_override_precedence"),
    pytest.param("NOT false AND false", False, id="not_binds_tighter_than_and"),
    pytest.param("NOT (false AND false)", True, id="not_of_a_group"),
    pytest.param('NOT workflow.status == "rejected"', True, id="not_negates_the_whole_comparison"),
    pytest.param("NOT NOT true", True, id="double_not"),
    pytest.param("((((true))))", True, id="nested_parentheses"),
    pytest.param("!workflow.off", True, id="bang_is_not"),
    pytest.param("!!workflow.flag", True, id="double_bang"),
    pytest.param("workflow.flag && !workflow.off", True, id="ampersands_are_and"),
    pytest.param("workflow.off || workflow.flag", True, id="bars_are_or"),
    pytest.param("workflow.flag and workflow.off", False, id="lower_case_and"),
    pytest.param("workflow.off Or workflow.flag", True, id="mixed_case_or"),
    pytest.param("not workflow.off", True, id="lower_case_not"),
    pytest.param("workflow.score>80&&workflow.flag", True, id="no_spaces_needed"),
    pytest.param("(" * MAX_DEPTH + "true" + ")" * MAX_DEPTH, True, id="nesting_at_the_limit"),
    pytest.param("!" * MAX_DEPTH + "true", True, id="not_chain_at_the_limit"),
    pytest.param(TRUE_OR_63_TIMES[len(TRUE_OR_63_TIMES) - MAX_LENGTH :], True, id="max_length"),
    # Evaluation stops at the first decisive operand.
    pytest.param("true OR workflow.missing > 1", True, id="or_short_circuits"),
    pytest.param("false AND workflow.missing > 1", False, id="and_short_circuits"),
    # Quotes protect operators, keywords and parentheses; escapes work in both quote styles.
    pytest.param('workflow.status == "approved AND rejected"', False, id="keyword_inside_quotes"),
    pytest.param('"a OR b" == "a OR b"', True, id="or_inside_quotes"),
    pytest.param("\"x == y\" == 'x == y'", True, id="operator_inside_quotes"),
    pytest.param('"(" != ")"', True, id="parentheses_inside_quotes"),
    pytest.param("'it\\'s' == \"it's\"", True, id="escaped_single_quote"),
    pytest.param('"say \\"hi\\"" == \'say "hi"\'', True, id="escaped_double_quote"),
    pytest.param("\"a\\\\b\" == 'a\\\\b'", True, id="escaped_backslash"),
    pytest.param('"tab\\there" != "tab\\\\there"', True, id="escaped_tab_is_a_tab"),
    pytest.param('"two\\nlines" == "two\nlines"', True, id="escaped_newline_is_a_newline"),
    pytest.param("\"he said 'no'\" == 'he said \\'no\\''", True, id="other_quote_needs_no_escape"),
]

EVALUATION_ERRORS = [
    pytest.param("workflow.nonexistent > 5", "not found", id="missing_field"),
    pytest.param('workflow.name > "abc"', "numeric", id="ordering_strings"),
    pytest.param("missing", "not found", id="missing_top_level_key"),
    pytest.param('workflow.items[5].id == "x"', "not found", id="index_out_of_range"),
    pytest.param("workflow.status.deeper == 1", "not found", id="path_through_a_string"),
    pytest.param("workflow.items.id == 1", "not found", id="key_on_a_list"),
    pytest.param("workflow.missing > 1 OR true", "not found", id="left_operand_is_read_first"),
    pytest.param("NOT workflow.missing", "not found", id="missing_under_not"),
    pytest.param("workflow.flag > 0", "numeric", id="ordering_a_boolean"),
    pytest.param("workflow.nothing < 1", "numeric", id="ordering_null"),
    pytest.param('"abc" < "abd"', "numeric", id="ordering_string_literals"),
    pytest.param("workflow.items >= 1", "numeric", id="ordering_a_list"),
]

SYNTAX_ERRORS = [
    pytest.param("", 0, id="empty"),
    pytest.param("   ", 0, id="only_spaces"),
    pytest.param("(workflow.flag", 14, id="unclosed_parenthesis"),
    pytest.param("workflow.flag)", 13, id="unopened_parenthesis"),
    pytest.param("((true)", 7, id="one_parenthesis_short"),
    pytest.param("()", 1, id="empty_parentheses"),
    pytest.param("workflow.score >", 16, id="dangling_comparison"),
    pytest.param("> 5", 0, id="leading_comparison"),
    pytest.param("workflow.flag AND", 17, id="dangling_and"),
    pytest.param("OR workflow.flag", 0, id="leading_or"),
    pytest.param("true AND OR false", 9, id="two_logical_operators"),
    pytest.param("NOT", 3, id="dangling_not"),
    pytest.param("workflow.flag !", 14, id="trailing_bang"),
    pytest.param("workflow.flag AND !", 19, id="dangling_bang"),
    pytest.param('"', 0, id="lone_double_quote"),
    pytest.param("workflow.status == '", 19, id="lone_single_quote"),
    pytest.param('"unterminated', 0, id="unterminated_string"),
    pytest.param('"ends with backslash\\', 0, id="string_ending_in_backslash"),
    pytest.param('"bad \\q escape"', 5, id="unknown_escape"),
    pytest.param("workflow.score = 5", 15, id="single_equals"),
    pytest.param("workflow.score === 5", 17, id="triple_equals"),
    pytest.param("workflow.flag & true", 14, id="single_ampersand"),
    pytest.param("workflow.flag | true", 14, id="single_bar"),
    pytest.param("workflow.score 5", 15, id="missing_operator"),
    pytest.param("true false", 5, id="two_operands"),
    pytest.param("1 == 1 == 1", 7, id="chained_comparison"),
    pytest.param("(true) == true", 7, id="group_is_not_an_operand"),
    pytest.param("workflow..score", 0, id="empty_path_segment"),
    pytest.param("true OR workflow.", 8, id="path_ending_in_dot"),
    pytest.param("workflow.items[x]", 0, id="non_numeric_index"),
    pytest.param("[0] == 1", 0, id="path_starting_with_bracket"),
    pytest.param("a > 5 # note", 6, id="unknown_character"),
    pytest.param(TRUE_OR_63_TIMES, MAX_LENGTH, id="too_long"),
    pytest.param("(" * (MAX_DEPTH + 1) + "true" + ")" * (MAX_DEPTH + 1), MAX_DEPTH, id="too_deep"),
    pytest.param("NOT " * (MAX_DEPTH + 1) + "true", 4 * MAX_DEPTH, id="too_many_nots"),
    pytest.param("(" * 400 + "true" + ")" * 50, MAX_DEPTH, id="far_too_deep"),
]


@pytest.mark.parametrize(("expression", "expected"), RESULTS)
def test_expression_evaluates_to(expression, expected):
    assert evaluate(expression, CONTEXT) is expected


@pytest.mark.parametrize(("expression", "fragment"), EVALUATION_ERRORS)
def test_undecidable_expression_fails_closed(expression, fragment):
    with pytest.raises(ConditionEvaluationError, match=fragment):
        evaluate(expression, CONTEXT)


@pytest.mark.parametrize(("expression", "position"), SYNTAX_ERRORS)
def test_malformed_expression_is_rejected_at_its_position(expression, position):
    with pytest.raises(ConditionSyntaxError) as caught:
        parse(expression)
    assert caught.value.position == position


@pytest.mark.parametrize(("score", "expected"), [(42, True), (95, False), (80, False)])
def test_guide_fraud_threshold_decides_the_branch(score, expected):
    assert evaluate("check-fraud.score < 80", {"check-fraud": {"score": score}}) is expected


def test_syntax_error_reads_as_token_and_position():
    with pytest.raises(ConditionSyntaxError) as caught:
        parse("workflow.ok )")
    assert str(caught.value) == "unexpected token ')' at position 12"
    assert caught.value.message == "unexpected token ')'"


def test_syntax_error_at_the_end_says_so():
    with pytest.raises(ConditionSyntaxError, match=r"^unexpected end of expression at position 6$"):
        parse("a.b ==")


def test_syntax_errors_are_value_errors_distinct_from_evaluation_errors():
    assert issubclass(ConditionSyntaxError, ValueError)
    assert issubclass(ConditionEvaluationError, ValueError)
    assert not issubclass(ConditionSyntaxError, ConditionEvaluationError)
    assert not issubclass(ConditionEvaluationError, ConditionSyntaxError)


def test_errors_survive_pickling():
    syntax = pickle.loads(pickle.dumps(ConditionSyntaxError("unexpected token ')'", 3)))
    evaluation = pickle.loads(pickle.dumps(ConditionEvaluationError("boom")))
    assert (syntax.message, syntax.position) == ("unexpected token ')'", 3)
    assert str(syntax) == "unexpected token ')' at position 3"
    assert evaluation.message == "boom"


def test_missing_path_error_names_the_path():
    with pytest.raises(ConditionEvaluationError) as caught:
        evaluate("check-fraud.score < 80", {"workflow": {}})
    assert caught.value.message == 'field "check-fraud.score" not found in context'


def test_ordering_error_names_the_non_numeric_side():
    with pytest.raises(ConditionEvaluationError) as caught:
        evaluate("5 > workflow.name", CONTEXT)
    assert str(caught.value) == (
        "operator '>' requires numeric operands, but workflow.name is a string"
    )


@pytest.mark.parametrize("call", [parse, lambda value: evaluate(value, CONTEXT), referenced_paths])
def test_non_string_expression_is_a_syntax_error(call):
    with pytest.raises(ConditionSyntaxError) as caught:
        call(42)
    assert caught.value.position == 0


def test_and_binds_tighter_than_or():
    assert parse("a OR b AND c") == Or((Path("a"), And((Path("b"), Path("c")))))


def test_not_binds_tighter_than_and_but_covers_a_comparison():
    assert parse("NOT a AND b") == And((Not(Path("a")), Path("b")))
    assert parse("!a == 1") == Not(Comparison("==", Path("a"), Constant(Decimal("1"))))


def test_logical_chains_are_flat():
    assert parse("a && b and c AND d") == And((Path("a"), Path("b"), Path("c"), Path("d")))


def test_literals_are_typed_constants():
    assert parse("'x' == \"x\"") == Comparison("==", Constant("x"), Constant("x"))
    assert parse("-1.50 < null") == Comparison("<", Constant(Decimal("-1.50")), Constant(None))
    assert parse("False") == Constant(False)


def test_parsed_tree_is_immutable():
    tree = parse("workflow.score > 70 OR workflow.flag")
    with pytest.raises(dataclasses.FrozenInstanceError):
        tree.operands = ()


def test_evaluate_accepts_a_parsed_tree():
    tree = parse("check-fraud.score < 80")
    assert evaluate(tree, {"check-fraud": {"score": 42}}) is True
    assert evaluate(tree, {"check-fraud": {"score": 95}}) is False


def test_referenced_paths_lists_each_path_once_in_order():
    expression = (
        'check-fraud.score < 80 AND (workflow.items[0].id == "check-fraud.score" '
        "OR kyc-executor.result.riskScore >= check-fraud.score) AND NOT true"
    )
    assert referenced_paths(expression) == [
        "check-fraud.score",
        "workflow.items[0].id",
        "kyc-executor.result.riskScore",
    ]


def test_keywords_and_literals_are_not_paths():
    assert referenced_paths("TRUE == null OR false AND 'workflow.x' == -3") == []


def test_referenced_paths_accepts_a_tree_and_rejects_bad_text():
    assert referenced_paths(parse("status")) == ["status"]
    with pytest.raises(ConditionSyntaxError):
        referenced_paths("status ==")


def test_non_finite_numbers_are_not_ordered():
    context = {"workflow": {"value": float("nan"), "big": float("inf")}}
    assert evaluate("workflow.value != 1", context) is True
    with pytest.raises(ConditionEvaluationError, match="non-finite"):
        evaluate("workflow.big > 1", context)


# --- properties --------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(database=None, deadline=None, max_examples=300)

FRAGMENTS = [
    "(", ")", "AND", "and", "OR", "Or", "NOT", "not", "&&", "||", "!", "&", "|", "=",
    "==", "!=", ">", "<", ">=", "<=", "true", "FALSE", "null", "0", "-1.5", "1.", ".5",
    "'x'", '"a b"', '"', "'", "\\", "\\\"", "[", "]", "[0]", ".", "-",
    "workflow.score", "workflow.name", "check-fraud.score", "workflow.items[0].id", "missing.path",
]  # fmt: skip

token_soup = st.lists(
    st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(["", " "])), max_size=40
).map(lambda pairs: "".join(fragment + gap for fragment, gap in pairs))

OPERANDS = [
    "workflow.score", "workflow.name", "workflow.flag", "workflow.nothing", "workflow.items",
    "workflow.items[0].id", "missing.path", "true", "null", "0", "-2.5", "'80'", '"text"',
]  # fmt: skip

comparison = st.builds(
    "{} {} {}".format,
    st.sampled_from(OPERANDS),
    st.sampled_from(["==", "!=", ">", "<", ">=", "<="]),
    st.sampled_from(OPERANDS),
)
well_formed = st.recursive(
    st.sampled_from(OPERANDS) | comparison,
    lambda inner: st.one_of(
        st.builds("({})".format, inner),
        st.builds("NOT {}".format, inner),
        st.builds("{} AND {}".format, inner, inner),
        st.builds("{} || {}".format, inner, inner),
    ),
    max_leaves=8,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
    | st.sampled_from(["80", "12.5", "false", "1e999999999", "1e9999999999"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.just("id"), inner),
    max_leaves=6,
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        "workflow": st.fixed_dictionaries(
            {},
            optional={key: json_values for key in ("score", "name", "flag", "nothing", "items")},
        ),
        "check-fraud": st.fixed_dictionaries({}, optional={"score": json_values}),
    },
)


def _evaluates_or_fails_closed(tree, context):
    with contextlib.suppress(ConditionEvaluationError):
        assert isinstance(evaluate(tree, context), bool)


@PROPERTY_SETTINGS
@given(st.text(max_size=MAX_LENGTH + 20))
def test_parse_of_arbitrary_text_raises_only_syntax_errors(text):
    try:
        parse(text)
    except ConditionSyntaxError as error:
        assert 0 <= error.position <= len(text)


@PROPERTY_SETTINGS
@given(token_soup, contexts)
def test_token_soup_parses_or_fails_with_syntax_error_and_evaluates_or_fails_closed(text, context):
    try:
        tree = parse(text)
    except ConditionSyntaxError as error:
        assert 0 <= error.position <= len(text)
        return
    _evaluates_or_fails_closed(tree, context)


@PROPERTY_SETTINGS
@given(well_formed, contexts)
def test_well_formed_expressions_parse_and_evaluate_or_fail_closed(text, context):
    _evaluates_or_fails_closed(parse(text), context)
