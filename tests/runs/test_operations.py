"""Operations: the run ledger, the operations alert, refused dates and `votum status`,
on real flow runs against a real DuckDB file and a real SMTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.errors import MissingColumnError, RunRefusedError
from flows.pipeline import daily_run, release_run
from flows.runs.parameters import DailyRunParameters, today_in_berlin
from flows.runs.status import collect_status
from flows.settings import get_settings
from tests.drops import HOLDINGS, SAP, SIEMENS, write_csv, write_drop
from tests.smtp_server import RecordingSmtpServer

MONDAY, TUESDAY, WEDNESDAY = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
OPS = "ops@bank.example"
VOTUM = str(Path(sys.executable).parent / "votum")


@pytest.fixture
def operations(
    votum_home: Path,
    mail_to: RecordingSmtpServer,
    prefect_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> RecordingSmtpServer:
    monkeypatch.setenv("VOTUM_OPS_ALERT_TO", OPS)
    # Trip the circuit breaker with a single change (default: at least 20 ISINs).
    monkeypatch.setenv("VOTUM_MIN_CHANGED_ISINS", "1")
    return mail_to


def _ledger(home: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT flow, run_date, outcome, stage, reason, counts FROM ops.run_ledger "
            "ORDER BY started_at, run_id"
        ).fetchall()


def _alerts(server: RecordingSmtpServer) -> list[str]:
    return [
        m.message.get_body(("plain",)).get_content() for m in server.messages if m.rcpt_tos == [OPS]
    ]


def test_runs_are_recorded_held_and_failed_runs_alert_operations_and_old_days_are_refused(
    operations: RecordingSmtpServer, votum_home: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    write_drop(
        inbox,
        MONDAY,
        ratings=[
            [SAP, "SAP SE", "Kaufen", "2026-03-02"],
            [SIEMENS, "Siemens AG", "Halten", "2026-03-02"],
        ],
        holdings=[["C1", SAP, 3, 300]],
        clients=[["C1", "Anna", "Ahn", "anna@example.com", "de", "A1", "ja"]],
        advisors=[
            ["A1", "Petra Schmidt", "petra@bank.example", "Filiale Köln", "boss@bank.example"]
        ],
    )
    write_drop(
        inbox,
        TUESDAY,
        ratings=[[SAP, "SAP SE", "sell", "2026-03-03 07:00"]],
        holdings=[["C1", SAP, 3, 290]],
    )
    # Wednesday's holdings lack a required column: a file fault in ingest.
    write_csv(
        inbox / WEDNESDAY.isoformat() / "ratings.csv",
        ["isin", "security_name", "rating", "rated_at"],
        [],
    )
    write_csv(
        inbox / WEDNESDAY.isoformat() / "holdings.csv",
        [c for c in HOLDINGS if c != "quantity"],
        [["C1", SAP, 290, "2026-03-04"]],
    )

    monday = daily_run(DailyRunParameters(run_date=MONDAY, inbox=inbox))
    assert monday is not None and monday.held_reason is None
    tuesday = daily_run(DailyRunParameters(run_date=TUESDAY, inbox=inbox))
    assert tuesday is not None and tuesday.held_reason and tuesday.emails_sent == 0
    with pytest.raises(MissingColumnError):
        daily_run(DailyRunParameters(run_date=WEDNESDAY, inbox=inbox))

    rows = _ledger(votum_home)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("daily-run", MONDAY, "succeeded", "summary"),
        ("daily-run", TUESDAY, "held", "plan"),
        ("daily-run", WEDNESDAY, "failed", "ingest"),
    ]
    counts = [json.loads(str(r[5])) for r in rows]
    assert counts[0]["rows_loaded_holdings"] == 1 and counts[0]["emails_sent"] == 0
    assert counts[1]["rating_changes"] == 1 and counts[1]["emails_held"] == 2
    assert "circuit breaker" in str(rows[1][4])
    assert "holdings.csv: required column 'quantity' missing" in str(rows[2][4])

    # Only the held and the failed run alerted, once each, naming stage and reason.
    alerts = _alerts(operations)
    assert len(alerts) == 2
    assert "daily-run 2026-03-03 ended held at stage plan" in alerts[0]
    assert "votum release 2026-03-03" in alerts[0]
    assert "daily-run 2026-03-04 ended failed at stage ingest" in alerts[1]
    assert "holdings.csv: required column 'quantity' missing" in alerts[1]
    subjects = [str(m.message["Subject"]) for m in operations.messages if m.rcpt_tos == [OPS]]
    assert subjects == [
        "[votum] daily-run 2026-03-03: HELD at stage plan",
        "[votum] daily-run 2026-03-04: FAILED at stage ingest",
    ]
    # Nothing of the held day reached the client or the advisor.
    assert [m.rcpt_tos for m in operations.messages if m.rcpt_tos != [OPS]] == []

    status = collect_status(get_settings())
    assert [r.outcome for r in status.runs] == ["failed", "held", "succeeded"]
    assert [(d.business_day, d.emails_held) for d in status.held_days] == [(TUESDAY, 2)]
    assert status.running is None and {r.deployment for r in status.next_runs} == {
        "votum-daily-run",
        "votum-intraday",
        "votum-weekly-report",
    }
    as_json = json.dumps(status.as_json())
    assert "anna@example.com" not in as_json and "Anna" not in as_json

    # An older day is refused unless backfilled, a weekend or a day after today unless
    # forced. Each refusal is a run of its own: recorded as refused and alerted.
    with pytest.raises(RunRefusedError, match="before the last processed day 2026-03-03"):
        daily_run(DailyRunParameters(run_date=MONDAY, inbox=inbox))
    with pytest.raises(RunRefusedError, match="2026-03-07 is a Saturday"):
        daily_run(DailyRunParameters(run_date=date(2026, 3, 7), inbox=inbox))
    next_week = today_in_berlin() + timedelta(days=7)
    with pytest.raises(RunRefusedError, match=f"{next_week} is after today"):
        daily_run(DailyRunParameters(run_date=next_week, inbox=inbox))
    backfilled = daily_run(DailyRunParameters(run_date=MONDAY, inbox=inbox, backfill=True))
    assert backfilled is not None and backfilled.backfill and backfilled.emails_sent == 0
    rows = _ledger(votum_home)
    assert [(r[2], r[3]) for r in rows[3:]] == [
        ("refused", "check_date"),
        ("refused", "check_date"),
        ("refused", "check_date"),
        ("succeeded", "summary"),
    ]
    assert "run it with --backfill" in str(rows[3][4]) and "is after today" in str(rows[5][4])
    alerts = _alerts(operations)
    assert len(alerts) == 5
    assert "daily-run 2026-03-02 ended refused at stage check_date" in alerts[2]
    assert f"daily-run {next_week} ended refused" in alerts[4] and "--force" in alerts[4]

    # Each run left its summary as a Prefect artifact, the latest under the flow's key.
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["votum-daily-run"]))
        )
    markdown = [str(a.data) for a in artifacts]
    assert any("daily-run 2026-03-03: held" in m and "- stage: plan" in m for m in markdown)
    assert any("2026-03-04: failed" in m and "'quantity' missing" in m for m in markdown)

    # `votum status` as a user runs it: a table, and the same as JSON.
    env = {**os.environ, "VOTUM_HOME": str(votum_home), "COLUMNS": "200"}
    table = subprocess.run(
        [VOTUM, "status"], capture_output=True, text=True, env=env, timeout=60, check=True
    ).stdout
    assert "Held days" in table and "2026-03-03" in table and "circuit breaker" in table
    assert "Next scheduled runs" in table and "votum-daily-run" in table
    data = json.loads(
        subprocess.run(
            [VOTUM, "status", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=True,
        ).stdout
    )
    assert [run["outcome"] for run in data["runs"]] == [
        "succeeded",
        "refused",
        "refused",
        "refused",
        "failed",
        "held",
        "succeeded",
    ]
    assert data["runs"][4]["stage"] == "ingest" and data["held_days"][0]["emails_held"] == 2

    # The held day is discarded: it never sends, and a later release is refused (and,
    # like every refusal, recorded and alerted).
    discarded = subprocess.run(
        [VOTUM, "discard", TUESDAY.isoformat(), "--reason", "wrong ratings file"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert discarded.returncode == 0, discarded.stderr
    assert "2 held emails discarded" in discarded.stdout
    with pytest.raises(RunRefusedError, match="2026-03-03: the day was discarded before"):
        release_run(TUESDAY, "changed my mind")
    assert [m.rcpt_tos for m in operations.messages if m.rcpt_tos != [OPS]] == []
    assert _ledger(votum_home)[-1][2:4] == ("refused", "release")
    assert collect_status(get_settings()).held_days == []
