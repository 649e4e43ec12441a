"""Buyer notes: threads per order with the shop, replies with files."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from claimdesk.core.validation import posted_id
from claimdesk.messaging import services as note_services
from claimdesk.messaging.access import thread_notes
from claimdesk.messaging.models import NoteCategory, NoteParty, PushPlatform
from claimdesk.messaging.policies import PERSONAL_DATA_PATTERNS
from claimdesk.messaging.selectors import buyer_threads, user_push_devices
from claimdesk.orders.access import access_order_for_buyer
from claimdesk.portals.files import attachment_response

from .views import _user, buyer_required


@buyer_required
def inbox(request: HttpRequest) -> HttpResponseBase:
    """Threads with the shops; ?order= opens one (and marks it read)."""
    user = _user(request)
    box = "sent" if request.GET.get("box") == "sent" else "inbox"
    page = Paginator(buyer_threads(user.pk, box), 30).get_page(request.GET.get("page"))
    order = thread = None
    if request.GET.get("order"):
        order = access_order_for_buyer(user, request.GET["order"])
        note_services.note_mark_read(actor=user, order=order)
        thread = list(thread_notes(user, order))
    return render(
        request,
        "buyer/notes.html",
        {
            "box": box,
            "page": page,
            "order": order,
            "thread": thread,
            "categories": NoteCategory.choices,
            "to": request.GET.get("to", ""),
            "pii_patterns": json.dumps(PERSONAL_DATA_PATTERNS),
        },
    )


@buyer_required
@require_POST
def send(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """Write to the shop, or to the customer center, about one of the buyer's orders."""
    user = _user(request)
    order = access_order_for_buyer(user, order_no)
    recipient = request.POST.get("recipient") or NoteParty.SELLER.value
    note_services.note_send(
        actor=user,
        order=order,
        category=request.POST.get("category", ""),
        title=request.POST.get("title", ""),
        body=request.POST.get("body", ""),
        recipient_role=recipient,
        attachments=request.FILES.getlist("attachments"),
        by_mail=request.POST.get("by_mail") == "on",
    )
    messages.success(
        request,
        _("Your note was sent to the customer center.")
        if recipient == NoteParty.CUSTOMER_CENTER.value
        else _("Your note was sent to the shop."),
    )
    return redirect(f"{reverse('buyer:notes')}?order={order.order_no}")


@buyer_required
def attachment(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """A file of a note the buyer may read."""
    return attachment_response(_user(request), attachment_id)


@buyer_required
def devices(request: HttpRequest) -> HttpResponseBase:
    """The buyer's devices registered for push messages: add and remove."""
    user = _user(request)
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            note_services.push_device_remove(
                actor=user, device_id=posted_id(request.POST.get("device"))
            )
            messages.success(request, _("The device was removed."))
        else:
            note_services.push_device_register(
                actor=user,
                token=request.POST.get("token", ""),
                platform=request.POST.get("platform", ""),
            )
            messages.success(request, _("The device will receive push messages."))
        return redirect("buyer:devices")
    return render(
        request,
        "buyer/devices.html",
        {
            "devices": user_push_devices(user.pk),
            "platforms": PushPlatform.choices,
        },
    )
