"""Fan-out: the events of a change, recorded as one webhook delivery per subscribed endpoint.

Events are recorded in the transaction that caused them (one
`WebhookDelivery` per subscribed endpoint, plus its task row), so a webhook
is sent if and only if its change committed. A shop's events go to the shop's
active endpoints subscribed to them and to the marketplace's own endpoints.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from claimdesk.core.tasks import defer
from claimdesk.core.validation import parse_whole

from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from .webhook_delivery import deliver_webhook

if TYPE_CHECKING:
    from claimdesk.orders.models import OrderEvent

    from .models import Note


def webhook_emit(*, shop_id: int, event_type: str, data: dict[str, Any]) -> int:
    """Record `event_type` for every active endpoint of the shop subscribed to it.

    Call inside the transaction of the change: the deliveries and their tasks
    commit or roll back with it. Return the number of deliveries recorded.
    """
    return _emit_many([(shop_id, event_type, data)])


def _emit_many(messages: Sequence[tuple[int, str, dict[str, Any]]]) -> int:
    """Record several events (shop id, type, data) with one endpoint lookup for all their shops.

    The endpoints are read when this is called, so one added earlier in the
    same transaction gets the events; each event goes only to its own shop's
    endpoints. Return the number of deliveries recorded.
    """
    if not messages:
        return 0
    subscribed: dict[int | None, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in WebhookEndpoint.objects.filter(
        Q(shop_id__in={shop_id for shop_id, _type, _data in messages}) | Q(shop__isnull=True),
        is_active=True,
    ):
        subscribed[endpoint.shop_id].append(endpoint)
    if not subscribed:
        return 0
    marketplace = subscribed.get(None, [])
    deliveries: list[WebhookDelivery] = []
    for shop_id, event_type, data in messages:
        endpoints = [
            e
            for e in [*subscribed.get(shop_id, ()), *marketplace]
            if event_type in (e.events or [])
        ]
        if not endpoints:
            continue
        event_id = f"evt_{uuid.uuid4().hex}"
        payload = json.loads(
            json.dumps(
                {
                    "id": event_id,
                    "type": event_type,
                    "created_at": timezone.now().isoformat(),
                    "data": data,
                },
                cls=DjangoJSONEncoder,
            )
        )
        deliveries += [
            WebhookDelivery(
                endpoint=endpoint, event_id=event_id, event_type=event_type, payload=payload
            )
            for endpoint in endpoints
        ]
    if connection.features.can_return_rows_from_bulk_insert:
        WebhookDelivery.objects.bulk_create(deliveries)
    else:  # pragma: no cover - every supported database returns the new ids
        for delivery in deliveries:
            delivery.save(force_insert=True)
    for delivery in deliveries:
        defer(deliver_webhook, delivery.pk)
    return len(deliveries)


_ORDER_FIELDS = {"shipping_status", "cancelled", "returned", "completed"}


def webhook_on_order_events(events: Sequence[OrderEvent]) -> int:
    """Turn order-history lines into their webhook events, with one endpoint lookup for all."""
    return _emit_many([m for event in events for m in _order_event_messages(event)])


#: History fields whose change to "1" is also an event of its own (for storefronts).
_OUTCOMES = {"cancelled": WebhookEvent.ORDER_CANCELLED, "returned": WebhookEvent.RETURN_COMPLETED}


def _order_event_messages(event: OrderEvent) -> list[tuple[int, str, dict[str, Any]]]:
    """Return the (shop id, event type, data) webhook events a history line stands for."""
    message = _order_event_message(event)
    if message is None:
        return []
    outcome = _OUTCOMES.get(event.field)
    if outcome is None or event.to_value != "1":
        return [message]
    shop_id, _type, data = message
    return [message, (shop_id, outcome, data)]


def _order_event_message(event: OrderEvent) -> tuple[int, str, dict[str, Any]] | None:
    """Return (shop id, event type, data) of the webhook event a history line stands for."""
    if event.refused:
        return None
    if event.field in _ORDER_FIELDS:
        event_type = WebhookEvent.ORDER_STATUS_CHANGED
    elif event.field == "claim_status":
        event_type = (
            WebhookEvent.CLAIM_CREATED
            if not event.from_value
            else WebhookEvent.CLAIM_STATUS_CHANGED
        )
    elif event.kind in (WebhookEvent.REFUND_SUCCEEDED, WebhookEvent.REFUND_FAILED):
        event_type = WebhookEvent(event.kind)
    else:
        return None
    order = event.order
    data: dict[str, Any] = {
        "order_no": order.order_no,
        "cart_no": getattr(order.cart, "cart_no", None) if order.cart_id else None,
        "order_external_id": order.external_id,
        "cart_external_id": order.cart.external_id if order.cart_id else None,
        "shipping_status": order.shipping_status,
        "action": event.kind,
        "field": event.field,
        "from": event.from_value,
        "to": event.to_value,
        "reason": event.reason,
        "actor_role": event.actor_role,
    }
    if event.claim_id is not None:
        data["claim"] = {"id": event.claim_id, "status": _int_or_none(event.to_value)}
    if event.kind.startswith("refund."):
        data["refund"] = {k: v for k, v in (event.data or {}).items() if k != "message"}
    return order.shop_id, event_type, data


def _int_or_none(value: str) -> int | None:
    return parse_whole(value)


def webhook_on_note(note: Note) -> None:
    """Emit `note.received` for a note written to the shop (by the buyer or the center)."""
    if note.author_role == "seller":
        return
    webhook_emit(
        shop_id=note.order.shop_id,
        event_type=WebhookEvent.NOTE_RECEIVED,
        data={
            "order_no": note.order.order_no,
            "note_id": note.pk,
            "author_role": note.author_role,
            "category": note.category,
            "title": note.title,
        },
    )
