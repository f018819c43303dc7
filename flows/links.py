"""The links of votum's emails that ``votum serve`` answers: where its pages live, the
signed opt-out links of a client digest and the signed worklist action links (made at
send time by the renderers, checked by the service). Below both: the service
(flows/web), notify and report import it, it imports neither.

Pure apart from reading the installation's key through :func:`installation_secret`.

An opt-out link (one-click and mailto) carries a token bound to the client (purpose
``unsubscribe``) and the digest's business day, so that a message rendered again carries
the same links.

A worklist action link names the advisor, the client, the alert day, the security and
the action; its token (flows/signing.py, purpose ``worklist-action``) is bound to all five
and carries the day the worklist was sent, so that it expires
``VOTUM_WORKLIST_LINK_DAYS`` after it (an opt-out link never expires: an objection is
always possible).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlencode, urlsplit

from flows.settings import Settings
from flows.signing import UNSUBSCRIBE, WORKLIST_ACTION, installation_secret, make_token


@dataclass(frozen=True)
class UnsubscribeLinks:
    mailto: str  # "mailto:unsubscribe@bank.example?subject=unsubscribe%20C0000001"
    https: str  # "https://bank.example/research-alerts/unsubscribe?token=..."


def unsubscribe_links(
    settings: Settings, client_id: str, issued: date, language: str | None = None
) -> UnsubscribeLinks:
    """The one-click link and the mailto link of a client's digest, both carrying a token
    bound to the client (flows/signing.py); ``issued`` is the digest's business day, so
    that a message rendered again carries the same links. ``language`` (not signed) lets
    votum serve answer in the digest's language without reading the warehouse."""
    token = make_token(installation_secret(settings), UNSUBSCRIBE, (client_id,), issued)
    query = urlencode(
        {"client": client_id, "token": token, **({"lang": language} if language else {})}
    )
    subject = quote(f"unsubscribe {client_id} {token}")
    return UnsubscribeLinks(
        mailto=f"mailto:{settings.opt_out_address}?subject={subject}",
        https=f"{settings.unsubscribe_url}?{query}",
    )


@dataclass(frozen=True)
class WorklistAction:
    """One thing an advisor can record from a worklist line."""

    code: str  # in the link: called, meeting, not_reached, no_contact
    activity_type: str  # the CRM's activity type it counts as (crm_activities.csv)
    label_de: str
    label_en: str

    def label(self, language: str) -> str:
        return self.label_en if language == "en" else self.label_de


# The CRM's types (SPEC: call, meeting, email, note, alert_acknowledged): a call that did
# not reach the client is still a call; "no contact needed" acknowledges the alert.
ACTIONS: tuple[WorklistAction, ...] = (
    WorklistAction("called", "call", "angerufen", "called"),
    WorklistAction("meeting", "meeting", "Termin vereinbart", "meeting arranged"),
    WorklistAction("not_reached", "call", "nicht erreicht", "not reached"),
    WorklistAction(
        "no_contact", "alert_acknowledged", "erledigt ohne Kontakt", "no contact needed"
    ),
)
ACTIONS_BY_CODE: Mapping[str, WorklistAction] = {a.code: a for a in ACTIONS}

# Why no contact was needed (the confirmation page of "no_contact" asks for one).
NO_CONTACT_REASONS: Mapping[str, tuple[str, str]] = {
    "already_informed": ("Kunde bereits informiert", "client already informed"),
    "small_position": ("Position unwesentlich", "position not material"),
    "client_declines_contact": ("Kunde wünscht keinen Kontakt", "client declines contact"),
    "other": ("Sonstiges", "other"),
}


def path_of(url: str) -> str:
    """The path part of a public URL (``/research-alerts/unsubscribe``), without a
    trailing slash; ``/`` stays ``/``."""
    path = urlsplit(url).path or "/"
    return path.rstrip("/") or "/"


def action_bound_to(
    advisor_id: str, client_id: str, alert_day: str, isin: str, action: str
) -> tuple[str, str, str, str, str]:
    """The values an action token is bound to, in their order."""
    return (advisor_id, client_id, alert_day, isin, action)


ActionLinks = Callable[[str, str], Mapping[str, str]]
"""(client_id, isin) -> {action code: URL} for one advisor's worklist of one day."""


def worklist_action_links(
    settings: Settings, advisor_id: str, alert_day: str, issued: date, language: str | None = None
) -> ActionLinks:
    """The link maker for one worklist: every line's links for every action. ``issued``
    is the day the worklist is sent (the links expire counted from it); ``language`` the
    confirmation page's (not signed: it changes nothing but the page's words)."""
    secret = installation_secret(settings)
    base = settings.worklist_action_url

    def links(client_id: str, isin: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for action in ACTIONS:
            bound = action_bound_to(advisor_id, client_id, alert_day, isin, action.code)
            token = make_token(secret, WORKLIST_ACTION, bound, issued)
            query = urlencode(
                {
                    "advisor": advisor_id,
                    "client": client_id,
                    "day": alert_day,
                    "isin": isin,
                    "action": action.code,
                    "token": token,
                    **({"lang": language} if language else {}),
                }
            )
            out[action.code] = f"{base}?{query}"
        return out

    return links
