"""Bounds on what a workflow's own steps may build: documents that copy themselves over and over
(Kazaam operations, mappings, set_output templates) and list writes that pad to any index."""

import pytest

from executions.engine.budget import MAX_DOCUMENT_BYTES, DocumentTooLarge, json_size
from executions.engine.kazaam import apply_operation, run_operations
from executions.engine.mapping import (
    MappingDefinitionError,
    MappingError,
    build_output,
    build_request,
    compile_mapping,
    compile_transforms,
)
from executions.engine.templating import TemplateError, fill
from flowker import jsoncodec
from flowker.paths import MAX_WRITE_INDEX, InvalidPath, set_path

MIB = 1024 * 1024
LIMIT = f"exceed {MAX_DOCUMENT_BYTES // MIB} MiB"


def _document(size: int) -> dict:
    return {"items": [{"id": f"item-{n}", "note": "x" * 1000} for n in range(size // 1024)]}


def test_json_size_is_close_to_the_compact_json_length():
    document = {"a": [1, "two", None, True, {"b": "3.50"}], "c": _document(64 * 1024)}
    exact = len(jsoncodec.canonical(document))
    assert abs(json_size(document) - exact) <= exact * 0.05


def test_json_size_stops_counting_past_its_limit():
    assert 1000 < json_size(["x" * 100] * 1_000_000, limit=1000) < 2_000_000


def test_shifts_that_double_the_document_stop_at_the_bound():
    doubling = [{"operation": "shift", "spec": {"a": "$", "b": "$"}}] * 15
    with pytest.raises(MappingError, match=LIMIT) as caught:
        run_operations(doubling, _document(1024))
    assert caught.value.args[0].startswith("transforms[13]: ")


def test_one_shift_copying_the_document_to_many_targets_is_refused():
    spec = {f"copy{n}": "$" for n in range(40)}
    with pytest.raises(MappingError, match=LIMIT):
        apply_operation({"operation": "shift", "spec": spec}, _document(MIB))


def test_concats_that_double_a_string_stop_at_the_bound():
    double = {
        "operation": "concat",
        "spec": {"sources": [{"path": "s"}, {"path": "s"}], "targetPath": "s"},
    }
    with pytest.raises(MappingError, match=LIMIT):
        run_operations([double] * 5, {"s": "x" * MIB})


def test_defaults_and_coalesces_pay_for_what_they_copy():
    big = {"operation": "default", "spec": {f"k{n}": "x" * MIB for n in range(17)}}
    with pytest.raises(MappingError, match=LIMIT):
        apply_operation(big, {})
    spec = {f"k{n}": ["payload"] for n in range(17)}
    with pytest.raises(MappingError, match=LIMIT):
        apply_operation({"operation": "coalesce", "spec": spec}, {"payload": "x" * MIB})


def test_a_prefix_added_to_every_element_is_paid_per_element():
    operation = {
        "operation": "add_prefix",
        "spec": {"path": "list[*]", "prefix": "p" * 200},
    }
    with pytest.raises(MappingError, match=LIMIT):
        apply_operation(operation, {"list": ["a"] * 100_000})


def test_operations_within_the_bound_are_untouched():
    document = _document(4 * MIB)
    shifted = apply_operation({"operation": "shift", "spec": {"data": "$"}}, document)
    assert shifted == {"data": document}
    grown = run_operations([{"operation": "shift", "spec": {"a": "$", "b": "$"}}] * 3, {"n": 1})
    assert grown["a"]["a"]["a"] == {"n": 1}


def test_an_input_mapping_copying_the_context_many_times_is_refused():
    context = {"workflow": _document(MIB)}
    mapping = [{"source": "workflow", "target": f"copy{n}"} for n in range(20)]
    with pytest.raises(MappingError, match=LIMIT) as caught:
        build_request(context, mapping, None)
    first_over = MAX_DOCUMENT_BYTES // json_size(context["workflow"])
    assert caught.value.args[0].startswith(f"inputMapping[{first_over}]: ")


def test_an_output_mapping_copying_the_body_many_times_is_refused():
    response = {"status": 200, "headers": {}, "url": "http://x", "body": _document(MIB)}
    mapping = [{"source": "executor", "target": f"copy{n}"} for n in range(20)]
    with pytest.raises(MappingError, match=LIMIT):
        build_output(response, mapping)


def test_set_output_templates_copying_the_context_many_times_are_refused():
    output = {f"copy{n}": "{{ workflow }}" for n in range(20)}
    workflow = _document(MIB)
    with pytest.raises(TemplateError, match=LIMIT) as caught:
        fill(output, {"workflow": workflow}, "output")
    assert caught.value.where == f"output.copy{MAX_DOCUMENT_BYTES // json_size(workflow)}"


def test_document_too_large_is_a_mapping_error():
    assert issubclass(DocumentTooLarge, MappingError)


# --- list writes -------------------------------------------------------------------------


def test_a_write_pads_a_list_up_to_the_highest_index_and_no_further():
    document: dict = {}
    set_path(document, f"items[{MAX_WRITE_INDEX}]", "last")
    assert len(document["items"]) == MAX_WRITE_INDEX + 1
    with pytest.raises(InvalidPath, match="above the highest index"):
        set_path({}, f"items[{MAX_WRITE_INDEX + 1}]", "x")


@pytest.mark.parametrize("index", [MAX_WRITE_INDEX + 1, 2**31, 10**12])
def test_a_mapping_target_beyond_the_highest_index_is_refused_at_save(index):
    with pytest.raises(MappingDefinitionError) as caught:
        compile_mapping([{"source": "workflow.a", "target": f"a[{index}]"}], field="inputMapping")
    assert (caught.value.code, caught.value.path) == ("FLK-0140", "inputMapping[0].target")
    with pytest.raises(MappingDefinitionError) as caught:
        compile_mapping([{"source": "a", "target": f"x.b[{index}]"}], field="outputMapping")
    assert (caught.value.code, caught.value.path) == ("FLK-0141", "outputMapping[0].target")


@pytest.mark.parametrize(
    "operation",
    [
        {"operation": "shift", "spec": {"a[20000]": "b"}},
        {"operation": "default", "spec": {"a[20000]": 1}},
        {"operation": "concat", "spec": {"sources": [{"value": "v"}], "targetPath": "a[20000]"}},
        {"operation": "coalesce", "spec": {"a[20000]": ["b"]}},
        {"operation": "uuid", "spec": {"a[20000]": {"version": 4}}},
        {
            "operation": "timestamp",
            "spec": {"a[20000]": {"inputFormat": "$now", "outputFormat": "2006"}},
        },
    ],
    ids=lambda operation: operation["operation"],
)
def test_kazaam_targets_beyond_the_highest_index_are_refused_at_save_and_at_run_time(operation):
    with pytest.raises(MappingDefinitionError, match="above the highest index") as caught:
        compile_transforms([operation])
    assert caught.value.code == "FLK-0142"
    with pytest.raises(MappingError, match="above the highest index"):
        apply_operation(operation, {"b": 1})
