"""The one way Flowker calls a provider endpoint: the request is built through the provider's
`Connection` (its router hook when the executor builds its own URL), sent through the circuit
breaker, and its result sorted into a typed outcome that the engine (retry or give up) and the
executor test (pass or fail) read. Nothing here raises for a failed call."""

import datetime
import email.utils
import time
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from catalog import registry
from executors.resolution import ExecutorCall
from executors.runtime.auth import Authenticator, TokenError
from executors.runtime.breaker import BreakerOpen, CountsAsFailure, call_through_breaker
from executors.runtime.connections import Connection
from executors.runtime.http import (
    OutboundRequest,
    OutboundResponse,
    ResponseTooLarge,
    TransportError,
    send,
)
from executors.runtime.policy import NameResolutionError, OutboundPolicyError
from flowker import tracing

# Answers worth another attempt besides 5xx.
TRANSIENT_STATUSES = frozenset({408, 425, 429})
NO_BODY_METHODS = frozenset({"GET", "DELETE", "HEAD"})


@dataclass(frozen=True)
class PreparedCall:
    request: OutboundRequest
    authenticator: Authenticator
    success_codes: tuple[int, ...] | None = None  # None: any 2xx

    def is_success(self, status: int) -> bool:
        if self.success_codes:
            return status in self.success_codes
        return 200 <= status < 300


@dataclass(frozen=True)
class Succeeded:
    response: OutboundResponse
    duration_ms: int


@dataclass(frozen=True)
class Failed:
    """Final: retrying cannot help (an answer outside the success codes, a refused token, an
    oversized answer, an unusable configuration). `detail` is the bare reason, `message` says
    what failed."""

    code: str
    message: str
    detail: str
    status: int | None = None
    response: OutboundResponse | None = None
    duration_ms: int | None = None


@dataclass(frozen=True)
class Transient:
    """Worth another attempt (unreachable, timed out, 5xx/408/425/429, token endpoint down);
    `retry_after` is the provider's `Retry-After` in seconds, when it sent one."""

    error: str
    status: int | None
    retry_after: float | None
    response: OutboundResponse | None
    duration_ms: int
    timed_out: bool = False


@dataclass(frozen=True)
class Refused:
    """The outbound address policy refused the destination; nothing was sent."""

    detail: str


@dataclass(frozen=True)
class BreakerOpened:
    """The endpoint's circuit breaker is open; nothing was sent."""

    detail: str


Outcome = Succeeded | Failed | Transient | Refused | BreakerOpened


def node_call(
    *,
    call: ExecutorCall,
    connection: Connection,
    config: dict[str, Any],
    node_data: dict[str, Any],
    body: Any,
    query: dict[str, Any],
    headers: dict[str, Any],
    idempotency_key: str,
) -> PreparedCall:
    """The request of an executor node: the executor's route (the provider's router hook) or
    the base URL joined with the endpoint path; bodyless methods carry the body's scalars as
    query parameters. ValueError when the configuration or the data cannot make a URL."""
    router = registry.get_provider(call.executor.provider_id).router
    if call.path is None and router is not None:
        method, url = router(
            call.executor.id, config, node_data, body if isinstance(body, dict) else {}
        )
        path = ""
    else:
        method, url, path = call.method, None, call.path or ""
    query = {**(node_data.get("query") or {}), **query}
    if method in NO_BODY_METHODS:
        query = {**_scalars(body), **query}
        body = None
    codes = node_data.get("successStatusCodes")
    request = connection.request(
        method,
        path,
        url=url,
        headers={
            **(node_data.get("headers") or {}),
            **headers,
            "Idempotency-Key": idempotency_key,
        },
        query=query,
        body=body,
        timeout=float(call.timeout or node_data.get("timeoutSeconds") or connection.timeout),
    )
    return PreparedCall(
        request=request,
        authenticator=connection.authenticator,
        success_codes=tuple(int(code) for code in codes) if codes else None,
    )


def endpoint_call(
    *, connection: Connection, endpoint: dict[str, Any], body: Any, idempotency_key: str
) -> PreparedCall:
    """The request of an executor configuration's endpoint (the executor test's real call)."""
    request = connection.request(
        endpoint["method"],
        endpoint["path"],
        headers={"Idempotency-Key": idempotency_key},
        body=body,
        timeout=float(endpoint.get("timeoutSeconds") or connection.timeout),
    )
    return PreparedCall(request=request, authenticator=connection.authenticator)


def _scalars(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        return {}
    return {
        key: value
        for key, value in body.items()
        if value is not None and not isinstance(value, dict)
    }


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None when absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - timezone.now()).total_seconds())


class _TransientFailure(CountsAsFailure):
    """Raised inside the breaker so that it counts; turned into a `Transient` outcome."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        response: OutboundResponse | None = None,
        timed_out: bool = False,
    ) -> None:
        super().__init__(message)
        self.status, self.response, self.timed_out = status, response, timed_out


def _attempt(prepared: PreparedCall) -> OutboundResponse:
    try:
        response = send(prepared.request, authenticator=prepared.authenticator)
    except ResponseTooLarge:
        raise  # retrying would read the same body again
    except TransportError as exc:
        raise _TransientFailure(
            f"request failed ({exc.kind}): {exc}", timed_out=exc.kind == "timeout"
        ) from exc
    except NameResolutionError as exc:
        raise _TransientFailure(f"request failed: {exc}") from exc
    except TokenError as exc:
        if exc.transient:
            raise _TransientFailure(f"token request failed: {exc}", status=exc.status_code) from exc
        raise
    if response.status >= 500 or response.status in TRANSIENT_STATUSES:
        raise _TransientFailure(
            f"provider answered {response.status}", status=response.status, response=response
        )
    return response


def perform(prepared: PreparedCall, *, breaker_key: str | None = None) -> Outcome:
    """Send one attempt (through the breaker of `breaker_key`, when given) and classify it.
    When tracing, the attempt is a span whose HTTP child sends the provider `traceparent`."""
    if not tracing.ACTIVE:
        return _perform(prepared, breaker_key)
    method = prepared.request.method.upper()
    url = tracing.bare_url(prepared.request.url)
    attributes = {"http.request.method": method, "url.full": url}
    with tracing.span(f"provider call {method}", attributes) as span:
        outcome = _perform(prepared, breaker_key)
        status = getattr(outcome, "status", None)
        if isinstance(outcome, Succeeded):
            status = outcome.response.status
        span.set_attribute("flowker.call.outcome", outcome_word(outcome))
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        if isinstance(outcome, Failed):
            span.set_attribute("flowker.error.code", outcome.code)
        return outcome


def _perform(prepared: PreparedCall, breaker_key: str | None) -> Outcome:
    started = time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        if breaker_key is None:
            response = _attempt(prepared)
        else:
            response = call_through_breaker(
                breaker_key, lambda: _attempt(prepared), timeout=prepared.request.timeout or 0
            )
    except BreakerOpen as exc:
        return BreakerOpened(detail=str(exc))
    except OutboundPolicyError as exc:
        return Refused(detail=str(exc))
    except TokenError as exc:
        return Failed(
            code="FLK-0504",
            message=f"token request failed: {exc}",
            detail=str(exc),
            status=exc.status_code,
        )
    except ResponseTooLarge as exc:
        return Failed(code="FLK-0504", message=str(exc), detail=str(exc))
    except ValueError as exc:
        return Failed(code="FLK-0512", message=f"invalid configuration: {exc}", detail=str(exc))
    except _TransientFailure as failure:
        response = failure.response
        retry_after = None
        if response is not None:
            retry_after = retry_after_seconds(
                response.headers.get("Retry-After") or response.headers.get("retry-after")
            )
        return Transient(
            error=str(failure),
            status=failure.status,
            retry_after=retry_after,
            response=response,
            duration_ms=elapsed(),
            timed_out=failure.timed_out,
        )
    if not prepared.is_success(response.status):
        return Failed(
            code="FLK-0504",
            message=f"provider answered {response.status}",
            detail=f"provider answered {response.status}",
            status=response.status,
            response=response,
            duration_ms=elapsed(),
        )
    return Succeeded(response=response, duration_ms=elapsed())


def outcome_word(outcome: Outcome) -> str:
    """How metrics name an attempt's outcome: success, http_4xx, http_5xx, timeout,
    connection_error, refused_by_policy or breaker_open."""
    if isinstance(outcome, BreakerOpened):
        return "breaker_open"
    if isinstance(outcome, Refused):
        return "refused_by_policy"
    if isinstance(outcome, Succeeded):
        return "success"
    if isinstance(outcome, Transient) and outcome.timed_out:
        return "timeout"
    if outcome.status is None:
        return "connection_error"
    return "http_5xx" if outcome.status >= 500 else "http_4xx"


def reached_network_seconds(outcome: Outcome) -> float | None:
    """The attempt's duration when it reached the network, else None."""
    duration = getattr(outcome, "duration_ms", None)
    return None if duration is None else duration / 1000
