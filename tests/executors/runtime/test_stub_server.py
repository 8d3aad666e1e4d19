"""The reusable provider stub: scripted answers, recorded requests, fast answers."""

import time
from decimal import Decimal

import requests

from tests.support.stub_server import StubResponse, StubServer


def test_stub_records_method_path_query_headers_and_parsed_json_body(stub_server):
    stub_server.on("POST", "/score", StubResponse(201, {"score": Decimal("87.50")}))

    answer = requests.post(
        stub_server.url_for("/score?tag=a&tag=b"),
        data=b'{"amount": 1500.00}',
        headers={"Content-Type": "application/json", "X-Trace": "t-1"},
        timeout=5,
    )

    assert answer.status_code == 201
    assert answer.text == '{"score": 87.50}'
    [received] = stub_server.requests("POST", "/score")
    assert received.query == {"tag": ["a", "b"]}
    assert received.header("x-trace") == "t-1"
    assert received.body == {"amount": Decimal("1500.00")}
    assert received.raw_body == b'{"amount": 1500.00}'
    assert received.received_at <= time.monotonic()


def test_stub_answers_from_a_queue_whose_last_answer_repeats(stub_server):
    stub_server.on("GET", "/flaky", StubResponse(503), StubResponse(200, "ok"))

    statuses = [requests.get(stub_server.url_for("/flaky"), timeout=5).status_code for _ in "abc"]

    assert statuses == [503, 200, 200]


def test_stub_answers_with_a_callable_and_404_for_unscripted_routes(stub_server):
    stub_server.on("PUT", "/echo", lambda request: StubResponse(200, {"got": request.body}))

    echoed = requests.put(stub_server.url_for("/echo"), json={"a": 1}, timeout=5)
    missing = requests.get(stub_server.url_for("/nowhere"), timeout=5)

    assert echoed.json() == {"got": {"a": 1}}
    assert missing.status_code == 404


def test_stub_answers_keep_alive_requests_without_delayed_ack_stalls(stub_server):
    stub_server.on("POST", "/fast", StubResponse(200, {"ok": True}))
    with requests.Session() as session:
        session.post(stub_server.url_for("/fast"), json={}, timeout=5)
        started = time.monotonic()
        for _ in range(20):
            session.post(stub_server.url_for("/fast"), json={"n": 1}, timeout=5)
        per_call = (time.monotonic() - started) / 20

    # Nagle plus delayed ACK would cost ~40 ms per call.
    assert per_call < 0.02


def test_stub_wait_for_returns_once_enough_requests_arrived():
    with StubServer() as stub:
        stub.on("GET", "/ping", StubResponse(204))
        requests.get(stub.url_for("/ping"), timeout=5)

        assert len(stub.wait_for(1, "GET", "/ping", timeout=1)) == 1
        assert stub.wait_for(2, "GET", "/ping", timeout=0.05) == stub.requests("GET", "/ping")
