"""Notes (给客户发纸条): the send dialog, channels and their results, files, translation, replies."""

from __future__ import annotations

import json
import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from claimdesk.claims.cancel import seller_sent_cancel_notice
from claimdesk.core.errors import DomainError, InvalidInput, NotFound
from claimdesk.messaging import services
from claimdesk.messaging.access import access_attachment, thread_notes
from claimdesk.messaging.models import (
    Note,
    NoteAttachment,
    NoteCategory,
    Notification,
    NotificationStatus,
    PushDevice,
    SavedReply,
)
from claimdesk.messaging.policies import personal_data_spans, sniff_content_type
from claimdesk.messaging.push import RecordingPushAdapter
from claimdesk.messaging.replies import BUILTIN_BY_CODE, fill_placeholders
from claimdesk.messaging.selectors import delivery_line, delivery_results
from claimdesk.messaging.translation import BuiltinTranslator, HttpTranslator, translate_text
from tests.factories import SellerFactory, order_in

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def png_bytes() -> bytes:
    """Return a real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@pytest.fixture(autouse=True)
def private_media(settings: Any, tmp_path: Any) -> Iterator[None]:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    RecordingPushAdapter.outbox.clear()
    RecordingPushAdapter.failing_tokens.clear()
    yield
    RecordingPushAdapter.outbox.clear()
    RecordingPushAdapter.failing_tokens.clear()


@pytest.fixture
def order(seller, buyer):  # type: ignore[no-untyped-def]
    return order_in("new", seller=seller, buyer=buyer)


@pytest.fixture
def seller_client(client, seller):  # type: ignore[no-untyped-def]
    client.force_login(seller)
    return client


def _line(note: Note) -> str:
    with translation.override("en"):
        return delivery_line(delivery_results(note))


def _send(seller, order, **kwargs):  # type: ignore[no-untyped-def]
    data = {
        "category": NoteCategory.CANCEL_REFUND,
        "title": "在庫切れのお知らせ",
        "body": "申し訳ございません。在庫切れのためキャンセルいたします。",
    } | kwargs
    return services.note_send(actor=seller, order=order, **data)


# --- sending through the dialog --------------------------------------------------------------


def test_dialog_shows_the_seed_fields(seller_client, order):
    """The dialog offers recipient, item code and order no, categories, counter, translator, files, mail."""
    response = seller_client.get(reverse("seller:note_dialog", args=[order.order_no]), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "data-note-dialog" in html
    assert order.item_code in html and str(order.order_no) in html
    assert 'value="cancel_refund"' in html and 'value="customer_center"' in html
    assert 'data-counter="1000"' in html
    assert 'name="attachments"' in html and "(0MB / 4MB)" in html
    assert 'name="by_mail"' in html and 'name="source"' in html and 'name="target"' in html
    with translation.override("zh-hans"):  # the seller's language
        question = gettext("Send a note to the buyer of order %(order_no)s now?") % {
            "order_no": order.order_no
        }
    assert f'hx-confirm="{question}"' in html
    assert "纸条" in question  # the seed: 給訂購號碼為…的買家發送紙條.現在發送嗎？
    assert "builtin:out_of_stock" in html


def test_send_with_attachments_shows_result_and_serves_files(
    seller_client, seller, buyer, order, run_tasks
):
    """A note with a PNG and a PDF is stored, its result line shows, and the files download typed."""
    response = seller_client.post(
        reverse("seller:note_send", args=[order.order_no]),
        {
            "recipient": "buyer",
            "category": "cancel_refund",
            "title": "キャンセルのお知らせ",
            "body": "在庫切れのためキャンセルします。",
            "by_mail": "on",
            "attachments": [
                SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png"),
                SimpleUploadedFile("明細.pdf", PDF, content_type="application/pdf"),
            ],
        },
        **HTMX,
    )
    assert response.status_code == 200
    note = Note.objects.get(order=order)
    assert note.author_role == "seller" and note.recipient_role == "buyer" and note.by_mail
    assert "data-result-line" in response.content.decode()
    assert (
        _line(note)
        == "note: 1 sent, 0 failed; mail: 0 sent, 0 failed, 1 queued; push: 0 sent, 0 failed"
    )
    files = list(NoteAttachment.objects.filter(note=note).order_by("id"))
    assert [(f.content_type, f.size) for f in files] == [
        ("image/png", len(png_bytes())),
        ("application/pdf", len(PDF)),
    ]
    assert "/private/" in files[0].file.path and files[0].file.path.endswith(".png")

    download = seller_client.get(reverse("seller:note_attachment", args=[files[1].pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert b"".join(download.streaming_content) == PDF

    run_tasks()
    assert _line(note) == "note: 1 sent, 0 failed; mail: 1 sent, 0 failed; push: 0 sent, 0 failed"
    result = seller_client.get(
        reverse("seller:note_send", args=[order.order_no]) + f"?note={note.pk}", **HTMX
    )
    assert "every 2s" not in result.content.decode()  # nothing left to poll for


def test_mail_goes_to_the_buyer_in_the_buyer_language(seller, buyer, order, run_tasks, outbox):
    """ "Also by mail" queues a note_received mail that the worker sends in the buyer's language."""
    buyer.language = "ja"
    buyer.save(update_fields=["language"])
    note = _send(seller, order, by_mail=True)
    assert outbox == []  # nothing leaves inside the request
    notification = Notification.objects.get(note=note)
    assert notification.kind == "note_received" and notification.language == "ja"
    run_tasks()
    assert [m.to for m in outbox] == [[buyer.email]]
    message = outbox[0]
    assert str(order.order_no) in message.subject
    assert "キャンセル/払い戻し" in message.body  # category label in Japanese
    assert note.body in message.body and seller.shop.name in message.body
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT


def test_no_mail_when_not_ticked(seller, order, run_tasks, outbox):
    """Without "also by mail" the mail channel reads 0 sent, 0 failed and nothing is mailed."""
    note = _send(seller, order)
    run_tasks()
    assert outbox == []
    assert _line(note) == "note: 1 sent, 0 failed; mail: 0 sent, 0 failed; push: 0 sent, 0 failed"


def test_push_reaches_registered_devices_only(seller, buyer, other_buyer, order, run_tasks):
    """No device: push 0 sent. One active device of the buyer: push 1 sent after the worker runs."""
    note = _send(seller, order)
    run_tasks()
    assert _line(note).endswith("push: 0 sent, 0 failed")
    PushDevice.objects.create(user=buyer, token="tok-buyer", platform="ios")
    PushDevice.objects.create(user=buyer, token="tok-old", platform="android", active=False)
    PushDevice.objects.create(user=other_buyer, token="tok-other", platform="ios")
    second = _send(seller, order, title="再送")
    assert _line(second).endswith("push: 0 sent, 0 failed, 1 queued")
    run_tasks()
    assert _line(second).endswith("push: 1 sent, 0 failed")
    assert [m.token for m in RecordingPushAdapter.outbox] == ["tok-buyer"]
    assert RecordingPushAdapter.outbox[0].data["order_no"] == order.order_no


def test_failed_mail_can_be_sent_again(settings, seller_client, seller, buyer, order, run_tasks):
    """A mail refused by the server shows as failed; 再发送 after the server is back delivers it."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
        }
    }
    note = _send(seller, order, by_mail=True)
    run_tasks()
    assert _line(note) == "note: 1 sent, 0 failed; mail: 0 sent, 1 failed; push: 0 sent, 0 failed"
    result = seller_client.get(
        reverse("seller:note_send", args=[order.order_no]) + f"?note={note.pk}"
    )
    assert reverse("seller:note_resend", args=[order.order_no, note.pk]) in result.content.decode()

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []
    response = seller_client.post(
        reverse("seller:note_resend", args=[order.order_no, note.pk]), **HTMX
    )
    assert response.status_code == 200
    assert "1 queued" in _line(note)
    run_tasks()
    assert _line(note) == "note: 1 sent, 0 failed; mail: 1 sent, 0 failed; push: 0 sent, 0 failed"
    assert [m.to for m in mail.outbox] == [[buyer.email]]
    with pytest.raises(DomainError) as refused:
        services.note_resend(actor=seller, note=note)
    assert refused.value.code == "nothing_to_resend"


def test_plain_post_without_javascript_shows_the_result_page(seller_client, order):
    """Without htmx the form posts, redirects, and the result page shows the channel line."""
    response = seller_client.post(
        reverse("seller:note_send", args=[order.order_no]),
        {"recipient": "buyer", "category": "shipping", "title": "発送", "body": "本日発送します。"},
    )
    note = Note.objects.get(order=order)
    assert response.status_code == 302
    assert response["Location"].endswith(f"?note={note.pk}")
    page = seller_client.get(response["Location"])
    assert page.status_code == 200
    assert "data-result-line" in page.content.decode()


def test_cancel_note_counts_as_notice(seller_client, order):
    """A キャンセル/払い戻し note to the buyer makes seller_sent_cancel_notice true; others do not."""
    url = reverse("seller:note_send", args=[order.order_no])
    seller_client.post(
        url,
        {"recipient": "customer_center", "category": "cancel_refund", "title": "t", "body": "b"},
    )
    seller_client.post(
        url, {"recipient": "buyer", "category": "shipping", "title": "t", "body": "b"}
    )
    assert not seller_sent_cancel_notice(order)
    seller_client.post(
        url, {"recipient": "buyer", "category": "cancel_refund", "title": "t", "body": "b"}
    )
    assert seller_sent_cancel_notice(order)


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"body": "あ" * 1001}, "text_too_long"),
        ({"title": "", "body": "x"}, "note_empty"),
        ({"title": "t", "body": "   "}, "note_empty"),
        ({"category": "complaint"}, "category_unknown"),
        ({"recipient_role": "seller"}, "recipient_invalid"),
    ],
)
def test_bad_note_input_is_refused(seller, order, kwargs, code):
    """Each bad input is refused with its own code and nothing is stored."""
    with pytest.raises(InvalidInput) as refused:
        _send(seller, order, **kwargs)
    assert refused.value.code == code
    assert str(refused.value.message)
    assert Note.objects.count() == 0


def test_thousand_characters_pass_whatever_their_bytes(seller, order):
    """The limit counts characters: 1000 Japanese characters (3000 UTF-8 bytes) are accepted."""
    note = _send(seller, order, body="あ" * 1000)
    assert len(note.body) == 1000


def test_files_over_four_megabytes_in_all_are_refused(seller, order):
    """4 MB in all is accepted; one byte more is refused and no file is kept."""
    limit = 4 * 1024 * 1024
    head = png_bytes()
    half = head + b"\x00" * (limit // 2 - len(head))
    exact = [SimpleUploadedFile("a.png", half), SimpleUploadedFile("b.png", half)]
    assert _send(seller, order, attachments=exact).attachments.count() == 2
    over = [SimpleUploadedFile("a.png", half), SimpleUploadedFile("b.png", half + b"\x00")]
    with pytest.raises(InvalidInput) as refused:
        _send(seller, order, title="2", attachments=over)
    assert refused.value.code == "attachments_too_large"
    assert NoteAttachment.objects.count() == 2


def test_executable_renamed_jpg_is_refused_by_content(seller, order):
    """The type is read from the bytes: an .exe called photo.jpg is refused."""
    with pytest.raises(InvalidInput) as refused:
        _send(
            seller,
            order,
            attachments=[SimpleUploadedFile("photo.jpg", EXE, content_type="image/jpeg")],
        )
    assert refused.value.code == "attachment_type"
    assert "photo.jpg" in str(refused.value.message)


def test_refusal_in_the_dialog_keeps_the_text(seller_client, order):
    """A refused send re-shows the form with the message and the typed text; nothing is sent."""
    response = seller_client.post(
        reverse("seller:note_send", args=[order.order_no]),
        {"recipient": "buyer", "category": "cancel_refund", "title": "長文", "body": "a" * 1001},
        **HTMX,
    )
    html = response.content.decode()
    assert 'data-code="text_too_long"' in html
    assert "a" * 1001 in html and 'value="長文"' in html
    assert Note.objects.count() == 0


# --- isolation -------------------------------------------------------------------------------


def test_another_shop_gets_not_found_everywhere(client, seller, order):
    """A seller of another shop gets 404 on every notes URL of this order and on its files."""
    note = _send(seller, order, attachments=[SimpleUploadedFile("p.png", png_bytes())])
    attachment = note.attachments.get()
    client.force_login(SellerFactory())
    no = order.order_no
    urls = [
        ("get", reverse("seller:note_dialog", args=[no])),
        ("post", reverse("seller:note_dialog", args=[no])),
        ("post", reverse("seller:note_send", args=[no])),
        ("get", reverse("seller:note_send", args=[no]) + f"?note={note.pk}"),
        ("post", reverse("seller:note_resend", args=[no, note.pk])),
        ("get", reverse("seller:notes") + f"?order={no}"),
        ("get", reverse("seller:note_attachment", args=[attachment.pk])),
    ]
    for method, url in urls:
        data = {"category": "other", "title": "x", "body": "y"} if method == "post" else None
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, url
    assert Note.objects.count() == 1


def test_buyer_of_another_order_gets_nothing(seller, buyer, other_buyer, order):
    """Another buyer cannot write to, read, or download from this order's thread."""
    note = _send(seller, order, attachments=[SimpleUploadedFile("p.png", png_bytes())])
    attachment = note.attachments.get()
    with pytest.raises(NotFound):
        services.note_send(actor=other_buyer, order=order, category="other", title="x", body="y")
    with pytest.raises(NotFound):
        access_attachment(other_buyer, attachment.pk)
    assert list(thread_notes(other_buyer, order)) == []
    # the order's own buyer does see them
    assert access_attachment(buyer, attachment.pk) == attachment
    assert list(thread_notes(buyer, order)) == [note]


def test_buyer_does_not_see_notes_to_the_customer_center(seller, buyer, order):
    """A seller's note to the customer center stays between the shop and the platform."""
    _send(seller, order, recipient_role="customer_center")
    assert list(thread_notes(buyer, order)) == []


# --- threads ---------------------------------------------------------------------------------


def test_inbox_marks_unread_and_opening_reads(seller_client, seller, buyer, order):
    """A buyer's note shows unread in the inbox; opening the thread marks it read."""
    services.note_send(actor=buyer, order=order, category="item", title="色は？", body="黒ですか")
    inbox = seller_client.get(reverse("seller:notes"))
    html = inbox.content.decode()
    assert f'data-thread="{order.order_no}" class="unread"' in html
    assert 'data-unread="1"' in html
    opened = seller_client.get(reverse("seller:notes") + f"?order={order.order_no}")
    assert "黒ですか" in opened.content.decode()
    assert Note.objects.get().read_at is not None
    again = seller_client.get(reverse("seller:notes")).content.decode()
    assert 'class="unread"' not in again


def test_sent_box_lists_the_shop_notes(seller_client, seller, order):
    """The sent box lists threads the shop wrote in."""
    _send(seller, order, title="発送遅延")
    html = seller_client.get(reverse("seller:notes") + "?box=sent").content.decode()
    assert f'data-thread="{order.order_no}"' in html and "発送遅延" in html


# --- personal data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("電話は050-3189-7070です", ["phone"]),
        ("携帯 09012345678 まで", ["phone"]),
        ("+81-50-3189-7070", ["phone"]),
        ("mail: taro.yamada@example.co.jp", ["email"]),
        ("〒273-0017 千葉県 船橋市 西浦 3-4-2", ["postcode", "address"]),
        ("東京都千代田区千代田1-1に送ります", ["address"]),
        ("２７３－００１７", ["postcode"]),
    ],
)
def test_personal_data_is_found(text, kinds):
    """Phone numbers, mail addresses, postcodes and addresses are found with their spans."""
    spans = personal_data_spans(text)
    assert [s.kind for s in spans] == kinds
    assert all(text[s.start : s.end] == s.text for s in spans)


@pytest.mark.parametrize(
    "text",
    ["注文番号327294741の件です", "2018/08/15に発送しました", "在庫切れのため", "金額は1000円です"],
)
def test_ordinary_text_is_not_flagged(text):
    """Order numbers, dates and amounts are not personal data."""
    assert personal_data_spans(text) == []


def test_dialog_highlights_personal_data_after_a_reply_fill(seller_client, order):
    """When the server fills the text, matches come back highlighted in <mark>."""
    response = seller_client.post(
        reverse("seller:note_dialog", args=[order.order_no]),
        {"category": "other", "title": "連絡先", "body": "050-3189-7070 に電話ください"},
        **HTMX,
    )
    assert '<mark data-kind="phone">050-3189-7070</mark>' in response.content.decode()


def test_file_types_by_magic_bytes():
    """JPG, PNG, GIF and PDF are known by their first bytes; anything else is not."""
    assert sniff_content_type(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "image/jpeg"
    assert sniff_content_type(png_bytes()[:16]) == "image/png"
    assert sniff_content_type(b"GIF89a\x01\x00") == "image/gif"
    assert sniff_content_type(PDF[:16]) == "application/pdf"
    assert sniff_content_type(EXE[:16]) is None
    assert sniff_content_type(b"<svg xmlns=") is None


# --- translation and saved replies ---------------------------------------------------------------


def _filled(code: str, language: str, field: str, **values: str) -> str:
    base = {
        "order_no": "327294741",
        "item": "test item",
        "buyer_name": "金成斗",
        "est_ship_date": "2018/08/20",
        "today": "2018/08/15",
    }
    return fill_placeholders(BUILTIN_BY_CODE[code].texts[language][field], base | values)


def test_builtin_translator_translates_a_filled_saved_reply():
    """A filled built-in reply in Japanese comes back in Chinese with the same values."""
    text = _filled("out_of_stock", "ja", "body")
    translated = BuiltinTranslator().translate(text, "ja", "zh-hans")
    assert translated == _filled("out_of_stock", "zh-hans", "body")
    assert "327294741" in translated and "金成斗" in translated


def test_builtin_translator_refuses_free_text_plainly():
    """Free text is refused with translation_unavailable and a plain message."""
    with pytest.raises(DomainError) as refused:
        translate_text("明日発送します。よろしくお願いします。", source="ja", target="en")
    assert refused.value.code == "translation_unavailable"
    with translation.override("en"):
        assert "cannot translate" in str(refused.value.message)


def test_shop_saved_reply_is_translated_too(seller):
    """A shop's own saved reply with texts in two languages translates between them."""
    reply = services.saved_reply_save(
        actor=seller,
        name="入荷待ち",
        category="shipping",
        texts={
            "ja": {"title": "入荷待ち", "body": "{item}は{est_ship_date}に入荷予定です。"},
            "en": {"title": "Awaiting stock", "body": "{item} arrives on {est_ship_date}."},
        },
    )
    catalogue = [reply.texts]
    assert (
        translate_text("靴は8/20に入荷予定です。", source="ja", target="en", catalogue=catalogue)
        == "靴 arrives on 8/20."
    )


def test_translate_button_fills_the_body(seller_client, order):
    """翻译 in the dialog returns the text part with the body in the target language."""
    response = seller_client.post(
        reverse("seller:note_dialog", args=[order.order_no]),
        {
            "action": "translate",
            "category": "cancel_refund",
            "title": _filled("delay", "ja", "title"),
            "body": _filled("delay", "ja", "body"),
            "source": "ja",
            "target": "ko",
        },
        **HTMX,
    )
    html = response.content.decode()
    assert 'id="note-text"' in html and "<form" not in html
    assert "발송 지연 안내" in html  # title translated too
    refused = seller_client.post(
        reverse("seller:note_dialog", args=[order.order_no]),
        {"action": "translate", "title": "x", "body": "自由な文章", "source": "ja", "target": "en"},
        **HTMX,
    )
    assert 'data-code="translation_unavailable"' in refused.content.decode()


class _Translator(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers["Content-Length"])
        payload = json.loads(self.rfile.read(length))
        type(self).requests.append(payload | {"auth": self.headers.get("Authorization")})
        if payload["text"] == "boom":
            self.send_response(503)
            self.end_headers()
            return
        body = json.dumps({"text": f"[{payload['target']}] {payload['text']}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def translation_server(settings: Any) -> Iterator[list[dict[str, Any]]]:
    server = HTTPServer(("127.0.0.1", 0), _Translator)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Translator.requests = []
    settings.CLAIMDESK = settings.CLAIMDESK | {
        "TRANSLATOR": "claimdesk.messaging.translation.HttpTranslator",
        "TRANSLATOR_URL": f"http://127.0.0.1:{server.server_port}/translate",
        "TRANSLATOR_KEY": "k-123",
        "TRANSLATOR_TIMEOUT": 5,
    }
    try:
        yield _Translator.requests
    finally:
        server.shutdown()
        server.server_close()


def test_external_translator_over_http(translation_server):
    """Free text goes to the configured service with the key; saved replies still match exactly."""
    assert translate_text("明日発送します", source="ja", target="en") == "[en] 明日発送します"
    assert translation_server == [
        {"text": "明日発送します", "source": "ja", "target": "en", "auth": "Bearer k-123"}
    ]
    exact = translate_text(_filled("delay", "ja", "body"), source="ja", target="en")
    assert exact == _filled("delay", "en", "body")
    assert len(translation_server) == 1  # the exact match never left the process
    with pytest.raises(DomainError) as refused:
        HttpTranslator().translate("boom", "ja", "en")
    assert refused.value.code == "translation_unavailable"


def test_saved_replies_page_create_edit_delete(seller_client, seller, order):
    """The shop saves, edits and deletes its replies; the dialog offers and fills them."""
    url = reverse("seller:saved_replies")
    seller_client.post(
        url,
        {
            "name": "お礼",
            "category": "other",
            "title_ja": "{order_no}のお礼",
            "body_ja": "{buyer_name}様、ありがとうございました。",
        },
    )
    reply = SavedReply.objects.get(shop=seller.shop)
    assert reply.texts == {
        "ja": {"title": "{order_no}のお礼", "body": "{buyer_name}様、ありがとうございました。"}
    }
    dialog = seller_client.get(
        reverse("seller:note_dialog", args=[order.order_no])
        + f"?reply=shop:{reply.pk}&reply_lang=ja",
        **HTMX,
    )
    html = dialog.content.decode()
    assert f'value="{order.order_no}のお礼"' in html
    assert f"{order.buyer}様、ありがとうございました。" in html
    seller_client.post(
        url,
        {
            "reply": reply.pk,
            "name": "お礼2",
            "category": "item",
            "title_en": "Thanks",
            "body_en": "Thank you.",
        },
    )
    reply.refresh_from_db()
    assert reply.name == "お礼2" and set(reply.texts) == {"en"}
    # another shop cannot touch it
    other = SellerFactory()
    seller_client.force_login(other)
    assert seller_client.post(url, {"reply": reply.pk, "action": "delete"}).status_code == 404
    seller_client.force_login(seller)
    seller_client.post(url, {"reply": reply.pk, "action": "delete"})
    assert not SavedReply.objects.exists()


def test_builtin_reply_fills_the_dialog_in_the_chosen_language(seller_client, order):
    """Picking 无库存 in Chinese fills title and body with the order's values."""
    response = seller_client.post(
        reverse("seller:note_dialog", args=[order.order_no]),
        {"action": "reply", "reply": "builtin:out_of_stock", "reply_lang": "zh-hans"},
        **HTMX,
    )
    html = response.content.decode()
    assert f"【订购号码{order.order_no}】缺货取消通知" in html
    assert order.item_title in html
    assert '<option value="cancel_refund" selected>' in html


def test_pages_render_without_javascript(seller_client, order):
    """The dialog as a page, the saved replies page and the empty notes page all render."""
    page = seller_client.get(reverse("seller:note_dialog", args=[order.order_no]))
    html = page.content.decode()
    assert page.status_code == 200 and "<html" in html and 'enctype="multipart/form-data"' in html
    assert 'formaction="{}"'.format(reverse("seller:note_dialog", args=[order.order_no])) in html
    replies = seller_client.get(reverse("seller:saved_replies")).content.decode()
    assert 'data-builtin="builtin:undeliverable_region"' in replies
    assert "배송 불가 지역" in replies
    notes = seller_client.get(reverse("seller:notes"))
    assert notes.status_code == 200


def test_notes_page_query_count_does_not_grow(seller_client, seller, buyer):
    """The inbox with an open thread runs the same number of queries for 1 or 4 threads."""
    first = order_in("new", seller=seller, buyer=buyer)
    services.note_send(actor=buyer, order=first, category="item", title="q", body="b")
    url = reverse("seller:notes") + f"?order={first.order_no}"
    with CaptureQueriesContext(connection) as one:
        seller_client.get(url)
    for _ in range(3):
        other = order_in("new", seller=seller, buyer=buyer)
        services.note_send(actor=buyer, order=other, category="item", title="q", body="b")
        services.note_send(
            actor=buyer,
            order=first,
            category="item",
            title="q",
            body="b",
            attachments=[SimpleUploadedFile("p.png", png_bytes())],
        )
    with CaptureQueriesContext(connection) as many:
        seller_client.get(url)
    assert len(many) == len(one)
