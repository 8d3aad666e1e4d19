"""Schema behaviour: which configurations pass, where failures are reported, which fields are
secret."""

from decimal import Decimal

import pytest

from catalog import registry
from catalog.schemas import schema_errors

UUID = "019c96a0-0ac0-7de9-9f53-9cf842a2ee5a"
HTTP = registry.get_provider("http").config_schema
MIDAZ = registry.get_provider("midaz").config_schema
TRACER = registry.get_provider("tracer").config_schema

GUIDE_OIDC_CONFIG = {
    "base_url": "https://api.fraudshield.com",
    "authentication": {
        "type": "oidc_client_credentials",
        "config": {
            "tokenURL": "https://auth.fraudshield.com/oauth/token",
            "clientID": "flowker-integration",
            "clientSecret": "secret-value",
            "scopes": ["transactions:read", "transactions:score"],
        },
    },
}
GUIDE_MIDAZ_CONFIG = {"base_url": "https://midaz.example.com/api/v1", "api_key": "sk-prod-xxx"}
MIDAZ_LONG_FORM = {
    "onboarding_base_url": "http://127.0.0.1:3000",
    "transaction_base_url": "http://127.0.0.1:3001",
    "organization_id": UUID,
    "ledger_id": UUID,
    "auth": {"issuer_url": "https://id.example.com", "client_id": "c", "client_secret": "s"},
}


def _http(**authentication):
    return {"base_url": "https://api.example.com", "authentication": authentication}


@pytest.mark.parametrize(
    ("schema", "config"),
    [
        (HTTP, GUIDE_OIDC_CONFIG),
        (HTTP, {"base_url": "http://127.0.0.1:8080/v1"}),
        (HTTP, _http(type="none")),
        (HTTP, _http(type="none", config={})),
        (HTTP, _http(type="api_key", config={"key": "X-Api-Key", "value": "k"})),
        (HTTP, _http(type="api_key", config={"key": "k", "value": "v", "location": "query"})),
        (HTTP, _http(type="bearer", config={"token": "t"})),
        (HTTP, _http(type="basic", config={"username": "u", "password": "p"})),
        (
            HTTP,
            _http(
                type="oidc_client_credentials",
                config={
                    "issuer_url": "https://id.example.com",
                    "clientID": "c",
                    "clientSecret": "s",
                },
            ),
        ),
        (
            HTTP,
            _http(
                type="oidc_user",
                config={
                    "tokenURL": "https://id.example.com/token",
                    "clientID": "c",
                    "username": "u",
                    "password": "p",
                    "scopes": ["openid"],
                },
            ),
        ),
        (
            HTTP,
            {
                "base_url": "https://api.example.com",
                "headers": {"X-Trace": "abc"},
                "timeout_seconds": 10,
                "verify_tls": False,
            },
        ),
        (MIDAZ, GUIDE_MIDAZ_CONFIG),
        (MIDAZ, {**GUIDE_MIDAZ_CONFIG, "organization_id": UUID, "ledger_id": UUID}),
        (MIDAZ, MIDAZ_LONG_FORM),
        (TRACER, {"base_url": "https://tracer.example.com", "api_key": "k"}),
    ],
)
def test_valid_provider_configurations_have_no_errors(schema, config):
    assert schema_errors(schema, config) == {}


@pytest.mark.parametrize(
    ("schema", "config", "path", "reason"),
    [
        (HTTP, _http(type="magic", config={}), "authentication.type", "is not one of"),
        (HTTP, _http(config={}), "authentication.type", "required"),
        (
            HTTP,
            _http(
                type="oidc_client_credentials",
                config={"tokenURL": "https://a.example.com/token", "clientID": "c"},
            ),
            "authentication.config.clientSecret",
            "'clientSecret' is a required property",
        ),
        (
            HTTP,
            _http(type="oidc_client_credentials", config={"clientID": "c", "clientSecret": "s"}),
            "authentication.config.tokenURL",
            "'tokenURL' is a required property",
        ),
        (
            HTTP,
            _http(
                type="oidc_client_credentials",
                config={"tokenURL": "not a url", "clientID": "c", "clientSecret": "s"},
            ),
            "authentication.config.tokenURL",
            "is not a 'uri'",
        ),
        (
            HTTP,
            _http(
                type="oidc_user", config={"issuer_url": "https://i.example.com", "clientID": "c"}
            ),
            "authentication.config.username",
            "required",
        ),
        (HTTP, _http(type="bearer"), "authentication.config", "'config' is a required property"),
        (HTTP, _http(type="bearer", config={}), "authentication.config.token", "required"),
        (
            HTTP,
            _http(type="api_key", config={"key": "k", "value": "v", "location": "body"}),
            "authentication.config.location",
            "is not one of",
        ),
        (
            HTTP,
            _http(type="basic", config={"username": "u", "password": "p", "realm": "r"}),
            "authentication.config.realm",
            "'realm' was unexpected",
        ),
        (HTTP, {"base_url": "not a url"}, "base_url", "is not a 'uri'"),
        (HTTP, {"base_url": "ftp://files.example.com"}, "base_url", "does not match"),
        (HTTP, {}, "base_url", "'base_url' is a required property"),
        (HTTP, {"base_url": "https://a.example.com", "timeout_seconds": 0}, "timeout_seconds", "1"),
        (HTTP, {"base_url": "https://a.example.com", "baseUrl": "x"}, "baseUrl", "unexpected"),
        (
            HTTP,
            {"base_url": "https://a.example.com", "headers": {"X-Trace": 5}},
            "headers.X-Trace",
            "type",
        ),
        (HTTP, [], "", "is not of type 'object'"),
        (TRACER, {"base_url": "https://t.example.com"}, "api_key", "required"),
        (MIDAZ, {"base_url": "https://midaz.example.com"}, "api_key", "required"),
        (MIDAZ, {"base_url": "midaz", "api_key": "k"}, "base_url", "is not a 'uri'"),
        (MIDAZ, {**GUIDE_MIDAZ_CONFIG, "ledger_id": "ledger-1"}, "ledger_id", "is not a 'uuid'"),
        (
            MIDAZ,
            {key: value for key, value in MIDAZ_LONG_FORM.items() if key != "ledger_id"},
            "ledger_id",
            "required",
        ),
        (
            MIDAZ,
            {**MIDAZ_LONG_FORM, "auth": {"issuer_url": "https://i.example.com", "client_id": "c"}},
            "auth.client_secret",
            "required",
        ),
    ],
)
def test_provider_configuration_failures_are_reported_on_the_field(schema, config, path, reason):
    errors = schema_errors(schema, config)
    assert path in errors, errors
    assert reason in errors[path]


def test_empty_midaz_config_asks_for_the_short_form():
    assert schema_errors(MIDAZ, {}) == {
        "base_url": "'base_url' is a required property",
        "api_key": "'api_key' is a required property",
    }


def test_every_failure_is_reported_not_only_the_first():
    errors = schema_errors(HTTP, {"base_url": "nope", "timeout_seconds": 301, "extra": 1})
    assert set(errors) == {"base_url", "timeout_seconds", "extra"}


def test_failure_messages_never_repeat_a_secret_value():
    config = {
        "base_url": "https://a.example.com",
        "headers": {"X-Secret": 987654321},
        "authentication": {"type": "bearer", "config": {"token": 123456789}},
    }
    errors = schema_errors(HTTP, config)
    assert set(errors) == {"headers.X-Secret", "authentication.config.token"}
    assert not any("987654321" in m or "123456789" in m for m in errors.values())


@pytest.mark.parametrize(
    ("config", "path", "reason"),
    [
        ({"method": "FETCH"}, "method", "is not one of"),
        ({"timeoutSeconds": 0}, "timeoutSeconds", "less than the minimum of 1"),
        ({"timeoutSeconds": 301}, "timeoutSeconds", "greater than the maximum of 300"),
        ({"timeoutSeconds": Decimal("2.5")}, "timeoutSeconds", "2.5 is not of type 'integer'"),
        ({"successStatusCodes": [200, 99]}, "successStatusCodes[1]", "less than the minimum"),
        ({"successStatusCodes": [600]}, "successStatusCodes[0]", "greater than the maximum"),
        ({"headers": {"X-A": 1}}, "headers.X-A", "is not of type 'string'"),
        ({"query": {"page": 2}}, "query.page", "is not of type 'string'"),
        ({"url": "https://a.example.com"}, "url", "'url' was unexpected"),
    ],
)
def test_http_request_failures(config, path, reason):
    errors = schema_errors(registry.get_executor("http.request").schema, config)
    assert path in errors, errors
    assert reason in errors[path]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"method": "POST", "path": "/score", "headers": {"X-A": "1"}, "query": {"a": "b"}},
        {"timeoutSeconds": Decimal("30.0"), "successStatusCodes": [200, 202]},
    ],
)
def test_http_request_accepts_optional_fields_only(config):
    assert schema_errors(registry.get_executor("http.request").schema, config) == {}


def test_nested_array_failures_have_indexed_paths():
    schema = registry.get_executor("midaz.create-transaction").schema
    config = {
        "send": {
            "asset": "BRL",
            "value": "100.00",
            "source": {"from": [{"accountAlias": "@a"}, {"amount": {"value": "1,5"}}]},
        }
    }
    errors = schema_errors(schema, config)
    assert errors == {
        "send.source.from[1].accountAlias": "'accountAlias' is a required property",
        "send.source.from[1].amount.value": "'1,5' does not match '^[0-9]+(\\\\.[0-9]+)?$'",
    }


def test_formats_are_asserted_in_executor_schemas():
    schema = registry.get_executor("tracer.validate-transaction").schema
    config = {
        "requestId": "not-a-uuid",
        "transactionType": "PIX",
        "amount": "10.00",
        "currency": "BRL",
        "transactionTimestamp": "yesterday",
        "account": {"accountId": UUID, "type": "checking", "status": "active"},
    }
    errors = schema_errors(schema, config)
    assert set(errors) == {"requestId", "transactionTimestamp"}
    fixed = {**config, "requestId": UUID, "transactionTimestamp": "2026-05-01T10:00:00Z"}
    assert schema_errors(schema, fixed) == {}


def test_transform_json_checks_mappings_and_operations():
    schema = registry.get_executor("transform.json").schema
    valid = {
        "inputMapping": [
            {
                "source": "workflow.customerId",
                "target": "customer",
                "transformation": {"type": "add_prefix", "config": {"prefix": "C-"}},
            }
        ],
        "transforms": [{"operation": "default", "spec": {"status": "new"}}],
    }
    assert schema_errors(schema, valid) == {}
    invalid = {"inputMapping": [{"source": "workflow.a"}], "transforms": [{"operation": "eval"}]}
    assert set(schema_errors(schema, invalid)) == {
        "inputMapping[0].target",
        "transforms[0].operation",
        "transforms[0].spec",
    }


@pytest.mark.parametrize(
    ("trigger", "data", "errors"),
    [
        ("webhook", {"triggerType": "webhook", "path": "payments/received", "method": "POST"}, {}),
        ("webhook", {"path": "p", "method": "PUT", "verify_token": "t"}, {}),
        ("webhook", {"path": "p"}, {"method": "'method' is a required property"}),
        ("webhook", {"path": "", "method": "POST"}, {"path": "'' should be non-empty"}),
        ("webhook", {"path": "p", "method": "HEAD"}, {"method": None}),
        ("webhook", {"path": "p", "method": "POST", "secret": "x"}, {"secret": None}),
        ("manual", {}, {}),
        ("manual", {"triggerType": "manual"}, {}),
        ("manual", {"path": "p"}, {"path": None}),
    ],
)
def test_trigger_schemas(trigger, data, errors):
    found = schema_errors(registry.get_trigger(trigger).schema, data)
    assert set(found) == set(errors)
    for path, message in errors.items():
        if message is not None:
            assert found[path] == message


FRAUD = registry.get_template("payment-fraud-check").param_schema


@pytest.mark.parametrize(
    ("params", "paths"),
    [
        ({"workflowName": "payments", "fraudProviderConfigId": UUID}, set()),
        (
            {
                "workflowName": "payments",
                "workflowDescription": "d" * 500,
                "fraudProviderConfigId": UUID,
                "endpointName": "score",
                "threshold": Decimal("72.5"),
                "webhookPath": "payments/in",
                "webhookMethod": "POST",
                "verifyToken": "t",
            },
            set(),
        ),
        ({"fraudProviderConfigId": UUID}, {"workflowName"}),
        ({"workflowName": "", "fraudProviderConfigId": UUID}, {"workflowName"}),
        ({"workflowName": "w" * 101, "fraudProviderConfigId": UUID}, {"workflowName"}),
        (
            {"workflowName": "w", "fraudProviderConfigId": UUID, "workflowDescription": "d" * 501},
            {"workflowDescription"},
        ),
        ({"workflowName": "w"}, {"fraudProviderConfigId"}),
        ({"workflowName": "w", "fraudProviderConfigId": "fraud"}, {"fraudProviderConfigId"}),
        (
            {"workflowName": "w", "fraudProviderConfigId": UUID, "threshold": "80"},
            {"threshold"},
        ),
        (
            {"workflowName": "w", "fraudProviderConfigId": UUID, "webhookMethod": "GET"},
            {"webhookMethod"},
        ),
        ({"workflowName": "w", "fraudProviderConfigId": UUID, "threshhold": 1}, {"threshhold"}),
    ],
)
def test_payment_fraud_check_parameters(params, paths):
    assert set(schema_errors(FRAUD, params)) == paths


def test_payment_fraud_check_declares_the_guide_defaults():
    properties = FRAUD["properties"]
    assert properties["endpointName"]["default"] == "score-transaction"
    assert properties["threshold"]["default"] == 80
    assert properties["webhookPath"]["default"] == "payments/received"
    assert properties["webhookMethod"] == {"type": "string", "enum": ["POST"], "default": "POST"}


def test_tracer_midaz_validation_requires_both_provider_configurations():
    schema = registry.get_template("tracer-midaz-validation").param_schema
    assert set(schema_errors(schema, {"workflowName": "w"})) == {
        "tracerProviderConfigId",
        "midazProviderConfigId",
    }
    assert schema["properties"]["webhookPath"]["default"] == "/validate-and-transact"


SECRET_CASES = [
    (
        HTTP,
        {
            "base_url": "https://a.example.com",
            "headers": {"X-Trace": "trace-1", "X-Tenant": "acme-corp"},
            "authentication": {
                "type": "api_key",
                "config": {"key": "X-Api-Key", "value": "k-123456", "location": "header"},
            },
        },
        {
            "base_url": "https://a.example.com",
            "headers": {"X-Trace": "****ce-1", "X-Tenant": "****corp"},
            "authentication": {
                "type": "api_key",
                "config": {"key": "X-Api-Key", "value": "****3456", "location": "header"},
            },
        },
    ),
    (MIDAZ, GUIDE_MIDAZ_CONFIG, {**GUIDE_MIDAZ_CONFIG, "api_key": "****-xxx"}),
    (
        MIDAZ,
        MIDAZ_LONG_FORM,
        {**MIDAZ_LONG_FORM, "auth": {**MIDAZ_LONG_FORM["auth"], "client_secret": "********"}},
    ),
    (
        TRACER,
        {"base_url": "https://t.example.com", "api_key": "tr-secret-9"},
        {"base_url": "https://t.example.com", "api_key": "****et-9"},
    ),
]


@pytest.mark.parametrize(("schema", "config", "masked"), SECRET_CASES)
def test_write_only_fields_are_the_ones_masked(schema, config, masked):
    from flowker.sealing import mask_document

    assert mask_document(config, schema) == masked
