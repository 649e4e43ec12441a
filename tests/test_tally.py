"""The seller's box counts come from tallies the database keeps, and always equal the lists.

Each test builds rows, changes them through the services and behind their back,
and checks every box count against counting the list the box opens, in four
time zones (including one half an hour off UTC) and six periods of each kind.
"""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from claimdesk.claims.cancel import (
    claim_cancel_instantly,
    claim_cancel_unpaid,
    claim_request_cancel,
    claim_seller_cancel,
    claim_withdraw,
)
from claimdesk.claims.models import Claim, ClaimStatus, ClaimTally, TallyKind
from claimdesk.claims.non_receipt import claim_report_non_receipt
from claimdesk.claims.selectors import (
    HOME_BOXES,
    ClaimFilter,
    claim_home_counts,
    claim_status_counts,
)
from claimdesk.claims.tally import CLAIMS
from claimdesk.claims.timers import compact_tallies
from claimdesk.core import tally
from claimdesk.ops.sweep import sweep
from claimdesk.orders.models import Cart, Order, OrderTally
from claimdesk.orders.selectors import shipping_box_counts
from claimdesk.orders.tally import ORDERS
from tests.factories import SellerFactory, order_in
from tests.tallycheck import assert_tallies_exact, counted_home, counted_statuses

pytestmark = pytest.mark.django_db(transaction=False)

S = ClaimStatus
UTC = dt.UTC


def _spread(seller, buyer) -> list[Order]:  # type: ignore[no-untyped-def]
    """Orders in every shipping box and claims of several kinds, dated over 100 days."""
    orders = [
        order_in(status, seller=seller, buyer=buyer)
        for status in ("unpaid", "new", "confirmed", "delayed", "shipped", "delivered")
        for _ in range(2)
    ]
    unpaid, _u2, new, _n2, confirmed, confirmed2, delayed, _d2, shipped, _s2, delivered, _dv = (
        orders
    )
    # an estimated ship date that passed: delayed without a registered delay
    Order.objects.filter(pk=confirmed2.pk).update(
        est_ship_date=timezone.localdate() - dt.timedelta(days=2)
    )
    claim_cancel_instantly(actor=buyer, order=new, reason="EDIT_ORDER")
    claim_seller_cancel(
        actor=seller, order=delayed, reason="OUT_OF_STOCK", confirm_without_notice=True
    )
    claim_request_cancel(actor=buyer, order=confirmed, reason="EDIT_ORDER")
    claim_report_non_receipt(actor=buyer, order=shipped, duty="SC", memo="届かない")
    Cart.objects.filter(pk=unpaid.cart_id).update(
        payment_deadline=timezone.now() - dt.timedelta(hours=1)
    )
    assert claim_cancel_unpaid(order=unpaid) is not None
    # dates spread over 100 days, some a moment either side of a UTC or a Tokyo midnight
    now = timezone.now().replace(microsecond=0)
    moments = [
        now - dt.timedelta(days=100),
        now - dt.timedelta(days=89, hours=7),
        now.astimezone(UTC).replace(hour=0, minute=0, second=0) - dt.timedelta(days=3),
        now.astimezone(UTC).replace(hour=23, minute=59, second=59) - dt.timedelta(days=30),
        now.astimezone(UTC).replace(hour=15, minute=0, second=0) - dt.timedelta(days=1),
        now.astimezone(UTC).replace(hour=14, minute=59, second=59) - dt.timedelta(days=2),
    ]
    for claim, moment in zip(Claim.objects.order_by("pk"), moments, strict=False):
        Claim.objects.filter(pk=claim.pk).update(
            requested_at=moment,
            ordered_at=moment - dt.timedelta(days=1, hours=5),
            completed_at=None if claim.completed_at is None else moment + dt.timedelta(hours=9),
        )
    return orders


def test_box_counts_equal_the_lists_in_every_zone_and_period(seller, buyer, other_seller):
    """Shipping boxes, home boxes and status boxes of every period kind count exactly what
    their lists show, and another shop's counts stay its own."""
    # given
    _spread(seller, buyer)
    order_in("new", seller=other_seller, buyer=buyer)

    # then
    assert_tallies_exact([seller.shop_id, other_seller.shop_id])
    assert shipping_box_counts(seller.shop_id) == {
        "awaiting_payment": 1,  # the other unpaid order was cancelled
        "new": 1,  # the other was cancelled by the buyer
        "confirmed": 1,  # with an open cancel request
        "delayed": 2,  # a registered delay and an estimated ship date that passed
        "on_delivery": 2,
        "delivered": 2,
    }
    assert shipping_box_counts(other_seller.shop_id)["new"] == 1
    assert claim_home_counts(other_seller.shop_id) == dict.fromkeys(HOME_BOXES, 0)


def test_writes_behind_the_services_are_counted_too(seller, buyer):
    """A QuerySet.update, raw SQL and a delete move the counts like a service does."""
    # given
    orders = _spread(seller, buyer)
    shop = seller.shop_id
    ninety = ClaimFilter(date_from=timezone.localdate() - dt.timedelta(days=90))

    # when: statuses changed in bulk, a claim created directly, one deleted, an order shipped by SQL
    Claim.objects.filter(shop_id=shop, status=S.CANCEL_REQUESTED).update(status=S.CANCELLING)
    assert claim_home_counts(shop)["cancelling"] == counted_home(shop)["cancelling"] > 0
    assert claim_status_counts(shop, ninety) == counted_statuses(shop, ninety)
    Claim.objects.filter(shop_id=shop, status=S.CANCELLING).update(
        status=S.CANCEL_COMPLETED, is_open=False, completed_at=timezone.now()
    )
    Claim.objects.create(
        order=orders[9],
        shop_id=shop,
        buyer=buyer,
        type="return",
        status=S.RETURN_REQUESTED,
        reason_code="DEFECT",
        fault="seller",
        requested_by="buyer",
        ordered_at=orders[9].ordered_at,
    )
    Claim.objects.filter(shop_id=shop, status=S.UNPAID_CANCELLED).delete()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orders_order SET shipping_status = 4 WHERE id = %s", [orders[4].pk])

    # then
    assert_tallies_exact([shop])
    counts = claim_status_counts(shop, ninety)
    assert counts[S.CANCEL_REQUESTED] == 0
    assert counts[S.RETURN_REQUESTED] == 1
    assert counts[S.UNPAID_CANCELLED] == 0
    assert counts == counted_statuses(shop, ninety)


def test_compaction_folds_each_key_into_one_row_and_keeps_every_count(seller, buyer):
    """The sweep folds the triggers' +1/-1 rows; the counts do not move; a second run folds
    nothing; a recount from scratch gives the same rows."""
    # given
    _spread(seller, buyer)
    shop = seller.shop_id
    before = ClaimTally.objects.filter(merged=False).count()
    assert before > 0

    # when
    folded = sweep()["tally_rows_folded"]

    # then
    assert folded > 0
    assert not ClaimTally.objects.filter(merged=False).exists()
    assert not OrderTally.objects.filter(merged=False).exists()
    keys = list(ClaimTally.objects.values_list("shop_id", "kind", "day", "status"))
    assert len(keys) == len(set(keys))
    assert not ClaimTally.objects.filter(n=0).exists()
    assert_tallies_exact([shop])
    assert compact_tallies() == 0

    # and a recount from the rows gives the same tally
    def rows() -> set[tuple[object, ...]]:
        return set(ClaimTally.objects.values_list("shop_id", "kind", "day", "status", "n")) | set(
            OrderTally.objects.values_list(
                "shop_id", "shipping_status", "delay_registered", "est_ship_date", "n"
            )
        )

    compacted = rows()
    tally.rebuild(connection, CLAIMS)
    tally.rebuild(connection, ORDERS)
    assert rows() == compacted


def test_open_claims_count_by_status_however_old(seller, buyer):
    """The home boxes count open claims of any age; closing one takes it out at once."""
    # given
    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim = claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    Claim.objects.filter(pk=claim.pk).update(requested_at=timezone.now() - dt.timedelta(days=400))
    assert claim_home_counts(seller.shop_id)["cancel_requested"] == 1
    assert ClaimTally.objects.filter(kind=TallyKind.OPEN, status=S.CANCEL_REQUESTED).exists()

    # when
    claim_withdraw(actor=buyer, claim=Claim.objects.get(pk=claim.pk))

    # then
    assert claim_home_counts(seller.shop_id)["cancel_requested"] == 0
    assert_tallies_exact([seller.shop_id], zones=("Asia/Tokyo",))


def test_each_count_is_one_query(seller, buyer, django_assert_num_queries):
    """Shipping boxes, home boxes and a 90-day status count are one SQL statement each."""
    _spread(seller, buyer)
    shop = seller.shop_id
    with django_assert_num_queries(1):
        shipping_box_counts(shop)
    with django_assert_num_queries(1):
        claim_home_counts(shop)
    with django_assert_num_queries(1):
        claim_status_counts(shop, ClaimFilter(date_from=timezone.localdate() - dt.timedelta(90)))


def test_triggers_come_back_with_the_tally_after_a_reinstall(seller, buyer):
    """Installing again (a later migration) replaces the triggers and recounts."""
    _spread(seller, buyer)
    tally.install(connection, CLAIMS)
    tally.install(connection, ORDERS)
    order_in("new", seller=SellerFactory(shop=seller.shop), buyer=buyer)
    assert_tallies_exact([seller.shop_id], zones=("UTC",))


def test_a_load_with_the_triggers_off_is_recounted_by_the_command(seller, buyer):
    """Rows written while the triggers were off are missing from the counts until
    `manage.py tally_rebuild` recounts them."""
    # given: a load that bypassed the triggers (here: the tally emptied behind their back)
    _spread(seller, buyer)
    ClaimTally.objects.all().delete()
    OrderTally.objects.all().delete()
    assert shipping_box_counts(seller.shop_id)["delivered"] == 0

    # when
    out = StringIO()
    call_command("tally_rebuild", stdout=out)

    # then
    assert "tallies recounted" in out.getvalue()
    assert shipping_box_counts(seller.shop_id)["delivered"] == 2
    assert_tallies_exact([seller.shop_id], zones=("Asia/Kolkata",))


def test_the_tally_descriptions_are_what_the_migrations_installed():
    """A changed description needs a migration that installs it again: databases migrated
    earlier keep the triggers an earlier migration installed."""
    from claimdesk.claims import tally as claims_tally
    from claimdesk.orders import tally as orders_tally

    for module, spec in ((claims_tally, CLAIMS), (orders_tally, ORDERS)):
        assert tally.fingerprint(spec) == module.INSTALLED, (
            f"{spec.table}: add a migration that runs tally.install for it, then set "
            f"INSTALLED in {module.__name__} to {tally.fingerprint(spec)!r}"
        )
