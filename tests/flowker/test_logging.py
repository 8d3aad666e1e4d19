"""Structured access logs: one JSON line per request with its request id; no secrets."""

import json
import logging

import pytest
from pythonjsonlogger.json import JsonFormatter

from flowker.logs import RequestContextFilter

pytestmark = pytest.mark.django_db


def _access_records(caplog):
    return [r for r in caplog.records if r.name == "flowker.access"]


def test_each_request_logs_method_path_status_duration_and_request_id(client_api, caplog):
    with caplog.at_level(logging.INFO, logger="flowker.access"):
        response = client_api.get("/v1/audit-events?limit=5", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    (record,) = _access_records(caplog)
    assert record.method == "GET"
    assert record.path == "/v1/audit-events"  # never the query string
    assert record.status == 200
    assert record.duration_ms >= 0
    assert record.request_id == "abc-123"


def test_request_id_is_generated_when_absent_or_unsafe(client_api, caplog):
    with caplog.at_level(logging.INFO, logger="flowker.access"):
        response = client_api.get("/version", HTTP_X_REQUEST_ID="bad id\nwith newline")
    generated = response["X-Request-ID"]
    assert len(generated) == 32 and "\n" not in generated
    assert _access_records(caplog)[0].request_id == generated


def test_log_lines_are_json_and_carry_no_api_key(client_api, api_key, caplog):
    formatter = JsonFormatter("%(levelname)s %(name)s %(message)s")
    with caplog.at_level(logging.INFO, logger="flowker.access"):
        client_api.get("/v1/audit-events")
    RequestContextFilter().filter(caplog.records[0])
    line = formatter.format(_access_records(caplog)[0])
    parsed = json.loads(line)
    assert parsed["message"] == "request" and parsed["status"] == 200
    assert api_key[1] not in line
