"""Bulk cancellation by the seller: a sheet, a dry run, then each row on its own.

The dry run (`bulk_cancel_preview`) says per row what will happen or why it
cannot (wrong state, reason not allowed, not your order, duplicate row). Once
the seller confirms, a background task cancels row after row through
`claim_seller_cancel`, the same service the cancel panel calls: one bad row
never blocks the others, and a row whose order is already cancelled is
reported as such, so the same sheet uploaded again (or a task run twice after
a crash) cancels nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F
from django.tasks import task
from django.utils import timezone, translation

from claimdesk.core.conf import setting
from claimdesk.core.errors import DomainError, InvalidInput, NotFound
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.sheets import read_rows
from claimdesk.core.tasks import defer
from claimdesk.orders.access import access_order_for_seller

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
    from claimdesk.orders.models import Order

MAX_BULK_CANCEL_ROWS = 1000
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


def _any_reason(text: str) -> str | None:
    """Return the code of any cancel reason `text` names (to say "not allowed" precisely)."""
    value = text.strip().lower()
    for code, reason in CANCEL_REASONS.items():
        if value == code.lower():
            return code
        for language in ("ja", "zh-hans", "en"):
            with translation.override(language):
                if value == str(reason.label).strip().lower():
                    return code
    return None


def _plan_row(
    actor: User, order_no: str, reason_text: str, memo: str, seen: set[str], aliases: dict[str, str]
) -> tuple[str, Any, str]:
    """Return (plan, message, reason code) for one row, changing nothing."""
    number = order_no.strip()
    if not number.isdigit():
        return "invalid_row", _("The order number must be digits only."), ""
    if number in seen:
        return "duplicate_row", _("This order is already on an earlier row."), ""
    seen.add(number)
    try:
        order = access_order_for_seller(actor, number)
    except NotFound:
        return (
            "not_your_order",
            _("Order %(order_no)s is not one of your shop's orders.") % {"order_no": number},
            "",
        )
    code = aliases.get(reason_text.strip().lower())
    if code is None:
        named = _any_reason(reason_text) if reason_text.strip() else None
        if named is None:
            return (
                "reason_not_allowed",
                _(
                    "Unknown reason “%(reason)s”. Use out of stock, shipping delay or undeliverable region."
                )
                % {"reason": reason_text.strip() or "—"},
                "",
            )
        return (
            "reason_not_allowed",
            _(
                "“%(reason)s” cannot be chosen by the shop. Use out of stock, shipping delay or undeliverable region."
            )
            % {"reason": CANCEL_REASONS[named].label},
            named,
        )
    if len(memo) > setting("MEMO_MAX_CHARS"):
        return (
            "invalid_row",
            _("The memo is longer than %(limit)s characters.")
            % {"limit": setting("MEMO_MAX_CHARS")},
            code,
        )
    return _plan_state(order, code)


def _plan_state(order: Order, code: str) -> tuple[str, Any, str]:
    open_claim = Claim.objects.filter(order=order, is_open=True).first()
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
    from .services import seller_sent_cancel_notice

    if not seller_sent_cancel_notice(order):
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
    aliases = reason_aliases()
    seen: set[str] = set()
    with transaction.atomic():
        job = BulkCancelJob.objects.create(
            shop_id=actor.shop_id,
            created_by=actor,
            file_name=(filename or "sheet")[-200:],
            file_sha256=digest,
            total=len(rows),
        )
        lines = []
        for index, cells in enumerate(rows):
            order_no, reason, memo = ([*cells, "", "", ""])[:3]
            plan, message, code = _plan_row(actor, order_no, reason, memo.strip(), seen, aliases)
            lines.append(
                BulkCancelRow(
                    job=job,
                    line=index + 2,
                    order_no=order_no.strip()[:40],
                    reason=reason.strip()[:100],
                    reason_code=code,
                    memo=memo.strip(),
                    plan=plan,
                    plan_message=str(message),
                )
            )
        BulkCancelRow.objects.bulk_create(lines)
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


def _stamp_job(claim: Claim, job: BulkCancelJob) -> None:
    """Mark the history lines the cancel of `claim` wrote with the job that did it."""
    from claimdesk.orders.models import OrderEvent

    for event in OrderEvent.objects.filter(claim=claim, actor=job.created_by, refused=False):
        event.data = {**event.data, "bulk_job": job.pk}
        event.save(update_fields=["data"])


def _cancelled_by(claim: Claim, job: BulkCancelJob) -> bool:
    from claimdesk.orders.models import OrderEvent

    return OrderEvent.objects.filter(claim=claim, data__bulk_job=job.pk).exists()


def _process_row(job: BulkCancelJob, row: BulkCancelRow) -> None:
    """Cancel one row and mark it done in one transaction (a crash leaves neither)."""
    from .services import claim_seller_cancel

    with transaction.atomic():
        claim: Claim | None = None
        if row.plan not in WILL_ACT:
            result, message = row.plan, row.plan_message
        else:
            try:
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
                _stamp_job(claim, job)
                result = "approved" if row.plan == "will_approve" else "cancelled"
                message = str(_("Cancelled: %(status)s.") % {"status": claim.get_status_display()})
            except DomainError as error:
                done = (
                    _cancel_claim(row.order_no, job.shop_id)
                    if error.code in ("order_closed", "claim_open")
                    else None
                )
                if done is not None and _cancelled_by(done, job):
                    # this job cancelled it before a crash: report it as this job's work
                    claim = done
                    result = "approved" if row.plan == "will_approve" else "cancelled"
                    message = str(
                        _("Cancelled: %(status)s.") % {"status": done.get_status_display()}
                    )
                elif done is not None:
                    result = "already_cancelled"
                    message = str(
                        _("Order %(order_no)s is already cancelled.") % {"order_no": row.order_no}
                    )
                else:
                    result, message = error.code, str(error.message)
        marked = BulkCancelRow.objects.filter(pk=row.pk, done=False).update(
            done=True, result=result, result_message=message, claim=claim
        )
        if marked:
            BulkCancelJob.objects.filter(pk=job.pk).update(processed=F("processed") + 1)


def bulk_cancel_process(*, job_id: int) -> BulkCancelJob | None:
    """Process every row not yet done, each on its own; then mail the shop. Safe to run twice."""
    job = BulkCancelJob.objects.select_related("created_by", "shop").filter(pk=job_id).first()
    if job is None or job.status in (BulkJobStatus.PREVIEW, BulkJobStatus.DONE):
        return job
    BulkCancelJob.objects.filter(pk=job.pk).update(status=BulkJobStatus.RUNNING)
    with translation.override(job.created_by.language or "ja"):
        for row in job.rows.filter(done=False).order_by("line").iterator(chunk_size=200):
            _process_row(job, row)
        counts = bulk_cancel_counts(job)
        with transaction.atomic():
            BulkCancelJob.objects.filter(pk=job.pk).update(
                status=BulkJobStatus.DONE, finished_at=timezone.now()
            )
            from claimdesk.messaging.services import notify

            notify(
                shop=job.shop,
                kind="bulk_cancel_done",
                context={"file": job.file_name, "total": job.total, **counts},
            )
    job.refresh_from_db()
    return job


def bulk_cancel_counts(job: BulkCancelJob) -> dict[str, int]:
    """Return how many rows were cancelled, found already cancelled, refused, and are left."""
    counts = {"cancelled": 0, "unchanged": 0, "failed": 0, "pending": 0, "will_act": 0}
    for plan, done, result in job.rows.values_list("plan", "done", "result"):
        if plan in WILL_ACT:
            counts["will_act"] += 1
        if not done:
            counts["pending"] += 1
        elif result in CANCELLED_RESULTS:
            counts["cancelled"] += 1
        elif result in UNCHANGED_RESULTS:
            counts["unchanged"] += 1
        else:
            counts["failed"] += 1
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
