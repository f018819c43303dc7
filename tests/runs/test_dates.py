"""Which day a run may run (pure rules)."""

from __future__ import annotations

from datetime import date

from flows.runs.dates import decide_run_date, not_a_business_day

MONDAY, TUESDAY, SATURDAY = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 7)
GOOD_FRIDAY = date(2026, 4, 3)
TODAY = date(2026, 6, 1)


def test_weekends_and_nationwide_holidays_are_named() -> None:
    assert not_a_business_day(SATURDAY) == "2026-03-07 is a Saturday, not a business day"
    assert not_a_business_day(GOOD_FRIDAY) == (
        "2026-04-03 is a public holiday (Good Friday), not a business day"
    )
    assert not_a_business_day(MONDAY) is None


def test_a_day_before_the_last_processed_one_needs_backfill() -> None:
    refused = decide_run_date(
        MONDAY, last_processed=TUESDAY, backfill=False, force=False, scheduled=False, today=TODAY
    )
    assert not refused.allowed and not refused.skip
    assert refused.reason == (
        "2026-03-02 is before the last processed day 2026-03-03; run it with --backfill "
        "to rebuild it without sending anything"
    )
    assert decide_run_date(
        MONDAY, last_processed=TUESDAY, backfill=True, force=False, scheduled=False, today=TODAY
    ).allowed
    # The same day again (a rerun) and the next day are fine.
    for day in (TUESDAY, date(2026, 3, 4)):
        assert decide_run_date(
            day, last_processed=TUESDAY, backfill=False, force=False, scheduled=False, today=TODAY
        ).allowed


def test_a_weekend_is_refused_unless_forced_and_a_scheduled_run_skips_it() -> None:
    asked = decide_run_date(
        SATURDAY, last_processed=None, backfill=False, force=False, scheduled=False, today=TODAY
    )
    assert not asked.allowed and not asked.skip and "--force" in (asked.reason or "")
    scheduled = decide_run_date(
        GOOD_FRIDAY, last_processed=None, backfill=False, force=False, scheduled=True, today=TODAY
    )
    assert not scheduled.allowed and scheduled.skip and "Good Friday" in (scheduled.reason or "")
    assert decide_run_date(
        SATURDAY, last_processed=None, backfill=False, force=True, scheduled=False, today=TODAY
    ).allowed


def test_a_day_after_today_is_refused_unless_forced() -> None:
    friday = date(2026, 3, 6)
    refused = decide_run_date(
        friday, last_processed=None, backfill=False, force=False, scheduled=False, today=TUESDAY
    )
    assert not refused.allowed and not refused.skip
    assert refused.reason == (
        "2026-03-06 is after today (2026-03-03, Europe/Berlin); check the date, or run it "
        "with --force if that is intended"
    )
    # Today itself is fine; a backfill does not make a future day possible.
    assert decide_run_date(
        TUESDAY, last_processed=MONDAY, backfill=False, force=False, scheduled=False, today=TUESDAY
    ).allowed
    assert not decide_run_date(
        friday, last_processed=None, backfill=True, force=False, scheduled=False, today=TUESDAY
    ).allowed
    assert decide_run_date(
        friday, last_processed=None, backfill=False, force=True, scheduled=False, today=TUESDAY
    ).allowed
