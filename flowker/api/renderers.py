"""Responses are always JSON, whatever `Accept` says, with decimals written exactly."""

from typing import Any

from rest_framework import renderers
from rest_framework.negotiation import BaseContentNegotiation

from flowker import jsoncodec


class JSONRenderer(renderers.BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None):
        if data is None:
            return b""
        return jsoncodec.dumps(data).encode("utf-8")


class AlwaysJSONNegotiation(BaseContentNegotiation):
    """Never 406: the API speaks JSON only."""

    def select_parser(self, request: Any, parsers: list) -> Any:
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        for parser in parsers:
            if content_type == parser.media_type or content_type.endswith("+json"):
                return parser
        return None

    def select_renderer(self, request: Any, renderers: list, format_suffix: Any = None) -> Any:
        renderer = renderers[0]
        return renderer, renderer.media_type
