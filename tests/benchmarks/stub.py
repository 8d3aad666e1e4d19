"""A provider stub fast enough to measure Flowker rather than the stub: asyncio, keep-alive,
TCP_NODELAY, one canned JSON answer. It runs as its own process so the load generator's GIL
does not slow it: `python -m tests.benchmarks.stub PORT`. `GET /__count` answers how many
scoring calls it has served (the bench counts executions at the provider, too)."""

import asyncio
import json
import socket
import sys

ANSWER = json.dumps({"score": 42}).encode()


class _State:
    calls = 0


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            length = 0
            for line in header_lines:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            if request_line.startswith("GET /__count"):
                body = json.dumps({"calls": _State.calls}).encode()
            else:
                _State.calls += 1
                body = ANSWER
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def _main(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port, backlog=512)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1])))
