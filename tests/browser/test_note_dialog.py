"""The note dialog at 1366 px in Chromium: its layout, one attach control, the size limit."""

from __future__ import annotations

from typing import Any

import pytest

from claimdesk.messaging.models import Note
from tests.factories import order_in

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open_dialog(page: Any, seller: Any, buyer: Any) -> Any:
    order = order_in("new", seller=seller, buyer=buyer)
    sign_in(page, seller.username)
    page.goto(f"/seller/shipping/?box=new&open={order.order_no}")
    page.locator(f'[data-order-panel="{order.order_no}"] [data-note-link]').click()
    form = page.locator("#note-form")
    form.wait_for()
    return form


def test_title_has_its_own_row_and_the_message_box_is_wide(page, seller, buyer):
    """标题 sits below the saved-reply controls; the message box spans the dialog."""
    form = _open_dialog(page, seller, buyer)
    dialog = page.locator("dialog[data-note-dialog]").bounding_box()
    title_label = form.locator("label[for=note-title]").bounding_box()
    reply_select = form.locator("#note-reply").bounding_box()
    assert title_label["y"] >= reply_select["y"] + reply_select["height"]
    body = form.locator("#note-body").bounding_box()
    assert dialog["width"] >= 640
    assert body["width"] >= dialog["width"] - 80


def test_one_attach_control_and_files_over_the_limit_refused_in_red(page, seller, buyer):
    """A single "+ 添加" control; 5 MB of files are refused in red in the dialog, nothing sent."""
    form = _open_dialog(page, seller, buyer)
    native = form.locator("input[type=file]")
    box = native.bounding_box()
    assert box is None or box["width"] <= 2  # the browser's own button is not shown
    form.locator(".note-files label .button").wait_for()
    native.set_input_files(
        [
            {
                "name": "big.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n" + b"0" * (5 << 20),
            }
        ]
    )
    error = form.locator("[data-size-error]")
    error.wait_for()
    assert "4" in error.inner_text() and "big.pdf" in form.locator("[data-file-list]").inner_text()
    color = error.evaluate("e => getComputedStyle(e).color")
    assert color == "rgb(179, 38, 30)"  # --bad
    form.locator("#note-title").fill("t")
    form.locator("#note-body").fill("b")
    form.locator("button[type=submit].primary").click()
    assert error.is_visible()
    assert Note.objects.count() == 0
    native.set_input_files([])
    error.wait_for(state="hidden")
