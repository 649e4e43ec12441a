"""What a marketplace sends: shops, people, carts with their orders, and order events.

These models are the one definition of the intake's input: the platform API
documents and validates its bodies with them, and the console's file import
reads its rows into them. Numbers are strict (JSON integers only: `true` or
"100" is refused), text has the lengths of the columns it lands in.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
)

from claimdesk.core.money import MINOR_UNITS

#: At most this many rows in one batch (carts, events, people).
MAX_BATCH_ROWS = 1000
#: Most orders (item lines) in one cart.
MAX_ORDERS_PER_CART = 100

ExternalId = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=128)]
Amount = Annotated[StrictInt, Field(ge=0, le=10**12)]
Language = Literal["ja", "zh-hans", "en"]


def _known_currency(code: str) -> str:
    if code not in MINOR_UNITS:
        raise ValueError(f"unknown currency; one of {', '.join(sorted(MINOR_UNITS))}")
    return code


Currency = Annotated[
    str, StringConstraints(strict=True, pattern=r"^[A-Z]{3}$"), AfterValidator(_known_currency)
]
Method = Literal["card", "bank_transfer", "convenience_store", "balance"]
Text16 = Annotated[str, StringConstraints(strict=True, max_length=16)]
Required16 = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=16)]
Text32 = Annotated[str, StringConstraints(strict=True, max_length=32)]
Required32 = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=32)]
Text50 = Annotated[str, StringConstraints(strict=True, max_length=50)]
Required50 = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=50)]
Text100 = Annotated[str, StringConstraints(strict=True, max_length=100)]
Required100 = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100)]
Text200 = Annotated[str, StringConstraints(strict=True, max_length=200)]
Required200 = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200)]
Text254 = Annotated[str, StringConstraints(strict=True, max_length=254)]
Required254 = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=254)]
Text300 = Annotated[str, StringConstraints(strict=True, max_length=300)]
Required300 = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=300)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AddressIn(_Row):
    """A shop's return and exchange address."""

    name: Required100
    zip_code: Required16
    address: Required200
    address2: Text200 = ""
    phone: Text32 = ""


class ShopIn(_Row):
    """A shop (seller) of the marketplace, upserted by its `external_id`."""

    external_id: ExternalId
    code: Required32 | None = Field(
        default=None, description="claimdesk's shop code; the external id when not given"
    )
    name: Required200
    email: Text254 = ""
    language: Language = "ja"
    return_address: AddressIn | None = None


Login = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=150, pattern=r"^[\w.@+-]+$")
]


class PersonIn(_Row):
    """A buyer, upserted by the marketplace's `external_id` for them."""

    external_id: ExternalId
    login: Login | None = Field(
        default=None,
        description="a login name for password sign-in (deployments without an identity provider)",
    )
    display_name: Required100
    kana_name: Text100 = ""
    email: Text254 = ""
    language: Language = "ja"
    active: StrictBool = True


class StaffIn(PersonIn):
    """A shop's staff member (`seller`) or a customer-center operator, upserted by `external_id`."""

    role: Literal["seller", "operator"] = "seller"
    shop: ExternalId | None = Field(
        default=None, description="the shop's external id (staff of a shop)"
    )


class ItemIn(_Row):
    code: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=20)] = Field(
        ..., description="the marketplace's item code (unique across the marketplace)"
    )
    seller_code: Text50 = ""
    name: Required200
    returnable: StrictBool = True


class OptionIn(_Row):
    code: Required50
    text: Required200
    price_minor: Amount = 0


class OrderLineIn(_Row):
    """One order: an item line of the cart, the unit of cancel and return."""

    external_id: ExternalId
    item: ItemIn
    option: OptionIn | None = None
    quantity: Annotated[StrictInt, Field(ge=1, le=9999)]
    unit_price_minor: Amount
    seller_discount_minor: Amount = 0
    cart_seller_discount_minor: Amount = 0
    cart_platform_discount_minor: Amount = 0


class ReceiverIn(_Row):
    name: Required100
    zip_code: Required16
    address: Required300
    address2: Text300 = ""
    kana: Text100 = ""
    phone: Text32 = ""
    country: Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z]{2}$")] = "JP"


class CartIn(_Row):
    """One checkout of one buyer at one shop: a shipping fee, a payment, its orders."""

    external_id: ExternalId
    shop: ExternalId = Field(..., description="the shop's external id")
    buyer: ExternalId = Field(..., description="the buyer's external id")
    currency: Currency = "JPY"
    shipping_fee_minor: Amount = 0
    payment_method: Method
    payment_fee_minor: Amount | None = Field(
        default=None,
        description="the fee the buyer paid for the method; claimdesk's table when absent",
    )
    ordered_at: dt.datetime
    paid_at: dt.datetime | None = None
    payment_deadline: dt.datetime | None = None
    receiver: ReceiverIn
    buyer_request: Text300 = ""
    shipping_way: Text100 = ""
    orders: list[OrderLineIn] = Field(..., min_length=1, max_length=MAX_ORDERS_PER_CART)


EventType = Literal["paid", "payment_failed", "shipped", "delivered", "completed"]


class EventIn(_Row):
    """Something that happened to an order at the marketplace."""

    id: ExternalId | None = Field(default=None, description="the marketplace's id of the event")
    type: EventType
    order: ExternalId | None = Field(default=None, description="the order's external id")
    cart: ExternalId | None = Field(
        default=None, description="the cart's external id (paid and payment_failed apply to a cart)"
    )
    occurred_at: dt.datetime
    carrier: Text100 = ""
    tracking_no: Text100 = ""
