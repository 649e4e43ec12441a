"""The buyer's My page (the seed's MyQoo10): orders, requests, refunds, balance."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from claimdesk.claims.access import access_claim_for_buyer
from claimdesk.claims.buyer_actions import buyer_actions
from claimdesk.claims.cancel import claim_cancel_instantly, claim_request_cancel, claim_withdraw
from claimdesk.claims.non_receipt import claim_report_non_receipt
from claimdesk.claims.reasons import Picker, ReasonKind, reason_choices
from claimdesk.claims.returns import claim_complete_redelivery, claim_request_return
from claimdesk.claims.selectors import (
    buyer_claims,
    buyer_orders,
    buyer_recent_orders,
    order_claims,
    order_open_claim,
)
from claimdesk.core.conf import setting
from claimdesk.orders import services as order_services
from claimdesk.orders.access import FOR_ACTION, access_order_for_buyer
from claimdesk.orders.models import ShippingStatus
from claimdesk.payments.selectors import (
    buyer_balance_lines,
    buyer_balance_totals,
    buyer_refunds_to_balance,
)
from claimdesk.portals.common import form_refusal as _form_error
from claimdesk.portals.common import role_required
from claimdesk.portals.common import signed_in_user as _user
from claimdesk.portals.oidc.views import sign_out
from claimdesk.portals.throttle import RoleLoginView

from . import forms

buyer_required = role_required("buyer", "buyer:login")


def _done(request: HttpRequest, message: str, order_no: int) -> HttpResponseBase:
    messages.success(request, message)
    return redirect("buyer:order", order_no=order_no)


class BuyerLoginView(RoleLoginView):
    role = "buyer"
    template_name = "buyer/login.html"
    home_url_name = "buyer:orders"
    wrong_role_message = _lazy("This login is not a buyer login. Use the page for your role.")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponseBase:
    return sign_out(request, "buyer:login")


@buyer_required
def orders(request: HttpRequest) -> HttpResponseBase:
    """The buyer's orders, each with its status and the actions open to it now."""
    user = _user(request)
    page = Paginator(buyer_orders(user.pk), 20).get_page(request.GET.get("page"))
    now = timezone.now()
    window = setting("RETURN_WINDOW_DAYS")
    rows = []
    for order in page:
        claim = order.open_claims[0] if order.open_claims else None  # type: ignore[attr-defined]
        rows.append(
            {
                "order": order,
                "claim": claim,
                "actions": buyer_actions(order, claim, now=now, window_days=window),
            }
        )
    return render(request, "buyer/orders.html", {"page": page, "rows": rows})


@buyer_required
def order(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """One order: its status, its claims, and a form for each action open now."""
    user = _user(request)
    current = access_order_for_buyer(user, order_no)
    claims = order_claims(current)
    open_claim = next((c for c in claims if c.is_open), None)
    actions = buyer_actions(
        current, open_claim, now=timezone.now(), window_days=setting("RETURN_WINDOW_DAYS")
    )
    delayed = current.is_delayed()
    cancel_reasons = reason_choices(ReasonKind.CANCEL, Picker.BUYER)
    if delayed:
        cancel_reasons += reason_choices(ReasonKind.CANCEL, Picker.BUYER_WHEN_DELAYED)
    return render(
        request,
        "buyer/order.html",
        {
            "order": current,
            "claims": claims,
            "open_claim": open_claim,
            "actions": {a.name: a for a in actions},
            "cancel_reasons": cancel_reasons,
            "return_reasons": reason_choices(ReasonKind.RETURN, Picker.BUYER),
            "duties": forms.NonReceiptForm.base_fields["duty"].choices,  # type: ignore[attr-defined]
        },
    )


@buyer_required
@require_POST
def cancel_now(request: HttpRequest, order_no: int) -> HttpResponseBase:
    user = _user(request)
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    current = access_order_for_buyer(user, order_no, related=FOR_ACTION)
    claim_cancel_instantly(actor=user, order=current, **form.cleaned_data)
    return _done(
        request,
        _("Order %(no)s is cancelled. The refund is on its way.") % {"no": order_no},
        order_no,
    )


@buyer_required
@require_POST
def request_cancel(request: HttpRequest, order_no: int) -> HttpResponseBase:
    user = _user(request)
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    current = access_order_for_buyer(user, order_no, related=FOR_ACTION)
    claim_request_cancel(actor=user, order=current, **form.cleaned_data)
    return _done(
        request, _("Your cancellation request was sent to the shop.") % {"no": order_no}, order_no
    )


@buyer_required
@require_POST
def request_return(request: HttpRequest, order_no: int) -> HttpResponseBase:
    user = _user(request)
    form = forms.ReturnForm(request.POST, request.FILES)
    if not form.is_valid():
        raise _form_error(form)
    current = access_order_for_buyer(user, order_no, related=FOR_ACTION)
    data = form.cleaned_data
    claim_request_return(
        actor=user,
        order=current,
        reason=data["reason"],
        memo=data["memo"],
        exchange=data["kind"] == "exchange",
        photos=request.FILES.getlist("photos"),
    )
    return _done(request, _("Your request was sent to the shop.") % {"no": order_no}, order_no)


@buyer_required
@require_POST
def report_non_receipt(request: HttpRequest, order_no: int) -> HttpResponseBase:
    user = _user(request)
    form = forms.NonReceiptForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    current = access_order_for_buyer(user, order_no, related=FOR_ACTION)
    claim_report_non_receipt(actor=user, order=current, **form.cleaned_data)
    return _done(request, _("Your report was sent to the shop."), order_no)


@buyer_required
@require_POST
def withdraw(request: HttpRequest, order_no: int) -> HttpResponseBase:
    user = _user(request)
    form = forms.WithdrawForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    claim = access_claim_for_buyer(user, order_no)
    claim_withdraw(actor=user, claim=claim, memo=form.cleaned_data["memo"])
    return _done(request, _("Your request was withdrawn."), order_no)


@buyer_required
@require_POST
def confirm_receipt(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """Confirm receipt: of the order (4 → 5), of the trade (complete), or of a re-delivery."""
    user = _user(request)
    current = access_order_for_buyer(user, order_no)
    open_claim = order_open_claim(current)
    if open_claim is not None and open_claim.status == 13:
        claim_complete_redelivery(actor=user, claim=open_claim)
    elif current.shipping_status == ShippingStatus.ON_DELIVERY:
        order_services.order_mark_delivered(actor=user, order=current)
    else:
        order_services.order_complete_trade(actor=user, order=current)
    return _done(request, _("Thank you: receipt confirmed."), order_no)


@buyer_required
def refunds(request: HttpRequest) -> HttpResponseBase:
    """キャンセル/払い戻しの状態: every claim of the buyer with its refund."""
    user = _user(request)
    page = Paginator(buyer_claims(user.pk), 20).get_page(request.GET.get("page"))
    return render(
        request, "buyer/refunds.html", {"page": page, "open": request.GET.get("open", "")}
    )


@buyer_required
def customer_center(request: HttpRequest) -> HttpResponseBase:
    """Where to turn: the shop first, the customer center when the shop does not settle it."""
    user = _user(request)
    return render(request, "buyer/help.html", {"orders": buyer_recent_orders(user.pk)})


@buyer_required
def balance(request: HttpRequest) -> HttpResponseBase:
    """The platform balance: what the platform owes the buyer, line by line."""
    user = _user(request)
    page = Paginator(buyer_balance_lines(user.pk), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "buyer/balance.html",
        {
            "page": page,
            "totals": buyer_balance_totals(user.pk),
            "refunds_to_balance": buyer_refunds_to_balance(user.pk),
        },
    )
