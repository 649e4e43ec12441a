"""Notes and notifications."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from claimdesk.accounts.roles import role_of
from claimdesk.core.conf import setting
from claimdesk.core.errors import InvalidInput
from claimdesk.core.tasks import defer, defer_at

from .mails import MAILS
from .models import Note, Notification, NotificationStatus

if TYPE_CHECKING:
    from claimdesk.accounts.models import Shop, User
    from claimdesk.claims.models import Claim
    from claimdesk.orders.models import Order

logger = logging.getLogger(__name__)

MAX_MAIL_ATTEMPTS = 5


def notify(
    *,
    recipient: User | None = None,
    shop: Shop | None = None,
    kind: str,
    order: Order | None = None,
    claim: Claim | None = None,
    context: dict[str, Any] | None = None,
) -> list[Notification]:
    """Queue mail `kind` to a person, or to every staff member of `shop`.

    Call inside the transaction that made the change: the mail is sent by a
    task only if that transaction commits.
    """
    if kind not in MAILS:
        raise ValueError(f"unknown notification {kind!r}")
    people: list[tuple[str, str, User | None]] = []
    if recipient is not None and recipient.email:
        people.append((recipient.email, recipient.language, recipient))
    if shop is not None:
        if shop.email:
            people.append((shop.email, shop.language, None))
        else:
            for staff in shop.staff.filter(is_active=True).exclude(email=""):
                people.append((staff.email, staff.language, staff))
    created = []
    for email, language, user in people:
        notification = Notification.objects.create(
            recipient=user,
            shop=shop,
            email=email,
            language=language,
            kind=kind,
            order=order,
            claim=claim,
            context=_base_context(order, claim) | (context or {}),
        )
        from .tasks import send_notification

        defer(send_notification, notification.pk)
        created.append(notification)
    return created


def _base_context(order: Order | None, claim: Claim | None) -> dict[str, Any]:
    ctx: dict[str, Any] = defaultdict(str)
    if order is not None:
        ctx.update(order_no=order.order_no, item=order.item_title)
    if claim is not None:
        ctx.update(claim=claim.pk, reason_code=claim.reason_code, status_code=claim.status)
    return dict(ctx)


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render_notification(notification: Notification) -> tuple[str, str]:
    """Return (subject, text body) of `notification` in its language."""
    subject_t, body_t = MAILS[notification.kind]
    with translation.override(notification.language):
        ctx = _Lenient(notification.context)
        if "reason_code" in ctx and not ctx.get("reason"):
            ctx["reason"] = _reason_label(ctx["reason_code"], notification)
        if "status_code" in ctx and not ctx.get("status"):
            from claimdesk.claims.models import ClaimStatus

            ctx["status"] = str(ClaimStatus(ctx["status_code"]).label)
        if ctx.get("destination"):
            from claimdesk.payments.models import RefundDestination

            ctx["destination"] = str(RefundDestination(ctx["destination"]).label)
        return str(subject_t) % ctx, str(body_t) % ctx


def _reason_label(code: str, notification: Notification) -> str:
    from claimdesk.claims.reasons import get_reason

    kind = (
        "cancel"
        if notification.claim is None or notification.claim.type in ("cancel", "unpaid_cancel")
        else "return"
    )
    reason = get_reason(kind, code)
    return str(reason.label) if reason else code


def notification_send(*, notification_id: int) -> Notification | None:
    """Send one queued mail; record the outcome. Safe to run twice."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None or notification.status == NotificationStatus.SENT:
            return notification
        subject, body = render_notification(notification)
    message = EmailMultiAlternatives(subject=subject, body=body, to=[notification.email])
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - any transport error is a failed attempt
        Notification.objects.filter(pk=notification_id).update(
            status=NotificationStatus.FAILED,
            attempts=notification.attempts + 1,
            last_error=str(exc)[:255],
        )
        logger.warning("mail %s failed: %s", notification_id, exc)
        if notification.attempts + 1 < MAX_MAIL_ATTEMPTS:
            from .tasks import send_notification

            backoff = dt.timedelta(seconds=30 * 2**notification.attempts)
            defer_at(send_notification, timezone.now() + backoff, notification_id)
        return notification
    Notification.objects.filter(pk=notification_id).update(
        status=NotificationStatus.SENT,
        attempts=notification.attempts + 1,
        sent_at=timezone.now(),
        subject=subject,
    )
    return notification


def note_send(
    *,
    actor: User,
    order: Order,
    category: str,
    title: str,
    body: str,
    recipient_role: str = "buyer",
) -> Note:
    """Add a note to `order`'s thread (in-app delivery; mail and push come with the portals)."""
    limit = setting("MEMO_MAX_CHARS")
    if not title.strip() or not body.strip():
        raise InvalidInput("note_empty", _("Enter a title and a message."))
    if len(body) > limit:
        raise InvalidInput(
            "text_too_long",
            _("The message is %(length)s characters long; at most %(limit)s are allowed.")
            % {"length": len(body), "limit": limit},
        )
    return Note.objects.create(
        order=order,
        author=actor,
        author_role=role_of(actor),
        recipient_role=recipient_role,
        category=category,
        title=title[:200],
        body=body,
    )
