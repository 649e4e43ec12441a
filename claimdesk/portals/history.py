"""Order history lines as people read them: sentences in the viewer's language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from claimdesk.accounts.models import Role
from claimdesk.claims.models import ClaimStatus
from claimdesk.claims.reasons import get_reason
from claimdesk.orders.history import event_label
from claimdesk.orders.models import ShippingStatus


def role_label(role: str) -> str:
    """Return who acted, by role, as the viewer reads it (the system for no one)."""
    if role in Role.values:
        return str(Role(role).label)
    if role == "system":
        return pgettext("history actor", "System")
    return role


def _value_label(field: str, value: str) -> str:
    """Return the status a history line's raw value stands for."""
    if not value.lstrip("-").isdigit():
        return value
    code = int(value)
    if field == "shipping_status" and code in ShippingStatus.values:
        return str(ShippingStatus(code).label)
    if field == "claim_status" and code in ClaimStatus.values:
        return str(ClaimStatus(code).label)
    return value


def _reason_label(code: str) -> str:
    for kind in ("cancel", "return"):
        reason = get_reason(kind, code)
        if reason is not None:
            return str(reason.label)
    return ""


def history_line(event: dict[str, Any]) -> dict[str, str]:
    """Return the texts of one line of `orders.selectors.order_history`.

    `what` names the event, `change` the status it led to ("" when the name says
    it all), `reason` the reason chosen, `refusal` why a refused action was
    refused, and `who` the role and login of the person acting.
    """
    field = event.get("field") or ""
    change = ""
    if field in ("shipping_status", "claim_status"):
        before = _value_label(field, event.get("from_value") or "")
        after = _value_label(field, event.get("to_value") or "")
        label = _("Shipping status") if field == "shipping_status" else _("Claim status")
        change = (
            _("%(field)s: %(before)s → %(after)s")
            % {"field": label, "before": before, "after": after}
            if before
            else _("%(field)s: %(after)s") % {"field": label, "after": after}
        )
    refusal = ""
    reason = ""
    if event.get("refused"):
        data = event.get("data") or {}
        texts = data.get("messages") or {}
        refusal = str(texts.get(get_language()) or data.get("message") or "")
    elif event.get("reason"):
        reason = _reason_label(event["reason"])
    who = role_label(event.get("actor_role") or "")
    if event.get("actor__username"):
        who = f"{who} ({event['actor__username']})"
    return {
        "what": event_label(event.get("kind") or ""),
        "change": change,
        "reason": _("Reason: %(reason)s") % {"reason": reason} if reason else "",
        "refusal": refusal,
        "who": who,
    }
