"""Reading a shop's own record: its delay points and the sales restrictions on it.

The record over a period (cancellation and ship rates) reads orders and claims:
`claims/shop_record.py`.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum
from django.utils import timezone

from .models import Shop, ShopPenalty, ShopRestriction

#: ShopPenalty.kind of the points the shipping-delay timer gives.
SHIPPING_DELAY = "shipping_delay"


def shop_delay_points(shop: Shop, period_start: dt.datetime, period_end: dt.datetime) -> int:
    """Return the points given to `shop` in the period."""
    total = ShopPenalty.objects.filter(
        shop=shop, created_at__gte=period_start, created_at__lt=period_end
    ).aggregate(points=Sum("points"))["points"]
    return int(total or 0)


def shop_active_restrictions(shop: Shop, at: dt.datetime | None = None) -> list[ShopRestriction]:
    """Return the restrictions that hold on `shop` at `at` (now by default)."""
    at = at or timezone.now()
    return list(
        ShopRestriction.objects.filter(
            shop=shop, lifted_at__isnull=True, starts_at__lte=at, ends_at__gt=at
        ).order_by("ends_at")
    )
