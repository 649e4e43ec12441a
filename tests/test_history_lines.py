"""Order history and thread lines read as sentences in the viewer's language."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from claimdesk.claims.cancel import claim_seller_cancel
from claimdesk.claims.models import ClaimStatus
from claimdesk.claims.reasons import get_reason
from claimdesk.claims.returns import claim_request_return
from claimdesk.core.errors import DomainError
from claimdesk.inquiries.models import InquiryCategory
from claimdesk.inquiries.services import inquiry_open, inquiry_reply
from claimdesk.orders.models import ShippingStatus
from tests.factories import order_in

pytestmark = pytest.mark.django_db

RAW = re.compile(
    r"shipping_status|claim_status|→ 1\b|∅|SHIPPING_DELAY|OUT_OF_STOCK|\b(seller|operator|buyer|system)\b"
)


def _timeline(html: str, list_id: str = "") -> str:
    """Return the visible text of the page's history list."""
    found = re.search(rf'<ol class="timeline"{list_id}>(.*?)</ol>', html, re.S)
    assert found
    text = re.sub(r"<[^>]+>", " ", found.group(1))
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def cancelled_order(seller, buyer, run_tasks):
    order = order_in("new", seller=seller, buyer=buyer)
    claim_seller_cancel(
        actor=seller,
        order=order,
        reason="OUT_OF_STOCK",
        seller_memo="在庫切れです",
        confirm_without_notice=True,
    )
    with pytest.raises(DomainError):  # a refused action leaves its own line
        claim_request_return(actor=buyer, order=order, reason="WRONG_ITEM")
    run_tasks()
    return order


@pytest.mark.parametrize("language", ["zh-hans", "ja", "en"])
def test_seller_order_history_has_no_raw_values(client, seller, cancelled_order, language):
    """订购处理记录: statuses, reasons and roles by name, no field names or codes."""
    seller.language = language
    seller.save(update_fields=["language"])
    client.force_login(seller)
    html = client.get(reverse("seller:history", args=[cancelled_order.order_no])).content.decode()
    text = _timeline(html)
    assert not RAW.search(text), text
    with translation.override(language):
        assert str(ShippingStatus.REQUESTED.label) in text
        assert str(ClaimStatus.CANCEL_COMPLETED.label) in text
        assert str(get_reason("cancel", "OUT_OF_STOCK").label) in text
        assert str(ClaimStatus.CANCEL_COMPLETED.label) in text
    if language != "ja":  # the refusal, raised in Japanese, reads in the viewer's language
        assert "キャンセル済み" not in text


def test_console_order_history_and_thread_roles_in_chinese(
    client, operator, seller, cancelled_order
):
    """The console's order history and inquiry thread name roles in the operator's language."""
    operator.language = "zh-hans"
    operator.save(update_fields=["language"])
    inquiry = inquiry_open(
        actor=seller,
        category=InquiryCategory.OTHER,
        subject="s",
        body="b",
        order_nos=[str(cancelled_order.order_no)],
    )
    inquiry_reply(actor=operator, inquiry=inquiry, body="好的")
    client.force_login(operator)
    html = client.get(reverse("console:order", args=[cancelled_order.order_no])).content.decode()
    text = _timeline(html, ' id="history"')
    assert not RAW.search(text), text
    thread = client.get(reverse("console:inquiry", args=[inquiry.pk])).content.decode()
    roles = re.findall(r"</b> · ([^\n<]+)\n", _section(thread))
    assert roles and not any(RAW.search(r) for r in roles), roles
    with translation.override("zh-hans"):
        from claimdesk.accounts.models import Role

        assert str(Role.OPERATOR.label) in roles[-1]


def _section(html: str) -> str:
    found = re.search(r'<ol class="timeline thread">(.*?)</ol>', html, re.S)
    assert found
    return found.group(1)
