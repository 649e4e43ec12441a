"""Stripe-compatible servers for the payment tests.

`localstripe` (a stateful fake of Stripe's API) is started as a subprocess on
a free loopback port; it keeps its data in memory only (it would otherwise
write every change to one file under /tmp shared by all its instances).

`PendingRefundsServer` speaks the part of Stripe's Refunds API that
localstripe lacks: a refund Stripe accepts but keeps `pending` (bank refunds,
refunds awaiting the customer's details) and Stripe's documented
`Idempotency-Key` replay (the same key returns the first answer).
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, deadline: float = 30.0) -> bool:
    """Return whether something listens on `port` within `deadline` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class PendingRefundsServer(ThreadingHTTPServer):
    """POST/GET /v1/refunds: refunds answered `pending`, replayed by Idempotency-Key."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.refunds: list[dict[str, Any]] = []
        self.by_key: dict[str, dict[str, Any]] = {}
        self.posts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: PendingRefundsServer

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, body: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        query = dict(parse_qsl(urlparse(self.path).query))
        rows = [
            r
            for r in self.server.refunds
            if "payment_intent" not in query or r["payment_intent"] == query["payment_intent"]
        ]
        self._answer(
            {"object": "list", "url": "/v1/refunds", "has_more": False, "data": rows[::-1]}
        )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        key = self.headers.get("Idempotency-Key", "")
        self.server.posts += 1
        if key and key in self.server.by_key:
            self._answer(self.server.by_key[key])
            return
        refund = {
            "id": f"re_{secrets.token_hex(8)}",
            "object": "refund",
            "amount": int(form["amount"]),
            "currency": "jpy",
            "payment_intent": form.get("payment_intent"),
            "charge": None,
            "status": "pending",
            "metadata": {
                k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")
            },
            "created": int(time.time()),
        }
        self.server.refunds.append(refund)
        if key:
            self.server.by_key[key] = refund
        self._answer(refund)


@contextmanager
def pending_refunds_server() -> Iterator[PendingRefundsServer]:
    server = PendingRefundsServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _run_localstripe(port: int) -> None:
    import localstripe.resources

    localstripe.resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    sys.argv = ["localstripe", "--port", str(port), "--from-scratch"]
    from localstripe import server

    server.start()


if __name__ == "__main__":
    _run_localstripe(int(sys.argv[1]))
