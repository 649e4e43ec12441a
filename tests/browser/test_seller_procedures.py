"""The seed manual's procedures, walked in Chromium, one test per procedure.

Each test names the seed section and steps it walks, checks what the buyer then
sees in the database and the counts that change on the page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import translation
from django.utils.translation import gettext

from claimdesk.claims.cancel import claim_request_cancel
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.claims.non_receipt import claim_report_non_receipt
from claimdesk.claims.returns import claim_request_return
from claimdesk.orders.models import ShippingStatus
from claimdesk.payments.models import Refund, RefundStatus
from tests.factories import order_in, return_address

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


LANGUAGES = ["zh-hans", "ja", "en"]
#: A developer code in brackets, which people must never see ("[text_too_long]").
_CODE = re.compile(r"\[[a-z]+_[a-z_]+")


def _language(page: Any, code: str) -> None:
    if page.locator("html").get_attribute("lang") != code:
        with page.expect_navigation():
            page.select_option("#language", code)
    assert page.locator("html").get_attribute("lang") == code


def _reads_in(page: Any, code: str) -> None:
    """The page is still in `code` and shows no developer code."""
    assert page.locator("html").get_attribute("lang") == code
    assert not _CODE.search(page.locator("body").inner_text())


@pytest.mark.parametrize("language", LANGUAGES)
def test_section1_steps1_to_8_cancel_unshipped_order_out_of_stock(page, seller, buyer, language):
    """Section 1 steps 1-8: 新订购 → tick → open → 取消/换钱交易 无库存 + 卖家留言 → 确认."""
    order = order_in("new", seller=seller, buyer=buyer, method="bank_transfer")
    sign_in(page, seller.username)
    _language(page, language)
    page.click("header nav a[href='/seller/shipping/']")
    new_box = page.locator('a.box[data-box="new"] b')
    assert new_box.inner_text() == "1"
    new_box.click()  # step 1: the blue number of 新订购
    row = page.locator(f'tr[data-order="{order.order_no}"]')
    row.locator("input[type=checkbox]").check()  # step 2
    row.dblclick()  # step 3: 订购信息 / 运送信息
    panel = page.locator(f'[data-order-panel="{order.order_no}"]')
    panel.wait_for()
    heading = {"zh-hans": "运送信息", "ja": "配送情報", "en": "Shipping information"}[language]
    assert heading in panel.locator("h3").all_inner_texts()
    form = panel.locator("form.cancel-panel")
    form.locator("input[name=mode][value=cancel]").check()  # step 5
    form.locator("select[name=reason]").select_option("OUT_OF_STOCK")
    form.locator("textarea[name=seller_memo]").fill(
        "申し訳ありません。在庫切れのためキャンセルいたします。"
    )  # step 6
    form.locator("input[name=confirm_without_notice]").check()
    asked: list[str] = []
    page.on("dialog", lambda dialog: asked.append(dialog.message))
    form.locator("button[type=submit]").click()  # step 7 (the confirm() dialog is accepted)
    result = page.locator("dialog[data-result-dialog]")  # step 8: the result dialog
    result.wait_for()
    assert str(order.order_no) in result.inner_text()
    result.locator("button").click()  # OK
    result.wait_for(state="hidden")
    with translation.override(language):
        warning = gettext(
            "You have not sent the buyer a cancel note. Cancelling without telling the buyer "
            "may hurt your shop’s rating. Cancel anyway?"
        )
    assert warning in asked  # warned about the shop's rating, in the seller's language
    claim = Claim.objects.get(order=order)
    assert claim.status == ClaimStatus.CANCEL_COMPLETED
    assert claim.seller_memo.startswith("申し訳ありません")
    refund = Refund.objects.get(claim=claim)
    assert refund.status == RefundStatus.SUCCEEDED and refund.payment_fee_minor == 108
    page.goto("/seller/shipping/?box=new")
    assert page.locator('a.box[data-box="new"] b').inner_text() == "0"
    _reads_in(page, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_section1_second_part_return_shipped_order_with_full_refund(
    page, seller, buyer, run_tasks, language
):
    """Section 1 second part steps 1-10: 详情查询 by order no → 退货 → 瑕疵商品 → 回收完成/全额退款 → yes/yes → 确认."""
    return_address(seller.shop)
    order = order_in("shipped", seller=seller, buyer=buyer)
    sign_in(page, seller.username)
    _language(page, language)
    page.goto("/seller/claims/")
    page.fill("#id_search", str(order.order_no))  # step 2: 详情查询
    page.locator("form.search button[type=submit]").click()
    page.wait_for_url(f"**search={order.order_no}**")
    row = page.locator(f'tr[data-order="{order.order_no}"][data-no-claim]')
    row.locator("input[type=checkbox]").check()  # step 3: tick ☑
    row.dblclick()  # and double-click: 购物车信息 / 交易信息
    panel = page.locator(f'[data-claim-panel="{order.order_no}"]')
    panel.wait_for()
    panel.locator("input[name=kind][value=return]").check()  # step 6
    panel.locator("select[name=reason]").select_option("DEFECTIVE")  # step 7
    panel.locator("textarea[name=seller_memo]").fill("テスト(販売者メモ)")
    panel.locator("form button.primary").first.click()
    page.locator("summary[data-open-complete]").wait_for()
    page.locator("summary[data-open-complete]").click()  # step 8
    dialog = page.locator("details#complete-return")
    dialog.locator("input[name=goods_received][value=yes]").check()  # step 10: 收到退货商品了吗? 是
    dialog.locator("input[name=confirmed][value=yes]").check()  # 要确认退货申请吗? 是
    dialog.locator("button.primary").click()
    page.locator("[data-refund-status]").wait_for()
    claim = Claim.objects.get(order=order)
    assert claim.status == ClaimStatus.RETURN_COMPLETED
    run_tasks()
    assert Refund.objects.get(claim=claim).status == RefundStatus.SUCCEEDED
    page.goto("/seller/claims/?status=6")
    assert page.locator(f'tr[data-order="{order.order_no}"]').count() == 1
    page.goto(f"/seller/orders/{order.order_no}/history/")
    _reads_in(page, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_section2_steps1_to_5_approve_buyer_cancel_request_from_home_box(
    page, seller, buyer, run_tasks, language
):
    """Section 2 steps 1-5: 索赔/咨询 取消申请 count → list → open → 取消处理; buyer refunded."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER", memo="注文を間違えました")
    sign_in(page, seller.username)
    _language(page, language)
    count = page.locator('a.count[data-box="cancel_requested"]')
    assert count.inner_text() == "1"
    count.click()  # step 1
    row = page.locator(f'tr[data-order="{order.order_no}"]')
    row.dblclick()  # steps 3-4: the buyer's reason shows in 交易信息
    panel = page.locator(f'[data-claim-panel="{order.order_no}"]')
    panel.wait_for()
    assert "注文を間違えました" in panel.inner_text()
    panel.locator(
        f"form[action='/seller/claims/{order.order_no}/approve-cancel/'] button"
    ).click()  # step 5
    page.locator(".msg.success").wait_for()
    run_tasks()
    claim = Claim.objects.get(order=order)
    assert claim.status == ClaimStatus.CANCEL_COMPLETED
    assert claim.reason_code == "CUSTOMER_REQUEST"
    page.goto("/seller/")
    assert page.locator('a.count[data-box="cancel_requested"]').inner_text() == "0"
    _reads_in(page, language)


def test_exchange_flow_approve_and_redeliver(page, seller, buyer):
    """A buyer's exchange request: approve, then re-deliver with carrier and tracking."""
    return_address(seller.shop)
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=order, reason="WRONG_ITEM", exchange=True)
    sign_in(page, seller.username)
    page.goto(f"/seller/claims/?open={order.order_no}")
    panel = page.locator(f'[data-claim-panel="{order.order_no}"]')
    panel.wait_for()
    panel.locator("form button.primary").first.click()
    page.locator("input[name=tracking_no]").wait_for()
    page.fill("#rd-carrier", "ヤマト運輸")
    page.fill("#rd-tracking", "999988887777")
    page.locator("#rd-tracking").press("Enter")
    panel.locator("text=999988887777").wait_for()
    claim = Claim.objects.get(order=order)
    assert claim.status == ClaimStatus.REDELIVERING
    assert claim.redelivery_tracking_no == "999988887777"


def test_non_receipt_answered_by_partial_refund(page, seller, buyer):
    """A non-receipt report answered with a partial refund (15)."""
    order = order_in("delivered", seller=seller, buyer=buyer, method="bank_transfer")
    claim_report_non_receipt(actor=buyer, order=order)
    sign_in(page, seller.username)
    page.goto(f"/seller/claims/?open={order.order_no}")
    panel = page.locator(f'[data-claim-panel="{order.order_no}"]')
    panel.wait_for()
    panel.locator("input[name=scope][value=partial]").check()
    page.fill("#nr-amount", "400")
    page.locator("#nr-amount").press("Enter")
    page.locator(".msg.success").last.wait_for()
    claim = Claim.objects.get(order=order)
    assert claim.status == ClaimStatus.NON_RECEIPT_PARTIALLY_REFUNDED
    assert Refund.objects.get(claim=claim).amount_minor == 400
    order.refresh_from_db()
    assert order.shipping_status == ShippingStatus.DELIVERED


def test_keyboard_opens_a_row_and_refusal_shows_in_place(page, seller, buyer):
    """Arrow keys and Enter open an order; a refused action shows its message without leaving the page."""
    first = order_in("confirmed", seller=seller, buyer=buyer)
    order_in("confirmed", seller=seller, buyer=buyer)
    sign_in(page, seller.username)
    page.goto("/seller/shipping/?box=confirmed")
    page.locator("table.list tbody tr").first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    panel = page.locator("[data-order-panel]")
    panel.wait_for()
    number = panel.get_attribute("data-order-panel")
    assert number is not None
    # a customer request reason without the buyer asking is refused in place
    page.evaluate(
        "(no) => { const s = document.querySelector('form.cancel-panel select[name=reason]');"
        " const o = document.createElement('option'); o.value = 'CUSTOMER_REQUEST'; o.text = 'x'; s.add(o); s.value = 'CUSTOMER_REQUEST'; }",
        number,
    )
    page.locator("form.cancel-panel input[name=confirm_without_notice]").check()
    page.locator("form.cancel-panel button[type=submit]").click()
    page.locator('#messages [data-code="customer_request_without_request"]').wait_for()
    assert not Claim.objects.filter(order__order_no=int(number)).exists()
    assert first.shop_id == seller.shop_id


@pytest.mark.parametrize("language", LANGUAGES)
def test_section1_steps3_to_8_send_cancel_note_then_cancel_with_notice(
    page, seller, buyer, run_tasks, language
):
    """Section 1 steps 3-8: 给客户发纸条 (キャンセル/払い戻し, saved reply, mail) → result line → cancel without the warning."""
    order = order_in("new", seller=seller, buyer=buyer)
    sign_in(page, seller.username)
    _language(page, language)
    page.goto(f"/seller/shipping/?box=new&open={order.order_no}")
    panel = page.locator(f'[data-order-panel="{order.order_no}"]')
    panel.wait_for()
    panel.locator("[data-note-link]").click()  # step 3: 客户管理 › 给客户发纸条
    form = page.locator("#note-form")
    form.wait_for()
    form.locator("#note-category").select_option("cancel_refund")  # step 4 ①
    form.locator("#note-title").fill("在庫切れのお知らせ")
    form.locator("#note-body").fill(
        "申し訳ございません。在庫切れのためキャンセルさせていただきます。"
    )
    assert "(32/1000)" in page.locator("#note-body + .counter").inner_text()
    form.locator("input[name=by_mail]").check()
    form.locator("button[type=submit].primary").click()  # ② 發送, then OK on the confirm
    line = page.locator("[data-result-line]")
    line.wait_for()
    run_tasks()
    assert "1" in line.inner_text()
    page.goto(f"/seller/shipping/?box=new&open={order.order_no}")
    panel.wait_for()
    assert panel.locator("input[name=confirm_without_notice]").count() == 0  # the buyer was told
    cancel = panel.locator("form.cancel-panel")
    cancel.locator("select[name=reason]").select_option("OUT_OF_STOCK")  # step 5
    cancel.locator("textarea[name=seller_memo]").fill("在庫切れ")  # step 6
    cancel.locator("button[type=submit]").click()  # step 7
    page.locator(".msg.success").wait_for()  # step 8
    claim = Claim.objects.get(order=order)
    assert claim.status == ClaimStatus.CANCELLING  # a card refund waits for the worker
    run_tasks()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CANCEL_COMPLETED
    assert not claim.cancelled_without_notice
    _reads_in(page, language)
