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
from django_tasks_db.models import DBTaskResult

from claimdesk.claims import services as claims
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
    claims.claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER", memo="間違えました")
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
    assert Notification.objects.get().status == NotificationStatus.SENT


def test_instant_cancel_of_new_order_mails_no_one_but_refunds(smtp, seller, buyer, run_tasks):
    """The seed's FAQ: a buyer's instant cancel of a new order mails no one but refunds at once."""
    order = order_in("new", seller=seller, buyer=buyer, method="bank_transfer")
    smtp.messages.clear()
    claims.claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
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
    claims.claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    run_tasks()
    notification = Notification.objects.get()
    assert notification.status == NotificationStatus.FAILED
    assert notification.attempts == 1
    assert (
        DBTaskResult.objects.filter(status="READY", task_path__endswith="send_notification").count()
        == 1
    )
