"""The benchmark scripts still work at tiny scale: the generator (PostgreSQL COPY), the mixed load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
    from claimdesk.claims.cancel import claim_seller_cancel
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


def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


KINDS = {
    "page: seller home",
    "page: shipping page",
    "page: claims page",
    "page: claims box/filter",
    "page: claim panel",
    "page: buyer my page",
    "action: note to buyer",
    "action: seller cancel",
    "action: seller start return",
    "action: buyer cancel now",
    "action: buyer cancel request",
    "api: QAPI GetClaimInfo_V3",
    "api: QAPI GetShippingInfo_v3",
    "api: REST GET /claims",
    "api: REST GET /orders",
    "intake: platform orders batch of 50",
}


@pytest.mark.slow
def test_mixed_load_makes_every_kind_of_request_without_errors(
    postgres: None, tmp_path: Path
) -> None:
    """bench/mixed.py with one user of each class for a few seconds: every kind, 0 errors, once."""
    # given
    from django.db import connection
    from django.utils import timezone

    plan = Plan(
        orders=600,
        shops=4,
        big_orders=200,
        claims_per_status=5,
        buyers=30,
        seed=5,
        now=timezone.now().timestamp(),
    )
    generate(plan, reset=True)
    connection.close()
    # when
    done = subprocess.run(  # noqa: S603 - fixed command
        [
            sys.executable, "-m", "bench.mixed", "--test-database", "--smoke",
            "--steps", "6", "--step-seconds", "20", "--spawn-rate", "6",
            "--shops", "3", "--buyers", "6", "--orders-per-shop", "4",
            "--settle-timeout", "60", "--drain-timeout", "60", "--name", "mixed-smoke",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "DATABASE_URL": _database_url(), "BENCH_RESULTS": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    # then
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / "mixed-smoke.json").read_text())
    assert result["errors_all"] == 0, result["failures"]
    assert result["exceptions"] == []
    assert set(result["kinds_all"]) == KINDS  # bench/locustfile.py's KINDS (it patches with gevent)
    assert result["exactly_once"]["ok"], result["exactly_once"]["problems"]
    assert result["acted"]["seller_cancel"] >= 1 and result["acted"]["buyer_cancel"] >= 1
    assert result["exactly_once"]["refunds_checked"] == (
        result["acted"]["seller_cancel"] + result["acted"]["buyer_cancel"]
    )
