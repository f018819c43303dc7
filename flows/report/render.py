"""The weekly adoption report as an email and a file: the documents assembled from the
plain data of :mod:`flows.report.model`, with the charts, the views
(:mod:`flows.report.views`), the plain-text tables (:mod:`flows.report.text_tables`) and
the CSV tables (:mod:`flows.report.csv_tables`).

Pure: no I/O besides reading the templates and drawing the charts into memory. Every
value is formatted before it reaches the Jinja templates (:mod:`flows.report.formatting`,
babel, ``de_DE`` / ``en_GB``, the same formats as the charts); the HTML templates are
autoescaped, the text templates are not (:mod:`flows.report.documents`). The email and the
file come from the same HTML template: only the source of the images differs
(``cid:adoption.png`` / ``adoption.png``).

A manager sees only their own branch at advisor level: a branch report names the advisors
and clients of that branch, and shows the bank only as the comparison line of the trend
chart and one headline figure. The bank report has branches only: no advisor, no client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flows.notify.render import clean_header_text
from flows.report import charts, csv_tables, documents, text_tables, views
from flows.report.formatting import ordinal, sla_days_text
from flows.report.locale_formats import Formats, branch_title, formats
from flows.report.model import BankReport, BranchReport
from flows.report.wording import TEXTS, language_of

# The alerts table of the email and the page stops here; the CSV has every alert.
MAX_ALERT_ROWS = 100

ADOPTION_PNG = "adoption.png"
TREND_PNG = "trend.png"
HOURS_PNG = "hours.png"


@dataclass(frozen=True)
class RenderedReport:
    subject: str  # one line, cleaned (clean_header_text)
    html_email: str  # complete HTML; images referenced as src="cid:<name>"
    html_file: str  # the same report for the browser; images referenced by file name
    text: str  # the plain-text version: the figures and the tables, no HTML
    images: dict[str, bytes]  # file name -> PNG bytes, only the charts that exist
    csv: dict[str, str]  # file name -> CSV text


def _context(
    fmt: Formats,
    texts: Mapping[str, str],
    *,
    who: str,
    week: str,
    week_start: date,
    week_end: date,
    target: float,
    sla_days: int,
    min_baseline_clients: int = 200,
) -> dict[str, Any]:
    week_label = fmt.week(week, week_start)
    title = clean_header_text(
        texts["title"].format(who=who, week=week_label, period=fmt.period(week_start, week_end))
    )
    sla_text = (
        texts["def_sla_1"]
        if sla_days == 1
        else texts["def_sla"].format(n=sla_days, nth=ordinal(sla_days))
    )
    return {
        "lang": fmt.language,
        "t": texts,
        "title": title,
        "week_label": week_label,
        "target": fmt.percent_whole(target),
        "sla": sla_days_text(texts, sla_days),
        "definitions": tuple(
            views.definition(text)
            for text in (
                texts["def_alert"],
                sla_text,
                texts["def_rate"],
                texts["def_informed"],
                texts["def_trades"],
                texts["def_volume"],
                texts["def_fee"],
                texts["def_baseline"].format(minimum=fmt.integer(min_baseline_clients)),
                texts["def_activities"],
                texts["def_hours"],
                texts["def_loaded"],
            )
        ),
    }


def render_branch_report(report: BranchReport) -> RenderedReport:
    """The report for one branch manager: their branch at advisor level, the bank only in
    the trend chart and as one headline comparison."""
    language = language_of(report.language)
    fmt = formats(language)
    texts = TEXTS[language]
    branch = clean_header_text(branch_title(report.branch, fmt.language))
    target = report.target_adoption_rate
    context = _context(
        fmt,
        texts,
        who=branch,
        week=report.week,
        week_start=report.week_start,
        week_end=report.week_end,
        target=target,
        sla_days=report.sla_business_days,
        min_baseline_clients=report.min_baseline_clients,
    )
    week_label = context["week_label"]
    weeks = views.trend_weeks(report)
    bank_now = views.this_week(report.bank_trend, report.week, report.week_start)

    images: dict[str, bytes] = {}
    empty = report.totals.alerts == 0 and not any(a.alerts for a in report.advisors)
    adoption_png = None if empty else charts.adoption_chart(report)
    hours_png = None if empty else charts.hours_chart(report)
    chart_list = []
    if empty:
        chart_list.append(
            views.Chart(
                name=None,
                alt="",
                width=0,
                height=0,
                sentence=texts["empty_week"].format(
                    week=week_label, where=texts["where_branch"].format(branch=branch)
                ),
            )
        )
    else:
        chart_list.append(
            views.chart(
                images,
                ADOPTION_PNG,
                adoption_png,
                texts["alt_adoption"].format(week=week_label),
                texts["no_adoption"].format(open=fmt.integer(report.totals.open_alerts)),
            )
        )
    chart_list.append(
        views.chart(
            images,
            TREND_PNG,
            charts.trend_chart(report),
            texts["alt_trend"].format(weeks=weeks),
            texts["no_trend"].format(
                weeks=weeks, where=texts["where_branch"].format(branch=branch)
            ),
        )
    )
    if not empty:
        chart_list.append(
            views.chart(
                images,
                HOURS_PNG,
                hours_png,
                texts["alt_hours"].format(week=week_label),
                texts["no_hours"],
            )
        )

    advisor_rows = views.advisor_rows(fmt, texts, report)
    alerts = views.sorted_alerts(report.unfollowed)
    alert_rows = views.alert_rows(fmt, texts, alerts[:MAX_ALERT_ROWS])
    more = len(alerts) - len(alert_rows)
    # The alerts table needs two more words explained; they go before the closing note.
    *definitions, loaded = context["definitions"]
    context["definitions"] = (*definitions, views.definition(texts["def_days_open"]), loaded)
    context.update(
        {
            "subject": context["title"],
            "intro": texts["intro"].format(target=context["target"], sla=context["sla"]),
            "headlines": views.headlines(
                fmt,
                texts,
                report.totals,
                report.previous,
                target,
                bank_now,
                fee_rate=report.fee_rate,
                min_clients=report.min_baseline_clients,
            ),
            "figures": views.count_figures(fmt, texts, report.totals),
            "charts": chart_list,
            "advisors": advisor_rows,
            "alerts": alert_rows,
            "more_alerts": texts["more_unfollowed"].format(count=fmt.integer(more))
            if more > 0
            else "",
            "advisors_text": text_tables.rows_text(
                texts, texts["col_advisor"], advisor_rows, informed=False
            ),
            "alerts_text": text_tables.alerts_text(texts, alert_rows),
            "trend_text": text_tables.trend_text(
                fmt,
                texts,
                [
                    (branch, report.branch_trend),
                    (texts["bank_total"], report.bank_trend),
                ],
            ),
            "trend_title": texts["trend_table"].format(weeks=weeks),
        }
    )
    html_email, html_file, text = documents.render_documents(
        documents.BRANCH_HTML, documents.BRANCH_TEXT, context
    )
    return RenderedReport(
        subject=context["subject"],
        html_email=html_email,
        html_file=html_file,
        text=text,
        images=images,
        csv={
            "advisors.csv": csv_tables.advisors_csv(report),
            "open_alerts.csv": csv_tables.alerts_csv(report.week, alerts),
        },
    )


def render_bank_report(report: BankReport) -> RenderedReport:
    """The bank-wide summary: the bank's headline figures, every branch as totals, the
    bank's trend. No advisor, no client."""
    language = language_of(report.language)
    fmt = formats(language)
    texts = TEXTS[language]
    target = report.target_adoption_rate
    context = _context(
        fmt,
        texts,
        who=texts["bank_who"],
        week=report.week,
        week_start=report.week_start,
        week_end=report.week_end,
        target=target,
        sla_days=report.sla_business_days,
        min_baseline_clients=report.min_baseline_clients,
    )
    week_label = context["week_label"]
    weeks = views.trend_weeks(report)
    images: dict[str, bytes] = {}
    chart_list = []
    if report.totals.alerts == 0:
        chart_list.append(
            views.Chart(
                name=None,
                alt="",
                width=0,
                height=0,
                sentence=texts["empty_week"].format(week=week_label, where=texts["where_bank"]),
            )
        )
    chart_list.append(
        views.chart(
            images,
            TREND_PNG,
            charts.trend_chart(report),
            texts["alt_trend"].format(weeks=weeks),
            texts["no_trend"].format(weeks=weeks, where=texts["where_bank"]),
        )
    )
    branches = views.sorted_branches(report)
    rows = [views.figures_row(fmt, texts, b.branch, b.totals, target) for b in branches]
    total = views.figures_row(fmt, texts, texts["bank_total"], report.totals, target)
    context.update(
        {
            "subject": context["title"],
            "intro": texts["goals_intro"]
            + " "
            + texts["intro_bank"].format(target=context["target"], sla=context["sla"]),
            "headlines": views.headlines(
                fmt,
                texts,
                report.totals,
                report.previous,
                target,
                None,
                fee_rate=report.fee_rate,
                min_clients=report.min_baseline_clients,
                goal_informed=report.goal_informed_share,
                goal_fee=report.goal_fee_eur_weekly,
                goals=True,
            ),
            "goals_title": texts["goals_trend"].format(weeks=weeks),
            "goals_rows": views.goal_rows(fmt, texts, report),
            "business_rows": views.business_rows(fmt, texts, report),
            "business_intro": texts["business_intro"].format(
                minimum=fmt.integer(report.min_baseline_clients)
            ),
            "figures": views.count_figures(fmt, texts, report.totals),
            "charts": chart_list,
            "branches": rows,
            "total": total,
            "branches_text": text_tables.rows_text(
                texts, texts["col_branch"], [*rows, total], informed=True
            ),
            "trend_text": text_tables.trend_text(
                fmt, texts, [(texts["bank_total"], report.bank_trend)]
            ),
            "goals_text": text_tables.goals_text(texts, views.goal_rows(fmt, texts, report)),
            "business_text": text_tables.business_text(
                texts, views.business_rows(fmt, texts, report)
            ),
            "trend_title": texts["trend_table"].format(weeks=weeks),
        }
    )
    html_email, html_file, text = documents.render_documents(
        documents.BANK_HTML, documents.BANK_TEXT, context
    )
    return RenderedReport(
        subject=context["subject"],
        html_email=html_email,
        html_file=html_file,
        text=text,
        images=images,
        csv={"branches.csv": csv_tables.branches_csv(report, branches)},
    )
