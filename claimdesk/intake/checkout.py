"""Checkouts: a cart of one shop with one order per item line, and its payment.

`cart_place` is the checkout the demo and the tests use; the platform intake
(`intake.services`) builds its orders with the same `order_amounts` and
`new_order`, so that an order placed here and one sent by a marketplace are
priced and recorded alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from claimdesk.accounts.roles import require_role
from claimdesk.core.conf import setting
from claimdesk.core.errors import DomainError, InvalidInput
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.ids import next_number
from claimdesk.core.money import Money
from claimdesk.orders.history import record_event
from claimdesk.orders.models import Cart, Item, ItemOption, Order, PaymentMethod, ShippingStatus
from claimdesk.orders.services import lock_order, set_shipping_status
from claimdesk.payments.services import payment_fee_for, payment_post

if TYPE_CHECKING:
    from claimdesk.accounts.models import User

#: Methods paid at checkout (status 2 at once); the others wait for payment (status 1).
PAID_AT_ONCE = frozenset({PaymentMethod.CARD, PaymentMethod.BALANCE})
DEFAULT_SHIPPING_WAY = "一般運送 (追跡-O)"


@dataclass(frozen=True)
class CartLine:
    item: Item
    option: ItemOption | None
    quantity: int
    seller_discount_minor: int = 0
    cart_seller_discount_minor: int = 0
    cart_platform_discount_minor: int = 0


@dataclass(frozen=True)
class Receiver:
    name: str
    zip_code: str
    address: str
    kana: str = ""
    phone: str = ""
    address2: str = ""
    country: str = "JP"


@dataclass(frozen=True)
class Amounts:
    """An order line's money: what the buyer pays, the commission, what the shop gets."""

    total: Money
    commission: Money
    settle: Money


def order_amounts(
    *,
    unit: Money,
    option_price: Money,
    quantity: int,
    seller_discount: int = 0,
    cart_seller_discount: int = 0,
    cart_platform_discount: int = 0,
) -> Amounts:
    """Price one order line; refuse discounts larger than the price."""
    currency = unit.currency
    gross = (unit + option_price) * quantity
    total = gross - Money(seller_discount + cart_seller_discount + cart_platform_discount, currency)
    if total.is_negative():
        raise InvalidInput("discount_too_large", _("Discounts exceed the price."))
    settle_base = gross - Money(seller_discount + cart_seller_discount, currency)
    commission = settle_base.percent_bp(setting("COMMISSION_RATE_BP"))
    return Amounts(total=total, commission=commission, settle=settle_base - commission)


def new_order(
    cart: Cart,
    *,
    order_no: int,
    item: Item,
    option_code: str,
    option_text: str,
    option_price_minor: int,
    quantity: int,
    unit_price_minor: int,
    seller_discount_minor: int,
    cart_seller_discount_minor: int,
    cart_platform_discount_minor: int,
    receiver: Receiver,
    shipping_way: str,
    buyer_request: str,
    external_id: str | None = None,
    amounts: Amounts | None = None,
) -> Order:
    """Return a new, unsaved order line of `cart`, priced, in the cart's payment status.

    `amounts`: the line's price when the caller has computed it already.
    """
    currency = cart.currency
    amounts = amounts or order_amounts(
        unit=Money(unit_price_minor, currency),
        option_price=Money(option_price_minor, currency),
        quantity=quantity,
        seller_discount=seller_discount_minor,
        cart_seller_discount=cart_seller_discount_minor,
        cart_platform_discount=cart_platform_discount_minor,
    )
    return Order(
        order_no=order_no,
        cart=cart,
        shop_id=cart.shop_id,
        buyer_id=cart.buyer_id,
        item=item,
        item_code=item.item_code,
        seller_item_code=item.seller_item_code,
        item_title=item.title,
        option_text=option_text,
        option_code=option_code,
        quantity=quantity,
        currency=currency,
        unit_price_minor=unit_price_minor,
        option_price_minor=option_price_minor,
        seller_discount_minor=seller_discount_minor,
        cart_seller_discount_minor=cart_seller_discount_minor,
        cart_platform_discount_minor=cart_platform_discount_minor,
        total_minor=amounts.total.minor,
        commission_minor=amounts.commission.minor,
        settle_price_minor=amounts.settle.minor,
        receiver_name=receiver.name,
        receiver_kana=receiver.kana,
        receiver_phone=receiver.phone,
        receiver_country=receiver.country,
        receiver_zip=receiver.zip_code,
        receiver_address=receiver.address,
        receiver_address2=receiver.address2,
        shipping_way=shipping_way or DEFAULT_SHIPPING_WAY,
        buyer_request=buyer_request.strip()[:300],
        shipping_status=ShippingStatus.REQUESTED
        if cart.paid_at is not None
        else ShippingStatus.AWAITING_PAYMENT,
        ordered_at=cart.ordered_at,
        paid_at=cart.paid_at,
        external_id=external_id,
    )


def placed_event(order: Order, *, actor: User | None) -> None:
    """Write the order's first history line (`order.placed`)."""
    record_event(
        order,
        actor=actor,
        kind="order.placed",
        field="shipping_status",
        from_value="",
        to_value=order.shipping_status,
        data={"cart_no": order.cart.cart_no, "payment_method": order.cart.payment_method},
    )


def cart_place(
    *,
    buyer: User,
    lines: list[CartLine],
    payment_method: str,
    receiver: Receiver,
    shipping_fee: Money,
    ordered_at: dt.datetime | None = None,
    shipping_way: str = DEFAULT_SHIPPING_WAY,
    buyer_request: str = "",
) -> Cart:
    """Check out `lines` of one shop: a cart with one order per line.

    Card and balance payments are paid at once (status 2); bank transfer and
    convenience store wait for payment (status 1) until the deadline.
    """
    require_role(buyer, "buyer")
    if not lines:
        raise InvalidInput("cart_empty", _("The cart is empty."))
    shops = {line.item.shop_id for line in lines}
    if len(shops) != 1:
        raise InvalidInput("cart_mixed_shops", _("A cart holds the items of one shop only."))
    if payment_method not in PaymentMethod.values:
        raise InvalidInput("payment_method_invalid", _("Unknown payment method."))
    currency = lines[0].item.currency
    ordered_at = ordered_at or timezone.now()
    immediate = payment_method in PAID_AT_ONCE
    with transaction.atomic():
        cart = Cart.objects.create(
            cart_no=next_number("cart_no"),
            shop_id=lines[0].item.shop_id,
            buyer=buyer,
            currency=currency,
            shipping_fee_minor=shipping_fee.minor,
            payment_method=payment_method,
            ordered_at=ordered_at,
            paid_at=ordered_at if immediate else None,
            payment_deadline=None
            if immediate
            else ordered_at + dt.timedelta(days=setting("PAYMENT_DEADLINE_DAYS")),
            payment_reference=f"pay_{ordered_at:%Y%m%d%H%M%S}",
        )
        goods_total = Money.zero(currency)
        for line in lines:
            order = new_order(
                cart,
                order_no=next_number("order_no"),
                item=line.item,
                option_code=line.option.option_code if line.option else "",
                option_text=line.option.text if line.option else "",
                option_price_minor=line.option.price_minor if line.option else 0,
                quantity=line.quantity,
                unit_price_minor=line.item.price_minor,
                seller_discount_minor=line.seller_discount_minor,
                cart_seller_discount_minor=line.cart_seller_discount_minor,
                cart_platform_discount_minor=line.cart_platform_discount_minor,
                receiver=receiver,
                shipping_way=shipping_way,
                buyer_request=buyer_request,
            )
            order.buyer = buyer
            order.save(force_insert=True)
            placed_event(order, actor=buyer)
            goods_total = goods_total + order.total
        cart.payment_fee_minor = payment_fee_for(
            method=payment_method, amount=goods_total + shipping_fee
        ).minor
        cart.save(update_fields=["payment_fee_minor"])
        if immediate:
            payment_post(cart=cart)
    return cart


def cart_mark_paid(*, actor: User | None, cart: Cart, paid_at: dt.datetime | None = None) -> Cart:
    """Record that a bank-transfer or convenience-store payment arrived."""
    require_role(actor, "operator", "system")
    with transaction.atomic():
        cart = Cart.objects.select_for_update().get(pk=cart.pk)
        if cart.paid_at is not None:
            raise DomainError("already_paid", _("This cart is already paid."))
        orders = [lock_order(o) for o in cart.orders.order_by("pk")]
        if not orders or any(o.is_cancelled for o in orders):
            raise DomainError(
                "cart_cancelled",
                _("This cart was cancelled; the payment must be returned instead."),
            )
        cart.paid_at = paid_at or timezone.now()
        cart.save(update_fields=["paid_at"])
        for order in orders:
            order.paid_at = cart.paid_at
            set_shipping_status(order, ShippingStatus.REQUESTED, actor=actor, kind="order.paid")
            order.save()
        payment_post(cart=cart)
    return cart
