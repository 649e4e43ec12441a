"""The shop record page: cancellation rate per week and month, delay points, restrictions, timers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from claimdesk.accounts.models import Shop
from claimdesk.accounts.selectors import (
    shop_active_restrictions,
    shop_penalty_points_total,
    shop_recent_penalties,
    shop_recent_restrictions,
    shop_restriction_list,
)
from claimdesk.claims.shop_record import percent_text, shop_cancel_rate, shop_record
from claimdesk.core.conf import setting
from claimdesk.messaging.models import Notification
from claimdesk.messaging.selectors import shop_recent_mails
from claimdesk.orders.selectors import shop_order_events
from claimdesk.portals.common import role_required

from .views import _user

seller_required = role_required("seller", "seller:login")

#: Mails the platform timers send about a shop's record.
TIMER_MAILS = (
    "delay_reminder",
    "delay_points",
    "restriction_imposed",
    "restriction_lifted",
    "restriction_lifted_by_operator",
)
WEEKS = 12
MONTHS = 6
#: Guideline above which the record page marks the cancellation rate (percent).
DEFAULT_CANCEL_RATE_WARN_PERCENT = 5
CHART_W, CHART_H, CHART_PAD = 560, 160, 24


@dataclass(frozen=True)
class Bar:
    label: str
    start: dt.date
    bp: int
    numerator: int
    orders: int
    x: int
    y: int
    height: int
    over: bool


def cancel_rate_warn_percent() -> int:
    """Return the cancellation-rate guideline shown with the chart."""
    return int(
        getattr(settings, "CLAIMDESK", {}).get(
            "CANCEL_RATE_WARN_PERCENT", DEFAULT_CANCEL_RATE_WARN_PERCENT
        )
    )


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def _week_starts(today: dt.date, count: int) -> list[dt.date]:
    monday = today - dt.timedelta(days=today.weekday())
    return [monday - dt.timedelta(weeks=n) for n in range(count - 1, -1, -1)]


def _month_starts(today: dt.date, count: int) -> list[dt.date]:
    starts = []
    year, month = today.year, today.month
    for _n in range(count):
        starts.append(dt.date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(starts))


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def rate_series(shop: Shop, periods: list[tuple[str, dt.date, dt.date]]) -> list[Bar]:
    """Return one chart bar per (label, start, end) period: the cancellation rate and geometry."""
    warn_bp = cancel_rate_warn_percent() * 100
    rates = [
        (label, start, shop_cancel_rate(shop, _midnight(start), _midnight(end))[0])
        for label, start, end in periods
    ]
    top = max([warn_bp * 2, *(r.bp for _l, _s, r in rates)]) or 1
    slot = (CHART_W - CHART_PAD) // max(len(rates), 1)
    bars = []
    for index, (label, start, rate) in enumerate(rates):
        height = rate.bp * (CHART_H - CHART_PAD) // top
        bars.append(
            Bar(
                label=label,
                start=start,
                bp=rate.bp,
                numerator=rate.numerator,
                orders=rate.denominator,
                x=CHART_PAD + index * slot + 2,
                y=CHART_H - CHART_PAD - height,
                height=height,
                over=rate.bp > warn_bp,
            )
        )
    return bars


def _chart(bars: list[Bar]) -> dict[str, Any]:
    warn_bp = cancel_rate_warn_percent() * 100
    top = max([warn_bp * 2, *(b.bp for b in bars)]) or 1
    slot = (CHART_W - CHART_PAD) // max(len(bars), 1)
    return {
        "bars": bars,
        "width": CHART_W,
        "height": CHART_H,
        "bar_width": max(slot - 4, 2),
        "base": CHART_H - CHART_PAD,
        "warn_y": CHART_H - CHART_PAD - warn_bp * (CHART_H - CHART_PAD) // top,
        "warn_text": percent_text(warn_bp),
        "label_y": CHART_H - 8,
    }


def timer_history(shop: Shop, *, limit: int = 100) -> list[dict[str, Any]]:
    """Return what the platform timers did to the shop, newest first, with the mail sent."""
    mails: dict[tuple[str, int | None], Notification] = {}
    for mail in shop_recent_mails(shop, TIMER_MAILS, limit * 2):
        mails.setdefault((mail.kind, mail.order_id), mail)
    lines: list[dict[str, Any]] = []
    reminders = shop_order_events(shop, "order.delay_reminder", limit)
    for event in reminders:
        lines.append(
            {
                "at": event.created_at,
                "kind": "reminder",
                "order": event.order.order_no,
                "detail": event.data.get("business_days", ""),
                "mail": mails.get(("delay_reminder", event.order_id)),
            }
        )
    for penalty in shop_recent_penalties(shop, limit):
        lines.append(
            {
                "at": penalty.created_at,
                "kind": "points",
                "order": penalty.order.order_no if penalty.order else None,
                "detail": penalty.points,
                "reason": penalty.reason,
                "mail": mails.get(("delay_points", penalty.order_id)),
            }
        )
    for restriction in shop_recent_restrictions(shop, limit):
        order_no = restriction.order.order_no if restriction.order else None
        lines.append(
            {
                "at": restriction.starts_at,
                "kind": "restricted",
                "order": order_no,
                "detail": restriction.ends_at,
                "reason": restriction.reason,
                "by_operator": restriction.imposed_by_id is not None,
                "mail": mails.get(("restriction_imposed", restriction.order_id)),
            }
        )
        if restriction.lifted_at:
            lines.append(
                {
                    "at": restriction.lifted_at,
                    "kind": "lifted",
                    "order": order_no,
                    "detail": "",
                    "reason": restriction.lift_reason,
                    "by_operator": restriction.lifted_by_id is not None,
                    "mail": mails.get(
                        (
                            "restriction_lifted_by_operator"
                            if restriction.lift_reason
                            else "restriction_lifted",
                            restriction.order_id,
                        )
                    ),
                }
            )
    lines.sort(key=lambda line: line["at"], reverse=True)
    return lines[:limit]


def record_context(shop: Shop) -> dict[str, Any]:
    """Return everything the record page shows about `shop` (shared with the console)."""
    today = timezone.localdate()
    weeks = [
        (start.strftime("%m/%d"), start, start + dt.timedelta(days=7))
        for start in _week_starts(today, WEEKS)
    ]
    months = [
        (start.strftime("%Y/%m"), start, _next_month(start))
        for start in _month_starts(today, MONTHS)
    ]
    record = shop_record(shop, today - dt.timedelta(days=29), today)
    return {
        "shop": shop,
        "record": record,
        "weekly": _chart(rate_series(shop, weeks)),
        "monthly": _chart(rate_series(shop, months)),
        "restrictions": shop_restriction_list(shop),
        "active": shop_active_restrictions(shop),
        "history": timer_history(shop),
        "points_total": shop_penalty_points_total(shop),
        "thresholds": {
            "cancel_rate": cancel_rate_warn_percent(),
            "reminder_day": setting("DELAY_REMINDER_BUSINESS_DAY"),
            "points_day": setting("DELAY_POINTS_BUSINESS_DAY"),
            "points": setting("DELAY_POINTS"),
            "restriction_day": setting("RESTRICTION_BUSINESS_DAY"),
            "ship_rate": setting("RESTRICTION_SHIP_RATE_PERCENT"),
            "restriction_days": setting("RESTRICTION_DAYS"),
            "late_buyer_hours": setting("LATE_BUYER_CANCEL_HOURS"),
        },
        "ship_rate_low": record.ship_rate.at_most_percent(setting("RESTRICTION_SHIP_RATE_PERCENT")),
        "cancel_text": percent_text(record.cancel_rate.bp),
        "cancel_over": record.cancel_rate.bp > cancel_rate_warn_percent() * 100,
        "ship_text": percent_text(record.ship_rate.bp),
    }


@seller_required
def record(request: HttpRequest) -> HttpResponseBase:
    """The shop's record compared with the platform's thresholds."""
    shop = _user(request).shop
    if shop is None:
        raise PermissionError("seller without a shop")
    return render(request, "seller/record.html", record_context(shop))
