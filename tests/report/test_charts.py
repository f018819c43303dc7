"""The charts of the weekly adoption report: PNG bytes drawn in memory (pure)."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta

import pytest
from PIL import Image

from flows.report.charts import adoption_chart, hours_chart, trend_chart
from flows.report.locale_formats import branch_title, formats, shorten
from flows.report.model import (
    AdvisorWeek,
    BankReport,
    BranchLine,
    BranchReport,
    UnfollowedAlert,
    WeekFigures,
)

NBSP = "\xa0"
MONDAY = date(2026, 10, 5)  # ISO week 2026-W41


# --------------------------------------------------------------------------- builders
# Shared with test_render.py.


def advisor(
    advisor_id: str,
    name: str | None,
    *,
    followed: int = 8,
    missed: int = 2,
    open_alerts: int = 1,
    hours: float | None = 4.5,
    trades: int = 1,
    activities: int = 20,
) -> AdvisorWeek:
    known = followed + missed
    return AdvisorWeek(
        advisor_id=advisor_id,
        advisor_name=name,
        branch="München",
        alerts=known + open_alerts,
        followed_up_within_sla=followed,
        open_alerts=open_alerts,
        missed=missed,
        adoption_rate=followed / known if known else None,
        median_hours_to_contact=hours,
        follow_up_trades=trades,
        activities_logged=activities,
    )


def week(
    number: int,
    rate: float | None,
    *,
    alerts: int = 40,
    informed: float | None = 0.9,
    trades: int = 7,
    activities: int = 1234,
) -> WeekFigures:
    followed = round((rate or 0.0) * (alerts - 4)) if rate is not None else 0
    return WeekFigures(
        week=f"2026-W{number:02d}",
        week_start=MONDAY - timedelta(weeks=41 - number),
        alerts=alerts,
        followed_up_within_sla=followed,
        open_alerts=4 if alerts else 0,
        missed=max(alerts - 4 - followed, 0) if rate is not None else 0,
        adoption_rate=rate,
        median_hours_to_contact=5.5 if alerts else None,
        follow_up_trades=trades,
        activities_logged=activities,
        clients_informed_within_one_day=informed,
    )


def empty_week(number: int) -> WeekFigures:
    return week(number, None, alerts=0, informed=None, trades=0, activities=0)


def alert(
    client_id: str,
    status: str,
    days_open: int,
    *,
    security: str = "SAP SE",
    isin: str = "DE0007164600",
    advisor_name: str | None = "Anna Schmidt",
) -> UnfollowedAlert:
    day = MONDAY + timedelta(days=4 - min(days_open, 4))
    return UnfollowedAlert(
        client_id=client_id,
        isin=isin,
        security_name=security,
        business_day=day,
        advisor_name=advisor_name,
        deadline=day + timedelta(days=2),
        days_open=days_open,
        status="missed" if status == "missed" else "open",
    )


ADVISORS = (
    advisor("A1", "Anna Schmidt", followed=11, missed=1, open_alerts=0, hours=3.5, trades=3),
    advisor("A2", "Jörg Müller", followed=2, missed=4, hours=41.25, trades=0, activities=6),
    advisor("A3", "Fatma Yılmaz", followed=9, missed=0, hours=1.75, trades=2),
    advisor("A4", "Dr. Maximilian Freiherr von Hohenberg-Waldstein", followed=5, missed=3),
    advisor("A5", "Li Wei", followed=0, missed=0, open_alerts=3, hours=None, trades=0),
)
BRANCH_RATES = (0.55, 0.61, None, 0.70, 0.66, 0.74, 0.79, 0.825)
BANK_RATES = (0.60, 0.63, 0.65, 0.64, 0.69, 0.71, 0.73, 0.76)


def branch_report(
    advisors: tuple[AdvisorWeek, ...] = ADVISORS,
    *,
    language: str = "de",
    unfollowed: tuple[UnfollowedAlert, ...] | None = None,
) -> BranchReport:
    branch_trend = tuple(week(34 + i, r) for i, r in enumerate(BRANCH_RATES))
    bank_trend = tuple(week(34 + i, r, alerts=900) for i, r in enumerate(BANK_RATES))
    if unfollowed is None:
        unfollowed = (
            alert("C0004711", "open", 1, security="Deutsche Telekom AG", isin="DE0005557508"),
            alert("C0000815", "missed", 5, security="Apple Inc.", isin="US0378331005"),
            alert("C0009999", "open", 2),
            alert("C0001234", "missed", 3),
        )
    return BranchReport(
        week="2026-W41",
        week_start=MONDAY,
        week_end=MONDAY + timedelta(days=6),
        branch="München",
        manager_email="leitung.muenchen@bank.example",
        language="en" if language == "en" else "de",
        target_adoption_rate=0.8,
        sla_business_days=2,
        advisors=advisors,
        totals=branch_trend[-1],
        previous=branch_trend[-2],
        branch_trend=branch_trend,
        bank_trend=bank_trend,
        unfollowed=unfollowed,
    )


def empty_branch_report(language: str = "de") -> BranchReport:
    """A week without any alert, after seven weeks without any either."""
    trend = tuple(empty_week(34 + i) for i in range(8))
    return replace(
        branch_report(language=language, unfollowed=()),
        advisors=(),
        totals=trend[-1],
        previous=trend[-2],
        branch_trend=trend,
        bank_trend=trend,
    )


def bank_report(language: str = "de") -> BankReport:
    branch = branch_report(language=language)
    return BankReport(
        week=branch.week,
        week_start=branch.week_start,
        week_end=branch.week_end,
        language=branch.language,
        target_adoption_rate=0.8,
        sla_business_days=2,
        branches=(
            BranchLine("München", branch.totals),
            BranchLine("Hamburg", week(41, 0.71, alerts=120)),
            BranchLine("Köln", week(41, 0.88, alerts=75)),
        ),
        totals=branch.bank_trend[-1],
        previous=branch.bank_trend[-2],
        bank_trend=branch.bank_trend,
    )


def size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return image.size


# --------------------------------------------------------------------------- charts

CHARTS = [
    pytest.param(adoption_chart, branch_report, id="adoption"),
    pytest.param(trend_chart, branch_report, id="trend-branch"),
    pytest.param(trend_chart, bank_report, id="trend-bank"),
    pytest.param(hours_chart, branch_report, id="hours"),
]


@pytest.mark.parametrize(("chart", "build"), CHARTS)
@pytest.mark.parametrize("language", ["de", "en"])
def test_a_chart_is_a_png_about_720_pixels_wide(chart, build, language: str) -> None:
    png = chart(build(language=language))
    assert png is not None
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = size(png)
    assert 700 <= width <= 740
    assert 250 <= height <= 1600


@pytest.mark.parametrize(("chart", "build"), CHARTS)
def test_the_same_report_gives_the_same_bytes(chart, build) -> None:
    assert chart(build()) == chart(build())


def test_the_png_carries_no_software_tag_and_no_time() -> None:
    png = adoption_chart(branch_report())
    assert png is not None
    with Image.open(io.BytesIO(png)) as image:
        assert not {"Software", "Creation Time", "date:create"} & set(image.info)
    assert b"tIME" not in png


def test_an_empty_week_draws_no_chart() -> None:
    report = empty_branch_report()
    assert adoption_chart(report) is None
    assert hours_chart(report) is None
    assert trend_chart(report) is None


def test_no_adoption_chart_when_every_alert_is_still_open() -> None:
    report = branch_report(
        (advisor("A1", "Anna", followed=0, missed=0, open_alerts=4, hours=None),)
    )
    assert adoption_chart(report) is None
    assert hours_chart(report) is None


def test_a_bank_trend_without_any_rate_is_no_chart() -> None:
    bank = bank_report()
    nothing = tuple(empty_week(34 + i) for i in range(8))
    assert trend_chart(replace(bank, bank_trend=nothing)) is None


def test_the_branch_trend_needs_a_rate_of_the_branch() -> None:
    """A bank line alone is not the branch's trend."""
    report = branch_report()
    no_branch_rate = tuple(replace(f, adoption_rate=None) for f in report.branch_trend)
    assert trend_chart(replace(report, branch_trend=no_branch_rate)) is None
    one_rate = (*no_branch_rate[:-1], report.branch_trend[-1])
    assert trend_chart(replace(report, branch_trend=one_rate)) is not None


def test_many_advisors_with_long_names_make_taller_charts() -> None:
    long = "Beraterin mit einem sehr langen Namen und Doppelnamen-Zusatz Nr. {}"
    many = tuple(
        advisor(f"A{i}", long.format(i), followed=i % 10, missed=10 - i % 10, hours=i * 1.7)
        for i in range(25)
    )
    few = many[:3]
    adoption_few, adoption_many = (
        adoption_chart(branch_report(few)),
        adoption_chart(branch_report(many)),
    )
    hours_few, hours_many = hours_chart(branch_report(few)), hours_chart(branch_report(many))
    assert adoption_few and adoption_many and hours_few and hours_many
    assert size(adoption_many)[1] > size(adoption_few)[1] + 25 * 20
    assert size(hours_many)[1] > size(hours_few)[1]
    assert size(adoption_many)[0] == size(adoption_few)[0]


def test_an_advisor_without_name_or_with_odd_values_is_drawn() -> None:
    odd = (
        advisor("A9", None, followed=1, missed=0, hours=0.0),
        advisor("A8", "  Zeilen\numbruch  ", followed=0, missed=5, hours=float("nan")),
    )
    assert adoption_chart(branch_report(odd)) is not None
    assert hours_chart(branch_report(odd)) is not None


def test_charts_use_no_pyplot() -> None:
    """Figures are drawn by the Agg canvas directly: no global pyplot state."""
    code = (
        "import sys\n"
        "from tests.report.test_charts import branch_report, bank_report\n"
        "from flows.report import charts\n"
        "charts.adoption_chart(branch_report()); charts.hours_chart(branch_report())\n"
        "charts.trend_chart(bank_report())\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --------------------------------------------------------------------------- formats


def test_german_formats() -> None:
    fmt = formats("de")
    assert fmt.percent(0.825) == f"82,5{NBSP}%"
    assert fmt.percent(1.0) == f"100,0{NBSP}%"
    assert fmt.percent_whole(0.8) == f"80{NBSP}%"
    assert fmt.integer(1234) == "1.234"
    assert fmt.hours(3.5) == f"3,5{NBSP}h"
    assert fmt.hours(41.25) == f"41,3{NBSP}h"  # half up, as a reader rounds
    assert fmt.day(date(2026, 10, 5)) == "05.10.2026"
    assert fmt.week("2026-W41", MONDAY) == "KW 41"
    assert fmt.week("2026-W01", date(2025, 12, 29)) == "KW 1"
    assert fmt.period(MONDAY, date(2026, 10, 11)) == "05.10.–11.10.2026"
    assert fmt.period(date(2026, 12, 28), date(2027, 1, 3)) == "28.12.2026–03.01.2027"


def test_english_formats() -> None:
    fmt = formats("en")
    assert fmt.percent(0.825) == "82.5%"
    assert fmt.percent_whole(0.8) == "80%"
    assert fmt.integer(1234) == "1,234"
    assert fmt.hours(3.5) == f"3.5{NBSP}h"
    assert fmt.day(date(2026, 10, 5)) == "5 Oct 2026"
    assert fmt.week("2026-W41", MONDAY) == "W41"
    assert "Oct 2026" in fmt.period(MONDAY, date(2026, 10, 11))


def test_anything_but_english_is_german() -> None:
    assert formats("fr").language == "de"


def test_shorten_and_branch_title() -> None:
    assert shorten("Anna Schmidt", 20) == "Anna Schmidt"
    assert shorten("Dr. Maximilian Freiherr von Hohenberg", 12) == "Dr. Maximil…"
    assert len(shorten("x" * 50, 26)) == 26
    assert shorten("a\n  b", 10) == "a b"
    assert branch_title("München", "de") == "Filiale München"
    assert branch_title("München", "en") == "Branch München"
    assert branch_title("Filiale Nord", "de") == "Filiale Nord"
