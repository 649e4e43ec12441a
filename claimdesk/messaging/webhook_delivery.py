"""Delivering webhooks: the worker's task that POSTs one delivery, signed, and retries it.

A failed attempt (no answer, or anything but 2xx) is retried after
WEBHOOK_RETRY_BASE_SECONDS × 2^(n-1) until WEBHOOK_MAX_ATTEMPTS attempts, then
the delivery is marked failed. Every attempt is logged with its answer. Each
attempt is signed anew (`webhook_signing`) under the same message id, the
event's id, so a receiver recognises a repeat.
"""

from __future__ import annotations

import datetime as dt
import json
import time

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from claimdesk.core.tasks import defer_at
from claimdesk.core.worker import claim_is_free, worker_id

from .conf import option
from .models import WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus
from .webhook_signing import signature_headers
from .webhook_transport import post

USER_AGENT = "claimdesk-webhooks/1"


def webhook_deliver(*, delivery_id: int, manual: bool = False) -> WebhookDelivery | None:
    """POST one delivery and record the answer; schedule a retry after a failure.

    Three steps, and no transaction or row lock is held while the receiver is
    called: claim the delivery for this worker (a conditional update: of a
    manual redelivery and a scheduled retry racing, one posts and the other
    finds it claimed), POST, then record the answer and clear the claim. A
    claim whose worker died (or, of another host, older than
    CLAIM_STALE_SECONDS) is taken over: the receiver may then get the delivery
    again, always with the same `webhook-id` and `X-Claimdesk-Delivery`. A
    retry that finds a later retry scheduled (a stale task) sends nothing.
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
    code, error_text = post(
        endpoint.url,
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Claimdesk-Event": delivery.event_type,
            "X-Claimdesk-Event-Id": delivery.event_id,
            "X-Claimdesk-Delivery": str(delivery.pk),
            **signature_headers(
                endpoint.secret, message_id=delivery.event_id, timestamp=timestamp, body=body
            ),
        },
        float(option("WEBHOOK_TIMEOUT_SECONDS")),
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
    elif locked.attempts < int(option("WEBHOOK_MAX_ATTEMPTS")):
        delay = int(option("WEBHOOK_RETRY_BASE_SECONDS")) * 2 ** (locked.attempts - 1)
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
