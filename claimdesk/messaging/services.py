"""Notes and notifications."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files import File
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import get_valid_filename

from claimdesk.accounts.roles import require_party, require_role, role_of
from claimdesk.core.conf import setting
from claimdesk.core.errors import DomainError, InvalidInput, NotFound
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.tasks import defer, defer_at
from claimdesk.core.worker import claim_is_free, worker_id

from .conf import option
from .mails import MAILS
from .models import (
    DeliveryChannel,
    DeliveryStatus,
    Note,
    NoteAttachment,
    NoteCategory,
    NoteDelivery,
    NoteParty,
    Notification,
    NotificationStatus,
    PushAttempt,
    PushDevice,
    PushPlatform,
    SavedReply,
)
from .policies import (
    SNIFF_BYTES,
    attachments_fit,
    char_count,
    extension_for,
    sniff_content_type,
)
from .push import PushMessage, get_push_adapter
from .replies import NOTE_LANGUAGES
from .storage import note_storage

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
    note: Note | None = None,
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
    return [
        _queue_mail(
            email=email,
            language=language,
            user=user,
            shop=shop,
            kind=kind,
            order=order,
            claim=claim,
            note=note,
            context=_base_context(order, claim) | (context or {}),
        )
        for email, language, user in people
    ]


def _queue_mail(
    *,
    email: str,
    language: str,
    user: User | None,
    shop: Shop | None,
    kind: str,
    order: Order | None,
    claim: Claim | None,
    note: Note | None,
    context: dict[str, Any],
) -> Notification:
    notification = Notification.objects.create(
        recipient=user,
        shop=shop,
        email=email,
        language=language,
        kind=kind,
        order=order,
        claim=claim,
        note=note,
        context=context,
    )
    from .tasks import send_notification

    defer(send_notification, notification.pk)
    return notification


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
        if ctx.get("category") and not ctx.get("category_label"):
            ctx["category_label"] = str(NoteCategory(ctx["category"]).label)
        if ctx.get("sender_role") and not ctx.get("sender"):
            ctx["sender"] = _sender_label(ctx)
        if ctx.get("destination"):
            from claimdesk.payments.models import RefundDestination

            ctx["destination"] = str(RefundDestination(ctx["destination"]).label)
        return str(subject_t) % ctx, str(body_t) % ctx


def _sender_label(ctx: dict[str, Any]) -> str:
    role = ctx["sender_role"]
    if role == NoteParty.SELLER:
        return str(ctx.get("shop_name", ""))
    if role == NoteParty.BUYER:
        return str(ctx.get("buyer_name", ""))
    return str(NoteParty.CUSTOMER_CENTER.label)


def _reason_label(code: str, notification: Notification) -> str:
    from claimdesk.claims.reasons import get_reason

    kind = (
        "cancel"
        if notification.claim is None or notification.claim.type in ("cancel", "unpaid_cancel")
        else "return"
    )
    reason = get_reason(kind, code)
    return str(reason.label) if reason else code


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


def notification_send(*, notification_id: int) -> Notification | None:
    """Send one queued mail once and record the outcome. Safe to run twice, or at once.

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
        return notification
    if not claim_is_free(notification.claimed_by, notification.claimed_at, now=now):
        return notification
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
        return notification
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
            _refresh_mail_delivery(notification.note_id, error=str(exc))
        if notification.attempts + 1 < MAX_MAIL_ATTEMPTS:
            from .tasks import send_notification

            backoff = dt.timedelta(seconds=30 * 2**notification.attempts)
            defer_at(send_notification, timezone.now() + backoff, notification_id)
        return notification
    mine.update(
        status=NotificationStatus.SENT,
        attempts=notification.attempts + 1,
        sent_at=timezone.now(),
        subject=subject,
        claimed_by="",
        claimed_at=None,
    )
    if notification.note_id is not None:
        _refresh_mail_delivery(notification.note_id)
    return notification


# --- notes ------------------------------------------------------------------------------

#: author role -> the recipients that author may write to (first = default).
RECIPIENTS: dict[str, tuple[str, ...]] = {
    "seller": (NoteParty.BUYER, NoteParty.CUSTOMER_CENTER),
    "buyer": (NoteParty.SELLER, NoteParty.CUSTOMER_CENTER),
    "operator": (NoteParty.BUYER, NoteParty.SELLER),
}
MAX_TITLE_CHARS = 200
MAX_PUSH_ATTEMPTS = 3


def _party_of(actor: User) -> str:
    """Return the note party an actor writes as (an operator writes as the customer center)."""
    role = role_of(actor)
    return NoteParty.CUSTOMER_CENTER.value if role == "operator" else role


def _clean_note(
    *, actor: User, category: str, title: str, body: str, recipient_role: str | None
) -> tuple[str, str, str, str]:
    allowed = RECIPIENTS.get(role_of(actor), ())
    recipient = recipient_role or (allowed[0] if allowed else "")
    if recipient not in allowed:
        raise InvalidInput(
            "recipient_invalid",
            _("Choose who receives the note: the buyer or the customer center."),
            {"recipient": recipient},
        )
    if category not in NoteCategory.values:
        raise InvalidInput(
            "category_unknown",
            _("Choose a category from the list."),
            {"category": category},
        )
    title = (title or "").strip()
    body = (body or "").strip()
    if not title or not body:
        raise InvalidInput("note_empty", _("Enter a title and a message."))
    if char_count(title) > MAX_TITLE_CHARS:
        raise InvalidInput(
            "title_too_long",
            _("The title is %(length)s characters long; at most %(limit)s are allowed.")
            % {"length": char_count(title), "limit": MAX_TITLE_CHARS},
        )
    limit = setting("MEMO_MAX_CHARS")
    if char_count(body) > limit:
        raise InvalidInput(
            "text_too_long",
            _("The message is %(length)s characters long; at most %(limit)s are allowed.")
            % {"length": char_count(body), "limit": limit},
            {"length": char_count(body), "limit": limit},
        )
    return recipient, category, title, body


def _attachment_limit() -> int:
    return int(option("NOTE_ATTACHMENT_MAX_BYTES"))


def check_attachments(files: Sequence[File]) -> list[tuple[File, str]]:
    """Return (file, content type) for each file, or refuse the whole set."""
    limit = _attachment_limit()
    sizes = [int(f.size or 0) for f in files]
    if not attachments_fit(sizes, limit):
        raise InvalidInput(
            "attachments_too_large",
            _("The files add up to %(size)s; at most %(limit)s in all may be attached.")
            % {"size": filesizeformat(sum(sizes)), "limit": filesizeformat(limit)},
            {"size": sum(sizes), "limit": limit},
        )
    checked = []
    for upload in files:
        upload.seek(0)
        head = upload.read(SNIFF_BYTES)
        upload.seek(0)
        content_type = sniff_content_type(head)
        if content_type is None:
            raise InvalidInput(
                "attachment_type",
                _(
                    "%(name)s is not a JPG, PNG, GIF or PDF file (its content was checked, "
                    "not its name). Attach only these types."
                )
                % {"name": attachment_display_name(upload)},
                {"name": attachment_display_name(upload)},
            )
        checked.append((upload, content_type))
    return checked


def attachment_display_name(upload: File) -> str:
    """Return a safe file name to show and store for an upload."""
    name = Path(str(upload.name or "file")).name
    return get_valid_filename(name)[:150] or "file"


def _store_attachments(note: Note, files: list[tuple[File, str]]) -> list[str]:
    """Save the files under the note; return the stored paths (to delete on rollback)."""
    stored: list[str] = []
    for upload, content_type in files:
        path = note_storage.save(
            f"notes/{note.order.order_no}/{uuid.uuid4().hex}.{extension_for(content_type)}",
            upload,
        )
        stored.append(path)
        NoteAttachment.objects.create(
            note=note,
            file=path,
            name=attachment_display_name(upload),
            content_type=content_type,
            size=int(upload.size or 0),
        )
    return stored


def _recipient_people(order: Order, recipient: str) -> tuple[User | None, Shop | None]:
    if recipient == NoteParty.BUYER:
        return order.buyer, None
    if recipient == NoteParty.SELLER:
        return None, order.shop
    return None, None


def _recipient_devices(order: Order, recipient: str) -> list[PushDevice]:
    devices = PushDevice.objects.filter(active=True)
    if recipient == NoteParty.BUYER:
        return list(devices.filter(user_id=order.buyer_id))
    if recipient == NoteParty.SELLER:
        return list(devices.filter(user__shop_id=order.shop_id, user__is_active=True))
    return []


def _mail_context(note: Note) -> dict[str, Any]:
    order = note.order
    return {
        "title": note.title,
        "body": note.body,
        "category": note.category,
        "sender_role": note.author_role,
        "shop_name": order.shop.name,
        "buyer_name": str(order.buyer) if order.buyer_id else "",
        "attachments": note.attachments.count(),
    }


def note_send(
    *,
    actor: User,
    order: Order,
    category: str,
    title: str,
    body: str,
    recipient_role: str | None = None,
    attachments: Sequence[File] = (),
    by_mail: bool = False,
) -> Note:
    """Add a note to `order`'s thread and deliver it in-app, by mail if asked, and by push.

    The in-app channel is done when this returns; mail and push are queued as
    tasks that run after commit, and record their outcome in NoteDelivery.
    """
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    recipient, category, title, body = _clean_note(
        actor=actor, category=category, title=title, body=body, recipient_role=recipient_role
    )
    files = check_attachments(list(attachments))
    stored: list[str] = []
    try:
        with transaction.atomic():
            note = Note.objects.create(
                order=order,
                shop_id=order.shop_id,
                author=actor,
                author_role=_party_of(actor),
                recipient_role=recipient,
                category=category,
                title=title,
                body=body,
                by_mail=by_mail,
            )
            stored = _store_attachments(note, files)
            NoteDelivery.objects.create(
                note=note, channel=DeliveryChannel.NOTE, total=1, sent=1, status=DeliveryStatus.SENT
            )
            mails: list[Notification] = []
            if by_mail:
                mails = _queue_note_mail(note, recipient)
            NoteDelivery.objects.create(
                note=note,
                channel=DeliveryChannel.MAIL,
                total=len(mails),
                status=DeliveryStatus.QUEUED if mails else DeliveryStatus.NONE,
            )
            devices = _recipient_devices(order, recipient)
            PushAttempt.objects.bulk_create(PushAttempt(note=note, device=d) for d in devices)
            NoteDelivery.objects.create(
                note=note,
                channel=DeliveryChannel.PUSH,
                total=len(devices),
                status=DeliveryStatus.QUEUED if devices else DeliveryStatus.NONE,
            )
            if devices:
                from .tasks import send_note_push

                defer(send_note_push, note.pk)
            from .webhooks import webhook_on_note

            webhook_on_note(note)
    except BaseException:
        for path in stored:
            note_storage.delete(path)
        raise
    return note


def _queue_note_mail(note: Note, recipient: str) -> list[Notification]:
    order = note.order
    context = _base_context(order, None) | _mail_context(note)
    if recipient == NoteParty.CUSTOMER_CENTER:
        address = str(option("CUSTOMER_CENTER_EMAIL") or "")
        if not address:
            return []
        return [
            _queue_mail(
                email=address,
                language=settings.LANGUAGE_CODE,
                user=None,
                shop=None,
                kind="note_received",
                order=order,
                claim=None,
                note=note,
                context=context,
            )
        ]
    person, shop = _recipient_people(order, recipient)
    return notify(
        recipient=person, shop=shop, kind="note_received", order=order, note=note, context=context
    )


def _delivery_status(total: int, sent: int, failed: int) -> str:
    if total == 0:
        return DeliveryStatus.NONE
    if sent + failed < total:
        return DeliveryStatus.QUEUED
    if failed == 0:
        return DeliveryStatus.SENT
    return DeliveryStatus.FAILED if sent == 0 else DeliveryStatus.PARTIAL


def _refresh_mail_delivery(note_id: int, *, error: str = "") -> None:
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


def _refresh_push_delivery(note_id: int) -> None:
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


def note_push_send(*, note_id: int) -> None:
    """Push a note to each recipient device not reached yet; record each outcome."""
    note = Note.objects.select_related("order").filter(pk=note_id).first()
    if note is None:
        return
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
    _refresh_push_delivery(note_id)
    if retry:
        from .tasks import send_note_push

        defer_at(send_note_push, timezone.now() + dt.timedelta(seconds=60), note_id)


def note_resend(*, actor: User, note: Note) -> Note:
    """Send again the mails and pushes of `note` that failed (the author's side only)."""
    order = note.order
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    if note.author_role != _party_of(actor):
        raise NotFound("note_not_found", _("No such note."))
    with transaction.atomic():
        failed_mails = list(
            Notification.objects.select_for_update().filter(
                note=note, status=NotificationStatus.FAILED
            )
        )
        failed_pushes = PushAttempt.objects.filter(note=note, ok=False, attempts__gt=0)
        if not failed_mails and not failed_pushes.exists():
            raise DomainError(
                "nothing_to_resend",
                _("Nothing failed on this note, so there is nothing to send again."),
            )
        from .tasks import send_note_push, send_notification

        for notification in failed_mails:
            Notification.objects.filter(pk=notification.pk).update(status=NotificationStatus.QUEUED)
            defer(send_notification, notification.pk)
        if failed_mails:
            _refresh_mail_delivery(note.pk)
        if failed_pushes.exists():
            failed_pushes.update(attempts=0, error="")
            _refresh_push_delivery(note.pk)
            defer(send_note_push, note.pk)
    return note


def note_mark_read(*, actor: User, order: Order) -> int:
    """Mark the notes of `order` addressed to the actor's side as read; return how many."""
    require_party(actor, shop_id=order.shop_id, buyer_id=order.buyer_id)
    return Note.objects.filter(
        order=order, recipient_role=_party_of(actor), read_at__isnull=True
    ).update(read_at=timezone.now())


# --- saved replies --------------------------------------------------------------------------


def _clean_texts(texts: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    limit = setting("MEMO_MAX_CHARS")
    cleaned: dict[str, dict[str, str]] = {}
    for language in NOTE_LANGUAGES:
        entry = texts.get(language) or {}
        title = (entry.get("title") or "").strip()
        body = (entry.get("body") or "").strip()
        if not title and not body:
            continue
        if char_count(title) > MAX_TITLE_CHARS or char_count(body) > limit:
            raise InvalidInput(
                "text_too_long",
                _("A title may have %(title)s characters and a text %(limit)s at most.")
                % {"title": MAX_TITLE_CHARS, "limit": limit},
                {"language": language},
            )
        cleaned[language] = {"title": title, "body": body}
    if not cleaned:
        raise InvalidInput(
            "reply_empty", _("Enter the title and text of the reply in at least one language.")
        )
    return cleaned


def saved_reply_save(
    *,
    actor: User,
    name: str,
    category: str,
    texts: dict[str, dict[str, str]],
    reply: SavedReply | None = None,
) -> SavedReply:
    """Create a saved reply for the actor's shop, or update `reply`."""
    require_role(actor, "seller")
    if reply is not None and reply.shop_id != actor.shop_id:
        raise NotFound("reply_not_found", _("No such saved reply."))
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("reply_name", _("Give the reply a name of at most 100 characters."))
    if category not in NoteCategory.values:
        raise InvalidInput("category_unknown", _("Choose a category from the list."))
    cleaned = _clean_texts(texts)
    if reply is None:
        reply = SavedReply(shop=actor.shop)
    reply.name, reply.category, reply.texts = name, category, cleaned
    reply.updated_at = timezone.now()
    reply.save()
    return reply


def saved_reply_delete(*, actor: User, reply: SavedReply) -> SavedReply:
    """Delete one of the actor's shop's saved replies."""
    require_role(actor, "seller")
    if reply.shop_id != actor.shop_id:
        raise NotFound("reply_not_found", _("No such saved reply."))
    reply.delete()
    return reply


# --- push devices -----------------------------------------------------------------------


def push_device_register(*, actor: User, token: str, platform: str) -> PushDevice:
    """Register (or re-activate) a device of the actor for push messages."""
    token = (token or "").strip()
    if not token or len(token) > 255:
        raise InvalidInput(
            "device_token_invalid", _("Enter the device token (at most 255 characters).")
        )
    if platform not in PushPlatform.values:
        raise InvalidInput("device_platform_invalid", _("Choose the device's platform."))
    with transaction.atomic():
        device = PushDevice.objects.select_for_update().filter(token=token).first()
        if device is not None and device.user_id != actor.pk:
            raise InvalidInput(
                "device_token_taken",
                _("This device is registered to another account. Remove it there first."),
            )
        if device is None:
            return PushDevice.objects.create(user=actor, token=token, platform=platform)
        device.platform = platform
        device.active = True
        device.save(update_fields=["platform", "active"])
    return device


def push_device_remove(*, actor: User, device_id: int) -> None:
    """Stop pushing to one of the actor's devices."""
    deleted, _count = PushDevice.objects.filter(pk=device_id, user=actor).delete()
    if not deleted:
        raise NotFound("device_not_found", _("No such device."))
