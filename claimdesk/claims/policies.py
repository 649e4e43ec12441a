"""Pure rules about orders, claims and their refunds: no database access here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from claimdesk.core.money import Money
from claimdesk.orders.models import ShippingStatus

from .reasons import Fault


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


# --- refunds (SPEC section 5): what a refund is made of and who bears what ---------------


@dataclass(frozen=True)
class RefundBreakdown:
    """The parts of one refund; `total` is what the buyer gets back."""

    item: Money
    shipping: Money
    payment_fee: Money
    deduction: Money
    payment_fee_borne_by_seller: bool

    @property
    def total(self) -> Money:
        return self.item + self.shipping + self.payment_fee - self.deduction


def payment_fee_refundable(*, fault: str, grant_payment_fee: bool) -> bool:
    """The fee goes back when the seller is at fault, or when the seller grants it."""
    return fault == Fault.SELLER or grant_payment_fee


def return_shipping_deduction_allowed(*, fault: str) -> bool:
    """Return shipping is the seller's when the seller is at fault; else it may be deducted."""
    return fault != Fault.SELLER


def refund_breakdown(
    *,
    item: Money,
    shipping_fee: Money,
    include_shipping: bool,
    payment_fee: Money,
    include_payment_fee: bool,
    fault: str,
    grant_payment_fee: bool,
    deduction: Money,
) -> RefundBreakdown:
    """Compose a refund from its parts under the fault rules.

    `include_shipping` and `include_payment_fee` say whether this is the last
    live order of its cart (the cart's fees are refunded only once).
    Call after validating `deduction` with `return_shipping_deduction_allowed`.
    """
    currency = item.currency
    fee_back = include_payment_fee and payment_fee_refundable(
        fault=fault, grant_payment_fee=grant_payment_fee
    )
    return RefundBreakdown(
        item=item,
        shipping=shipping_fee if include_shipping else Money.zero(currency),
        payment_fee=payment_fee if fee_back else Money.zero(currency),
        deduction=deduction,
        payment_fee_borne_by_seller=fee_back and payment_fee.minor > 0,
    )
