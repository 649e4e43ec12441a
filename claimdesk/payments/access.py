"""Getting a refund for whoever asks, scoped to them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from claimdesk.core.errors import NotFound
from claimdesk.core.i18n import lazy_text as _

from .models import Refund

if TYPE_CHECKING:
    from claimdesk.accounts.models import User


def access_refund_for_operator(user: User, refund_id: int) -> Refund:
    """Return the refund `refund_id` (with its order) for an operator, or raise NotFound."""
    refund = (
        Refund.objects.select_related("order").filter(pk=refund_id).first()
        if user.is_operator
        else None
    )
    if refund is None:
        raise NotFound("refund_not_found", _("No such refund."))
    return refund


def access_claim_refund(claim_id: int) -> Refund:
    """Return the refund (with its order) of a claim already scoped, or raise NotFound."""
    refund = Refund.objects.filter(claim_id=claim_id).select_related("order").first()
    if refund is None:
        raise NotFound("refund_not_found", _("This claim has no refund."))
    return refund
