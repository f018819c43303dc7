"""The figures of a weekly adoption report, read from the adoption marts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import duckdb

from flows.errors import VotumError
from flows.report.advisor_week import AdvisorSummary, OpenAlert
from flows.report.model import (
    AdvisorWeek,
    BankReport,
    BranchLine,
    BranchReport,
    Language,
    UnfollowedAlert,
    WeekFigures,
)
from flows.report.opt_outs import opt_outs_by_branch

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
        follow_up_volume_eur=_euros(row.get("follow_up_volume_eur")),
        follow_up_fee_eur=_euros(row.get("follow_up_fee_eur")),
        follow_up_volume_without_fee_eur=_euros(row.get("follow_up_volume_without_fee_eur")),
        baseline_clients=int(row.get("baseline_clients") or 0),
        baseline_positions=int(row.get("baseline_positions") or 0),
        baseline_traded_positions=int(row.get("baseline_traded_positions") or 0),
        expected_follow_up_trades=row.get("expected_follow_up_trades"),
        intraday_emails=int(row.get("intraday_emails") or 0),
        median_minutes_to_inbox=row.get("median_minutes_to_inbox"),
    )


def _euros(value: Any) -> float:
    """A DECIMAL(18,2) of the marts as a float of euros (exact to the cent)."""
    return float(value) if value is not None else 0.0


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
    fee_rate: float | None = None,
    min_baseline_clients: int = 200,
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
            follow_up_volume_eur=_euros(r.get("follow_up_volume_eur")),
            follow_up_fee_eur=_euros(r.get("follow_up_fee_eur")),
            follow_up_volume_without_fee_eur=_euros(r.get("follow_up_volume_without_fee_eur")),
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
        totals=replace(
            _figures(trend_rows.get(monday), monday),
            opt_outs=opt_outs_by_branch(con, monday).get(branch, 0),
        ),
        previous=_figures(trend_rows[previous], previous) if previous in trend_rows else None,
        branch_trend=tuple(_figures(trend_rows.get(w), w) for w in weeks),
        bank_trend=tuple(_bank_trend(con, monday)),
        unfollowed=tuple(unfollowed),
        fee_rate=fee_rate,
        min_baseline_clients=min_baseline_clients,
    )


def bank_report(
    con: duckdb.DuckDBPyConnection,
    monday: date,
    *,
    language: Language,
    target_adoption_rate: float,
    sla_business_days: int,
    fee_rate: float | None = None,
    min_baseline_clients: int = 200,
    goal_informed_share: float = 0.95,
    goal_fee_eur_weekly: float | None = None,
) -> BankReport:
    trend = _bank_trend(con, monday)
    previous_rows = _rows(
        con,
        "SELECT * FROM mart_adoption_weekly_bank WHERE week_start = ?",
        [monday - timedelta(weeks=1)],
    )
    opt_outs = opt_outs_by_branch(con, monday)
    branches = [
        BranchLine(
            branch=str(r["branch"]),
            totals=replace(_figures(r, monday), opt_outs=opt_outs.get(str(r["branch"]), 0)),
        )
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
        totals=replace(trend[-1], opt_outs=sum(opt_outs.values())),
        previous=_figures(previous_rows[0], monday - timedelta(weeks=1)) if previous_rows else None,
        bank_trend=tuple(trend),
        fee_rate=fee_rate,
        min_baseline_clients=min_baseline_clients,
        goal_informed_share=goal_informed_share,
        goal_fee_eur_weekly=goal_fee_eur_weekly,
    )


def advisor_summaries(
    con: duckdb.DuckDBPyConnection, report: BranchReport, *, language: Language
) -> list[AdvisorSummary]:
    """Each advisor of the branch report with alerts that week or alerts still open: their
    own figures, the branch total, their open alerts oldest first."""
    contacts = {
        str(r["advisor_id"]): r
        for r in _rows(
            con,
            "SELECT advisor_id, advisor_name, email FROM dim_advisors WHERE branch = ?",
            [report.branch],
        )
    }
    open_rows = _rows(
        con,
        """
        SELECT advisor_id, client_id, first_isin, first_security_name, business_day,
               sla_deadline
        FROM fct_alerts
        WHERE follow_up_status = 'open' AND business_day <= ?
        ORDER BY business_day, client_id
        """,
        [report.week_end],
    )
    open_by_advisor: dict[str, list[OpenAlert]] = {}
    for r in open_rows:
        open_by_advisor.setdefault(str(r["advisor_id"]), []).append(
            OpenAlert(
                client_id=str(r["client_id"]),
                isin=str(r["first_isin"]),
                security_name=str(r["first_security_name"] or r["first_isin"]),
                business_day=r["business_day"],
                deadline=r["sla_deadline"],
            )
        )
    summaries = []
    for advisor in report.advisors:
        contact = contacts.get(advisor.advisor_id)
        alerts = tuple(open_by_advisor.get(advisor.advisor_id, ()))
        if contact is None or (advisor.alerts == 0 and not alerts):
            continue
        summaries.append(
            AdvisorSummary(
                week=report.week,
                week_start=report.week_start,
                week_end=report.week_end,
                advisor_id=advisor.advisor_id,
                advisor_name=contact.get("advisor_name"),
                email=contact.get("email"),
                language=language,
                branch=report.branch,
                target_adoption_rate=report.target_adoption_rate,
                sla_business_days=report.sla_business_days,
                own=advisor,
                branch_totals=report.totals,
                open_alerts=alerts,
            )
        )
    return summaries
