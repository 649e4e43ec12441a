"""Request and response bodies of the REST API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import BeforeValidator, Strict
from pydantic_core import PydanticCustomError

from claimdesk.messaging.models import WebhookEvent


def _json_integer(value: Any) -> Any:
    """Let through what JSON Schema calls an integer (1 and 1.0); refuse `true` and "1"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("int_type", "Input should be a JSON integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise PydanticCustomError("int_type", "Input should be a JSON integer")
        return int(value)
    return value


#: A JSON integer: `true` and `"100"` are refused, not read as a number.
JsonInt = Annotated[int, BeforeValidator(_json_integer)]
#: A JSON boolean: `1` and `"yes"` are refused.
JsonBool = Annotated[bool, Strict()]

_MONTH_DAY = "(0[1-9]|1[0-2])", "(0[1-9]|[12][0-9]|3[01])"
#: A day from 2000-01-01 to 2099-12-31 as YYYY-MM-DD: what the date filters take.
DAY_PATTERN = f"^20[0-9]{{2}}-{_MONTH_DAY[0]}-{_MONTH_DAY[1]}$"
#: A day from 2000 to 2099 as YYYY-MM-DD or YYYYMMDD: what the date fields of a body take.
DAY_TEXT_PATTERN = (
    f"^20[0-9]{{2}}(-{_MONTH_DAY[0]}-{_MONTH_DAY[1]}|{_MONTH_DAY[0]}{_MONTH_DAY[1]})$"
)
#: The ISO days a filter takes (2000-01-01 to 2099-12-31), as the document says.
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)


#: The largest order, cart or claim number (a signed 64-bit integer): a path naming a
#: larger one is answered as not found, a filter naming one is refused.
BIG = 2**63 - 1


#: Text with at least one character that is not a space (a search: anywhere in the text).
NOT_BLANK = r"\S"
#: Memos: MEMO_MAX_CHARS (1000 unless configured otherwise).
MEMO_LENGTH = 1000
_PORT = "(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
#: An http(s) address with a host name and an optional port.
URL_PATTERN = (
    r"^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?" + f"(:{_PORT})?" + r"([/?#][^\s]*)?$"
)
#: A webhook secret: empty, or 16 to 100 characters that do not begin or end with a space.
SECRET_PATTERN = r"^(\S.{14,98}\S)?$"  # noqa: S105 - a pattern, not a secret


def short_text() -> Any:
    """Return the Field of a required short text (carrier, tracking number)."""
    return Field(..., min_length=1, max_length=100, pattern=NOT_BLANK)


def day_filter(description: str = "") -> Any:
    """Return the Field of an optional date query parameter (2000-01-01 to 2099-12-31)."""
    return Field(
        None,
        ge=FIRST_DAY,
        le=LAST_DAY,
        description=description or "YYYY-MM-DD, from 2000-01-01 to 2099-12-31",
        json_schema_extra={"pattern": DAY_PATTERN},
    )


def day_text(description: str) -> Any:
    """Return the Field of a required date in a body (YYYY-MM-DD or YYYYMMDD, 2000-2099)."""
    return Field(..., description=description, pattern=DAY_TEXT_PATTERN, max_length=10)


class HistoryLine(Schema):
    created_at: dt.datetime
    actor_role: str
    kind: str
    field: str
    from_value: str
    to_value: str
    reason: str
    memo: str
    refused: bool


class OrderOut(Schema):
    order_no: int
    cart_no: int
    shipping_status: int = Field(..., description="Qoo10 shipping status 1-5")
    shipping_status_label: str
    delayed: bool
    cancelled: bool
    item_code: str
    seller_item_code: str
    item_title: str
    option_text: str
    option_code: str
    quantity: int
    currency: str
    unit_price_minor: int
    option_price_minor: int
    total_minor: int
    settle_price_minor: int
    shipping_fee_minor: int
    payment_method: str
    receiver_name: str
    receiver_kana: str
    receiver_phone: str
    receiver_country: str
    receiver_zip: str
    receiver_address: str
    receiver_address2: str
    shipping_way: str
    carrier: str
    tracking_no: str
    delay_type: int | None
    delay_memo: str
    est_ship_date: dt.date | None
    ordered_at: dt.datetime
    paid_at: dt.datetime | None
    shipped_at: dt.datetime | None
    delivered_at: dt.datetime | None
    completed_at: dt.datetime | None
    cancelled_at: dt.datetime | None


class OrderDetail(OrderOut):
    history: list[HistoryLine]


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class ConfirmIn(Schema):
    est_ship_date: str = day_text(
        "YYYY-MM-DD or YYYYMMDD: from today to 90 days ahead (in Japan's time zone)"
    )


class DelayIn(Schema):
    est_ship_date: str = day_text(
        "YYYY-MM-DD or YYYYMMDD: the new date, from today to 90 days ahead"
    )
    delay_type: JsonInt = Field(
        ..., description="1 preparing, 2 made to order, 3 customer request, 4 other"
    )
    memo: str = Field("", max_length=MEMO_LENGTH)


class ShipIn(Schema):
    carrier: str = short_text()
    tracking_no: str = short_text()


class BulkShipRow(Schema):
    order_no: str = Field(..., max_length=30)
    carrier: str = Field(..., max_length=200)
    tracking_no: str = Field(..., max_length=200)


class BulkShipIn(Schema):
    rows: list[BulkShipRow]


class BulkRowResult(Schema):
    line: int
    order_no: str
    ok: bool
    code: str
    message: str


class BulkShipOut(Schema):
    results: list[BulkRowResult]


class SellerCancelIn(Schema):
    reason: Literal["OUT_OF_STOCK", "SHIPPING_DELAY", "UNDELIVERABLE_REGION", "CUSTOMER_REQUEST"]
    seller_memo: str = Field("", max_length=MEMO_LENGTH)
    confirm_without_notice: JsonBool = False
    grant_payment_fee: JsonBool = False


class StartReturnIn(Schema):
    reason: Literal["DELIVERY_DELAY", "DEFECTIVE", "WRONG_ITEM"]
    seller_memo: str = Field("", max_length=MEMO_LENGTH)
    pickup_method: Literal["seller_collects", "buyer_sends", "not_needed"] = "seller_collects"
    pickup_carrier: str = Field("", max_length=100)
    exchange: JsonBool = False


class RefundOut(Schema):
    id: int
    status: str
    currency: str
    amount_minor: int
    item_minor: int
    shipping_minor: int
    payment_fee_minor: int
    deduction_minor: int
    destination: str
    attempt: int
    failure_code: str
    failure_message: str
    created_at: dt.datetime
    succeeded_at: dt.datetime | None
    next_retry_at: dt.datetime | None


class ClaimOut(Schema):
    id: int
    order_no: int
    cart_no: int
    type: str
    status: int = Field(..., description="Qoo10 claim status code (90+ for claimdesk's own)")
    status_label: str
    is_open: bool
    reason_code: str
    fault: str
    requested_by: str
    buyer_memo: str
    seller_memo: str
    pickup_method: str
    pickup_carrier: str
    non_receipt_duty: str
    non_receipt_solution: str
    missing_quantity: int | None
    redelivery_date: dt.date | None
    redelivery_carrier: str
    redelivery_tracking_no: str
    requested_at: dt.datetime
    completed_at: dt.datetime | None
    escalated_at: dt.datetime | None


class ClaimDetail(ClaimOut):
    order: OrderOut
    refund: RefundOut | None
    history: list[HistoryLine]


class ClaimPage(Schema):
    items: list[ClaimOut]
    next_cursor: str | None


class MemoIn(Schema):
    seller_memo: str = Field("", max_length=MEMO_LENGTH)


class ApproveCancelIn(MemoIn):
    grant_payment_fee: JsonBool = False


class AcceptReturnIn(MemoIn):
    pickup_method: Literal["seller_collects", "buyer_sends", "not_needed"]
    pickup_carrier: str = Field("", max_length=100)


class CompleteReturnIn(MemoIn):
    goods_received: JsonBool
    confirmed: JsonBool
    return_shipping_deduction: JsonInt = Field(0, ge=0, le=10**9)
    grant_payment_fee: JsonBool = False


class RedeliverIn(Schema):
    redelivery_date: str = day_text("YYYY-MM-DD or YYYYMMDD: the day of the redelivery")
    carrier: str = short_text()
    tracking_no: str = short_text()


class NonReceiptRefundIn(MemoIn):
    amount_minor: JsonInt | None = Field(
        None, ge=1, le=10**12, description="empty for a full refund, an amount for a partial one"
    )


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int


class NoteOut(Schema):
    id: int
    author_role: str
    recipient_role: str
    category: str
    title: str
    body: str
    by_mail: bool
    created_at: dt.datetime
    read_at: dt.datetime | None
    attachments: list[AttachmentOut]


class NoteIn(Schema):
    category: Literal["cancel_refund", "shipping", "return_exchange", "item", "other"]
    title: str = Field(..., min_length=1, max_length=200, pattern=NOT_BLANK)
    body: str = Field(
        ...,
        min_length=1,
        max_length=1000,
        pattern=NOT_BLANK,
        description="at most MEMO_MAX_CHARS characters (1000 unless configured)",
    )
    recipient: Literal["buyer", "customer_center"] = "buyer"
    by_mail: bool = False


class WebhookOut(Schema):
    id: int
    url: str
    events: list[str]
    is_active: bool
    created_at: dt.datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(..., description="shown once: keep it to verify signatures")


class WebhookIn(Schema):
    url: str = Field(
        ...,
        max_length=500,
        pattern=URL_PATTERN,
        description="http(s) to a public address (private and loopback ones are refused)",
    )
    events: list[WebhookEvent] = Field(..., min_length=1)
    secret: str = Field(
        "",
        max_length=100,
        pattern=SECRET_PATTERN,
        description="16 to 100 characters; empty to have one made",
    )


class WebhookDeliveryOut(Schema):
    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    payload: dict[str, Any]


class TokenInfo(Schema):
    shop_code: str
    name: str
    scopes: list[str]
    language: str
