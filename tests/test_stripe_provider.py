"""Refunds through Stripe: the real SDK against a running Stripe-compatible server.

`localstripe` runs as a subprocess on loopback; the SDK is pointed at it with
STRIPE_API_BASE. Webhooks are signed with a test secret by Stripe's scheme
(`stripe.WebhookSignature`). What localstripe lacks (a refund kept pending,
Idempotency-Key replay) is served by `tests.stripe_servers.PendingRefundsServer`;
localstripe sends no refund or dispute events, so those are posted here,
signed like Stripe signs them.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from claimdesk.claims.cancel import claim_cancel_instantly, claim_seller_cancel
from claimdesk.claims.models import ClaimStatus
from claimdesk.core.money import Money
from claimdesk.orders.models import Cart, Order, OrderEvent
from claimdesk.payments.gateways import SimulatedCardGateway
from claimdesk.payments.ledger import buyer_balance
from claimdesk.payments.models import (
    LedgerTransaction,
    ProviderEvent,
    ReconciliationReport,
    Refund,
    RefundDestination,
    RefundStatus,
    SimulatedGatewayRefund,
)
from claimdesk.payments.stripe_gateway import StripeGateway, stripe_amount
from tests.conftest import need
from tests.factories import order_in
from tests.stripe_servers import free_port, pending_refunds_server, wait_for_port

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk_test_claimdesk"
WEBHOOK_SECRET = "whsec_test_claimdesk"
STRIPE = "claimdesk.payments.stripe_gateway.StripeGateway"
WEBHOOK = "/payments/stripe/webhook"


@pytest.fixture(scope="module")
def localstripe() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - fixed command
        [sys.executable, "-m", "tests.stripe_servers", str(port)],
        cwd=django_settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        up = wait_for_port(port)
        if not up:
            proc.kill()
        need(up, "localstripe did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=30)


def flush(api_base: str) -> None:
    """Empty localstripe (claimdesk's ids start again in each test's database)."""
    request = urllib.request.Request(f"{api_base}/_config/data", method="DELETE")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback test server
        pass


def use_stripe(settings: Any, api_base: str) -> None:
    conf = dict(settings.CLAIMDESK)
    conf.update(
        PAYMENT_GATEWAY=STRIPE,
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=api_base,
        STRIPE_TIMEOUT_SECONDS=10.0,
    )
    settings.CLAIMDESK = conf


@pytest.fixture
def stripe_on(settings: Any, localstripe: str) -> stripe.StripeClient:
    flush(localstripe)
    use_stripe(settings, localstripe)
    return stripe.StripeClient(
        SECRET_KEY, base_addresses={"api": localstripe}, max_network_retries=0
    )


def paid_intent(client: stripe.StripeClient, amount: int) -> str:
    """Return the id of a PaymentIntent paid by card at the Stripe server."""
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    intent = client.v1.payment_intents.create(
        params={"amount": amount, "currency": "jpy", "payment_method": method.id}
    )
    return client.v1.payment_intents.confirm(intent.id).id


def pay_with(order: Order, reference: str) -> None:
    Cart.objects.filter(pk=order.cart_id).update(payment_reference=reference)


def stripe_refunds(client: stripe.StripeClient, intent: str) -> list[dict[str, Any]]:
    listed = client.v1.refunds.list(params={"payment_intent": intent, "limit": 100})
    return [r.to_dict() for r in listed.auto_paging_iter()]


def signed(event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    """Return an event's body and its Stripe-Signature header, signed as Stripe signs."""
    payload = json.dumps(event)
    now = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{now}.{payload}", secret)
    return payload.encode(), f"t={now},v1={signature}"


def refund_event(
    refund: Refund, status: str, *, reason: str = "", event_id: str = ""
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{refund.pk}_{status}",
        "object": "event",
        "type": "refund.updated",
        "data": {
            "object": {
                "id": refund.gateway_reference or f"re_test_{refund.pk}",
                "object": "refund",
                "amount": refund.amount_minor,
                "currency": "jpy",
                "status": status,
                "failure_reason": reason or None,
                "metadata": {"claimdesk_key": refund.attempt_key},
            }
        },
    }


def post_event(client: Any, event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> Any:
    body, header = signed(event, secret)
    return client.post(
        WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


# --- the adapter -------------------------------------------------------------------------


def test_amounts_in_stripe_units() -> None:
    """Yen go to Stripe as yen (no minor unit); dollars as cents; KRW as won."""
    assert stripe_amount(Money(1500, "JPY")) == 1500
    assert stripe_amount(Money(1234, "USD")) == 1234
    assert stripe_amount(Money(5000, "KRW")) == 5000


def test_card_refund_is_made_at_stripe_once(stripe_on, seller, buyer, run_tasks) -> None:
    """A cancelled card order is refunded against its PaymentIntent, once, under the attempt key."""
    # given a card order paid at Stripe
    order = order_in("new", seller=seller, buyer=buyer)
    intent = paid_intent(stripe_on, order.total_minor + 500)
    pay_with(order, intent)
    # when the buyer cancels and the worker runs the refund
    claim = claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    run_tasks()
    # then Stripe holds one refund of exactly the refund's amount, keyed by the attempt
    refund = Refund.objects.get(claim=claim)
    assert refund.status == RefundStatus.SUCCEEDED
    made = stripe_refunds(stripe_on, intent)
    assert [(r["id"], r["amount"], r["metadata"]["claimdesk_key"]) for r in made] == [
        (refund.gateway_reference, refund.amount_minor, refund.attempt_key)
    ]
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CANCEL_COMPLETED
    # and asking again with the same key (a retry after a crash) finds it instead of refunding
    again = StripeGateway().refund(
        key=refund.attempt_key, amount=refund.amount, payment_reference=intent
    )
    assert (again.approved, again.reference) == (True, refund.gateway_reference)
    assert len(stripe_refunds(stripe_on, intent)) == 1


def test_partial_refund_of_one_order_of_the_cart(stripe_on, seller, buyer, run_tasks) -> None:
    """Cancelling one order of a two-order cart refunds that order's part of the payment only."""
    from tests.factories import place_cart

    cart = place_cart(shop=seller.shop, buyer=buyer, prices=[1000, 2500])
    intent = paid_intent(stripe_on, 1000 + 2500 + 500)
    Cart.objects.filter(pk=cart.pk).update(payment_reference=intent)
    first = cart.orders.order_by("total_minor").first()
    assert first is not None
    claim_cancel_instantly(actor=buyer, order=first, reason="EDIT_ORDER")
    run_tasks()
    made = stripe_refunds(stripe_on, intent)
    assert [r["amount"] for r in made] == [1000]


def test_payment_not_at_stripe_fails_to_the_refund_monitor(
    stripe_on, seller, buyer, operator, client, run_tasks
) -> None:
    """A card order whose payment is not a Stripe one fails with a reason the operator reads."""
    order = order_in("new", seller=seller, buyer=buyer)
    pay_with(order, "pay_elsewhere_1")
    claim = claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    run_tasks()
    refund = Refund.objects.get(claim=claim)
    assert (refund.status, refund.failure_code) == (RefundStatus.FAILED, "not_a_stripe_payment")
    client.force_login(operator)
    page = client.get("/console/refunds/").content.decode()
    assert "not a Stripe PaymentIntent" in page


def test_bank_transfer_and_konbini_refund_to_the_balance_not_through_stripe(
    stripe_on, seller, buyer, run_tasks
) -> None:
    """A konbini order cancelled at the seller's fault goes to the balance, fee included."""
    order = order_in("new", seller=seller, buyer=buyer, method="convenience_store")
    intent = paid_intent(stripe_on, order.total_minor + 500)
    pay_with(order, intent)
    before = buyer_balance(buyer.pk, "JPY")
    claim = claim_seller_cancel(
        actor=seller, order=order, reason="OUT_OF_STOCK", confirm_without_notice=True
    )
    run_tasks()
    refund = Refund.objects.get(claim=claim)
    assert refund.destination == RefundDestination.BALANCE
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.payment_fee_minor >= 108 and refund.payment_fee_borne_by_seller
    assert buyer_balance(buyer.pk, "JPY") - before == Money(refund.amount_minor, "JPY")
    assert stripe_refunds(stripe_on, intent) == []


# --- pending at the provider, settled by its notification ---------------------------------


def test_pending_refund_waits_for_the_notification(
    settings, seller, buyer, client, run_tasks
) -> None:
    """Stripe keeps a refund pending: claimdesk keeps it pending until refund.updated says so."""
    with pending_refunds_server() as server:
        use_stripe(settings, server.url)
        order = order_in("new", seller=seller, buyer=buyer)
        pay_with(order, "pi_pending_1")
        claim = claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
        run_tasks()
        refund = Refund.objects.get(claim=claim)
        assert refund.status == RefundStatus.PENDING
        assert refund.gateway_reference.startswith("re_")
        assert OrderEvent.objects.filter(order=order, kind="refund.provider_pending").count() == 1
        # a recovery that runs it again finds the same refund: no second one, no second line
        from claimdesk.claims.refunds import refund_process

        refund_process(refund_id=refund.pk)
        assert len(server.refunds) == 1
        assert OrderEvent.objects.filter(order=order, kind="refund.provider_pending").count() == 1
        # Stripe's documented Idempotency-Key replay: the same key answers the first refund
        direct = stripe.StripeClient(SECRET_KEY, base_addresses={"api": server.url})
        params: Any = {"payment_intent": "pi_pending_1", "amount": 1}
        replay = direct.v1.refunds.create(
            params=params, options={"idempotency_key": refund.attempt_key}
        )
        assert replay.id == refund.gateway_reference
    response = post_event(client, refund_event(refund, "succeeded"))
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "settled"
    refund.refresh_from_db()
    claim.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert claim.status == ClaimStatus.CANCEL_COMPLETED


def test_notification_is_applied_once(stripe_on, seller, buyer, client) -> None:
    """The same event delivered twice settles the refund and posts the ledger once."""
    order = order_in("new", seller=seller, buyer=buyer)
    pay_with(order, "pi_replay_1")
    claim = claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    refund = Refund.objects.get(claim=claim)  # pending: no worker has run
    event = refund_event(refund, "succeeded")
    assert post_event(client, event).json()["outcome"] == "settled"
    assert post_event(client, event).json()["outcome"] == "replay"
    assert LedgerTransaction.objects.filter(refund=refund, kind="refund").count() == 1
    assert ProviderEvent.objects.filter(event_id=event["id"]).count() == 1


def test_provider_failure_reaches_the_refund_monitor(
    stripe_on, seller, buyer, operator, client
) -> None:
    """A refund Stripe failed is failed in claimdesk, with Stripe's reason on the console."""
    order = order_in("new", seller=seller, buyer=buyer)
    claim = claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    refund = Refund.objects.get(claim=claim)
    response = post_event(client, refund_event(refund, "failed", reason="expired_or_canceled_card"))
    assert response.json()["outcome"] == "failed"
    refund.refresh_from_db()
    assert (refund.status, refund.failure_code) == (RefundStatus.FAILED, "expired_or_canceled_card")
    client.force_login(operator)
    page = client.get("/console/refunds/").content.decode()
    assert "the card has expired or was cancelled" in page


def test_requires_action_keeps_the_refund_pending(stripe_on, seller, buyer, client) -> None:
    """requires_action: the refund stays pending and the order's history says so."""
    order = order_in("new", seller=seller, buyer=buyer)
    claim = claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    refund = Refund.objects.get(claim=claim)
    assert (
        post_event(client, refund_event(refund, "requires_action")).json()["outcome"] == "pending"
    )
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    line = OrderEvent.objects.get(order=order, kind="refund.provider_pending")
    assert line.reason == "requires_action"


def test_wrong_signature_changes_nothing(stripe_on, seller, buyer, client) -> None:
    """A notification signed with another secret is refused with a message and changes nothing."""
    order = order_in("new", seller=seller, buyer=buyer)
    claim = claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    refund = Refund.objects.get(claim=claim)
    response = post_event(client, refund_event(refund, "succeeded"), secret="whsec_other")
    assert response.status_code == 400
    assert "署名が Webhook シークレットと一致しない" in response.json()["detail"]
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    assert not ProviderEvent.objects.exists()


def test_dispute_goes_into_the_order_history(stripe_on, seller, buyer, client) -> None:
    """charge.dispute.created is written into the history of the disputed payment's order."""
    order = order_in("new", seller=seller, buyer=buyer)
    pay_with(order, "pi_disputed_1")
    event = {
        "id": "evt_dispute_1",
        "object": "event",
        "type": "charge.dispute.created",
        "data": {
            "object": {
                "id": "dp_1",
                "object": "dispute",
                "amount": order.total_minor,
                "currency": "jpy",
                "charge": "ch_disputed_1",
                "payment_intent": "pi_disputed_1",
                "reason": "product_not_received",
                "status": "needs_response",
            }
        },
    }
    assert post_event(client, event).json()["outcome"] == "dispute"
    line = OrderEvent.objects.get(order=order, kind="payment.disputed")
    assert line.reason == "product_not_received"
    assert line.data["dispute"] == "dp_1"


# --- reconciliation -----------------------------------------------------------------------


def test_reconciliation_reports_every_difference(
    settings, localstripe, seller, buyer, operator, client, run_tasks
) -> None:
    """Missing at the provider, unknown to claimdesk and amount mismatch are all reported."""
    flush(localstripe)
    use_stripe(settings, localstripe)
    direct = stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe})
    # a refund that matches, and one whose amount claimdesk recorded differently
    matching, differing = (order_in("new", seller=seller, buyer=buyer) for _ in range(2))
    for order in (matching, differing):
        pay_with(order, paid_intent(direct, order.total_minor + 500))
        claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    run_tasks()
    Refund.objects.filter(order=differing).update(amount_minor=F_amount(differing) + 1)
    # a refund claimdesk made through another processor: Stripe never saw it
    conf = dict(settings.CLAIMDESK)
    conf["PAYMENT_GATEWAY"] = "claimdesk.payments.gateways.SimulatedCardGateway"
    settings.CLAIMDESK = conf
    elsewhere = order_in("new", seller=seller, buyer=buyer)
    claim_cancel_instantly(actor=buyer, order=elsewhere, reason="EDIT_ORDER")
    run_tasks()
    use_stripe(settings, localstripe)
    # and a refund made at Stripe by hand, unknown to claimdesk
    stranger = direct.v1.refunds.create(
        params={"payment_intent": paid_intent(direct, 3000), "amount": 700}
    )
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile_refunds", "--since", timezone.localdate().isoformat())
    assert exit_.value.code == 1
    report = ReconciliationReport.objects.get()
    found = {(d["kind"], d["order_no"] or d["reference"]) for d in report.differences}
    assert ("amount_mismatch", differing.order_no) in found
    assert ("missing_at_provider", elsewhere.order_no) in found
    assert ("unknown_to_claimdesk", stranger.id) in found
    assert not any(d["order_no"] == matching.order_no for d in report.differences)
    client.force_login(operator)
    page = client.get("/console/refunds/").content.decode()
    assert 'data-kind="missing_at_provider"' in page and stranger.id in page


def F_amount(order: Order) -> int:
    return Refund.objects.get(order=order).amount_minor


def test_reconciliation_with_the_simulated_processor(seller, buyer, run_tasks) -> None:
    """The demo's processor reconciles from its own records; a lost record is reported."""
    order = order_in("new", seller=seller, buyer=buyer)
    claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    run_tasks()
    today = timezone.localdate().isoformat()
    call_command("reconcile_refunds", "--since", today)
    assert ReconciliationReport.objects.get().differences == []
    SimulatedGatewayRefund.objects.all().delete()
    with pytest.raises(SystemExit):
        call_command("reconcile_refunds", "--since", today)
    latest = ReconciliationReport.objects.order_by("-pk").first()
    assert latest is not None
    assert [d["kind"] for d in latest.differences] == ["missing_at_provider"]
    assert isinstance(
        SimulatedCardGateway().refunds_since(timezone.now() - dt.timedelta(days=1)), list
    )
