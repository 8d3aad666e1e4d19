"""JSON request bodies with exact decimals; anything that is not JSON, or nests deeper than
jsoncodec.MAX_DEPTH, or holds NaN/Infinity, is FLK-0001."""

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from flowker import jsoncodec


class JSONParser(parsers.BaseParser):
    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        if not raw:
            raise ParseError("empty request body")
        try:
            return jsoncodec.loads(raw.decode("utf-8"))
        except jsoncodec.UnsafeJSON as exc:
            raise ParseError(str(exc)) from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError("malformed JSON") from exc
