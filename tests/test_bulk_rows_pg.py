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
