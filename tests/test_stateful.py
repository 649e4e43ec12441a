"""Random sequences of after-sales actions by random people keep the books and history sound.

A Hypothesis state machine plays sellers, buyers, the operator and the system
against a few orders (one cart of two card orders, a bank-transfer order, a
balance order at another shop, and orders it places along the way), flips the
simulated card processor between its modes and runs the worker. After every
step it checks the invariants of SPEC sections 3-5 and 12.

The machine is steered so that every service gets past its refusals: a rule
runs only when an order or claim it fits exists (or can be placed and taken
there through the services), and takes a fitting one three times in four and
any other the fourth time, so that refusals are tried as well. The run is
derandomized and fails if some service never succeeded in it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck, event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from claimdesk.accounts.models import User
from claimdesk.claims import policies, refunds
from claimdesk.claims.cancel import (
    claim_approve_cancel,
    claim_cancel_instantly,
    claim_request_cancel,
    claim_seller_cancel,
    claim_withdraw,
)
from claimdesk.claims.models import TERMINAL_STATUSES, Claim, ClaimStatus
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
from claimdesk.claims.selectors import (
    ClaimFilter,
    claim_home_counts,
    claim_status_counts,
)
from claimdesk.claims.states import TRANSITIONS
from claimdesk.core.errors import DomainError
from claimdesk.core.worker import drain_tasks
from claimdesk.intake import checkout
from claimdesk.messaging.models import NoteCategory, Notification
from claimdesk.messaging.services import note_send
from claimdesk.orders import services as orders
from claimdesk.orders.models import Cart, Order, OrderEvent, ShippingStatus
from claimdesk.orders.replay import current_state, replay
from claimdesk.orders.selectors import shipping_box_counts
from claimdesk.payments.gateways import set_simulated_mode
from claimdesk.payments.ledger import buyer_balance, ledger_total
from claimdesk.payments.models import (
    LedgerEntry,
    LedgerTransaction,
    Refund,
    RefundStatus,
    SimulatedGatewayRefund,
)
from tests.factories import (
    BuyerFactory,
    OperatorFactory,
    SellerFactory,
    place_cart,
    return_address,
)
from tests.tallycheck import counted_boxes, counted_home, counted_statuses

ACTORS = ("seller", "other_seller", "buyer", "other_buyer", "operator", "system")
#: Orders placed at the start; `place_order` adds more up to MAX_ORDERS.
N_ORDERS = 4
MAX_ORDERS = 10
#: Which order or claim a rule takes: most of the time one in a state where the action
#: fits (see `pick_order` / `pick_claim`), otherwise any, so that refusals are tried too.
picks = st.integers(min_value=0, max_value=63)
# "own" is the party the action is meant for; it comes up three times in four so that
# sequences get past their first steps, the others test that strangers are refused.
actors = st.sampled_from(("own",) * 18 + ACTORS)
STAGES = ("placed", "paid", "confirmed", "shipped", "delivered")
S = ClaimStatus
SS = ShippingStatus

#: Every service the machine calls, by the name `act` records it under. Each must
#: succeed at least once in a run (`test_random_after_sales_sequences_keep_invariants`):
#: a rule that is only ever refused proves nothing about what it changes.
ACTIONS = (
    "confirm",
    "delay",
    "ship",
    "deliver",
    "complete_trade",
    "mark_paid",
    "cancel_instantly",
    "request_cancel",
    "approve_cancel",
    "seller_cancel",
    "withdraw",
    "operator_withdraw",
    "operator_cancel",
    "request_return",
    "seller_start_return",
    "accept_return",
    "complete_return",
    "convert_to_exchange",
    "approve_exchange",
    "redeliver",
    "complete_redelivery",
    "report_non_receipt",
    "refund_non_receipt",
    "refund_retry",
)
#: What the services did over the whole run (all examples): "name" or "name:refusal code".
OUTCOMES: Counter[str] = Counter()


def _snapshot() -> dict[str, Any]:
    """Return everything a refused action must leave untouched (refusal rows aside)."""
    return {
        "orders": list(Order.objects.order_by("pk").values()),
        "carts": list(Cart.objects.order_by("pk").values()),
        "claims": list(Claim.objects.order_by("pk").values()),
        "refunds": list(Refund.objects.order_by("pk").values()),
        "ledger": LedgerEntry.objects.count(),
        "tasks": DBTaskResult.objects.count(),
        "notifications": Notification.objects.count(),
        "events": OrderEvent.objects.filter(refused=False).count(),
        "gateway": SimulatedGatewayRefund.objects.count(),
    }


#: For each order action, the orders it fits (it may still be refused for another reason).
ORDER_FITS: dict[str, Callable[[Order], bool]] = {
    "confirm": lambda o: not o.is_cancelled and o.shipping_status == SS.REQUESTED,
    "delay": lambda o: not o.is_cancelled and o.shipping_status in (SS.REQUESTED, SS.CONFIRMED),
    "ship": lambda o: (
        not policies.order_closed(o) and o.shipping_status in (SS.REQUESTED, SS.CONFIRMED)
    ),
    "deliver": lambda o: not o.is_cancelled and o.shipping_status == SS.ON_DELIVERY,
    "complete_trade": lambda o: (
        not policies.order_closed(o)
        and o.shipping_status == SS.DELIVERED
        and o.completed_at is None
    ),
    "mark_paid": lambda o: o.cart.paid_at is None and not o.is_cancelled,
    "cancel_instantly": lambda o: policies.buyer_may_cancel_instantly(o, timezone.localdate()),
    "request_cancel": lambda o: policies.buyer_must_request_cancel(o, timezone.localdate()),
    "seller_cancel": policies.seller_may_cancel,
    "operator_cancel": policies.operator_may_cancel,
    "after_shipment": policies.after_shipment,
}
#: How `claim_for` opens a claim for an action: the new order's stage, then the steps.
CLAIM_RECIPES: dict[str, tuple[str, list[str]]] = {
    "approve_cancel": ("confirmed", ["request_cancel"]),
    "withdraw": ("delivered", ["request_return"]),
    "operator_withdraw": ("delivered", ["request_exchange"]),
    "accept_return": ("delivered", ["request_return"]),
    "complete_return": ("delivered", ["request_return"]),
    "convert_to_exchange": ("delivered", ["request_return"]),
    "approve_exchange": ("delivered", ["request_exchange"]),
    "redeliver": ("delivered", ["request_exchange", "approve_exchange"]),
    "complete_redelivery": ("delivered", ["request_exchange", "approve_exchange", "redeliver"]),
    "refund_non_receipt": ("shipped", ["report_non_receipt"]),
}
#: The stage of the new order `order_for` places when no order fits an order action.
ORDER_RECIPES = {
    "cancel_instantly": "paid",
    "request_cancel": "confirmed",
    "seller_cancel": "paid",
    "after_shipment": "delivered",
}
#: The order actions refused while the order has an open claim.
NEED_NO_OPEN_CLAIM = set(ORDER_FITS) - {"confirm", "delay", "deliver", "mark_paid"}


class AfterSalesMachine(RuleBasedStateMachine):
    """Drive the services at random; every example runs in a savepoint rolled back at the end."""

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        try:
            self._build()
        except BaseException:
            self.teardown()
            raise

    def _build(self) -> None:
        self.seller = SellerFactory()
        self.other_seller = SellerFactory()
        self.buyer = BuyerFactory()
        self.other_buyer = BuyerFactory()
        self.operator = OperatorFactory()
        return_address(self.seller.shop)  # the other shop has none: returns there are refused
        shared = place_cart(
            shop=self.seller.shop, buyer=self.buyer, prices=[1000, 2500], method="card", quantity=2
        )
        transfer = place_cart(
            shop=self.seller.shop,
            buyer=self.buyer,
            prices=[1800],
            method="bank_transfer",
            quantity=2,
        )
        balance = place_cart(
            shop=self.other_seller.shop,
            buyer=self.other_buyer,
            prices=[3000],
            method="balance",
            quantity=2,
        )
        self.orders: list[Order] = [
            *shared.orders.order_by("pk"),
            transfer.orders.get(),
            balance.orders.get(),
        ]
        assert len(self.orders) == N_ORDERS
        self._key: tuple[int | None, int] | None = None
        self._cache: tuple[list[Order], list[Claim], set[int]] = ([], [], set())

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers ---------------------------------------------------------------------

    def order(self, ix: int) -> Order:
        return Order.objects.select_related("cart").get(pk=self.orders[ix].pk)

    def _current(self) -> tuple[list[Order], list[Claim], set[int]]:
        """Return the orders, their claims and the ids of orders with an open claim.

        Read again only when the history has grown (every change writes a line),
        since the rules' preconditions ask for them at every step.
        """
        key = (OrderEvent.objects.aggregate(m=Max("pk"))["m"], len(self.orders))
        if key != self._key:
            pks = [o.pk for o in self.orders]
            orders_now = Order.objects.select_related("cart").filter(pk__in=pks).order_by("pk")
            claims_now = Claim.objects.filter(order__in=pks).order_by("pk")
            self._cache = (
                list(orders_now),
                list(claims_now),
                {c.order_id for c in claims_now if c.is_open},
            )
            self._key = key
        return self._cache

    def fitting_orders(self, fits: str) -> list[Order]:
        every, _claims, with_open_claim = self._current()
        return [
            o
            for o in every
            if ORDER_FITS[fits](o) and not (fits in NEED_NO_OPEN_CLAIM and o.pk in with_open_claim)
        ]

    def fitting_claims(self, action: str) -> list[Claim]:
        sources = TRANSITIONS[action].sources
        return [c for c in self._current()[1] if c.status in sources]

    def pick_order(self, pick: int, fits: str) -> Order:
        """Return an order `fits` (see ORDER_FITS), or one in four times any order."""
        every = self._current()[0]
        fitting = self.fitting_orders(fits)
        pool = fitting if fitting and pick % 4 != 3 else every
        return Order.objects.select_related("cart").get(pk=pool[pick % len(pool)].pk)

    def pick_claim(self, pick: int, action: str) -> Claim | None:
        """Return a claim `action` may start from, or one in four times any claim."""
        fitting = self.fitting_claims(action)
        pool = fitting if fitting and pick % 4 != 3 else self._current()[1]
        return Claim.objects.select_related("order").get(pk=pool[pick % len(pool)].pk)

    def who(self, name: str, order: Order, own: str = "seller") -> User | None:
        """Return the person called `name` relative to `order` (its seller, another buyer, …).

        `own` names the party the action is meant for, used when `name` is "own".
        """
        if name == "own":
            name = own
        own_seller = self.seller if order.shop_id == self.seller.shop_id else self.other_seller
        stranger = self.other_seller if own_seller is self.seller else self.seller
        own_buyer = self.buyer if order.buyer_id == self.buyer.pk else self.other_buyer
        other_buyer = self.other_buyer if own_buyer is self.buyer else self.buyer
        return {
            "seller": own_seller,
            "other_seller": stranger,
            "buyer": own_buyer,
            "other_buyer": other_buyer,
            "operator": self.operator,
            "system": None,
        }[name]

    def act(self, name: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """Call a service; a refusal must be a DomainError that changed nothing."""
        before = _snapshot()
        try:
            result = fn(**kwargs)
        except DomainError as error:
            assert _snapshot() == before, f"{name} refused ({error.code}) but changed data"
            OUTCOMES[f"{name}:{error.code}"] += 1
            event(f"{name}: refused ({error.code})")
            return None
        OUTCOMES[name] += 1
        event(f"{name}: done")
        return result

    def _advance(self, order: Order, stage: str) -> None:
        """Take `order` towards `stage` through the services, as its own parties would."""
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        seller = self.who("seller", order)
        target = STAGES.index(stage)
        if target >= 1 and order.cart.paid_at is None:
            self.act("mark_paid", checkout.cart_mark_paid, actor=None, cart=order.cart)
            order = self.order(self.orders.index(order))
        steps = [
            (2, SS.REQUESTED, "confirm", orders.order_confirm, {"est_ship_date": tomorrow}),
            (
                3,
                SS.CONFIRMED,
                "ship",
                orders.order_ship,
                {"carrier": "ゆうパック", "tracking_no": "1212"},
            ),
        ]
        for needed, status, name, fn, extra in steps:
            if target >= needed and order.shipping_status == status:
                self.act(name, fn, actor=seller, order=order, **extra)
                order = self.order(self.orders.index(order))
        if target >= 4 and order.shipping_status == SS.ON_DELIVERY:
            self.act("deliver", orders.order_mark_delivered, actor=None, order=order)

    @initialize(stages=st.lists(st.sampled_from(STAGES), min_size=N_ORDERS, max_size=N_ORDERS))
    def advance(self, stages: list[str]) -> None:
        """Bring each order to a starting stage, so that runs begin mid-way as often as not."""
        for ix, stage in enumerate(stages):
            self._advance(self.order(ix), stage)

    # --- more orders ----------------------------------------------------------------------

    def _place(self, stage: str, *, method: str, mine: bool, price: int) -> Order:
        shop, buyer = (
            (self.seller.shop, self.buyer) if mine else (self.other_seller.shop, self.other_buyer)
        )
        cart = place_cart(shop=shop, buyer=buyer, prices=[price], method=method, quantity=2)
        self.orders.append(cart.orders.get())
        self._advance(self.order(len(self.orders) - 1), stage)
        return self.order(len(self.orders) - 1)

    def may_start(self, action: str) -> bool:
        """Whether `action` has a claim to act on, or one can be opened for it."""
        return bool(self.fitting_claims(action)) or len(self.orders) < MAX_ORDERS

    def may_order(self, fits: str) -> bool:
        """Whether an order fits, or one can be placed for it."""
        return bool(self.fitting_orders(fits)) or (
            fits in ORDER_RECIPES and len(self.orders) < MAX_ORDERS
        )

    def order_for(self, pick: int, fits: str) -> Order:
        """Return `pick_order`, or a new order of the shop at the stage the action needs."""
        if self.fitting_orders(fits) or fits not in ORDER_RECIPES:
            return self.pick_order(pick, fits)
        return self._place(ORDER_RECIPES[fits], method="card", mine=True, price=2400)

    def claim_for(self, pick: int, action: str) -> Claim | None:
        """Return a claim for `action` (`pick_claim`), or open one on a new order.

        With no claim in a status `action` starts from, a new order of the shop
        with a return address is taken to where the claim begins and the claim
        is opened (and taken forward) through the services by its own parties:
        a follow-up action is not left to the chance of its first steps coming
        first in the same run.
        """
        if self.fitting_claims(action):
            return self.pick_claim(pick, action)
        stage, steps = CLAIM_RECIPES[action]
        partly_refunded = {
            c.order_id for c in self._current()[1] if c.status == S.NON_RECEIPT_PARTIALLY_REFUNDED
        }
        again = [o for o in self.fitting_orders("after_shipment") if o.pk in partly_refunded]
        if action == "refund_non_receipt" and again:
            # a second report on an order refunded in part: together they must stay within it
            order = again[pick % len(again)]
        else:
            order = self._place(stage, method="card", mine=True, price=1000)
        claim: Claim | None = None
        for step in steps:
            if step == "request_cancel":
                claim = self.act(
                    step,
                    claim_request_cancel,
                    actor=self.buyer,
                    order=order,
                    reason="EDIT_ORDER",
                )
            elif step in ("request_return", "request_exchange"):
                claim = self.act(
                    "request_return",
                    claim_request_return,
                    actor=self.buyer,
                    order=order,
                    reason="DEFECTIVE",
                    exchange=step == "request_exchange",
                )
            elif step == "report_non_receipt":
                claim = self.act(step, claim_report_non_receipt, actor=self.buyer, order=order)
            elif step == "approve_exchange" and claim is not None:
                claim = self.act(step, claim_approve_exchange, actor=self.seller, claim=claim)
            elif step == "redeliver" and claim is not None:
                claim = self.act(
                    step,
                    claim_redeliver,
                    actor=self.seller,
                    claim=claim,
                    redelivery_date=timezone.localdate() + dt.timedelta(days=2),
                    carrier="佐川急便",
                    tracking_no="3344-5566",
                )
            if claim is None:
                return None
        return claim

    @precondition(lambda self: len(self.orders) < MAX_ORDERS)
    @rule(
        stage=st.sampled_from(STAGES),
        method=st.sampled_from(["card", "bank_transfer", "balance"]),
        mine=st.booleans(),
        price=st.sampled_from([1000, 2400]),
    )
    def place_order(self, stage: str, method: str, mine: bool, price: int) -> None:
        """A new order (own cart) of a buyer, brought to `stage`: claims need live orders."""
        self._place(stage, method=method, mine=mine, price=price)

    @rule(pick=picks, stage=st.sampled_from(["shipped", "delivered"]))
    def advance_order(self, pick: int, stage: str) -> None:
        """Ship (and deliver) an order that can be: returns and non-receipt need one."""
        self._advance(self.pick_order(pick, "ship" if pick % 2 else "deliver"), stage)

    # --- shipping ----------------------------------------------------------------------

    @precondition(lambda self: bool(self.fitting_orders("confirm")))
    @rule(pick=picks, who=actors)
    def confirm(self, pick: int, who: str) -> None:
        order = self.pick_order(pick, "confirm")
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        self.act(
            "confirm",
            orders.order_confirm,
            actor=self.who(who, order),
            order=order,
            est_ship_date=tomorrow,
        )

    @precondition(lambda self: bool(self.fitting_orders("delay")))
    @rule(pick=picks, who=actors)
    def register_delay(self, pick: int, who: str) -> None:
        order = self.pick_order(pick, "delay")
        later = timezone.localdate() + dt.timedelta(days=3)
        self.act(
            "delay",
            orders.order_register_delay,
            actor=self.who(who, order),
            order=order,
            est_ship_date=later,
            delay_type=1,
        )

    @precondition(lambda self: bool(self.fitting_orders("ship")))
    @rule(pick=picks, who=actors)
    def ship(self, pick: int, who: str) -> None:
        order = self.pick_order(pick, "ship")
        self.act(
            "ship",
            orders.order_ship,
            actor=self.who(who, order),
            order=order,
            carrier="ヤマト運輸",
            tracking_no="4455-6677-8899",
        )

    @precondition(lambda self: bool(self.fitting_orders("deliver")))
    @rule(pick=picks, who=actors)
    def deliver(self, pick: int, who: str) -> None:
        order = self.pick_order(pick, "deliver")
        self.act(
            "deliver", orders.order_mark_delivered, actor=self.who(who, order, "buyer"), order=order
        )

    @precondition(lambda self: bool(self.fitting_orders("complete_trade")))
    @rule(pick=picks, who=actors)
    def complete_trade(self, pick: int, who: str) -> None:
        order = self.pick_order(pick, "complete_trade")
        self.act(
            "complete_trade",
            orders.order_complete_trade,
            actor=self.who(who, order, "buyer"),
            order=order,
        )

    @precondition(lambda self: bool(self.fitting_orders("mark_paid")))
    @rule(pick=picks, who=actors)
    def mark_paid(self, pick: int, who: str) -> None:
        order = self.pick_order(pick, "mark_paid")
        self.act(
            "mark_paid",
            checkout.cart_mark_paid,
            actor=self.who(who, order, "system"),
            cart=order.cart,
        )

    @rule(pick=picks)
    def send_cancel_note(self, pick: int) -> None:
        order = self.order_for(pick, "seller_cancel")
        seller = self.who("seller", order)
        assert seller is not None
        note_send(
            actor=seller,
            order=order,
            category=NoteCategory.CANCEL_REFUND,
            title="在庫切れのお知らせ",
            body="申し訳ありません。在庫切れのためキャンセルいたします。",
        )

    # --- cancellation ------------------------------------------------------------------

    @precondition(lambda self: self.may_order("cancel_instantly"))
    @rule(
        pick=picks,
        who=actors,
        reason=st.sampled_from(
            # mostly the buyer's own reason, so the rule succeeds in every run; the
            # others are refused unless the order is late (SHIPPING_DELAY)
            ["EDIT_ORDER"] * 5 + ["SHIPPING_DELAY", "OUT_OF_STOCK", "NOPE"]
        ),
    )
    def cancel_instantly(self, pick: int, who: str, reason: str) -> None:
        order = self.order_for(pick, "cancel_instantly")
        self.act(
            "cancel_instantly",
            claim_cancel_instantly,
            actor=self.who(who, order, "buyer"),
            order=order,
            reason=reason,
        )

    @precondition(lambda self: self.may_order("request_cancel"))
    @rule(pick=picks, who=actors)
    def request_cancel(self, pick: int, who: str) -> None:
        order = self.order_for(pick, "request_cancel")
        self.act(
            "request_cancel",
            claim_request_cancel,
            actor=self.who(who, order, "buyer"),
            order=order,
            reason="EDIT_ORDER",
        )

    @precondition(lambda self: self.may_start("approve_cancel"))
    @rule(pick=picks, who=actors, grant=st.booleans())
    def approve_cancel(self, pick: int, who: str, grant: bool) -> None:
        claim = self.claim_for(pick, "approve_cancel")
        if claim is None:
            return
        self.act(
            "approve_cancel",
            claim_approve_cancel,
            actor=self.who(who, claim.order),
            claim=claim,
            grant_payment_fee=grant,
        )

    @precondition(lambda self: self.may_order("seller_cancel"))
    @rule(
        pick=picks,
        who=actors,
        reason=st.sampled_from(
            ["OUT_OF_STOCK", "SHIPPING_DELAY", "CUSTOMER_REQUEST", "EDIT_ORDER"]
        ),
        confirm=st.booleans(),
    )
    def seller_cancel(self, pick: int, who: str, reason: str, confirm: bool) -> None:
        order = self.order_for(pick, "seller_cancel")
        self.act(
            "seller_cancel",
            claim_seller_cancel,
            actor=self.who(who, order),
            order=order,
            reason=reason,
            confirm_without_notice=confirm,
        )

    @precondition(lambda self: self.may_start("withdraw"))
    @rule(pick=picks, who=actors)
    def withdraw(self, pick: int, who: str) -> None:
        claim = self.claim_for(pick, "withdraw")
        if claim is None:
            return
        self.act(
            "withdraw",
            claim_withdraw,
            actor=self.who(who, claim.order, "buyer"),
            claim=claim,
        )

    @precondition(lambda self: self.may_start("operator_withdraw"))
    @rule(pick=picks, who=actors)
    def operator_withdraw(self, pick: int, who: str) -> None:
        claim = self.claim_for(pick, "operator_withdraw")
        if claim is None:
            return
        self.act(
            "operator_withdraw",
            claim_operator_withdraw,
            actor=self.who(who, claim.order, "operator"),
            claim=claim,
            reason="販売者からの問い合わせにより撤回",
        )

    @precondition(lambda self: bool(self.fitting_orders("operator_cancel")))
    @rule(pick=picks, who=actors, reason=st.sampled_from(["EDIT_ORDER", "OUT_OF_STOCK"]))
    def operator_cancel(self, pick: int, who: str, reason: str) -> None:
        order = self.pick_order(pick, "operator_cancel")
        self.act(
            "operator_cancel",
            claim_operator_cancel,
            actor=self.who(who, order, "operator"),
            order=order,
            reason=reason,
            memo="お問い合わせにより全額返金",
        )

    # --- returns, exchanges, non-receipt --------------------------------------------------

    @precondition(lambda self: self.may_order("after_shipment"))
    @rule(
        pick=picks,
        who=actors,
        reason=st.sampled_from(["DEFECTIVE", "OTHER", "OUT_OF_STOCK"]),
        exchange=st.booleans(),
    )
    def request_return(self, pick: int, who: str, reason: str, exchange: bool) -> None:
        order = self.order_for(pick, "after_shipment")
        self.act(
            "request_return",
            claim_request_return,
            actor=self.who(who, order, "buyer"),
            order=order,
            reason=reason,
            exchange=exchange,
        )

    @precondition(lambda self: self.may_order("after_shipment"))
    @rule(
        pick=picks,
        who=actors,
        pickup=st.sampled_from(["seller_collects", "buyer_sends", "not_needed"]),
        accept_now=st.booleans(),
    )
    def seller_start_return(self, pick: int, who: str, pickup: str, accept_now: bool) -> None:
        order = self.order_for(pick, "after_shipment")
        self.act(
            "seller_start_return",
            claim_seller_start_return,
            actor=self.who(who, order),
            order=order,
            reason="DEFECTIVE",
            pickup_method=pickup,
            accept_now=accept_now,
        )

    @precondition(lambda self: self.may_start("accept_return"))
    @rule(pick=picks, who=actors, pickup=st.sampled_from(["seller_collects", "buyer_sends"]))
    def accept_return(self, pick: int, who: str, pickup: str) -> None:
        claim = self.claim_for(pick, "accept_return")
        if claim is None:
            return
        self.act(
            "accept_return",
            claim_accept_return,
            actor=self.who(who, claim.order),
            claim=claim,
            pickup_method=pickup,
        )

    @precondition(lambda self: self.may_start("complete_return"))
    @rule(
        pick=picks,
        who=actors,
        # 0 twice: a deduction is refused when the seller is at fault
        deduction=st.sampled_from([0, 0, 500, 1500, 1501, 99_999]),
        grant=st.booleans(),
    )
    def complete_return(self, pick: int, who: str, deduction: int, grant: bool) -> None:
        claim = self.claim_for(pick, "complete_return")
        if claim is None:
            return
        self.act(
            "complete_return",
            claim_complete_return,
            actor=self.who(who, claim.order),
            claim=claim,
            goods_received=True,
            confirmed=True,
            return_shipping_deduction=deduction,
            grant_payment_fee=grant,
        )

    @precondition(lambda self: self.may_start("convert_to_exchange"))
    @rule(pick=picks, who=actors)
    def convert_to_exchange(self, pick: int, who: str) -> None:
        claim = self.claim_for(pick, "convert_to_exchange")
        if claim is None:
            return
        self.act(
            "convert_to_exchange",
            claim_convert_to_exchange,
            actor=self.who(who, claim.order),
            claim=claim,
        )

    @precondition(lambda self: self.may_start("approve_exchange"))
    @rule(pick=picks, who=actors)
    def approve_exchange(self, pick: int, who: str) -> None:
        claim = self.claim_for(pick, "approve_exchange")
        if claim is None:
            return
        self.act(
            "approve_exchange",
            claim_approve_exchange,
            actor=self.who(who, claim.order),
            claim=claim,
        )

    @precondition(lambda self: self.may_start("redeliver"))
    @rule(pick=picks, who=actors)
    def redeliver(self, pick: int, who: str) -> None:
        claim = self.claim_for(pick, "redeliver")
        if claim is None:
            return
        self.act(
            "redeliver",
            claim_redeliver,
            actor=self.who(who, claim.order),
            claim=claim,
            redelivery_date=timezone.localdate() + dt.timedelta(days=2),
            carrier="佐川急便",
            tracking_no="3344-5566",
        )

    @precondition(lambda self: self.may_start("complete_redelivery"))
    @rule(pick=picks, who=actors)
    def complete_redelivery(self, pick: int, who: str) -> None:
        claim = self.claim_for(pick, "complete_redelivery")
        if claim is None:
            return
        self.act(
            "complete_redelivery",
            claim_complete_redelivery,
            actor=self.who(who, claim.order, "buyer"),
            claim=claim,
        )

    @precondition(lambda self: self.may_order("after_shipment"))
    @rule(pick=picks, who=actors, partial=st.booleans())
    def report_non_receipt(self, pick: int, who: str, partial: bool) -> None:
        order = self.order_for(pick, "after_shipment")
        self.act(
            "report_non_receipt",
            claim_report_non_receipt,
            actor=self.who(who, order, "buyer"),
            order=order,
            duty="SL" if partial else "SC",
            missing_quantity=1 if partial else None,
        )

    @precondition(lambda self: self.may_start("refund_non_receipt"))
    @rule(
        pick=picks,
        who=actors,
        # 1500 twice on one order of 2000 would refund more than was paid
        amount=st.sampled_from([1500, None, 1, 700, 0, -5, 10**9]),
    )
    def refund_non_receipt(self, pick: int, who: str, amount: int | None) -> None:
        claim = self.claim_for(pick, "refund_non_receipt")
        if claim is None:
            return
        self.act(
            "refund_non_receipt",
            claim_refund_non_receipt,
            actor=self.who(who, claim.order),
            claim=claim,
            amount_minor=amount,
        )

    # --- money machinery -------------------------------------------------------------------

    @rule(
        mode=st.sampled_from(["ok", "fail", "timeout", "late"]),
        remaining=st.integers(min_value=0, max_value=2),
    )
    def switch_gateway(self, mode: str, remaining: int) -> None:
        set_simulated_mode(mode, remaining)

    @rule()
    def run_worker(self) -> None:
        drain_tasks()
        failed = DBTaskResult.objects.failed()
        assert not failed.exists(), [(t.task_path, t.traceback) for t in failed]

    @rule()
    def recover_and_run_worker(self) -> None:
        refunds.refunds_recover(stale_seconds=0)
        self.run_worker()

    @rule()
    def auto_retry_due(self) -> None:
        refunds.refunds_retry_due(now=timezone.now() + dt.timedelta(days=1))

    def has_pending_card_refund(self) -> bool:
        return Refund.objects.filter(
            order__in=[o.pk for o in self.orders],
            status=RefundStatus.PENDING,
            destination="card",
        ).exists()

    @precondition(lambda self: self.has_pending_card_refund())
    @rule()
    def processor_declines_once(self) -> None:
        """The processor declines the next refund: a failed refund for an operator to retry."""
        set_simulated_mode("fail", 1)
        self.run_worker()

    @rule(pick=picks, who=actors)
    def retry_refund(self, pick: int, who: str) -> None:
        mine = Refund.objects.filter(order__in=[o.pk for o in self.orders]).order_by("pk")
        if not mine.filter(status=RefundStatus.FAILED).exists() and self.has_pending_card_refund():
            self.processor_declines_once()
        failed = list(mine.filter(status=RefundStatus.FAILED))
        pool = failed if failed and pick % 4 != 3 else list(mine)
        if not pool:
            return
        refund = pool[pick % len(pool)]
        self.act(
            "refund_retry",
            refunds.refund_retry,
            actor=self.who(who, refund.order, "operator"),
            refund=refund,
        )

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def refunds_never_exceed_payments(self) -> None:
        live = Refund.objects.filter(status__in=[RefundStatus.SUCCEEDED, RefundStatus.PENDING])
        for cart in Cart.objects.filter(orders__in=[o.pk for o in self.orders]).distinct():
            refunded = live.filter(order__cart=cart).aggregate(s=Sum("amount_minor"))["s"] or 0
            if cart.paid_at is None:
                assert refunded == 0, f"cart {cart.cart_no} was never paid but refunds {refunded}"
                continue
            goods = cart.orders.aggregate(s=Sum("total_minor"))["s"] or 0
            paid = goods + cart.shipping_fee_minor + cart.payment_fee_minor
            assert refunded <= paid, f"cart {cart.cart_no}: refunded {refunded} > paid {paid}"
        for order in Order.objects.filter(pk__in=[o.pk for o in self.orders]):
            items = Refund.objects.filter(order=order).aggregate(s=Sum("item_minor"))["s"] or 0
            assert items <= order.total_minor, f"order {order.order_no}: items {items}"

    @invariant()
    def books_balance(self) -> None:
        assert set(ledger_total().values()) <= {0}, ledger_total()
        for buyer in (self.buyer, self.other_buyer):
            assert not buyer_balance(buyer.pk, "JPY").is_negative()

    @invariant()
    def each_refund_settles_once(self) -> None:
        for refund in Refund.objects.all():
            posted = LedgerTransaction.objects.filter(kind="refund", refund=refund).count()
            assert posted == (1 if refund.status == RefundStatus.SUCCEEDED else 0), refund
            approved = SimulatedGatewayRefund.objects.filter(
                key__startswith=f"{refund.idempotency_key}:", approved=True
            )
            assert approved.count() <= 1, f"{refund} approved twice by the processor"
            if refund.status == RefundStatus.SUCCEEDED and refund.destination == "card":
                assert approved.get().reference == refund.gateway_reference

    @invariant()
    def one_open_claim_per_order(self) -> None:
        per_order = Counter(Claim.objects.filter(is_open=True).values_list("order_id", flat=True))
        assert all(n == 1 for n in per_order.values()), per_order
        for claim in Claim.objects.all():
            assert claim.is_open == (claim.status not in TERMINAL_STATUSES), claim

    @invariant()
    def box_counts_match_their_lists(self) -> None:
        for shop_id in (self.seller.shop_id, self.other_seller.shop_id):
            assert shipping_box_counts(shop_id) == counted_boxes(shop_id)
            assert claim_home_counts(shop_id) == counted_home(shop_id)
            default = ClaimFilter()
            assert claim_status_counts(shop_id, default) == counted_statuses(shop_id, default)

    @invariant()
    def history_replays_to_current_state(self) -> None:
        for order in self.orders:
            assert replay(order) == current_state(order)


@pytest.mark.django_db
def test_random_after_sales_sequences_keep_invariants(settings: Any) -> None:
    """Whatever anyone does in whatever order, money, claims and history stay consistent.

    The run is derandomized (the same sequences every time), and each service
    must have succeeded at least once in it: a service only ever refused would
    leave its effects untested. STATEFUL_EXAMPLES=1000 hunts longer.
    """
    # Five users per example: the production password hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    OUTCOMES.clear()
    run_state_machine_as_test(
        AfterSalesMachine,
        settings=hypothesis_settings(
            max_examples=int(os.environ.get("STATEFUL_EXAMPLES", "50")),
            stateful_step_count=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    never = [name for name in ACTIONS if not OUTCOMES[name]]
    assert never == [], f"never succeeded: {never}; outcomes: {sorted(OUTCOMES.items())}"
