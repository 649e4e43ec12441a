"""Read-only queries over orders."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from claimdesk.accounts.models import Shop
from claimdesk.claims.models import Claim
from claimdesk.payments.models import Refund, RefundStatus

from .models import Order


def platform_counts() -> dict[str, int]:
    """Return headline figures for the home page, in four queries."""
    return {
        "shops": Shop.objects.count(),
        "orders": Order.objects.count(),
        "open_claims": Claim.objects.filter(is_open=True).count(),
        "refunds_pending": Refund.objects.filter(status=RefundStatus.PENDING).count(),
    }


def order_history(order: Order) -> list[dict[str, Any]]:
    """Return the order's history lines oldest first."""
    return [
        dict(row)
        for row in order.events.select_related("actor").values(
            "created_at",
            "actor_role",
            "actor__username",
            "kind",
            "field",
            "from_value",
            "to_value",
            "reason",
            "memo",
            "refused",
        )
    ]


def shipping_box_counts(shop_id: int) -> dict[str, int]:
    """Count a shop's live orders per shipping box (订购处理中, 新订购, 等待发货, 运送延期)."""
    from django.utils import timezone

    from .models import delayed_q

    today = timezone.localdate()
    return Order.objects.filter(shop_id=shop_id, cancelled_at__isnull=True).aggregate(
        awaiting_payment=Count("pk", filter=Q(shipping_status=1)),
        new=Count("pk", filter=Q(shipping_status=2) & ~delayed_q(today)),
        confirmed=Count("pk", filter=Q(shipping_status=3) & ~delayed_q(today)),
        delayed=Count("pk", filter=delayed_q(today)),
    )
