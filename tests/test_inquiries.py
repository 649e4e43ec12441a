"""Seller inquiries: the seed's category tree, own orders only, files, the error reference, the thread."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claimdesk.core.errors import InvalidInput, NotFound
from claimdesk.inquiries.models import Inquiry, InquiryCategory, InquiryStatus, category_path
from claimdesk.inquiries.services import inquiry_open, inquiry_reply
from claimdesk.messaging.models import Notification
from tests.factories import order_in

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 100


@pytest.fixture
def seller_client(client, seller):
    client.force_login(seller)
    return client


def test_category_tree_is_the_seeds(settings):
    """The three FAQ routes of the seed exist as [group] > [category], in Chinese too."""
    from django.utils import translation

    with translation.override("en"):
        assert category_path(InquiryCategory.WITHDRAW_COMPLAINT) == (
            "[Refund · complaint withdrawal] > [Complaint withdrawal]"
        )
    with translation.override("zh-hans"):
        assert category_path(InquiryCategory.WITHDRAW_COMPLAINT) == "[退款·投诉撤回] > [投诉撤回]"
        assert category_path(InquiryCategory.JQSM_CLAIMS) == (
            "[JQSM操作方法] > [投诉管理(退货·交换·未收取)]"
        )
        assert category_path(InquiryCategory.FULL_CANCEL_REFUND) == (
            "[退款·投诉撤回] > [订单取消·退款(全额)]"
        )


def test_seller_opens_an_inquiry_naming_own_order_with_a_screenshot(seller_client, seller, buyer):
    """An inquiry carries the shop's order, the screenshot and the error reference."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    response = seller_client.post(
        reverse("seller:inquiry_new"),
        {
            "category": InquiryCategory.JQSM_CLAIMS,
            "subject": "退款报错",
            "order_nos": str(order.order_no),
            "body": "取消操作中出现系统报错",
            "error_reference": "ABCDEF1234",
            "error_code": "refund_exists",
            "attachments": [SimpleUploadedFile("shot.png", PNG, content_type="image/png")],
        },
    )
    assert response.status_code == 302
    inquiry = Inquiry.objects.get()
    assert list(inquiry.orders.all()) == [order]
    assert inquiry.error_reference == "ABCDEF1234" and inquiry.error_code == "refund_exists"
    assert inquiry.status == InquiryStatus.OPEN
    files = inquiry.messages.get().attachments.all()
    assert [f.content_type for f in files] == ["image/png"]
    page = seller_client.get(reverse("seller:inquiry", args=[inquiry.pk]))
    assert "ABCDEF1234" in page.content.decode()
    download = seller_client.get(reverse("seller:inquiry_attachment", args=[files[0].pk]))
    assert download.status_code == 200


def test_form_takes_the_reference_from_the_error_message(seller_client):
    """The refusal's link opens the form with the reference and code filled in."""
    page = seller_client.get(
        reverse("seller:inquiry_new") + "?reference=ABC123XYZ0&code=claim_open"
    )
    html = page.content.decode()
    assert 'value="ABC123XYZ0"' in html and 'value="claim_open"' in html


def test_refusal_shown_to_a_seller_links_to_the_customer_center(seller_client, seller, buyer):
    """An htmx refusal carries a link to the inquiry form with its reference."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    response = seller_client.post(
        reverse("seller:order_cancel", args=[order.order_no]),
        {"mode": "cancel", "reason": "OUT_OF_STOCK", "seller_memo": "x"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "/seller/inquiries/new/?reference=" in html
    assert f"order={order.order_no}" in html


def test_a_seller_cannot_name_another_shops_order(seller, other_seller, buyer):
    """Naming an order of another shop is refused as "not found", and nothing is created."""
    foreign = order_in("new", seller=other_seller, buyer=buyer)
    with pytest.raises(NotFound):
        inquiry_open(
            actor=seller,
            category=InquiryCategory.WITHDRAW_COMPLAINT,
            subject="s",
            body="b",
            order_nos=[str(foreign.order_no)],
        )
    assert not Inquiry.objects.exists()


def test_executable_attachment_is_refused(seller):
    """Files are checked by content, like note attachments."""
    with pytest.raises(InvalidInput) as error:
        inquiry_open(
            actor=seller,
            category=InquiryCategory.OTHER,
            subject="s",
            body="b",
            attachments=[SimpleUploadedFile("a.png", b"MZ\x90\x00binary")],
        )
    assert error.value.code == "attachment_type"
    assert not Inquiry.objects.exists()


def test_thread_status_and_mail_on_answer(seller, operator, run_tasks):
    """Operator answer → answered + mail to the shop; seller answer → open; ask → waiting."""
    inquiry = inquiry_open(actor=seller, category=InquiryCategory.OTHER, subject="s", body="b")
    inquiry_reply(
        actor=operator, inquiry=inquiry, body="Please send the order number.", wait_for_seller=True
    )
    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.WAITING_SELLER
    inquiry_reply(actor=seller, inquiry=inquiry, body="123")
    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.OPEN and inquiry.waiting_since is not None
    inquiry_reply(actor=operator, inquiry=inquiry, body="Done.")
    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.ANSWERED
    mails = Notification.objects.filter(kind="inquiry_answered", shop=seller.shop)
    assert mails.count() == 2
    run_tasks()
    assert all(m.status == "sent" for m in Notification.objects.filter(kind="inquiry_answered"))


def test_other_shop_cannot_read_an_inquiry(client, seller, other_seller):
    """Another shop's inquiry is "not found"."""
    inquiry = inquiry_open(actor=seller, category=InquiryCategory.OTHER, subject="s", body="b")
    client.force_login(other_seller)
    assert client.get(reverse("seller:inquiry", args=[inquiry.pk])).status_code == 404
    response = client.post(reverse("seller:inquiry_answer", args=[inquiry.pk]), {"body": "x"})
    assert response.status_code == 404


def test_another_shops_inquiry_file_and_close_are_not_found(client, seller, other_seller):
    """Another shop can neither download an inquiry's file nor close the inquiry."""
    inquiry = inquiry_open(
        actor=seller,
        category=InquiryCategory.OTHER,
        subject="s",
        body="b",
        attachments=[SimpleUploadedFile("shot.png", PNG, content_type="image/png")],
    )
    attachment = inquiry.messages.get().attachments.get()
    client.force_login(other_seller)
    assert client.get(reverse("seller:inquiry_attachment", args=[attachment.pk])).status_code == 404
    response = client.post(reverse("seller:inquiry_answer", args=[inquiry.pk]), {"action": "close"})
    assert response.status_code == 404
    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.OPEN and inquiry.closed_at is None


def test_refusal_reference_is_logged_and_the_flash_links_to_the_customer_center(
    seller_client, seller, buyer, caplog
):
    """A non-htmx refusal logs its reference (code, user, path) and links the inquiry form."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    url = reverse("seller:order_cancel", args=[order.order_no])
    with caplog.at_level("WARNING", logger="claimdesk.portals.common"):
        response = seller_client.post(
            url, {"mode": "cancel", "reason": "OUT_OF_STOCK", "seller_memo": "x"}, follow=True
        )
    record = next(r for r in caplog.records if r.name == "claimdesk.portals.common")
    reference = record.args[0]
    assert record.args[2] == seller.pk and record.args[3] == url
    html = response.content.decode()
    assert reference in html
    assert 'class="contact-cc"' in html
    assert f"/seller/inquiries/new/?reference={reference}&amp;code={record.args[1]}" in html


def test_not_found_page_links_a_seller_to_the_customer_center(seller_client, seller, other_seller):
    """The "not found" page shows the reference and, for sellers, the inquiry link."""
    inquiry = inquiry_open(
        actor=other_seller, category=InquiryCategory.OTHER, subject="s", body="b"
    )
    response = seller_client.get(reverse("seller:inquiry", args=[inquiry.pk]))
    assert response.status_code == 404
    html = response.content.decode()
    assert 'class="contact-cc"' in html and "/seller/inquiries/new/?reference=" in html
