"""`votum serve` as a real process answering real HTTP: the one-click opt-out exactly as
mailbox providers send it (RFC 8058), the confirmation pages, forged and foreign tokens,
the worklist action links, the rate limit, and a log without client data."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from itertools import count
from urllib.parse import parse_qs, urlsplit

import httpx

from flows.links import action_bound_to, unsubscribe_links, worklist_action_links
from flows.notify.journal import open_journal
from flows.signing import UNSUBSCRIBE, WORKLIST_ACTION, installation_secret, make_token
from flows.web.activity_store import open_activity_store
from tests.web.conftest import Service

ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}
_sources = count(1)


def client_from(**headers: str) -> httpx.Client:
    """An HTTP client speaking as its own source address (through the trusted proxy)."""
    return httpx.Client(headers={"X-Forwarded-For": f"203.0.113.{next(_sources)}", **headers})


def opt_out(service: Service, client_id: str) -> tuple[str, str, str | None] | None:
    with open_journal(service.settings.journal_path) as journal:
        return journal.client_opt_out(client_id)


def link_for(service: Service, client_id: str, language: str | None = "de") -> str:
    return unsubscribe_links(service.settings, client_id, date.today(), language).https


def test_one_click_post_records_the_objection_and_a_replay_is_harmless(service: Service) -> None:
    link = link_for(service, "C0000101")
    with client_from() as http:
        first = http.post(link, content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK)
        recorded = opt_out(service, "C0000101")
        replay = http.post(link, content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK)
    assert first.status_code == 200 and replay.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    assert first.text == ""
    assert recorded is not None and recorded[1] == "one-click"
    assert opt_out(service, "C0000101") == recorded  # the first record stays


def test_get_shows_a_confirmation_in_the_clients_language_and_records_nothing(
    service: Service,
) -> None:
    with client_from() as http:
        german = http.get(link_for(service, "C0000102", "de"))
        english = http.get(link_for(service, "C0000102", "en"))
        both = http.get(link_for(service, "C0000102", None))
    assert german.status_code == english.status_code == both.status_code == 200
    de, en = "Research-Informationen abbestellen", "Unsubscribe from research information"
    assert de in german.text and en not in german.text and ">Abmelden<" in german.text
    assert en in english.text and de not in english.text and ">Unsubscribe<" in english.text
    assert de in both.text and en in both.text and ">Abmelden / Unsubscribe<" in both.text
    for page in (german, english):
        assert 'method="post"' in page.text and "<script" not in page.text
        assert "set-cookie" not in page.headers
    assert opt_out(service, "C0000102") is None


def test_forged_altered_expired_or_other_clients_tokens_are_refused(service: Service) -> None:
    settings = service.settings
    genuine = link_for(service, "C0000103")
    token = parse_qs(urlsplit(genuine).query)["token"][0]
    other_clients = link_for(service, "C0000104")
    base = settings.unsubscribe_url
    forged = make_token(
        b"not-the-installation-key-at-all", UNSUBSCRIBE, ("C0000103",), date.today()
    )
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with client_from() as http:
        answers = [
            http.post(
                f"{base}?client=C0000103&token={forged}", content=b"List-Unsubscribe=One-Click"
            ),
            http.post(
                f"{base}?client=C0000103&token={altered}", content=b"List-Unsubscribe=One-Click"
            ),
            http.post(
                other_clients.replace("C0000104", "C0000103"), content=b"List-Unsubscribe=One-Click"
            ),
            http.get(f"{base}?client=C0000103"),
        ]
    for answer in answers:
        assert answer.status_code == 403
        assert "C0000103" not in answer.text and "C0000104" not in answer.text
    assert answers[0].text == answers[1].text == answers[2].text
    assert opt_out(service, "C0000103") is None and opt_out(service, "C0000104") is None


def test_the_done_page_offers_a_token_bound_way_back(service: Service) -> None:
    link = link_for(service, "C0000105", "en")
    with client_from() as http:
        done = http.post(link, data={"List-Unsubscribe": "One-Click", "page": "1"})
        assert opt_out(service, "C0000105") is not None
        href = done.text.split('<a href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        confirm = http.get(service.origin + href)
        assert opt_out(service, "C0000105") is not None  # a GET changes nothing
        foreign = http.post(
            service.origin + href.replace("C0000105", "C0000106"), data={"page": "1"}
        )
        back = http.post(service.origin + href, data={"page": "1"})
    assert "You are unsubscribed" in done.text and "advisor" in done.text
    assert confirm.status_code == 200 and foreign.status_code == 403
    assert back.status_code == 200 and "subscribed again" in back.text
    assert opt_out(service, "C0000105") is None


def test_worklist_action_get_confirms_post_records_once_and_bad_links_record_nothing(
    service: Service,
) -> None:
    settings = service.settings
    today = date.today()
    links = worklist_action_links(settings, "A1", "2026-12-01", today, "en")(
        "C0000107", "DE0007164600"
    )
    called = links["called"]
    old = today - timedelta(days=settings.worklist_link_days + 1)
    expired = worklist_action_links(settings, "A1", "2026-12-01", old)("C0000107", "DE0007164600")
    forged = make_token(
        installation_secret(settings),
        WORKLIST_ACTION,
        action_bound_to("A1", "C0000107", "2026-12-01", "DE0007164600", "meeting"),
        today,
    )
    with client_from() as http:
        page = http.get(called)
        assert _activities(service) == []  # mail scanners open links: a GET records nothing
        first = http.post(called)
        replay = http.post(called)
        refused = [
            http.post(expired["called"]),
            http.post(called.replace("advisor=A1", "advisor=A2")),  # a colleague's link
            http.post(called.replace("action=called", "action=meeting")),  # another action
            http.post(links["meeting"].split("&token=")[0] + f"&token={forged}"[:-1] + "x"),
        ]
        no_reason = http.post(links["no_contact"])
        with_reason = http.post(links["no_contact"], data={"reason": "already_informed"})
    assert page.status_code == 200 and "Record activity: called" in page.text
    assert first.status_code == 200 and "Recorded: called" in first.text
    assert replay.status_code == 200 and "nothing was counted twice" in replay.text
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert no_reason.status_code == 400
    assert with_reason.status_code == 200
    recorded = _activities(service)
    assert [
        (a.advisor_id, a.client_id, a.isin, a.activity_type, a.action, a.reason, a.source)
        for a in recorded
    ] == [
        ("A1", "C0000107", "DE0007164600", "call", "called", None, "worklist"),
        (
            "A1",
            "C0000107",
            "DE0007164600",
            "alert_acknowledged",
            "no_contact",
            "already_informed",
            "worklist",
        ),
    ]


def _activities(service: Service) -> list:
    with open_activity_store(service.settings.worklist_activities_path) as store:
        return store.activities()


def test_rate_limit_per_source_address(service: Service) -> None:
    with client_from() as busy, client_from() as calm:
        answers = [
            busy.get(f"{service.origin}/research-alerts/unsubscribe").status_code for _ in range(14)
        ]
        other = calm.get(f"{service.origin}/research-alerts/unsubscribe").status_code
    assert answers[:12] == [403] * 12 and answers[12:] == [429, 429]
    assert other == 403  # another address is not limited by the first one's requests


def test_the_log_names_outcomes_but_no_client_data(service: Service) -> None:
    with client_from() as http:
        http.post(
            link_for(service, "C0000199"), content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK
        )
    log = service.log_text()
    assert "opted-out" in log and "refused" in log and "recorded-called" in log
    assert "client#" in log
    for secret in ("C00001", "token", "v1.", "A1", "DE0007164600", "client=", "@"):
        assert secret not in log, secret


def test_health_and_no_heavy_imports() -> None:
    probe = (
        "import sys, flows.cli, flows.web.serve, flows.web.app, flows.web.maildir_optout, flows.web.exports;"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'dbt', 'great_expectations', 'duckdb', 'matplotlib'});"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_healthz(service: Service) -> None:
    answer = httpx.get(f"{service.origin}/healthz")
    assert answer.status_code == 200 and answer.text == "ok"
