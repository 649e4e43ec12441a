"""The QAPI methods of SPEC section 11, each calling the services the seller portal calls."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, OuterRef, Q, QuerySet, Subquery, When
from django.utils import timezone

from claimdesk.accounts.models import ApiToken, User
from claimdesk.accounts.tokens import qapi_key_issue
from claimdesk.claims import services as claim_services
from claimdesk.claims.access import access_claim_for_seller
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.claims.reasons import CANCEL_REASONS
from claimdesk.core.errors import DomainError
from claimdesk.core.money import minor_units
from claimdesk.orders import services as order_services
from claimdesk.orders.access import access_order_for_seller
from claimdesk.orders.bulk import MAX_BULK_ROWS
from claimdesk.orders.models import Order, ShippingStatus
from claimdesk.payments.models import Refund

from . import items
from .envelope import Params, QapiError, Result, date_text, date_texts, money_value
from .errors import refusal, refused

MAX_PERIOD_DAYS = 90
BIG = 2**63 - 1


@dataclass(frozen=True)
class Context:
    token: ApiToken | None
    api_key: str

    @property
    def actor(self) -> User:
        assert self.token is not None  # noqa: S101 - only methods that need a key get here
        return self.token.user


Handler = Callable[[Context, Params], Result]


# --- helpers ---------------------------------------------------------------------------------------


def _parse_moment(text: str, *, end: bool) -> dt.datetime:
    tz = timezone.get_current_timezone()
    digits = text.replace("-", "").replace(":", "").replace(" ", "").replace("/", "")
    try:
        if len(digits) == 8:
            day = dt.datetime.strptime(digits, "%Y%m%d").replace(tzinfo=tz)
            return day + dt.timedelta(days=1) if end else day
        if len(digits) == 14:
            moment = dt.datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=tz)
            return moment + dt.timedelta(seconds=1) if end else moment
    except ValueError:
        pass
    raise QapiError(-10002, "Search Date Error")


def _period(start_text: str, end_text: str, *, required: bool) -> tuple[dt.datetime, dt.datetime]:
    """Return [start, end) of a search; refuse a bad date (-10002) or more than 90 days (-10003)."""
    if not start_text and not end_text and not required:
        end = timezone.now()
        return end - dt.timedelta(days=30), end
    if not start_text or not end_text:
        raise QapiError(-10002, "Search Date Error")
    start = _parse_moment(start_text, end=False)
    end = _parse_moment(end_text, end=True)
    if start >= end:
        raise QapiError(-10002, "Search Date Error")
    if end - start > dt.timedelta(days=MAX_PERIOD_DAYS + 1) or (
        len(start_text) == 14 and end - start > dt.timedelta(days=MAX_PERIOD_DAYS, seconds=1)
    ):
        raise QapiError(-10003, "Searching period exceeds to 90 days.")
    return start, end


def ascii_number(text: str) -> int | None:
    """Return `text` as a positive 64-bit number if it is one in ASCII digits, else None.

    `str.isdigit` accepts "²" and other digits `int()` refuses or reads differently.
    """
    digits = text.strip()
    if not digits.isascii() or not digits.isdigit() or not 0 < int(digits) <= BIG:
        return None
    return int(digits)


def _order(ctx: Context, order_no: str) -> Order:
    """Return the shop's order; a malformed or unknown number is the services' NotFound."""
    return access_order_for_seller(ctx.actor, ascii_number(order_no) or 0)


def _related_orders(order: Order) -> str:
    """Return the other order numbers of the order's cart, comma-separated (Qoo10's RelatedOrder)."""
    siblings = getattr(order.cart, "_qapi_order_nos", None)
    if siblings is None:
        siblings = list(
            Order.objects.filter(cart_id=order.cart_id)
            .order_by("order_no")
            .values_list("order_no", flat=True)
        )
        order.cart._qapi_order_nos = siblings  # type: ignore[attr-defined]
    return ",".join(str(n) for n in siblings if n != order.order_no)


#: ShippingStatus as Qoo10 writes it in shipping rows: its English text with the code.
SHIPPING_STATUS_TEXT: dict[int, str] = {
    ShippingStatus.AWAITING_PAYMENT: "Awaiting shipping(1)",
    ShippingStatus.REQUESTED: "On request(2)",
    ShippingStatus.CONFIRMED: "Seller confirm(3)",
    ShippingStatus.ON_DELIVERY: "On delivery(4)",
    ShippingStatus.DELIVERED: "Delivered(5)",
}


def shipping_status_text(code: int) -> str:
    """Return Qoo10's text of a shipping status code, e.g. "On request(2)"."""
    return SHIPPING_STATUS_TEXT.get(code, f"({code})")


def _shipping_row_v3(order: Order) -> dict[str, Any]:
    """One order as GetShippingInfo_v3 answers it: Qoo10's PascalCase names, in its order."""
    cart = order.cart
    buyer = order.buyer
    currency = order.currency
    discount = order.seller_discount_minor
    return {
        "ShippingStatus": shipping_status_text(order.shipping_status),
        "SellerID": order.shop.code,
        "PackNo": cart.cart_no,
        "OrderDate": date_text(order.ordered_at),
        "PaymentDate": date_text(order.paid_at),
        "EstimatedShippingDate": date_text(order.est_ship_date),
        "ShippingDate": date_text(order.shipped_at),
        "DeliveredDate": date_text(order.delivered_at),
        "Buyer": str(buyer),
        "BuyerKana": buyer.kana_name,
        "BuyerTel": "",
        "BuyerMobile": "",
        "BuyerEmail": "",
        "OrderNo": order.order_no,
        "ItemNo": order.item_code,
        "SellerItemCode": order.seller_item_code,
        "ItemTitle": order.item_title,
        "Option": order.option_text,
        "OptionCode": order.option_code,
        "OrderPrice": money_value(order.unit_price_minor, currency),
        "OrderQty": order.quantity,
        "Discount": money_value(discount, currency),
        "Total": money_value(order.total_minor, currency),
        "Receiver": order.receiver_name,
        "ReceiverKana": order.receiver_kana,
        "ZipCode": order.receiver_zip,
        "ShippingAddress": f"{order.receiver_address} {order.receiver_address2}".strip(),
        "Address1": order.receiver_address,
        "Address2": order.receiver_address2,
        "ReceiverTel": order.receiver_phone,
        "ReceiverMobile": order.receiver_mobile,
        "DesiredDeliveryDate": "",
        "SenderName": "",
        "SenderTel": "",
        "SenderNation": "",
        "SenderZipCode": "",
        "SenderAddress": "",
        "ShippingWay": order.shipping_way,
        "ShippingMessage": "",
        "PaymentMethod": cart.payment_method,
        "SellerDiscount": money_value(discount, currency),
        "Currency": currency,
        "ShippingRate": money_value(cart.shipping_fee_minor, currency),
        "RelatedOrder": _related_orders(order),
        "ShippingRateType": "",
        "DeliveryCompany": order.carrier,
        "VoucherCode": "",
        "PackingNo": "",
        "SellerDeliveryNo": "",
        "Gift": "",
        "CartDiscountSeller": money_value(order.cart_seller_discount_minor, currency),
        "CartDiscountQoo10": money_value(order.cart_platform_discount_minor, currency),
        "SettlePrice": money_value(order.settle_price_minor, currency),
        "BranchName": "",
        "TrackingNo": order.tracking_no,
        "Material": "",
        "AvailableSendType": "",
        "AvailableShippingDate": (
            order.est_ship_date.isoformat() if order.est_ship_date is not None else ""
        ),
        # claimdesk's own, after Qoo10's fields
        "PaymentNation": order.order_country,
        "DelayType": str(order.delay_type or ""),
    }


def _shipping_row_v2(order: Order) -> dict[str, Any]:
    """One order as GetShippingInfo_v2 answers it: Qoo10's older, mostly lowerCamel names."""
    cart = order.cart
    buyer = order.buyer
    currency = order.currency
    discount = order.seller_discount_minor
    return {
        "shippingStatus": shipping_status_text(order.shipping_status),
        "sellerID": order.shop.code,
        "packNo": cart.cart_no,
        "orderDate": date_text(order.ordered_at),
        "PaymentDate": date_text(order.paid_at),
        "EstShippingDate": date_text(order.est_ship_date),
        "ShippingDate": date_text(order.shipped_at),
        "DeliveredDate": date_text(order.delivered_at),
        "buyer": str(buyer),
        "buyer_gata": buyer.kana_name,
        "buyerTel": "",
        "buyerMobile": "",
        "buyerEmail": "",
        "orderNo": order.order_no,
        "itemCode": order.item_code,
        "sellerItemCode": order.seller_item_code,
        "itemTitle": order.item_title,
        "option": order.option_text,
        "optionCode": order.option_code,
        "orderPrice": money_value(order.unit_price_minor, currency),
        "orderQty": order.quantity,
        "discount": money_value(discount, currency),
        "total": money_value(order.total_minor, currency),
        "receiver": order.receiver_name,
        "receiver_gata": order.receiver_kana,
        "shippingCountry": order.receiver_country,
        "zipCode": order.receiver_zip,
        "shippingAddr": f"{order.receiver_address} {order.receiver_address2}".strip(),
        "Addr1": order.receiver_address,
        "Addr2": order.receiver_address2,
        "receiverTel": order.receiver_phone,
        "receiverMobile": order.receiver_mobile,
        "hopeDate": "",
        "senderName": "",
        "senderTel": "",
        "senderNation": "",
        "senderZipCode": "",
        "senderAddr": "",
        "ShippingWay": order.shipping_way,
        "ShippingMsg": "",
        "PaymentMethod": cart.payment_method,
        "SellerDiscount": money_value(discount, currency),
        "Currency": currency,
        "ShippingRate": money_value(cart.shipping_fee_minor, currency),
        "RelatedOrder": _related_orders(order),
        "shippingRateType": "",
        "DeliveryCompany": order.carrier,
        "VoucherCode": "",
        "PackingNo": "",
        "SellerDeliveryNo": "",
        "PaymentNation": order.order_country,
        "Gift": "",
        "cod_price": 0,
        "Cart_Discount_Seller": money_value(order.cart_seller_discount_minor, currency),
        "Cart_Discount_Qoo10": money_value(order.cart_platform_discount_minor, currency),
        "SettlePrice": money_value(order.settle_price_minor, currency),
        "BranchName": "",
        "TrackingNo": order.tracking_no,
        "DelayType": str(order.delay_type or ""),
    }


#: The columns a ClaimInfo_V2 row is made of, read with values_list() in this order: no model
#: instances (a 90-day answer of a big shop is 20,000 rows). `partial_refund_minor` is
#: annotated by _claim_rows.
_CLAIM_ROW_COLUMNS = (
    "status",
    "completed_at",
    "reason_code",
    "requested_at",
    "order__ordered_at",
    "order__paid_at",
    "order__shipped_at",
    "order__delivered_at",
    "order__order_no",
    "order__cart__cart_no",
    "order__item_code",
    "order__seller_item_code",
    "order__item_title",
    "order__quantity",
    "order__order_country",
    "order__currency",
    "order__total_minor",
    "order__carrier",
    "order__tracking_no",
    "pickup_carrier",
    "order__receiver_zip",
    "return_shipping_deduction_minor",
    "order__receiver_name",
    "order__receiver_phone",
    "order__receiver_mobile",
    "buyer__display_name",
    "buyer__username",
    "non_receipt_duty",
    "non_receipt_solution",
    "missing_quantity",
    "partial_refund_minor",
    "seller_memo",
)


def _claim_rows(claims: QuerySet[Claim]) -> list[dict[str, Any]]:
    """Return the claims as ClaimInfo_V2 rows (Qoo10's names), in the queryset's order.

    One query; each distinct date is formatted once and each currency's minor
    units looked up once. The refund amount is read only for the claims partly
    refunded for non-receipt (the only ones whose nrPartRefundBalance shows
    it), through the refund's unique claim index, instead of joining every
    refund.
    """
    partial_refund = Subquery(
        Refund.objects.filter(claim=OuterRef("pk")).order_by().values("amount_minor")
    )
    claims = claims.annotate(
        partial_refund_minor=Case(
            When(status=ClaimStatus.NON_RECEIPT_PARTIALLY_REFUNDED, then=partial_refund)
        )
    )
    date = date_texts()
    zero_places: dict[str, bool] = {}

    def money(minor: int, currency: str) -> int | float:
        whole = zero_places.get(currency)
        if whole is None:
            whole = zero_places[currency] = minor_units(currency) == 0
        return minor if whole else money_value(minor, currency)

    rows = []
    for (
        status,
        completed_at,
        reason_code,
        requested_at,
        ordered_at,
        paid_at,
        shipped_at,
        delivered_at,
        order_no,
        cart_no,
        item_code,
        seller_item_code,
        item_title,
        quantity,
        order_country,
        currency,
        total_minor,
        carrier,
        tracking_no,
        pickup_carrier,
        receiver_zip,
        return_shipping_deduction_minor,
        receiver_name,
        receiver_phone,
        receiver_mobile,
        buyer_display_name,
        buyer_username,
        non_receipt_duty,
        non_receipt_solution,
        missing_quantity,
        partial_refund_minor,
        seller_memo,
    ) in claims.values_list(*_CLAIM_ROW_COLUMNS):
        rows.append(
            {
                "claimStatus": str(status),
                "cancelRefundDate": date(completed_at),
                "reason": reason_code,
                "requestDate": date(requested_at),
                "orderDate": date(ordered_at),
                "PaymentDate": date(paid_at),
                "shippingDate": date(shipped_at),
                "DeliveredDate": date(delivered_at),
                "orderNo": order_no,
                "packNo": cart_no,
                "itemCode": item_code,
                "sellerItemCode": seller_item_code,
                "itemTitle": item_title,
                "orderQty": quantity,
                "paymentNation": order_country,
                "currency": currency,
                "paymentAmount": money(total_minor, currency),
                "deliveryCompany": carrier,
                "trackingNo": tracking_no,
                "deliveryCompanyReturn": pickup_carrier,
                "trackingNoReturn": "",
                "pickupAddress": "",
                "zipCode": receiver_zip,
                "paymentReturnShipping": str(money(return_shipping_deduction_minor, currency)),
                "itemCondition": "",
                "receiver": receiver_name,
                "receiverTel": receiver_phone,
                "receiverMobile": receiver_mobile,
                "buyer": buyer_display_name or buyer_username,  # str(User)
                "buyerTel": "",
                "buyerMobile": "",
                "CODCancelPrice": 0,
                "CODQrefundPrice": 0,
                "CODCancelRelatedOrder": "",
                "nrDutyTarget": non_receipt_duty,
                "nrSolType": non_receipt_solution,
                "nrPartRefundCnt": missing_quantity or 0,
                "nrPartRefundBalance": money(partial_refund_minor or 0, currency),
                "sellerMemo": seller_memo,
            }
        )
    return rows


# --- CertificationAPI --------------------------------------------------------------------------------


def create_certification_key(ctx: Context, p: Params) -> Result:
    _token, raw = qapi_key_issue(
        api_key=ctx.api_key,
        user_id=p.get("user_id", "userId"),
        password=p.get("pwd", "password"),
    )
    return Result(raw, "String")


# --- ShippingBasic: reading ---------------------------------------------------------------------------

_SHIP_CONDITIONS = {"1": "ordered_at", "2": "paid_at", "3": "shipped_at", "4": "delivered_at"}


def _shipping_info(
    ctx: Context,
    status: str,
    start: str,
    end: str,
    condition: str,
    *,
    row: Callable[[Order], dict[str, Any]],
) -> Result:
    field = _SHIP_CONDITIONS.get(condition or "1")
    if field is None or status not in ("", "0", "1", "2", "3", "4", "5"):
        raise QapiError(-10001, "Invalid search condition or status.")
    lower, upper = _period(start, end, required=False)
    orders = Order.objects.filter(
        shop_id=ctx.actor.shop_id or -1, cancelled_at__isnull=True, **{f"{field}__gte": lower}
    ).filter(**{f"{field}__lt": upper})
    if status in ("", "0"):  # Qoo10: blank or 0 = the orders still to confirm (1 and 2)
        orders = orders.filter(shipping_status__in=[1, 2])
    else:
        orders = orders.filter(shipping_status=int(status))
    rows = list(orders.select_related("cart", "buyer", "shop").order_by(field, "id"))
    _preload_related_orders(rows)
    return Result([row(o) for o in rows], "ListOfShippingInfo", "ShippingInfo")


def _preload_related_orders(orders: list[Order], chunk: int = 2000) -> None:
    """Read the order numbers of every cart of `orders` at once, for `_related_orders`."""
    cart_ids = sorted({o.cart_id for o in orders})
    siblings: dict[int, list[int]] = {}
    for start in range(0, len(cart_ids), chunk):
        pairs = (
            Order.objects.filter(cart_id__in=cart_ids[start : start + chunk])
            .order_by("order_no")
            .values_list("cart_id", "order_no")
        )
        for cart_id, order_no in pairs:
            siblings.setdefault(cart_id, []).append(order_no)
    for order in orders:
        order.cart._qapi_order_nos = siblings.get(order.cart_id, [])  # type: ignore[attr-defined]


def get_shipping_info_v2(ctx: Context, p: Params) -> Result:
    return _shipping_info(
        ctx,
        p.get("ShippingStat", "ShippingStatus"),
        p.get("search_Sdate", "SearchStartDate"),
        p.get("search_Edate", "SearchEndDate"),
        p.get("search_condition", "SearchCondition"),
        row=_shipping_row_v2,
    )


def get_shipping_info_v3(ctx: Context, p: Params) -> Result:
    return _shipping_info(
        ctx,
        p.get("ShippingStatus", "ShippingStat"),
        p.get("SearchStartDate", "search_Sdate"),
        p.get("SearchEndDate", "search_Edate"),
        p.get("SearchCondition", "search_condition"),
        row=_shipping_row_v3,
    )


#: Claim fields of ShippingClaimInfo_V2 (GetShippingAndClaimInfoByOrderNo_V2), with their
#: value for an order without a claim.
_CLAIM_PART_OF_SHIPPING_CLAIM_INFO: dict[str, Any] = {
    "claimStatus": "",
    "cancelRefundDate": "",
    "reason": "",
    "requestDate": "",
    "deliveryCompanyReturn": "",
    "trackingNoReturn": "",
    "pickupAddress": "",
    "pickupzipCode": "",
    "paymentReturnShipping": "",
    "itemCondition": "",
    "CODCancelPrice": 0,
    "CODQrefundPrice": 0,
    "CODCancelRelatedOrder": "",
    "nrDutyTarget": "",
    "nrSolType": "",
    "nrPartRefundCnt": 0,
    "nrPartRefundBalance": 0,
}


def get_shipping_and_claim_info_by_order_no_v2(ctx: Context, p: Params) -> Result:
    order = _order(ctx, p.get("OrderNo", "ContrNo"))
    order = Order.objects.select_related("cart", "buyer", "shop").get(pk=order.pk)
    row = _shipping_row_v2(order)
    latest = _claim_rows(Claim.objects.filter(order=order).order_by("-requested_at", "-id")[:1])
    claim_part = latest[0] if latest else {}
    row["OrderType"] = ""
    for name, default in _CLAIM_PART_OF_SHIPPING_CLAIM_INFO.items():
        row[name] = claim_part.get(name, default)
    row |= {
        "shippingDate": date_text(order.shipped_at),
        "currency": order.currency,
        "deliveryCompany": order.carrier,
        "trackingNo": order.tracking_no,
        "paymentNation": order.order_country,
    }
    return Result([row], "ListOfShippingClaimInfo_V2", "ShippingClaimInfo_V2")


_CLAIM_CONDITIONS = {"1": "order__ordered_at", "2": "requested_at", "3": "completed_at"}
#: Claim statuses Qoo10 clients know, plus non-receipt reported (91).
_LISTED = [s.value for s in ClaimStatus if s.value <= 16] + [ClaimStatus.NON_RECEIPT_REPORTED]
#: ClaimStat values accepted: every claim status ("" = "0" = the listed ones).
_CLAIM_STAT_TEXT = {str(s.value) for s in ClaimStatus} | {""}


def get_claim_info_v3(ctx: Context, p: Params) -> Result:
    field = _CLAIM_CONDITIONS.get(p.get("search_condition", "SearchCondition") or "2")
    status = p.get("ClaimStat", "ClaimStatus")
    if field is None:
        raise QapiError(-10002, "Search Date Error")
    if status and status.lstrip("0") not in _CLAIM_STAT_TEXT:
        raise QapiError(-10001, "ClaimStat is not a claim status code.")
    lower, upper = _period(
        p.get("search_Sdate", "SearchStartDate"),
        p.get("search_Edate", "SearchEndDate"),
        required=True,
    )
    claims = Claim.objects.filter(shop_id=ctx.actor.shop_id or -1).filter(
        Q(**{f"{field}__gte": lower}) & Q(**{f"{field}__lt": upper})
    )
    claims = (
        claims.filter(status=int(status))
        if status and int(status)
        else claims.filter(status__in=_LISTED)
    )
    rows = _claim_rows(claims.order_by("requested_at", "id"))
    return Result(rows, "ListOfClaimInfo_V2", "ClaimInfo_V2")


# --- ShippingBasic: writing ---------------------------------------------------------------------------


def _check_yn(ctx: Context, order_no: str, est: str, delay_type: str, memo: str) -> None:
    order = _order(ctx, order_no)
    if not est:
        raise refused("check", -10016)
    try:
        day = dt.datetime.strptime(est.strip()[:8], "%Y%m%d").date()
    except ValueError as error:
        raise refused("check", -10016) from error
    today = timezone.localdate()
    if day < today:
        raise refused("check", -10018)
    if day > today + dt.timedelta(days=MAX_PERIOD_DAYS):
        raise refused("check", -10017)
    if delay_type:
        delay = ascii_number(delay_type)
        if delay is None:
            raise refused("check", -10001, message="DelayType is 1, 2, 3 or 4.")
        order_services.order_register_delay(
            actor=ctx.actor, order=order, est_ship_date=day, delay_type=delay, memo=memo
        )
        return
    if order.shipping_status == ShippingStatus.CONFIRMED and not order.is_cancelled:
        raise refused("check", -10012)
    order_services.order_confirm(actor=ctx.actor, order=order, est_ship_date=day)


def set_seller_check_yn_v2(ctx: Context, p: Params) -> Result:
    _check_yn(
        ctx,
        p.get("OrderNo", "ContrNo"),
        p.get("EstShipDt"),
        p.get("DelayType"),
        p.get("DelayMemo"),
    )
    return Result()


def _bulk_rows(text: str, family: str) -> list[dict[str, Any]]:
    try:
        rows = json.loads(text or "[]")
    except json.JSONDecodeError as error:
        raise refused(family, -10001, message="The JSON parameter is malformed.") from error
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise refused(family, -10001, message="The JSON parameter must be a list of objects.")
    if len(rows) > MAX_BULK_ROWS:
        raise QapiError(-10011, f"Over the limit: at most {MAX_BULK_ROWS} orders per request.")
    return [{k.lower(): ("" if v is None else str(v)) for k, v in r.items()} for r in rows]


def _row_result(family: str, action: Callable[[], None]) -> tuple[int, str]:
    """Run one row's action; return its result code and fixed English message."""
    try:
        action()
    except QapiError as error:
        return error.code, error.message
    except DomainError as error:
        refused_row = refusal(error, family)
        return refused_row.code, refused_row.message
    return 0, "SUCCESS"


def set_seller_check_yn_bulk(ctx: Context, p: Params) -> Result:
    results = []
    for row in _bulk_rows(p.get("SendPlanDtInfoJson"), "check"):
        no = row.get("orderno", "").strip()
        code, message = _row_result(
            "check",
            lambda r=row, n=no: _check_yn(  # type: ignore[misc]
                ctx, n, r.get("estshipdt", ""), r.get("delaytype", ""), r.get("delaymemo", "")
            ),
        )
        results.append(
            {
                "OrderNo": no,
                "cont_no": ascii_number(no) or 0,
                "result_cd": code,
                "ResultCode": code,
                "ResultMsg": message,
            }
        )
    return Result(results, "ListOfBulkResult", "BulkResult")


def _send(ctx: Context, order_no: str, carrier: str, tracking_no: str) -> None:
    order = _order(ctx, order_no)
    if not carrier.strip() or not tracking_no.strip():
        raise refused("order", -10002, message="ShippingCorp and TrackingNo are required.")
    if (
        order.shipping_status == ShippingStatus.ON_DELIVERY
        and order.tracking_no == tracking_no.strip()
    ):
        return  # the same call again: already done
    order_services.order_ship(
        actor=ctx.actor, order=order, carrier=carrier, tracking_no=tracking_no
    )


def set_sending_info(ctx: Context, p: Params) -> Result:
    _send(
        ctx,
        p.get("OrderNo", "ContrNo"),
        p.get("ShippingCorp", "DeliveryCompany"),
        p.get("TrackingNo", "InvoiceNo"),
    )
    return Result()


def set_sending_info_bulk(ctx: Context, p: Params) -> Result:
    """Ship each row; rows answer Qoo10's `contr_no` and carrier name `transc_nm`."""
    results = []
    for row in _bulk_rows(p.get("ShippingInfoJson"), "order"):
        no = row.get("orderno", "").strip()
        code, message = _row_result(
            "order",
            lambda r=row, n=no: _send(  # type: ignore[misc]
                ctx, n, r.get("shippingcorp", ""), r.get("trackingno", "")
            ),
        )
        results.append(
            {
                "OrderNo": no,
                "contr_no": ascii_number(no) or 0,
                "result_cd": code,
                "transc_nm": row.get("shippingcorp", "").strip(),
                "ResultCode": code,
                "ResultMsg": message,
            }
        )
    return Result(results, "ListOfBulkResult", "BulkResult")


# --- Claim ----------------------------------------------------------------------------------------------

#: Qoo10 CancelReason -> claimdesk reason code (SPEC section 4).
CANCEL_REASON_OF = {
    r.qapi_cancel_reason: r.code
    for r in CANCEL_REASONS.values()
    if r.qapi_cancel_reason is not None
}


def _yes(text: str) -> bool:
    return text.strip().lower() in ("y", "yes", "1", "true")


def set_cancel_process(ctx: Context, p: Params) -> Result:
    """Cancel as the seller portal's cancel panel does (`claim_seller_cancel`).

    Qoo10's CancelReason 1 (order change) is the buyer's reason: the seller gives
    it to take up the buyer's own request, which the service does for
    CUSTOMER_REQUEST. Without a cancel note sent to the buyer first, the service
    asks for confirmation, given here by claimdesk's `ConfirmWithoutNotice=Y`.
    """
    order = _order(ctx, p.get("ContrNo", "OrderNo"))
    reason = CANCEL_REASON_OF.get(p.get("CancelReason"))
    if reason is None:
        raise refused("claim", -10001, message="CancelReason is empty, 1, 2 or 3.")
    if reason == "EDIT_ORDER":
        reason = "CUSTOMER_REQUEST"
    claim_services.claim_seller_cancel(
        actor=ctx.actor,
        order=order,
        reason=reason,
        seller_memo=p.get("SellerMemo"),
        confirm_without_notice=_yes(p.get("ConfirmWithoutNotice")),
    )
    return Result()


def set_claim_accept(ctx: Context, p: Params) -> Result:
    """Approve an exchange (to the `seller_*` address if given) or accept a return."""
    order = _order(ctx, p.get("orderNo", "ContrNo"))
    claim = access_claim_for_seller(ctx.actor, order.order_no)
    if claim.status == ClaimStatus.RETURN_REQUESTED:
        claim_services.claim_accept_return(
            actor=ctx.actor, claim=claim, pickup_method="buyer_sends"
        )
        return Result()
    address = None
    if p.get("seller_name", "seller_zip_code", "seller_front_address"):
        address = claim_services.exchange_address(
            name=p.get("seller_name"),
            zip_code=p.get("seller_zip_code", "seller_zipCode"),
            address_front=p.get("seller_front_address"),
            address_back=p.get("seller_back_address"),
            phone=p.get("seller_hp_no", "seller_tel_no"),
        )
    claim_services.claim_approve_exchange(actor=ctx.actor, claim=claim, return_address=address)
    return Result()


def set_claim_redelivery(ctx: Context, p: Params) -> Result:
    order = _order(ctx, p.get("orderNo", "ContrNo"))
    claim = access_claim_for_seller(ctx.actor, order.order_no)
    claim_services.claim_redeliver(
        actor=ctx.actor,
        claim=claim,
        redelivery_date=p.get("redelivery_date"),
        carrier=p.get("del_comapny_name", "del_company_name"),
        tracking_no=p.get("invoice_no"),
    )
    return Result()


@dataclass(frozen=True)
class Method:
    name: str
    handler: Handler
    writes: bool = False
    needs_key: bool = True
    family: str = "order"  #: its row of errors.RESULT_CODES


METHODS: dict[str, Method] = {
    m.name.lower(): m
    for m in [
        Method(
            "CertificationAPI.CreateCertificationKey",
            create_certification_key,
            needs_key=False,
            family="certification",
        ),
        Method("ShippingBasic.GetShippingInfo_v2", get_shipping_info_v2),
        Method("ShippingBasic.GetShippingInfo_v3", get_shipping_info_v3),
        Method(
            "ShippingBasic.GetShippingAndClaimInfoByOrderNo_V2",
            get_shipping_and_claim_info_by_order_no_v2,
        ),
        Method("ShippingBasic.GetClaimInfo_V3", get_claim_info_v3),
        Method("ShippingBasic.SetSellerCheckYN_V2", set_seller_check_yn_v2, True, family="check"),
        Method(
            "ShippingBasic.SetSellerCheckYNBulk", set_seller_check_yn_bulk, True, family="check"
        ),
        Method("ShippingBasic.SetSendingInfo", set_sending_info, writes=True),
        Method("ShippingBasic.SetSendingInfoBulk", set_sending_info_bulk, writes=True),
        Method("Claim.SetCancelProcess", set_cancel_process, True, family="claim"),
        Method("Claim.SetClaimAccept", set_claim_accept, True, family="claim"),
        Method("Claim.SetClaimRedelivery", set_claim_redelivery, True, family="claim"),
        Method("ItemsLookup.GetAllGoodsInfo", items.get_all_goods_info, family="items"),
        Method("ItemsLookup.GetItemDetailInfo", items.get_item_detail_info, family="items"),
    ]
}
