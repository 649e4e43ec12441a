"""The shop record page: rates per week and month with an SVG chart, timers shown and mailed.

The timer scenario pays an order on Tuesday 2026-04-28, the eve of Golden Week
(4/29 and 5/3-5/6 are holidays): business days after payment are 4/30 (1),
5/1 (2), 5/7 (3: reminder), 5/8 (4: points), 5/11 (5: restriction).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claimdesk.claims.cancel import claim_seller_cancel
from claimdesk.messaging.models import Notification
from claimdesk.ops.sweep import sweep
from tests.factories import order_in

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")


def at(month: int, day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=TOKYO)


def test_golden_week_timers_appear_on_the_record_page_and_are_mailed(
    client, seller, buyer, run_tasks
):
    """Reminder, points and restriction come on business days 3, 4, 5 and show on the page."""
    with time_machine.travel(at(4, 28, 10), tick=False):
        order = order_in("new", seller=seller, buyer=buyer)
    happened = {}
    day = dt.date(2026, 4, 29)
    while day <= dt.date(2026, 5, 12):
        with time_machine.travel(at(day.month, day.day), tick=False):
            counts = sweep()
        row = (counts["delay_reminders"], counts["delay_points"], counts["restrictions_imposed"])
        if any(row):
            happened[day] = row
        day += dt.timedelta(days=1)
    assert happened == {
        dt.date(2026, 5, 7): (1, 0, 0),
        dt.date(2026, 5, 8): (0, 1, 0),
        dt.date(2026, 5, 11): (0, 0, 1),
    }
    run_tasks()
    client.force_login(seller)
    with time_machine.travel(at(5, 12), tick=False):
        html = client.get(reverse("seller:record")).content.decode()
    for kind in ("reminder", "points", "restricted"):
        assert f'data-kind="{kind}"' in html
    assert str(order.order_no) in html
    assert 'id="chart-weekly"' in html and 'id="chart-monthly"' in html and "<svg" in html
    assert "2026/06/10" in html  # restricted for 30 days from 5/11
    sent = Notification.objects.filter(
        shop=seller.shop, kind__in=["delay_reminder", "delay_points", "restriction_imposed"]
    )
    assert sorted(sent.values_list("status", flat=True)) == ["sent"] * 3


def test_cancellation_rate_per_week_is_charted(client, seller, buyer):
    """A seller-fault cancel this week shows as this week's bar (1 of 2 orders = 5000 bp)."""
    order = order_in("new", seller=seller, buyer=buyer)
    order_in("new", seller=seller, buyer=buyer)
    claim_seller_cancel(
        actor=seller, order=order, reason="OUT_OF_STOCK", confirm_without_notice=True
    )
    client.force_login(seller)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("seller:record")).content.decode()
    assert 'data-bp="5000"' in html
    assert 'data-record="without_notice">1<' in html
    assert len(queries) < 80


def test_record_page_is_for_sellers_only(client, buyer, operator):
    """Buyers and operators get "not found" on the seller's record page."""
    for user in (buyer, operator):
        client.force_login(user)
        assert client.get(reverse("seller:record")).status_code == 404
