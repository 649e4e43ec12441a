"""The buyer's My page and the seller portal together, in Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.messaging.models import NoteAttachment
from claimdesk.payments.models import RefundStatus
from tests.factories import order_in, return_address
from tests.test_buyer_portal import PNG

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seller_page(chromium: Any, live_server: Any):
    context = chromium.new_context(
        viewport={"width": 1366, "height": 900}, base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()


def test_buyer_cancels_a_new_order_and_sees_the_refund_done(page, seller, buyer, run_tasks):
    """Cancel at once from My page, confirmed first; after the worker the page reads 払い戻し完了."""
    order = order_in("new", seller=seller, buyer=buyer)
    sign_in(page, buyer.username, portal="my")
    page.locator(f'tr[data-order="{order.order_no}"] a[data-action="cancel_now"]').click()
    asked: list[str] = []
    page.on("dialog", lambda dialog: asked.append(dialog.message))
    page.locator('button[data-action="cancel_now"]').click()
    page.locator(".msg.success").wait_for()
    assert len(asked) == 1 and str(order.order_no) in asked[0]  # 立即取消 asked first
    run_tasks()
    page.goto("/my/refunds/")
    cell = page.locator(f'tr[data-order="{order.order_no}"] td[data-refund-status]')
    assert cell.get_attribute("data-refund-status") == RefundStatus.SUCCEEDED
    assert "払い戻し完了" in cell.inner_text()
    assert order.item_title in page.locator(f'tr[data-order="{order.order_no}"]').inner_text()


def test_cancel_request_approved_by_the_seller(page, seller_page, seller, buyer, run_tasks):
    """The buyer asks to cancel a confirmed order, the seller approves it, the buyer sees 払い戻し完了."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    sign_in(page, buyer.username, portal="my")
    page.goto(f"/my/orders/{order.order_no}/")
    assert page.locator('[data-why="cancel_now"]').is_visible()  # says why: ask instead
    page.fill("#rc-memo", "注文を間違えました")
    page.locator('button[data-action="request_cancel"]').click()
    page.locator(".msg.success").wait_for()
    sign_in(seller_page, seller.username)
    seller_page.locator('a.count[data-box="cancel_requested"]').click()
    seller_page.locator(f'tr[data-order="{order.order_no}"]').dblclick()
    panel = seller_page.locator(f'[data-claim-panel="{order.order_no}"]')
    panel.wait_for()
    panel.locator(f"form[action='/seller/claims/{order.order_no}/approve-cancel/'] button").click()
    seller_page.locator("[data-refund-status]").wait_for()
    run_tasks()
    page.goto("/my/refunds/")
    assert "払い戻し完了" in page.locator(f'tr[data-order="{order.order_no}"]').inner_text()


def test_return_with_photos_from_request_to_refund(
    page, seller_page, seller, buyer, run_tasks, tmp_path: Path
):
    """A return with a photo: the seller sees the photo, accepts, collects and refunds."""
    return_address(seller.shop)
    order = order_in("delivered", seller=seller, buyer=buyer)
    photo = tmp_path / "broken.png"
    photo.write_bytes(PNG)
    sign_in(page, buyer.username, portal="my")
    page.goto(f"/my/orders/{order.order_no}/")
    page.select_option("#rt-reason", "DEFECTIVE")
    page.fill("#rt-memo", "箱が潰れていました")
    page.set_input_files("#rt-photos", str(photo))
    page.locator('button[data-action="return"]').click()
    page.locator(".msg.success").wait_for()
    assert NoteAttachment.objects.filter(note__order=order).count() == 1
    sign_in(seller_page, seller.username)
    seller_page.goto(f"/seller/notes/?box=inbox&order={order.order_no}")
    assert seller_page.locator("ul.files a").inner_text() == "broken.png"
    seller_page.goto(f"/seller/claims/?open={order.order_no}")
    panel = seller_page.locator(f'[data-claim-panel="{order.order_no}"]')
    panel.wait_for()
    accept = seller_page.locator(f"form[action='/seller/claims/{order.order_no}/accept-return/']")
    accept.locator("button").click()
    accept.wait_for(state="detached")  # the panel now shows the return as accepted
    seller_page.locator("summary[data-open-complete]").click()
    dialog = seller_page.locator("details#complete-return")
    dialog.locator("input[name=goods_received][value=yes]").check()
    dialog.locator("input[name=confirmed][value=yes]").check()
    dialog.locator("button.primary").click()
    seller_page.locator("[data-refund-status]").wait_for()
    run_tasks()
    assert Claim.objects.get(order=order).status == ClaimStatus.RETURN_COMPLETED
    page.goto("/my/refunds/")
    assert "払い戻し完了" in page.locator(f'tr[data-order="{order.order_no}"]').inner_text()


def test_non_receipt_answered_by_redelivery(page, seller_page, seller, buyer):
    """The buyer reports not received, the seller re-delivers, the buyer confirms receipt."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    sign_in(page, buyer.username, portal="my")
    page.goto(f"/my/orders/{order.order_no}/")
    page.locator('button[data-action="non_receipt"]').click()
    page.locator(".msg.success").wait_for()
    sign_in(seller_page, seller.username)
    seller_page.goto(f"/seller/claims/?open={order.order_no}")
    panel = seller_page.locator(f'[data-claim-panel="{order.order_no}"]')
    panel.wait_for()
    seller_page.fill("#rd-carrier", "佐川急便")
    seller_page.fill("#rd-tracking", "555566667777")
    seller_page.locator("#rd-tracking").press("Enter")
    panel.locator("text=555566667777").wait_for()
    page.goto(f"/my/orders/{order.order_no}/")
    page.locator('button[data-action="confirm_receipt"]').click()
    page.locator(".msg.success").wait_for()
    assert Claim.objects.get(order=order).status == ClaimStatus.EXCHANGE_COMPLETED
