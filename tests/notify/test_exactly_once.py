"""Exactly once when the outcome is unknown, against a real SMTP server taught each
misbehaviour: a reply that never comes after the end of the message is ``uncertain``,
never retried in the same dispatch and sent at most once more by a later one, with the
same Message-ID; a connection lost before the end is an ordinary transient failure."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from flows.notify.dispatch import dispatch
from flows.notify.sending import retry_delay
from flows.runs.status import collect_status
from flows.settings import Settings, get_settings
from flows.warehouse import open_warehouse
from tests.notify.scenario import TUE
from tests.notify.test_dispatch import plan
from tests.smtp_server import RecordingSmtpServer

C1_DIGEST = "client_digest:2026-03-03:C1"  # the first message of Tuesday (key order)


def rows(settings: Settings) -> dict[str, tuple[str, int, int, str]]:
    """message_key -> (status, attempts, uncertain_sends, message_id)."""
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        found = con.execute(
            "SELECT message_key, status, attempts, uncertain_sends, message_id "
            "FROM ops.delivery_ledger"
        ).fetchall()
    return {str(k): (str(s), int(a), int(u), str(m)) for k, s, a, u, m in found}


def copies(server: RecordingSmtpServer) -> Counter[str | None]:
    return Counter(m.message_id for m in server.messages)


@pytest.fixture
def quick_timeout(monkeypatch: pytest.MonkeyPatch, mail_settings: Settings) -> Settings:
    monkeypatch.setenv("VOTUM_SMTP_TIMEOUT_SECONDS", "1")
    return get_settings()


def test_no_reply_past_the_timeout_is_uncertain_and_resent_once_later(
    quick_timeout: Settings, smtp_server: RecordingSmtpServer
) -> None:
    settings = quick_timeout
    plan(settings, TUE)
    smtp_server.accept_then_stall(1, seconds=3)  # taken, the reply comes too late
    report = dispatch(settings)
    assert (report.sent, report.uncertain, report.left_pending) == (4, 1, 0)
    message_id = rows(settings)[C1_DIGEST][3]
    assert rows(settings)[C1_DIGEST][:3] == ("uncertain", 1, 1)
    # Taken once, and not sent again in the same dispatch (today's code sent 4 copies).
    assert copies(smtp_server)[message_id] == 1 and len(smtp_server.messages) == 5

    again = dispatch(settings)  # a later dispatch: once more, with the same Message-ID
    assert (again.sent, again.uncertain) == (1, 0)
    assert copies(smtp_server)[message_id] == 2
    assert rows(settings)[C1_DIGEST][:3] == ("sent", 2, 1)
    assert dispatch(settings).sent == 0 and len(smtp_server.messages) == 6


def test_a_connection_dropped_after_the_final_dot_is_resent_at_most_once(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    smtp_server.accept_then_drop(1)
    assert dispatch(mail_settings).uncertain == 1
    smtp_server.accept_then_drop(1)  # the resend's outcome is unknown too: final
    assert dispatch(mail_settings).uncertain == 1
    assert dispatch(mail_settings).sent == 0
    status, _, uncertain_sends, message_id = rows(mail_settings)[C1_DIGEST]
    assert (status, uncertain_sends) == ("uncertain", 2)
    assert copies(smtp_server)[message_id] == 2  # never a third copy
    assert sorted(copies(smtp_server).values()) == [1, 1, 1, 1, 2]


def test_with_resend_never_an_uncertain_email_stays_uncertain(
    mail_settings: Settings, smtp_server: RecordingSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOTUM_RESEND_UNCERTAIN", "never")
    settings = get_settings()
    plan(settings, TUE)
    smtp_server.accept_then_drop(1)
    assert dispatch(settings).uncertain == 1
    assert dispatch(settings).sent == 0
    assert rows(settings)[C1_DIGEST][0] == "uncertain"
    assert len(smtp_server.messages) == 5
    # `votum status` names it by its ledger key, never by address.
    shown = collect_status(settings).uncertain_emails
    assert [(e.message_key, e.resend_due) for e in shown] == [(C1_DIGEST, False)]
    assert "@" not in json.dumps(collect_status(settings).as_json()["uncertain_emails"])


@pytest.mark.parametrize("pipelining", [True, False])
def test_a_connection_dropped_mid_data_is_retried_and_never_recorded_as_sent(
    mail_settings: Settings, monkeypatch: pytest.MonkeyPatch, pipelining: bool
) -> None:
    with RecordingSmtpServer(pipelining=pipelining) as server:
        monkeypatch.setenv("VOTUM_SMTP_PORT", str(server.port))
        settings = get_settings()
        plan(settings, TUE)
        server.drop_mid_data(1)  # 354, then the server hangs up before the end
        report = dispatch(settings)
        assert (report.sent, report.uncertain, report.left_pending) == (5, 0, 0)
        assert rows(settings)[C1_DIGEST][:3] == ("sent", 2, 0)
        assert sorted(copies(server).values()) == [1, 1, 1, 1, 1]


def test_a_refused_reconnect_is_retried_like_a_failed_send(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    smtp_server.fail_next(1, 421, "Shutting down")  # closes the connection
    # The dispatch's own connection goes through; the next two (reconnects) are refused.
    smtp_server.refuse_connections(2, after=1)
    report = dispatch(mail_settings)  # today: exit 7 ("nothing was claimed or sent")
    assert (report.sent, report.left_pending) == (5, 0)
    assert smtp_server.refused == 2
    assert rows(mail_settings)[C1_DIGEST][:2] == ("sent", 4)
    assert sorted(copies(smtp_server).values()) == [1, 1, 1, 1, 1]


def test_a_server_that_stays_down_leaves_the_rest_pending(
    mail_settings: Settings, smtp_server: RecordingSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOTUM_SMTP_RETRY_ATTEMPTS", "2")
    settings = get_settings()
    plan(settings, TUE)
    smtp_server.fail_next(1, 421, "Shutting down")
    smtp_server.refuse_connections(1000, after=1)
    report = dispatch(settings)
    assert (report.sent, report.left_pending) == (0, 5)
    assert {status for status, *_ in rows(settings).values()} == {"pending"}
    smtp_server.reset()
    assert dispatch(settings).sent == 5


def test_the_retry_backoff_doubles_up_to_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOTUM_SMTP_RETRY_BACKOFF_SECONDS", "1")
    monkeypatch.setenv("VOTUM_SMTP_RETRY_BACKOFF_MAX_SECONDS", "60")
    settings = get_settings()
    assert [retry_delay(settings, n) for n in (1, 2, 3, 6, 7, 20)] == [1, 2, 4, 32, 60, 60]
