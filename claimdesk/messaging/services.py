"""Notes and notifications."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import get_valid_filename

from claimdesk.accounts.roles import require_party, require_role, role_of
from claimdesk.core.bulk import insert_row
from claimdesk.core.conf import setting
from claimdesk.core.errors import DomainError, InvalidInput, NotFound
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.tasks import defer

from .conf import option
from .delivery import refresh_mail_delivery, refresh_push_delivery
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
from .replies import NOTE_LANGUAGES
from .storage import note_storage
from .tasks import send_note_push, send_notification

if TYPE_CHECKING:
    from claimdesk.accounts.models import Shop, User
    from claimdesk.claims.models import Claim
    from claimdesk.orders.models import Order

logger = logging.getLogger(__name__)


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
    notification = insert_row(
        Notification(
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
    )
    defer(send_notification, notification.pk)
    return notification


def _base_context(order: Order | None, claim: Claim | None) -> dict[str, Any]:
    ctx: dict[str, Any] = defaultdict(str)
    if order is not None:
        ctx.update(order_no=order.order_no, item=order.item_title)
    if claim is not None:
        ctx.update(claim=claim.pk, reason_code=claim.reason_code, status_code=claim.status)
    return dict(ctx)


# --- notes ------------------------------------------------------------------------------

#: author role -> the recipients that author may write to (first = default).
RECIPIENTS: dict[str, tuple[str, ...]] = {
    "seller": (NoteParty.BUYER, NoteParty.CUSTOMER_CENTER),
    "buyer": (NoteParty.SELLER, NoteParty.CUSTOMER_CENTER),
    "operator": (NoteParty.BUYER, NoteParty.SELLER),
}
MAX_TITLE_CHARS = 200


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
                defer(send_note_push, note.pk)
            from .webhook_fanout import webhook_on_note

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
        for notification in failed_mails:
            Notification.objects.filter(pk=notification.pk).update(status=NotificationStatus.QUEUED)
            defer(send_notification, notification.pk)
        if failed_mails:
            refresh_mail_delivery(note.pk)
        if failed_pushes.exists():
            failed_pushes.update(attempts=0, error="")
            refresh_push_delivery(note.pk)
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
