"""The whole loop with real parts: a day planned into the ledger, a client who objects
through the service before dispatch gets nothing; a client opts out in a real headless
Chromium from the link of the digest the real SMTP server received; the advisor clicks
"angerufen" in the worklist the SMTP server received, confirms in Chromium, and the next
adoption build (the weekly report's step) counts the alert as followed up."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from flows.calendar import is_business_day, previous_business_day
from flows.ingest.loader import load_drop
from flows.links import unsubscribe_links
from flows.notify.dispatch import dispatch
from flows.notify.journal import open_journal
from flows.notify.plan import plan_day
from flows.pipeline import build_adoption_marts
from flows.quality.gates import check_drop
from flows.settings import Settings, get_settings
from flows.transform import build_marts
from flows.warehouse import open_warehouse, set_run_date
from tests.drops import SAP, write_drop
from tests.smtp_server import RecordingSmtpServer
from tests.web.chromium import CHROMIUM, Browser
from tests.web.conftest import Service, free_port, start_service, stop_service

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium (apt-get install chromium; .ci/run does)"
)

ADVISORS = [["A1", "Anna Adler", "anna.adler@bank.example", "Filiale Köln", "koeln@bank.example"]]
CLIENTS = [
    ["C1", "Clara", "Eins", "clara.eins@example.com", "de", "A1", "ja"],
    ["C2", "Carl", "Zwei", "carl.zwei@example.com", "en", "A1", "ja"],
]
HOLDINGS = [["C1", SAP, 10, "1000.00"], ["C2", SAP, 5, "500.00"]]


def _days() -> tuple[date, date]:
    """The latest business day up to today (bank time) and the one before: a click made
    now falls in that alert's follow-up window."""
    day = datetime.now(ZoneInfo("Europe/Berlin")).date()
    while not is_business_day(day):
        day = previous_business_day(day)
    return previous_business_day(day), day


def _run_until_planned(settings: Settings, inbox: Path, day: date) -> None:
    with open_warehouse(settings.warehouse_path) as con:
        load = load_drop(con, inbox / day.isoformat(), day)
        set_run_date(con, day, settings.sla_business_days)
    check_drop(settings, load)
    build_marts(settings, day)
    with (
        open_warehouse(settings.warehouse_path) as con,
        open_journal(settings.journal_path) as journal,
    ):
        plan_day(
            con, journal, day, max_change_share=1.0, min_changed_isins=99,
            advisor_language="de", mail_domain="bank.example",
        )  # fmt: skip


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Service, RecordingSmtpServer]]:
    root = tmp_path_factory.mktemp("loop")
    before, day = _days()
    write_drop(
        root / "inbox",
        before,
        ratings=[[SAP, "SAP SE", "buy", f"{before} 07:00"]],
        holdings=HOLDINGS,
        clients=CLIENTS,
        advisors=ADVISORS,
    )
    write_drop(
        root / "inbox", day, ratings=[[SAP, "SAP SE", "sell", f"{day} 07:00"]], holdings=HOLDINGS
    )
    port = free_port()
    service = start_service(root / "home", port)
    with RecordingSmtpServer() as smtp, pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "VOTUM_HOME": str(service.home), "VOTUM_SMTP_HOST": smtp.host,
            "VOTUM_SMTP_PORT": str(smtp.port), "VOTUM_SMTP_SECURITY": "none",
            "VOTUM_UNSUBSCRIBE_URL": service.settings.unsubscribe_url,
        }.items():  # fmt: skip
            patch.setenv(name, value)
        settings = get_settings()
        _run_until_planned(settings, root / "inbox", before)
        _run_until_planned(settings, root / "inbox", day)
        # C2 objects through the link of the digest that is still pending in the ledger.
        link = unsubscribe_links(settings, "C2", day, "en").https
        answer = httpx.post(
            link,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 200
        dispatch(settings)
        try:
            yield service, smtp
        finally:
            stop_service(service)


def _received(smtp: RecordingSmtpServer, kind: str) -> list:
    return [m for m in smtp.messages if m.message["X-Votum-Kind"] == kind]


def test_an_objection_through_the_service_stops_the_pending_digest(
    world: tuple[Service, RecordingSmtpServer],
) -> None:
    _, smtp = world
    assert [m.rcpt_tos for m in _received(smtp, "client_digest")] == [["clara.eins@example.com"]]
    assert len(_received(smtp, "advisor_worklist")) == 1


def test_a_client_unsubscribes_in_chromium_from_the_received_digest(
    world: tuple[Service, RecordingSmtpServer], tmp_path: Path
) -> None:
    service, smtp = world
    (digest,) = _received(smtp, "client_digest")
    assert digest.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"<(http://[^>]+)>", str(digest.message["List-Unsubscribe"])).group(1)
    browser = Browser(tmp_path / "profile")
    try:
        page = browser.open(link)
        assert "Research-Informationen abbestellen" in page  # C1 reads German
        with open_journal(service.settings.journal_path) as journal:
            assert journal.client_opt_out("C1") is None  # opening the page records nothing
        done = browser.click("#confirm")
    finally:
        browser.close()
    assert "Sie sind abgemeldet" in done and "Wieder anmelden" in done
    with open_journal(service.settings.journal_path) as journal:
        assert journal.client_opt_out("C1")[1] == "one-click"


def test_an_advisor_click_in_the_received_worklist_counts_as_follow_up(
    world: tuple[Service, RecordingSmtpServer], tmp_path: Path
) -> None:
    service, smtp = world
    (worklist,) = _received(smtp, "advisor_worklist")
    body = worklist.message.get_body(preferencelist=("html",)).get_content()
    links = [
        html.unescape(href) for href in re.findall(r'<a href="([^"]+)"[^>]*>angerufen</a>', body)
    ]
    (called,) = [href for href in links if "client=C2" in href]
    text = worklist.message.get_body(preferencelist=("plain",)).get_content()
    assert called in text  # the text part carries the same link
    browser = Browser(tmp_path / "profile")
    try:
        page = browser.open(called)
        assert "Aktivität erfassen: angerufen" in page
        done = browser.click("#confirm")
    finally:
        browser.close()
    assert "Erfasst: angerufen" in done
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOTUM_HOME", str(service.home))
        build_adoption_marts.fn()
        with open_warehouse(get_settings().warehouse_path, read_only=True) as con:
            alerts = dict(
                con.execute(
                    "SELECT client_id, follow_up_status FROM fct_alerts WHERE business_day = (SELECT max(business_day) FROM fct_alerts)"
                ).fetchall()
            )
            logged = con.execute(
                "SELECT sum(activities_logged) FROM mart_adoption_weekly WHERE advisor_id = 'A1'"
            ).fetchone()[0]
    assert alerts == {"C1": "open", "C2": "followed_up"}
    assert logged == 1


def test_the_service_log_holds_no_client_data(world: tuple[Service, RecordingSmtpServer]) -> None:
    service, _ = world
    log = service.log_text()
    assert "opted-out" in log
    for personal in ("Clara", "Carl", "example.com", "client=", "token=", "v1."):
        assert personal not in log, personal
