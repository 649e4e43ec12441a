"""Rows written by COPY (large batches on PostgreSQL) equal the rows a multi-row INSERT writes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import models

from claimdesk.accounts.models import User
from claimdesk.core.bulk import COPY_MIN_ROWS
from claimdesk.intake.schemas import CartIn, PersonIn, ShopIn
from claimdesk.intake.services import buyers_upsert, carts_ingest, shops_upsert
from claimdesk.orders.models import Cart, Order, OrderEvent
from claimdesk.payments.ledger import ledger_total
from claimdesk.payments.models import LedgerEntry, LedgerTransaction
from tests.tallycheck import assert_tallies_exact
from tests.test_platform_api import buyer_row, cart_row, shop_row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

#: Columns that differ between two carts of the same content: ids, numbers, external ids.
_OWN = {"id", "cart_no", "order_no", "cart_id", "order_id", "transaction_id", "external_id"}
_OWN |= {"payment_reference", "memo", "created_at"}


def _values(obj: models.Model) -> dict[str, Any]:
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.attname not in _OWN
    }


def _event(event: OrderEvent, cart: Cart) -> dict[str, Any]:
    data = dict(event.data)
    assert data.pop("cart_no") == cart.cart_no
    return _values(event) | {"line": event.order.external_id[-1], "data": data}


def _written(cart: Cart) -> list[Any]:
    """Everything the intake wrote for `cart`, in the order it was written."""
    orders = list(cart.orders.order_by("pk"))
    events = list(OrderEvent.objects.filter(order__in=orders).order_by("pk"))
    txn = LedgerTransaction.objects.get(cart=cart)
    entries = list(txn.entries.order_by("pk"))
    return [
        _values(cart),
        [_values(o) | {"line": o.external_id[-1]} for o in orders],
        [_event(e, cart) for e in events],
        _values(txn),
        [_values(e) | {"line": e.order.external_id[-1] if e.order else None} for e in entries],
    ]


def test_a_large_batch_writes_the_rows_a_small_one_writes(postgres: None, operator: User) -> None:
    shops_upsert(actor=operator, rows=[ShopIn.model_validate(shop_row(1))])
    buyers_upsert(actor=operator, rows=[PersonIn.model_validate(buyer_row(1))])
    large = [CartIn.model_validate(cart_row(n)) for n in range(1, COPY_MIN_ROWS + 1)]
    small = [CartIn.model_validate(cart_row(n)) for n in range(1001, 1003)]

    assert {r.status for r in carts_ingest(actor=operator, rows=large)} == {"created"}
    assert {r.status for r in carts_ingest(actor=operator, rows=small)} == {"created"}

    copied = Cart.objects.get(external_id="cart-1")
    inserted = Cart.objects.get(external_id="cart-1001")
    assert _written(copied) == _written(inserted)
    # each cart's lines in the order sent, each with its history line and ledger lines
    assert [o.external_id for o in copied.orders.order_by("pk")] == ["order-1-a", "order-1-b"]
    assert Order.objects.count() == 2 * (COPY_MIN_ROWS + 2)
    assert OrderEvent.objects.filter(kind="order.placed").count() == Order.objects.count()
    assert LedgerEntry.objects.filter(order__isnull=False).values("order").distinct().count() == (
        Order.objects.count()
    )
    assert sum(ledger_total().values()) == 0
    assert_tallies_exact([copied.shop_id], zones=("Asia/Tokyo",))


def _copy(obj: models.Model, **changes: Any) -> models.Model:
    values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    values.pop(obj._meta.pk.attname)  # type: ignore[union-attr]
    return type(obj)(**(values | changes))


def _row(obj: models.Model, leave_out: set[str]) -> dict[str, Any]:
    row = type(obj)._default_manager.filter(pk=obj.pk).values().get()
    return {k: v for k, v in row.items() if k not in leave_out}


def test_a_few_rows_go_in_as_save_writes_them(postgres: None, seller: User, buyer: User) -> None:
    """insert_row's INSERT, built once per model, writes what Django's own INSERT writes."""
    from django_tasks_db.models import DBTaskResult

    from bench.replay import seller_cancel
    from claimdesk.claims.models import Claim
    from claimdesk.core.bulk import insert_row, insert_rows
    from claimdesk.messaging.models import Notification
    from claimdesk.payments.models import Refund
    from tests.factories import order_in

    order = order_in("new", seller=seller, buyer=buyer, method="balance")
    seller_cancel(seller, order)  # a claim, its refund settled at once, ledger, mails, tasks
    samples: list[tuple[models.Model, dict[str, Any], dict[str, Any], set[str]]] = [
        (Claim.objects.get(order=order), {"is_open": False}, {"is_open": False}, set()),
        (
            Refund.objects.get(order=order),
            {"idempotency_key": "copy-a"},
            {"idempotency_key": "copy-b"},
            {"idempotency_key", "claim_id"},  # a claim has one refund: each copy gets its own
        ),
        (Notification.objects.filter(order=order).latest("pk"), {}, {}, set()),
        (OrderEvent.objects.filter(order=order).latest("pk"), {}, {}, set()),
        (LedgerTransaction.objects.get(order=order), {}, {}, set()),
        (LedgerEntry.objects.filter(order=order).latest("pk"), {}, {}, set()),
        (DBTaskResult.objects.latest("enqueued_at"), {}, {}, {"enqueued_at"}),
    ]
    claims: list[Any] = []
    for obj, change_a, change_b, differ in samples:
        leave_out = {"id"} | differ
        if isinstance(obj, DBTaskResult):
            change_a, change_b = {"id": DBTaskResult().id}, {"id": DBTaskResult().id}
        if isinstance(obj, Refund):
            change_a, change_b = (
                change_a | {"claim_id": claims[0]},
                change_b | {"claim_id": claims[1]},
            )
        by_save = _copy(obj, **change_a)
        by_save.save(force_insert=True)
        by_insert = insert_row(_copy(obj, **change_b))
        assert by_insert.pk is not None and by_insert.pk != by_save.pk
        assert not by_insert._state.adding
        assert _row(by_insert, leave_out) == _row(by_save, leave_out), type(obj).__name__
        assert _row(by_save, leave_out) == _row(obj, leave_out), type(obj).__name__
        if isinstance(obj, Claim):
            claims = [by_save.pk, by_insert.pk]
    events = insert_rows(OrderEvent, [_copy(samples[3][0]) for _ in range(3)])
    assert [e.pk for e in events] == sorted(e.pk for e in events)  # ids in the rows' order
    assert len({e.pk for e in events}) == 3


def test_insert_rows_refuses_what_it_cannot_write_the_same_way(
    postgres: None, seller: User, buyer: User
) -> None:
    from django.db.models import F

    from claimdesk.core.bulk import insert_rows
    from tests.factories import order_in

    order = order_in("new", seller=seller, buyer=buyer)
    event = OrderEvent.objects.filter(order=order).latest("pk")
    before = OrderEvent.objects.count()
    with pytest.raises(ValueError, match="not expressions"):
        insert_rows(OrderEvent, [_copy(event, kind=F("reason"))])
    with pytest.raises(ValueError, match="give every row its id, or none"):
        insert_rows(OrderEvent, [_copy(event), _copy(event, id=10**9)])
    assert OrderEvent.objects.count() == before


def test_update_row_changes_what_queryset_update_changes(
    postgres: None, seller: User, buyer: User
) -> None:
    """update_row's UPDATE, built once per model and column list, is QuerySet.update's."""
    from django.utils import timezone

    from claimdesk.claims.models import Claim
    from claimdesk.core.bulk import update_row
    from tests.factories import order_in

    first = order_in("new", seller=seller, buyer=buyer)
    second = order_in("new", seller=seller, buyer=buyer)
    now = timezone.now()
    values = {"cancelled_at": now, "version": first.version + 1, "buyer_request": "急ぎ"}
    assert update_row(Order, first.pk, values) == 1
    assert Order.objects.filter(pk=second.pk).update(**values) == 1
    changed = Order.objects.values(*values)
    assert changed.get(pk=first.pk) == changed.get(pk=second.pk) == values
    # a guard that no longer holds changes nothing; None clears a column
    version = values["version"]
    assert update_row(Order, first.pk, {"version": 99}, where={"version": version - 1}) == 0
    assert update_row(Order, first.pk, {"cancelled_at": None}, where={"version": version}) == 1
    assert Order.objects.get(pk=first.pk).cancelled_at is None
    assert Order.objects.get(pk=first.pk).version == version
    with pytest.raises(ValueError, match="plain values"):
        update_row(Order, first.pk, {"version": 3}, where={"cancelled_at": None})
    with pytest.raises(ValueError, match="plain values"):
        update_row(Order, first.pk, {"version": models.F("version") + 1})
    assert Order.objects.get(pk=first.pk).version == version
    assert update_row(Claim, 10**9, {"status": 1}) == 0
