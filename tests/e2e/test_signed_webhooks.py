"""Signed inbound webhooks end to end: a caller that signs in both schemes (hmac-sha256 and
stripe) against the real worker, and every way a signature is refused."""

import hashlib
import hmac
import time

import pytest
from rest_framework.test import APIClient

from tests.e2e.helpers import activate, wait_all_terminal, wait_terminal
from tests.factories import guide_workflow, make_provider_config, with_webhook
from tests.support.stub_server import StubResponse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECRET = "whsec_test_7f3a9c"
# Sent byte for byte as a payment system would: odd spacing, a decimal that must not be reparsed.
BODY = b'{ "transactionId": "txn-42",  "amount": 1500.00 }'


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class SigningCaller:
    """A payment system calling Flowker's webhook, signing the way its scheme says."""

    def __init__(self, path: str = "/v1/webhooks/payments/received") -> None:
        self.client = APIClient()
        self.path = path

    def post(self, body: bytes = BODY, **headers: str):
        return self.client.post(self.path, body, content_type="application/json", **headers)

    def hmac_sha256(
        self,
        secret: str = SECRET,
        *,
        body: bytes = BODY,
        timestamp: int | None = None,
        prefix: str = "",
        signed_body: bytes | None = None,
        **headers: str,
    ):
        stamp = int(time.time()) if timestamp is None else timestamp
        signature = sign(secret, stamp, body if signed_body is None else signed_body)
        return self.post(
            body,
            HTTP_X_SIGNATURE=prefix + signature,
            HTTP_X_SIGNATURE_TIMESTAMP=str(stamp),
            **headers,
        )

    def stripe(self, *secrets: str, body: bytes = BODY, timestamp: int | None = None):
        stamp = int(time.time()) if timestamp is None else timestamp
        parts = [f"t={stamp}"] + [f"v1={sign(secret, stamp, body)}" for secret in secrets]
        return self.post(body, HTTP_STRIPE_SIGNATURE=",".join(parts))


@pytest.fixture
def signed_hook(worker, stub_server, client_api):
    """Activates the guide's workflow with the given trigger settings; executions the test
    starts are run to their end before teardown."""
    stub_server.on("POST", "/score-transaction", StubResponse(200, {"score": 10}))
    provider = make_provider_config(base_url=stub_server.url)

    def make(**trigger):
        return activate(client_api, with_webhook(guide_workflow(provider.pk), **trigger))

    yield make
    wait_all_terminal()


def _refused(response, code: str) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["code"] == code


def test_hmac_sha256_signed_webhook_runs_without_an_api_key(signed_hook, stub_server, client_api):
    signed_hook(signature={"scheme": "hmac-sha256", "secret": SECRET})
    caller = SigningCaller()
    response = caller.hmac_sha256()
    assert response.status_code == 201, response.content
    prefixed = caller.hmac_sha256(body=BODY.replace(b"txn-42", b"txn-43"), prefix="sha256=")
    assert prefixed.status_code == 201, prefixed.content
    results = wait_terminal(client_api, response.json()["executionId"])
    assert results["status"] == "completed"
    first = stub_server.requests("POST", "/score-transaction")[0]
    assert str(first.body["amount"]) == "1500.00"
    from flowker.audit.models import AuditEvent

    started = AuditEvent.objects.get(
        event_type="EXECUTION_STARTED", resource_id=response.json()["executionId"]
    )
    assert (started.actor_type, started.actor_id) == ("webhook", "POST /payments/received")


def test_hmac_sha256_refusals(signed_hook):
    signed_hook(signature={"scheme": "hmac-sha256", "secret": SECRET, "toleranceSeconds": 60})
    caller = SigningCaller()
    _refused(caller.hmac_sha256("another-secret"), "FLK-0364")
    _refused(caller.post(), "FLK-0364")  # no signature at all
    _refused(caller.post(HTTP_X_SIGNATURE=sign(SECRET, int(time.time()), BODY)), "FLK-0364")
    _refused(caller.hmac_sha256(signed_body=BODY + b" "), "FLK-0364")  # body changed
    _refused(caller.hmac_sha256(timestamp=int(time.time()) - 61), "FLK-0365")  # stale
    _refused(caller.hmac_sha256(timestamp=int(time.time()) + 120), "FLK-0365")  # future
    # An API key does not stand in for the signature.
    _refused(caller.post(HTTP_X_API_KEY="flk_whatever_key", HTTP_X_SIGNATURE="00"), "FLK-0364")


def test_a_replayed_signature_is_refused(signed_hook):
    signed_hook(signature={"scheme": "hmac-sha256", "secret": SECRET})
    caller = SigningCaller()
    stamp = int(time.time())
    first = caller.hmac_sha256(timestamp=stamp)
    assert first.status_code == 201, first.content
    _refused(caller.hmac_sha256(timestamp=stamp), "FLK-0365")
    _refused(caller.hmac_sha256(timestamp=stamp, prefix="sha256="), "FLK-0365")
    # The same body signed at another second is a new request.
    assert caller.hmac_sha256(timestamp=stamp - 1).status_code == 201


def test_stripe_scheme_accepts_any_v1_during_rotation(signed_hook, client_api):
    signed_hook(signature={"scheme": "stripe", "secret": SECRET})
    caller = SigningCaller()
    stamp = int(time.time())
    single = caller.stripe(SECRET, timestamp=stamp)
    assert single.status_code == 201, single.content
    rotated = caller.stripe("whsec_old_secret", SECRET, body=b'{"amount": 2}', timestamp=stamp)
    assert rotated.status_code == 201, rotated.content
    assert wait_terminal(client_api, rotated.json()["executionId"])["status"] == "completed"
    _refused(caller.stripe("whsec_old_secret", body=b'{"amount": 3}'), "FLK-0364")
    # The same t and body again, whichever v1 carries it: a replay.
    _refused(caller.stripe(SECRET, body=b'{"amount": 2}', timestamp=stamp), "FLK-0365")
    _refused(caller.stripe(SECRET, timestamp=int(time.time()) - 400), "FLK-0365")
    _refused(caller.post(HTTP_STRIPE_SIGNATURE="t=123"), "FLK-0364")
    _refused(caller.post(HTTP_STRIPE_SIGNATURE="v1=abc"), "FLK-0364")


def test_custom_header_names(signed_hook):
    signed_hook(
        signature={
            "scheme": "hmac-sha256",
            "secret": SECRET,
            "header": "X-Bank-Signature",
            "timestampHeader": "X-Bank-Time",
        }
    )
    stamp = int(time.time())
    response = SigningCaller().post(
        HTTP_X_BANK_SIGNATURE=sign(SECRET, stamp, BODY), HTTP_X_BANK_TIME=str(stamp)
    )
    assert response.status_code == 201, response.content
    _refused(SigningCaller().hmac_sha256(timestamp=stamp - 5), "FLK-0364")


def test_with_a_verify_token_too_both_must_pass(signed_hook):
    signed_hook(verify_token="tok-123456", signature={"scheme": "stripe", "secret": SECRET})
    caller = SigningCaller()
    stamp = int(time.time())
    _refused(caller.stripe(SECRET, timestamp=stamp), "FLK-0362")  # no token
    header = f"t={stamp},v1={sign('wrong', stamp, BODY)}"
    _refused(
        caller.post(HTTP_X_WEBHOOK_TOKEN="tok-123456", HTTP_STRIPE_SIGNATURE=header), "FLK-0364"
    )
    header = f"t={stamp},v1={sign(SECRET, stamp, BODY)}"
    both = caller.post(HTTP_X_WEBHOOK_TOKEN="tok-123456", HTTP_STRIPE_SIGNATURE=header)
    assert both.status_code == 201, both.content


def test_signature_checks_refuse_when_the_replay_cache_is_down(signed_hook, settings):
    signed_hook(signature={"scheme": "hmac-sha256", "secret": SECRET})
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6390/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    # The throttle lets the request through; the replay check cannot, so it is refused.
    response = SigningCaller().hmac_sha256()
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "FLK-0006"


def test_a_stripe_signed_webhook_decision_is_called_back_signed(
    worker, stub_server, client_api, settings
):
    """The whole edge: a payment system signs its webhook the Stripe way and names where the
    decision goes (Callback-URL); the worker decides and calls back, signed."""
    from tests.e2e.test_callbacks import verify_flowker_signature

    settings.FLOWKER_CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    stub_server.on("POST", "/score-transaction", StubResponse(200, {"score": 10}))
    stub_server.on("POST", "/decisions", StubResponse(204))
    provider = make_provider_config(base_url=stub_server.url)
    body = with_webhook(
        guide_workflow(provider.pk), signature={"scheme": "stripe", "secret": SECRET}
    )
    body["callback"] = {"secret": "cb-secret-for-decisions", "events": ["completed", "failed"]}
    activate(client_api, body)
    stamp = int(time.time())
    response = SigningCaller().post(
        HTTP_STRIPE_SIGNATURE=f"t={stamp},v1={sign(SECRET, stamp, BODY)}",
        HTTP_CALLBACK_URL=stub_server.url_for("/decisions"),
    )
    assert response.status_code == 201, response.content
    [callback] = stub_server.wait_for(1, "POST", "/decisions", timeout=30)
    header = callback.header("X-Flowker-Signature")
    assert verify_flowker_signature("cb-secret-for-decisions", header, callback.raw_body)
    assert callback.body["executionId"] == response.json()["executionId"]
    assert callback.body["status"] == "completed"
    wait_all_terminal()
