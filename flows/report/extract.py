"""The figures of a weekly adoption report, read from the adoption marts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import duckdb

from flows.errors import VotumError
from flows.report.model import (
    AdvisorWeek,
    BankReport,
    BranchLine,
    BranchReport,
    Language,
    UnfollowedAlert,
    WeekFigures,
)

TREND_WEEKS = 8
_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class ReportError(VotumError):
    exit_code = 2


def parse_week(text: str) -> tuple[str, date]:
    """``2026-W41`` -> (the label, its Monday)."""
    match = _ISO_WEEK.match(text.strip())
    if not match:
        raise ReportError(f"not an ISO week (YYYY-Www, e.g. 2026-W41): {text!r}")
    try:
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError as exc:
        raise ReportError(f"no such ISO week: {text!r}") from exc
    return week_label(monday), monday


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _rows(
    con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = con.sql(query, params=list(params)).to_arrow_table().to_pylist()
    return rows


def _figures(row: dict[str, Any] | None, monday: date) -> WeekFigures:
    row = row or {}
    return WeekFigures(
        week=week_label(monday),
        week_start=monday,
        alerts=int(row.get("alerts") or 0),
        followed_up_within_sla=int(row.get("followed_up_within_sla") or 0),
        open_alerts=int(row.get("open_alerts") or 0),
        missed=int(row.get("missed") or 0),
        adoption_rate=row.get("adoption_rate"),
        median_hours_to_contact=row.get("median_hours_to_contact"),
        follow_up_trades=int(row.get("follow_up_trades") or 0),
        activities_logged=int(row.get("activities_logged") or 0),
        clients_informed_within_one_day=row.get("clients_informed_within_one_day"),
    )


def _mondays(monday: date) -> list[date]:
    return [monday - timedelta(weeks=n) for n in range(TREND_WEEKS - 1, -1, -1)]


def _bank_trend(con: duckdb.DuckDBPyConnection, monday: date) -> list[WeekFigures]:
    weeks = _mondays(monday)
    rows = {
        r["week_start"]: r
        for r in _rows(
            con,
            "SELECT * FROM mart_adoption_weekly_bank WHERE week_start BETWEEN ? AND ?",
            [weeks[0], monday],
        )
    }
    return [_figures(rows.get(w), w) for w in weeks]


def branches_of_week(con: duckdb.DuckDBPyConnection, monday: date) -> list[str]:
    """Branches with any figure in the trend window (a branch that went quiet still
    gets its report)."""
    rows = con.execute(
        "SELECT DISTINCT branch FROM mart_adoption_weekly_branches "
        "WHERE week_start BETWEEN ? AND ? ORDER BY branch",
        [_mondays(monday)[0], monday],
    ).fetchall()
    return [str(r[0]) for r in rows]


def branch_report(
    con: duckdb.DuckDBPyConnection,
    branch: str,
    monday: date,
    *,
    language: Language,
    target_adoption_rate: float,
    sla_business_days: int,
) -> BranchReport:
    weeks = _mondays(monday)
    trend_rows = {
        r["week_start"]: r
        for r in _rows(
            con,
            "SELECT * FROM mart_adoption_weekly_branches WHERE branch = ? "
            "AND week_start BETWEEN ? AND ?",
            [branch, weeks[0] - timedelta(weeks=1), monday],
        )
    }
    advisors = [
        AdvisorWeek(
            advisor_id=str(r["advisor_id"]),
            advisor_name=r.get("advisor_name"),
            branch=branch,
            alerts=int(r["alerts"]),
            followed_up_within_sla=int(r["followed_up_within_sla"]),
            open_alerts=int(r["open_alerts"]),
            missed=int(r["missed"]),
            adoption_rate=r["adoption_rate"],
            median_hours_to_contact=r["median_hours_to_contact"],
            follow_up_trades=int(r["follow_up_trades"]),
            activities_logged=int(r["activities_logged"]),
        )
        for r in _rows(
            con,
            """
            SELECT w.*, a.advisor_name FROM mart_adoption_weekly AS w
            LEFT JOIN dim_advisors AS a ON w.advisor_id = a.advisor_id
            WHERE w.branch = ? AND w.week_start = ? ORDER BY w.advisor_id
            """,
            [branch, monday],
        )
    ]
    data_through = con.execute("SELECT max(drop_date) FROM raw.drop_files").fetchall()[0][0]
    unfollowed = [
        UnfollowedAlert(
            client_id=str(r["client_id"]),
            isin=str(r["first_isin"]),
            security_name=str(r["first_security_name"] or r["first_isin"]),
            business_day=r["business_day"],
            advisor_name=r.get("advisor_name"),
            deadline=r["sla_deadline"],
            days_open=int(r["days_open"] or 0),
            status=r["follow_up_status"],
        )
        for r in _rows(
            con,
            """
            SELECT f.*, a.advisor_name,
                   (SELECT count(*) FROM raw.business_calendar AS c
                    WHERE c.is_business_day AND c.calendar_date > f.business_day
                      AND c.calendar_date <= ?) AS days_open
            FROM fct_alerts AS f
            LEFT JOIN dim_advisors AS a ON f.advisor_id = a.advisor_id
            WHERE coalesce(a.branch, 'ohne Filiale') = ?
              AND f.business_day BETWEEN ? AND ?
              AND f.follow_up_status IN ('open', 'missed')
            ORDER BY f.follow_up_status = 'open', f.business_day, f.client_id
            """,
            [data_through or monday, branch, monday, monday + timedelta(days=6)],
        )
    ]
    manager = con.execute(
        "SELECT min(manager_email) FROM dim_advisors WHERE branch = ? "
        "AND manager_email IS NOT NULL",
        [branch],
    ).fetchall()[0][0]
    previous = monday - timedelta(weeks=1)
    return BranchReport(
        week=week_label(monday),
        week_start=monday,
        week_end=monday + timedelta(days=6),
        branch=branch,
        manager_email=manager,
        language=language,
        target_adoption_rate=target_adoption_rate,
        sla_business_days=sla_business_days,
        advisors=tuple(advisors),
        totals=_figures(trend_rows.get(monday), monday),
        previous=_figures(trend_rows[previous], previous) if previous in trend_rows else None,
        branch_trend=tuple(_figures(trend_rows.get(w), w) for w in weeks),
        bank_trend=tuple(_bank_trend(con, monday)),
        unfollowed=tuple(unfollowed),
    )


def bank_report(
    con: duckdb.DuckDBPyConnection,
    monday: date,
    *,
    language: Language,
    target_adoption_rate: float,
    sla_business_days: int,
) -> BankReport:
    trend = _bank_trend(con, monday)
    previous_rows = _rows(
        con,
        "SELECT * FROM mart_adoption_weekly_bank WHERE week_start = ?",
        [monday - timedelta(weeks=1)],
    )
    branches = [
        BranchLine(branch=str(r["branch"]), totals=_figures(r, monday))
        for r in _rows(
            con,
            "SELECT * FROM mart_adoption_weekly_branches WHERE week_start = ? ORDER BY branch",
            [monday],
        )
    ]
    return BankReport(
        week=week_label(monday),
        week_start=monday,
        week_end=monday + timedelta(days=6),
        language=language,
        target_adoption_rate=target_adoption_rate,
        sla_business_days=sla_business_days,
        branches=tuple(branches),
        totals=trend[-1],
        previous=_figures(previous_rows[0], monday - timedelta(weeks=1)) if previous_rows else None,
        bank_trend=tuple(trend),
    )
