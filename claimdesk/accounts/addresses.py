"""Services of a shop's address book (the default return/exchange address)."""

from __future__ import annotations

from django.db import transaction

from claimdesk.core.errors import NotFound
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.validation import clean_short

from .models import AddressKind, ShopAddress, User
from .roles import require_role


def _shop_id(actor: User) -> int:
    if actor.shop_id is None:
        raise NotFound("address_not_found", _("No such address in your address book."))
    return actor.shop_id


def address_create(
    *,
    actor: User,
    name: str,
    zip_code: str,
    address_front: str,
    address_back: str = "",
    phone: str = "",
    is_default_return: bool = False,
) -> ShopAddress:
    """Add an address to the actor's shop; make it the default return address if asked."""
    require_role(actor, "seller")
    with transaction.atomic():
        if is_default_return:
            ShopAddress.objects.filter(shop_id=_shop_id(actor), is_default_return=True).update(
                is_default_return=False
            )
        return ShopAddress.objects.create(
            shop_id=_shop_id(actor),
            kind=AddressKind.RETURN,
            name=clean_short(name, field="name"),
            zip_code=clean_short(zip_code, field="zip_code", max_length=16),
            address_front=clean_short(address_front, field="address", max_length=200),
            address_back=clean_short(address_back, field="address", max_length=200, required=False),
            phone=clean_short(phone, field="phone", max_length=32, required=False),
            is_default_return=is_default_return,
        )


def _own_address(actor: User, address_id: int) -> ShopAddress:
    address = ShopAddress.objects.filter(pk=address_id, shop_id=_shop_id(actor)).first()
    if address is None:
        raise NotFound("address_not_found", _("No such address in your address book."))
    return address


def address_set_default(*, actor: User, address_id: int) -> ShopAddress:
    """Make one of the shop's addresses the default return/exchange address."""
    require_role(actor, "seller")
    with transaction.atomic():
        address = _own_address(actor, address_id)
        ShopAddress.objects.filter(shop_id=_shop_id(actor), is_default_return=True).update(
            is_default_return=False
        )
        address.is_default_return = True
        address.save(update_fields=["is_default_return"])
    return address


def address_delete(*, actor: User, address_id: int) -> None:
    """Remove an address from the shop's address book."""
    require_role(actor, "seller")
    _own_address(actor, address_id).delete()
