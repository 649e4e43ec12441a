"""Which actions a buyer can take on an order now, and why not when they cannot.

Pure: it reads an order and its open claim and decides; the services still
guard every action themselves. The My page uses it to show each action as a
button or as a sentence saying why it is not open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from claimdesk.orders.models import Order, ShippingStatus

from . import policies
from .models import Claim, ClaimStatus

S = ClaimStatus
WITHDRAWABLE = {
    S.CANCEL_REQUESTED,
    S.RETURN_REQUESTED,
    S.RETURNING,
    S.EXCHANGE_REQUESTED,
    S.EXCHANGE_APPROVED,
    S.NON_RECEIPT_REPORTED,
}


@dataclass(frozen=True)
class BuyerAction:
    name: str
    label: Promise
    allowed: bool
    why_not: Promise | str = ""


def buyer_actions(
    order: Order, open_claim: Claim | None, *, now: dt.datetime, window_days: int
) -> list[BuyerAction]:
    """Return every buyer action with whether it is open now and, if not, why."""
    today = now.date()
    closed = policies.order_closed(order)
    busy = open_claim is not None
    busy_why = _(
        "There is already an open request on this order; withdraw it or wait for the shop."
    )
    closed_why = _("This order is cancelled or returned.")

    def gate(name: str, label: Promise, ok: bool, why: Promise | str) -> BuyerAction:
        if closed:
            return BuyerAction(name, label, False, closed_why)
        if busy and name not in ("withdraw", "confirm_receipt"):
            return BuyerAction(name, label, False, busy_why)
        return BuyerAction(name, label, ok, "" if ok else why)

    instant = policies.buyer_may_cancel_instantly(order, today)
    request = policies.buyer_must_request_cancel(order, today)
    shipped = policies.after_shipment(order)
    window = policies.return_window_open(order, now, window_days)
    actions = [
        gate(
            "cancel_now",
            _("Cancel now"),
            instant,
            _("The seller has set a ship date: ask for cancellation instead.")
            if request
            else _("The order has been shipped: request a return after it arrives."),
        ),
        gate(
            "request_cancel",
            _("Request cancellation"),
            request,
            _("You can cancel this order at once; no request is needed.")
            if instant
            else _("The order has been shipped: request a return after it arrives."),
        ),
        gate(
            "return",
            _("Return or exchange"),
            shipped and window,
            _("The return period after delivery has ended; contact the shop by note.")
            if shipped
            else _("Returns open once the order has been shipped."),
        ),
        gate(
            "non_receipt",
            _("Report not received"),
            shipped,
            _("The order has not been shipped yet."),
        ),
    ]
    withdraw_ok = open_claim is not None and open_claim.status in WITHDRAWABLE
    actions.append(
        BuyerAction(
            "withdraw",
            _("Withdraw my request"),
            withdraw_ok,
            "" if withdraw_ok else _("There is no request of yours that can still be withdrawn."),
        )
    )
    redelivering = open_claim is not None and open_claim.status == S.REDELIVERING
    receipt_ok = not closed and (
        order.shipping_status == ShippingStatus.ON_DELIVERY
        or (
            order.shipping_status == ShippingStatus.DELIVERED
            and order.completed_at is None
            and not busy
        )
        or redelivering
    )
    actions.append(
        BuyerAction(
            "confirm_receipt",
            _("Confirm receipt"),
            receipt_ok,
            "" if receipt_ok else _("There is nothing to confirm yet."),
        )
    )
    return actions
