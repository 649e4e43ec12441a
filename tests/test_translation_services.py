"""The note dialog's translator against local servers speaking LibreTranslate's and DeepL's APIs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from claimdesk.core.errors import DomainError
from claimdesk.messaging.translation import (
    BuiltinTranslator,
    DeepLTranslator,
    LibreTranslateTranslator,
    translate_text,
)
from tests.factories import order_in

HTMX = {"HTTP_HX_REQUEST": "true"}
KEY = "k-2026"


class _Service(BaseHTTPRequestHandler):
    """A translation service: records each request and answers as the real API documents."""

    seen: ClassVar[list[dict[str, Any]]] = []

    def _answer(self, status: int, data: object) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _read(self) -> dict[str, Any]:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Type", "").startswith("application/json"):
            payload: dict[str, Any] = json.loads(raw)
        else:  # pragma: no cover - both APIs also take form fields; the adapters send JSON
            payload = {}
        type(self).seen.append(
            {"path": self.path, "auth": self.headers.get("Authorization")} | payload
        )
        return payload

    def log_message(self, *args: Any) -> None:
        pass


class _LibreTranslate(_Service):
    """LibreTranslate: POST /translate {q, source, target, format, api_key} -> {translatedText}."""

    def do_POST(self) -> None:  # noqa: N802
        payload = self._read()
        if self.path != "/translate":
            self._answer(404, {"error": "Not Found"})
        elif payload.get("api_key") != KEY:
            self._answer(403, {"error": "Invalid API key"})
        elif payload.get("q") == "busy":
            self._answer(429, {"error": "Slowdown: 1 per 1 second"})
        elif payload.get("source") not in ("ja", "zh", "en", "ko"):
            self._answer(400, {"error": f"{payload.get('source')} is not supported"})
        else:
            self._answer(200, {"translatedText": f"<{payload['target']}>{payload['q']}"})


class _DeepL(_Service):
    """DeepL: POST /v2/translate, DeepL-Auth-Key, {text: [...], source_lang, target_lang}."""

    def do_POST(self) -> None:  # noqa: N802
        payload = self._read()
        if self.path != "/v2/translate":
            self._answer(404, {"message": "Not found"})
        elif self.headers.get("Authorization") != f"DeepL-Auth-Key {KEY}":
            self._answer(403, {"message": "Wrong endpoint. Use https://api-free.deepl.com"})
        elif payload["text"] == ["quota"]:
            self._answer(456, {"message": "Quota exceeded"})
        else:
            self._answer(
                200,
                {
                    "translations": [
                        {
                            "detected_source_language": payload["source_lang"],
                            "text": f"<{payload['target_lang']}>{t}",
                        }
                        for t in payload["text"]
                    ]
                },
            )


def _serve(handler: type[_Service]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def libretranslate(settings: Any) -> Iterator[list[dict[str, Any]]]:
    for url in _serve(_LibreTranslate):
        settings.CLAIMDESK = settings.CLAIMDESK | {
            "TRANSLATOR": "claimdesk.messaging.translation.LibreTranslateTranslator",
            "TRANSLATOR_URL": url,
            "TRANSLATOR_KEY": KEY,
            "TRANSLATOR_TIMEOUT": 5,
        }
        yield _LibreTranslate.seen


@pytest.fixture
def deepl(settings: Any) -> Iterator[list[dict[str, Any]]]:
    for url in _serve(_DeepL):
        settings.CLAIMDESK = settings.CLAIMDESK | {
            "TRANSLATOR": "claimdesk.messaging.translation.DeepLTranslator",
            "TRANSLATOR_URL": url,
            "TRANSLATOR_KEY": KEY,
            "TRANSLATOR_TIMEOUT": 5,
        }
        yield _DeepL.seen


@pytest.mark.django_db
def test_free_text_is_translated_in_the_note_dialog_by_libretranslate(
    client, seller, buyer, libretranslate
):
    """A Chinese seller's free text to a Japanese buyer: 翻译 fills the body with the translation."""
    order = order_in("new", seller=seller, buyer=buyer)
    client.force_login(seller)
    html = client.post(
        reverse("seller:note_dialog", args=[order.order_no]),
        {
            "action": "translate",
            "category": "shipping",
            "title": "",
            "body": "明天发货，谢谢。",
            "source": "zh-hans",
            "target": "ja",
        },
        **HTMX,
    ).content.decode()
    assert "&lt;ja&gt;明天发货，谢谢。" in html
    assert libretranslate == [
        {
            "path": "/translate",
            "auth": None,
            "q": "明天发货，谢谢。",
            "source": "zh",
            "target": "ja",
            "format": "text",
            "api_key": KEY,
        }
    ]


@pytest.mark.django_db
def test_libretranslate_refusals_read_as_what_to_do(libretranslate, settings):
    """A refused key and a busy server are plain messages, not errors."""
    with pytest.raises(DomainError) as busy:
        translate_text("busy", source="ja", target="en")
    assert busy.value.code == "translation_unavailable"
    settings.CLAIMDESK = settings.CLAIMDESK | {"TRANSLATOR_KEY": "wrong"}
    with pytest.raises(DomainError) as refused, translation.override("en"):
        LibreTranslateTranslator().translate("テスト", "ja", "en")
    with translation.override("en"):
        assert "refused the key" in str(refused.value.message)


@pytest.mark.django_db
def test_deepl_translates_with_its_language_codes(deepl):
    """DeepL gets ZH/JA source codes, ZH-HANS/EN-US targets and the DeepL-Auth-Key header."""
    assert translate_text("明天发货", source="zh-hans", target="ja") == "<JA>明天发货"
    assert (
        translate_text("明日発送します", source="ja", target="zh-hans") == "<ZH-HANS>明日発送します"
    )
    assert translate_text("明日発送します", source="ja", target="en") == "<EN-US>明日発送します"
    assert deepl[0] == {
        "path": "/v2/translate",
        "auth": f"DeepL-Auth-Key {KEY}",
        "text": ["明天发货"],
        "source_lang": "ZH",
        "target_lang": "JA",
    }


@pytest.mark.django_db
def test_deepl_quota_and_key_refusals(deepl, settings):
    """DeepL's 456 says the quota is used up; a wrong key says to check the key."""
    with pytest.raises(DomainError) as quota, translation.override("en"):
        DeepLTranslator().translate("quota", "ja", "en")
    with translation.override("en"):
        assert "quota" in str(quota.value.message)
    settings.CLAIMDESK = settings.CLAIMDESK | {"TRANSLATOR_KEY": "wrong:fx"}
    with pytest.raises(DomainError) as refused, translation.override("en"):
        DeepLTranslator().translate("テスト", "ja", "en")
    with translation.override("en"):
        assert "refused the key" in str(refused.value.message)


def test_deepl_without_a_key_says_no_service_is_set_up(settings):
    """DeepL chosen but no key: a plain refusal, no request leaves."""
    settings.CLAIMDESK = settings.CLAIMDESK | {
        "TRANSLATOR": "",
        "TRANSLATOR_URL": "",
        "TRANSLATOR_KEY": "",
    }
    with pytest.raises(DomainError) as unset:
        DeepLTranslator().translate("テスト", "ja", "en")
    assert unset.value.code == "translation_unavailable"


def test_builtin_translator_says_what_it_can_do():
    """The embedded default names what it translates, and what it does not."""
    with translation.override("en"):
        text = BuiltinTranslator().describe()
    assert "saved replies" in text and "free text" in text


@pytest.mark.django_db
def test_dialog_names_the_translator_in_use(client, seller, buyer):
    """The note dialog says which translator it uses and what it can translate."""
    order = order_in("new", seller=seller, buyer=buyer)
    client.force_login(seller)
    html = client.get(reverse("seller:note_dialog", args=[order.order_no]), **HTMX).content.decode()
    with translation.override(seller.language):
        assert escape(BuiltinTranslator().describe()) in html
