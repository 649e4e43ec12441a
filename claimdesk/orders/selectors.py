"""Read-only queries over orders."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from claimdesk.core.validation import parse_whole

if TYPE_CHECKING:
    from claimdesk.accounts.models import Shop

from .models import Item, Order, OrderEvent, OrderTally, delayed_q


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
            "data",
        )
    ]


def shipping_box_counts(shop_id: int) -> dict[str, int]:
    """Count a shop's live orders per shipping box (订购处理中, 新订购, 等待发货, 运送延期)."""
    from django.utils import timezone

    today = timezone.localdate()
    # From the orders tally: a few rows per status (one per estimated ship date
    # for statuses 2 and 3), however many orders the shop has.
    rows = (
        OrderTally.objects.filter(shop_id=shop_id)
        .order_by()
        .values_list("shipping_status")
        .annotate(
            total=Sum("n"),
            late=Sum("n", filter=Q(delay_registered=True) | Q(est_ship_date__lt=today)),
        )
    )
    n = {status: (total, late or 0) for status, total, late in rows}
    new, new_late = n.get(2, (0, 0))
    confirmed, confirmed_late = n.get(3, (0, 0))
    return {
        "awaiting_payment": n.get(1, (0, 0))[0],
        "new": new - new_late,
        "confirmed": confirmed - confirmed_late,
        "delayed": new_late + confirmed_late,
        "on_delivery": n.get(4, (0, 0))[0],
        "delivered": n.get(5, (0, 0))[0],
    }


SHIPPING_BOXES = ("awaiting_payment", "new", "confirmed", "delayed", "on_delivery", "delivered")
SORTS = {
    "ordered": "-ordered_at",
    "ordered_asc": "ordered_at",
    "paid": "-paid_at",
    "paid_asc": "paid_at",
}


def shipping_box_filter(box: str) -> Q:
    """Return the filter of one shipping box of the seller's shipping page."""
    from django.utils import timezone

    from .models import delayed_q

    today = timezone.localdate()
    filters = {
        "awaiting_payment": Q(shipping_status=1),
        "new": Q(shipping_status=2) & ~delayed_q(today),
        "confirmed": Q(shipping_status=3) & ~delayed_q(today),
        "delayed": delayed_q(today),
        "on_delivery": Q(shipping_status=4),
        "delivered": Q(shipping_status=5),
    }
    return filters.get(box, filters["new"])


def shipping_orders(shop_id: int, box: str, sort: str = "ordered") -> Any:
    """Return the shop's live orders in `box`, sorted, with the cart loaded (one query per page)."""
    orders = Order.objects.filter(shop_id=shop_id, cancelled_at__isnull=True).filter(
        shipping_box_filter(box)
    )
    return orders.select_related("cart").order_by(SORTS.get(sort, "-ordered_at"), "-id")


def orders_by_number(shop_id: int, kind: str, value: str) -> list[Order]:
    """Return the shop's orders with this order no (or all orders of this cart no)."""
    number = parse_whole(value)
    if number is None:
        return []
    field = "cart__cart_no" if kind == "cart_no" else "order_no"
    return list(
        Order.objects.filter(shop_id=shop_id, **{field: number})
        .select_related("cart")
        .order_by("order_no")[:50]
    )


def orders_by_any_number(order_no: int | None, cart_no: int | None) -> list[Order]:
    """Return any shop's orders with this order no, else of this cart no, with shop and buyer.

    For the operators' search across every shop ([] when neither number is given).
    """
    if order_no is None and cart_no is None:
        return []
    number = Q(order_no=order_no) if order_no is not None else Q(cart__cart_no=cart_no)
    return list(Order.objects.filter(number).select_related("shop", "buyer")[:50])


def shop_orders_in_period(
    shop_id: int, field: str, lower: dt.datetime, upper: dt.datetime, statuses: list[int]
) -> list[Order]:
    """Return the shop's live orders in `statuses` whose `field` is in [lower, upper).

    Sorted by `field`, with cart, buyer and shop (the QAPI shipping lists, one query).
    """
    orders = Order.objects.filter(
        shop_id=shop_id, cancelled_at__isnull=True, **{f"{field}__gte": lower}
    ).filter(**{f"{field}__lt": upper})
    orders = (
        orders.filter(shipping_status__in=statuses)
        if len(statuses) > 1
        else orders.filter(shipping_status=statuses[0])
    )
    return list(orders.select_related("cart", "buyer", "shop").order_by(field, "id"))


def cart_order_numbers(cart_ids: list[int], chunk: int = 2000) -> dict[int, list[int]]:
    """Return the order numbers of each cart, ascending (one query per `chunk` carts)."""
    numbers: dict[int, list[int]] = {}
    ids = sorted(set(cart_ids))
    for start in range(0, len(ids), chunk):
        pairs = (
            Order.objects.filter(cart_id__in=ids[start : start + chunk])
            .order_by("order_no")
            .values_list("cart_id", "order_no")
        )
        for cart_id, order_no in pairs:
            numbers.setdefault(cart_id, []).append(order_no)
    return numbers


def shop_items(shop_id: int) -> QuerySet[Item]:
    """Return the shop's items (known from its orders), by item code."""
    return Item.objects.filter(shop_id=shop_id).order_by("item_code")


def shop_item(shop_id: int, *, item_code: str = "", seller_code: str = "") -> Item | None:
    """Return the shop's item by its code, else the first by the seller's code (None if neither)."""
    items = Item.objects.filter(shop_id=shop_id)
    if item_code:
        return items.filter(item_code=item_code).first()
    if seller_code:
        return items.filter(seller_item_code=seller_code).order_by("item_code").first()
    return None


def shop_order_events(shop: Shop, kind: str, limit: int) -> QuerySet[OrderEvent]:
    """Return the `limit` latest events of `kind` on the shop's orders, with their order."""
    return (
        OrderEvent.objects.filter(order__shop=shop, kind=kind)
        .select_related("order")
        .order_by("-created_at")[:limit]
    )


def shop_orders_matching(
    shop_id: int,
    *,
    include_cancelled: bool = False,
    box: str | None = None,
    status: int | None = None,
    delayed: bool | None = None,
    order_no: int | None = None,
    cart_no: int | None = None,
    period: tuple[str, dt.datetime, dt.datetime] | None = None,
) -> QuerySet[Order]:
    """Return the shop's orders with their cart, filtered as the shipping page filters.

    `box` is one of SHIPPING_BOXES (others are ignored); `period` is a field with
    its lower (included) and upper (excluded) bounds.
    """
    orders = Order.objects.filter(shop_id=shop_id)
    if not include_cancelled:
        orders = orders.filter(cancelled_at__isnull=True)
    if box is not None and box in SHIPPING_BOXES:
        orders = orders.filter(shipping_box_filter(box))
    if status is not None:
        orders = orders.filter(shipping_status=status)
    if delayed is not None:
        condition = delayed_q(timezone.localdate())
        orders = orders.filter(condition) if delayed else orders.exclude(condition)
    if order_no is not None:
        orders = orders.filter(order_no=order_no)
    if cart_no is not None:
        orders = orders.filter(cart__cart_no=cart_no)
    if period is not None:
        field, lower, upper = period
        orders = orders.filter(Q(**{f"{field}__gte": lower, f"{field}__lt": upper}))
    return orders.select_related("cart")


def order_with_cart(order_id: int) -> Order:
    """Return the order `order_id` read afresh, with its cart."""
    return Order.objects.select_related("cart").get(pk=order_id)


#: The columns of `order_history_rows`.
HISTORY_ROW_COLUMNS = (
    "created_at",
    "actor_role",
    "kind",
    "field",
    "from_value",
    "to_value",
    "reason",
    "memo",
    "refused",
)


def order_history_rows(order: Order) -> list[dict[str, Any]]:
    """Return the order's history as plain rows, oldest first (one query)."""
    return [
        dict(row) for row in order.events.order_by("created_at", "id").values(*HISTORY_ROW_COLUMNS)
    ]
