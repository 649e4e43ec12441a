"""Numbers typed or posted into the portals: digits that are no number ("²", "①") are refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from claimdesk.core.validation import parse_whole

pytestmark = pytest.mark.django_db

NOT_NUMBERS = ["²", "①", "1x", "abc", "٣", "-1", "9" * 25]


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_parse_whole_reads_ascii_digits_only(text: str) -> None:
    """Only ASCII digits that fit a database id are a number; everything else is None."""
    assert parse_whole(text) is None


def test_parse_whole_reads_numbers() -> None:
    """Plain digits read as the number, up to the given maximum."""
    assert parse_whole(" 42 ") == 42
    assert parse_whole("1000", maximum=999) is None


@pytest.mark.parametrize("text", ["²", "①", "abc", "1x"])
def test_seller_pages_refuse_numbers_that_are_not_numbers(client, seller, text: str) -> None:
    """Address book, staff, claims list, export and number search answer without an error."""
    client.force_login(seller)
    posts = [
        (reverse("seller:addresses"), {"action": "default", "address": text}),
        (reverse("seller:addresses"), {"action": "delete", "address": text}),
        (reverse("seller:staff"), {"action": "deactivate", "member": text}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code < 500, (url, data)
    gets = [
        (reverse("seller:claims"), {"statuses": f"{text},1"}),
        (reverse("seller:claims_export"), {"statuses": text}),
        (reverse("seller:claims"), {"search_kind": "order_no", "search": text}),
        (reverse("seller:shipping"), {"search_kind": "order_no", "search": text}),
    ]
    for url, query in gets:
        assert client.get(url, query).status_code < 500, (url, query)


@pytest.mark.parametrize("text", ["²", "abc"])
def test_buyer_device_removal_refuses_a_bad_id(client, buyer, text: str) -> None:
    """Removing a device by an id that is no number changes nothing and does not fail."""
    client.force_login(buyer)
    response = client.post(reverse("buyer:devices"), {"action": "remove", "device": text})
    assert response.status_code < 500


@pytest.mark.parametrize("text", ["²", "①"])
def test_console_searches_and_posts_refuse_bad_numbers(client, operator, text: str) -> None:
    """The console's claim search and restriction form treat "²" as no number."""
    client.force_login(operator)
    response = client.get(reverse("console:claims"), {"order_no": text, "cart_no": "1"})
    assert response.status_code < 500
    response = client.get(reverse("console:claims"), {"cart_no": text})
    assert response.status_code < 500
