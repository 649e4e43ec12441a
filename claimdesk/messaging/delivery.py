"""Delivering what messaging queued: one mail, one note's pushes; the outcome of each.

The tasks (`tasks.py`) run these and queue the retry they return; the
services queue the tasks. Codes other apps put in a mail's context (a claim's
reason and status) are turned into labels through `CODE_LABELS`, which the
app owning the codes fills when Django starts, so that messaging imports none
of the apps above it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string
from django.utils import timezone, translation

from claimdesk.core.worker import claim_is_free, worker_id
from claimdesk.payments.models import RefundDestination

from .mails import MAILS
from .models import (
    DeliveryChannel,
    DeliveryStatus,
    Note,
    NoteCategory,
    NoteDelivery,
    NoteParty,
    Notification,
    NotificationStatus,
    PushAttempt,
)
from .push import PushMessage, get_push_adapter

logger = logging.getLogger(__name__)

MAX_MAIL_ATTEMPTS = 5
MAX_PUSH_ATTEMPTS = 3

#: code key of a mail's context -> (label key, function(code, notification) -> the label
#: in the active language). Filled by the app that owns the codes (`ClaimsConfig.ready`).
CODE_LABELS: dict[str, tuple[str, Callable[[str, Notification], str]]] = {}


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render_notification(notification: Notification) -> tuple[str, str]:
    """Return (subject, text body) of `notification` in its language."""
    subject_t, body_t = MAILS[notification.kind]
    with translation.override(notification.language):
        ctx = _Lenient(notification.context)
        for code_key, (label_key, label) in CODE_LABELS.items():
            if code_key in ctx and not ctx.get(label_key):
                ctx[label_key] = label(ctx[code_key], notification)
        if ctx.get("category") and not ctx.get("category_label"):
            ctx["category_label"] = str(NoteCategory(ctx["category"]).label)
        if ctx.get("sender_role") and not ctx.get("sender"):
            ctx["sender"] = _sender_label(ctx)
        if ctx.get("destination"):
            ctx["destination"] = str(RefundDestination(ctx["destination"]).label)
        return str(subject_t) % ctx, str(body_t) % ctx


def _sender_label(ctx: dict[str, Any]) -> str:
    role = ctx["sender_role"]
    if role == NoteParty.SELLER:
        return str(ctx.get("shop_name", ""))
    if role == NoteParty.BUYER:
        return str(ctx.get("buyer_name", ""))
    return str(NoteParty.CUSTOMER_CENTER.label)


def _render_html(notification: Notification, subject: str, body: str) -> str:
    """Return the HTML part of a mail: the same text, in the recipient's language."""
    with translation.override(notification.language):
        return render_to_string(
            "messaging/mail.html",
            {
                "subject": subject,
                "paragraphs": [p for p in body.split("\n\n") if p.strip()],
                "language": notification.language,
            },
        )


def notification_send(*, notification_id: int) -> dt.datetime | None:
    """Send one queued mail once and record the outcome. Safe to run twice, or at once.

    Return when to try again after a failed attempt (None: sent, given up, or
    not this run's to send); the task queues the retry.

    The row is claimed for this worker (a conditional update) before the mail
    leaves, and the claim is cleared with the outcome; no transaction is open
    while the mail server talks. Another run finds the mail sent, or claimed
    by a live worker, and leaves it. A claim whose worker died (or, of another
    host, older than CLAIM_STALE_SECONDS) is taken over and the mail sent: only
    a worker dying between the server's acceptance and the outcome's record
    would send it twice, under the same Message-ID.
    """
    now = timezone.now()
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None or notification.status == NotificationStatus.SENT:
        return None
    if not claim_is_free(notification.claimed_by, notification.claimed_at, now=now):
        return None
    me = worker_id()
    won = (
        Notification.objects.filter(
            pk=notification_id,
            claimed_by=notification.claimed_by,
            claimed_at=notification.claimed_at,
        )
        .exclude(status=NotificationStatus.SENT)
        .update(claimed_by=me, claimed_at=now)
    )
    if not won:
        return None
    subject, body = render_notification(notification)
    html = _render_html(notification, subject, body)
    message = EmailMultiAlternatives(
        subject=subject,
        body=body,
        to=[notification.email],
        headers={"Message-ID": f"<notification-{notification.pk}@{DNS_NAME}>"},
    )
    message.attach_alternative(html, "text/html")
    mine = Notification.objects.filter(pk=notification_id, claimed_by=me, claimed_at=now)
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - any transport error is a failed attempt
        mine.update(
            status=NotificationStatus.FAILED,
            attempts=notification.attempts + 1,
            last_error=str(exc)[:255],
            claimed_by="",
            claimed_at=None,
        )
        logger.warning("mail %s failed: %s", notification_id, exc)
        if notification.note_id is not None:
            refresh_mail_delivery(notification.note_id, error=str(exc))
        if notification.attempts + 1 < MAX_MAIL_ATTEMPTS:
            return timezone.now() + dt.timedelta(seconds=30 * 2**notification.attempts)
        return None
    mine.update(
        status=NotificationStatus.SENT,
        attempts=notification.attempts + 1,
        sent_at=timezone.now(),
        subject=subject,
        claimed_by="",
        claimed_at=None,
    )
    if notification.note_id is not None:
        refresh_mail_delivery(notification.note_id)
    return None


def _delivery_status(total: int, sent: int, failed: int) -> str:
    if total == 0:
        return DeliveryStatus.NONE
    if sent + failed < total:
        return DeliveryStatus.QUEUED
    if failed == 0:
        return DeliveryStatus.SENT
    return DeliveryStatus.FAILED if sent == 0 else DeliveryStatus.PARTIAL


def refresh_mail_delivery(note_id: int, *, error: str = "") -> None:
    rows = list(Notification.objects.filter(note_id=note_id).values_list("status", "last_error"))
    sent = sum(1 for status, _e in rows if status == NotificationStatus.SENT)
    failed = sum(1 for status, _e in rows if status == NotificationStatus.FAILED)
    last_error = error or next((e for status, e in rows if status == "failed" and e), "")
    NoteDelivery.objects.update_or_create(
        note_id=note_id,
        channel=DeliveryChannel.MAIL,
        defaults={
            "total": len(rows),
            "sent": sent,
            "failed": failed,
            "status": _delivery_status(len(rows), sent, failed),
            "last_error": last_error[:255] if failed else "",
            "updated_at": timezone.now(),
        },
    )


def refresh_push_delivery(note_id: int) -> None:
    attempts = list(PushAttempt.objects.filter(note_id=note_id))
    sent = sum(1 for a in attempts if a.ok)
    failed = sum(1 for a in attempts if not a.ok and a.attempts > 0)
    errors = [a.error for a in attempts if not a.ok and a.error]
    NoteDelivery.objects.update_or_create(
        note_id=note_id,
        channel=DeliveryChannel.PUSH,
        defaults={
            "total": len(attempts),
            "sent": sent,
            "failed": failed,
            "status": _delivery_status(len(attempts), sent, failed),
            "last_error": errors[-1][:255] if errors else "",
            "updated_at": timezone.now(),
        },
    )


def note_push_send(*, note_id: int) -> dt.datetime | None:
    """Push a note to each recipient device not reached yet; record each outcome.

    Return when to try again the devices that failed (None: nothing to retry).
    """
    note = Note.objects.select_related("order").filter(pk=note_id).first()
    if note is None:
        return None
    adapter = get_push_adapter()
    pending = PushAttempt.objects.filter(note=note, ok=False, device__active=True).select_related(
        "device"
    )
    retry = False
    for attempt in pending:
        message = PushMessage(
            token=attempt.device.token,
            platform=attempt.device.platform,
            title=note.title,
            body=note.body[:180],
            data={"order_no": note.order.order_no, "note": note.pk},
        )
        try:
            adapter.send(message)
        except Exception as exc:  # noqa: BLE001 - any provider error is a failed attempt
            attempt.error = str(exc)[:255]
            attempt.attempts += 1
            retry = retry or attempt.attempts < MAX_PUSH_ATTEMPTS
        else:
            attempt.ok = True
            attempt.error = ""
            attempt.attempts += 1
        attempt.updated_at = timezone.now()
        attempt.save(update_fields=["ok", "error", "attempts", "updated_at"])
    refresh_push_delivery(note_id)
    return timezone.now() + dt.timedelta(seconds=60) if retry else None
