"""The provider connectivity test (CONTRACT §5, upstream-engine §7): three stages against the
base URL (+ path), the last two with the configuration's real credentials."""

import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from executors.runtime.auth import OAuthAuthenticator, TokenError
from executors.runtime.connections import Connection, connection_for
from executors.runtime.http import OutboundRequest, TransportError, send
from executors.runtime.policy import NameResolutionError, OutboundPolicyError, check_destination
from executors.runtime.redaction import redact_url
from executors.runtime.urls import join_url
from flowker import timefmt
from flowker.errors import FlowkerError

SUMMARIES = {
    "passed": "All tests passed - provider configuration connectivity verified",
    "failed": "All tests failed - provider configuration needs review",
    "partial": "Some tests failed - review failed stages before use",
}


# What a failed stage says beside its `error`, so every stage carries the same fields.
FAILED_MESSAGES = {
    "connectivity": "Provider is not reachable",
    "authentication": "Authentication failed",
    "end_to_end": "Request/response cycle failed",
}


def _stage(
    name: str,
    status: str,
    started: float,
    *,
    message: str | None = None,
    details: dict[str, Any] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    stage: dict[str, Any] = {
        "name": name,
        "status": status,
        "durationMs": int((time.monotonic() - started) * 1000),
    }
    if status == "failed" and not message:
        message = FAILED_MESSAGES[name]
    if message:
        stage["message"] = message
    if details is not None:
        stage["details"] = details
    if error:
        stage["error"] = error
    return stage


def _skipped(name: str, message: str) -> dict[str, Any]:
    return {"name": name, "status": "skipped", "durationMs": 0, "message": message}


def _stage_timeout() -> float:
    return float(settings.FLOWKER_CONNECTIVITY_TIMEOUT_SECONDS)


def _has_scheme_and_host(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return bool(parts.scheme and parts.hostname) and parts.port != 0
    except ValueError:
        return False


def _usable_url(base_url: str, path: str) -> str:
    if not base_url:
        raise FlowkerError(
            "FLK-0340",
            "provider configuration config missing required field 'base_url'",
        )
    if not _has_scheme_and_host(base_url):
        raise FlowkerError(
            "FLK-0340",
            "provider configuration base_url is not a URL with scheme and host",
        )
    return join_url(base_url, path)


def _preflight(destinations: list[tuple[str, str]]) -> None:
    """Refuse the test before anything is sent when a destination breaks the outbound policy."""
    for label, url in destinations:
        try:
            check_destination(url)
        except (OutboundPolicyError, NameResolutionError) as exc:
            raise FlowkerError(
                "FLK-0341",
                f"provider configuration {label} targets a restricted destination: {exc}",
            ) from exc


def _connectivity_stage(connection: Connection, url: str) -> dict[str, Any]:
    started = time.monotonic()
    request = OutboundRequest(
        "GET", url, timeout=_stage_timeout(), verify_tls=connection.verify_tls
    )
    try:
        response = send(request)
    except TransportError as exc:
        return _stage("connectivity", "failed", started, error=f"request failed: {exc}")
    details = {
        "statusCode": response.status,
        "responseTimeMs": response.duration_ms,
        "url": redact_url(url),
    }
    if 200 <= response.status < 500:
        return _stage(
            "connectivity", "passed", started, message="Provider is reachable", details=details
        )
    return _stage(
        "connectivity",
        "failed",
        started,
        details=details,
        error=f"unexpected status code: {response.status}",
    )


def _authentication_stage(connection: Connection, path: str) -> dict[str, Any]:
    authenticator = connection.authenticator
    if authenticator.auth_type == "none":
        return _skipped("authentication", "No authentication credentials configured")
    started = time.monotonic()
    details: dict[str, Any] = {
        "authType": authenticator.auth_type,
        "headerCount": len(connection.headers),
    }
    try:
        if isinstance(authenticator, OAuthAuthenticator):
            authenticator.fresh_token()
        response = send(
            connection.request("GET", path, timeout=_stage_timeout()), authenticator=authenticator
        )
    except TokenError as exc:
        details["statusCode"] = exc.status_code
        return _stage(
            "authentication",
            "failed",
            started,
            details=details,
            error=f"token request failed: {exc}",
        )
    except TransportError as exc:
        return _stage(
            "authentication", "failed", started, details=details, error=f"request failed: {exc}"
        )
    details.update(statusCode=response.status, responseTimeMs=response.duration_ms)
    status = response.status
    if response.ok:
        return _stage(
            "authentication",
            "passed",
            started,
            message="Authentication successful",
            details=details,
        )
    if status in (401, 403):
        error = f"authentication rejected: status {status}"
    elif status >= 500:
        error = f"server error during authentication: status {status}"
    else:
        return _stage(
            "authentication",
            "passed",
            started,
            message="Authentication accepted (endpoint returned non-auth error)",
            details=details,
        )
    return _stage("authentication", "failed", started, details=details, error=error)


def _end_to_end_stage(connection: Connection, path: str) -> dict[str, Any]:
    started = time.monotonic()
    try:
        response = send(
            connection.request("GET", path, timeout=_stage_timeout()),
            authenticator=connection.authenticator,
        )
    except TokenError as exc:
        return _stage("end_to_end", "failed", started, error=f"token request failed: {exc}")
    except TransportError as exc:
        return _stage("end_to_end", "failed", started, error=f"request failed: {exc}")
    details = {
        "statusCode": response.status,
        "responseTimeMs": response.duration_ms,
        "responseBodyLen": response.size,
        "contentType": response.headers.get("Content-Type", ""),
    }
    if response.ok:
        return _stage(
            "end_to_end",
            "passed",
            started,
            message="Full request/response cycle completed successfully",
            details=details,
        )
    return _stage(
        "end_to_end",
        "failed",
        started,
        details=details,
        error=f"request returned status {response.status}",
    )


def _run_stages(connection: Connection, url: str, path: str) -> list[dict[str, Any]]:
    connectivity = _connectivity_stage(connection, url)
    if connectivity["status"] == "failed":
        reason = "Skipped due to connectivity failure"
        return [connectivity, _skipped("authentication", reason), _skipped("end_to_end", reason)]
    authentication = _authentication_stage(connection, path)
    if authentication["status"] == "failed":
        reason = "Skipped due to authentication failure"
        return [connectivity, authentication, _skipped("end_to_end", reason)]
    return [connectivity, authentication, _end_to_end_stage(connection, path)]


def _overall(stages: list[dict[str, Any]]) -> str:
    statuses = [stage["status"] for stage in stages if stage["status"] != "skipped"]
    if "failed" not in statuses:
        return "passed"
    if "passed" not in statuses:
        return "failed"
    return "partial"


def connectivity_test(
    provider_id: str, config: dict[str, Any], *, path: str = "", owner: str = ""
) -> dict[str, Any]:
    """Run the three stages against a decrypted provider configuration.

    Raises FlowkerError FLK-0340 (no usable base URL) or FLK-0341 (outbound policy refusal or
    unresolvable name) before anything is sent; a provider that cannot be reached is a failed
    stage, not an error.
    """
    try:
        connection = connection_for(provider_id, config, owner=owner)
    except ValueError as exc:
        raise FlowkerError(
            "FLK-0293", f"config validation failed against provider schema: {exc}"
        ) from exc
    url = _usable_url(connection.base_url, path)
    destinations = [("base_url", url)]
    destinations += [("token endpoint", e) for e in connection.authenticator.endpoints()]
    _preflight(destinations)
    started_at = timefmt.now()
    started = time.monotonic()
    try:
        stages = _run_stages(connection, url, path)
    except OutboundPolicyError as exc:
        # A redirect (or a discovered token endpoint) that the policy refuses.
        raise FlowkerError(
            "FLK-0341",
            f"provider configuration targets a restricted destination: {exc}",
        ) from exc
    overall = _overall(stages)
    return {
        "overallStatus": overall,
        "durationMs": int((time.monotonic() - started) * 1000),
        "stages": stages,
        "summary": SUMMARIES[overall],
        "startedAt": timefmt.format_timestamp(started_at),
        "completedAt": timefmt.format_timestamp(timefmt.now()),
    }
