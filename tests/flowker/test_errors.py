"""Every error leaves the server in the FLK envelope with the right status."""

import json
import logging

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.flowker.urls")]


def _envelope(response, status, code):
    assert response.status_code == status, response.content
    body = json.loads(response.content)
    assert body["code"] == code
    assert set(body) <= {"code", "title", "message", "fields"}
    assert body["title"] and body["message"]
    return body


def test_unknown_route_is_flk_0003(client_api):
    body = _envelope(client_api.get("/v1/nothing-here"), 404, "FLK-0003")
    assert body["title"] == "Not Found"


def test_unknown_route_outside_v1_is_flk_0003(anon_client):
    _envelope(anon_client.get("/definitely/not/here"), 404, "FLK-0003")


def test_method_not_allowed_is_flk_0004_with_allow(client_api):
    response = client_api.delete("/v1/audit-events")
    _envelope(response, 405, "FLK-0004")
    assert "GET" in response["Allow"]


def test_body_over_4_mib_is_flk_0005(client_api):
    payload = b'{"name": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    response = client_api.post("/v1/test/things", payload, content_type="application/json")
    _envelope(response, 413, "FLK-0005")


def test_unexpected_error_is_flk_9999_without_traceback(client_api, caplog):
    with caplog.at_level(logging.ERROR, logger="flowker.errors"):
        response = client_api.get("/v1/test/boom", HTTP_X_REQUEST_ID="req-boom-1")
    body = _envelope(response, 500, "FLK-9999")
    assert "secret-internal-detail" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert body["message"] == "internal server error"
    logged = [r for r in caplog.records if r.name == "flowker.errors"]
    assert logged and logged[0].request_id == "req-boom-1"
    assert logged[0].exc_info is not None


def test_database_unavailable_is_503_flk_0006_with_retry_after(client_api):
    response = client_api.get("/v1/test/db-down")
    _envelope(response, 503, "FLK-0006")
    assert int(response["Retry-After"]) > 0


def test_malformed_json_is_flk_0001(client_api):
    response = client_api.post("/v1/test/things", "{not json", content_type="application/json")
    _envelope(response, 400, "FLK-0001")


def _nested(depth: int) -> str:
    """An object whose `deep` field holds arrays nested so the body is `depth` levels deep."""
    return '{"name": "a", "deep": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("depth", [65, 990, 5000])
def test_json_nested_deeper_than_64_levels_is_flk_0001(client_api, depth):
    response = client_api.post("/v1/test/things", _nested(depth), content_type="application/json")
    body = _envelope(response, 400, "FLK-0001")
    assert "nested deeper than 64 levels" in body["message"]


def test_json_nested_64_levels_is_parsed(client_api):
    response = client_api.post("/v1/test/things", _nested(64), content_type="application/json")
    assert set(_envelope(response, 400, "FLK-0300")["fields"]) == {"deep"}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_flk_0001(client_api, constant):
    text = '{"name": "a", "amount": ' + constant + "}"
    response = client_api.post("/v1/test/things", text, content_type="application/json")
    body = _envelope(response, 400, "FLK-0001")
    assert f"{constant} is not a JSON number" in body["message"]


def test_missing_content_type_is_flk_0001(client_api):
    response = client_api.generic("POST", "/v1/test/things", b'{"name": "a"}', content_type="")
    _envelope(response, 400, "FLK-0001")


def test_non_json_content_type_is_flk_0001(client_api):
    response = client_api.post("/v1/test/things", "name=a", content_type="text/plain")
    _envelope(response, 400, "FLK-0001")


def test_empty_body_is_flk_0001(client_api):
    response = client_api.post("/v1/test/things", "", content_type="application/json")
    _envelope(response, 400, "FLK-0001")


def test_type_mismatch_is_flk_0001_naming_the_field(client_api):
    response = client_api.post("/v1/test/things", {"name": 5, "description": "ok"}, format="json")
    body = _envelope(response, 400, "FLK-0001")
    assert list(body["fields"]) == ["name"]


def test_nested_type_mismatch_names_the_nested_field(client_api):
    response = client_api.post(
        "/v1/test/things", {"name": "a", "position": {"x": "left", "y": 1}}, format="json"
    )
    body = _envelope(response, 400, "FLK-0001")
    assert list(body["fields"]) == ["position.x"]


def test_type_mismatch_wins_over_unknown_fields(client_api):
    response = client_api.post("/v1/test/things", {"name": [], "bogus": 1}, format="json")
    body = _envelope(response, 400, "FLK-0001")
    assert list(body["fields"]) == ["name"]


def test_unknown_fields_are_flk_0300_each_named(client_api):
    response = client_api.post(
        "/v1/test/things", {"name": "a", "colour": "red", "size": 3}, format="json"
    )
    body = _envelope(response, 400, "FLK-0300")
    assert set(body["fields"]) == {"colour", "size"}


def test_missing_required_field_uses_its_specific_code(client_api):
    response = client_api.post("/v1/test/things", {"description": "x"}, format="json")
    body = _envelope(response, 400, "FLK-0110")
    assert "name" in body["fields"]


def test_field_limit_uses_its_specific_code(client_api):
    response = client_api.post("/v1/test/things", {"name": "x" * 11}, format="json")
    _envelope(response, 400, "FLK-0111")


def test_other_invalid_values_are_flk_0302_and_all_failures_listed(client_api):
    response = client_api.post(
        "/v1/test/things",
        {"count": -1, "name": "ok", "description": "y" * 21},
        format="json",
    )
    body = _envelope(response, 400, "FLK-0302")
    assert list(body["fields"]) == ["count", "description"]


def test_code_is_that_of_the_first_failure_in_body_order(client_api):
    response = client_api.post(
        "/v1/test/things", {"description": "y" * 21, "name": "x" * 11}, format="json"
    )
    body = _envelope(response, 400, "FLK-0302")
    assert list(body["fields"]) == ["description", "name"]


def test_null_on_optional_field_means_absent(client_api):
    response = client_api.post("/v1/test/things", {"name": "a", "description": None}, format="json")
    assert response.status_code == 201
    assert response.json()["fields"] == ["name"]


def test_null_on_required_field_counts_as_missing(client_api):
    response = client_api.post("/v1/test/things", {"name": None}, format="json")
    _envelope(response, 400, "FLK-0110")


def test_length_limits_count_characters_not_bytes(client_api):
    response = client_api.post("/v1/test/things", {"name": "ééééééééé€"}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        ({"k" * 101: "v"}, "FLK-0312"),
        ({"k": "v" * 2001}, "FLK-0313"),
        ({"k": {"nested": True}}, "FLK-0314"),
        ({f"k{i}": "v" for i in range(51)}, "FLK-0315"),
    ],
)
def test_metadata_limits_have_their_codes(client_api, metadata, code):
    response = client_api.post(
        "/v1/test/things", {"name": "a", "metadata": metadata}, format="json"
    )
    body = _envelope(response, 400, code)
    assert list(body["fields"]) == ["metadata"]


def test_decimal_numbers_pass_through_exactly(client_api):
    raw = b'{"name": "a", "amount": 12345678901234567890.12}'
    response = client_api.post("/v1/test/things", raw, content_type="application/json")
    assert response.status_code == 201
    assert b'"amount": 12345678901234567890.12' in response.content


def test_bad_uuid_in_path_is_flk_0002(client_api):
    _envelope(client_api.get("/v1/test/things/not-a-uuid"), 400, "FLK-0002")
    _envelope(client_api.get("/v1/audit-events/123"), 400, "FLK-0002")


def test_valid_uuid_in_path_reaches_the_view(client_api):
    response = client_api.get("/v1/test/things/019c96a0-0ac0-7de9-9f53-9cf842a2ee5a")
    assert response.json() == {"id": "019c96a0-0ac0-7de9-9f53-9cf842a2ee5a"}


def test_responses_are_json_whatever_accept_says(client_api):
    response = client_api.get("/v1/audit-events", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")


def test_auth_is_checked_before_path_ids(anon_client):
    _envelope(anon_client.get("/v1/audit-events/not-a-uuid"), 401, "UNAUTHORIZED")


def test_unsupported_method_is_405_even_with_a_bad_id(client_api):
    response = client_api.generic("TRACE", "/v1/audit-events/not-a-uuid")
    _envelope(response, 405, "FLK-0004")


def test_missing_field_without_a_specific_code_is_flk_0301(client_api):
    response = client_api.post(
        "/v1/test/things", {"name": "a", "position": {"x": 1}}, format="json"
    )
    body = _envelope(response, 400, "FLK-0301")
    assert list(body["fields"]) == ["position.y"]
