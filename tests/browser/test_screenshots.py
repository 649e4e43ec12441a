"""Screenshots of the main pages for docs/screenshots/ (run by `make screenshots`).

Deselected from the normal run; it loads the demo data, signs in as the demo
users and saves one PNG per page and language.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.inquiries.models import Inquiry, InquiryStatus
from claimdesk.orders.models import Order

from .conftest import sign_in

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
pytestmark = [pytest.mark.browser, pytest.mark.screenshots, pytest.mark.django_db(transaction=True)]


def _language(page, code: str) -> None:
    with page.expect_navigation():
        page.select_option("#language", code)


def test_screenshots(page):
    """Save the seller, buyer and console pages as PNG files."""
    call_command("load_demo", verbosity=0)
    OUT.mkdir(parents=True, exist_ok=True)
    shot = lambda name: page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)  # noqa: E731
    sign_in(page, "shop1-owner", "demo-pass-2026")
    _language(page, "zh-hans")
    shot("seller-home-zh")
    page.goto("/seller/shipping/?box=new")
    order = Order.objects.filter(
        shop__code="shop1", shipping_status=2, cancelled_at__isnull=True
    ).first()
    if order is not None:
        page.locator(f'tr[data-order="{order.order_no}"]').dblclick()
        page.locator("[data-order-panel]").wait_for()
    shot("seller-shipping-zh")
    if order is not None:
        page.locator("[data-order-panel] [data-note-link]").click()
        page.locator("#note-form").wait_for()
        shot("seller-note-dialog-zh")
        page.keyboard.press("Escape")
    page.goto("/seller/claims/")
    shot("seller-claims-zh")
    claim = Claim.objects.filter(shop__code="shop1", status=ClaimStatus.RETURN_REQUESTED).first()
    if claim is not None:
        page.goto(f"/seller/orders/{claim.order.order_no}/history/")
        shot("seller-history-zh")
    _language(page, "ja")
    page.goto("/seller/claims/")
    shot("seller-claims-ja")
    _language(page, "en")
    page.goto("/seller/claims/")
    shot("seller-claims-en")
    page.goto("/seller/")
    shot("seller-home-en")
    page.context.clear_cookies()
    sign_in(page, "buyer01", "demo-pass-2026", portal="my")
    shot("buyer-orders-ja")
    page.goto("/my/refunds/")
    shot("buyer-refunds-ja")
    page.goto("/my/help/")
    shot("buyer-customer-center-ja")
    page.context.clear_cookies()
    sign_in(page, "operator", "demo-pass-2026", portal="console")
    _language(page, "zh-hans")
    shot("console-queue-zh")
    inquiry = Inquiry.objects.filter(status=InquiryStatus.WAITING_SELLER).first()
    if inquiry is not None:
        page.goto(f"/console/inquiries/{inquiry.pk}/")
        shot("console-inquiry-zh")
    assert (OUT / "seller-home-zh.png").stat().st_size > 10_000
