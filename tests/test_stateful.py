"""Random sequences of after-sales actions by random people keep the books and history sound.

A Hypothesis state machine plays sellers, buyers, the operator and the system
against a few orders (one cart of two card orders, a bank-transfer order, a
balance order at another shop), flips the simulated card processor between
its modes and runs the worker. After every step it checks the invariants of
SPEC sections 3-5 and 12.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from claimdesk.accounts.models import User
from claimdesk.claims import refunds
from claimdesk.claims.cancel import (
    claim_approve_cancel,
    claim_cancel_instantly,
    claim_request_cancel,
    claim_seller_cancel,
    claim_withdraw,
)
from claimdesk.claims.models import TERMINAL_STATUSES, Claim
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
from claimdesk.core.errors import DomainError
from claimdesk.core.worker import drain_tasks
from claimdesk.intake import checkout
from claimdesk.messaging.models import NoteCategory, Notification
from claimdesk.messaging.services import note_send
from claimdesk.orders import services as orders
from claimdesk.orders.models import Cart, Order, OrderEvent
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
N_ORDERS = 4
order_ix = st.integers(min_value=0, max_value=N_ORDERS - 1)
# "own" is the party the action is meant for; it comes up half the time so that
# sequences get past the first step, the others test that strangers are refused.
actors = st.sampled_from(("own",) * 6 + ACTORS)
STAGES = ("placed", "paid", "confirmed", "shipped", "delivered")


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
        self.refusals: Counter[str] = Counter()
        self.successes: Counter[str] = Counter()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers ---------------------------------------------------------------------

    def order(self, ix: int) -> Order:
        return Order.objects.get(pk=self.orders[ix].pk)

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

    def claim(self, order: Order) -> Claim | None:
        """Return the open claim of `order`, else its latest one (acting on it is then refused)."""
        return (
            Claim.objects.open_for(order).first()
            or Claim.objects.filter(order=order).order_by("-pk").first()
        )

    def act(self, name: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """Call a service; a refusal must be a DomainError that changed nothing."""
        before = _snapshot()
        try:
            result = fn(**kwargs)
        except DomainError as error:
            assert _snapshot() == before, f"{name} refused ({error.code}) but changed data"
            self.refusals[f"{name}:{error.code}"] += 1
            return None
        self.successes[name] += 1
        return result

    @initialize(stages=st.lists(st.sampled_from(STAGES), min_size=N_ORDERS, max_size=N_ORDERS))
    def advance(self, stages: list[str]) -> None:
        """Bring each order to a starting stage, so that runs begin mid-way as often as not."""
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        for ix, stage in enumerate(stages):
            order = self.order(ix)
            seller = self.who("seller", order)
            assert seller is not None
            if stage == "placed":
                continue
            if order.cart.paid_at is None:
                checkout.cart_mark_paid(actor=None, cart=order.cart)
            if stage == "paid":
                continue
            orders.order_confirm(actor=seller, order=order, est_ship_date=tomorrow)
            if stage == "confirmed":
                continue
            orders.order_ship(actor=seller, order=order, carrier="ゆうパック", tracking_no="1212")
            if stage == "shipped":
                continue
            orders.order_mark_delivered(actor=None, order=order)

    # --- shipping ----------------------------------------------------------------------

    @rule(ix=order_ix, who=actors)
    def confirm(self, ix: int, who: str) -> None:
        order = self.order(ix)
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        self.act(
            "confirm",
            orders.order_confirm,
            actor=self.who(who, order),
            order=order,
            est_ship_date=tomorrow,
        )

    @rule(ix=order_ix, who=actors)
    def register_delay(self, ix: int, who: str) -> None:
        order = self.order(ix)
        later = timezone.localdate() + dt.timedelta(days=3)
        self.act(
            "delay",
            orders.order_register_delay,
            actor=self.who(who, order),
            order=order,
            est_ship_date=later,
            delay_type=1,
        )

    @rule(ix=order_ix, who=actors)
    def ship(self, ix: int, who: str) -> None:
        order = self.order(ix)
        self.act(
            "ship",
            orders.order_ship,
            actor=self.who(who, order),
            order=order,
            carrier="ヤマト運輸",
            tracking_no="4455-6677-8899",
        )

    @rule(ix=order_ix, who=actors)
    def deliver(self, ix: int, who: str) -> None:
        order = self.order(ix)
        self.act(
            "deliver", orders.order_mark_delivered, actor=self.who(who, order, "buyer"), order=order
        )

    @rule(ix=order_ix, who=actors)
    def complete_trade(self, ix: int, who: str) -> None:
        order = self.order(ix)
        self.act(
            "complete_trade",
            orders.order_complete_trade,
            actor=self.who(who, order, "buyer"),
            order=order,
        )

    @rule(ix=order_ix, who=actors)
    def mark_paid(self, ix: int, who: str) -> None:
        order = self.order(ix)
        self.act(
            "mark_paid",
            checkout.cart_mark_paid,
            actor=self.who(who, order, "system"),
            cart=order.cart,
        )

    @rule(ix=order_ix)
    def send_cancel_note(self, ix: int) -> None:
        order = self.order(ix)
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

    @rule(
        ix=order_ix,
        who=actors,
        reason=st.sampled_from(["EDIT_ORDER", "SHIPPING_DELAY", "OUT_OF_STOCK", "NOPE"]),
    )
    def cancel_instantly(self, ix: int, who: str, reason: str) -> None:
        order = self.order(ix)
        self.act(
            "cancel_instantly",
            claim_cancel_instantly,
            actor=self.who(who, order, "buyer"),
            order=order,
            reason=reason,
        )

    @rule(ix=order_ix, who=actors)
    def request_cancel(self, ix: int, who: str) -> None:
        order = self.order(ix)
        self.act(
            "request_cancel",
            claim_request_cancel,
            actor=self.who(who, order, "buyer"),
            order=order,
            reason="EDIT_ORDER",
        )

    @rule(ix=order_ix, who=actors, grant=st.booleans())
    def approve_cancel(self, ix: int, who: str, grant: bool) -> None:
        order = self.order(ix)
        claim = self.claim(order)
        if claim is None:
            return
        self.act(
            "approve_cancel",
            claim_approve_cancel,
            actor=self.who(who, order),
            claim=claim,
            grant_payment_fee=grant,
        )

    @rule(
        ix=order_ix,
        who=actors,
        reason=st.sampled_from(
            ["OUT_OF_STOCK", "SHIPPING_DELAY", "CUSTOMER_REQUEST", "EDIT_ORDER"]
        ),
        confirm=st.booleans(),
    )
    def seller_cancel(self, ix: int, who: str, reason: str, confirm: bool) -> None:
        order = self.order(ix)
        self.act(
            "seller_cancel",
            claim_seller_cancel,
            actor=self.who(who, order),
            order=order,
            reason=reason,
            confirm_without_notice=confirm,
        )

    @rule(ix=order_ix, who=actors)
    def withdraw(self, ix: int, who: str) -> None:
        order = self.order(ix)
        claim = self.claim(order)
        if claim is None:
            return
        self.act("withdraw", claim_withdraw, actor=self.who(who, order, "buyer"), claim=claim)

    @rule(ix=order_ix, who=actors)
    def operator_withdraw(self, ix: int, who: str) -> None:
        order = self.order(ix)
        claim = self.claim(order)
        if claim is None:
            return
        self.act(
            "operator_withdraw",
            claim_operator_withdraw,
            actor=self.who(who, order, "operator"),
            claim=claim,
            reason="販売者からの問い合わせにより撤回",
        )

    @rule(ix=order_ix, who=actors, reason=st.sampled_from(["EDIT_ORDER", "OUT_OF_STOCK"]))
    def operator_cancel(self, ix: int, who: str, reason: str) -> None:
        order = self.order(ix)
        self.act(
            "operator_cancel",
            claim_operator_cancel,
            actor=self.who(who, order, "operator"),
            order=order,
            reason=reason,
            memo="お問い合わせにより全額返金",
        )

    # --- returns, exchanges, non-receipt --------------------------------------------------

    @rule(
        ix=order_ix,
        who=actors,
        reason=st.sampled_from(["DEFECTIVE", "OTHER", "OUT_OF_STOCK"]),
        exchange=st.booleans(),
    )
    def request_return(self, ix: int, who: str, reason: str, exchange: bool) -> None:
        order = self.order(ix)
        self.act(
            "request_return",
            claim_request_return,
            actor=self.who(who, order, "buyer"),
            order=order,
            reason=reason,
            exchange=exchange,
        )

    @rule(
        ix=order_ix,
        who=actors,
        pickup=st.sampled_from(["seller_collects", "buyer_sends", "not_needed"]),
        accept_now=st.booleans(),
    )
    def seller_start_return(self, ix: int, who: str, pickup: str, accept_now: bool) -> None:
        order = self.order(ix)
        self.act(
            "seller_start_return",
            claim_seller_start_return,
            actor=self.who(who, order),
            order=order,
            reason="DEFECTIVE",
            pickup_method=pickup,
            accept_now=accept_now,
        )

    @rule(ix=order_ix, who=actors, pickup=st.sampled_from(["seller_collects", "buyer_sends"]))
    def accept_return(self, ix: int, who: str, pickup: str) -> None:
        order = self.order(ix)
        claim = self.claim(order)
        if claim is None:
            return
        self.act(
            "accept_return",
            claim_accept_return,
            actor=self.who(who, order),
            claim=claim,
            pickup_method=pickup,
        )

    @rule(
        ix=order_ix,
        who=actors,
        deduction=st.sampled_from([0, 500, 1500, 1501, 99_999]),
        grant=st.booleans(),
    )
    def complete_return(self, ix: int, who: str, deduction: int, grant: bool) -> None:
        order = self.order(ix)
        claim = self.claim(order)
        if claim is None:
            return
        self.act(
            "complete_return",
            claim_complete_return,
            actor=self.who(who, order),
            claim=claim,
            goods_received=True,
            confirmed=True,
            return_shipping_deduction=deduction,
            grant_payment_fee=grant,
        )

    @rule(ix=order_ix, who=actors)
    def convert_to_exchange(self, ix: int, who: str) -> None:
        order = self.order(ix)
        claim = self.claim(order)
        if claim is None:
            return
        self.act(
            "convert_to_exchange",
            claim_convert_to_exchange,
            actor=self.who(who, order),
            claim=claim,
        )

    @rule(ix=order_ix, who=actors)
    def approve_exchange(self, ix: int, who: str) -> None:
        order = self.order(ix)
        claim = self.claim(order)
        if claim is None:
            return
        self.act(
            "approve_exchange",
            claim_approve_exchange,
            actor=self.who(who, order),
            claim=claim,
        )

    @rule(ix=order_ix, who=actors)
    def redeliver(self, ix: int, who: str) -> None:
        order = self.order(ix)
        claim = self.claim(order)
        if claim is None:
            return
        self.act(
            "redeliver",
            claim_redeliver,
            actor=self.who(who, order),
            claim=claim,
            redelivery_date=timezone.localdate() + dt.timedelta(days=2),
            carrier="佐川急便",
            tracking_no="3344-5566",
        )

    @rule(ix=order_ix, who=actors)
    def complete_redelivery(self, ix: int, who: str) -> None:
        order = self.order(ix)
        claim = self.claim(order)
        if claim is None:
            return
        self.act(
            "complete_redelivery",
            claim_complete_redelivery,
            actor=self.who(who, order, "buyer"),
            claim=claim,
        )

    @rule(ix=order_ix, who=actors, partial=st.booleans())
    def report_non_receipt(self, ix: int, who: str, partial: bool) -> None:
        order = self.order(ix)
        self.act(
            "report_non_receipt",
            claim_report_non_receipt,
            actor=self.who(who, order, "buyer"),
            order=order,
            duty="SL" if partial else "SC",
            missing_quantity=1 if partial else None,
        )

    @rule(ix=order_ix, who=actors, amount=st.sampled_from([None, 1, 700, 0, -5, 10**9]))
    def refund_non_receipt(self, ix: int, who: str, amount: int | None) -> None:
        order = self.order(ix)
        claim = self.claim(order)
        if claim is None:
            return
        self.act(
            "refund_non_receipt",
            claim_refund_non_receipt,
            actor=self.who(who, order),
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

    @rule(ix=order_ix, who=actors)
    def retry_refund(self, ix: int, who: str) -> None:
        order = self.order(ix)
        refund = Refund.objects.filter(order=order).order_by("-pk").first()
        if refund is None:
            return
        self.act(
            "refund_retry",
            refunds.refund_retry,
            actor=self.who(who, order, "operator"),
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
    """Whatever anyone does in whatever order, money, claims and history stay consistent."""
    # Five users per example: the production password hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    run_state_machine_as_test(
        AfterSalesMachine,
        settings=hypothesis_settings(
            # STATEFUL_EXAMPLES=1000 for a longer hunt than the everyday run.
            max_examples=int(os.environ.get("STATEFUL_EXAMPLES", "50")),
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
