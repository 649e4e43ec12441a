"""The only way an interface layer gets an order: scoped to who is asking."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from claimdesk.core.compiled import CompiledRead
from claimdesk.core.errors import NotFound
from claimdesk.core.i18n import lazy_text as _

from .models import Order

if TYPE_CHECKING:
    from claimdesk.accounts.models import User


def _order_no(value: object) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = -1
    if number <= 0:
        raise NotFound("order_not_found", _("No such order. Check the order number."))
    return number


def _not_found(order_no: int) -> NotFound:
    return NotFound(
        "order_not_found",
        _("Order %(order_no)s was not found in your orders. Check the number.")
        % {"order_no": order_no},
    )


#: What a seller's order page shows besides the order: its cart, buyer and shop.
FOR_PAGE = ("cart", "buyer", "shop")
#: What the buyer's order page shows besides the order: its cart and shop.
FOR_BUYER_PAGE = ("cart", "shop")
#: What an action needs of the caller's read: the order row alone. Its service reads
#: the order again under its lock, with what it uses; a related row the caller does
#: touch is read when touched.
FOR_ACTION: tuple[str, ...] = ()


#: The reads below run for every order page and action: compiled once (core.compiled).
@functools.cache
def _scoped_read(owner: str, related: tuple[str, ...]) -> CompiledRead[Order]:
    """The order by its number, if its `owner` column (shop_id, buyer_id) holds the value."""

    def build(order_no: int, owner_id: int) -> QuerySet[Order]:
        orders = Order.objects.select_related(*related) if related else Order.objects.all()
        return orders.filter(order_no=order_no, **{owner: owner_id})

    return CompiledRead(build, "order_no", "owner_id")


_OPERATOR_READ = CompiledRead(
    lambda order_no: Order.objects.select_related(*FOR_PAGE).filter(order_no=order_no),
    "order_no",
)


def access_order_for_seller(
    user: User, order_no: object, *, related: tuple[str, ...] = FOR_PAGE
) -> Order:
    """Return the order `order_no` of the user's shop, or raise NotFound.

    `related`: the rows read with it, `FOR_PAGE` (cart, buyer and shop) unless
    the caller only hands the order to an action's service (`FOR_ACTION`).
    """
    number = _order_no(order_no)
    if not user.is_authenticated or not user.is_seller or user.shop_id is None:
        raise _not_found(number)
    try:
        return _scoped_read("shop_id", related).get(order_no=number, owner_id=user.shop_id)
    except Order.DoesNotExist:
        raise _not_found(number) from None


def access_order_for_buyer(
    user: User, order_no: object, *, related: tuple[str, ...] = FOR_BUYER_PAGE
) -> Order:
    """Return the buyer's own order `order_no`, or raise NotFound.

    `related`: the rows read with it, `FOR_BUYER_PAGE` (cart and shop) unless the
    caller only hands the order to an action's service (`FOR_ACTION`).
    """
    number = _order_no(order_no)
    if not user.is_authenticated or not user.is_buyer:
        raise _not_found(number)
    try:
        return _scoped_read("buyer_id", related).get(order_no=number, owner_id=user.pk)
    except Order.DoesNotExist:
        raise _not_found(number) from None


def access_order_for_operator(user: User, order_no: object) -> Order:
    """Return any order for an operator, or raise NotFound."""
    number = _order_no(order_no)
    if not user.is_authenticated or not user.is_operator:
        raise _not_found(number)
    try:
        return _OPERATOR_READ.get(order_no=number)
    except Order.DoesNotExist:
        raise _not_found(number) from None


def access_order_for_platform(external_id: str) -> Order:
    """Return the order the marketplace knows as `external_id` (with cart and shop), or raise."""
    order = (
        Order.objects.select_related("cart", "shop").filter(external_id=external_id[:128]).first()
    )
    if order is None:
        raise NotFound("order_unknown", _("No order has this id. Check the external id."))
    return order
