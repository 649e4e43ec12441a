"""/claims, notes and refunds: the claims page as an API, calling the same services."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from claimdesk.claims.access import access_claim_for_seller
from claimdesk.claims.cancel import claim_approve_cancel, claim_decline_cancel
from claimdesk.claims.models import Claim
from claimdesk.claims.non_receipt import claim_refund_non_receipt
from claimdesk.claims.refunds import refund_retry
from claimdesk.claims.returns import (
    claim_accept_return,
    claim_approve_exchange,
    claim_complete_return,
    claim_convert_to_exchange,
    claim_redeliver,
)
from claimdesk.claims.selectors import ClaimFilter, claims_for_shop
from claimdesk.messaging.access import thread_notes
from claimdesk.messaging.services import note_send
from claimdesk.payments.access import access_claim_refund
from claimdesk.payments.models import Refund

from .guard import actor_of, read_auth, seller_order, write_auth
from .pagination import CURSOR_PATTERN, page
from .problems import ERRORS
from .schemas import (
    BIG,
    AcceptReturnIn,
    ApproveCancelIn,
    ClaimDetail,
    ClaimPage,
    CompleteReturnIn,
    MemoIn,
    NonReceiptRefundIn,
    NoteIn,
    NoteOut,
    RedeliverIn,
    RefundOut,
    ShipIn,
    day_filter,
)
from .serializers import claim_detail, claim_dict, note_dict, refund_dict

router = Router(tags=["claims"])


def _claim(request: HttpRequest, order_no: int, *, open_only: bool = True) -> Claim:
    return access_claim_for_seller(
        actor_of(request), order_no if 0 < order_no <= BIG else 0, open_only=open_only
    )


class ClaimFilters(Schema):
    status: int | None = Field(None, ge=1, le=99, description="claim status code")
    period_kind: Literal["order", "request", "complete"] = "request"
    date_from: dt.date | None = day_filter()
    date_to: dt.date | None = day_filter()
    order_no: int | None = Field(None, ge=1, le=BIG)
    cart_no: int | None = Field(None, ge=1, le=BIG)
    open_only: bool = False
    cursor: str | None = Field(
        None,
        max_length=40,
        description="the `next_cursor` of the page before",
        json_schema_extra={"pattern": CURSOR_PATTERN},
    )
    limit: int = Field(50, ge=1, le=200)


@router.get("/claims", response={200: ClaimPage, **ERRORS}, auth=read_auth)
def list_claims(request: HttpRequest, filters: Query[ClaimFilters]) -> Any:
    """List the shop's claims with the claims page's filters, newest request first.

    Without an order or cart number the period (default: the last 30 days)
    may span at most 90 days.
    """
    search_kind, search = "order_no", ""
    if filters.order_no is not None:
        search = str(filters.order_no)
    elif filters.cart_no is not None:
        search_kind, search = "cart_no", str(filters.cart_no)
    query = claims_for_shop(
        actor_of(request).shop_id or -1,
        ClaimFilter(
            status=filters.status,
            period_kind=filters.period_kind,
            date_from=filters.date_from,
            date_to=filters.date_to,
            search_kind=search_kind,
            search=search,
            open_only=filters.open_only,
        ),
    )
    items, next_cursor = page(
        query, field="requested_at", cursor=filters.cursor, limit=filters.limit
    )
    return {"items": [claim_dict(c) for c in items], "next_cursor": next_cursor}


@router.get("/claims/{order_no}", response={200: ClaimDetail, **ERRORS}, auth=read_auth)
def get_claim(request: HttpRequest, order_no: int) -> Any:
    """Return the latest claim of an order (open or not) with the order, its refund and history."""
    return claim_detail(_claim(request, order_no, open_only=False).pk)


@router.post(
    "/claims/{order_no}/approve-cancel", response={200: ClaimDetail, **ERRORS}, auth=write_auth
)
def approve_cancel(request: HttpRequest, order_no: int, body: ApproveCancelIn) -> Any:
    """Approve the buyer's cancel request (取消处理): cancel and refund."""
    claim = claim_approve_cancel(
        actor=actor_of(request),
        claim=_claim(request, order_no),
        seller_memo=body.seller_memo,
        grant_payment_fee=body.grant_payment_fee,
    )
    return claim_detail(claim.pk)


@router.post(
    "/claims/{order_no}/decline-cancel", response={200: ClaimDetail, **ERRORS}, auth=write_auth
)
def decline_cancel(request: HttpRequest, order_no: int, body: ShipIn) -> Any:
    """Decline a cancel request the only way there is: ship the order."""
    claim = claim_decline_cancel(
        actor=actor_of(request),
        claim=_claim(request, order_no),
        carrier=body.carrier,
        tracking_no=body.tracking_no,
    )
    return claim_detail(claim.pk)


@router.post(
    "/claims/{order_no}/accept-return", response={200: ClaimDetail, **ERRORS}, auth=write_auth
)
def accept_return(request: HttpRequest, order_no: int, body: AcceptReturnIn) -> Any:
    """Accept and verify a return request (退货要求接受/验证)."""
    claim = claim_accept_return(
        actor=actor_of(request),
        claim=_claim(request, order_no),
        pickup_method=body.pickup_method,
        pickup_carrier=body.pickup_carrier,
        seller_memo=body.seller_memo,
    )
    return claim_detail(claim.pk)


@router.post(
    "/claims/{order_no}/complete-return", response={200: ClaimDetail, **ERRORS}, auth=write_auth
)
def complete_return(request: HttpRequest, order_no: int, body: CompleteReturnIn) -> Any:
    """Collected / full refund (回收完成/全额退款); both questions must be answered yes."""
    claim = claim_complete_return(
        actor=actor_of(request),
        claim=_claim(request, order_no),
        goods_received=body.goods_received,
        confirmed=body.confirmed,
        return_shipping_deduction=body.return_shipping_deduction,
        grant_payment_fee=body.grant_payment_fee,
        seller_memo=body.seller_memo,
    )
    return claim_detail(claim.pk)


@router.post(
    "/claims/{order_no}/convert-exchange", response={200: ClaimDetail, **ERRORS}, auth=write_auth
)
def convert_exchange(request: HttpRequest, order_no: int, body: MemoIn) -> Any:
    """Turn a return into an exchange (退货申请要求交换处理)."""
    claim = claim_convert_to_exchange(
        actor=actor_of(request), claim=_claim(request, order_no), seller_memo=body.seller_memo
    )
    return claim_detail(claim.pk)


@router.post(
    "/claims/{order_no}/approve-exchange", response={200: ClaimDetail, **ERRORS}, auth=write_auth
)
def approve_exchange(request: HttpRequest, order_no: int, body: MemoIn) -> Any:
    """Approve an exchange request (11 → 12); needs the default return/exchange address."""
    claim = claim_approve_exchange(
        actor=actor_of(request), claim=_claim(request, order_no), seller_memo=body.seller_memo
    )
    return claim_detail(claim.pk)


@router.post("/claims/{order_no}/redeliver", response={200: ClaimDetail, **ERRORS}, auth=write_auth)
def redeliver(request: HttpRequest, order_no: int, body: RedeliverIn) -> Any:
    """Ship the replacement or re-delivery (12 or non-receipt → 13)."""
    claim = claim_redeliver(
        actor=actor_of(request),
        claim=_claim(request, order_no),
        redelivery_date=body.redelivery_date,
        carrier=body.carrier,
        tracking_no=body.tracking_no,
    )
    return claim_detail(claim.pk)


@router.post(
    "/claims/{order_no}/refund-non-receipt", response={200: ClaimDetail, **ERRORS}, auth=write_auth
)
def refund_non_receipt(request: HttpRequest, order_no: int, body: NonReceiptRefundIn) -> Any:
    """Answer a non-receipt report with a refund: in full, or in part with `amount_minor`."""
    claim = claim_refund_non_receipt(
        actor=actor_of(request),
        claim=_claim(request, order_no),
        amount_minor=body.amount_minor,
        seller_memo=body.seller_memo,
    )
    return claim_detail(claim.pk)


def _refund(request: HttpRequest, order_no: int) -> Refund:
    claim = _claim(request, order_no, open_only=False)
    return access_claim_refund(claim.pk)


@router.get("/claims/{order_no}/refund", response={200: RefundOut, **ERRORS}, auth=read_auth)
def get_refund(request: HttpRequest, order_no: int) -> Any:
    """Return the refund of the order's latest claim: pending, succeeded or failed."""
    return refund_dict(_refund(request, order_no))


@router.post(
    "/claims/{order_no}/refund/retry", response={200: RefundOut, **ERRORS}, auth=write_auth
)
def retry_refund(request: HttpRequest, order_no: int) -> Any:
    """Retry a failed refund. Only the platform may: sellers get 403 `role_not_allowed`."""
    refund = refund_retry(actor=actor_of(request), refund=_refund(request, order_no))
    return refund_dict(refund)


notes_router = Router(tags=["notes"])


@notes_router.get(
    "/orders/{order_no}/notes", response={200: list[NoteOut], **ERRORS}, auth=read_auth
)
def list_notes(request: HttpRequest, order_no: int) -> Any:
    """Return the order's note thread as the shop sees it, oldest first."""
    order = seller_order(request, order_no)
    return [note_dict(n) for n in thread_notes(actor_of(request), order)]


@notes_router.post("/orders/{order_no}/notes", response={201: NoteOut, **ERRORS}, auth=write_auth)
def send_note(request: HttpRequest, order_no: int, body: NoteIn) -> Any:
    """Send a note to the buyer (or the customer center) about the order."""
    order = seller_order(request, order_no)
    note = note_send(
        actor=actor_of(request),
        order=order,
        category=body.category,
        title=body.title,
        body=body.body,
        recipient_role=body.recipient,
        by_mail=body.by_mail,
    )
    return Status(201, note_dict(note))


@notes_router.post(
    "/orders/{order_no}/notes/with-attachments",
    response={201: NoteOut, **ERRORS},
    auth=write_auth,
)
def send_note_with_attachments(
    request: HttpRequest,
    order_no: int,
    body: Form[NoteIn],
    attachments: File[list[UploadedFile] | None] = None,
) -> Any:
    """Send a note with files, as multipart/form-data (the note's fields plus `attachments`).

    The files are checked as in the seller portal: JPG, PNG, GIF or PDF by
    their content, and at most NOTE_ATTACHMENT_MAX_BYTES in all.
    """
    order = seller_order(request, order_no)
    note = note_send(
        actor=actor_of(request),
        order=order,
        category=body.category,
        title=body.title,
        body=body.body,
        recipient_role=body.recipient,
        attachments=list(attachments or []),
        by_mail=body.by_mail,
    )
    return Status(201, note_dict(note))
