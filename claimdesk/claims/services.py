"""One service per claim action of SPEC section 3, each with exactly its guard.

Every service locks the order row first, so that two people acting on the
same order at the same moment are served one after the other; the second one
then sees the first one's result and is refused with a clear message.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from claimdesk.accounts.models import ShopAddress
from claimdesk.accounts.roles import require_party, require_role, role_of
from claimdesk.core.conf import setting
from claimdesk.core.errors import DomainError, InvalidInput
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.money import Money
from claimdesk.core.validation import clean_memo, clean_short, parse_date
from claimdesk.messaging.models import Note, NoteCategory, WebhookEndpoint
from claimdesk.messaging.services import note_send, notify
from claimdesk.orders.history import history_batch, record_event, records_refusal
from claimdesk.orders.models import Cart, Order, ShippingStatus
from claimdesk.orders.services import lock_order, order_ship
from claimdesk.payments.models import Refund

from . import policies
from .models import Claim, ClaimStatus, ClaimType, NonReceiptDuty, NonReceiptSolution, PickupMethod
from .policies import refund_breakdown, return_shipping_deduction_allowed
from .reasons import Fault, Picker, Reason, ReasonKind, get_reason
from .refunds import RefundTotals, refund_create, refund_totals
from .states import record_opened, transition

if TYPE_CHECKING:
    from claimdesk.accounts.models import Shop, User

S = ClaimStatus


# --- helpers -----------------------------------------------------------------


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
    return Claim.objects.filter(order=order, is_open=True).first()


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
            claim = Claim.objects.create(
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
    setattr(order, f"{field}_at", now)
    order.version += 1
    order.save(update_fields=[f"{field}_at", "version"])
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


def _claim_context(claim: Claim, **extra: Any) -> dict[str, Any]:
    return {"memo": claim.seller_memo or claim.buyer_memo, **extra}


# --- cancellation --------------------------------------------------------------


@records_refusal("claim.cancel_instantly", _order_of)
def claim_cancel_instantly(*, actor: User, order: Order, reason: str, memo: str = "") -> Claim:
    """Let the buyer cancel an unpaid, new or delayed order at once, money back at once."""
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    require_role(actor, "buyer")
    memo = clean_memo(memo, field="memo")
    with transaction.atomic():
        order = lock_order(order)
        _refuse_closed_or_claimed(order)
        today = timezone.localdate()
        if not policies.buyer_may_cancel_instantly(order, today):
            if policies.buyer_must_request_cancel(order, today):
                raise _order_status_error(
                    order,
                    _(
                        "The seller has set a ship date for order %(order_no)s: ask for cancellation instead."
                    )
                    % {"order_no": order.order_no},
                    "cancel_request_needed",
                )
            raise _order_status_error(
                order,
                _(
                    "Order %(order_no)s can no longer be cancelled. After it arrives you can request a return."
                )
                % {"order_no": order.order_no},
            )
        delayed = order.is_delayed(today)
        picker = (
            Picker.BUYER_WHEN_DELAYED if delayed and reason == "SHIPPING_DELAY" else Picker.BUYER
        )
        why = _reason(ReasonKind.CANCEL, reason, picker)
        unpaid = order.cart.paid_at is None
        claim = _create_claim(
            order,
            actor=actor,
            type=ClaimType.CANCEL,
            status=S.CANCEL_COMPLETED if unpaid else S.CANCELLING,
            reason=why,
            requested_by="buyer",
            buyer_memo=memo,
        )
        _mark_order(order, "cancelled", actor=actor, claim=claim)
        _refund_for(claim, actor=actor)
        if delayed:
            notify(shop=order.shop, kind="buyer_cancelled_delayed", order=order, claim=claim)
    return claim


@records_refusal("claim.request_cancel", _order_of)
def claim_request_cancel(*, actor: User, order: Order, reason: str, memo: str = "") -> Claim:
    """Let the buyer ask the seller to cancel a confirmed order (claim 1; mails the seller)."""
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    require_role(actor, "buyer")
    memo = clean_memo(memo, field="memo")
    with transaction.atomic():
        order = lock_order(order)
        _refuse_closed_or_claimed(order)
        today = timezone.localdate()
        if not policies.buyer_must_request_cancel(order, today):
            if policies.buyer_may_cancel_instantly(order, today):
                raise _order_status_error(
                    order,
                    _("Order %(order_no)s can be cancelled at once; no request is needed.")
                    % {"order_no": order.order_no},
                    "cancel_instantly_possible",
                )
            raise _order_status_error(
                order,
                _(
                    "Order %(order_no)s can no longer be cancelled. After it arrives you can request a return."
                )
                % {"order_no": order.order_no},
            )
        why = _reason(ReasonKind.CANCEL, reason, Picker.BUYER)
        claim = _create_claim(
            order,
            actor=actor,
            type=ClaimType.CANCEL,
            status=S.CANCEL_REQUESTED,
            reason=why,
            requested_by="buyer",
            buyer_memo=memo,
        )
        notify(
            shop=order.shop,
            kind="cancel_requested",
            order=order,
            claim=claim,
            context={"memo": memo},
        )
    return claim


@records_refusal("claim.approve_cancel", _order_of)
def claim_approve_cancel(
    *, actor: User, claim: Claim, seller_memo: str = "", grant_payment_fee: bool = False
) -> Claim:
    """Approve the buyer's cancel request (取消处理): cancel and refund."""
    require_party(actor, shop_id=claim.shop_id, buyer_id=claim.buyer_id)
    memo = clean_memo(seller_memo, field="seller_memo")
    # its own batch: inside a bulk job's batch, a refusal here takes its lines with it
    with transaction.atomic(), history_batch():
        claim = _lock_claim(claim)
        transition(
            claim, "approve_cancel", S.CANCELLING, actor=actor, reason="CUSTOMER_REQUEST", memo=memo
        )
        claim.reason_code = "CUSTOMER_REQUEST"
        claim.fault = Fault.BUYER
        claim.seller_memo = memo
        claim.grant_payment_fee = grant_payment_fee
        claim.save(update_fields=["reason_code", "fault", "seller_memo", "grant_payment_fee"])
        _mark_order(claim.order, "cancelled", actor=actor, claim=claim)
        _refund_for(claim, actor=actor, grant_payment_fee=grant_payment_fee)
        claim.refresh_from_db()
        notify(
            recipient=claim.order.buyer,
            kind="order_cancelled",
            order=claim.order,
            claim=claim,
            context=_claim_context(claim, seller_memo=memo),
        )
    return claim


def seller_sent_cancel_notice(order: Order) -> bool:
    """Return whether the seller sent the buyer a キャンセル/払い戻し note about `order`."""
    return Note.objects.filter(
        order=order,
        author_role="seller",
        recipient_role="buyer",
        category=NoteCategory.CANCEL_REFUND,
    ).exists()


@records_refusal("claim.seller_cancel", _order_of)
def claim_seller_cancel(
    *,
    actor: User,
    order: Order,
    reason: str,
    seller_memo: str = "",
    confirm_without_notice: bool = False,
    grant_payment_fee: bool = False,
) -> Claim:
    """Cancel before shipment for a seller reason (无库存 / 运送延期 / 不可进行运送的地区).

    客户要求 is accepted only when the buyer asked to cancel; it then approves
    that request. Without a prior cancel note to the buyer the seller must
    confirm, and the cancel counts as "cancelled without notice".
    """
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    require_role(actor, "seller")
    memo = clean_memo(seller_memo, field="seller_memo")
    if reason == "CUSTOMER_REQUEST":
        request = Claim.objects.filter(order=order, is_open=True, status=S.CANCEL_REQUESTED).first()
        if request is None:
            raise DomainError(
                "customer_request_without_request",
                _(
                    "“Customer request” is only for orders whose buyer asked to cancel. "
                    "Choose out of stock, shipping delay or undeliverable region, or ask the buyer to request it."
                ),
            )
        return claim_approve_cancel(
            actor=actor, claim=request, seller_memo=memo, grant_payment_fee=grant_payment_fee
        )
    why = _reason(ReasonKind.CANCEL, reason, Picker.SELLER)
    with transaction.atomic(), history_batch() as history:
        order = lock_order(order, related=("cart", "buyer"))  # the shop row is not needed
        facts = _cancel_facts(order)
        if not facts.webhooks:
            history.shops_without_webhooks.add(order.shop_id)
        _refuse_closed_or_claimed(order, facts)
        if not policies.seller_may_cancel(order):
            if policies.after_shipment(order):
                raise _order_status_error(
                    order,
                    _(
                        "Order %(order_no)s has been shipped: handle it as a return (退货/退款) instead."
                    )
                    % {"order_no": order.order_no},
                    "shipped_use_return",
                )
            raise _order_status_error(
                order,
                _("Order %(order_no)s cannot be cancelled by the shop in its current status.")
                % {"order_no": order.order_no},
            )
        noticed = facts.noticed
        if not noticed and not confirm_without_notice:
            raise DomainError(
                "notice_not_sent",
                _(
                    "You have not sent the buyer a cancel note for this order. Cancelling without "
                    "telling the buyer may hurt your shop's rating. Send a note first, or confirm."
                ),
                {"needs_confirmation": True},
            )
        claim = _create_claim(
            order,
            actor=actor,
            type=ClaimType.CANCEL,
            status=S.CANCELLING,
            reason=why,
            requested_by="seller",
            open_claim_checked=True,  # by _refuse_closed_or_claimed, under the order lock
            seller_memo=memo,
            grant_payment_fee=grant_payment_fee,
            cancelled_without_notice=not noticed,
        )
        _mark_order(order, "cancelled", actor=actor, claim=claim)
        _refund_for(claim, actor=actor, grant_payment_fee=grant_payment_fee, facts=facts)
        notify(
            recipient=order.buyer,
            kind="order_cancelled",
            order=order,
            claim=claim,
            context=_claim_context(claim, seller_memo=memo),
        )
    return claim


def claim_reject_by_shipping(*, actor: User | None, order: Order) -> Claim | None:
    """Close the buyer's cancel request because the seller shipped the order.

    Runs on `orders.signals.order_shipped`, inside `order_ship`'s transaction;
    the only way to decline.
    """
    claim = Claim.objects.filter(order=order, is_open=True, status=S.CANCEL_REQUESTED).first()
    if claim is None:
        return None
    claim.order = order
    transition(
        claim,
        "reject_by_shipping",
        S.REJECTED_SHIPPED,
        actor=actor,
        data={"carrier": order.carrier, "tracking_no": order.tracking_no},
    )
    notify(
        recipient=order.buyer,
        kind="cancel_request_rejected",
        order=order,
        claim=claim,
        context={"carrier": order.carrier, "tracking_no": order.tracking_no},
    )
    return claim


def claim_decline_cancel(*, actor: User, claim: Claim, carrier: str, tracking_no: str) -> Claim:
    """Decline a cancel request the only way there is: ship the order."""
    order_ship(actor=actor, order=claim.order, carrier=carrier, tracking_no=tracking_no)
    claim.refresh_from_db()
    return claim


@records_refusal("claim.withdraw", _order_of)
def claim_withdraw(*, actor: User, claim: Claim, memo: str = "") -> Claim:
    """Let the buyer withdraw their own open request; the order goes on as before."""
    require_party(actor, shop_id=claim.shop_id, buyer_id=claim.buyer_id)
    memo = clean_memo(memo, field="memo")
    with transaction.atomic():
        claim = _lock_claim(claim)
        transition(claim, "withdraw", S.WITHDRAWN, actor=actor, memo=memo)
        notify(
            shop=claim.order.shop,
            kind="claim_withdrawn",
            order=claim.order,
            claim=claim,
            context={"memo": memo},
        )
    return claim


@records_refusal("claim.operator_withdraw", _order_of)
def claim_operator_withdraw(*, actor: User, claim: Claim, reason: str) -> Claim:
    """Withdraw a complaint (投诉撤回) on a seller's inquiry; both parties are told."""
    require_party(actor, shop_id=claim.shop_id, buyer_id=claim.buyer_id)
    text = clean_memo(reason, required=True, field="reason")
    with transaction.atomic():
        claim = _lock_claim(claim)
        transition(claim, "operator_withdraw", S.WITHDRAWN, actor=actor, memo=text)
        claim.operator_memo = text
        claim.save(update_fields=["operator_memo"])
        notify(
            shop=claim.order.shop,
            kind="claim_withdrawn",
            order=claim.order,
            claim=claim,
            context={"memo": text},
        )
        notify(
            recipient=claim.order.buyer,
            kind="claim_withdrawn",
            order=claim.order,
            claim=claim,
            context={"memo": text},
        )
    return claim


@records_refusal("claim.operator_cancel", _order_of)
def claim_operator_cancel(*, actor: User, order: Order, reason: str, memo: str) -> Claim:
    """Cancel and refund in full on the buyer's behalf (订单取消·退款(全额))."""
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    require_role(actor, "operator")
    text = clean_memo(memo, required=True, field="memo")
    why = _reason(ReasonKind.CANCEL, reason, Picker.OPERATOR)
    with transaction.atomic():
        order = lock_order(order)
        if not policies.operator_may_cancel(order):
            raise _order_status_error(
                order,
                _("Order %(order_no)s is already cancelled or returned.")
                % {"order_no": order.order_no},
                "order_closed",
            )
        open_claim = _open_claim(order)
        if open_claim is not None:
            if open_claim.status == S.CANCELLING:
                raise DomainError(
                    "claim_open",
                    _("This order is already being cancelled; its refund is under way."),
                )
            open_claim.order = order
            transition(
                open_claim,
                "operator_withdraw",
                S.WITHDRAWN,
                actor=actor,
                memo=text,
                data={"superseded_by": "operator_cancel"},
            )
        claim = _create_claim(
            order,
            actor=actor,
            type=ClaimType.CANCEL,
            status=S.CANCELLING if order.cart.paid_at else S.CANCEL_COMPLETED,
            reason=why,
            requested_by="operator",
            operator_memo=text,
            grant_payment_fee=True,
        )
        _mark_order(order, "cancelled", actor=actor, claim=claim)
        _refund_for(claim, actor=actor, include_shipping=True, grant_payment_fee=True)
        notify(
            recipient=order.buyer,
            kind="order_cancelled",
            order=order,
            claim=claim,
            context={"memo": text},
        )
        notify(
            shop=order.shop,
            kind="claim_status_changed",
            order=order,
            claim=claim,
            context={"memo": text},
        )
    return claim


def claim_cancel_unpaid(*, order: Order, failed: bool = False) -> Claim | None:
    """Cancel an order whose payment did not arrive by the deadline (claim 16).

    `failed`: the marketplace reported the payment failed, so the deadline
    need not pass first.
    """
    reason = _system_reason(ReasonKind.CANCEL, "UNPAID")
    with transaction.atomic():
        order = lock_order(order)
        cart = order.cart
        if (
            order.shipping_status != ShippingStatus.AWAITING_PAYMENT
            or policies.order_closed(order)
            or cart.paid_at is not None
            or (
                not failed
                and (cart.payment_deadline is None or cart.payment_deadline > timezone.now())
            )
        ):
            return None
        if _open_claim(order) is not None:
            return None
        claim = _create_claim(
            order,
            actor=None,
            type=ClaimType.UNPAID_CANCEL,
            status=S.UNPAID_CANCELLED,
            reason=reason,
            requested_by="system",
        )
        _mark_order(order, "cancelled", actor=None, claim=claim)
        notify(recipient=order.buyer, kind="unpaid_cancelled", order=order, claim=claim)
    return claim


# --- returns and exchanges -------------------------------------------------------


@records_refusal("claim.request_return", _order_of)
def claim_request_return(
    *,
    actor: User,
    order: Order,
    reason: str,
    memo: str = "",
    exchange: bool = False,
    photos: Sequence[File] = (),
) -> Claim:
    """Let the buyer request a return (4) or an exchange (11) within the return window.

    Photos (jpg, png, gif or pdf, 4 MB in all) go to the seller in the order's
    note thread, in the same transaction as the request.
    """
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    require_role(actor, "buyer")
    memo = clean_memo(memo, field="memo")
    why = _reason(ReasonKind.RETURN, reason, Picker.BUYER)
    with transaction.atomic():
        order = lock_order(order)
        _refuse_closed_or_claimed(order)
        if not policies.after_shipment(order):
            raise _order_status_error(
                order,
                _("Returns and exchanges open once order %(order_no)s has been shipped.")
                % {"order_no": order.order_no},
            )
        if not policies.return_window_open(order, timezone.now(), setting("RETURN_WINDOW_DAYS")):
            raise _order_status_error(
                order,
                _(
                    "The return period of %(days)s days after delivery has ended. Contact the shop by note."
                )
                % {"days": setting("RETURN_WINDOW_DAYS")},
                "return_window_closed",
            )
        claim = _create_claim(
            order,
            actor=actor,
            type=ClaimType.EXCHANGE if exchange else ClaimType.RETURN,
            status=S.EXCHANGE_REQUESTED if exchange else S.RETURN_REQUESTED,
            reason=why,
            requested_by="buyer",
            buyer_memo=memo,
        )
        if photos:
            note_send(
                actor=actor,
                order=order,
                category=NoteCategory.RETURN_EXCHANGE,
                title=str(claim.get_type_display()),
                body=memo or str(why.label),
                attachments=photos,
            )
        notify(
            shop=order.shop,
            kind="exchange_requested" if exchange else "return_requested",
            order=order,
            claim=claim,
            context={"memo": memo},
        )
    return claim


@records_refusal("claim.seller_start_return", _order_of)
def claim_seller_start_return(
    *,
    actor: User,
    order: Order,
    reason: str,
    seller_memo: str = "",
    pickup_method: str = PickupMethod.SELLER_COLLECTS,
    pickup_carrier: str = "",
    accept_now: bool = False,
    exchange: bool = False,
    attachments: Sequence[File] = (),
) -> Claim:
    """Start a return (or an exchange) for a shipped order for a seller-fault reason.

    Seed section 1, second half. An exchange needs the default return/exchange
    address; files go to the buyer in the order's note thread. All of it
    happens in one transaction or not at all.
    """
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    require_role(actor, "seller")
    memo = clean_memo(seller_memo, field="seller_memo")
    why = _reason(ReasonKind.RETURN, reason, Picker.SELLER)
    if pickup_method not in PickupMethod.values:
        raise InvalidInput("pickup_method_invalid", _("Choose how the goods come back."))
    with transaction.atomic():
        order = lock_order(order)
        _refuse_closed_or_claimed(order)
        if not policies.after_shipment(order):
            raise _order_status_error(
                order,
                _("Order %(order_no)s has not been shipped: cancel it instead (取消/换钱交易).")
                % {"order_no": order.order_no},
                "not_shipped_use_cancel",
            )
        address = {}
        if pickup_method == PickupMethod.SELLER_COLLECTS:
            address = _address_snapshot(_default_return_address(order.shop))
        claim = _create_claim(
            order,
            actor=actor,
            type=ClaimType.RETURN,
            status=S.RETURN_REQUESTED,
            reason=why,
            requested_by="seller",
            seller_memo=memo,
            pickup_method=pickup_method,
            pickup_carrier=pickup_carrier[:100],
            return_address=address,
        )
        if exchange:
            exchange_address = _default_return_address(order.shop)
            transition(claim, "convert_to_exchange", S.EXCHANGE_APPROVED, actor=actor, memo=memo)
            claim.type = ClaimType.EXCHANGE
            claim.return_address = _address_snapshot(exchange_address)
            claim.save()
        elif accept_now:
            transition(claim, "accept_return", S.RETURNING, actor=actor)
            claim.save()
        if attachments:
            note_send(
                actor=actor,
                order=order,
                category=NoteCategory.RETURN_EXCHANGE,
                title=str(claim.get_type_display()),
                body=memo or str(why.label),
                attachments=attachments,
            )
        notify(
            recipient=order.buyer,
            kind="claim_status_changed",
            order=order,
            claim=claim,
            context=_claim_context(claim),
        )
    return claim


@records_refusal("claim.accept_return", _order_of)
def claim_accept_return(
    *,
    actor: User,
    claim: Claim,
    pickup_method: str,
    pickup_carrier: str = "",
    seller_memo: str = "",
) -> Claim:
    """Accept and verify a return request (退货要求接受/验证): goods on their way back (5)."""
    require_party(actor, shop_id=claim.shop_id, buyer_id=claim.buyer_id)
    memo = clean_memo(seller_memo, field="seller_memo")
    if pickup_method not in PickupMethod.values:
        raise InvalidInput("pickup_method_invalid", _("Choose how the goods come back."))
    with transaction.atomic():
        claim = _lock_claim(claim)
        transition(
            claim,
            "accept_return",
            S.RETURNING,
            actor=actor,
            memo=memo,
            data={"pickup_method": pickup_method, "pickup_carrier": pickup_carrier},
        )
        if pickup_method == PickupMethod.SELLER_COLLECTS:
            claim.return_address = _address_snapshot(_default_return_address(claim.shop))
        claim.pickup_method = pickup_method
        claim.pickup_carrier = pickup_carrier[:100]
        if memo:
            claim.seller_memo = memo
        claim.save()
        notify(
            recipient=claim.order.buyer,
            kind="claim_status_changed",
            order=claim.order,
            claim=claim,
            context=_claim_context(claim),
        )
    return claim


@records_refusal("claim.complete_return", _order_of)
def claim_complete_return(
    *,
    actor: User,
    claim: Claim,
    goods_received: bool,
    confirmed: bool,
    return_shipping_deduction: int = 0,
    grant_payment_fee: bool = False,
    seller_memo: str = "",
) -> Claim:
    """Collected / full refund (回收完成/全额退款): complete the return (6) and refund.

    The seller answers the seed's two questions: were the goods received (or
    is no return needed), and is the return confirmed.
    """
    require_party(actor, shop_id=claim.shop_id, buyer_id=claim.buyer_id)
    memo = clean_memo(seller_memo, field="seller_memo")
    if not confirmed:
        raise InvalidInput("confirmation_required", _("Confirm the return request to complete it."))
    if not isinstance(return_shipping_deduction, int) or return_shipping_deduction < 0:
        raise InvalidInput(
            "deduction_invalid",
            _("The return shipping amount must be zero or more, in whole units."),
        )
    with transaction.atomic():
        claim = _lock_claim(claim)
        if return_shipping_deduction and not return_shipping_deduction_allowed(fault=claim.fault):
            raise InvalidInput(
                "deduction_not_allowed",
                _(
                    "The seller is responsible for this return, so return shipping cannot be deducted."
                ),
            )
        cap = setting("RETURN_SHIPPING_DEDUCTION_CAP_MINOR")
        if return_shipping_deduction > cap:
            raise InvalidInput(
                "deduction_too_large",
                _("At most %(cap)s may be deducted for return shipping.")
                % {"cap": claim.order.money(cap).format()},
            )
        transition(
            claim,
            "complete_return",
            S.RETURN_COMPLETED,
            actor=actor,
            memo=memo,
            data={"goods_received": goods_received, "deduction": return_shipping_deduction},
        )
        if not claim.pickup_method:
            claim.pickup_method = (
                PickupMethod.NOT_NEEDED if not goods_received else PickupMethod.BUYER_SENDS
            )
        claim.return_shipping_deduction_minor = return_shipping_deduction
        claim.grant_payment_fee = grant_payment_fee
        if memo:
            claim.seller_memo = memo
        claim.save()
        _mark_order(claim.order, "returned", actor=actor, claim=claim)
        _refund_for(
            claim,
            actor=actor,
            include_shipping=False,
            grant_payment_fee=grant_payment_fee,
            deduction=claim.order.money(return_shipping_deduction),
        )
        notify(
            recipient=claim.order.buyer,
            kind="claim_status_changed",
            order=claim.order,
            claim=claim,
            context=_claim_context(claim),
        )
    return claim


@records_refusal("claim.convert_to_exchange", _order_of)
def claim_convert_to_exchange(*, actor: User, claim: Claim, seller_memo: str = "") -> Claim:
    """Turn a return into an exchange (退货申请要求交换处理); needs the return address."""
    require_party(actor, shop_id=claim.shop_id, buyer_id=claim.buyer_id)
    memo = clean_memo(seller_memo, field="seller_memo")
    with transaction.atomic():
        claim = _lock_claim(claim)
        transition(claim, "convert_to_exchange", S.EXCHANGE_APPROVED, actor=actor, memo=memo)
        address = _default_return_address(claim.shop)
        claim.type = ClaimType.EXCHANGE
        claim.return_address = _address_snapshot(address)
        if memo:
            claim.seller_memo = memo
        claim.save()
        notify(
            recipient=claim.order.buyer,
            kind="claim_status_changed",
            order=claim.order,
            claim=claim,
            context=_claim_context(claim),
        )
    return claim


def exchange_address(
    *, name: str, zip_code: str, address_front: str, address_back: str = "", phone: str = ""
) -> dict[str, str]:
    """Return an address given for one exchange, checked as the address book checks it."""
    return {
        "name": clean_short(name, field="name"),
        "zip_code": clean_short(zip_code, field="zip_code", max_length=16),
        "address_front": clean_short(address_front, field="address", max_length=200),
        "address_back": clean_short(address_back, field="address", max_length=200, required=False),
        "phone": clean_short(phone, field="phone", max_length=32, required=False),
    }


@records_refusal("claim.approve_exchange", _order_of)
def claim_approve_exchange(
    *,
    actor: User,
    claim: Claim,
    seller_memo: str = "",
    return_address: dict[str, str] | None = None,
) -> Claim:
    """Approve an exchange request (11 → 12).

    The buyer sends the goods to `return_address` (from `exchange_address`) or,
    without one, to the shop's default return/exchange address, which must exist.
    """
    require_party(actor, shop_id=claim.shop_id, buyer_id=claim.buyer_id)
    memo = clean_memo(seller_memo, field="seller_memo")
    with transaction.atomic():
        claim = _lock_claim(claim)
        transition(claim, "approve_exchange", S.EXCHANGE_APPROVED, actor=actor, memo=memo)
        claim.return_address = return_address or _address_snapshot(
            _default_return_address(claim.shop)
        )
        if memo:
            claim.seller_memo = memo
        claim.save()
        notify(
            recipient=claim.order.buyer,
            kind="claim_status_changed",
            order=claim.order,
            claim=claim,
            context=_claim_context(claim),
        )
    return claim


@records_refusal("claim.redeliver", _order_of)
def claim_redeliver(
    *, actor: User, claim: Claim, redelivery_date: dt.date | str, carrier: str, tracking_no: str
) -> Claim:
    """Ship the replacement or re-delivery (12 or non-receipt → 13)."""
    require_party(actor, shop_id=claim.shop_id, buyer_id=claim.buyer_id)
    day = parse_date(redelivery_date, field="redelivery_date")
    carrier = clean_short(carrier, field="carrier")
    tracking_no = clean_short(tracking_no, field="tracking_no")
    with transaction.atomic():
        claim = _lock_claim(claim)
        transition(
            claim,
            "redeliver",
            S.REDELIVERING,
            actor=actor,
            data={"date": day.isoformat(), "carrier": carrier, "tracking_no": tracking_no},
        )
        claim.redelivery_date = day
        claim.redelivery_carrier = carrier
        claim.redelivery_tracking_no = tracking_no
        if claim.type == ClaimType.NON_RECEIPT:
            claim.non_receipt_solution = NonReceiptSolution.ND
        claim.save()
        notify(
            recipient=claim.order.buyer,
            kind="claim_status_changed",
            order=claim.order,
            claim=claim,
            context=_claim_context(claim, memo=f"{carrier} {tracking_no}"),
        )
    return claim


@records_refusal("claim.complete_redelivery", _order_of)
def claim_complete_redelivery(*, actor: User | None, claim: Claim) -> Claim:
    """Record that the replacement or re-delivery arrived (13 → completed)."""
    require_party(actor, shop_id=claim.shop_id, buyer_id=claim.buyer_id)
    with transaction.atomic():
        claim = _lock_claim(claim)
        transition(claim, "complete_redelivery", S.EXCHANGE_COMPLETED, actor=actor)
        notify(shop=claim.order.shop, kind="claim_status_changed", order=claim.order, claim=claim)
    return claim


# --- not received -----------------------------------------------------------------


@records_refusal("claim.report_non_receipt", _order_of)
def claim_report_non_receipt(
    *,
    actor: User,
    order: Order,
    duty: str = NonReceiptDuty.SC,
    missing_quantity: int | None = None,
    memo: str = "",
) -> Claim:
    """Let the buyer report a shipped order as not received (未收取举报)."""
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    require_role(actor, "buyer")
    memo = clean_memo(memo, field="memo")
    if duty not in NonReceiptDuty.values:
        raise InvalidInput(
            "duty_invalid", _("Say whether nothing arrived or part of the quantity is missing.")
        )
    with transaction.atomic():
        order = lock_order(order)
        _refuse_closed_or_claimed(order)
        if not policies.after_shipment(order):
            raise _order_status_error(
                order,
                _(
                    "Order %(order_no)s has not been shipped yet, so it cannot be reported as not received."
                )
                % {"order_no": order.order_no},
            )
        if duty == NonReceiptDuty.SL and not (
            missing_quantity and 0 < missing_quantity < order.quantity
        ):
            raise InvalidInput(
                "missing_quantity_invalid",
                _("Enter how many of the %(quantity)s items are missing.")
                % {"quantity": order.quantity},
            )
        reason = _system_reason(ReasonKind.RETURN, "DELIVERY_DELAY")
        claim = _create_claim(
            order,
            actor=actor,
            type=ClaimType.NON_RECEIPT,
            status=S.NON_RECEIPT_REPORTED,
            reason=reason,
            requested_by="buyer",
            buyer_memo=memo,
            non_receipt_duty=duty,
            missing_quantity=missing_quantity if duty == NonReceiptDuty.SL else None,
        )
        notify(
            shop=order.shop,
            kind="non_receipt_reported",
            order=order,
            claim=claim,
            context={"memo": memo},
        )
    return claim


@records_refusal("claim.refund_non_receipt", _order_of)
def claim_refund_non_receipt(
    *, actor: User, claim: Claim, amount_minor: int | None = None, seller_memo: str = ""
) -> Claim:
    """Answer a non-receipt report with a refund: in full (14) or in part (15)."""
    require_party(actor, shop_id=claim.shop_id, buyer_id=claim.buyer_id)
    memo = clean_memo(seller_memo, field="seller_memo")
    with transaction.atomic():
        claim = _lock_claim(claim)
        order = claim.order
        if (
            amount_minor is None
            and claim.non_receipt_duty == NonReceiptDuty.SL
            and claim.missing_quantity
        ):
            amount_minor = policies.partial_amount_for_quantity(
                order.total_minor, order.quantity, claim.missing_quantity
            )
        if amount_minor is not None and (
            isinstance(amount_minor, bool)
            or not isinstance(amount_minor, int)
            or not 0 < amount_minor <= order.total_minor
        ):
            raise InvalidInput(
                "amount_invalid",
                _("Enter an amount between 1 and %(total)s.") % {"total": order.total.format()},
            )
        full = amount_minor is None or amount_minor == order.total_minor
        to = S.NON_RECEIPT_REFUNDED if full else S.NON_RECEIPT_PARTIALLY_REFUNDED
        transition(
            claim, "refund_non_receipt", to, actor=actor, memo=memo, data={"amount": amount_minor}
        )
        claim.non_receipt_solution = NonReceiptSolution.NC
        if memo:
            claim.seller_memo = memo
        claim.save()
        if full:
            _mark_order(order, "returned", actor=actor, claim=claim)
            _refund_for(claim, actor=actor, include_shipping=True)
        else:
            _refund_for(
                claim, actor=actor, item=order.money(amount_minor or 0), include_shipping=False
            )
        notify(
            recipient=order.buyer,
            kind="claim_status_changed",
            order=order,
            claim=claim,
            context=_claim_context(claim),
        )
    return claim


# --- platform ----------------------------------------------------------------------


def claim_flag_overdue(*, claim: Claim) -> Claim:
    """Flag an open claim past its response time to the seller (timer)."""
    with transaction.atomic():
        claim = _lock_claim(claim)
        if not claim.is_open or claim.flagged_overdue_at:
            return claim
        claim.flagged_overdue_at = timezone.now()
        claim.save(update_fields=["flagged_overdue_at"])
        record_event(claim.order, actor=None, claim=claim, kind="claim.overdue")
        notify(shop=claim.shop, kind="claim_overdue", order=claim.order, claim=claim)
    return claim


def claim_escalate(*, claim: Claim) -> Claim:
    """Pass an unanswered claim to the operators (timer)."""
    with transaction.atomic():
        claim = _lock_claim(claim)
        if not claim.is_open or claim.escalated_at:
            return claim
        claim.escalated_at = timezone.now()
        claim.save(update_fields=["escalated_at"])
        record_event(claim.order, actor=None, claim=claim, kind="claim.escalated")
        notify(shop=claim.shop, kind="claim_escalated", order=claim.order, claim=claim)
    return claim


def actor_label(actor: User | None) -> str:
    """Return the role name used in history lines."""
    return role_of(actor)


# --- operator decisions ----------------------------------------------------------------

#: The decisions an operator may take on an escalated return or non-receipt report.
DECISIONS = ("refund", "reject")


@records_refusal("claim.operator_decide", _order_of)
def claim_operator_decide(*, actor: User, claim: Claim, decision: str, reason: str) -> Claim:
    """Decide a return or non-receipt case the parties could not settle.

    "refund" completes it for the buyer with a full refund (return 6,
    non-receipt 14); "reject" closes it for the seller (withdrawn). Both
    parties are told, with the operator's reason.
    """
    require_role(actor, "operator")
    text = clean_memo(reason, required=True, field="reason")
    if decision not in DECISIONS:
        raise InvalidInput("decision_invalid", _("Choose refund or reject."))
    with transaction.atomic():
        claim = _lock_claim(claim)
        if claim.escalated_at is None or not claim.is_open:
            raise DomainError(
                "claim_not_escalated",
                _(
                    "This claim was not escalated to the customer center: the shop and the buyer "
                    "settle it first. To end it now, withdraw it or cancel the order with its reason."
                ),
                {"status": claim.status},
            )
        order = claim.order
        data = {"decision": decision}
        if decision == "reject":
            transition(claim, "operator_withdraw", S.WITHDRAWN, actor=actor, memo=text, data=data)
        elif claim.type == ClaimType.NON_RECEIPT:
            transition(
                claim,
                "operator_refund_non_receipt",
                S.NON_RECEIPT_REFUNDED,
                actor=actor,
                memo=text,
                data=data,
            )
            claim.non_receipt_solution = NonReceiptSolution.NC
        else:
            transition(
                claim,
                "operator_refund_return",
                S.RETURN_COMPLETED,
                actor=actor,
                memo=text,
                data=data,
            )
            claim.pickup_method = claim.pickup_method or PickupMethod.NOT_NEEDED
        claim.operator_memo = text
        claim.save()
        if decision == "refund":
            _mark_order(order, "returned", actor=actor, claim=claim)
            _refund_for(claim, actor=actor, include_shipping=claim.type == ClaimType.NON_RECEIPT)
        for party in ({"recipient": order.buyer}, {"shop": order.shop}):
            notify(
                **party,
                kind="claim_status_changed",
                order=order,
                claim=claim,
                context={"memo": text},
            )
    return claim
