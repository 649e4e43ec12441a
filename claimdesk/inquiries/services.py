"""Opening, answering, assigning and closing inquiries (the only writers of this app).

Attachments go through the same checks and the same private storage as note
attachments (`claimdesk.messaging`): content sniffed, 4 MB in all.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.files import File
from django.db import transaction
from django.utils import timezone, translation

from claimdesk.accounts.roles import require_role, role_of
from claimdesk.core.conf import setting
from claimdesk.core.errors import Conflict, InvalidInput, NotFound
from claimdesk.core.i18n import lazy_text as _
from claimdesk.messaging.policies import extension_for
from claimdesk.messaging.services import attachment_display_name, check_attachments, notify
from claimdesk.messaging.storage import note_storage
from claimdesk.orders.access import access_order_for_seller

from .models import (
    Inquiry,
    InquiryAttachment,
    InquiryCategory,
    InquiryMessage,
    InquiryStatus,
)

if TYPE_CHECKING:
    from claimdesk.accounts.models import User
    from claimdesk.orders.models import Order

MAX_SUBJECT_CHARS = 200
MAX_ORDERS = 50
_REFERENCE = re.compile(r"^[A-Z0-9]{4,32}$")
_CODE = re.compile(r"^[a-z0-9_.\-]{1,64}$")


def _clean_body(body: str) -> str:
    text = (body or "").strip()
    if not text:
        raise InvalidInput("message_required", _("Write your message."), {"field": "body"})
    limit = setting("MEMO_MAX_CHARS")
    if len(text) > limit:
        raise InvalidInput(
            "text_too_long",
            _("The message is %(length)s characters long; at most %(limit)s are allowed.")
            % {"length": len(text), "limit": limit},
            {"field": "body"},
        )
    return text


def _clean_subject(subject: str) -> str:
    text = (subject or "").strip()
    if not text:
        raise InvalidInput("subject_required", _("Enter a subject."), {"field": "subject"})
    if len(text) > MAX_SUBJECT_CHARS:
        raise InvalidInput(
            "subject_too_long",
            _("The subject is too long (at most %(limit)s characters).")
            % {"limit": MAX_SUBJECT_CHARS},
            {"field": "subject"},
        )
    return text


def parse_order_nos(text: str) -> list[str]:
    """Split the order numbers a seller typed (commas, spaces or new lines between them)."""
    return [part for part in re.split(r"[\s,、，]+", text or "") if part]


def _seller_orders(actor: User, order_nos: Sequence[str]) -> list[Order]:
    """Return the named orders, each checked to be the actor's shop's own."""
    if len(order_nos) > MAX_ORDERS:
        raise InvalidInput(
            "too_many_orders",
            _("Name at most %(max)s orders; for more, use bulk cancellation.")
            % {"max": MAX_ORDERS},
        )
    orders: dict[int, Order] = {}
    for number in order_nos:
        order = access_order_for_seller(actor, number)  # NotFound for another shop's order
        orders[order.pk] = order
    return list(orders.values())


def _store(message: InquiryMessage, files: Sequence[File]) -> list[str]:
    stored: list[str] = []
    for upload, content_type in check_attachments(list(files)):
        path = note_storage.save(
            f"inquiries/{message.inquiry_id}/{uuid.uuid4().hex}.{extension_for(content_type)}",
            upload,
        )
        stored.append(path)
        InquiryAttachment.objects.create(
            message=message,
            file=path,
            name=attachment_display_name(upload),
            content_type=content_type,
            size=int(upload.size or 0),
        )
    return stored


def _add_message(
    inquiry: Inquiry,
    *,
    actor: User,
    body: str,
    attachments: Sequence[File] = (),
    action: str = "",
) -> InquiryMessage:
    """Append a message with its files. Call inside a transaction; files are removed on error."""
    message = InquiryMessage.objects.create(
        inquiry=inquiry, author=actor, author_role=role_of(actor), body=body, action=action
    )
    stored: list[str] = []
    try:
        stored = _store(message, attachments)
    except BaseException:
        for path in stored:
            note_storage.delete(path)
        raise
    return message


def inquiry_open(
    *,
    actor: User,
    category: str,
    subject: str,
    body: str,
    order_nos: Sequence[str] = (),
    attachments: Sequence[File] = (),
    error_code: str = "",
    error_reference: str = "",
) -> Inquiry:
    """Open an inquiry of the actor's shop; named orders must be the shop's own."""
    require_role(actor, "seller")
    if category not in InquiryCategory.values:
        raise InvalidInput(
            "category_unknown", _("Choose a category from the list."), {"field": "category"}
        )
    subject = _clean_subject(subject)
    text = _clean_body(body)
    reference = (error_reference or "").strip().upper()
    code = (error_code or "").strip()
    if reference and not _REFERENCE.match(reference):
        raise InvalidInput("reference_invalid", _("This error reference is not valid."))
    if code and not _CODE.match(code):
        code = ""
    orders = _seller_orders(actor, order_nos)
    shop_id = actor.shop_id
    if shop_id is None:
        raise NotFound("order_not_found", _("No such order. Check the order number."))
    # Check the files before anything is written (the same rules as notes).
    check_attachments(list(attachments))
    for upload in attachments:
        upload.seek(0)
    now = timezone.now()
    with transaction.atomic():
        inquiry = Inquiry.objects.create(
            shop_id=shop_id,
            opened_by=actor,
            category=category,
            subject=subject,
            error_code=code,
            error_reference=reference,
            created_at=now,
            updated_at=now,
            waiting_since=now,
        )
        inquiry.orders.set(orders)
        _add_message(inquiry, actor=actor, body=text, attachments=attachments)
    return inquiry


def _lock(inquiry: Inquiry) -> Inquiry:
    return Inquiry.objects.select_for_update(of=("self",)).select_related("shop").get(pk=inquiry.pk)


def _refuse_closed(inquiry: Inquiry) -> None:
    if inquiry.status == InquiryStatus.CLOSED:
        raise Conflict(
            "inquiry_closed",
            _("This inquiry is closed. Open a new one if you need more help."),
        )


def _mail_seller(inquiry: Inquiry, *, kind: str, body: str = "") -> None:
    with translation.override(inquiry.shop.language or "ja"):
        status = str(InquiryStatus(inquiry.status).label)
    notify(
        shop=inquiry.shop,
        kind=kind,
        context={
            "inquiry": inquiry.pk,
            "subject": inquiry.subject,
            "status": status,
            "body": body,
        },
    )


def inquiry_reply(
    *,
    actor: User,
    inquiry: Inquiry,
    body: str,
    attachments: Sequence[File] = (),
    wait_for_seller: bool = False,
) -> InquiryMessage:
    """Add a message to the thread.

    A seller's message puts the inquiry back in the queue (open); an
    operator's answers it (answered), or asks the seller for more
    (waiting for seller); the seller is mailed either way.
    """
    require_role(actor, "seller", "operator")
    text = _clean_body(body)
    check_attachments(list(attachments))
    for upload in attachments:
        upload.seek(0)
    with transaction.atomic():
        inquiry = _lock(inquiry)
        if actor.is_seller and inquiry.shop_id != actor.shop_id:
            raise NotFound("inquiry_not_found", _("No such inquiry."))
        _refuse_closed(inquiry)
        message = _add_message(inquiry, actor=actor, body=text, attachments=attachments)
        now = timezone.now()
        if actor.is_seller:
            inquiry.status = InquiryStatus.OPEN
            inquiry.waiting_since = now
        else:
            inquiry.status = (
                InquiryStatus.WAITING_SELLER if wait_for_seller else InquiryStatus.ANSWERED
            )
            inquiry.waiting_since = None
            inquiry.first_answered_at = inquiry.first_answered_at or now
            if inquiry.assigned_to_id is None:
                inquiry.assigned_to = actor
        inquiry.updated_at = now
        inquiry.save()
        if actor.is_operator:
            _mail_seller(inquiry, kind="inquiry_answered", body=text)
    return message


def inquiry_record_action(
    *, actor: User, inquiry: Inquiry, action: str, body: str
) -> InquiryMessage:
    """Write an operator's action on a named order into the thread and answer the seller."""
    require_role(actor, "operator")
    text = _clean_body(body)
    with transaction.atomic():
        inquiry = _lock(inquiry)
        _refuse_closed(inquiry)
        message = _add_message(inquiry, actor=actor, body=text, action=action)
        now = timezone.now()
        inquiry.status = InquiryStatus.ANSWERED
        inquiry.waiting_since = None
        inquiry.first_answered_at = inquiry.first_answered_at or now
        inquiry.assigned_to = inquiry.assigned_to or actor
        inquiry.updated_at = now
        inquiry.save()
        _mail_seller(inquiry, kind="inquiry_answered", body=text)
    return message


def inquiry_assign(*, actor: User, inquiry: Inquiry, assignee: User | None) -> Inquiry:
    """Give the inquiry to an operator (or take it back to the shared queue)."""
    require_role(actor, "operator")
    if assignee is not None and not assignee.is_operator:
        raise InvalidInput("assignee_invalid", _("Inquiries can be assigned to operators only."))
    with transaction.atomic():
        inquiry = _lock(inquiry)
        _refuse_closed(inquiry)
        inquiry.assigned_to = assignee
        inquiry.updated_at = timezone.now()
        inquiry.save(update_fields=["assigned_to", "updated_at"])
    return inquiry


def inquiry_close(*, actor: User, inquiry: Inquiry) -> Inquiry:
    """Close the inquiry (the seller when settled, or an operator)."""
    require_role(actor, "seller", "operator")
    with transaction.atomic():
        inquiry = _lock(inquiry)
        if actor.is_seller and inquiry.shop_id != actor.shop_id:
            raise NotFound("inquiry_not_found", _("No such inquiry."))
        _refuse_closed(inquiry)
        now = timezone.now()
        inquiry.status = InquiryStatus.CLOSED
        inquiry.closed_at = now
        inquiry.waiting_since = None
        inquiry.updated_at = now
        inquiry.save()
        if actor.is_operator:
            _mail_seller(inquiry, kind="inquiry_closed")
    return inquiry
