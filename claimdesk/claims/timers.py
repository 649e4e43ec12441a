"""Platform timers (SPEC section 9), run by the worker's periodic sweep (`claimdesk.ops.sweep`).

Every step picks its due rows with plain column comparisons against bounds
computed here in Python (no per-row date arithmetic in SQL), walks them by
primary key in batches of `BATCH_SIZE`, and handles each row in its own
transaction through a service that re-checks the row under its lock. A row
that someone else changed first raises `DomainError` or is found no longer
due, and is skipped. Running the sweep twice at the same instant therefore
changes nothing the second time.

Business days are Japanese business days (`claimdesk.core.calendar`) of the
Asia/Tokyo calendar. Business-day rules count the business days after the
local date of the starting event (payment, claim request) up to today, and act
only on business days: nothing counts up, and nothing is sent, on a weekend,
a national holiday or the year-end closing days.

Shipping delay (SPEC section 9), for live orders in 2 or 3 that are not shipped:

- business day DELAY_REMINDER_BUSINESS_DAY after payment: a reminder mail to
  the shop, once (`Order.delay_reminded_at`);
- business day DELAY_POINTS_BUSINESS_DAY: DELAY_POINTS points, once per order;
- business day RESTRICTION_BUSINESS_DAY, when the shop's ship rate over the
  last SHIP_RATE_PERIOD_DAYS is at most RESTRICTION_SHIP_RATE_PERCENT: a sales
  restriction of RESTRICTION_DAYS, unless one already holds; one restriction
  at most per late order.

Decision on registered delays: a seller who registered a delay told the buyer
a new date, so while that date (`est_ship_date`) is today or later the order
is not late and none of the three steps happens. Once the date has passed
without shipment, the count since payment applies again: every step it has
reached happens on the next business day (the seller missed their own date).
A mere confirmation date (no registered delay) does not postpone anything.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from claimdesk.accounts.models import ShopPenalty, ShopRestriction
from claimdesk.accounts.selectors import SHIPPING_DELAY
from claimdesk.core.calendar import business_days_between, is_business_day
from claimdesk.core.conf import setting
from claimdesk.core.errors import DomainError
from claimdesk.messaging.services import notify
from claimdesk.orders.history import record_event
from claimdesk.orders.models import Order, ShippingStatus
from claimdesk.orders.services import order_complete_trade

from .cancel import claim_cancel_unpaid
from .models import Claim, ClaimStatus
from .operator import claim_escalate, claim_flag_overdue
from .penalties import shop_penalty_add, shop_restriction_impose, shop_restriction_lift
from .returns import claim_complete_redelivery
from .shop_record import percent_text, shop_ship_rate

logger = logging.getLogger(__name__)

TOKYO = ZoneInfo("Asia/Tokyo")
BATCH_SIZE = 500

#: Open claims whose next move is the seller's: the response-time rule applies.
WAITING_FOR_SELLER = (
    ClaimStatus.CANCEL_REQUESTED,
    ClaimStatus.RETURN_REQUESTED,
    ClaimStatus.EXCHANGE_REQUESTED,
    ClaimStatus.NON_RECEIPT_REPORTED,
)
UNSHIPPED = (ShippingStatus.REQUESTED, ShippingStatus.CONFIRMED)


# --- business-day bounds -----------------------------------------------------------


def tokyo_date(moment: dt.datetime) -> dt.date:
    """Return the Asia/Tokyo calendar date of `moment`."""
    return moment.astimezone(TOKYO).date()


def _nth_business_day_back(day: dt.date, n: int) -> dt.date:
    """Return the `n`th business day counting back from `day` (itself included)."""
    found = 0
    while True:
        if is_business_day(day):
            found += 1
            if found == n:
                return day
        day -= dt.timedelta(days=1)


def started_before(today: dt.date, business_days: int) -> dt.datetime:
    """Return the bound B with: business_days_between(tokyo_date(t), today) >= n iff t < B.

    The count is monotonic in the start date, so "at least n business days
    ago" is one comparison with an instant, which an index can serve.
    """
    if business_days <= 0:
        day = today + dt.timedelta(days=1)
    else:
        day = _nth_business_day_back(today, business_days)
    return dt.datetime.combine(day, dt.time(), tzinfo=TOKYO)


# --- walking due rows ----------------------------------------------------------------


def _pks(queryset: QuerySet[Any], batch_size: int) -> Iterator[int]:
    """Yield the primary keys of `queryset` in ascending batches (keyset pagination)."""
    last = 0
    while True:
        chunk = list(
            queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        yield from chunk
        if len(chunk) < batch_size:
            return
        last = chunk[-1]


def _each(step: str, queryset: QuerySet[Any], act: Callable[[int], bool], batch_size: int) -> int:
    """Run `act` on the due rows, at most SWEEP_ROWS_PER_STEP of them; return how many it changed.

    The cap keeps one sweep short when a step has a backlog (the first sweep
    over a large database, or after an outage): the worker that runs it goes
    back to the task queue, and the next sweep takes the next rows.
    """
    done = 0
    for pk in itertools.islice(_pks(queryset, batch_size), setting("SWEEP_ROWS_PER_STEP")):
        try:
            if act(pk):
                done += 1
        except DomainError as error:  # someone else acted first: the row is settled
            logger.info("%s: row %s skipped (%s)", step, pk, error.code)
        except Exception:  # one broken row must not stop every timer forever
            logger.exception("%s: row %s failed", step, pk)
    return done


# --- 1. unpaid orders -----------------------------------------------------------------


def cancel_unpaid_due(*, now: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Cancel unpaid orders whose payment deadline has come (claim 16)."""
    due = Order.objects.filter(
        shipping_status=ShippingStatus.AWAITING_PAYMENT,
        cancelled_at__isnull=True,
        cart__paid_at__isnull=True,
        cart__payment_deadline__lte=now,
    )

    def act(pk: int) -> bool:
        return claim_cancel_unpaid(order=Order.objects.get(pk=pk)) is not None

    return _each("unpaid_cancel", due, act, batch_size)


# --- 2. shipping delay ----------------------------------------------------------------


def _not_postponed(today: dt.date) -> Q:
    return Q(delay_type__isnull=True) | Q(est_ship_date__isnull=True) | Q(est_ship_date__lt=today)


def late_orders(today: dt.date, business_day: int) -> QuerySet[Order]:
    """Return live unshipped orders paid at least `business_day` business days before `today`."""
    return Order.objects.filter(
        _not_postponed(today),
        shipping_status__in=UNSHIPPED,
        cancelled_at__isnull=True,
        shipped_at__isnull=True,
        paid_at__lt=started_before(today, business_day),
    )


def _still_late(order: Order, today: dt.date, business_day: int) -> bool:
    """Re-check `late_orders` on a locked row."""
    postponed = (
        order.delay_type is not None
        and order.est_ship_date is not None
        and order.est_ship_date >= today
    )
    return (
        order.shipping_status in UNSHIPPED
        and order.cancelled_at is None
        and order.shipped_at is None
        and order.paid_at is not None
        and order.paid_at < started_before(today, business_day)
        and not postponed
    )


def _lock(pk: int) -> Order:
    return Order.objects.select_for_update(of=("self",)).select_related("shop").get(pk=pk)


def _days_since_paid(order: Order, today: dt.date) -> int:
    if order.paid_at is None:
        return 0
    return business_days_between(tokyo_date(order.paid_at), today)


def remind_delays_due(*, now: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Mail the shop once about each order unshipped on business day DELAY_REMINDER_BUSINESS_DAY."""
    today = tokyo_date(now)
    if not is_business_day(today):
        return 0
    day = setting("DELAY_REMINDER_BUSINESS_DAY")
    due = late_orders(today, day).filter(delay_reminded_at__isnull=True)

    def act(pk: int) -> bool:
        with transaction.atomic():
            order = _lock(pk)
            if order.delay_reminded_at is not None or not _still_late(order, today, day):
                return False
            order.delay_reminded_at = timezone.now()
            order.save(update_fields=["delay_reminded_at"])
            days = _days_since_paid(order, today)
            record_event(
                order, actor=None, kind="order.delay_reminder", data={"business_days": days}
            )
            notify(
                shop=order.shop,
                kind="delay_reminder",
                order=order,
                context={"business_days": days},
            )
        return True

    return _each("delay_reminder", due, act, batch_size)


def give_delay_points_due(*, now: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Give DELAY_POINTS once to each order unshipped on business day DELAY_POINTS_BUSINESS_DAY."""
    today = tokyo_date(now)
    if not is_business_day(today):
        return 0
    day = setting("DELAY_POINTS_BUSINESS_DAY")
    given = ShopPenalty.objects.filter(order=OuterRef("pk"), kind=SHIPPING_DELAY)
    due = late_orders(today, day).filter(~Exists(given))

    def act(pk: int) -> bool:
        with transaction.atomic():
            order = _lock(pk)
            if not _still_late(order, today, day):
                return False
            if ShopPenalty.objects.filter(order=order, kind=SHIPPING_DELAY).exists():
                return False
            days = _days_since_paid(order, today)
            with translation.override(order.shop.language):
                reason = str(
                    _("Order %(order_no)s not shipped %(days)s business days after payment.")
                    % {"order_no": order.order_no, "days": days}
                )
            shop_penalty_add(
                actor=None,
                shop=order.shop,
                order=order,
                kind=SHIPPING_DELAY,
                points=setting("DELAY_POINTS"),
                reason=reason,
                context={"business_days": days},
            )
        return True

    return _each("delay_points", due, act, batch_size)


def impose_restrictions_due(*, now: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Restrict shops with an order unshipped on business day RESTRICTION_BUSINESS_DAY.

    Only when the shop's ship rate is at most RESTRICTION_SHIP_RATE_PERCENT and
    no restriction holds; each late order triggers at most one restriction.
    Each shop is judged once per sweep.
    """
    today = tokyo_date(now)
    if not is_business_day(today):
        return 0
    day = setting("RESTRICTION_BUSINESS_DAY")
    limit = setting("RESTRICTION_SHIP_RATE_PERCENT")
    period = dt.timedelta(days=setting("SHIP_RATE_PERIOD_DAYS"))
    triggered = ShopRestriction.objects.filter(order=OuterRef("pk"))
    due = late_orders(today, day).filter(~Exists(triggered))
    judged: set[int] = set()

    def act(pk: int) -> bool:
        with transaction.atomic():
            order = _lock(pk)
            if order.shop_id in judged or not _still_late(order, today, day):
                return False
            judged.add(order.shop_id)
            shop = order.shop
            if ShopRestriction.objects.filter(
                shop=shop, lifted_at__isnull=True, starts_at__lte=now, ends_at__gt=now
            ).exists():
                return False
            rate = shop_ship_rate(shop, now - period, now)
            if not rate.at_most_percent(limit):
                return False
            with translation.override(shop.language):
                reason = str(
                    _(
                        "Order %(order_no)s was not shipped %(days)s business days after payment, "
                        "and your ship rate is %(rate)s %% (at most %(limit)s %% leads to a restriction)."
                    )
                    % {
                        "order_no": order.order_no,
                        "days": _days_since_paid(order, today),
                        "rate": percent_text(rate.bp),
                        "limit": limit,
                    }
                )
            shop_restriction_impose(actor=None, shop=shop, order=order, reason=reason[:255])
        return True

    return _each("restriction", due, act, batch_size)


def lift_restrictions_due(*, now: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Lift the restrictions whose time is over."""
    due = ShopRestriction.objects.filter(lifted_at__isnull=True, ends_at__lte=now)

    def act(pk: int) -> bool:
        restriction = ShopRestriction.objects.get(pk=pk)
        shop_restriction_lift(actor=None, restriction=restriction)
        return True

    return _each("restriction_lift", due, act, batch_size)


# --- 3. trades complete after delivery -------------------------------------------------


def complete_trades_due(*, now: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Complete delivered trades AUTO_COMPLETE_DAYS_AFTER_DELIVERY days on, without open claims."""
    cutoff = now - dt.timedelta(days=setting("AUTO_COMPLETE_DAYS_AFTER_DELIVERY"))
    open_claim = Claim.objects.open_for(OuterRef("pk"))
    due = Order.objects.filter(
        ~Exists(open_claim),
        shipping_status=ShippingStatus.DELIVERED,
        completed_at__isnull=True,
        cancelled_at__isnull=True,
        returned_at__isnull=True,
        delivered_at__lte=cutoff,
    )

    def act(pk: int) -> bool:
        order_complete_trade(actor=None, order=Order.objects.get(pk=pk))
        return True

    return _each("auto_complete", due, act, batch_size)


# --- 4. claims waiting for the seller ----------------------------------------------------


def waiting_claims(today: dt.date, business_days: int) -> QuerySet[Claim]:
    """Return open claims waiting for the seller for more than `business_days` business days.

    The seller has the `business_days` business days after the request date;
    the rule applies from the next business day on.
    """
    return Claim.objects.filter(
        is_open=True,
        status__in=WAITING_FOR_SELLER,
        requested_at__lt=started_before(today, business_days + 1),
    )


def _on_waiting_claim(
    pk: int, today: dt.date, business_days: int, marker: str, service: Callable[..., Claim]
) -> bool:
    with transaction.atomic():
        order_id = Claim.objects.values_list("order_id", flat=True).get(pk=pk)
        order = Order.objects.select_for_update().get(pk=order_id)
        claim = Claim.objects.select_related("order", "shop").get(pk=pk)
        if not (
            claim.is_open
            and claim.status in WAITING_FOR_SELLER
            and getattr(claim, marker) is None
            and claim.requested_at < started_before(today, business_days + 1)
        ):
            return False
        claim.order = order
        service(claim=claim)
    return True


def flag_overdue_claims_due(*, now: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Flag claims past CLAIM_RESPONSE_BUSINESS_DAYS to their seller."""
    today = tokyo_date(now)
    if not is_business_day(today):
        return 0
    days = setting("CLAIM_RESPONSE_BUSINESS_DAYS")
    due = waiting_claims(today, days).filter(flagged_overdue_at__isnull=True)
    return _each(
        "claim_overdue",
        due,
        lambda pk: _on_waiting_claim(pk, today, days, "flagged_overdue_at", claim_flag_overdue),
        batch_size,
    )


def escalate_claims_due(*, now: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Pass claims past CLAIM_ESCALATE_BUSINESS_DAYS to the operators."""
    today = tokyo_date(now)
    if not is_business_day(today):
        return 0
    days = setting("CLAIM_ESCALATE_BUSINESS_DAYS")
    due = waiting_claims(today, days).filter(escalated_at__isnull=True)
    return _each(
        "claim_escalate",
        due,
        lambda pk: _on_waiting_claim(pk, today, days, "escalated_at", claim_escalate),
        batch_size,
    )


# --- 5. re-deliveries ------------------------------------------------------------------


def complete_redeliveries_due(*, now: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Complete re-deliveries shipped more than AUTO_COMPLETE_DAYS_AFTER_DELIVERY days ago."""
    today = tokyo_date(now)
    before = today - dt.timedelta(days=setting("AUTO_COMPLETE_DAYS_AFTER_DELIVERY"))
    due = Claim.objects.filter(
        is_open=True, status=ClaimStatus.REDELIVERING, redelivery_date__lt=before
    )

    def act(pk: int) -> bool:
        claim_complete_redelivery(actor=None, claim=Claim.objects.get(pk=pk))
        return True

    return _each("redelivery_complete", due, act, batch_size)


def fill_claim_order_dates(*, now: dt.datetime) -> int:
    """Copy the order's date onto claims opened without it; return how many.

    Every claim gets it when it is opened (`_create_claim`), but during a rolling
    upgrade an app server still on the release before `claims.0005` opens claims
    without it, and the order-date period would leave them out until filled here.
    """
    order_date = Order.objects.filter(pk=OuterRef("order_id")).values("ordered_at")[:1]
    return Claim.objects.filter(ordered_at__isnull=True).update(ordered_at=Subquery(order_date))


def fill_note_shops(*, now: dt.datetime) -> int:
    """Copy the order's shop onto notes written without it; return how many.

    As `fill_claim_order_dates`: only a server still on the release before
    `messaging.0004` writes such notes during a rolling upgrade.
    """
    from claimdesk.messaging.models import Note

    shop = Order.objects.filter(pk=OuterRef("order_id")).values("shop_id")[:1]
    return Note.objects.filter(shop__isnull=True).update(shop_id=Subquery(shop))


def compact_tallies() -> int:
    """Fold the box-count tallies' new rows into one per key; return rows removed."""
    from django.db import connection, transaction

    from claimdesk.core import tally
    from claimdesk.orders.tally import ORDERS

    from .tally import CLAIMS

    with transaction.atomic():
        return tally.compact(connection, CLAIMS) + tally.compact(connection, ORDERS)
