"""Field mappings: request building, node output, workflow updates and save-time checks."""

import copy
import uuid
from decimal import Decimal

import pytest

from executions.engine.mapping import (
    MappingDefinitionError,
    MappingError,
    RequestDocument,
    apply_workflow_updates,
    build_output,
    build_request,
    compile_mapping,
    compile_transforms,
)

CONTEXT = {
    "workflow": {
        "transactionId": "txn-98765",
        "amount": Decimal("1500.00"),
        "currency": "BRL",
        "customerId": "cust-12345",
        "customer": {"cpf": "123.456.789-00", "name": "Ana Silva", "tags": ["vip", "pix"]},
        "items": [{"sku": "a-1", "qty": 2}, {"sku": "b-2", "qty": 1}],
        "_webhook": {"method": "POST", "path": "payments/received", "remote_ip": "10.0.0.1"},
    },
    "check-fraud": {"score": 42, "_response": {"status": 200}},
}

RESPONSE = {
    "status": 200,
    "headers": {"Content-Type": "application/json", "X-Request-Id": "req-1"},
    "url": "https://fraud.example.com/v1/score",
    "body": {
        "currentBalance": Decimal("1500.00"),
        "accountStatus": "active",
        "status": "in-body",
        "risk": {"score": 17, "level": "LOW"},
    },
}
RESPONSE_DETAILS = {
    "status": 200,
    "headers": {"Content-Type": "application/json", "X-Request-Id": "req-1"},
    "url": "https://fraud.example.com/v1/score",
}


def mapping(source, target, **extra):
    return {"source": source, "target": target, **extra}


# --- request body ------------------------------------------------------------------------


def test_guide_example_maps_workflow_fields_into_the_executor_request():
    input_mapping = [
        mapping("workflow.customerId", "executor.accountId"),
        mapping("workflow.amount", "executor.minimumBalance"),
    ]

    request = build_request(CONTEXT, input_mapping, None)

    assert request == RequestDocument(
        body={"accountId": "cust-12345", "minimumBalance": Decimal("1500.00")}
    )


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("workflow.currency", "executor.currency", {"currency": "BRL"}),
        ("workflow.currency", "currency", {"currency": "BRL"}),
        ("workflow.customer.name", "executor.holder.name", {"holder": {"name": "Ana Silva"}}),
        ("workflow.customer.tags[1]", "method", {"method": "pix"}),
        ("workflow.items[*].sku", "skus", {"skus": ["a-1", "b-2"]}),
        ("check-fraud.score", "executor.previousScore", {"previousScore": 42}),
        (
            "workflow.customer",
            "executor.query.customer",
            {"query": {"customer": CONTEXT["workflow"]["customer"]}},
        ),
        ("workflow.items", "lines[0]", {"lines": [CONTEXT["workflow"]["items"]]}),
    ],
)
def test_input_targets_executor_dot_or_bare_write_into_the_body(source, target, expected):
    assert build_request(CONTEXT, [mapping(source, target)], None).body == expected


def test_body_holds_only_the_mapped_targets():
    request = build_request(CONTEXT, [mapping("workflow.currency", "currency")], None)

    assert set(request.body) == {"currency"}


def test_without_input_mapping_the_body_is_the_workflow_input_without_webhook_metadata():
    request = build_request(CONTEXT, None, None)

    expected = {k: v for k, v in CONTEXT["workflow"].items() if k != "_webhook"}
    assert request == RequestDocument(body=expected)
    assert "check-fraud" not in request.body


@pytest.mark.parametrize("context", [{}, {"workflow": None}, {"other": {"a": 1}}])
def test_without_input_mapping_a_missing_workflow_input_gives_an_empty_body(context):
    assert build_request(context, [], None).body == {}


def test_optional_missing_source_sets_its_target_to_null():
    request = build_request(CONTEXT, [mapping("workflow.nickname", "executor.nickname")], None)

    assert request.body == {"nickname": None}


def test_required_missing_source_fails_with_the_mapping_named():
    input_mapping = [
        mapping("workflow.currency", "currency"),
        mapping("workflow.nickname", "nickname", required=True),
    ]

    with pytest.raises(
        MappingError, match=r"inputMapping\[1\]: required source 'workflow.nickname'"
    ):
        build_request(CONTEXT, input_mapping, None)


def test_required_applies_only_to_its_own_mapping():
    input_mapping = [
        mapping("workflow.currency", "currency", required=True),
        mapping("workflow.nickname", "nickname"),
    ]

    assert build_request(CONTEXT, input_mapping, None).body == {"currency": "BRL", "nickname": None}


def test_required_source_that_holds_null_is_present():
    context = {"workflow": {"middleName": None}}

    request = build_request(context, [mapping("workflow.middleName", "m", required=True)], None)

    assert request.body == {"m": None}


def test_webhook_metadata_can_still_be_mapped_explicitly():
    request = build_request(CONTEXT, [mapping("workflow._webhook.remote_ip", "callerIp")], None)

    assert request.body == {"callerIp": "10.0.0.1"}


def test_decimal_amounts_reach_the_request_exactly():
    with_mapping = build_request(CONTEXT, [mapping("workflow.amount", "executor.amount")], None)
    without_mapping = build_request(CONTEXT, None, None)

    for body in (with_mapping.body, without_mapping.body):
        assert isinstance(body["amount"], Decimal)
        assert str(body["amount"]) == "1500.00"


def test_a_later_mapping_to_the_same_target_wins():
    input_mapping = [mapping("workflow.currency", "x"), mapping("workflow.customerId", "x")]

    assert build_request(CONTEXT, input_mapping, None).body == {"x": "cust-12345"}


# --- query and headers -------------------------------------------------------------------


def test_query_and_headers_targets_are_returned_apart_from_the_body():
    input_mapping = [
        mapping("workflow.customerId", "executor.accountId"),
        mapping("workflow.currency", "query.currency"),
        mapping("workflow.amount", "query.minimum"),
        mapping("workflow.customer.tags", "query.tag"),
        mapping("workflow.transactionId", "headers.X-Correlation-Id"),
        mapping("check-fraud.score", "headers.X-Score"),
    ]

    request = build_request(CONTEXT, input_mapping, None)

    assert request.body == {"accountId": "cust-12345"}
    assert request.query == {"currency": "BRL", "minimum": "1500.00", "tag": ["vip", "pix"]}
    assert request.headers == {"X-Correlation-Id": "txn-98765", "X-Score": "42"}


def test_query_and_headers_leave_out_missing_optional_values():
    input_mapping = [
        mapping("workflow.nope", "query.page"),
        mapping("workflow.nope", "headers.X-Trace"),
    ]

    request = build_request(CONTEXT, input_mapping, None)

    assert request == RequestDocument(body={})


def test_nested_query_targets_name_dotted_parameters_and_lists_join_in_headers():
    input_mapping = [
        mapping("workflow.currency", "query.filter.currency"),
        mapping("workflow.customer.tags", "headers.X-Tags"),
        mapping("workflow.customer.tags[0]", "headers.X-Vip"),
    ]

    request = build_request(CONTEXT, input_mapping, None)

    assert request.query == {"filter.currency": "BRL"}
    assert request.headers == {"X-Tags": "vip, pix", "X-Vip": "vip"}


def test_booleans_and_objects_become_json_text_in_query_and_headers():
    context = {"workflow": {"flag": True, "meta": {"b": 1, "a": "x"}}}
    input_mapping = [
        mapping("workflow.flag", "query.active"),
        mapping("workflow.meta", "headers.X-Meta"),
    ]

    request = build_request(context, input_mapping, None)

    assert request.query == {"active": "true"}
    assert request.headers == {"X-Meta": '{"a":"x","b":1}'}


# --- transformations on mapping entries --------------------------------------------------


@pytest.mark.parametrize(
    ("transformation", "expected"),
    [
        ({"type": "remove_characters", "config": {"characters": ".-"}}, "12345678900"),
        ({"type": "add_prefix", "config": {"prefix": "CPF "}}, "CPF 123.456.789-00"),
        ({"type": "add_suffix", "config": {"suffix": " (BR)"}}, "123.456.789-00 (BR)"),
        ({"type": "to_uppercase"}, "123.456.789-00"),
        ({"type": "to_lowercase", "config": {}}, "123.456.789-00"),
        ({"type": "pass"}, "123.456.789-00"),
    ],
)
def test_entry_transformation_changes_its_target_value(transformation, expected):
    entry = mapping("workflow.customer.cpf", "executor.document", transformation=transformation)

    assert build_request(CONTEXT, [entry], None).body == {"document": expected}


@pytest.mark.parametrize(
    ("transformation", "expected"),
    [
        ({"type": "to_uppercase"}, "ANA SILVA"),
        ({"type": "to_lowercase"}, "ana silva"),
        ({"type": "remove_characters", "config": {"characters": "a "}}, "AnSilv"),
    ],
)
def test_case_and_character_transformations_change_the_text(transformation, expected):
    entry = mapping("workflow.customer.name", "holder", transformation=transformation)

    assert build_request(CONTEXT, [entry], None).body == {"holder": expected}


def test_entry_transformation_leaves_a_missing_optional_value_null():
    entry = mapping(
        "workflow.nope", "x", transformation={"type": "add_prefix", "config": {"prefix": "p"}}
    )

    assert build_request(CONTEXT, [entry], None).body == {"x": None}


def test_entry_transformations_run_after_every_value_is_placed():
    input_mapping = [
        mapping("workflow.currency", "code", transformation={"type": "to_lowercase"}),
        mapping("workflow.transactionId", "code"),
    ]

    assert build_request(CONTEXT, input_mapping, None).body == {"code": "txn-98765"}


def test_entry_transformation_applies_to_query_and_header_targets():
    input_mapping = [
        mapping("workflow.currency", "query.currency", transformation={"type": "to_lowercase"}),
        mapping(
            "workflow.transactionId",
            "headers.X-Id",
            transformation={"type": "add_prefix", "config": {"prefix": "flk-"}},
        ),
    ]

    request = build_request(CONTEXT, input_mapping, None)

    assert request.query == {"currency": "brl"}
    assert request.headers == {"X-Id": "flk-txn-98765"}


@pytest.mark.parametrize(
    ("source", "transformation", "expected"),
    [
        ("workflow.nope", {"type": "default", "config": {"value": "BRL"}}, "BRL"),
        (
            "workflow.date",
            {
                "type": "timestamp",
                "config": {"inputFormat": "02/01/2006", "outputFormat": "2006-01-02"},
            },
            "2024-03-05",
        ),
        (
            "workflow.nope",
            {"type": "coalesce", "config": {"paths": ["fallback", "other"]}},
            "from-fallback",
        ),
        (
            "workflow.currency",
            {
                "type": "concat",
                "config": {"sources": [{"path": "target"}, {"value": "X"}], "delim": "-"},
            },
            "BRL-X",
        ),
    ],
)
def test_kazaam_operations_as_entry_transformations_aim_at_the_target(
    source, transformation, expected
):
    context = {"workflow": {"date": "05/03/2024", "currency": "BRL", "fb": "from-fallback"}}
    input_mapping = [
        mapping("workflow.fb", "fallback"),
        mapping(source, "target", transformation=transformation),
    ]

    assert build_request(context, input_mapping, None).body["target"] == expected


def test_uuid_entry_transformation_writes_the_version_asked_for_at_the_target():
    entry = mapping(
        "workflow.nope", "requestId", transformation={"type": "uuid", "config": {"version": 4}}
    )

    request_id = build_request(CONTEXT, [entry], None).body["requestId"]

    assert uuid.UUID(request_id).version == 4


def test_extract_entry_transformation_sends_the_target_value_as_the_whole_body():
    entry = mapping("workflow.items", "lines", transformation={"type": "extract"})

    assert build_request(CONTEXT, [entry], None).body == CONTEXT["workflow"]["items"]


def test_delete_entry_transformation_removes_the_target():
    input_mapping = [
        mapping("workflow.currency", "currency"),
        mapping("workflow.customerId", "scratch", transformation={"type": "delete"}),
    ]

    assert build_request(CONTEXT, input_mapping, None).body == {"currency": "BRL"}


def test_entry_transformation_failure_names_the_mapping():
    entry = mapping(
        "workflow.currency",
        "when",
        transformation={
            "type": "timestamp",
            "config": {"inputFormat": "2006", "outputFormat": "06"},
        },
    )

    with pytest.raises(MappingError, match=r"inputMapping\[0\]\.transformation: timestamp"):
        build_request(CONTEXT, [entry], None)


# --- transforms (Kazaam operations on the request body) ----------------------------------


def test_transforms_run_over_the_document_the_input_mapping_produced():
    input_mapping = [mapping("workflow.customer.cpf", "document")]
    transforms = [
        {"operation": "remove_characters", "spec": {"path": "document", "characters": ".-"}},
        {"operation": "default", "spec": {"channel": "api"}},
    ]

    request = build_request(CONTEXT, input_mapping, transforms)

    assert request.body == {"document": "12345678900", "channel": "api"}


def test_transforms_alone_run_over_the_whole_context_without_webhook_metadata():
    transforms = [
        {
            "operation": "shift",
            "spec": {
                "payer.id": "workflow.customerId",
                "score": "check-fraud.score",
                "hook": "workflow._webhook",
                "all": "$",
            },
        }
    ]

    body = build_request(CONTEXT, None, transforms).body

    assert body["payer"] == {"id": "cust-12345"}
    assert body["score"] == 42
    assert body["hook"] is None
    assert set(body["all"]) == {"workflow", "check-fraud"}
    assert "_webhook" not in body["all"]["workflow"]
    assert "_webhook" in CONTEXT["workflow"]  # the context itself is untouched


def test_transforms_with_require_fail_on_missing_data():
    transforms = [{"operation": "shift", "spec": {"a": "nope"}, "require": True}]

    with pytest.raises(MappingError, match=r"transforms\[0\]: shift: required path 'nope'"):
        build_request(CONTEXT, None, transforms)


def test_building_a_request_does_not_mutate_the_context_or_definitions():
    context = copy.deepcopy(CONTEXT)
    input_mapping = [
        mapping("workflow.customer", "customer"),
        mapping(
            "workflow.customer.cpf",
            "customer.cpf",
            transformation={"type": "remove_characters", "config": {"characters": "."}},
        ),
    ]
    transforms = [{"operation": "to_uppercase", "spec": {"path": "customer.name"}}]
    definitions = copy.deepcopy([input_mapping, transforms])

    request = build_request(context, input_mapping, transforms)
    request.body["customer"]["tags"].append("changed")

    assert request.body["customer"]["name"] == "ANA SILVA"
    assert context == CONTEXT
    assert [input_mapping, transforms] == definitions


def test_default_body_is_a_copy_of_the_workflow_input():
    context = copy.deepcopy(CONTEXT)

    request = build_request(context, None, None)
    request.body["customer"]["tags"].append("changed")
    request.body["items"][0]["qty"] = 99

    assert context == CONTEXT


def test_a_mapping_that_escaped_save_time_checks_fails_at_run_time():
    with pytest.raises(MappingError, match=r"invalid inputMapping\[0\]\.target"):
        build_request(CONTEXT, [{"source": "workflow.a", "target": ""}], None)
    with pytest.raises(MappingError, match=r"invalid transforms\[0\]\.operation"):
        build_request(CONTEXT, None, [{"operation": "explode", "spec": {"a": 1}}])


# --- node output -------------------------------------------------------------------------


def test_without_output_mapping_the_node_output_is_the_body_plus_response_details():
    output, updates = build_output(RESPONSE, None)

    assert output == {**RESPONSE["body"], "_response": RESPONSE_DETAILS}
    assert updates == {}


@pytest.mark.parametrize("body", ["plain text", ["a", "b"], 42, None, Decimal("1.10")])
def test_without_output_mapping_a_non_object_body_goes_under_body(body):
    output, _ = build_output({**RESPONSE, "body": body}, [])

    assert output == {"body": body, "_response": RESPONSE_DETAILS}


def test_guide_example_output_mapping_writes_into_the_workflow_context():
    output_mapping = [
        mapping("executor.currentBalance", "workflow.balance"),
        mapping("executor.accountStatus", "workflow.status"),
    ]

    output, updates = build_output(RESPONSE, output_mapping)

    assert output == {"_response": RESPONSE_DETAILS}
    assert updates == {"balance": Decimal("1500.00"), "status": "active"}
    assert str(updates["balance"]) == "1500.00"


def test_with_output_mapping_the_node_output_is_exactly_its_non_workflow_targets():
    output_mapping = [
        mapping("executor.risk.score", "score"),
        mapping("executor.risk.level", "executor.result.level"),
        mapping("executor.accountStatus", "workflow.accountStatus"),
    ]

    output, updates = build_output(RESPONSE, output_mapping)

    assert output == {"score": 17, "result": {"level": "LOW"}, "_response": RESPONSE_DETAILS}
    assert updates == {"accountStatus": "active"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("executor.status", "in-body"),
        ("executor.risk", {"score": 17, "level": "LOW"}),
        ("executor", RESPONSE["body"]),
        ("body.risk.level", "LOW"),
        ("body", RESPONSE["body"]),
        ("status", 200),
        ("url", "https://fraud.example.com/v1/score"),
        ("headers.X-Request-Id", "req-1"),
        ("headers.content-type", "application/json"),
        ("headers.CONTENT-TYPE", "application/json"),
        ("risk.score", 17),
        ("headers.Missing", None),
    ],
)
def test_output_sources_read_the_body_or_the_response_envelope(source, expected):
    output, _ = build_output(RESPONSE, [mapping(source, "value")])

    assert output["value"] == expected


def test_output_sources_reach_list_bodies_with_indices_and_wildcards():
    response = {**RESPONSE, "body": [{"id": "a"}, {"id": "b"}]}

    output, _ = build_output(
        response, [mapping("executor[1].id", "second"), mapping("executor[*].id", "ids")]
    )

    assert output["second"] == "b"
    assert output["ids"] == ["a", "b"]


def test_output_required_missing_source_fails_and_optional_sets_null():
    optional = [mapping("executor.decision", "decision")]
    required = [mapping("executor.decision", "decision", required=True)]

    assert build_output(RESPONSE, optional)[0]["decision"] is None
    with pytest.raises(
        MappingError, match=r"outputMapping\[0\]: required source 'executor.decision'"
    ):
        build_output(RESPONSE, required)


def test_output_entry_transformations_apply_to_node_and_workflow_targets():
    output_mapping = [
        mapping("executor.risk.level", "level", transformation={"type": "to_lowercase"}),
        mapping(
            "executor.accountStatus",
            "workflow.account.status",
            transformation={"type": "add_suffix", "config": {"suffix": "!"}},
        ),
    ]

    output, updates = build_output(RESPONSE, output_mapping)

    assert output["level"] == "low"
    assert updates == {"account.status": "active!"}


def test_output_building_does_not_mutate_the_response():
    response = copy.deepcopy(RESPONSE)

    output, _ = build_output(response, None)
    output["risk"]["score"] = 99
    output["_response"]["headers"]["X-Request-Id"] = "changed"
    mapped, _ = build_output(response, [mapping("executor.risk", "risk")])
    mapped["risk"]["level"] = "HIGH"

    assert response == RESPONSE


def test_workflow_updates_are_written_into_a_copy_of_the_workflow_input():
    workflow = {"amount": Decimal("10.00"), "account": {"id": "a-1"}}

    updated = apply_workflow_updates(workflow, {"balance": Decimal("5.25"), "account.status": "ok"})

    assert updated == {
        "amount": Decimal("10.00"),
        "balance": Decimal("5.25"),
        "account": {"id": "a-1", "status": "ok"},
    }
    assert workflow == {"amount": Decimal("10.00"), "account": {"id": "a-1"}}


def test_workflow_updates_that_cannot_be_written_fail():
    with pytest.raises(MappingError, match=r"cannot update workflow\.items\.x"):
        apply_workflow_updates({"items": [1]}, {"items.x": 1})


# --- save-time checks --------------------------------------------------------------------


@pytest.mark.parametrize(
    "entries",
    [
        None,
        [],
        [
            mapping("workflow.customerId", "executor.accountId"),
            mapping("workflow.items[*].sku", "query.sku", required=False),
            mapping("check-fraud.score", "headers.X-Score", required=True),
            mapping("$", "everything"),
            mapping(
                "workflow.customer.cpf",
                "document",
                transformation={"type": "remove_characters", "config": {"characters": ".-"}},
            ),
            mapping("workflow.x", "y", transformation={"type": "to_uppercase", "config": None}),
        ],
    ],
)
def test_valid_input_mappings_compile(entries):
    compile_mapping(entries, field="inputMapping")


@pytest.mark.parametrize(
    ("entries", "path", "message"),
    [
        ({"source": "a", "target": "b"}, "inputMapping", "must be a list"),
        (["a"], "inputMapping[0]", "must be an object"),
        (
            [mapping("workflow.a", "a"), {"target": "a"}],
            "inputMapping[1].source",
            "source is required",
        ),
        ([mapping("  ", "a")], "inputMapping[0].source", "source is required"),
        ([mapping(5, "a")], "inputMapping[0].source", "source is required"),
        ([mapping("workflow..a", "a")], "inputMapping[0].source", "not a valid path"),
        ([mapping("workflow.a[x]", "a")], "inputMapping[0].source", "not a valid path"),
        ([{"source": "workflow.a"}], "inputMapping[0].target", "target is required"),
        ([mapping("workflow.a", "")], "inputMapping[0].target", "target is required"),
        ([mapping("workflow.a", "a.")], "inputMapping[0].target", "invalid path"),
        ([mapping("workflow.a", "items[*]")], "inputMapping[0].target", "invalid path"),
        ([mapping("workflow.a", "executor")], "inputMapping[0].target", "must name a field"),
        ([mapping("workflow.a", "executor[0]")], "inputMapping[0].target", "must name a field"),
        ([mapping("workflow.a", "a", required="yes")], "inputMapping[0].required", "true or false"),
        (
            [mapping("workflow.a", "a", transformation="to_uppercase")],
            "inputMapping[0].transformation",
            "must be an object",
        ),
        (
            [mapping("workflow.a", "a", transformation={"config": {}})],
            "inputMapping[0].transformation.type",
            "type is required",
        ),
        (
            [mapping("workflow.a", "a", transformation={"type": "explode"})],
            "inputMapping[0].transformation.type",
            "unknown transformation type 'explode'",
        ),
        (
            [mapping("workflow.a", "a", transformation={"type": "remove_characters"})],
            "inputMapping[0].transformation.config",
            "'characters' is required",
        ),
        (
            [
                mapping(
                    "workflow.a",
                    "a",
                    transformation={"type": "remove_characters", "config": {"characters": " "}},
                )
            ],
            "inputMapping[0].transformation.config.characters",
            "whitespace-only",
        ),
        (
            [
                mapping(
                    "workflow.a",
                    "a",
                    transformation={"type": "add_prefix", "config": {"prefix": ""}},
                )
            ],
            "inputMapping[0].transformation.config.prefix",
            "must not be empty",
        ),
        (
            [mapping("workflow.a", "a", transformation={"type": "add_suffix"})],
            "inputMapping[0].transformation.config",
            "'suffix' is required",
        ),
        (
            [mapping("workflow.a", "a", transformation={"type": "to_uppercase", "config": "x"})],
            "inputMapping[0].transformation.config",
            "must be an object",
        ),
        (
            [mapping("workflow.a", "a", transformation={"type": "default", "config": {}})],
            "inputMapping[0].transformation.config",
            "default needs config.value",
        ),
        (
            [
                mapping(
                    "workflow.a", "a", transformation={"type": "coalesce", "config": {"paths": []}}
                )
            ],
            "inputMapping[0].transformation.config.paths",
            "non-empty list",
        ),
        (
            [
                mapping(
                    "workflow.a",
                    "a",
                    transformation={"type": "timestamp", "config": {"inputFormat": "2006"}},
                )
            ],
            "inputMapping[0].transformation.config.outputFormat",
            "non-empty string",
        ),
        (
            [mapping("workflow.a", "a", transformation={"type": "uuid", "config": {"version": 9}})],
            "inputMapping[0].transformation.config.version",
            "3, 4, 5 or 7",
        ),
    ],
)
def test_invalid_input_mappings_are_refused_with_flk_0140_and_the_path(entries, path, message):
    with pytest.raises(MappingDefinitionError) as caught:
        compile_mapping(entries, field="inputMapping")

    assert caught.value.code == "FLK-0140"
    assert caught.value.path == path
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("entries", "path", "message"),
    [
        ("executor.a", "outputMapping", "must be a list"),
        ([mapping("", "a")], "outputMapping[0].source", "source is required"),
        ([mapping("executor.a", "workflow")], "outputMapping[0].target", "must name a field"),
        ([mapping("executor.a", "workflow[0]")], "outputMapping[0].target", "must name a field"),
        ([mapping("executor.a", "_response")], "outputMapping[0].target", "reserved"),
        (
            [mapping("executor.a", "executor._response.status")],
            "outputMapping[0].target",
            "reserved",
        ),
        (
            [mapping("executor.a", "b", transformation={"type": "nope"})],
            "outputMapping[0].transformation.type",
            "unknown transformation type",
        ),
    ],
)
def test_invalid_output_mappings_are_refused_with_flk_0141_and_the_path(entries, path, message):
    with pytest.raises(MappingDefinitionError) as caught:
        compile_mapping(entries, field="outputMapping")

    assert caught.value.code == "FLK-0141"
    assert caught.value.path == path
    assert message in caught.value.message


def test_valid_output_mappings_compile():
    compile_mapping(
        [
            mapping("executor.currentBalance", "workflow.balance"),
            mapping("status", "result.httpStatus"),
            mapping("headers.x-request-id", "requestId", required=True),
            mapping("body.riskScore", "result.riskScore"),
        ],
        field="outputMapping",
    )


def test_compile_mapping_rejects_an_unknown_field_name():
    with pytest.raises(ValueError, match="unknown mapping field"):
        compile_mapping([], field="transforms")


@pytest.mark.parametrize(
    ("operations", "path", "message"),
    [
        ({"operation": "shift"}, "transforms", "must be a list"),
        (["shift"], "transforms[0]", "must be an object"),
        ([{"spec": {"a": "b"}}], "transforms[0].operation", "is required"),
        (
            [{"operation": "pass", "spec": {"a": 1}}, {"operation": "jolt", "spec": {"a": 1}}],
            "transforms[1].operation",
            "unknown operation 'jolt'",
        ),
        ([{"operation": "shift", "spec": {}}], "transforms[0].spec", "non-empty object"),
        ([{"operation": "shift"}], "transforms[0].spec", "non-empty object"),
        (
            [{"operation": "shift", "spec": {"a": "b"}, "require": "true"}],
            "transforms[0].require",
            "true or false",
        ),
        ([{"operation": "shift", "spec": {"a": 1}}], "transforms[0].spec.a", "not a valid path"),
        (
            [{"operation": "delete", "spec": {"paths": ["a[*].b"]}}],
            "transforms[0].spec.paths[0]",
            "cannot use [*]",
        ),
        (
            [{"operation": "concat", "spec": {"targetPath": "a"}}],
            "transforms[0].spec.sources",
            "non-empty list",
        ),
        (
            [{"operation": "coalesce", "spec": {"a": ["b"]}, "require": True}],
            "transforms[0].require",
            "does not support require",
        ),
        (
            [{"operation": "timestamp", "spec": {"a": {"outputFormat": "2006"}}}],
            "transforms[0].spec.a.inputFormat",
            "non-empty string",
        ),
        (
            [{"operation": "uuid", "spec": {"a": {"version": 5, "names": [{"path": "b"}]}}}],
            "transforms[0].spec.a.namespace",
            "DNS",
        ),
        (
            [{"operation": "remove_characters", "spec": {"path": "a", "characters": "\t"}}],
            "transforms[0].spec.characters",
            "whitespace-only",
        ),
        (
            [{"operation": "add_prefix", "spec": {"path": "a"}}],
            "transforms[0].spec.prefix",
            "'prefix' is required",
        ),
        (
            [{"operation": "to_lowercase", "spec": {"value": "a"}}],
            "transforms[0].spec.path",
            "'path' is required",
        ),
    ],
)
def test_invalid_transforms_are_refused_with_flk_0142_and_the_path(operations, path, message):
    with pytest.raises(MappingDefinitionError) as caught:
        compile_transforms(operations)

    assert caught.value.code == "FLK-0142"
    assert caught.value.path == path
    assert message in caught.value.message


@pytest.mark.parametrize(
    "operations",
    [
        None,
        [],
        [
            {"operation": "shift", "spec": {"customer.document": "cpf"}, "require": True},
            {
                "operation": "remove_characters",
                "spec": {"path": "customer.document", "characters": ".-"},
            },
            {
                "operation": "timestamp",
                "spec": {"at": {"inputFormat": "$now", "outputFormat": "$unix"}},
            },
            {"operation": "uuid", "spec": {"id": {"version": 4}}},
        ],
    ],
)
def test_valid_transforms_compile(operations):
    compile_transforms(operations)
