"""The reason table of SPEC section 4: who may pick each reason and whose fault it is."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Fault(models.TextChoices):
    SELLER = "seller", _("seller's responsibility")
    BUYER = "buyer", _("buyer's responsibility")


class ReasonKind(models.TextChoices):
    CANCEL = "cancel", _("Cancel")
    RETURN = "return", _("Return / exchange")


class Picker(models.TextChoices):
    """Who may pick a reason (SPEC's "picked by" column)."""

    SELLER = "seller"
    BUYER = "buyer"
    BUYER_WHEN_DELAYED = "buyer_when_delayed"
    BUYER_REQUEST = "buyer_request"  # only when processing a buyer's request
    SYSTEM = "system"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Reason:
    kind: str
    code: str
    label: Promise
    fault: str
    pickers: frozenset[str]
    qapi_cancel_reason: str | None = None

    @property
    def counts_against_seller(self) -> bool:
        return self.fault == Fault.SELLER


def _r(
    kind: str, code: str, label: Promise, fault: str, pickers: set[str], qapi: str | None = None
) -> Reason:
    return Reason(kind, code, label, fault, frozenset(pickers | {Picker.OPERATOR}), qapi)


CANCEL_REASONS: dict[str, Reason] = {
    r.code: r
    for r in [
        _r("cancel", "OUT_OF_STOCK", _("Out of stock"), Fault.SELLER, {Picker.SELLER}, ""),
        _r("cancel", "EDIT_ORDER", _("Change of order details"), Fault.BUYER, {Picker.BUYER}, "1"),
        _r(
            "cancel",
            "UNDELIVERABLE_REGION",
            _("Undeliverable region"),
            Fault.SELLER,
            {Picker.SELLER},
            "2",
        ),
        _r(
            "cancel",
            "SHIPPING_DELAY",
            _("Shipping delay"),
            Fault.SELLER,
            {Picker.SELLER, Picker.BUYER_WHEN_DELAYED},
            "3",
        ),
        _r(
            "cancel", "CUSTOMER_REQUEST", _("Customer request"), Fault.BUYER, {Picker.BUYER_REQUEST}
        ),
        _r("cancel", "UNPAID", _("Unpaid"), Fault.BUYER, {Picker.SYSTEM}),
    ]
}

RETURN_REASONS: dict[str, Reason] = {
    r.code: r
    for r in [
        _r("return", "EDIT_ORDER", _("Order change"), Fault.BUYER, {Picker.BUYER}),
        _r("return", "ORDER_CANCEL", _("Order cancellation"), Fault.BUYER, {Picker.BUYER}),
        _r(
            "return",
            "DELIVERY_DELAY",
            _("Delivery delay"),
            Fault.SELLER,
            {Picker.SELLER, Picker.BUYER},
        ),
        _r("return", "DEFECTIVE", _("Defective item"), Fault.SELLER, {Picker.SELLER, Picker.BUYER}),
        _r(
            "return",
            "WRONG_ITEM",
            _("Wrong item (size, colour…)"),
            Fault.SELLER,
            {Picker.SELLER, Picker.BUYER},
        ),
        _r("return", "OTHER", _("Other"), Fault.BUYER, {Picker.BUYER}),
    ]
}


def reasons_for(kind: str) -> dict[str, Reason]:
    """Return the reason table of `kind` (`cancel` or `return`)."""
    return CANCEL_REASONS if kind == ReasonKind.CANCEL else RETURN_REASONS


def reason_choices(kind: str, picker: str) -> list[Reason]:
    """Return the reasons `picker` may choose, in table order."""
    return [r for r in reasons_for(kind).values() if picker in r.pickers]


def get_reason(kind: str, code: str) -> Reason | None:
    """Return the reason `code` of `kind`, or None if there is none."""
    return reasons_for(kind).get(code)
