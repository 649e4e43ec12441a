"""The orders tally: live orders per shop and shipping box key, kept by the database."""

from __future__ import annotations

from claimdesk.core.tally import Entry, Tally

_WAITING = "{r}.shipping_status IN (2, 3)"  # new and awaiting shipment: they can be delayed

ORDERS = Tally(
    table="orders_ordertally",
    source="orders_order",
    key=("shop_id", "shipping_status", "delay_registered", "est_ship_date"),
    entries=(
        Entry(
            key=(
                "{r}.shop_id",
                "{r}.shipping_status",
                f"({_WAITING} AND {{r}}.delay_type IS NOT NULL)",
                f"CASE WHEN {_WAITING} THEN {{r}}.est_ship_date END",
            ),
            when="{r}.cancelled_at IS NULL",
        ),
    ),
    watched=("shop_id", "shipping_status", "delay_type", "est_ship_date", "cancelled_at"),
    nullable=("est_ship_date",),
)

#: `core.tally.fingerprint(ORDERS)` as installed by the latest migration that installs
#: it (orders/0004_tally). Changing ORDERS needs a new migration running `tally.install`.
INSTALLED = "cf8f577f16c3f507"
