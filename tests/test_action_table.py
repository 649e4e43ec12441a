"""The action table of SPEC section 3, walked over every (action, state, actor).

The expected table below is written out as data from the SPEC and the seed,
not derived from `claimdesk.claims.states.TRANSITIONS`, so that it can
disagree with the code. For every action and every state, each of six actors
tries the action inside a savepoint that is rolled back afterwards: the
order's seller, another shop's seller, the order's buyer, another buyer, an
operator and the system (no actor). Allowed attempts must succeed and reach
the expected shipping status and claim status; every other attempt must be
refused with the expected `DomainError` code and change nothing, except for
the one `refused=True` history line a refused money (claim) action writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone, translation

from claimdesk.claims.cancel import (
    claim_approve_cancel,
    claim_cancel_instantly,
    claim_cancel_unpaid,
    claim_decline_cancel,
    claim_request_cancel,
    claim_seller_cancel,
    claim_withdraw,
)
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.claims.non_receipt import claim_refund_non_receipt, claim_report_non_receipt
from claimdesk.claims.operator import claim_operator_cancel, claim_operator_withdraw
from claimdesk.claims.returns import (
    claim_accept_return,
    claim_approve_exchange,
    claim_complete_redelivery,
    claim_complete_return,
    claim_convert_to_exchange,
    claim_redeliver,
    claim_request_return,
    claim_seller_start_return,
)
from claimdesk.core.errors import DomainError
from claimdesk.messaging.models import Notification
from claimdesk.orders import services as orders
from claimdesk.orders.models import Order, OrderEvent, ShippingStatus
from claimdesk.payments.models import LedgerEntry, Refund
from tests.factories import BuyerFactory, OperatorFactory, SellerFactory, order_in, place_cart
from tests.factories import return_address as add_return_address

pytestmark = pytest.mark.django_db(transaction=False)

S = ClaimStatus

# --- the expected table (data) ---------------------------------------------------------

ACTORS = ("seller", "other_seller", "buyer", "other_buyer", "operator", "system")
STRANGERS = ("other_seller", "other_buyer")

#: state -> shipping status of its order before any action.
ORDER_STATES: dict[str, int] = {
    "unpaid": 1,
    "new": 2,
    "confirmed": 3,
    "delayed": 3,
    "shipped": 4,
    "delivered": 5,
    "delivered_8_days_ago": 5,  # outside the 7-day return window
    "completed": 5,  # trade completed by the buyer
}
CLAIM_STATES: dict[str, int] = {
    "cancelled": 2,  # bank-transfer order cancelled by the buyer: claim 3, money on the balance
    "unpaid_cancelled": 1,  # claim 16 at the payment deadline
    "cancel_requested": 3,  # claim 1
    "cancelling": 2,  # card refund pending: claim 2
    "rejected_shipped": 4,  # claim 94: the seller declined by shipping
    "return_requested": 5,  # claim 4
    "returning": 5,  # claim 5
    "returned": 5,  # claim 6
    "exchange_requested": 5,  # claim 11
    "exchange_approved": 5,  # claim 12
    "redelivering": 5,  # claim 13
    "exchanged": 5,  # claim 92
    "non_receipt_reported": 4,  # claim 91
    "non_receipt_refunded": 4,  # claim 14
    "withdrawn": 5,  # claim 93 (a withdrawn return)
}
STATES = {**ORDER_STATES, **CLAIM_STATES}

#: Orders that are cancelled or returned: no new claim.
CLOSED = ("cancelled", "unpaid_cancelled", "cancelling", "returned", "non_receipt_refunded")
CANCELLED = ("cancelled", "unpaid_cancelled", "cancelling")
#: Live orders with an open claim (at most one open claim per order).
OPEN_CLAIM = (
    "cancel_requested",
    "return_requested",
    "returning",
    "exchange_requested",
    "exchange_approved",
    "redelivering",
    "non_receipt_reported",
)
#: Shipped (4) or delivered (5), live, no open claim.
SHIPPED_FREE = (
    "shipped",
    "delivered",
    "delivered_8_days_ago",
    "completed",
    "rejected_shipped",
    "exchanged",
    "withdrawn",
)

Outcome = tuple[int, int | None]  # (shipping status, status of the order's newest claim)


@dataclass(frozen=True)
class Rule:
    """Who may take an action, where it succeeds, and how it is refused elsewhere."""

    roles: tuple[str, ...]
    allowed: dict[str, Outcome]
    default: str  # refusal code for an allowed role in any other state
    refusals: dict[str, str] = field(default_factory=dict)
    on_claim: bool = False  # acts on the order's newest claim (claim states only)


def _codes(states: tuple[str, ...], code: str) -> dict[str, str]:
    return dict.fromkeys(states, code)


def _same(states: tuple[str, ...], claim: int | None) -> dict[str, Outcome]:
    return {s: (STATES[s], claim) for s in states}


_CREATE_REFUSALS = _codes(CLOSED, "order_closed") | _codes(OPEN_CLAIM, "claim_open")
_SELLER_CANCEL = Rule(
    roles=("seller",),
    allowed={
        "new": (2, S.CANCELLING),
        "confirmed": (3, S.CANCELLING),
        "delayed": (3, S.CANCELLING),
    },
    default="wrong_shipping_status",
    refusals=_CREATE_REFUSALS | _codes(SHIPPED_FREE, "shipped_use_return"),
)
_SELLER_RETURN = Rule(
    roles=("seller",),
    allowed=_same(SHIPPED_FREE, S.RETURN_REQUESTED),
    default="not_shipped_use_cancel",
    refusals=_CREATE_REFUSALS,
)
_BUYER_RETURN = {
    "roles": ("buyer",),
    "default": "wrong_shipping_status",
    "refusals": _CREATE_REFUSALS | {"delivered_8_days_ago": "return_window_closed"},
}
_RETURN_FREE = tuple(s for s in SHIPPED_FREE if s != "delivered_8_days_ago")

TABLE: dict[str, Rule] = {
    # shipping actions (state actions: no history line when refused)
    "order_confirm": Rule(
        roles=("seller",),
        allowed={"new": (3, None)},
        default="wrong_shipping_status",
        refusals=_codes(CANCELLED, "order_cancelled"),
    ),
    "order_register_delay": Rule(
        roles=("seller",),
        allowed={
            "new": (3, None),
            "confirmed": (3, None),
            "delayed": (3, None),
            "cancel_requested": (3, S.CANCEL_REQUESTED),
        },
        default="wrong_shipping_status",
        refusals=_codes(CANCELLED, "order_cancelled"),
    ),
    "order_ship": Rule(
        # system: the marketplace's own logistics (a platform `shipped` event)
        roles=("seller", "system"),
        allowed={
            "new": (4, None),
            "confirmed": (4, None),
            "delayed": (4, None),
            # the only way to decline a cancel request
            "cancel_requested": (4, S.REJECTED_SHIPPED),
        },
        default="wrong_shipping_status",
        refusals=_codes(CANCELLED, "order_cancelled"),
    ),
    "order_mark_delivered": Rule(
        roles=("buyer", "operator", "system"),
        allowed={
            "shipped": (5, None),
            "rejected_shipped": (5, S.REJECTED_SHIPPED),
            # the carrier's word is recorded; the claim stays as it is
            "non_receipt_reported": (5, S.NON_RECEIPT_REPORTED),
            "non_receipt_refunded": (5, S.NON_RECEIPT_REFUNDED),
        },
        default="wrong_shipping_status",
        refusals=_codes(CANCELLED, "order_cancelled"),
    ),
    "order_complete_trade": Rule(
        roles=("buyer", "operator", "system"),
        allowed={
            "delivered": (5, None),
            "delivered_8_days_ago": (5, None),
            "exchanged": (5, S.EXCHANGE_COMPLETED),
            "withdrawn": (5, S.WITHDRAWN),
        },
        default="wrong_shipping_status",
        refusals=_codes(CANCELLED, "order_cancelled")
        | {"completed": "already_completed"}
        | _codes(
            ("return_requested", "returning", "exchange_requested", "exchange_approved"),
            "claim_open",
        )
        | {"redelivering": "claim_open"},
    ),
    # cancellation
    "claim_cancel_instantly": Rule(
        roles=("buyer",),
        allowed={
            "unpaid": (1, S.CANCEL_COMPLETED),
            "new": (2, S.CANCELLING),
            "delayed": (3, S.CANCELLING),
        },
        default="wrong_shipping_status",
        refusals=_CREATE_REFUSALS | {"confirmed": "cancel_request_needed"},
    ),
    "claim_request_cancel": Rule(
        roles=("buyer",),
        allowed={"confirmed": (3, S.CANCEL_REQUESTED)},
        default="wrong_shipping_status",
        refusals=_CREATE_REFUSALS
        | _codes(("unpaid", "new", "delayed"), "cancel_instantly_possible"),
    ),
    "claim_approve_cancel": Rule(
        roles=("seller",),
        allowed={"cancel_requested": (3, S.CANCELLING)},
        default="wrong_claim_status",
        on_claim=True,
    ),
    "claim_seller_cancel[OUT_OF_STOCK]": _SELLER_CANCEL,
    "claim_seller_cancel[UNDELIVERABLE_REGION]": _SELLER_CANCEL,
    "claim_seller_cancel[SHIPPING_DELAY]": _SELLER_CANCEL,
    # 客户要求 only on an order whose buyer asked to cancel; it approves that request
    "claim_seller_cancel[CUSTOMER_REQUEST]": Rule(
        roles=("seller",),
        allowed={"cancel_requested": (3, S.CANCELLING)},
        default="customer_request_without_request",
    ),
    # a buyer's reason is never the seller's to pick
    "claim_seller_cancel[EDIT_ORDER]": Rule(
        roles=("seller",), allowed={}, default="reason_not_allowed"
    ),
    "claim_withdraw": Rule(
        roles=("buyer",),
        allowed={
            "cancel_requested": (3, S.WITHDRAWN),
            "return_requested": (5, S.WITHDRAWN),
            "returning": (5, S.WITHDRAWN),
            "exchange_requested": (5, S.WITHDRAWN),
            "exchange_approved": (5, S.WITHDRAWN),
            "non_receipt_reported": (4, S.WITHDRAWN),
        },
        default="wrong_claim_status",
        on_claim=True,
    ),
    "claim_operator_withdraw": Rule(
        roles=("operator",),
        allowed={
            "cancel_requested": (3, S.WITHDRAWN),
            "return_requested": (5, S.WITHDRAWN),
            "returning": (5, S.WITHDRAWN),
            "exchange_requested": (5, S.WITHDRAWN),
            "exchange_approved": (5, S.WITHDRAWN),
            "redelivering": (5, S.WITHDRAWN),
            "non_receipt_reported": (4, S.WITHDRAWN),
        },
        default="wrong_claim_status",
        on_claim=True,
    ),
    # 订单取消·退款(全额): 1-5, any live order; an open claim is superseded
    "claim_operator_cancel": Rule(
        roles=("operator",),
        allowed={"unpaid": (1, S.CANCEL_COMPLETED)}
        | _same(
            tuple(s for s in STATES if s not in CLOSED and s != "unpaid"),
            S.CANCELLING,
        ),
        default="order_closed",
    ),
    # returns and exchanges
    "claim_request_return": Rule(allowed=_same(_RETURN_FREE, S.RETURN_REQUESTED), **_BUYER_RETURN),
    "claim_request_exchange": Rule(
        allowed=_same(_RETURN_FREE, S.EXCHANGE_REQUESTED), **_BUYER_RETURN
    ),
    "claim_seller_start_return[DELIVERY_DELAY]": _SELLER_RETURN,
    "claim_seller_start_return[DEFECTIVE]": _SELLER_RETURN,
    "claim_seller_start_return[WRONG_ITEM]": _SELLER_RETURN,
    "claim_seller_start_return[OTHER]": Rule(
        roles=("seller",), allowed={}, default="reason_not_allowed"
    ),
    "claim_accept_return": Rule(
        roles=("seller",),
        allowed={"return_requested": (5, S.RETURNING)},
        default="wrong_claim_status",
        on_claim=True,
    ),
    "claim_complete_return": Rule(
        roles=("seller",),
        allowed={"return_requested": (5, S.RETURN_COMPLETED), "returning": (5, S.RETURN_COMPLETED)},
        default="wrong_claim_status",
        on_claim=True,
    ),
    "claim_convert_to_exchange": Rule(
        roles=("seller",),
        allowed={
            "return_requested": (5, S.EXCHANGE_APPROVED),
            "returning": (5, S.EXCHANGE_APPROVED),
        },
        default="wrong_claim_status",
        on_claim=True,
    ),
    "claim_approve_exchange": Rule(
        roles=("seller",),
        allowed={"exchange_requested": (5, S.EXCHANGE_APPROVED)},
        default="wrong_claim_status",
        on_claim=True,
    ),
    "claim_redeliver": Rule(
        roles=("seller",),
        allowed={
            "exchange_approved": (5, S.REDELIVERING),
            "non_receipt_reported": (4, S.REDELIVERING),
        },
        default="wrong_claim_status",
        on_claim=True,
    ),
    "claim_complete_redelivery": Rule(
        roles=("buyer", "operator", "system"),
        allowed={"redelivering": (5, S.EXCHANGE_COMPLETED)},
        default="wrong_claim_status",
        on_claim=True,
    ),
    # not received
    "claim_report_non_receipt": Rule(
        roles=("buyer",),
        allowed=_same(SHIPPED_FREE, S.NON_RECEIPT_REPORTED),
        default="wrong_shipping_status",
        refusals=_CREATE_REFUSALS,
    ),
    "claim_refund_non_receipt": Rule(
        roles=("seller",),
        allowed={"non_receipt_reported": (4, S.NON_RECEIPT_REFUNDED)},
        default="wrong_claim_status",
        on_claim=True,
    ),
}

#: Refusal codes whose message names the order number.
ORDER_NO_CODES = {
    "wrong_shipping_status",
    "order_cancelled",
    "order_closed",
    "claim_open",
    "cancel_request_needed",
    "cancel_instantly_possible",
    "shipped_use_return",
    "not_shipped_use_cancel",
    "wrong_claim_status",
}


def expected(action: str, state: str, actor: str) -> Outcome | str:
    """Return the outcome of an allowed attempt, or the refusal code."""
    rule = TABLE[action]
    if actor in STRANGERS:
        return "order_not_found"
    if actor not in rule.roles:
        return "role_not_allowed"
    if state in rule.allowed:
        return rule.allowed[state]
    return rule.refusals.get(state, rule.default)


# --- building the states through the services ----------------------------------------

TOMORROW = dt.timedelta(days=1)


@dataclass
class People:
    seller: Any
    other_seller: Any
    buyer: Any
    other_buyer: Any
    operator: Any

    def actor(self, name: str) -> Any:
        return None if name == "system" else getattr(self, name)


def _latest_claim(order: Order) -> Claim | None:
    return Claim.objects.filter(order=order).order_by("-pk").first()


def build(state: str, p: People) -> Order:
    """Bring a fresh order of `p.seller`'s shop to `state` through the services."""
    seller, buyer = p.seller, p.buyer
    if state in ("unpaid", "new", "confirmed", "delayed", "shipped", "delivered"):
        return order_in(state, seller=seller, buyer=buyer)
    if state == "delivered_8_days_ago":
        order = order_in("shipped", seller=seller, buyer=buyer)
        orders.order_mark_delivered(
            actor=None, order=order, delivered_at=timezone.now() - dt.timedelta(days=8)
        )
    elif state == "completed":
        order = order_in("delivered", seller=seller, buyer=buyer)
        orders.order_complete_trade(actor=buyer, order=order)
    elif state == "cancelled":
        order = order_in("new", seller=seller, buyer=buyer, method="bank_transfer")
        claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    elif state == "unpaid_cancelled":
        cart = place_cart(
            shop=seller.shop,
            buyer=buyer,
            method="bank_transfer",
            ordered_at=timezone.now() - dt.timedelta(days=4),
        )
        order = cart.orders.get()
        claim_cancel_unpaid(order=order)
    elif state in ("cancel_requested", "rejected_shipped"):
        order = order_in("confirmed", seller=seller, buyer=buyer)
        claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
        if state == "rejected_shipped":
            orders.order_ship(actor=seller, order=order, carrier="ヤマト", tracking_no="1")
    elif state == "cancelling":
        order = order_in("new", seller=seller, buyer=buyer)
        claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    elif state in ("return_requested", "returning", "returned", "withdrawn"):
        order = order_in("delivered", seller=seller, buyer=buyer)
        claim = claim_request_return(actor=buyer, order=order, reason="OTHER")
        if state in ("returning", "returned"):
            claim = claim_accept_return(actor=seller, claim=claim, pickup_method="buyer_sends")
        if state == "returned":
            claim_complete_return(actor=seller, claim=claim, goods_received=True, confirmed=True)
        if state == "withdrawn":
            claim_withdraw(actor=buyer, claim=claim)
    elif state in ("exchange_requested", "exchange_approved", "redelivering", "exchanged"):
        order = order_in("delivered", seller=seller, buyer=buyer)
        claim = claim_request_return(actor=buyer, order=order, reason="WRONG_ITEM", exchange=True)
        if state != "exchange_requested":
            claim = claim_approve_exchange(actor=seller, claim=claim)
        if state in ("redelivering", "exchanged"):
            claim = _redeliver(seller, claim)
        if state == "exchanged":
            claim_complete_redelivery(actor=buyer, claim=claim)
    elif state in ("non_receipt_reported", "non_receipt_refunded"):
        order = order_in("shipped", seller=seller, buyer=buyer)
        claim = claim_report_non_receipt(actor=buyer, order=order)
        if state == "non_receipt_refunded":
            claim_refund_non_receipt(actor=seller, claim=claim)
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(state)
    order.refresh_from_db()
    return order


def _redeliver(seller: Any, claim: Claim) -> Claim:
    return claim_redeliver(
        actor=seller,
        claim=claim,
        redelivery_date=timezone.localdate() + TOMORROW,
        carrier="佐川急便",
        tracking_no="R-1",
    )


# --- the actions, each called the way its callers call it ------------------------------

Call = Callable[[Any, Order, Claim | None], object]


def _on_claim(fn: Callable[..., object], **kwargs: Any) -> Call:
    return lambda actor, order, claim: fn(actor=actor, claim=claim, **kwargs)


def _on_order(fn: Callable[..., object], **kwargs: Any) -> Call:
    return lambda actor, order, claim: fn(actor=actor, order=order, **kwargs)


def _tomorrow() -> dt.date:
    return timezone.localdate() + TOMORROW


ACTIONS: dict[str, Call] = {
    "order_confirm": lambda a, o, c: orders.order_confirm(
        actor=a, order=o, est_ship_date=_tomorrow()
    ),
    "order_register_delay": lambda a, o, c: orders.order_register_delay(
        actor=a, order=o, est_ship_date=_tomorrow(), delay_type=2
    ),
    "order_ship": _on_order(orders.order_ship, carrier="ゆうパック", tracking_no="3434"),
    "order_mark_delivered": _on_order(orders.order_mark_delivered),
    "order_complete_trade": _on_order(orders.order_complete_trade),
    "claim_cancel_instantly": _on_order(claim_cancel_instantly, reason="EDIT_ORDER"),
    "claim_request_cancel": _on_order(claim_request_cancel, reason="EDIT_ORDER"),
    "claim_approve_cancel": _on_claim(claim_approve_cancel),
    **{
        f"claim_seller_cancel[{reason}]": _on_order(
            claim_seller_cancel, reason=reason, confirm_without_notice=True
        )
        for reason in (
            "OUT_OF_STOCK",
            "UNDELIVERABLE_REGION",
            "SHIPPING_DELAY",
            "CUSTOMER_REQUEST",
            "EDIT_ORDER",
        )
    },
    "claim_withdraw": _on_claim(claim_withdraw),
    "claim_operator_withdraw": _on_claim(claim_operator_withdraw, reason="投诉撤回"),
    "claim_operator_cancel": _on_order(
        claim_operator_cancel, reason="OUT_OF_STOCK", memo="inquiry #1"
    ),
    "claim_request_return": _on_order(claim_request_return, reason="OTHER"),
    "claim_request_exchange": _on_order(claim_request_return, reason="WRONG_ITEM", exchange=True),
    **{
        f"claim_seller_start_return[{reason}]": _on_order(claim_seller_start_return, reason=reason)
        for reason in ("DELIVERY_DELAY", "DEFECTIVE", "WRONG_ITEM", "OTHER")
    },
    "claim_accept_return": _on_claim(claim_accept_return, pickup_method="seller_collects"),
    "claim_complete_return": _on_claim(claim_complete_return, goods_received=True, confirmed=True),
    "claim_convert_to_exchange": _on_claim(claim_convert_to_exchange),
    "claim_approve_exchange": _on_claim(claim_approve_exchange),
    "claim_redeliver": lambda a, o, c: claim_redeliver(
        actor=a, claim=c, redelivery_date=_tomorrow(), carrier="佐川急便", tracking_no="R-2"
    ),
    "claim_complete_redelivery": _on_claim(claim_complete_redelivery),
    "claim_report_non_receipt": _on_order(claim_report_non_receipt),
    "claim_refund_non_receipt": _on_claim(claim_refund_non_receipt),
}


def is_money_action(action: str) -> bool:
    """Claim services are money actions: their refusals go to the order's history."""
    return action.startswith("claim_")


# --- snapshots -------------------------------------------------------------------------


def _table(model: Any) -> str:
    return str(model._meta.db_table)


# Fixed SQL: the ORM's query compilation would dominate the run time of the walk.
# Append-only tables (ledger, history, notifications) are fingerprinted by count and last id.
_SNAPSHOT_SQL = [
    f"SELECT * FROM {_table(Order)} WHERE id = %(order)s",  # noqa: S608 - table names are ours
    f"SELECT * FROM {_table(Claim)} WHERE order_id = %(order)s ORDER BY id",  # noqa: S608
    f"SELECT * FROM {_table(Refund)} ORDER BY id",  # noqa: S608
    f"SELECT COUNT(*), MAX(id) FROM {_table(LedgerEntry)}",  # noqa: S608
    f"SELECT COUNT(*), MAX(id) FROM {_table(OrderEvent)} WHERE NOT refused",  # noqa: S608
    f"SELECT COUNT(*), MAX(id) FROM {_table(Notification)}",  # noqa: S608
]
_REFUSED_SQL = f"SELECT COUNT(*) FROM {_table(OrderEvent)} WHERE refused"  # noqa: S608


def snapshot(order: Order) -> list[list[tuple[Any, ...]]]:
    """Return everything an action could change, except refused history lines."""
    with connection.cursor() as cursor:
        rows = []
        for sql in _SNAPSHOT_SQL:
            cursor.execute(sql, {"order": order.pk})
            rows.append(cursor.fetchall())
    return rows


def refused_lines() -> int:
    with connection.cursor() as cursor:
        cursor.execute(_REFUSED_SQL)
        return int(cursor.fetchone()[0])


class _Rollback(Exception):
    """Raised to undo one attempt so that the next actor sees the same state."""


def attempt(action: str, state: str, actor_name: str, p: People, order: Order) -> list[str]:
    """Try `action` as `actor_name` and return what disagrees with the table."""
    want = expected(action, state, actor_name)
    problems: list[str] = []
    where = f"{action} / {state} / {actor_name}"
    try:
        with transaction.atomic():
            before = snapshot(order)
            refused_before = refused_lines()
            claim = _latest_claim(order)
            try:
                ACTIONS[action](p.actor(actor_name), Order.objects.get(pk=order.pk), claim)
            except DomainError as error:
                if isinstance(want, tuple):
                    problems.append(f"{where}: expected success {want}, refused {error.code!r}")
                    raise _Rollback from None
                if error.code != want:
                    problems.append(f"{where}: expected {want!r}, got {error.code!r}")
                if want == "order_not_found" and error.kind != "not_found":
                    problems.append(f"{where}: a stranger must get a not-found, got {error.kind}")
                if snapshot(order) != before:
                    problems.append(f"{where}: refused ({error.code}) but changed data")
                lines = 1 if is_money_action(action) and error.kind != "not_found" else 0
                if refused_lines() - refused_before != lines:
                    problems.append(
                        f"{where}: expected {lines} refused history line(s), "
                        f"got {refused_lines() - refused_before}"
                    )
                problems += _message_problems(where, error, order)
                raise _Rollback from None
            if not isinstance(want, tuple):
                problems.append(f"{where}: expected refusal {want!r}, but it succeeded")
                raise _Rollback
            order_after = Order.objects.get(pk=order.pk)
            newest = _latest_claim(order_after)
            got = (order_after.shipping_status, newest.status if newest else None)
            if got != want:
                problems.append(f"{where}: expected {want}, reached {got}")
            if refused_lines() != refused_before:
                problems.append(f"{where}: a successful action wrote a refused line")
            raise _Rollback
    except _Rollback:
        pass
    return problems


def _message_problems(where: str, error: DomainError, order: Order) -> list[str]:
    problems = []
    for language in ("ja", "zh-hans"):
        with translation.override(language):
            text = str(error.message)
        if not text:
            problems.append(f"{where}: empty message in {language}")
        if error.code in ORDER_NO_CODES and str(order.order_no) not in text:
            problems.append(f"{where}: the {language} message does not name the order")
    return problems


# --- the table walk --------------------------------------------------------------------


def _cases() -> list[Any]:
    cases = []
    for action, rule in TABLE.items():
        states = CLAIM_STATES if rule.on_claim else STATES
        for state in states:
            cases.append(pytest.param(action, state, id=f"{action}-{state}"))
    return cases


@pytest.fixture
def people(db: None, settings: Any) -> People:
    # Password hashing is not under test: keep user creation cheap.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seller = SellerFactory()
    add_return_address(seller.shop)
    return People(
        seller=seller,
        other_seller=SellerFactory(),
        buyer=BuyerFactory(),
        other_buyer=BuyerFactory(),
        operator=OperatorFactory(),
    )


def test_the_table_names_every_action_and_state() -> None:
    """The expected table and the action list cover each other, and every state is reachable."""
    assert set(TABLE) == set(ACTIONS)
    for rule in TABLE.values():
        assert set(rule.allowed) <= set(STATES)
        assert set(rule.refusals) <= set(STATES)
        assert set(rule.roles) <= set(ACTORS) - set(STRANGERS)


@pytest.mark.parametrize(("action", "state"), _cases())
def test_action_table(action: str, state: str, people: People) -> None:
    """Each actor either succeeds as the table says or is refused with its code, changing nothing."""
    # given
    order = build(state, people)
    assert order.shipping_status == STATES[state]
    # when / then
    problems: list[str] = []
    for actor in ACTORS:
        problems += attempt(action, state, actor, people, order)
    assert problems == []


@pytest.mark.parametrize("state", list(STATES))
def test_states_are_what_their_names_say(state: str, people: People) -> None:
    """The fixtures reach the claim status each state is named after."""
    want = {
        "cancelled": S.CANCEL_COMPLETED,
        "unpaid_cancelled": S.UNPAID_CANCELLED,
        "cancel_requested": S.CANCEL_REQUESTED,
        "cancelling": S.CANCELLING,
        "rejected_shipped": S.REJECTED_SHIPPED,
        "return_requested": S.RETURN_REQUESTED,
        "returning": S.RETURNING,
        "returned": S.RETURN_COMPLETED,
        "exchange_requested": S.EXCHANGE_REQUESTED,
        "exchange_approved": S.EXCHANGE_APPROVED,
        "redelivering": S.REDELIVERING,
        "exchanged": S.EXCHANGE_COMPLETED,
        "non_receipt_reported": S.NON_RECEIPT_REPORTED,
        "non_receipt_refunded": S.NON_RECEIPT_REFUNDED,
        "withdrawn": S.WITHDRAWN,
    }.get(state)
    order = build(state, people)
    claim = _latest_claim(order)
    assert (claim.status if claim else None) == want
    assert (order.cancelled_at is not None) == (state in CANCELLED)
    assert (order.returned_at is not None) == (state in ("returned", "non_receipt_refunded"))
    assert (order.completed_at is not None) == (state == "completed")
    assert order.is_delayed() == (state == "delayed")


# --- rules around the table --------------------------------------------------------------


def test_second_claim_on_the_same_order_is_refused(people: People) -> None:
    """An order has at most one open claim: a second request is refused 'claim_open'."""
    # given
    order = build("delivered", people)
    first = claim_request_return(actor=people.buyer, order=order, reason="OTHER")
    # when
    with pytest.raises(DomainError) as refused:
        claim_report_non_receipt(actor=people.buyer, order=order)
    # then
    assert refused.value.code == "claim_open"
    assert list(Claim.objects.filter(order=order).values_list("pk", flat=True)) == [first.pk]
    assert OrderEvent.objects.filter(
        order=order, refused=True, reason="claim_open", kind="claim.report_non_receipt"
    ).exists()


def test_seller_declines_a_cancel_request_only_by_shipping(people: People) -> None:
    """Shipping closes the buyer's request as 'rejected: shipped' (94) and the order is on delivery."""
    # given
    order = build("cancel_requested", people)
    request = _latest_claim(order)
    assert request is not None
    # when
    claim = claim_decline_cancel(
        actor=people.seller, claim=request, carrier="ヤマト運輸", tracking_no="9999"
    )
    # then
    order.refresh_from_db()
    assert claim.status == ClaimStatus.REJECTED_SHIPPED == 94
    assert not claim.is_open
    assert order.shipping_status == ShippingStatus.ON_DELIVERY == 4
    assert order.cancelled_at is None
    assert not Refund.objects.filter(order=order).exists()
    assert Notification.objects.filter(
        recipient=people.buyer, kind="cancel_request_rejected"
    ).exists()


def test_customer_request_only_on_a_buyer_requested_claim(people: People) -> None:
    """A seller cannot pick 客户要求 on an order the buyer did not ask to cancel; on one they did, it approves."""
    # given
    plain = build("confirmed", people)
    asked = build("cancel_requested", people)
    # when
    with pytest.raises(DomainError) as refused:
        claim_seller_cancel(
            actor=people.seller,
            order=plain,
            reason="CUSTOMER_REQUEST",
            confirm_without_notice=True,
        )
    approved = claim_seller_cancel(
        actor=people.seller, order=asked, reason="CUSTOMER_REQUEST", confirm_without_notice=True
    )
    # then
    assert refused.value.code == "customer_request_without_request"
    assert not Claim.objects.filter(order=plain).exists()
    assert approved.pk == _latest_claim(asked).pk  # the buyer's own claim, not a new one
    assert approved.reason_code == "CUSTOMER_REQUEST"
    assert approved.fault == "buyer"
    assert approved.status == ClaimStatus.CANCELLING


@pytest.mark.parametrize(
    ("days_after_delivery", "allowed"),
    [pytest.param(6, True, id="day-6"), pytest.param(8, False, id="day-8")],
)
@pytest.mark.parametrize("exchange", [False, True], ids=["return", "exchange"])
def test_return_window_after_delivery(
    people: People, days_after_delivery: int, allowed: bool, exchange: bool
) -> None:
    """Buyers may ask for a return or exchange for 7 days after delivery, not later."""
    # given
    order = build("delivered", people)
    later = timezone.now() + dt.timedelta(days=days_after_delivery)
    # when
    with time_machine.travel(later, tick=False):
        try:
            claim_request_return(
                actor=people.buyer, order=order, reason="DEFECTIVE", exchange=exchange
            )
            code = None
        except DomainError as error:
            code = error.code
    # then
    assert code == (None if allowed else "return_window_closed")
    assert Claim.objects.filter(order=order).exists() == allowed


def test_seller_collecting_a_return_needs_a_default_return_address(db: None, settings: Any) -> None:
    """Without a default return address the seller is told to add one, and nothing changes."""
    # given
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seller, buyer = SellerFactory(), BuyerFactory()
    order = order_in("delivered", seller=seller, buyer=buyer)
    # when
    with pytest.raises(DomainError) as refused:
        claim_seller_start_return(
            actor=seller, order=order, reason="DEFECTIVE", pickup_method="seller_collects"
        )
    # then
    assert refused.value.code == "return_address_missing"
    assert not Claim.objects.filter(order=order).exists()
    # the buyer sending it back needs no address
    claim = claim_seller_start_return(
        actor=seller, order=order, reason="DEFECTIVE", pickup_method="buyer_sends"
    )
    assert claim.status == ClaimStatus.RETURN_REQUESTED


def test_approving_an_exchange_needs_a_return_address(db: None, settings: Any) -> None:
    """An exchange cannot be approved until the shop has a default return/exchange address."""
    # given
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seller, buyer = SellerFactory(), BuyerFactory()
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim = claim_request_return(actor=buyer, order=order, reason="WRONG_ITEM", exchange=True)
    # when
    with pytest.raises(DomainError) as refused:
        claim_approve_exchange(actor=seller, claim=claim)
    # then
    claim.refresh_from_db()
    assert refused.value.code == "return_address_missing"
    assert claim.status == ClaimStatus.EXCHANGE_REQUESTED
    add_return_address(seller.shop)
    approved = claim_approve_exchange(actor=seller, claim=claim)
    assert approved.status == ClaimStatus.EXCHANGE_APPROVED
    assert approved.return_address["zip_code"] == "273-0017"


@pytest.mark.parametrize("language", ["ja", "zh-hans", "en"])
def test_refusal_raised_in_a_language_renders_in_it(people: People, language: str) -> None:
    """A refusal raised while a language is active renders without error and names the order."""
    # given
    order = build("shipped", people)
    # when
    with translation.override(language):
        with pytest.raises(DomainError) as refused:
            claim_cancel_instantly(actor=people.buyer, order=order, reason="EDIT_ORDER")
        text = str(refused.value.message)
    # then
    assert refused.value.code == "wrong_shipping_status"
    assert str(order.order_no) in text
