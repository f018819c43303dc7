"""The business calendar: Monday to Friday without German nationwide public holidays.

Pure functions, no I/O. The holidays come from the maintained ``holidays`` library
(Germany without a subdivision gives the nationwide days only)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=128)
def _german_holiday_names(year: int) -> dict[date, str]:
    return {day: str(name) for day, name in holidays.country_holidays("DE", years=year).items()}


def _german_holidays(year: int) -> dict[date, str]:
    return _german_holiday_names(year)


def holiday_name(day: date) -> str | None:
    """The name of the nationwide holiday on ``day``, or None."""
    return _german_holiday_names(day.year).get(day)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _german_holidays(day.year)


def business_days(start: date, count: int) -> list[date]:
    """The first ``count`` business days on or after ``start``."""
    days: list[date] = []
    day = start
    while len(days) < count:
        if is_business_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def business_days_between(start: date, end: date) -> Iterator[date]:
    """Business days from ``start`` to ``end``, both included."""
    day = start
    while day <= end:
        if is_business_day(day):
            yield day
        day += timedelta(days=1)


def add_business_days(day: date, count: int) -> date:
    """The ``count``-th business day after ``day`` (``day`` itself need not be one)."""
    found = 0
    while found < count:
        day += timedelta(days=1)
        if is_business_day(day):
            found += 1
    return day


def previous_business_day(day: date) -> date:
    day -= timedelta(days=1)
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day
