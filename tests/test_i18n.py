"""Refusals are translated where they are shown, and every message has a translation."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from claimdesk.claims.cancel import claim_cancel_instantly
from claimdesk.core.errors import DomainError
from tests.factories import order_in

LOCALE = Path(__file__).resolve().parent.parent / "locale"


@pytest.mark.django_db
def test_refusal_raised_in_one_language_renders_in_another(seller, buyer):
    """A message with the order number, raised under Japanese, reads in Chinese and English when shown there."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    with translation.override("ja"), pytest.raises(DomainError) as caught:
        claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    with translation.override("ja"):
        ja = str(caught.value.message)
    with translation.override("zh-hans"):
        zh = str(caught.value.message)
    with translation.override("en"):
        en = str(caught.value.message)
    assert str(order.order_no) in ja and str(order.order_no) in zh and str(order.order_no) in en
    assert "ask for cancellation instead" in en
    assert len({ja, zh, en}) == 3


def _untranslated(po_text: str) -> list[str]:
    """Return the msgids of a .po file with an empty msgstr or a fuzzy flag."""
    missing = []
    for block in po_text.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        if not any(line.startswith("msgid ") for line in lines):
            continue
        msgid = "".join(_quoted(lines, "msgid "))
        if not msgid:
            continue  # the header
        strings = _quoted(lines, "msgstr")
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        if fuzzy or not "".join(strings):
            missing.append(msgid)
    return missing


def _quoted(lines: list[str], key: str) -> list[str]:
    out, active = [], False
    for line in lines:
        if line.startswith(key):
            active = True
            out.append(line.split(" ", 1)[1].strip().strip('"'))
        elif active and line.startswith('"'):
            out.append(line.strip('"'))
        elif active:
            active = line.startswith(key)
    return out


@pytest.mark.parametrize("language", ["ja", "zh_Hans"])
def test_every_message_is_translated(language):
    """No empty msgstr and no fuzzy entry in the Japanese and Chinese catalogs."""
    text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    missing = _untranslated(text)
    assert missing == [], f"{len(missing)} untranslated, e.g. {missing[:5]}"
