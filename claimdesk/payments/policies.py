"""Pure money rules of SPEC section 5: what a refund is made of and who bears what."""

from __future__ import annotations

from dataclasses import dataclass

from claimdesk.claims.reasons import Fault
from claimdesk.core.money import Money
from claimdesk.orders.models import PaymentMethod

from .models import RefundDestination


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


def refund_destination(method: str) -> str:
    """Card payments go back to the card; everything else to the platform balance."""
    return RefundDestination.CARD if method == PaymentMethod.CARD else RefundDestination.BALANCE


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
