"""The intraday path end to end on one real day: the morning drop through the daily
flow, then ratings batches during the day through `votum intraday` (real DuckDB, dbt,
Great Expectations, Prefect flow runs, a real SMTP server), then the next morning.

The day (Tuesday), clients C1 (de, advisor A1), C2 (en, A2), C3 (opted out, A1):
- morning drop: SAP buy -> sell (C1 and C2 get the day's digest);
- 10:15: Siemens hold -> sell (C1 emailed, C3 to call) and SAP sell again (a repeat:
  nobody is emailed about SAP again);
- 12:00: Allianz buy -> strong buy (C2); delivered with the publication twice first (the
  batch stops, nothing of it is kept), corrected and taken by the next call;
- 14:10: BASF neutral -> sell and SAP sell -> strong sell (a further change): C1's second
  intraday email lists both, C2's second lists SAP; a row with an unknown rating label
  is quarantined under the batch's file;
- 16:30: Siemens sell -> strong sell and Allianz strong buy -> buy: C1 and C2 have had
  their two intraday emails (the limit): both wait for Wednesday's digest.
Wednesday's digest carries exactly those two waiting changes.

The demo clock (flows/clock.py) stands a minute or two after each call's batches, so the
adoption figures read the sending times of that day: C3, affected only by the 10:15
batch, was called by A1 at 15:00 (in Wednesday's CRM export)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pytest

from flows.cli import main as votum
from flows.clock import BANK_TIMEZONE, set_simulated_instant
from flows.errors import RunInProgressError
from flows.intraday.batches import INTRADAY_FOLDER
from flows.pipeline import IntradaySummary, build_adoption_marts, daily_run, intraday_run
from flows.runs.parameters import DailyRunParameters, IntradayRunParameters
from flows.settings import get_settings
from flows.warehouse import open_warehouse
from tests.drops import ALLIANZ, BASF, RATINGS, SAP, SIEMENS, write_csv, write_drop
from tests.smtp_server import ReceivedMessage, RecordingSmtpServer

MON, TUE, WED = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
ADVISORS = [
    ["A1", "Petra Schmidt", "petra.schmidt@bank.example", "Filiale München", "m@bank.example"],
    ["A2", "Max Mustermann", "max.mustermann@bank.example", "Filiale Hamburg", "h@bank.example"],
]
CLIENTS = [
    ["C1", "Jürgen", "Müller", "c1@example.com", "de", "A1", "ja"],
    ["C2", "Jane", "Smith", "c2@example.org", "en", "A2", "true"],
    ["C3", "Olaf", "Opt", "c3@example.com", "de", "A1", "nein"],
]
HOLDINGS = [
    ["C1", SAP, 10, "1000.00"],
    ["C1", SIEMENS, 5, "500.00"],
    ["C1", BASF, 4, "400.00"],
    ["C2", SAP, 3, "300.00"],
    ["C2", ALLIANZ, 2, "200.00"],
    ["C3", SIEMENS, 1, "100.00"],
]
C1, C2 = "c1@example.com", "c2@example.org"
A1, A2 = "petra.schmidt@bank.example", "max.mustermann@bank.example"
ISINS = (SAP, SIEMENS, ALLIANZ, BASF)


def _write_batch(inbox: Path, day: date, batch: str, rows: list[list[str]]) -> None:
    path = inbox / day.isoformat() / INTRADAY_FOLDER / batch / "ratings.csv"
    write_csv(path, RATINGS, [r + [""] * (len(RATINGS) - len(r)) for r in rows])


def _bank_time(day: date, hhmmss: str) -> datetime:
    return datetime.combine(day, datetime.strptime(hhmmss, "%H%M%S").time(), BANK_TIMEZONE)


@dataclass
class Day:
    inbox: Path
    server: RecordingSmtpServer
    calls: dict[str, IntradaySummary] = field(default_factory=dict)
    sent_after: dict[str, int] = field(default_factory=dict)
    fault: str = ""
    morning_mart_results: list[tuple[object, ...]] = field(default_factory=list)

    def received(self, start: str, end: str | None = None) -> list[ReceivedMessage]:
        messages = self.server.messages
        return messages[self.sent_after[start] : self.sent_after[end] if end else None]


def _mart_results(day: date) -> list[tuple[object, ...]]:
    """The mart suites' results recorded for the day, each with its time."""
    with open_warehouse(get_settings().warehouse_path, read_only=True) as con:
        return con.execute(
            "SELECT suite, rule, unexpected, passed, checked_at FROM ops.quality_results "
            "WHERE run_date = ? AND suite LIKE 'mart_%' ORDER BY suite, rule",
            [day],
        ).fetchall()


@pytest.fixture(scope="module")
def day(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    root = tmp_path_factory.mktemp("intraday")
    inbox = root / "inbox"
    write_drop(
        inbox,
        MON,
        ratings=[
            [SAP, "SAP SE", "Kaufen", "2026-03-02 07:00:00"],
            [SIEMENS, "Siemens AG", "Halten", "2026-03-02 07:00:00"],
            [ALLIANZ, "Allianz SE", "buy", "2026-03-02 07:00:00"],
            [BASF, "BASF SE", "Neutral", "2026-03-02 07:00:00"],
        ],
        holdings=HOLDINGS,
        clients=CLIENTS,
        advisors=ADVISORS,
    )
    write_drop(
        inbox,
        TUE,
        ratings=[[SAP, "SAP SE", "Verkaufen", "2026-03-03 07:00:00", "", "180", "EUR"]],
        holdings=HOLDINGS,
    )
    write_drop(inbox, WED, ratings=[], holdings=HOLDINGS)
    write_csv(
        inbox / WED.isoformat() / "crm_activities.csv",
        ["activity_id", "advisor_id", "client_id", "activity_type", "occurred_at"],
        [["act-1", "A1", "C3", "call", "2026-03-03 15:00:00"]],
    )
    clock = root / "clock.txt"
    with RecordingSmtpServer() as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOTUM_HOME", str(root / "home"))
        patch.setenv("VOTUM_SMTP_HOST", server.host)
        patch.setenv("VOTUM_SMTP_PORT", str(server.port))
        patch.setenv("VOTUM_SMTP_SECURITY", "none")
        patch.setenv("VOTUM_SMTP_RETRY_BACKOFF_SECONDS", "0.01")
        patch.setenv("VOTUM_MAIL_FROM", "research@bank.example")
        patch.setenv("VOTUM_INBOX", str(inbox))
        patch.setenv("VOTUM_MAX_INTRADAY_EMAILS_PER_CLIENT", "2")
        patch.setenv("VOTUM_DEMO_CLOCK_FILE", str(clock))
        run = Day(inbox, server)
        for morning in (MON, TUE):
            set_simulated_instant(clock, _bank_time(morning, "064500"))
            daily_run(DailyRunParameters(run_date=morning, inbox=inbox))
        run.sent_after["tue_morning"] = len(server.messages)
        run.morning_mart_results = _mart_results(TUE)

        _write_batch(
            inbox,
            TUE,
            "101500",
            [
                [SIEMENS, "Siemens AG", "Verkaufen", "2026-03-03 10:10:00"],
                [SAP, "SAP SE", "Verkaufen", "2026-03-03 10:10:00"],
            ],
        )
        at_noon = "2026-03-03 11:55:00"
        _write_batch(  # the same publication twice, with two ratings: a file fault
            inbox,
            TUE,
            "120000",
            [
                [ALLIANZ, "Allianz SE", "Stark Kaufen", at_noon],
                [ALLIANZ, "Allianz", "Kaufen", at_noon],
            ],
        )
        set_simulated_instant(clock, _bank_time(TUE, "101630"))
        with pytest.raises(Exception) as fault:
            intraday_run(IntradayRunParameters(run_date=TUE, inbox=inbox))
        run.fault = str(fault.value)
        run.sent_after["first_call"] = len(server.messages)

        _write_batch(inbox, TUE, "120000", [[ALLIANZ, "Allianz SE", "Stark Kaufen", at_noon]])
        set_simulated_instant(clock, _bank_time(TUE, "120130"))
        run.calls["corrected"] = intraday_run(IntradayRunParameters(run_date=TUE, inbox=inbox))
        run.sent_after["corrected"] = len(server.messages)

        _write_batch(
            inbox,
            TUE,
            "141000",
            [
                [BASF, "BASF SE", "Verkaufen", "2026-03-03 14:05:00"],
                [SAP, "SAP SE", "Stark Verkaufen", "2026-03-03 14:05:00"],
                [SIEMENS, "Siemens AG", "Super", "2026-03-03 14:05:00"],  # quarantined
            ],
        )
        _write_batch(
            inbox,
            TUE,
            "163000",
            [
                [SIEMENS, "Siemens AG", "Stark Verkaufen", "2026-03-03 16:25:00"],
                [ALLIANZ, "Allianz SE", "Kaufen", "2026-03-03 16:25:00"],
            ],
        )
        set_simulated_instant(clock, _bank_time(TUE, "163100"))
        run.calls["afternoon"] = intraday_run(IntradayRunParameters(run_date=TUE, inbox=inbox))
        run.sent_after["afternoon"] = len(server.messages)
        assert votum(["intraday", "--date", TUE.isoformat(), "--inbox", str(inbox)]) == 0
        run.sent_after["rerun"] = len(server.messages)

        set_simulated_instant(clock, _bank_time(WED, "064500"))
        daily_run(DailyRunParameters(run_date=WED, inbox=inbox))
        run.sent_after["wed_morning"] = len(server.messages)
        yield run


def _kind(message: ReceivedMessage) -> str:
    return str(message.message["X-Votum-Kind"])


def _text(message: ReceivedMessage) -> str:
    body = message.message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _isins(message: ReceivedMessage) -> set[str]:
    return {isin for isin in ISINS if isin in _text(message)}


def _emails(messages: list[ReceivedMessage]) -> list[tuple[str, str, frozenset[str]]]:
    return sorted((_kind(m), m.rcpt_tos[0], frozenset(_isins(m))) for m in messages)


def test_the_morning_drop_goes_out_as_the_days_digests(day: Day) -> None:
    tuesday = day.server.messages[: day.sent_after["tue_morning"]]
    assert ("client_digest", C1, frozenset({SAP})) in _emails(tuesday)
    assert ("client_digest", C2, frozenset({SAP})) in _emails(tuesday)


def test_a_batch_with_a_file_fault_stops_and_names_the_batch_file(day: Day) -> None:
    assert "2026-03-03/intraday/120000/ratings.csv" in day.fault
    # The batch before it went out; nothing of the faulty one.
    assert _emails(day.received("tue_morning", "first_call")) == [
        ("advisor_intraday", A1, frozenset({SIEMENS})),
        ("client_intraday", C1, frozenset({SIEMENS})),
    ]


def test_the_corrected_batch_is_taken_by_the_next_call(day: Day) -> None:
    assert day.calls["corrected"].batches_processed == ("120000",)
    assert _emails(day.received("first_call", "corrected")) == [
        ("advisor_intraday", A2, frozenset({ALLIANZ})),
        ("client_intraday", C2, frozenset({ALLIANZ})),
    ]


def test_a_further_change_is_emailed_and_the_limit_makes_changes_wait(day: Day) -> None:
    afternoon = day.calls["afternoon"]
    assert afternoon.batches_processed == ("141000", "163000")
    assert afternoon.clients_waiting == 2
    received = day.received("corrected", "afternoon")
    assert _emails(received) == sorted(
        [
            ("advisor_intraday", A1, frozenset({BASF, SAP})),
            ("advisor_intraday", A2, frozenset({SAP})),
            ("client_intraday", C1, frozenset({BASF, SAP})),
            ("client_intraday", C2, frozenset({SAP})),
            # 16:30: C1 and C2 had their two emails; C3 (opted out) is to be called.
            ("advisor_intraday", A1, frozenset({SIEMENS})),
            ("advisor_intraday", A2, frozenset({ALLIANZ})),
        ]
    )


def test_a_rerun_sends_nothing_again(day: Day) -> None:
    assert day.sent_after["rerun"] == day.sent_after["afternoon"]


def test_the_next_morning_digest_carries_exactly_what_waited(day: Day) -> None:
    assert _emails(day.received("rerun", "wed_morning")) == sorted(
        [
            ("advisor_worklist", A1, frozenset({SIEMENS})),
            ("advisor_worklist", A2, frozenset({ALLIANZ})),
            ("client_digest", C1, frozenset({SIEMENS})),
            ("client_digest", C2, frozenset({ALLIANZ})),
        ]
    )


def test_a_carried_change_comes_with_its_rating_history(day: Day) -> None:
    with open_warehouse(get_settings().warehouse_path, read_only=True) as con:
        payloads = con.execute(
            "SELECT payload FROM ops.delivery_ledger WHERE kind = 'client_digest' "
            "AND business_day = ?",
            [WED],
        ).fetchall()
    holdings = [h for (payload,) in payloads for h in json.loads(payload)["holdings"]]
    assert {h["isin"] for h in holdings} == {SIEMENS, ALLIANZ}
    # Siemens: Monday's hold, then sell (10:10) and strong sell (16:25) on Tuesday.
    assert all(len(h["history"]) >= 2 for h in holdings)


def test_every_email_once_with_its_ledger_message_id(day: Day) -> None:
    messages = day.server.messages
    ids = [m.message_id for m in messages]
    assert len(set(ids)) == len(ids)
    with open_warehouse(get_settings().warehouse_path, read_only=True) as con:
        ledger = con.execute(
            "SELECT message_key, kind, status, message_id FROM ops.delivery_ledger "
            "WHERE kind IN ('client_intraday', 'advisor_intraday') ORDER BY message_key"
        ).fetchall()
    sent = {row[3] for row in ledger if row[2] == "sent"}
    assert sent == {m.message_id for m in messages if _kind(m).endswith("_intraday")}
    keys = [row[0] for row in ledger]
    assert all(re.match(r"^(client|advisor)_intraday:2026-03-03:\d{6}:[AC]\d$", k) for k in keys)
    assert len(keys) == 10


def test_each_batch_records_its_mart_checks_under_its_name(day: Day) -> None:
    results = _mart_results(TUE)
    by_suite: dict[object, set[object]] = {}
    for suite, rule, _unexpected, passed, _at in results:
        assert passed, (suite, rule)
        by_suite.setdefault(suite, set()).add(rule)
    morning = "mart_client_rating_changes"
    assert set(by_suite) == {
        morning,
        *(f"{morning}:intraday/{batch}" for batch in ("101500", "120000", "141000", "163000")),
    }
    assert all(rules == by_suite[morning] for rules in by_suite.values())
    # The morning's rows are the morning run's, as it recorded them.
    assert [row for row in results if row[0] == morning] == day.morning_mart_results


def test_a_batch_row_fault_is_quarantined_under_the_batch_file(day: Day) -> None:
    with open_warehouse(get_settings().warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT drop_date, file_kind, file_name, line FROM ops.quarantine"
        ).fetchall()
    assert rows == [(TUE, "ratings", "intraday/141000/ratings.csv", 4)]


def test_a_poll_that_finds_the_run_lock_taken_returns_quietly(day: Day) -> None:
    _write_batch(day.inbox, TUE, "180000", [[BASF, "BASF SE", "Halten", "2026-03-03 17:55:00"]])
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from flows.runs.lock import run_lock\n"
            "with run_lock(Path(sys.argv[1]), 'votum daily run'):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
            str(get_settings().run_lock_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        poll = intraday_run(IntradayRunParameters(run_date=TUE, inbox=day.inbox, scheduled=True))
        assert poll.skipped_reason and not poll.batches_processed
        with pytest.raises(RunInProgressError):
            intraday_run(IntradayRunParameters(run_date=TUE, inbox=day.inbox))
    finally:
        holder.kill()
        holder.wait()
    assert len(day.server.messages) == day.sent_after["wed_morning"]
    # A poll on a day that is not a business day (Good Friday) ends quietly too.
    holiday = intraday_run(IntradayRunParameters(run_date=date(2026, 4, 3), scheduled=True))
    assert holiday.skipped_reason == "2026-04-03 is not a business day"


def test_adoption_counts_an_intraday_alert_from_its_batch_worklist(day: Day) -> None:
    build_adoption_marts.fn()
    with open_warehouse(get_settings().warehouse_path, read_only=True) as con:
        alerts = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT client_id, first_batch_id, worklist_sent_at, hours_to_contact, "
                "follow_up_status FROM fct_alerts WHERE business_day = ?",
                [TUE],
            ).fetchall()
        }
        branches = con.execute(
            "SELECT branch, intraday_emails, median_minutes_to_inbox "
            "FROM mart_adoption_weekly_branches WHERE week_start = ? ORDER BY branch",
            [MON],
        ).fetchall()
        bank = con.execute(
            "SELECT intraday_emails, median_minutes_to_inbox FROM mart_adoption_weekly_bank "
            "WHERE week_start = ?",
            [MON],
        ).fetchall()
    # C3 (to be called) exists only through the 10:15 batch (and again at 16:30): its
    # worklist is that batch's, sent at 10:16:30 (bank time), and the 15:00 call counts
    # from it (4.725 hours), not from midnight.
    assert alerts["C3"][:2] == ("101500", datetime(2026, 3, 3, 10, 16, 30))
    assert alerts["C3"][2] == pytest.approx(4.725) and alerts["C3"][3] == "followed_up"
    # C1, affected in the morning and again by batches, counts from the 06:45 worklist.
    assert alerts["C1"][:2] == (None, datetime(2026, 3, 3, 6, 45))
    # Batch to inbox: 10:15 -> 10:16:30 (C1) and 12:00 -> 12:01:30 (C2), 1.5 minutes
    # each; 14:10 -> 16:31 (C1, C2: taken by the 16:31 call), 141 minutes each.
    assert branches == [("Filiale Hamburg", 2, 71.25), ("Filiale München", 2, 71.25)]
    assert bank == [(4, 71.25)]
