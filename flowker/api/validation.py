"""Turns DRF validation errors into the FLK code and the `fields` map of the envelope.

Precedence (CONTRACT §3): JSON type mismatches (FLK-0001) → unknown top-level fields
(FLK-0300) → field checks. Within field checks the code is the first failure in body order.
"""

from typing import Any

from rest_framework.exceptions import ErrorDetail

TYPE_MISMATCH = "type_mismatch"
UNKNOWN_FIELD = "unknown_field"
_MISSING = {"required", "null", "blank_required"}


def _walk(detail: Any, path: str, out: list[tuple[str, str, str]]) -> None:
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                _walk(value, path, out)
            elif isinstance(key, int):
                _walk(value, f"{path}[{key}]", out)
            else:
                _walk(value, f"{path}.{key}" if path else str(key), out)
    elif isinstance(detail, list):
        if detail and all(isinstance(item, ErrorDetail | str) for item in detail):
            first = detail[0]
            code = getattr(first, "code", None) or "invalid"
            out.append((path or "body", str(code), str(first)))
        else:
            for index, item in enumerate(detail):
                if item:
                    _walk(item, f"{path}[{index}]", out)
    elif detail:
        out.append((path or "body", str(getattr(detail, "code", "invalid")), str(detail)))


def _flk_code(code: str) -> str:
    if code.startswith("FLK-"):
        return code
    if code == TYPE_MISMATCH:
        return "FLK-0001"
    if code == UNKNOWN_FIELD:
        return "FLK-0300"
    if code in _MISSING:
        return "FLK-0301"
    return "FLK-0302"


def flatten_validation_errors(detail: Any) -> tuple[str, dict[str, str]]:
    """Return (FLK code, {json path: reason}) for a DRF ValidationError detail."""
    failures: list[tuple[str, str, str]] = []
    _walk(detail, "", failures)
    if not failures:
        return "FLK-0302", {}
    for kind in (TYPE_MISMATCH, UNKNOWN_FIELD):
        selected = [f for f in failures if f[1] == kind]
        if selected:
            return _flk_code(kind), {path: reason for path, _, reason in selected}
    return _flk_code(failures[0][1]), {path: reason for path, _, reason in failures}
