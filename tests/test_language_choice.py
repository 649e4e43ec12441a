"""The language picked on the sign-in page wins at sign-in; one language control everywhere."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("who", "portal"), [("seller", "seller"), ("buyer", "buyer"), ("operator", "console")]
)
def test_language_chosen_before_sign_in_is_kept_and_saved(client, request, who, portal):
    """A language picked on the login page: the portal opens in it and the account keeps it."""
    user = request.getfixturevalue(who)
    chosen = "ja" if user.language != "ja" else "en"
    client.post(reverse("portals:set_language"), {"language": chosen, "next": f"/{portal}/login/"})
    response = client.post(
        reverse(f"{portal}:login"),
        {"username": user.username, "password": "pw-for-tests-123"},
        follow=True,
    )
    assert response.status_code == 200
    assert f'<html lang="{chosen}">' in response.content.decode()
    user.refresh_from_db()
    assert user.language == chosen


def test_without_a_choice_the_account_language_applies(client, seller):
    """Signing in without picking a language keeps the account's own."""
    response = client.post(
        reverse("seller:login"),
        {"username": seller.username, "password": "pw-for-tests-123"},
        follow=True,
    )
    assert f'<html lang="{seller.language}">' in response.content.decode()
    seller.refresh_from_db()
    assert seller.language == "zh-hans"


def _language_control(html: str) -> str:
    found = re.search(r"<form[^>]*data-language-control.*?</form>", html, re.S)
    assert found, "no language control"
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"|value="/[^"]*"', "", found.group(0))


def test_front_page_and_portals_share_one_language_control(client):
    """The front page's control is the portals' one: a select that switches at once, native names."""
    front = _language_control(client.get("/").content.decode())
    login = _language_control(client.get(reverse("seller:login")).content.decode())
    assert front == login
    assert "data-autosubmit" in front and ">日本語<" in front and ">English<" in front
