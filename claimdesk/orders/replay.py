"""Replaying an order's history to the state it implies.

Every state-changing history row names the field it changed with its old and
new value, so folding the rows in order must give the order's current state.
`replay` does the folding and `current_state` reads the same shape from the
order and claim rows; tests compare the two after every action.
"""

from __future__ import annotations

from typing import TypedDict

from .models import Order

#: Fields whose history rows mark a one-way flag ("" → "1").
FLAG_FIELDS = ("cancelled", "returned", "completed")


class OrderState(TypedDict):
    shipping_status: int | None
    cancelled: bool
    returned: bool
    completed: bool
    claims: dict[int, int]


class ReplayMismatch(AssertionError):
    """A history row does not start where the previous one of its field ended."""

    def __init__(self, order: Order, event_id: int, field: str, expected: str, found: str):
        super().__init__(
            f"order {order.order_no}: event {event_id} changes {field} from {found!r}, "
            f"but the history had left it at {expected!r}"
        )
        self.event_id = event_id
        self.field = field
        self.expected = expected
        self.found = found


def replay(order: Order) -> OrderState:
    """Fold `order`'s history rows into the state they imply.

    Rows are read in (created_at, id) order; refused rows and rows that change
    no field are skipped. Raise `ReplayMismatch` when a row's `from_value` is
    not the previous `to_value` of the same field (of the same claim).
    """
    last: dict[str, str] = {"shipping_status": ""} | {flag: "" for flag in FLAG_FIELDS}
    claims: dict[int, str] = {}
    rows = (
        order.events.filter(refused=False)
        .exclude(field="")
        .order_by("created_at", "id")
        .values_list("id", "field", "from_value", "to_value", "claim_id")
    )
    for event_id, field, from_value, to_value, claim_id in rows:
        if field == "claim_status":
            if claim_id is None:
                raise ReplayMismatch(order, event_id, "claim_status (no claim)", "", from_value)
            previous = claims.get(claim_id, "")
            if from_value != previous:
                raise ReplayMismatch(
                    order, event_id, f"claim {claim_id} status", previous, from_value
                )
            claims[claim_id] = to_value
        elif field in last:
            if from_value != last[field]:
                raise ReplayMismatch(order, event_id, field, last[field], from_value)
            last[field] = to_value
        else:
            raise ReplayMismatch(order, event_id, f"unknown field {field!r}", "", from_value)
    return OrderState(
        shipping_status=int(last["shipping_status"]) if last["shipping_status"] else None,
        cancelled=last["cancelled"] == "1",
        returned=last["returned"] == "1",
        completed=last["completed"] == "1",
        claims={claim_id: int(status) for claim_id, status in claims.items()},
    )


def current_state(order: Order) -> OrderState:
    """Read the state of `order` and its claims from their rows, in `replay`'s shape."""
    row = (
        Order.objects.filter(pk=order.pk)
        .values("shipping_status", "cancelled_at", "returned_at", "completed_at")
        .get()
    )
    return OrderState(
        shipping_status=row["shipping_status"],
        cancelled=row["cancelled_at"] is not None,
        returned=row["returned_at"] is not None,
        completed=row["completed_at"] is not None,
        claims=dict(order.claims.values_list("pk", "status")),
    )
