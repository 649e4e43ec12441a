"""Words with two meanings are translated by their meaning (gettext contexts)."""

from __future__ import annotations

import pathlib
import re

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import pgettext

from claimdesk.claims.cancel import claim_cancel_instantly
from tests.factories import order_in

ROOT = pathlib.Path(__file__).resolve().parent.parent / "claimdesk"

#: English words that name two things (a state and a date field, a period's start and
#: a translation's source language...): each use must say which, with a context.
AMBIGUOUS = {
    "Cancelled": ("order state",),
    "cancelled": ("order field",),
    "Returned": ("order state",),
    "returned": ("order field",),
    "Delivered": ("shipping status", "history event", "webhook delivery"),
    "From": ("period", "language"),
    "To": ("period", "language"),
}

_WORDS = "|".join(AMBIGUOUS)
_PLAIN_PY = re.compile(rf"\b(?:_|_lazy|gettext|gettext_lazy)\(\s*[\"']({_WORDS})[\"']\s*\)")
_PLAIN_TEMPLATE = re.compile(
    rf"{{%\s*(?:translate|trans)\s+[\"']({_WORDS})[\"']\s*(?:as \w+\s*)?%}}"
)


def test_no_word_with_two_meanings_is_translated_without_its_context():
    """`_("Cancelled")` or `{% translate "From" %}` anywhere in the product is caught here."""
    plain = []
    for path in ROOT.rglob("*"):
        if path.suffix not in (".py", ".html", ".txt"):
            continue
        text = path.read_text(encoding="utf-8")
        # Jinja2 templates (portals/jinja2/) translate with `_("…")` as Python does
        patterns = [_PLAIN_PY] if path.suffix == ".py" else [_PLAIN_TEMPLATE, _PLAIN_PY]
        plain += [
            f"{path.relative_to(ROOT)}: {m.group(0)}"
            for pattern in patterns
            for m in pattern.finditer(text)
        ]
    assert plain == []


@pytest.mark.parametrize("language", ["ja", "zh-hans"])
def test_each_meaning_has_its_own_translation(language):
    """The state reads as a state and the field as a field; a period is not a language."""
    with translation.override(language):
        assert pgettext("order state", "Cancelled") != pgettext("order field", "cancelled")
        assert pgettext("order state", "Returned") != pgettext("order field", "returned")
        assert pgettext("period", "From") != pgettext("language", "From")
        assert pgettext("period", "To") != pgettext("language", "To")
        assert pgettext("shipping status", "Delivered") != pgettext("webhook delivery", "Delivered")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "state", "field"),
    [("ja", "キャンセル済み", "キャンセル日"), ("zh-hans", "已取消", "取消日")],
)
def test_console_order_page_shows_a_cancelled_order_as_cancelled(
    client, operator, seller, buyer, language, state, field
):
    """The console's order page says the order is cancelled, not "cancel date"."""
    order = order_in("new", seller=seller, buyer=buyer)
    claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    operator.language = language
    operator.save(update_fields=["language"])
    client.force_login(operator)
    html = client.get(reverse("console:order", args=[order.order_no])).content.decode()
    status = re.search(r'<dd id="shipping-status"[^>]*>(.*?)</dd>', html, re.S)
    assert status and state in status.group(1) and field not in status.group(1)
