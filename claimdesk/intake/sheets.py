"""Orders from a spreadsheet (.csv or .xlsx): for marketplaces without developers.

One row per order line, with the platform API's fields as named columns (the
first row names them); the rows of one cart share its `cart_external_id` and
its cart columns. Each cart becomes a `CartIn` and goes through the same
`carts_ingest` as the API; a dry run checks everything and keeps nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from django.db import transaction
from pydantic import ValidationError

from claimdesk.accounts.models import User
from claimdesk.core.errors import InvalidInput
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.sheets import read_rows

from .schemas import MAX_BATCH_ROWS, CartIn
from .services import RowResult, carts_ingest

#: The most order lines one sheet may hold.
MAX_SHEET_LINES = 5000

CART_COLUMNS = (
    "cart_external_id",
    "shop",
    "buyer",
    "currency",
    "shipping_fee_minor",
    "payment_method",
    "payment_fee_minor",
    "ordered_at",
    "paid_at",
    "payment_deadline",
    "receiver_name",
    "receiver_zip_code",
    "receiver_address",
    "receiver_address2",
    "receiver_kana",
    "receiver_phone",
    "receiver_country",
    "buyer_request",
    "shipping_way",
)
ORDER_COLUMNS = (
    "order_external_id",
    "item_code",
    "item_seller_code",
    "item_name",
    "item_returnable",
    "option_code",
    "option_text",
    "option_price_minor",
    "quantity",
    "unit_price_minor",
    "seller_discount_minor",
    "cart_seller_discount_minor",
    "cart_platform_discount_minor",
)
COLUMNS = CART_COLUMNS + ORDER_COLUMNS
REQUIRED = frozenset(
    {
        "cart_external_id",
        "shop",
        "buyer",
        "payment_method",
        "ordered_at",
        "receiver_name",
        "receiver_zip_code",
        "receiver_address",
        "order_external_id",
        "item_code",
        "item_name",
        "quantity",
        "unit_price_minor",
    }
)


@dataclass
class SheetResult:
    """One cart of the sheet: its first line, its order lines' count and what became of it."""

    line: int
    lines: int
    result: RowResult


def _number(value: str) -> int | str:
    """Return a cell of a number column as int when it is one (ASCII digits), else as given."""
    text = value.strip()
    if text.isascii() and text.lstrip("-").isdigit():
        return int(text)
    return text


def _boolean(value: str) -> bool | str:
    text = value.strip().lower()
    if text in ("", "1", "true", "yes", "y"):
        return True
    if text in ("0", "false", "no", "n"):
        return False
    return value


def _cart(lines: list[dict[str, str]]) -> dict[str, Any]:
    head = lines[0]

    def opt(name: str) -> str | None:
        return head.get(name) or None

    cart: dict[str, Any] = {
        "external_id": head["cart_external_id"],
        "shop": head["shop"],
        "buyer": head["buyer"],
        "currency": head.get("currency") or "JPY",
        "shipping_fee_minor": _number(head.get("shipping_fee_minor") or "0"),
        "payment_method": head["payment_method"],
        "ordered_at": head["ordered_at"],
        "paid_at": opt("paid_at"),
        "payment_deadline": opt("payment_deadline"),
        "receiver": {
            "name": head["receiver_name"],
            "zip_code": head["receiver_zip_code"],
            "address": head["receiver_address"],
            "address2": head.get("receiver_address2", ""),
            "kana": head.get("receiver_kana", ""),
            "phone": head.get("receiver_phone", ""),
            "country": head.get("receiver_country") or "JP",
        },
        "buyer_request": head.get("buyer_request", ""),
        "shipping_way": head.get("shipping_way", ""),
        "orders": [],
    }
    if head.get("payment_fee_minor"):
        cart["payment_fee_minor"] = _number(head["payment_fee_minor"])
    for line in lines:
        order: dict[str, Any] = {
            "external_id": line["order_external_id"],
            "item": {
                "code": line["item_code"],
                "seller_code": line.get("item_seller_code", ""),
                "name": line["item_name"],
                "returnable": _boolean(line.get("item_returnable", "")),
            },
            "quantity": _number(line["quantity"]),
            "unit_price_minor": _number(line["unit_price_minor"]),
        }
        for name in (
            "seller_discount_minor",
            "cart_seller_discount_minor",
            "cart_platform_discount_minor",
        ):
            if line.get(name):
                order[name] = _number(line[name])
        if line.get("option_code"):
            order["option"] = {
                "code": line["option_code"],
                "text": line.get("option_text", ""),
                "price_minor": _number(line.get("option_price_minor") or "0"),
            }
        cart["orders"].append(order)
    return cart


def _header(row: list[str]) -> list[str]:
    names = [cell.strip().lower() for cell in row]
    unknown = [n for n in names if n and n not in COLUMNS]
    missing = sorted(REQUIRED - set(names))
    if unknown or missing:
        raise InvalidInput(
            "sheet_columns",
            _(
                "The first row must name the columns. Unknown: %(unknown)s. Missing: %(missing)s. "
                "Download the template for the exact names."
            )
            % {"unknown": ", ".join(unknown) or "—", "missing": ", ".join(missing) or "—"},
        )
    return names


def orders_import(
    *, actor: User, upload: IO[bytes], filename: str, dry_run: bool
) -> list[SheetResult]:
    """Read an orders sheet and ingest its carts; with `dry_run`, check them and keep nothing."""
    rows = read_rows(upload, filename, max_rows=MAX_SHEET_LINES + 1, keep_header=True)
    if not rows:
        raise InvalidInput("file_empty", _("The file is empty."))
    names = _header(rows[0])
    carts: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for number, row in enumerate(rows[1:], start=2):
        values = {name: cell for name, cell in zip(names, row, strict=False) if name}
        carts.setdefault(values.get("cart_external_id", "").strip(), []).append((number, values))
    if len(carts) > MAX_BATCH_ROWS:
        raise InvalidInput(
            "batch_too_large",
            _("A sheet may hold at most %(max)s carts; split it.") % {"max": MAX_BATCH_ROWS},
        )
    valid: list[tuple[int, int, CartIn]] = []
    out: list[SheetResult] = []
    for external_id, lines in carts.items():
        first, count = lines[0][0], len(lines)
        try:
            valid.append((first, count, CartIn.model_validate(_cart([v for _n, v in lines]))))
        except (ValidationError, KeyError) as exc:
            detail = _describe(exc)
            out.append(
                SheetResult(
                    first,
                    count,
                    RowResult(0, external_id or None, "refused", "invalid_row", detail),
                )
            )
    results = _ingest(actor, [c for _f, _n, c in valid], dry_run=dry_run)
    out += [
        SheetResult(first, count, result)
        for (first, count, _cart_in), result in zip(valid, results, strict=True)
    ]
    return sorted(out, key=lambda r: r.line)


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()[:5]
        )
    return str(_("A required column is empty."))


def _ingest(actor: User, carts: list[CartIn], *, dry_run: bool) -> list[RowResult]:
    run: Callable[[], list[RowResult]] = lambda: carts_ingest(actor=actor, rows=carts)  # noqa: E731
    if not dry_run:
        return run()
    with transaction.atomic():
        results = run()
        transaction.set_rollback(True)
    return results


def template_rows() -> tuple[tuple[str, ...], list[list[Any]]]:
    """Return the header and one example cart of two lines, for the template download."""
    cart = [
        "C-1001",
        "shop-1",
        "buyer-1",
        "JPY",
        500,
        "card",
        "",
        "2026-12-01T10:00:00+09:00",
        "",
        "",
        "山田 太郎",
        "150-0001",
        "東京都渋谷区神宮前1-2-3",
        "",
        "ヤマダ タロウ",
        "090-0000-0000",
        "JP",
        "",
        "",
    ]
    return COLUMNS, [
        [
            *cart,
            "O-1001-1",
            "ITEM1",
            "SKU-1",
            "Tea cup",
            "1",
            "RED",
            "Color: red",
            0,
            2,
            1200,
            0,
            0,
            0,
        ],
        [*cart, "O-1001-2", "ITEM2", "", "Saucer", "1", "", "", 0, 1, 800, 0, 0, 0],
    ]
