"""The German business calendar."""

from __future__ import annotations

from datetime import date

from flows.calendar import (
    add_business_days,
    business_days,
    business_days_between,
    holiday_name,
    is_business_day,
    previous_business_day,
)


def test_weekends_and_nationwide_holidays_are_not_business_days() -> None:
    assert not is_business_day(date(2026, 4, 3))  # Good Friday
    assert not is_business_day(date(2026, 4, 6))  # Easter Monday
    assert not is_business_day(date(2026, 10, 3))  # Unity Day (a Saturday in 2026)
    assert not is_business_day(date(2026, 12, 25))
    assert not is_business_day(date(2026, 3, 7))  # Saturday
    assert is_business_day(date(2026, 4, 7))
    # Regional holidays (Epiphany in Bavaria) are business days bank-wide.
    assert is_business_day(date(2026, 1, 6))
    assert holiday_name(date(2026, 5, 14)) == "Ascension Day"


def test_sla_deadline_skips_weekend_and_holiday() -> None:
    # An alert on Thursday before Easter has until Wednesday after it with N = 2.
    assert add_business_days(date(2026, 4, 2), 2) == date(2026, 4, 8)
    # Tuesday + 2 = Thursday.
    assert add_business_days(date(2026, 3, 3), 2) == date(2026, 3, 5)


def test_business_day_sequences() -> None:
    assert business_days(date(2026, 12, 24), 3) == [
        date(2026, 12, 24),
        date(2026, 12, 28),
        date(2026, 12, 29),
    ]
    assert list(business_days_between(date(2026, 4, 2), date(2026, 4, 7))) == [
        date(2026, 4, 2),
        date(2026, 4, 7),
    ]
    assert previous_business_day(date(2026, 4, 7)) == date(2026, 4, 2)
