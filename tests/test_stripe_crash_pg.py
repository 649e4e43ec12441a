"""A worker killed after Stripe made the refund and before claimdesk recorded it.

The worker (`manage.py worker`, a real subprocess) refunds through a relay in
front of localstripe; the relay lets the refund reach Stripe, then holds the
answer while the test kills the worker with SIGKILL. The retry finds Stripe's
refund by the attempt key and records it once: one refund at Stripe, one
ledger posting, the claim completed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from claimdesk.claims.cancel import claim_cancel_instantly
from claimdesk.claims.models import ClaimStatus
from claimdesk.claims.refunds import refund_process
from claimdesk.payments.models import LedgerTransaction, Refund, RefundStatus
from tests.factories import order_in
from tests.test_stripe_provider import (
    SECRET_KEY,
    flush,
    localstripe,  # noqa: F401 - fixture
    paid_intent,
    pay_with,
    stripe_refunds,
    use_stripe,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DEADLINE = 60


class Relay(ThreadingHTTPServer):
    """Forwards to the Stripe server; after forwarding a refund, holds its answer."""

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _RelayHandler)
        self.target = target
        self.refund_made = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _RelayHandler(BaseHTTPRequestHandler):
    server: Relay

    def log_message(self, *args: Any) -> None:
        pass

    def _forward(self, method: str) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else None
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() in ("authorization", "content-type", "idempotency-key", "stripe-version")
        }
        request = urllib.request.Request(  # noqa: S310 - loopback test server
            self.server.target + self.path, data=body, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                status, data = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, data = error.code, error.read()
        if method == "POST" and self.path.startswith("/v1/refunds"):
            self.server.refund_made.set()
            self.server.release.wait(DEADLINE)  # the worker dies waiting for this answer
            return
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._forward("GET")

    def do_POST(self) -> None:
        self._forward("POST")


@pytest.fixture
def relay(localstripe: str) -> Iterator[Relay]:  # noqa: F811
    server = Relay(localstripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def _database_url() -> str:
    s = connection.settings_dict
    host = s["HOST"] or "127.0.0.1"
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


def test_worker_killed_after_stripe_refunded_records_it_once(
    postgres,
    settings,
    localstripe,  # noqa: F811
    relay,
    seller,
    buyer,
    tmp_path: Path,  # noqa: F811
) -> None:
    """SIGKILL between Stripe's refund and claimdesk's record: the retry records it once."""
    import stripe

    flush(localstripe)
    direct = stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe})
    order = order_in("new", seller=seller, buyer=buyer)
    intent = paid_intent(direct, order.total_minor + 500)
    pay_with(order, intent)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CLAIMDESK_PAYMENT_GATEWAY": "stripe",
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_API_BASE": relay.url,
    }
    env.pop("MAIL_SMTP_HOST", None)
    with (tmp_path / "worker.log").open("wb") as out:
        worker = subprocess.Popen(  # noqa: S603 - fixed command
            [sys.executable, "manage.py", "worker", "--interval", "0.1"],
            cwd=django_settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            # when the buyer cancels, the worker sends the refund and Stripe makes it
            claim = claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
            assert relay.refund_made.wait(DEADLINE), (tmp_path / "worker.log").read_text()
            # and the worker dies before it hears the answer
            worker.send_signal(signal.SIGKILL)
            assert worker.wait(timeout=DEADLINE) == -signal.SIGKILL
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=DEADLINE)
    refund = Refund.objects.get(claim=claim)
    assert refund.status == RefundStatus.PENDING
    assert len(stripe_refunds(direct, intent)) == 1
    # then the retry (the task recovery queues again) finds Stripe's refund by its key
    use_stripe(settings, localstripe)
    refund_process(refund_id=refund.pk)
    refund_process(refund_id=refund.pk)  # and a second run changes nothing
    refund.refresh_from_db()
    claim.refresh_from_db()
    made = stripe_refunds(direct, intent)
    assert [(r["id"], r["amount"]) for r in made] == [
        (refund.gateway_reference, refund.amount_minor)
    ]
    assert refund.status == RefundStatus.SUCCEEDED
    assert claim.status == ClaimStatus.CANCEL_COMPLETED
    assert LedgerTransaction.objects.filter(refund=refund, kind="refund").count() == 1
