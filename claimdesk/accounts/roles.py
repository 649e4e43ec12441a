"""Role checks shared by every service: who is acting, and for whom."""

from __future__ import annotations

from typing import TYPE_CHECKING

from claimdesk.core.errors import Forbidden, NotFound
from claimdesk.core.i18n import lazy_text as _

from .models import Role

if TYPE_CHECKING:
    from .models import User

SYSTEM = "system"


def role_of(actor: User | None) -> str:
    """Return `seller`, `buyer`, `operator` or `system` (no actor)."""
    if actor is None:
        return SYSTEM
    return str(actor.role)


def require_role(actor: User | None, *roles: str) -> None:
    """Refuse unless `actor` has one of `roles` (`system` meaning no actor)."""
    if role_of(actor) not in roles:
        raise Forbidden(
            "role_not_allowed",
            _(
                "Your account cannot take this action. Ask the party who can, or contact the customer center."
            ),
            {"role": role_of(actor), "allowed": list(roles)},
        )


def require_party(actor: User | None, *, shop_id: int, buyer_id: int) -> None:
    """Refuse a seller of another shop or another buyer with the same "not found"."""
    role = role_of(actor)
    if role == Role.SELLER and actor is not None and actor.shop_id == shop_id:
        return
    if role == Role.BUYER and actor is not None and actor.pk == buyer_id:
        return
    if role in (Role.OPERATOR, SYSTEM):
        return
    raise NotFound("order_not_found", _("No such order. Check the order number."))
