"""Reading notes: thread lists, delivery results, the replies a shop can pick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from .models import (
    DeliveryChannel,
    Note,
    NoteCategory,
    NoteDelivery,
    NoteParty,
    Notification,
    PushDevice,
    SavedReply,
    WebhookDelivery,
    WebhookEndpoint,
)
from .replies import BUILTIN_REPLIES, Texts, fill_placeholders

if TYPE_CHECKING:
    from claimdesk.accounts.models import Shop
    from claimdesk.orders.models import Order

CHANNEL_ORDER = (DeliveryChannel.NOTE, DeliveryChannel.MAIL, DeliveryChannel.PUSH)


def seller_threads(shop_id: int, box: str) -> QuerySet[Order]:
    """Return the shop's orders with notes, newest first (inbox: to the shop; sent: by it).

    Each order carries `last_at`, `note_count`, `unread` and `last_title`.
    """
    return _threads(Q(shop_id=shop_id), NoteParty.SELLER.value, box)


def buyer_threads(buyer_id: int, box: str) -> QuerySet[Order]:
    """Return the buyer's orders with notes, newest first (inbox: to the buyer; sent: by them)."""
    return _threads(Q(buyer_id=buyer_id), NoteParty.BUYER.value, box)


def _threads(orders: Q, side: str, box: str) -> QuerySet[Order]:
    from claimdesk.orders.models import Order

    mine = Q(notes__recipient_role=side) if box == "inbox" else Q(notes__author_role=side)
    relevant = Note.objects.filter(order=OuterRef("pk"))
    relevant = (
        relevant.filter(recipient_role=side)
        if box == "inbox"
        else relevant.filter(author_role=side)
    )
    return (
        Order.objects.filter(orders)
        .filter(mine)
        .annotate(
            last_at=Max("notes__created_at"),
            note_count=Count("notes"),
            unread=Count(
                "notes",
                filter=Q(notes__recipient_role=side, notes__read_at__isnull=True),
            ),
            last_title=Subquery(relevant.order_by("-created_at", "-id").values("title")[:1]),
        )
        .order_by("-last_at", "-order_no")
    )


@dataclass(frozen=True)
class ChannelResult:
    channel: str
    total: int
    sent: int
    failed: int
    queued: int
    status: str
    last_error: str


def delivery_results(note: Note) -> list[ChannelResult]:
    """Return the outcome of each channel of `note`, in the seed's order."""
    rows = {d.channel: d for d in NoteDelivery.objects.filter(note=note)}
    results = []
    for channel in CHANNEL_ORDER:
        d = rows.get(channel)
        if d is None:
            results.append(ChannelResult(channel, 0, 0, 0, 0, "none", ""))
        else:
            results.append(
                ChannelResult(channel, d.total, d.sent, d.failed, d.queued, d.status, d.last_error)
            )
    return results


def delivery_line(results: list[ChannelResult]) -> str:
    """Return the seed's result line, e.g. "note: 1 sent, 0 failed; mail: …; push: …".

    A channel still waiting for the worker adds ", n queued".
    """
    labels = {
        DeliveryChannel.NOTE: _("note"),
        DeliveryChannel.MAIL: _("mail"),
        DeliveryChannel.PUSH: _("push"),
    }
    parts = []
    for r in results:
        text = _("%(channel)s: %(sent)s sent, %(failed)s failed") % {
            "channel": labels[DeliveryChannel(r.channel)],
            "sent": r.sent,
            "failed": r.failed,
        }
        if r.queued:
            text += _(", %(queued)s queued") % {"queued": r.queued}
        parts.append(text)
    return "; ".join(parts)


@dataclass(frozen=True)
class ReplyChoice:
    key: str  # "builtin:<code>" or "shop:<id>"
    name: str
    category: str
    texts: Texts
    builtin: bool

    @property
    def category_label(self) -> str:
        return str(NoteCategory(self.category).label)


def reply_choices(shop_id: int) -> list[ReplyChoice]:
    """Return the built-in replies and the shop's own, for the 常用的回复 picker."""
    choices = [
        ReplyChoice(f"builtin:{r.code}", str(r.name), r.category, r.texts, True)
        for r in BUILTIN_REPLIES
    ]
    choices += [
        ReplyChoice(f"shop:{r.pk}", r.name, r.category, r.texts, False)
        for r in SavedReply.objects.filter(shop_id=shop_id).order_by("name", "id")
    ]
    return choices


def shop_reply_texts(shop_id: int) -> list[Texts]:
    """Return the texts of the shop's own replies (the built-in translator's extra catalogue)."""
    return [r.texts for r in SavedReply.objects.filter(shop_id=shop_id).only("texts")]


def render_reply(choice: ReplyChoice, language: str, values: dict[str, str]) -> dict[str, Any]:
    """Return {"title", "body", "category", "language"} of `choice` filled for one order.

    Falls back to the first language the reply has when `language` is missing.
    """
    lang = language if language in choice.texts else next(iter(choice.texts), language)
    texts = choice.texts.get(lang, {})
    return {
        "title": fill_placeholders(texts.get("title", ""), values),
        "body": fill_placeholders(texts.get("body", ""), values),
        "category": choice.category,
        "language": lang,
    }


def cancel_notice_sent(order_id: int) -> bool:
    """Return whether the seller sent the buyer a キャンセル/払い戻し note about the order."""
    return Note.objects.filter(
        order_id=order_id,
        author_role="seller",
        recipient_role="buyer",
        category=NoteCategory.CANCEL_REFUND,
    ).exists()


def seller_unread_notes(shop_id: int, limit: int = 10) -> list[Note]:
    """Return the shop's latest `limit` notes the seller has not read, with their order."""
    return list(
        Note.objects.filter(shop_id=shop_id, recipient_role="seller", read_at__isnull=True)
        .select_related("order")
        .order_by("-created_at")[:limit]
    )


def user_push_devices(user_id: int) -> QuerySet[PushDevice]:
    """Return the login's push devices, newest first."""
    return PushDevice.objects.filter(user_id=user_id).order_by("-created_at")


def shop_saved_replies(shop_id: int) -> QuerySet[SavedReply]:
    """Return the shop's own saved replies by name."""
    return SavedReply.objects.filter(shop_id=shop_id).order_by("name", "id")


def shop_webhook_endpoints(shop_id: int) -> QuerySet[WebhookEndpoint]:
    """Return the shop's webhook endpoints."""
    return WebhookEndpoint.objects.filter(shop_id=shop_id)


def platform_webhook_endpoints() -> QuerySet[WebhookEndpoint]:
    """Return the marketplace's own webhook endpoints (those of no shop)."""
    return WebhookEndpoint.objects.filter(shop__isnull=True)


def shop_webhook_deliveries(shop_id: int, limit: int = 50) -> QuerySet[WebhookDelivery]:
    """Return the `limit` latest deliveries to the shop's endpoints, with their endpoint."""
    return (
        WebhookDelivery.objects.filter(endpoint__shop_id=shop_id)
        .select_related("endpoint")
        .order_by("-created_at", "-id")[:limit]
    )


def shop_recent_mails(shop: Shop, kinds: tuple[str, ...], limit: int) -> QuerySet[Notification]:
    """Return the `limit` latest mails of `kinds` sent about the shop, newest first."""
    return Notification.objects.filter(shop=shop, kind__in=kinds).order_by("-created_at")[:limit]


def endpoint_deliveries(endpoint: WebhookEndpoint, limit: int = 100) -> list[WebhookDelivery]:
    """Return the endpoint's `limit` latest deliveries, newest first."""
    return list(endpoint.deliveries.all()[:limit])
