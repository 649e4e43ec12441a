"""What one seller cancel with refund costs, and the batched history and webhooks it relies on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.replay import seller_cancel
from claimdesk.accounts.models import User
from claimdesk.claims.cancel import (
    claim_request_cancel,
    claim_seller_cancel,
    seller_sent_cancel_notice,
)
from claimdesk.claims.models import ClaimStatus
from claimdesk.claims.refunds import refunded_item_minor
from claimdesk.claims.workflow import _cancel_facts, _live_orders_left, _open_claim
from claimdesk.core.errors import DomainError
from claimdesk.messaging.models import WebhookDelivery, WebhookEndpoint
from claimdesk.messaging.services import note_send
from claimdesk.messaging.webhooks import webhook_endpoint_create
from claimdesk.orders.history import history_batch
from claimdesk.orders.models import Order, OrderEvent
from claimdesk.orders.services import order_confirm
from claimdesk.payments.ledger import ledger_total
from claimdesk.payments.models import Refund, RefundStatus
from tests.factories import order_in, place_cart

pytestmark = pytest.mark.django_db

ALL_EVENTS = [
    "order.status_changed",
    "claim.created",
    "claim.status_changed",
    "refund.succeeded",
]

#: Statements of one cancel in a shop without webhooks, the service's savepoint
#: and its release included (BEGIN and COMMIT outside a test). Card: lock; one
#: read of the open claim, cancel note, other live orders, refunds and webhook
#: endpoints; claim; order; refund; buyer mail; history lines; the refund and
#: mail tasks together. Balance: the ledger (2), the claim completed and a
#: second mail as well.
CARD_CANCEL_STATEMENTS = 10
BALANCE_CANCEL_STATEMENTS = 14


@pytest.fixture
def private_webhooks(settings: Any) -> None:
    settings.CLAIMDESK = {**settings.CLAIMDESK, "WEBHOOKS_ALLOW_PRIVATE": True}


def _statements(seller: User, order: Order) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        seller_cancel(seller, order)
    return [q["sql"] for q in ctx.captured_queries]


def test_card_cancel_statement_count(seller: User, buyer: User) -> None:
    order = order_in("new", seller=seller, buyer=buyer, method="card")
    statements = _statements(seller, order)
    assert len(statements) == CARD_CANCEL_STATEMENTS, "\n".join(s[:120] for s in statements)
    refund = Refund.objects.get(order=order)
    assert refund.status == RefundStatus.PENDING


def test_balance_cancel_statement_count(seller: User, buyer: User) -> None:
    order = order_in("new", seller=seller, buyer=buyer, method="balance")
    statements = _statements(seller, order)
    assert len(statements) == BALANCE_CANCEL_STATEMENTS, "\n".join(s[:120] for s in statements)
    refund = Refund.objects.get(order=order)
    assert refund.status == RefundStatus.SUCCEEDED and refund.gateway_reference == "balance"
    assert refund.claim.status == ClaimStatus.CANCEL_COMPLETED
    assert set(ledger_total().values()) == {0}


def test_balance_cancel_history_and_webhooks_in_order(
    seller: User, buyer: User, private_webhooks: None
) -> None:
    """The batched history keeps its order; each line's webhook event is recorded once."""
    order = order_in("new", seller=seller, buyer=buyer, method="balance")
    webhook_endpoint_create(actor=seller, url="http://127.0.0.1:9/hook", events=ALL_EVENTS)
    before = OrderEvent.objects.filter(order=order).count()
    seller_cancel(seller, order)
    kinds = list(
        OrderEvent.objects.filter(order=order).order_by("created_at", "id").values_list("kind")
    )[before:]
    assert [k for (k,) in kinds] == [
        "claim.opened.cancel",
        "order.cancelled",
        "refund.created",
        "refund.succeeded",
        "claim.refund_succeeded",
    ]
    types = list(WebhookDelivery.objects.order_by("id").values_list("event_type", flat=True))
    assert types == [
        "claim.created",
        "order.status_changed",
        "refund.succeeded",
        "claim.status_changed",
    ]
    payload = WebhookDelivery.objects.get(event_type="refund.succeeded").payload
    assert payload["data"]["order_no"] == order.order_no
    assert payload["data"]["refund"]["reference"] == "balance"


def test_endpoint_added_in_the_same_transaction_gets_the_events(
    seller: User, buyer: User, private_webhooks: None
) -> None:
    order = order_in("new", seller=seller, buyer=buyer)
    with transaction.atomic():
        endpoint = webhook_endpoint_create(
            actor=seller, url="http://127.0.0.1:9/hook", events=["claim.created"]
        )
        seller_cancel(seller, order)
    delivery = WebhookDelivery.objects.get()
    assert delivery.endpoint == endpoint and delivery.event_type == "claim.created"


def test_one_batch_for_two_shops_keeps_each_shops_events_apart(
    seller: User, other_seller: User, buyer: User, private_webhooks: None
) -> None:
    """Two shops' cancels in one batch: one endpoint lookup, each event to its own shop only."""
    mine = order_in("new", seller=seller, buyer=buyer)
    theirs = order_in("new", seller=other_seller, buyer=buyer)
    my_endpoint = webhook_endpoint_create(
        actor=seller, url="http://127.0.0.1:9/a", events=["claim.created"]
    )
    their_endpoint = webhook_endpoint_create(
        actor=other_seller, url="http://127.0.0.1:9/b", events=["order.status_changed"]
    )
    inactive = webhook_endpoint_create(
        actor=other_seller, url="http://127.0.0.1:9/c", events=ALL_EVENTS
    )
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    with transaction.atomic(), history_batch():
        seller_cancel(seller, mine)
        seller_cancel(other_seller, theirs)
    deliveries = {
        (d.endpoint_id, d.event_type, d.payload["data"]["order_no"])
        for d in WebhookDelivery.objects.all()
    }
    assert deliveries == {
        (my_endpoint.pk, "claim.created", mine.order_no),
        (their_endpoint.pk, "order.status_changed", theirs.order_no),
    }


def test_refused_cancel_writes_no_batched_line_and_no_delivery(
    seller: User, buyer: User, private_webhooks: None
) -> None:
    """A refusal inside the batch discards its lines: only the refusal line is written."""
    order = order_in("new", seller=seller, buyer=buyer)
    webhook_endpoint_create(actor=seller, url="http://127.0.0.1:9/hook", events=ALL_EVENTS)
    before = OrderEvent.objects.filter(order=order).count()
    with pytest.raises(DomainError) as refused:
        claim_seller_cancel(actor=seller, order=order, reason="OUT_OF_STOCK")
    assert refused.value.code == "notice_not_sent"
    new = OrderEvent.objects.filter(order=order)[before:]
    assert [(e.kind, e.refused) for e in new] == [("claim.seller_cancel", True)]
    assert not WebhookDelivery.objects.exists()
    assert not Refund.objects.filter(order=order).exists()


def test_open_claim_refusal_names_the_claim(seller: User, buyer: User) -> None:
    """The one read of the open claim still gives its id and status in the refusal."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim = claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    with pytest.raises(DomainError) as refused:
        seller_cancel(seller, order)
    assert refused.value.code == "claim_open"
    assert refused.value.data == {"claim": claim.pk, "status": ClaimStatus.CANCEL_REQUESTED}


def _orm_facts(order: Order) -> tuple[Any, ...]:
    claim = _open_claim(order)
    return (
        None if claim is None else (claim.pk, claim.status),
        seller_sent_cancel_notice(order),
        _live_orders_left(order),
        refunded_item_minor(order),
        WebhookEndpoint.objects.filter(shop_id=order.shop_id, is_active=True).exists(),
    )


def _sql_facts(order: Order) -> tuple[Any, ...]:
    facts = _cancel_facts(order)
    return (
        facts.open_claim,
        facts.noticed,
        facts.live_orders_left,
        facts.refunded_minor,
        facts.webhooks,
    )


def test_cancel_facts_read_what_the_orm_helpers_read(
    seller: User, buyer: User, private_webhooks: None
) -> None:
    """The one-statement read of a cancel agrees with the helpers it stands for."""
    cart = place_cart(shop=seller.shop, buyer=buyer, prices=[1000, 2000, 3000])
    first, second, third = cart.orders.order_by("pk")
    order_confirm(actor=seller, order=third, est_ship_date=timezone.localdate() + dt.timedelta(1))
    assert _sql_facts(first) == _orm_facts(first) == (None, False, 2, 0, False)
    seller_cancel(seller, second)  # refunded, no longer live
    claim = claim_request_cancel(actor=buyer, order=third, reason="EDIT_ORDER")
    note_send(
        actor=seller,
        order=first,
        category="cancel_refund",
        title="キャンセルのお知らせ",
        body="在庫切れのためキャンセルいたします",
    )
    endpoint = webhook_endpoint_create(
        actor=seller, url="http://127.0.0.1:9/hook", events=["claim.created"]
    )
    for order in (first, second, third):
        order.refresh_from_db()
        assert _sql_facts(order) == _orm_facts(order)
    assert _sql_facts(first) == (None, True, 1, 0, True)
    assert _sql_facts(second)[3] == 2000
    assert _sql_facts(third)[0] == (claim.pk, ClaimStatus.CANCEL_REQUESTED)
    endpoint.is_active = False
    endpoint.save(update_fields=["is_active"])
    assert _sql_facts(first)[4] is False


def test_a_shop_with_webhooks_costs_two_more_statements(
    seller: User, buyer: User, private_webhooks: None
) -> None:
    from django_tasks_db.models import DBTaskResult

    order = order_in("new", seller=seller, buyer=buyer, method="card")
    webhook_endpoint_create(actor=seller, url="http://127.0.0.1:9/hook", events=ALL_EVENTS)
    statements = _statements(seller, order)
    assert WebhookDelivery.objects.count() == 2  # claim.created, order.status_changed
    # the endpoint lookup and the deliveries in one INSERT; their tasks join the others'
    assert len(statements) == CARD_CANCEL_STATEMENTS + 2
    task_inserts = [s for s in statements if s.startswith('INSERT INTO "django_tasks_database')]
    assert len(task_inserts) == 1
    assert DBTaskResult.objects.filter(task_path__endswith="deliver_webhook").count() == 2


def test_a_failed_action_inside_an_outer_batch_leaves_no_line(
    seller: User, buyer: User, private_webhooks: None
) -> None:
    """An outer block that catches a refusal and goes on writes only what succeeded."""
    good = order_in("new", seller=seller, buyer=buyer)
    bad = order_in("new", seller=seller, buyer=buyer)
    webhook_endpoint_create(actor=seller, url="http://127.0.0.1:9/hook", events=ALL_EVENTS)
    before = OrderEvent.objects.filter(order=bad).count()
    with transaction.atomic(), history_batch():
        seller_cancel(seller, good)
        try:
            # A step the block may give up: its own savepoint and its own batch.
            with transaction.atomic(), history_batch():
                seller_cancel(seller, bad)
                raise DomainError("refused_for_test", "refused after its lines were noted")
        except DomainError:
            pass
    assert OrderEvent.objects.filter(order=good, kind="order.cancelled").exists()
    assert OrderEvent.objects.filter(order=bad).count() == before
    orders = {d.payload["data"]["order_no"] for d in WebhookDelivery.objects.all()}
    assert orders == {good.order_no}
