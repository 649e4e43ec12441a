"""Reading a shop's record: cancellation rate, delay points, ship rate, restrictions.

Rates are exact fractions of integers (no floats in the domain); `bp` gives
them in basis points for display, rounded half up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claimdesk.accounts.models import Shop, ShopPenalty, ShopRestriction
from claimdesk.accounts.selectors import (
    SHIPPING_DELAY,
    shop_active_restrictions,
    shop_delay_points,
)
from claimdesk.core.conf import setting
from claimdesk.orders.models import Order, OrderQuerySet

from .models import Claim, ClaimStatus, ClaimType
from .reasons import Fault


@dataclass(frozen=True)
class Ratio:
    """`numerator` out of `denominator`; an empty denominator reads as `empty`."""

    numerator: int
    denominator: int
    empty: Fraction = Fraction(0)

    @property
    def value(self) -> Fraction:
        if self.denominator == 0:
            return self.empty
        return Fraction(self.numerator, self.denominator)

    @property
    def bp(self) -> int:
        """Return the ratio in basis points (1 % = 100), rounded half up."""
        scaled = self.value * 10_000
        return (scaled.numerator * 2 + scaled.denominator) // (scaled.denominator * 2)

    def at_most_percent(self, percent: int) -> bool:
        """Return whether the ratio is at most `percent` %, compared exactly."""
        return self.value * 100 <= percent


@dataclass(frozen=True)
class ShopRecord:
    """What SPEC section 9 keeps about a shop over one period."""

    period_start: dt.datetime
    period_end: dt.datetime
    orders: int
    seller_fault_cancels: int
    late_buyer_cancels: int
    cancel_rate: Ratio
    cancelled_without_notice: int
    delay_points: int
    ship_rate: Ratio
    active_restrictions: list[ShopRestriction]

    def as_rows(self) -> list[tuple[str, str]]:
        """Return (label, value) lines for a page, in the active language."""
        until = ", ".join(
            timezone.localtime(r.ends_at).date().isoformat() for r in self.active_restrictions
        )
        return [
            (
                str(_("Cancellation rate")),
                f"{percent_text(self.cancel_rate.bp)} % ({self.cancel_rate.numerator}/{self.orders})",
            ),
            (str(_("Cancelled without notice")), str(self.cancelled_without_notice)),
            (str(_("Delay points")), str(self.delay_points)),
            (
                str(_("Ship rate")),
                f"{percent_text(self.ship_rate.bp)} % "
                f"({self.ship_rate.numerator}/{self.ship_rate.denominator})",
            ),
            (
                str(_("Sales restriction")),
                str(_("until %(dates)s") % {"dates": until}) if until else str(_("none")),
            ),
        ]


def percent_text(bp: int) -> str:
    """Return basis points as a percentage text with two decimals."""
    return f"{bp // 100}.{bp % 100:02d}"


def _period_orders(shop: Shop, period_start: dt.datetime, period_end: dt.datetime) -> OrderQuerySet:
    return Order.objects.filter(shop=shop, ordered_at__gte=period_start, ordered_at__lt=period_end)


def shop_cancel_rate(
    shop: Shop, period_start: dt.datetime, period_end: dt.datetime
) -> tuple[Ratio, int, int, int]:
    """Return the cancellation rate with its two parts and the cancels without notice.

    Over the orders placed in [period_start, period_end), a cancellation counts
    when its claim went through (cancelling or cancel completed) and either
    the fault is the seller's (whoever cancelled), or the buyer cancelled (at
    once, or by a request the seller approved) more than
    LATE_BUYER_CANCEL_HOURS after ordering, measured at the buyer's request.
    Unpaid auto-cancels and buyer-fault cancels by an operator do not count.
    """
    late = dt.timedelta(hours=setting("LATE_BUYER_CANCEL_HOURS"))
    orders = _period_orders(shop, period_start, period_end).count()
    done = Q(status__in=[ClaimStatus.CANCELLING, ClaimStatus.CANCEL_COMPLETED])
    counts = Claim.objects.filter(
        shop=shop,
        type=ClaimType.CANCEL,
        # a claim's order is always the claim's shop's: the repeated condition lets
        # PostgreSQL read only this shop's orders of the period (order_shop_ordered_cov)
        order__shop=shop,
        order__ordered_at__gte=period_start,
        order__ordered_at__lt=period_end,
    ).aggregate(
        seller=Count("order", filter=done & Q(fault=Fault.SELLER), distinct=True),
        late_buyer=Count(
            "order",
            filter=done
            & Q(
                fault=Fault.BUYER,
                requested_by="buyer",
                requested_at__gt=F("order__ordered_at") + late,
            ),
            distinct=True,
        ),
        without_notice=Count("pk", filter=Q(cancelled_without_notice=True)),
    )
    seller = counts["seller"] or 0
    late_buyer = counts["late_buyer"] or 0
    return Ratio(seller + late_buyer, orders), seller, late_buyer, counts["without_notice"] or 0


def shop_ship_rate(shop: Shop, period_start: dt.datetime, period_end: dt.datetime) -> Ratio:
    """Return the share of the period's paid orders that shipped without delay points.

    An order is due once it shipped or earned shipping-delay points; it is on
    time when it shipped without earning them. No due orders reads as 100 %.
    """
    late = Exists(ShopPenalty.objects.filter(order=OuterRef("pk"), kind=SHIPPING_DELAY))
    shipped = Q(shipped_at__isnull=False)
    counts = (
        _period_orders(shop, period_start, period_end)
        .filter(paid_at__isnull=False)
        .aggregate(
            due=Count("pk", filter=shipped | Q(late)),
            on_time=Count("pk", filter=shipped & ~Q(late)),
        )
    )
    return Ratio(counts["on_time"] or 0, counts["due"] or 0, empty=Fraction(1))


def _bounds(
    start: dt.date | dt.datetime, end: dt.date | dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """Turn dates into instants: whole days of the current time zone, both ends included."""

    def midnight(day: dt.date) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time()))

    if not isinstance(start, dt.datetime):
        start = midnight(start)
    if not isinstance(end, dt.datetime):
        end = midnight(end + dt.timedelta(days=1))
    return start, end


def shop_record(
    shop: Shop, period_start: dt.date | dt.datetime, period_end: dt.date | dt.datetime
) -> ShopRecord:
    """Return the shop's record over the period in five queries.

    Instants bound the period as [period_start, period_end); dates mean whole
    days of the current time zone, both included.
    """
    period_start, period_end = _bounds(period_start, period_end)
    cancel_rate, seller, late_buyer, without_notice = shop_cancel_rate(
        shop, period_start, period_end
    )
    return ShopRecord(
        period_start=period_start,
        period_end=period_end,
        orders=cancel_rate.denominator,
        seller_fault_cancels=seller,
        late_buyer_cancels=late_buyer,
        cancel_rate=cancel_rate,
        cancelled_without_notice=without_notice,
        delay_points=shop_delay_points(shop, period_start, period_end),
        ship_rate=shop_ship_rate(shop, period_start, period_end),
        active_restrictions=shop_active_restrictions(shop),
    )
