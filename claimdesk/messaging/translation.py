"""The translator of the note dialog (翻译): an adapter chosen by settings.

`CLAIMDESK["TRANSLATOR"]` names the adapter class (dotted path); the default
is `BuiltinTranslator`, which translates the saved replies and the standard
notices by exact template match and says plainly that it cannot translate free
text. `HttpTranslator` calls an external service configured by
`CLAIMDESK["TRANSLATOR_URL"]` and `CLAIMDESK["TRANSLATOR_KEY"]`:

    POST <url>  {"text": ..., "source": "ja", "target": "zh-hans"}
    Authorization: Bearer <key>
    -> 200 {"text": "<translation>"}
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Protocol

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


class HttpTranslator:
    """Call an external translation service over HTTP (stdlib urllib, JSON in and out)."""

    def translate(self, text: str, source: str, target: str) -> str:
        if source == target:
            return text
        url = str(option("TRANSLATOR_URL") or "")
        if not url.startswith(("http://", "https://")):
            raise _unavailable(_("No translation service is set up. Write the text yourself."))
        payload = json.dumps({"text": text, "source": source, "target": target}).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
                "Authorization": f"Bearer {option('TRANSLATOR_KEY')}",
            },
        )
        timeout = float(option("TRANSLATOR_TIMEOUT"))
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                data = json.loads(response.read().decode("utf-8"))
            translated = data["text"]
            if not isinstance(translated, str) or not translated.strip():
                raise ValueError("empty translation")
        except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("translation service failed: %s", exc)
            raise _unavailable(
                _(
                    "The translation service did not answer. Try again in a moment, "
                    "or write the text yourself."
                )
            ) from exc
        return translated


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
