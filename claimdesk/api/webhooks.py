"""/webhooks: the shop's endpoints, their delivery log and manual redelivery."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from claimdesk.messaging.models import WebhookDelivery
from claimdesk.messaging.selectors import endpoint_deliveries, shop_webhook_endpoints
from claimdesk.messaging.webhooks import (
    access_delivery_for_seller,
    access_endpoint_for_seller,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_redeliver,
)

from .guard import actor_of, read_auth, write_auth
from .problems import ERRORS
from .schemas import BIG, TokenInfo, WebhookCreated, WebhookDeliveryOut, WebhookIn, WebhookOut
from .serializers import webhook_endpoint_dict

router = Router(tags=["webhooks"])


def _delivery(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.pk,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created_at": d.created_at,
        "delivered_at": d.delivered_at,
        "next_attempt_at": d.next_attempt_at,
        "payload": d.payload,
    }


@router.get("/me", response={200: TokenInfo, **ERRORS}, auth=read_auth, tags=["token"])
def me(request: HttpRequest) -> Any:
    """Describe the token: its shop, scopes and the language of its messages."""
    token = request.auth  # type: ignore[attr-defined]
    return {
        "shop_code": token.shop.code,
        "name": token.name,
        "scopes": token.scopes,
        "language": token.user.language,
    }


@router.get("/webhooks", response={200: list[WebhookOut], **ERRORS}, auth=read_auth)
def list_webhooks(request: HttpRequest) -> Any:
    """List the shop's webhook endpoints."""
    shop_id = actor_of(request).shop_id or -1
    return [webhook_endpoint_dict(e) for e in shop_webhook_endpoints(shop_id)]


@router.post("/webhooks", response={201: WebhookCreated, **ERRORS}, auth=write_auth)
def create_webhook(request: HttpRequest, body: WebhookIn) -> Any:
    """Add an endpoint; the answer shows its signing secret once."""
    endpoint = webhook_endpoint_create(
        actor=actor_of(request),
        url=body.url,
        events=[str(e) for e in body.events],
        secret=body.secret,
    )
    return Status(201, webhook_endpoint_dict(endpoint) | {"secret": endpoint.secret})


@router.delete("/webhooks/{endpoint_id}", response={204: None, **ERRORS}, auth=write_auth)
def delete_webhook(request: HttpRequest, endpoint_id: int) -> Any:
    """Remove an endpoint and its delivery log."""
    actor = actor_of(request)
    endpoint = access_endpoint_for_seller(actor, endpoint_id if 0 < endpoint_id <= BIG else 0)
    webhook_endpoint_delete(actor=actor, endpoint=endpoint)
    return Status(204, None)


@router.get(
    "/webhooks/{endpoint_id}/deliveries",
    response={200: list[WebhookDeliveryOut], **ERRORS},
    auth=read_auth,
)
def list_deliveries(request: HttpRequest, endpoint_id: int) -> Any:
    """Return the endpoint's last 100 deliveries, newest first."""
    endpoint = access_endpoint_for_seller(
        actor_of(request), endpoint_id if 0 < endpoint_id <= BIG else 0
    )
    return [_delivery(d) for d in endpoint_deliveries(endpoint)]


@router.post(
    "/webhooks/deliveries/{delivery_id}/redeliver",
    response={202: WebhookDeliveryOut, **ERRORS},
    auth=write_auth,
)
def redeliver(request: HttpRequest, delivery_id: int) -> Any:
    """Send a delivery again (the worker sends it after this call returns)."""
    actor = actor_of(request)
    delivery = access_delivery_for_seller(actor, delivery_id if 0 < delivery_id < 2**63 else 0)
    return Status(202, _delivery(webhook_redeliver(actor=actor, delivery=delivery)))
