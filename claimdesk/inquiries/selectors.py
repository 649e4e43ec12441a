"""Reading inquiries: the operators' queue, a shop's list, one thread."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from claimdesk.core.validation import parse_whole

from .models import Inquiry, InquiryMessage, InquiryStatus

#: Hours an inquiry may wait for its answer before the queue flags it.
DEFAULT_SLA_HOURS = 24


def sla_hours() -> int:
    """Return the answer time the customer center promises, in hours."""
    return int(getattr(settings, "CLAIMDESK", {}).get("INQUIRY_SLA_HOURS", DEFAULT_SLA_HOURS))


@dataclass(frozen=True)
class QueueFilter:
    status: str = "waiting"  # "waiting" = open (waiting on us); or a status; or "all"
    category: str = ""
    assignee: str = ""  # "", "me", "none"
    shop: str = ""
    overdue_only: bool = False


def inquiry_age(inquiry: Inquiry, now: dt.datetime | None = None) -> dt.timedelta | None:
    """Return how long the inquiry has waited for the customer center (None if not waiting)."""
    if inquiry.waiting_since is None or inquiry.status != InquiryStatus.OPEN:
        return None
    return (now or timezone.now()) - inquiry.waiting_since


def is_overdue(inquiry: Inquiry, now: dt.datetime | None = None) -> bool:
    """Return whether the inquiry has waited longer than the SLA."""
    age = inquiry_age(inquiry, now)
    return age is not None and age > dt.timedelta(hours=sla_hours())


def inquiry_queue(filters: QueueFilter, *, operator_id: int) -> QuerySet[Inquiry]:
    """Return the queue, longest waiting first, with what a row shows (fixed queries)."""
    rows = Inquiry.objects.all()
    if filters.status == "waiting":
        rows = rows.filter(status=InquiryStatus.OPEN)
    elif filters.status in InquiryStatus.values:
        rows = rows.filter(status=filters.status)
    if filters.category:
        rows = rows.filter(category=filters.category)
    if filters.assignee == "me":
        rows = rows.filter(assigned_to_id=operator_id)
    elif filters.assignee == "none":
        rows = rows.filter(assigned_to__isnull=True)
    if filters.shop.strip():
        term = filters.shop.strip()
        rows = rows.filter(Q(shop__code__iexact=term) | Q(shop__name__icontains=term))
    if filters.overdue_only:
        cutoff = timezone.now() - dt.timedelta(hours=sla_hours())
        rows = rows.filter(status=InquiryStatus.OPEN, waiting_since__lt=cutoff)
    return (
        rows.select_related("shop", "assigned_to")
        .annotate(order_count=Count("orders", distinct=True))
        .order_by("waiting_since", "-updated_at", "-id")
    )


def inquiries_for_shop(shop_id: int, status: str = "") -> QuerySet[Inquiry]:
    """Return the shop's inquiries (with `status`, if given), most recently changed first."""
    rows = (
        Inquiry.objects.filter(shop_id=shop_id)
        .select_related("assigned_to")
        .annotate(order_count=Count("orders", distinct=True))
        .order_by("-updated_at", "-id")
    )
    return rows.filter(status=status) if status else rows


def shop_inquiry_counts(shop_id: int) -> dict[str, int]:
    """Count the shop's inquiries per status, in one query (the home's 咨询 rows)."""
    counts = {status: 0 for status in InquiryStatus.values}
    rows = (
        Inquiry.objects.filter(shop_id=shop_id)
        .order_by()
        .values_list("status")
        .annotate(n=Count("*"))
    )
    for status, n in rows:
        counts[status] = n
    return counts


def inquiry_thread(inquiry: Inquiry) -> list[InquiryMessage]:
    """Return the thread oldest first with authors and files, in two queries."""
    return list(
        InquiryMessage.objects.filter(inquiry=inquiry)
        .select_related("author")
        .prefetch_related(Prefetch("attachments"))
    )


def queue_counts() -> dict[str, int]:
    """Count inquiries per status, and those past the SLA, in one query."""
    cutoff = timezone.now() - dt.timedelta(hours=sla_hours())
    return Inquiry.objects.aggregate(
        open=Count("pk", filter=Q(status=InquiryStatus.OPEN)),
        waiting_seller=Count("pk", filter=Q(status=InquiryStatus.WAITING_SELLER)),
        answered=Count("pk", filter=Q(status=InquiryStatus.ANSWERED)),
        overdue=Count("pk", filter=Q(status=InquiryStatus.OPEN, waiting_since__lt=cutoff)),
    )


# --- what the customer center reads across every shop ----------------------------------


@dataclass(frozen=True)
class ClaimSearch:
    """The console's claim search: numbers, buyer, shop, status and a request period."""

    order_no: str = ""
    cart_no: str = ""
    buyer: str = ""
    shop: str = ""
    status: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    escalated_only: bool = False
    open_only: bool = False


def _digits(value: str, field: str) -> int:
    from claimdesk.core.errors import InvalidInput
    from claimdesk.core.i18n import lazy_text

    number = parse_whole(value)
    if number is None:
        raise InvalidInput(
            "search_invalid",
            lazy_text("An order or cart number has digits only."),
            {"field": field},
        )
    return number


def claim_search(search: ClaimSearch) -> QuerySet[Any]:
    """Return the claims of every shop matching `search`, newest request first.

    Without an order or cart number the request period applies (90 days at most).
    """
    from claimdesk.claims.models import Claim
    from claimdesk.claims.selectors import clean_period

    claims = Claim.objects.all()
    if search.order_no.strip():
        claims = claims.filter(order__order_no=_digits(search.order_no, "order_no"))
    elif search.cart_no.strip():
        claims = claims.filter(order__cart__cart_no=_digits(search.cart_no, "cart_no"))
    else:
        start, end = clean_period(search.date_from, search.date_to)
        tz = timezone.get_current_timezone()
        claims = claims.filter(
            requested_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=tz),
            requested_at__lt=dt.datetime.combine(
                end + dt.timedelta(days=1), dt.time.min, tzinfo=tz
            ),
        )
    if search.buyer.strip():
        term = search.buyer.strip()
        claims = claims.filter(
            Q(buyer__username__iexact=term)
            | Q(buyer__email__iexact=term)
            | Q(buyer__display_name__icontains=term)
            | Q(order__receiver_name__icontains=term)
        )
    if search.shop.strip():
        term = search.shop.strip()
        claims = claims.filter(Q(shop__code__iexact=term) | Q(shop__name__icontains=term))
    if search.status is not None:
        claims = claims.filter(status=search.status)
    if search.escalated_only:
        claims = claims.filter(escalated_at__isnull=False, is_open=True)
    if search.open_only:
        claims = claims.filter(is_open=True)
    return claims.select_related("order", "order__cart", "shop", "buyer").order_by(
        "-requested_at", "-id"
    )


def order_file(order: Any) -> dict[str, Any]:
    """Return an order's claims, refunds, history and note threads for the console (5 queries)."""
    from claimdesk.messaging.models import Note
    from claimdesk.orders.selectors import order_history
    from claimdesk.payments.models import Refund

    claims = list(order.claims.order_by("-requested_at", "-id"))
    return {
        "claims": claims,
        "open_claim": next((c for c in claims if c.is_open), None),
        "refunds": list(Refund.objects.filter(order=order).select_related("claim")),
        "events": order_history(order),
        "notes": list(
            Note.objects.filter(order=order)
            .select_related("author")
            .prefetch_related("attachments")
            .order_by("created_at", "id")
        ),
        "inquiries": list(order.inquiries.select_related("shop").order_by("-updated_at")),
    }


def refund_monitor(*, days: int = 14) -> dict[str, Any]:
    """Return the refunds to watch: pending too long, failed, retried, and totals per day."""
    from django.db.models import Sum
    from django.db.models.functions import TruncDate

    from claimdesk.core.conf import setting
    from claimdesk.payments.models import Refund, RefundStatus

    now = timezone.now()
    stale = now - dt.timedelta(seconds=setting("REFUND_STALE_PENDING_SECONDS"))
    refunds = Refund.objects.select_related("order", "order__shop", "claim")
    since = now - dt.timedelta(days=days)
    totals = (
        Refund.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "currency")
        .annotate(
            count=Count("pk"),
            amount_total=Sum("amount_minor"),
            succeeded=Count("pk", filter=Q(status=RefundStatus.SUCCEEDED)),
            pending=Count("pk", filter=Q(status=RefundStatus.PENDING)),
            failed=Count("pk", filter=Q(status=RefundStatus.FAILED)),
            retried=Count("pk", filter=Q(attempt__gt=1)),
            failed_amount=Sum("amount_minor", filter=Q(status=RefundStatus.FAILED)),
        )
        .order_by("-day", "currency")
    )
    return {
        # measured from when the refund (re)entered pending: recovery touching
        # updated_at must not make a refund stuck for hours look fresh
        "stale": list(
            refunds.filter(status=RefundStatus.PENDING, pending_since__lte=stale).order_by(
                "pending_since", "pk"
            )[:200]
        ),
        "failed": list(refunds.filter(status=RefundStatus.FAILED).order_by("updated_at")[:200]),
        "retried": list(refunds.filter(attempt__gt=1).order_by("-updated_at")[:200]),
        "totals": list(totals),
        "stale_seconds": setting("REFUND_STALE_PENDING_SECONDS"),
    }


def inquiry_order_list(inquiry: Inquiry) -> list[Any]:
    """Return the orders the inquiry names, alone (one query)."""
    return list(inquiry.orders.all())


def inquiry_orders(inquiry: Inquiry) -> list[Any]:
    """Return the orders the inquiry names, with shop, buyer and every claim (2 queries)."""
    return list(inquiry.orders.select_related("shop", "buyer").prefetch_related("claims"))
