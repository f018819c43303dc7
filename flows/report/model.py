"""What a weekly adoption report says, as plain data: filled from the marts by
:mod:`flows.report.extract`, drawn and written by :mod:`flows.report.charts` and
:mod:`flows.report.render`. Pure: no I/O.

Definitions (SPEC.md): an alert is one affected client on one business day. It is
followed up within the SLA when the client's own advisor logged any CRM activity for
that client from the run date's start to the end of the N-th business day after it. An
alert whose window has not closed yet and has no follow-up so far is *open*, not
missed. ``adoption_rate`` is followed-up alerts over the alerts whose outcome is known
(followed up, or missed); ``None`` when there are none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Language = Literal["de", "en"]


@dataclass(frozen=True)
class AdvisorWeek:
    """One advisor in one ISO week."""

    advisor_id: str
    advisor_name: str | None
    branch: str | None
    alerts: int
    followed_up_within_sla: int
    open_alerts: int  # window still open, no follow-up yet
    missed: int  # window closed, no follow-up within it
    adoption_rate: float | None  # followed up / (followed up + missed)
    median_hours_to_contact: float | None  # from the sending of the worklist
    follow_up_trades: int  # alerts with a trade in a security of the alert
    activities_logged: int  # every activity the advisor logged that week


@dataclass(frozen=True)
class WeekFigures:
    """Totals of a branch (or the bank) for one ISO week: a point of the trend."""

    week: str  # "2026-W41"
    week_start: date  # Monday
    alerts: int
    followed_up_within_sla: int
    open_alerts: int
    missed: int
    adoption_rate: float | None
    median_hours_to_contact: float | None
    follow_up_trades: int
    activities_logged: int
    clients_informed_within_one_day: (
        float | None
    )  # share of alerted clients emailed by the end of the next day


@dataclass(frozen=True)
class UnfollowedAlert:
    """An alert without follow-up so far, for the manager to act on."""

    client_id: str
    isin: str
    security_name: str
    business_day: date
    advisor_name: str | None
    deadline: date  # last business day of the SLA window
    days_open: int  # business days since the alert
    status: Literal["open", "missed"]


@dataclass(frozen=True)
class BranchReport:
    """A branch manager's report: their branch at advisor level, the bank only as totals."""

    week: str
    week_start: date
    week_end: date  # Sunday
    branch: str
    manager_email: str | None
    language: Language
    target_adoption_rate: float  # the line drawn in the adoption chart
    sla_business_days: int
    advisors: tuple[AdvisorWeek, ...]
    totals: WeekFigures  # this week, the branch
    previous: WeekFigures | None  # last week, the branch
    branch_trend: tuple[WeekFigures, ...]  # the last 8 weeks, oldest first
    bank_trend: tuple[WeekFigures, ...]  # the same weeks, the whole bank
    unfollowed: tuple[UnfollowedAlert, ...]


@dataclass(frozen=True)
class BranchLine:
    branch: str
    totals: WeekFigures


@dataclass(frozen=True)
class BankReport:
    """The bank-wide summary: every branch as totals, no advisor and no client."""

    week: str
    week_start: date
    week_end: date
    language: Language
    target_adoption_rate: float
    sla_business_days: int
    branches: tuple[BranchLine, ...]
    totals: WeekFigures
    previous: WeekFigures | None
    bank_trend: tuple[WeekFigures, ...]
