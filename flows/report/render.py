"""The weekly adoption report as an email and a file: subject, HTML, plain text, charts and
CSV tables, from the plain data of :mod:`flows.report.model`.

Pure: no I/O besides reading the templates and drawing the charts into memory. Every
value is formatted here (babel, ``de_DE`` / ``en_GB``, the same formats as the charts) and
handed to the Jinja templates as text; the HTML templates (``*.html.j2``) are autoescaped,
the text templates (``*.txt.j2``) are not. The email and the file come from the same HTML
template: only the source of the images differs (``cid:adoption.png`` / ``adoption.png``).

A manager sees only their own branch at advisor level: a branch report names the advisors
and clients of that branch, and shows the bank only as the comparison line of the trend
chart and one headline figure. The bank report has branches only: no advisor, no client.
"""

from __future__ import annotations

import csv
import io
import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jinja2 import Environment

from flows.notify.render import clean_header_text
from flows.report import charts
from flows.report.charts import Formats, advisor_label, branch_title, formats, shorten
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
from flows.templating import template_environment

__all__ = [
    "BANK_HTML",
    "BANK_TEXT",
    "BRANCH_HTML",
    "BRANCH_TEXT",
    "HTML_TEMPLATES",
    "MAX_ALERT_ROWS",
    "TEXT_TEMPLATES",
    "RenderedReport",
    "csv_cell",
    "environment",
    "render_bank_report",
    "render_branch_report",
]

BRANCH_HTML = "branch_report.html.j2"
BRANCH_TEXT = "branch_report.txt.j2"
BANK_HTML = "bank_report.html.j2"
BANK_TEXT = "bank_report.txt.j2"
HTML_TEMPLATES = (BRANCH_HTML, BANK_HTML, "advisor_week.html.j2")
TEXT_TEMPLATES = (BRANCH_TEXT, BANK_TEXT, "advisor_week.txt.j2")

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


# --------------------------------------------------------------------------- CSV

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


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue()


# --------------------------------------------------------------------------- Jinja


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The template environment: autoescape on for ``*.html.j2``, off for ``*.txt.j2``."""
    return template_environment("flows.report", HTML_TEMPLATES, TEXT_TEMPLATES)


def _render(name: str, context: Mapping[str, Any]) -> str:
    return environment().get_template(name).render(**context)


# --------------------------------------------------------------------------- wording

_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Adoption-Bericht {who} – {week} ({period})",
        "bank_who": "Bank gesamt",
        "intro": "Wer fasst die Alerts zu Ratingänderungen nach? Ziel: {target} der Alerts "
        "innerhalb von {sla} nachgefasst.",
        "intro_bank": "Wie fassen die Filialen die Alerts zu Ratingänderungen nach? Ziel: "
        "{target} der Alerts innerhalb von {sla} nachgefasst.",
        "headline": "Kennzahlen der Woche",
        "informed": "Kunden innerhalb eines Tages informiert",
        "adoption": "Alerts fristgerecht nachgefasst",
        "trades": "Folgegeschäfte aus Alerts",
        "vs_bank": "Bank gesamt: {value}",
        "target": "Ziel: {value}",
        "change_points": "{arrow} {value} Prozentpunkte zur Vorwoche",
        "change_count": "{arrow} {value} zur Vorwoche",
        "unchanged": "unverändert zur Vorwoche",
        "no_previous": "Vorwoche: keine Angabe",
        "not_available": "k. A.",
        "no_value": "–",
        "no_informed": "keine Kunden mit Alert",
        "no_rate": "noch kein Alert mit bekanntem Ergebnis",
        "alerts": "Alerts",
        "open": "offen",
        "missed": "verpasst",
        "activities": "Aktivitäten erfasst",
        "opt_outs": "Abmeldungen von Kunden",
        "median_hours": "Median bis zum ersten Kontakt",
        "median_minutes_to_inbox": "Median Intraday-Lieferung bis Kunden-E-Mail",
        "charts": "Diagramme",
        "advisors": "Berater",
        "advisors_intro": "Niedrigste Quote zuerst. Orange markiert: unter dem Ziel von {target}.",
        "advisors_intro_text": "Niedrigste Quote zuerst. ! = unter dem Ziel von {target}.",
        "no_advisors": "In dieser Woche hatte kein Berater der Filiale Alerts oder Aktivitäten.",
        "col_advisor": "Berater",
        "col_alerts": "Alerts",
        "col_followed": "In Frist nach\u00adgefasst",
        "col_missed": "Verpasst",
        "col_open": "Offen",
        "col_rate": "Quote",
        "col_hours": "Median bis Kontakt",
        "col_trades": "Folge\u00adgeschäfte",
        "col_activities": "Aktivi\u00adtäten",
        "col_informed": "Kunden inform. ≤ 1 Tag",
        "col_branch": "Filiale",
        "txt_followed": "in Frist",
        "txt_missed": "verpasst",
        "txt_open": "offen",
        "txt_rate": "Quote",
        "txt_hours": "Median",
        "txt_trades": "Folgegesch.",
        "txt_activities": "Aktiv.",
        "txt_informed": "inform.≤1T",
        "unfollowed": "Alerts ohne Nachfassen",
        "unfollowed_intro": "Verpasste zuerst, dann die am längsten offenen.",
        "no_unfollowed": "Keine: kein Alert dieser Filiale ist offen oder verpasst.",
        "more_unfollowed": "… und {count} weitere; die vollständige Liste steht in "
        "open_alerts.csv.",
        "col_status": "Status",
        "col_client": "Kunde",
        "col_security": "Wertpapier",
        "col_alert_day": "Alert vom",
        "col_deadline": "Frist bis",
        "col_days_open": "Tage offen",
        "status_open": "offen",
        "status_missed": "verpasst",
        "txt_alert_line": "Alert vom {day}, Frist bis {deadline}, {days} offen",
        "txt_day": "1 Geschäftstag",
        "txt_days": "{n} Geschäftstage",
        "branches": "Filialen",
        "branches_intro": "Niedrigste Quote zuerst. Orange markiert: unter dem Ziel von {target}.",
        "branches_intro_text": "Niedrigste Quote zuerst. ! = unter dem Ziel von {target}.",
        "no_branches": "In dieser Woche hatte keine Filiale Alerts oder Aktivitäten.",
        "bank_total": "Bank gesamt",
        "trend_table": "Adoptionsquote der letzten {weeks} Wochen",
        "col_week": "Woche",
        "empty_week": "In {week} gab es {where} keine Alerts: es gab nichts nachzufassen, "
        "daher keine Diagramme zu Quote und Kontaktzeit.",
        "where_branch": "in der {branch}",
        "where_bank": "in der Bank",
        "no_adoption": "Noch kein Alert dieser Woche hat ein bekanntes Ergebnis: alle "
        "{open} Alerts sind offen, ihre Frist läuft noch. Daher noch kein Diagramm der "
        "Adoptionsquote.",
        "no_hours": "Zu den Alerts dieser Woche ist noch kein Kontakt erfasst, daher kein "
        "Diagramm der Kontaktzeiten.",
        "no_trend": "In den letzten {weeks} Wochen gab es {where} keinen Alert mit bekanntem "
        "Ergebnis, daher kein Trenddiagramm.",
        "alt_adoption": "Balkendiagramm: Adoptionsquote je Berater, {week}",
        "alt_trend": "Liniendiagramm: Adoptionsquote der letzten {weeks} Wochen",
        "alt_hours": "Balkendiagramm: Stunden bis zum ersten Kontakt je Berater, {week}",
        "definitions": "So wird gezählt",
        "def_alert": "Alert: ein betroffener Kunde an einem Geschäftstag (Tag der "
        "Ratingänderung), gleich ob der Kunde per E-Mail informiert werden konnte.",
        "def_sla": "Fristgerecht nachgefasst: Die Beraterin oder der Berater des Kunden hat "
        "vom Alert-Tag bis zum Ende des {n}. Geschäftstags danach eine CRM-Aktivität zu "
        "diesem Kunden erfasst. Wochenenden und bundesweite Feiertage sind keine "
        "Geschäftstage.",
        "def_sla_1": "Fristgerecht nachgefasst: Die Beraterin oder der Berater des Kunden hat "
        "vom Alert-Tag bis zum Ende des folgenden Geschäftstags eine CRM-Aktivität zu diesem "
        "Kunden erfasst. Wochenenden und bundesweite Feiertage sind keine Geschäftstage.",
        "def_rate": "Adoptionsquote: fristgerecht nachgefasste Alerts geteilt durch die Alerts "
        "mit bekanntem Ergebnis (nachgefasst oder verpasst). Offene Alerts, deren Frist noch "
        "läuft, zählen nicht als verpasst und nicht in der Quote.",
        "def_informed": "Kunden innerhalb eines Tages informiert: Anteil der Kunden mit Alert, "
        "die bis zum Ende des folgenden Kalendertags eine E-Mail erhalten haben oder von "
        "ihrer Beraterin oder ihrem Berater kontaktiert wurden.",
        "def_trades": "Folgegeschäft: Der Kunde hat vom Alert-Tag bis zum 10. Kalendertag "
        "danach ein Wertpapier des Alerts gehandelt; gezählt werden solche Alerts.",
        "def_activities": "Aktivitäten erfasst: jede CRM-Aktivität der Woche, zu jedem Kunden.",
        "def_hours": "Zeit bis zum ersten Kontakt: ab Versand der Arbeitsliste, als Median.",
        "def_days_open": "Tage offen: Geschäftstage seit dem Alert. Frist bis: der letzte "
        "Geschäftstag, an dem ein Kontakt noch als fristgerecht zählt.",
        "def_loaded": "Die Zahlen enthalten alle CRM-Aktivitäten, die beim Erstellen des "
        "Berichts geladen waren.",
        "business_day": "1 Geschäftstag",
        "business_days": "{n} Geschäftstagen",
        "business": "Folgegeschäft in Euro",
        "volume": "Volumen: {value}",
        "fee": "Provisionen: {value}",
        "fee_estimated": "davon {value} geschätzt ({rate} des Volumens ohne fee_eur, "
        "VOTUM_FEE_RATE)",
        "fee_unknown": "Keine Provisionszahl: Für Geschäfte mit {value} Volumen liefert die "
        "Bank kein fee_eur, und VOTUM_FEE_RATE ist nicht gesetzt; daher nur das Volumen.",
        "baseline": "Folgegeschäfte: beobachtet {observed}, erwartet ohne Alert {expected} "
        "(Vergleichsgruppe), Differenz {difference}; Vergleichsgruppe: {clients} Kunden",
        "baseline_small": "Folgegeschäfte: beobachtet {observed}, erwartet ohne Alert: zu "
        "wenig Daten (Vergleichsgruppe: {clients} Kunden, mindestens {minimum} nötig)",
        "goals_intro": "Die drei CRM-Ziele: Kunden innerhalb eines Tages informiert, Alerts "
        "fristgerecht nachgefasst, Folgegeschäft in Euro.",
        "goal_fee_target": "Ziel: {value} pro Woche",
        "no_fee_target": "kein Ziel gesetzt (VOTUM_GOAL_FEE_EUR_WEEKLY)",
        "goals_trend": "Die drei Ziele in den letzten {weeks} Wochen",
        "col_volume": "Volumen",
        "col_fee": "Provisionen",
        "col_expected": "Erwartet ohne Alert",
        "col_difference": "Differenz",
        "business_by_branch": "Folgegeschäft nach Filialen",
        "business_intro": "Höchstes Volumen zuerst. Erwartet ohne Alert: aus der "
        "Vergleichsgruppe (siehe unten); „zu wenig Daten“ unter {minimum} Kunden.",
        "too_little": "zu wenig Daten",
        "fee_none": "nur Volumen",
        "def_volume": "Volumen der Folgegeschäfte: Stückzahl mal Kurs der Geschäfte in einem "
        "Wertpapier eines Alerts innerhalb seines Fensters (Alert-Tag bis 10. Kalendertag "
        "danach). Ein Geschäft, das auf mehrere Alerts folgt, zählt in Euro einmal, beim "
        "frühesten dieser Alerts; die Zahl der Folgegeschäfte zählt dagegen Alerts.",
        "def_fee": "Provisionen: fee_eur aus transactions.csv, wo geliefert; sonst, wenn "
        "VOTUM_FEE_RATE gesetzt ist, Volumen mal diesem Satz (als geschätzt ausgewiesen); "
        "sonst keine Provisionszahl.",
        "def_baseline": "Vergleichsgruppe (Baseline): Positionen von Kunden derselben "
        "Filialen an denselben Geschäftstagen in Wertpapieren mit Research-Rating, deren "
        "Rating sich vom 10. Kalendertag davor bis zum 10. Kalendertag danach nicht "
        "geändert hat. Ihre Handelsquote (Anteil der Positionen, in denen der Kunde im "
        "gleichen Fenster wie bei einem Alert gehandelt hat) mal die Zahl der Alerts ergibt "
        "die ohne Alert erwarteten Folgegeschäfte. Ein Vergleich, kein Nachweis einer "
        "Wirkung; unter {minimum} Kunden in der Vergleichsgruppe: zu wenig Daten.",
    },
    "en": {
        "title": "Adoption report: {who} – {week} ({period})",
        "bank_who": "whole bank",
        "intro": "Who follows up on rating-change alerts? Target: {target} of alerts followed "
        "up within {sla}.",
        "intro_bank": "How do the branches follow up on rating-change alerts? Target: "
        "{target} of alerts followed up within {sla}.",
        "headline": "This week's figures",
        "informed": "Clients informed within one day",
        "adoption": "Alerts followed up within the deadline",
        "trades": "Follow-up trades from alerts",
        "vs_bank": "Whole bank: {value}",
        "target": "Target: {value}",
        "change_points": "{arrow} {value} points on last week",
        "change_count": "{arrow} {value} on last week",
        "unchanged": "unchanged from last week",
        "no_previous": "last week: not available",
        "not_available": "n/a",
        "no_value": "–",
        "no_informed": "no alerted clients",
        "no_rate": "no alert with a known outcome yet",
        "alerts": "Alerts",
        "open": "open",
        "missed": "missed",
        "activities": "activities logged",
        "opt_outs": "client opt-outs",
        "median_hours": "median to first contact",
        "median_minutes_to_inbox": "median intraday batch to client email",
        "charts": "Charts",
        "advisors": "Advisors",
        "advisors_intro": "Lowest rate first. Marked orange: below the target of {target}.",
        "advisors_intro_text": "Lowest rate first. ! = below the target of {target}.",
        "no_advisors": "No advisor of the branch had alerts or activities this week.",
        "col_advisor": "Advisor",
        "col_alerts": "Alerts",
        "col_followed": "Followed up in time",
        "col_missed": "Missed",
        "col_open": "Open",
        "col_rate": "Rate",
        "col_hours": "Median to contact",
        "col_trades": "Follow-up trades",
        "col_activities": "Activ\u00adities",
        "col_informed": "Clients informed ≤ 1 day",
        "col_branch": "Branch",
        "txt_followed": "in time",
        "txt_missed": "missed",
        "txt_open": "open",
        "txt_rate": "rate",
        "txt_hours": "median",
        "txt_trades": "trades",
        "txt_activities": "activ.",
        "txt_informed": "inform.≤1d",
        "unfollowed": "Alerts without follow-up",
        "unfollowed_intro": "Missed first, then the longest open.",
        "no_unfollowed": "None: no alert of this branch is open or missed.",
        "more_unfollowed": "… and {count} more; open_alerts.csv has the complete list.",
        "col_status": "Status",
        "col_client": "Client",
        "col_security": "Security",
        "col_alert_day": "Alert on",
        "col_deadline": "Deadline",
        "col_days_open": "Days open",
        "status_open": "open",
        "status_missed": "missed",
        "txt_alert_line": "alert on {day}, deadline {deadline}, {days} open",
        "txt_day": "1 business day",
        "txt_days": "{n} business days",
        "branches": "Branches",
        "branches_intro": "Lowest rate first. Marked orange: below the target of {target}.",
        "branches_intro_text": "Lowest rate first. ! = below the target of {target}.",
        "no_branches": "No branch had alerts or activities this week.",
        "bank_total": "Whole bank",
        "trend_table": "Adoption rate over the last {weeks} weeks",
        "col_week": "Week",
        "empty_week": "There were no alerts {where} in {week}: nothing to follow up, so no "
        "charts of the rate and the contact times.",
        "where_branch": "in {branch}",
        "where_bank": "in the bank",
        "no_adoption": "No alert of this week has a known outcome yet: all {open} alerts are "
        "open, their deadline has not passed. So no adoption chart yet.",
        "no_hours": "No contact has been logged for this week's alerts yet, so no chart of "
        "contact times.",
        "no_trend": "There was no alert with a known outcome {where} in the last {weeks} "
        "weeks, so no trend chart.",
        "alt_adoption": "Bar chart: adoption rate by advisor, {week}",
        "alt_trend": "Line chart: adoption rate over the last {weeks} weeks",
        "alt_hours": "Bar chart: hours to first contact by advisor, {week}",
        "definitions": "How we count",
        "def_alert": "Alert: one affected client on one business day (the day of the rating "
        "change), whether or not the client could be emailed.",
        "def_sla": "Followed up within the deadline: the client's own advisor logged a CRM "
        "activity for the client from the alert day until the end of the {nth} business day "
        "after it. Weekends and German nationwide public holidays are not business days.",
        "def_sla_1": "Followed up within the deadline: the client's own advisor logged a CRM "
        "activity for the client from the alert day until the end of the next business day. "
        "Weekends and German nationwide public holidays are not business days.",
        "def_rate": "Adoption rate: alerts followed up within the deadline over the alerts "
        "with a known outcome (followed up, or missed). Open alerts, whose deadline has not "
        "passed, are not counted as missed and not in the rate.",
        "def_informed": "Clients informed within one day: the share of alerted clients who "
        "were emailed or contacted by their advisor by the end of the next calendar day.",
        "def_trades": "Follow-up trade: the client traded a security of the alert from the "
        "alert day through the 10th calendar day after it; such alerts are counted.",
        "def_activities": "Activities logged: every CRM activity of the week, for any client.",
        "def_hours": "Time to first contact: from the sending of the worklist, as a median.",
        "def_days_open": "Days open: business days since the alert. Deadline: the last "
        "business day on which a contact still counts as in time.",
        "def_loaded": "The figures include every CRM activity loaded when the report was made.",
        "business_day": "1 business day",
        "business_days": "{n} business days",
        "business": "Follow-up business in euros",
        "volume": "volume: {value}",
        "fee": "fee income: {value}",
        "fee_estimated": "of which {value} estimated ({rate} of the volume without fee_eur, "
        "VOTUM_FEE_RATE)",
        "fee_unknown": "No fee figure: trades worth {value} carry no fee_eur and "
        "VOTUM_FEE_RATE is not set, so volume only.",
        "baseline": "follow-up trades: observed {observed}, expected without alert "
        "{expected} (baseline), difference {difference}; baseline: {clients} clients",
        "baseline_small": "follow-up trades: observed {observed}, expected without alert: "
        "not enough data (baseline: {clients} clients, at least {minimum} needed)",
        "goals_intro": "The three CRM goals: clients informed within one day, alerts followed "
        "up within the deadline, follow-up business in euros.",
        "goal_fee_target": "Target: {value} a week",
        "no_fee_target": "no target set (VOTUM_GOAL_FEE_EUR_WEEKLY)",
        "goals_trend": "The three goals over the last {weeks} weeks",
        "col_volume": "Volume",
        "col_fee": "Fee income",
        "col_expected": "Expected without alert",
        "col_difference": "Difference",
        "business_by_branch": "Follow-up business by branch",
        "business_intro": "Highest volume first. Expected without alert: from the baseline "
        '(see below); "not enough data" below {minimum} clients.',
        "too_little": "not enough data",
        "fee_none": "volume only",
        "def_volume": "Follow-up volume: quantity times price of the trades in a security of "
        "an alert within its window (the alert day through the 10th calendar day after it). "
        "A trade that follows several alerts counts once in euros, for the earliest of them; "
        "the number of follow-up trades counts alerts.",
        "def_fee": "Fee income: fee_eur from transactions.csv where given; else, where "
        "VOTUM_FEE_RATE is set, volume times that rate (shown as estimated); else no fee "
        "figure.",
        "def_baseline": "Baseline: positions of clients of the same branches on the same "
        "business days in securities with a research rating whose rating did not change "
        "from the 10th calendar day before through the 10th calendar day after. Their trade "
        "rate (the share of positions the client traded within the same window as an "
        "alert's) times the number of alerts gives the trades expected without an alert. A "
        "comparison, not proof of an effect; below {minimum} clients in the baseline: not "
        "enough data.",
    },
}

_GOOD = "#1a7f37"
_BAD = "#b42318"
_SAME = "#4b5563"


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class _Change:
    text: str
    colour: str


@dataclass(frozen=True)
class _Headline:
    label: str
    value: str
    change: _Change | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Figure:
    label: str
    value: str


@dataclass(frozen=True)
class _Chart:
    name: str | None  # the image's file name; None: the sentence instead
    alt: str
    width: int
    height: int
    sentence: str


@dataclass(frozen=True)
class _Row:
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
class _AlertRow:
    client_id: str
    security_name: str
    isin: str
    advisor: str
    day: str
    deadline: str
    days_open: str
    status: str
    missed: bool


def _language(value: str) -> str:
    return "en" if value == "en" else "de"


def _rate(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _ordinal(n: int) -> str:
    """English ordinal: 2nd, 3rd, 4th, 11th, 21st."""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _sla(texts: Mapping[str, str], days: int) -> str:
    return texts["business_day"] if days == 1 else texts["business_days"].format(n=days)


def _share(fmt: Formats, texts: Mapping[str, str], value: float | None) -> str:
    rate = _rate(value)
    return fmt.percent(rate) if rate is not None else texts["not_available"]


def _minutes(fmt: Formats, texts: Mapping[str, str], value: float | None) -> str:
    minutes = _rate(value)
    return fmt.minutes(minutes) if minutes is not None else texts["not_available"]


def _hours(fmt: Formats, texts: Mapping[str, str], value: float | None) -> str:
    hours = _rate(value)
    return fmt.hours(hours) if hours is not None else texts["not_available"]


def _rate_change(
    fmt: Formats, texts: Mapping[str, str], now: float | None, before: float | None
) -> _Change | None:
    now, before = _rate(now), _rate(before)
    if now is None or before is None:
        return None
    delta = now - before
    if fmt.points(delta) == fmt.points(0.0):  # rounds to 0,0 points
        return _Change(texts["unchanged"], _SAME)
    arrow, colour = ("▲", _GOOD) if delta > 0 else ("▼", _BAD)
    return _Change(texts["change_points"].format(arrow=arrow, value=fmt.points(delta)), colour)


def _count_change(
    fmt: Formats, texts: Mapping[str, str], now: int, before: int | None
) -> _Change | None:
    if before is None:
        return None
    delta = now - before
    if delta == 0:
        return _Change(texts["unchanged"], _SAME)
    arrow, colour = ("▲", _GOOD) if delta > 0 else ("▼", _BAD)
    return _Change(texts["change_count"].format(arrow=arrow, value=fmt.integer(abs(delta))), colour)


@dataclass(frozen=True)
class _Euros:
    """How the report states the follow-up business of one set of figures."""

    volume: str
    fee: str  # the fee income, or "volume only"
    notes: tuple[str, ...]  # volume, fee (estimated part or why none), baseline


def _euros(
    fmt: Formats,
    texts: Mapping[str, str],
    figures: WeekFigures,
    fee_rate: float | None,
    min_clients: int,
) -> _Euros:
    fee = fee_income(figures, fee_rate)
    volume = fmt.euros(figures.follow_up_volume_eur)
    notes = [texts["volume"].format(value=volume)]
    if fee.amount is None:
        notes.append(texts["fee_unknown"].format(value=fmt.euros(fee.unknown_volume)))
    else:
        notes.append(texts["fee"].format(value=fmt.euros(fee.amount)))
        if fee.estimated > 0 and fee_rate is not None:
            notes.append(
                texts["fee_estimated"].format(
                    value=fmt.euros(fee.estimated), rate=fmt.rate(fee_rate)
                )
            )
    notes.append(_baseline_text(fmt, texts, figures, min_clients))
    return _Euros(
        volume=volume,
        fee=fmt.euros(fee.amount) if fee.amount is not None else texts["fee_none"],
        notes=tuple(notes),
    )


def _signed(fmt: Formats, value: float) -> str:
    text = fmt.decimal(abs(value))
    if text == fmt.decimal(0.0):
        return text
    return ("+" if value > 0 else "−") + text


def _baseline_text(
    fmt: Formats, texts: Mapping[str, str], figures: WeekFigures, min_clients: int
) -> str:
    """The sentence "observed N, expected without alert M (baseline), difference N-M", or
    "not enough data" below the minimum size of the baseline. Never a claim of causation."""
    comparison = baseline_comparison(figures, min_clients)
    if comparison.expected is None or comparison.difference is None:
        return texts["baseline_small"].format(
            observed=fmt.integer(comparison.observed),
            clients=fmt.integer(comparison.baseline_clients),
            minimum=fmt.integer(min_clients),
        )
    return texts["baseline"].format(
        observed=fmt.integer(comparison.observed),
        expected=fmt.decimal(comparison.expected),
        difference=_signed(fmt, comparison.difference),
        clients=fmt.integer(comparison.baseline_clients),
    )


def _headlines(
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
) -> tuple[_Headline, ...]:
    """The measurable CRM goals, each with its change against last week. ``goals``: the
    board's version, each goal against its target and the business in euros first."""
    adoption_notes = [texts["target"].format(value=fmt.percent_whole(target))]
    if bank is not None:
        adoption_notes.insert(
            0, texts["vs_bank"].format(value=_share(fmt, texts, bank.adoption_rate))
        )
    no_previous = (texts["no_previous"],) if previous is None else ()
    informed = _rate(totals.clients_informed_within_one_day)
    adoption = _rate(totals.adoption_rate)
    informed_target = (
        (texts["target"].format(value=fmt.percent_whole(goal_informed)),)
        if goal_informed is not None
        else ()
    )
    euros = _euros(fmt, texts, totals, fee_rate, min_clients)
    business = (
        _Headline(
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
        _Headline(
            label=texts["informed"],
            value=fmt.percent(informed) if informed is not None else texts["no_value"],
            change=_rate_change(
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
        _Headline(
            label=texts["adoption"],
            value=fmt.percent(adoption) if adoption is not None else texts["no_value"],
            change=_rate_change(fmt, texts, adoption, previous.adoption_rate if previous else None),
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
                _Headline(
                    label=texts["trades"],
                    value=fmt.integer(totals.follow_up_trades),
                    change=_count_change(
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


def _figures(fmt: Formats, texts: Mapping[str, str], totals: WeekFigures) -> tuple[_Figure, ...]:
    """The counts beside the goals: alerts, open, missed, activities, median hours."""
    return (
        _Figure(texts["alerts"], fmt.integer(totals.alerts)),
        _Figure(texts["open"], fmt.integer(totals.open_alerts)),
        _Figure(texts["missed"], fmt.integer(totals.missed)),
        _Figure(texts["activities"], fmt.integer(totals.activities_logged)),
        _Figure(texts["median_hours"], _hours(fmt, texts, totals.median_hours_to_contact)),
        _Figure(texts["opt_outs"], fmt.integer(totals.opt_outs)),
        _Figure(
            texts["median_minutes_to_inbox"],
            _minutes(fmt, texts, totals.median_minutes_to_inbox),
        ),
    )


def _below(rate: float | None, target: float) -> bool:
    value = _rate(rate)
    return value is not None and value < target


def _worst_first(rate: float | None, missed: int, name: str, key: str) -> tuple[Any, ...]:
    """Lowest rate first (ties: more missed first); no rate yet (only open alerts, or no
    alert) last, because nobody has failed there yet."""
    value = _rate(rate)
    return (value is None, value if value is not None else 0.0, -missed, name.casefold(), key)


def _advisor_rows(fmt: Formats, texts: Mapping[str, str], report: BranchReport) -> list[_Row]:
    advisors = sorted(
        report.advisors,
        key=lambda a: _worst_first(a.adoption_rate, a.missed, advisor_label(a), a.advisor_id),
    )
    return [_advisor_row(fmt, texts, a, report.target_adoption_rate) for a in advisors]


def _advisor_row(fmt: Formats, texts: Mapping[str, str], a: AdvisorWeek, target: float) -> _Row:
    return _Row(
        name=clean_header_text(advisor_label(a)),
        alerts=fmt.integer(a.alerts),
        followed=fmt.integer(a.followed_up_within_sla),
        missed=fmt.integer(a.missed),
        open=fmt.integer(a.open_alerts),
        rate=_share(fmt, texts, a.adoption_rate),
        hours=_hours(fmt, texts, a.median_hours_to_contact),
        trades=fmt.integer(a.follow_up_trades),
        activities=fmt.integer(a.activities_logged),
        informed="",
        below=_below(a.adoption_rate, target),
    )


def _figures_row(
    fmt: Formats, texts: Mapping[str, str], name: str, f: WeekFigures, target: float
) -> _Row:
    return _Row(
        name=clean_header_text(name),
        alerts=fmt.integer(f.alerts),
        followed=fmt.integer(f.followed_up_within_sla),
        missed=fmt.integer(f.missed),
        open=fmt.integer(f.open_alerts),
        rate=_share(fmt, texts, f.adoption_rate),
        hours=_hours(fmt, texts, f.median_hours_to_contact),
        trades=fmt.integer(f.follow_up_trades),
        activities=fmt.integer(f.activities_logged),
        informed=_share(fmt, texts, f.clients_informed_within_one_day),
        below=_below(f.adoption_rate, target),
    )


def _sorted_branches(report: BankReport) -> list[BranchLine]:
    return sorted(
        report.branches,
        key=lambda b: _worst_first(b.totals.adoption_rate, b.totals.missed, b.branch, b.branch),
    )


def _sorted_alerts(alerts: Iterable[UnfollowedAlert]) -> list[UnfollowedAlert]:
    """Missed first, then the longest open, then the oldest."""
    return sorted(
        alerts,
        key=lambda u: (u.status != "missed", -u.days_open, u.business_day, u.client_id, u.isin),
    )


def _alert_rows(
    fmt: Formats, texts: Mapping[str, str], alerts: Sequence[UnfollowedAlert]
) -> list[_AlertRow]:
    return [
        _AlertRow(
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


# --------------------------------------------------------------------------- charts


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def _chart(
    images: dict[str, bytes], name: str, png: bytes | None, alt: str, sentence: str
) -> _Chart:
    if png is None:
        return _Chart(name=None, alt="", width=0, height=0, sentence=sentence)
    images[name] = png
    width, height = _png_size(png)
    return _Chart(name=name, alt=alt, width=width, height=height, sentence="")


def _trend_weeks(report: BranchReport | BankReport) -> int:
    own = report.branch_trend if isinstance(report, BranchReport) else report.bank_trend
    return len({f.week for f in own}) or 8


# --------------------------------------------------------------------------- text tables


def _text_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]
) -> list[str]:
    """Monospace columns: text left, numbers right, two spaces between."""
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if is_right else cell.ljust(width)
            for cell, width, is_right in zip(cells, widths, right, strict=True)
        ).rstrip()

    rule = ["-" * w if h else " " * w for h, w in zip(headers, widths, strict=True)]
    return [line(headers), line(rule), *(line(row) for row in rows)]


def _rows_text(
    texts: Mapping[str, str], first: str, rows: Sequence[_Row], *, informed: bool
) -> list[str]:
    headers = [
        "",
        first,
        texts["alerts"],
        texts["txt_followed"],
        texts["txt_missed"],
        texts["txt_open"],
        texts["txt_rate"],
        texts["txt_hours"],
        texts["txt_trades"],
        texts["txt_activities"],
    ]
    if informed:
        headers.append(texts["txt_informed"])
    cells = []
    for r in rows:
        cell = [
            "!" if r.below else "",
            shorten(r.name, 24),
            r.alerts,
            r.followed,
            r.missed,
            r.open,
            r.rate,
            r.hours,
            r.trades,
            r.activities,
        ]
        if informed:
            cell.append(r.informed)
        cells.append(cell)
    right = [False, False, *([True] * (len(headers) - 2))]
    return _text_table(headers, cells, right)


def _trend_text(
    fmt: Formats,
    texts: Mapping[str, str],
    columns: Sequence[tuple[str, Sequence[WeekFigures]]],
) -> list[str]:
    starts: dict[str, date] = {}
    for _, figures in columns:
        for f in figures:
            starts.setdefault(f.week, f.week_start)
    weeks = sorted(starts, key=lambda w: (starts[w], w))
    if not any(_rate(f.adoption_rate) is not None for _, figures in columns for f in figures):
        return []  # nothing but "n/a": the sentence instead of the chart says enough
    by_column = [{f.week: f.adoption_rate for f in figures} for _, figures in columns]
    rows = [
        [fmt.week(w, starts[w]), *(_share(fmt, texts, rates.get(w)) for rates in by_column)]
        for w in weeks
    ]
    headers = [texts["col_week"], *(shorten(label, 24) for label, _ in columns)]
    return _text_table(headers, rows, [False, *([True] * len(columns))])


def _alerts_text(texts: Mapping[str, str], rows: Sequence[_AlertRow]) -> list[str]:
    lines: list[str] = []
    for r in rows:
        who = f" – {shorten(r.advisor, 30)}" if r.advisor else ""
        lines.append(
            f"{r.status.upper():<9} {r.client_id}  {shorten(r.security_name, 40)} ({r.isin}){who}"
        )
        days = texts["txt_day"] if r.days_open == "1" else texts["txt_days"].format(n=r.days_open)
        lines.append(
            " " * 10 + texts["txt_alert_line"].format(day=r.day, deadline=r.deadline, days=days)
        )
    return lines


# --------------------------------------------------------------------------- common


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
        else texts["def_sla"].format(n=sla_days, nth=_ordinal(sla_days))
    )
    return {
        "lang": fmt.language,
        "t": texts,
        "title": title,
        "week_label": week_label,
        "target": fmt.percent_whole(target),
        "sla": _sla(texts, sla_days),
        "definitions": tuple(
            _definition(text)
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


@dataclass(frozen=True)
class _Definition:
    term: str  # "Alert"; "" for a sentence without a term
    text: str  # what it means

    def __str__(self) -> str:
        return f"{self.term}: {self.text}" if self.term else self.text


def _definition(sentence: str) -> _Definition:
    term, colon, text = sentence.partition(": ")
    return _Definition(term, text) if colon else _Definition("", sentence)


def _documents(html_name: str, text_name: str, context: dict[str, Any]) -> tuple[str, str, str]:
    html_email = _render(html_name, {**context, "image_prefix": "cid:"})
    html_file = _render(html_name, {**context, "image_prefix": ""})
    text = _render(text_name, context)
    return html_email, html_file, text


def _this_week(trend: Sequence[WeekFigures], week: str, week_start: date) -> WeekFigures | None:
    for figures in trend:
        if figures.week == week or figures.week_start == week_start:
            return figures
    return None


# --------------------------------------------------------------------------- branch


def render_branch_report(report: BranchReport) -> RenderedReport:
    """The report for one branch manager: their branch at advisor level, the bank only in
    the trend chart and as one headline comparison."""
    language = _language(report.language)
    fmt = formats(language)
    texts = _TEXTS[language]
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
    weeks = _trend_weeks(report)
    bank_now = _this_week(report.bank_trend, report.week, report.week_start)

    images: dict[str, bytes] = {}
    empty = report.totals.alerts == 0 and not any(a.alerts for a in report.advisors)
    adoption_png = None if empty else charts.adoption_chart(report)
    hours_png = None if empty else charts.hours_chart(report)
    chart_list = []
    if empty:
        chart_list.append(
            _Chart(
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
            _chart(
                images,
                ADOPTION_PNG,
                adoption_png,
                texts["alt_adoption"].format(week=week_label),
                texts["no_adoption"].format(open=fmt.integer(report.totals.open_alerts)),
            )
        )
    chart_list.append(
        _chart(
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
            _chart(
                images,
                HOURS_PNG,
                hours_png,
                texts["alt_hours"].format(week=week_label),
                texts["no_hours"],
            )
        )

    advisor_rows = _advisor_rows(fmt, texts, report)
    alerts = _sorted_alerts(report.unfollowed)
    alert_rows = _alert_rows(fmt, texts, alerts[:MAX_ALERT_ROWS])
    more = len(alerts) - len(alert_rows)
    # The alerts table needs two more words explained; they go before the closing note.
    *definitions, loaded = context["definitions"]
    context["definitions"] = (*definitions, _definition(texts["def_days_open"]), loaded)
    context.update(
        {
            "subject": context["title"],
            "intro": texts["intro"].format(target=context["target"], sla=context["sla"]),
            "headlines": _headlines(
                fmt,
                texts,
                report.totals,
                report.previous,
                target,
                bank_now,
                fee_rate=report.fee_rate,
                min_clients=report.min_baseline_clients,
            ),
            "figures": _figures(fmt, texts, report.totals),
            "charts": chart_list,
            "advisors": advisor_rows,
            "alerts": alert_rows,
            "more_alerts": texts["more_unfollowed"].format(count=fmt.integer(more))
            if more > 0
            else "",
            "advisors_text": _rows_text(texts, texts["col_advisor"], advisor_rows, informed=False),
            "alerts_text": _alerts_text(texts, alert_rows),
            "trend_text": _trend_text(
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
    html_email, html_file, text = _documents(BRANCH_HTML, BRANCH_TEXT, context)
    return RenderedReport(
        subject=context["subject"],
        html_email=html_email,
        html_file=html_file,
        text=text,
        images=images,
        csv={
            "advisors.csv": _advisors_csv(report),
            "open_alerts.csv": _alerts_csv(report.week, alerts),
        },
    )


_FIGURE_COLUMNS = (
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


def _advisors_csv(report: BranchReport) -> str:
    advisors = sorted(
        report.advisors,
        key=lambda a: _worst_first(a.adoption_rate, a.missed, advisor_label(a), a.advisor_id),
    )
    target = report.target_adoption_rate
    return _csv(
        ("week", "branch", "advisor_id", "advisor_name", *_FIGURE_COLUMNS),
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
                _rate(a.adoption_rate),
                _below(a.adoption_rate, target),
                a.median_hours_to_contact,
                a.follow_up_trades,
                a.activities_logged,
            )
            for a in advisors
        ),
    )


def _alerts_csv(week: str, alerts: Sequence[UnfollowedAlert]) -> str:
    return _csv(
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


# --------------------------------------------------------------------------- bank


def render_bank_report(report: BankReport) -> RenderedReport:
    """The bank-wide summary: the bank's headline figures, every branch as totals, the
    bank's trend. No advisor, no client."""
    language = _language(report.language)
    fmt = formats(language)
    texts = _TEXTS[language]
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
    weeks = _trend_weeks(report)
    images: dict[str, bytes] = {}
    chart_list = []
    if report.totals.alerts == 0:
        chart_list.append(
            _Chart(
                name=None,
                alt="",
                width=0,
                height=0,
                sentence=texts["empty_week"].format(week=week_label, where=texts["where_bank"]),
            )
        )
    chart_list.append(
        _chart(
            images,
            TREND_PNG,
            charts.trend_chart(report),
            texts["alt_trend"].format(weeks=weeks),
            texts["no_trend"].format(weeks=weeks, where=texts["where_bank"]),
        )
    )
    branches = _sorted_branches(report)
    rows = [_figures_row(fmt, texts, b.branch, b.totals, target) for b in branches]
    total = _figures_row(fmt, texts, texts["bank_total"], report.totals, target)
    context.update(
        {
            "subject": context["title"],
            "intro": texts["goals_intro"]
            + " "
            + texts["intro_bank"].format(target=context["target"], sla=context["sla"]),
            "headlines": _headlines(
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
            "goals_rows": _goal_rows(fmt, texts, report),
            "business_rows": _business_rows(fmt, texts, report),
            "business_intro": texts["business_intro"].format(
                minimum=fmt.integer(report.min_baseline_clients)
            ),
            "figures": _figures(fmt, texts, report.totals),
            "charts": chart_list,
            "branches": rows,
            "total": total,
            "branches_text": _rows_text(texts, texts["col_branch"], [*rows, total], informed=True),
            "trend_text": _trend_text(fmt, texts, [(texts["bank_total"], report.bank_trend)]),
            "goals_text": _goals_text(texts, _goal_rows(fmt, texts, report)),
            "business_text": _business_text(texts, _business_rows(fmt, texts, report)),
            "trend_title": texts["trend_table"].format(weeks=weeks),
        }
    )
    html_email, html_file, text = _documents(BANK_HTML, BANK_TEXT, context)
    return RenderedReport(
        subject=context["subject"],
        html_email=html_email,
        html_file=html_file,
        text=text,
        images=images,
        csv={"branches.csv": _branches_csv(report, branches)},
    )


@dataclass(frozen=True)
class _GoalRow:
    week: str
    informed: str
    adoption: str
    volume: str
    fee: str


def _goal_rows(fmt: Formats, texts: Mapping[str, str], report: BankReport) -> list[_GoalRow]:
    """The three goals week by week, oldest first (the eight-week trend)."""
    rows = []
    for f in report.bank_trend:
        fee = fee_income(f, report.fee_rate)
        # A week without alerts has no follow-up business to measure: "n/a", not 0,00 €.
        measured = f.alerts > 0
        rows.append(
            _GoalRow(
                week=fmt.week(f.week, f.week_start),
                informed=_share(fmt, texts, f.clients_informed_within_one_day),
                adoption=_share(fmt, texts, f.adoption_rate),
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


def _goals_text(texts: Mapping[str, str], rows: Sequence[_GoalRow]) -> list[str]:
    headers = [
        texts["col_week"],
        texts["txt_informed"],
        texts["txt_rate"],
        texts["col_volume"],
        texts["col_fee"],
    ]
    cells = [[r.week, r.informed, r.adoption, r.volume, r.fee] for r in rows]
    return _text_table(headers, cells, [False, True, True, True, True])


@dataclass(frozen=True)
class _BusinessRow:
    name: str
    trades: str
    expected: str
    difference: str
    volume: str
    fee: str


def _business_rows(
    fmt: Formats, texts: Mapping[str, str], report: BankReport
) -> list[_BusinessRow]:
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
            _BusinessRow(
                name=clean_header_text(name),
                trades=fmt.integer(f.follow_up_trades),
                expected=fmt.decimal(comparison.expected)
                if comparison.expected is not None
                else texts["too_little"],
                difference=_signed(fmt, comparison.difference)
                if comparison.difference is not None
                else texts["no_value"],
                volume=fmt.euros(f.follow_up_volume_eur),
                fee=fmt.euros(fee.amount) if fee.amount is not None else texts["fee_none"],
            )
        )
    return rows


def _business_text(texts: Mapping[str, str], rows: Sequence[_BusinessRow]) -> list[str]:
    headers = [
        texts["col_branch"],
        texts["txt_trades"],
        texts["col_expected"],
        texts["col_difference"],
        texts["col_volume"],
        texts["col_fee"],
    ]
    cells = [
        [shorten(r.name, 24), r.trades, r.expected, r.difference, r.volume, r.fee] for r in rows
    ]
    return _text_table(headers, cells, [False, True, True, True, True, True])


def _branches_csv(report: BankReport, branches: Sequence[BranchLine]) -> str:
    target = report.target_adoption_rate

    def row(name: str, f: WeekFigures) -> tuple[object, ...]:
        return (
            report.week,
            name,
            f.alerts,
            f.followed_up_within_sla,
            f.missed,
            f.open_alerts,
            _rate(f.adoption_rate),
            _below(f.adoption_rate, target),
            f.median_hours_to_contact,
            f.follow_up_trades,
            f.activities_logged,
            _rate(f.clients_informed_within_one_day),
            f.follow_up_volume_eur,
            f.follow_up_fee_eur,
            f.follow_up_volume_without_fee_eur,
            f.baseline_clients,
            f.expected_follow_up_trades,
        )

    return _csv(
        (
            "week",
            "branch",
            *_FIGURE_COLUMNS,
            "clients_informed_within_one_day",
            "follow_up_volume_eur",
            "follow_up_fee_eur",
            "follow_up_volume_without_fee_eur",
            "baseline_clients",
            "expected_follow_up_trades",
        ),
        (row(b.branch, b.totals) for b in branches),
    )
