"""The operator console: only operators, the queue, claim search, actions with reasons, refunds, shops."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, get_resolver, reverse

from claimdesk.accounts.models import ShopRestriction
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.claims.services import claim_report_non_receipt, claim_request_cancel
from claimdesk.inquiries.models import InquiryCategory, InquiryStatus
from claimdesk.inquiries.services import inquiry_open
from claimdesk.messaging.models import Notification
from claimdesk.orders.models import OrderEvent
from claimdesk.payments.models import Refund, RefundStatus, SimulatedGatewaySwitch
from tests.factories import order_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def op_client(client, operator):
    client.force_login(operator)
    return client


def _console_urls() -> list[str]:
    resolver = get_resolver()
    console = resolver.url_patterns
    urls = []
    for pattern in console:
        if getattr(pattern, "app_name", None) == "console":
            for sub in pattern.url_patterns:
                assert isinstance(sub, URLPattern)
                kwargs = {k: ("shop000" if k == "code" else 1) for k in sub.pattern.converters}
                urls.append(reverse(f"console:{sub.name}", kwargs=kwargs))
    return urls


@pytest.mark.parametrize("who", ["seller", "buyer"])
def test_every_console_url_is_not_found_for_sellers_and_buyers(client, who, request):
    """Sellers and buyers get 404 on every console URL, the login page included, GET and POST."""
    client.force_login(request.getfixturevalue(who))
    urls = _console_urls()
    assert len(urls) >= 15
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"reason": "x"}).status_code == 404, url


def test_anonymous_goes_to_the_console_login_and_sellers_cannot_log_in(client, seller, operator):
    """Only an operator login signs in to the console."""
    response = client.get(reverse("console:home"))
    assert response.status_code == 302 and response["Location"].startswith("/console/login/")
    response = client.post(
        reverse("console:login"), {"username": seller.username, "password": "pw-for-tests-123"}
    )
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    response = client.post(
        reverse("console:login"), {"username": operator.username, "password": "pw-for-tests-123"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("console:home")


def test_operators_cannot_use_the_seller_portal(op_client):
    """An operator works only through the console: the seller portal is "not found"."""
    assert op_client.get(reverse("seller:home")).status_code == 404
    assert op_client.get(reverse("seller:inquiries")).status_code == 404


def test_queue_filters_and_assignment(op_client, operator, seller, other_seller):
    """The queue lists open inquiries with their age; filters and assignment work."""
    first = inquiry_open(
        actor=seller, category=InquiryCategory.WITHDRAW_COMPLAINT, subject="A", body="b"
    )
    inquiry_open(actor=other_seller, category=InquiryCategory.OTHER, subject="B", body="b")
    page = op_client.get(reverse("console:home")).content.decode()
    assert "A" in page and f'data-inquiry="{first.pk}"' in page
    page = op_client.get(reverse("console:home") + "?category=other").content.decode()
    assert f'data-inquiry="{first.pk}"' not in page
    op_client.post(reverse("console:inquiry_assign", args=[first.pk]), {"assignee": "me"})
    first.refresh_from_db()
    assert first.assigned_to == operator
    page = op_client.get(reverse("console:home") + "?assignee=me").content.decode()
    assert f'data-inquiry="{first.pk}"' in page


def test_withdraw_with_reason_from_an_inquiry(op_client, seller, buyer):
    """投诉撤回: the claim is withdrawn, the reason is in the history, the thread and both mails."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    inquiry = inquiry_open(
        actor=seller,
        category=InquiryCategory.WITHDRAW_COMPLAINT,
        subject="撤回",
        body="顾客一直没有撤销",
        order_nos=[str(order.order_no)],
    )
    response = op_client.post(
        reverse("console:order_withdraw", args=[order.order_no]),
        {"reason": "", "inquiry": inquiry.pk},
    )
    assert response.status_code == 302  # refused: a reason is required
    assert Claim.objects.get(order=order).status == ClaimStatus.CANCEL_REQUESTED
    op_client.post(
        reverse("console:order_withdraw", args=[order.order_no]),
        {"reason": "Buyer agreed by phone", "inquiry": inquiry.pk},
    )
    assert Claim.objects.get(order=order).status == ClaimStatus.WITHDRAWN
    assert OrderEvent.objects.filter(
        order=order, kind="claim.operator_withdraw", memo="Buyer agreed by phone"
    ).exists()
    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.ANSWERED
    assert inquiry.messages.filter(action="claim.operator_withdraw").exists()
    kinds = set(Notification.objects.filter(order=order).values_list("kind", "recipient"))
    assert ("claim_withdrawn", buyer.pk) in kinds
    assert Notification.objects.filter(kind="inquiry_answered", shop=seller.shop).exists()


def test_full_cancel_and_refund_on_the_buyers_behalf(op_client, seller, buyer, run_tasks):
    """订单取消·退款(全额) on an order the buyer never filed: cancelled and refunded in full."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    op_client.post(
        reverse("console:order_cancel", args=[order.order_no]),
        {"reason_code": "CUSTOMER_REQUEST", "reason": "Buyer asked by mail"},
    )
    run_tasks()
    claim = Claim.objects.get(order=order)
    assert claim.status == ClaimStatus.CANCEL_COMPLETED and claim.requested_by == "operator"
    assert Refund.objects.get(claim=claim).status == RefundStatus.SUCCEEDED


def test_decide_a_non_receipt_for_the_buyer(op_client, seller, buyer, run_tasks):
    """An escalated non-receipt decided for the buyer is refunded in full (14)."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    claim_report_non_receipt(actor=buyer, order=order, duty="SC", memo="nothing came")
    op_client.post(
        reverse("console:order_decide", args=[order.order_no]),
        {"decision": "refund", "reason": "Carrier confirmed loss"},
    )
    run_tasks()
    claim = Claim.objects.get(order=order)
    assert claim.status == ClaimStatus.NON_RECEIPT_REFUNDED
    assert Refund.objects.get(claim=claim).status == RefundStatus.SUCCEEDED


def test_failed_refund_retry_and_resolve(op_client, seller, buyer, run_tasks, settings):
    """The monitor lists a failed refund; retry sends it again; resolve settles it to the balance."""
    settings.CLAIMDESK = {**settings.CLAIMDESK, "REFUND_MAX_AUTO_RETRIES": 0}
    SimulatedGatewaySwitch.objects.update_or_create(pk=1, defaults={"mode": "fail", "remaining": 0})
    order = order_in("shipped", seller=seller, buyer=buyer)
    op_client.post(
        reverse("console:order_cancel", args=[order.order_no]),
        {"reason_code": "CUSTOMER_REQUEST", "reason": "r"},
    )
    run_tasks()
    refund = Refund.objects.get(order=order)
    assert refund.status == RefundStatus.FAILED
    page = op_client.get(reverse("console:refunds")).content.decode()
    assert f'data-refund="{refund.pk}"' in page
    op_client.post(reverse("console:refund_retry", args=[refund.pk]))
    run_tasks()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED and refund.attempt == 2
    op_client.post(reverse("console:refund_resolve", args=[refund.pk]), {"reason": "Card closed"})
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.destination == "balance"
    assert OrderEvent.objects.filter(
        order=order, kind="refund.resolved", memo="Card closed"
    ).exists()
    assert Claim.objects.get(order=order).status == ClaimStatus.CANCEL_COMPLETED


def test_claim_search_across_shops(op_client, seller, other_seller, buyer):
    """Search by order no, cart no and buyer finds claims of any shop."""
    a = order_in("confirmed", seller=seller, buyer=buyer)
    b = order_in("confirmed", seller=other_seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=a, reason="EDIT_ORDER")
    claim_request_cancel(actor=buyer, order=b, reason="EDIT_ORDER")
    page = op_client.get(reverse("console:claims") + f"?order_no={b.order_no}").content.decode()
    assert f'data-order="{b.order_no}"' in page and f'data-order="{a.order_no}"' not in page
    page = op_client.get(reverse("console:claims") + f"?cart_no={a.cart.cart_no}").content.decode()
    assert f'data-order="{a.order_no}"' in page
    page = op_client.get(reverse("console:claims") + f"?buyer={buyer.username}").content.decode()
    assert f'data-order="{a.order_no}"' in page and f'data-order="{b.order_no}"' in page
    page = op_client.get(reverse("console:order", args=[a.order_no])).content.decode()
    assert "claim.opened.cancel" in page


def test_impose_and_lift_a_restriction(op_client, seller):
    """Operators impose a restriction with a reason and lift it; the shop is mailed both times."""
    shop = seller.shop
    op_client.post(
        reverse("console:shop_restrict", args=[shop.code]), {"days": "7", "reason": "Fraud check"}
    )
    restriction = ShopRestriction.objects.get(shop=shop)
    assert restriction.reason == "Fraud check" and restriction.is_active()
    op_client.post(reverse("console:shop_lift", args=[shop.code, restriction.pk]))
    restriction.refresh_from_db()
    assert restriction.lifted_at is not None
    kinds = set(Notification.objects.filter(shop=shop).values_list("kind", flat=True))
    assert {"restriction_imposed", "restriction_lifted"} <= kinds
