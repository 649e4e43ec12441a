"""The claims table fits a 1366 px window in every language, on the demo's claims."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_claims_table_is_no_wider_than_the_window(page):
    """No sideways scrolling on 取消/退货/未收取 at 1366 px, whatever the language and statuses."""
    call_command("load_demo", verbosity=0)
    sign_in(page, "shop1-owner", "demo-pass-2026")
    widths = {}
    for language in ("en", "ja", "zh-hans"):
        with page.expect_navigation():
            page.select_option("#language", language)
        for query in ("", "?period_kind=complete", "?statuses=1,2,4,5,11,12,13,91"):
            page.goto(f"/seller/claims/{query}")
            assert page.locator("tbody tr[data-order]").count() > 0
            widths[language, query] = page.evaluate("document.documentElement.scrollWidth")
    assert all(width <= 1366 for width in widths.values()), widths
