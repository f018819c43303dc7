"""A small file with one faulty row: the row is quarantined and the day goes on (real
daily flow, real DuckDB file, real SMTP server). The run summary, the operations alert
and `votum status` say how many rows were quarantined and why, never the row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows.demo.drops.isins import make_isin
from flows.pipeline import daily_run
from flows.runs.day_summary import format_summary
from flows.runs.parameters import DailyRunParameters
from flows.runs.status import collect_status
from flows.settings import get_settings
from tests.drops import SAP, write_drop
from tests.smtp_server import RecordingSmtpServer

MONDAY, TUESDAY = date(2026, 3, 2), date(2026, 3, 3)
OPS = "ops@bank.example"
CLIENT = "anna.ahn@example.com"
MALFORMED_NAME = "Kaputt Holding Zwölf"  # the faulty row's value: never in an alert
MALFORMED_REASON = "malformed ISIN in isin (two letters, nine letters or digits, one digit)"
OTHERS = [make_isin(f"DE000B{i:05d}") for i in range(8)]


@pytest.mark.usefixtures("prefect_server")
def test_one_malformed_row_of_ten_is_quarantined_and_the_sell_reaches_the_client(
    votum_home: Path,
    tmp_path: Path,
    mail_to: RecordingSmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOTUM_OPS_ALERT_TO", OPS)
    inbox = tmp_path / "inbox"
    others = [[isin, f"Security {i}", "neutral", "2026-03-02"] for i, isin in enumerate(OTHERS)]
    write_drop(
        inbox,
        MONDAY,
        ratings=[[SAP, "SAP SE", "buy", "2026-03-02"], *others],
        holdings=[["C1", SAP, 10, "1500.00"]],
        clients=[["C1", "Anna", "Ahn", CLIENT, "de", "A1", "ja"]],
        advisors=[["A1", "Petra Schmidt", "petra@bank.example", "Köln", "boss@bank.example"]],
    )
    # Ten rows: the sell downgrade, eight unchanged ratings, one malformed ISIN (line 11).
    # 1 of 10 is more than VOTUM_MAX_QUARANTINE_SHARE (5%), but fewer than
    # VOTUM_MIN_QUARANTINE_ROWS (10) rows: not a file fault.
    write_drop(
        inbox,
        TUESDAY,
        ratings=[
            [SAP, "SAP SE", "Verkaufen", "2026-03-03 07:00"],
            *[[isin, name, rating, "2026-03-03"] for isin, name, rating, _ in others],
            ["DE00071646", MALFORMED_NAME, "sell", "2026-03-03"],
        ],
        holdings=[["C1", SAP, 10, "1400.00"]],
    )
    daily_run(DailyRunParameters(run_date=MONDAY, inbox=inbox))
    mail_to.messages.clear()

    summary = daily_run(DailyRunParameters(run_date=TUESDAY, inbox=inbox))

    assert summary is not None and summary.held_reason is None
    assert summary.downgrades == 1 and summary.rows_loaded["ratings"] == 10
    digests = [m for m in mail_to.messages if m.message["X-Votum-Kind"] == "client_digest"]
    assert [m.rcpt_tos for m in digests] == [[CLIENT]]
    assert "SAP SE" in digests[0].message.get_body(("plain",)).get_content()

    # The bad row waits in the quarantine with its line and reason.
    settings = get_settings()
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute(
            "SELECT drop_date, file_name, line, reasons FROM ops.quarantine"
        ).fetchall() == [(TUESDAY, "ratings.csv", 11, [MALFORMED_REASON])]

    # The run summary names the count and the reason.
    assert summary.quarantined == {"ratings": 1}
    assert summary.quarantine_reasons == {"ratings": {MALFORMED_REASON: 1}}
    assert f"quarantined (ops.quarantine): ratings 1 row ({MALFORMED_REASON}: 1)" in format_summary(
        summary
    )

    # Operations hear of it, once, by count and reason: never the row's values.
    alerts = [m.message for m in mail_to.messages if m.rcpt_tos == [OPS]]
    assert [str(a["Subject"]) for a in alerts] == [
        "[votum] daily-run 2026-03-03: SUCCEEDED, 1 row quarantined"
    ]
    body = alerts[0].get_body(("plain",)).get_content()
    assert f"Quarantined, ratings (1 row): {MALFORMED_REASON}: 1" in body
    assert "ops.quarantine" in body
    assert MALFORMED_NAME not in body and "DE00071646" not in body

    # votum status: the drop, the file, the count and why.
    status = collect_status(settings)
    assert [(q.drop_date, q.file_kind, q.rows, q.reasons) for q in status.quarantined] == [
        (TUESDAY, "ratings", 1, {MALFORMED_REASON: 1})
    ]
