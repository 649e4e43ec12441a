"""The claims table fits a 1366 px window in every language."""

from __future__ import annotations

import pytest

from claimdesk.claims import services as claims
from tests.factories import order_in, return_address

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["en", "ja", "zh-hans"])
def test_claims_table_is_no_wider_than_the_window(page, seller, buyer, language):
    """No sideways scrolling on 取消/退货/未收取 at 1366 px, with long reasons and collection texts."""
    return_address(seller.shop)
    seller.language = language
    seller.save(update_fields=["language"])
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim = claims.claim_request_return(actor=buyer, order=order, reason="WRONG_ITEM")
    claims.claim_accept_return(
        actor=seller, claim=claim, pickup_method="seller_collects", pickup_carrier="ヤマト運輸"
    )
    cancelled = order_in("confirmed", seller=seller, buyer=buyer)
    claims.claim_request_cancel(actor=buyer, order=cancelled, reason="EDIT_ORDER")
    sign_in(page, seller.username)
    page.goto("/seller/claims/")
    page.locator(f'tr[data-order="{order.order_no}"]').wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, width
