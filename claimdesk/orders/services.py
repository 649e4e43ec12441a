"""Shipping actions on orders (SPEC section 3, first rows)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise

from claimdesk.accounts.roles import require_party, require_role
from claimdesk.core.compiled import CompiledRead
from claimdesk.core.errors import DomainError, InvalidInput
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.validation import clean_memo, clean_short, parse_date

from .history import record_event
from .models import DelayType, Order, ShippingStatus
from .signals import order_delayed, order_shipped, trade_completed

if TYPE_CHECKING:
    from claimdesk.accounts.models import User


def lock_order(
    order: Order,
    *,
    related: tuple[str, ...] = ("cart", "shop", "buyer"),
    only: tuple[str, ...] = (),
) -> Order:
    """Return `order` re-read under a row lock. Call inside a transaction.

    `related`: the rows read along with it (an action that never touches the
    shop row saves reading it). `only`: the columns to read (`QuerySet.only`
    names, `cart__paid_at` for a related row's); every column when empty. A
    column left out costs a query of its own when the action touches it.
    """
    return _lock_read(related, only).get(pk=order.pk)


@functools.cache
def _lock_read(related: tuple[str, ...], only: tuple[str, ...]) -> CompiledRead[Order]:
    """The locking read of `lock_order` for these related rows and columns, compiled once."""

    def build(pk: int) -> QuerySet[Order]:
        locked = Order.objects.select_for_update(of=("self",))
        if related:  # select_related() with no names would follow every relation
            locked = locked.select_related(*related)
        return (locked.only(*only) if only else locked).filter(pk=pk)

    return CompiledRead(build, "pk")


def _status_error(order: Order, action: str | Promise) -> DomainError:
    status = ShippingStatus(order.shipping_status).label
    if order.is_cancelled:
        return DomainError(
            "order_cancelled",
            _("Order %(order_no)s is cancelled; it can no longer be %(action)s.")
            % {"order_no": order.order_no, "action": action},
        )
    return DomainError(
        "wrong_shipping_status",
        _(
            "Order %(order_no)s is “%(status)s”, so it cannot be %(action)s now. "
            "Reload the order to see the actions open to it."
        )
        % {"order_no": order.order_no, "status": status, "action": action},
        {"shipping_status": order.shipping_status},
    )


def set_shipping_status(
    order: Order,
    to: int,
    *,
    actor: User | None,
    kind: str,
    memo: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    old = order.shipping_status
    order.shipping_status = to
    order.version += 1
    record_event(
        order,
        actor=actor,
        kind=kind,
        field="shipping_status",
        from_value=old,
        to_value=to,
        memo=memo,
        data=data,
    )


def _require_seller_of(actor: User | None, order: Order) -> None:
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    require_role(actor, "seller")


def _require_no_open_claim_except_cancel_request(order: Order, action: str | Promise) -> None:
    claim = order.claims.filter(is_open=True).first()
    if claim is not None and claim.status != 1:
        raise DomainError(
            "claim_open",
            _(
                "Order %(order_no)s has an open claim (%(status)s); settle it before it can be %(action)s."
            )
            % {"order_no": order.order_no, "status": claim.get_status_display(), "action": action},
        )


#: How far ahead an estimated ship date may be set (the QAPI's limit too).
MAX_EST_SHIP_DAYS = 90


def _refuse_far_ship_date(day: dt.date) -> None:
    last = timezone.localdate() + dt.timedelta(days=MAX_EST_SHIP_DAYS)
    if day > last:
        raise InvalidInput(
            "date_too_far",
            _(
                "The estimated ship date may be at most %(days)s days ahead (until %(last)s). "
                "Choose an earlier date, and register a delay later if needed."
            )
            % {"days": MAX_EST_SHIP_DAYS, "last": last.isoformat()},
            {"field": "est_ship_date", "max": last.isoformat()},
        )


def order_confirm(*, actor: User, order: Order, est_ship_date: dt.date | str) -> Order:
    """Confirm a new order and set its estimated ship date (2 → 3)."""
    _require_seller_of(actor, order)
    day = parse_date(est_ship_date, field="est_ship_date")
    with transaction.atomic():
        order = lock_order(order)
        if order.is_cancelled or order.shipping_status != ShippingStatus.REQUESTED:
            raise _status_error(order, _("confirmed"))
        _require_no_open_claim_except_cancel_request(order, _("confirmed"))
        if day < timezone.localdate():
            raise InvalidInput("date_in_past", _("The estimated ship date cannot be in the past."))
        _refuse_far_ship_date(day)
        order.est_ship_date = day
        set_shipping_status(
            order,
            ShippingStatus.CONFIRMED,
            actor=actor,
            kind="order.confirmed",
            data={"est_ship_date": day.isoformat()},
        )
        order.save()
    return order


def order_register_delay(
    *, actor: User, order: Order, est_ship_date: dt.date | str, delay_type: int, memo: str = ""
) -> Order:
    """Register a shipping delay: new date, type 1-4 and memo (2 or 3 → 3, delayed)."""
    _require_seller_of(actor, order)
    day = parse_date(est_ship_date, field="est_ship_date")
    if delay_type not in DelayType.values:
        raise InvalidInput("delay_type_invalid", _("Choose a delay type from 1 to 4."))
    text = clean_memo(memo, required=delay_type == DelayType.OTHER, field="delay_memo")
    with transaction.atomic():
        order = lock_order(order)
        if order.is_cancelled or order.shipping_status not in (
            ShippingStatus.REQUESTED,
            ShippingStatus.CONFIRMED,
        ):
            raise _status_error(order, _("delayed"))
        _require_no_open_claim_except_cancel_request(order, _("delayed"))
        if day < timezone.localdate():
            raise InvalidInput(
                "date_in_past", _("The new estimated ship date cannot be in the past.")
            )
        _refuse_far_ship_date(day)
        order.est_ship_date = day
        order.delay_type = delay_type
        order.delay_memo = text
        if order.shipping_status != ShippingStatus.CONFIRMED:
            set_shipping_status(
                order,
                ShippingStatus.CONFIRMED,
                actor=actor,
                kind="order.delayed",
                memo=text,
                data={"est_ship_date": day.isoformat(), "delay_type": delay_type},
            )
        else:
            order.version += 1
            record_event(
                order,
                actor=actor,
                kind="order.delayed",
                memo=text,
                data={"est_ship_date": day.isoformat(), "delay_type": delay_type},
            )
        order.save()
        order_delayed.send(sender=Order, order=order, est_ship_date=day.isoformat(), memo=text)
    return order


def order_ship(
    *,
    actor: User | None,
    order: Order,
    carrier: str,
    tracking_no: str,
    shipped_at: dt.datetime | None = None,
) -> Order:
    """Ship an order with carrier and tracking number (3, or 2 → 4).

    Shipping an order with a buyer's cancel request declines the request.
    """
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    require_role(actor, "seller", "system")  # system: the marketplace's own logistics
    carrier = clean_short(carrier, field="carrier")
    tracking_no = clean_short(tracking_no, field="tracking_no")
    with transaction.atomic():
        order = lock_order(order)
        if order.is_cancelled or order.shipping_status not in (
            ShippingStatus.REQUESTED,
            ShippingStatus.CONFIRMED,
        ):
            raise _status_error(order, _("shipped"))
        _require_no_open_claim_except_cancel_request(order, _("shipped"))
        order.carrier = carrier
        order.tracking_no = tracking_no
        order.shipped_at = shipped_at or timezone.now()
        set_shipping_status(
            order,
            ShippingStatus.ON_DELIVERY,
            actor=actor,
            kind="order.shipped",
            data={"carrier": carrier, "tracking_no": tracking_no},
        )
        order.save()
        order_shipped.send(sender=Order, order=order, actor=actor)
    return order


def order_mark_delivered(
    *, actor: User | None, order: Order, delivered_at: dt.datetime | None = None
) -> Order:
    """Record delivery (4 → 5) from the carrier feed, an operator or the buyer."""
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    require_role(actor, "buyer", "operator", "system")
    with transaction.atomic():
        order = lock_order(order)
        if order.is_cancelled or order.shipping_status != ShippingStatus.ON_DELIVERY:
            raise _status_error(order, _("marked delivered"))
        order.delivered_at = delivered_at or timezone.now()
        set_shipping_status(order, ShippingStatus.DELIVERED, actor=actor, kind="order.delivered")
        order.save()
    return order


def order_complete_trade(*, actor: User | None, order: Order) -> Order:
    """Complete the trade of a delivered order (buyer, or the timer N days after delivery)."""
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    require_role(actor, "buyer", "operator", "system")
    with transaction.atomic():
        order = lock_order(order)
        if (
            order.is_cancelled
            or order.returned_at
            or order.shipping_status != ShippingStatus.DELIVERED
        ):
            raise _status_error(order, _("completed"))
        if order.completed_at is not None:
            raise DomainError("already_completed", _("This trade is already complete."))
        if order.claims.filter(is_open=True).exists():
            raise DomainError(
                "claim_open",
                _("Order %(order_no)s has an open claim; the trade completes after it is settled.")
                % {"order_no": order.order_no},
            )
        order.completed_at = timezone.now()
        order.version += 1
        record_event(
            order,
            actor=actor,
            kind="order.completed",
            field="completed",
            from_value="",
            to_value="1",
        )
        order.save()
        trade_completed.send(sender=Order, order=order)
    return order
