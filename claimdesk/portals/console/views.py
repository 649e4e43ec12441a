"""The operator console: inquiry queue, claim search, order file, actions, refunds, shops.

Only operators get in; a signed-in seller or buyer gets "not found" on every
page, including the login page. Every action calls the same domain service
the other portals do, with the operator's required reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from claimdesk.accounts.access import (
    access_restriction_for_operator,
    access_shop_for_operator,
)
from claimdesk.accounts.models import Role, User
from claimdesk.accounts.selectors import (
    active_operators,
    operator_by_id,
    restricted_shop_ids,
    shops_matching,
)
from claimdesk.claims.access import access_open_claim_on
from claimdesk.claims.models import Claim, ClaimStatus, ClaimType
from claimdesk.claims.operator import (
    claim_operator_cancel,
    claim_operator_decide,
    claim_operator_withdraw,
)
from claimdesk.claims.penalties import shop_restriction_impose, shop_restriction_lift
from claimdesk.claims.reasons import CANCEL_REASONS, Picker
from claimdesk.claims.refunds import refund_resolve, refund_retry
from claimdesk.core.errors import InvalidInput
from claimdesk.core.i18n import lazy_text
from claimdesk.core.validation import parse_whole, posted_id
from claimdesk.inquiries.access import (
    access_inquiry_attachment,
    access_inquiry_for_operator,
)
from claimdesk.inquiries.models import CATEGORY_TREE, Inquiry, InquiryCategory, InquiryStatus
from claimdesk.inquiries.selectors import (
    ClaimSearch,
    QueueFilter,
    claim_search,
    inquiry_age,
    inquiry_orders,
    inquiry_queue,
    inquiry_thread,
    is_overdue,
    order_file,
    queue_counts,
    refund_monitor,
    sla_hours,
)
from claimdesk.inquiries.services import (
    inquiry_assign,
    inquiry_close,
    inquiry_record_action,
    inquiry_reply,
)
from claimdesk.orders.access import access_order_for_operator
from claimdesk.orders.selectors import orders_by_any_number
from claimdesk.payments.access import access_refund_for_operator
from claimdesk.payments.models import Refund
from claimdesk.payments.reconcile import reconciliation_latest
from claimdesk.portals.common import form_refusal as _form_error
from claimdesk.portals.common import role_required
from claimdesk.portals.oidc.views import sign_out
from claimdesk.portals.seller.inquiries import attachment_response
from claimdesk.portals.seller.record import record_context
from claimdesk.portals.throttle import RoleLoginView

operator_required = role_required("operator", "console:login")
PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_operator:
        raise Http404
    return user


# --- sign in ------------------------------------------------------------------------


class OperatorLoginView(RoleLoginView):
    role = Role.OPERATOR
    template_name = "console/login.html"
    home_url_name = "console:home"
    wrong_role_message = _lazy("This login is not an operator login.")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and getattr(user, "role", None) != Role.OPERATOR:
            raise Http404  # the console does not exist for sellers and buyers
        return super().dispatch(request, *args, **kwargs)


@operator_required
@require_POST
def logout_view(request: HttpRequest) -> HttpResponseBase:
    return sign_out(request, "console:login")


# --- inquiry queue --------------------------------------------------------------------


def _category_choices() -> list[tuple[str, str]]:
    return [("", _("All categories"))] + [
        (str(c.value), f"[{group}] > [{c.label}]")
        for group, members in CATEGORY_TREE
        for c in members
    ]


@operator_required
def queue(request: HttpRequest) -> HttpResponseBase:
    """The inquiry queue: filters, assignment and how long each has waited."""
    user = _user(request)
    filters = QueueFilter(
        status=request.GET.get("status", "waiting"),
        category=request.GET.get("category", "")
        if request.GET.get("category", "") in InquiryCategory.values
        else "",
        assignee=request.GET.get("assignee", ""),
        shop=request.GET.get("shop", "")[:100],
        overdue_only=bool(request.GET.get("overdue")),
    )
    page = Paginator(inquiry_queue(filters, operator_id=user.pk), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [{"inquiry": q, "age": inquiry_age(q), "overdue": is_overdue(q)} for q in page]
    return render(
        request,
        "console/queue.html",
        {
            "page": page,
            "rows": rows,
            "filters": filters,
            "counts": queue_counts(),
            "statuses": [
                ("waiting", _("Waiting for us")),
                *InquiryStatus.choices,
                ("all", _("All")),
            ],
            "categories": _category_choices(),
            "sla_hours": sla_hours(),
        },
    )


@operator_required
def inquiry(request: HttpRequest, inquiry_id: int) -> HttpResponseBase:
    """One inquiry: its thread, the named orders with their claims, answer and assignment."""
    item = access_inquiry_for_operator(_user(request), inquiry_id)
    return render(
        request,
        "console/inquiry.html",
        {
            "inquiry": item,
            "thread": inquiry_thread(item),
            "orders": inquiry_orders(item),
            "age": inquiry_age(item),
            "overdue": is_overdue(item),
            "operators": active_operators(),
            "closed": item.status == InquiryStatus.CLOSED,
        },
    )


@operator_required
@require_POST
def inquiry_answer(request: HttpRequest, inquiry_id: int) -> HttpResponseBase:
    """Answer the seller (answered), or ask for more (waiting for the seller)."""
    user = _user(request)
    item = access_inquiry_for_operator(user, inquiry_id)
    inquiry_reply(
        actor=user,
        inquiry=item,
        body=request.POST.get("body", ""),
        attachments=request.FILES.getlist("attachments"),
        wait_for_seller=request.POST.get("wait") == "1",
    )
    messages.success(request, _("The answer was sent; the shop is mailed."))
    return redirect("console:inquiry", item.pk)


@operator_required
@require_POST
def inquiry_assign_view(request: HttpRequest, inquiry_id: int) -> HttpResponseBase:
    user = _user(request)
    item = access_inquiry_for_operator(user, inquiry_id)
    value = request.POST.get("assignee", "")
    assignee: User | None = None
    if value == "me":
        assignee = user
    elif value:
        assignee = operator_by_id(posted_id(value))
        if assignee is None:
            raise InvalidInput("assignee_invalid", lazy_text("Choose an operator."))
    inquiry_assign(actor=user, inquiry=item, assignee=assignee)
    messages.success(request, _("Assignment saved."))
    return redirect("console:inquiry", item.pk)


@operator_required
@require_POST
def inquiry_close_view(request: HttpRequest, inquiry_id: int) -> HttpResponseBase:
    user = _user(request)
    item = access_inquiry_for_operator(user, inquiry_id)
    inquiry_close(actor=user, inquiry=item)
    messages.success(request, _("The inquiry was closed."))
    return redirect("console:inquiry", item.pk)


@operator_required
def inquiry_file(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    return attachment_response(access_inquiry_attachment(_user(request), attachment_id))


# --- claim search and the order file -----------------------------------------------------


class ClaimSearchForm(forms.Form):
    order_no = forms.CharField(label=gettext_lazy("Order no"), required=False, max_length=20)
    cart_no = forms.CharField(label=gettext_lazy("Cart no"), required=False, max_length=20)
    buyer = forms.CharField(label=gettext_lazy("Buyer"), required=False, max_length=100)
    shop = forms.CharField(label=gettext_lazy("Shop"), required=False, max_length=100)
    status = forms.TypedChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", gettext_lazy("All"))] + list(ClaimStatus.choices),
    )
    date_from = forms.DateField(label=gettext_lazy("Requested from"), required=False)
    date_to = forms.DateField(label=gettext_lazy("to"), required=False)
    escalated = forms.BooleanField(label=gettext_lazy("Escalated only"), required=False)
    open_only = forms.BooleanField(label=gettext_lazy("Open only"), required=False)


@operator_required
def claims(request: HttpRequest) -> HttpResponseBase:
    """Claim search across every shop."""
    _user(request)
    form = ClaimSearchForm(request.GET or None)
    if request.GET and not form.is_valid():
        raise _form_error(form)
    data = form.cleaned_data if request.GET else {}
    search = ClaimSearch(
        order_no=data.get("order_no") or "",
        cart_no=data.get("cart_no") or "",
        buyer=data.get("buyer") or "",
        shop=data.get("shop") or "",
        status=data.get("status"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        escalated_only=bool(data.get("escalated")),
        open_only=bool(data.get("open_only")),
    )
    rows = claim_search(search)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    orders = orders_by_any_number(parse_whole(search.order_no), parse_whole(search.cart_no))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "console/claims.html",
        {"form": form, "page": page, "orders": orders, "query": query.urlencode()},
    )


def _operator_cancel_reasons() -> list[tuple[str, str]]:
    return [
        (code, str(reason.label))
        for code, reason in CANCEL_REASONS.items()
        if Picker.OPERATOR in reason.pickers and code != "UNPAID"
    ]


@operator_required
def order(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """The order's file: claims, refunds, full history, note threads, and the actions."""
    user = _user(request)
    item = access_order_for_operator(user, order_no)
    context = order_file(item)
    open_claim: Claim | None = context["open_claim"]
    decidable = bool(
        open_claim
        and open_claim.escalated_at is not None
        and (
            (
                open_claim.type == ClaimType.RETURN
                and open_claim.status in (ClaimStatus.RETURN_REQUESTED, ClaimStatus.RETURNING)
            )
            or open_claim.status == ClaimStatus.NON_RECEIPT_REPORTED
        )
    )
    inquiry_id = request.GET.get("inquiry", "")
    return render(
        request,
        "console/order.html",
        context
        | {
            "order": item,
            "decidable": decidable,
            "cancel_reasons": _operator_cancel_reasons(),
            "inquiry_id": inquiry_id if parse_whole(inquiry_id) is not None else "",
            "cancellable": item.cancelled_at is None and item.returned_at is None,
        },
    )


def _reason(request: HttpRequest) -> str:
    text = request.POST.get("reason", "").strip()
    if not text:
        raise InvalidInput(
            "reason_required",
            lazy_text("Give the reason: it goes into the history and to the parties."),
            {"field": "reason"},
        )
    return text


def _after_action(
    request: HttpRequest, user: User, order_no: int, *, action: str, summary: str
) -> HttpResponseBase:
    """Report the action in the inquiry it answers (if any), then go back to the order."""
    inquiry_id = parse_whole(request.POST.get("inquiry"))
    messages.success(request, summary)
    if inquiry_id is not None:
        item: Inquiry = access_inquiry_for_operator(user, inquiry_id)
        inquiry_record_action(actor=user, inquiry=item, action=action, body=summary)
        return redirect("console:inquiry", item.pk)
    return redirect("console:order", order_no)


@operator_required
@require_POST
def order_withdraw(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """投诉撤回: withdraw the buyer's open claim, with the reason."""
    user = _user(request)
    item = access_order_for_operator(user, order_no)
    reason = _reason(request)
    claim = access_open_claim_on(item)
    claim_operator_withdraw(actor=user, claim=claim, reason=reason)
    summary = _("The claim on order %(no)s was withdrawn: %(reason)s") % {
        "no": order_no,
        "reason": reason,
    }
    return _after_action(request, user, order_no, action="claim.operator_withdraw", summary=summary)


@operator_required
@require_POST
def order_cancel(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """订单取消·退款(全额): cancel and refund in full on the buyer's behalf."""
    user = _user(request)
    item = access_order_for_operator(user, order_no)
    reason = _reason(request)
    claim = claim_operator_cancel(
        actor=user, order=item, reason=request.POST.get("reason_code", ""), memo=reason
    )
    summary = _("Order %(no)s was cancelled and refunded in full (%(status)s): %(reason)s") % {
        "no": order_no,
        "status": claim.get_status_display(),
        "reason": reason,
    }
    return _after_action(request, user, order_no, action="claim.operator_cancel", summary=summary)


@operator_required
@require_POST
def order_decide(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """Decide an escalated return or non-receipt: refund in full, or reject."""
    user = _user(request)
    item = access_order_for_operator(user, order_no)
    reason = _reason(request)
    claim = access_open_claim_on(item)
    decision = request.POST.get("decision", "")
    claim = claim_operator_decide(actor=user, claim=claim, decision=decision, reason=reason)
    summary = _("The claim on order %(no)s was decided (%(status)s): %(reason)s") % {
        "no": order_no,
        "status": claim.get_status_display(),
        "reason": reason,
    }
    return _after_action(request, user, order_no, action="claim.operator_decide", summary=summary)


# --- refunds ----------------------------------------------------------------------------


@operator_required
def refunds(request: HttpRequest) -> HttpResponseBase:
    """The refund monitor: pending too long, failed, retried; totals per day."""
    _user(request)
    return render(request, "console/refunds.html", {**refund_monitor(), **reconciliation_latest()})


@operator_required
@require_POST
def refund_retry_view(request: HttpRequest, refund_id: int) -> HttpResponseBase:
    user = _user(request)
    refund = access_refund_for_operator(user, refund_id)
    refund = refund_retry(actor=user, refund=refund, reason=_reason(request))
    messages.success(
        request, _("The refund was sent again (attempt %(n)s).") % {"n": refund.attempt}
    )
    return _back_from_refund(request, refund)


@operator_required
@require_POST
def refund_resolve_view(request: HttpRequest, refund_id: int) -> HttpResponseBase:
    user = _user(request)
    refund = refund_resolve(
        actor=user, refund=access_refund_for_operator(user, refund_id), reason=_reason(request)
    )
    messages.success(request, _("The refund was settled to the buyer's platform balance."))
    return _back_from_refund(request, refund)


def _back_from_refund(request: HttpRequest, refund: Refund) -> HttpResponseBase:
    if request.POST.get("back") == "order":
        return redirect("console:order", refund.order.order_no)
    return redirect("console:refunds")


# --- shops -------------------------------------------------------------------------------


@operator_required
def shops(request: HttpRequest) -> HttpResponseBase:
    """Shops by code or name, with their active restrictions."""
    _user(request)
    term = request.GET.get("q", "").strip()[:100]
    restricted = restricted_shop_ids(dt.datetime.now(dt.UTC))
    page = Paginator(shops_matching(term), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "console/shops.html", {"page": page, "q": term, "restricted": restricted}
    )


@operator_required
def shop(request: HttpRequest, code: str) -> HttpResponseBase:
    """A shop's record and restrictions, with impose and lift."""
    user = _user(request)
    return render(
        request, "console/shop.html", record_context(access_shop_for_operator(user, code))
    )


@operator_required
@require_POST
def shop_restrict(request: HttpRequest, code: str) -> HttpResponseBase:
    user = _user(request)
    item = access_shop_for_operator(user, code)
    days_text = request.POST.get("days", "").strip()
    days = parse_whole(days_text, maximum=36500)
    if days_text and not days:
        raise InvalidInput("days_invalid", lazy_text("Enter a whole number of days above zero."))
    restriction = shop_restriction_impose(actor=user, shop=item, reason=_reason(request), days=days)
    messages.success(
        request,
        _("The shop is restricted until %(date)s; it was mailed.")
        % {"date": restriction.ends_at.date().isoformat()},
    )
    return redirect("console:shop", item.code)


@operator_required
@require_POST
def shop_lift(request: HttpRequest, code: str, restriction_id: int) -> HttpResponseBase:
    user = _user(request)
    item = access_shop_for_operator(user, code)
    restriction = access_restriction_for_operator(user, item, restriction_id)
    shop_restriction_lift(actor=user, restriction=restriction, reason=_reason(request))
    messages.success(request, _("The restriction was lifted; the shop was mailed."))
    return redirect("console:shop", item.code)
