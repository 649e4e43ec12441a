"""The signed-in user's language and time zone apply to their request only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_a_users_time_zone_does_not_leak_into_the_next_request_on_the_thread(seller) -> None:
    """After a New York seller's page, the thread is back on the site's zone for the next caller."""
    seller.time_zone = "America/New_York"
    seller.save(update_fields=["time_zone"])
    seen: list[str] = []

    def record(sender: object, **kwargs: object) -> None:
        seen.append(timezone.get_current_timezone_name())

    from django.test.signals import template_rendered

    template_rendered.connect(record)
    try:
        browser = Client()
        browser.force_login(seller)
        assert browser.get(reverse("seller:home")).status_code == 200
    finally:
        template_rendered.disconnect(record)
    assert "America/New_York" in seen  # the page was rendered in the seller's zone
    # The same server thread then serves someone not signed in (an API or QAPI caller).
    assert timezone.get_current_timezone_name() == "Asia/Tokyo"
    assert Client().get(reverse("seller:login")).status_code == 200
    assert timezone.get_current_timezone_name() == "Asia/Tokyo"
