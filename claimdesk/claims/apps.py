from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "claimdesk.claims"
    label = "claims"

    def ready(self) -> None:
        from claimdesk.orders.models import Order
        from claimdesk.orders.signals import order_shipped
        from claimdesk.payments import tasks as former

        from .refunds import process_refund

        order_shipped.connect(_reject_cancel_request, sender=Order, dispatch_uid="claims.shipped")
        # Task rows queued before the refund task moved here name its former path.
        former.process_refund = process_refund


def _reject_cancel_request(sender: type, *, order: Any, actor: Any, **kwargs: Any) -> None:
    """Close the buyer's cancel request of an order the seller has just shipped."""
    from .services import claim_reject_by_shipping  # loaded once the app registry is ready

    claim_reject_by_shipping(actor=actor, order=order)
