"""GET /v1/audit-events, /v1/audit-events/{id} and /v1/audit-events/{id}/verify."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from flowker.api.openapi import errors, paginated
from flowker.api.pagination import KeysetPaginator
from flowker.api.views import FlowkerAPIView, enum_param, parse_uuid, timestamp_param
from flowker.audit import selectors, services
from flowker.audit.choices import Action, EventType, ResourceType, Result
from flowker.audit.serializers import AuditEventSerializer, ChainVerificationSerializer
from flowker.errors import FlowkerError

_LIST_PARAMS = [
    OpenApiParameter("eventType", enum=EventType.values),
    OpenApiParameter("action", enum=Action.values),
    OpenApiParameter("result", enum=Result.values),
    OpenApiParameter("resourceType", enum=ResourceType.values),
    OpenApiParameter("resourceId", str, description="UUID of the resource"),
    OpenApiParameter("dateFrom", str, description="RFC 3339, inclusive"),
    OpenApiParameter("dateTo", str, description="RFC 3339, inclusive"),
    OpenApiParameter("limit", int, description="1–100, default 10"),
    OpenApiParameter("cursor", str),
    OpenApiParameter("sortBy", enum=["timestamp"]),
    OpenApiParameter("sortOrder", enum=["ASC", "DESC"]),
]


class AuditEventListView(FlowkerAPIView):
    @extend_schema(
        operation_id="listAuditEvents",
        summary="List audit events",
        description=(
            "The tamper-evident audit trail, filtered by event type, resource, actor or time "
            "range, with cursor pagination."
        ),
        tags=["Audit"],
        parameters=_LIST_PARAMS,
        responses={200: paginated(AuditEventSerializer, "AuditEventList"), **errors(400)},
    )
    def get(self, request: Any) -> Response:
        params = request.query_params
        filters: dict[str, Any] = {
            "eventType": enum_param(params, "eventType", EventType),
            "action": enum_param(params, "action", Action),
            "result": enum_param(params, "result", Result),
            "resourceType": enum_param(params, "resourceType", ResourceType),
            "dateFrom": timestamp_param(params, "dateFrom", code="FLK-0305"),
            "dateTo": timestamp_param(params, "dateTo", code="FLK-0305"),
        }
        if params.get("resourceId"):
            filters["resourceId"] = parse_uuid(params["resourceId"], what="resourceId")
        if filters["dateFrom"] and filters["dateTo"] and filters["dateFrom"] > filters["dateTo"]:
            raise FlowkerError("FLK-0308", "dateFrom must be before dateTo")
        paginator = KeysetPaginator(
            params=params,
            sort_fields={"timestamp": "created_at"},
            default_sort="timestamp",
            filters=filters,
        )
        page = paginator.paginate(selectors.audit_event_list(filters=filters))
        return Response(page.as_response(lambda e: AuditEventSerializer(e).data))


class AuditEventDetailView(FlowkerAPIView):
    @extend_schema(
        operation_id="getAuditEvent",
        summary="Get an audit event",
        description=(
            "One audit event: who did what to which resource, when, from which address, and its "
            "chain hash."
        ),
        tags=["Audit"],
        responses={200: AuditEventSerializer, **errors(400, 404)},
    )
    def get(self, request: Any, id: Any) -> Response:
        event = selectors.audit_event_get(event_id=id)
        return Response(AuditEventSerializer(event).data)


class AuditEventVerifyView(FlowkerAPIView):
    @extend_schema(
        operation_id="verifyAuditEvent",
        summary="Verify the audit chain up to an event",
        description=(
            "Recomputes the hash of every event up to this one and says whether the chain is "
            "intact, naming the first event that does not match. The recomputation starts at "
            "the latest checkpoint at or before this event (re-checking that event) rather "
            "than at the first event, and a valid chain records a checkpoint here; "
            "`manage.py verify_audit_chain` recomputes the whole chain."
        ),
        tags=["Audit"],
        responses={200: ChainVerificationSerializer, **errors(400, 404)},
    )
    def get(self, request: Any, id: Any) -> Response:
        event = selectors.audit_event_get(event_id=id)
        result = services.audit_verify(event=event)
        body: dict[str, Any] = {"isValid": result.is_valid, "totalChecked": result.total_checked}
        if result.first_invalid_id:
            body["firstInvalidId"] = result.first_invalid_id
        body["message"] = result.message
        return Response(body)
