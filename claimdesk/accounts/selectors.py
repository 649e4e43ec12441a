"""Reading shops and logins: a shop's record (delay points, restrictions), addresses, staff.

The record over a period (cancellation and ship rates) reads orders and claims:
`claims/shop_record.py`.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from .models import (
    ApiToken,
    ApiTokenKind,
    Role,
    Shop,
    ShopAddress,
    ShopPenalty,
    ShopRestriction,
    User,
)

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


def shop_has_return_address(shop_id: int) -> bool:
    """Return whether the shop has a default return/exchange address."""
    return ShopAddress.objects.filter(shop_id=shop_id, is_default_return=True).exists()


def shop_addresses(shop_id: int) -> list[ShopAddress]:
    """Return the shop's address book, the default return address first."""
    return list(ShopAddress.objects.filter(shop_id=shop_id).order_by("-is_default_return", "id"))


def shop_staff(shop_id: int) -> list[User]:
    """Return the shop's staff logins by username."""
    return list(User.objects.filter(shop_id=shop_id).order_by("username"))


def active_operators() -> list[User]:
    """Return the operators who can be assigned work, by username."""
    return list(User.objects.filter(role=Role.OPERATOR, is_active=True).order_by("username"))


def operator_by_id(user_id: int) -> User | None:
    """Return the operator `user_id` (active or not), or None."""
    return User.objects.filter(pk=user_id, role=Role.OPERATOR).first()


def shops_matching(term: str) -> QuerySet[Shop]:
    """Return the shops whose code or name contains `term` (every shop for ""), by code."""
    rows = Shop.objects.all().order_by("code")
    if term:
        rows = rows.filter(Q(code__icontains=term) | Q(name__icontains=term))
    return rows


def restricted_shop_ids(at: dt.datetime) -> set[int]:
    """Return the ids of the shops a restriction holds on at `at`."""
    return set(
        ShopRestriction.objects.filter(
            lifted_at__isnull=True, starts_at__lte=at, ends_at__gt=at
        ).values_list("shop_id", flat=True)
    )


def shop_penalty_points_total(shop: Shop) -> int:
    """Return all the points ever given to `shop`."""
    return sum(ShopPenalty.objects.filter(shop=shop).values_list("points", flat=True))


def shop_recent_penalties(shop: Shop, limit: int) -> QuerySet[ShopPenalty]:
    """Return the shop's `limit` latest penalties with their order, newest first."""
    return (
        ShopPenalty.objects.filter(shop=shop)
        .select_related("order")
        .order_by("-created_at")[:limit]
    )


def shop_recent_restrictions(shop: Shop, limit: int) -> QuerySet[ShopRestriction]:
    """Return the shop's `limit` latest restrictions with their order, newest start first."""
    return (
        ShopRestriction.objects.filter(shop=shop)
        .select_related("order")
        .order_by("-starts_at")[:limit]
    )


def shop_restriction_list(shop: Shop, limit: int = 20) -> list[ShopRestriction]:
    """Return the shop's `limit` latest restrictions, newest start first."""
    return list(ShopRestriction.objects.filter(shop=shop).order_by("-starts_at")[:limit])


def shop_api_tokens(shop_id: int) -> QuerySet[ApiToken]:
    """Return the shop's API tokens (REST and QAPI) with the login that made each."""
    return ApiToken.objects.filter(shop_id=shop_id).select_related("user")


def platform_api_tokens() -> QuerySet[ApiToken]:
    """Return the marketplace's platform tokens with the login that made each."""
    return ApiToken.objects.filter(kind=ApiTokenKind.PLATFORM).select_related("user")
