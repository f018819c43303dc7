"""Consent at the moment of sending: a client digest that waited (the mail server was
down) is not sent when the client has since opted out or changed address, or objected
through their own link during the batch; an email that waited too long expires."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from flows.notify.dispatch import dispatch
from flows.notify.journal import Journal
from flows.notify.ledger import (
    ADDRESS_CHANGED,
    OPTED_OUT_BY_LINK,
    OPTED_OUT_SINCE,
    is_overdue,
)
from flows.notify.transport import SmtpError
from flows.runs.status import collect_status
from flows.settings import Settings
from flows.warehouse import open_warehouse
from tests.notify.conftest import build_wednesday
from tests.notify.scenario import TUE, transport_acting_after_each_send
from tests.notify.test_dispatch import by_recipient, plan, text_of
from tests.smtp_server import RecordingSmtpServer


def statuses(settings: Settings) -> dict[str, tuple[str, str | None]]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT message_key, status, status_reason FROM ops.delivery_ledger"
        ).fetchall()
    return {str(k): (str(s), r) for k, s, r in rows}


def test_a_later_drop_withdraws_a_waiting_digest(
    mail_settings: Settings, smtp_server: RecordingSmtpServer, built_template: Path
) -> None:
    plan(mail_settings, TUE)
    smtp_server.refuse_connections(1)  # the mail server is down on Tuesday
    with pytest.raises(SmtpError):
        dispatch(mail_settings)
    # Wednesday's drop: C1 opts out, C2's address changes.
    build_wednesday(mail_settings, built_template)
    report = dispatch(mail_settings)
    assert (report.sent, report.withdrawn) == (3, 2)  # C7's digest and the two worklists
    ledger = statuses(mail_settings)
    assert ledger["client_digest:2026-03-03:C1"] == ("withdrawn", OPTED_OUT_SINCE)
    assert ledger["client_digest:2026-03-03:C2"] == ("withdrawn", ADDRESS_CHANGED)
    received = by_recipient(smtp_server.messages)
    assert not {"juergen.mueller@example.com", "jane.smith@example.org"} & set(received)
    assert "jane.smith@newmail.example" not in received  # not redirected either
    # The advisor calls those two instead: the worklist does not say "emailed".
    worklist = text_of(received["petra.schmidt@bank.example"])
    assert worklist.count("E-Mail versendet") == 0


def test_an_objection_by_link_during_the_batch_withdraws_that_clients_email(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    # The web service of another process records C7's objection while C1's digest goes.
    objector = Journal(mail_settings.journal_path)

    objecting = transport_acting_after_each_send(
        lambda: objector.opt_out_client("C7", source="web")
    )

    report = dispatch(mail_settings, transport_factory=objecting)
    objector.close()
    assert (report.sent, report.withdrawn) == (4, 1)
    assert statuses(mail_settings)["client_digest:2026-03-03:C7"] == (
        "withdrawn",
        OPTED_OUT_BY_LINK,
    )
    assert "hostile@example.com" not in by_recipient(smtp_server.messages)


def test_an_email_waiting_beyond_the_limit_expires_instead_of_going_late(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    with open_warehouse(mail_settings.warehouse_path) as con:
        # Planned on Tuesday itself (the scenario's day is long past): it waited since.
        con.execute("UPDATE ops.delivery_ledger SET planned_at = TIMESTAMP '2026-03-03 08:00'")
    report = dispatch(mail_settings)
    assert (report.sent, report.expired) == (0, 5)
    assert smtp_server.messages == []
    assert {s for s, _ in statuses(mail_settings).values()} == {"expired"}
    shown = collect_status(mail_settings).not_sent_emails
    assert sorted((e.kind, e.status, e.count) for e in shown) == [
        ("advisor_worklist", "expired", 2),
        ("client_digest", "expired", 3),
    ]


@pytest.mark.parametrize(
    ("today", "released", "overdue"),
    [
        (date(2026, 4, 7), None, False),  # Good Friday and Easter Monday do not count
        (date(2026, 4, 8), None, False),  # two business days after Thursday: still in time
        (date(2026, 4, 9), None, True),  # the third: expired
        (date(2026, 4, 9), date(2026, 4, 8), False),  # released by a person on Wednesday
    ],
)
def test_the_age_counts_business_days_from_the_later_of_day_plan_and_release(
    today: date, released: date | None, overdue: bool
) -> None:
    thursday = date(2026, 4, 2)
    assert is_overdue(thursday, thursday, released, today, 2) is overdue
