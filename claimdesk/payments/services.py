"""Payment and refund postings to the ledger, the payment-fee table, balance top-ups.

The refund lifecycle (deciding, sending to the gateway, retrying, recovering)
belongs to the claim that owns the refund: `claimdesk.claims.refunds`. This
module only turns money that moved into balanced ledger transactions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claimdesk.core.errors import DomainError
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.money import Money
from claimdesk.orders.models import Cart, Order, PaymentMethod

from .ledger import Line, buyer_balance, ledger_post, ledger_post_many
from .models import Account, PaymentFeeRule, Refund, RefundDestination
from .policies import split_item_refund

if TYPE_CHECKING:
    from claimdesk.accounts.models import User


def payment_fee_for(*, method: str, amount: Money) -> Money:
    """Return the payment fee of `method` for `amount` from the fee table."""
    rule = (
        PaymentFeeRule.objects.filter(
            method=method, currency=amount.currency, min_amount_minor__lte=amount.minor
        )
        .order_by("-min_amount_minor")
        .first()
    )
    return Money(rule.fee_minor if rule else 0, amount.currency)


def _source_line(cart: Cart, amount: Money, *, received: bool) -> Line:
    if cart.payment_method == PaymentMethod.BALANCE and not received:
        return Line(Account.BUYER_BALANCE, amount, party_id=cart.buyer_id)
    return Line(Account.GATEWAY_CLEARING, amount)


def payment_lines(cart: Cart, orders: list[Order], *, received: bool = False) -> list[Line]:
    """Return the ledger lines of a cart's payment.

    `received`: the marketplace took the money (its own balance included) and
    claimdesk records it as received through the gateway's clearing account.
    """
    lines: list[Line] = []
    paid = cart.shipping_fee + cart.payment_fee
    for order in orders:
        commission = order.money(order.commission_minor)
        platform_discount = order.money(order.cart_platform_discount_minor)
        seller_part = order.total + platform_discount - commission
        lines += [
            Line(Account.SELLER_PAYABLE, -seller_part, party_id=order.shop_id, order_id=order.pk),
            Line(Account.PLATFORM_COMMISSION, -commission, order_id=order.pk),
            Line(Account.PLATFORM_REVENUE, platform_discount, order_id=order.pk),
        ]
        paid = paid + order.total
    lines += [
        Line(Account.SELLER_PAYABLE, -cart.shipping_fee, party_id=cart.shop_id),
        Line(Account.PLATFORM_REVENUE, -cart.payment_fee),
        _source_line(cart, paid, received=received),
    ]
    return lines


def payment_post(*, cart: Cart, received: bool = False) -> None:
    """Post the ledger transaction of a cart's payment (call once, when it is paid)."""
    lines = payment_lines(cart, list(cart.orders.all()), received=received)
    paid = lines[-1].amount
    if (
        cart.payment_method == PaymentMethod.BALANCE
        and not received
        and buyer_balance(cart.buyer_id, cart.currency) < paid
    ):
        raise DomainError(
            "balance_insufficient",
            _(
                "The platform balance is not enough for this payment. Choose another payment method."
            ),
        )
    ledger_post(kind="payment", lines=lines, cart_id=cart.pk, memo=f"cart {cart.cart_no}")


def payments_post_received(carts: list[tuple[Cart, list[Order]]]) -> int:
    """Post the payments the marketplace received for several carts at once."""
    return ledger_post_many(
        [
            ("payment", payment_lines(cart, orders, received=True), cart.pk, f"cart {cart.cart_no}")
            for cart, orders in carts
        ]
    )


def fee_table() -> list[tuple[str, str, int, int]]:
    """Return the payment-fee table as (method, currency, from amount, fee) rows."""
    return list(
        PaymentFeeRule.objects.order_by("method", "currency", "min_amount_minor").values_list(
            "method", "currency", "min_amount_minor", "fee_minor"
        )
    )


def fee_from_table(table: list[tuple[str, str, int, int]], *, method: str, amount: Money) -> Money:
    """Return the fee of `method` for `amount` from rows of `fee_table()`."""
    fee = 0
    for rule_method, currency, minimum, rule_fee in table:
        if rule_method == method and currency == amount.currency and minimum <= amount.minor:
            fee = rule_fee
    return Money(fee, amount.currency)


def balance_top_up(*, buyer: User, amount: Money, memo: str = "") -> None:
    """Credit a buyer's platform balance with money received (points, wallet charge)."""
    ledger_post(
        kind="top_up",
        lines=[
            Line(Account.GATEWAY_CLEARING, amount),
            Line(Account.BUYER_BALANCE, -amount, party_id=buyer.pk),
        ],
        memo=memo,
    )


def refund_lines(refund: Refund) -> list[Line]:
    """Return the ledger lines of a refund given back (to the card or the platform balance)."""
    order = refund.order
    currency = refund.currency
    item = Money(refund.item_minor, currency)
    seller_part, commission_part, discount_part = split_item_refund(
        refund_item=item,
        order_total=order.total,
        commission=order.money(order.commission_minor),
        platform_discount=order.money(order.cart_platform_discount_minor),
    )
    seller_debit = (
        seller_part
        - Money(refund.deduction_minor, currency)
        + Money(refund.shipping_minor, currency)
        + Money(refund.payment_fee_minor, currency)
    )
    if refund.destination == RefundDestination.CARD:
        target = Line(Account.GATEWAY_CLEARING, -refund.amount)
    else:
        target = Line(Account.BUYER_BALANCE, -refund.amount, party_id=refund.buyer_id)
    return [
        Line(Account.SELLER_PAYABLE, seller_debit, party_id=order.shop_id),
        Line(Account.PLATFORM_COMMISSION, commission_part),
        Line(Account.PLATFORM_REVENUE, -discount_part),
        target,
    ]


def refund_post(*, refund: Refund) -> None:
    """Post the ledger transaction of a refund the buyer has got back (call once, on success)."""
    ledger_post(
        kind="refund", lines=refund_lines(refund), order_id=refund.order_id, refund_id=refund.pk
    )
