"""/orders: the shipping page as an API, calling the same services."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from claimdesk.claims.cancel import claim_seller_cancel
from claimdesk.claims.returns import claim_convert_to_exchange, claim_seller_start_return
from claimdesk.claims.selectors import MAX_PERIOD_DAYS, clean_period
from claimdesk.core.errors import InvalidInput
from claimdesk.core.i18n import lazy_text as _
from claimdesk.orders import services as order_services
from claimdesk.orders.access import FOR_ACTION
from claimdesk.orders.bulk import MAX_BULK_ROWS, ShipRow, orders_ship_bulk
from claimdesk.orders.models import Order
from claimdesk.orders.selectors import order_with_cart, shop_orders_matching

from .guard import actor_of, read_auth, seller_order, write_auth
from .pagination import CURSOR_PATTERN, page
from .problems import ERRORS
from .schemas import (
    BIG,
    BulkShipIn,
    BulkShipOut,
    ClaimDetail,
    ConfirmIn,
    DelayIn,
    OrderDetail,
    OrderOut,
    OrderPage,
    SellerCancelIn,
    ShipIn,
    StartReturnIn,
    day_filter,
)
from .serializers import claim_detail, history_lines, order_dict

router = Router(tags=["orders"])

PERIOD_FIELDS = {
    "order": "ordered_at",
    "payment": "paid_at",
    "shipping": "shipped_at",
    "delivered": "delivered_at",
}


class OrderFilters(Schema):
    status: int | None = Field(None, ge=1, le=5, description="shipping status 1-5")
    box: (
        Literal["awaiting_payment", "new", "confirmed", "delayed", "on_delivery", "delivered"]
        | None
    ) = Field(None, description="a box of the shipping page")
    delayed: bool | None = None
    period_kind: Literal["order", "payment", "shipping", "delivered"] = "order"
    date_from: dt.date | None = day_filter()
    date_to: dt.date | None = day_filter()
    order_no: int | None = Field(None, ge=1, le=BIG)
    cart_no: int | None = Field(None, ge=1, le=BIG)
    include_cancelled: bool = False
    cursor: str | None = Field(
        None,
        max_length=40,
        description="the `next_cursor` of the page before",
        json_schema_extra={"pattern": CURSOR_PATTERN},
    )
    limit: int = Field(50, ge=1, le=200)


def _orders(shop_id: int, f: OrderFilters) -> QuerySet[Order]:
    period = None
    if f.date_from is not None or f.date_to is not None:
        start, end = clean_period(f.date_from, f.date_to)
        tz = timezone.get_current_timezone()
        period = (
            PERIOD_FIELDS[f.period_kind],
            dt.datetime.combine(start, dt.time.min, tzinfo=tz),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
        )
    return shop_orders_matching(
        shop_id,
        include_cancelled=f.include_cancelled,
        box=f.box,
        status=f.status,
        delayed=f.delayed,
        order_no=f.order_no,
        cart_no=f.cart_no,
        period=period,
    )


@router.get("/orders", response={200: OrderPage, **ERRORS}, auth=read_auth)
def list_orders(request: HttpRequest, filters: Query[OrderFilters]) -> Any:
    """List the shop's orders, newest first, with the shipping page's filters.

    A period (`date_from`/`date_to`, by `period_kind`) may span at most 90 days.
    """
    shop_id = actor_of(request).shop_id or -1
    items, next_cursor = page(
        _orders(shop_id, filters), field="ordered_at", cursor=filters.cursor, limit=filters.limit
    )
    return {"items": [order_dict(o) for o in items], "next_cursor": next_cursor}


@router.post("/orders/ship-bulk", response={200: BulkShipOut, **ERRORS}, auth=write_auth)
def ship_bulk(request: HttpRequest, body: BulkShipIn) -> Any:
    """Ship many orders, each row on its own (at most 500 rows); a row's failure is reported."""
    if len(body.rows) > MAX_BULK_ROWS:
        raise InvalidInput(
            "bulk_too_many_rows",
            _("A sheet may have at most %(max)s rows; split it.") % {"max": MAX_BULK_ROWS},
            {"rows": len(body.rows), "max": MAX_BULK_ROWS},
        )
    rows = [
        ShipRow(line=i, order_no=r.order_no, carrier=r.carrier, tracking_no=r.tracking_no)
        for i, r in enumerate(body.rows, start=1)
    ]
    results = orders_ship_bulk(actor=actor_of(request), rows=rows)
    return {"results": [r.__dict__ for r in results]}


@router.get("/orders/{order_no}", response={200: OrderDetail, **ERRORS}, auth=read_auth)
def get_order(request: HttpRequest, order_no: int) -> Any:
    """Return one order with its history."""
    order = seller_order(request, order_no)
    return order_dict(order) | {"history": history_lines(order)}


def _fresh(order: Order) -> dict[str, Any]:
    order = order_with_cart(order.pk)
    return order_dict(order)


@router.post("/orders/{order_no}/confirm", response={200: OrderOut, **ERRORS}, auth=write_auth)
def confirm_order(request: HttpRequest, order_no: int, body: ConfirmIn) -> Any:
    """Confirm a new order and set its estimated ship date (2 → 3)."""
    order = seller_order(request, order_no, related=FOR_ACTION)
    order_services.order_confirm(
        actor=actor_of(request), order=order, est_ship_date=body.est_ship_date
    )
    return _fresh(order)


@router.post("/orders/{order_no}/delay", response={200: OrderOut, **ERRORS}, auth=write_auth)
def delay_order(request: HttpRequest, order_no: int, body: DelayIn) -> Any:
    """Register a shipping delay: new date, type 1-4 and memo."""
    order = seller_order(request, order_no, related=FOR_ACTION)
    order_services.order_register_delay(
        actor=actor_of(request),
        order=order,
        est_ship_date=body.est_ship_date,
        delay_type=body.delay_type,
        memo=body.memo,
    )
    return _fresh(order)


@router.post("/orders/{order_no}/ship", response={200: OrderOut, **ERRORS}, auth=write_auth)
def ship_order(request: HttpRequest, order_no: int, body: ShipIn) -> Any:
    """Ship with carrier and tracking number (declines a buyer's open cancel request)."""
    order = seller_order(request, order_no, related=FOR_ACTION)
    order_services.order_ship(
        actor=actor_of(request), order=order, carrier=body.carrier, tracking_no=body.tracking_no
    )
    return _fresh(order)


@router.post("/orders/{order_no}/cancel", response={200: ClaimDetail, **ERRORS}, auth=write_auth)
def cancel_order(request: HttpRequest, order_no: int, body: SellerCancelIn) -> Any:
    """Cancel before shipment for a seller reason, and refund.

    Without a prior cancel note to the buyer the call is refused with
    `notice_not_sent` unless `confirm_without_notice` is true. CUSTOMER_REQUEST
    approves the buyer's own cancel request.
    """
    order = seller_order(request, order_no, related=FOR_ACTION)
    claim = claim_seller_cancel(
        actor=actor_of(request),
        order=order,
        reason=body.reason,
        seller_memo=body.seller_memo,
        confirm_without_notice=body.confirm_without_notice,
        grant_payment_fee=body.grant_payment_fee,
    )
    return claim_detail(claim.pk)


@router.post(
    "/orders/{order_no}/start-return", response={200: ClaimDetail, **ERRORS}, auth=write_auth
)
def start_return(request: HttpRequest, order_no: int, body: StartReturnIn) -> Any:
    """Start a return (or, with `exchange`, an exchange) of a shipped order, seller-fault reasons only."""
    actor = actor_of(request)
    order = seller_order(request, order_no, related=FOR_ACTION)
    claim = claim_seller_start_return(
        actor=actor,
        order=order,
        reason=body.reason,
        seller_memo=body.seller_memo,
        pickup_method=body.pickup_method,
        pickup_carrier=body.pickup_carrier,
    )
    if body.exchange:
        claim = claim_convert_to_exchange(actor=actor, claim=claim, seller_memo=body.seller_memo)
    return claim_detail(claim.pk)


__all__ = ["MAX_PERIOD_DAYS", "router"]
