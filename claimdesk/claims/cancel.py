"""Cancelling an order: by the buyer at once or on request, by the seller, by
shipping (which declines a request), and for a payment that never came.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from claimdesk.accounts.roles import require_party, require_role
from claimdesk.core.errors import DomainError
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.validation import clean_memo
from claimdesk.messaging.selectors import cancel_notice_sent
from claimdesk.messaging.services import notify
from claimdesk.orders.history import history_batch, records_refusal
from claimdesk.orders.models import Order, ShippingStatus
from claimdesk.orders.services import lock_order, order_ship

from . import policies
from .models import Claim, ClaimType
from .reasons import Fault, Picker, ReasonKind
from .states import transition
from .workflow import (
    S,
    _cancel_facts,
    _create_claim,
    _lock_claim,
    _mark_order,
    _open_claim,
    _order_of,
    _order_status_error,
    _reason,
    _refund_for,
    _refuse_closed_or_claimed,
    _system_reason,
    _tell_buyer,
    _tell_shop,
)

if TYPE_CHECKING:
    from claimdesk.accounts.models import User


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
        _tell_shop(claim, kind="cancel_requested", memo=memo)
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
        _tell_buyer(claim, kind="order_cancelled", seller_memo=memo)
    return claim


def seller_sent_cancel_notice(order: Order) -> bool:
    """Return whether the seller sent the buyer a キャンセル/払い戻し note about `order`."""
    return cancel_notice_sent(order.pk)


#: What a seller cancel reads under the order lock, of the order's, cart's and buyer's 80
#: columns: the state it decides on, what the claim, refund, ledger postings, mails,
#: history lines and their webhook payloads copy, and the buyer's address for the mail;
#: not the shop row. A column the cancel touches and this leaves out costs a query of its
#: own (tests/test_cancel_cost.py counts them).
SELLER_CANCEL_COLUMNS = (
    *("order_no", "cart", "shop_id", "buyer", "external_id", "item_title", "currency"),
    *("total_minor", "commission_minor", "cart_platform_discount_minor", "shipping_status"),
    *("ordered_at", "cancelled_at", "returned_at", "version"),
    *("cart__cart_no", "cart__external_id", "cart__currency", "cart__payment_method"),
    *("cart__paid_at", "cart__shipping_fee_minor", "cart__payment_fee_minor"),
    *("buyer__email", "buyer__language"),
)


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
        request = Claim.objects.open_for(order).filter(status=S.CANCEL_REQUESTED).first()
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
        order = lock_order(order, related=("cart", "buyer"), only=SELLER_CANCEL_COLUMNS)
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
        _tell_buyer(claim, kind="order_cancelled", seller_memo=memo)
    return claim


def claim_reject_by_shipping(*, actor: User | None, order: Order) -> Claim | None:
    """Close the buyer's cancel request because the seller shipped the order.

    Runs on `orders.signals.order_shipped`, inside `order_ship`'s transaction;
    the only way to decline.
    """
    claim = Claim.objects.open_for(order).filter(status=S.CANCEL_REQUESTED).first()
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
        _tell_shop(claim, kind="claim_withdrawn", memo=memo)
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
