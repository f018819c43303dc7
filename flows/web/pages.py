"""The pages of ``votum serve``: plain HTML, no JavaScript, no cookies, German or English
(both, one under the other, when the link does not say which). Pure: values in, HTML out;
every value is escaped by the template (autoescape)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import Environment

from flows.links import ACTIONS_BY_CODE, NO_CONTACT_REASONS
from flows.templating import template_environment

PAGE = "page.html.j2"
LANGUAGES = ("de", "en")


@dataclass(frozen=True)
class Part:
    """One language's text of a page."""

    lang: str
    heading: str
    paragraphs: tuple[str, ...]
    link_href: str | None = None
    link_text: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Form:
    action: str  # path and query the button POSTs to
    button: str
    fields: tuple[tuple[str, str], ...] = ()
    choices: tuple[tuple[str, str], ...] = ()
    choice_label: str = ""


@dataclass(frozen=True)
class Page:
    status: int
    title: str
    parts: tuple[Part, ...]
    form: Form | None = None
    lang: str = "de"


@lru_cache(maxsize=1)
def environment() -> Environment:
    return template_environment("flows.web", (PAGE,), ())


def render_page(page: Page) -> str:
    return (
        environment()
        .get_template(PAGE)
        .render(lang=page.lang, title=page.title, parts=page.parts, form=page.form)
    )


def languages_of(lang: str | None) -> tuple[str, ...]:
    """The page's languages: the link's, else both (German first)."""
    return (lang,) if lang in LANGUAGES else LANGUAGES


def _joined(langs: Sequence[str], de: str, en: str) -> str:
    return " / ".join(de if lang == "de" else en for lang in langs)


# --------------------------------------------------------------------------- opt-out

_OPT_OUT = {
    "de": {
        "confirm_heading": "Research-Informationen abbestellen",
        "confirm_text": "Möchten Sie keine Research-Informationen zu Ihren Wertpapieren mehr "
        "per E-Mail erhalten? Bestätigen Sie es mit der Schaltfläche.",
        "button": "Abmelden",
        "done_heading": "Sie sind abgemeldet",
        "done_text": "Sie erhalten keine Research-Informationen mehr per E-Mail; das gilt ab "
        "sofort, auch für eine schon geplante Nachricht.",
        "undo_text": "Sie möchten sie doch wieder erhalten? Sprechen Sie mit Ihrer Beraterin "
        "oder Ihrem Berater, oder nutzen Sie diesen Link:",
        "undo_link": "Wieder anmelden",
        "undo_note": "Eine Sperre Ihrer E-Mail-Adresse (etwa weil E-Mails nicht zugestellt "
        "werden konnten) bleibt bestehen; sie hebt nur die Bank auf.",
        "re_heading": "Research-Informationen wieder erhalten",
        "re_text": "Möchten Sie Research-Informationen zu Ihren Wertpapieren wieder per "
        "E-Mail erhalten?",
        "re_button": "Wieder anmelden",
        "re_done_heading": "Sie sind wieder angemeldet",
        "re_done_text": "Ihr Widerspruch ist aufgehoben. Sie erhalten Research-Informationen "
        "wieder per E-Mail, sofern Ihre Einwilligung dafür vorliegt.",
    },
    "en": {
        "confirm_heading": "Unsubscribe from research information",
        "confirm_text": "Don't want to receive research information about your securities "
        "by email any more? Confirm with the button.",
        "button": "Unsubscribe",
        "done_heading": "You are unsubscribed",
        "done_text": "You will not receive research information by email any more, starting "
        "now, including any message already scheduled.",
        "undo_text": "Changed your mind? Talk to your advisor, or use this link:",
        "undo_link": "Subscribe again",
        "undo_note": "A block on your email address (for example because emails could not "
        "be delivered) stays in place; only the bank can lift it.",
        "re_heading": "Receive research information again",
        "re_text": "Would you like to receive research information about your securities by "
        "email again?",
        "re_button": "Subscribe again",
        "re_done_heading": "You are subscribed again",
        "re_done_text": "Your objection is withdrawn. You will receive research information "
        "by email again, provided you have consented to it.",
    },
}


def opt_out_confirm(lang: str | None, action: str) -> Page:
    langs = languages_of(lang)
    parts = tuple(
        Part(lg, _OPT_OUT[lg]["confirm_heading"], (_OPT_OUT[lg]["confirm_text"],)) for lg in langs
    )
    form = Form(
        action=action,
        button=_joined(langs, _OPT_OUT["de"]["button"], _OPT_OUT["en"]["button"]),
        fields=(("List-Unsubscribe", "One-Click"), ("page", "1")),
    )
    return Page(200, parts[0].heading, parts, form, langs[0])


def opt_out_done(lang: str | None, resubscribe_href: str) -> Page:
    langs = languages_of(lang)
    parts = tuple(
        Part(
            lg,
            _OPT_OUT[lg]["done_heading"],
            (_OPT_OUT[lg]["done_text"], _OPT_OUT[lg]["undo_text"]),
            link_href=resubscribe_href,
            link_text=_OPT_OUT[lg]["undo_link"],
            note=_OPT_OUT[lg]["undo_note"],
        )
        for lg in langs
    )
    return Page(200, parts[0].heading, parts, None, langs[0])


def resubscribe_confirm(lang: str | None, action: str) -> Page:
    langs = languages_of(lang)
    parts = tuple(Part(lg, _OPT_OUT[lg]["re_heading"], (_OPT_OUT[lg]["re_text"],)) for lg in langs)
    form = Form(
        action=action,
        button=_joined(langs, _OPT_OUT["de"]["re_button"], _OPT_OUT["en"]["re_button"]),
        fields=(("page", "1"),),
    )
    return Page(200, parts[0].heading, parts, form, langs[0])


def resubscribe_done(lang: str | None) -> Page:
    langs = languages_of(lang)
    parts = tuple(
        Part(lg, _OPT_OUT[lg]["re_done_heading"], (_OPT_OUT[lg]["re_done_text"],), note=None)
        for lg in langs
    )
    return Page(200, parts[0].heading, parts, None, langs[0])


# --------------------------------------------------------------------------- refusals

_REFUSED = {
    "de": ("Link ungültig", "Dieser Link ist ungültig oder abgelaufen. Es wurde nichts geändert."),
    "en": ("Link not valid", "This link is not valid or has expired. Nothing was changed."),
}
_TOO_MANY = {
    "de": ("Zu viele Anfragen", "Bitte versuchen Sie es in einer Minute noch einmal."),
    "en": ("Too many requests", "Please try again in a minute."),
}


def refused() -> Page:
    """A bad, altered, expired or other person's link: the same page whatever the cause,
    in both languages (the link's language is not trusted to say anything here)."""
    parts = tuple(Part(lg, _REFUSED[lg][0], (_REFUSED[lg][1],)) for lg in LANGUAGES)
    return Page(403, parts[0].heading, parts)


def too_many_requests() -> Page:
    parts = tuple(Part(lg, _TOO_MANY[lg][0], (_TOO_MANY[lg][1],)) for lg in LANGUAGES)
    return Page(429, parts[0].heading, parts)


# --------------------------------------------------------------------------- worklist actions

_ACTION = {
    "de": {
        "heading": "Aktivität erfassen: {label}",
        "what": "Kunde {client}, Wertpapier {isin}, Arbeitsliste vom {day}.",
        "text": "Mit der Schaltfläche wird die Aktivität sofort erfasst und zählt wie eine "
        "Aktivität im CRM.",
        "button": "Erfassen",
        "reason": "Grund",
        "done_heading": "Erfasst: {label}",
        "done_text": "Die Aktivität ist erfasst (Quelle: Arbeitsliste). Sie erscheint im "
        "nächsten Export für das CRM und in der Wochenauswertung.",
        "again": "Diese Aktivität war schon erfasst; es wurde nichts doppelt gezählt.",
    },
    "en": {
        "heading": "Record activity: {label}",
        "what": "Client {client}, security {isin}, worklist of {day}.",
        "text": "The button records the activity at once; it counts like an activity "
        "logged in the CRM.",
        "button": "Record",
        "reason": "Reason",
        "done_heading": "Recorded: {label}",
        "done_text": "The activity is recorded (source: worklist). It is in the next export "
        "for the CRM and in the weekly report.",
        "again": "This activity was recorded already; nothing was counted twice.",
    },
}


def action_confirm(
    lang: str | None, action_code: str, client_id: str, isin: str, day: str, post_to: str
) -> Page:
    langs = languages_of(lang)
    action = ACTIONS_BY_CODE[action_code]
    parts = tuple(
        Part(
            lg,
            _ACTION[lg]["heading"].format(label=action.label(lg)),
            (
                _ACTION[lg]["what"].format(client=client_id, isin=isin or "-", day=day),
                _ACTION[lg]["text"],
            ),
        )
        for lg in langs
    )
    choices: tuple[tuple[str, str], ...] = ()
    if action_code == "no_contact":
        choices = tuple(
            (code, _joined(langs, de, en)) for code, (de, en) in NO_CONTACT_REASONS.items()
        )
    form = Form(
        action=post_to,
        button=_joined(langs, _ACTION["de"]["button"], _ACTION["en"]["button"]),
        choices=choices,
        choice_label=_joined(langs, _ACTION["de"]["reason"], _ACTION["en"]["reason"]),
    )
    return Page(200, parts[0].heading, parts, form, langs[0])


def action_done(lang: str | None, action_code: str, *, new: bool) -> Page:
    langs = languages_of(lang)
    action = ACTIONS_BY_CODE[action_code]
    parts = tuple(
        Part(
            lg,
            _ACTION[lg]["done_heading"].format(label=action.label(lg)),
            (_ACTION[lg]["done_text"] if new else _ACTION[lg]["again"],),
        )
        for lg in langs
    )
    return Page(200, parts[0].heading, parts, None, langs[0])
