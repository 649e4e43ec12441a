"""What messaging does when the orders app tells it something (`orders.signals`).

Receivers run inside the sender's transaction: the mails and webhook events
they queue commit or roll back with the change.
"""

from __future__ import annotations

from typing import Any

from .services import notify
from .webhook_fanout import webhook_on_order_events


def mail_shipping_delayed(
    sender: type, *, order: Any, est_ship_date: str, memo: str, **kwargs: Any
) -> None:
    """Tell the buyer the order's new estimated ship date."""
    notify(
        recipient=order.buyer,
        kind="shipping_delayed",
        order=order,
        context={"est_ship_date": est_ship_date, "memo": memo},
    )


def mail_trade_completed(sender: type, *, order: Any, **kwargs: Any) -> None:
    """Tell the shop the trade is complete."""
    notify(shop=order.shop, kind="trade_completed", order=order)


def order_events_to_webhooks(sender: type, *, events: list[Any], **kwargs: Any) -> None:
    """Turn order-history lines into the webhook events they stand for."""
    webhook_on_order_events(events)
