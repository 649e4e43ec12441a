"""Refusals show people a message and a support reference, never a developer code."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import order_in

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
#: A code in brackets, as "[text_too_long]" or "[confirmation_required · 3BB94B5A42]".
BRACKETED_CODE = re.compile(r"\[[a-z_]+(?: · [0-9A-F]+)?\]")


@pytest.fixture
def seller_client(client, seller):
    client.force_login(seller)
    return client


def test_htmx_refusal_shows_the_message_and_a_reference(seller_client, seller, buyer):
    """A refused panel action: the message, a small-print reference, no code in brackets."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    html = seller_client.post(
        reverse("seller:order_cancel", args=[order.order_no]),
        {"mode": "cancel", "reason": "OUT_OF_STOCK", "seller_memo": "x"},
        **HTMX,
    ).content.decode()
    assert 'class="msg error"' in html
    assert not BRACKETED_CODE.search(html), html
    assert re.search(r'<small class="ref">[^<]+: [0-9A-F]{10}</small>', html)


def test_refusal_after_a_redirect_shows_no_code(seller_client, seller, buyer):
    """A refused form post without htmx: the message on the next page has no code either."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    response = seller_client.post(
        reverse("seller:order_cancel", args=[order.order_no]),
        {"mode": "cancel", "reason": "OUT_OF_STOCK", "seller_memo": "x"},
        follow=True,
    )
    html = response.content.decode()
    assert 'class="msg error"' in html
    assert not BRACKETED_CODE.search(html), html
    assert re.search(r'<small class="ref">[^<]+: [0-9A-F]{10}</small>', html)


def test_note_dialog_error_shows_no_code(seller_client, seller, buyer):
    """A note too long is refused in the dialog with the message alone."""
    order = order_in("new", seller=seller, buyer=buyer)
    html = seller_client.post(
        reverse("seller:note_send", args=[order.order_no]),
        {
            "recipient": "buyer",
            "category": "cancel_refund",
            "title": "t",
            "body": "あ" * 5000,
        },
        **HTMX,
    ).content.decode()
    assert 'data-code="text_too_long"' in html
    assert not BRACKETED_CODE.search(html), html
