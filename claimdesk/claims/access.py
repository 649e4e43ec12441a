"""Getting a claim for whoever asks, scoped to them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from claimdesk.core.errors import NotFound
from claimdesk.core.i18n import lazy_text as _
from claimdesk.orders.access import (
    access_order_for_buyer,
    access_order_for_seller,
)

from .models import Claim

if TYPE_CHECKING:
    from claimdesk.accounts.models import User
    from claimdesk.orders.models import Order


def _latest_claim(order_id: int, *, open_only: bool) -> Claim:
    claims = Claim.objects.select_related("order", "order__cart", "shop", "buyer")
    claims = claims.open_for(order_id) if open_only else claims.filter(order_id=order_id)
    claim = claims.order_by("-requested_at", "-id").first()
    if claim is None:
        raise NotFound(
            "claim_not_found",
            _("This order has no open claim. Reload the page to see its current state."),
        )
    return claim


def access_claim_for_seller(user: User, order_no: object, *, open_only: bool = True) -> Claim:
    """Return the (open) claim on the shop's order `order_no`, or raise NotFound."""
    order = access_order_for_seller(user, order_no)
    return _latest_claim(order.pk, open_only=open_only)


def access_claim_for_buyer(user: User, order_no: object, *, open_only: bool = True) -> Claim:
    """Return the (open) claim on the buyer's own order `order_no`, or raise NotFound."""
    order = access_order_for_buyer(user, order_no)
    return _latest_claim(order.pk, open_only=open_only)


def access_open_claim_on(order: Order) -> Claim:
    """Return the open claim on `order`, or raise NotFound.

    `order` comes from an access function: the caller is already scoped to it.
    The claim's order is `order` itself (not read again).
    """
    claim = Claim.objects.open_for(order).first()
    if claim is None:
        raise NotFound("claim_not_found", _("This order has no open claim."))
    claim.order = order
    return claim
