"""The catalog's contents: what ships, how it is indexed, and that every schema is sound."""

import json

import pytest
from jsonschema import Draft202012Validator

from catalog import registry

ALL_SCHEMAS = [
    *[(f"provider {s.id}", s.config_schema) for s in registry.providers()],
    *[(f"executor {s.id}", s.schema) for s in registry.executors()],
    *[(f"trigger {s.id}", s.schema) for s in registry.triggers()],
    *[(f"template {s.id}", s.param_schema) for s in registry.templates()],
]


def test_catalog_ships_upstream_entries_plus_flowker_additions():
    assert [s.id for s in registry.providers()] == ["http", "midaz", "tracer"]
    assert [s.id for s in registry.executors()] == [
        "http.request",
        "midaz.create-account",
        "midaz.create-transaction",
        "midaz.get-account",
        "midaz.get-account-balance",
        "tracer.list-validations",
        "tracer.validate-transaction",
        "transform.json",
    ]
    assert [s.id for s in registry.triggers()] == ["manual", "webhook"]
    assert [s.id for s in registry.templates()] == [
        "payment-fraud-check",
        "tracer-midaz-validation",
    ]


def test_executors_name_their_category_and_provider():
    http_request = registry.get_executor("http.request")
    assert (http_request.category, http_request.provider_id) == ("HTTP", "http")
    transform = registry.get_executor("transform.json")
    assert (transform.category, transform.provider_id) == ("Data", None)
    validate = registry.get_executor("tracer.validate-transaction")
    assert (validate.name, validate.category, validate.version) == (
        "Validate Transaction",
        "Tracer",
        "v1",
    )


def test_every_executor_provider_exists_in_the_catalog():
    for spec in registry.executors():
        assert spec.provider_id is None or registry.get_provider(spec.provider_id), spec.id


def test_unknown_ids_are_none():
    assert registry.get_provider("s3") is None
    assert registry.get_executor("http") is None
    assert registry.get_trigger("cron") is None
    assert registry.get_template("nope") is None


def test_executors_for_provider_lists_only_that_providers_executors_sorted():
    assert [s.id for s in registry.executors_for_provider("midaz")] == [
        "midaz.create-account",
        "midaz.create-transaction",
        "midaz.get-account",
        "midaz.get-account-balance",
    ]
    assert [s.id for s in registry.executors_for_provider("http")] == ["http.request"]
    assert registry.executors_for_provider("unknown") == []


def test_template_provider_params_are_uuid_parameters_of_known_providers():
    expected = {
        "tracer-midaz-validation": {
            "tracerProviderConfigId": "tracer",
            "midazProviderConfigId": "midaz",
        },
        "payment-fraud-check": {"fraudProviderConfigId": "http"},
    }
    for spec in registry.templates():
        assert spec.provider_params == expected[spec.id]
        for param, provider_id in spec.provider_params.items():
            assert registry.get_provider(provider_id) is not None
            assert spec.param_schema["properties"][param]["format"] == "uuid"
            assert param in spec.param_schema["required"]


def test_specs_are_frozen():
    spec = registry.get_trigger("webhook")
    with pytest.raises(AttributeError):
        spec.name = "Other"


@pytest.mark.parametrize(("label", "schema"), ALL_SCHEMAS, ids=[label for label, _ in ALL_SCHEMAS])
def test_every_schema_is_valid_draft_2020_12(label, schema):
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(("label", "schema"), ALL_SCHEMAS, ids=[label for label, _ in ALL_SCHEMAS])
def test_every_schema_is_self_contained_json(label, schema):
    # Secrets are found by walking the schema (no $ref), and the API serves it as plain JSON.
    text = json.dumps(schema)
    assert "$ref" not in text
    assert json.loads(text) == schema
