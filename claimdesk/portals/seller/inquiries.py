"""向Qoo10进行咨询: the shop's inquiries to the customer center, with the seed's category tree."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from claimdesk.inquiries.access import access_inquiry_attachment, access_inquiry_for_seller
from claimdesk.inquiries.models import CATEGORY_TREE, InquiryCategory, InquiryStatus
from claimdesk.inquiries.selectors import inquiries_for_shop, inquiry_order_list, inquiry_thread
from claimdesk.inquiries.services import (
    inquiry_close,
    inquiry_open,
    inquiry_reply,
    parse_order_nos,
)
from claimdesk.messaging.storage import note_storage
from claimdesk.portals.common import role_required

from .views import _form_error, _user

seller_required = role_required("seller", "seller:login")


def category_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Return the category tree as grouped choices (optgroups) for a select."""
    return [
        (str(group), [(str(c.value), str(c.label)) for c in members])
        for group, members in CATEGORY_TREE
    ]


class InquiryForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=category_choices)
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    order_nos = forms.CharField(
        label=gettext_lazy("Order numbers"),
        required=False,
        help_text=gettext_lazy("Your shop's orders this inquiry is about, separated by commas."),
    )
    body = forms.CharField(label=gettext_lazy("Message"), widget=forms.Textarea, max_length=5000)
    error_reference = forms.CharField(required=False, max_length=32)
    error_code = forms.CharField(required=False, max_length=64)


class ReplyForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Message"), widget=forms.Textarea, max_length=5000)


def _initial(request: HttpRequest) -> dict[str, Any]:
    category = request.GET.get("category", "")
    reference = request.GET.get("reference", "").strip()[:32]
    code = request.GET.get("code", "").strip()[:64]
    if category not in InquiryCategory.values:
        category = InquiryCategory.JQSM_CLAIMS if reference else InquiryCategory.OTHER
    orders = ",".join(request.GET.getlist("order"))
    subject = ""
    if reference:
        subject = _("Error %(code)s (reference %(reference)s)") % {
            "code": code or "?",
            "reference": reference,
        }
    return {
        "category": category,
        "order_nos": orders,
        "error_reference": reference,
        "error_code": code,
        "subject": subject,
    }


@seller_required
def inquiry_list(request: HttpRequest) -> HttpResponseBase:
    """The shop's inquiries with their status; a button to open a new one."""
    shop_id = _user(request).shop_id or 0
    status = request.GET.get("status", "")
    rows = inquiries_for_shop(shop_id, status if status in InquiryStatus.values else "")
    return render(
        request,
        "seller/inquiries.html",
        {"inquiries": rows[:200], "status": status, "statuses": InquiryStatus.choices},
    )


@seller_required
@require_http_methods(["GET", "POST"])
def inquiry_new(request: HttpRequest) -> HttpResponseBase:
    """Open an inquiry: category, orders, message, screenshots, and the error reference if any."""
    user = _user(request)
    form = InquiryForm(request.POST or None, initial=_initial(request))
    if request.method == "POST":
        if not form.is_valid():
            raise _form_error(form)
        data = form.cleaned_data
        inquiry = inquiry_open(
            actor=user,
            category=data["category"],
            subject=data["subject"],
            body=data["body"],
            order_nos=parse_order_nos(data["order_nos"]),
            attachments=request.FILES.getlist("attachments"),
            error_code=data["error_code"],
            error_reference=data["error_reference"],
        )
        messages.success(
            request,
            _("Inquiry #%(id)s was sent to the customer center.") % {"id": inquiry.pk},
        )
        return redirect("seller:inquiry", inquiry.pk)
    return render(
        request,
        "seller/inquiries_new.html",
        {"form": form, "tree": category_choices(), "initial": form.initial},
    )


@seller_required
def inquiry_detail(request: HttpRequest, inquiry_id: int) -> HttpResponseBase:
    """One inquiry's thread, with the answer form."""
    inquiry = access_inquiry_for_seller(_user(request), inquiry_id)
    return render(
        request,
        "seller/inquiries_detail.html",
        {
            "inquiry": inquiry,
            "thread": inquiry_thread(inquiry),
            "orders": inquiry_order_list(inquiry),
            "form": ReplyForm(),
            "closed": inquiry.status == InquiryStatus.CLOSED,
        },
    )


@seller_required
@require_POST
def inquiry_answer(request: HttpRequest, inquiry_id: int) -> HttpResponseBase:
    """Answer the customer center in the thread (the inquiry goes back to the queue)."""
    user = _user(request)
    inquiry = access_inquiry_for_seller(user, inquiry_id)
    if request.POST.get("action") == "close":
        inquiry_close(actor=user, inquiry=inquiry)
        messages.success(request, _("The inquiry was closed."))
        return redirect("seller:inquiry", inquiry.pk)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    inquiry_reply(
        actor=user,
        inquiry=inquiry,
        body=form.cleaned_data["body"],
        attachments=request.FILES.getlist("attachments"),
    )
    messages.success(request, _("Your message was sent."))
    return redirect("seller:inquiry", inquiry.pk)


@seller_required
def inquiry_attachment(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """Stream one inquiry file to the shop that sent it."""
    file = access_inquiry_attachment(_user(request), attachment_id)
    return attachment_response(file)


def attachment_response(file: Any) -> FileResponse:
    """Return the file as a download of its checked type, never cached."""
    response = FileResponse(
        note_storage.open(file.file.name, "rb"),
        as_attachment=True,
        filename=file.name,
        content_type=file.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
