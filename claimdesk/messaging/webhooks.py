"""Webhooks: signed POSTs of a shop's order, claim, refund and note events.

Events are recorded in the transaction that caused them (one
`WebhookDelivery` per subscribed endpoint, plus a task row), so a webhook is
sent if and only if its change committed. The worker POSTs the JSON body with

    X-Claimdesk-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

and retries a failure with exponential back-off. The receiver recomputes the
HMAC over the timestamp, a dot and the raw body, compares in constant time,
and refuses a timestamp that is too old. The event id makes redeliveries
recognisable: a receiver treats a second delivery of one id as a duplicate.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from claimdesk.accounts.roles import require_role
from claimdesk.core.errors import InvalidInput, NotFound
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.tasks import defer, defer_at
from claimdesk.core.validation import parse_whole
from claimdesk.core.worker import claim_is_free, worker_id

from .models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEvent,
)

if TYPE_CHECKING:
    from claimdesk.accounts.models import User
    from claimdesk.orders.models import OrderEvent

    from .models import Note

SIGNATURE_HEADER = "X-Claimdesk-Signature"
USER_AGENT = "claimdesk-webhooks/1"
MAX_ENDPOINTS_PER_SHOP = 10


def _config(name: str, default: Any) -> Any:
    return settings.CLAIMDESK.get(name, default)


# --- signing -------------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """Return whether `header` signs `body` with `secret` and is at most `tolerance` s old."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- endpoint settings ---------------------------------------------------------------------------


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


def _checked_address(url: str) -> tuple[str, str]:
    """Return (url, IP address to connect to) if `url` is http(s) to a public address.

    The host is resolved once; the delivery connects to the address checked
    here, so a name that resolves elsewhere a moment later (DNS rebinding)
    cannot lead a POST to a private address. CLAIMDESK["WEBHOOKS_ALLOW_PRIVATE"]
    lifts the address check (tests, demos).
    """
    text = (url or "").strip()
    parts = urlsplit(text)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or len(text) > 500 or port < 0:
        raise InvalidInput(
            "webhook_url_invalid",
            _("Enter a full http:// or https:// address of at most 500 characters."),
            {"field": "url"},
        )
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError) as exc:
        raise InvalidInput(
            "webhook_url_unresolvable",
            _("The host %(host)s cannot be found. Check the address.") % {"host": parts.hostname},
            {"field": "url"},
        ) from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or (
        not _config("WEBHOOKS_ALLOW_PRIVATE", False)
        and not all(_address_allowed(a) for a in addresses)
    ):
        raise InvalidInput(
            "webhook_url_private",
            _("%(host)s is a loopback or private address; webhooks go only to public addresses.")
            % {"host": parts.hostname},
            {"field": "url"},
        )
    return text, addresses[0]


def check_url(url: str) -> str:
    """Return `url` if it is http(s) to a public address; refuse loopback and private ones.

    CLAIMDESK["WEBHOOKS_ALLOW_PRIVATE"] lifts the address check (tests, demos).
    """
    text = (url or "").strip()
    parts = urlsplit(text)
    if _config("WEBHOOKS_ALLOW_PRIVATE", False) and parts.scheme in ("http", "https"):
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            pass
        else:
            if parts.hostname and len(text) <= 500:
                return text  # no need to resolve: any address is allowed
    return _checked_address(text)[0]


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
    secret = (secret or "").strip() or "whsec_" + secrets.token_urlsafe(24)
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


# --- emitting ------------------------------------------------------------------------------------


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


# --- delivering ----------------------------------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a fixed IP address, with the URL's host in the Host header."""

    def __init__(self, host: str, *, pinned_ip: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self.pinned_ip = pinned_ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_ip, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a fixed IP address; SNI and certificate check use the URL's host."""

    def __init__(
        self, host: str, *, pinned_ip: str, context: ssl.SSLContext, **kwargs: Any
    ) -> None:
        super().__init__(host, context=context, **kwargs)
        self.pinned_ip = pinned_ip
        self.pinned_context = context

    def connect(self) -> None:
        sock = socket.create_connection((self.pinned_ip, self.port), self.timeout)
        self.sock = self.pinned_context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, pinned_ip: str) -> None:
        super().__init__()
        self.pinned_ip = pinned_ip

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            functools.partial(_PinnedHTTPConnection, pinned_ip=self.pinned_ip),
            req,
        )


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, pinned_ip: str) -> None:
        super().__init__()
        self.pinned_ip = pinned_ip
        self.pinned_context = ssl.create_default_context()

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            functools.partial(
                _PinnedHTTPSConnection, pinned_ip=self.pinned_ip, context=self.pinned_context
            ),
            req,
        )


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Answer a redirect as a failed delivery instead of following it."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        raise urllib.error.HTTPError(
            req.full_url, code, f"redirect to {newurl[:150]} not followed", headers, fp
        )


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """POST `body` to `url`: at the address checked once, no proxy, no redirect followed."""
    try:
        _text, address = _checked_address(url)
    except InvalidInput as error:
        return None, str(error.message)[:255]
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _PinnedHTTPHandler(address),
        _PinnedHTTPSHandler(address),
        _RefuseRedirects(),
    )
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        reason = f"HTTP {exc.code}" + (f": {exc.msg}" if 300 <= exc.code < 400 else "")
        return int(exc.code), reason[:255]
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        return None, str(getattr(exc, "reason", exc))[:255]


def webhook_deliver(*, delivery_id: int, manual: bool = False) -> WebhookDelivery | None:
    """POST one delivery and record the answer; schedule a retry after a failure.

    Three steps, and no transaction or row lock is held while the receiver is
    called: claim the delivery for this worker (a conditional update: of a
    manual redelivery and a scheduled retry racing, one posts and the other
    finds it claimed), POST, then record the answer and clear the claim. A
    claim whose worker died (or, of another host, older than
    CLAIM_STALE_SECONDS) is taken over: the receiver may then get the delivery
    again, always with the same `X-Claimdesk-Delivery` id. A retry that finds a
    later retry scheduled (a stale task) sends nothing.
    """
    now = timezone.now()
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or not _is_due(delivery, manual=manual):
        return delivery
    if not claim_is_free(delivery.claimed_by, delivery.claimed_at, now=now):
        return delivery
    me = worker_id()
    won = WebhookDelivery.objects.filter(
        pk=delivery.pk,
        status=WebhookDeliveryStatus.PENDING,
        next_attempt_at=delivery.next_attempt_at,
        claimed_by=delivery.claimed_by,
        claimed_at=delivery.claimed_at,
    ).update(claimed_by=me, claimed_at=now)
    if not won:
        return delivery
    code, error_text, elapsed = _send(delivery)
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if locked.claimed_by != me or locked.claimed_at != now:
            # judged dead and taken over meanwhile: keep the attempt, leave the outcome to it
            _log_attempt(locked, manual, code, error_text, elapsed)
            return locked
        return _record(locked, manual, code, error_text, elapsed)


def _is_due(delivery: WebhookDelivery, *, manual: bool) -> bool:
    """Return whether to POST now: pending, and not a stale retry (a later one is scheduled)."""
    if delivery.status != WebhookDeliveryStatus.PENDING:
        return False
    return manual or delivery.next_attempt_at is None or delivery.next_attempt_at <= timezone.now()


def _send(delivery: WebhookDelivery) -> tuple[int | None, str, int]:
    """POST the delivery, signed; return (status code, error, milliseconds taken)."""
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(time.time())
    started = time.monotonic()
    code, error_text = _post(
        endpoint.url,
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Claimdesk-Event": delivery.event_type,
            "X-Claimdesk-Event-Id": delivery.event_id,
            "X-Claimdesk-Delivery": str(delivery.pk),
            "X-Claimdesk-Timestamp": str(timestamp),
            SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
        },
        float(_config("WEBHOOK_TIMEOUT_SECONDS", 10)),
    )
    return code, error_text, int((time.monotonic() - started) * 1000)


def _log_attempt(
    delivery: WebhookDelivery, manual: bool, code: int | None, error_text: str, elapsed: int
) -> bool:
    """Add the attempt to the delivery's log; return whether the receiver took it (2xx)."""
    ok = code is not None and 200 <= code < 300
    WebhookAttempt.objects.create(
        delivery=delivery,
        status_code=code,
        error="" if ok else (error_text or f"HTTP {code}"),
        duration_ms=elapsed,
        manual=manual,
    )
    return ok


def _record(
    locked: WebhookDelivery, manual: bool, code: int | None, error_text: str, elapsed: int
) -> WebhookDelivery:
    ok = _log_attempt(locked, manual, code, error_text, elapsed)
    locked.claimed_by, locked.claimed_at = "", None
    locked.attempts += 1
    locked.last_status_code = code
    locked.last_error = "" if ok else (error_text or f"HTTP {code}")[:255]
    if ok:
        locked.status = WebhookDeliveryStatus.SUCCEEDED
        locked.delivered_at = timezone.now()
        locked.next_attempt_at = None
    elif locked.attempts < int(_config("WEBHOOK_MAX_ATTEMPTS", 8)):
        delay = int(_config("WEBHOOK_RETRY_BASE_SECONDS", 30)) * 2 ** (locked.attempts - 1)
        locked.next_attempt_at = timezone.now() + dt.timedelta(seconds=delay)
        defer_at(deliver_webhook, locked.next_attempt_at, locked.pk)
    else:
        locked.status = WebhookDeliveryStatus.FAILED
        locked.next_attempt_at = None
    locked.save()
    return locked


@task(queue_name="default")
def deliver_webhook(delivery_id: int, manual: bool = False) -> None:
    """Worker entry point: deliver one webhook."""
    webhook_deliver(delivery_id=delivery_id, manual=manual)
