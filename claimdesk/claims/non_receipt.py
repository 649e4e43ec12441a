"""Orders reported as not received: the buyer's report and the seller's refund."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from claimdesk.accounts.roles import require_party, require_role
from claimdesk.core.errors import InvalidInput
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.validation import clean_memo
from claimdesk.orders.history import records_refusal
from claimdesk.orders.models import Order
from claimdesk.orders.services import lock_order

from . import policies
from .models import Claim, ClaimType, NonReceiptDuty, NonReceiptSolution
from .reasons import ReasonKind
from .states import transition
from .workflow import (
    S,
    _create_claim,
    _lock_claim,
    _mark_order,
    _order_of,
    _order_status_error,
    _refund_for,
    _refuse_closed_or_claimed,
    _system_reason,
    _tell_buyer,
    _tell_shop,
)

if TYPE_CHECKING:
    from claimdesk.accounts.models import User


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
        _tell_shop(claim, kind="non_receipt_reported", memo=memo)
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
        _tell_buyer(claim)
    return claim
