"""OpenTelemetry tracing: one trace from a webhook (or API) request through the Celery task to
every node and provider call.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set (spans go there over OTLP/HTTP; the standard
`OTEL_*` variables tune the exporter) or `FLOWKER_TRACING=console` (spans printed on stdout).
When off nothing of OpenTelemetry is imported: `span()` hands back one shared no-op context
manager and the other helpers return at their first line.

Set up once per process that serves or works: the web process before its middleware is loaded
(`flowker.wsgi`), each Celery pool process after the fork (`worker_process_init`). Only the W3C
`traceparent`/`tracestate` headers are read from callers and sent to providers (no baggage).
Spans carry ids, names, statuses and FLK codes; never a secret, a header value or a body: the
URLs they record lose their query string and credentials."""

import os
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ACTIVE = False  # read on every hot path: a module global, not a function call
_NO_SPAN: AbstractContextManager[Any] = nullcontext()
_state: dict[str, Any] = {}


def configured_mode() -> str:
    """ "off", "console" or "otlp", from the environment (settings document the same)."""
    chosen = os.environ.get("FLOWKER_TRACING", "").strip().lower()
    if chosen in ("off", "console", "otlp"):
        return chosen
    return "otlp" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() else "off"


def bare_url(url: str) -> str:
    """scheme://host[:port]/path: no credentials, no query (it may carry an API key)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return ""


def _strip_outbound(span: Any, request: Any) -> None:
    """requests instrumentation hook: record the provider URL without its query."""
    if span.is_recording():
        bare = bare_url(getattr(request, "url", "") or "")
        span.set_attribute("http.url", bare)
        span.set_attribute("url.full", bare)


def _strip_inbound(span: Any, request: Any) -> None:
    """Django instrumentation hook: the request's URL without its query string."""
    if span.is_recording():
        meta = request.META
        path = request.path
        origin = f"{request.scheme}://{meta.get('SERVER_NAME', '')}:{meta.get('SERVER_PORT', '')}"
        span.set_attribute("http.target", path)
        span.set_attribute("http.url", bare_url(origin + path))
        span.set_attribute("url.query", "")


def setup(*, exporter: Any = None) -> bool:
    """Start tracing in this process when configured (or with `exporter`, for tests); True
    when it is on. Idempotent."""
    global ACTIVE
    if ACTIVE:
        return True
    mode = "test" if exporter is not None else configured_mode()
    if mode == "off":
        return False
    from opentelemetry import propagate
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    service = os.environ.get("OTEL_SERVICE_NAME", "flowker")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if mode == "test":
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif mode == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    # Only W3C trace context crosses process boundaries: a caller's baggage is not taken in.
    propagate.set_global_textmap(TraceContextTextMapPropagator())
    instrumentors = [
        (DjangoInstrumentor(), {"request_hook": _strip_inbound, "is_sql_commentor_enabled": False}),
        (CeleryInstrumentor(), {}),
        (RequestsInstrumentor(), {"request_hook": _strip_outbound}),
        (PsycopgInstrumentor(), {"enable_commenter": False}),
    ]
    for instrumentor, options in instrumentors:
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider, **options)
    _state.update(
        provider=provider,
        tracer=provider.get_tracer("flowker"),
        instrumentors=[instrumentor for instrumentor, _ in instrumentors],
    )
    ACTIVE = True
    return True


def shutdown() -> None:
    """Flush and stop (tests, and processes that want their last spans sent)."""
    global ACTIVE
    if not ACTIVE:
        return
    ACTIVE = False
    for instrumentor in _state.pop("instrumentors", []):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    _state.pop("tracer", None)
    _state.pop("provider").shutdown()


def span(name: str, attributes: dict[str, Any] | None = None) -> AbstractContextManager[Any]:
    """A child span of the current one (None inside when tracing is off)."""
    if not ACTIVE:
        return _NO_SPAN
    return _state["tracer"].start_as_current_span(name, attributes=attributes)


def annotate(attributes: dict[str, Any]) -> None:
    """Set attributes on the current span (e.g. the Celery task's)."""
    if not ACTIVE:
        return
    from opentelemetry import trace

    current = trace.get_current_span()
    if current.is_recording():
        current.set_attributes({k: v for k, v in attributes.items() if v is not None})


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None (off, or outside any span)."""
    if not ACTIVE:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
