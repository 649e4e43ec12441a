"""The translator of the note dialog (翻译): an adapter chosen by settings.

`CLAIMDESK["TRANSLATOR"]` names the adapter class (dotted path):

- `BuiltinTranslator` (the default, embedded): translates the saved replies and
  the standard notices by exact template match, in every note language, and
  says plainly that it cannot translate free text.
- `LibreTranslateTranslator`: a LibreTranslate server (often self-hosted).
  `TRANSLATOR_URL` is its base URL (`http://127.0.0.1:5000`), `TRANSLATOR_KEY`
  its API key if it asks for one: `POST <url>/translate` with `q`, `source`,
  `target`, `format` and `api_key`, answered by `{"translatedText": ...}`.
- `DeepLTranslator`: the DeepL API. `TRANSLATOR_KEY` is the authentication key;
  `TRANSLATOR_URL` defaults to `https://api-free.deepl.com` for a free key
  (ending in `:fx`), else `https://api.deepl.com`: `POST <url>/v2/translate`
  with `Authorization: DeepL-Auth-Key <key>` and `{"text": [...],
  "source_lang": ..., "target_lang": ...}`, answered by `{"translations":
  [{"text": ...}]}`.
- `HttpTranslator`: a service of your own speaking claimdesk's small protocol:

    POST <url>  {"text": ..., "source": "ja", "target": "zh-hans"}
    Authorization: Bearer <key>
    -> 200 {"text": "<translation>"}

Whatever the adapter, saved replies and standard notices are matched exactly
first and never leave the process.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Protocol

from django.utils.functional import Promise
from django.utils.module_loading import import_string

from claimdesk.core.errors import DomainError, InvalidInput
from claimdesk.core.i18n import lazy_text as _

from .conf import option
from .replies import BUILTIN_REPLIES, NOTE_LANGUAGES, Texts, fill_placeholders, template_pattern

logger = logging.getLogger(__name__)

DEFAULT_TRANSLATOR = "claimdesk.messaging.translation.BuiltinTranslator"


class Translator(Protocol):
    def translate(self, text: str, source: str, target: str) -> str:
        """Return `text` in `target`, or raise DomainError 'translation_unavailable'."""
        ...

    def describe(self) -> str:
        """Say in a sentence what this translator can translate (shown in the dialog)."""
        ...


def _unavailable(message: str | Promise) -> DomainError:
    return DomainError("translation_unavailable", message)


class BuiltinTranslator:
    """Translate known templates (built-in and given saved replies) by exact match."""

    def __init__(self, catalogue: Iterable[Texts] = ()) -> None:
        self.catalogue: list[Texts] = [*catalogue, *(r.texts for r in BUILTIN_REPLIES)]

    def translate(self, text: str, source: str, target: str) -> str:
        if source == target:
            return text
        wanted = text.strip().replace("\r\n", "\n")
        for texts in self.catalogue:
            for field in ("title", "body"):
                src = (texts.get(source) or {}).get(field)
                dst = (texts.get(target) or {}).get(field)
                if not src or not dst:
                    continue
                match = template_pattern(src.strip().replace("\r\n", "\n")).fullmatch(wanted)
                if match:
                    return fill_placeholders(dst, match.groupdict())
        raise _unavailable(
            _(
                "The built-in translator only translates saved replies and the standard "
                "notices, word for word. It cannot translate this text: write it in the "
                "buyer's language yourself."
            )
        )

    def describe(self) -> str:
        return str(
            _(
                "Built-in translator: translates saved replies and standard notices word for "
                "word; free text must be written in the buyer's language."
            )
        )


def _not_answering() -> DomainError:
    return _unavailable(
        _(
            "The translation service did not answer. Try again in a moment, "
            "or write the text yourself."
        )
    )


def _post(url: str, body: bytes, headers: Mapping[str, str]) -> Any:
    """POST `body` to `url` and return the JSON answer, or refuse with a message people read.

    Refusals name what to do: a key refused or a quota used up is for the
    shop's administrator; a busy or unreachable service is worth another try.
    """
    if not url.startswith(("http://", "https://")):
        raise _unavailable(_("No translation service is set up. Write the text yourself."))
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, method="POST", headers={"Accept": "application/json", **headers}
    )
    timeout = float(option("TRANSLATOR_TIMEOUT"))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        logger.warning("translation service refused: %s %s", exc.code, url)
        if exc.code in (401, 403):
            raise _unavailable(
                _(
                    "The translation service refused the key set up for it. Ask your "
                    "administrator to check it; until then, write the text yourself."
                )
            ) from exc
        if exc.code in (456,):
            raise _unavailable(
                _(
                    "The translation service's quota is used up. Write the text yourself, "
                    "or ask your administrator to raise the quota."
                )
            ) from exc
        raise _not_answering() from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning("translation service failed: %s", exc)
        raise _not_answering() from exc


def _answer_text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        logger.warning("translation service answered without a translation")
        raise _not_answering()
    return value


class LibreTranslateTranslator:
    """Translate with a LibreTranslate server (`POST /translate`; stdlib urllib)."""

    #: Note languages as LibreTranslate names them.
    CODES: ClassVar[dict[str, str]] = {"ja": "ja", "zh-hans": "zh", "en": "en", "ko": "ko"}

    def translate(self, text: str, source: str, target: str) -> str:
        if source == target:
            return text
        base = str(option("TRANSLATOR_URL") or "").rstrip("/")
        fields = {
            "q": text,
            "source": self.CODES.get(source, source),
            "target": self.CODES.get(target, target),
            "format": "text",
        }
        key = str(option("TRANSLATOR_KEY") or "")
        if key:
            fields["api_key"] = key
        data = _post(
            f"{base}/translate",
            json.dumps(fields).encode(),
            {"Content-Type": "application/json; charset=utf-8"},
        )
        return _answer_text(data.get("translatedText") if isinstance(data, dict) else None)

    def describe(self) -> str:
        return str(_("LibreTranslate: translates free text between the note languages."))


class DeepLTranslator:
    """Translate with the DeepL API (`POST /v2/translate`; stdlib urllib)."""

    SOURCE_CODES: ClassVar[dict[str, str]] = {"ja": "JA", "zh-hans": "ZH", "en": "EN", "ko": "KO"}
    TARGET_CODES: ClassVar[dict[str, str]] = {
        "ja": "JA",
        "zh-hans": "ZH-HANS",
        "en": "EN-US",
        "ko": "KO",
    }

    def translate(self, text: str, source: str, target: str) -> str:
        if source == target:
            return text
        key = str(option("TRANSLATOR_KEY") or "")
        if not key:
            raise _unavailable(_("No translation service is set up. Write the text yourself."))
        base = str(option("TRANSLATOR_URL") or "") or (
            "https://api-free.deepl.com" if key.endswith(":fx") else "https://api.deepl.com"
        )
        payload = {
            "text": [text],
            "source_lang": self.SOURCE_CODES.get(source, source.upper()),
            "target_lang": self.TARGET_CODES.get(target, target.upper()),
        }
        data = _post(
            f"{base.rstrip('/')}/v2/translate",
            json.dumps(payload).encode(),
            {
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"DeepL-Auth-Key {key}",
            },
        )
        try:
            translated = data["translations"][0]["text"]
        except (KeyError, IndexError, TypeError):
            translated = None
        return _answer_text(translated)

    def describe(self) -> str:
        return str(_("DeepL: translates free text between the note languages."))


class HttpTranslator:
    """Call a service speaking claimdesk's own small JSON protocol (stdlib urllib)."""

    def translate(self, text: str, source: str, target: str) -> str:
        if source == target:
            return text
        data = _post(
            str(option("TRANSLATOR_URL") or ""),
            json.dumps({"text": text, "source": source, "target": target}).encode(),
            {
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {option('TRANSLATOR_KEY')}",
            },
        )
        return _answer_text(data.get("text") if isinstance(data, dict) else None)

    def describe(self) -> str:
        return str(_("Translation service: translates free text between the note languages."))


def get_translator() -> Translator:
    """Return the configured translator adapter."""
    translator: Translator = import_string(option("TRANSLATOR"))()
    return translator


def translate_text(text: str, *, source: str, target: str, catalogue: Iterable[Texts] = ()) -> str:
    """Translate `text`: known templates exactly first, then the configured adapter."""
    for code in (source, target):
        if code not in NOTE_LANGUAGES:
            raise InvalidInput(
                "language_unknown",
                _("Choose a language from the list."),
                {"language": code},
            )
    if not text.strip():
        raise InvalidInput("note_empty", _("Enter the text to translate."))
    builtin = BuiltinTranslator(catalogue)
    try:
        return builtin.translate(text, source, target)
    except DomainError:
        if option("TRANSLATOR") == DEFAULT_TRANSLATOR:
            raise
    return get_translator().translate(text, source, target)
