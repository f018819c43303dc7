"""What the report's templates show, every value already text: the headline goals,
the counts beside them, the charts (or the sentence instead), the advisor, branch,
alert, goal and business rows, the definitions."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from flows.notify.render import clean_header_text
from flows.report.formatting import (
    Change,
    below_target,
    count_change,
    euros_text,
    finite,
    hours_text,
    minutes_text,
    rate_change,
    share_text,
    signed_text,
    worst_first,
)
from flows.report.locale_formats import Formats, advisor_label
from flows.report.model import (
    AdvisorWeek,
    BankReport,
    BranchLine,
    BranchReport,
    UnfollowedAlert,
    WeekFigures,
    baseline_comparison,
    fee_income,
)


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    change: Change | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Figure:
    label: str
    value: str


@dataclass(frozen=True)
class Chart:
    name: str | None  # the image's file name; None: the sentence instead
    alt: str
    width: int
    height: int
    sentence: str


@dataclass(frozen=True)
class Row:
    """A row of the advisor or branch table, every value already text."""

    name: str
    alerts: str
    followed: str
    missed: str
    open: str
    rate: str
    hours: str
    trades: str
    activities: str
    informed: str
    below: bool


@dataclass(frozen=True)
class AlertRow:
    client_id: str
    security_name: str
    isin: str
    advisor: str
    day: str
    deadline: str
    days_open: str
    status: str
    missed: bool


def headlines(
    fmt: Formats,
    texts: Mapping[str, str],
    totals: WeekFigures,
    previous: WeekFigures | None,
    target: float,
    bank: WeekFigures | None,
    *,
    fee_rate: float | None = None,
    min_clients: int = 200,
    goal_informed: float | None = None,
    goal_fee: float | None = None,
    goals: bool = False,
) -> tuple[Headline, ...]:
    """The measurable CRM goals, each with its change against last week. ``goals``: the
    board's version, each goal against its target and the business in euros first."""
    adoption_notes = [texts["target"].format(value=fmt.percent_whole(target))]
    if bank is not None:
        adoption_notes.insert(
            0, texts["vs_bank"].format(value=share_text(fmt, texts, bank.adoption_rate))
        )
    no_previous = (texts["no_previous"],) if previous is None else ()
    informed = finite(totals.clients_informed_within_one_day)
    adoption = finite(totals.adoption_rate)
    informed_target = (
        (texts["target"].format(value=fmt.percent_whole(goal_informed)),)
        if goal_informed is not None
        else ()
    )
    euros = euros_text(fmt, texts, totals, fee_rate, min_clients)
    business = (
        Headline(
            label=texts["business"],
            value=euros.fee if fee_income(totals, fee_rate).amount is not None else euros.volume,
            change=None,
            notes=(
                *euros.notes,
                texts["goal_fee_target"].format(value=fmt.euros(goal_fee))
                if goal_fee is not None
                else texts["no_fee_target"],
            ),
        ),
    )
    return (
        Headline(
            label=texts["informed"],
            value=fmt.percent(informed) if informed is not None else texts["no_value"],
            change=rate_change(
                fmt,
                texts,
                informed,
                previous.clients_informed_within_one_day if previous else None,
            ),
            notes=(
                *(() if informed is not None else (texts["no_informed"],)),
                *no_previous,
                *informed_target,
            ),
        ),
        Headline(
            label=texts["adoption"],
            value=fmt.percent(adoption) if adoption is not None else texts["no_value"],
            change=rate_change(fmt, texts, adoption, previous.adoption_rate if previous else None),
            notes=(
                *(() if adoption is not None else (texts["no_rate"],)),
                *no_previous,
                *adoption_notes,
            ),
        ),
        *(
            business
            if goals
            else (
                Headline(
                    label=texts["trades"],
                    value=fmt.integer(totals.follow_up_trades),
                    change=count_change(
                        fmt,
                        texts,
                        totals.follow_up_trades,
                        previous.follow_up_trades if previous else None,
                    ),
                    notes=(*no_previous, *euros.notes),
                ),
            )
        ),
    )


def count_figures(
    fmt: Formats, texts: Mapping[str, str], totals: WeekFigures
) -> tuple[Figure, ...]:
    """The counts beside the goals: alerts, open, missed, activities, median hours."""
    return (
        Figure(texts["alerts"], fmt.integer(totals.alerts)),
        Figure(texts["open"], fmt.integer(totals.open_alerts)),
        Figure(texts["missed"], fmt.integer(totals.missed)),
        Figure(texts["activities"], fmt.integer(totals.activities_logged)),
        Figure(texts["median_hours"], hours_text(fmt, texts, totals.median_hours_to_contact)),
        Figure(texts["opt_outs"], fmt.integer(totals.opt_outs)),
        Figure(
            texts["median_minutes_to_inbox"],
            minutes_text(fmt, texts, totals.median_minutes_to_inbox),
        ),
    )


def advisor_rows(fmt: Formats, texts: Mapping[str, str], report: BranchReport) -> list[Row]:
    advisors = sorted(
        report.advisors,
        key=lambda a: worst_first(a.adoption_rate, a.missed, advisor_label(a), a.advisor_id),
    )
    return [advisor_row(fmt, texts, a, report.target_adoption_rate) for a in advisors]


def advisor_row(fmt: Formats, texts: Mapping[str, str], a: AdvisorWeek, target: float) -> Row:
    return Row(
        name=clean_header_text(advisor_label(a)),
        alerts=fmt.integer(a.alerts),
        followed=fmt.integer(a.followed_up_within_sla),
        missed=fmt.integer(a.missed),
        open=fmt.integer(a.open_alerts),
        rate=share_text(fmt, texts, a.adoption_rate),
        hours=hours_text(fmt, texts, a.median_hours_to_contact),
        trades=fmt.integer(a.follow_up_trades),
        activities=fmt.integer(a.activities_logged),
        informed="",
        below=below_target(a.adoption_rate, target),
    )


def figures_row(
    fmt: Formats, texts: Mapping[str, str], name: str, f: WeekFigures, target: float
) -> Row:
    return Row(
        name=clean_header_text(name),
        alerts=fmt.integer(f.alerts),
        followed=fmt.integer(f.followed_up_within_sla),
        missed=fmt.integer(f.missed),
        open=fmt.integer(f.open_alerts),
        rate=share_text(fmt, texts, f.adoption_rate),
        hours=hours_text(fmt, texts, f.median_hours_to_contact),
        trades=fmt.integer(f.follow_up_trades),
        activities=fmt.integer(f.activities_logged),
        informed=share_text(fmt, texts, f.clients_informed_within_one_day),
        below=below_target(f.adoption_rate, target),
    )


def sorted_branches(report: BankReport) -> list[BranchLine]:
    return sorted(
        report.branches,
        key=lambda b: worst_first(b.totals.adoption_rate, b.totals.missed, b.branch, b.branch),
    )


def sorted_alerts(alerts: Iterable[UnfollowedAlert]) -> list[UnfollowedAlert]:
    """Missed first, then the longest open, then the oldest."""
    return sorted(
        alerts,
        key=lambda u: (u.status != "missed", -u.days_open, u.business_day, u.client_id, u.isin),
    )


def alert_rows(
    fmt: Formats, texts: Mapping[str, str], alerts: Sequence[UnfollowedAlert]
) -> list[AlertRow]:
    return [
        AlertRow(
            client_id=clean_header_text(u.client_id),
            security_name=clean_header_text(u.security_name),
            isin=clean_header_text(u.isin),
            advisor=clean_header_text(u.advisor_name or ""),
            day=fmt.day(u.business_day),
            deadline=fmt.day(u.deadline),
            days_open=fmt.integer(u.days_open),
            status=texts["status_missed" if u.status == "missed" else "status_open"],
            missed=u.status == "missed",
        )
        for u in alerts
    ]


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def chart(images: dict[str, bytes], name: str, png: bytes | None, alt: str, sentence: str) -> Chart:
    if png is None:
        return Chart(name=None, alt="", width=0, height=0, sentence=sentence)
    images[name] = png
    width, height = _png_size(png)
    return Chart(name=name, alt=alt, width=width, height=height, sentence="")


def trend_weeks(report: BranchReport | BankReport) -> int:
    own = report.branch_trend if isinstance(report, BranchReport) else report.bank_trend
    return len({f.week for f in own}) or 8


@dataclass(frozen=True)
class Definition:
    term: str  # "Alert"; "" for a sentence without a term
    text: str  # what it means

    def __str__(self) -> str:
        return f"{self.term}: {self.text}" if self.term else self.text


def definition(sentence: str) -> Definition:
    term, colon, text = sentence.partition(": ")
    return Definition(term, text) if colon else Definition("", sentence)


def this_week(trend: Sequence[WeekFigures], week: str, week_start: date) -> WeekFigures | None:
    for figures in trend:
        if figures.week == week or figures.week_start == week_start:
            return figures
    return None


@dataclass(frozen=True)
class GoalRow:
    week: str
    informed: str
    adoption: str
    volume: str
    fee: str


def goal_rows(fmt: Formats, texts: Mapping[str, str], report: BankReport) -> list[GoalRow]:
    """The three goals week by week, oldest first (the eight-week trend)."""
    rows = []
    for f in report.bank_trend:
        fee = fee_income(f, report.fee_rate)
        # A week without alerts has no follow-up business to measure: "n/a", not 0,00 €.
        measured = f.alerts > 0
        rows.append(
            GoalRow(
                week=fmt.week(f.week, f.week_start),
                informed=share_text(fmt, texts, f.clients_informed_within_one_day),
                adoption=share_text(fmt, texts, f.adoption_rate),
                volume=fmt.euros(f.follow_up_volume_eur) if measured else texts["not_available"],
                fee=(
                    texts["not_available"]
                    if not measured
                    else fmt.euros(fee.amount)
                    if fee.amount is not None
                    else texts["fee_none"]
                ),
            )
        )
    return rows


@dataclass(frozen=True)
class BusinessRow:
    name: str
    trades: str
    expected: str
    difference: str
    volume: str
    fee: str


def business_rows(fmt: Formats, texts: Mapping[str, str], report: BankReport) -> list[BusinessRow]:
    """The branches ranked by follow-up volume (then name), the bank's total last."""
    ranked = sorted(
        (b for b in report.branches if b.totals.alerts > 0),
        key=lambda b: (-b.totals.follow_up_volume_eur, b.branch.casefold()),
    )
    rows = []
    for name, f in [*((b.branch, b.totals) for b in ranked), (texts["bank_total"], report.totals)]:
        comparison = baseline_comparison(f, report.min_baseline_clients)
        fee = fee_income(f, report.fee_rate)
        rows.append(
            BusinessRow(
                name=clean_header_text(name),
                trades=fmt.integer(f.follow_up_trades),
                expected=fmt.decimal(comparison.expected)
                if comparison.expected is not None
                else texts["too_little"],
                difference=signed_text(fmt, comparison.difference)
                if comparison.difference is not None
                else texts["no_value"],
                volume=fmt.euros(f.follow_up_volume_eur),
                fee=fmt.euros(fee.amount) if fee.amount is not None else texts["fee_none"],
            )
        )
    return rows
