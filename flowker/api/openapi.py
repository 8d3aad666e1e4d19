"""OpenAPI pieces shared by every view: the error envelope and list envelopes."""

from http import HTTPStatus
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="FLK-xxxx, or UNAUTHORIZED")
    title = serializers.CharField(help_text="HTTP reason phrase")
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Field path → reason"
    )

    class Meta:
        ref_name = "Error"


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses for extend_schema(responses=...); 401 and 500 are always possible."""
    wanted = sorted({*statuses, 401, 500})
    return {
        status: OpenApiResponse(ErrorSerializer, description=HTTPStatus(status).phrase)
        for status in wanted
    }


def paginated(item_serializer: type[serializers.Serializer], name: str) -> Any:
    """A `{items, nextCursor, hasMore}` envelope around `item_serializer`."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "items": item_serializer(many=True),
            "nextCursor": serializers.CharField(help_text="'' when hasMore is false"),
            "hasMore": serializers.BooleanField(),
        },
    )
