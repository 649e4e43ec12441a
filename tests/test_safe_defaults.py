"""Defaults that keep a careless deployment safe: DEBUG off, formulas never evaluated."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from claimdesk.claims.cancel import claim_request_cancel
from claimdesk.core.sheets import xlsx_stream
from claimdesk.orders.models import Order
from tests.factories import order_in

ROOT = Path(__file__).resolve().parent.parent


def _debug_with(env: dict[str, str]) -> str:
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    result = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_debug_is_off_unless_asked_for() -> None:
    """Without DJANGO_DEBUG the settings have DEBUG off; DJANGO_DEBUG=1 turns it on."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"}
    assert _debug_with(env) == "False"
    assert _debug_with({**env, "DJANGO_DEBUG": "1"}) == "True"


def test_make_demo_asks_for_debug() -> None:
    """The demo target runs the server with DJANGO_DEBUG=1 explicitly."""
    makefile = (ROOT / "Makefile").read_text()
    demo = makefile[makefile.index("\ndemo:") : makefile.index("\nlint:")]
    assert "DJANGO_DEBUG=1" in demo and "runserver" in demo


FORMULAS = ["=1+2", '=HYPERLINK("http://x.example","x")', "+1", "-1", "@SUM(A1)", "＝1+1"]


def test_xlsx_texts_that_look_like_formulas_stay_text() -> None:
    """Texts starting with = + - @ are text cells with the quote prefix; others are plain."""
    data = b"".join(xlsx_stream(["text", "number"], [[t, -5] for t in [*FORMULAS, "plain"]]))
    sheet = load_workbook(io.BytesIO(data)).active
    for row, text in enumerate(FORMULAS, start=2):
        cell = sheet.cell(row=row, column=1)
        assert cell.value == text and cell.data_type == "s", text
        assert cell.quotePrefix, text
    plain = sheet.cell(row=len(FORMULAS) + 2, column=1)
    assert plain.value == "plain" and not plain.quotePrefix
    number = sheet.cell(row=2, column=2)
    assert number.value == -5 and number.data_type == "n" and not number.quotePrefix


@pytest.mark.django_db
def test_the_claims_export_quotes_an_item_named_like_a_formula(client, seller, buyer) -> None:  # type: ignore[no-untyped-def]
    """An item title "=cmd|..." in the claims download is text that is never evaluated."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    Order.objects.filter(pk=order.pk).update(item_title="=cmd|' /C calc'!A0")
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    client.force_login(seller)
    response = client.get(reverse("seller:claims_export"))
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value == "=cmd|' /C calc'!A0"]
    assert cells and all(c.quotePrefix and c.data_type == "s" for c in cells)
