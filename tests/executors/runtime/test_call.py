"""The one call path: requests built from a resolved executor call (endpoint path or the
provider's router hook), and every answer sorted into its outcome, against the stub server."""

import datetime
import email.utils
import threading

import pytest
from django.core.cache import cache

from catalog import registry
from executors.resolution import ExecutorCall
from executors.runtime.breaker import breaker_for
from executors.runtime.call import (
    BreakerOpened,
    Failed,
    Refused,
    Succeeded,
    Transient,
    endpoint_call,
    node_call,
    perform,
)
from executors.runtime.connections import connection_for
from tests.executors.runtime.test_auth import client_credentials, token_endpoint
from tests.support.stub_server import StubResponse, closed_port

ORG = "0190b0f8-1111-7000-8000-000000000001"
LEDGER = "0190b0f8-2222-7000-8000-000000000002"


def _call(executor_id="http.request", *, method="POST", path="/v1/score", **fields):
    defaults = {
        "executor": registry.get_executor(executor_id),
        "provider_config": None,
        "executor_config": None,
        "endpoint_name": None,
        "method": method,
        "path": path,
        "timeout": None,
        "input_mapping": None,
        "output_mapping": None,
        "transforms": None,
    }
    return ExecutorCall(**{**defaults, **fields})


def _prepared(base_url, *, node_data=None, body=None, executor_id="http.request", **call):
    config = {"base_url": base_url}
    return node_call(
        call=_call(executor_id, **call),
        connection=connection_for(registry.get_executor(executor_id).provider_id, config),
        config=config,
        node_data=node_data or {},
        body={"amount": 10} if body is None else body,
        query={},
        headers={},
        idempotency_key="exec-1:score",
    )


# --- building the request ----------------------------------------------------------------------


def test_a_node_call_joins_the_endpoint_path_and_carries_the_idempotency_key(stub_server):
    stub_server.on("POST", "/api/v1/score", StubResponse(200, {"score": 3}))
    prepared = _prepared(
        stub_server.url_for("/api"), node_data={"headers": {"X-Team": "risk"}, "query": {"v": 2}}
    )

    outcome = perform(prepared)

    assert isinstance(outcome, Succeeded) and outcome.response.body == {"score": 3}
    [received] = stub_server.requests("POST", "/api/v1/score")
    assert received.header("Idempotency-Key") == "exec-1:score"
    assert received.header("X-Team") == "risk" and received.query == {"v": ["2"]}
    assert received.body == {"amount": 10}


def test_a_bodyless_method_sends_the_body_scalars_as_query_parameters(stub_server):
    stub_server.on("GET", "/v1/score", StubResponse(200, {}))
    prepared = _prepared(stub_server.url, method="GET", body={"id": "a-1", "nested": {"x": 1}})

    perform(prepared)

    [received] = stub_server.requests("GET", "/v1/score")
    assert received.query == {"id": ["a-1"]} and received.raw_body == b""


def test_the_provider_router_hook_builds_midaz_urls(stub_server):
    stub_server.on(
        "GET", f"/v1/organizations/{ORG}/ledgers/{LEDGER}/accounts/acc-1", StubResponse(200, {})
    )
    config = {
        "base_url": stub_server.url,
        "api_key": "sk-1",
        "organization_id": ORG,
        "ledger_id": LEDGER,
    }
    call = _call("midaz.get-account", method="POST", path=None)

    prepared = node_call(
        call=call,
        connection=connection_for("midaz", config),
        config=config,
        node_data={},
        body={"accountId": "acc-1"},
        query={},
        headers={},
        idempotency_key="k",
    )

    assert isinstance(perform(prepared), Succeeded)
    [received] = stub_server.requests()
    assert received.header("Authorization") == "Bearer sk-1"


def test_a_route_missing_its_parameters_is_a_value_error():
    config = {"base_url": "http://127.0.0.1:9", "api_key": "k"}
    with pytest.raises(ValueError, match="organization_id"):
        node_call(
            call=_call("midaz.get-account", path=None),
            connection=connection_for("midaz", config),
            config=config,
            node_data={},
            body={},
            query={},
            headers={},
            idempotency_key="k",
        )


# --- sorting the answers -----------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 408, 425, 429])
def test_server_errors_and_throttling_are_transient(stub_server, status):
    stub_server.on("POST", "/v1/score", StubResponse(status, {"error": "busy"}))

    outcome = perform(_prepared(stub_server.url))

    assert isinstance(outcome, Transient)
    assert (outcome.status, outcome.error) == (status, f"provider answered {status}")
    assert outcome.response.body == {"error": "busy"} and outcome.retry_after is None


def test_retry_after_in_seconds_and_as_a_date_is_read(stub_server):
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=120)
    stub_server.on(
        "POST",
        "/v1/score",
        StubResponse(429, headers={"Retry-After": "7"}),
        StubResponse(503, headers={"Retry-After": email.utils.format_datetime(later, usegmt=True)}),
    )

    in_seconds = perform(_prepared(stub_server.url))
    as_date = perform(_prepared(stub_server.url))

    assert in_seconds.retry_after == 7
    assert 100 < as_date.retry_after <= 120


@pytest.mark.parametrize("status", [400, 404, 422])
def test_other_client_errors_are_final(stub_server, status):
    stub_server.on("POST", "/v1/score", StubResponse(status, {"error": "no"}))

    outcome = perform(_prepared(stub_server.url))

    assert isinstance(outcome, Failed)
    assert (outcome.code, outcome.message) == ("FLK-0504", f"provider answered {status}")
    assert outcome.response.body == {"error": "no"}


def test_success_status_codes_of_the_node_decide_what_succeeds(stub_server):
    stub_server.on("POST", "/v1/score", StubResponse(200, {}), StubResponse(202, {}))
    codes = {"successStatusCodes": [202]}

    first = perform(_prepared(stub_server.url, node_data=codes))
    second = perform(_prepared(stub_server.url, node_data=codes))

    assert isinstance(first, Failed) and first.status == 200
    assert isinstance(second, Succeeded)


def test_an_unreachable_provider_is_transient():
    outcome = perform(_prepared(f"http://127.0.0.1:{closed_port()}"))

    assert isinstance(outcome, Transient) and outcome.response is None
    assert outcome.error.startswith("request failed (connection)")


def test_a_destination_the_policy_refuses_is_refused_without_sending():
    outcome = perform(_prepared("http://169.254.169.254"))

    assert isinstance(outcome, Refused) and "169.254.169.254" in outcome.detail


@pytest.mark.parametrize(("token_status", "kind"), [(401, Failed), (503, Transient)])
def test_a_token_endpoint_refusal_is_final_and_its_outage_transient(
    stub_server, token_status, kind
):
    cache.clear()
    token_endpoint(stub_server).failure = StubResponse(token_status, {"error": "nope"})
    config = client_credentials(stub_server)
    prepared = endpoint_call(
        connection=connection_for("http", config),
        endpoint={"method": "POST", "path": "/v1/score"},
        body={},
        idempotency_key="k",
    )

    outcome = perform(prepared)

    assert isinstance(outcome, kind)
    assert "token request failed" in (outcome.message if kind is Failed else outcome.error)
    assert not stub_server.requests("POST", "/v1/score")


@pytest.mark.django_db
def test_an_open_breaker_refuses_without_sending(stub_server):
    stub_server.on("POST", "/v1/score", StubResponse(200, {}))
    key = "executor:0190b0f8-3333-7000-8000-000000000003"
    storage = breaker_for(key).storage
    storage.opened_at = datetime.datetime.now(datetime.UTC)
    storage.state = "open"
    try:
        outcome = perform(_prepared(stub_server.url), breaker_key=key)
    finally:
        breaker_for(key).circuit.close()

    assert isinstance(outcome, BreakerOpened)
    assert not stub_server.requests()


def test_transient_failures_count_toward_the_breaker_and_final_answers_do_not(stub_server):
    key = "executor:0190b0f8-4444-7000-8000-000000000004"
    stub_server.on("POST", "/v1/score", StubResponse(404), StubResponse(503))
    breaker_for(key).circuit.close()
    try:
        perform(_prepared(stub_server.url), breaker_key=key)
        assert breaker_for(key).storage.counter == 0
        perform(_prepared(stub_server.url), breaker_key=key)
        assert breaker_for(key).storage.counter == 1
    finally:
        breaker_for(key).circuit.close()


class _CountingRedis:
    """The breaker storage's own Redis client, with the commands it sends written down."""

    def __init__(self, client):
        self.client, self.sent = client, []

    def __getattr__(self, name):
        self.sent.append(name)
        return getattr(self.client, name)


def test_a_call_through_a_closed_breaker_reads_its_state_in_one_round_trip(stub_server):
    """One MGET of state and failure count per call (executors.runtime.breaker), not a GET for
    our look, another for pybreaker's and a SET resetting a count that is already zero."""
    stub_server.on("POST", "/v1/score", StubResponse(200, {}))
    key = "executor:0190b0f8-5555-7000-8000-000000000005"
    breaker = breaker_for(key)
    breaker.circuit.close()
    storage = breaker.storage
    counting = storage._redis = _CountingRedis(storage._redis)
    try:
        outcome = perform(_prepared(stub_server.url), breaker_key=key)
    finally:
        storage._redis = counting.client

    assert isinstance(outcome, Succeeded)
    assert counting.sent == ["mget"]


def test_consecutive_failures_still_open_the_breaker(stub_server, settings):
    stub_server.on("POST", "/v1/score", StubResponse(503, {"error": "down"}))
    key = "executor:0190b0f8-6666-7000-8000-000000000006"
    breaker = breaker_for(key)
    breaker.circuit.close()
    try:
        for _ in range(settings.FLOWKER_BREAKER_FAILURE_THRESHOLD):
            assert isinstance(perform(_prepared(stub_server.url), breaker_key=key), Transient)
        assert breaker.storage.state == "open"
        assert isinstance(perform(_prepared(stub_server.url), breaker_key=key), BreakerOpened)
    finally:
        breaker.circuit.close()


def test_two_calls_through_one_breaker_are_in_flight_at_once(stub_server):
    """pybreaker holds its lock for a whole call; Flowker's circuit does not, so two branches
    calling the same configuration do not wait for each other's answer."""
    stub_server.on("POST", "/v1/score", StubResponse(200, {}, delay=1.0))
    key = "executor:0190b0f8-7777-7000-8000-000000000007"
    breaker_for(key).circuit.close()
    outcomes = []
    threads = [
        threading.Thread(
            target=lambda: outcomes.append(perform(_prepared(stub_server.url), breaker_key=key))
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(outcomes) == 2 and all(isinstance(o, Succeeded) for o in outcomes)
    first, second = sorted(r.received_at for r in stub_server.requests("POST", "/v1/score"))
    assert second - first < 1.0  # the second arrived while the first was still being answered
