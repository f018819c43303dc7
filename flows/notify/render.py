"""Rendering of the client digest and the advisor worklist: subject, plain text and HTML.

Pure: no I/O besides reading the templates, no SMTP, no MIME. Every value is formatted
here (babel, by the reader's language) and handed to the Jinja templates as text; the HTML
templates (``*.html.j2``) are autoescaped, the text templates (``*.txt.j2``) are not.
Subjects go through :func:`clean_header_text`, so no name can inject a header.
"""

from __future__ import annotations

import math
import re
import textwrap
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_time
from jinja2 import Environment, Template, nodes
from jinja2.visitor import NodeTransformer

from flows.links import UnsubscribeLinks
from flows.notify.number_formats import NumberFormat
from flows.notify.payloads import (
    AdvisorWorklist,
    ClientDigest,
    HoldingChange,
    Language,
    WorklistLine,
)
from flows.templating import template_environment
from flows.urls import web_link_problem

__all__ = [
    "DIGEST_HTML",
    "DIGEST_TEXT",
    "HTML_TEMPLATES",
    "TEXT_TEMPLATES",
    "WORKLIST_HTML",
    "WORKLIST_TEXT",
    "ActionLinks",
    "RenderError",
    "Rendered",
    "clean_header_text",
    "environment",
    "render_client_digest",
    "render_worklist",
]

DIGEST_HTML = "client_digest.html.j2"
DIGEST_TEXT = "client_digest.txt.j2"
WORKLIST_HTML = "worklist.html.j2"
WORKLIST_TEXT = "worklist.txt.j2"
HTML_TEMPLATES = (DIGEST_HTML, WORKLIST_HTML)
TEXT_TEMPLATES = (DIGEST_TEXT, WORKLIST_TEXT)

# Times without an offset are taken as the bank's local time; times with one are shown in it.
_BANK_TZ = "Europe/Berlin"
_LOCALES: dict[str, str] = {"de": "de_DE", "en": "en_GB"}


class RenderError(ValueError):
    """The payload or the links cannot be rendered (no holdings, a value that is not a
    number or date, an unsafe unsubscribe link): the message must not be sent."""


@dataclass(frozen=True)
class Rendered:
    subject: str  # one line, no CR/LF/NUL, already cleaned
    text: str  # the plain-text alternative
    html: str  # a complete HTML document


# --------------------------------------------------------------------------- headers

# Bidirectional embeddings, overrides and isolates: they can make a subject read differently
# from what it says, and have no place in one line of text.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_header_text(value: str) -> str:
    """One line of text for a header: CR, LF, NUL, every other control character, line and
    paragraph separators and bidi overrides become a space; whitespace is collapsed to one
    space and trimmed."""
    if value.isprintable():  # the common case: nothing to replace (bidi controls are not)
        return " ".join(value.split())
    spaced = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS else ch
        for ch in value
    )
    return " ".join(spaced.split())


def _line(value: str | None) -> str:
    """A data value shown on one line of the body (a name with a line break stays one line)."""
    return clean_header_text(value) if value else ""


# --------------------------------------------------------------------------- Jinja


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The template environment: autoescape on for ``*.html.j2``, off for ``*.txt.j2``."""
    return template_environment(
        "flows.notify", HTML_TEMPLATES, TEXT_TEMPLATES, filters={"wordwrap": _wordwrap}
    )


@lru_cache(maxsize=1024)
def _wrapped(text: str, width: int, break_long_words: bool) -> str:
    return "\n".join(
        textwrap.wrap(text, width, break_long_words=break_long_words, break_on_hyphens=True)
    )


def _wordwrap(text: str, width: int = 79, break_long_words: bool = True) -> str:
    """Jinja's ``wordwrap`` for plain text, remembered: the same paragraphs (the notice,
    the introduction) recur in every email of a run."""
    return _wrapped(str(text), width, break_long_words)


def _render(name: str, context: Mapping[str, Any]) -> str:
    return _compiled(name, context["lang"]).render(context)


class _FixedTexts(NodeTransformer):
    """Turns ``t.<key>`` and ``lang`` of a template into constants of one language."""

    def __init__(self, texts: Mapping[str, str], language: str) -> None:
        self.texts = texts
        self.language = language

    def visit_Getattr(self, node: nodes.Getattr) -> nodes.Node:  # noqa: N802 - Jinja's name
        if (
            isinstance(node.node, nodes.Name)
            and node.node.name == "t"
            and node.node.ctx == "load"
            and node.attr in self.texts
        ):
            return nodes.Const(self.texts[node.attr], lineno=node.lineno)
        return self.generic_visit(node)  # type: ignore[no-any-return]

    def visit_Name(self, node: nodes.Name) -> nodes.Node:  # noqa: N802 - Jinja's name
        if node.name == "lang" and node.ctx == "load":
            return nodes.Const(self.language, lineno=node.lineno)
        return node


@lru_cache(maxsize=16)
def _compiled(name: str, language: str) -> Template:
    """Template ``name`` compiled once per process for ``language``: its wording
    (``t.<key>``) and ``lang`` are constants of the compiled code, so Jinja joins them,
    escaped for HTML and wrapped where a filter says so, with the markup around them
    into one string at compile time; each message renders only its own values. Renders
    exactly what the template renders with ``t`` and ``lang`` of that language
    (tests/notify/test_render.py)."""
    env = environment()
    assert env.loader is not None
    source, filename, _ = env.loader.get_source(env, name)
    tree = env.parse(source, name, filename)
    if any(n.name in ("t", "lang") for n in tree.find_all(nodes.Name) if n.ctx != "load"):
        raise RuntimeError(f"template {name} assigns t or lang: it cannot be fixed per language")
    texts = _DIGEST_TEXTS if name in (DIGEST_HTML, DIGEST_TEXT) else _WORKLIST_TEXTS
    tree = _FixedTexts(texts[language], language).visit(tree)
    code = env.compile(tree, name, filename)
    return env.template_class.from_code(env, code, env.make_globals(None))


# --------------------------------------------------------------------------- formats


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise RenderError(f"{what} is not a decimal number: {text!r}") from exc
    if not value.is_finite():
        raise RenderError(f"{what} is not a finite number: {text!r}")
    return value


class _Formats:
    """Numbers, money, percentages, dates and times in one language."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.locale = locale = Locale.parse(_LOCALES[language])
        pattern = locale.percent_formats[None].pattern  # "#,##0 %" / "#,##0%"
        # babel's format_currency, format_decimal and format_percent, read once
        # (flows/notify/number_formats.py).
        self._money = locale.currency_formats["standard"]
        self._eur = NumberFormat(locale, self._money, currency="EUR")
        self._currencies: dict[str, NumberFormat] = {"EUR": self._eur}
        self._two_decimals = NumberFormat(locale, "#,##0.00")
        self._quantity = NumberFormat(
            locale, locale.decimal_formats[None], decimal_quantization=False
        )
        self._percent = NumberFormat(locale, re.sub(r"0(?![0-9])", "0.0", pattern, count=1))

    def money_eur(self, text: str, what: str) -> str:
        return self._eur.format(_decimal(text, what))

    def price(self, text: str, currency: str | None) -> str:
        amount = _decimal(text, "target_price")
        code = _line(currency).upper()
        if re.fullmatch(r"[A-Z]{3}", code):
            money = self._currencies.get(code)
            if money is None:
                money = self._currencies.setdefault(
                    code, NumberFormat(self.locale, self._money, currency=code)
                )
            return money.format(amount)
        return f"{self._two_decimals.format(amount)} {code}".strip()

    def quantity(self, text: str) -> str:
        return self._quantity.format(_decimal(text, "quantity").normalize())

    def percent(self, weight: float | None) -> str | None:
        if weight is None or not math.isfinite(weight):
            return None
        return self._percent.format(weight)

    def _day(self, day: date) -> str:
        pattern = "dd.MM.yyyy" if self.language == "de" else "d MMM yyyy"
        return str(format_date(day, pattern, locale=self.locale))

    @lru_cache(maxsize=4096)  # noqa: B019 - one formatter per language lives for the process
    def date(self, iso: str) -> str:
        """The date of an ISO date or timestamp (a timestamp with an offset in bank time)."""
        moment = _parse_moment(iso)
        return self._day(moment.date() if isinstance(moment, datetime) else moment)

    @lru_cache(maxsize=4096)  # noqa: B019 - one formatter per language lives for the process
    def timestamp(self, iso: str) -> str:
        """Date and time of an ISO timestamp; a bare date stays a date."""
        moment = _parse_moment(iso)
        if not isinstance(moment, datetime):
            return self._day(moment)
        clock = str(format_time(moment.time(), "HH:mm", locale=self.locale))
        day = self._day(moment.date())
        return f"{day}, {clock} Uhr" if self.language == "de" else f"{day}, {clock}"


@lru_cache(maxsize=4)
def _formats(language: str) -> _Formats:
    """One formatter per language for the whole process (loading a locale is slow)."""
    return _Formats(language)


def _parse_moment(iso: str) -> date | datetime:
    """An ISO date, or an ISO timestamp; one with an offset is converted to bank time, one
    without is taken as bank time already."""
    text = iso.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise RenderError(f"not an ISO date or timestamp: {iso!r}") from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(_BANK_TZ))
    return moment


def _language(value: str) -> Language:
    return "en" if value == "en" else "de"


# --------------------------------------------------------------------------- wording

_DIGEST_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "subject_one": "Research-Information: {security} jetzt „{label}“",
        "subject_many": "Research-Information: neue Einstufung für {count} Ihrer Wertpapiere",
        "greeting": "Guten Tag {name},",
        "greeting_neutral": "Guten Tag,",
        "intro_one": "unser Research hat die Einstufung eines Wertpapiers in Ihrem Depot geändert.",
        "intro_many": "unser Research hat die Einstufung von {count} Wertpapieren in Ihrem "
        "Depot geändert.",
        "intraday_lead": "Aktuell, heute um {time} Uhr:",
        "upgrade": "Heraufstufung",
        "downgrade": "Herabstufung",
        "rating": "Einstufung",
        "target_price": "Kursziel",
        "quantity": "Ihr Bestand",
        "position_value": "Positionswert",
        "weight": "Anteil am Depot",
        "changed_on": "Datum der Änderung",
        "mar_title": "Angaben zur Anlageempfehlung",
        "analyst": "Erstellt von",
        "first_dissemination": "Erstmals verbreitet",
        "previous": "Vorherige Einstufung",
        "previous_with_date": "{label}, veröffentlicht am {date}",
        "history": "Einstufungen der letzten 12 Monate",
        "history_date": "Datum",
        "history_none": "keine Angaben",
        "not_stated": "nicht angegeben",
        "not_available": "k. A.",
        "advisor_intro": "Bei Fragen wenden Sie sich gern an Ihre persönliche Ansprechperson:",
        "disclaimer": "Diese Information ist keine Anlageberatung und keine Aufforderung "
        "zum Kauf oder Verkauf von Wertpapieren. Sie berücksichtigt nicht Ihre persönlichen "
        "Verhältnisse. Bitte sprechen Sie vor einer Anlageentscheidung mit Ihrer Beraterin "
        "oder Ihrem Berater.",
        "optout_intro": "Sie möchten diese Information nicht mehr per E-Mail erhalten?",
        "optout_link": "Hier abmelden",
        "optout_mail": "Oder senden Sie eine E-Mail an {address}",
        "optout_mail_subject": " mit dem Betreff „{subject}“",
        "closing": "Mit freundlichen Grüßen",
        "footer": "Diese E-Mail wurde automatisch erstellt und versandt. Absender: {bank}.",
    },
    "en": {
        "subject_one": "Research information: {security} now “{label}”",
        "subject_many": "Research information: new rating for {count} of your securities",
        "greeting": "Dear {name},",
        "greeting_neutral": "Dear client,",
        "intro_one": "our research team has changed its rating of a security in your portfolio.",
        "intraday_lead": "Just now, today at {time}:",
        "intro_many": "our research team has changed its rating of {count} securities in "
        "your portfolio.",
        "upgrade": "Upgrade",
        "downgrade": "Downgrade",
        "rating": "Rating",
        "target_price": "Target price",
        "quantity": "Your holding",
        "position_value": "Position value",
        "weight": "Share of your portfolio",
        "changed_on": "Date of change",
        "mar_title": "About this investment recommendation",
        "analyst": "Produced by",
        "first_dissemination": "First disseminated",
        "previous": "Previous rating",
        "previous_with_date": "{label}, published {date}",
        "history": "Ratings over the last 12 months",
        "history_date": "Date",
        "history_none": "none on record",
        "not_stated": "not stated",
        "not_available": "n/a",
        "advisor_intro": "If you have any questions, please contact your advisor:",
        "disclaimer": "This information is not investment advice and not a solicitation to "
        "buy or sell securities. It does not take your personal circumstances into account. "
        "Please talk to your advisor before making an investment decision.",
        "optout_intro": "Don't want to receive this information by email any more?",
        "optout_link": "Unsubscribe here",
        "optout_mail": "Or send an email to {address}",
        "optout_mail_subject": " with the subject “{subject}”",
        "closing": "Kind regards",
        "footer": "This email was created and sent automatically. Sender: {bank}.",
    },
}

_WORKLIST_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Arbeitsliste",
        "subject_one": "Arbeitsliste {date}: 1 Kunde mit Ratingänderungen",
        "subject_many": "Arbeitsliste {date}: {count} Kunden mit Ratingänderungen",
        "greeting": "Guten Tag {name},",
        "greeting_neutral": "Guten Tag,",
        "intro": "bei diesen Kunden hat sich die Einstufung eines Wertpapiers im Depot "
        "geändert (größte Positionen zuerst).",
        "clients": "Kunden",
        "to_call": "davon anzurufen",
        "positions": "Positionen",
        "branch": "Filiale",
        "client": "Kunde",
        "security": "Wertpapier",
        "rating": "Einstufung",
        "position_value": "Positionswert",
        "weight": "Depotanteil",
        "channel": "Kontakt",
        "upgrade": "Heraufstufung",
        "downgrade": "Herabstufung",
        "not_available": "k. A.",
        "call": "Anrufen",
        "sent": "E-Mail versendet",
        "scheduled": "E-Mail geplant",
        "failed": "E-Mail nicht zustellbar",
        "not_emailed": "nicht per E-Mail",
        "not_planned": "keine E-Mail geplant",
        "unknown_status": "E-Mail-Status unbekannt: {status}",
        "suppressed": "gesperrt",
        "discarded": "verworfen",
        "withdrawn": "Einwilligung zurückgezogen",
        "expired": "nicht rechtzeitig zustellbar, verfallen",
        "uncertain": "E-Mail-Zustellung ungewiss",
        "reason_opted_out": "Opt-out",
        "reason_no_email": "keine E-Mail-Adresse",
        "reason_invalid_email": "keine gültige E-Mail-Adresse",
        "reason_suppressed": "gesperrt (Widerspruch)",
        "reason_unknown_client": "Kundenstammdaten fehlen",
        "reason_waits_for_digest": "Tageslimit erreicht: folgt im Digest des nächsten Morgens",
        "batch": "Lieferung {time} Uhr",
        "footer": "Bitte dokumentieren Sie jeden Kundenkontakt im CRM.",
        "actions": "Erledigt",
        "actions_intro": "Ein Klick auf eine Aktion öffnet eine Bestätigungsseite; erst deren "
        "Schaltfläche erfasst die Aktivität (zählt wie eine CRM-Aktivität).",
        "action_called": "angerufen",
        "action_meeting": "Termin vereinbart",
        "action_not_reached": "nicht erreicht",
        "action_no_contact": "erledigt ohne Kontakt",
    },
    "en": {
        "title": "Worklist",
        "subject_one": "Worklist {date}: 1 client with rating changes",
        "subject_many": "Worklist {date}: {count} clients with rating changes",
        "greeting": "Hello {name},",
        "greeting_neutral": "Hello,",
        "intro": "the rating of a security held by these clients has changed (largest "
        "positions first).",
        "clients": "Clients",
        "to_call": "to call",
        "positions": "Positions",
        "branch": "Branch",
        "client": "Client",
        "security": "Security",
        "rating": "Rating",
        "position_value": "Position value",
        "weight": "Portfolio share",
        "channel": "Contact",
        "upgrade": "Upgrade",
        "downgrade": "Downgrade",
        "not_available": "n/a",
        "call": "Call",
        "sent": "emailed",
        "scheduled": "email scheduled",
        "failed": "email could not be delivered",
        "not_emailed": "not emailed",
        "not_planned": "no email planned",
        "unknown_status": "email status unknown: {status}",
        "suppressed": "suppressed",
        "discarded": "discarded",
        "withdrawn": "consent withdrawn",
        "expired": "not delivered in time, expired",
        "uncertain": "email delivery uncertain",
        "reason_opted_out": "opted out",
        "reason_no_email": "no email address",
        "reason_invalid_email": "no valid email address",
        "reason_suppressed": "suppressed (objection)",
        "reason_unknown_client": "client master data missing",
        "reason_waits_for_digest": "daily limit reached: in the next morning's digest",
        "batch": "delivered at {time}",
        "footer": "Please log every client contact in the CRM.",
        "actions": "Done",
        "actions_intro": "A click on an action opens a confirmation page; its button records "
        "the activity (it counts like a CRM activity).",
        "action_called": "called",
        "action_meeting": "meeting arranged",
        "action_not_reached": "not reached",
        "action_no_contact": "no contact needed",
    },
}

_ARROWS = {"upgrade": "▲", "downgrade": "▼"}


# --------------------------------------------------------------------------- digest


@dataclass(frozen=True)
class _HistoryRow:
    date: str
    label: str


@dataclass(frozen=True)
class _HoldingView:
    security_name: str
    isin: str
    change_type: str  # "upgrade" / "downgrade"
    arrow: str
    change_word: str
    previous_label: str
    new_label: str
    target_price: str | None
    quantity: str
    position_value: str
    weight: str
    changed_on: str
    analyst: str
    first_dissemination: str
    previous: str
    history: tuple[_HistoryRow, ...]


@dataclass(frozen=True)
class _OptOut:
    https: str
    mail_address: str
    mail_subject: str | None
    mail_text: str  # "Oder senden Sie eine E-Mail an x mit dem Betreff „y“"
    mailto: str


_UNSAFE_IN_LINK = re.compile(r'[\s<>"]')


def _opt_out(links: UnsubscribeLinks, texts: Mapping[str, str]) -> _OptOut:
    https = links.https.strip()
    mailto = links.mailto.strip()
    problem = web_link_problem(https)
    if problem:
        raise RenderError(f"unsubscribe link {problem}: {https!r}")
    for link in (https, mailto):
        if not link.isprintable() or _UNSAFE_IN_LINK.search(link):
            raise RenderError(f"unsubscribe link contains unsafe characters: {link!r}")
    if not mailto.lower().startswith("mailto:"):
        raise RenderError(f"unsubscribe address is not a mailto: link: {mailto!r}")
    parts = urlsplit(mailto)
    address = _line(unquote(parts.path))
    if not address:
        raise RenderError(f"unsubscribe mailto: link has no address: {mailto!r}")
    subjects = parse_qs(parts.query).get("subject")
    subject = _line(subjects[0]) if subjects else None
    text = texts["optout_mail"].format(address=address)
    if subject:
        text += texts["optout_mail_subject"].format(subject=subject)
    return _OptOut(
        https=https, mail_address=address, mail_subject=subject, mail_text=text, mailto=mailto
    )


def _holding_view(h: HoldingChange, fmt: _Formats, texts: Mapping[str, str]) -> _HoldingView:
    not_stated = texts["not_stated"]
    previous_label = _line(h.previous_label)
    if h.previous_rated_at:
        previous = texts["previous_with_date"].format(
            label=previous_label, date=fmt.date(h.previous_rated_at)
        )
    else:
        previous = previous_label
    change = h.change_type if h.change_type in _ARROWS else "downgrade"
    return _HoldingView(
        security_name=_line(h.security_name),
        isin=_line(h.isin),
        change_type=change,
        arrow=_ARROWS[change],
        change_word=texts[change],
        previous_label=previous_label,
        new_label=_line(h.new_label),
        target_price=fmt.price(h.target_price, h.currency) if h.target_price else None,
        quantity=fmt.quantity(h.quantity),
        position_value=fmt.money_eur(h.market_value_eur, "market_value_eur"),
        weight=fmt.percent(h.portfolio_weight) or texts["not_available"],
        changed_on=fmt.date(h.changed_on),
        analyst=_line(h.analyst) or not_stated,
        first_dissemination=fmt.timestamp(h.rated_at) if h.rated_at else not_stated,
        previous=previous,
        history=tuple(
            _HistoryRow(date=fmt.date(p.rated_at), label=_line(p.label)) for p in h.history
        ),
    )


def _digest_subject(digest: ClientDigest, texts: Mapping[str, str]) -> str:
    isins = {h.isin for h in digest.holdings}
    if len(isins) == 1:
        latest = max(digest.holdings, key=lambda h: (h.changed_on, h.rated_at or ""))
        subject = texts["subject_one"].format(
            security=_line(latest.security_name), label=_line(latest.new_label)
        )
    else:
        subject = texts["subject_many"].format(count=len(isins))
    return clean_header_text(subject)


def batch_time(batch: str) -> str:
    """An intraday batch's folder name HHMMSS as the time of day, HH:MM."""
    if len(batch) != 6 or not batch.isdigit():
        raise ValueError("an intraday batch is named HHMMSS")
    return f"{batch[:2]}:{batch[2:4]}"


def render_client_digest(
    digest: ClientDigest, unsubscribe: UnsubscribeLinks, *, bank_name: str = "Ihre Bank"
) -> Rendered:
    """The client's email for one business day: every affected holding of this one client.

    Raises :class:`RenderError` when the digest or the links cannot be rendered safely.
    """
    try:
        return _render_client_digest(digest, unsubscribe, bank_name)
    except ValueError as exc:
        raise RenderError(f"client digest {digest.client_id}: {exc}") from exc


def _render_client_digest(
    digest: ClientDigest, unsubscribe: UnsubscribeLinks, bank_name: str
) -> Rendered:
    if not digest.holdings:
        raise RenderError("no holdings")
    language = _language(digest.language)
    texts = _DIGEST_TEXTS[language]
    fmt = _formats(language)

    first, last = _line(digest.first_name), _line(digest.last_name)
    greeting = (
        texts["greeting"].format(name=f"{first} {last}")
        if first and last
        else texts["greeting_neutral"]
    )
    securities = len({h.isin for h in digest.holdings})
    intro = texts["intro_one"] if securities == 1 else texts["intro_many"].format(count=securities)
    if digest.batch:
        intro = f"{texts['intraday_lead'].format(time=batch_time(digest.batch))} {intro}"
    advisor_name = _line(digest.advisor.name) if digest.advisor else ""
    advisor_email = _line(digest.advisor.email) if digest.advisor else ""
    bank = _line(bank_name)
    subject = _digest_subject(digest, texts)
    context: dict[str, Any] = {
        "lang": language,
        "t": texts,
        "subject": subject,
        "greeting": greeting,
        "intro": intro,
        "holdings": [_holding_view(h, fmt, texts) for h in digest.holdings],
        "advisor_name": advisor_name,
        "advisor_email": advisor_email,
        "advisor_href": "mailto:" + quote(advisor_email, safe="@") if advisor_email else "",
        "opt_out": _opt_out(unsubscribe, texts),
        "bank_name": bank,
        "footer": texts["footer"].format(bank=bank),
    }
    return Rendered(
        subject=subject,
        text=_render(DIGEST_TEXT, context),
        html=_render(DIGEST_HTML, context),
    )


# --------------------------------------------------------------------------- worklist


@dataclass(frozen=True)
class _Channel:
    call: bool
    action: str  # "Anrufen" for a call, else the whole status ("E-Mail versendet")
    detail: str  # after the dash for a call, else ""

    @property
    def text(self) -> str:
        return f"{self.action} – {self.detail}" if self.detail else self.action


ActionLinks = Callable[[str, str], Mapping[str, str]]
"""(client_id, isin) -> {action code: signed URL}: the worklist line's action links
(made by ``flows.links.worklist_action_links``; none when not given)."""

# The actions of a worklist line, in the order shown.
WORKLIST_ACTIONS = ("called", "meeting", "not_reached", "no_contact")


@dataclass(frozen=True)
class _ActionView:
    label: str
    href: str


@dataclass(frozen=True)
class _LineView:
    client_name: str
    client_id: str
    security_name: str
    isin: str
    change_type: str
    arrow: str
    change_word: str
    previous_label: str
    new_label: str
    position_value: str
    weight: str
    channel: _Channel
    actions: tuple[_ActionView, ...] = ()


def _action_views(
    actions: ActionLinks | None, line: WorklistLine, texts: Mapping[str, str]
) -> tuple[_ActionView, ...]:
    if actions is None:
        return ()
    links = actions(line.client_id, line.isin)
    views = []
    for code in WORKLIST_ACTIONS:
        href = links[code].strip()
        problem = web_link_problem(href)
        if problem:
            raise RenderError(f"worklist action link {problem}")  # not the URL: it has a token
        views.append(_ActionView(label=texts[f"action_{code}"], href=href))
    return tuple(views)


_SCHEDULED = frozenset({"pending", "sending", "held"})


def _channel(line: WorklistLine, delivery: Mapping[str, str], texts: Mapping[str, str]) -> _Channel:
    call = texts["call"]
    if not line.notify_eligible:
        reason = _line(line.ineligible_reason)
        shown = texts.get(f"reason_{reason}", reason) if reason else ""
        detail = f"{texts['not_emailed']}: {shown}" if shown else texts["not_emailed"]
        return _Channel(call=True, action=call, detail=detail)
    status = delivery.get(line.digest_key) if line.digest_key is not None else None
    if status is None:
        return _Channel(call=True, action=call, detail=texts["not_planned"])
    if status == "sent":
        return _Channel(call=False, action=texts["sent"], detail="")
    if status in _SCHEDULED:
        return _Channel(call=False, action=texts["scheduled"], detail="")
    if status == "failed":
        return _Channel(call=True, action=call, detail=texts["failed"])
    if status in ("suppressed", "discarded", "withdrawn", "expired"):
        return _Channel(call=True, action=call, detail=f"{texts['not_emailed']}: {texts[status]}")
    if status == "uncertain":
        # The server may or may not have taken it: the advisor makes sure by calling.
        return _Channel(call=True, action=call, detail=texts["uncertain"])
    return _Channel(
        call=True, action=call, detail=texts["unknown_status"].format(status=_line(status))
    )


def _sort_key(line: WorklistLine) -> tuple[Decimal, str, str, str]:
    value = _decimal(line.market_value_eur, "market_value_eur")
    return (-value, line.client_name.casefold(), line.client_id, line.isin)


def render_worklist(
    worklist: AdvisorWorklist,
    delivery: Mapping[str, str],
    actions: ActionLinks | None = None,
) -> Rendered:
    """The advisor's worklist for one business day, largest position value first.

    ``delivery`` maps a line's ``digest_key`` to the current ledger status of that
    client's digest; a missing key means no digest was planned (the client must be called).
    ``actions`` gives each line's signed action links (called, meeting, not reached, no
    contact needed), shown in the HTML and as URLs in the text.
    Raises :class:`RenderError` when the worklist cannot be rendered.
    """
    try:
        return _render_worklist(worklist, delivery, actions)
    except ValueError as exc:
        raise RenderError(f"worklist {worklist.advisor_id}: {exc}") from exc


def _render_worklist(
    worklist: AdvisorWorklist, delivery: Mapping[str, str], actions: ActionLinks | None
) -> Rendered:
    if not worklist.lines:
        raise RenderError("no lines")
    language = _language(worklist.language)
    texts = _WORKLIST_TEXTS[language]
    fmt = _formats(language)

    lines: list[_LineView] = []
    for line in sorted(worklist.lines, key=_sort_key):
        change = line.change_type if line.change_type in _ARROWS else "downgrade"
        lines.append(
            _LineView(
                client_name=_line(line.client_name),
                client_id=_line(line.client_id),
                security_name=_line(line.security_name),
                isin=_line(line.isin),
                change_type=change,
                arrow=_ARROWS[change],
                change_word=texts[change],
                previous_label=_line(line.previous_label),
                new_label=_line(line.new_label),
                position_value=fmt.money_eur(line.market_value_eur, "market_value_eur"),
                weight=fmt.percent(line.portfolio_weight) or texts["not_available"],
                channel=_channel(line, delivery, texts),
                actions=_action_views(actions, line, texts),
            )
        )
    clients = len({line.client_id for line in lines})
    to_call = len({line.client_id for line in lines if line.channel.call})
    day = fmt.date(worklist.business_day)
    subject = clean_header_text(
        texts["subject_one"].format(date=day)
        if clients == 1
        else texts["subject_many"].format(date=day, count=clients)
    )
    name = _line(worklist.advisor_name)
    context: dict[str, Any] = {
        "lang": language,
        "t": texts,
        "subject": subject,
        "title": f"{texts['title']} {day}"
        + (f", {texts['batch'].format(time=batch_time(worklist.batch))}" if worklist.batch else ""),
        "greeting": texts["greeting"].format(name=name) if name else texts["greeting_neutral"],
        "branch": _line(worklist.branch),
        "lines": lines,
        "clients": clients,
        "to_call": to_call,
        "positions": len(lines),
        "with_actions": actions is not None,
    }
    return Rendered(
        subject=subject,
        text=_render(WORKLIST_TEXT, context),
        html=_render(WORKLIST_HTML, context),
    )
