"""The parts every claim action shares: locking, the guards, opening a claim,
marking the order, the refund and telling the buyer.

Every service locks the order row first, so that two people acting on the
same order at the same moment are served one after the other; the second one
then sees the first one's result and is refused with a clear message.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from claimdesk.accounts.models import ShopAddress
from claimdesk.core.bulk import insert_row, update_row
from claimdesk.core.errors import DomainError, InvalidInput
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.money import Money
from claimdesk.messaging.models import Note, NoteCategory, WebhookEndpoint
from claimdesk.messaging.services import notify
from claimdesk.orders.history import record_event
from claimdesk.orders.models import Cart, Order, ShippingStatus
from claimdesk.orders.services import lock_order
from claimdesk.payments.models import Refund

from . import policies
from .models import Claim, ClaimStatus
from .policies import refund_breakdown
from .reasons import Reason, get_reason
from .refunds import RefundTotals, refund_create, refund_totals
from .states import record_opened

if TYPE_CHECKING:
    from claimdesk.accounts.models import Shop, User

S = ClaimStatus


def _order_of(**kwargs: Any) -> Order | None:
    if isinstance(kwargs.get("order"), Order):
        return kwargs["order"]
    claim = kwargs.get("claim")
    return claim.order if isinstance(claim, Claim) else None


def _lock_claim(claim: Claim) -> Claim:
    """Lock the claim's order, then re-read the claim. Call inside a transaction."""
    order = lock_order(claim.order)
    locked = Claim.objects.select_related("shop", "buyer").get(pk=claim.pk)
    locked.order = order
    return locked


def _open_claim(order: Order) -> Claim | None:
    return Claim.objects.open_for(order).first()


def _refuse_open_claim(order: Order, facts: _CancelFacts | None = None) -> None:
    if facts is None:
        claim = _open_claim(order)
        open_claim = None if claim is None else (claim.pk, claim.status)
    else:
        open_claim = facts.open_claim
    if open_claim is not None:
        pk, status = open_claim
        raise DomainError(
            "claim_open",
            _(
                "Order %(order_no)s already has an open claim (%(status)s). Settle or withdraw it first."
            )
            % {"order_no": order.order_no, "status": str(S(status).label)},
            {"claim": pk, "status": status},
        )


def _refuse_closed_or_claimed(order: Order, facts: _CancelFacts | None = None) -> None:
    """Refuse a new claim on a cancelled or returned order, or one with an open claim."""
    if policies.order_closed(order):
        raise _order_status_error(
            order,
            _("Order %(order_no)s is already cancelled or returned.")
            % {"order_no": order.order_no},
            "order_closed",
        )
    _refuse_open_claim(order, facts)


@dataclass(frozen=True)
class _CancelFacts:
    """What a cancel decides on besides the order row, read in one statement."""

    open_claim: tuple[int, int] | None  #: (pk, status) of the order's open claim
    noticed: bool  #: `seller_sent_cancel_notice(order)`
    live_orders_left: int  #: `_live_orders_left(order)`
    refunded_minor: int  #: `refunded_item_minor(order)`
    webhooks: bool  #: whether the shop has an active webhook endpoint


@functools.cache
def _cancel_facts_sql() -> str:
    # Plain SQL on purpose: this is every cancel's one read besides the lock, and the ORM
    # spends longer building it from subqueries than the database spends answering it.
    # tests/test_cancel_cost.py checks it against the ORM helpers it stands for.
    claim = Claim._meta.db_table
    note = Note._meta.db_table
    order = Order._meta.db_table
    refund = Refund._meta.db_table
    endpoint = WebhookEndpoint._meta.db_table
    return f"""
        SELECT
          (SELECT id FROM {claim} WHERE order_id = %(order)s AND is_open LIMIT 1),
          (SELECT status FROM {claim} WHERE order_id = %(order)s AND is_open LIMIT 1),
          EXISTS (SELECT 1 FROM {note} WHERE order_id = %(order)s AND author_role = 'seller'
                  AND recipient_role = 'buyer' AND category = %(category)s),
          (SELECT COUNT(*) FROM {order} WHERE cart_id = %(cart)s AND id <> %(order)s
                  AND cancelled_at IS NULL AND returned_at IS NULL),
          (SELECT COALESCE(SUM(item_minor), 0) FROM {refund} WHERE order_id = %(order)s),
          EXISTS (SELECT 1 FROM {endpoint} WHERE shop_id = %(shop)s AND is_active)
    """  # noqa: S608 - table names from the models, values as parameters


def _cancel_facts(order: Order) -> _CancelFacts:
    """Read the open claim, the cancel notice, the cart's other live orders, the refunds
    and whether the shop has webhooks: one statement instead of five.

    Call it after `lock_order`, not inside the locking query, whose subqueries
    would see the rows as they were before the lock was granted.
    """
    params: dict[str, int | str | None] = {
        "order": order.pk,
        "cart": order.cart_id,
        "shop": order.shop_id,
        "category": NoteCategory.CANCEL_REFUND.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(_cancel_facts_sql(), params)
        claim_pk, claim_status, noticed, live_left, refunded, webhooks = cursor.fetchone()
    return _CancelFacts(
        open_claim=None if claim_pk is None else (claim_pk, claim_status),
        noticed=bool(noticed),
        live_orders_left=live_left,
        refunded_minor=int(refunded),  # PostgreSQL sums a bigint as a numeric
        webhooks=bool(webhooks),
    )


def _reason(kind: str, code: str, picker: str) -> Reason:
    reason = get_reason(kind, code)
    if reason is None:
        raise InvalidInput(
            "reason_unknown", _("Unknown reason. Choose one from the list."), {"reason": code}
        )
    if picker not in reason.pickers:
        raise DomainError(
            "reason_not_allowed",
            _("“%(reason)s” cannot be chosen here. Choose one of the reasons offered.")
            % {"reason": reason.label},
            {"reason": code, "picker": picker},
        )
    return reason


def _system_reason(kind: str, code: str) -> Reason:
    reason = get_reason(kind, code)
    if reason is None:  # the reason table is code: a missing row is a programming error
        raise LookupError(code)
    return reason


def _create_claim(
    order: Order,
    *,
    actor: User | None,
    type: str,
    status: int,
    reason: Reason,
    requested_by: str,
    open_claim_checked: bool = False,
    **fields: Any,
) -> Claim:
    """Insert a claim on the locked `order` and write its history line.

    `open_claim_checked`: the caller has just refused an open claim under the
    order lock (`_refuse_closed_or_claimed`), so it is not read again; the
    partial unique index still refuses a second open claim.
    """
    if not open_claim_checked:
        _refuse_open_claim(order)
    try:
        # no savepoint: an IntegrityError becomes a refusal that rolls back the
        # service's whole transaction (or its savepoint when nested) anyway
        with transaction.atomic(savepoint=False):
            claim = insert_row(
                Claim(
                    order=order,
                    shop_id=order.shop_id,
                    buyer_id=order.buyer_id,
                    ordered_at=order.ordered_at,
                    type=type,
                    status=status,
                    is_open=status not in {S.CANCEL_COMPLETED, S.UNPAID_CANCELLED},
                    reason_code=reason.code,
                    fault=reason.fault,
                    requested_by=requested_by,
                    completed_at=timezone.now()
                    if status in {S.CANCEL_COMPLETED, S.UNPAID_CANCELLED}
                    else None,
                    **fields,
                )
            )
    except IntegrityError as exc:  # a concurrent request opened one first
        raise DomainError(
            "claim_open",
            _("Order %(order_no)s already has an open claim. Reload the page to see it.")
            % {"order_no": order.order_no},
        ) from exc
    claim.order = order
    record_opened(
        claim,
        actor=actor,
        kind=f"claim.opened.{type}",
        memo=fields.get("buyer_memo")
        or fields.get("seller_memo")
        or fields.get("operator_memo", ""),
    )
    return claim


def _live_orders_left(order: Order) -> int:
    return (
        Order.objects.filter(
            cart_id=order.cart_id, cancelled_at__isnull=True, returned_at__isnull=True
        )
        .exclude(pk=order.pk)
        .count()
    )


def _mark_order(order: Order, field: str, *, actor: User | None, claim: Claim) -> None:
    now = timezone.now()
    if not update_row(Order, order.pk, {f"{field}_at": now, "version": order.version + 1}):
        raise DatabaseError("Save with update_fields did not affect any rows.")  # as save()
    setattr(order, f"{field}_at", now)
    order.version += 1
    record_event(
        order,
        actor=actor,
        claim=claim,
        kind=f"order.{field}",
        field=field,
        from_value="",
        to_value="1",
    )


def _refund_for(
    claim: Claim,
    *,
    actor: User | None,
    item: Money | None = None,
    include_shipping: bool | None = None,
    grant_payment_fee: bool = False,
    deduction: Money | None = None,
    facts: _CancelFacts | None = None,
) -> None:
    """Decide and record the refund of `claim` (nothing if the order was never paid).

    `facts`: read by `_cancel_facts` under this transaction's order lock, and
    `claim` created after that in this transaction (so it has no refund yet).
    """
    order = claim.order
    cart = order.cart
    if cart.paid_at is None:
        return
    currency = order.currency
    live = _live_orders_left(order) if facts is None else facts.live_orders_left
    if live:
        # Another order of the cart looked live. If it is being cancelled or returned
        # at this very moment, its transaction saw this order live too, and neither
        # would give back the cart's shipping fee. The cart's lock puts the two in
        # turn: whoever takes it second reads the first one's committed result.
        Cart.objects.select_for_update().filter(pk=order.cart_id).values_list("pk").get()
        live = _live_orders_left(order)
    last = live == 0
    shipping = (
        last and order.shipping_status < ShippingStatus.ON_DELIVERY
        if include_shipping is None
        else (last and include_shipping)
    )
    # a full refund gives back what is left after earlier partial refunds
    totals = (
        refund_totals(order, claim)
        if facts is None
        else RefundTotals(facts.refunded_minor, claim_refunded=False)
    )
    remaining = order.total - order.money(totals.refunded_minor)
    breakdown = refund_breakdown(
        item=item if item is not None else remaining,
        shipping_fee=cart.shipping_fee,
        include_shipping=shipping,
        payment_fee=cart.payment_fee,
        include_payment_fee=last and (item is None or item == order.total),
        fault=claim.fault,
        grant_payment_fee=grant_payment_fee,
        deduction=deduction or Money.zero(currency),
    )
    refund_create(actor=actor, claim=claim, breakdown=breakdown, totals=totals)


def _default_return_address(shop: Shop) -> ShopAddress:
    address = ShopAddress.objects.filter(shop=shop, is_default_return=True).first()
    if address is None:
        raise DomainError(
            "return_address_missing",
            _(
                "Your shop has no default return/exchange address. Add one in Settings › Address book, "
                "then try again."
            ),
            {"settings": "address_book"},
        )
    return address


def _address_snapshot(address: ShopAddress) -> dict[str, str]:
    return {
        "name": address.name,
        "zip_code": address.zip_code,
        "address_front": address.address_front,
        "address_back": address.address_back,
        "phone": address.phone,
    }


def _order_status_error(
    order: Order, message: Any, code: str = "wrong_shipping_status"
) -> DomainError:
    return DomainError(
        code,
        message,
        {"shipping_status": order.shipping_status, "cancelled": order.cancelled_at is not None},
    )


def _tell_buyer(claim: Claim, *, kind: str = "claim_status_changed", **extra: Any) -> None:
    """Tell the buyer that `claim` changed, with the latest memo (or `extra` context)."""
    notify(
        recipient=claim.order.buyer,
        kind=kind,
        order=claim.order,
        claim=claim,
        context={"memo": claim.seller_memo or claim.buyer_memo, **extra},
    )


def _tell_shop(claim: Claim, *, kind: str, memo: str) -> None:
    """Tell the shop's staff that `claim` changed (`kind`), with `memo`."""
    notify(
        shop=claim.order.shop,
        kind=kind,
        order=claim.order,
        claim=claim,
        context={"memo": memo},
    )
