"""Webhooks to a local receiver: signed, retried after a 500, one delivery per event."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from claimdesk.accounts.models import User
from claimdesk.claims.services import claim_request_cancel
from claimdesk.core.errors import InvalidInput
from claimdesk.messaging.models import WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus
from claimdesk.messaging.services import note_send
from claimdesk.messaging.webhooks import (
    check_url,
    verify,
    webhook_endpoint_create,
    webhook_redeliver,
)
from claimdesk.orders.services import order_confirm
from tests.factories import order_in

pytestmark = pytest.mark.django_db


class Receiver:
    """A local HTTP server that records what it receives and answers the queued codes."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.codes: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                code = receiver.codes.pop(0) if receiver.codes else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.CLAIMDESK = {
        **settings.CLAIMDESK,
        "WEBHOOKS_ALLOW_PRIVATE": True,
        "WEBHOOK_RETRY_BASE_SECONDS": 0,
        "WEBHOOK_TIMEOUT_SECONDS": 5,
    }
    server = Receiver()
    yield server
    server.close()


def settle(run_tasks: Any, rounds: int = 6) -> None:
    """Run the queue until no delivery waits (a retry due "now" needs a fresh pass)."""
    for _ in range(rounds):
        run_tasks()
        if not WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.PENDING, attempts__gt=0
        ).exists():
            return


def tomorrow() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=1)


def test_signed_delivery_retried_after_a_500(
    seller: User, buyer: User, receiver: Receiver, run_tasks: Any
) -> None:
    """An order event reaches the receiver signed; after a 500 it is retried once and logged."""
    order = order_in("new", seller=seller, buyer=buyer)
    endpoint = webhook_endpoint_create(
        actor=seller, url=receiver.url, events=["order.status_changed"]
    )
    receiver.codes = [500]
    order_confirm(actor=seller, order=order, est_ship_date=tomorrow())
    settle(run_tasks)
    assert len(receiver.requests) == 2
    first, second = receiver.requests
    for request in receiver.requests:
        assert verify(endpoint.secret, request["headers"]["X-Claimdesk-Signature"], request["body"])
        assert not verify(
            "wrong-secret-xxxxxxxx", request["headers"]["X-Claimdesk-Signature"], request["body"]
        )
    assert first["body"] == second["body"]
    assert first["headers"]["X-Claimdesk-Event-Id"] == second["headers"]["X-Claimdesk-Event-Id"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED
    assert delivery.attempts == 2 and delivery.last_status_code == 200
    assert [a.status_code for a in WebhookAttempt.objects.order_by("id")] == [500, 200]
    assert delivery.payload["type"] == "order.status_changed"
    assert delivery.payload["data"]["order_no"] == order.order_no
    assert delivery.payload["data"]["to"] == "3"


def test_one_delivery_per_event_and_subscriptions(
    seller: User, other_seller: User, buyer: User, receiver: Receiver, run_tasks: Any
) -> None:
    """Each event is delivered once per subscribed endpoint; other events and shops are not sent."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    webhook_endpoint_create(
        actor=seller, url=receiver.url, events=["claim.created", "note.received"]
    )
    webhook_endpoint_create(actor=other_seller, url=receiver.url, events=["claim.created"])
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    note_send(actor=buyer, order=order, category="other", title="質問", body="いつ届きますか")
    run_tasks()
    run_tasks()
    types = sorted(r["headers"]["X-Claimdesk-Event"] for r in receiver.requests)
    assert types == ["claim.created", "note.received"]
    assert WebhookDelivery.objects.count() == 2


def test_nothing_is_sent_for_a_rolled_back_change(
    seller: User, buyer: User, receiver: Receiver, run_tasks: Any
) -> None:
    """A change that rolls back leaves no delivery behind."""
    order = order_in("new", seller=seller, buyer=buyer)
    webhook_endpoint_create(actor=seller, url=receiver.url, events=["order.status_changed"])
    with pytest.raises(RuntimeError), transaction.atomic():
        order_confirm(actor=seller, order=order, est_ship_date=tomorrow())
        raise RuntimeError("boom")
    run_tasks()
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_manual_redelivery(seller: User, buyer: User, receiver: Receiver, run_tasks: Any) -> None:
    """A delivery can be sent again by hand; the log marks it manual."""
    order = order_in("new", seller=seller, buyer=buyer)
    webhook_endpoint_create(actor=seller, url=receiver.url, events=["order.status_changed"])
    order_confirm(actor=seller, order=order, est_ship_date=tomorrow())
    run_tasks()
    delivery = WebhookDelivery.objects.get()
    webhook_redeliver(actor=seller, delivery=delivery)
    run_tasks()
    assert len(receiver.requests) == 2
    assert WebhookAttempt.objects.filter(manual=True).count() == 1


def test_gives_up_after_the_last_attempt(
    seller: User, buyer: User, receiver: Receiver, run_tasks: Any, settings: Any
) -> None:
    """After the configured number of attempts the delivery is failed, not retried forever."""
    settings.CLAIMDESK = {**settings.CLAIMDESK, "WEBHOOK_MAX_ATTEMPTS": 3}
    order = order_in("new", seller=seller, buyer=buyer)
    webhook_endpoint_create(actor=seller, url=receiver.url, events=["order.status_changed"])
    receiver.codes = [500, 502, 503, 200]
    order_confirm(actor=seller, order=order, est_ship_date=tomorrow())
    settle(run_tasks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.FAILED and delivery.attempts == 3


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "http://127.0.0.1/x",
        "http://localhost:8000/x",
        "http://10.0.0.5/x",
        "http://192.168.1.1/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest",
        "javascript:alert(1)",
    ],
)
def test_private_and_non_http_urls_are_refused(url: str, settings: Any) -> None:
    """Only http(s) to public addresses, unless WEBHOOKS_ALLOW_PRIVATE."""
    settings.CLAIMDESK = {**settings.CLAIMDESK, "WEBHOOKS_ALLOW_PRIVATE": False}
    with pytest.raises(InvalidInput):
        check_url(url)


def test_seller_pages_show_tokens_and_webhooks(
    seller: User, client: Any, receiver: Receiver
) -> None:
    """The settings pages create a token (shown once) and an endpoint, and list the delivery log."""
    client.force_login(seller)
    page = client.post(
        "/seller/settings/api-tokens/", {"name": "ERP", "kind": "rest", "scope": "write"}
    )
    assert page.status_code == 200
    raw = page.context["created"]["raw"]
    assert raw in page.content.decode()
    assert raw not in client.get("/seller/settings/api-tokens/").content.decode()
    hooks = client.post(
        "/seller/settings/webhooks/", {"url": receiver.url, "events": ["claim.created"]}
    )
    assert hooks.status_code == 200
    assert receiver.url in hooks.content.decode()
