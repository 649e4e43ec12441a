"""The seller portal (J·QSM): every page scoped to the signed-in staff member's shop."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Any, NamedTuple

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Page
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_http_methods, require_POST

from claimdesk.accounts.addresses import address_create, address_delete, address_set_default
from claimdesk.accounts.models import User
from claimdesk.accounts.selectors import shop_active_restrictions, shop_addresses, shop_staff
from claimdesk.accounts.staff import staff_create, staff_deactivate
from claimdesk.claims import cancel, non_receipt, returns
from claimdesk.claims.access import access_claim_for_seller
from claimdesk.claims.models import (
    TERMINAL_STATUSES,
    Claim,
    ClaimStatus,
    ClaimType,
    PickupMethod,
)
from claimdesk.claims.reasons import Fault, get_reason
from claimdesk.claims.selectors import (
    HOME_BOX_LABELS,
    HOME_BOXES,
    LIST_STATUSES,
    ClaimFilter,
    ClaimPanel,
    claim_home_counts,
    claim_status_counts,
    claims_for_shop,
)
from claimdesk.claims.selectors import claim_panel as claim_panel_of
from claimdesk.claims.selectors import order_panel as order_panel_of
from claimdesk.claims.shop_record import ShopRecord, shop_record
from claimdesk.core.errors import InvalidInput
from claimdesk.core.sheets import read_rows, xlsx_stream
from claimdesk.core.validation import parse_whole, posted_id
from claimdesk.inquiries.selectors import shop_inquiry_counts
from claimdesk.messaging.selectors import seller_unread_notes
from claimdesk.orders import services as order_services
from claimdesk.orders.access import FOR_ACTION, access_order_for_seller
from claimdesk.orders.bulk import MAX_BULK_ROWS, ShipRow, orders_ship_bulk
from claimdesk.orders.models import DelayType, Order, ShippingStatus
from claimdesk.orders.selectors import (
    SHIPPING_BOXES,
    order_history,
    orders_by_number,
    shipping_box_counts,
    shipping_orders,
)
from claimdesk.portals.common import form_refusal as _form_error
from claimdesk.portals.common import is_htmx, role_required
from claimdesk.portals.common import signed_in_user as _user
from claimdesk.portals.jinja import render_rows
from claimdesk.portals.oidc.views import sign_out
from claimdesk.portals.paging import CountedPaginator
from claimdesk.portals.throttle import RoleLoginView

from . import forms
from .export import claim_export_rows, claim_texts

seller_required = role_required("seller", "seller:login")
PAGE_SIZE = 50


def _shop_id(request: HttpRequest) -> int:
    shop_id = _user(request).shop_id
    if shop_id is None:
        raise PermissionError("seller without a shop")
    return shop_id


def _done(
    request: HttpRequest, message: str, order_no: int, *, panel: str, dialog: bool = False
) -> HttpResponseBase:
    """Answer a successful action: the refreshed panel for htmx, else a redirect.

    `dialog` shows the result as the seed's OK dialog (cancel and refund results).
    """
    messages.success(request, message, extra_tags="result-dialog" if dialog else "")
    if is_htmx(request):
        view = claim_panel if panel == "claim" else order_panel
        response = view(request, order_no)
        response["HX-Trigger"] = "claimdesk:changed"
        return response
    name = "seller:claims" if panel == "claim" else "seller:shipping"
    return redirect(f"{reverse(name)}?open={order_no}")


# --- sign in -------------------------------------------------------------------------


class SellerLoginView(RoleLoginView):
    role = "seller"
    template_name = "seller/login.html"
    home_url_name = "seller:home"
    wrong_role_message = _lazy("This login is not a shop staff login. Use the page for your role.")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponseBase:
    return sign_out(request, "seller:login")


# --- home ---------------------------------------------------------------------------


@seller_required
def home(request: HttpRequest) -> HttpResponseBase:
    """The J·QSM home: the 索赔/咨询 box with live counts, the shop's record, unread notes."""
    user = _user(request)
    counts = claim_home_counts(_shop_id(request))
    boxes = [
        {
            "name": name,
            "label": HOME_BOX_LABELS[name],
            "count": counts[name],
            "statuses": ",".join(str(s) for s in statuses),
        }
        for name, statuses in HOME_BOXES.items()
    ]
    return render(
        request,
        "seller/home.html",
        {
            "boxes": boxes,
            "shipping": shipping_box_counts(_shop_id(request)),
            "unread": seller_unread_notes(_shop_id(request)),
            "record": _record(user),
            "inquiries": shop_inquiry_counts(_shop_id(request)),
        },
    )


#: Seconds the home page reuses a shop's 30-day record (its rates); restrictions stay live.
RECORD_CACHE_SECONDS = 300


def _record(user: User) -> ShopRecord | None:
    if user.shop is None:
        return None
    shop = user.shop
    today = timezone.localdate()
    # Counting a big shop's month of orders and claims takes ~100 ms; a rate over
    # 30 days read a few minutes late is still right (docs/benchmarks/pages.md).
    key = f"shop-record:{shop.pk}:{today.isoformat()}"
    record = cache.get(key)
    if not isinstance(record, ShopRecord):
        record = shop_record(shop, today - dt.timedelta(days=29), today)
        cache.set(key, record, RECORD_CACHE_SECONDS)
    return dataclasses.replace(record, active_restrictions=shop_active_restrictions(shop))


# --- shipping management ----------------------------------------------------------------


@seller_required
def shipping(request: HttpRequest) -> HttpResponseBase:
    """运送管理: the status boxes, the order table, paging and sorting."""
    box = request.GET.get("box", "new")
    if box not in SHIPPING_BOXES:
        box = "new"
    sort = request.GET.get("sort", "ordered")
    counts = shipping_box_counts(_shop_id(request))
    page = CountedPaginator(
        shipping_orders(_shop_id(request), box, sort),
        PAGE_SIZE,
        count=counts[box],
        related=("cart",),
    ).get_page(request.GET.get("page"))
    tab = "shipped" if box in ("on_delivery", "delivered") else request.GET.get("tab", "summary")
    context = {
        "box": box,
        "sort": sort,
        "page": page,
        "rows": _shipping_rows(page, tab),
        "counts": counts,
        "tab": tab,
        "open": request.GET.get("open", ""),
    }
    template = (
        "seller/_shipping_table.html"
        if is_htmx(request) and request.GET.get("partial")
        else "seller/shipping.html"
    )
    return render(request, template, context)


def _shipping_rows(page: Page[Any], tab: str) -> SafeString:
    """Return the shipping list's rows as HTML (the Jinja2 partial `seller/_shipping_rows.html`)."""
    statuses = {code: str(label) for code, label in ShippingStatus.choices}
    return render_rows(
        "seller/_shipping_rows.html", {"orders": page, "statuses": statuses, "tab": tab}
    )


def _order_context(order: Order) -> dict[str, Any]:
    panel = order_panel_of(order)
    open_claim = panel.open_claim
    buyer_asked = bool(open_claim and open_claim.status == ClaimStatus.CANCEL_REQUESTED)
    return {
        "order": order,
        "open_claim": open_claim,
        "buyer_asked": buyer_asked,
        "delayed": order.is_delayed(),
        "cancel_reasons": forms.CancelPanelForm.cancel_reasons(buyer_asked),
        "return_reasons": forms.CancelPanelForm.return_reasons(),
        "delay_types": DelayType.choices,
        "fee_notice": order.cart.payment_method in ("bank_transfer", "convenience_store"),
        "noticed": panel.cancel_notice_sent,
        "today": timezone.localdate(),
        "has_return_address": panel.has_return_address,
    }


@seller_required
def order_panel(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """订购信息 / 运送信息 / 客户管理 of one order, with the actions open to it."""
    order = access_order_for_seller(_user(request), order_no)
    template = "seller/_order_panel.html" if is_htmx(request) else "seller/order_page.html"
    return render(request, template, _order_context(order))


@seller_required
@require_POST
def order_confirm(request: HttpRequest, order_no: int) -> HttpResponseBase:
    order = access_order_for_seller(_user(request), order_no, related=FOR_ACTION)
    form = forms.ConfirmForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    order_services.order_confirm(
        actor=_user(request), order=order, est_ship_date=form.cleaned_data["est_ship_date"]
    )
    return _done(request, _("Order %(no)s confirmed.") % {"no": order_no}, order_no, panel="order")


@seller_required
@require_POST
def order_delay(request: HttpRequest, order_no: int) -> HttpResponseBase:
    order = access_order_for_seller(_user(request), order_no, related=FOR_ACTION)
    form = forms.DelayForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    order_services.order_register_delay(actor=_user(request), order=order, **form.cleaned_data)
    return _done(
        request,
        _("Delay registered for order %(no)s; the buyer was told.") % {"no": order_no},
        order_no,
        panel="order",
    )


@seller_required
@require_POST
def order_ship(request: HttpRequest, order_no: int) -> HttpResponseBase:
    order = access_order_for_seller(_user(request), order_no, related=FOR_ACTION)
    form = forms.ShipForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    order_services.order_ship(actor=_user(request), order=order, **form.cleaned_data)
    return _done(request, _("Order %(no)s shipped.") % {"no": order_no}, order_no, panel="order")


@seller_required
@require_POST
def order_cancel(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """The 发货不可/取消处理 panel's 确认: cancel for a seller reason, or handle as a return."""
    user = _user(request)
    order = access_order_for_seller(user, order_no, related=FOR_ACTION)
    form = forms.CancelPanelForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    data = form.cleaned_data
    if data["mode"] == forms.CancelPanelForm.MODE_RETURN:
        returns.claim_seller_start_return(
            actor=user,
            order=order,
            reason=data["return_reason"] or data["reason"],
            seller_memo=data["seller_memo"],
            accept_now=True,
        )
        return _done(
            request,
            _("Order %(no)s will be handled as a return.") % {"no": order_no},
            order_no,
            panel="claim",
        )
    claim = cancel.claim_seller_cancel(
        actor=user,
        order=order,
        reason=data["reason"],
        seller_memo=data["seller_memo"],
        confirm_without_notice=data["confirm_without_notice"],
        grant_payment_fee=data["grant_payment_fee"],
    )
    return _done(
        request,
        _("Order %(no)s cancelled: %(status)s.")
        % {"no": order_no, "status": claim.get_status_display()},
        order_no,
        panel="order",
        dialog=True,
    )


@seller_required
@require_http_methods(["GET", "POST"])
def bulk_ship(request: HttpRequest) -> HttpResponseBase:
    """批量发货: ship many orders from one sheet; a result line per row."""
    results = None
    form = forms.BulkShipForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not form.is_valid():
            raise _form_error(form)
        upload = form.cleaned_data["sheet"]
        rows = read_rows(upload, upload.name, max_rows=MAX_BULK_ROWS)
        parsed = [
            ShipRow(
                line=i + 2,
                order_no=(r + ["", "", ""])[0],
                carrier=(r + ["", "", ""])[1],
                tracking_no=(r + ["", "", ""])[2],
            )
            for i, r in enumerate(rows)
        ]
        results = orders_ship_bulk(actor=_user(request), rows=parsed)
    return render(
        request,
        "seller/bulk_ship.html",
        {
            "form": form,
            "results": results,
            "shipped": sum(1 for r in results or [] if r.ok),
            "tab": "bulk",
            "counts": shipping_box_counts(_shop_id(request)),
        },
    )


# --- cancel / return / not received ---------------------------------------------------------


def _claim_filter(request: HttpRequest) -> tuple[forms.ClaimSearchForm, ClaimFilter]:
    given = request.GET.copy()
    if request.GET and not given.get("period_kind"):
        # a link without the period (a home box, a status box) keeps the form on the
        # period the list is filtered by, so that 刷新 or 查询 does not switch it
        given["period_kind"] = "request"
    form = forms.ClaimSearchForm(given or None)
    if request.GET and not form.is_valid():
        raise _form_error(form)
    data = form.cleaned_data if request.GET else {}
    statuses = request.GET.get("statuses", "")
    return form, ClaimFilter(
        status=data.get("status"),
        period_kind=data.get("period_kind") or "request",
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        search_kind=data.get("search_kind") or "order_no",
        search=data.get("search") or "",
        open_only=bool(statuses),
    )


def _statuses(request: HttpRequest) -> list[int]:
    """Return the claim status codes of `?statuses=` (comma-separated; others are ignored)."""
    codes = (parse_whole(s, maximum=999) for s in request.GET.get("statuses", "").split(","))
    return [code for code in codes if code is not None]


@seller_required
def claims(request: HttpRequest) -> HttpResponseBase:
    """取消/退货/未收取: status boxes, period and number search, the result table."""
    form, filters = _claim_filter(request)
    statuses = _statuses(request)
    rows = claims_for_shop(_shop_id(request), filters, statuses)
    counts = claim_status_counts(_shop_id(request), filters)
    page = CountedPaginator(
        rows,
        PAGE_SIZE,
        count=_claims_total(counts, filters, statuses),
        related=("order__cart",),
        only=_CLAIM_ROW_FIELDS,
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("partial", None)
    # a status box shows that status in the period searched: the home box's
    # open-claims filter (`statuses`) gives way to it
    box_query = query.copy()
    for key in ("statuses", "status"):
        box_query.pop(key, None)
    without_claims = []
    if filters.search.strip():
        # 详情查询 also finds a shipped order that has no claim yet (seed section 1, part 2)
        with_claims = {claim.order_id for claim in page}
        without_claims = [
            order
            for order in orders_by_number(_shop_id(request), filters.search_kind, filters.search)
            if order.pk not in with_claims
        ]
        page.paginator.count_also(len(without_claims))  # type: ignore[attr-defined]
    context = {
        "form": form,
        "page": page,
        "rows": render_rows(
            "seller/_claim_rows.html",
            {
                "claims": page,
                "texts": functools.cache(_claim_list_texts),
                "without_claims": without_claims,
            },
        ),
        "without_claims": without_claims,
        "boxes": [(s, ClaimStatus(s).label, counts[s]) for s in LIST_STATUSES],
        "filters": filters,
        "query": query.urlencode(),
        "box_query": box_query.urlencode(),
        "home_filter": [ClaimStatus(s).label for s in statuses if s in ClaimStatus.values],
        "open": request.GET.get("open", ""),
    }
    template = (
        "seller/_claims_list.html"
        if is_htmx(request) and request.GET.get("partial")
        else "seller/claims.html"
    )
    return render(request, template, context)


class ClaimListTexts(NamedTuple):
    status: str
    reason: str
    duty: str
    pickup: str


def _claim_list_texts(
    type_: str, status: int, reason_code: str, fault: str, duty: str, pickup: str
) -> ClaimListTexts:
    """Return a list row's status, reason (and who is responsible), duty and collection texts.

    Made once per combination per page: each `get_FOO_display()` translates every
    choice of its field again (5 per row, 250 per page).
    """
    status_text, reason, duty_text, pickup_text = claim_texts(
        type_, status, reason_code, duty, pickup
    )
    kind = "cancel" if type_ in (ClaimType.CANCEL, ClaimType.UNPAID_CANCEL) else "return"
    if get_reason(kind, reason_code) is not None:
        reason = f"{reason} ({dict(Fault.choices).get(fault, fault)})"
    return ClaimListTexts(status_text, reason, duty_text, pickup_text)


#: The columns `seller/_claim_rows.html` reads (of claims, their orders and carts): a claim row is
#: 100 columns with the whole order and cart.
_CLAIM_ROW_FIELDS = (
    "type",
    "status",
    "reason_code",
    "fault",
    "non_receipt_duty",
    "pickup_method",
    "pickup_carrier",
    "escalated_at",
    "flagged_overdue_at",
    "completed_at",
    "order__order_no",
    "order__ordered_at",
    "order__shipped_at",
    "order__item_code",
    "order__seller_item_code",
    "order__cart__cart_no",
)


def _claims_total(counts: dict[int, int], filters: ClaimFilter, statuses: list[int]) -> int:
    """Return the row count of the claims list from its status counts.

    The counts cover the same period or search without the status filters. An
    open-only list (the home boxes) holds every claim of a non-terminal status
    and none of a terminal one: a claim is open exactly while its status is not terminal.
    """
    chosen = [filters.status] if filters.status is not None else list(counts)
    if statuses:
        chosen = [s for s in chosen if s in statuses]
    if filters.open_only:
        chosen = [s for s in chosen if s not in TERMINAL_STATUSES]
    return sum(counts.get(s, 0) for s in chosen)


@seller_required
def claims_export(request: HttpRequest) -> StreamingHttpResponse:
    """Excel download of exactly the filtered rows."""
    _form, filters = _claim_filter(request)
    rows = claims_for_shop(_shop_id(request), filters, _statuses(request))
    header = [
        _("Status"),
        _("Completion date"),
        _("Reason"),
        _("Not received type"),
        _("Return collection"),
        _("Order date"),
        _("Ship date"),
        _("Order no"),
        _("Cart no"),
        _("Item code"),
        _("Seller item code"),
        _("Request date"),
        _("Item name"),
        _("Quantity"),
        _("Amount"),
        _("Currency"),
    ]
    response = StreamingHttpResponse(
        xlsx_stream(
            header,
            claim_export_rows(
                rows, tz=timezone.get_current_timezone(), language=translation.get_language()
            ),
        ),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="claims-{timezone.localdate():%Y%m%d}.xlsx"'
    )
    return response


def _claim_context(panel: ClaimPanel) -> dict[str, Any]:
    claim = panel.claim
    kind = "cancel" if claim.type in (ClaimType.CANCEL, ClaimType.UNPAID_CANCEL) else "return"
    return {
        "claim": claim,
        "order": claim.order,
        "cart_orders": panel.cart_orders,
        "reason": get_reason(kind, claim.reason_code),
        "refund": panel.refund,
        "return_reasons": forms.CancelPanelForm.return_reasons(),
        "pickup_methods": PickupMethod.choices,
        "has_return_address": panel.has_return_address,
        "today": timezone.localdate(),
        "S": {s.name: s.value for s in ClaimStatus},
    }


@seller_required
def claim_panel(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """购物车信息 and 交易信息 of one claim (or of a shipped order without one), with its buttons."""
    user = _user(request)
    order = access_order_for_seller(user, order_no)
    panel = claim_panel_of(order)
    if panel is None:
        context = _order_context(order) | {
            "claim": None,
            "pickup_methods": PickupMethod.choices,
            "S": {s.name: s.value for s in ClaimStatus},
        }
    else:
        context = _claim_context(panel)
    template = "seller/_claim_panel.html" if is_htmx(request) else "seller/claim_page.html"
    return render(request, template, context)


def _claim_action(request: HttpRequest, order_no: int) -> tuple[User, Claim]:
    user = _user(request)
    return user, access_claim_for_seller(user, order_no)


@seller_required
@require_POST
def claim_approve_cancel(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """取消处理 for a buyer's request."""
    user, claim = _claim_action(request, order_no)
    form = forms.MemoForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    cancel.claim_approve_cancel(actor=user, claim=claim, **form.cleaned_data)
    return _done(
        request,
        _("The cancel request on order %(no)s was approved.") % {"no": order_no},
        order_no,
        panel="claim",
        dialog=True,
    )


@seller_required
@require_POST
def claim_start_return(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """退货 / 交换 on a shipped order, for a seller-fault reason."""
    user = _user(request)
    order = access_order_for_seller(user, order_no, related=FOR_ACTION)
    form = forms.StartReturnForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    data = form.cleaned_data
    returns.claim_seller_start_return(
        actor=user,
        order=order,
        reason=data["reason"],
        seller_memo=data["seller_memo"],
        pickup_method=data["pickup_method"] or "seller_collects",
        pickup_carrier=data["pickup_carrier"],
        exchange=data["kind"] == "exchange",
        attachments=request.FILES.getlist("attachments"),
    )
    return _done(
        request,
        _("A return was opened for order %(no)s.") % {"no": order_no},
        order_no,
        panel="claim",
    )


@seller_required
@require_POST
def claim_accept_return(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """退货要求接受/验证."""
    user, claim = _claim_action(request, order_no)
    form = forms.AcceptReturnForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    returns.claim_accept_return(actor=user, claim=claim, **form.cleaned_data)
    return _done(
        request,
        _("The return of order %(no)s was accepted.") % {"no": order_no},
        order_no,
        panel="claim",
    )


@seller_required
@require_POST
def claim_complete_return(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """回收完成/全额退款, with the seed's two questions."""
    user, claim = _claim_action(request, order_no)
    form = forms.CompleteReturnForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    data = form.cleaned_data
    returns.claim_complete_return(
        actor=user,
        claim=claim,
        goods_received=data["goods_received"] == "yes",
        confirmed=data["confirmed"] == "yes",
        return_shipping_deduction=data["return_shipping_deduction"] or 0,
        grant_payment_fee=data["grant_payment_fee"],
        seller_memo=data["seller_memo"],
    )
    return _done(
        request,
        _("The return of order %(no)s is complete and refunded.") % {"no": order_no},
        order_no,
        panel="claim",
        dialog=True,
    )


@seller_required
@require_POST
def claim_convert_exchange(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """退货申请要求交换处理."""
    user, claim = _claim_action(request, order_no)
    form = forms.MemoForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    returns.claim_convert_to_exchange(
        actor=user, claim=claim, seller_memo=form.cleaned_data["seller_memo"]
    )
    return _done(
        request,
        _("The return of order %(no)s is now an exchange.") % {"no": order_no},
        order_no,
        panel="claim",
    )


@seller_required
@require_POST
def claim_approve_exchange(request: HttpRequest, order_no: int) -> HttpResponseBase:
    user, claim = _claim_action(request, order_no)
    form = forms.MemoForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    returns.claim_approve_exchange(
        actor=user, claim=claim, seller_memo=form.cleaned_data["seller_memo"]
    )
    return _done(
        request,
        _("The exchange of order %(no)s was approved.") % {"no": order_no},
        order_no,
        panel="claim",
    )


@seller_required
@require_POST
def claim_redeliver(request: HttpRequest, order_no: int) -> HttpResponseBase:
    user, claim = _claim_action(request, order_no)
    form = forms.RedeliverForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    returns.claim_redeliver(actor=user, claim=claim, **form.cleaned_data)
    return _done(
        request,
        _("Re-delivery of order %(no)s registered.") % {"no": order_no},
        order_no,
        panel="claim",
    )


@seller_required
@require_POST
def claim_refund_non_receipt(request: HttpRequest, order_no: int) -> HttpResponseBase:
    user, claim = _claim_action(request, order_no)
    form = forms.NonReceiptRefundForm(request.POST)
    if not form.is_valid():
        raise _form_error(form)
    data = form.cleaned_data
    if data["scope"] == "partial" and not data["amount"]:
        raise InvalidInput("amount_invalid", _("Enter the amount of the partial refund."))
    non_receipt.claim_refund_non_receipt(
        actor=user,
        claim=claim,
        amount_minor=data["amount"] if data["scope"] == "partial" else None,
        seller_memo=data["seller_memo"],
    )
    return _done(
        request,
        _("Order %(no)s was refunded.") % {"no": order_no},
        order_no,
        panel="claim",
        dialog=True,
    )


# --- history and settings ---------------------------------------------------------------------


@seller_required
def history(request: HttpRequest, order_no: int) -> HttpResponseBase:
    """The order's timeline: every event of the order and its claims."""
    order = access_order_for_seller(_user(request), order_no)
    return render(request, "seller/history.html", {"order": order, "events": order_history(order)})


@seller_required
@require_http_methods(["GET", "POST"])
def addresses(request: HttpRequest) -> HttpResponseBase:
    """The address book with the default return/exchange address."""
    user = _user(request)
    form = forms.AddressForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action", "add")
        if action == "default":
            address_set_default(actor=user, address_id=posted_id(request.POST.get("address")))
            messages.success(request, _("Default return/exchange address set."))
        elif action == "delete":
            address_delete(actor=user, address_id=posted_id(request.POST.get("address")))
            messages.success(request, _("Address removed."))
        else:
            if not form.is_valid():
                raise _form_error(form)
            address_create(actor=user, **form.cleaned_data)
            messages.success(request, _("Address added."))
        return redirect("seller:addresses")
    return render(
        request,
        "seller/addresses.html",
        {
            "form": form,
            "addresses": shop_addresses(_shop_id(request)),
        },
    )


@seller_required
@require_http_methods(["GET", "POST"])
def staff(request: HttpRequest) -> HttpResponseBase:
    """The shop's staff logins: add one, or switch one off."""
    user = _user(request)
    if request.method == "POST":
        if request.POST.get("action") == "deactivate":
            staff_deactivate(actor=user, user_id=posted_id(request.POST.get("member")))
            messages.success(request, _("The login was switched off."))
        else:
            staff_create(
                actor=user,
                username=request.POST.get("username", ""),
                email=request.POST.get("email", ""),
                display_name=request.POST.get("display_name", ""),
                language=request.POST.get("language", ""),
                password=request.POST.get("password", ""),
            )
            messages.success(request, _("The staff login was added."))
        return redirect("seller:staff")
    return render(request, "seller/staff.html", {"members": shop_staff(_shop_id(request))})
