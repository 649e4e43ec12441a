"""The claims page (取消/退货/未收取) through Django's test client: filters, boxes, pager."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from claimdesk.claims.cancel import claim_cancel_instantly, claim_request_cancel
from claimdesk.claims.models import ClaimStatus
from claimdesk.claims.returns import claim_request_return
from tests.factories import order_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller_client(client, seller):
    client.force_login(seller)
    return client


def _box_href(html: str, status: int) -> str:
    match = re.search(rf'data-status="{status}" href="([^"]+)"', html)
    assert match, f"no box for status {status}"
    return match.group(1).replace("&amp;", "&")


def test_a_status_box_shows_its_status_after_a_home_box_link(
    seller_client, seller, buyer, run_tasks
):
    """From the home box's list (?statuses=1), a click on 退货申请 lists the return requests."""
    asked = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=asked, reason="EDIT_ORDER")
    returned = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=returned, reason="WRONG_ITEM")
    cancelled = order_in("new", seller=seller, buyer=buyer)
    claim_cancel_instantly(actor=buyer, order=cancelled, reason="EDIT_ORDER")
    run_tasks()  # the refund goes through: the cancel is complete
    listing = seller_client.get(reverse("seller:claims") + "?statuses=1").content.decode()
    assert "data-home-filter" in listing  # the home box's filter is shown, with a way out
    href = _box_href(listing, ClaimStatus.RETURN_REQUESTED)
    assert "statuses" not in href
    page = seller_client.get(href)
    assert [row.order.order_no for row in page.context["page"]] == [returned.order_no]
    # the completed box counts the period's completed claims, not the open ones only
    assert page.context["boxes"][2] == (
        ClaimStatus.CANCEL_COMPLETED,
        ClaimStatus.CANCEL_COMPLETED.label,
        1,
    )
    completed = seller_client.get(_box_href(listing, ClaimStatus.CANCEL_COMPLETED))
    assert [row.order.order_no for row in completed.context["page"]] == [cancelled.order_no]


def test_a_link_without_a_period_keeps_the_request_date_period(seller_client, seller, buyer):
    """The period select stays on 申请日 (the list's filter) when the URL does not name one."""
    html = seller_client.get(reverse("seller:claims") + "?statuses=1").content.decode()
    assert re.search(r'<option value="request" selected>', html)


def test_detail_search_counts_a_shipped_order_without_a_claim(seller_client, seller, buyer):
    """详情查询 of a shipped order without a claim lists its row and the pager says 1 row."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    html = seller_client.get(
        reverse("seller:claims") + f"?search_kind=order_no&search={order.order_no}"
    ).content.decode()
    assert f'data-order="{order.order_no}" data-no-claim' in html
    assert re.search(r'<p class="pager">\s*1 ', html), html[html.find('"pager"') :][:80]


def test_the_list_partial_answers_the_changed_event(seller_client, seller, buyer):
    """The list reloads itself (boxes and rows) when a panel action reports a change."""
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=order, reason="WRONG_ITEM")
    page = seller_client.get(reverse("seller:claims")).content.decode()
    assert 'hx-trigger="claimdesk:changed from:body"' in page
    partial = seller_client.get(reverse("seller:claims") + "?partial=1", HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert "<html" not in body and f'data-order="{order.order_no}"' in body
    assert 'class="boxes claims"' in body


@pytest.mark.parametrize(
    ("language", "status", "escalated", "select", "delayed"),
    [
        (
            "ja",
            "キャンセル: キャンセル要請",
            "カスタマーセンターへ引き継ぎ済み",
            "注文 %s を選択",
            "遅延",
        ),
        ("zh-hans", "取消: 取消申请", "已转交客服中心", "选择订购 %s", "延期"),
        ("en", "Cancel: Cancel requested", "Escalated", "Select order %s", "Delayed"),
    ],
)
def test_list_rows_show_typed_markup_as_text_in_the_sellers_language(
    seller_client, seller, buyer, language, status, escalated, select, delayed
):
    """What buyers and sellers typed (a `<script>`) shows as text in the rows, in ja, zh and en.

    The claims list (a claim, and a shipped order without one found by number) and the
    shipping list.
    """
    from django.utils import timezone

    from claimdesk.claims.models import Claim
    from claimdesk.orders.models import Order

    seller.language = language
    seller.save(update_fields=["language"])
    asked = order_in("confirmed", seller=seller, buyer=buyer)
    claim = claim_request_cancel(actor=buyer, order=asked, reason="EDIT_ORDER")
    Claim.objects.filter(pk=claim.pk).update(
        escalated_at=timezone.now(), pickup_carrier="<script>alert('carrier')</script>"
    )
    shipped = order_in("shipped", seller=seller, buyer=buyer)
    late = order_in("delayed", seller=seller, buyer=buyer)
    Order.objects.filter(pk__in=[asked.pk, shipped.pk]).update(
        seller_item_code="<script>alert(1)</script>"
    )
    Order.objects.filter(pk=late.pk).update(receiver_name="<script>alert(2)</script>")

    html = seller_client.get(reverse("seller:claims")).content.decode()
    assert f'aria-label="{select % asked.order_no}"' in html
    assert f'<td>{status} <span class="tag warn">{escalated}</span></td>' in html
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in html
    assert "(&lt;script&gt;alert(&#39;carrier&#39;)&lt;/script&gt;)</td>" in html
    assert "<script>alert" not in html

    found = seller_client.get(
        reverse("seller:claims") + f"?search_kind=order_no&search={shipped.order_no}"
    ).content.decode()
    assert f'data-order="{shipped.order_no}" data-no-claim' in found
    assert f'aria-label="{select % shipped.order_no}"' in found
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in found
    assert "<script>alert" not in found

    listed = seller_client.get(
        reverse("seller:shipping"), {"box": "delayed", "tab": "detail"}
    ).content.decode()
    assert f'aria-label="{select % late.order_no}"' in listed
    assert f' <span class="tag warn">{delayed}</span></td>' in listed
    assert "<td>&lt;script&gt;alert(2)&lt;/script&gt;</td>" in listed
    assert "<script>alert" not in listed
