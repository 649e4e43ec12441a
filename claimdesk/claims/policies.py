"""Pure rules about orders and claims: no database access here."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from claimdesk.orders.models import ShippingStatus


class OrderLike(Protocol):
    shipping_status: int
    cancelled_at: dt.datetime | None
    returned_at: dt.datetime | None
    delivered_at: dt.datetime | None
    delay_type: int | None
    est_ship_date: dt.date | None

    def is_delayed(self, today: dt.date | None = None) -> bool: ...


def order_closed(order: OrderLike) -> bool:
    """A cancelled or returned order takes no more claims."""
    return order.cancelled_at is not None or order.returned_at is not None


def buyer_may_cancel_instantly(order: OrderLike, today: dt.date) -> bool:
    """Buyers cancel at once while unpaid, new, or delayed (SPEC section 3)."""
    if order_closed(order):
        return False
    return order.shipping_status in (
        ShippingStatus.AWAITING_PAYMENT,
        ShippingStatus.REQUESTED,
    ) or order.is_delayed(today)


def buyer_must_request_cancel(order: OrderLike, today: dt.date) -> bool:
    """A confirmed order that is not delayed needs the seller's approval to cancel."""
    return (
        not order_closed(order)
        and order.shipping_status == ShippingStatus.CONFIRMED
        and not order.is_delayed(today)
    )


def seller_may_cancel(order: OrderLike) -> bool:
    """Sellers cancel before shipment: new, awaiting shipment or delayed."""
    return not order_closed(order) and order.shipping_status in (
        ShippingStatus.REQUESTED,
        ShippingStatus.CONFIRMED,
    )


def after_shipment(order: OrderLike) -> bool:
    """Returns, exchanges and non-receipt reports need a shipped order."""
    return not order_closed(order) and order.shipping_status in (
        ShippingStatus.ON_DELIVERY,
        ShippingStatus.DELIVERED,
    )


def return_window_open(order: OrderLike, now: dt.datetime, window_days: int) -> bool:
    """Buyers may return while on delivery and for `window_days` after delivery."""
    if not after_shipment(order):
        return False
    if order.shipping_status == ShippingStatus.ON_DELIVERY or order.delivered_at is None:
        return True
    return now <= order.delivered_at + dt.timedelta(days=window_days)


def operator_may_cancel(order: OrderLike) -> bool:
    """Operators cancel in full in any shipping status of a live order."""
    return not order_closed(order)


def partial_amount_for_quantity(total_minor: int, quantity: int, missing: int) -> int:
    """Return the share of `total_minor` for `missing` of `quantity` units, rounded down."""
    return total_minor * missing // quantity
