"""The shop record of SPEC section 9: cancellation rate, delay points, ship rate, restrictions."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
import time_machine

from claimdesk.accounts.models import ShopPenalty
from claimdesk.claims.cancel import (
    claim_approve_cancel,
    claim_cancel_instantly,
    claim_cancel_unpaid,
    claim_request_cancel,
    claim_seller_cancel,
    claim_withdraw,
)
from claimdesk.claims.penalties import (
    shop_penalty_add,
    shop_restriction_impose,
    shop_restriction_lift,
)
from claimdesk.claims.shop_record import Ratio, shop_record, shop_ship_rate
from claimdesk.core.errors import Conflict, Forbidden
from claimdesk.messaging.models import Notification
from claimdesk.orders.models import OrderEvent
from claimdesk.orders.services import order_ship
from tests.factories import order_in

pytestmark = pytest.mark.django_db(transaction=False)

TOKYO = ZoneInfo("Asia/Tokyo")
ORDERED = dt.datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)
JUNE = (dt.datetime(2026, 6, 1, tzinfo=TOKYO), dt.datetime(2026, 7, 1, tzinfo=TOKYO))


def later(**delta: int) -> dt.datetime:
    return ORDERED + dt.timedelta(**delta)


def ordered(status: str, seller, buyer, **kwargs):  # type: ignore[no-untyped-def]
    with time_machine.travel(ORDERED, tick=False):
        return order_in(status, seller=seller, buyer=buyer, **kwargs)


def buyer_cancels_after(seller, buyer, **delta: int) -> None:  # type: ignore[no-untyped-def]
    order = ordered("new", seller, buyer)
    with time_machine.travel(later(**delta), tick=False):
        claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")


def test_buyer_cancel_counts_only_after_six_hours(seller, buyer):
    """5h59m and exactly 6h do not count; 6h01m does."""
    # given
    buyer_cancels_after(seller, buyer, hours=5, minutes=59)
    buyer_cancels_after(seller, buyer, hours=6)
    buyer_cancels_after(seller, buyer, hours=6, minutes=1)
    ordered("new", seller, buyer)
    # when
    record = shop_record(seller.shop, *JUNE)
    # then
    assert (record.orders, record.late_buyer_cancels, record.seller_fault_cancels) == (4, 1, 0)
    assert record.cancel_rate == Ratio(1, 4)
    assert record.cancel_rate.bp == 2500


def test_seller_fault_cancel_counts_whenever_it_happens(seller, buyer):
    """A seller's out-of-stock cancel counts at once, and without a note it counts as without notice."""
    # given
    order = ordered("new", seller, buyer)
    with time_machine.travel(later(minutes=5), tick=False):
        claim_seller_cancel(
            actor=seller, order=order, reason="OUT_OF_STOCK", confirm_without_notice=True
        )
    ordered("new", seller, buyer)
    # when
    record = shop_record(seller.shop, *JUNE)
    # then
    assert (record.seller_fault_cancels, record.late_buyer_cancels) == (1, 0)
    assert record.cancel_rate.value == Fraction(1, 2)
    assert record.cancelled_without_notice == 1


def test_approved_buyer_request_counts_by_when_the_buyer_asked(seller, buyer):
    """An approved request (客户要求, buyer fault) counts when asked after 6 h, not when asked after 1 h."""
    for hours in (1, 7):
        order = ordered("confirmed", seller, buyer)
        with time_machine.travel(later(hours=hours), tick=False):
            claim = claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
        with time_machine.travel(later(days=1), tick=False):
            claim_approve_cancel(actor=seller, claim=claim)
    record = shop_record(seller.shop, *JUNE)
    assert (record.orders, record.late_buyer_cancels, record.seller_fault_cancels) == (2, 1, 0)


def test_withdrawn_refused_and_unpaid_cancels_do_not_count(seller, buyer):
    """Only cancellations that went through count; the unpaid auto-cancel is nobody's late cancel."""
    # given: a withdrawn request, a request declined by shipping, an unpaid auto-cancel
    withdrawn = ordered("confirmed", seller, buyer)
    declined = ordered("confirmed", seller, buyer)
    unpaid = ordered("unpaid", seller, buyer)
    with time_machine.travel(later(hours=8), tick=False):
        claim = claim_request_cancel(actor=buyer, order=withdrawn, reason="EDIT_ORDER")
        claim_withdraw(actor=buyer, claim=claim)
        claim_request_cancel(actor=buyer, order=declined, reason="EDIT_ORDER")
        order_ship(actor=seller, order=declined, carrier="佐川急便", tracking_no="1")
    with time_machine.travel(later(days=4), tick=False):
        assert claim_cancel_unpaid(order=unpaid) is not None
    # when
    record = shop_record(seller.shop, *JUNE)
    # then
    assert record.orders == 3
    assert record.cancel_rate == Ratio(0, 3)


def test_orders_outside_the_period_are_left_out(seller, buyer):
    """The rate is over the orders placed in the period; dates mean whole days, both included."""
    buyer_cancels_after(seller, buyer, hours=7)
    may = shop_record(seller.shop, dt.date(2026, 5, 1), dt.date(2026, 5, 31))
    june_first = shop_record(seller.shop, dt.date(2026, 6, 1), dt.date(2026, 6, 1))
    assert (may.orders, may.cancel_rate.bp) == (0, 0)
    assert (june_first.orders, june_first.cancel_rate.bp) == (1, 10_000)


def test_ratio_is_exact_and_rounds_basis_points_half_up():
    """Rates stay fractions; basis points round half up; an empty ratio reads as its default."""
    assert Ratio(1, 3).bp == 3333
    assert Ratio(2, 3).bp == 6667
    assert Ratio(1, 8).bp == 1250
    assert Ratio(1, 20_000).bp == 1  # 0.5 bp rounds up
    assert Ratio(0, 0).value == 0
    assert Ratio(0, 0, empty=Fraction(1)).bp == 10_000
    assert isinstance(Ratio(1, 3).value, Fraction)


@pytest.mark.parametrize(
    ("on_time", "due", "restricted"),
    [(19, 20, True), (20, 21, False), (95, 100, True), (951, 1000, False), (0, 1, True)],
)
def test_ship_rate_threshold_is_at_most_95_percent(on_time, due, restricted):
    """Ship rates of 95 % or less lead to a restriction; anything above does not."""
    assert Ratio(on_time, due).at_most_percent(95) is restricted


def test_ship_rate_counts_orders_shipped_without_delay_points(seller, buyer):
    """Shipped orders are on time unless they earned delay points; late unshipped ones are due too."""
    # given: 2 shipped on time, 1 shipped late (points), 1 unshipped with points, 1 new
    ordered("shipped", seller, buyer)
    ordered("shipped", seller, buyer)
    late_shipped = ordered("confirmed", seller, buyer)
    late_unshipped = ordered("new", seller, buyer)
    ordered("new", seller, buyer)
    for order in (late_shipped, late_unshipped):
        shop_penalty_add(actor=None, shop=seller.shop, order=order, points=2)
    order_ship(actor=seller, order=late_shipped, carrier="佐川急便", tracking_no="2")
    # when
    rate = shop_ship_rate(seller.shop, *JUNE)
    # then
    assert rate == Ratio(2, 4, empty=Fraction(1))
    assert rate.bp == 5000
    assert shop_ship_rate(seller.shop, JUNE[1], JUNE[1] + dt.timedelta(days=30)).bp == 10_000


def test_record_sums_points_and_lists_active_restrictions(
    seller, buyer, operator, django_assert_num_queries
):
    """Points of the period add up; an active restriction shows until it is lifted."""
    # given
    order = ordered("new", seller, buyer)
    with time_machine.travel(later(days=5), tick=False):
        shop_penalty_add(actor=None, shop=seller.shop, order=order, points=2)
        shop_penalty_add(actor=operator, shop=seller.shop, points=3, kind="manual", reason="audit")
        restriction = shop_restriction_impose(
            actor=operator, shop=seller.shop, reason="repeated delays", days=10
        )
        # when
        with django_assert_num_queries(5):
            record = shop_record(seller.shop, *JUNE)
        # then
        assert record.delay_points == 5
        assert record.active_restrictions == [restriction]
        assert dict(record.as_rows())
        shop_restriction_lift(actor=operator, restriction=restriction)
        assert shop_record(seller.shop, *JUNE).active_restrictions == []
    restriction.refresh_from_db()
    assert (restriction.imposed_by, restriction.lifted_by) == (operator, operator)


def test_points_are_given_once_per_order_and_kind(seller, buyer):
    """A second shipping-delay penalty for the same order is refused and mails nothing more."""
    order = ordered("new", seller, buyer)
    shop_penalty_add(actor=None, shop=seller.shop, order=order, points=2)
    with pytest.raises(Conflict) as refused:
        shop_penalty_add(actor=None, shop=seller.shop, order=order, points=2)
    assert refused.value.code == "penalty_exists"
    assert ShopPenalty.objects.filter(order=order).count() == 1
    assert Notification.objects.filter(kind="delay_points").count() == 1
    assert OrderEvent.objects.filter(order=order, kind="shop.penalty_added").count() == 1


def test_only_one_restriction_holds_at_a_time_and_sellers_cannot_impose(seller, buyer, operator):
    """Imposing on a restricted shop is refused; a seller may neither impose nor lift."""
    with pytest.raises(Forbidden):
        shop_restriction_impose(actor=seller, shop=seller.shop, reason="self-inflicted")
    restriction = shop_restriction_impose(actor=operator, shop=seller.shop, reason="delays")
    with pytest.raises(Conflict) as refused:
        shop_restriction_impose(actor=None, shop=seller.shop, reason="again")
    assert refused.value.code == "restriction_active"
    with pytest.raises(Forbidden):
        shop_restriction_lift(actor=seller, restriction=restriction)
    shop_restriction_lift(actor=None, restriction=restriction)
    with pytest.raises(Conflict):
        shop_restriction_lift(actor=None, restriction=restriction)
    assert [n.kind for n in Notification.objects.order_by("pk")] == [
        "restriction_imposed",
        "restriction_lifted",
    ]
