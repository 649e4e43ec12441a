"""Template helpers for the portals: labels that come from the domain tables."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from claimdesk.claims.models import Claim, ClaimType
from claimdesk.claims.reasons import get_reason
from claimdesk.payments.models import Refund, RefundStatus

register = template.Library()


@register.simple_tag
def claim_reason(claim: Claim) -> str:
    """Return the claim's reason with the party responsible, e.g. 在庫切れ (販売者の責任)."""
    kind = "cancel" if claim.type in (ClaimType.CANCEL, ClaimType.UNPAID_CANCEL) else "return"
    reason = get_reason(kind, claim.reason_code)
    if reason is None:
        return claim.reason_code
    return f"{reason.label} ({claim.get_fault_display()})"


@register.simple_tag
def refund_status(claim: Claim) -> str:
    """Return the refund's state as the buyer reads it: pending, done, failed and retrying."""
    try:
        refund = claim.refund
    except Refund.DoesNotExist:
        return "—"
    if refund.status == RefundStatus.SUCCEEDED:
        return str(_("Refund completed"))
    if refund.status == RefundStatus.PENDING:
        return str(_("Refund pending"))
    if refund.next_retry_at is not None:
        return str(_("Refund failed, retrying"))
    return str(_("Refund failed; the customer center will contact you"))


@register.filter
def event_label(kind: str) -> str:
    """Return the readable label of an order history line's kind."""
    from claimdesk.orders.history import event_label as label

    return label(kind)


@register.simple_tag
def history_line(event: dict[str, Any]) -> dict[str, str]:
    """Return the texts of an order history line (`portals.history.history_line`)."""
    from claimdesk.portals.history import history_line as line

    return line(event)


@register.filter
def role_label(role: str) -> str:
    """Return a role ("seller", "operator"...) as the viewer reads it."""
    from claimdesk.portals.history import role_label as label

    return label(role)


@register.filter
def money(minor: int, currency: str) -> str:
    """Return an amount in minor units as people read it: `¥3,780`, `SGD 12.50`."""
    from claimdesk.core.money import Money

    return Money(int(minor), currency).format()


#: What a bulk cancellation row's plan and result say to the seller (codes stay in data-*).
_BULK_LABELS = {
    "will_cancel": _("Will be cancelled"),
    "will_cancel_without_notice": _("Will be cancelled (no note sent)"),
    "will_approve": _("Will approve the buyer's request"),
    "cancelled": pgettext_lazy("order state", "Cancelled"),
    "approved": _("Request approved"),
    "already_cancelled": _("Already cancelled"),
}


@register.filter
def bulk_label(code: str) -> str:
    """Return a bulk cancellation plan or result as words: "" for none, "Not possible" for a refusal."""
    if not code:
        return ""
    label = _BULK_LABELS.get(code)
    return str(label) if label is not None else str(_("Not possible"))


@register.simple_tag
def tracking_link(carrier: str, tracking_no: str) -> str:
    """Return the carrier's tracking URL, or "" when the carrier is unknown."""
    from claimdesk.orders.tracking import tracking_url

    return tracking_url(carrier or "", tracking_no or "")
