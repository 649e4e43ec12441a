"""Seller pages a new user reads: the cancel panel's default, the buyer, amounts, 咨询 counts."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from claimdesk.claims.cancel import claim_request_cancel
from claimdesk.inquiries.models import InquiryCategory
from claimdesk.inquiries.services import inquiry_open, inquiry_reply
from claimdesk.orders.models import Order
from tests.factories import order_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller_client(client, seller):
    client.force_login(seller)
    return client


def _cancel_panel(html: str) -> str:
    start = html.index('class="cancel-panel"')
    return html[start : html.index("</form>", start)]


def test_cancel_panel_defaults_to_customer_request_when_the_buyer_asked(
    seller_client, seller, buyer
):
    """The buyer asked to cancel: 客户要求 is preselected and no missing-note warning shows."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    html = seller_client.get(reverse("seller:order", args=[order.order_no]), HTTP_HX_REQUEST="true")
    panel = _cancel_panel(html.content.decode())
    assert re.search(r'<option value="CUSTOMER_REQUEST" selected>', panel)
    assert "data-buyer-asked" in panel
    with translation.override(seller.language):
        question = escape(gettext("Cancel this order and refund the buyer now?"))
    assert f'hx-confirm="{question}"' in panel


def test_cancel_panel_without_a_buyer_request_selects_nothing_for_the_buyer(
    seller_client, seller, buyer
):
    """Without a request from the buyer, 客户要求 is not offered at all."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    html = seller_client.get(reverse("seller:order", args=[order.order_no]), HTTP_HX_REQUEST="true")
    panel = _cancel_panel(html.content.decode())
    assert "CUSTOMER_REQUEST" not in panel and "data-buyer-asked" not in panel


def test_order_and_claim_panels_name_the_buyer_and_their_login(seller_client, seller, buyer):
    """The panels show the buyer's name and login, so the demo's orders can be followed."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    for name in ("seller:order", "seller:claim"):
        html = seller_client.get(reverse(name, args=[order.order_no])).content.decode()
        found = re.search(r"<dd data-buyer>(.*?)</dd>", html, re.S)
        assert found and buyer.username in found.group(1), name


def test_cart_table_shows_amounts_as_money(seller_client, seller, buyer):
    """购物车信息: ¥3,780, as everywhere else, not 3780."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    Order.objects.filter(pk=order.pk).update(total_minor=3780, currency="JPY")
    html = seller_client.get(reverse("seller:claim", args=[order.order_no])).content.decode()
    assert '<td class="num" data-amount>¥3,780</td>' in html


def test_home_counts_inquiries(seller_client, seller, operator):
    """The 索赔/咨询 box counts the shop's inquiries waiting for it and answered."""
    waiting = inquiry_open(actor=seller, category=InquiryCategory.OTHER, subject="a", body="b")
    inquiry_reply(actor=operator, inquiry=waiting, body="?", wait_for_seller=True)
    answered = inquiry_open(actor=seller, category=InquiryCategory.OTHER, subject="c", body="d")
    inquiry_reply(actor=operator, inquiry=answered, body="done")
    inquiry_open(actor=seller, category=InquiryCategory.OTHER, subject="e", body="f")
    html = seller_client.get(reverse("seller:home")).content.decode()
    for box, n in (("inquiries_waiting", 1), ("inquiries_open", 1), ("inquiries_answered", 1)):
        assert re.search(rf'data-box="{box}" href="[^"]+">{n}</a>', html), box
