"""The only way an interface layer gets a note, an attachment or a saved reply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from claimdesk.core.errors import NotFound
from claimdesk.core.i18n import lazy_text as _

from .models import Note, NoteAttachment, NoteParty, SavedReply

if TYPE_CHECKING:
    from claimdesk.accounts.models import User
    from claimdesk.orders.models import Order


def visible_notes_q(user: User, prefix: str = "") -> Q:
    """Return the condition on notes that `user` may read (parties only, nothing else)."""
    p = prefix
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_operator:
        return Q()
    if user.is_seller and user.shop_id is not None:
        side = NoteParty.SELLER.value
        return Q(**{f"{p}order__shop_id": user.shop_id}) & (
            Q(**{f"{p}author_role": side}) | Q(**{f"{p}recipient_role": side})
        )
    if user.is_buyer:
        side = NoteParty.BUYER.value
        return Q(**{f"{p}order__buyer_id": user.pk}) & (
            Q(**{f"{p}author_role": side}) | Q(**{f"{p}recipient_role": side})
        )
    return Q(pk__in=[])


def thread_notes(user: User, order: Order) -> QuerySet[Note]:
    """Return the notes of `order` that `user` may read, oldest first, with attachments."""
    return (
        Note.objects.filter(visible_notes_q(user), order=order)
        .select_related("author")
        .prefetch_related("attachments", "deliveries")
        .order_by("created_at", "id")
    )


def access_note(user: User, order: Order, note_id: object) -> Note:
    """Return note `note_id` of `order` if `user` may read it, or raise NotFound."""
    try:
        pk = int(str(note_id))
    except (TypeError, ValueError):
        pk = -1
    note = Note.objects.filter(visible_notes_q(user), order=order, pk=pk).first()
    if note is None:
        raise NotFound("note_not_found", _("No such note."))
    return note


def access_attachment(user: User, attachment_id: object) -> NoteAttachment:
    """Return an attachment of a note `user` may read, or raise NotFound."""
    try:
        pk = int(str(attachment_id))
    except (TypeError, ValueError):
        pk = -1
    attachment = (
        NoteAttachment.objects.select_related("note", "note__order")
        .filter(visible_notes_q(user, "note__"), pk=pk)
        .first()
    )
    if attachment is None:
        raise NotFound("attachment_not_found", _("No such file."))
    return attachment


def access_saved_reply_for_seller(user: User, reply_id: object) -> SavedReply:
    """Return a saved reply of the user's shop, or raise NotFound."""
    try:
        pk = int(str(reply_id))
    except (TypeError, ValueError):
        pk = -1
    if user.shop_id is None:
        raise NotFound("reply_not_found", _("No such saved reply."))
    reply = SavedReply.objects.filter(pk=pk, shop_id=user.shop_id).first()
    if reply is None:
        raise NotFound("reply_not_found", _("No such saved reply."))
    return reply
