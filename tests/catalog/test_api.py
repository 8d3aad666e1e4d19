"""The /v1/catalog API: upstream shapes, schemas as JSON objects, validate endpoints, errors."""

import json
import sys
import types

import pytest

from catalog import registry
from tests.factories import make_provider_config

pytestmark = pytest.mark.django_db

UUID = "019c96a0-0ac0-7de9-9f53-9cf842a2ee5a"


@pytest.fixture
def no_provider_configurations(monkeypatch):
    """The template detail lists provider configurations through the providers app; these tests
    look at the rest of the page, so they stand in a selector that finds none."""
    selectors = types.ModuleType("providers.selectors")
    selectors.provider_config_choices = lambda *, provider_id: []
    monkeypatch.setitem(sys.modules, "providers.selectors", selectors)


def _json(response, status):
    assert response.status_code == status, response.content
    return json.loads(response.content)


def _error(response, status, code):
    body = _json(response, status)
    assert body["code"] == code
    assert body["title"] and body["message"]
    return body


def _post(client, url, body):
    text = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, text, content_type="application/json")


def test_executor_list_is_a_bare_array_of_summaries_sorted_by_id(client_api):
    body = _json(client_api.get("/v1/catalog/executors"), 200)
    assert [item["id"] for item in body] == sorted(item["id"] for item in body)
    assert len(body) == 8
    by_id = {item["id"]: item for item in body}
    assert by_id["http.request"] == {
        "id": "http.request",
        "name": "HTTP Request",
        "category": "HTTP",
        "version": "v1",
        "providerId": "http",
    }
    assert by_id["transform.json"]["providerId"] is None


def test_executor_detail_returns_the_schema_as_an_object(client_api):
    body = _json(client_api.get("/v1/catalog/executors/tracer.validate-transaction"), 200)
    assert set(body) == {"id", "name", "category", "version", "providerId", "schema"}
    assert body["schema"] == registry.get_executor("tracer.validate-transaction").schema
    assert "requestId" in body["schema"]["required"]


def test_unknown_executor_is_flk_0200(client_api):
    _error(client_api.get("/v1/catalog/executors/http"), 404, "FLK-0200")


def test_validate_executor_config_accepts_a_valid_config(client_api):
    response = _post(
        client_api,
        "/v1/catalog/executors/http.request/validate",
        {"config": {"method": "POST", "path": "/score", "timeoutSeconds": 10}},
    )
    assert _json(response, 200) == {"valid": True}


def test_validate_executor_config_counts_a_decimal_integer_as_integer(client_api):
    response = _post(
        client_api,
        "/v1/catalog/executors/http.request/validate",
        '{"config": {"timeoutSeconds": 30.0}}',
    )
    assert _json(response, 200) == {"valid": True}


def test_invalid_executor_config_is_422_flk_0201_with_every_field(client_api):
    response = _post(
        client_api,
        "/v1/catalog/executors/midaz.create-transaction/validate",
        {"config": {"send": {"asset": "BRL", "value": "1,5", "source": {"from": [{}]}}}},
    )
    body = _error(response, 422, "FLK-0201")
    assert body["title"] == "Unprocessable Entity"
    assert "midaz.create-transaction" in body["message"]
    assert body["fields"] == {
        "config.send.value": "'1,5' does not match '^[0-9]+(\\\\.[0-9]+)?$'",
        "config.send.source.from[0].accountAlias": "'accountAlias' is a required property",
    }


def test_missing_required_executor_field_is_named_in_fields(client_api):
    response = _post(client_api, "/v1/catalog/executors/midaz.get-account/validate", {"config": {}})
    body = _error(response, 422, "FLK-0201")
    assert body["fields"] == {"config.accountId": "'accountId' is a required property"}


def test_unknown_executor_is_checked_before_the_body(client_api):
    _error(_post(client_api, "/v1/catalog/executors/nope/validate", "{not json"), 404, "FLK-0200")


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ("{not json", "FLK-0001", None),
        ('{"config": "GET"}', "FLK-0001", "config"),
        ('{"config": [1]}', "FLK-0001", "config"),
        ("[]", "FLK-0001", None),
        ("{}", "FLK-0301", "config"),
        ('{"config": null}', "FLK-0301", "config"),
        ('{"config": {}, "strict": true}', "FLK-0300", "strict"),
    ],
)
def test_bad_validate_body_is_400(client_api, body, code, field):
    response = _post(client_api, "/v1/catalog/executors/http.request/validate", body)
    error = _error(response, 400, code)
    if field:
        assert field in error["fields"]


def test_validate_without_json_content_type_is_flk_0001(client_api):
    response = client_api.post(
        "/v1/catalog/executors/http.request/validate", "config=1", content_type="text/plain"
    )
    _error(response, 400, "FLK-0001")


def test_trigger_list_and_detail(client_api):
    assert _json(client_api.get("/v1/catalog/triggers"), 200) == [
        {"id": "manual", "name": "Manual", "version": "v1"},
        {"id": "webhook", "name": "Webhook", "version": "v1"},
    ]
    body = _json(client_api.get("/v1/catalog/triggers/webhook"), 200)
    assert body["schema"]["required"] == ["path", "method"]
    assert body["schema"]["properties"]["verify_token"]["writeOnly"] is True


def test_unknown_trigger_is_flk_0210(client_api):
    _error(client_api.get("/v1/catalog/triggers/cron"), 404, "FLK-0210")


def test_provider_list_and_detail(client_api):
    body = _json(client_api.get("/v1/catalog/providers"), 200)
    assert [item["id"] for item in body] == ["http", "midaz", "tracer"]
    assert set(body[0]) == {"id", "name", "description", "version"}
    detail = _json(client_api.get("/v1/catalog/providers/midaz"), 200)
    assert set(detail) == {"id", "name", "description", "version", "configSchema"}
    assert len(detail["configSchema"]["oneOf"]) == 2


def test_provider_executors_are_that_providers_summaries(client_api):
    body = _json(client_api.get("/v1/catalog/providers/tracer/executors"), 200)
    assert body == [
        {
            "id": "tracer.list-validations",
            "name": "List Validations",
            "category": "Tracer",
            "version": "v1",
            "providerId": "tracer",
        },
        {
            "id": "tracer.validate-transaction",
            "name": "Validate Transaction",
            "category": "Tracer",
            "version": "v1",
            "providerId": "tracer",
        },
    ]


@pytest.mark.parametrize("url", ["/v1/catalog/providers/s3", "/v1/catalog/providers/s3/executors"])
def test_unknown_provider_is_flk_0230(client_api, url):
    _error(client_api.get(url), 404, "FLK-0230")


def test_template_list(client_api):
    body = _json(client_api.get("/v1/catalog/templates"), 200)
    assert [item["id"] for item in body] == ["payment-fraud-check", "tracer-midaz-validation"]
    assert body[1] == {
        "id": "tracer-midaz-validation",
        "name": "Tracer Validation + Midaz Transaction",
        "description": (
            "Receives a webhook request, validates the transaction via Tracer, and creates a "
            "transaction in Midaz if approved"
        ),
        "version": "v1",
        "category": "Compliance",
    }


def test_template_detail_returns_the_parameter_schema(client_api, no_provider_configurations):
    body = _json(client_api.get("/v1/catalog/templates/payment-fraud-check"), 200)
    assert set(body) == {"id", "name", "description", "version", "category", "paramSchema"}
    assert body["paramSchema"]["required"] == ["workflowName", "fraudProviderConfigId"]
    assert body["paramSchema"]["properties"]["threshold"]["default"] == 80


def test_unknown_template_is_flk_0240(client_api):
    _error(client_api.get("/v1/catalog/templates/nope"), 404, "FLK-0240")
    _error(_post(client_api, "/v1/catalog/templates/nope/validate", "{}"), 404, "FLK-0240")


def test_validate_template_params_accepts_valid_params(client_api):
    fraud = make_provider_config("FraudShield")
    response = _post(
        client_api,
        "/v1/catalog/templates/payment-fraud-check/validate",
        {
            "params": {
                "workflowName": "payments",
                "fraudProviderConfigId": str(fraud.pk),
                "threshold": 75,
            }
        },
    )
    assert _json(response, 200) == {"valid": True}


@pytest.mark.parametrize(
    ("provider_id", "reason"),
    [
        ("tracer", "'Other' is a tracer one"),
        ("midaz", "'Other' is a midaz one"),
        (None, "no provider configuration has this id"),
    ],
)
def test_fraud_provider_must_be_an_http_configuration(client_api, provider_id, reason):
    config_id = str(make_provider_config("Other", provider_id).pk) if provider_id else UUID
    params = {"workflowName": "payments", "fraudProviderConfigId": config_id}
    for url, body in [
        ("/v1/catalog/templates/payment-fraud-check/validate", {"params": params}),
        ("/v1/workflows/from-template", {"templateId": "payment-fraud-check", "params": params}),
    ]:
        error = _error(_post(client_api, url, body), 422, "FLK-0242")
        assert error["fields"] == {
            "params.fraudProviderConfigId": "must be the id of an active http provider "
            f"configuration; {reason}"
        }


def test_template_schema_says_in_words_what_a_provider_parameter_expects(client_api):
    schema = client_api.get("/v1/catalog/templates/payment-fraud-check").json()["paramSchema"]
    fraud = schema["properties"]["fraudProviderConfigId"]
    assert "oneOf" not in fraud
    assert "No active http provider configuration exists yet" in fraud["description"]
    assert '"providerId": "http"' in fraud["description"]

    make_provider_config("FraudShield")
    schema = client_api.get("/v1/catalog/templates/payment-fraud-check").json()["paramSchema"]
    fraud = schema["properties"]["fraudProviderConfigId"]
    assert [choice["title"] for choice in fraud["oneOf"]] == ["FraudShield"]
    assert "exists yet" not in fraud["description"]


def test_invalid_template_params_are_422_flk_0242_with_fields(client_api):
    response = _post(
        client_api,
        "/v1/catalog/templates/payment-fraud-check/validate",
        {"params": {"workflowName": "", "fraudProviderConfigId": "fraud", "webhookMethod": "GET"}},
    )
    body = _error(response, 422, "FLK-0242")
    assert set(body["fields"]) == {
        "params.workflowName",
        "params.fraudProviderConfigId",
        "params.webhookMethod",
    }
    assert body["fields"]["params.fraudProviderConfigId"] == "'fraud' is not a 'uuid'"


def test_bad_template_validate_body_is_400(client_api):
    response = _post(client_api, "/v1/catalog/templates/payment-fraud-check/validate", "[")
    _error(response, 400, "FLK-0001")
    response = _post(
        client_api, "/v1/catalog/templates/payment-fraud-check/validate", '{"params": 1}'
    )
    assert "params" in _error(response, 400, "FLK-0001")["fields"]


CATALOG_ROUTES = [
    ("get", "/v1/catalog/executors"),
    ("get", "/v1/catalog/executors/http.request"),
    ("post", "/v1/catalog/executors/http.request/validate"),
    ("get", "/v1/catalog/triggers"),
    ("get", "/v1/catalog/triggers/webhook"),
    ("get", "/v1/catalog/providers"),
    ("get", "/v1/catalog/providers/http"),
    ("get", "/v1/catalog/providers/http/executors"),
    ("get", "/v1/catalog/templates"),
    ("get", "/v1/catalog/templates/payment-fraud-check"),
    ("post", "/v1/catalog/templates/payment-fraud-check/validate"),
]


@pytest.mark.parametrize(("method", "url"), CATALOG_ROUTES)
def test_every_catalog_route_needs_an_api_key(anon_client, method, url):
    response = getattr(anon_client, method)(url)
    body = _error(response, 401, "UNAUTHORIZED")
    assert body["title"] == "Unauthorized"


def test_wrong_api_key_is_refused(anon_client):
    anon_client.credentials(HTTP_X_API_KEY="flk_00000000_wrong")
    _error(anon_client.get("/v1/catalog/executors"), 401, "UNAUTHORIZED")


def test_openapi_documents_every_catalog_operation(anon_client):
    document = _json(anon_client.get("/v1/openapi.json"), 200)
    operations = {
        operation["operationId"]: operation
        for path, item in document["paths"].items()
        if path.startswith("/v1/catalog/")
        for operation in item.values()
    }
    assert set(operations) == {
        "listCatalogExecutors",
        "getCatalogExecutor",
        "validateCatalogExecutorConfig",
        "listCatalogTriggers",
        "getCatalogTrigger",
        "listCatalogProviders",
        "getCatalogProvider",
        "listCatalogProviderExecutors",
        "listCatalogTemplates",
        "getCatalogTemplate",
        "validateCatalogTemplateParams",
    }
    for operation in operations.values():
        assert operation["tags"] == ["Catalog"]
        assert {"200", "401"} <= set(operation["responses"])
    for operation_id in ("validateCatalogExecutorConfig", "validateCatalogTemplateParams"):
        assert {"400", "404", "422"} <= set(operations[operation_id]["responses"])
    assert "404" in operations["getCatalogTemplate"]["responses"]
