"""Sign-in throttling (django-axes): every sign-in form, counted in the database, in the user's language."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.db.models import Sum
from django.test import Client
from django.utils import translation

from tests.factories import BuyerFactory, OperatorFactory, SellerFactory

PASSWORD = "pw-for-tests-123"

#: (login page, the role that may sign in there)
LOGINS = [
    ("/seller/login/", SellerFactory),
    ("/my/login/", BuyerFactory),
    ("/console/login/", OperatorFactory),
    ("/admin/login/", OperatorFactory),
]


def _failures() -> int:
    return AccessAttempt.objects.aggregate(n=Sum("failures_since_start"))["n"] or 0


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "factory"), LOGINS)
def test_five_wrong_passwords_lock_the_login_even_for_the_right_one(url: str, factory: Any) -> None:
    """After 5 failures the right password is refused with 429 and a reason; no session starts."""
    user = factory()
    if url.startswith("/admin/"):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    browser = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    for _ in range(5):
        browser.post(url, {"username": user.username, "password": "wrong"})
    assert _failures() == 5
    refused = browser.post(url, {"username": user.username, "password": PASSWORD})
    assert refused.status_code == 429
    assert "_auth_user_id" not in browser.session
    with translation.override("zh-hans"):
        reason = translation.gettext("Too many failed attempts. Wait 15 minutes and try again.")
    assert reason[:8] in refused.content.decode()
    other = Client()  # another login from the same address is not locked
    second = factory()
    if url.startswith("/admin/"):
        second.is_staff = True
        second.save(update_fields=["is_staff"])
    assert other.post(url, {"username": second.username, "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_a_success_before_the_limit_clears_the_count(client: Client) -> None:
    """Four failures and then the right password: the count starts again."""
    seller = SellerFactory()
    for _ in range(4):
        client.post("/seller/login/", {"username": seller.username, "password": "wrong"})
    assert (
        client.post(
            "/seller/login/", {"username": seller.username, "password": PASSWORD}
        ).status_code
        == 302
    )
    assert _failures() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_wrong_passwords_over_http_are_all_counted(
    postgres: None, live_server: Any
) -> None:
    """20 wrong passwords sent at once to a live server are 20 failures, and the login is locked."""
    import requests

    seller = SellerFactory()
    url = f"{live_server.url}/seller/login/"
    page = requests.get(url, timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    cookies = page.cookies.get_dict()
    start = threading.Barrier(20)
    statuses: list[int] = []

    def guess() -> None:
        start.wait()
        answer = requests.post(
            url,
            data={
                "username": seller.username,
                "password": "wrong",
                "csrfmiddlewaretoken": token[1],
            },
            cookies=cookies,
            headers={"Referer": url},
            timeout=60,
            allow_redirects=False,
        )
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 20 and set(statuses) <= {200, 429}
    assert _failures() == 20
    right = requests.post(
        url,
        data={"username": seller.username, "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
        cookies=cookies,
        headers={"Referer": url},
        timeout=30,
        allow_redirects=False,
    )
    assert right.status_code == 429
