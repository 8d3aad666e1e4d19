"""The provider stub of `make chaos`: it answers the guide's fraud-scoring call and logs every
call it receives with the request's `Idempotency-Key` (the step identity
`<executionId>:<nodeId>`), so the checker can compare provider calls with recorded attempts.

The first path segment picks the behaviour, so each fault has a provider configuration of its
own (`base_url = http://127.0.0.1:PORT/<mode>`) and its own circuit breaker:

    ok        {"score": 42} after the configured latency (POST /__config {"latency_ms": N})
    reset     headers and part of the body, then a TCP reset
    timeout   nothing for 60 s (longer than any timeout the run configures)
    trickle   a body of 64 bytes sent one byte per second (slower than the timeout)
    5xx       503
    429       429 with Retry-After: 2
    badjson   200, application/json, a body that is not JSON
    huge      200 with a 50 MiB body
    redirect  302 to the cloud-metadata address (refused by the outbound policy)

`GET /__log?since=N` answers the calls logged from index N on: {"next": M, "calls": [[epoch,
mode, key], ...]}. Run as its own process: `python -m tests.chaos.stub PORT`.
"""

import asyncio
import json
import socket
import struct
import sys
import time
from urllib.parse import parse_qs, urlsplit

HUGE_BYTES = 50 * 2**20
RETRY_AFTER_SECONDS = 2


class _State:
    latency_s = 0.0
    calls: list[list] = []


def _response(status: str, body: bytes, *extra: str, close: bool = False) -> bytes:
    headers = [f"HTTP/1.1 {status}", "Content-Type: application/json"]
    headers += [f"Content-Length: {len(body)}", *extra]
    if close:
        headers.append("Connection: close")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


async def _fault(mode: str, writer: asyncio.StreamWriter) -> bool:
    """Answers with the fault; False when the connection must not be reused."""
    if mode == "ok":
        if _State.latency_s:
            await asyncio.sleep(_State.latency_s)
        writer.write(_response("200 OK", b'{"score": 42}'))
        return True
    if mode == "5xx":
        writer.write(_response("503 Service Unavailable", b'{"error": "storm"}'))
        return True
    if mode == "429":
        writer.write(
            _response("429 Too Many Requests", b"{}", f"Retry-After: {RETRY_AFTER_SECONDS}")
        )
        return True
    if mode == "badjson":
        writer.write(_response("200 OK", b'{"score": 42,, not json'))
        return True
    if mode == "redirect":
        writer.write(
            _response("302 Found", b"", "Location: http://169.254.169.254/latest/meta-data/")
        )
        return True
    if mode == "reset":
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"sco')
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return False
    if mode == "timeout":
        await asyncio.sleep(60)
        return False
    if mode == "trickle":
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n"
        )
        for _ in range(64):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(1)
        return False
    if mode == "huge":
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % HUGE_BYTES
        )
        chunk = b" " * 2**16
        for _ in range(HUGE_BYTES // len(chunk)):
            writer.write(chunk)
            await writer.drain()
        return False
    writer.write(_response("404 Not Found", b'{"error": "unknown mode"}'))
    return True


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        keep = True
        while keep:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            body = await reader.readexactly(length) if length else b""
            method, target, _ = request_line.split(" ", 2)
            url = urlsplit(target)
            if url.path == "/__log":
                since = int(parse_qs(url.query).get("since", ["0"])[0])
                calls = _State.calls[since:]
                answer = json.dumps({"next": since + len(calls), "calls": calls}).encode()
                writer.write(_response("200 OK", answer))
            elif url.path == "/__config" and method == "POST":
                _State.latency_s = float(json.loads(body or b"{}").get("latency_ms", 0)) / 1000
                writer.write(_response("200 OK", b"{}"))
            else:
                mode = url.path.strip("/").split("/", 1)[0]
                _State.calls.append([time.time(), mode, headers.get("idempotency-key", "")])
                keep = await _fault(mode, writer)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        writer.close()


async def _main(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1])))
