"""No stored secret comes back out. A full scenario stores a known secret in every secret field
the catalog has (each authentication type of the HTTP provider, Tracer's and Midaz's keys, a
header map, a webhook verify token), gets OAuth tokens from a stub token endpoint, runs
executions (one against a provider that echoes the request's credentials in its error body,
one whose base URL carries an API key in its query string) and connectivity tests; then every
API response, every console page an operator can open, every log line, audit row, execution
and step column, and the stored configurations are searched for the secrets: no hit."""

import json
import logging
import re

import pytest
from django.contrib import admin
from django.core import serializers

from executions.engine import runner
from executions.models import Execution, ExecutionStep
from flowker.audit.models import AuditEvent
from providers.models import ProviderConfiguration
from tests.support.stub_server import StubResponse, StubServer

pytestmark = pytest.mark.django_db

MARK = "Zq9xW"
SECRETS = {
    name: f"sekret-{name}-{MARK}"
    for name in (
        "header-map",
        "api-key-header",
        "api-key-query",
        "url-query-key",
        "bearer",
        "basic-password",
        "cc-client-secret",
        "user-client-secret",
        "user-password",
        "tracer-key",
        "midaz-key",
        "midaz-client-secret",
        "verify-token",
        "oauth-access-token",
        "oidc-issued-token",
    )
}
FOUND = re.compile(rf"sekret-[a-z-]+-{MARK}")


def _echo(request):
    """A provider that answers an error quoting everything it was sent."""
    return StubResponse(
        400,
        {
            "error": "bad credentials",
            "headers": dict(request.headers),
            "query": request.query,
            "body": request.raw_body.decode("utf-8", "replace"),
        },
    )


def _token(request):
    token = SECRETS["oauth-access-token"]
    if "password" in request.raw_body.decode():
        token = SECRETS["oidc-issued-token"]
    return StubResponse(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})


@pytest.fixture
def stub():
    with StubServer() as server:
        server.on("GET", "/score", StubResponse(200, {"score": 12}))
        server.on("POST", "/score", StubResponse(200, {"score": 12}))
        server.on("GET", "/echo", _echo)
        server.on("POST", "/echo", _echo)
        server.on("POST", "/token", _token)
        server.on(
            "GET",
            "/.well-known/openid-configuration",
            lambda request: StubResponse(
                200, {"issuer": server.url, "token_endpoint": server.url + "/token"}
            ),
        )
        for path in ("/", "/health", "/v1/organizations", "/v1/health"):
            server.on("GET", path, StubResponse(200, {"ok": True}))
        yield server


def _http(name, url, authentication=None, **extra):
    config = {"base_url": url, **extra}
    if authentication:
        config["authentication"] = authentication
    return {"name": name, "providerId": "http", "config": config}


def _provider_bodies(url):
    token_url = url + "/token"
    return [
        _http("headers", url, headers={"X-Partner-Secret": SECRETS["header-map"]}),
        _http(
            "api-key-header",
            url,
            {"type": "api_key", "config": {"key": "X-Api-Key", "value": SECRETS["api-key-header"]}},
        ),
        _http(
            "api-key-query",
            url,
            {
                "type": "api_key",
                "config": {
                    "key": "api_key",
                    "value": SECRETS["api-key-query"],
                    "location": "query",
                },
            },
        ),
        _http("bearer", url, {"type": "bearer", "config": {"token": SECRETS["bearer"]}}),
        _http(
            "basic",
            url,
            {"type": "basic", "config": {"username": "u", "password": SECRETS["basic-password"]}},
        ),
        _http(
            "client-credentials",
            url,
            {
                "type": "oidc_client_credentials",
                "config": {
                    "tokenURL": token_url,
                    "clientID": "flowker",
                    "clientSecret": SECRETS["cc-client-secret"],
                },
            },
        ),
        _http(
            "user",
            url,
            {
                "type": "oidc_user",
                "config": {
                    "issuer_url": url,
                    "clientID": "flowker",
                    "clientSecret": SECRETS["user-client-secret"],
                    "username": "alice",
                    "password": SECRETS["user-password"],
                },
            },
        ),
        {
            "name": "tracer",
            "providerId": "tracer",
            "config": {"base_url": url, "api_key": SECRETS["tracer-key"]},
        },
        {
            "name": "midaz-short",
            "providerId": "midaz",
            "config": {"base_url": url, "api_key": SECRETS["midaz-key"]},
        },
        {
            "name": "midaz-long",
            "providerId": "midaz",
            "config": {
                "onboarding_base_url": url,
                "transaction_base_url": url,
                "organization_id": "019c96a0-0ac0-7de9-9f53-9cf842a2ee5a",
                "ledger_id": "019c96a0-0ac0-7de9-9f53-9cf842a2ee5b",
                "auth": {
                    "issuer_url": url,
                    "client_id": "flowker",
                    "client_secret": SECRETS["midaz-client-secret"],
                },
            },
        },
    ]


def _workflow(name, provider_id, path, *, method="GET"):
    return {
        "name": f"scan-{name}",
        "nodes": [
            {
                "id": "start",
                "type": "trigger",
                "data": {
                    "triggerType": "webhook",
                    "path": f"scan/{name}",
                    "method": "POST",
                    "verify_token": SECRETS["verify-token"],
                },
            },
            {
                "id": "call",
                "type": "executor",
                "data": {"providerConfigId": provider_id, "path": path, "method": method},
            },
        ],
        "edges": [{"id": "e1", "source": "start", "target": "call"}],
    }


class Recorder:
    """Every response body the scenario saw."""

    def __init__(self, client):
        self.client = client
        self.seen: list[str] = []

    def __call__(self, method, path, body=None, **headers):
        response = getattr(self.client, method)(path, body, format="json", **headers)
        self.seen.append(f"{method.upper()} {path} {response.status_code} " + _text(response))
        return response


def _text(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", "replace") + " " + json.dumps(dict(response.items()))


def _scenario(api, stub):
    # A base URL carrying an API key in its query string is refused, without quoting the key.
    refused = api(
        "post",
        "/v1/provider-configurations",
        _http("url-query-key", stub.url + "/?apikey=" + SECRETS["url-query-key"]),
    )
    assert refused.status_code == 400 and refused.json()["code"] == "FLK-0302", refused.content
    providers = {}
    for body in _provider_bodies(stub.url):
        created = api("post", "/v1/provider-configurations", body)
        assert created.status_code == 201, created.content
        providers[body["name"]] = created.json()["id"]
        api("post", f"/v1/provider-configurations/{providers[body['name']]}/test")
    executions = []
    for name, provider_id in providers.items():
        if not name.startswith(
            ("headers", "api-key", "url-query", "bearer", "basic", "client", "user")
        ):
            continue
        for path in ("/score", "/echo"):
            label = f"{name}{path.replace('/', '-')}"
            created = api("post", "/v1/workflows", _workflow(label, provider_id, path))
            assert created.status_code == 201, created.content
            workflow_id = created.json()["workflowId"]
            activated = api("post", f"/v1/workflows/{workflow_id}/activate")
            assert activated.status_code == 200, activated.content
            api("get", f"/v1/workflows/{workflow_id}")
            started = api(
                "post",
                f"/v1/webhooks/scan/{label}",
                {"amount": 10},
                HTTP_X_WEBHOOK_TOKEN=SECRETS["verify-token"],
            )
            assert started.status_code in (200, 201, 202), started.content
            execution_id = started.json()["executionId"]
            while runner.run(execution_id) != runner.DONE:
                pass
            executions.append(execution_id)
            # A wrong token, and the right one on another route: refusals quote nothing.
            api("post", f"/v1/webhooks/scan/{label}", {}, HTTP_X_WEBHOOK_TOKEN="wrong")
    return providers, executions


def _read_everything(api, providers, executions):
    for provider_id in providers.values():
        api("get", f"/v1/provider-configurations/{provider_id}")
    api("get", "/v1/provider-configurations?limit=100")
    api("get", "/v1/workflows?limit=100")
    api("get", "/v1/executors?limit=100")
    api("get", "/v1/executions?limit=100")
    for execution_id in executions:
        api("get", f"/v1/executions/{execution_id}")
        api("get", f"/v1/executions/{execution_id}/results")
    cursor = ""
    while True:
        page = api("get", f"/v1/audit-events?limit=100{'&cursor=' + cursor if cursor else ''}")
        body = page.json()
        for event in body["items"]:
            api("get", f"/v1/audit-events/{event['eventId']}")
        if not body["hasMore"]:
            break
        cursor = body["nextCursor"]


def _console_pages(operator_client) -> list[str]:
    pages = []
    for model, _model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        paths = [base, base + "add/"]
        paths += [f"{base}{pk}/change/" for pk in model.objects.values_list("pk", flat=True)[:50]]
        for path in paths:
            response = operator_client.get(path)
            assert response.status_code in (200, 302, 403), (path, response.status_code)
            pages.append(f"{path} {_text(response)}")
    for path in ("/admin/", "/admin/dashboards/", "/admin/audit/auditevent/?all="):
        pages.append(f"{path} {_text(operator_client.get(path))}")
    return pages


def _hits(texts) -> list[str]:
    hits = []
    for text in texts:
        for match in FOUND.finditer(text):
            start = max(match.start() - 120, 0)
            hits.append(text[start : match.end() + 40])
    return hits


def test_no_secret_comes_back_out(client_api, operator_client, stub, caplog, capfd, settings):
    caplog.set_level(logging.DEBUG)
    api = Recorder(client_api)

    providers, executions = _scenario(api, stub)
    _read_everything(api, providers, executions)
    pages = _console_pages(operator_client)

    # The scenario really exercised the secrets: the stub received each credential.
    import base64

    received = json.dumps([[r.headers, r.query, r.raw_body.decode()] for r in stub.requests()])
    received += json.dumps(
        [
            base64.b64decode(r.header("Authorization")[6:]).decode()
            for r in stub.requests()
            if (r.header("Authorization") or "").startswith("Basic ")
        ]
    )
    for name in ("header-map", "api-key-header", "api-key-query", "bearer", "basic-password"):
        assert SECRETS[name] in received, name
    assert SECRETS["oauth-access-token"] in received and SECRETS["oidc-issued-token"] in received
    assert len(executions) == 14
    assert ExecutionStep.objects.filter(status="failed", execution_id__in=executions).count() == 7

    stored = serializers.serialize(
        "json",
        [
            *Execution.objects.all(),
            *ExecutionStep.objects.all(),
            *AuditEvent.objects.all(),
            *ProviderConfiguration.objects.all(),
        ],
    )
    out, err = capfd.readouterr()
    logs = [
        record.getMessage() + json.dumps(record.__dict__, default=str) for record in caplog.records
    ]
    places = {
        "API responses": api.seen,
        "console pages": pages,
        "log lines": [*logs, out, err],
        "stored rows (executions, steps, audit, provider configurations)": [stored],
    }
    found = {place: _hits(texts) for place, texts in places.items()}
    assert not any(found.values()), json.dumps({k: v[:5] for k, v in found.items() if v}, indent=1)
