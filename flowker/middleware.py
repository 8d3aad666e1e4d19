"""Outermost middleware: request id, access log, body-size limit, and the error envelope for
everything that escapes a view (Django 404/500 included)."""

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from flowker import tracing
from flowker.api.errors import envelope_for, error_response
from flowker.logs import request_id_var

access_log = logging.getLogger("flowker.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        if _REQUEST_ID.match(incoming):
            request_id = incoming
        else:
            request_id = (
                tracing.current_trace_id() if tracing.ACTIVE else None
            ) or uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            access_log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            request_id_var.reset(token)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        """Refuse a body over the view's limit before anything reads it. Views declare
        `max_body_bytes` and `body_too_large = (code, message)`; the default is 4 MiB. A view
        may also declare `refused_before_view(request, response)` to see the refusal."""
        view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
        limit = getattr(view_class, "max_body_bytes", settings.FLOWKER_MAX_BODY_BYTES)
        code, message = getattr(
            view_class, "body_too_large", ("FLK-0005", "request body too large (max 4 MiB)")
        )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            response = error_response(code, message, 413)
            refused = getattr(view_class, "refused_before_view", None)
            if refused is not None:
                refused(request, response)
            return response
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse:
        status, body, headers = envelope_for(exception)
        return error_response(
            body["code"], body["message"], status, fields=body.get("fields"), headers=headers
        )


class TrailingSlashMiddleware:
    """Routes are not strict about a trailing slash, as upstream's (Fiber): `/v1/executors/`
    is served as `/v1/executors`. Paths that exist with their slash (`/admin/`) are kept."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if len(path) > 1 and path.endswith("/") and not _resolves(path):
            stripped = path.rstrip("/")
            if stripped and _resolves(stripped):
                request.path = request.path[: len(request.path) - len(path)] + stripped
                request.path_info = stripped
        return self.get_response(request)


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    """handler404: unknown routes answer in the envelope too."""
    return error_response("FLK-0003", f"Cannot {request.method} {request.path}", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: never a traceback in the body."""
    return error_response("FLK-9999", "internal server error", 500)


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    """handler400: Django's own 400s (a body over the limit read outside a view is a 413)."""
    from django.core.exceptions import RequestDataTooBig

    if isinstance(exception, RequestDataTooBig):
        return error_response("FLK-0005", "request body too large (max 4 MiB)", 413)
    return error_response("FLK-0001", "bad request", 400)


def forbidden(request: HttpRequest, exception: Any = None, reason: str = "") -> HttpResponse:
    """handler403 and CSRF failures."""
    return error_response("FLK-0401", "action not permitted", 403)
