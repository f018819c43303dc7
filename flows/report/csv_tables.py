"""The report's CSV files: advisors, open alerts (every one, not only the first
hundred) and branches, with cells a spreadsheet cannot run as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from flows.report.formatting import below_target, finite, worst_first
from flows.report.locale_formats import advisor_label
from flows.report.model import (
    BankReport,
    BranchLine,
    BranchReport,
    UnfollowedAlert,
    WeekFigures,
)

# OWASP (CSV injection): a cell starting with one of these is a formula to a spreadsheet.
# The full-width forms are read as formulas by some spreadsheets too.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: object) -> str:
    """One CSV cell: a number stays a number (``-3``, ``0.825``), a date is ISO
    (``2026-10-05``), ``None`` and a non-finite number are empty, a bool is
    ``true``/``false``; text that a spreadsheet would run as a formula (starting with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else value
        return format(number, "f") if number.is_finite() else ""
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue()


FIGURE_COLUMNS = (
    "alerts",
    "followed_up_within_sla",
    "missed",
    "open_alerts",
    "adoption_rate",
    "below_target",
    "median_hours_to_contact",
    "follow_up_trades",
    "activities_logged",
)


def advisors_csv(report: BranchReport) -> str:
    advisors = sorted(
        report.advisors,
        key=lambda a: worst_first(a.adoption_rate, a.missed, advisor_label(a), a.advisor_id),
    )
    target = report.target_adoption_rate
    return csv_text(
        ("week", "branch", "advisor_id", "advisor_name", *FIGURE_COLUMNS),
        (
            (
                report.week,
                report.branch,
                a.advisor_id,
                a.advisor_name,
                a.alerts,
                a.followed_up_within_sla,
                a.missed,
                a.open_alerts,
                finite(a.adoption_rate),
                below_target(a.adoption_rate, target),
                a.median_hours_to_contact,
                a.follow_up_trades,
                a.activities_logged,
            )
            for a in advisors
        ),
    )


def alerts_csv(week: str, alerts: Sequence[UnfollowedAlert]) -> str:
    return csv_text(
        (
            "week",
            "status",
            "days_open",
            "client_id",
            "isin",
            "security_name",
            "advisor_name",
            "business_day",
            "deadline",
        ),
        (
            (
                week,
                u.status,
                u.days_open,
                u.client_id,
                u.isin,
                u.security_name,
                u.advisor_name,
                u.business_day,
                u.deadline,
            )
            for u in alerts
        ),
    )


def branches_csv(report: BankReport, branches: Sequence[BranchLine]) -> str:
    target = report.target_adoption_rate

    def row(name: str, f: WeekFigures) -> tuple[object, ...]:
        return (
            report.week,
            name,
            f.alerts,
            f.followed_up_within_sla,
            f.missed,
            f.open_alerts,
            finite(f.adoption_rate),
            below_target(f.adoption_rate, target),
            f.median_hours_to_contact,
            f.follow_up_trades,
            f.activities_logged,
            finite(f.clients_informed_within_one_day),
            f.follow_up_volume_eur,
            f.follow_up_fee_eur,
            f.follow_up_volume_without_fee_eur,
            f.baseline_clients,
            f.expected_follow_up_trades,
        )

    return csv_text(
        (
            "week",
            "branch",
            *FIGURE_COLUMNS,
            "clients_informed_within_one_day",
            "follow_up_volume_eur",
            "follow_up_fee_eur",
            "follow_up_volume_without_fee_eur",
            "baseline_clients",
            "expected_follow_up_trades",
        ),
        (row(b.branch, b.totals) for b in branches),
    )
