"""Reading provider responses within bounds: FLOWKER_MAX_RESPONSE_BYTES (counted after
decompression) and a whole-response deadline that a trickling body cannot outlast."""

import gzip
import zlib

import pytest

from executors.runtime.http import OutboundRequest, ResponseTooLarge, TransportError, send
from tests.support.stub_server import StubResponse

LIMIT = 64 * 1024


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.FLOWKER_MAX_RESPONSE_BYTES = LIMIT


def get(stub, path: str, timeout: float = 5):
    return send(OutboundRequest("GET", stub.url_for(path), timeout=timeout))


def test_a_body_at_the_limit_is_read_whole(stub_server):
    stub_server.on("GET", "/big", StubResponse(200, b"x" * LIMIT))

    response = get(stub_server, "/big")

    assert response.size == LIMIT


def test_a_body_over_the_limit_fails_the_call(stub_server):
    stub_server.on("GET", "/big", StubResponse(200, b"x" * (LIMIT + 1)))

    with pytest.raises(ResponseTooLarge) as raised:
        get(stub_server, "/big")

    assert raised.value.kind == "too_large"
    assert f"larger than {LIMIT} bytes (FLOWKER_MAX_RESPONSE_BYTES)" in str(raised.value)


def test_the_limit_counts_decompressed_bytes(stub_server):
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024))
    assert len(bomb) < LIMIT
    stub_server.on("GET", "/bomb", StubResponse(200, bomb, headers={"Content-Encoding": "gzip"}))

    with pytest.raises(ResponseTooLarge):
        get(stub_server, "/bomb")


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, no zlib header
    ],
)
def test_compressed_bodies_under_the_limit_are_decoded(stub_server, encoding, compress):
    document = b'{"score": 12, "pad": "' + b"a" * 40_000 + b'"}'
    stub_server.on(
        "GET",
        "/score",
        StubResponse(
            200,
            compress(document),
            headers={"Content-Encoding": encoding, "Content-Type": "application/json"},
        ),
    )

    response = get(stub_server, "/score")

    assert response.body["score"] == 12
    assert response.size == len(document)


def test_a_body_that_trickles_is_cut_at_the_deadline(stub_server):
    body = b"z" * 60
    stub_server.on("GET", "/slow", StubResponse(200, body, trickle=0.1))

    with pytest.raises(TransportError) as raised:
        get(stub_server, "/slow", timeout=0.5)

    assert raised.value.kind == "timeout"
    assert str(raised.value).endswith("/slow within 0.5 s")
    # Cut while the provider was still sending, not after reading all of it.
    delivered = stub_server.trickled("/slow")
    assert delivered is not None and delivered < len(body)
