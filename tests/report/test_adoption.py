"""The adoption marts on the hand-made Easter week (tests/report/scenario.py), whose
right answers are worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from flows.settings import Settings
from flows.transform import DAILY_BUILD_EXCLUDES, invoke_dbt
from flows.warehouse import open_warehouse

W14, W15 = date(2026, 3, 30), date(2026, 4, 6)


def rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def built(easter: Settings) -> Settings:
    invoke_dbt(
        easter,
        ["build", "--select", "fct_alerts+", "int_activities_weekly+", *DAILY_BUILD_EXCLUDES],
    )
    return easter


def test_alerts_have_the_right_windows_and_outcomes(built: Settings) -> None:
    assert rows(
        built,
        "SELECT client_id, business_day, advisor_id, sla_deadline, follow_up_status, "
        "has_follow_up_trade FROM fct_alerts ORDER BY client_id",
    ) == [
        ("C1", date(2026, 3, 31), "A1", date(2026, 4, 2), "followed_up", False),
        ("C2", date(2026, 3, 31), "A2", date(2026, 4, 2), "missed", False),
        ("C3", date(2026, 4, 2), "A1", date(2026, 4, 8), "followed_up", False),
        ("C4", date(2026, 4, 2), "A3", date(2026, 4, 8), "missed", False),
        ("C5", date(2026, 4, 2), "A3", date(2026, 4, 8), "missed", True),
    ]
    # The worklists went out now (real SMTP), long after their business day: hours then
    # run from the business day's start. C1 was called Wed 10:00 for Tue's alert.
    hours = dict(rows(built, "SELECT client_id, hours_to_contact FROM fct_alerts"))
    assert hours["C2"] is None and hours["C4"] is None
    assert hours["C1"] == pytest.approx(34.0)
    assert hours["C3"] == pytest.approx(5 * 24 + 14)


def test_weekly_figures_per_advisor_and_branch(built: Settings) -> None:
    assert rows(
        built,
        "SELECT week_start, branch, advisor_id, alerts, followed_up_within_sla, adoption_rate, "
        "follow_up_trades, activities_logged, missed, open_alerts FROM mart_adoption_weekly "
        "ORDER BY week_start, advisor_id",
    ) == [
        (W14, "Filiale Köln", "A1", 2, 2, 1.0, 0, 1, 0, 0),
        (W14, "Filiale Köln", "A2", 1, 0, 0.0, 0, 1, 1, 0),
        (W14, "Filiale Bonn", "A3", 2, 0, 0.0, 1, 1, 2, 0),
        (W15, "Filiale Köln", "A1", 0, 0, None, 0, 2, 0, 0),
    ]
    branches = {
        (week, branch): (alerts, followed, rate)
        for week, branch, alerts, followed, rate in rows(
            built,
            "SELECT week_start, branch, alerts, followed_up_within_sla, adoption_rate "
            "FROM mart_adoption_weekly_branches",
        )
    }
    assert branches[(W14, "Filiale Köln")][:2] == (3, 2)
    assert branches[(W14, "Filiale Köln")][2] == pytest.approx(2 / 3)
    assert branches[(W14, "Filiale Bonn")] == (2, 0, 0.0)
    assert rows(
        built,
        "SELECT alerts, followed_up_within_sla, follow_up_trades FROM mart_adoption_weekly_bank "
        f"WHERE week_start = DATE '{W14}'",
    ) == [(5, 2, 1)]


def test_the_public_mart_has_its_contract_columns(built: Settings) -> None:
    columns = [r[0] for r in rows(built, "DESCRIBE mart_adoption_weekly")]
    assert columns[:9] == [
        "week_start", "branch", "advisor_id", "alerts", "followed_up_within_sla",
        "adoption_rate", "median_hours_to_contact", "follow_up_trades", "activities_logged",
    ]  # fmt: skip
