"""The large-data generator still loads a consistent data set (tiny scale, PostgreSQL COPY)."""

from __future__ import annotations

import pytest
from django.db.models import Count

from bench.generate import Plan, generate
from claimdesk.accounts.models import Shop
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.orders.models import Order
from tests.tallycheck import assert_tallies_exact

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_generator_fills_a_small_marketplace(postgres: None) -> None:
    """2,000 orders over 10 shops: the big shop has claims in all 16 statuses, one open per order."""
    # given
    from django.utils import timezone

    plan = Plan(
        orders=2_000,
        shops=10,
        big_orders=400,
        claims_per_status=40,
        buyers=200,
        seed=7,
        now=timezone.now().timestamp(),
    )
    # when
    counts = generate(plan, reset=True)
    # then
    assert Order.objects.count() == 2_000 == counts["orders_order"]
    big = Shop.objects.get(code="bench-big")
    per_status = dict(Claim.objects.filter(shop=big).values_list("status").annotate(n=Count("pk")))
    assert len(per_status) == 16 and set(per_status.values()) == {40}
    assert not (
        Claim.objects.filter(is_open=True).values("order").annotate(n=Count("pk")).filter(n__gt=1)
    )
    assert Order.objects.filter(shop=big).count() == 400
    # the box-count tallies were recounted after the load (its triggers were off)
    assert_tallies_exact(list(Shop.objects.values_list("pk", flat=True)), zones=("Asia/Tokyo",))
    # the indexes and keys dropped for the load are back
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'order_live_box'")
        assert cur.fetchone()[0] == 1


def test_fresh_paid_orders_can_be_cancelled_and_written_to_a_sheet(postgres: None) -> None:
    """bench/fresh.py's orders are new, paid and cancellable by the shop; bench/bulk.py's sheet reads back."""
    # given
    import io

    from django.utils import timezone

    from bench.bulk import _sheet
    from bench.fresh import add_paid_orders
    from claimdesk.accounts.models import User
    from claimdesk.claims.services import claim_seller_cancel
    from claimdesk.core.sheets import read_rows

    plan = Plan(
        orders=300,
        shops=3,
        big_orders=100,
        claims_per_status=5,
        buyers=50,
        seed=3,
        now=timezone.now().timestamp(),
    )
    generate(plan, reset=True)
    # when
    numbers = add_paid_orders("bench-s1", 5)
    order = Order.objects.get(order_no=numbers[0])
    claim = claim_seller_cancel(
        actor=User.objects.get(username="bench-s1-owner"),
        order=order,
        reason="OUT_OF_STOCK",
        confirm_without_notice=True,
    )
    # then
    assert Order.objects.filter(order_no__in=numbers, shipping_status=2).count() == 5
    # a card refund waits for the worker (cancelling), a balance refund is settled at once
    settled_later = order.cart.payment_method == "card"
    assert claim.status == (
        ClaimStatus.CANCELLING if settled_later else ClaimStatus.CANCEL_COMPLETED
    )
    assert claim.order.cancelled_at is not None
    assert add_paid_orders("bench-s1", 1)[0] == numbers[-1] + 1  # numbers never reused
    # the triggers are back on after the load: the new orders and the cancel are counted
    assert_tallies_exact([order.shop_id], zones=("UTC",))
    rows = read_rows(io.BytesIO(_sheet(numbers)), "s.xlsx", max_rows=10)
    assert [r[0] for r in rows] == [str(n) for n in numbers]
