"""The operator console: only operators, the queue, claim search, actions with reasons, refunds, shops."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.urls import URLPattern, get_resolver, reverse
from django.utils import timezone

from claimdesk.accounts.models import ShopRestriction
from claimdesk.claims.cancel import claim_request_cancel
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.claims.non_receipt import claim_report_non_receipt
from claimdesk.claims.operator import claim_escalate
from claimdesk.claims.returns import claim_request_return
from claimdesk.inquiries.models import InquiryCategory, InquiryStatus
from claimdesk.inquiries.services import inquiry_open
from claimdesk.messaging.delivery import render_notification
from claimdesk.messaging.models import Notification
from claimdesk.orders.models import OrderEvent
from claimdesk.payments.models import Refund, RefundStatus, SimulatedGatewaySwitch
from tests.factories import order_in

pytestmark = pytest.mark.django_db


def mailed(order, kind: str) -> set[tuple[str, int]]:
    """Return who was mailed `kind` about `order`: ("buyer", user id) or ("shop", shop id)."""
    rows = Notification.objects.filter(order=order, kind=kind)
    return {("shop", n.shop_id) if n.shop_id else ("buyer", n.recipient_id) for n in rows}


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
    claim_escalate(
        claim=claim_report_non_receipt(actor=buyer, order=order, duty="SC", memo="nothing came")
    )
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
    # without a reason the retry is refused and nothing changes
    response = op_client.post(reverse("console:refund_retry", args=[refund.pk]), {"reason": " "})
    assert response.status_code == 302
    refund.refresh_from_db()
    assert (refund.status, refund.attempt) == (RefundStatus.FAILED, 1)
    assert not OrderEvent.objects.filter(order=order, kind="refund.retried").exists()
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(m.startswith("Give the reason") and "Support reference" in m for m in messages)
    op_client.post(reverse("console:refund_retry", args=[refund.pk]), {"reason": "Gateway back up"})
    run_tasks()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED and refund.attempt == 2
    assert OrderEvent.objects.filter(
        order=order, kind="refund.retried", memo="Gateway back up"
    ).exists()
    assert mailed(order, "refund_retried") == {("buyer", buyer.pk), ("shop", seller.shop_id)}
    mail = Notification.objects.filter(kind="refund_retried", recipient=buyer).get()
    assert "Gateway back up" in render_notification(mail)[1]
    # resolving also needs a reason, and it is mailed to both parties
    op_client.post(reverse("console:refund_resolve", args=[refund.pk]), {"reason": ""})
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    op_client.post(reverse("console:refund_resolve", args=[refund.pk]), {"reason": "Card closed"})
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.destination == "balance"
    assert OrderEvent.objects.filter(
        order=order, kind="refund.resolved", memo="Card closed"
    ).exists()
    assert Claim.objects.get(order=order).status == ClaimStatus.CANCEL_COMPLETED
    assert mailed(order, "refund_resolved") == {("buyer", buyer.pk), ("shop", seller.shop_id)}
    mail = Notification.objects.filter(kind="refund_resolved", shop=seller.shop).first()
    assert mail is not None and "Card closed" in render_notification(mail)[1]


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
    # lifting needs a reason: refused without one, nothing changes
    op_client.post(reverse("console:shop_lift", args=[shop.code, restriction.pk]), {"reason": ""})
    restriction.refresh_from_db()
    assert restriction.lifted_at is None and restriction.is_active()
    op_client.post(
        reverse("console:shop_lift", args=[shop.code, restriction.pk]),
        {"reason": "Check passed"},
    )
    restriction.refresh_from_db()
    assert restriction.lifted_at is not None and restriction.lift_reason == "Check passed"
    kinds = set(Notification.objects.filter(shop=shop).values_list("kind", flat=True))
    assert {"restriction_imposed", "restriction_lifted_by_operator"} <= kinds
    mail = Notification.objects.get(shop=shop, kind="restriction_lifted_by_operator")
    assert "Check passed" in render_notification(mail)[1]
    # the record without an order is shown on the console's shop page and the seller's record
    page = op_client.get(reverse("console:shop", args=[shop.code])).content.decode()
    assert "Fraud check" in page and "Check passed" in page
    op_client.logout()
    op_client.force_login(seller)
    page = op_client.get(reverse("seller:record")).content.decode()
    assert "Fraud check" in page and "Check passed" in page
    assert 'data-kind="lifted"' in page and 'data-kind="restricted"' in page


# --- fix 5: decisions only on escalated claims -------------------------------------------


def test_decide_refuses_a_claim_that_was_not_escalated(op_client, seller, buyer):
    """A fresh non-receipt cannot be decided: the refusal says what to do instead."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    claim = claim_report_non_receipt(actor=buyer, order=order, duty="SC", memo="nothing came")
    page = op_client.get(reverse("console:order", args=[order.order_no])).content.decode()
    assert 'id="decide-form"' not in page
    response = op_client.post(
        reverse("console:order_decide", args=[order.order_no]),
        {"decision": "refund", "reason": "Carrier confirmed loss"},
    )
    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("was not escalated" in m and "withdraw" in m for m in messages)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.NON_RECEIPT_REPORTED and claim.is_open
    assert not Refund.objects.filter(order=order).exists()
    assert OrderEvent.objects.filter(
        order=order, kind="claim.operator_decide", refused=True, reason="claim_not_escalated"
    ).exists()


def test_decide_reject_closes_an_escalated_claim_for_the_seller(op_client, seller, buyer):
    """ "reject" withdraws the escalated claim; the reason is in the history and both are mailed."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    claim = claim_escalate(
        claim=claim_report_non_receipt(actor=buyer, order=order, duty="SC", memo="nothing came")
    )
    page = op_client.get(reverse("console:order", args=[order.order_no])).content.decode()
    assert 'id="decide-form"' in page
    op_client.post(
        reverse("console:order_decide", args=[order.order_no]),
        {"decision": "reject", "reason": "Tracking shows delivered to the door"},
    )
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.WITHDRAWN and not claim.is_open
    assert OrderEvent.objects.filter(
        order=order, memo="Tracking shows delivered to the door", refused=False
    ).exists()
    assert not Refund.objects.filter(order=order).exists()
    assert mailed(order, "claim_status_changed") >= {("buyer", buyer.pk), ("shop", seller.shop_id)}


def test_decide_an_escalated_return_for_the_buyer(op_client, seller, buyer, run_tasks):
    """An escalated return decided for the buyer is completed and refunded (6)."""
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim = claim_request_return(actor=buyer, order=order, reason="DEFECTIVE", memo="broken")
    claim_escalate(claim=claim)
    op_client.post(
        reverse("console:order_decide", args=[order.order_no]),
        {"decision": "refund", "reason": "Photos show the damage"},
    )
    run_tasks()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.RETURN_COMPLETED
    assert claim.operator_memo == "Photos show the damage"
    assert Refund.objects.get(claim=claim).status == RefundStatus.SUCCEEDED


# --- fix 5: the refund monitor ---------------------------------------------------------------


def test_refund_monitor_measures_pending_from_when_it_became_pending(
    op_client, seller, buyer, run_tasks, settings
):
    """Recovery touching updated_at does not hide a stuck refund; a retry restarts the clock."""
    from django_tasks_db.models import DBTaskResult

    from claimdesk.claims.refunds import refunds_recover
    from claimdesk.inquiries.selectors import refund_monitor

    settings.CLAIMDESK = {**settings.CLAIMDESK, "REFUND_STALE_PENDING_SECONDS": 600}
    order = order_in("shipped", seller=seller, buyer=buyer)
    op_client.post(
        reverse("console:order_cancel", args=[order.order_no]),
        {"reason_code": "CUSTOMER_REQUEST", "reason": "r"},
    )  # the refund task is not run: it stays pending
    refund = Refund.objects.get(order=order)
    assert refund.status == RefundStatus.PENDING
    assert refund not in refund_monitor()["stale"]
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    Refund.objects.filter(pk=refund.pk).update(
        created_at=hour_ago, updated_at=hour_ago, pending_since=hour_ago
    )
    # its worker died an hour ago in the middle of the task
    DBTaskResult.objects.filter(task_path="claimdesk.claims.refunds.process_refund").update(
        status="RUNNING", started_at=hour_ago
    )
    assert refunds_recover() == 1  # touches updated_at
    refund.refresh_from_db()
    assert refund.updated_at > hour_ago and refund.pending_since == hour_ago
    assert [r.pk for r in refund_monitor()["stale"]] == [refund.pk]
    page = op_client.get(reverse("console:refunds")).content.decode()
    assert f'data-refund="{refund.pk}"' in page.split('id="refunds-stale"')[1].split("</table>")[0]
    # a refund that failed long ago and is retried now is pending since now
    Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.FAILED)
    op_client.post(reverse("console:refund_retry", args=[refund.pk]), {"reason": "again"})
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING and refund.pending_since > hour_ago
    assert refund_monitor()["stale"] == []


def test_refund_monitor_totals_per_day(seller, buyer, run_tasks, settings):
    """Refunds are counted and summed per day (Tokyo), with failed and retried ones."""
    from claimdesk.inquiries.selectors import refund_monitor

    settings.CLAIMDESK = {**settings.CLAIMDESK, "REFUND_MAX_AUTO_RETRIES": 0}
    from claimdesk.accounts.models import Role, User
    from claimdesk.claims.operator import claim_operator_cancel

    operator = User.objects.filter(role=Role.OPERATOR).first() or User.objects.create_user(
        "op-totals", role=Role.OPERATOR
    )
    orders = [order_in("shipped", seller=seller, buyer=buyer) for _ in range(3)]
    for order in orders:
        claim_operator_cancel(actor=operator, order=order, reason="CUSTOMER_REQUEST", memo="m")
    run_tasks()
    refunds = list(Refund.objects.order_by("pk"))
    assert all(r.status == RefundStatus.SUCCEEDED for r in refunds)
    today = timezone.localtime()
    yesterday = today - dt.timedelta(days=1)
    Refund.objects.filter(pk=refunds[0].pk).update(created_at=yesterday)
    Refund.objects.filter(pk=refunds[1].pk).update(status=RefundStatus.FAILED, attempt=2)
    totals = {t["day"]: t for t in refund_monitor()["totals"]}
    assert set(totals) == {today.date(), yesterday.date()}
    day = totals[today.date()]
    assert (day["count"], day["succeeded"], day["failed"], day["retried"]) == (2, 1, 1, 1)
    assert day["amount_total"] == refunds[1].amount_minor + refunds[2].amount_minor
    assert day["failed_amount"] == refunds[1].amount_minor
    assert totals[yesterday.date()]["count"] == 1


# --- fix 5: queue and search filters ---------------------------------------------------------


def test_queue_filters_by_sla_shop_and_status(op_client, seller, other_seller):
    """Overdue only, shop and status filters; the row shows how long it waited."""
    from claimdesk.inquiries.models import Inquiry
    from claimdesk.inquiries.services import inquiry_close

    old = inquiry_open(actor=seller, category=InquiryCategory.OTHER, subject="Old", body="b")
    fresh = inquiry_open(
        actor=other_seller, category=InquiryCategory.OTHER, subject="New", body="b"
    )
    closed = inquiry_open(actor=seller, category=InquiryCategory.OTHER, subject="Done", body="b")
    inquiry_close(actor=seller, inquiry=closed)
    Inquiry.objects.filter(pk=old.pk).update(waiting_since=timezone.now() - dt.timedelta(hours=30))

    def listed(query: str) -> set[int]:
        page = op_client.get(reverse("console:home") + query).content.decode()
        return {i.pk for i in (old, fresh, closed) if f'data-inquiry="{i.pk}"' in page}

    assert listed("") == {old.pk, fresh.pk}  # waiting for us, the closed one is not
    assert listed("?overdue=1") == {old.pk}
    assert listed(f"?shop={other_seller.shop.code}") == {fresh.pk}
    assert listed("?status=closed") == {closed.pk}
    assert listed("?status=all") == {old.pk, fresh.pk, closed.pk}
    page = op_client.get(reverse("console:home")).content.decode()
    row = page.split(f'data-inquiry="{old.pk}"')[1].split("</tr>")[0]
    assert "<td data-age>1\xa0day, 6\xa0hours" in row and "SLA" in row  # age, past the SLA
    row = page.split(f'data-inquiry="{fresh.pk}"')[1].split("</tr>")[0]
    assert "SLA" not in row


def test_claim_search_by_status_and_period(op_client, seller, buyer):
    """The status and the request period narrow the search."""
    a = order_in("confirmed", seller=seller, buyer=buyer)
    b = order_in("shipped", seller=seller, buyer=buyer)
    claim_a = claim_request_cancel(actor=buyer, order=a, reason="EDIT_ORDER")
    claim_report_non_receipt(actor=buyer, order=b, duty="SC", memo="x")
    Claim.objects.filter(pk=claim_a.pk).update(requested_at=timezone.now() - dt.timedelta(days=20))
    url = reverse("console:claims")

    def found(query: str) -> set[int]:
        page = op_client.get(url + query).content.decode()
        return {o.order_no for o in (a, b) if f'data-order="{o.order_no}"' in page}

    today = timezone.localdate()
    week_ago = (today - dt.timedelta(days=7)).isoformat()
    month_ago = (today - dt.timedelta(days=30)).isoformat()
    assert found(f"?status={ClaimStatus.NON_RECEIPT_REPORTED.value}") == {b.order_no}
    assert found(f"?status={ClaimStatus.CANCEL_REQUESTED.value}") == {a.order_no}
    assert found(f"?date_from={week_ago}&date_to={today.isoformat()}") == {b.order_no}
    assert found(f"?date_from={month_ago}&date_to={today.isoformat()}") == {a.order_no, b.order_no}
    assert found(f"?date_from={month_ago}&date_to={week_ago}") == {a.order_no}


# --- fix 5: actions reach both parties; anonymous users change nothing -----------------------


def test_full_cancel_reason_is_in_the_history_and_both_parties_are_mailed(op_client, seller, buyer):
    """订单取消·退款(全额): the reason is on the claim and in the mails to buyer and shop."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    op_client.post(
        reverse("console:order_cancel", args=[order.order_no]),
        {"reason_code": "CUSTOMER_REQUEST", "reason": "Buyer phoned the center"},
    )
    claim = Claim.objects.get(order=order)
    assert claim.operator_memo == "Buyer phoned the center"
    page = op_client.get(reverse("console:order", args=[order.order_no])).content.decode()
    assert "Buyer phoned the center" in page
    who = {
        ("shop", n.shop_id) if n.shop_id else ("buyer", n.recipient_id)
        for n in Notification.objects.filter(order=order)
    }
    assert {("buyer", buyer.pk), ("shop", seller.shop_id)} <= who
    texts = [render_notification(n)[1] for n in Notification.objects.filter(order=order)]
    assert any("Buyer phoned the center" in t for t in texts)


def test_full_cancel_reason_is_the_history_memo(op_client, seller, buyer):
    """The operator's reason is the memo of the history line that opened the cancel."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    op_client.post(
        reverse("console:order_cancel", args=[order.order_no]),
        {"reason_code": "CUSTOMER_REQUEST", "reason": "Buyer phoned the center"},
    )
    assert OrderEvent.objects.filter(order=order, memo="Buyer phoned the center").exists()


def test_withdraw_mails_the_shop(op_client, seller, buyer):
    """投诉撤回 tells the shop too, with the reason."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    op_client.post(
        reverse("console:order_withdraw", args=[order.order_no]),
        {"reason": "Buyer agreed by phone"},
    )
    shop_mails = Notification.objects.filter(order=order, shop=seller.shop)
    assert shop_mails.exists()
    assert any("Buyer agreed by phone" in render_notification(n)[1] for n in shop_mails)


def test_anonymous_posts_to_every_console_action_go_to_the_login_and_change_nothing(
    client, seller, buyer, operator
):
    """Signed out, every console URL (GET and POST) redirects to the console login."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim = claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    restriction = ShopRestriction.objects.create(
        shop=seller.shop, reason="r", ends_at=timezone.now() + dt.timedelta(days=3)
    )
    inquiry = inquiry_open(actor=seller, category=InquiryCategory.OTHER, subject="s", body="b")
    kwargs = {
        "inquiry_id": inquiry.pk,
        "attachment_id": 1,
        "order_no": order.order_no,
        "refund_id": 1,
        "code": seller.shop.code,
        "restriction_id": restriction.pk,
    }
    events = OrderEvent.objects.count()
    mails = Notification.objects.count()
    resolver = get_resolver()
    checked = 0
    for pattern in resolver.url_patterns:
        if getattr(pattern, "app_name", None) != "console":
            continue
        for sub in pattern.url_patterns:
            if sub.name == "login":
                continue
            url = reverse(
                f"console:{sub.name}", kwargs={k: kwargs[k] for k in sub.pattern.converters}
            )
            data = {"reason": "x", "decision": "reject", "assignee": "me", "body": "b", "days": "3"}
            response = client.post(url, data)
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("console:login")), url
            checked += 1
    assert checked >= 18
    claim.refresh_from_db()
    restriction.refresh_from_db()
    inquiry.refresh_from_db()
    assert claim.status == ClaimStatus.CANCEL_REQUESTED and claim.is_open
    assert restriction.lifted_at is None and ShopRestriction.objects.count() == 1
    assert inquiry.status == InquiryStatus.OPEN and inquiry.assigned_to is None
    assert (OrderEvent.objects.count(), Notification.objects.count()) == (events, mails)
