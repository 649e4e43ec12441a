"""Two people pressing buttons at the same moment get exactly one outcome (SPEC section 12).

Each scenario lines threads up on a barrier, each with its own database
connection, and lets them act at once. Whatever the interleaving, one action
wins, the other is refused with a DomainError, there is at most one refund
per order, the processor pays it at most once and the books balance.

Run against PostgreSQL:
DATABASE_URL=postgres://claimdesk:claimdesk@127.0.0.1:5432/claimdesk_conc \
    .venv/bin/pytest tests/test_concurrency_pg.py
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connections, transaction
from django.db.models import Count
from django_tasks_db.models import DBTaskResult

from claimdesk.claims.cancel import (
    claim_approve_cancel,
    claim_cancel_instantly,
    claim_request_cancel,
    claim_seller_cancel,
    claim_withdraw,
)
from claimdesk.claims.models import Claim, ClaimStatus, ClaimTally
from claimdesk.claims.operator import claim_operator_cancel
from claimdesk.claims.refunds import process_refund, refund_process, refunds_recover
from claimdesk.claims.timers import compact_tallies
from claimdesk.core.errors import DomainError
from claimdesk.core.money import Money
from claimdesk.core.tasks import defer
from claimdesk.core.worker import drain_tasks
from claimdesk.orders.models import Order
from claimdesk.orders.replay import current_state, replay
from claimdesk.payments.gateways import GatewayResult, SimulatedCardGateway
from claimdesk.payments.ledger import ledger_total
from claimdesk.payments.models import (
    LedgerTransaction,
    Refund,
    RefundStatus,
    SimulatedGatewayRefund,
)
from tests.factories import SellerFactory, order_in, place_cart
from tests.tallycheck import assert_tallies_exact

S = ClaimStatus
JOIN_TIMEOUT = 60


@dataclass
class Outcome:
    """What one thread's action came to: a result, a refusal code, or an unexpected error."""

    result: Any = None
    refused: str | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.refused is None and self.error is None


def race(*actions: Callable[[], Any]) -> list[Outcome]:
    """Run `actions` in threads released together by a barrier; return their outcomes in order."""
    barrier = threading.Barrier(len(actions))
    outcomes = [Outcome() for _ in actions]

    def run(outcome: Outcome, action: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            outcome.result = action()
        except DomainError as error:
            outcome.refused = error.code
        except BaseException as error:  # noqa: BLE001 - reported to the main thread below
            outcome.error = error
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(outcome, action), name=f"racer-{i}")
        for i, (outcome, action) in enumerate(zip(outcomes, actions, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
        assert not thread.is_alive(), f"{thread.name} is stuck"
    errors = [o.error for o in outcomes if o.error is not None]
    if errors:
        raise errors[0]
    return outcomes


def one_winner(outcomes: list[Outcome]) -> int:
    """Assert exactly one action succeeded and the others were refused; return the winner."""
    winners = [i for i, o in enumerate(outcomes) if o.ok]
    assert len(winners) == 1, outcomes
    assert all(o.refused for i, o in enumerate(outcomes) if i != winners[0]), outcomes
    return winners[0]


def assert_books_sound(*orders: Order) -> None:
    """After the worker: ≤1 refund per order, ≤1 paid by the processor, balanced books, history."""
    drain_tasks()
    assert not DBTaskResult.objects.failed().exists(), [
        t.traceback for t in DBTaskResult.objects.failed()
    ]
    for order in orders:
        refunds = Refund.objects.filter(order=order)
        assert refunds.count() <= 1
        for refund in refunds:
            assert refund.status == RefundStatus.SUCCEEDED
            paid = SimulatedGatewayRefund.objects.filter(
                key__startswith=f"{refund.idempotency_key}:", approved=True
            )
            assert paid.count() == (1 if refund.destination == "card" else 0)
            assert LedgerTransaction.objects.filter(kind="refund", refund=refund).count() == 1
        open_claims = Claim.objects.open_for(order).count()
        assert open_claims <= 1
        assert replay(order) == current_state(order)
    assert set(ledger_total().values()) <= {0}
    assert_tallies_exact(sorted({order.shop_id for order in orders}), zones=("Asia/Tokyo",))


def statuses(order: Order) -> list[int]:
    return list(Claim.objects.filter(order=order).order_by("pk").values_list("status", flat=True))


# --- the scenarios, shared with the SQLite variant -------------------------------------------


def scenario_two_staff_approve(seller, buyer) -> None:  # type: ignore[no-untyped-def]
    """Two staff members approve the same cancel request at once: one approval, one refund."""
    staff = SellerFactory(shop=seller.shop)
    order = order_in("confirmed", seller=seller, buyer=buyer)
    request = claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    outcomes = race(
        lambda: claim_approve_cancel(actor=seller, claim=request),
        lambda: claim_approve_cancel(actor=staff, claim=request),
    )
    loser = outcomes[1 - one_winner(outcomes)]
    assert loser.refused == "wrong_claim_status"  # the claim is read again under the order lock
    assert_books_sound(order)
    assert statuses(order) == [S.CANCEL_COMPLETED]
    assert Refund.objects.filter(order=order).count() == 1


def scenario_two_instant_cancels(seller, buyer) -> None:  # type: ignore[no-untyped-def]
    """The buyer's instant cancel arrives twice at once (double click): one claim, one refund."""
    order = order_in("new", seller=seller, buyer=buyer)
    outcomes = race(
        lambda: claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER"),
        lambda: claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER"),
    )
    one_winner(outcomes)
    assert_books_sound(order)
    assert statuses(order) == [S.CANCEL_COMPLETED]
    assert Refund.objects.filter(order=order).count() == 1


# --- PostgreSQL ----------------------------------------------------------------------------

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres"),
]


def test_two_staff_approve_the_same_cancel_request(seller, buyer):
    """(a) Two staff members of the shop approve one cancel request at the same moment."""
    scenario_two_staff_approve(seller, buyer)


def test_seller_approves_while_buyer_withdraws(seller, buyer):
    """(b) Approve and withdraw at once: either the order is cancelled and refunded, or nothing is."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    request = claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    approve, withdraw = race(
        lambda: claim_approve_cancel(actor=seller, claim=request),
        lambda: claim_withdraw(actor=buyer, claim=request),
    )
    winner = one_winner([approve, withdraw])
    assert_books_sound(order)
    order.refresh_from_db()
    if winner == 0:
        assert withdraw.refused == "wrong_claim_status"
        assert statuses(order) == [S.CANCEL_COMPLETED]
        assert order.cancelled_at is not None
        assert Refund.objects.filter(order=order).count() == 1
    else:
        assert approve.refused == "wrong_claim_status"
        assert statuses(order) == [S.WITHDRAWN]
        assert order.cancelled_at is None
        assert not Refund.objects.filter(order=order).exists()


def test_buyer_withdraws_and_resubmits_while_seller_approves(seller, buyer):
    """(c) The approval lands on the original request or on nothing, never on the new one."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    request = claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    buyer_steps: list[Outcome] = []

    def withdraw_and_resubmit() -> None:
        for step in (
            lambda: claim_withdraw(actor=buyer, claim=request),
            lambda: claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER"),
        ):
            try:
                buyer_steps.append(Outcome(result=step()))
            except DomainError as error:
                buyer_steps.append(Outcome(refused=error.code))

    approve, _ = race(
        lambda: claim_approve_cancel(actor=seller, claim=request), withdraw_and_resubmit
    )
    withdraw, resubmit = buyer_steps
    assert approve.ok != withdraw.ok, (approve, withdraw)
    assert_books_sound(order)
    if approve.ok:
        assert withdraw.refused == "wrong_claim_status"
        assert resubmit.refused is not None  # the order is cancelled now
        assert statuses(order) == [S.CANCEL_COMPLETED]
        assert Refund.objects.filter(order=order).count() == 1
    else:
        assert approve.refused == "wrong_claim_status"
        assert resubmit.ok
        assert statuses(order) == [S.WITHDRAWN, S.CANCEL_REQUESTED]
        assert not Refund.objects.filter(order=order).exists()


def test_two_instant_cancels_of_the_same_order(seller, buyer):
    """(d) A double-clicked instant cancel: one claim, one refund."""
    scenario_two_instant_cancels(seller, buyer)


def test_two_seller_cancels_of_the_same_order(seller, buyer):
    """(e) Two staff members cancel the same order for out of stock at once."""
    staff = SellerFactory(shop=seller.shop)
    order = order_in("confirmed", seller=seller, buyer=buyer)
    outcomes = race(
        lambda: claim_seller_cancel(
            actor=seller, order=order, reason="OUT_OF_STOCK", confirm_without_notice=True
        ),
        lambda: claim_seller_cancel(
            actor=staff, order=order, reason="SHIPPING_DELAY", confirm_without_notice=True
        ),
    )
    one_winner(outcomes)
    assert_books_sound(order)
    assert statuses(order) == [S.CANCEL_COMPLETED]
    assert Refund.objects.filter(order=order).count() == 1


def test_seller_approves_while_operator_cancels(seller, buyer, operator):
    """(f) The seller's approval and the operator's full cancel race: one cancel, one refund."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    request = claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    approve, cancel = race(
        lambda: claim_approve_cancel(actor=seller, claim=request),
        lambda: claim_operator_cancel(
            actor=operator, order=order, reason="EDIT_ORDER", memo="販売者からの依頼"
        ),
    )
    winner = one_winner([approve, cancel])
    assert_books_sound(order)
    assert Refund.objects.filter(order=order).count() == 1
    if winner == 0:
        assert cancel.refused == "order_closed"
        assert statuses(order) == [S.CANCEL_COMPLETED]
    else:
        assert approve.refused == "wrong_claim_status"
        assert statuses(order) == [S.WITHDRAWN, S.CANCEL_COMPLETED]


def test_two_workers_draining_the_same_refund_tasks_pay_each_refund_once(seller, buyer):
    """Two workers, and every refund queued twice: each refund reaches the processor once."""
    orders = [order_in("new", seller=seller, buyer=buyer) for _ in range(3)]
    for order in orders:
        claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    with transaction.atomic():  # a second task for each, as a retried delivery would leave
        for refund in Refund.objects.filter(order__in=orders):
            defer(process_refund, refund.pk)
    per_refund = DBTaskResult.objects.filter(task_path="claimdesk.claims.refunds.process_refund")
    assert per_refund.count() == 6
    race(drain_tasks, drain_tasks)
    assert not DBTaskResult.objects.failed().exists(), [
        t.traceback for t in DBTaskResult.objects.failed()
    ]
    assert not DBTaskResult.objects.ready().exists()
    keys = SimulatedGatewayRefund.objects.values("key").annotate(n=Count("pk"))
    assert sorted(k["n"] for k in keys) == [1, 1, 1]
    assert_books_sound(*orders)
    for order in orders:
        assert statuses(order) == [S.CANCEL_COMPLETED]


class MeetAtTheGateway:
    """The simulated processor, entered by both callers at the same moment."""

    barrier = threading.Barrier(2)

    def refund(self, *, key: str, amount: Money, payment_reference: str) -> GatewayResult:
        self.barrier.wait(timeout=JOIN_TIMEOUT)
        return SimulatedCardGateway().refund(
            key=key, amount=amount, payment_reference=payment_reference
        )


def test_the_same_refund_sent_twice_at_once_reaches_the_processor_once(seller, buyer, settings):
    """Two workers holding the same refund call the processor together: one record, one refund."""
    order = order_in("new", seller=seller, buyer=buyer)
    claim = claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    refund = Refund.objects.get(claim=claim)
    conf = dict(settings.CLAIMDESK)
    conf["PAYMENT_GATEWAY"] = f"{__name__}.MeetAtTheGateway"
    settings.CLAIMDESK = conf
    MeetAtTheGateway.barrier.reset()
    race(
        lambda: refund_process(refund_id=refund.pk),
        lambda: refund_process(refund_id=refund.pk),
    )
    assert SimulatedGatewayRefund.objects.filter(key=refund.attempt_key).count() == 1
    conf["PAYMENT_GATEWAY"] = "claimdesk.payments.gateways.SimulatedCardGateway"
    assert_books_sound(order)
    assert statuses(order) == [S.CANCEL_COMPLETED]


def test_the_two_orders_of_a_cart_cancelled_at_once_give_back_the_shipping_fee_once(seller, buyer):
    """Each cancel alone sees the other order live: the cart's lock makes one of them the last."""
    for _round in range(5):
        cart = place_cart(shop=seller.shop, buyer=buyer, prices=[1000, 2000], shipping_fee=500)
        first, second = list(cart.orders.order_by("pk"))
        outcomes = race(
            lambda o=first: claim_cancel_instantly(actor=buyer, order=o, reason="EDIT_ORDER"),
            lambda o=second: claim_cancel_instantly(actor=buyer, order=o, reason="EDIT_ORDER"),
        )
        assert all(o.ok for o in outcomes), outcomes
        refunds = list(Refund.objects.filter(order__cart=cart).order_by("pk"))
        assert len(refunds) == 2
        assert sorted(r.shipping_minor for r in refunds) == [0, 500]
        assert_books_sound(first, second)


def test_cancels_in_one_shop_while_the_sweep_folds_the_tally(seller, buyer):
    """Six cancels in one shop at once beside two folds of the box-count tally: nobody waits
    for a counter row, nothing is lost, and the counts equal the lists."""
    # given
    orders = [order_in("new", seller=seller, buyer=buyer) for _ in range(6)]

    def cancel(order: Order) -> Callable[[], Any]:
        return lambda: claim_seller_cancel(
            actor=seller, order=order, reason="OUT_OF_STOCK", confirm_without_notice=True
        )

    def fold() -> int:
        return sum(compact_tallies() for _ in range(5))

    # when
    outcomes = race(*(cancel(order) for order in orders), fold, fold)

    # then
    assert all(outcome.ok for outcome in outcomes), outcomes
    assert_books_sound(*orders)
    compact_tallies()
    assert not ClaimTally.objects.filter(merged=False).exists()
    assert_tallies_exact([seller.shop_id], zones=("Asia/Tokyo",))


def test_two_workers_starting_together_queue_each_lost_refund_once(seller, buyer):
    """Both recover the refunds a dead worker left; each refund gets one new task, paid once."""
    orders = [order_in("new", seller=seller, buyer=buyer) for _ in range(24)]
    for order in orders:
        claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    tasks = DBTaskResult.objects.filter(task_path="claimdesk.claims.refunds.process_refund")
    tasks.delete()  # lost with the worker that held them
    outcomes = race(
        lambda: refunds_recover(stale_seconds=0, chunk=1),
        lambda: refunds_recover(stale_seconds=0, chunk=1),
    )
    assert sum(o.result for o in outcomes) == 24
    per_refund = Counter(row["args"][0] for row in tasks.values_list("args_kwargs", flat=True))
    assert sorted(per_refund.values()) == [1] * 24
    assert_books_sound(*orders)
