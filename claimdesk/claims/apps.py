from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "claimdesk.claims"
    label = "claims"

    def ready(self) -> None:
        from claimdesk.messaging.delivery import CODE_LABELS
        from claimdesk.orders.models import Order
        from claimdesk.orders.signals import order_shipped
        from claimdesk.payments import tasks as former

        from .refunds import process_refund

        order_shipped.connect(_reject_cancel_request, sender=Order, dispatch_uid="claims.shipped")
        # Task rows queued before the refund task moved here name its former path.
        former.process_refund = process_refund
        # Mails name a claim's reason and status in the recipient's language.
        CODE_LABELS["reason_code"] = ("reason", _reason_label)
        CODE_LABELS["status_code"] = ("status", _status_label)


def _reject_cancel_request(sender: type, *, order: Any, actor: Any, **kwargs: Any) -> None:
    """Close the buyer's cancel request of an order the seller has just shipped."""
    from .cancel import claim_reject_by_shipping  # loaded once the app registry is ready

    claim_reject_by_shipping(actor=actor, order=order)


def _reason_label(code: str, notification: Any) -> str:
    """Return the label of a claim reason code, in the active language."""
    from .reasons import get_reason

    claim = notification.claim
    kind = "cancel" if claim is None or claim.type in ("cancel", "unpaid_cancel") else "return"
    reason = get_reason(kind, code)
    return str(reason.label) if reason else code


def _status_label(code: str, notification: Any) -> str:
    """Return the label of a claim status code, in the active language."""
    from .models import ClaimStatus

    return str(ClaimStatus(code).label)
