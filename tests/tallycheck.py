"""The box counts the tallies give, checked against counting the rows themselves."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from itertools import product

from django.db.models import Count
from django.utils import timezone

from claimdesk.claims.models import Claim
from claimdesk.claims.selectors import (
    HOME_BOXES,
    LIST_STATUSES,
    PERIOD_KINDS,
    ClaimFilter,
    claim_home_counts,
    claim_status_counts,
    claims_for_shop,
)
from claimdesk.orders.models import Order
from claimdesk.orders.selectors import SHIPPING_BOXES, shipping_box_counts, shipping_box_filter

ZONES = ("Asia/Tokyo", "UTC", "Asia/Kolkata", "America/Los_Angeles")


def counted_boxes(shop_id: int) -> dict[str, int]:
    """Each shipping box's count by counting the box's list."""
    live = Order.objects.filter(shop_id=shop_id, cancelled_at__isnull=True)
    return {box: live.filter(shipping_box_filter(box)).count() for box in SHIPPING_BOXES}


def counted_home(shop_id: int) -> dict[str, int]:
    open_claims = Claim.objects.filter(shop_id=shop_id, is_open=True)
    return {
        name: open_claims.filter(status__in=statuses).count()
        for name, statuses in HOME_BOXES.items()
    }


def counted_statuses(shop_id: int, filters: ClaimFilter) -> dict[int, int]:
    """Each status box's count by counting the claims list of the same filters."""
    rows = dict(
        claims_for_shop(shop_id, filters).order_by().values_list("status").annotate(n=Count("*"))
    )
    return {status: rows.get(status, 0) for status in LIST_STATUSES}


def periods(today: dt.date) -> list[tuple[dt.date | None, dt.date | None]]:
    """The default period, the longest, one day, and ones ending on other days."""
    return [
        (None, None),
        (today - dt.timedelta(days=90), today),
        (today, today),
        (today - dt.timedelta(days=1), today - dt.timedelta(days=1)),
        (today - dt.timedelta(days=45), today - dt.timedelta(days=3)),
        (today - dt.timedelta(days=2), today + dt.timedelta(days=1)),
    ]


def assert_tallies_exact(shop_ids: list[int], *, zones: tuple[str, ...] = ZONES) -> None:
    """Assert every box count of these shops equals counting its list, in several zones."""
    for zone in zones:
        with timezone.override(zoneinfo.ZoneInfo(zone)):
            today = timezone.localdate()
            for shop_id in shop_ids:
                assert shipping_box_counts(shop_id) == counted_boxes(shop_id), (zone, shop_id)
                assert claim_home_counts(shop_id) == counted_home(shop_id), (zone, shop_id)
                for kind in PERIOD_KINDS:
                    for (start, end), open_only in product(periods(today), (False, True)):
                        filters = ClaimFilter(
                            period_kind=kind, date_from=start, date_to=end, open_only=open_only
                        )
                        assert claim_status_counts(shop_id, filters) == counted_statuses(
                            shop_id, filters
                        ), (zone, shop_id, filters)
                home = ClaimFilter(open_only=True)
                assert claim_status_counts(shop_id, home) == counted_statuses(shop_id, home)
                for number in _numbers(shop_id):
                    for open_only in (False, True):
                        found = ClaimFilter(search=str(number), open_only=open_only)
                        assert claim_status_counts(shop_id, found) == counted_statuses(
                            shop_id, found
                        ), (zone, shop_id, found)


def _numbers(shop_id: int) -> list[int]:
    """An order number with a claim of the shop, and one of no claim (a search's two cases)."""
    claimed = Claim.objects.filter(shop_id=shop_id).values_list("order__order_no", flat=True)
    return [*claimed[:1], 1]
