"""Bulk cancellation: dry run per row, independent and idempotent processing, the result sheet."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from claimdesk.claims.bulk import bulk_cancel_confirm, bulk_cancel_preview, bulk_cancel_process
from claimdesk.claims.models import BulkJobStatus, Claim, ClaimStatus
from claimdesk.claims.services import claim_request_cancel
from claimdesk.core.errors import DomainError
from tests.factories import order_in

pytestmark = pytest.mark.django_db


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
    job = bulk_cancel_preview(
        actor=seller,
        upload=sheet([[o.order_no, "OUT_OF_STOCK", ""] for o in orders]),
        filename="s.xlsx",
    )
    bulk_cancel_confirm(actor=seller, job=job, confirm_without_notice=True)
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
