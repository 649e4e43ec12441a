"""Bulk cancellation by the seller: a sheet, a dry run, then each row on its own.

The dry run (`bulk_cancel_preview`) says per row what will happen or why it
cannot (wrong state, reason not allowed, not your order, duplicate row),
reading the sheet's orders, open claims and cancel notes in a few queries.
Once the seller confirms, background tasks cancel row after row through
`claim_seller_cancel`, the same service the cancel panel calls, a chunk of
rows per transaction (a big sheet is shared by several tasks): one bad row
never blocks the others, and a row whose order is already cancelled is
reported as such, so the same sheet uploaded again (or a task run twice after
a crash) cancels nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from django.db import DatabaseError, transaction
from django.db.models import F
from django.tasks import task
from django.utils import timezone, translation

from claimdesk.core.conf import setting
from claimdesk.core.errors import DomainError, InvalidInput, NotFound
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.sheets import read_rows
from claimdesk.core.tasks import defer
from claimdesk.core.worker import stop_requested
from claimdesk.orders.access import access_order_for_seller
from claimdesk.orders.history import history_batch

from . import policies
from .models import (
    BulkCancelJob,
    BulkCancelRow,
    BulkJobStatus,
    Claim,
    ClaimStatus,
    ClaimType,
)
from .reasons import CANCEL_REASONS, Picker

if TYPE_CHECKING:
    from claimdesk.accounts.models import User
    from claimdesk.orders.models import Order, OrderEvent

logger = logging.getLogger(__name__)

#: Rows one sheet may have: the dry run reads the sheet's orders in a few queries.
MAX_BULK_CANCEL_ROWS = 10_000
#: Order numbers (or order ids) looked up per query by the dry run.
_LOOKUP_BATCH = 2000
_MAX_ORDER_NO = 2**63 - 1
#: Rows a worker cancels per transaction (each in the cancel service's own
#: savepoint): the commit that shows them on the progress bar writes their results.
CHUNK_ROWS = 50
#: A confirmed sheet is queued as one task per this many rows (at most
#: MAX_TASKS_PER_JOB), so that several workers share a big sheet.
ROWS_PER_TASK = 500
MAX_TASKS_PER_JOB = 4
#: Plans that lead to a cancel when the job runs.
WILL_ACT = frozenset({"will_cancel", "will_cancel_without_notice", "will_approve"})
#: Results that count as done (the order is cancelled, by this job or earlier).
CANCELLED_RESULTS = frozenset({"cancelled", "approved"})
UNCHANGED_RESULTS = frozenset({"already_cancelled"})
HEADER = ["order_no", "reason", "memo"]


def reason_aliases() -> dict[str, str]:
    """Map every spelling a sheet may use for a seller cancel reason to its code."""
    aliases: dict[str, str] = {}
    for code, reason in CANCEL_REASONS.items():
        if Picker.SELLER not in reason.pickers and code != "CUSTOMER_REQUEST":
            continue
        aliases[code.lower()] = code
        for language in ("ja", "zh-hans", "en"):
            with translation.override(language):
                aliases[str(reason.label).strip().lower()] = code
    # the seed's own words for the three seller reasons
    aliases.update({"无库存": "OUT_OF_STOCK", "运送延期": "SHIPPING_DELAY"})
    aliases.update({"不可进行运送的地区": "UNDELIVERABLE_REGION", "客户要求": "CUSTOMER_REQUEST"})
    return aliases


def _reason_names() -> dict[str, str]:
    """Map the code and every label of every cancel reason to its code (the first reason wins)."""
    names: dict[str, str] = {}
    for code, reason in CANCEL_REASONS.items():
        names.setdefault(code.lower(), code)
        for language in ("ja", "zh-hans", "en"):
            with translation.override(language):
                names.setdefault(str(reason.label).strip().lower(), code)
    return names


def _not_your_order(number: str) -> tuple[str, Any, str]:
    return (
        "not_your_order",
        _("Order %(order_no)s is not one of your shop's orders.") % {"order_no": number},
        "",
    )


def _order_number(number: str) -> int | None:
    """The order number a digits-only cell names, or None if no order can have it."""
    try:
        value = int(number)
    except ValueError:  # digits such as "²" that are no number
        return None
    return value if 0 < value <= _MAX_ORDER_NO else None


class _SheetFacts:
    """What the dry run needs about the orders a sheet names, read in a few queries."""

    def __init__(self, actor: User, numbers: list[int]) -> None:
        from claimdesk.messaging.models import Note, NoteCategory
        from claimdesk.orders.models import Order

        self.orders: dict[int, Order] = {}
        self.open_claims: dict[int, Claim] = {}
        self.noticed: set[int] = set()
        if not actor.is_seller or actor.shop_id is None:
            return
        wanted = sorted(set(numbers))
        for i in range(0, len(wanted), _LOOKUP_BATCH):
            batch = wanted[i : i + _LOOKUP_BATCH]
            for order in Order.objects.filter(shop_id=actor.shop_id, order_no__in=batch):
                self.orders[order.order_no] = order
        ids = sorted(order.pk for order in self.orders.values())
        for i in range(0, len(ids), _LOOKUP_BATCH):
            batch = ids[i : i + _LOOKUP_BATCH]
            # one open claim per order at most (a unique constraint)
            for claim in Claim.objects.filter(order_id__in=batch, is_open=True):
                self.open_claims[claim.order_id] = claim
            self.noticed.update(
                Note.objects.filter(
                    order_id__in=batch,
                    author_role="seller",
                    recipient_role="buyer",
                    category=NoteCategory.CANCEL_REFUND,
                ).values_list("order_id", flat=True)
            )


def _plan_rows(actor: User, rows: list[tuple[str, str, str]]) -> list[tuple[str, Any, str]]:
    """Return (plan, message, reason code) for each (order no, reason, memo) row, changing nothing.

    Set-based: the sheet's orders, their open claims and the cancel notes sent
    are read once for the whole sheet, not once per row.
    """
    aliases = reason_aliases()
    names: dict[str, str] | None = None
    plans: list[tuple[str, Any, str] | None] = []
    numbers: list[int | None] = []
    seen: set[int | str] = set()
    for order_no, _reason, _memo in rows:
        text = order_no.strip()
        number = _order_number(text) if text.isdigit() else None
        numbers.append(number)
        if not text.isdigit():
            plans.append(("invalid_row", _("The order number must be digits only."), ""))
            continue
        key: int | str = text if number is None else number
        if key in seen:
            plans.append(("duplicate_row", _("This order is already on an earlier row."), ""))
            continue
        seen.add(key)
        plans.append(None)
    facts = _SheetFacts(actor, [n for n, p in zip(numbers, plans, strict=True) if p is None and n])
    result: list[tuple[str, Any, str]] = []
    for (order_no, reason_text, memo), number, plan in zip(rows, numbers, plans, strict=True):
        if plan is not None:
            result.append(plan)
            continue
        order = facts.orders.get(number) if number is not None else None
        if order is None:
            result.append(_not_your_order(order_no.strip()))
            continue
        code = aliases.get(reason_text.strip().lower())
        if code is None:
            if names is None:
                names = _reason_names()
            named = names.get(reason_text.strip().lower()) if reason_text.strip() else None
            if named is None:
                message = _(
                    "Unknown reason “%(reason)s”. Use out of stock, shipping delay or undeliverable region."
                ) % {"reason": reason_text.strip() or "—"}
                result.append(("reason_not_allowed", message, ""))
            else:
                message = _(
                    "“%(reason)s” cannot be chosen by the shop. Use out of stock, shipping delay or undeliverable region."
                ) % {"reason": CANCEL_REASONS[named].label}
                result.append(("reason_not_allowed", message, named))
            continue
        if len(memo) > setting("MEMO_MAX_CHARS"):
            message = _("The memo is longer than %(limit)s characters.") % {
                "limit": setting("MEMO_MAX_CHARS")
            }
            result.append(("invalid_row", message, code))
            continue
        result.append(
            _plan_state(
                order, code, facts.open_claims.get(order.pk), noticed=order.pk in facts.noticed
            )
        )
    return result


def _plan_state(
    order: Order, code: str, open_claim: Claim | None, *, noticed: bool
) -> tuple[str, Any, str]:
    if order.cancelled_at is not None:
        return (
            "already_cancelled",
            _("Order %(order_no)s is already cancelled.") % {"order_no": order.order_no},
            code,
        )
    if code == "CUSTOMER_REQUEST":
        if open_claim is not None and open_claim.status == ClaimStatus.CANCEL_REQUESTED:
            return (
                "will_approve",
                _("The buyer's cancel request will be approved and refunded."),
                code,
            )
        return (
            "reason_not_allowed",
            _("“Customer request” is only for orders whose buyer asked to cancel."),
            code,
        )
    if open_claim is not None:
        if open_claim.status == ClaimStatus.CANCEL_REQUESTED:
            return (
                "wrong_state",
                _(
                    "The buyer asked to cancel this order: use “Customer request” to approve the request."
                ),
                code,
            )
        return (
            "wrong_state",
            _("Order %(order_no)s has an open claim (%(status)s).")
            % {"order_no": order.order_no, "status": open_claim.get_status_display()},
            code,
        )
    if not policies.seller_may_cancel(order):
        if policies.after_shipment(order):
            return (
                "wrong_state",
                _("Order %(order_no)s has been shipped: handle it as a return instead.")
                % {"order_no": order.order_no},
                code,
            )
        return (
            "wrong_state",
            _(
                "Order %(order_no)s cannot be cancelled by the shop in its current status (%(status)s)."
            )
            % {"order_no": order.order_no, "status": order.get_shipping_status_display()},
            code,
        )
    if not noticed:
        return (
            "will_cancel_without_notice",
            _(
                "Will be cancelled and refunded. No cancel note was sent to the buyer: "
                "it counts as cancelled without notice."
            ),
            code,
        )
    return "will_cancel", _("Will be cancelled and refunded."), code


def bulk_cancel_preview(*, actor: User, upload: IO[bytes], filename: str) -> BulkCancelJob:
    """Read the sheet and record its dry run; nothing is cancelled yet."""
    if not actor.is_seller or actor.shop_id is None:
        raise NotFound("order_not_found", _("No such order. Check the order number."))
    data = upload.read()
    digest = hashlib.sha256(data).hexdigest()
    from io import BytesIO

    rows = read_rows(BytesIO(data), filename, max_rows=MAX_BULK_CANCEL_ROWS)
    if not rows:
        raise InvalidInput("file_empty", _("The sheet has no rows to cancel."))
    cells: list[tuple[str, str, str]] = []
    for row in rows:
        order_no, reason, memo = ([*row, "", "", ""])[:3]
        cells.append((order_no, reason, memo.strip()))
    plans = _plan_rows(actor, cells)
    with transaction.atomic():
        job = BulkCancelJob.objects.create(
            shop_id=actor.shop_id,
            created_by=actor,
            file_name=(filename or "sheet")[-200:],
            file_sha256=digest,
            total=len(rows),
        )
        lines = [
            BulkCancelRow(
                job=job,
                line=index + 2,
                order_no=order_no.strip()[:40],
                reason=reason.strip()[:100],
                reason_code=code,
                memo=memo,
                plan=plan,
                plan_message=str(message),
            )
            for index, ((order_no, reason, memo), (plan, message, code)) in enumerate(
                zip(cells, plans, strict=True)
            )
        ]
        BulkCancelRow.objects.bulk_create(lines, batch_size=1000)
    return job


def access_bulk_job_for_seller(user: User, job_id: object) -> BulkCancelJob:
    """Return the shop's bulk job `job_id`, or raise NotFound."""
    try:
        pk = int(str(job_id))
    except ValueError:
        pk = -1
    job = None
    if user.is_authenticated and user.is_seller and user.shop_id is not None:
        job = BulkCancelJob.objects.filter(pk=pk, shop_id=user.shop_id).first()
    if job is None:
        raise NotFound("bulk_job_not_found", _("No such bulk cancellation."))
    return job


def bulk_cancel_confirm(
    *, actor: User, job: BulkCancelJob, confirm_without_notice: bool = False
) -> BulkCancelJob:
    """Queue the checked sheet for processing (once: a second confirm is refused)."""
    if not actor.is_seller or actor.shop_id != job.shop_id:
        raise NotFound("bulk_job_not_found", _("No such bulk cancellation."))
    with transaction.atomic():
        updated = BulkCancelJob.objects.filter(pk=job.pk, status=BulkJobStatus.PREVIEW).update(
            status=BulkJobStatus.QUEUED,
            confirmed_at=timezone.now(),
            confirm_without_notice=confirm_without_notice,
        )
        if updated != 1:
            raise DomainError(
                "bulk_job_started",
                _("This sheet was already confirmed. Its progress is shown below."),
            )
        total = BulkCancelJob.objects.values_list("total", flat=True).get(pk=job.pk)
        tasks = min(MAX_TASKS_PER_JOB, max(1, -(-total // ROWS_PER_TASK)))
        for _task in range(tasks):  # the same task several times: they share the rows
            defer(process_bulk_cancel, job.pk)
    job.refresh_from_db()
    return job


def bulk_previous_run(job: BulkCancelJob) -> BulkCancelJob | None:
    """Return the shop's latest confirmed job of the same file (same SHA-256), if any."""
    return (
        BulkCancelJob.objects.filter(shop_id=job.shop_id, file_sha256=job.file_sha256)
        .exclude(pk=job.pk)
        .exclude(status=BulkJobStatus.PREVIEW)
        .order_by("-confirmed_at", "-pk")
        .first()
    )


def _cancel_claim(order_no: str, shop_id: int) -> Claim | None:
    return (
        Claim.objects.filter(
            order__order_no=int(order_no),
            shop_id=shop_id,
            type=ClaimType.CANCEL,
            status__in=[ClaimStatus.CANCELLING, ClaimStatus.CANCEL_COMPLETED],
        )
        .order_by("-pk")
        .first()
    )


def _stamp_job(events: list[OrderEvent], claim_ids: set[int], job: BulkCancelJob) -> None:
    """Mark the history lines the cancels of `claim_ids` are writing with the job that did it.

    `events` are the lines of the chunk's `history_batch()`, not written yet:
    the key `bulk_job` goes into their data before the batch's one INSERT.
    """
    for event in events:
        if (
            event.claim_id in claim_ids
            and event.actor_id == job.created_by_id
            and not event.refused
        ):
            event.data = {**event.data, "bulk_job": job.pk}


def _cancelled_by(claim: Claim, job: BulkCancelJob) -> bool:
    from claimdesk.orders.models import OrderEvent

    return OrderEvent.objects.filter(claim=claim, data__bulk_job=job.pk).exists()


def _row_orders(job: BulkCancelJob, rows: list[BulkCancelRow]) -> dict[int, Order]:
    """The shop's orders the rows to act on name, read in one query as the seller sees them."""
    from claimdesk.orders.models import Order

    actor = job.created_by
    numbers = {
        number
        for row in rows
        if row.plan in WILL_ACT and (number := _order_number(row.order_no)) is not None
    }
    if not numbers or not actor.is_seller or actor.shop_id is None:
        return {}
    orders = Order.objects.select_related("cart", "buyer", "shop").filter(
        shop_id=actor.shop_id, order_no__in=numbers
    )
    return {order.order_no: order for order in orders}


def _process_row(
    job: BulkCancelJob, row: BulkCancelRow, order: Order | None
) -> tuple[str, str, Claim | None]:
    """Cancel one row; return its result, message and claim (None if not cancelled)."""
    from .cancel import claim_seller_cancel

    if row.plan not in WILL_ACT:
        return row.plan, row.plan_message, None
    try:
        if order is None:  # no longer the shop's: the same refusal the cancel panel gives
            order = access_order_for_seller(job.created_by, row.order_no)
        # the service's own transaction is a savepoint: a refusal rolls back
        # only its changes, and its refusal line stays
        claim = claim_seller_cancel(
            actor=job.created_by,
            order=order,
            reason=row.reason_code,
            seller_memo=row.memo,
            confirm_without_notice=job.confirm_without_notice,
        )
    except DomainError as error:
        done = (
            _cancel_claim(row.order_no, job.shop_id)
            if error.code in ("order_closed", "claim_open")
            else None
        )
        if done is not None and _cancelled_by(done, job):
            # this job cancelled it before a crash: report it as this job's work
            return _cancelled(row, done)
        if done is not None:
            message = _("Order %(order_no)s is already cancelled.") % {"order_no": row.order_no}
            return "already_cancelled", str(message), None
        return error.code, str(error.message), None
    return _cancelled(row, claim)


def _cancelled(row: BulkCancelRow, claim: Claim) -> tuple[str, str, Claim]:
    """The result of a row this job cancelled (or approved the buyer's request of)."""
    result = "approved" if row.plan == "will_approve" else "cancelled"
    return result, str(_("Cancelled: %(status)s.") % {"status": claim.get_status_display()}), claim


def _process_rows(job: BulkCancelJob, rows: list[BulkCancelRow]) -> None:
    """Cancel `rows` (locked, not done) and record their results. Call inside a transaction.

    A refused row rolls back alone: the cancel service runs in its own
    savepoint and batch, and writes nothing but its refusal line when it
    refuses. The rows' history lines (stamped with the job) and task rows go
    in one batch for the chunk; their results and the job's counter are
    written with a few statements for all the rows, in the same transaction
    as the cancels: a crash leaves neither the cancels nor their results.
    """
    orders = _row_orders(job, rows)
    stamped: set[int] = set()
    with history_batch() as history:
        for row in rows:
            number = _order_number(row.order_no)
            result, message, claim = _process_row(
                job, row, orders.get(number) if number is not None else None
            )
            if claim is not None and result in CANCELLED_RESULTS:
                stamped.add(claim.pk)
            row.done, row.result, row.result_message, row.claim = True, result, message, claim
        _stamp_job(history.events, stamped, job)
    _count_processed(
        job,
        job.rows.filter(done=False).bulk_update(
            rows, ["done", "result", "result_message", "claim"]
        ),
    )


def _count_processed(job: BulkCancelJob, marked: int) -> None:
    """Add the rows just marked done to the job's counter (the progress bar)."""
    if marked:
        BulkCancelJob.objects.filter(pk=job.pk).update(processed=F("processed") + marked)


def _next_rows(job: BulkCancelJob, limit: int) -> list[BulkCancelRow]:
    """Lock the next rows not done that no other worker holds (SKIP LOCKED on PostgreSQL)."""
    return list(
        job.rows.filter(done=False).order_by("line").select_for_update(skip_locked=True)[:limit]
    )


def _finish(job: BulkCancelJob) -> None:
    """Mark the job done and mail the shop, once, when no row is left."""
    with transaction.atomic():
        if job.rows.filter(done=False).exists():
            return  # another worker still holds rows; it finishes the job
        counts = bulk_cancel_counts(job)
        finished = (
            BulkCancelJob.objects.filter(pk=job.pk)
            .exclude(status=BulkJobStatus.DONE)
            .update(status=BulkJobStatus.DONE, finished_at=timezone.now())
        )
        if finished:
            from claimdesk.messaging.services import notify

            notify(
                shop=job.shop,
                kind="bulk_cancel_done",
                context={"file": job.file_name, "total": job.total, **counts},
            )


def bulk_cancel_process(*, job_id: int) -> BulkCancelJob | None:
    """Process every row not yet done, then mail the shop. Safe to run twice, or at once.

    Rows are taken CHUNK_ROWS at a time in one transaction; several tasks of
    the same job share its rows (each locks the chunk it takes). If a chunk
    fails on a database error (a deadlock with another transaction, say), all
    of it rolls back and its rows are redone one transaction each.
    """
    job = BulkCancelJob.objects.select_related("created_by", "shop").filter(pk=job_id).first()
    if job is None or job.status in (BulkJobStatus.PREVIEW, BulkJobStatus.DONE):
        return job
    BulkCancelJob.objects.filter(pk=job.pk, status=BulkJobStatus.QUEUED).update(
        status=BulkJobStatus.RUNNING
    )
    with translation.override(job.created_by.language or "ja"):
        while True:
            if stop_requested():
                # the worker is being stopped: hand the rest to the next worker
                with transaction.atomic():
                    defer(process_bulk_cancel, job.pk)
                return job
            rows: list[BulkCancelRow] = []
            try:
                with transaction.atomic():
                    rows = _next_rows(job, CHUNK_ROWS)
                    if not rows:
                        break
                    _process_rows(job, rows)
            except DatabaseError:
                if not rows:
                    raise
                for row in rows:
                    _process_row_alone(job, row)
        _finish(job)
    job.refresh_from_db()
    return job


def _locked_row(job: BulkCancelJob, row: BulkCancelRow) -> list[BulkCancelRow]:
    return list(job.rows.filter(pk=row.pk, done=False).select_for_update())


def _process_row_alone(job: BulkCancelJob, row: BulkCancelRow) -> None:
    """Redo one row of a failed chunk in its own transaction; if it fails again, say so.

    A row the database refuses every time (a broken order row, say) is marked
    done with a message instead of failing the task, so the job still finishes.
    """
    try:
        with transaction.atomic():
            _process_rows(job, _locked_row(job, row))
    except DatabaseError:
        logger.exception("bulk job %s: line %s failed twice", job.pk, row.line)
        message = _(
            "Order %(order_no)s could not be processed (a database error). Cancel it from "
            "the shipping page, or upload a sheet with this row again."
        ) % {"order_no": row.order_no}
        with transaction.atomic():
            marked = job.rows.filter(pk=row.pk, done=False).update(
                done=True, result="database_error", result_message=str(message)
            )
            _count_processed(job, marked)


def bulk_cancel_counts(job: BulkCancelJob) -> dict[str, int]:
    """Return how many rows were cancelled, found already cancelled, refused, and are left."""
    from django.db.models import Count

    counts = {"cancelled": 0, "unchanged": 0, "failed": 0, "pending": 0, "will_act": 0}
    groups = job.rows.order_by().values_list("plan", "done", "result").annotate(n=Count("pk"))
    for plan, done, result, n in groups:
        if plan in WILL_ACT:
            counts["will_act"] += n
        if not done:
            counts["pending"] += n
        elif result in CANCELLED_RESULTS:
            counts["cancelled"] += n
        elif result in UNCHANGED_RESULTS:
            counts["unchanged"] += n
        else:
            counts["failed"] += n
    return counts


def bulk_cancel_result_rows(job: BulkCancelJob) -> Iterator[list[Any]]:
    """Yield the result sheet's rows: one per sheet row, in order."""
    for row in job.rows.order_by("line").iterator(chunk_size=500):
        yield [
            row.line,
            row.order_no,
            row.reason,
            row.memo,
            row.plan,
            row.result or "",
            row.result_message or row.plan_message,
        ]


@task(queue_name="default")
def process_bulk_cancel(job_id: int) -> None:
    """Cancel the rows of one confirmed bulk sheet."""
    bulk_cancel_process(job_id=job_id)
