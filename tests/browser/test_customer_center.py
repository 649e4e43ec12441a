"""The seed's FAQ routes to the customer center, walked in Chromium end to end.

FAQ 2: the buyer will not withdraw → seller asks [退款·投诉撤回] > [投诉撤回] → operator
withdraws → buyer and seller see it. FAQ 3: the buyer wants to cancel but never
filed it → seller asks [退款·投诉撤回] > [订单取消·退款(全额)] → operator cancels and
refunds in full. Bulk: 200 orders from an .xlsx with 5 bad rows, result sheet checked.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from claimdesk.claims.cancel import claim_request_cancel
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.inquiries.models import Inquiry, InquiryStatus
from claimdesk.payments.models import Refund, RefundStatus
from tests.factories import order_in

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _ask(page: Any, order_no: int, category: str, body: str) -> Inquiry:
    page.goto(f"/seller/inquiries/new/?order={order_no}")
    page.select_option("#id_category", category)
    page.fill("#id_subject", f"order {order_no}")
    page.fill("#id_body", body)
    page.click("#inquiry-form button[type=submit]")
    page.locator(".msg.success").wait_for()
    return Inquiry.objects.get(orders__order_no=order_no)


def _operator(chromium: Any, live_server: Any, username: str) -> Any:
    context = chromium.new_context(
        viewport={"width": 1366, "height": 900}, base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, username, portal="console")
    return page


def test_faq_withdraw_complaint_route(page, chromium, live_server, seller, buyer, operator):
    """投诉撤回: the seller asks, the operator withdraws with a reason, both parties see it."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER", memo="やっぱり")
    sign_in(page, seller.username)
    inquiry = _ask(
        page, order.order_no, "withdraw_complaint", "和顾客发过很多次纸条, 顾客一直都没有撤销"
    )

    op = _operator(chromium, live_server, operator.username)
    op.click(f'tr[data-inquiry="{inquiry.pk}"] a')
    op.click(f'tr[data-order="{order.order_no}"] a.button')
    op.fill("#withdraw-reason", "The buyer agreed to keep the order.")
    op.click("#withdraw-form button[type=submit]")
    op.wait_for_url(f"**/console/inquiries/{inquiry.pk}/")
    assert op.locator("#inquiry-status").get_attribute("data-status") == "answered"
    op.context.close()

    assert Claim.objects.get(order=order).status == ClaimStatus.WITHDRAWN
    page.goto(f"/seller/inquiries/{inquiry.pk}/")
    assert page.locator("#inquiry-status").get_attribute("data-status") == InquiryStatus.ANSWERED
    assert "The buyer agreed to keep the order." in page.locator("ol.thread").inner_text()
    buyer_page = page.context.browser.new_context(base_url=live_server.url).new_page()
    sign_in(buyer_page, buyer.username, portal="my")
    buyer_page.goto(f"/my/orders/{order.order_no}/")
    assert buyer_page.locator(f'[data-claim-status="{ClaimStatus.WITHDRAWN}"]').count() == 1
    buyer_page.context.close()


def test_faq_full_cancel_refund_route(
    page, chromium, live_server, seller, buyer, operator, run_tasks
):
    """订单取消·退款(全额): the buyer never filed; the operator cancels and the refund completes."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    sign_in(page, seller.username)
    inquiry = _ask(
        page, order.order_no, "full_cancel_refund", "顾客原因要求取消订单, 但顾客一直未在后台申请"
    )
    assert not Claim.objects.filter(order=order).exists()

    op = _operator(chromium, live_server, operator.username)
    op.goto(f"/console/inquiries/{inquiry.pk}/")
    op.click(f'tr[data-order="{order.order_no}"] a.button')
    op.select_option("#cancel-code", "CUSTOMER_REQUEST")
    op.fill("#cancel-reason", "The buyer asked the shop to cancel by note.")
    op.click("#cancel-form button[type=submit]")
    op.wait_for_url(f"**/console/inquiries/{inquiry.pk}/")
    run_tasks()  # the card refund goes through the gateway in the background
    op.goto(f"/console/orders/{order.order_no}/")
    assert op.locator("#refunds tr").first.get_attribute("data-status") == RefundStatus.SUCCEEDED
    op.context.close()

    claim = Claim.objects.get(order=order)
    assert claim.status == ClaimStatus.CANCEL_COMPLETED and claim.requested_by == "operator"
    assert Refund.objects.get(claim=claim).status == RefundStatus.SUCCEEDED
    page.goto(f"/seller/inquiries/{inquiry.pk}/")
    assert page.locator('[data-action="claim.operator_cancel"]').count() == 1


def _sheet(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["order_no", "reason", "memo"])
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    workbook.save(data)
    return data.getvalue()


def test_bulk_cancel_200_orders_with_5_bad_rows(
    page, seller, other_seller, buyer, run_tasks, tmp_path
):
    """195 orders cancel, 5 bad rows are reported, the result sheet has one line per row."""
    good = [order_in("new", seller=seller, buyer=buyer, method="bank_transfer") for _ in range(195)]
    shipped = order_in("shipped", seller=seller, buyer=buyer)
    foreign = order_in("new", seller=other_seller, buyer=buyer)
    rows: list[list[object]] = [[o.order_no, "在庫切れ", "申し訳ありません"] for o in good]
    rows += [
        [shipped.order_no, "OUT_OF_STOCK", ""],  # wrong state
        [foreign.order_no, "OUT_OF_STOCK", ""],  # not your order
        [good[0].order_no, "OUT_OF_STOCK", ""],  # duplicate row
        [good[1].order_no + 10_000_000, "OUT_OF_STOCK", ""],  # unknown order
        [order_in("new", seller=seller, buyer=buyer).order_no, "EDIT_ORDER", ""],  # buyer reason
    ]
    path = tmp_path / "bulk.xlsx"
    path.write_bytes(_sheet(rows))

    sign_in(page, seller.username)
    page.goto("/seller/bulk-cancel/")
    page.set_input_files("#id_sheet", str(path))
    page.click("#bulk-cancel-form button[type=submit]")
    page.locator("#bulk-confirm").wait_for()
    assert page.locator("#bulk-rows tbody tr.ok").count() == 195
    assert page.locator("#bulk-rows tbody tr.bad").count() == 5
    page.check("input[name=confirm_without_notice]")
    page.click("#bulk-confirm button[type=submit]")
    page.locator("#bulk-progress").wait_for()
    run_tasks()  # the worker
    page.locator("#bulk-result").wait_for(timeout=20_000)  # htmx polling reloads when done
    with page.expect_download() as download:
        page.click("#bulk-result")
    result = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    lines = list(result.values)[1:]
    assert len(lines) == 200
    outcome = {str(line[1]): line[5] for line in lines[:195]}
    assert set(outcome.values()) == {"cancelled"}
    assert [line[5] for line in lines[195:]] == [
        "wrong_state",
        "not_your_order",
        "duplicate_row",
        "not_your_order",
        "reason_not_allowed",
    ]
    assert Claim.objects.filter(status=ClaimStatus.CANCEL_COMPLETED).count() == 195
