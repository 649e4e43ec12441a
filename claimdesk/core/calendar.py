"""Japanese business days: weekdays that are not national holidays.

The platform's shipping-delay timers count business days after payment,
so Golden Week or the New Year holidays do not punish a shop.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays

# The year-end closing days that Japanese carriers and marketplaces observe.
_YEAR_END = {(12, 31), (1, 1), (1, 2), (1, 3)}


@lru_cache(maxsize=64)
def _japan_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("JP", years=year)


def is_business_day(day: dt.date) -> bool:
    """Return whether `day` is a Japanese business day."""
    if day.weekday() >= 5:
        return False
    if (day.month, day.day) in _YEAR_END:
        return False
    return day not in _japan_holidays(day.year)


def add_business_days(start: dt.date, count: int) -> dt.date:
    """Return the date `count` business days after `start` (`start` itself not counted)."""
    day = start
    remaining = count
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_business_day(day):
            remaining -= 1
    return day


def business_days_between(start: dt.date, end: dt.date) -> int:
    """Count business days after `start` up to and including `end`."""
    if end <= start:
        return 0
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_business_day(day):
            count += 1
    return count
