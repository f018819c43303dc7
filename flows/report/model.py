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
from decimal import ROUND_HALF_UP, Decimal
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
    follow_up_volume_eur: float = 0.0  # each trade once, for the earliest alert it follows
    follow_up_fee_eur: float = 0.0  # fee_eur of those trades, where given
    follow_up_volume_without_fee_eur: float = 0.0


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
    # Follow-up business (defaults: payloads planned before these figures existed).
    follow_up_volume_eur: float = 0.0  # each trade once, for the earliest alert it follows
    follow_up_fee_eur: float = 0.0  # fee_eur of those trades, where given
    follow_up_volume_without_fee_eur: float = 0.0  # volume of those trades without fee_eur
    baseline_clients: int = 0  # clients of the baseline positions
    baseline_positions: int = 0
    baseline_traded_positions: int = 0
    expected_follow_up_trades: float | None = None  # baseline rate x alerts
    opt_outs: int = 0  # clients' opt-outs of the week (flows/report/opt_outs.py)
    # Intraday batches: the clients' emails of the week and the median minutes from a
    # batch's delivery to the email's acceptance by the mail server (None: no such email).
    intraday_emails: int = 0
    median_minutes_to_inbox: float | None = None


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
    fee_rate: float | None = None  # VOTUM_FEE_RATE: estimates a missing fee_eur
    min_baseline_clients: int = 200  # below: "not enough data"


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
    fee_rate: float | None = None
    min_baseline_clients: int = 200
    goal_informed_share: float = 0.95  # the three CRM goals' targets
    goal_fee_eur_weekly: float | None = None  # None: no target set


# --------------------------------------------------------------------------- euros


@dataclass(frozen=True)
class FeeIncome:
    """The fee income of a week's follow-up trades, and how much of it is known.

    ``amount`` is ``None`` when some trades carry no ``fee_eur`` and no fee rate is
    configured: then only the volume can be shown (``unknown_volume`` says of how much).
    """

    amount: float | None
    estimated: float  # the part estimated as volume x fee rate
    unknown_volume: float  # volume without fee_eur and without an estimate
    fee_rate: float | None


def fee_income(figures: WeekFigures, fee_rate: float | None) -> FeeIncome:
    """``fee_eur`` where given; else volume x ``fee_rate`` (estimated); else none."""
    given = _cents(figures.follow_up_fee_eur)
    missing = _cents(figures.follow_up_volume_without_fee_eur)
    if missing <= 0:
        return FeeIncome(float(given), 0.0, 0.0, fee_rate)
    if fee_rate is not None:
        estimated = _cents(missing * Decimal(str(fee_rate)))
        return FeeIncome(float(given + estimated), float(estimated), 0.0, fee_rate)
    return FeeIncome(None, 0.0, float(missing), fee_rate)


def _cents(value: float | Decimal) -> Decimal:
    """Euros to the cent, half up (as a bank rounds)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class BaselineComparison:
    """Follow-up trades observed beside the trades expected without an alert.

    ``expected`` is ``None`` ("not enough data") when the baseline has fewer clients
    than the configured minimum, or no positions at all. Never a causal claim."""

    observed: int
    expected: float | None
    difference: float | None
    baseline_clients: int
    min_clients: int


def baseline_comparison(figures: WeekFigures, min_clients: int) -> BaselineComparison:
    expected = figures.expected_follow_up_trades
    if expected is None or figures.baseline_clients < min_clients:
        return BaselineComparison(
            figures.follow_up_trades, None, None, figures.baseline_clients, min_clients
        )
    return BaselineComparison(
        figures.follow_up_trades,
        expected,
        figures.follow_up_trades - expected,
        figures.baseline_clients,
        min_clients,
    )
