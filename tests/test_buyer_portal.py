"""The buyer's My page through Django's test client."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from claimdesk.claims.cancel import claim_cancel_instantly, claim_seller_cancel
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.orders.models import ShippingStatus
from claimdesk.payments.models import RefundStatus
from tests.factories import order_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer)
    return client


def test_orders_list_shows_only_the_actions_open_now(buyer_client, seller, buyer):
    """A new order offers cancel now; a confirmed one offers request cancellation instead."""
    new = order_in("new", seller=seller, buyer=buyer)
    confirmed = order_in("confirmed", seller=seller, buyer=buyer)
    html = buyer_client.get(reverse("buyer:orders")).content.decode()
    new_row = html.split(f'data-order="{new.order_no}"')[1].split("</tr>")[0]
    confirmed_row = html.split(f'data-order="{confirmed.order_no}"')[1].split("</tr>")[0]
    assert 'data-action="cancel_now"' in new_row and 'data-action="request_cancel"' not in new_row
    assert (
        'data-action="request_cancel"' in confirmed_row
        and 'data-action="cancel_now"' not in confirmed_row
    )


def test_closed_action_says_why(buyer_client, seller, buyer):
    """On a confirmed order the cancel-now box says to ask for cancellation instead."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    buyer.language = "en"
    buyer.save()
    html = buyer_client.get(reverse("buyer:order", args=[order.order_no])).content.decode()
    assert 'data-why="cancel_now"' in html
    assert "ask for cancellation instead" in html


def test_buyer_cancels_new_order_and_sees_refund_done(buyer_client, seller, buyer, run_tasks):
    """Cancel at once: the refund is recorded and after the worker shows 払い戻し完了."""
    order = order_in("new", seller=seller, buyer=buyer)
    buyer_client.post(reverse("buyer:cancel_now", args=[order.order_no]), {"reason": "EDIT_ORDER"})
    run_tasks()
    claim = Claim.objects.get(order=order)
    assert claim.status == ClaimStatus.CANCEL_COMPLETED
    html = buyer_client.get(reverse("buyer:refunds") + f"?open={claim.pk}").content.decode()
    assert f'data-refund-status="{RefundStatus.SUCCEEDED}"' in html
    assert "払い戻し完了" in html


def test_refund_detail_shows_reason_with_responsible_party(buyer_client, seller, buyer):
    """The detail shows 在庫切れ (販売者の責任) and the seller memo, as in the seed's screenshot."""
    order = order_in("new", seller=seller, buyer=buyer, method="bank_transfer")
    claim = claim_seller_cancel(
        actor=seller,
        order=order,
        reason="OUT_OF_STOCK",
        seller_memo="テスト(販売者メモ)",
        confirm_without_notice=True,
    )
    html = buyer_client.get(reverse("buyer:refunds") + f"?open={claim.pk}").content.decode()
    assert "在庫切れ" in html and "販売者の責任" in html
    assert "テスト(販売者メモ)" in html
    assert "プラットフォーム残高" in html  # bank transfer money goes to the balance


def test_request_cancel_then_withdraw_then_withdraw_again(buyer_client, seller, buyer):
    """A withdrawn request cannot be withdrawn again: a clear message, nothing changes."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    buyer_client.post(
        reverse("buyer:request_cancel", args=[order.order_no]), {"reason": "EDIT_ORDER"}
    )
    assert Claim.objects.get(order=order).status == ClaimStatus.CANCEL_REQUESTED
    buyer_client.post(reverse("buyer:withdraw", args=[order.order_no]), {})
    assert Claim.objects.get(order=order).status == ClaimStatus.WITHDRAWN
    response = buyer_client.post(reverse("buyer:withdraw", args=[order.order_no]), {})
    assert response.status_code == 404  # no open request left
    assert Claim.objects.get(order=order).status == ClaimStatus.WITHDRAWN


def test_confirm_receipt_moves_shipped_order_to_delivered(buyer_client, seller, buyer):
    order = order_in("shipped", seller=seller, buyer=buyer)
    buyer_client.post(reverse("buyer:confirm_receipt", args=[order.order_no]))
    order.refresh_from_db()
    assert order.shipping_status == ShippingStatus.DELIVERED


def test_balance_page_lists_the_refund_credit(buyer_client, seller, buyer):
    order = order_in("new", seller=seller, buyer=buyer, method="convenience_store")
    claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    html = buyer_client.get(reverse("buyer:balance")).content.decode()
    assert 'data-balance="1500"' in html  # item 1000 + shipping 500, buyer's fault: no fee back


def test_someone_elses_order_is_not_found_on_every_buyer_url(client, seller, buyer, other_buyer):
    """Every buyer URL of another buyer's order answers 404 and changes nothing."""
    order = order_in("new", seller=seller, buyer=buyer)
    client.force_login(other_buyer)
    for name in ("buyer:order",):
        assert client.get(reverse(name, args=[order.order_no])).status_code == 404
    for name in (
        "buyer:cancel_now",
        "buyer:request_cancel",
        "buyer:request_return",
        "buyer:report_non_receipt",
        "buyer:withdraw",
        "buyer:confirm_receipt",
    ):
        response = client.post(
            reverse(name, args=[order.order_no]),
            {"reason": "EDIT_ORDER", "kind": "return", "duty": "SC"},
        )
        assert response.status_code == 404, name
    assert not Claim.objects.filter(order=order).exists()


def test_sellers_get_not_found_on_my_page(client, seller):
    client.force_login(seller)
    assert client.get(reverse("buyer:orders")).status_code == 404


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_return_with_photos_sends_them_to_the_seller(buyer_client, seller, buyer):
    """A return request with a photo: the claim opens and the seller can download the photo."""
    order = order_in("delivered", seller=seller, buyer=buyer)
    buyer_client.post(
        reverse("buyer:request_return", args=[order.order_no]),
        {
            "kind": "return",
            "reason": "DEFECTIVE",
            "memo": "壊れていました",
            "photos": [_upload("broken.png", PNG)],
        },
    )
    claim = Claim.objects.get(order=order)
    assert claim.status == ClaimStatus.RETURN_REQUESTED
    from claimdesk.messaging.models import NoteAttachment

    attachment = NoteAttachment.objects.get(note__order=order)
    client = Client()
    client.force_login(seller)
    response = client.get(reverse("seller:note_attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG


def test_return_with_a_renamed_executable_is_refused_and_nothing_opens(buyer_client, seller, buyer):
    """An executable named .jpg is refused by content; no claim is opened."""
    order = order_in("delivered", seller=seller, buyer=buyer)
    response = buyer_client.post(
        reverse("buyer:request_return", args=[order.order_no]),
        {
            "kind": "return",
            "reason": "DEFECTIVE",
            "photos": [_upload("photo.jpg", b"MZ\x90\x00" + b"\x00" * 200)],
        },
        follow=True,
    )
    assert response.status_code == 200
    assert not Claim.objects.filter(order=order).exists()


def test_return_photos_over_4_mb_are_refused(buyer_client, seller, buyer):
    """4 MB + 1 byte in all is refused; no claim is opened."""
    order = order_in("delivered", seller=seller, buyer=buyer)
    big = PNG + b"\x00" * (4 * 1024 * 1024 + 1 - len(PNG))
    buyer_client.post(
        reverse("buyer:request_return", args=[order.order_no]),
        {"kind": "return", "reason": "DEFECTIVE", "photos": [_upload("big.png", big)]},
    )
    assert not Claim.objects.filter(order=order).exists()


def test_buyer_writes_to_the_shop_and_reads_the_reply(buyer_client, seller, buyer):
    """A buyer's note reaches the seller's inbox; the seller's reply shows in the buyer's thread."""
    from claimdesk.messaging.services import note_send

    order = order_in("shipped", seller=seller, buyer=buyer)
    buyer_client.post(
        reverse("buyer:note_send", args=[order.order_no]),
        {"category": "shipping", "title": "届きません", "body": "まだ届いていません。"},
    )
    client = Client()
    client.force_login(seller)
    assert "届きません" in client.get(reverse("seller:notes") + "?box=inbox").content.decode()
    note_send(
        actor=seller,
        order=order,
        category="shipping",
        title="Re: 届きません",
        body="本日発送しました。",
    )
    html = buyer_client.get(reverse("buyer:notes") + f"?order={order.order_no}").content.decode()
    assert "本日発送しました。" in html


def test_buyer_cannot_read_another_buyers_thread_or_files(client, seller, buyer, other_buyer):
    from claimdesk.messaging.models import NoteAttachment
    from claimdesk.messaging.services import note_send

    order = order_in("shipped", seller=seller, buyer=buyer)
    note_send(
        actor=seller,
        order=order,
        category="shipping",
        title="t",
        body="b",
        attachments=[_upload("a.png", PNG)],
    )
    attachment = NoteAttachment.objects.get()
    client.force_login(other_buyer)
    assert client.get(reverse("buyer:notes") + f"?order={order.order_no}").status_code == 404
    assert client.get(reverse("buyer:note_attachment", args=[attachment.pk])).status_code == 404
    assert (
        client.post(
            reverse("buyer:note_send", args=[order.order_no]),
            {"title": "x", "body": "y", "category": "other"},
        ).status_code
        == 404
    )


def test_push_device_registry_counts_in_the_note_result(buyer_client, seller, buyer, run_tasks):
    """No device means 0 pushed; a registered device gets the seller's note pushed."""
    from claimdesk.messaging.models import PushDevice
    from claimdesk.messaging.selectors import delivery_results
    from claimdesk.messaging.services import note_send

    order = order_in("new", seller=seller, buyer=buyer)
    first = note_send(actor=seller, order=order, category="shipping", title="t", body="b")
    run_tasks()
    push = {r.channel: r for r in delivery_results(first)}["push"]
    assert (push.sent, push.failed) == (0, 0)
    buyer_client.post(reverse("buyer:devices"), {"platform": "android", "token": "tok-123"})
    assert PushDevice.objects.get(user=buyer).token == "tok-123"
    second = note_send(actor=seller, order=order, category="shipping", title="t2", body="b2")
    run_tasks()
    push = {r.channel: r for r in delivery_results(second)}["push"]
    assert push.sent == 1


def test_a_1001_character_note_is_refused(buyer_client, seller, buyer):
    from claimdesk.messaging.models import Note

    order = order_in("new", seller=seller, buyer=buyer)
    response = buyer_client.post(
        reverse("buyer:note_send", args=[order.order_no]),
        {"category": "other", "title": "長い", "body": "あ" * 1001},
        follow=True,
    )
    assert "text_too_long" in response.content.decode() or "1001" in response.content.decode()
    assert not Note.objects.filter(order=order).exists()


@pytest.mark.parametrize(
    "name", ["buyer:orders", "buyer:refunds", "buyer:balance", "buyer:notes", "buyer:devices"]
)
def test_buyer_pages_use_a_fixed_number_of_queries(buyer_client, seller, buyer, name):
    """My page lists do not grow their query count with the number of orders."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert buyer_client.get(reverse(name)).status_code == 200
        return len(ctx.captured_queries)

    order = order_in("new", seller=seller, buyer=buyer, method="bank_transfer")
    claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    few = count()
    for _ in range(4):
        more = order_in("new", seller=seller, buyer=buyer, method="bank_transfer")
        claim_cancel_instantly(actor=buyer, order=more, reason="EDIT_ORDER")
    assert count() == few
    assert few <= 12


def test_another_buyer_cannot_remove_my_device(client, buyer, other_buyer):
    from claimdesk.messaging.models import PushDevice

    device = PushDevice.objects.create(user=buyer, token="tok-mine", platform="android")
    client.force_login(other_buyer)
    response = client.post(reverse("buyer:devices"), {"action": "remove", "device": device.pk})
    assert response.status_code == 404
    assert PushDevice.objects.filter(pk=device.pk).exists()


def test_lists_never_show_another_buyers_orders(buyer_client, seller, buyer, other_buyer):
    theirs = order_in("new", seller=seller, buyer=other_buyer, method="bank_transfer")
    claim_cancel_instantly(actor=other_buyer, order=theirs, reason="EDIT_ORDER")
    for name in ("buyer:orders", "buyer:refunds", "buyer:balance", "buyer:notes"):
        assert str(theirs.order_no) not in buyer_client.get(reverse(name)).content.decode(), name
