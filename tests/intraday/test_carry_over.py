"""Changes that waited for a morning digest reach it once, also from a batch corrected
only the next day (flows/notify/carry.py), on real days: the daily flow, `votum
intraday`, real DuckDB, dbt, Great Expectations, Prefect and a real SMTP server.

Clients C1 (de, advisor A1), C2 (en, A2), C3 (en, A2); at most one intraday email per
client and day (VOTUM_MAX_INTRADAY_EMAILS_PER_CLIENT=1).
- Tuesday morning: the first ratings (initiations: nobody is emailed);
- Tuesday 10:15: SAP buy -> sell: C1 and C2 get their one intraday email of the day;
- Tuesday 14:10: Siemens hold -> sell (C1), Allianz buy -> strong buy (C2, C3), delivered
  with a publication twice: the batch stops;
- Wednesday morning: BASF neutral -> sell (C1's digest). Tuesday's 14:10 batch was not
  processed, so nothing of it waits yet;
- Wednesday 09:30: Tuesday's 14:10 batch corrected and processed: C3 is emailed; C1 and
  C2 had their Tuesday email, so their changes wait. Wednesday's digests were planned
  (and sent) already: the changes wait for Thursday's, not for a rerun of Wednesday's;
- Wednesday's morning run again: nothing new goes out;
- Thursday morning (no change of its own): C1's digest lists Siemens, C2's Allianz;
- Friday morning: nothing is carried again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pytest

from flows.cli import main as votum
from flows.clock import BANK_TIMEZONE, set_simulated_instant
from flows.intraday.batches import INTRADAY_FOLDER
from flows.pipeline import daily_run, intraday_run
from flows.runs.parameters import DailyRunParameters, IntradayRunParameters
from flows.settings import get_settings
from flows.warehouse import open_warehouse
from tests.drops import ALLIANZ, BASF, RATINGS, SAP, SIEMENS, write_csv, write_drop
from tests.smtp_server import ReceivedMessage, RecordingSmtpServer

TUE, WED, THU, FRI = date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6)
ADVISORS = [
    ["A1", "Petra Schmidt", "petra.schmidt@bank.example", "Filiale München", "m@bank.example"],
    ["A2", "Max Mustermann", "max.mustermann@bank.example", "Filiale Hamburg", "h@bank.example"],
]
CLIENTS = [
    ["C1", "Jürgen", "Müller", "c1@example.com", "de", "A1", "ja"],
    ["C2", "Jane", "Smith", "c2@example.org", "en", "A2", "true"],
    ["C3", "Ann", "Lee", "c3@example.org", "en", "A2", "true"],
]
HOLDINGS = [
    ["C1", SAP, 10, "1000.00"],
    ["C1", SIEMENS, 5, "500.00"],
    ["C1", BASF, 4, "400.00"],
    ["C2", SAP, 3, "300.00"],
    ["C2", ALLIANZ, 2, "200.00"],
    ["C3", ALLIANZ, 1, "100.00"],
]
C1, C2, C3 = "c1@example.com", "c2@example.org", "c3@example.org"
A1, A2 = "petra.schmidt@bank.example", "max.mustermann@bank.example"
ISINS = (SAP, SIEMENS, ALLIANZ, BASF)
LATE_BATCH = "141000"


def _write_batch(inbox: Path, day: date, batch: str, rows: list[list[str]]) -> None:
    path = inbox / day.isoformat() / INTRADAY_FOLDER / batch / "ratings.csv"
    write_csv(path, RATINGS, [r + [""] * (len(RATINGS) - len(r)) for r in rows])


def _bank_time(day: date, hhmmss: str) -> datetime:
    return datetime.combine(day, datetime.strptime(hhmmss, "%H%M%S").time(), BANK_TIMEZONE)


@dataclass
class Week:
    server: RecordingSmtpServer
    sent_after: dict[str, int] = field(default_factory=dict)
    late_call_exit: int | None = None

    def received(self, start: str, end: str) -> list[ReceivedMessage]:
        return self.server.messages[self.sent_after[start] : self.sent_after[end]]


@pytest.fixture(scope="module")
def week(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Week]:
    root = tmp_path_factory.mktemp("carry")
    inbox = root / "inbox"
    write_drop(
        inbox,
        TUE,
        ratings=[
            [SAP, "SAP SE", "Kaufen", "2026-03-03 07:00:00"],
            [SIEMENS, "Siemens AG", "Halten", "2026-03-03 07:00:00"],
            [ALLIANZ, "Allianz SE", "buy", "2026-03-03 07:00:00"],
            [BASF, "BASF SE", "Neutral", "2026-03-03 07:00:00"],
        ],
        holdings=HOLDINGS,
        clients=CLIENTS,
        advisors=ADVISORS,
    )
    write_drop(
        inbox,
        WED,
        ratings=[[BASF, "BASF SE", "Verkaufen", "2026-03-04 07:00:00"]],
        holdings=HOLDINGS,
    )
    write_drop(inbox, THU, ratings=[], holdings=HOLDINGS)
    write_drop(inbox, FRI, ratings=[], holdings=HOLDINGS)
    clock = root / "clock.txt"
    late_rows = [
        [SIEMENS, "Siemens AG", "Verkaufen", "2026-03-03 14:05:00"],
        [ALLIANZ, "Allianz SE", "Stark Kaufen", "2026-03-03 14:05:00"],
    ]
    with RecordingSmtpServer() as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOTUM_HOME", str(root / "home"))
        patch.setenv("VOTUM_SMTP_HOST", server.host)
        patch.setenv("VOTUM_SMTP_PORT", str(server.port))
        patch.setenv("VOTUM_SMTP_SECURITY", "none")
        patch.setenv("VOTUM_SMTP_RETRY_BACKOFF_SECONDS", "0.01")
        patch.setenv("VOTUM_MAIL_FROM", "research@bank.example")
        patch.setenv("VOTUM_INBOX", str(inbox))
        patch.setenv("VOTUM_MAX_INTRADAY_EMAILS_PER_CLIENT", "1")
        patch.setenv("VOTUM_DEMO_CLOCK_FILE", str(clock))
        run = Week(server)

        def morning(day: date, name: str) -> None:
            set_simulated_instant(clock, _bank_time(day, "064500"))
            daily_run(DailyRunParameters(run_date=day, inbox=inbox))
            run.sent_after[name] = len(server.messages)

        morning(TUE, "tue_morning")
        _write_batch(inbox, TUE, "101500", [[SAP, "SAP SE", "Verkaufen", "2026-03-03 10:10:00"]])
        set_simulated_instant(clock, _bank_time(TUE, "101630"))
        intraday_run(IntradayRunParameters(run_date=TUE, inbox=inbox))
        run.sent_after["tue_1015"] = len(server.messages)

        # The same publication twice, with two ratings: a file fault; the batch stops.
        _write_batch(
            inbox, TUE, LATE_BATCH, [*late_rows, [ALLIANZ, "Allianz", "Kaufen", late_rows[1][3]]]
        )
        set_simulated_instant(clock, _bank_time(TUE, "141130"))
        with pytest.raises(Exception, match=f"intraday/{LATE_BATCH}/ratings.csv"):
            intraday_run(IntradayRunParameters(run_date=TUE, inbox=inbox))
        run.sent_after["tue_1410"] = len(server.messages)

        morning(WED, "wed_morning")

        # Corrected the next day, and processed after Wednesday's digests went out.
        _write_batch(inbox, TUE, LATE_BATCH, late_rows)
        set_simulated_instant(clock, _bank_time(WED, "093000"))
        run.late_call_exit = votum(["intraday", "--date", TUE.isoformat(), "--inbox", str(inbox)])
        run.sent_after["late_batch"] = len(server.messages)

        morning(WED, "wed_again")
        morning(THU, "thu_morning")
        morning(FRI, "fri_morning")
        yield run


def _kind(message: ReceivedMessage) -> str:
    return str(message.message["X-Votum-Kind"])


def _text(message: ReceivedMessage) -> str:
    body = message.message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _emails(messages: list[ReceivedMessage]) -> list[tuple[str, str, frozenset[str]]]:
    return sorted(
        (_kind(m), m.rcpt_tos[0], frozenset(i for i in ISINS if i in _text(m))) for m in messages
    )


def test_the_days_before_the_late_batch(week: Week) -> None:
    assert week.sent_after["tue_morning"] == 0  # initiations only
    assert _emails(week.received("tue_morning", "tue_1015")) == sorted(
        [
            ("advisor_intraday", A1, frozenset({SAP})),
            ("advisor_intraday", A2, frozenset({SAP})),
            ("client_intraday", C1, frozenset({SAP})),
            ("client_intraday", C2, frozenset({SAP})),
        ]
    )
    assert week.sent_after["tue_1410"] == week.sent_after["tue_1015"]  # the faulty batch
    # Wednesday's digest: its own change, nothing of the batch not processed yet.
    assert _emails(week.received("tue_1410", "wed_morning")) == [
        ("advisor_worklist", A1, frozenset({BASF})),
        ("client_digest", C1, frozenset({BASF})),
    ]


def test_the_late_batch_emails_within_the_limit_and_the_rest_waits(week: Week) -> None:
    assert week.late_call_exit == 0
    assert _emails(week.received("wed_morning", "late_batch")) == sorted(
        [
            ("advisor_intraday", A1, frozenset({SIEMENS})),  # C1 waits for a digest
            ("advisor_intraday", A2, frozenset({ALLIANZ})),  # C2 waits, C3 emailed
            ("client_intraday", C3, frozenset({ALLIANZ})),
        ]
    )


def test_a_rerun_of_the_morning_already_sent_does_not_take_the_waiting_changes(
    week: Week,
) -> None:
    assert week.sent_after["wed_again"] == week.sent_after["late_batch"]


def test_the_next_digest_planned_carries_what_waited_once(week: Week) -> None:
    assert _emails(week.received("wed_again", "thu_morning")) == sorted(
        [
            ("advisor_worklist", A1, frozenset({SIEMENS})),
            ("advisor_worklist", A2, frozenset({ALLIANZ})),
            ("client_digest", C1, frozenset({SIEMENS})),
            ("client_digest", C2, frozenset({ALLIANZ})),
        ]
    )
    assert week.sent_after["fri_morning"] == week.sent_after["thu_morning"]
    with open_warehouse(get_settings().warehouse_path, read_only=True) as con:
        carried = con.execute(
            "SELECT business_day, batch_id, carry_after, carried_into "
            "FROM ops.digest_carry_over ORDER BY batch_id"
        ).fetchall()
    assert carried == [(TUE, "101500", TUE, WED), (TUE, LATE_BATCH, WED, THU)]
