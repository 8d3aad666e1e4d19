"""A stand-in fraud service for the README's quick start, so a newcomer can see a decision
without a real provider: `POST /score-transaction` answers `{"score": amount / 100}` (capped
at 99), so small payments are approved and large ones rejected by the `payment-fraud-check`
template's threshold of 80.

Usage: python -m flowker.demo_scorer [port]   (default 9000, on 127.0.0.1 only)
"""

import json
import sys
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def score(payment: object) -> int:
    amount = payment.get("amount", 0) if isinstance(payment, dict) else 0
    try:
        return min(99, max(0, int(Decimal(str(amount)) / 100)))
    except (InvalidOperation, ValueError):
        return 99  # an amount nobody can read is suspicious


class ScoreHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            payment = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            payment = {}
        status, body = (200, {"score": score(payment)})
        if self.path.rstrip("/") != "/score-transaction":
            status, body = 404, {"error": "only POST /score-transaction exists here"}
        content = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def do_GET(self) -> None:
        # Connectivity tests GET the base URL.
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main(argv: list[str]) -> None:
    port = int(argv[1]) if len(argv) > 1 else 9000
    server = ThreadingHTTPServer(("127.0.0.1", port), ScoreHandler)
    print(f"demo fraud scorer on http://127.0.0.1:{port}/score-transaction (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main(sys.argv)
