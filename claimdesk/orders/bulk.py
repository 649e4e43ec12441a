"""Bulk shipping: many orders shipped from one sheet, each row on its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from claimdesk.core.errors import DomainError
from claimdesk.core.i18n import lazy_text as _

from .access import access_order_for_seller
from .services import order_ship

if TYPE_CHECKING:
    from claimdesk.accounts.models import User

MAX_BULK_ROWS = 500


@dataclass(frozen=True)
class ShipRow:
    line: int
    order_no: str
    carrier: str
    tracking_no: str


@dataclass(frozen=True)
class RowResult:
    line: int
    order_no: str
    ok: bool
    code: str
    message: str


def orders_ship_bulk(*, actor: User, rows: list[ShipRow]) -> list[RowResult]:
    """Ship each row's order on its own: one bad row never blocks the others.

    A row whose order is already on delivery with the same tracking number is
    reported as done, so uploading the same sheet twice ships nothing twice.
    """
    if len(rows) > MAX_BULK_ROWS:
        raise DomainError(
            "bulk_too_many_rows",
            _("A sheet may have at most %(max)s rows; split it.") % {"max": MAX_BULK_ROWS},
        )
    results: list[RowResult] = []
    seen: set[str] = set()
    for row in rows:
        if row.order_no in seen:
            results.append(
                RowResult(row.line, row.order_no, False, "duplicate_row", str(_("Duplicate row.")))
            )
            continue
        seen.add(row.order_no)
        try:
            order = access_order_for_seller(actor, row.order_no)
            if order.shipping_status == 4 and order.tracking_no == row.tracking_no.strip():
                results.append(
                    RowResult(
                        row.line, row.order_no, True, "already_shipped", str(_("Already shipped."))
                    )
                )
                continue
            order_ship(actor=actor, order=order, carrier=row.carrier, tracking_no=row.tracking_no)
        except DomainError as error:
            results.append(RowResult(row.line, row.order_no, False, error.code, str(error.message)))
        else:
            results.append(RowResult(row.line, row.order_no, True, "shipped", str(_("Shipped."))))
    return results
