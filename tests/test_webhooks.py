"""Webhooks to a local receiver: signed (Standard Webhooks), retried after a 500, one delivery per event."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks import Webhook, WebhookVerificationError

from claimdesk.accounts.models import User
from claimdesk.claims.cancel import claim_request_cancel, claim_seller_cancel
from claimdesk.core.errors import InvalidInput
from claimdesk.messaging import webhook_transport
from claimdesk.messaging.models import WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus
from claimdesk.messaging.services import note_send
from claimdesk.messaging.webhook_delivery import deliver_webhook, webhook_deliver
from claimdesk.messaging.webhook_signing import signature_headers
from claimdesk.messaging.webhook_transport import check_url
from claimdesk.messaging.webhooks import (
    FORMER_DELIVER_WEBHOOK_PATH,
    webhook_endpoint_create,
    webhook_redeliver,
)
from claimdesk.orders.services import order_confirm
from claimdesk.payments.models import SimulatedGatewaySwitch
from tests.factories import order_in

pytestmark = pytest.mark.django_db


class Receiver:
    """A local HTTP server that records what it receives and answers the queued codes.

    With `location` set it answers every request with a 302 redirect there.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.codes: list[int] = []
        self.location: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(
                    {"method": self.command, "headers": dict(self.headers), "body": body}
                )
                if receiver.location:
                    self.send_response(302)
                    self.send_header("Location", receiver.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                code = receiver.codes.pop(0) if receiver.codes else 200
                self.send_response(code)
                self.end_headers()

            do_GET = do_POST  # noqa: N815 - a followed redirect turns into a GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://{host}:{self.port}/hook"
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


def header(request: dict[str, Any], name: str) -> str:
    """Return a header of a received request, by its name in any case."""
    return next(v for k, v in request["headers"].items() if k.lower() == name.lower())


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
    delivery = WebhookDelivery.objects.get()
    for request in receiver.requests:
        assert Webhook(endpoint.secret).verify(request["body"], request["headers"]) == (
            delivery.payload
        )
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 32).verify(request["body"], request["headers"])
    assert first["body"] == second["body"]
    assert header(first, "webhook-id") == header(second, "webhook-id") == delivery.event_id
    assert header(first, "X-Claimdesk-Event-Id") == delivery.event_id
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED
    assert delivery.attempts == 2 and delivery.last_status_code == 200
    assert [a.status_code for a in WebhookAttempt.objects.order_by("id")] == [500, 200]
    assert delivery.payload["type"] == "order.status_changed"
    assert delivery.payload["data"]["order_no"] == order.order_no
    assert delivery.payload["data"]["to"] == "3"


def _one_signed_delivery(
    seller: User, buyer: User, receiver: Receiver, run_tasks: Any, secret: str = ""
) -> tuple[str, dict[str, Any]]:
    """Confirm an order with an endpoint subscribed; return its secret and the request received."""
    order = order_in("new", seller=seller, buyer=buyer)
    endpoint = webhook_endpoint_create(
        actor=seller, url=receiver.url, events=["order.status_changed"], secret=secret
    )
    order_confirm(actor=seller, order=order, est_ship_date=tomorrow())
    run_tasks()
    (request,) = receiver.requests
    return endpoint.secret, request


def test_a_tampered_body_or_an_old_timestamp_fails_verification(
    seller: User, buyer: User, receiver: Receiver, run_tasks: Any
) -> None:
    """A receiver's Standard Webhooks check refuses a changed body or timestamp, and an old message."""
    secret, request = _one_signed_delivery(seller, buyer, receiver, run_tasks)
    body = request["body"]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    hook = Webhook(secret)
    assert hook.verify(body, headers)["type"] == "order.status_changed"
    tampered = body.replace(b'"to":"3"', b'"to":"9"')
    assert tampered != body
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        hook.verify(tampered, headers)
    moved = str(int(headers["webhook-timestamp"]) - 1)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        hook.verify(body, {**headers, "webhook-timestamp": moved})
    # signed for real, but ten minutes ago: too old to be taken
    long_ago = signature_headers(
        secret, message_id=headers["webhook-id"], timestamp=int(time.time()) - 600, body=body
    )
    with pytest.raises(WebhookVerificationError, match="too old"):
        hook.verify(body, long_ago)
    now = signature_headers(
        secret, message_id=headers["webhook-id"], timestamp=int(time.time()), body=body
    )
    assert hook.verify(body, now)["type"] == "order.status_changed"


def test_a_made_secret_is_a_standard_webhooks_secret(
    seller: User, buyer: User, receiver: Receiver, run_tasks: Any
) -> None:
    """A secret claimdesk makes is whsec_ and base64 of 24 random bytes, as the libraries expect."""
    secret, request = _one_signed_delivery(seller, buyer, receiver, run_tasks)
    assert secret.startswith("whsec_") and len(secret) == 6 + 32
    assert len(base64.b64decode(secret[6:], validate=True)) == 24
    assert Webhook(secret).verify(request["body"], request["headers"])["type"] == (
        "order.status_changed"
    )


@pytest.mark.parametrize("size", [24, 32, 64])
def test_a_chosen_standard_secret_is_the_key_it_encodes(
    seller: User, buyer: User, receiver: Receiver, run_tasks: Any, size: int
) -> None:
    """A chosen whsec_ secret in padded standard base64 signs with the bytes it encodes."""
    secret = "whsec_" + base64.b64encode(bytes(range(size))).decode()
    _secret, request = _one_signed_delivery(seller, buyer, receiver, run_tasks, secret=secret)
    assert Webhook(secret).verify(request["body"], request["headers"])["type"] == (
        "order.status_changed"
    )
    with pytest.raises(WebhookVerificationError):
        Webhook(secret.encode()).verify(request["body"], request["headers"])


@pytest.mark.parametrize(
    "secret",
    [
        "my own secret, not base64",
        "whsec_2fd-Wkq0_a1Ou7BlBz2OA9pu1LFrTzQz",  # URL-safe base64: not standard
        "whsec_2fdWkq0a1Ou7BlBz2OA9pu1LFrTzQz",  # 30 characters: not padded
    ],
)
def test_any_other_chosen_secret_is_a_raw_key(
    seller: User, buyer: User, receiver: Receiver, run_tasks: Any, secret: str
) -> None:
    """A secret that is not whsec_ and padded standard base64 signs as its UTF-8 bytes (a raw key)."""
    _secret, request = _one_signed_delivery(seller, buyer, receiver, run_tasks, secret=secret)
    raw = Webhook(secret.encode())
    assert raw.verify(request["body"], request["headers"])["type"] == "order.status_changed"


def test_the_former_signature_header_is_still_sent(
    seller: User, buyer: User, receiver: Receiver, run_tasks: Any
) -> None:
    """Each POST also carries X-Claimdesk-Signature: t=<timestamp>,v1=<hex HMAC of "t.body">."""
    secret, request = _one_signed_delivery(seller, buyer, receiver, run_tasks)
    timestamp = header(request, "X-Claimdesk-Timestamp")
    assert timestamp == header(request, "webhook-timestamp")
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + request["body"], hashlib.sha256)
    assert header(request, "X-Claimdesk-Signature") == f"t={timestamp},v1={mac.hexdigest()}"


def test_a_delivery_task_queued_under_its_former_path_still_runs(
    seller: User, buyer: User, receiver: Receiver, run_tasks: Any
) -> None:
    """A task row that names claimdesk.messaging.webhooks.deliver_webhook still delivers."""
    # given: a delivery whose queued task row names the task's former module path
    order = order_in("new", seller=seller, buyer=buyer)
    endpoint = webhook_endpoint_create(
        actor=seller, url=receiver.url, events=["order.status_changed"]
    )
    order_confirm(actor=seller, order=order, est_ship_date=tomorrow())
    rows = DBTaskResult.objects.filter(task_path=deliver_webhook.module_path)
    assert rows.update(task_path=FORMER_DELIVER_WEBHOOK_PATH) == 1
    # when: a worker runs the queue
    run_tasks()
    # then: the old row ran the delivery task, once
    (request,) = receiver.requests
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED
    assert Webhook(endpoint.secret).verify(request["body"], request["headers"]) == delivery.payload
    task = DBTaskResult.objects.get(task_path=FORMER_DELIVER_WEBHOOK_PATH)
    assert task.status == TaskResultStatus.SUCCESSFUL


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
    types = sorted(header(r, "X-Claimdesk-Event") for r in receiver.requests)
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
    assert [header(r, "webhook-id") for r in receiver.requests] == [delivery.event_id] * 2


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


@pytest.fixture
def only_127_0_0_1_is_public(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Check addresses for real, treating 127.0.0.1 (the first hop) as public and no other."""
    settings.CLAIMDESK = {
        **settings.CLAIMDESK,
        "WEBHOOKS_ALLOW_PRIVATE": False,
        "WEBHOOK_RETRY_BASE_SECONDS": 3600,
        "WEBHOOK_TIMEOUT_SECONDS": 5,
    }
    monkeypatch.setattr(
        webhook_transport, "_address_allowed", lambda address: address == "127.0.0.1"
    )


def test_a_redirect_is_not_followed(
    seller: User, buyer: User, run_tasks: Any, only_127_0_0_1_is_public: None
) -> None:
    """A receiver answering 302 to a loopback address is logged as a failure, never followed."""
    target = Receiver(host="127.0.0.2")
    first_hop = Receiver()
    first_hop.location = target.url
    try:
        with pytest.raises(InvalidInput):
            check_url(target.url)  # the redirect target itself would be refused
        order = order_in("new", seller=seller, buyer=buyer)
        webhook_endpoint_create(actor=seller, url=first_hop.url, events=["order.status_changed"])
        order_confirm(actor=seller, order=order, est_ship_date=tomorrow())
        run_tasks()
        assert len(first_hop.requests) == 1
        assert target.requests == []
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == WebhookDeliveryStatus.PENDING  # retried later, not delivered
        assert delivery.last_status_code == 302 and "not followed" in delivery.last_error
    finally:
        first_hop.close()
        target.close()


def test_the_checked_address_is_the_one_connected_to(
    seller: User,
    buyer: User,
    run_tasks: Any,
    only_127_0_0_1_is_public: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name that resolves elsewhere after the check (DNS rebinding) is still sent to the checked IP."""
    checked = Receiver()
    elsewhere = Receiver(host="127.0.0.2", port=checked.port)
    real = webhook_transport.socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.example.test":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) <= 2 else "127.0.0.2"
        return real(address, port, *args, **kwargs)

    monkeypatch.setattr(webhook_transport.socket, "getaddrinfo", rebinding)
    try:
        url = f"http://hooks.example.test:{checked.port}/hook"
        order = order_in("new", seller=seller, buyer=buyer)
        webhook_endpoint_create(actor=seller, url=url, events=["order.status_changed"])
        order_confirm(actor=seller, order=order, est_ship_date=tomorrow())
        run_tasks()
        assert elsewhere.requests == []
        assert len(checked.requests) == 1
        assert checked.requests[0]["headers"]["Host"] == f"hooks.example.test:{checked.port}"
        assert WebhookDelivery.objects.get().status == WebhookDeliveryStatus.SUCCEEDED
    finally:
        checked.close()
        elsewhere.close()


def test_manual_redelivery_and_a_scheduled_retry_post_once(
    seller: User, buyer: User, receiver: Receiver, run_tasks: Any, settings: Any
) -> None:
    """A manual redelivery that succeeds leaves nothing for the scheduled retry to send."""
    settings.CLAIMDESK = {**settings.CLAIMDESK, "WEBHOOK_RETRY_BASE_SECONDS": 3600}
    order = order_in("new", seller=seller, buyer=buyer)
    webhook_endpoint_create(actor=seller, url=receiver.url, events=["order.status_changed"])
    receiver.codes = [500, 500]
    order_confirm(actor=seller, order=order, est_ship_date=tomorrow())
    run_tasks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 1 and delivery.next_attempt_at is not None
    # The seller redelivers by hand; it fails again and schedules a later retry...
    webhook_redeliver(actor=seller, delivery=delivery)
    run_tasks()
    assert len(receiver.requests) == 2
    # ...so the first scheduled retry, firing now, is stale and sends nothing.
    webhook_deliver(delivery_id=delivery.pk)
    assert len(receiver.requests) == 2
    # A manual redelivery that succeeds ends it: the scheduled retry finds it delivered.
    webhook_redeliver(actor=seller, delivery=delivery)
    run_tasks()
    delivery.refresh_from_db()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
    assert webhook_deliver(delivery_id=delivery.pk) is not None
    assert len(receiver.requests) == 3
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 3


def _cancel_with_refund(seller: User, buyer: User) -> None:
    from claimdesk.api.qapi.methods import CANCEL_REASON_OF

    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim_seller_cancel(
        actor=seller,
        order=order,
        reason=next(iter(CANCEL_REASON_OF.values())),
        seller_memo="",
        confirm_without_notice=True,
    )


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
def test_refund_events(
    seller: User, buyer: User, receiver: Receiver, run_tasks: Any, settings: Any, outcome: str
) -> None:
    """refund.succeeded and refund.failed reach a subscribed endpoint with the refund's data."""
    settings.CLAIMDESK = {**settings.CLAIMDESK, "REFUND_MAX_AUTO_RETRIES": 0}
    if outcome == "failed":
        SimulatedGatewaySwitch.objects.update_or_create(
            pk=1, defaults={"mode": "fail", "remaining": 0}
        )
    endpoint = webhook_endpoint_create(
        actor=seller, url=receiver.url, events=["refund.succeeded", "refund.failed"]
    )
    _cancel_with_refund(seller, buyer)
    settle(run_tasks)
    run_tasks()
    types = [header(r, "X-Claimdesk-Event") for r in receiver.requests]
    assert types == [f"refund.{outcome}"]
    request = receiver.requests[0]
    delivery = WebhookDelivery.objects.get()
    assert Webhook(endpoint.secret).verify(request["body"], request["headers"]) == delivery.payload
    assert delivery.payload["type"] == f"refund.{outcome}"
    assert "refund" in delivery.payload["data"]


@pytest.mark.django_db(transaction=True)
def test_a_racing_manual_redelivery_and_retry_post_once_on_postgres(
    postgres: None, settings: Any, seller: User, buyer: User
) -> None:
    """Two workers sending one delivery at the same moment make one POST (row lock)."""
    from django.db import connection

    settings.CLAIMDESK = {
        **settings.CLAIMDESK,
        "WEBHOOKS_ALLOW_PRIVATE": True,
        "WEBHOOK_RETRY_BASE_SECONDS": 3600,
    }
    server = Receiver()
    slow = server.server.RequestHandlerClass.do_POST  # type: ignore[attr-defined]

    def slow_post(handler: Any) -> None:
        threading.Event().wait(0.5)
        slow(handler)

    server.server.RequestHandlerClass.do_POST = slow_post  # type: ignore[attr-defined]
    try:
        order = order_in("new", seller=seller, buyer=buyer)
        webhook_endpoint_create(actor=seller, url=server.url, events=["order.status_changed"])
        order_confirm(actor=seller, order=order, est_ship_date=tomorrow())
        delivery = WebhookDelivery.objects.get()
        barrier = threading.Barrier(2)

        def send(manual: bool) -> None:
            try:
                barrier.wait(timeout=10)
                webhook_deliver(delivery_id=delivery.pk, manual=manual)
            finally:
                connection.close()

        threads = [threading.Thread(target=send, args=(m,)) for m in (True, False)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(server.requests) == 1
        delivery.refresh_from_db()
        assert delivery.status == WebhookDeliveryStatus.SUCCEEDED and delivery.attempts == 1
    finally:
        server.close()
