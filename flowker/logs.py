"""Structured logging: the current request id on every line (the trace id, when tracing is on
and the caller sent no X-Request-ID), and `trace_id` on every line written inside a span;
secrets never written."""

import contextvars
import logging

from flowker import tracing

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "flowker_request_id", default=None
)


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        if tracing.ACTIVE and not hasattr(record, "trace_id"):
            trace_id = tracing.current_trace_id()
            if trace_id:
                record.trace_id = trace_id
        return True
