"""What every /v1 view shares: path ids parsed as UUIDs (FLK-0002), query helpers."""

import uuid
from typing import Any

from django.db import models
from rest_framework.views import APIView

from flowker.errors import FlowkerError
from flowker.timefmt import parse_timestamp


def parse_uuid(value: Any, *, what: str = "ID") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise FlowkerError("FLK-0002", f"invalid {what}") from exc


# The base of every API view. Path kwargs ending in `id` must be UUIDs, else 400 FLK-0002.
# (A comment, not a docstring: drf-spectacular would publish a docstring as every
# operation's description.)
class FlowkerAPIView(APIView):
    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not hasattr(self, request.method.lower()):
            return  # dispatch answers 405; an unsupported method is not a bad id
        for name, value in kwargs.items():
            if name == "id" or name.endswith("_id"):
                self.kwargs[name] = parse_uuid(value)


def enum_param(params: Any, name: str, choices: type[models.TextChoices]) -> str | None:
    """An enum filter: absent → None; unknown value → 400 FLK-0304 naming the allowed ones."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise FlowkerError("FLK-0304", f"invalid {name}, must be one of: {allowed}")
    return value


def timestamp_param(params: Any, name: str, *, code: str = "FLK-0304") -> Any:
    value = params.get(name)
    if value is None or value == "":
        return None
    parsed = parse_timestamp(value)
    if parsed is None:
        raise FlowkerError(code, f"invalid {name} format, expected RFC3339")
    return parsed


def json_body(request: Any) -> Any:
    """The parsed JSON body of a request that must have one (empty → 400 FLK-0001)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        raise FlowkerError("FLK-0001", "invalid request body: empty")
    return request.data
