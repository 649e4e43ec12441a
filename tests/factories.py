"""factory_boy factories and helpers that build orders through the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.utils import timezone

from claimdesk.accounts.models import Role, Shop, ShopAddress, User
from claimdesk.core.money import Money
from claimdesk.intake.checkout import CartLine, Receiver, cart_mark_paid, cart_place
from claimdesk.orders.models import Cart, Item, ItemOption, Order, ShippingStatus
from claimdesk.orders.services import (
    order_confirm,
    order_mark_delivered,
    order_register_delay,
    order_ship,
)
from claimdesk.payments.services import balance_top_up


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    code = factory.Sequence(lambda n: f"shop{n:03d}")
    name = factory.Sequence(lambda n: f"テストショップ{n}")
    email = factory.LazyAttribute(lambda o: f"{o.code}@shops.example")
    language = "zh-hans"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n:04d}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pw-for-tests-123")
    language = "ja"


class BuyerFactory(UserFactory):
    role = Role.BUYER
    display_name = factory.Sequence(lambda n: f"購入者{n}")


class SellerFactory(UserFactory):
    role = Role.SELLER
    shop = factory.SubFactory(ShopFactory)
    language = "zh-hans"


class OperatorFactory(UserFactory):
    role = Role.OPERATOR
    language = "en"


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    shop = factory.SubFactory(ShopFactory)
    item_code = factory.Sequence(lambda n: f"{593128000 + n}")
    seller_item_code = factory.Sequence(lambda n: f"sku-{n}")
    title = factory.Sequence(lambda n: f"test item {n}")
    price_minor = 1000
    currency = "JPY"


class ItemOptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ItemOption

    item = factory.SubFactory(ItemFactory)
    option_code = factory.Sequence(lambda n: f"OPT{n}")
    text = "Color:Black / Size:M"
    price_minor = 0


def return_address(shop: Shop) -> ShopAddress:
    """Give `shop` a default return/exchange address."""
    return ShopAddress.objects.create(
        shop=shop,
        name="返品センター",
        zip_code="273-0017",
        address_front="千葉県船橋市西浦3-4-2",
        phone="050-0000-0000",
        is_default_return=True,
    )


RECEIVER = Receiver(
    name="山田 太郎", kana="ヤマダ タロウ", zip_code="100-0001", address="東京都千代田区千代田1-1"
)


def place_cart(
    *,
    shop: Shop,
    buyer: User,
    prices: list[int] | None = None,
    method: str = "card",
    shipping_fee: int = 500,
    quantity: int = 1,
    ordered_at: dt.datetime | None = None,
    **line_kwargs: Any,
) -> Cart:
    """Place a cart of one order per price at `shop` through the service."""
    prices = prices or [1000]
    if method == "balance":
        total = sum(prices) * quantity + shipping_fee
        balance_top_up(buyer=buyer, amount=Money(total, "JPY"))
    lines = [
        CartLine(
            item=ItemFactory(shop=shop, price_minor=p),
            option=None,
            quantity=quantity,
            **line_kwargs,
        )
        for p in prices
    ]
    return cart_place(
        buyer=buyer,
        lines=lines,
        payment_method=method,
        receiver=RECEIVER,
        shipping_fee=Money(shipping_fee, "JPY"),
        ordered_at=ordered_at,
    )


def order_in(
    status: str, *, seller: User, buyer: User, method: str = "card", **kwargs: Any
) -> Order:
    """Return an order of `seller`'s shop brought to `status` through the services.

    `status` is one of: unpaid, new, confirmed, delayed, shipped, delivered.
    """
    if status == "unpaid" and method in ("card", "balance"):
        method = "bank_transfer"
    cart = place_cart(shop=seller.shop, buyer=buyer, method=method, **kwargs)  # type: ignore[arg-type]
    order = cart.orders.get()
    if status == "unpaid":
        return order
    if order.shipping_status == ShippingStatus.AWAITING_PAYMENT:
        cart_mark_paid(actor=None, cart=cart)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    if status in ("confirmed", "shipped", "delivered"):
        order_confirm(actor=seller, order=order, est_ship_date=tomorrow)
    if status == "delayed":
        order_register_delay(
            actor=seller, order=order, est_ship_date=tomorrow, delay_type=1, memo=""
        )
    if status in ("shipped", "delivered"):
        order_ship(actor=seller, order=order, carrier="ゆうパック", tracking_no="1212121212")
    if status == "delivered":
        order_mark_delivered(actor=None, order=order)
    order.refresh_from_db()
    return order
