"""The follow-up business in euros as the reports state it: fee income where given,
estimated from VOTUM_FEE_RATE, or volume only and why; the baseline as "observed,
expected without alert, difference" or "not enough data"; the board summary leads with
the three CRM goals against their targets. Pure: figures in, text out."""

from __future__ import annotations

from dataclasses import replace

from flows.report.model import WeekFigures, baseline_comparison, fee_income
from flows.report.render import render_bank_report, render_branch_report
from tests.report.test_charts import bank_report, branch_report

NBSP = "\u00a0"


def week(totals: WeekFigures, **euros: object) -> WeekFigures:
    return replace(totals, **euros)  # type: ignore[arg-type]


def test_fee_given_estimated_or_unknown_to_the_cent() -> None:
    figures = week(
        bank_report().totals,
        follow_up_volume_eur=1291.16,
        follow_up_fee_eur=2.50,
        follow_up_volume_without_fee_eur=987.65,
    )
    # 987.65 x 0.25 % = 2.469125 -> 2.47; in all 4.97.
    estimated = fee_income(figures, 0.0025)
    assert (estimated.amount, estimated.estimated, estimated.unknown_volume) == (4.97, 2.47, 0.0)
    unknown = fee_income(figures, None)
    assert (unknown.amount, unknown.unknown_volume) == (None, 987.65)
    complete = fee_income(replace(figures, follow_up_volume_without_fee_eur=0.0), None)
    assert (complete.amount, complete.estimated) == (2.50, 0.0)


def test_baseline_needs_its_minimum_of_clients() -> None:
    figures = week(
        bank_report().totals,
        follow_up_trades=2,
        baseline_clients=2,
        expected_follow_up_trades=1.875,
    )
    assert baseline_comparison(figures, 2).difference == 0.125
    small = baseline_comparison(figures, 3)
    assert (small.expected, small.difference) == (None, None)


def test_a_week_without_fees_and_without_a_rate_shows_volume_only_and_says_why() -> None:
    report = branch_report()
    report = replace(
        report,
        totals=week(
            report.totals, follow_up_volume_eur=987.65, follow_up_volume_without_fee_eur=987.65
        ),
        fee_rate=None,
    )
    rendered = render_branch_report(report)
    for text in (rendered.text, rendered.html_file):
        assert f"Volumen: 987,65{NBSP}€" in text
        assert "VOTUM_FEE_RATE ist nicht gesetzt; daher nur das Volumen" in text
        assert "Provisionen: " not in text.replace("Provisionen: fee_eur", "")
    with_rate = render_branch_report(replace(report, fee_rate=0.0025))
    assert f"Provisionen: 2,47{NBSP}€" in with_rate.text
    assert f"davon 2,47{NBSP}€ geschätzt (0,25{NBSP}% des Volumens" in with_rate.text


def test_board_summary_leads_with_the_three_goals_against_targets() -> None:
    base = bank_report("en")
    totals = week(
        base.totals,
        follow_up_trades=2,
        follow_up_volume_eur=1291.16,
        follow_up_fee_eur=2.50,
        follow_up_volume_without_fee_eur=987.65,
        baseline_clients=250,
        expected_follow_up_trades=1.875,
    )
    report = replace(
        base,
        totals=totals,
        bank_trend=(*base.bank_trend[:-1], totals),
        fee_rate=0.0025,
        min_baseline_clients=200,
        goal_informed_share=0.9,
        goal_fee_eur_weekly=5000.0,
    )
    rendered = render_bank_report(report)
    text = rendered.text
    goals = text.index("Clients informed within one day")
    adoption = text.index("Alerts followed up within the deadline")
    business = text.index("Follow-up business in euros")
    assert goals < adoption < business < text.index("BRANCHES")
    assert "Target: 90%" in text and "Target: 80%" in text
    assert "Target: €5,000.00 a week" in text
    assert "fee income: €4.97" in text and "of which €2.47 estimated (0.25%" in text
    assert (
        "follow-up trades: observed 2, expected without alert 1.9 (baseline), "
        "difference +0.1; baseline: 250 clients" in text
    )
    assert "THE THREE GOALS OVER THE LAST 8 WEEKS" in text
    # A week of the trend without alerts shows "n/a" for the euros, not €0.00.
    first = report.bank_trend[0]
    quiet_week = replace(first, alerts=0, follow_up_volume_eur=0.0, follow_up_fee_eur=0.0)
    quiet = render_bank_report(replace(report, bank_trend=(quiet_week, *report.bank_trend[1:])))
    goals_table = quiet.text.split("THE THREE GOALS OVER THE LAST 8 WEEKS", 1)[1]
    quiet_line = next(line for line in goals_table.splitlines() if first.week[-3:] in line)
    assert "€0.00" not in quiet_line and "n/a" in quiet_line, quiet_line
    assert "FOLLOW-UP BUSINESS BY BRANCH" in text
    assert "caused" not in text.lower() and "caused" not in rendered.html_file.lower()
    assert "Baseline:" in text  # the definition, in the definitions section
    small = render_bank_report(replace(report, min_baseline_clients=300)).text
    assert "expected without alert: not enough data (baseline: 250 clients, at least 300" in (
        " ".join(small.split())
    )
