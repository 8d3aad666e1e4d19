"""`{{ path }}` templates of set_output: filling, save-time paths, and their bounds."""

import time
from decimal import Decimal

import pytest

from executions.engine.templating import (
    _TEMPLATE,
    MAX_TEMPLATE_LENGTH,
    TemplateError,
    fill,
    template_paths,
)

MIB = 1024 * 1024  # timings below are CPU time: other processes share the machine
CONTEXT = {"workflow": {"amount": Decimal("1500.00"), "tags": ["a", "b"]}, "score": {"v": 91}}


def test_a_whole_string_template_keeps_the_json_type():
    assert fill({"a": "{{ workflow.amount }}", "t": "{{workflow.tags}}"}, CONTEXT) == {
        "a": Decimal("1500.00"),
        "t": ["a", "b"],
    }


def test_templates_inside_text_are_replaced_by_the_value_text():
    output = fill({"m": "score {{ score.v }} of {{ workflow.amount }}!"}, CONTEXT)
    assert output == {"m": "score 91 of 1500.00!"}


def test_two_adjacent_templates_are_two_templates():
    assert fill("{{ score.v }}{{ score.v }}", CONTEXT) == "9191"


def test_a_missing_path_names_where_the_template_is():
    with pytest.raises(TemplateError) as caught:
        fill({"items": [{"x": "{{ workflow.nope }}"}]}, CONTEXT, "output")
    assert caught.value.where == "output.items[0].x"
    assert "not found" in caught.value.message


def test_save_time_paths_and_malformed_paths():
    assert template_paths({"a": ["{{ workflow.amount }} {{score.v}}"]}) == [
        "workflow.amount",
        "score.v",
    ]
    with pytest.raises(TemplateError) as caught:
        template_paths({"a": {"b": "{{ workflow..x }}"}}, "output")
    assert caught.value.where == "output.a.b"


@pytest.mark.parametrize(
    "text",
    ["{{" * (MIB // 2), "{{ a" * (MIB // 4), "{{" + " " * MIB, "{" * MIB, "{{a}" * (MIB // 4)],
    ids=["open-braces", "unclosed-templates", "spaces", "single-braces", "half-closed"],
)
def test_the_template_pattern_scans_a_mebibyte_in_well_under_a_second(text):
    started = time.process_time()
    _TEMPLATE.findall(text)
    assert time.process_time() - started < 1.0


def test_a_mebibyte_of_open_braces_is_refused_fast_at_save_and_at_run_time():
    document = {"note": "{{" * (MIB // 2)}
    started = time.process_time()
    with pytest.raises(TemplateError) as saved:
        template_paths(document, "output")
    with pytest.raises(TemplateError) as filled:
        fill(document, CONTEXT, "output")
    assert time.process_time() - started < 1.0
    for caught in (saved, filled):
        assert caught.value.where == "output.note"
        assert f"limited to {MAX_TEMPLATE_LENGTH} characters" in caught.value.message


def test_the_length_bound_applies_only_to_strings_that_hold_templates():
    long_text = "x" * (MAX_TEMPLATE_LENGTH + 1)
    assert fill({"text": long_text}, CONTEXT) == {"text": long_text}
    edge = "{{ score.v }}" + "x" * (MAX_TEMPLATE_LENGTH - len("{{ score.v }}"))
    assert fill(edge, CONTEXT) == "91" + "x" * (MAX_TEMPLATE_LENGTH - len("{{ score.v }}"))
    with pytest.raises(TemplateError):
        fill(edge + "x", CONTEXT)
