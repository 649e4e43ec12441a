"""Refunds survive dying workers, declining and slow processors, and rolled-back transactions.

SPEC section 5 (a failed refund can be retried; a pending or succeeded one
never runs twice) and section 12 ("nothing lost": work interrupted by a crash
is finished on restart, exactly once).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from claimdesk.claims.cancel import claim_cancel_instantly, claim_seller_cancel
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.claims.refunds import refund_retry, refunds_recover, refunds_retry_due
from claimdesk.core.errors import DomainError
from claimdesk.core.money import Money
from claimdesk.core.worker import drain_tasks, worker_gone, worker_id
from claimdesk.messaging.models import Notification
from claimdesk.orders.models import Order, OrderEvent
from claimdesk.payments.gateways import GatewayResult, SimulatedCardGateway, set_simulated_mode
from claimdesk.payments.ledger import ledger_total
from claimdesk.payments.models import (
    LedgerTransaction,
    Refund,
    RefundStatus,
    SimulatedGatewayRefund,
)
from tests.factories import order_in

pytestmark = pytest.mark.django_db

SIMULATED = "claimdesk.payments.gateways.SimulatedCardGateway"
PROCESS_REFUND = "claimdesk.claims.refunds.process_refund"


class DiesAfterGatewayCall:
    """The simulated processor, called by a worker that dies before it records the answer."""

    calls = 0

    def refund(self, *, key: str, amount: Money, payment_reference: str) -> GatewayResult:
        SimulatedCardGateway().refund(key=key, amount=amount, payment_reference=payment_reference)
        type(self).calls += 1
        raise SystemExit("worker killed after the processor answered")


def use_gateway(settings: Any, path: str) -> None:
    """Point CLAIMDESK['PAYMENT_GATEWAY'] at `path` for this test."""
    conf = dict(settings.CLAIMDESK)
    conf["PAYMENT_GATEWAY"] = path
    settings.CLAIMDESK = conf


def cancelled_card_order(seller: Any, buyer: Any) -> tuple[Order, Claim, Refund]:
    """Return a new card order the buyer has just cancelled, with its pending refund."""
    order = order_in("new", seller=seller, buyer=buyer)
    claim = claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    refund = Refund.objects.get(claim=claim)
    assert refund.status == RefundStatus.PENDING
    return order, claim, refund


def assert_refunded_once(claim: Claim, refund: Refund) -> None:
    """The refund succeeded, was posted once, and the processor paid it once."""
    refund.refresh_from_db()
    claim.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert claim.status == ClaimStatus.CANCEL_COMPLETED
    approved = SimulatedGatewayRefund.objects.filter(
        key__startswith=f"{refund.idempotency_key}:", approved=True
    )
    assert approved.count() == 1
    assert approved.get().reference == refund.gateway_reference
    assert LedgerTransaction.objects.filter(kind="refund", refund=refund).count() == 1
    assert OrderEvent.objects.filter(order=refund.order, kind="refund.succeeded").count() == 1
    assert Notification.objects.filter(claim=claim, kind="refund_succeeded").count() == 1
    assert set(ledger_total().values()) == {0}


# --- (a) a worker dies -------------------------------------------------------------------


def test_refund_whose_worker_died_after_the_gateway_call_completes_on_next_run_once(
    seller, buyer, settings
):
    """The processor refunded but the worker died: the next worker run records it, no second refund."""
    # given: a cancelled card order whose refund task kills its worker after the processor answered
    order, claim, refund = cancelled_card_order(seller, buyer)
    use_gateway(settings, f"{__name__}.DiesAfterGatewayCall")
    DiesAfterGatewayCall.calls = 0
    drain_tasks()
    assert DiesAfterGatewayCall.calls == 1
    task = DBTaskResult.objects.get(task_path=PROCESS_REFUND)
    assert task.status == TaskResultStatus.FAILED
    assert task.exception_class_path.endswith("SystemExit")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING  # nothing recorded the answer
    assert SimulatedGatewayRefund.objects.count() == 1
    assert not LedgerTransaction.objects.filter(kind="refund").exists()
    # when: a healthy worker starts
    use_gateway(settings, SIMULATED)
    call_command("worker", "--once")
    # then: the stored answer is replayed, not a second refund made
    assert SimulatedGatewayRefund.objects.count() == 1
    assert_refunded_once(claim, refund)
    # and another run finds nothing to do
    call_command("worker", "--once")
    assert SimulatedGatewayRefund.objects.count() == 1
    assert_refunded_once(claim, refund)


def gone_pid() -> int:
    """Return the pid of a process of this host that has just ended."""
    process = subprocess.Popen(["true"])  # noqa: S607 - coreutils
    process.wait()
    return process.pid


@pytest.mark.parametrize(
    "how", ["claimed_here_by_a_gone_worker", "claimed_long_ago_elsewhere", "task_row_lost"]
)
def test_refund_whose_worker_died_before_the_gateway_call_completes_on_next_run(seller, buyer, how):
    """A refund task claimed by a dead worker (or lost) is finished by the next worker run."""
    # given
    order, claim, refund = cancelled_card_order(seller, buyer)
    tasks = DBTaskResult.objects.filter(task_path=PROCESS_REFUND)
    assert tasks.count() == 1
    if how == "claimed_here_by_a_gone_worker":  # restarted on the same host: taken over at once
        tasks.update(
            status=TaskResultStatus.RUNNING,
            worker_ids=[worker_id(gone_pid())],
            started_at=timezone.now(),
        )
    elif how == "claimed_long_ago_elsewhere":  # another host's worker, silent for 10 minutes
        tasks.update(
            status=TaskResultStatus.RUNNING,
            worker_ids=["dead-host:4242"],
            started_at=timezone.now() - dt.timedelta(minutes=10),
        )
    else:
        tasks.delete()
    drain_tasks()  # nothing is ready: without recovery the refund would stay pending forever
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    assert not SimulatedGatewayRefund.objects.exists()
    # when
    call_command("worker", "--once")
    # then
    assert SimulatedGatewayRefund.objects.count() == 1
    assert_refunded_once(claim, refund)


# --- (b) gateway modes -----------------------------------------------------------------------


def test_declined_refund_is_failed_told_to_the_buyer_and_retried_by_an_operator(
    seller, buyer, operator, outbox
):
    """A declined refund is marked failed with a history line and a mail; an operator retry succeeds."""
    # given
    set_simulated_mode("fail", 1)
    order, claim, refund = cancelled_card_order(seller, buyer)
    # when
    drain_tasks()
    # then
    refund.refresh_from_db()
    claim.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert refund.failure_code == "card_declined"
    assert claim.status == ClaimStatus.CANCELLING
    failed = OrderEvent.objects.get(order=order, kind="refund.failed")
    assert failed.reason == "card_declined"
    assert failed.data["attempt"] == 1
    mail = Notification.objects.get(kind="refund_failed")
    assert mail.recipient == buyer
    assert mail.claim == claim
    assert [m.to for m in outbox] == [[buyer.email]]
    assert not LedgerTransaction.objects.filter(kind="refund").exists()
    # when: the operator retries from the refund monitor
    retried = refund_retry(actor=operator, refund=refund)
    # then: a new attempt with a new key goes to the processor
    assert retried.status == RefundStatus.PENDING
    assert retried.attempt == 2
    assert OrderEvent.objects.filter(order=order, kind="refund.retried", actor=operator).exists()
    drain_tasks()
    assert_refunded_once(claim, refund)
    keys = sorted(SimulatedGatewayRefund.objects.values_list("key", "approved"))
    assert keys == [(f"{refund.idempotency_key}:1", False), (f"{refund.idempotency_key}:2", True)]


@pytest.mark.parametrize("state", ["pending", "succeeded"])
def test_refund_retry_refuses_a_refund_that_is_not_failed(seller, buyer, operator, state):
    """A pending or succeeded refund is never sent again; the refusal is written to the history."""
    # given
    order, claim, refund = cancelled_card_order(seller, buyer)
    if state == "succeeded":
        drain_tasks()
    refund.refresh_from_db()
    assert refund.status == state
    tasks_before = DBTaskResult.objects.count()
    # when
    with pytest.raises(DomainError) as refused:
        refund_retry(actor=operator, refund=refund)
    # then
    assert refused.value.code == "refund_not_failed"
    row = OrderEvent.objects.get(order=order, kind="refund.retry")
    assert row.refused is True
    assert row.reason == "refund_not_failed"
    assert row.actor == operator
    after = Refund.objects.get(pk=refund.pk)
    assert (after.status, after.attempt) == (refund.status, refund.attempt)
    assert DBTaskResult.objects.count() == tasks_before


def test_refund_retry_refuses_sellers_and_buyers(seller, buyer):
    """Only operators (and the system) retry refunds; others are refused and it is recorded."""
    set_simulated_mode("fail", 1)
    order, claim, refund = cancelled_card_order(seller, buyer)
    drain_tasks()
    refund.refresh_from_db()
    for person in (seller, buyer):
        with pytest.raises(DomainError) as refused:
            refund_retry(actor=person, refund=refund)
        assert refused.value.code == "role_not_allowed"
    assert OrderEvent.objects.filter(order=order, kind="refund.retry", refused=True).count() == 2
    refund.refresh_from_db()
    assert (refund.status, refund.attempt) == (RefundStatus.FAILED, 1)


def test_timed_out_refund_stays_pending_and_is_sent_again_later(seller, buyer):
    """A processor that does not answer leaves the refund pending and re-queued, not failed."""
    # given
    set_simulated_mode("timeout", 1)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        order, claim, refund = cancelled_card_order(seller, buyer)
        # when
        drain_tasks()
        # then
        refund.refresh_from_db()
        assert refund.status == RefundStatus.PENDING
        assert refund.attempt == 1
        assert OrderEvent.objects.filter(order=order, kind="refund.timeout").count() == 1
        assert not SimulatedGatewayRefund.objects.exists()
        again = DBTaskResult.objects.filter(
            task_path=PROCESS_REFUND, status=TaskResultStatus.READY
        ).get()
        assert again.run_after > start
        drain_tasks()  # not due yet
        assert Refund.objects.get(pk=refund.pk).status == RefundStatus.PENDING
        # when the back-off has passed
        clock.shift(dt.timedelta(seconds=61))
        drain_tasks()
    # then
    assert_refunded_once(claim, refund)


def test_late_answer_is_replayed_on_the_next_attempt_without_a_second_refund(seller, buyer):
    """The processor refunded but answered too late: asking again returns the stored approval."""
    set_simulated_mode("late", 1)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        order, claim, refund = cancelled_card_order(seller, buyer)
        drain_tasks()
        refund.refresh_from_db()
        assert refund.status == RefundStatus.PENDING
        assert OrderEvent.objects.filter(order=order, kind="refund.timeout").count() == 1
        stored = SimulatedGatewayRefund.objects.get()
        assert stored.approved
        assert stored.key == f"{refund.idempotency_key}:1"
        clock.shift(dt.timedelta(seconds=61))
        drain_tasks()
    assert SimulatedGatewayRefund.objects.get() == stored
    assert_refunded_once(claim, refund)
    assert Refund.objects.get(pk=refund.pk).gateway_reference == stored.reference


def test_failed_refunds_are_retried_automatically_with_back_off_up_to_the_cap(
    seller, buyer, operator, settings
):
    """Failed refunds come back after 60 s, 120 s, 240 s; after the cap an operator must act."""
    cap = settings.CLAIMDESK["REFUND_MAX_AUTO_RETRIES"]
    base = settings.CLAIMDESK["REFUND_RETRY_BASE_SECONDS"]
    set_simulated_mode("fail")  # declines until switched back
    with time_machine.travel(timezone.now(), tick=False) as clock:
        order, claim, refund = cancelled_card_order(seller, buyer)
        drain_tasks()
        for retry in range(1, cap + 1):
            refund.refresh_from_db()
            assert refund.status == RefundStatus.FAILED
            wait = dt.timedelta(seconds=base * 2 ** (retry - 1))
            assert refund.next_retry_at == timezone.now() + wait
            clock.shift(wait - dt.timedelta(seconds=1))
            assert refunds_retry_due() == 0  # not yet
            clock.shift(dt.timedelta(seconds=1))
            assert refunds_retry_due() == 1
            refund.refresh_from_db()
            assert (refund.status, refund.auto_retries, refund.attempt) == (
                RefundStatus.PENDING,
                retry,
                retry + 1,
            )
            drain_tasks()
        refund.refresh_from_db()
        assert refund.status == RefundStatus.FAILED
        assert refund.next_retry_at is None  # the cap is reached
        clock.shift(dt.timedelta(days=30))
        assert refunds_retry_due() == 0
        assert SimulatedGatewayRefund.objects.filter(approved=False).count() == cap + 1
        assert OrderEvent.objects.filter(order=order, kind="refund.failed").count() == cap + 1
        # the operator retries once the processor is back
        set_simulated_mode("ok")
        refund_retry(actor=operator, refund=refund)
        drain_tasks()
    assert_refunded_once(claim, refund)


# --- (c) the outbox rolls back with its transaction -----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_rolled_back_cancel_leaves_no_tasks_and_no_mails(seller, buyer):
    """Mails and refund tasks are written in the transaction: a rollback takes them away too."""
    # given
    order = order_in("new", seller=seller, buyer=buyer)
    tasks_before = DBTaskResult.objects.count()
    mails_before = Notification.objects.count()

    # when: the request crashes after the cancel, before commit
    class Crash(Exception):
        pass

    with pytest.raises(Crash):
        with transaction.atomic():
            claim_seller_cancel(
                actor=seller, order=order, reason="OUT_OF_STOCK", confirm_without_notice=True
            )
            # inside the transaction the refund task and the buyer's mail exist
            assert DBTaskResult.objects.filter(task_path=PROCESS_REFUND).count() == 1
            assert Notification.objects.count() > mails_before
            raise Crash
    # then
    assert DBTaskResult.objects.count() == tasks_before
    assert Notification.objects.count() == mails_before
    assert not Refund.objects.exists()
    assert not Claim.objects.exists()
    order.refresh_from_db()
    assert order.cancelled_at is None
    # and the same cancel, committed, leaves both behind for the worker
    claim_seller_cancel(
        actor=seller, order=order, reason="OUT_OF_STOCK", confirm_without_notice=True
    )
    assert DBTaskResult.objects.filter(task_path=PROCESS_REFUND).count() == 1
    assert Notification.objects.filter(kind="order_cancelled", recipient=buyer).count() == 1


# --- (d) a long queue is not a crash -------------------------------------------------------


def _pending_since_an_hour(refund: Refund) -> None:
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    Refund.objects.filter(pk=refund.pk).update(updated_at=hour_ago, pending_since=hour_ago)


def test_a_refund_whose_task_waits_in_the_queue_is_not_queued_again(seller, buyer):
    """A backlog is not a crash: neither the sweep nor a starting worker queues a waiting refund twice."""
    # given: a refund pending for an hour because the queue is long, its task still waiting
    order, claim, refund = cancelled_card_order(seller, buyer)
    _pending_since_an_hour(refund)
    tasks = DBTaskResult.objects.filter(task_path=PROCESS_REFUND)
    # when: the sweep's recovery and a starting worker's look at it
    assert refunds_recover() == 0
    assert refunds_recover(stale_seconds=0) == 0
    # then: still one task for it, and the worker pays it once
    assert tasks.count() == 1
    refund.refresh_from_db()
    assert refund.updated_at < timezone.now() - dt.timedelta(minutes=59)  # untouched
    call_command("worker", "--once")
    assert tasks.count() == 1
    assert SimulatedGatewayRefund.objects.count() == 1
    assert_refunded_once(claim, refund)


FORMER_PROCESS_REFUND = "claimdesk.payments.tasks.process_refund"


def test_a_refund_task_queued_under_its_former_path_still_runs_once(seller, buyer):
    """A task row stored before the refund task moved to the claims app pays the refund once."""
    # given: a pending refund whose queued task row names the task's former module path
    order, claim, refund = cancelled_card_order(seller, buyer)
    _pending_since_an_hour(refund)
    DBTaskResult.objects.filter(task_path=PROCESS_REFUND).update(task_path=FORMER_PROCESS_REFUND)
    # when: recovery looks at it, then a worker runs the queue
    assert refunds_recover() == 0  # the old row counts as the refund's task
    assert refunds_recover(stale_seconds=0) == 0
    call_command("worker", "--once")
    # then: the old row ran the refund task, and nothing was queued twice
    assert not DBTaskResult.objects.filter(task_path=PROCESS_REFUND).exists()
    task = DBTaskResult.objects.get(task_path=FORMER_PROCESS_REFUND)
    assert task.status == TaskResultStatus.SUCCESSFUL
    assert SimulatedGatewayRefund.objects.count() == 1
    assert_refunded_once(claim, refund)


def test_a_refund_running_since_the_cutoff_is_left_to_its_worker(seller, buyer):
    """A task that started within the stale window has a live worker; one older is a dead worker's."""
    order, claim, refund = cancelled_card_order(seller, buyer)
    _pending_since_an_hour(refund)
    tasks = DBTaskResult.objects.filter(task_path=PROCESS_REFUND)
    tasks.update(
        status=TaskResultStatus.RUNNING,
        worker_ids=["other-host:17"],
        started_at=timezone.now() - dt.timedelta(seconds=60),
    )
    assert refunds_recover(stale_seconds=300) == 0
    assert tasks.count() == 1
    tasks.update(started_at=timezone.now() - dt.timedelta(seconds=600))
    assert refunds_recover(stale_seconds=300) == 1
    assert list(
        tasks.filter(status=TaskResultStatus.READY).values_list("args_kwargs", flat=True)
    ) == [{"args": [refund.pk], "kwargs": {}}]
    # a worker that starts now leaves the new task alone
    assert refunds_recover(stale_seconds=0) == 0
    call_command("worker", "--once")
    assert_refunded_once(claim, refund)


def test_a_starting_worker_leaves_the_refunds_other_live_workers_run(seller, buyer):
    """A deploy restarting one worker does not queue again what another worker is running now."""
    order, claim, refund = cancelled_card_order(seller, buyer)
    tasks = DBTaskResult.objects.filter(task_path=PROCESS_REFUND)
    for claimed_by in ("other-host:17", worker_id()):  # another host's, then this very process
        tasks.update(
            status=TaskResultStatus.RUNNING,
            worker_ids=[claimed_by],
            started_at=timezone.now() - dt.timedelta(seconds=2),
        )
        assert refunds_recover(stale_seconds=0) == 0
        assert tasks.count() == 1
    assert worker_gone(worker_id(gone_pid()))
    assert not worker_gone(worker_id()) and not worker_gone("other-host:17")
    assert not worker_gone("no-pid") and not worker_gone(f"{worker_id()}x")


def test_lost_refunds_are_queued_again_a_chunk_per_transaction(seller, buyer):
    """Each lost refund gets one new task; the tasks are written one INSERT per chunk."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    refunds = [cancelled_card_order(seller, buyer)[2] for _ in range(5)]
    DBTaskResult.objects.filter(task_path=PROCESS_REFUND).delete()  # lost with a dead worker
    with CaptureQueriesContext(connection) as queries:
        assert refunds_recover(stale_seconds=0, chunk=2) == 5
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "django_tasks_database')]
    assert len(inserts) == 3
    queued = DBTaskResult.objects.filter(task_path=PROCESS_REFUND, status=TaskResultStatus.READY)
    assert sorted(row["args"][0] for row in queued.values_list("args_kwargs", flat=True)) == sorted(
        r.pk for r in refunds
    )
    assert refunds_recover(stale_seconds=0) == 0  # now they all have a task
    call_command("worker", "--once")
    assert Refund.objects.filter(status=RefundStatus.SUCCEEDED).count() == 5
    assert SimulatedGatewayRefund.objects.count() == 5
