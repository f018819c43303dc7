"""Planning and dispatching the scenario's emails to a real SMTP server (aiosmtpd on
localhost), parsing what it received."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from flows.notify.dispatch import dispatch
from flows.notify.journal import Journal, open_journal
from flows.notify.ledger import release_day
from flows.notify.plan import PlanResult, plan_day
from flows.notify.preview import write_previews
from flows.notify.transport import SmtpLoginError, SmtpTlsError
from flows.settings import Settings, get_settings
from flows.warehouse import open_warehouse
from tests.notify.scenario import (
    EXPECTED_TUESDAY_DIGESTS,
    HOSTILE_FIRST_NAME,
    TUE,
    WED,
    transport_acting_after_each_send,
)
from tests.smtp_server import ReceivedMessage, RecordingSmtpServer, SelfSignedTls


def plan(settings: Settings, day: date) -> PlanResult:
    with (
        open_warehouse(settings.warehouse_path) as con,
        open_journal(settings.journal_path) as journal,
    ):
        return plan_day(
            con,
            journal,
            day,
            max_change_share=settings.max_change_share,
            min_changed_isins=settings.min_changed_isins,
            advisor_language=settings.advisor_language,
            mail_domain=settings.mail_domain,
        )


def ledger(settings: Settings) -> dict[str, tuple[str, str | None, int]]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT message_key, status, last_reply, attempts FROM ops.delivery_ledger"
        ).fetchall()
    return {str(k): (str(s), r, int(a)) for k, s, r, a in rows}


def by_recipient(messages: list[ReceivedMessage]) -> dict[str, ReceivedMessage]:
    found: dict[str, ReceivedMessage] = {}
    for message in messages:
        assert len(message.rcpt_tos) == 1, message.rcpt_tos
        assert message.rcpt_tos[0] not in found, f"two emails to {message.rcpt_tos[0]}"
        found[message.rcpt_tos[0]] = message
    return found


def text_of(message: ReceivedMessage) -> str:
    part = message.message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: ReceivedMessage) -> str:
    part = message.message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def test_one_digest_per_eligible_client_and_a_worklist_per_advisor(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    result = plan(mail_settings, TUE)
    assert (result.digests, result.worklists, result.held_reason) == (3, 2, None)
    report = dispatch(mail_settings)
    assert (report.sent, report.failed, report.suppressed, report.left_pending) == (5, 0, 0, 0)

    received = by_recipient(smtp_server.messages)
    digests = {k: v for k, v in received.items() if v.message["X-Votum-Kind"] == "client_digest"}
    # Not to the opted-out client (C3), the invalid address (C4), the one who sold (C5).
    assert set(digests) == EXPECTED_TUESDAY_DIGESTS

    german = digests["juergen.mueller@example.com"]
    assert german.message["Subject"] == "Research-Information: SAP SE jetzt „Verkaufen“"
    assert german.message["Content-Language"] == "de"
    body = text_of(german)
    assert "SAP SE (ISIN DE0007164600)" in body
    assert "Kaufen → Verkaufen" in body
    assert "1.000,00\xa0€" in body and "180,00\xa0€" in body
    assert "Petra Schmidt, petra.schmidt@bank.example" in body
    assert "Siemens" not in body  # unchanged holdings are not listed
    assert "Jane" not in body and "jane.smith" not in html_of(german)  # no other client

    english = text_of(digests["jane.smith@example.org"])
    assert "Buy → Sell" in english and "€300.00" in english and "Dear Jane Smith" in english

    worklist = received["petra.schmidt@bank.example"]
    assert worklist.message["X-Votum-Kind"] == "advisor_worklist"
    lines = [line for line in text_of(worklist).splitlines() if " C" in line or "(!)" in line]
    listing = text_of(worklist)
    # Largest position first: C1 1,000 > C2 300 > C4 200 > C3 100.
    # "(C1)" as the line shows the client, not "C1" anywhere: the action links' tokens
    # (base64) can contain "C3" by chance.
    positions = [listing.index(f"({name})") for name in ("C1", "C2", "C4", "C3")]
    assert positions == sorted(positions), lines
    assert "keine gültige E-Mail-Adresse" in listing and "Opt-out" in listing
    assert listing.count("E-Mail versendet") == 2


def test_running_the_day_again_sends_nothing(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    dispatch(mail_settings)
    first = len(smtp_server.messages)
    again = plan(mail_settings, TUE)
    assert again.new_rows == 0
    report = dispatch(mail_settings)
    assert report.sent == 0 and len(smtp_server.messages) == first == 5


def test_transient_failures_are_retried_and_nothing_goes_twice(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    smtp_server.fail_next(2, 451, "Try again later")
    smtp_server.fail_next(1, 421, "Too busy, closing")  # the server hangs up after 421
    report = dispatch(mail_settings)
    assert (report.sent, report.left_pending) == (5, 0)
    ids = [m.message_id for m in smtp_server.messages]
    assert len(ids) == len(set(ids)) == 5
    assert smtp_server.attempts == 8
    assert sum(attempts for _, _, attempts in ledger(mail_settings).values()) == 8


def test_persisting_transient_failure_leaves_messages_pending_for_the_next_run(
    mail_settings: Settings, smtp_server: RecordingSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOTUM_SMTP_RETRY_ATTEMPTS", "2")
    settings = get_settings()
    plan(settings, TUE)
    smtp_server.fail_next(100, 451, "Greylisted")
    report = dispatch(settings)
    assert report.sent == 0 and report.left_pending == 5
    assert {s for s, _, _ in ledger(settings).values()} == {"pending"}
    smtp_server.reset()
    assert dispatch(settings).sent == 5
    assert len(smtp_server.messages) == 5


def test_permanent_rejection_is_recorded_and_the_rest_goes(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    smtp_server.reject_recipient("jane.smith@example.org", 550, "No such user here")
    report = dispatch(mail_settings)
    assert (report.sent, report.failed) == (4, 1)
    status, reply, attempts = ledger(mail_settings)["client_digest:2026-03-03:C2"]
    assert (status, attempts) == ("failed", 1)
    assert reply == "550 No such user here"
    assert "jane.smith@example.org" not in by_recipient(smtp_server.messages)
    # Never retried blindly: a second dispatch does not try it again (the refusal came at
    # RCPT, so the server saw four DATA transactions in all).
    assert dispatch(mail_settings).sent == 0 and smtp_server.attempts == 4
    assert ledger(mail_settings)["client_digest:2026-03-03:C2"][2] == 1


def test_hostile_names_are_escaped_and_cannot_add_recipients(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    dispatch(mail_settings)
    received = by_recipient(smtp_server.messages)
    assert all(len(m.rcpt_tos) == 1 for m in smtp_server.messages)
    assert not any("attacker" in r for m in smtp_server.messages for r in m.rcpt_tos)
    hostile = received["hostile@example.com"]
    raw_headers = hostile.data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    # The name stays inside the To header's display name: no header line of its own.
    header_names = [
        line.split(":", 1)[0].lower()
        for line in raw_headers.split("\r\n")
        if line and not line[0].isspace()
    ]
    assert "bcc" not in header_names and header_names.count("to") == 1
    assert hostile.message.get_all("Bcc") is None
    to = str(hostile.message["To"])
    assert "\n" not in to and "\r" not in to and "hostile@example.com" in to
    html = html_of(hostile)
    assert HOSTILE_FIRST_NAME not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert HOSTILE_FIRST_NAME in text_of(hostile)  # plain text keeps it readable
    worklist_html = html_of(received["max.mustermann@bank.example"])
    assert "<script>" not in worklist_html and "&lt;script&gt;" in worklist_html


def test_message_ids_are_deterministic_and_never_shared(
    mail_settings_wed: Settings, smtp_server: RecordingSmtpServer
) -> None:
    mail_settings = mail_settings_wed
    plan(mail_settings, TUE)
    plan(mail_settings, WED)
    with open_warehouse(mail_settings.warehouse_path, read_only=True) as con:
        before = dict(
            con.execute("SELECT message_key, message_id FROM ops.delivery_ledger").fetchall()
        )
    plan(mail_settings, TUE)  # planned again: the same ids
    dispatch(mail_settings)
    with open_warehouse(mail_settings.warehouse_path, read_only=True) as con:
        after = dict(
            con.execute("SELECT message_key, message_id FROM ops.delivery_ledger").fetchall()
        )
    assert before == after
    assert len(set(after.values())) == len(after)  # C1 on Tuesday and the worklists differ
    assert {m.message_id for m in smtp_server.messages} == {
        after[k] for k, (s, _, _) in ledger(mail_settings).items() if s == "sent"
    }


def test_a_suppression_after_planning_stops_that_email(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    with open_journal(mail_settings.journal_path) as journal:
        journal.suppress("Jane.Smith@Example.org", reason="objection", source="cli")
    report = dispatch(mail_settings)
    assert report.suppressed == 1
    assert "jane.smith@example.org" not in by_recipient(smtp_server.messages)
    assert ledger(mail_settings)["client_digest:2026-03-03:C2"][0] == "suppressed"
    worklist = text_of(by_recipient(smtp_server.messages)["petra.schmidt@bank.example"])
    assert "gesperrt" in worklist


def test_a_suppression_arriving_during_the_batch_stops_the_rest(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    # Another process (`votum suppress`) objects while the first message is being sent.
    objector = Journal(mail_settings.journal_path)

    def objections() -> None:
        objector.suppress("jane.smith@example.org", reason="objection", source="cli")
        objector.suppress("hostile@example.com", reason="objection", source="cli")

    objecting = transport_acting_after_each_send(objections)

    report = dispatch(mail_settings, transport_factory=objecting)
    objector.close()
    digests = [m for m in smtp_server.messages if m.message["X-Votum-Kind"] == "client_digest"]
    # Digests go in key order (C1, C2, C7): only the first left before the objections.
    assert [m.rcpt_tos for m in digests] == [["juergen.mueller@example.com"]]
    assert report.suppressed == 2


def test_circuit_breaker_holds_the_day_and_release_sends_it_once(
    mail_settings: Settings, smtp_server: RecordingSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three of four rated ISINs change on Tuesday: implausible with these thresholds.
    monkeypatch.setenv("VOTUM_MAX_CHANGE_SHARE", "0.5")
    monkeypatch.setenv("VOTUM_MIN_CHANGED_ISINS", "2")
    settings = get_settings()
    result = plan(settings, TUE)
    assert result.held_reason is not None and "3 ISINs changed" in result.held_reason
    assert dispatch(settings).sent == 0
    assert smtp_server.messages == []
    assert {s for s, _, _ in ledger(settings).values()} == {"held"}
    plan(settings, TUE)  # a rerun keeps it held
    assert dispatch(settings).sent == 0
    with open_warehouse(settings.warehouse_path) as con:
        assert release_day(con, TUE, "checked with research") == 5
    assert dispatch(settings).sent == 5
    plan(settings, TUE)  # released: a rerun does not hold it again
    assert dispatch(settings).sent == 0
    assert len(smtp_server.messages) == 5


def test_preview_writes_files_and_opens_no_connection(
    mail_settings: Settings, smtp_server: RecordingSmtpServer, tmp_path: Path
) -> None:
    import email
    import email.policy

    plan(mail_settings, TUE)
    written = write_previews(mail_settings, TUE, tmp_path / "preview")
    assert len(written) == 5
    parsed = email.message_from_bytes(written[0].read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] and parsed.get_body(preferencelist=("plain",)) is not None
    assert smtp_server.attempts == 0 and smtp_server.messages == []


def test_a_refused_login_stops_before_anything_is_claimed(
    mail_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RecordingSmtpServer(auth=("votum", "right-password")) as server:
        monkeypatch.setenv("VOTUM_SMTP_PORT", str(server.port))
        monkeypatch.setenv("VOTUM_SMTP_USER", "votum")
        monkeypatch.setenv("VOTUM_SMTP_PASSWORD", "wrong-password")
        settings = get_settings()
        plan(settings, TUE)
        with pytest.raises(SmtpLoginError) as raised:
            dispatch(settings)
        assert "refused the login of 'votum'" in str(raised.value)
        assert "wrong-password" not in str(raised.value)
        assert {(s, a) for s, _, a in ledger(settings).values()} == {("pending", 0)}
        monkeypatch.setenv("VOTUM_SMTP_PASSWORD", "right-password")
        assert dispatch(get_settings()).sent == 5
        assert {m.auth_user for m in server.messages} == {"votum"}


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_certificates_are_verified(
    mail_settings: Settings, monkeypatch: pytest.MonkeyPatch, security: str
) -> None:
    tls = SelfSignedTls()
    with RecordingSmtpServer(
        tls=tls, require_starttls=security == "starttls", implicit_tls=security == "ssl"
    ) as server:
        monkeypatch.setenv("VOTUM_SMTP_HOST", "localhost")
        monkeypatch.setenv("VOTUM_SMTP_PORT", str(server.port))
        monkeypatch.setenv("VOTUM_SMTP_SECURITY", security)
        settings = get_settings()
        plan(settings, TUE)
        with pytest.raises(SmtpTlsError, match="not trusted"):
            dispatch(settings)
        assert server.messages == []
        monkeypatch.setenv("VOTUM_SMTP_CA_FILE", str(tls.cert_path))
        assert dispatch(get_settings()).sent == 5
        assert all(m.tls for m in server.messages)
    tls.cleanup()


def test_a_pool_of_connections_sends_each_message_once(
    mail_settings: Settings, smtp_server: RecordingSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOTUM_SMTP_POOL_SIZE", "3")
    monkeypatch.setenv("VOTUM_DISPATCH_BATCH_SIZE", "2")
    settings = get_settings()
    plan(settings, TUE)
    report = dispatch(settings)
    ids = [m.message_id for m in smtp_server.messages]
    assert report.sent == len(ids) == len(set(ids)) == 5


@pytest.mark.parametrize("pipelining", [True, False])
def test_with_and_without_pipelining_refusals_are_read_right(
    mail_settings: Settings, monkeypatch: pytest.MonkeyPatch, pipelining: bool
) -> None:
    with RecordingSmtpServer(pipelining=pipelining) as server:
        monkeypatch.setenv("VOTUM_SMTP_PORT", str(server.port))
        settings = get_settings()
        plan(settings, TUE)
        server.fail_next(1, 451, "Greylisted", stage="rcpt")
        server.fail_next(1, 452, "Too many messages", stage="mail")
        server.reject_recipient("jane.smith@example.org", 550, "No such user here")
        report = dispatch(settings)
        assert (report.sent, report.failed, report.left_pending) == (4, 1, 0)
        assert ledger(settings)["client_digest:2026-03-03:C2"][1] == "550 No such user here"
        ids = [m.message_id for m in server.messages]
        assert len(ids) == len(set(ids)) == 4
