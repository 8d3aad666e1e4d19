"""The FLK error envelope: one shape for every error the server produces.

`exception_handler` turns domain errors (`flowker.errors.FlowkerError`, answered with the status
of their code), DRF's own exceptions, dependency outages and unexpected errors into
`{"code","title","message"[,"fields"]}`.
"""

import logging
from http import HTTPStatus
from typing import Any

import kombu.exceptions
import redis.exceptions
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions

from flowker.api.validation import flatten_validation_errors
from flowker.errors import FlowkerError, Overloaded, StateRefusal, TooManyAttempts

logger = logging.getLogger("flowker.errors")

# Dependency outages: answered 503 FLK-0006 with Retry-After, never 500.
DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
RETRY_AFTER_SECONDS = 5


# The HTTP status of each domain error code; every other code is a 400.
STATUS_BY_CODE: dict[str, int] = {
    "UNAUTHORIZED": 401,
    "FLK-0003": 404,
    "FLK-0004": 405,
    "FLK-0005": 413,
    "FLK-0006": 503,
    "FLK-0100": 404,
    "FLK-0101": 409,
    "FLK-0102": 422,
    "FLK-0103": 422,
    "FLK-0104": 404,
    "FLK-0112": 422,
    "FLK-0116": 422,
    "FLK-0119": 422,
    "FLK-0200": 404,
    "FLK-0201": 422,
    "FLK-0210": 404,
    "FLK-0230": 404,
    "FLK-0240": 404,
    "FLK-0242": 422,
    "FLK-0250": 404,
    "FLK-0251": 409,
    "FLK-0252": 422,
    "FLK-0290": 404,
    "FLK-0291": 409,
    "FLK-0292": 422,
    "FLK-0293": 422,
    "FLK-0294": 404,
    "FLK-0340": 422,
    "FLK-0341": 422,
    # A lost transition race, one code per resource (CONTRACT §0).
    "FLK-0350": 409,
    "FLK-0351": 409,
    "FLK-0352": 409,
    "FLK-0353": 409,
    "FLK-0361": 404,
    "FLK-0362": 401,
    "FLK-0363": 413,
    # Signed webhooks: missing/invalid signature; stale timestamp or replayed signature.
    "FLK-0364": 401,
    "FLK-0365": 401,
    "FLK-0401": 403,
    "FLK-0500": 404,
    "FLK-0501": 422,
    "FLK-0502": 422,
    "FLK-0506": 413,
    "FLK-0510": 422,
    "FLK-0511": 422,
    # Callback-URL header refused (host not allowed, or the outbound policy refuses it).
    "FLK-0513": 400,
    "FLK-0600": 404,
    "FLK-9999": 500,
}


def status_for(code: str) -> int:
    """The HTTP status a domain error with this code answers."""
    return STATUS_BY_CODE.get(code, 400)


def error_body(
    code: str, message: str, status: int, fields: dict[str, str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "title": HTTPStatus(status).phrase, "message": message}
    if fields:
        body["fields"] = fields
    return body


def error_response(
    code: str,
    message: str,
    status: int,
    *,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    """A plain Django response in the envelope, for code paths outside DRF views."""
    response = JsonResponse(error_body(code, message, status, fields), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def envelope_for(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Map any exception to (status, envelope, headers). Logs what is unexpected."""
    if isinstance(exc, TooManyAttempts):
        return (
            429,
            error_body(exc.code, exc.message, 429, exc.fields),
            {"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, Overloaded):
        return 503, error_body(exc.code, exc.message, 503), {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, StateRefusal):
        return 422, error_body(exc.code, exc.message, 422, exc.fields), {}
    if isinstance(exc, FlowkerError):
        status = status_for(exc.code)
        return status, error_body(exc.code, exc.message, status, exc.fields), {}
    if isinstance(exc, drf_exceptions.ValidationError):
        code, fields = flatten_validation_errors(exc.detail)
        message = "request validation failed" if code != "FLK-0001" else "invalid request body"
        return 400, error_body(code, message, 400, fields), {}
    if isinstance(exc, drf_exceptions.ParseError):
        return 400, error_body("FLK-0001", f"invalid request body: {exc.detail}", 400), {}
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return 400, error_body("FLK-0001", "invalid request body", 400), {}
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        return (
            401,
            error_body("UNAUTHORIZED", "API Key missing or invalid", 401),
            {"WWW-Authenticate": "X-API-Key"},
        )
    if isinstance(exc, drf_exceptions.PermissionDenied | PermissionDenied):
        return 403, error_body("FLK-0401", "action not permitted", 403), {}
    if isinstance(exc, drf_exceptions.NotFound | Http404):
        return 404, error_body("FLK-0003", "resource not found", 404), {}
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return 405, error_body("FLK-0004", str(exc.detail), 405), {}
    if isinstance(exc, RequestDataTooBig):
        return 413, error_body("FLK-0005", "request body too large (max 4 MiB)", 413), {}
    if isinstance(exc, DEPENDENCY_ERRORS):
        logger.warning("dependency unavailable", extra={"error": type(exc).__name__})
        return (
            503,
            error_body("FLK-0006", "a dependency is unavailable; retry later", 503),
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, drf_exceptions.Throttled):
        return 429, error_body("FLK-0302", str(exc.detail), 429), {}
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
    else:
        logger.exception("unexpected error")
    return 500, error_body("FLK-9999", "internal server error", 500), {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    """DRF's EXCEPTION_HANDLER: every exception raised in an API view ends here."""
    from rest_framework.response import Response

    status, body, headers = envelope_for(exc)
    response = Response(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response
