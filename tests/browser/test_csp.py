"""The Content-Security-Policy in Chromium: the portals work with no inline script and no eval."""

from __future__ import annotations

from typing import Any

import pytest

from claimdesk.claims.cancel import claim_request_cancel
from tests.factories import order_in

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Collects every violation the page reports (init scripts run outside the policy).
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


def _watched(page: Any) -> list[str]:
    console: list[str] = []
    page.on(
        "console",
        lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.add_init_script(WATCH)
    return console


def _violations(page: Any, console: list[str]) -> list[str]:
    return [*page.evaluate("window.__cspViolations || []"), *console]


def test_the_portals_send_a_policy_and_break_none_of_it(page, seller, buyer, operator) -> None:  # type: ignore[no-untyped-def]
    """Main pages of the three portals load, swap htmx partials and switch language: no violation."""
    order = order_in("new", seller=seller, buyer=buyer)
    asked = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=asked, reason="EDIT_ORDER")
    console = _watched(page)
    response = page.goto("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy

    sign_in(page, seller.username)
    for url in ["/seller/", "/seller/claims/", "/seller/settings/addresses/", "/seller/notes/"]:
        page.goto(url)
    page.goto("/seller/shipping/?box=new")
    row = page.locator(f'tr[data-order="{order.order_no}"]')
    row.focus()
    page.keyboard.press("Enter")  # opens the order through htmx, without an eval'd filter
    page.locator(f'[data-order-panel="{order.order_no}"]').wait_for()
    with page.expect_navigation():
        page.select_option("#language", "en")  # sends the form without an inline handler
    assert page.locator("html").get_attribute("lang") == "en"
    assert _violations(page, console) == []

    page.context.clear_cookies()
    sign_in(page, buyer.username, portal="my")
    page.goto(f"/my/orders/{order.order_no}/")
    assert _violations(page, console) == []

    page.context.clear_cookies()
    sign_in(page, operator.username, portal="console")
    for url in ["/console/", "/console/claims/", f"/console/orders/{asked.order_no}/"]:
        page.goto(url)
    assert _violations(page, console) == []


def test_a_confirm_question_still_guards_a_form(
    chromium, live_server, seller, buyer, operator
) -> None:  # type: ignore[no-untyped-def]
    """The console's cancel asks its question from the static script; Cancel sends nothing."""
    order = order_in("new", seller=seller, buyer=buyer)
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    questions: list[str] = []

    def dismiss(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    try:
        console = _watched(page)
        sign_in(page, operator.username, portal="console")
        page.goto(f"/console/orders/{order.order_no}/")
        form = page.locator("#cancel-form")
        form.locator("textarea[name=reason]").fill("the buyer asked by phone")
        form.locator("button[type=submit]").click()
        page.wait_for_timeout(0)
        assert questions, "no confirm() question was asked"
        assert page.url.endswith(f"/console/orders/{order.order_no}/")
        order.refresh_from_db()
        assert order.cancelled_at is None
        assert _violations(page, console) == []
    finally:
        context.close()


def test_the_api_docs_and_the_admin_pass_the_policy(page) -> None:  # type: ignore[no-untyped-def]
    """The API's docs page (from its own static files) and the admin sign-in break nothing."""
    console = _watched(page)
    page.goto("/api/v1/docs")
    page.locator(".swagger-ui .info").wait_for()  # the docs are drawn by their script
    page.goto("/admin/login/")
    assert _violations(page, console) == []
