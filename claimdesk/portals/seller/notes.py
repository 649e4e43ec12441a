"""Seller notes (给客户发纸条): the send dialog, results, threads, files, saved replies.

Every view works without JavaScript (plain forms, full pages); with htmx the
dialog and its parts are swapped in place. Refusals of the note form are shown
inside the form (the typed text is kept); "not found" stays a 404.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from claimdesk.core.errors import DomainError
from claimdesk.messaging import services as note_services
from claimdesk.messaging.access import (
    access_note,
    access_saved_reply_for_seller,
    thread_notes,
)
from claimdesk.messaging.conf import option
from claimdesk.messaging.models import NoteCategory, NoteParty, SavedReply
from claimdesk.messaging.policies import (
    PERSONAL_DATA_PATTERNS,
    personal_data_spans,
    split_by_spans,
)
from claimdesk.messaging.replies import NOTE_LANGUAGES, PLACEHOLDERS, placeholder_values
from claimdesk.messaging.selectors import (
    delivery_line,
    delivery_results,
    render_reply,
    reply_choices,
    seller_threads,
    shop_reply_texts,
    shop_saved_replies,
)
from claimdesk.messaging.translation import get_translator, translate_text
from claimdesk.orders.access import access_order_for_seller
from claimdesk.orders.models import Order
from claimdesk.portals.common import is_htmx, role_required
from claimdesk.portals.common import signed_in_user as _user
from claimdesk.portals.files import attachment_response

seller_required = role_required("seller", "seller:login")
THREADS_PAGE_SIZE = 30


def _default_target(order: Order) -> str:
    language = (order.buyer.language if order.buyer_id else "") or "ja"
    return language if language in NOTE_LANGUAGES else "ja"


def _form_values(request: HttpRequest, order: Order) -> dict[str, Any]:
    """The dialog's field values: what was posted (or asked for in the URL), else defaults."""
    data = request.POST if request.method == "POST" else request.GET
    user_language = _user(request).language
    target = data.get("target") or _default_target(order)
    return {
        "recipient": data.get("recipient") or NoteParty.BUYER.value,
        "category": data.get("category") or NoteCategory.CANCEL_REFUND.value,
        "title": data.get("title", ""),
        "body": data.get("body", ""),
        "by_mail": data.get("by_mail", "on" if request.method == "GET" else "") == "on",
        "reply": data.get("reply", ""),
        "source": data.get("source")
        or (user_language if user_language in NOTE_LANGUAGES else "ja"),
        "target": target,
        "reply_lang": data.get("reply_lang") or target,
    }


def _apply_reply(request: HttpRequest, order: Order, values: dict[str, Any]) -> None:
    """Fill title, body and category from the picked saved reply, in the chosen language."""
    key = values["reply"]
    choice = next((c for c in reply_choices(order.shop_id) if c.key == key), None)
    if choice is None:
        return
    filled = render_reply(
        choice, values["reply_lang"], placeholder_values(order, timezone.localdate())
    )
    values.update(title=filled["title"], body=filled["body"], category=filled["category"])
    values["source"] = filled["language"]


def _translate(order: Order, values: dict[str, Any]) -> None:
    """Translate the body (and the title when it can) from source to target language."""
    catalogue = shop_reply_texts(order.shop_id)
    values["body"] = translate_text(
        values["body"], source=values["source"], target=values["target"], catalogue=catalogue
    )
    if values["title"].strip():
        try:
            values["title"] = translate_text(
                values["title"],
                source=values["source"],
                target=values["target"],
                catalogue=catalogue,
            )
        except DomainError:
            pass  # a free-text title stays as written; the body was translated
    values["source"] = values["target"]


def _dialog_context(
    request: HttpRequest, order: Order, values: dict[str, Any], error: DomainError | None = None
) -> dict[str, Any]:
    text = f"{values['title']}\n{values['body']}"
    spans = personal_data_spans(text)
    limit = int(option("NOTE_ATTACHMENT_MAX_BYTES"))
    return {
        "order": order,
        "v": values,
        "error": error,
        "categories": NoteCategory.choices,
        "recipients": [
            (NoteParty.BUYER.value, _("Qpost (buyer)")),
            (NoteParty.CUSTOMER_CENTER.value, _("Customer center")),
        ],
        "languages": [(code, label) for code, label in NOTE_LANGUAGES.items()],
        "replies": reply_choices(order.shop_id),
        "pii_patterns": json.dumps(PERSONAL_DATA_PATTERNS),
        "pii_pieces": split_by_spans(text, spans) if spans else [],
        "max_bytes": limit,
        "max_mb": limit // (1024 * 1024),
        "max_chars": 1000,
        "placeholders": PLACEHOLDERS,
        "translator": get_translator().describe(),
    }


def _render_dialog(
    request: HttpRequest,
    order: Order,
    values: dict[str, Any],
    *,
    error: DomainError | None = None,
    part: str = "dialog",
    status: int = 200,
) -> HttpResponseBase:
    context = _dialog_context(request, order, values, error)
    if is_htmx(request):
        template = {
            "dialog": "seller/_note_dialog.html",
            "form": "seller/_note_form.html",
            "text": "seller/_note_text.html",
        }[part]
        return render(request, template, context)
    return render(request, "seller/note_page.html", context, status=status)


@seller_required
@require_http_methods(["GET", "POST"])
def note_dialog(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """發送紙條: the dialog; POST action=reply fills a saved reply, action=translate translates."""
    order = access_order_for_seller(_user(request), order_no)
    values = _form_values(request, order)
    action = request.POST.get("action") if request.method == "POST" else request.GET.get("action")
    error: DomainError | None = None
    if action == "reply" or (request.method == "GET" and values["reply"]):
        _apply_reply(request, order, values)
    elif action == "translate":
        try:
            _translate(order, values)
        except DomainError as exc:
            error = exc
    part = "text" if request.method == "POST" else "dialog"
    return _render_dialog(request, order, values, error=error, part=part)


def _render_result(request: HttpRequest, order: Order, note: Any) -> HttpResponseBase:
    results = delivery_results(note)
    text = f"{note.title}\n{note.body}"
    spans = personal_data_spans(text)
    context = {
        "order": order,
        "note": note,
        "results": results,
        "line": delivery_line(results),
        "pending": any(r.queued for r in results),
        "can_resend": any(r.failed for r in results),
        "pii_pieces": split_by_spans(text, spans) if spans else [],
    }
    template = "seller/_note_result.html" if is_htmx(request) else "seller/note_result.html"
    return render(request, template, context)


@seller_required
@require_http_methods(["GET", "POST"])
def note_send(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """Send the note (POST), or show the per-channel result of one sent note (GET ?note=)."""
    user = _user(request)
    order = access_order_for_seller(user, order_no)
    if request.method == "GET":
        if not request.GET.get("note"):
            return redirect("seller:note_dialog", order_no=order.order_no)
        return _render_result(request, order, access_note(user, order, request.GET["note"]))
    values = _form_values(request, order)
    try:
        note = note_services.note_send(
            actor=user,
            order=order,
            category=values["category"],
            title=values["title"],
            body=values["body"],
            recipient_role=values["recipient"],
            attachments=request.FILES.getlist("attachments"),
            by_mail=values["by_mail"],
        )
    except DomainError as exc:
        if exc.kind == "not_found":
            raise
        return _render_dialog(request, order, values, error=exc, part="form", status=400)
    if is_htmx(request):
        response = _render_result(request, order, note)
        response["HX-Trigger"] = "claimdesk:changed"
        return response
    return redirect(f"{reverse('seller:note_send', args=[order.order_no])}?note={note.pk}")


@seller_required
@require_POST
def note_resend(request: HttpRequest, order_no: int, note_id: int) -> HttpResponseBase:
    """Send again what failed on one note (mail, push)."""
    user = _user(request)
    order = access_order_for_seller(user, order_no)
    note = access_note(user, order, note_id)
    note_services.note_resend(actor=user, note=note)
    if is_htmx(request):
        return _render_result(request, order, note)
    messages.success(request, _("The failed messages were queued again."))
    return redirect(f"{reverse('seller:note_send', args=[order.order_no])}?note={note.pk}")


@seller_required
def inbox(request: HttpRequest) -> HttpResponseBase:
    """Notes: inbox and sent threads per order; ?order= opens one thread (and marks it read)."""
    user = _user(request)
    shop_id = user.shop_id
    if shop_id is None:
        raise PermissionError("seller without a shop")
    box = "sent" if request.GET.get("box") == "sent" else "inbox"
    page = Paginator(seller_threads(shop_id, box), THREADS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    thread = None
    order = None
    reply: dict[str, Any] = {}
    if request.GET.get("order"):
        order = access_order_for_seller(user, request.GET["order"])
        note_services.note_mark_read(actor=user, order=order)
        thread = list(thread_notes(user, order))
        last = thread[-1] if thread else None
        reply = {
            "category": last.category if last else NoteCategory.OTHER.value,
            "title": ("Re: " + last.title)[:200] if last else "",
            "recipient": (
                NoteParty.CUSTOMER_CENTER.value
                if last
                and NoteParty.CUSTOMER_CENTER.value in (last.author_role, last.recipient_role)
                else NoteParty.BUYER.value
            ),
        }
    return render(
        request,
        "seller/notes.html",
        {
            "box": box,
            "page": page,
            "order": order,
            "thread": thread,
            "reply": reply,
            "categories": NoteCategory.choices,
            "pii_patterns": json.dumps(PERSONAL_DATA_PATTERNS),
        },
    )


@seller_required
def attachment(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """Stream one note file to a party of its order, as a download of its checked type."""
    return attachment_response(_user(request), attachment_id)


def _reply_texts(request: HttpRequest) -> dict[str, dict[str, str]]:
    return {
        code: {
            "title": request.POST.get(f"title_{code}", ""),
            "body": request.POST.get(f"body_{code}", ""),
        }
        for code in NOTE_LANGUAGES
    }


@seller_required
@require_http_methods(["GET", "POST"])
def saved_replies(request: HttpRequest) -> HttpResponseBase:
    """常用的回复: the built-in replies, and the shop's own to add, edit and delete."""
    user = _user(request)
    shop_id = user.shop_id
    if shop_id is None:
        raise PermissionError("seller without a shop")
    if request.method == "POST":
        action = request.POST.get("action", "save")
        reply_id = request.POST.get("reply")
        current = access_saved_reply_for_seller(user, reply_id) if reply_id else None
        if action == "delete" and current is not None:
            note_services.saved_reply_delete(actor=user, reply=current)
            messages.success(request, _("Saved reply deleted."))
        else:
            note_services.saved_reply_save(
                actor=user,
                reply=current,
                name=request.POST.get("name", ""),
                category=request.POST.get("category", ""),
                texts=_reply_texts(request),
            )
            messages.success(request, _("Saved reply saved."))
        return redirect("seller:saved_replies")
    editing: SavedReply | None = None
    if request.GET.get("edit"):
        editing = access_saved_reply_for_seller(user, request.GET["edit"])
    choices = reply_choices(shop_id)
    return render(
        request,
        "seller/saved_replies.html",
        {
            "builtin": [c for c in choices if c.builtin],
            "own": shop_saved_replies(shop_id),
            "editing": editing,
            "edit_texts": [
                (code, label, (editing.texts.get(code) if editing else None) or {})
                for code, label in NOTE_LANGUAGES.items()
            ],
            "categories": NoteCategory.choices,
            "placeholders": PLACEHOLDERS,
        },
    )
