"""Getting a shop or one of its restrictions for whoever asks, scoped to them."""

from __future__ import annotations

from claimdesk.core.errors import NotFound
from claimdesk.core.i18n import lazy_text as _

from .models import Shop, ShopRestriction, User


def access_shop_for_operator(user: User, code: str) -> Shop:
    """Return the shop `code` for an operator, or raise NotFound."""
    shop = Shop.objects.filter(code=code).first() if user.is_operator else None
    if shop is None:
        raise NotFound("shop_not_found", _("No such shop."))
    return shop


def access_restriction_for_operator(user: User, shop: Shop, restriction_id: int) -> ShopRestriction:
    """Return the restriction `restriction_id` on `shop` for an operator, or raise NotFound."""
    restriction = (
        ShopRestriction.objects.filter(pk=restriction_id, shop=shop).first()
        if user.is_operator
        else None
    )
    if restriction is None:
        raise NotFound("restriction_not_found", _("No such restriction."))
    return restriction
