"""Kazaam operations with upstream (Kazaam v4) semantics, pure unit tables (no database)."""

import copy
import re
import uuid
from decimal import Decimal

import pytest

from executions.engine.kazaam import (
    EACH,
    KazaamSpecError,
    apply_operation,
    check_operation,
    get_value,
    parse_source_path,
    run_operations,
)
from executions.engine.transformations import MappingError
from flowker.paths import InvalidPath, MissingPath

DOC = {
    "doc": {
        "uid": 12345,
        "guid": ["guid0", "guid2", "guid4"],
        "guidObjects": [{"id": "guid0"}, {"id": "guid2"}, {"id": "guid4"}],
    },
    "amount": Decimal("1500.00"),
    "top-level-key": None,
}


def op(operation, spec, require=None):
    result = {"operation": operation, "spec": spec}
    if require is not None:
        result["require"] = require
    return result


# --- paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("a.b", ["a", "b"]),
        ("check-fraud.score", ["check-fraud", "score"]),
        ("items[0].id", ["items", 0, "id"]),
        ("items[*].id", ["items", EACH, "id"]),
        ("items[*]", ["items", EACH]),
        ("rows[*][1]", ["rows", EACH, 1]),
        ("a[*].b[*].c", ["a", EACH, "b", EACH, "c"]),
    ],
)
def test_source_paths_parse_keys_indices_and_wildcards(path, parts):
    assert parse_source_path(path) == parts


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a.", "items[*].", "items[*]x", "a[x]", None])
def test_malformed_source_paths_are_refused(path):
    with pytest.raises(InvalidPath):
        parse_source_path(path)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("doc.uid", 12345),
        ("doc.guid[1]", "guid2"),
        ("doc.guidObjects[*].id", ["guid0", "guid2", "guid4"]),
        ("doc.guidObjects[2]", {"id": "guid4"}),
        ("top-level-key", None),
        ("doc.missing", None),
        ("doc.uid.deeper", None),
        ("doc.guid[9]", None),
        ("doc.missing[*].id", None),
        ("$", DOC),
    ],
)
def test_get_value_reads_paths_and_gives_none_when_missing(path, expected):
    assert get_value(DOC, path) == expected


def test_get_value_with_wildcard_gives_none_for_elements_missing_the_rest():
    document = {"items": [{"id": 1}, {}, {"id": 3}]}

    assert get_value(document, "items[*].id") == [1, None, 3]


@pytest.mark.parametrize("path", ["doc.missing", "doc.guid[9]", "doc.guidObjects[*].nope"])
def test_get_value_raises_when_a_required_path_is_missing(path):
    with pytest.raises(MissingPath):
        get_value(DOC, path, required=True)


def test_get_value_of_an_existing_null_is_not_missing_even_when_required():
    assert get_value(DOC, "top-level-key", required=True) is None


# --- pass, shift, extract ----------------------------------------------------------------


def test_pass_leaves_the_document_unchanged():
    assert apply_operation(op("pass", {"anything": True}), DOC) == DOC


def test_shift_builds_a_new_document_from_target_to_source_pairs():
    spec = {"object.id": "doc.uid", "gid2": "doc.guid[1]", "allGuids": "doc.guidObjects[*].id"}

    result = apply_operation(op("shift", spec), DOC)

    assert result == {
        "object": {"id": 12345},
        "gid2": "guid2",
        "allGuids": ["guid0", "guid2", "guid4"],
    }


def test_shift_sets_missing_sources_to_null():
    assert apply_operation(op("shift", {"a": "doc.missing"}), DOC) == {"a": None}


def test_shift_with_require_fails_on_a_missing_source():
    with pytest.raises(MappingError, match=r"required path 'doc\.missing' does not exist"):
        apply_operation(op("shift", {"a": "doc.uid", "b": "doc.missing"}, require=True), DOC)


def test_shift_of_dollar_nests_the_whole_document():
    assert apply_operation(op("shift", {"original": "$"}), DOC) == {"original": DOC}


def test_shift_with_a_list_of_sources_wraps_the_last_one_in_a_list():
    result = apply_operation(op("shift", {"ids": ["doc.uid", "doc.guid[0]"]}), DOC)

    assert result == {"ids": ["guid0"]}


def test_shift_keeps_decimal_numbers_exact():
    result = apply_operation(op("shift", {"total": "amount"}), DOC)

    assert result["total"] == Decimal("1500.00")
    assert str(result["total"]) == "1500.00"


def test_shift_copies_so_targets_sharing_a_source_do_not_alias():
    result = run_operations(
        [
            op("shift", {"a": "doc.guidObjects[0]", "b": "doc.guidObjects[0]"}),
            op("to_uppercase", {"path": "a.id"}),
        ],
        DOC,
    )

    assert result == {"a": {"id": "GUID0"}, "b": {"id": "guid0"}}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("doc.guid", ["guid0", "guid2", "guid4"]),
        ("doc.guidObjects[*].id", ["guid0", "guid2", "guid4"]),
        ("doc.nope", None),
    ],
)
def test_extract_makes_the_value_at_path_the_document(path, expected):
    assert apply_operation(op("extract", {"path": path}), DOC) == expected


def test_extract_with_require_fails_on_a_missing_path():
    with pytest.raises(MappingError, match="does not exist"):
        apply_operation(op("extract", {"path": "doc.nope"}, require=True), DOC)


# --- default, delete ---------------------------------------------------------------------


def test_default_sets_each_path_overwriting_what_was_there():
    result = apply_operation(
        op("default", {"doc.uid": "replaced", "meta.source": "flowker", "flags": [1]}), DOC
    )

    assert result["doc"]["uid"] == "replaced"
    assert result["meta"] == {"source": "flowker"}
    assert result["flags"] == [1]


def test_default_values_are_copied_out_of_the_spec():
    spec = {"meta": {"tags": ["a"]}}
    result = apply_operation(op("default", spec), {})

    result["meta"]["tags"].append("b")

    assert spec == {"meta": {"tags": ["a"]}}


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["a"], {"b": {"c": 1, "d": 2}, "items": [1, 2, 3]}),
        (["b.c", "items[0]"], {"a": 1, "b": {"d": 2}, "items": [2, 3]}),
        (["nope", "b.nope"], {"a": 1, "b": {"c": 1, "d": 2}, "items": [1, 2, 3]}),
    ],
)
def test_delete_removes_each_path_and_ignores_missing_ones(paths, expected):
    document = {"a": 1, "b": {"c": 1, "d": 2}, "items": [1, 2, 3]}

    assert apply_operation(op("delete", {"paths": paths}), document) == expected


def test_delete_with_require_fails_on_a_missing_path():
    with pytest.raises(MappingError, match="required path 'nope' does not exist"):
        apply_operation(op("delete", {"paths": ["a", "nope"]}, require=True), {"a": 1})


# --- concat ------------------------------------------------------------------------------


def test_concat_joins_values_and_paths_with_the_delimiter():
    spec = {
        "sources": [{"value": "TEST"}, {"path": "a.timestamp"}],
        "targetPath": "a.timestamp",
        "delim": ",",
    }

    result = apply_operation(op("concat", spec), {"a": {"timestamp": 1481305274}})

    assert result == {"a": {"timestamp": "TEST,1481305274"}}


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ([{"path": "first"}, {"path": "last"}], "AnaSilva"),
        ([{"path": "first"}, {"path": "missing"}, {"value": "!"}], "Ana!"),
        ([{"path": "tags"}], "ab"),
        ([{"path": "items[*].code"}], "X1Y2"),
        ([{"path": "nothing[*].code"}], ""),
        ([{"path": "amount"}], "1500.00"),
        ([{"path": "flag"}], "true"),
        ([{"path": "blank"}], "null"),
        ([{"path": "object"}], '{"k":1}'),
    ],
)
def test_concat_writes_the_string_form_of_each_source(sources, expected):
    document = {
        "first": "Ana",
        "last": "Silva",
        "tags": ["a", None, "b"],
        "items": [{"code": "X1"}, {}, {"code": "Y2"}],
        "amount": Decimal("1500.00"),
        "flag": True,
        "blank": None,
        "object": {"k": 1},
    }

    result = apply_operation(op("concat", {"sources": sources, "targetPath": "out"}), document)

    assert result["out"] == expected


def test_concat_with_require_fails_on_a_missing_path():
    spec = {"sources": [{"path": "missing"}], "targetPath": "out"}

    with pytest.raises(MappingError, match="does not exist"):
        apply_operation(op("concat", spec, require=True), {})


# --- coalesce ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"id": ["a.missing", "a.blank", "a.second", "a.third"]}, "two"),
        ({"id": ["a.blank", "a.third"]}, "three"),
        ({"id": ["a.empty", "a.second"], "ignore": [""]}, "two"),
        ({"id": ["a.zero", "a.second"], "ignore": [False]}, 0),
        ({"id": ["a.no", "a.second"], "ignore": [0]}, False),
        ({"id": ["a.zero", "a.second"], "ignore": [0]}, "two"),
    ],
)
def test_coalesce_sets_the_first_value_not_null_and_not_ignored(spec, expected):
    document = {
        "a": {"blank": None, "second": "two", "third": "three", "empty": "", "zero": 0, "no": False}
    }

    assert apply_operation(op("coalesce", spec), document)["id"] == expected


def test_coalesce_leaves_the_target_alone_when_nothing_matches():
    result = apply_operation(op("coalesce", {"id": ["x", "y"]}), {"id": "kept"})

    assert result == {"id": "kept"}


def test_coalesce_does_not_accept_require():
    with pytest.raises(MappingError, match="coalesce does not support require"):
        apply_operation(op("coalesce", {"id": ["x"]}, require=True), {})


# --- timestamp ---------------------------------------------------------------------------


def test_timestamp_reformats_the_value_at_each_path():
    spec = {"created": {"inputFormat": "2006-01-02T15:04:05Z07:00", "outputFormat": "02/01/2006"}}

    result = apply_operation(op("timestamp", spec), {"created": "2024-03-05T14:07:09Z", "n": 1})

    assert result == {"created": "05/03/2024", "n": 1}


def test_timestamp_reformats_every_element_through_a_wildcard_or_a_list():
    formats = {"inputFormat": "2006-01-02", "outputFormat": "02/01/2006"}
    document = {"events": [{"at": "2024-01-02"}, {"at": "2024-03-04"}, {}], "days": ["2024-05-06"]}

    result = apply_operation(op("timestamp", {"events[*].at": formats, "days": formats}), document)

    assert result == {
        "events": [{"at": "02/01/2024"}, {"at": "04/03/2024"}, {}],
        "days": ["06/05/2024"],
    }


def test_timestamp_skips_missing_and_null_values():
    spec = {
        "a": {"inputFormat": "2006", "outputFormat": "06"},
        "b": {"inputFormat": "2006", "outputFormat": "06"},
    }

    assert apply_operation(op("timestamp", spec), {"b": None}) == {"b": None}


def test_timestamp_with_require_fails_on_a_missing_path():
    spec = {"a": {"inputFormat": "2006", "outputFormat": "06"}}

    with pytest.raises(MappingError, match="required path 'a' does not exist"):
        apply_operation(op("timestamp", spec, require=True), {})


def test_timestamp_now_writes_the_current_time_at_the_path():
    spec = {"meta.sentAt": {"inputFormat": "$now", "outputFormat": "2006-01-02T15:04:05Z07:00"}}

    result = apply_operation(op("timestamp", spec), {})

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", result["meta"]["sentAt"])


def test_timestamp_fails_on_a_value_that_does_not_match_the_layout():
    spec = {"a": {"inputFormat": "2006-01-02", "outputFormat": "06"}}

    with pytest.raises(MappingError, match="cannot parse '05/03/2024'"):
        apply_operation(op("timestamp", spec), {"a": "05/03/2024"})


# --- uuid --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "version"), [({"version": 4}, 4), ({"version": 7}, 7), ({}, 4)]
)
def test_uuid_random_versions_honour_the_version_asked_for(options, version):
    """4 is Kazaam's random UUID (also the default), 7 Flowker's time-ordered one."""
    first = apply_operation(op("uuid", {"requestId": options}), {})
    second = apply_operation(op("uuid", {"requestId": options}), {})

    assert uuid.UUID(first["requestId"]).version == version
    assert first["requestId"] != second["requestId"]


def test_uuid_name_based_versions_chain_the_names_into_the_namespace():
    spec = {
        "v3": {"version": 3, "namespace": "DNS", "names": [{"path": "a"}, {"path": "b"}]},
        "v5": {"version": 5, "namespace": "URL", "names": [{"path": "n", "default": "x"}]},
    }

    result = apply_operation(op("uuid", spec), {"a": "flowker", "b": 42, "n": "lerian"})

    assert result["v3"] == str(uuid.uuid3(uuid.uuid3(uuid.NAMESPACE_DNS, "flowker"), "42"))
    assert result["v5"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "lerian"))


def test_uuid_name_falls_back_to_its_default_when_the_path_is_missing():
    namespace = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
    spec = {
        "id": {"version": 5, "namespace": namespace, "names": [{"path": "nope", "default": "d"}]}
    }

    result = apply_operation(op("uuid", spec), {})

    assert result["id"] == str(uuid.uuid5(uuid.UUID(namespace), "d"))


def test_uuid_name_without_value_or_default_fails():
    spec = {"id": {"version": 3, "namespace": "OID", "names": [{"path": "nope"}]}}

    with pytest.raises(MappingError, match="no default"):
        apply_operation(op("uuid", spec), {})


# --- Flowker's string operations ---------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("remove_characters", {"characters": ".-"}, "12345678900"),
        ("add_prefix", {"prefix": "CPF:"}, "CPF:123.456.789-00"),
        ("add_suffix", {"suffix": "/BR"}, "123.456.789-00/BR"),
        ("to_uppercase", {}, "123.456.789-00"),
        ("to_lowercase", {}, "123.456.789-00"),
    ],
)
def test_string_operations_change_the_string_at_path(operation, params, expected):
    document = {"customer": {"cpf": "123.456.789-00"}}

    result = apply_operation(op(operation, {"path": "customer.cpf", **params}), document)

    assert result == {"customer": {"cpf": expected}}


@pytest.mark.parametrize(
    ("operation", "expected"),
    [("to_uppercase", "ANA MARIA"), ("to_lowercase", "ana maria")],
)
def test_case_operations_change_the_case(operation, expected):
    result = apply_operation(op(operation, {"path": "name"}), {"name": "Ana Maria"})

    assert result == {"name": expected}


@pytest.mark.parametrize(
    "document",
    [
        {"other": "x"},
        {"value": 12},
        {"value": None},
        {"value": {"nested": "x"}},
        {"value": Decimal("1.50")},
        ["value"],
        "value",
    ],
)
@pytest.mark.parametrize(
    "operation",
    [
        op("remove_characters", {"path": "value", "characters": "."}),
        op("add_prefix", {"path": "value", "prefix": "p"}),
        op("add_suffix", {"path": "value", "suffix": "s"}),
        op("to_uppercase", {"path": "value"}),
        op("to_lowercase", {"path": "value"}),
    ],
)
def test_string_operations_leave_missing_or_non_string_values_unchanged(operation, document):
    assert apply_operation(operation, document) == document


def test_string_operations_reach_every_element_through_a_wildcard():
    document = {"items": [{"sku": "ab-1"}, {"sku": 7}, {}]}

    result = apply_operation(op("to_uppercase", {"path": "items[*].sku"}), document)

    assert result == {"items": [{"sku": "AB-1"}, {"sku": 7}, {}]}


# --- sequences, purity, errors -----------------------------------------------------------


def test_run_operations_applies_each_operation_to_the_previous_result():
    operations = [
        op("shift", {"customer.document": "cpf", "customer.name": "name"}),
        op("remove_characters", {"path": "customer.document", "characters": ".-"}),
        op("default", {"currency": "BRL"}),
        op(
            "concat",
            {
                "sources": [{"path": "currency"}, {"path": "customer.name"}],
                "targetPath": "label",
                "delim": "/",
            },
        ),
        op("delete", {"paths": ["currency"]}),
    ]

    result = run_operations(operations, {"cpf": "123.456.789-00", "name": "Ana"})

    assert result == {"customer": {"document": "12345678900", "name": "Ana"}, "label": "BRL/Ana"}


def test_operations_do_not_mutate_their_inputs():
    document = copy.deepcopy(DOC)
    operations = [
        op("default", {"doc.uid": 1}),
        op("delete", {"paths": ["amount"]}),
        op("to_uppercase", {"path": "doc.guid[0]"}),
    ]
    snapshot = copy.deepcopy(operations)

    run_operations(operations, document)

    assert document == DOC
    assert operations == snapshot


def test_run_operations_names_the_failing_operation():
    operations = [op("pass", {"x": 1}), op("extract", {"path": "nope"}, require=True)]

    with pytest.raises(MappingError, match=r"^transforms\[1\]: extract: required path 'nope'"):
        run_operations(operations, {})


def test_run_operations_refuses_a_malformed_operation_at_run_time():
    with pytest.raises(
        MappingError, match=r"transforms\[0\]: invalid operation: operation: unknown"
    ):
        run_operations([op("explode", {"a": "b"})], {})


@pytest.mark.parametrize(
    ("operation", "where", "message"),
    [
        ("shift", "", "must be an object"),
        ({"spec": {"a": "b"}}, "operation", "is required"),
        (op("explode", {"a": "b"}), "operation", "unknown operation 'explode'"),
        (op("shift", {}), "spec", "non-empty object"),
        ({"operation": "pass"}, "spec", "non-empty object"),
        (op("shift", ["a"]), "spec", "non-empty object"),
        (op("shift", {"a": "b"}, require="yes"), "require", "true or false"),
        (op("shift", {"a": 5}), "spec.a", "not a valid path"),
        (op("shift", {"a": []}), "spec.a", "at least one source"),
        (op("shift", {"a": ["b", None]}), "spec.a", "not a valid path"),
        (op("shift", {"a[*]": "b"}), "spec.a[*]", "cannot use [*]"),
        (op("shift", {"a..b": "c"}), "spec.a..b", "not a valid path"),
        (op("extract", {"paths": "a"}), "spec.path", "not a valid path"),
        (op("default", {"a..b": 1}), "spec.a..b", "not a valid path"),
        (op("delete", {"paths": "a"}), "spec.paths", "non-empty list"),
        (op("delete", {"paths": ["items[*].id"]}), "spec.paths[0]", "cannot use [*]"),
        (op("concat", {"targetPath": "x"}), "spec.sources", "non-empty list"),
        (
            op("concat", {"sources": [{"other": 1}], "targetPath": "x"}),
            "spec.sources[0]",
            "'value' or 'path'",
        ),
        (
            op("concat", {"sources": [{"value": 5}], "targetPath": "x"}),
            "spec.sources[0].value",
            "must be a string",
        ),
        (op("concat", {"sources": [{"value": "a"}]}), "spec.targetPath", "not a valid path"),
        (
            op("concat", {"sources": [{"value": "a"}], "targetPath": "x", "delim": 1}),
            "spec.delim",
            "must be a string",
        ),
        (op("coalesce", {"a": ["b"]}, require=True), "require", "does not support require"),
        (op("coalesce", {"a": "b"}), "spec.a", "non-empty list"),
        (op("coalesce", {"ignore": [""]}), "spec", "at least one target"),
        (op("coalesce", {"a": ["b"], "ignore": ""}), "spec.ignore", "list of values"),
        (op("timestamp", {"a": "2006"}), "spec.a", "inputFormat and outputFormat"),
        (
            op("timestamp", {"a": {"inputFormat": "2006"}}),
            "spec.a.outputFormat",
            "non-empty string",
        ),
        (
            op("timestamp", {"a": {"inputFormat": "2006", "outputFormat": "$now"}}),
            "spec.a.outputFormat",
            "only an input",
        ),
        (op("uuid", {"a": {"version": 6}}), "spec.a.version", "3, 4, 5 or 7"),
        (op("uuid", {"a": {"version": True}}), "spec.a.version", "3, 4, 5 or 7"),
        (op("uuid", {"a": 4}), "spec.a", "must be an object"),
        (
            op("uuid", {"a": {"version": 5, "names": [{"path": "x"}]}}),
            "spec.a.namespace",
            "DNS, URL",
        ),
        (op("uuid", {"a": {"version": 3, "namespace": "DNS"}}), "spec.a.names", "non-empty list"),
        (
            op("uuid", {"a": {"version": 3, "namespace": "DNS", "names": [{}]}}),
            "spec.a.names[0]",
            "'path' and/or 'default'",
        ),
        (
            op("remove_characters", {"path": "a", "characters": "  "}),
            "spec.characters",
            "must not be empty or whitespace-only",
        ),
        (op("remove_characters", {"path": "a"}), "spec.characters", "'characters' is required"),
        (
            op("add_prefix", {"path": "a", "prefix": ""}),
            "spec.prefix",
            "'prefix' is required and must not be empty",
        ),
        (
            op("add_suffix", {"path": "a"}),
            "spec.suffix",
            "'suffix' is required and must not be empty",
        ),
        (op("to_uppercase", {"characters": "x"}), "spec.path", "to_uppercase: 'path' is required"),
        (op("to_lowercase", {"path": "a..b"}), "spec.path", "not a valid path"),
    ],
)
def test_malformed_operations_are_refused_with_the_place_at_fault(operation, where, message):
    with pytest.raises(KazaamSpecError) as caught:
        check_operation(operation)

    assert caught.value.where == where
    assert message in caught.value.message


@pytest.mark.parametrize(
    "operation",
    [
        op("pass", {"anything": 1}),
        op("shift", {"a": "$", "b": ["x[*].y"], "c.d[0]": "e"}),
        op("coalesce", {"a": ["b", "c"], "ignore": ["", 0]}, require=False),
        op(
            "uuid",
            {
                "id": {
                    "version": 5,
                    "namespace": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
                    "names": [{"default": "n"}],
                }
            },
        ),
        op("timestamp", {"items[*].at": {"inputFormat": "$unix", "outputFormat": "2006"}}),
    ],
)
def test_well_formed_operations_pass_the_check(operation):
    check_operation(operation)
