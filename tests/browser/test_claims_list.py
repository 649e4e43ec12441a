"""The claims list in Chromium: its status boxes and rows follow what the panel does."""

from __future__ import annotations

import pytest
from django.utils import translation

from claimdesk.claims.cancel import claim_request_cancel
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.claims.returns import claim_request_return
from tests.factories import order_in, return_address

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_status_box_click_after_the_home_box_lists_that_status(page, seller, buyer):
    """索赔/咨询 › 取消申请, then the 退货申请 box: the return request is listed."""
    asked = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=asked, reason="EDIT_ORDER")
    returned = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=returned, reason="WRONG_ITEM")
    sign_in(page, seller.username)
    page.locator('a.count[data-box="cancel_requested"]').click()
    page.wait_for_url("**/seller/claims/?statuses=1")
    assert page.locator(f'tr[data-order="{asked.order_no}"]').count() == 1
    page.locator(f'a.box[data-status="{ClaimStatus.RETURN_REQUESTED}"]').click()
    page.wait_for_url(f"**status={ClaimStatus.RETURN_REQUESTED}")
    assert page.locator("tbody tr[data-order]").count() == 1
    assert page.locator(f'tr[data-order="{returned.order_no}"]').count() == 1
    assert page.locator("#id_period_kind").input_value() == "request"


def test_a_panel_action_refreshes_the_row_and_the_boxes(page, seller, buyer):
    """退货要求接受/验证 in the panel: the row and the boxes show 回收中 without a reload."""
    return_address(seller.shop)
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=order, reason="WRONG_ITEM")
    sign_in(page, seller.username)
    page.goto("/seller/claims/")
    requested = page.locator(f'a.box[data-status="{ClaimStatus.RETURN_REQUESTED}"] b')
    returning = page.locator(f'a.box[data-status="{ClaimStatus.RETURNING}"] b')
    assert (requested.inner_text(), returning.inner_text()) == ("1", "0")
    row = page.locator(f'tr[data-order="{order.order_no}"]')
    row.dblclick()
    panel = page.locator(f'[data-claim-panel="{order.order_no}"]')
    panel.wait_for()
    panel.locator(f"form[action='/seller/claims/{order.order_no}/accept-return/'] button").click()
    page.locator(".msg.success").wait_for()
    assert Claim.objects.get(order=order).status == ClaimStatus.RETURNING
    page.locator(
        f'tr[data-order="{order.order_no}"][data-status="{ClaimStatus.RETURNING}"]'
    ).wait_for()
    with translation.override("zh-hans"):
        assert str(ClaimStatus.RETURNING.label) in row.locator("td").nth(1).inner_text()
    assert (requested.inner_text(), returning.inner_text()) == ("0", "1")


def test_double_click_on_a_row_selects_no_text(page, seller, buyer):
    """Opening a row with a double click leaves no word selected on the page."""
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=order, reason="WRONG_ITEM")
    sign_in(page, seller.username)
    page.goto("/seller/claims/")
    page.locator(f'tr[data-order="{order.order_no}"] td').nth(6).dblclick()
    page.locator(f'[data-claim-panel="{order.order_no}"]').wait_for()
    assert page.evaluate("String(window.getSelection())") == ""
