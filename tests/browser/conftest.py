"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright against the live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from tests.conftest import need

CHROMIUM = os.environ.get("CLAIMDESK_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    need(os.path.exists(CHROMIUM), f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - it is in the lock
        need(False, "needs the playwright package")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # tests make around it are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # While that loop runs, Django keeps this thread's connections apart from the
    # ones opened before it started (asgiref's Local): close those first, or one would
    # stay connected, unseen, to the end (a database with a session open cannot be
    # copied, which tests/test_bench_replay_pg.py does). Likewise at the end.
    connections.close_all()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()
        connections.close_all()


@pytest.fixture
def page(chromium: Any, live_server: Any) -> Iterator[Any]:
    context = chromium.new_context(
        viewport={"width": 1366, "height": 900}, base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the seed's OK on every confirm()
    yield page
    context.close()


def sign_in(
    page: Any, username: str, password: str = "pw-for-tests-123", *, portal: str = "seller"
) -> None:
    """Sign in through the portal's login form."""
    page.goto(f"/{portal}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/{portal}/")
