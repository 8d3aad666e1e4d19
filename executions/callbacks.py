"""Signed completion callbacks: when an execution reaches a terminal status its workflow's
callback lists, Flowker POSTs `{executionId, workflowId, status, finalOutput | error,
completedAt}` to the callback URL, signed
`X-Flowker-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.

Durable like the executions' own hand-off: the terminal transition writes the outbox row
(`ExecutionCallback`) in its own transaction (`enqueue`), a task sends it on commit, failed
attempts are re-sent with backoff up to FLOWKER_CALLBACK_MAX_ATTEMPTS, and beat re-sends any
pending row nobody is sending (a crash between commit and send loses nothing). A row is sent by
one worker at a time (a lease on the row), and once a receiver answered 2xx it is never sent
again. Every request goes through the outbound transport: address policy checked on the
address connected to, timeouts, no redirects followed.
"""

import datetime
import hashlib
import hmac
import ipaddress
import logging
import time
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from executions.choices import CALLBACK_EVENTS, CallbackStatus, ExecutionStatus
from executions.models import Execution, ExecutionCallback
from executors.runtime import policy, transport
from flowker import jsoncodec
from flowker.celery import app
from flowker.errors import FlowkerError
from flowker.sealing import unseal
from flowker.timefmt import format_timestamp

logger = logging.getLogger("flowker.callbacks")

DELIVER_TASK = "executions.deliver_callback"
SIGNATURE_HEADER = "X-Flowker-Signature"
REFUSED = "FLK-0513"
# A sending worker's hold on a row, beyond the request's own timeout.
LEASE_MARGIN_SECONDS = 30


# --- At start: where the callback goes ------------------------------------------------------


def _host_allowed(host: str) -> bool:
    host = host.lower().rstrip(".")
    for allowed in settings.FLOWKER_CALLBACK_ALLOWED_HOSTS:
        allowed = allowed.strip().lower().rstrip(".")
        if allowed.startswith("*."):
            if host.endswith(allowed[1:]):
                return True
        elif allowed and host == allowed:
            return True
    return False


def _checked_header_url(url: str) -> str:
    """A `Callback-URL` header: http(s), a host the setting allows, and not an address or name
    the outbound policy refuses. (A name is checked again on the address it resolves to when
    the callback is sent.)"""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on an invalid port
    except ValueError as exc:
        raise FlowkerError(REFUSED, f"Callback-URL is not a valid URL: {exc}") from exc
    if len(url) > 2000 or parts.scheme.lower() not in ("http", "https") or not host:
        raise FlowkerError(REFUSED, "Callback-URL must be an http or https URL with a host")
    if not _host_allowed(host):
        raise FlowkerError(
            REFUSED,
            f"Callback-URL host {host} is not allowed (FLOWKER_CALLBACK_ALLOWED_HOSTS)",
        )
    reason = policy.classify_host_name(host, allow_private=policy.allow_private())
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and reason is None:
        reason = policy.classify_address(address, allow_private=policy.allow_private())
    if reason:
        raise FlowkerError(REFUSED, f"Callback-URL refused by the outbound policy: {reason}")
    return url


def callback_target(*, workflow: Any, header_url: str | None) -> dict[str, Any] | None:
    """The execution's callback target {url, secret (sealed), events}, or None. A start
    request's `Callback-URL` replaces the workflow's URL; it needs the workflow's callback
    secret to sign with (400 FLK-0513 otherwise)."""
    config = workflow.callback
    if header_url is not None:
        url = _checked_header_url(header_url)
        if not config:
            raise FlowkerError(
                REFUSED,
                "Callback-URL needs the workflow to declare a callback (its secret signs it)",
            )
    elif not config or not config.get("url"):
        return None
    else:
        url = config["url"]
    return {
        "url": url,
        "secret": config["secret"],
        "events": config.get("events") or CALLBACK_EVENTS,
    }


# --- At the terminal transition: the outbox row ----------------------------------------------


def payload(execution: Execution) -> dict[str, Any]:
    body: dict[str, Any] = {
        "executionId": str(execution.pk),
        "workflowId": str(execution.workflow_id),
        "status": execution.status,
    }
    if execution.status == ExecutionStatus.COMPLETED:
        body["finalOutput"] = execution.output_data
    elif execution.status == ExecutionStatus.FAILED:
        body["error"] = execution.error
    body["completedAt"] = format_timestamp(execution.completed_at)
    return body


def enqueue(execution: Execution) -> None:
    """Called inside the transaction that stored `execution`'s terminal status: write its
    outbox row if the callback lists that status, and send it once that commits."""
    target = execution.callback_target
    if not target or execution.status not in target.get("events", ()):
        return
    delivery = ExecutionCallback.objects.create(
        execution=execution,
        event=execution.status,
        url=target["url"],
        secret=target["secret"],
        body=jsoncodec.dumps(payload(execution)),
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(partial(_send_task, delivery.pk), robust=True)


def _send_task(delivery_id: Any, eta: datetime.datetime | None = None) -> None:
    app.send_task(DELIVER_TASK, args=[str(delivery_id)], eta=eta, retry=False)


# --- Sending ---------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Flowker-Signature value for `body` sent at `timestamp`."""
    message = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _backoff(attempts: int) -> float:
    wait = settings.FLOWKER_CALLBACK_BACKOFF_SECONDS * 2 ** (attempts - 1)
    return min(wait, settings.FLOWKER_CALLBACK_BACKOFF_MAX_SECONDS)


def _take(delivery_id: Any) -> ExecutionCallback | None:
    """Lease a due pending row, or None when it is not due, done, or being sent."""
    now = timezone.now()
    hold = settings.FLOWKER_CALLBACK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS
    taken = (
        ExecutionCallback.objects.filter(
            pk=delivery_id, status=CallbackStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .update(lease_expires_at=now + datetime.timedelta(seconds=hold))
    )
    return ExecutionCallback.objects.get(pk=delivery_id) if taken else None


def _post(delivery: ExecutionCallback) -> tuple[int | None, str, bool]:
    """One request: (status code, error, retryable)."""
    body = delivery.body.encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(str(unseal(delivery.secret)), int(time.time()), body),
        "X-Flowker-Event": delivery.event,
        "X-Flowker-Delivery": str(delivery.pk),
        "Idempotency-Key": f"callback:{delivery.execution_id}",
    }
    try:
        response = transport.exchange(
            "POST",
            delivery.url,
            headers=headers,
            data=body,
            timeout=settings.FLOWKER_CALLBACK_TIMEOUT_SECONDS,
        )
    except policy.OutboundPolicyError as exc:
        return None, str(exc), False
    except transport.TransportError as exc:
        return None, str(exc), True
    if 200 <= response.status < 300:
        return response.status, "", False
    return response.status, f"the receiver answered {response.status}", True


def callback_deliver(*, delivery_id: Any) -> str | None:
    """Send one attempt of a due callback and record it; returns the row's new status, or None
    when the row was not ours to send."""
    delivery = _take(delivery_id)
    if delivery is None:
        return None
    started = time.monotonic()
    try:
        status_code, error, retryable = _post(delivery)
    except Exception:
        logger.exception("callback attempt failed unexpectedly", extra={"delivery": delivery.pk})
        status_code, error, retryable = None, "unexpected error while sending", True
    now = timezone.now()
    attempt = {
        "number": len(delivery.attempts) + 1,
        "at": format_timestamp(now),
        "statusCode": status_code,
        "durationMs": int((time.monotonic() - started) * 1000),
    }
    if error:
        attempt["error"] = error
    delivery.attempts = [*delivery.attempts, attempt]
    delivery.last_status_code = status_code
    delivery.lease_expires_at = None
    if not error:
        delivery.status, delivery.delivered_at = CallbackStatus.DELIVERED, now
    elif not retryable or len(delivery.attempts) >= settings.FLOWKER_CALLBACK_MAX_ATTEMPTS:
        delivery.status = CallbackStatus.FAILED
        logger.warning(
            "callback given up",
            extra={"delivery": str(delivery.pk), "attempts": len(delivery.attempts)},
        )
    else:
        delivery.next_attempt_at = now + datetime.timedelta(
            seconds=_backoff(len(delivery.attempts))
        )
    with transaction.atomic():
        delivery.save(
            update_fields=[
                "attempts",
                "last_status_code",
                "lease_expires_at",
                "status",
                "delivered_at",
                "next_attempt_at",
            ]
        )
        if delivery.status == CallbackStatus.PENDING:
            transaction.on_commit(
                partial(_send_task, delivery.pk, eta=delivery.next_attempt_at), robust=True
            )
    return delivery.status


def callbacks_resend() -> int:
    """Beat: send again every pending row that is due (past a grace, so a task already on its
    way is not doubled) and that no worker holds — rows whose task was lost to a crash between
    commit and send, or to a broker outage."""
    now = timezone.now()
    grace = now - datetime.timedelta(seconds=settings.FLOWKER_DISPATCH_GRACE_SECONDS)
    due = (
        ExecutionCallback.objects.filter(status=CallbackStatus.PENDING, next_attempt_at__lte=grace)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .values_list("id", flat=True)
    )
    count = 0
    for delivery_id in due:
        try:
            _send_task(delivery_id)
        except Exception as exc:  # the broker is down: the next sweep tries again
            logger.warning("could not re-send callback %s: %s", delivery_id, exc)
            break
        count += 1
    if count:
        logger.info("callbacks re-sent", extra={"count": count})
    return count


# --- Reading ---------------------------------------------------------------------------------


def callback_state(execution: Execution) -> dict[str, Any] | None:
    """`callback` of GET /v1/executions/{id}: {status, attempts, lastStatusCode}, or None when
    the execution has no callback. `waiting` until the execution ends; `skipped` when it ended
    in a status the callback does not list."""
    target = execution.callback_target
    if not target:
        return None
    delivery = ExecutionCallback.objects.filter(execution=execution).first()
    if delivery is not None:
        return {
            "status": delivery.status,
            "attempts": len(delivery.attempts),
            "lastStatusCode": delivery.last_status_code,
        }
    status = "skipped" if execution.is_terminal else "waiting"
    return {"status": status, "attempts": 0, "lastStatusCode": None}
