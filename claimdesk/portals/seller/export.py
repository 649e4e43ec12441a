"""The claims list's Excel download: 100,000 rows read as plain values.

Only the sheet's columns are read (no model instances), a chunk of claims at a time,
with the dates made local days and times by the database; the sheet itself is
streamed by `claimdesk.core.sheets.xlsx_stream`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import translation

from claimdesk.claims.models import ClaimStatus, ClaimType, NonReceiptDuty, PickupMethod
from claimdesk.claims.reasons import get_reason
from claimdesk.claims.selectors import claim_values_local_days

# --- the rows -------------------------------------------------------------------------------

#: The columns read per claim, in sheet order where they are shown as they are.
_COLUMNS = (
    "type",
    "status",
    "reason_code",
    "non_receipt_duty",
    "pickup_method",
    "completed_day",
    "ordered_day",
    "shipped_day",
    "order__order_no",
    "order__cart__cart_no",
    "order__item_code",
    "order__seller_item_code",
    "requested_day",
    "requested_time",
    "order__item_title",
    "order__quantity",
    "order__total_minor",
    "order__currency",
)


def claim_texts(
    type_: str, status: int, reason_code: str, duty: str, pickup: str
) -> tuple[str, str, str, str]:
    """Return the status, reason, not-received and collection texts of a claim row."""
    kind = "cancel" if type_ in (ClaimType.CANCEL, ClaimType.UNPAID_CANCEL) else "return"
    reason = get_reason(kind, reason_code)
    return (
        f"{dict(ClaimType.choices).get(type_, type_)}: {dict(ClaimStatus.choices).get(status, status)}",
        str(reason.label) if reason else reason_code,
        str(dict(NonReceiptDuty.choices).get(duty, duty)) if duty else "",
        str(dict(PickupMethod.choices).get(pickup, pickup)) if pickup else "",
    )


def claim_export_rows(
    claims: QuerySet[Any], *, tz: dt.tzinfo, language: str
) -> Iterator[list[str | int]]:
    """Yield one sheet line per claim of `claims`, newest request first.

    Reads only the sheet's columns (no model instances), with the dates already
    turned to local days and times by the database, so that each distinct day is
    formatted once; the four translated texts are made once per combination.
    """
    # The rows are made while the response streams, after the request's language and
    # time zone were switched off: both are the downloader's, passed in explicitly.

    @functools.cache
    def texts(*key: Any) -> tuple[str, str, str, str]:
        with translation.override(language):
            return claim_texts(*key)

    days: dict[dt.date, str] = {}

    def day(value: dt.date | None) -> str:
        if value is None:
            return ""
        text = days.get(value)
        if text is None:
            text = days[value] = value.strftime("%Y/%m/%d")
        return text

    for (
        type_,
        status,
        reason_code,
        duty,
        pickup,
        completed_day,
        ordered_day,
        shipped_day,
        order_no,
        cart_no,
        item_code,
        seller_item_code,
        requested_day,
        requested_time,
        item_title,
        quantity,
        total_minor,
        currency,
    ) in claim_values_local_days(claims, _COLUMNS, tz):
        status_text, reason, duty_text, pickup_text = texts(
            type_, status, reason_code, duty, pickup
        )
        yield [
            status_text,
            day(completed_day),
            reason,
            duty_text,
            pickup_text,
            day(ordered_day),
            day(shipped_day),
            order_no,
            cart_no,
            item_code,
            seller_item_code,
            f"{day(requested_day)} {requested_time.hour:02d}:{requested_time.minute:02d}",
            item_title,
            quantity,
            total_minor,
            currency,
        ]
