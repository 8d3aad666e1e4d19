"""Tracing: one trace from a webhook request through the Celery task to every node and provider
call. The web side runs in this process with an in-memory span exporter; the worker is a real
`celery worker` exporting over OTLP/HTTP to a stub collector; the two halves join by trace id.
And, off by default, tracing imports nothing of OpenTelemetry."""

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rest_framework.test import APIClient

from executions.models import ExecutionStep
from flowker import tracing
from tests.e2e.conftest import REPO, Worker
from tests.e2e.helpers import activate, wait_all_terminal, wait_terminal
from tests.factories import make_provider_config, with_webhook
from tests.guide import parallel_workflow
from tests.support.stub_server import StubResponse, StubServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TOKEN = "hook-token-not-in-spans"
MARKER = "card-4111-not-in-spans"


@pytest.fixture
def collector() -> Iterator[StubServer]:
    """A stub OTLP/HTTP collector: it keeps what the worker exports."""
    with StubServer() as stub:
        stub.on("POST", "/v1/traces", StubResponse(200))
        yield stub


@pytest.fixture
def traced_worker(worker, collector, tmp_path, settings) -> Iterator[Worker]:
    settings.FLOWKER_EXECUTION_QUEUE = "traced"
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_SERVICE_NAME": "flowker-worker",
    }
    traced = Worker(tmp_path, "traced", beat=False, concurrency=1, queue="traced", env=env)
    yield traced
    traced.stop()


@pytest.fixture
def web_spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.setup(exporter=exporter)
    yield exporter
    tracing.shutdown()
    connections.close_all()  # the next connection is opened without the psycopg tracer


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _exported(collector: StubServer) -> list[dict[str, Any]]:
    spans = []
    for request in collector.requests("POST", "/v1/traces"):
        batch = ExportTraceServiceRequest()
        batch.ParseFromString(request.raw_body)
        for resource in batch.resource_spans:
            for scope in resource.scope_spans:
                spans += [
                    {
                        "name": span.name,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_id": span.parent_span_id.hex() or None,
                        "attributes": {a.key: _value(a.value) for a in span.attributes},
                    }
                    for span in scope.spans
                ]
    return spans


def _in_memory(exporter: InMemorySpanExporter) -> list[dict[str, Any]]:
    return [
        {
            "name": span.name,
            "trace_id": format(span.context.trace_id, "032x"),
            "span_id": format(span.context.span_id, "016x"),
            "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
            "attributes": dict(span.attributes or {}),
        }
        for span in exporter.get_finished_spans()
    ]


def span_tree(spans: list[dict[str, Any]], *, sql: bool = False) -> str:
    """The spans as an indented tree (SQL spans counted, not listed, unless `sql`)."""
    ids = {span["span_id"] for span in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans:
        parent = span["parent_id"] if span["parent_id"] in ids else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def show(span: dict[str, Any], depth: int) -> None:
        kids = children.get(span["span_id"], [])
        queries = [k for k in kids if "db.system" in k["attributes"]]
        shown = {k: v for k, v in span["attributes"].items() if k.startswith("flowker.")}
        status = span["attributes"].get("http.response.status_code") or span["attributes"].get(
            "http.status_code"
        )
        if status:
            shown["status"] = status
        extra = f"  ({len(queries)} SQL)" if queries and not sql else ""
        lines.append(f"{'  ' * depth}{span['name']}  {shown if shown else ''}{extra}".rstrip())
        for kid in kids:
            if sql or kid not in queries:
                show(kid, depth + 1)

    for root in children.get(None, []):
        show(root, 0)
    return "\n".join(lines)


def _wait_exported(collector: StubServer, names: set[str], timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        spans = _exported(collector)
        if names <= {span["name"] for span in spans} or time.monotonic() > deadline:
            return spans
        time.sleep(0.1)


def test_one_trace_from_the_webhook_through_the_task_to_each_node_and_provider_call(
    traced_worker, web_spans, collector, stub_server, client_api
):
    stub_server.on("POST", "/fraud", StubResponse(200, {"score": 12}, delay=0.2))
    stub_server.on("POST", "/kyc", StubResponse(200, {"level": 3}, delay=0.2))
    provider = make_provider_config(base_url=stub_server.url)
    body = parallel_workflow(provider.pk)
    body["nodes"][0]["data"]["triggerType"] = "webhook"
    body = with_webhook(body, path="checks/traced", verify_token=TOKEN)
    workflow_id = activate(client_api, body)

    caller = APIClient()  # built after tracing started: its middleware chain has the tracer
    response = caller.post(
        "/v1/webhooks/checks/traced?apiKey=query-secret",
        {"card": MARKER},
        format="json",
        HTTP_X_WEBHOOK_TOKEN=TOKEN,
        HTTP_TRACEPARENT=f"00-{TRACE_ID}-{CALLER_SPAN}-01",
    )
    assert response.status_code == 201, response.content
    assert response["X-Request-ID"] == TRACE_ID  # the logs' request id is the trace id
    execution_id = response.json()["executionId"]
    results = wait_terminal(client_api, execution_id)
    assert results["status"] == "completed", results
    wait_all_terminal()

    nodes = {"fraud executor", "kyc executor", "decide conditional", "approve action"}
    worker_spans = _wait_exported(collector, nodes | {"reject action", "run/executions.run"})
    spans = [s for s in _in_memory(web_spans) + worker_spans if s["trace_id"] == TRACE_ID]
    by_id = {span["span_id"]: span for span in spans}
    named = {span["name"]: span for span in spans}
    print("\n" + span_tree(spans))

    # webhook (child of the caller's span) → apply_async → the task → every node
    [webhook] = [s for s in spans if s["parent_id"] == CALLER_SPAN]
    assert webhook["name"].startswith("POST")
    publish = named["apply_async/executions.run"]
    task = named["run/executions.run"]
    assert publish["parent_id"] == webhook["span_id"]
    assert task["parent_id"] == publish["span_id"]
    assert task["attributes"]["flowker.execution.id"] == execution_id
    assert task["attributes"]["flowker.workflow.id"] == workflow_id
    for name in [*nodes, "reject action"]:
        node = named[name]
        assert node["parent_id"] == task["span_id"], name
        assert node["attributes"]["flowker.execution.id"] == execution_id
        assert node["attributes"]["flowker.workflow.id"] == workflow_id
    assert named["reject action"]["attributes"]["flowker.step.status"] == "skipped"

    # node → provider call → its HTTP span, whose traceparent the provider received
    for node_id in ("fraud", "kyc"):
        node = named[f"{node_id} executor"]
        assert node["attributes"]["flowker.step.status"] == "completed"
        [call] = [
            s
            for s in spans
            if s["parent_id"] == node["span_id"] and s["name"] == "provider call POST"
        ]
        assert call["attributes"]["http.response.status_code"] == 200
        [http] = [s for s in spans if s["parent_id"] == call["span_id"]]
        [received] = stub_server.requests("POST", f"/{node_id}")
        assert received.header("traceparent") == f"00-{TRACE_ID}-{http['span_id']}-01"
        assert by_id[http["parent_id"]] is call

    # never a secret, a query string or a body in any attribute
    for span in spans:
        for value in span["attributes"].values():
            text = str(value)
            assert TOKEN not in text and MARKER not in text and "query-secret" not in text


def test_tracing_off_imports_nothing_of_opentelemetry():
    """With neither OTEL_EXPORTER_OTLP_ENDPOINT nor FLOWKER_TRACING, the web application and
    the engine load without Flowker importing its tracer, instrumentations or exporters.
    (redis-py 8 imports OpenTelemetry's metrics API by itself once the package is installed.)"""
    script = (
        "import sys, flowker.wsgi, executions.engine.runner, executors.runtime.call\n"
        "from flowker import tracing\n"
        "ours = ('opentelemetry.sdk.trace', 'opentelemetry.instrumentation', "
        "'opentelemetry.exporter', 'opentelemetry.propagate')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(ours))\n"
        "print(tracing.ACTIVE, loaded)\n"
    )
    env = {
        key: value
        for key, value in __import__("os").environ.items()
        if not key.startswith("OTEL_") and key != "FLOWKER_TRACING"
    }
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False []"


def test_a_stripe_signed_webhook_runs_two_calls_at_once_and_is_called_back_in_one_trace(
    traced_worker, web_spans, collector, stub_server, client_api, settings
):
    """Issue 9's four edges together: a payment system signs its webhook the Stripe way and
    names a Callback-URL; the workflow forks into two provider calls that overlap; the signed
    callback reaches the receiver; and the trace runs from the caller's span to both calls."""
    from tests.e2e.test_callbacks import verify_flowker_signature
    from tests.e2e.test_signed_webhooks import SigningCaller, sign

    settings.FLOWKER_CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    stub_server.on("POST", "/fraud", StubResponse(200, {"score": 12}, delay=0.3))
    stub_server.on("POST", "/kyc", StubResponse(200, {"level": 3}, delay=0.3))
    stub_server.on("POST", "/decisions", StubResponse(204))
    provider = make_provider_config(base_url=stub_server.url)
    body = parallel_workflow(provider.pk)
    body["nodes"][0]["data"]["triggerType"] = "webhook"
    secret = "whsec_edges_5d1e"
    body = with_webhook(body, path="checks/edges", signature={"scheme": "stripe", "secret": secret})
    body["callback"] = {"secret": "cb-edges-secret", "events": ["completed", "failed"]}
    activate(client_api, body)

    stamp = int(time.time())
    payload = b'{"card": "' + MARKER.encode() + b'", "amount": 1500.00}'
    response = SigningCaller("/v1/webhooks/checks/edges").post(
        payload,
        HTTP_STRIPE_SIGNATURE=f"t={stamp},v1={sign(secret, stamp, payload)}",
        HTTP_CALLBACK_URL=stub_server.url_for("/decisions"),
        HTTP_TRACEPARENT=f"00-{TRACE_ID}-{CALLER_SPAN}-01",
    )
    assert response.status_code == 201, response.content
    execution_id = response.json()["executionId"]

    [callback] = stub_server.wait_for(1, "POST", "/decisions", timeout=30)
    assert verify_flowker_signature(
        "cb-edges-secret", callback.header("X-Flowker-Signature"), callback.raw_body
    )
    assert callback.body["executionId"] == execution_id
    assert callback.body["status"] == "completed"
    results = wait_terminal(client_api, execution_id)
    assert results["status"] == "completed", results
    calls = {
        step.node_id: step
        for step in ExecutionStep.objects.filter(execution_id=execution_id, node_type="executor")
    }
    fraud, kyc = calls["fraud"], calls["kyc"]  # the two calls overlapped
    assert fraud.started_at < kyc.completed_at and kyc.started_at < fraud.completed_at
    wait_all_terminal()

    names = {"fraud executor", "kyc executor", "decide conditional", "run/executions.run"}
    worker_spans = _wait_exported(collector, names)
    spans = [s for s in _in_memory(web_spans) + worker_spans if s["trace_id"] == TRACE_ID]
    print("\n" + span_tree(spans))
    [webhook] = [s for s in spans if s["parent_id"] == CALLER_SPAN]
    named = {span["name"]: span for span in spans}
    assert named["run/executions.run"]["attributes"]["flowker.execution.id"] == execution_id
    for node_id in ("fraud", "kyc"):
        assert named[f"{node_id} executor"]["parent_id"] == named["run/executions.run"]["span_id"]
        [received] = stub_server.requests("POST", f"/{node_id}")
        assert received.header("traceparent").startswith(f"00-{TRACE_ID}-")
    assert webhook["name"].startswith("POST")
