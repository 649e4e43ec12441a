"""My page: the refunds list names its orders, and the customer center is one click away."""

from __future__ import annotations

import pytest
from django.urls import reverse

from claimdesk.claims.cancel import claim_cancel_instantly
from claimdesk.messaging.models import Note, NoteParty
from tests.factories import order_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer)
    return client


def test_refunds_list_shows_order_number_and_item(buyer_client, seller, buyer):
    """取消/退款状态: each row names the order and its item without opening it."""
    order = order_in("new", seller=seller, buyer=buyer)
    claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    html = buyer_client.get(reverse("buyer:refunds")).content.decode()
    row = html[html.index(f'<tr data-order="{order.order_no}">') :]
    row = row[: row.index("</tr>")]
    assert f">{order.order_no}</a>" in row and order.item_title in row


def test_my_page_routes_to_the_customer_center(buyer_client, seller, buyer):
    """My page links to the customer center page, which opens a note to it about an order."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    home = buyer_client.get(reverse("buyer:orders")).content.decode()
    assert f'href="{reverse("buyer:help")}"' in home
    help_page = buyer_client.get(reverse("buyer:help")).content.decode()
    assert f"?order={order.order_no}&amp;to=customer_center" in help_page
    thread = buyer_client.get(
        reverse("buyer:notes") + f"?order={order.order_no}&to=customer_center"
    ).content.decode()
    assert 'value="customer_center" checked' in thread
    buyer_client.post(
        reverse("buyer:note_send", args=[order.order_no]),
        {
            "recipient": "customer_center",
            "category": "other",
            "title": "届きません",
            "body": "お店から返事がありません。",
        },
    )
    note = Note.objects.get(order=order)
    assert note.recipient_role == NoteParty.CUSTOMER_CENTER


def test_cancel_now_asks_for_confirmation(buyer_client, seller, buyer):
    """立即取消 asks before it cancels, naming the order and its item."""
    order = order_in("new", seller=seller, buyer=buyer)
    html = buyer_client.get(reverse("buyer:order", args=[order.order_no])).content.decode()
    form = html[html.index('<form id="cancel_now"') :]
    form = form[: form.index(">")]
    assert "data-question=" in form and "onsubmit" not in form  # portal.js asks (no inline script)
    assert str(order.order_no) in form and order.item_title in form
