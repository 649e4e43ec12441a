"""Webhook endpoints: the services that add and remove them, their access functions, redelivery.

A shop's endpoints hear its order, claim, refund and note events; the
marketplace's own endpoints (no shop, added by an operator or a platform
token) hear every shop's. The rest of webhooks lives beside this module:

    webhook_fanout     the events of a change, recorded as deliveries in its transaction
    webhook_delivery   the worker task that POSTs one delivery and retries it
    webhook_signing    the Standard Webhooks signature headers
    webhook_transport  the guarded POST (public addresses only, no proxy, no redirect)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from claimdesk.accounts.roles import require_role
from claimdesk.core.errors import InvalidInput, NotFound
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.tasks import defer

from .models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint, WebhookEvent
from .webhook_delivery import deliver_webhook
from .webhook_signing import new_secret
from .webhook_transport import check_url

if TYPE_CHECKING:
    from claimdesk.accounts.models import User

__all__ = [
    "MAX_ENDPOINTS_PER_SHOP",
    "access_delivery_for_seller",
    "access_endpoint_for_platform",
    "access_endpoint_for_seller",
    "deliver_webhook",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_redeliver",
]

#: Task rows queued before the delivery task moved to `webhook_delivery` name
#: it here (`claimdesk.messaging.webhooks.deliver_webhook`): importing it keeps
#: that path resolving to the task, so those rows still run.
FORMER_DELIVER_WEBHOOK_PATH = "claimdesk.messaging.webhooks.deliver_webhook"

MAX_ENDPOINTS_PER_SHOP = 10


def _clean_events(events: list[str]) -> list[str]:
    chosen = [e for e in WebhookEvent.values if e in set(events or [])]
    unknown = set(events or []) - set(WebhookEvent.values)
    if unknown or not chosen:
        raise InvalidInput(
            "webhook_events_invalid",
            _("Choose at least one event from the list."),
            {"field": "events", "unknown": sorted(unknown)},
        )
    return chosen


def webhook_endpoint_create(
    *, actor: User, url: str, events: list[str], secret: str = ""
) -> WebhookEndpoint:
    """Add a webhook endpoint to the actor's shop (a secret is generated unless given).

    An operator (or a platform token, which acts as one) adds the
    marketplace's own endpoint, which hears every shop's events.
    """
    require_role(actor, "seller", "operator")
    clean_url = check_url(url)
    chosen = _clean_events(events)
    secret = (secret or "").strip() or new_secret()
    if len(secret) < 16 or len(secret) > 100:
        raise InvalidInput(
            "webhook_secret_invalid",
            _("A secret has 16 to 100 characters; leave it empty to have one made."),
            {"field": "secret"},
        )
    shop_id = (actor.shop_id or -1) if actor.is_seller else None
    owned = (
        WebhookEndpoint.objects.filter(shop__isnull=True)
        if shop_id is None
        else WebhookEndpoint.objects.filter(shop_id=shop_id)
    )
    if owned.count() >= MAX_ENDPOINTS_PER_SHOP:
        raise InvalidInput(
            "webhook_too_many",
            _("A shop may have at most %(max)s endpoints. Remove one first.")
            % {"max": MAX_ENDPOINTS_PER_SHOP},
        )
    return WebhookEndpoint.objects.create(
        shop_id=shop_id, url=clean_url, secret=secret, events=chosen, created_by=actor
    )


def _object_id(value: object) -> int:
    """Return `value` as a database id, or -1 when it is not one (text, 0, too many digits)."""
    text = str(value).strip()
    if not text.isdecimal() or len(text) > 19:
        return -1
    number = int(text)
    return number if 0 < number < 2**63 else -1


def access_endpoint_for_seller(user: User, endpoint_id: object) -> WebhookEndpoint:
    """Return an endpoint of the user's shop, or raise NotFound."""
    pk = _object_id(endpoint_id)
    endpoint = WebhookEndpoint.objects.filter(pk=pk, shop_id=user.shop_id or -1).first()
    if endpoint is None or not user.is_seller:
        raise NotFound("webhook_not_found", _("No such webhook endpoint."))
    return endpoint


def access_endpoint_for_platform(user: User, endpoint_id: object) -> WebhookEndpoint:
    """Return one of the marketplace's own endpoints (no shop), or raise NotFound."""
    require_role(user, "operator")
    endpoint = WebhookEndpoint.objects.filter(pk=_object_id(endpoint_id), shop__isnull=True).first()
    if endpoint is None:
        raise NotFound("webhook_not_found", _("No such webhook endpoint."))
    return endpoint


def webhook_endpoint_delete(*, actor: User, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint of the actor's shop (an operator: the marketplace's) with its log."""
    require_role(actor, "seller", "operator")
    if endpoint.shop_id != (actor.shop_id if actor.is_seller else None):
        raise NotFound("webhook_not_found", _("No such webhook endpoint."))
    endpoint.delete()


def access_delivery_for_seller(user: User, delivery_id: object) -> WebhookDelivery:
    """Return a delivery of one of the user's shop's endpoints, or raise NotFound."""
    pk = _object_id(delivery_id)
    delivery = (
        WebhookDelivery.objects.select_related("endpoint")
        .filter(pk=pk, endpoint__shop_id=user.shop_id or -1)
        .first()
    )
    if delivery is None or not user.is_seller:
        raise NotFound("webhook_delivery_not_found", _("No such webhook delivery."))
    return delivery


def webhook_redeliver(*, actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now (manual redelivery from the settings page or the API)."""
    require_role(actor, "seller")
    if delivery.endpoint.shop_id != actor.shop_id:
        raise NotFound("webhook_delivery_not_found", _("No such webhook delivery."))
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        locked.status = WebhookDeliveryStatus.PENDING
        locked.next_attempt_at = None
        locked.save(update_fields=["status", "next_attempt_at"])
        defer(deliver_webhook, locked.pk, True)
    return locked
