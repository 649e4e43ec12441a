"""Model instances to the dicts of the response schemas (no queries beyond what is loaded,
but for `claim_detail`, which reads the claim afresh after an action)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from claimdesk.claims.models import Claim
from claimdesk.claims.selectors import claim_with_order
from claimdesk.messaging.models import Note, WebhookEndpoint
from claimdesk.orders.models import Order, ShippingStatus
from claimdesk.orders.selectors import order_history_rows
from claimdesk.payments.models import Refund
from claimdesk.payments.selectors import claim_refund


def order_dict(order: Order) -> dict[str, Any]:
    """Return the OrderOut fields of `order` (its cart must be loaded)."""
    today = timezone.localdate()
    return {
        "order_no": order.order_no,
        "cart_no": order.cart.cart_no,
        "shipping_status": order.shipping_status,
        "shipping_status_label": str(ShippingStatus(order.shipping_status).label),
        "delayed": order.is_delayed(today),
        "cancelled": order.is_cancelled,
        "item_code": order.item_code,
        "seller_item_code": order.seller_item_code,
        "item_title": order.item_title,
        "option_text": order.option_text,
        "option_code": order.option_code,
        "quantity": order.quantity,
        "currency": order.currency,
        "unit_price_minor": order.unit_price_minor,
        "option_price_minor": order.option_price_minor,
        "total_minor": order.total_minor,
        "settle_price_minor": order.settle_price_minor,
        "shipping_fee_minor": order.cart.shipping_fee_minor,
        "payment_method": order.cart.payment_method,
        "receiver_name": order.receiver_name,
        "receiver_kana": order.receiver_kana,
        "receiver_phone": order.receiver_phone,
        "receiver_country": order.receiver_country,
        "receiver_zip": order.receiver_zip,
        "receiver_address": order.receiver_address,
        "receiver_address2": order.receiver_address2,
        "shipping_way": order.shipping_way,
        "carrier": order.carrier,
        "tracking_no": order.tracking_no,
        "delay_type": order.delay_type,
        "delay_memo": order.delay_memo,
        "est_ship_date": order.est_ship_date,
        "ordered_at": order.ordered_at,
        "paid_at": order.paid_at,
        "shipped_at": order.shipped_at,
        "delivered_at": order.delivered_at,
        "completed_at": order.completed_at,
        "cancelled_at": order.cancelled_at,
    }


def history_lines(order: Order) -> list[dict[str, Any]]:
    """Return the order's history, oldest first (one query)."""
    return order_history_rows(order)


def claim_dict(claim: Claim) -> dict[str, Any]:
    """Return the ClaimOut fields of `claim` (order and cart loaded)."""
    return {
        "id": claim.pk,
        "order_no": claim.order.order_no,
        "cart_no": claim.order.cart.cart_no,
        "type": claim.type,
        "status": claim.status,
        "status_label": str(claim.get_status_display()),
        "is_open": claim.is_open,
        "reason_code": claim.reason_code,
        "fault": claim.fault,
        "requested_by": claim.requested_by,
        "buyer_memo": claim.buyer_memo,
        "seller_memo": claim.seller_memo,
        "pickup_method": claim.pickup_method,
        "pickup_carrier": claim.pickup_carrier,
        "non_receipt_duty": claim.non_receipt_duty,
        "non_receipt_solution": claim.non_receipt_solution,
        "missing_quantity": claim.missing_quantity,
        "redelivery_date": claim.redelivery_date,
        "redelivery_carrier": claim.redelivery_carrier,
        "redelivery_tracking_no": claim.redelivery_tracking_no,
        "requested_at": claim.requested_at,
        "completed_at": claim.completed_at,
        "escalated_at": claim.escalated_at,
    }


def refund_dict(refund: Refund) -> dict[str, Any]:
    """Return the RefundOut fields of `refund`."""
    return {
        "id": refund.pk,
        "status": refund.status,
        "currency": refund.currency,
        "amount_minor": refund.amount_minor,
        "item_minor": refund.item_minor,
        "shipping_minor": refund.shipping_minor,
        "payment_fee_minor": refund.payment_fee_minor,
        "deduction_minor": refund.deduction_minor,
        "destination": refund.destination,
        "attempt": refund.attempt,
        "failure_code": refund.failure_code,
        "failure_message": refund.failure_message,
        "created_at": refund.created_at,
        "succeeded_at": refund.succeeded_at,
        "next_retry_at": refund.next_retry_at,
    }


def note_dict(note: Note) -> dict[str, Any]:
    """Return the NoteOut fields of `note` (attachments prefetched)."""
    return {
        "id": note.pk,
        "author_role": note.author_role,
        "recipient_role": note.recipient_role,
        "category": note.category,
        "title": note.title,
        "body": note.body,
        "by_mail": note.by_mail,
        "created_at": note.created_at,
        "read_at": note.read_at,
        "attachments": [
            {"id": a.pk, "name": a.name, "content_type": a.content_type, "size": a.size}
            for a in note.attachments.all()
        ],
    }


def webhook_endpoint_dict(e: WebhookEndpoint) -> dict[str, Any]:
    """Return the WebhookOut fields of an endpoint."""
    return {
        "id": e.pk,
        "url": e.url,
        "events": list(e.events or []),
        "is_active": e.is_active,
        "created_at": e.created_at,
    }


def claim_detail(claim_id: int) -> dict[str, Any]:
    """Return the ClaimDetail of a claim freshly read (after an action)."""
    claim = claim_with_order(claim_id)
    refund = claim_refund(claim.pk)
    return claim_dict(claim) | {
        "order": order_dict(claim.order),
        "refund": refund_dict(refund) if refund is not None else None,
        "history": history_lines(claim.order),
    }
