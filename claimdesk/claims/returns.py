"""Returns and exchanges: asked for by the buyer or started by the seller,
accepted, completed with a refund, or answered with a replacement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from claimdesk.accounts.roles import require_party, require_role
from claimdesk.core.conf import setting
from claimdesk.core.errors import InvalidInput
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.validation import clean_memo, clean_short, parse_date
from claimdesk.messaging.models import NoteCategory
from claimdesk.messaging.services import note_send, notify
from claimdesk.orders.history import records_refusal
from claimdesk.orders.models import Order
from claimdesk.orders.services import lock_order

from . import policies
from .models import Claim, ClaimType, NonReceiptSolution, PickupMethod
from .policies import return_shipping_deduction_allowed
from .reasons import Picker, ReasonKind
from .states import transition
from .workflow import (
    S,
    _address_snapshot,
    _create_claim,
    _default_return_address,
    _lock_claim,
    _mark_order,
    _order_of,
    _order_status_error,
    _reason,
    _refund_for,
    _refuse_closed_or_claimed,
    _tell_buyer,
    _tell_shop,
)

if TYPE_CHECKING:
    from claimdesk.accounts.models import User


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
        _tell_shop(claim, kind="exchange_requested" if exchange else "return_requested", memo=memo)
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
        _tell_buyer(claim)
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
        _tell_buyer(claim)
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
        _tell_buyer(claim)
    return claim


def _exchange(
    *,
    actor: User,
    claim: Claim,
    action: str,
    seller_memo: str,
    return_address: dict[str, str] | None = None,
) -> Claim:
    """Move `claim` to exchange approved (12) by `action`, with where the goods go back."""
    require_party(actor, shop_id=claim.shop_id, buyer_id=claim.buyer_id)
    memo = clean_memo(seller_memo, field="seller_memo")
    with transaction.atomic():
        claim = _lock_claim(claim)
        transition(claim, action, S.EXCHANGE_APPROVED, actor=actor, memo=memo)
        claim.return_address = return_address or _address_snapshot(
            _default_return_address(claim.shop)
        )
        claim.type = ClaimType.EXCHANGE
        if memo:
            claim.seller_memo = memo
        claim.save()
        _tell_buyer(claim)
    return claim


@records_refusal("claim.convert_to_exchange", _order_of)
def claim_convert_to_exchange(*, actor: User, claim: Claim, seller_memo: str = "") -> Claim:
    """Turn a return into an exchange (退货申请要求交换处理); needs the return address."""
    return _exchange(
        actor=actor, claim=claim, action="convert_to_exchange", seller_memo=seller_memo
    )


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
    return _exchange(
        actor=actor,
        claim=claim,
        action="approve_exchange",
        seller_memo=seller_memo,
        return_address=return_address,
    )


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
        _tell_buyer(claim, memo=f"{carrier} {tracking_no}")
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
