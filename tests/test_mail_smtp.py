"""Mail leaves through the worker over real SMTP, and never for a rolled-back change."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from claimdesk.claims.cancel import (
    claim_cancel_instantly,
    claim_request_cancel,
    claim_seller_cancel,
    claim_withdraw,
)
from claimdesk.claims.non_receipt import claim_report_non_receipt
from claimdesk.claims.operator import claim_escalate, claim_operator_cancel, claim_operator_withdraw
from claimdesk.claims.reasons import get_reason
from claimdesk.claims.returns import claim_request_return
from claimdesk.messaging.models import Notification, NotificationStatus
from claimdesk.messaging.services import notify
from tests.factories import order_in

pytestmark = pytest.mark.django_db


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(list(envelope.rcpt_tos))
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 OK"


@pytest.fixture
def smtp(settings: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": port},
            }
        }
        yield inbox
    finally:
        controller.stop()


def _text(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_cancel_request_on_confirmed_order_mails_the_seller(smtp, seller, buyer, run_tasks):
    """The seed's FAQ: a buyer's cancel request on a confirmed order mails the seller."""
    # given
    order = order_in("confirmed", seller=seller, buyer=buyer)
    # when
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER", memo="間違えました")
    assert smtp.messages == []  # nothing leaves inside the request
    run_tasks()
    # then
    assert smtp.envelopes == [[seller.shop.email]]
    message = smtp.messages[0]
    assert str(order.order_no) in message["Subject"]
    assert str(order.order_no) in _text(message)
    assert (
        "取消申请" in message["Subject"] or "取消" in message["Subject"]
    )  # the shop reads Chinese
    with translation.override("zh-hans"):
        label = str(get_reason("cancel", "EDIT_ORDER").label)
    assert label != "EDIT_ORDER" and f"{label}" in _text(message)  # the reason's label, in Chinese
    assert "EDIT_ORDER" not in _text(message)
    assert Notification.objects.get().status == NotificationStatus.SENT


def test_instant_cancel_of_new_order_mails_no_one_but_refunds(smtp, seller, buyer, run_tasks):
    """The seed's FAQ: a buyer's instant cancel of a new order mails no one but refunds at once."""
    order = order_in("new", seller=seller, buyer=buyer, method="bank_transfer")
    smtp.messages.clear()
    claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    run_tasks()
    # only the buyer's own "refund completed" receipt, nothing to the seller
    assert all(seller.shop.email not in rcpts for rcpts in smtp.envelopes)
    assert smtp.envelopes == [[buyer.email]]
    assert "払い戻し" in smtp.messages[0]["Subject"]  # the buyer reads Japanese


def test_rolled_back_change_sends_nothing(smtp, seller, buyer, run_tasks):
    """A notification queued in a transaction that rolls back leaves no row, no task and no mail."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    tasks_before = DBTaskResult.objects.count()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        notify(shop=order.shop, kind="cancel_requested", order=order)
        raise Boom

    assert Notification.objects.count() == 0
    assert DBTaskResult.objects.count() == tasks_before
    run_tasks()
    assert smtp.messages == []


def test_smtp_failure_is_retried_later(settings, seller, buyer, run_tasks):
    """A mail the server refuses is marked failed and queued again with back-off."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
        }
    }
    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    run_tasks()
    notification = Notification.objects.get()
    assert notification.status == NotificationStatus.FAILED
    assert notification.attempts == 1
    assert (
        DBTaskResult.objects.filter(status="READY", task_path__endswith="send_notification").count()
        == 1
    )


def _seller_cancel(seller, buyer):
    order = order_in("new", seller=seller, buyer=buyer)
    claim_seller_cancel(
        actor=seller,
        order=order,
        reason="OUT_OF_STOCK",
        seller_memo="在庫切れです",
        confirm_without_notice=True,
    )
    return order, [buyer.email], "在庫切れです"


def _return_requested(seller, buyer):
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=order, reason="DEFECTIVE", memo="割れていました")
    return order, [seller.shop.email], "割れていました"


def _exchange_requested(seller, buyer):
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=order, reason="WRONG_ITEM", exchange=True)
    return order, [seller.shop.email], str(order.order_no)


def _non_receipt(seller, buyer):
    order = order_in("shipped", seller=seller, buyer=buyer)
    claim_report_non_receipt(actor=buyer, order=order)
    return order, [seller.shop.email], str(order.order_no)


def _operator_withdraw(seller, buyer):
    from tests.factories import OperatorFactory

    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim = claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    claim_operator_withdraw(
        actor=OperatorFactory(), claim=claim, reason="ショップの依頼により取り下げ"
    )
    return order, [seller.shop.email, buyer.email], "ショップの依頼により取り下げ"


def _shipping_delay(seller, buyer):
    import datetime as dt

    from django.utils import timezone

    from claimdesk.orders.services import order_register_delay

    order = order_in("new", seller=seller, buyer=buyer)
    order_register_delay(
        actor=seller,
        order=order,
        est_ship_date=timezone.localdate() + dt.timedelta(days=5),
        delay_type=4,
        memo="入荷待ち",
    )
    return order, [buyer.email], "入荷待ち"


@pytest.mark.parametrize(
    "scenario",
    [
        _seller_cancel,
        _return_requested,
        _exchange_requested,
        _non_receipt,
        _operator_withdraw,
        _shipping_delay,
    ],
    ids=[
        "seller-cancel",
        "return",
        "exchange",
        "non-receipt",
        "operator-withdraw",
        "shipping-delay",
    ],
)
def test_each_notification_reaches_its_recipients_in_their_language(
    smtp, seller, buyer, run_tasks, scenario
):
    """SPEC section 7: who gets which mail, in their language, with HTML and text parts."""
    order, recipients, expected_text = scenario(seller, buyer)
    smtp.messages.clear()
    smtp.envelopes.clear()
    run_tasks()
    received = [rcpt for rcpts in smtp.envelopes for rcpt in rcpts]
    for recipient in recipients:
        assert recipient in received
    for message, rcpts in zip(smtp.messages, smtp.envelopes, strict=True):
        text = _text(message)
        html = message.get_body(preferencelist=("html",))
        assert html is not None and str(order.order_no) in html.get_content()
        assert str(order.order_no) in message["Subject"] + text
        if rcpts == [buyer.email]:
            assert 'lang="ja"' in html.get_content()
        if rcpts == [seller.shop.email]:
            assert 'lang="zh-hans"' in html.get_content()
    assert any(expected_text in _text(m) for m in smtp.messages)


def _operator_full_cancel(seller, buyer):
    from tests.factories import OperatorFactory

    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim_operator_cancel(
        actor=OperatorFactory(),
        order=order,
        reason="CUSTOMER_REQUEST",
        memo="お客様のご依頼により全額返金",
    )
    return order, [buyer.email, seller.shop.email], "お客様のご依頼により全額返金"


def _buyer_withdraws(seller, buyer):
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim = claim_request_return(actor=buyer, order=order, reason="OTHER")
    claim_withdraw(actor=buyer, claim=claim, memo="自分で直せました")
    return order, [seller.shop.email], "自分で直せました"


def _delayed_order_cancelled_by_buyer(seller, buyer):
    order = order_in("delayed", seller=seller, buyer=buyer)
    claim_cancel_instantly(actor=buyer, order=order, reason="SHIPPING_DELAY")
    return order, [seller.shop.email], str(order.order_no)


def _escalated(seller, buyer):
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim = claim_request_return(actor=buyer, order=order, reason="DEFECTIVE")
    claim_escalate(claim=claim)
    return order, [seller.shop.email], str(order.order_no)


def _refund_failed(seller, buyer):
    from claimdesk.payments.gateways import set_simulated_mode

    order = order_in("new", seller=seller, buyer=buyer)
    set_simulated_mode("fail", remaining=1)
    claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    return order, [buyer.email], str(order.order_no)


@pytest.mark.parametrize(
    "scenario",
    [
        _operator_full_cancel,
        _buyer_withdraws,
        _delayed_order_cancelled_by_buyer,
        _escalated,
        _refund_failed,
    ],
    ids=[
        "operator-full-cancel",
        "buyer-withdraws",
        "delayed-instant-cancel",
        "escalated",
        "refund-failed",
    ],
)
def test_more_notifications_reach_their_recipients(smtp, seller, buyer, run_tasks, scenario):
    """The rest of SPEC section 7: each mail reaches the party it is for."""
    order, recipients, expected_text = scenario(seller, buyer)
    run_tasks()
    received = [rcpt for rcpts in smtp.envelopes for rcpt in rcpts]
    for recipient in recipients:
        assert recipient in received
    assert any(expected_text in _text(m) or expected_text in m["Subject"] for m in smtp.messages)


def test_an_english_buyer_reads_english(smtp, seller, buyer, run_tasks):
    """The recipient's language, not the actor's, decides the mail's language."""
    buyer.language = "en"
    buyer.save()
    order = order_in("new", seller=seller, buyer=buyer)
    claim_seller_cancel(
        actor=seller, order=order, reason="OUT_OF_STOCK", confirm_without_notice=True
    )
    run_tasks()
    mine = [
        m for m, rcpts in zip(smtp.messages, smtp.envelopes, strict=True) if rcpts == [buyer.email]
    ]
    assert any("was cancelled" in m["Subject"] for m in mine)
    assert any("Out of stock" in _text(m) for m in mine)
