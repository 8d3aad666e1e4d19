"""ANY /v1/webhooks/{path}: starts the workflow whose active route matches METHOD + path.

Order (CONTRACT §9): size limit, then the route and its authentication (verify token, else
API key; no route → 404 for a key holder, 401 for anyone else), all before the body is read.
"""

import functools
import hmac
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from executions.api import START_HEADERS, start_response
from executions.serializers import ExecutionCreatedSerializer, ExecutionResultsSerializer
from flowker import jsoncodec
from flowker.actors import Actor, actor_from_request, client_ip
from flowker.api.openapi import errors
from flowker.api.views import FlowkerAPIView
from flowker.errors import FlowkerError
from flowker.metrics import WEBHOOK_REQUESTS
from flowker.sealing import is_sealed, mask_document, unseal
from webhooks.models import WebhookRoute
from webhooks.selectors import webhook_route_get
from webhooks.services import normalise_path, webhook_path_problem
from webhooks.signatures import webhook_signature_verify
from webhooks.throttling import webhook_token_failure_record, webhook_token_throttle_check

HIDDEN_HEADERS = frozenset({"authorization", "x-api-key", "x-webhook-token"})


@functools.lru_cache(maxsize=256)
def _unsealed_token(sealed: str) -> str:
    """A sealed token's plain text; the ciphertext names it, so an edited or rotated token is
    another entry and nothing needs invalidating (Fernet decryption is not repeated per call)."""
    return str(unseal(jsoncodec.loads(sealed)))


def _plain_token(token: Any) -> str:
    if not is_sealed(token):
        return str(unseal(token))
    return _unsealed_token(jsoncodec.canonical(token))


def _unauthorized() -> FlowkerError:
    """The same answer whether or not the route exists (no path enumeration), saying what to
    check."""
    return FlowkerError(
        "UNAUTHORIZED",
        "API key missing or invalid, or no webhook registered for this method and path",
    )


def webhook_metadata(request: Any, path: str) -> dict[str, Any]:
    """`_webhook`: method, path as received, headers (canonical names, credentials removed,
    sensitive names masked), query (last value wins, sensitive names masked as headers are)
    and the caller's IP."""
    headers = {
        name: value for name, value in request.headers.items() if name.lower() not in HIDDEN_HEADERS
    }
    return {
        "method": request.method,
        "path": path,
        "headers": mask_document(headers),
        "query": mask_document({key: request.GET[key] for key in request.GET}),
        "remote_ip": client_ip(request),
    }


def _parse_body(request: Any) -> dict[str, Any]:
    raw = request.body
    if not raw:
        return {}
    content_type = (request.content_type or "").lower()
    if not (content_type == "application/json" or content_type.endswith("+json")):
        raise FlowkerError("FLK-0001", "invalid request body: expected application/json")
    try:
        body = jsoncodec.loads(raw.decode("utf-8"))
    except jsoncodec.UnsafeJSON as exc:
        raise FlowkerError("FLK-0001", f"invalid request body: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise FlowkerError("FLK-0001", "invalid request body: malformed JSON") from exc
    if not isinstance(body, dict):
        raise FlowkerError("FLK-0001", "invalid request body: expected a JSON object")
    return body


SIGNATURE_HEADERS = [
    OpenApiParameter(
        "X-Signature",
        str,
        OpenApiParameter.HEADER,
        description="hmac-sha256 scheme: hex HMAC-SHA256 of `<timestamp>.<raw body>`",
    ),
    OpenApiParameter(
        "X-Signature-Timestamp",
        str,
        OpenApiParameter.HEADER,
        description="hmac-sha256 scheme: Unix seconds that were signed",
    ),
    OpenApiParameter(
        "Stripe-Signature",
        str,
        OpenApiParameter.HEADER,
        description="stripe scheme: `t=<unix>,v1=<hex>` (several v1 while rotating)",
    ),
]

SCHEMA: dict[str, Any] = {
    "description": (
        "Starts the active workflow whose webhook trigger registered this method and path. "
        "Authenticated by `X-Webhook-Token` when the trigger has a verify token and/or by a "
        "signature of the raw body when it has `signature` (both must pass when both are set), "
        "else by `X-API-Key`. Signatures: scheme `hmac-sha256` sends hex(HMAC-SHA256(secret, "
        '"<timestamp>.<raw body>")) in `X-Signature` (optionally `sha256=`-prefixed) and the '
        "Unix timestamp in `X-Signature-Timestamp` (header names configurable); scheme "
        "`stripe` sends `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`. A missing or wrong "
        "signature is 401 FLK-0364; a timestamp outside the tolerance or a replayed signature "
        "is 401 FLK-0365. The JSON body becomes the execution input, with `_webhook` metadata "
        "added. `Prefer: wait=N` answers with the results when the execution ends in time; "
        "`Callback-URL` sends the signed completion callback there."
    ),
    "tags": ["Webhooks"],
    "parameters": [
        *SIGNATURE_HEADERS,
        *START_HEADERS,
        OpenApiParameter("X-Webhook-Token", str, OpenApiParameter.HEADER),
        OpenApiParameter(
            "traceparent",
            str,
            OpenApiParameter.HEADER,
            description=(
                "W3C trace context. When tracing is on, the execution's spans join the "
                "caller's trace, and the provider calls carry it on."
            ),
        ),
    ],
    "request": {"application/json": {"type": "object"}},
    "responses": {
        201: ExecutionCreatedSerializer,
        200: OpenApiResponse(ExecutionResultsSerializer, description="Replay, or results"),
        **errors(400, 404, 413, 422, 429, 503),
    },
}


def webhook_outcome(response: Any) -> str:
    """The word `flowker_webhook_requests_total` counts a webhook answer under."""
    status = response.status_code
    if status in (200, 201):
        return "replayed" if response.get("Idempotent-Replayed") == "true" else "accepted"
    return {
        400: "invalid_body",
        401: "unauthorized",
        404: "not_found",
        413: "too_large",
        429: "unauthorized",
        503: "shed",
    }.get(status, "rejected")


class WebhookView(FlowkerAPIView):
    permission_classes = [AllowAny]
    max_body_bytes = settings.FLOWKER_MAX_INPUT_BYTES
    body_too_large = ("FLK-0363", "webhook request body exceeds 1 MiB")
    route_label = "unmatched"  # the matched route as "METHOD path", once there is one

    @staticmethod
    def refused_before_view(request: Any, response: Any) -> None:
        """A body over the limit is refused by the middleware before the route is looked up."""
        WEBHOOK_REQUESTS.labels("unmatched", webhook_outcome(response)).inc()

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        WEBHOOK_REQUESTS.labels(self.route_label, webhook_outcome(response)).inc()
        return response

    def _signed(self, request: Any, route: WebhookRoute, normalised: str) -> Actor:
        """A route with a `signature` (webhooks/signatures.py): a valid one authenticates the
        caller; failures count toward the same per-address limit as wrong tokens."""
        caller = client_ip(request)
        webhook_token_throttle_check(route_id=route.pk, ip=caller)
        try:
            webhook_signature_verify(route=route, request=request)
        except FlowkerError:
            webhook_token_failure_record(route_id=route.pk, ip=caller)
            raise
        return Actor(type="webhook", id=f"{route.method} {normalised}", ip=caller)

    def _authenticate(self, request: Any, route: WebhookRoute | None, normalised: str) -> Actor:
        has_key = request.auth is not None or settings.FLOWKER_AUTH_DISABLED
        if route is None:
            if has_key:
                raise FlowkerError("FLK-0361", "no webhook registered for this path and method")
            raise _unauthorized()
        if route.signature is not None and route.verify_token is None:
            return self._signed(request, route, normalised)
        if route.verify_token is not None:
            caller = client_ip(request)
            webhook_token_throttle_check(route_id=route.pk, ip=caller)
            sent = request.headers.get("X-Webhook-Token", "")
            expected = _plain_token(route.verify_token)
            # An empty stored token (saved before the schema required one) opens nothing.
            if not expected or not hmac.compare_digest(
                sent.encode("utf-8"), expected.encode("utf-8")
            ):
                webhook_token_failure_record(route_id=route.pk, ip=caller)
                raise FlowkerError("FLK-0362", "invalid or missing webhook verification token")
            if route.signature is not None:  # with both, both must pass
                return self._signed(request, route, normalised)
            return Actor(type="webhook", id=f"{route.method} {normalised}", ip=caller)
        if not has_key:
            raise _unauthorized()
        return actor_from_request(request)

    def handle(self, request: Any, path: str) -> Response:
        normalised = normalise_path(path)
        # A path no route can have (`..`, `//`, NUL...) is not looked up: it has no route.
        # (`path` is what follows /v1/webhooks/, so a leading `/` is an empty segment.)
        route = (
            None
            if path.startswith("/") or webhook_path_problem(normalised)
            else webhook_route_get(method=request.method, path=normalised)
        )
        if route is not None:
            self.route_label = f"{route.method} {route.path}"
        actor = self._authenticate(request, route, normalised)
        body = _parse_body(request)
        workflow = route.workflow
        return start_response(
            request=request,
            workflow=workflow,
            input_data={**body, "_webhook": webhook_metadata(request, path)},
            digest_source=body,
            actor=actor,
            headers=lambda execution: {
                "X-Webhook-Workflow-ID": str(workflow.pk),
                "X-Webhook-Execution-ID": str(execution.pk),
            },
        )

    @extend_schema(operation_id="triggerWebhookPost", summary="Trigger a webhook (POST)", **SCHEMA)
    def post(self, request: Any, path: str) -> Response:
        return self.handle(request, path)

    @extend_schema(operation_id="triggerWebhookGet", summary="Trigger a webhook (GET)", **SCHEMA)
    def get(self, request: Any, path: str) -> Response:
        return self.handle(request, path)

    @extend_schema(operation_id="triggerWebhookPut", summary="Trigger a webhook (PUT)", **SCHEMA)
    def put(self, request: Any, path: str) -> Response:
        return self.handle(request, path)

    @extend_schema(
        operation_id="triggerWebhookPatch", summary="Trigger a webhook (PATCH)", **SCHEMA
    )
    def patch(self, request: Any, path: str) -> Response:
        return self.handle(request, path)

    @extend_schema(
        operation_id="triggerWebhookDelete", summary="Trigger a webhook (DELETE)", **SCHEMA
    )
    def delete(self, request: Any, path: str) -> Response:
        return self.handle(request, path)
