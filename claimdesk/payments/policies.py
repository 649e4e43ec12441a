"""Pure money rules: where a refund goes back to and how the ledger splits it."""

from __future__ import annotations

from claimdesk.core.money import Money
from claimdesk.orders.models import PaymentMethod

from .models import RefundDestination


def refund_destination(method: str) -> str:
    """Card payments go back to the card; everything else to the platform balance."""
    return RefundDestination.CARD if method == PaymentMethod.CARD else RefundDestination.BALANCE


def split_item_refund(
    *, refund_item: Money, order_total: Money, commission: Money, platform_discount: Money
) -> tuple[Money, Money, Money]:
    """Split an item refund into (seller share, commission reversed, platform discount recovered).

    seller - discount + commission == refund_item, scaled for a partial refund.
    """
    if order_total.minor == 0:
        zero = Money.zero(refund_item.currency)
        return zero, zero, zero
    commission_part = Money(
        commission.minor * refund_item.minor // order_total.minor, refund_item.currency
    )
    discount_part = Money(
        platform_discount.minor * refund_item.minor // order_total.minor, refund_item.currency
    )
    seller_part = refund_item - commission_part + discount_part
    return seller_part, commission_part, discount_part
