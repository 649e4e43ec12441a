"""The customer center: claims flagged overdue and escalated, and the operators'
withdrawals, cancellations and decisions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from claimdesk.accounts.roles import require_party, require_role
from claimdesk.core.errors import DomainError, InvalidInput
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.validation import clean_memo
from claimdesk.messaging.services import notify
from claimdesk.orders.history import record_event, records_refusal
from claimdesk.orders.models import Order
from claimdesk.orders.services import lock_order

from . import policies
from .models import Claim, ClaimType, NonReceiptSolution, PickupMethod
from .reasons import Picker, ReasonKind
from .states import transition
from .workflow import (
    S,
    _create_claim,
    _lock_claim,
    _mark_order,
    _open_claim,
    _order_of,
    _order_status_error,
    _reason,
    _refund_for,
    _tell_buyer,
    _tell_shop,
)

if TYPE_CHECKING:
    from claimdesk.accounts.models import User


def _stamp_once(claim: Claim, field: str, kind: str) -> Claim:
    """Set the open claim's timer stamp `field` once, write its history line, mail the shop."""
    with transaction.atomic():
        claim = _lock_claim(claim)
        if not claim.is_open or getattr(claim, field):
            return claim
        setattr(claim, field, timezone.now())
        claim.save(update_fields=[field])
        record_event(claim.order, actor=None, claim=claim, kind=f"claim.{kind}")
        notify(shop=claim.shop, kind=f"claim_{kind}", order=claim.order, claim=claim)
    return claim


def claim_flag_overdue(*, claim: Claim) -> Claim:
    """Flag an open claim past its response time to the seller (timer)."""
    return _stamp_once(claim, "flagged_overdue_at", "overdue")


def claim_escalate(*, claim: Claim) -> Claim:
    """Pass an unanswered claim to the operators (timer)."""
    return _stamp_once(claim, "escalated_at", "escalated")


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
        _tell_shop(claim, kind="claim_withdrawn", memo=text)
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
        _tell_buyer(claim, kind="order_cancelled", memo=text)
        _tell_shop(claim, kind="claim_status_changed", memo=text)
    return claim


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
        _tell_buyer(claim, memo=text)
        _tell_shop(claim, kind="claim_status_changed", memo=text)
    return claim
