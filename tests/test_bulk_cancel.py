"""Bulk cancellation: dry run per row, independent and idempotent processing, the result sheet."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from openpyxl import Workbook, load_workbook

from claimdesk.claims.bulk import bulk_cancel_confirm, bulk_cancel_preview, bulk_cancel_process
from claimdesk.claims.cancel import claim_request_cancel
from claimdesk.claims.models import BulkJobStatus, Claim, ClaimStatus
from claimdesk.core.errors import DomainError
from tests.factories import order_in

pytestmark = pytest.mark.django_db


def confirmed_job(seller, orders):  # type: ignore[no-untyped-def]
    """A sheet cancelling `orders` as out of stock, checked and confirmed without notice."""
    job = bulk_cancel_preview(
        actor=seller,
        upload=sheet([[o.order_no, "OUT_OF_STOCK", ""] for o in orders]),
        filename="s.xlsx",
    )
    bulk_cancel_confirm(actor=seller, job=job, confirm_without_notice=True)
    return job


def sheet(rows: list[list[object]]) -> io.BytesIO:
    workbook = Workbook()
    ws = workbook.active
    ws.append(["order_no", "reason", "memo"])
    for row in rows:
        ws.append(row)
    data = io.BytesIO()
    workbook.save(data)
    data.seek(0)
    return data


def test_dry_run_says_per_row_what_will_happen(seller, other_seller, buyer):
    """Each reason a row cannot be cancelled is named; nothing is cancelled by the dry run."""
    new = order_in("new", seller=seller, buyer=buyer)
    shipped = order_in("shipped", seller=seller, buyer=buyer)
    foreign = order_in("new", seller=other_seller, buyer=buyer)
    buyer_reason = order_in("new", seller=seller, buyer=buyer)
    job = bulk_cancel_preview(
        actor=seller,
        upload=sheet(
            [
                [new.order_no, "OUT_OF_STOCK", "在庫切れ"],
                [shipped.order_no, "OUT_OF_STOCK", ""],
                [foreign.order_no, "OUT_OF_STOCK", ""],
                [buyer_reason.order_no, "EDIT_ORDER", ""],
                [new.order_no, "无库存", ""],
                ["abc", "OUT_OF_STOCK", ""],
            ]
        ),
        filename="s.xlsx",
    )
    plans = [r.plan for r in job.rows.order_by("line")]
    assert plans == [
        "will_cancel_without_notice",
        "wrong_state",
        "not_your_order",
        "reason_not_allowed",
        "duplicate_row",
        "invalid_row",
    ]
    assert not Claim.objects.exists()


def test_rows_are_processed_independently_and_idempotently(seller, buyer, run_tasks):
    """Good rows cancel, bad rows do not block them; the same sheet again cancels nothing twice."""
    orders = [order_in("new", seller=seller, buyer=buyer, method="bank_transfer") for _ in range(3)]
    shipped = order_in("shipped", seller=seller, buyer=buyer)
    rows = [[o.order_no, "在庫切れ", "sorry"] for o in orders] + [
        [shipped.order_no, "OUT_OF_STOCK", ""]
    ]
    job = bulk_cancel_preview(actor=seller, upload=sheet(rows), filename="s.xlsx")
    bulk_cancel_confirm(actor=seller, job=job, confirm_without_notice=True)
    with pytest.raises(DomainError):
        bulk_cancel_confirm(actor=seller, job=job, confirm_without_notice=True)
    run_tasks()
    job.refresh_from_db()
    assert job.status == BulkJobStatus.DONE and job.processed == 4
    assert [r.result for r in job.rows.order_by("line")] == [
        "cancelled",
        "cancelled",
        "cancelled",
        "wrong_state",
    ]
    assert Claim.objects.filter(status=ClaimStatus.CANCEL_COMPLETED).count() == 3
    # a second run of the same job, and the same sheet uploaded again, cancel nothing twice
    bulk_cancel_process(job_id=job.pk)
    again = bulk_cancel_preview(actor=seller, upload=sheet(rows), filename="s.xlsx")
    assert [r.plan for r in again.rows.order_by("line")][:3] == ["already_cancelled"] * 3
    bulk_cancel_confirm(actor=seller, job=again, confirm_without_notice=True)
    run_tasks()
    assert Claim.objects.count() == 3
    assert [r.result for r in again.rows.order_by("line")][:3] == ["already_cancelled"] * 3


def test_customer_request_rows_approve_the_buyers_request(seller, buyer, run_tasks):
    """客户要求 on an order the buyer asked to cancel approves the request."""
    order = order_in("confirmed", seller=seller, buyer=buyer, method="bank_transfer")
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    job = bulk_cancel_preview(
        actor=seller, upload=sheet([[order.order_no, "客户要求", ""]]), filename="s.xlsx"
    )
    assert job.rows.get().plan == "will_approve"
    bulk_cancel_confirm(actor=seller, job=job)
    run_tasks()
    assert job.rows.get().result == "approved"


def test_without_confirming_notice_rows_are_refused(seller, buyer, run_tasks):
    """A buyer who got no cancel note is not cancelled unless the seller confirmed it."""
    order = order_in("new", seller=seller, buyer=buyer)
    job = bulk_cancel_preview(
        actor=seller, upload=sheet([[order.order_no, "OUT_OF_STOCK", ""]]), filename="s.xlsx"
    )
    bulk_cancel_confirm(actor=seller, job=job, confirm_without_notice=False)
    run_tasks()
    assert job.rows.get().result == "notice_not_sent"


def test_pages_template_csv_progress_and_result_sheet(
    client, seller, other_seller, buyer, run_tasks
):
    """Upload a .csv through the page, confirm, poll progress, download the result sheet."""
    client.force_login(seller)
    template = client.get(reverse("seller:bulk_cancel_template"))
    header = list(load_workbook(io.BytesIO(b"".join(template.streaming_content))).active.values)
    assert header == [("order_no", "reason", "memo")]
    order = order_in("new", seller=seller, buyer=buyer, method="bank_transfer")
    csv = f"order_no,reason,memo\n{order.order_no},OUT_OF_STOCK,sorry\n".encode()
    response = client.post(
        reverse("seller:bulk_cancel"), {"sheet": io.BytesIO(csv)}, format="multipart"
    )
    assert response.status_code == 302
    job_url = response["Location"]
    job_id = int(job_url.rstrip("/").split("/")[-1])
    client.post(reverse("seller:bulk_cancel_start", args=[job_id]), {"confirm_without_notice": "1"})
    progress = client.get(
        reverse("seller:bulk_cancel_progress", args=[job_id]), HTTP_HX_REQUEST="true"
    )
    assert 'hx-trigger="every 1s"' in progress.content.decode()
    run_tasks()
    progress = client.get(
        reverse("seller:bulk_cancel_progress", args=[job_id]), HTTP_HX_REQUEST="true"
    )
    assert progress["HX-Refresh"] == "true"
    result = client.get(reverse("seller:bulk_cancel_result", args=[job_id]))
    rows = list(load_workbook(io.BytesIO(b"".join(result.streaming_content))).active.values)
    assert rows[1][1] == str(order.order_no) and rows[1][5] == "cancelled"
    client.force_login(other_seller)
    assert client.get(job_url).status_code == 404
    assert client.get(reverse("seller:bulk_cancel_result", args=[job_id])).status_code == 404


def test_same_file_again_warns_in_the_dry_run(client, seller, buyer, run_tasks):
    """The sheet's SHA-256 is recognised: the dry run says when it was processed before."""
    order = order_in("new", seller=seller, buyer=buyer, method="bank_transfer")
    data = sheet([[order.order_no, "OUT_OF_STOCK", ""]]).getvalue()
    first = bulk_cancel_preview(actor=seller, upload=io.BytesIO(data), filename="s.xlsx")
    client.force_login(seller)
    page = client.get(reverse("seller:bulk_cancel_job", args=[first.pk])).content.decode()
    assert 'id="bulk-reupload"' not in page
    bulk_cancel_confirm(actor=seller, job=first, confirm_without_notice=True)
    run_tasks()
    again = bulk_cancel_preview(actor=seller, upload=io.BytesIO(data), filename="copy.xlsx")
    page = client.get(reverse("seller:bulk_cancel_job", args=[again.pk])).content.decode()
    assert 'id="bulk-reupload"' in page and f'data-previous-job="{first.pk}"' in page
    first.refresh_from_db()
    from django.utils import timezone

    assert timezone.localtime(first.confirmed_at).strftime("%Y/%m/%d %H:%M") in page


def test_a_row_cancelled_before_a_crash_reports_as_cancelled_by_this_job(seller, buyer, run_tasks):
    """If the worker died after cancelling a row but before marking it, the rerun says "cancelled"."""
    from claimdesk.claims.models import BulkCancelJob, BulkCancelRow

    orders = [order_in("new", seller=seller, buyer=buyer, method="bank_transfer") for _ in range(2)]
    job = confirmed_job(seller, orders)
    run_tasks()
    # simulate the crash: the first row's cancel happened, its result was never written
    first = job.rows.order_by("line").first()
    BulkCancelRow.objects.filter(pk=first.pk).update(done=False, result="", claim=None)
    BulkCancelJob.objects.filter(pk=job.pk).update(status=BulkJobStatus.RUNNING, processed=1)
    bulk_cancel_process(job_id=job.pk)
    first.refresh_from_db()
    assert first.result == "cancelled" and first.claim is not None
    assert Claim.objects.count() == 2
    # a different job meeting the same order still says "already cancelled"
    other = bulk_cancel_preview(
        actor=seller, upload=sheet([[orders[0].order_no, "OUT_OF_STOCK", "x"]]), filename="t.xlsx"
    )
    assert other.rows.get().plan == "already_cancelled"


def test_another_shops_bulk_job_cannot_be_started_or_watched(client, seller, other_seller, buyer):
    """Starting or polling another shop's job is "not found" and changes nothing."""
    order = order_in("new", seller=seller, buyer=buyer)
    job = bulk_cancel_preview(
        actor=seller, upload=sheet([[order.order_no, "OUT_OF_STOCK", ""]]), filename="s.xlsx"
    )
    client.force_login(other_seller)
    response = client.post(
        reverse("seller:bulk_cancel_start", args=[job.pk]), {"confirm_without_notice": "1"}
    )
    assert response.status_code == 404
    response = client.get(
        reverse("seller:bulk_cancel_progress", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 404
    job.refresh_from_db()
    assert job.status == BulkJobStatus.PREVIEW and job.confirmed_at is None
    assert not Claim.objects.exists()


def _plans(job):  # type: ignore[no-untyped-def]
    return [(r.plan, r.plan_message) for r in job.rows.order_by("line")]


def dry_run(seller, rows):  # type: ignore[no-untyped-def]
    return bulk_cancel_preview(actor=seller, upload=sheet(rows), filename="s.xlsx")


def test_dry_run_reads_the_sheet_in_a_fixed_number_of_queries(seller, buyer):
    """The orders, open claims and cancel notes of a sheet are read per sheet, not per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from claimdesk.messaging.models import NoteCategory
    from claimdesk.messaging.services import note_send

    def preview(n: int) -> tuple[int, list[str]]:
        orders = [order_in("new", seller=seller, buyer=buyer) for _ in range(n)]
        asked = order_in("confirmed", seller=seller, buyer=buyer)
        claim_request_cancel(actor=buyer, order=asked, reason="EDIT_ORDER")
        note_send(
            actor=seller,
            order=orders[0],
            category=NoteCategory.CANCEL_REFUND,
            title="在庫切れ",
            body="在庫切れのためキャンセルします。",
        )
        rows = [[o.order_no, "OUT_OF_STOCK", ""] for o in orders]
        rows += [[asked.order_no, "OUT_OF_STOCK", ""], [asked.order_no + 10**9, "OUT_OF_STOCK", ""]]
        with CaptureQueriesContext(connection) as queries:
            job = bulk_cancel_preview(actor=seller, upload=sheet(rows), filename="s.xlsx")
        return len(queries), [r.plan for r in job.rows.order_by("line")]

    few, plans = preview(2)
    assert plans == ["will_cancel", "will_cancel_without_notice", "wrong_state", "not_your_order"]
    many, plans = preview(30)
    assert plans[:2] == ["will_cancel", "will_cancel_without_notice"]
    assert plans[2:30] == ["will_cancel_without_notice"] * 28
    assert plans[30:] == ["wrong_state", "not_your_order"]
    assert many == few <= 10


def test_dry_run_messages_name_the_open_claim_and_the_same_order_spelled_twice(seller, buyer):
    """An open claim is named with its status; "007" and "7" are the same order (a duplicate)."""
    asked = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=asked, reason="EDIT_ORDER")
    order = order_in("new", seller=seller, buyer=buyer)
    with translation.override("en"):
        job = dry_run(
            seller,
            [
                [str(asked.order_no), "OUT_OF_STOCK", ""],
                [str(order.order_no), "EDIT_ORDER", ""],
                [f"00{order.order_no}", "OUT_OF_STOCK", ""],
                [str(order.order_no + 1), "nonsense", "x" * 5000],
                ["0", "OUT_OF_STOCK", ""],
                ["9" * 30, "OUT_OF_STOCK", ""],
            ],
        )
    plans = _plans(job)
    assert plans[0][0] == "wrong_state" and "Customer request" in plans[0][1]
    assert plans[1][0] == "reason_not_allowed" and "cannot be chosen by the shop" in plans[1][1]
    assert plans[2][0] == "duplicate_row"
    assert plans[3][0] == "not_your_order"  # checked before the reason and the memo
    assert plans[4] == ("not_your_order", "Order 0 is not one of your shop's orders.")
    assert plans[5][0] == "not_your_order"


def test_cancels_are_stamped_with_the_job_and_counted_once_per_row(seller, buyer, run_tasks):
    """Every history line the cancel wrote carries the job; a refused row amid good ones is alone."""
    from claimdesk.orders.models import OrderEvent

    orders = [order_in("new", seller=seller, buyer=buyer, method="bank_transfer") for _ in range(4)]
    shipped = order_in("shipped", seller=seller, buyer=buyer)
    rows = [[o.order_no, "OUT_OF_STOCK", ""] for o in orders[:2]]
    rows += [[shipped.order_no, "OUT_OF_STOCK", ""]]
    rows += [[o.order_no, "OUT_OF_STOCK", ""] for o in orders[2:]]
    job = bulk_cancel_preview(actor=seller, upload=sheet(rows), filename="s.xlsx")
    # the shipped row passes the dry run only if it was not shipped then: make it pass
    job.rows.filter(order_no=str(shipped.order_no)).update(plan="will_cancel")
    bulk_cancel_confirm(actor=seller, job=job, confirm_without_notice=True)
    run_tasks()
    job.refresh_from_db()
    assert job.status == BulkJobStatus.DONE and job.processed == 5
    results = [r.result for r in job.rows.order_by("line")]
    assert results == ["cancelled", "cancelled", "shipped_use_return", "cancelled", "cancelled"]
    claims = Claim.objects.filter(order__in=orders)
    assert claims.count() == 4
    for claim in claims:
        lines = OrderEvent.objects.filter(claim=claim, actor=seller, refused=False)
        assert lines.count() >= 2
        assert {line.data.get("bulk_job") for line in lines} == {job.pk}
    refusal = OrderEvent.objects.get(order=shipped, refused=True)
    assert refusal.reason == "shipped_use_return" and "bulk_job" not in refusal.data


def test_a_chunk_writes_its_history_in_one_insert(seller, buyer):
    """The chunk's cancels, refusal line included, go to the history in one multi-row INSERT."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from claimdesk.orders.models import OrderEvent

    orders = [order_in("new", seller=seller, buyer=buyer, method="bank_transfer") for _ in range(4)]
    shipped = order_in("shipped", seller=seller, buyer=buyer)
    job = confirmed_job(seller, [*orders, shipped])
    job.rows.filter(order_no=str(shipped.order_no)).update(plan="will_cancel")
    before = OrderEvent.objects.count()
    with CaptureQueriesContext(connection) as queries:
        bulk_cancel_process(job_id=job.pk)
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "orders_orderevent"')]
    assert len(inserts) == 1
    written = OrderEvent.objects.count() - before
    # claim opened, order cancelled, refund created and settled to the balance, claim
    # completed; and one refusal
    assert written == 4 * 5 + 1
    assert OrderEvent.objects.filter(order=shipped, refused=True).count() == 1


def test_an_approval_refused_midway_leaves_none_of_its_lines(seller, buyer, monkeypatch):
    """A buyer's request approved from the sheet and refused after its first history line:
    the row rolls back with its lines; the rest of the chunk is written."""
    from claimdesk.claims import cancel
    from claimdesk.orders.models import OrderEvent

    asked = order_in("confirmed", seller=seller, buyer=buyer)
    request = claim_request_cancel(actor=buyer, order=asked, reason="EDIT_ORDER")
    other = order_in("new", seller=seller, buyer=buyer)
    job = bulk_cancel_preview(
        actor=seller,
        upload=sheet(
            [[asked.order_no, "CUSTOMER_REQUEST", ""], [other.order_no, "OUT_OF_STOCK", ""]]
        ),
        filename="s.xlsx",
    )
    bulk_cancel_confirm(actor=seller, job=job, confirm_without_notice=True)
    real = cancel._refund_for

    def refuse_for_asked(claim, **kwargs):  # type: ignore[no-untyped-def]
        if claim.order_id == asked.pk:
            raise DomainError("refund_exists", "refused after the transition line")
        return real(claim, **kwargs)

    monkeypatch.setattr(cancel, "_refund_for", refuse_for_asked)
    lines_before = set(OrderEvent.objects.filter(order=asked).values_list("pk", flat=True))
    bulk_cancel_process(job_id=job.pk)
    assert [r.result for r in job.rows.order_by("line")] == ["refund_exists", "cancelled"]
    request.refresh_from_db()
    assert request.status == ClaimStatus.CANCEL_REQUESTED
    new = OrderEvent.objects.filter(order=asked).exclude(pk__in=lines_before)
    assert [(e.kind, e.refused) for e in new] == [("claim.approve_cancel", True)]
    assert OrderEvent.objects.filter(order=other, kind="order.cancelled").count() == 1


def test_a_big_sheet_is_shared_by_several_tasks_and_finishes_once(
    seller, buyer, run_tasks, monkeypatch
):
    """A sheet over ROWS_PER_TASK rows queues several tasks; the job is done and mailed once."""
    from django_tasks_db.models import DBTaskResult

    from claimdesk.claims import bulk
    from claimdesk.messaging.models import Notification

    monkeypatch.setattr(bulk, "ROWS_PER_TASK", 2)
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 2)
    orders = [order_in("new", seller=seller, buyer=buyer, method="bank_transfer") for _ in range(5)]
    job = confirmed_job(seller, orders)
    tasks = DBTaskResult.objects.filter(task_path="claimdesk.claims.bulk.process_bulk_cancel")
    assert tasks.count() == 3
    run_tasks()
    job.refresh_from_db()
    assert job.status == BulkJobStatus.DONE and job.processed == 5
    assert Claim.objects.filter(status=ClaimStatus.CANCEL_COMPLETED).count() == 5
    assert Notification.objects.filter(kind="bulk_cancel_done").count() == 1
    bulk_cancel_process(job_id=job.pk)
    assert Notification.objects.filter(kind="bulk_cancel_done").count() == 1


def test_a_chunk_failing_on_a_database_error_is_redone_row_by_row(
    seller, buyer, run_tasks, monkeypatch
):
    """A deadlock (say) rolls the whole chunk back; its rows are redone, none cancelled twice."""
    from django.db import OperationalError

    from claimdesk.claims import bulk
    from claimdesk.payments.models import Refund

    real = bulk._stamp_job
    calls = {"n": 0}

    def fail_once(events, claim_ids, job):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("deadlock detected")
        real(events, claim_ids, job)

    monkeypatch.setattr(bulk, "_stamp_job", fail_once)
    orders = [order_in("new", seller=seller, buyer=buyer) for _ in range(3)]
    job = confirmed_job(seller, orders)
    bulk_cancel_process(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == BulkJobStatus.DONE and job.processed == 3
    assert [r.result for r in job.rows.order_by("line")] == ["cancelled"] * 3
    assert Claim.objects.count() == 3 and Refund.objects.count() == 3
    assert calls["n"] == 4  # the failed chunk, then one stamp per row


def test_a_row_the_database_refuses_twice_is_reported_and_the_job_finishes(
    seller, buyer, monkeypatch
):
    """A row failing on a database error again when redone alone is marked with a message;
    the other rows are cancelled, the job is done and counts it as failed."""
    from django.db import OperationalError

    from claimdesk.claims import cancel
    from claimdesk.claims.bulk import bulk_cancel_counts

    seller.language = "ja"
    seller.save(update_fields=["language"])
    orders = [order_in("new", seller=seller, buyer=buyer) for _ in range(3)]
    broken = orders[1].order_no
    real = cancel.claim_seller_cancel

    def refuse_one(**kwargs):  # type: ignore[no-untyped-def]
        if kwargs["order"].order_no == broken:
            raise OperationalError("could not read block 7 of relation orders_order")
        return real(**kwargs)

    monkeypatch.setattr(cancel, "claim_seller_cancel", refuse_one)
    job = confirmed_job(seller, orders)
    bulk_cancel_process(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == BulkJobStatus.DONE and job.processed == 3
    rows = list(job.rows.order_by("line"))
    assert [r.result for r in rows] == ["cancelled", "database_error", "cancelled"]
    # in the language of the seller who uploaded the sheet
    assert f"注文 {broken} は処理できませんでした" in rows[1].result_message
    assert bulk_cancel_counts(job)["failed"] == 1
    assert not Claim.objects.filter(order__order_no=broken).exists()


def test_a_worker_told_to_stop_hands_the_rest_of_the_sheet_on(
    seller, buyer, run_tasks, monkeypatch
):
    """Between chunks a stopping worker queues the rest of the job for the next worker
    instead of running past its stop timeout; the next one finishes it."""
    from django_tasks_db.models import DBTaskResult

    from claimdesk.claims import bulk

    monkeypatch.setattr(bulk, "CHUNK_ROWS", 2)
    orders = [order_in("new", seller=seller, buyer=buyer) for _ in range(5)]
    job = confirmed_job(seller, orders)
    tasks = DBTaskResult.objects.filter(task_path="claimdesk.claims.bulk.process_bulk_cancel")
    queued = tasks.count()
    asked = iter([False, True])  # the signal comes after the first chunk

    monkeypatch.setattr(bulk, "stop_requested", lambda: next(asked, False))
    bulk_cancel_process(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == BulkJobStatus.RUNNING and job.processed == 2
    assert tasks.count() == queued + 1  # the rest handed on

    run_tasks()
    job.refresh_from_db()
    assert job.status == BulkJobStatus.DONE and job.processed == 5
    assert Claim.objects.filter(status=ClaimStatus.CANCEL_COMPLETED).count() == 5


def test_the_sheet_may_have_10000_rows_and_no_more(seller):
    """10,000 rows are checked in one dry run; a row more is refused before anything is written."""
    from claimdesk.claims.bulk import MAX_BULK_CANCEL_ROWS
    from claimdesk.claims.models import BulkCancelJob

    assert MAX_BULK_CANCEL_ROWS == 10_000
    lines = "".join(f"{10**9 + n},OUT_OF_STOCK,\n" for n in range(MAX_BULK_CANCEL_ROWS + 1))
    with pytest.raises(DomainError) as refused:
        bulk_cancel_preview(
            actor=seller, upload=io.BytesIO(f"order_no,reason,memo\n{lines}".encode()), filename="c"
        )
    assert refused.value.code == "too_many_rows" and not BulkCancelJob.objects.exists()
    last = lines.rindex(",OUT_OF_STOCK")
    upload = io.BytesIO(lines[: lines.rindex("\n", 0, last) + 1].encode())
    job = bulk_cancel_preview(actor=seller, upload=upload, filename="c.csv")
    assert job.total == MAX_BULK_CANCEL_ROWS
    assert job.rows.filter(plan="not_your_order").count() == MAX_BULK_CANCEL_ROWS


def test_job_page_summarises_plans_and_pages_the_rows(client, seller, buyer, monkeypatch):
    """The page counts rows per plan, shows the rows a page at a time, or only those not cancelled."""
    from claimdesk.portals.seller import bulk as pages

    monkeypatch.setattr(pages, "ROWS_PAGE_SIZE", 2)
    orders = [order_in("new", seller=seller, buyer=buyer) for _ in range(3)]
    rows = [[o.order_no, "OUT_OF_STOCK", ""] for o in orders] + [["abc", "OUT_OF_STOCK", ""]]
    rows.insert(1, [orders[0].order_no, "OUT_OF_STOCK", ""])
    job = bulk_cancel_preview(actor=seller, upload=sheet(rows), filename="s.xlsx")
    client.force_login(seller)
    url = reverse("seller:bulk_cancel_job", args=[job.pk])
    page = client.get(url).content.decode()
    with translation.override(seller.language):  # plans in words, their codes only in data-*
        will, no = gettext("Will be cancelled (no note sent)"), gettext("Not possible")
    assert f'data-plan="will_cancel_without_notice">✓ {will}: <b>3</b>' in page
    assert f'data-plan="duplicate_row">✗ {no}: <b>1</b>' in page
    assert "✗ duplicate_row" not in page
    assert page.count('<tr data-line="') == 2 and 'data-line="2"' in page and "page=2" in page
    assert 'name="confirm_without_notice"' in page
    third = client.get(url, {"page": 3}).content.decode()
    assert third.count('<tr data-line="') == 1 and 'data-line="6"' in third
    bad = client.get(url, {"rows": "bad"}).content.decode()
    assert bad.count('<tr data-line="') == 2
    assert 'data-line="3"' in bad and 'data-line="6"' in bad
