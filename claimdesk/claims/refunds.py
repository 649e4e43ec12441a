"""The refund of a claim, from its decision to the buyer's money back.

A refund is two phases. `refund_create` records it as pending inside the
transaction that decided it (and settles balance refunds at once);
`refund_process` runs in a task after commit, calls the payment gateway
outside any transaction and records the answer in a new one. The gateway sees
one key per attempt, so a repeated call after a crash replays the first
answer instead of refunding twice. A failed refund is retried (by the
back-off or an operator) or settled by hand to the platform balance; a
pending one a dead worker left behind is queued again by `refunds_recover`.

`claimdesk.payments` only talks to the gateway and keeps the ledger; the
claim's own steps (a cancel completes when its money is back) are taken here.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, NamedTuple

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.tasks import task
from django.utils import timezone

from claimdesk.accounts.roles import require_role
from claimdesk.core.bulk import insert_row
from claimdesk.core.conf import setting
from claimdesk.core.errors import DomainError, InvalidInput
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.tasks import defer, defer_at, task_batch, tasks_in_hand
from claimdesk.messaging.services import notify
from claimdesk.orders.history import record_event, records_refusal
from claimdesk.orders.models import Order
from claimdesk.payments.gateways import GatewayTimeout, get_gateway
from claimdesk.payments.models import Refund, RefundDestination, RefundStatus
from claimdesk.payments.notifications import refund_mark_pending_at_provider
from claimdesk.payments.policies import refund_destination
from claimdesk.payments.services import refund_post

from .models import Claim, ClaimStatus
from .policies import RefundBreakdown
from .states import transition

if TYPE_CHECKING:
    from claimdesk.accounts.models import User

logger = logging.getLogger(__name__)

#: Where the refund task lived before: rows queued under it still run this task
#: (`ClaimsConfig.ready` binds it there) and count as it for recovery.
FORMER_PROCESS_REFUND_PATHS = ("claimdesk.payments.tasks.process_refund",)


def refunded_item_minor(order: Order) -> int:
    """Return the item amount already refunded or on its way back for `order`."""
    return Refund.objects.filter(order=order).aggregate(s=Sum("item_minor"))["s"] or 0


class RefundTotals(NamedTuple):
    """What `refund_create` checks before recording a claim's refund."""

    refunded_minor: int  #: `refunded_item_minor(order)`
    claim_refunded: bool  #: whether the claim has its refund already


def refund_totals(order: Order, claim: Claim) -> RefundTotals:
    """Return the order's refunded item amount and whether `claim` has a refund, in one query."""
    row = Refund.objects.filter(Q(order=order) | Q(claim=claim)).aggregate(
        refunded=Sum("item_minor", filter=Q(order=order)),
        claim_refunds=Count("pk", filter=Q(claim=claim)),
    )
    return RefundTotals(row["refunded"] or 0, bool(row["claim_refunds"]))


def refund_create(
    *,
    actor: User | None,
    claim: Claim,
    breakdown: RefundBreakdown,
    totals: RefundTotals | None = None,
) -> Refund:
    """Record the refund of `claim` as pending; settle a balance refund at once.

    Call inside the transaction that holds the order lock and changes the claim;
    `claim` and its order are then current (read or written under that lock).
    `totals` is `refund_totals(order, claim)` when the caller has just read it
    under that lock (saves reading it twice); otherwise it is read here.
    """
    order = claim.order
    if breakdown.item.minor < 0 or breakdown.total.minor < 0:
        raise DomainError(
            "refund_negative",
            _("The deduction is larger than the refund. Enter a smaller return shipping amount."),
        )
    if totals is None:
        totals = refund_totals(order, claim)
    if totals.refunded_minor + breakdown.item.minor > order.total_minor:
        raise DomainError(
            "refund_exceeds_paid",
            _("This would refund more than the buyer paid for the order. Nothing was refunded."),
            {"paid": order.total_minor},
        )
    if totals.claim_refunded:
        raise DomainError(
            "refund_exists",
            _("This claim has already been refunded. Check the refund status instead."),
        )
    destination = refund_destination(order.cart.payment_method)
    refund = Refund(
        claim=claim,
        order=order,
        buyer_id=order.buyer_id,
        currency=order.currency,
        amount_minor=breakdown.total.minor,
        item_minor=breakdown.item.minor,
        shipping_minor=breakdown.shipping.minor,
        payment_fee_minor=breakdown.payment_fee.minor,
        deduction_minor=breakdown.deduction.minor,
        payment_fee_borne_by_seller=breakdown.payment_fee_borne_by_seller,
        destination=destination,
        idempotency_key=f"claim-{claim.pk}",
    )
    at_once = destination == RefundDestination.BALANCE or refund.amount_minor == 0
    if at_once:  # inserted as succeeded: one INSERT instead of an INSERT and an UPDATE
        _mark_succeeded(refund, reference="balance")
    insert_row(refund)
    record_event(
        order,
        actor=actor,
        claim=claim,
        kind="refund.created",
        data={
            "refund": refund.pk,
            "amount": refund.amount_minor,
            "currency": refund.currency,
            "destination": destination,
            "item": refund.item_minor,
            "shipping": refund.shipping_minor,
            "payment_fee": refund.payment_fee_minor,
            "deduction": refund.deduction_minor,
        },
    )
    if at_once:
        _refund_succeed(refund, reference="balance", settled_at_once=True)
        _complete_cancel(claim)
    else:
        defer(process_refund, refund.pk)
    return refund


def _mark_succeeded(refund: Refund, *, reference: str) -> None:
    now = timezone.now()
    refund.status = RefundStatus.SUCCEEDED
    refund.gateway_reference = reference
    refund.succeeded_at = now
    refund.updated_at = now
    refund.failure_code = ""
    refund.failure_message = ""
    refund.next_retry_at = None


def _refund_succeed(refund: Refund, *, reference: str, settled_at_once: bool = False) -> None:
    """Record a refund's success: ledger postings, history, buyer mailed.

    `settled_at_once`: `refund_create` has just inserted it as succeeded.
    The caller then completes the claim (`_complete_cancel`).
    """
    if not settled_at_once:
        _mark_succeeded(refund, reference=reference)
        refund.save()
    refund_post(refund=refund)
    record_event(
        refund.order,
        actor=None,
        claim=refund.claim,
        kind="refund.succeeded",
        data={"refund": refund.pk, "amount": refund.amount_minor, "reference": reference},
    )
    notify(
        recipient=refund.order.buyer,
        kind="refund_succeeded",
        order=refund.order,
        claim=refund.claim,
        context={"amount": refund.amount.format(), "destination": refund.destination},
    )


def _complete_cancel(claim: Claim) -> None:
    """Complete a cancel once its money is back.

    Call inside the refund's transaction with `claim` and its order current:
    read or written under the order lock, or read again after the refund's lock.
    """
    if claim.status == ClaimStatus.CANCELLING:
        transition(claim, "refund_succeeded", ClaimStatus.CANCEL_COMPLETED, actor=None)


def _refund_settled_later(refund: Refund, *, reference: str) -> None:
    """Record the success of a refund settled after its claim's transaction, and complete it."""
    _refund_succeed(refund, reference=reference)
    claim = refund.claim
    claim.refresh_from_db()
    if claim.status == ClaimStatus.CANCELLING:
        claim.order = Order.objects.get(pk=claim.order_id)
        _complete_cancel(claim)


def _refund_fail(refund: Refund, *, code: str, message: str) -> None:
    now = timezone.now()
    refund.status = RefundStatus.FAILED
    refund.failure_code = code
    refund.failure_message = message[:255]
    refund.updated_at = now
    auto = refund.auto_retries < setting("REFUND_MAX_AUTO_RETRIES")
    refund.next_retry_at = (
        now + dt.timedelta(seconds=setting("REFUND_RETRY_BASE_SECONDS") * 2**refund.auto_retries)
        if auto
        else None
    )
    refund.save()
    record_event(
        refund.order,
        actor=None,
        claim=refund.claim,
        kind="refund.failed",
        reason=code,
        data={"refund": refund.pk, "attempt": refund.attempt, "message": message},
    )
    notify(
        recipient=refund.order.buyer,
        kind="refund_failed",
        order=refund.order,
        claim=refund.claim,
        context={"amount": refund.amount.format()},
    )


def refund_process(*, refund_id: int) -> Refund | None:
    """Send one pending refund to the gateway and record its answer.

    Never call inside a transaction: the gateway is called with no lock held.
    """
    with transaction.atomic():
        refund = Refund.objects.select_for_update().filter(pk=refund_id).first()
        if refund is None or refund.status != RefundStatus.PENDING:
            return refund
        attempt = refund.attempt
        key = refund.attempt_key
        amount = refund.amount
        payment_reference = refund.order.cart.payment_reference
    try:
        result = get_gateway().refund(key=key, amount=amount, payment_reference=payment_reference)
    except GatewayTimeout:
        with transaction.atomic():
            refund = Refund.objects.select_for_update().get(pk=refund_id)
            if refund.status == RefundStatus.PENDING and refund.attempt == attempt:
                refund.updated_at = timezone.now()
                refund.save(update_fields=["updated_at"])
                record_event(
                    refund.order,
                    actor=None,
                    claim=refund.claim,
                    kind="refund.timeout",
                    data={"refund": refund.pk, "attempt": attempt},
                )
                delay = dt.timedelta(seconds=setting("REFUND_RETRY_BASE_SECONDS"))
                defer_at(process_refund, timezone.now() + delay, refund.pk)
        return refund
    with transaction.atomic():
        refund = (
            Refund.objects.select_for_update(of=("self",))
            .select_related("order", "claim")
            .get(pk=refund_id)
        )
        if refund.status != RefundStatus.PENDING or refund.attempt != attempt:
            return refund
        if result.pending:  # the provider settles it later: its notification decides
            refund_mark_pending_at_provider(refund, reference=result.reference, status=result.code)
        elif result.approved:
            _refund_settled_later(refund, reference=result.reference)
        else:
            _refund_fail(refund, code=result.code or "declined", message=result.message)
    return refund


@task(queue_name="refunds")
def process_refund(refund_id: int) -> None:
    """Send one pending refund to the gateway."""
    refund_process(refund_id=refund_id)


def _refund_order(**kwargs: object) -> Order | None:
    refund = kwargs.get("refund")
    return refund.order if isinstance(refund, Refund) else None


@records_refusal("refund.retry", _refund_order)
def refund_retry(
    *, actor: User | None, refund: Refund, automatic: bool = False, reason: str = ""
) -> Refund:
    """Send a failed refund to the gateway again, as a new attempt.

    An operator's `reason` goes into the history line's memo; a retry by hand
    (not the automatic back-off) is mailed to the buyer and the shop.
    """
    require_role(actor, "operator", "system")
    text = (reason or "").strip()
    if len(text) > 1000:
        raise InvalidInput(
            "reason_required", _("Give the reason (1 to 1000 characters)."), {"field": "reason"}
        )
    with transaction.atomic():
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status != RefundStatus.FAILED:
            raise DomainError(
                "refund_not_failed",
                _("Only a failed refund can be retried. This one is %(status)s.")
                % {"status": locked.get_status_display()},
                {"status": locked.status},
            )
        locked.status = RefundStatus.PENDING
        locked.attempt += 1
        if automatic:
            locked.auto_retries += 1
        locked.next_retry_at = None
        locked.updated_at = timezone.now()
        locked.pending_since = locked.updated_at
        locked.save()
        record_event(
            locked.order,
            actor=actor,
            claim=locked.claim,
            kind="refund.retried",
            memo=text,
            data={"refund": locked.pk, "attempt": locked.attempt, "automatic": automatic},
        )
        if not automatic:  # a retry by hand is mailed, with its reason, to both parties
            context = {"amount": locked.amount.format(), "attempt": locked.attempt, "reason": text}
            for party in ({"recipient": locked.order.buyer}, {"shop": locked.order.shop}):
                notify(
                    **party,
                    kind="refund_retried",
                    order=locked.order,
                    claim=locked.claim,
                    context=context,
                )
        defer(process_refund, locked.pk)
    return locked


def refunds_retry_due(*, now: dt.datetime | None = None) -> int:
    """Retry failed refunds whose back-off has passed; return how many."""
    now = now or timezone.now()
    due = list(
        Refund.objects.filter(status=RefundStatus.FAILED, next_retry_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    for pk in due:
        try:
            refund_retry(actor=None, refund=Refund.objects.get(pk=pk), automatic=True)
        except DomainError:
            logger.info("refund %s changed before its retry", pk)
    return len(due)


def refunds_recover(
    *, now: dt.datetime | None = None, stale_seconds: int | None = None, chunk: int = 500
) -> int:
    """Hand pending card refunds that no worker will finish back to the queue; return how many.

    A worker that died after the pending record was committed (or after it
    called the gateway) leaves the refund pending with no task to finish it;
    running it again is safe because the gateway replays the answer of the
    same attempt key. Refunds pending since `stale_seconds` ago (the setting
    by default; 0 when a worker starts) are looked at `chunk` at a time, each
    chunk locked in one transaction. A refund whose task waits in the queue,
    or has been running for less than `REFUND_STALE_PENDING_SECONDS` in a
    worker not known to be gone, is left alone: a long queue is not a crash,
    and queueing its refunds again would only make it longer. The tasks are
    read under the locks, so a recovery running at the same time (two workers
    starting together) queues each refund once. Refund tasks carry the
    refund's id as their first positional argument; rows queued under the
    task's former path count as the same task.
    """
    now = now or timezone.now()
    window = dt.timedelta(seconds=setting("REFUND_STALE_PENDING_SECONDS"))
    cutoff = now - (window if stale_seconds is None else dt.timedelta(seconds=stale_seconds))

    pending = Refund.objects.filter(
        status=RefundStatus.PENDING, destination=RefundDestination.CARD, updated_at__lte=cutoff
    )
    candidates = list(pending.order_by("pk").values_list("pk", flat=True))
    count = 0
    for start in range(0, len(candidates), chunk):
        with transaction.atomic(), task_batch():
            # skip_locked: a refund locked now is being settled or recovered by another
            locked = list(
                pending.select_for_update(skip_locked=True)
                .filter(pk__in=candidates[start : start + chunk])
                .values_list("pk", flat=True)
            )
            in_hand = tasks_in_hand(
                process_refund,
                first_args=locked,
                running_since=now - window,
                former_paths=FORMER_PROCESS_REFUND_PATHS,
            )
            lost = [pk for pk in locked if pk not in in_hand]
            Refund.objects.filter(pk__in=lost).update(updated_at=now)
            for pk in lost:
                defer(process_refund, pk)
        count += len(lost)
    return count


@records_refusal("refund.resolve", _refund_order)
def refund_resolve(*, actor: User, refund: Refund, reason: str) -> Refund:
    """Settle a failed card refund by hand: credit the buyer's platform balance instead.

    For a refund the gateway keeps declining; the operator's reason is kept
    in the history. A pending or succeeded refund is never touched.
    """
    require_role(actor, "operator")
    text = (reason or "").strip()
    if not text or len(text) > 1000:
        raise InvalidInput(
            "reason_required", _("Give the reason (1 to 1000 characters)."), {"field": "reason"}
        )
    with transaction.atomic():
        locked = (
            Refund.objects.select_for_update(of=("self",))
            .select_related("order", "claim")
            .get(pk=refund.pk)
        )
        if locked.status != RefundStatus.FAILED:
            raise DomainError(
                "refund_not_failed",
                _("Only a failed refund can be resolved by hand. This one is %(status)s.")
                % {"status": locked.get_status_display()},
                {"status": locked.status},
            )
        record_event(
            locked.order,
            actor=actor,
            claim=locked.claim,
            kind="refund.resolved",
            memo=text,
            data={"refund": locked.pk, "from": locked.destination, "to": RefundDestination.BALANCE},
        )
        locked.destination = RefundDestination.BALANCE
        _refund_settled_later(locked, reference="manual")
        context = {"amount": locked.amount.format(), "reason": text}
        for party in ({"recipient": locked.order.buyer}, {"shop": locked.order.shop}):
            notify(
                **party,
                kind="refund_resolved",
                order=locked.order,
                claim=locked.claim,
                context=context,
            )
    return locked
