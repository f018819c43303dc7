"""Which day a run may run: pure rules, apart from the warehouse query that finds the
last processed day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from flows.calendar import holiday_name, is_business_day
from flows.warehouse import table_exists

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class DateDecision:
    allowed: bool
    reason: str | None = None
    skip: bool = False  # a scheduled run on a weekend or holiday: nothing to do, no failure


def not_a_business_day(day: date) -> str | None:
    """Why ``day`` is not a business day (weekend or nationwide holiday), or None."""
    if day.weekday() >= 5:
        return f"{day} is a {WEEKDAYS[day.weekday()]}, not a business day"
    if not is_business_day(day):
        return f"{day} is a public holiday ({holiday_name(day)}), not a business day"
    return None


def decide_run_date(
    day: date,
    *,
    last_processed: date | None,
    backfill: bool,
    force: bool,
    scheduled: bool,
    today: date,
) -> DateDecision:
    """May a daily run go for ``day``?

    - A day after ``today`` (Europe/Berlin) only with ``force``: one mistyped date would
      otherwise make every later real day "before the last processed day".
    - A day before the last processed one only as a backfill (rebuilds, sends nothing):
      sending it now would reach clients with old news after newer news.
    - A weekend or holiday only with ``force``; a scheduled run (no date given) on such a
      day is skipped rather than failed, so holidays do not page anyone.
    """
    if day > today and not force:
        return DateDecision(
            False,
            f"{day} is after today ({today}, Europe/Berlin); check the date, or run it with "
            "--force if that is intended",
        )
    off = not_a_business_day(day)
    if off and not force:
        if scheduled:
            return DateDecision(False, f"{off}: nothing to run today", skip=True)
        return DateDecision(False, f"{off}; run it with --force if that is intended")
    if last_processed is not None and day < last_processed and not backfill:
        return DateDecision(
            False,
            f"{day} is before the last processed day {last_processed}; run it with "
            "--backfill to rebuild it without sending anything",
        )
    return DateDecision(True)


def last_processed_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The newest drop date loaded into the raw layer, or None on a new warehouse."""
    if not table_exists(con, "raw", "drop_files"):
        return None
    value = con.execute("SELECT max(drop_date) FROM raw.drop_files").fetchall()[0][0]
    return value if isinstance(value, date) else None
