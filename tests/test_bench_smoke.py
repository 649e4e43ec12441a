"""The large-data generator still loads a consistent data set (tiny scale, PostgreSQL COPY)."""

from __future__ import annotations

import pytest
from django.db.models import Count

from bench.generate import Plan, generate
from claimdesk.accounts.models import Shop
from claimdesk.claims.models import Claim
from claimdesk.orders.models import Order

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
    # the indexes and keys dropped for the load are back
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'order_live_box'")
        assert cur.fetchone()[0] == 1
