"""The adoption marts on the hand-made Easter week (tests/report/scenario.py), whose
right answers are worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from flows.settings import Settings
from flows.transform import DAILY_BUILD_EXCLUDES, REPORT_BUILD_SELECT, invoke_dbt
from flows.warehouse import open_warehouse

W14, W15 = date(2026, 3, 30), date(2026, 4, 6)


def rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def built(easter: Settings) -> Settings:
    invoke_dbt(
        easter,
        ["build", "--select", *REPORT_BUILD_SELECT, *DAILY_BUILD_EXCLUDES],
    )
    return easter


def test_alerts_have_the_right_windows_and_outcomes(built: Settings) -> None:
    assert rows(
        built,
        "SELECT client_id, business_day, advisor_id, sla_deadline, follow_up_status, "
        "has_follow_up_trade FROM fct_alerts ORDER BY client_id",
    ) == [
        ("C1", date(2026, 3, 31), "A1", date(2026, 4, 2), "followed_up", True),
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
        (W14, "Filiale Köln", "A1", 2, 2, 1.0, 1, 1, 0, 0),
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
    ) == [(5, 2, 2)]


def test_follow_up_euros_to_the_cent_and_the_baseline(built: Settings) -> None:
    """scenario.py: C1's SAP sale (987.65 EUR, no fee_eur) for A1 in Köln, C5's Siemens
    purchase (303.51 EUR, fee 2.50 EUR) for A3 in Bonn; C4's Allianz sale follows no alert."""
    assert rows(
        built,
        "SELECT advisor_id, follow_up_volume_eur, follow_up_fee_eur, "
        "follow_up_volume_without_fee_eur FROM mart_adoption_weekly "
        f"WHERE week_start = DATE '{W14}' ORDER BY advisor_id",
    ) == [
        ("A1", Decimal("987.65"), Decimal("0.00"), Decimal("987.65")),
        ("A2", Decimal("0.00"), Decimal("0.00"), Decimal("0.00")),
        ("A3", Decimal("303.51"), Decimal("2.50"), Decimal("0.00")),
    ]
    assert rows(
        built,
        "SELECT branch, follow_up_volume_eur, follow_up_fee_eur, follow_up_volume_without_fee_eur "
        f"FROM mart_adoption_weekly_branches WHERE week_start = DATE '{W14}' ORDER BY branch",
    ) == [
        ("Filiale Bonn", Decimal("303.51"), Decimal("2.50"), Decimal("0.00")),
        ("Filiale Köln", Decimal("987.65"), Decimal("0.00"), Decimal("987.65")),
    ]
    assert rows(
        built,
        "SELECT follow_up_volume_eur, follow_up_fee_eur, follow_up_volume_without_fee_eur "
        f"FROM mart_adoption_weekly_bank WHERE week_start = DATE '{W14}'",
    ) == [(Decimal("1291.16"), Decimal("2.50"), Decimal("987.65"))]

    # The baseline (one build for both checks): only Allianz never changed. C4 (Bonn), C6
    # (no client record) and C7 (Köln) hold it on the four drop days of W14; C4's sale on
    # 04-10 falls in the windows of 03-31, 04-01 and 04-02.
    assert rows(
        built,
        "SELECT client_id, business_day, traded FROM intermediate.int_baseline_positions "
        f"WHERE week_start = DATE '{W14}' AND client_id = 'C4' ORDER BY business_day",
    ) == [
        ("C4", date(2026, 3, 30), False),
        ("C4", date(2026, 3, 31), True),
        ("C4", date(2026, 4, 1), True),
        ("C4", date(2026, 4, 2), True),
    ]
    branches = rows(
        built,
        "SELECT branch, baseline_positions, baseline_clients, baseline_traded_positions, "
        "follow_up_trades, expected_follow_up_trades FROM mart_adoption_weekly_branches "
        f"WHERE week_start = DATE '{W14}' ORDER BY branch",
    )
    assert branches == [
        ("Filiale Bonn", 4, 1, 3, 1, pytest.approx(1.5)),
        ("Filiale Köln", 4, 1, 0, 1, pytest.approx(0.0)),
    ]
    # The bank: the baseline of the branches with alerts (not C6's "ohne Filiale").
    assert rows(
        built,
        "SELECT baseline_positions, baseline_clients, baseline_traded_positions, "
        "follow_up_trades, expected_follow_up_trades FROM mart_adoption_weekly_bank "
        f"WHERE week_start = DATE '{W14}'",
    ) == [(8, 2, 3, 2, pytest.approx(1.875))]


def test_the_public_mart_has_its_contract_columns(built: Settings) -> None:
    columns = [r[0] for r in rows(built, "DESCRIBE mart_adoption_weekly")]
    assert columns[:9] == [
        "week_start", "branch", "advisor_id", "alerts", "followed_up_within_sla",
        "adoption_rate", "median_hours_to_contact", "follow_up_trades", "activities_logged",
    ]  # fmt: skip
