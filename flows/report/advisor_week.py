"""The advisor's week: a short personal summary each advisor receives on Monday with the
branch reports (``VOTUM_ADVISOR_WEEKLY=false`` switches it off), in the advisor language.

It shows the advisor's own figures of the week, the branch's total and the target, and
the advisor's alerts still open, oldest first, each with the worklist's action links.
Nothing of another advisor: no name, no client, no figure (only the branch total).

The data (:class:`AdvisorSummary`) is filled by :func:`flows.report.extract.advisor_summaries`;
rendering is pure, the action links come in as a function (made at send time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from flows.links import ACTIONS
from flows.notify.render import clean_header_text
from flows.report.documents import environment
from flows.report.locale_formats import Formats, formats
from flows.report.model import AdvisorWeek, Language, WeekFigures

ADVISOR_HTML = "advisor_week.html.j2"
ADVISOR_TEXT = "advisor_week.txt.j2"

# The open alerts listed in the email; the rest are counted.
MAX_OPEN_ALERTS = 30

ActionLinksOf = Callable[[date, str, str], Mapping[str, str]]
"""(alert day, client_id, isin) -> {action code: URL}."""


@dataclass(frozen=True)
class OpenAlert:
    """One of the advisor's alerts whose follow-up window is still open."""

    client_id: str
    isin: str
    security_name: str
    business_day: date
    deadline: date


@dataclass(frozen=True)
class AdvisorSummary:
    week: str
    week_start: date
    week_end: date
    advisor_id: str
    advisor_name: str | None
    email: str | None
    language: Language
    branch: str
    target_adoption_rate: float
    sla_business_days: int
    own: AdvisorWeek  # the advisor's figures of the week
    branch_totals: WeekFigures  # the branch's total (no other advisor)
    open_alerts: tuple[OpenAlert, ...]  # oldest first


@dataclass(frozen=True)
class RenderedSummary:
    subject: str
    html: str
    text: str


def to_json(summary: AdvisorSummary) -> str:
    return orjson.dumps(summary, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def _day(value: Any) -> date:
    return date.fromisoformat(str(value))


def advisor_summary_from_json(text: str) -> AdvisorSummary:
    data = orjson.loads(text)
    totals = data["branch_totals"]
    return AdvisorSummary(
        **{
            **data,
            "week_start": _day(data["week_start"]),
            "week_end": _day(data["week_end"]),
            "own": AdvisorWeek(**data["own"]),
            "branch_totals": WeekFigures(**{**totals, "week_start": _day(totals["week_start"])}),
            "open_alerts": tuple(
                OpenAlert(
                    **{
                        **a,
                        "business_day": _day(a["business_day"]),
                        "deadline": _day(a["deadline"]),
                    }
                )
                for a in data["open_alerts"]
            ),
        }
    )


_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "subject": "Ihre Woche {week}: Alerts und Nachfassen",
        "hello": "Guten Morgen {name},",
        "intro": "Ihre Zahlen der Woche {week} ({period}) neben der {branch} und dem Ziel.",
        "col_figure": "",
        "col_you": "Sie",
        "col_branch": "Filiale gesamt",
        "alerts": "Alerts",
        "followed": "Fristgerecht nachgefasst",
        "missed": "Verpasst",
        "open": "Offen",
        "rate": "Quote (Ziel {target})",
        "trades": "Folgegeschäfte",
        "volume": "Volumen der Folgegeschäfte",
        "open_title": "Ihre offenen Alerts, älteste zuerst",
        "no_open": "Keine offenen Alerts. Danke!",
        "more_open": "… und {count} weitere in Ihren Arbeitslisten.",
        "alert_line": "{security} ({isin}), Kunde {client}: Alert vom {day}, Frist bis {deadline}",
        "not_available": "k. A.",
        "note": "Fristgerecht: eine CRM-Aktivität zum Kunden bis zum Ende des {n}. "
        "Geschäftstags nach dem Alert. Quote: nachgefasste Alerts geteilt durch nachgefasste "
        "und verpasste; offene zählen nicht.",
    },
    "en": {
        "subject": "Your week {week}: alerts and follow-up",
        "hello": "Good morning {name},",
        "intro": "Your figures of week {week} ({period}) beside {branch} and the target.",
        "col_figure": "",
        "col_you": "You",
        "col_branch": "Branch total",
        "alerts": "Alerts",
        "followed": "Followed up in time",
        "missed": "Missed",
        "open": "Open",
        "rate": "Rate (target {target})",
        "trades": "Follow-up trades",
        "volume": "Follow-up volume",
        "open_title": "Your open alerts, oldest first",
        "no_open": "No open alerts. Thank you!",
        "more_open": "… and {count} more in your worklists.",
        "alert_line": "{security} ({isin}), client {client}: alert on {day}, deadline {deadline}",
        "not_available": "n/a",
        "note": "In time: a CRM activity for the client by the end of the {n}th business "
        "day after the alert. Rate: alerts followed up over followed up plus missed; open "
        "ones do not count.",
    },
}


@dataclass(frozen=True)
class _FigureLine:
    label: str
    you: str
    branch: str


@dataclass(frozen=True)
class _Link:
    label: str
    url: str


@dataclass(frozen=True)
class _AlertLine:
    text: str
    links: tuple[_Link, ...]


def _share(fmt: Formats, texts: Mapping[str, str], value: float | None) -> str:
    return fmt.percent(value) if value is not None else texts["not_available"]


def _figure_lines(
    fmt: Formats, texts: Mapping[str, str], summary: AdvisorSummary
) -> list[_FigureLine]:
    own, branch = summary.own, summary.branch_totals
    return [
        _FigureLine(texts["alerts"], fmt.integer(own.alerts), fmt.integer(branch.alerts)),
        _FigureLine(
            texts["followed"],
            fmt.integer(own.followed_up_within_sla),
            fmt.integer(branch.followed_up_within_sla),
        ),
        _FigureLine(texts["missed"], fmt.integer(own.missed), fmt.integer(branch.missed)),
        _FigureLine(texts["open"], fmt.integer(own.open_alerts), fmt.integer(branch.open_alerts)),
        _FigureLine(
            texts["rate"].format(target=fmt.percent_whole(summary.target_adoption_rate)),
            _share(fmt, texts, own.adoption_rate),
            _share(fmt, texts, branch.adoption_rate),
        ),
        _FigureLine(
            texts["trades"],
            fmt.integer(own.follow_up_trades),
            fmt.integer(branch.follow_up_trades),
        ),
        _FigureLine(
            texts["volume"],
            fmt.euros(own.follow_up_volume_eur),
            fmt.euros(branch.follow_up_volume_eur),
        ),
    ]


def _alert_lines(
    fmt: Formats,
    texts: Mapping[str, str],
    language: str,
    alerts: Sequence[OpenAlert],
    links: ActionLinksOf | None,
) -> list[_AlertLine]:
    lines = []
    for a in alerts:
        urls = links(a.business_day, a.client_id, a.isin) if links else {}
        lines.append(
            _AlertLine(
                text=texts["alert_line"].format(
                    security=clean_header_text(a.security_name),
                    isin=clean_header_text(a.isin),
                    client=clean_header_text(a.client_id),
                    day=fmt.day(a.business_day),
                    deadline=fmt.day(a.deadline),
                ),
                links=tuple(
                    _Link(action.label(language), urls[action.code])
                    for action in ACTIONS
                    if action.code in urls
                ),
            )
        )
    return lines


def render_advisor_summary(
    summary: AdvisorSummary, links: ActionLinksOf | None = None
) -> RenderedSummary:
    """The email: subject, HTML and plain text. Pure apart from reading the templates."""
    language = "en" if summary.language == "en" else "de"
    fmt = formats(language)
    texts = _TEXTS[language]
    week = fmt.week(summary.week, summary.week_start)
    shown = summary.open_alerts[:MAX_OPEN_ALERTS]
    more = len(summary.open_alerts) - len(shown)
    name = " ".join((summary.advisor_name or "").split()) or summary.advisor_id
    subject = clean_header_text(texts["subject"].format(week=week))
    context = {
        "lang": language,
        "t": texts,
        "subject": subject,
        "hello": texts["hello"].format(name=clean_header_text(name)),
        "intro": texts["intro"].format(
            week=week,
            period=fmt.period(summary.week_start, summary.week_end),
            branch=clean_header_text(summary.branch),
        ),
        "figures": _figure_lines(fmt, texts, summary),
        "alerts": _alert_lines(fmt, texts, language, shown, links),
        "more": texts["more_open"].format(count=fmt.integer(more)) if more > 0 else "",
        "note": texts["note"].format(n=summary.sla_business_days),
    }
    env = environment()
    return RenderedSummary(
        subject=subject,
        html=env.get_template(ADVISOR_HTML).render(**context),
        text=env.get_template(ADVISOR_TEXT).render(**context),
    )
