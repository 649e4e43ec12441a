"""The QAPI methods of SPEC section 11, each calling the services the seller portal calls."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from claimdesk.accounts.tokens import qapi_key_issue
from claimdesk.claims.access import access_claim_for_seller
from claimdesk.claims.cancel import claim_seller_cancel
from claimdesk.claims.models import ClaimStatus
from claimdesk.claims.reasons import CANCEL_REASONS
from claimdesk.claims.returns import (
    claim_accept_return,
    claim_approve_exchange,
    claim_redeliver,
    exchange_address,
)
from claimdesk.claims.selectors import order_latest_claims, shop_claims_in_period
from claimdesk.core.errors import DomainError
from claimdesk.orders import services as order_services
from claimdesk.orders.access import FOR_ACTION, FOR_PAGE, access_order_for_seller
from claimdesk.orders.bulk import MAX_BULK_ROWS
from claimdesk.orders.models import Order, ShippingStatus
from claimdesk.orders.selectors import shop_orders_in_period

from . import items
from .envelope import Context, Handler, Params, QapiError, Result, date_text
from .errors import refusal, refused
from .rows import (
    claim_rows,
    preload_related_orders,
    shipping_row_v2,
    shipping_row_v3,
)

MAX_PERIOD_DAYS = 90
BIG = 2**63 - 1


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


def _order(ctx: Context, order_no: str, *, related: tuple[str, ...] = FOR_PAGE) -> Order:
    """Return the shop's order; a malformed or unknown number is the services' NotFound.

    `related` as for `access_order_for_seller`: `FOR_ACTION` where the order goes
    to an action's service, which reads it again under its lock.
    """
    return access_order_for_seller(ctx.actor, ascii_number(order_no) or 0, related=related)


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
    # Qoo10: blank or 0 = the orders still to confirm (1 and 2)
    statuses = [1, 2] if status in ("", "0") else [int(status)]
    rows = shop_orders_in_period(ctx.actor.shop_id or -1, field, lower, upper, statuses)
    preload_related_orders(rows)
    return Result([row(o) for o in rows], "ListOfShippingInfo", "ShippingInfo")


def get_shipping_info_v2(ctx: Context, p: Params) -> Result:
    return _shipping_info(
        ctx,
        p.get("ShippingStat", "ShippingStatus"),
        p.get("search_Sdate", "SearchStartDate"),
        p.get("search_Edate", "SearchEndDate"),
        p.get("search_condition", "SearchCondition"),
        row=shipping_row_v2,
    )


def get_shipping_info_v3(ctx: Context, p: Params) -> Result:
    return _shipping_info(
        ctx,
        p.get("ShippingStatus", "ShippingStat"),
        p.get("SearchStartDate", "search_Sdate"),
        p.get("SearchEndDate", "search_Edate"),
        p.get("SearchCondition", "search_condition"),
        row=shipping_row_v3,
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
    order = _order(ctx, p.get("OrderNo", "ContrNo"))  # with its cart, buyer and shop
    row = shipping_row_v2(order)
    latest = claim_rows(order_latest_claims(order, 1))
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
    statuses = [int(status)] if status and int(status) else _LISTED
    rows = claim_rows(shop_claims_in_period(ctx.actor.shop_id or -1, field, lower, upper, statuses))
    return Result(rows, "ListOfClaimInfo_V2", "ClaimInfo_V2")


# --- ShippingBasic: writing ---------------------------------------------------------------------------


def _check_yn(ctx: Context, order_no: str, est: str, delay_type: str, memo: str) -> None:
    order = _order(ctx, order_no, related=FOR_ACTION)
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
    order = _order(ctx, order_no, related=FOR_ACTION)
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
    order = _order(ctx, p.get("ContrNo", "OrderNo"), related=FOR_ACTION)
    reason = CANCEL_REASON_OF.get(p.get("CancelReason"))
    if reason is None:
        raise refused("claim", -10001, message="CancelReason is empty, 1, 2 or 3.")
    if reason == "EDIT_ORDER":
        reason = "CUSTOMER_REQUEST"
    claim_seller_cancel(
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
        claim_accept_return(actor=ctx.actor, claim=claim, pickup_method="buyer_sends")
        return Result()
    address = None
    if p.get("seller_name", "seller_zip_code", "seller_front_address"):
        address = exchange_address(
            name=p.get("seller_name"),
            zip_code=p.get("seller_zip_code", "seller_zipCode"),
            address_front=p.get("seller_front_address"),
            address_back=p.get("seller_back_address"),
            phone=p.get("seller_hp_no", "seller_tel_no"),
        )
    claim_approve_exchange(actor=ctx.actor, claim=claim, return_address=address)
    return Result()


def set_claim_redelivery(ctx: Context, p: Params) -> Result:
    order = _order(ctx, p.get("orderNo", "ContrNo"))
    claim = access_claim_for_seller(ctx.actor, order.order_no)
    claim_redeliver(
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
