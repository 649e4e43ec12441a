"""Read-only queries over claims for the lists, boxes, panels and exports."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, When
from django.db.models.functions import TruncDate, TruncTime
from django.utils import timezone

from claimdesk.accounts.models import Shop
from claimdesk.accounts.selectors import shop_has_return_address
from claimdesk.core.errors import InvalidInput
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.validation import parse_whole
from claimdesk.messaging.selectors import cancel_notice_sent
from claimdesk.orders.models import Order
from claimdesk.payments.models import Refund, RefundStatus

from .bulk import CANCELLED_RESULTS, WILL_ACT
from .models import BulkCancelJob, BulkCancelRow, Claim, ClaimStatus, ClaimTally, TallyKind

S = ClaimStatus

#: The seller home's 索赔/咨询 box: name -> statuses counted.
HOME_BOXES: dict[str, tuple[int, ...]] = {
    "cancel_requested": (S.CANCEL_REQUESTED,),
    "return_requested": (S.RETURN_REQUESTED,),
    "exchange_requested": (S.EXCHANGE_REQUESTED,),
    "non_receipt_reported": (S.NON_RECEIPT_REPORTED,),
    "cancelling": (S.CANCELLING,),
    "returning": (S.RETURNING,),
    "exchanging": (S.EXCHANGE_APPROVED, S.REDELIVERING),
}

HOME_BOX_LABELS = {
    "cancel_requested": _("Cancel requests"),
    "return_requested": _("Return requests"),
    "exchange_requested": _("Exchange requests"),
    "non_receipt_reported": _("Not received reports"),
    "cancelling": _("Cancelling"),
    "returning": _("Returning"),
    "exchanging": _("Exchanging"),
}

#: Claim list status boxes (状态类查询), in display order.
LIST_STATUSES: tuple[int, ...] = (
    S.CANCEL_REQUESTED,
    S.CANCELLING,
    S.CANCEL_COMPLETED,
    S.RETURN_REQUESTED,
    S.RETURNING,
    S.RETURN_COMPLETED,
    S.EXCHANGE_REQUESTED,
    S.EXCHANGE_APPROVED,
    S.REDELIVERING,
    S.EXCHANGE_COMPLETED,
    S.NON_RECEIPT_REPORTED,
    S.NON_RECEIPT_REFUNDED,
    S.NON_RECEIPT_PARTIALLY_REFUNDED,
    S.UNPAID_CANCELLED,
    S.WITHDRAWN,
    S.REJECTED_SHIPPED,
)

PERIOD_KINDS = {
    "order": "ordered_at",  # the order's date, copied onto the claim
    "request": "requested_at",
    "complete": "completed_at",
}
MAX_PERIOD_DAYS = 90
#: The dates a period may use (beyond them a day's bounds leave the calendar in UTC).
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2999, 12, 31)


def claim_home_counts(shop_id: int) -> dict[str, int]:
    """Count the shop's open claims per home box, in one query (from the claims tally)."""
    per_status = dict(_tallied(shop_id, TallyKind.OPEN))
    return {
        name: sum(per_status.get(s, 0) for s in statuses) for name, statuses in HOME_BOXES.items()
    }


def _tallied(shop_id: int, kind: int) -> QuerySet[ClaimTally, tuple[int, int]]:
    return (
        ClaimTally.objects.filter(shop_id=shop_id, kind=kind)
        .order_by()
        .values_list("status")
        .annotate(total=Sum("n"))
    )


@dataclass(frozen=True)
class ClaimFilter:
    """The claims page's filters: a status, a period of one kind, or a number."""

    status: int | None = None
    period_kind: str = "request"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    search_kind: str = "order_no"
    search: str = ""
    open_only: bool = False


def _local_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Return the period's first moment and the moment after it, in the current time zone."""
    tz = timezone.get_current_timezone()
    lower = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    upper = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return lower, upper


def _period(filters: ClaimFilter) -> tuple[str, dt.datetime, dt.datetime]:
    """Return the checked period of `filters`: the claim field, its first moment and the next."""
    start, end = clean_period(filters.date_from, filters.date_to)
    if filters.period_kind not in PERIOD_KINDS:
        raise InvalidInput(
            "period_kind_invalid", _("Choose order date, request date or completion date.")
        )
    return PERIOD_KINDS[filters.period_kind], *_local_bounds(start, end)


def clean_period(date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.date, dt.date]:
    """Default to the last 30 days; refuse an inverted period or one over the limit."""
    today = timezone.localdate()
    end = date_to or today
    start = date_from or (end - dt.timedelta(days=30))
    if start > end:
        raise InvalidInput("period_inverted", _("The start date is after the end date. Swap them."))
    if start < EARLIEST_DAY or end > LATEST_DAY:
        raise InvalidInput(
            "period_out_of_range",
            _("Choose dates between %(first)s and %(last)s.")
            % {"first": EARLIEST_DAY.isoformat(), "last": LATEST_DAY.isoformat()},
        )
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInput(
            "period_too_long",
            _("Choose a period of at most %(days)s days, or search by order number.")
            % {"days": MAX_PERIOD_DAYS},
        )
    return start, end


def _search_q(kind: str, value: str) -> Q:
    number = parse_whole(value)
    if number is None:
        raise InvalidInput("search_invalid", _("An order or cart number has digits only."))
    if kind == "cart_no":
        return Q(order__cart__cart_no=number)
    return Q(order__order_no=number)


def claims_for_shop(
    shop_id: int, filters: ClaimFilter, statuses: Iterable[int] = ()
) -> QuerySet[Claim]:
    """Return the shop's claims matching `filters`, newest request first, with what a row shows.

    `statuses` (a home box's) keeps only the claims in them.
    """
    claims = Claim.objects.filter(shop_id=shop_id)
    if filters.search.strip():
        claims = claims.filter(_search_q(filters.search_kind, filters.search))
    elif filters.open_only and filters.date_from is None and filters.date_to is None:
        pass  # the home box's open claims, however old: the list must show what the box counts
    else:
        field, lower, upper = _period(filters)
        claims = claims.filter(**{f"{field}__gte": lower, f"{field}__lt": upper})
    if filters.status is not None:
        claims = claims.filter(status=filters.status)
    if filters.open_only:
        claims = claims.filter(is_open=True)
    statuses = list(statuses)
    if statuses:
        claims = claims.filter(status__in=statuses)
    return claims.select_related("order", "order__cart", "buyer").order_by("-requested_at", "-id")


def claim_status_counts(shop_id: int, filters: ClaimFilter) -> dict[int, int]:
    """Count the shop's claims per status for the period of `filters` (the 状态类查询 boxes).

    A period's whole UTC days are summed from the claims tally and the parts of
    days at its two ends (the period is in the viewer's time zone) counted from
    the claims, in one query: a 90-day count reads a few thousand rows, not every
    claim of the period; the home boxes' open claims likewise. A number search is
    counted from the claims directly (few rows), and so are open claims by
    completion date (a key the tally does not keep).
    """
    counts = {status: 0 for status in LIST_STATUSES}
    rows: Iterable[tuple[int, int]]
    # the same order of precedence as `claims_for_shop`: a search, then open claims of any age
    if filters.search.strip() or (filters.open_only and filters.period_kind == "complete"):
        rows = _direct_counts(shop_id, filters)
    elif filters.open_only and filters.date_from is None and filters.date_to is None:
        rows = _tallied(shop_id, TallyKind.OPEN)
    else:
        rows = _period_counts(shop_id, filters)
    for status, n in rows:
        counts[status] = counts.get(status, 0) + n
    return counts


def _direct_counts(shop_id: int, filters: ClaimFilter) -> Iterable[tuple[int, int]]:
    rows = claims_for_shop(shop_id, dataclasses.replace(filters, status=None))
    return rows.order_by().values_list("status").annotate(n=Count("*"))


_TALLY_KINDS = {
    ("order", False): TallyKind.ORDER,
    ("request", False): TallyKind.REQUEST,
    ("complete", False): TallyKind.COMPLETE,
    ("order", True): TallyKind.OPEN_ORDER,
    ("request", True): TallyKind.OPEN_REQUEST,
}


def _period_counts(shop_id: int, filters: ClaimFilter) -> Iterable[tuple[int, int]]:
    field, lower, upper = _period(filters)
    claims = Claim.objects.filter(shop_id=shop_id).order_by().values_list("status")
    if filters.open_only:
        claims = claims.filter(is_open=True)
    # the UTC days wholly inside the period
    first = _utc_midnight(lower, up=True)
    last = _utc_midnight(upper, up=False)
    if first >= last:
        return claims.filter(**{f"{field}__gte": lower, f"{field}__lt": upper}).annotate(
            n=Count("*")
        )
    # each end its own range scan (as one OR PostgreSQL read every claim of the shop)
    head, tail = (
        claims.filter(**{f"{field}__gte": a, f"{field}__lt": b}).annotate(n=Count("*"))
        for a, b in ((lower, first), (last, upper))
    )
    days = _tallied(shop_id, _TALLY_KINDS[filters.period_kind, filters.open_only]).filter(
        day__gte=first.date(), day__lt=last.date()
    )
    return days.union(head, tail, all=True)


def _utc_midnight(moment: dt.datetime, *, up: bool) -> dt.datetime:
    """Return the UTC midnight at or after (`up`) or at or before `moment`."""
    utc = moment.astimezone(dt.UTC)
    midnight = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    if up and midnight < utc:
        midnight += dt.timedelta(days=1)
    return midnight


def platform_counts() -> dict[str, int]:
    """Return headline figures for the home page, in four queries."""
    return {
        "shops": Shop.objects.count(),
        "orders": Order.objects.count(),
        "open_claims": Claim.objects.filter(is_open=True).count(),
        "refunds_pending": Refund.objects.filter(status=RefundStatus.PENDING).count(),
    }


# --- one order's claims -------------------------------------------------------------------


def order_open_claim(order: Order) -> Claim | None:
    """Return the order's open claim (an order has at most one), or None."""
    return Claim.objects.open_for(order).first()


def order_claims(order: Order) -> list[Claim]:
    """Return every claim of the order, newest request first."""
    return list(Claim.objects.filter(order=order).order_by("-requested_at", "-id"))


@dataclass(frozen=True)
class OrderPanel:
    """What the seller's order panel shows beside the order (3 queries)."""

    open_claim: Claim | None
    cancel_notice_sent: bool
    has_return_address: bool


def order_panel(order: Order) -> OrderPanel:
    """Return the order's open claim, whether the seller sent a cancel note, the return address."""
    return OrderPanel(
        open_claim=order_open_claim(order),
        cancel_notice_sent=cancel_notice_sent(order.pk),
        has_return_address=shop_has_return_address(order.shop_id),
    )


@dataclass(frozen=True)
class ClaimPanel:
    """What the seller's claim panel shows: the latest claim, its cart and its refund (4 queries)."""

    claim: Claim
    cart_orders: list[Order]
    refund: Refund | None
    has_return_address: bool


def claim_panel(order: Order) -> ClaimPanel | None:
    """Return the order's latest claim with its order, cart, refund; None if it has no claim."""
    claim = (
        Claim.objects.filter(order=order)
        .select_related("order", "order__cart")
        .order_by("-requested_at", "-id")
        .first()
    )
    if claim is None:
        return None
    cart_orders = list(claim.order.cart.orders.all())
    refund = getattr(claim, "refund", None) if hasattr(claim, "refund") else None
    return ClaimPanel(
        claim=claim,
        cart_orders=cart_orders,
        refund=refund,
        has_return_address=shop_has_return_address(claim.order.shop_id),
    )


# --- a buyer's orders and claims --------------------------------------------------------------


def _open_claims() -> Prefetch[Any]:
    return Prefetch("claims", queryset=Claim.objects.filter(is_open=True), to_attr="open_claims")


def buyer_orders(buyer_id: int) -> QuerySet[Order]:
    """Return the buyer's orders, newest first, with shop, cart and `open_claims` (3 queries a page)."""
    return (
        Order.objects.filter(buyer_id=buyer_id)
        .select_related("shop", "cart")
        .prefetch_related(_open_claims())
        .order_by("-ordered_at", "-id")
    )


def buyer_recent_orders(buyer_id: int, limit: int = 10) -> list[Order]:
    """Return the buyer's `limit` latest orders with their shop and `open_claims` (2 queries)."""
    return list(
        Order.objects.filter(buyer_id=buyer_id)
        .select_related("shop")
        .prefetch_related(_open_claims())
        .order_by("-ordered_at", "-id")[:limit]
    )


def buyer_claims(buyer_id: int) -> QuerySet[Claim]:
    """Return the buyer's claims, newest request first, with order, cart and refund."""
    return (
        Claim.objects.filter(buyer_id=buyer_id)
        .select_related("order", "order__cart", "refund")
        .order_by("-requested_at", "-id")
    )


# --- the QAPI claim lists -------------------------------------------------------------------


def shop_claims_in_period(
    shop_id: int, field: str, lower: dt.datetime, upper: dt.datetime, statuses: list[int]
) -> QuerySet[Claim]:
    """Return the shop's claims in `statuses` whose `field` is in [lower, upper), oldest request first."""
    claims = Claim.objects.filter(shop_id=shop_id).filter(
        Q(**{f"{field}__gte": lower}) & Q(**{f"{field}__lt": upper})
    )
    claims = (
        claims.filter(status=statuses[0])
        if len(statuses) == 1
        else claims.filter(status__in=statuses)
    )
    return claims.order_by("requested_at", "id")


def order_latest_claims(order: Order, limit: int = 1) -> QuerySet[Claim]:
    """Return the order's `limit` latest claims, newest request first."""
    return Claim.objects.filter(order=order).order_by("-requested_at", "-id")[:limit]


def claim_values(claims: QuerySet[Claim], columns: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
    """Return `columns` of each claim as tuples, in one query; no model instances.

    `partial_refund_minor` may be named: the refunded amount of a claim partly
    refunded for non-receipt (else None), read through the refund's unique claim
    index for those claims only, instead of joining every refund.
    """
    partial_refund = Subquery(
        Refund.objects.filter(claim=OuterRef("pk")).order_by().values("amount_minor")
    )
    claims = claims.annotate(
        partial_refund_minor=Case(
            When(status=ClaimStatus.NON_RECEIPT_PARTIALLY_REFUNDED, then=partial_refund)
        )
    )
    return iter(claims.values_list(*columns))


#: Claims read per query of `claim_values_local_days`.
READ_CHUNK = 2000


def claim_values_local_days(
    claims: QuerySet[Any], columns: tuple[str, ...], tz: dt.tzinfo
) -> Iterator[tuple[Any, ...]]:
    """Yield `columns` of `claims`, newest request first, a chunk of rows per query.

    `completed_day`, `ordered_day`, `shipped_day`, `requested_day` and
    `requested_time` may be named: the dates made local days and times in `tz`
    by the database. The ids come first, in order, from the claims' covering
    index; then each chunk of 2,000 is read by id with its order and cart. One
    query over all the rows had PostgreSQL hash-join the whole orders table and
    sort the result before the first row (4 s of a 100,000-row export, and
    nothing streamed meanwhile).
    """
    ids = list(claims.order_by("-requested_at", "-id").values_list("pk", flat=True))
    for start in range(0, len(ids), READ_CHUNK):
        yield from (
            Claim.objects.filter(pk__in=ids[start : start + READ_CHUNK])
            .annotate(
                completed_day=TruncDate("completed_at", tzinfo=tz),
                ordered_day=TruncDate("order__ordered_at", tzinfo=tz),
                shipped_day=TruncDate("order__shipped_at", tzinfo=tz),
                requested_day=TruncDate("requested_at", tzinfo=tz),
                requested_time=TruncTime("requested_at", tzinfo=tz),
            )
            .order_by("-requested_at", "-id")
            .values_list(*columns)
        )


def shop_bulk_jobs(shop_id: int, limit: int = 20) -> QuerySet[BulkCancelJob]:
    """Return the shop's `limit` latest bulk cancellation sheets, newest first."""
    return BulkCancelJob.objects.filter(shop_id=shop_id).order_by("-created_at", "-id")[:limit]


def bulk_job_rows(job: BulkCancelJob, *, only_bad: bool = False) -> QuerySet[BulkCancelRow]:
    """Return the sheet's rows in line order (only_bad: those that will not or did not cancel)."""
    rows = job.rows.order_by("line")
    if only_bad:
        rows = rows.filter(~Q(plan__in=WILL_ACT) | Q(done=True) & ~Q(result__in=CANCELLED_RESULTS))
    return rows


def bulk_job_plan_counts(job: BulkCancelJob) -> list[tuple[str, int]]:
    """Return how many of the sheet's rows have each plan, by plan."""
    return list(job.rows.order_by("plan").values_list("plan").annotate(n=Count("pk")))


def bulk_job_needs_notice(job: BulkCancelJob) -> bool:
    """Return whether some row of the sheet will cancel without the buyer's notice."""
    return job.rows.filter(plan="will_cancel_without_notice").exists()


def order_claims_in_order_made(order: Order) -> list[Claim]:
    """Return every claim of the order, the first made first."""
    return list(order.claims.order_by("pk"))


def claim_with_order(claim_id: int) -> Claim:
    """Return the claim `claim_id` read afresh, with its order and the order's cart."""
    return Claim.objects.select_related("order", "order__cart").get(pk=claim_id)
