"""``votum explain`` on a small hand-made week run through the real daily flow (real
DuckDB, dbt, Great Expectations, Prefect and SMTP server): the explanation names the
exact lines of the drop files and what happened to each email.

The week (the last three business days up to today, so that nothing is stale):
  day 1: initiations: SAP "Kaufen" (ratings line 2), Siemens "hold" (line 3), Allianz.
  day 2: SAP "Verkaufen" (ratings line 3; line 2 is a row the quality gate quarantines):
         C1 emailed; C2 opted out; C3 suppressed (the drop's suppressions.csv); C4 sold
         SAP the day before (day 1's snapshot has it, day 2's has no line). The holdings
         file's line 2 cannot be read (ingest rejects it): C1's position is on line 3.
  day 3: Siemens "Verkaufen": the circuit breaker holds the day; released, C5 emailed.
After the week C1 opts out through the one-click link.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from flows.calendar import is_business_day
from flows.cli import main
from flows.errors import WarehouseBusyError
from flows.explain import (
    Explanation,
    as_json,
    as_text,
    exclusion_of,
    explain_advisor,
    explain_client,
    explain_message,
    outcome_words,
    redact_addresses,
)
from flows.explain.answer import DayHold
from flows.notify.journal import open_journal
from flows.pipeline import daily_run, release_run
from flows.runs.lock import run_lock
from flows.runs.parameters import DailyRunParameters, today_in_berlin
from flows.settings import Settings, get_settings
from tests.drops import ALLIANZ, SAP, SIEMENS, write_csv, write_drop
from tests.smtp_server import RecordingSmtpServer


def _last_business_days(count: int) -> list[date]:
    days: list[date] = []
    day = today_in_berlin()
    while len(days) < count:
        if is_business_day(day):
            days.insert(0, day)
        day -= timedelta(days=1)
    return days


DAY1, DAY2, DAY3 = _last_business_days(3)
CLIENTS = [
    ["C1", "Clara", "Eins", "c1@example.com", "de", "A1", "ja"],
    ["C2", "Carl", "Zwei", "c2@example.com", "de", "A1", "nein"],
    ["C3", "Cora", "Drei", "c3@example.com", "en", "A1", "ja"],
    ["C4", "Cem", "Vier", "c4@example.com", "de", "A1", "ja"],
    ["C5", "Cleo", "Fuenf", "c5@example.com", "de", "A2", "ja"],
    *[[f"F{n}", "Filler", str(n), f"f{n}@example.com", "de", "A2", "ja"] for n in range(6)],
]
ADVISORS = [
    ["A1", "Anna Adler", "anna.adler@bank.example", "Filiale Köln", "koeln@bank.example"],
    ["A2", "Bernd Berg", "bernd.berg@bank.example", "Filiale Bonn", "bonn@bank.example"],
]
FILLERS = [[f"F{n}", ALLIANZ, 1, "90.00"] for n in range(6)]
HOLDINGS_DAY1 = [
    ["C1", SAP, 10, "1000.00"],
    ["C2", SAP, 5, "500.00"],
    ["C3", SAP, 2, "200.00"],
    ["C4", SAP, 1, "50.00"],  # line 5 of day 1's holdings.csv
    ["C5", SIEMENS, 3, "300.00"],
    *FILLERS,
]
HOLDINGS_DAY2 = [
    ["C9", SAP, "abc", "1.00"],  # line 2: unreadable quantity, rejected by ingest
    ["C1", SAP, 10, "1000.00"],  # line 3
    ["C2", SAP, 5, "500.00"],
    ["C3", SAP, 2, "200.00"],
    ["C5", SIEMENS, 3, "300.00"],
    *FILLERS,
]


def _stamp(day: date, time: str) -> str:
    return f"{day.isoformat()} {time}"


def write_week(inbox: Path) -> None:
    write_drop(
        inbox,
        DAY1,
        ratings=[
            [SAP, "SAP SE", "Kaufen", _stamp(DAY1, "07:00:00")],
            [SIEMENS, "Siemens AG", "hold", _stamp(DAY1, "07:00:00")],
            [ALLIANZ, "Allianz SE", "buy", _stamp(DAY1, "07:00:00")],
        ],
        holdings=HOLDINGS_DAY1,
        clients=CLIENTS,
        advisors=ADVISORS,
    )
    folder = write_drop(
        inbox,
        DAY2,
        ratings=[
            ["DE0000000001", "Broken AG", "buy", _stamp(DAY2, "06:00:00")],  # bad check digit
            [SAP, "SAP SE", "Verkaufen", _stamp(DAY2, "07:00:00")],
        ],
        holdings=HOLDINGS_DAY2,
    )
    write_csv(
        folder / "suppressions.csv",
        ("email", "suppressed_at", "reason"),
        [["c3@example.com", _stamp(DAY2, "05:00:00"), "bounced"]],
    )
    write_drop(
        inbox,
        DAY3,
        ratings=[[SIEMENS, "Siemens AG", "Verkaufen", _stamp(DAY3, "07:00:00")]],
        holdings=[h for h in HOLDINGS_DAY2 if h[0] != "C9"],
    )


@dataclass(frozen=True)
class Week:
    settings: Settings
    inbox: Path
    smtp: RecordingSmtpServer


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory, prefect_server: str) -> Iterator[Week]:
    root = tmp_path_factory.mktemp("explain")
    inbox = root / "inbox"
    write_week(inbox)
    with RecordingSmtpServer() as smtp, pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOTUM_HOME", str(root / "home"))
        patch.setenv("VOTUM_SMTP_HOST", smtp.host)
        patch.setenv("VOTUM_SMTP_PORT", str(smtp.port))
        patch.setenv("VOTUM_SMTP_SECURITY", "none")
        patch.setenv("VOTUM_SMTP_RETRY_BACKOFF_SECONDS", "0.01")
        daily_run(DailyRunParameters(run_date=DAY1, inbox=inbox))
        daily_run(DailyRunParameters(run_date=DAY2, inbox=inbox))
        # One ISIN of the three changes on day 3: held with a threshold of one change.
        patch.setenv("VOTUM_MIN_CHANGED_ISINS", "1")
        patch.setenv("VOTUM_MAX_CHANGE_SHARE", "0.1")
        held = daily_run(DailyRunParameters(run_date=DAY3, inbox=inbox))
        assert held is not None and held.held_reason and held.emails_sent == 0
        patch.delenv("VOTUM_MIN_CHANGED_ISINS")
        patch.delenv("VOTUM_MAX_CHANGE_SHARE")
        released, _ = release_run(business_day=DAY3, note="checked by the desk")
        assert released == 2  # C5's digest and A2's worklist
        settings = get_settings()
        with open_journal(settings.journal_path) as journal:
            journal.opt_out_client("C1", source="one-click")
        yield Week(settings, inbox, smtp)


def _digest_to(smtp: RecordingSmtpServer, address: str) -> str:
    (message,) = [
        m
        for m in smtp.messages
        if m.message["X-Votum-Kind"] == "client_digest" and m.rcpt_tos == [address]
    ]
    return str(message.message["Message-ID"]).strip()


def _without_others(explanation: Explanation, own: set[str]) -> None:
    """No other client's id, and no address at all, anywhere in the answer."""
    text = json.dumps(as_json(explanation)) + as_text(explanation)
    others = {c[0] for c in CLIENTS} - own
    assert not [c for c in others if f'"{c}"' in text or f"client {c}" in text]
    assert "@example.com" not in text


def test_an_emailed_client_gets_the_exact_lines_and_the_sending(week: Week) -> None:
    explained = explain_client(week.settings, "C1", DAY2, inbox=week.inbox)

    (change,) = explained.changes
    assert (change.isin, change.change_type) == (SAP, "downgrade")
    new, previous = change.new_rating, change.previous_rating
    assert previous is not None
    # Line 2 of day 2's ratings was quarantined (bad ISIN): SAP is on line 3.
    assert (new.source.drop_date, new.source.file, new.source.lines) == (
        DAY2,
        "ratings.csv",
        (3,),
    )
    assert new.source.file_check == "unchanged" and new.source.note is None
    assert (new.label_as_delivered, new.rating) == ("Verkaufen", "sell")
    assert (previous.source.drop_date, previous.source.file, previous.source.lines) == (
        DAY1,
        "ratings.csv",
        (2,),
    )
    assert (previous.label_as_delivered, previous.rating) == ("Kaufen", "buy")
    # Line 2 of day 2's holdings could not be read (rejected): C1's position is line 3.
    holding = change.holding
    assert (holding.source.drop_date, holding.source.file, holding.source.lines) == (
        DAY2,
        "holdings.csv",
        (3,),
    )
    assert Decimal(str(holding.quantity)) == 10
    assert Decimal(str(holding.market_value_eur)) == Decimal("1000.00")

    email = explained.email
    assert email is not None
    assert email.status == "sent" and email.sent_at and email.planned_at and email.claimed
    assert email.attempts == 1 and email.server_reply and "@" not in email.server_reply
    assert email.message_id == _digest_to(week.smtp, "c1@example.com")
    assert explained.worklist is not None and explained.worklist.status == "sent"

    # The one-click opt-out after the email: said in the spec's words.
    assert explained.eligibility is not None
    codes = [r.code for r in explained.eligibility.reasons]
    assert codes == ["client_opt_out"] and explained.eligibility.decision == "eligible"
    text = as_text(explained)
    assert "through one-click opt-out" in text and "suppressed at " in text
    assert "ratings.csv line 3" in text and "holdings.csv line 3" in text
    assert "label 'Verkaufen' (normalised: sell)" in text
    _without_others(explained, {"C1"})


def test_an_opted_out_client_is_not_emailed_and_says_why(week: Week) -> None:
    explained = explain_client(week.settings, "C2", DAY2, inbox=week.inbox)

    (change,) = explained.changes
    assert change.holding.source.lines == (4,)
    assert explained.eligibility is not None
    assert explained.eligibility.decision == "not_eligible"
    assert [r.code for r in explained.eligibility.reasons] == ["opted_out"]
    assert explained.email is None
    assert "none planned; the advisor's worklist says to call" in as_text(explained)
    _without_others(explained, {"C2"})


def test_a_suppressed_client_is_named_with_since_when(week: Week) -> None:
    explained = explain_client(week.settings, "C3", DAY2, inbox=week.inbox)

    assert explained.eligibility is not None
    (reason,) = explained.eligibility.reasons
    assert reason.code == "suppressed" and reason.since is not None
    assert DAY2.isoformat() in reason.since and "(drop)" in reason.words
    assert explained.email is None
    _without_others(explained, {"C3"})


def test_a_client_who_sold_the_day_before_is_told_the_rule_and_the_lines(week: Week) -> None:
    explained = explain_client(week.settings, "C4", DAY2, inbox=week.inbox)

    assert explained.changes == () and explained.email is None
    (excluded,) = explained.not_affected
    assert (excluded.isin, excluded.rule, excluded.snapshot_used) == (SAP, "no_position", DAY2)
    assert "sold before" in excluded.reason
    by_day = {e.snapshot_date: e for e in excluded.evidence}
    assert by_day[DAY1].source.lines == (5,) and Decimal(str(by_day[DAY1].quantity)) == 1
    assert by_day[DAY2].quantity is None and by_day[DAY2].source.lines == ()
    assert by_day[DAY2].source.file == "holdings.csv"
    assert "holdings.csv line 5" in as_text(explained)
    _without_others(explained, {"C4"})


def test_a_held_then_released_day_shows_hold_release_and_sending(week: Week) -> None:
    explained = explain_client(week.settings, "C5", DAY3, inbox=week.inbox)

    (change,) = explained.changes
    assert change.new_rating.source.lines == (2,)
    assert change.previous_rating is not None
    assert change.previous_rating.source.drop_date == DAY1
    assert change.previous_rating.source.lines == (3,)
    email = explained.email
    assert email is not None and email.status == "sent" and email.sent_at
    hold = email.day_hold
    assert hold is not None and hold.decision == "released"
    assert "circuit breaker" in hold.reason and hold.note == "checked by the desk"
    text = as_text(explained)
    assert "the day was held at" in text and "released at" in text and "sent at" in text


def test_a_worklist_shows_only_the_advisors_own_lines(week: Week) -> None:
    explained = explain_advisor(week.settings, "A1", DAY2, inbox=week.inbox)

    assert {line.client_id for line in explained.worklist_lines} == {"C1", "C2", "C3"}
    assert {c.client_id for c in explained.changes} == {"C1", "C2", "C3"}
    assert explained.email is not None and explained.email.status == "sent"
    told = {line.client_id: line.ineligible_reason for line in explained.worklist_lines}
    assert told == {"C1": None, "C2": "opted_out", "C3": "suppressed"}
    _without_others(explained, {"C1", "C2", "C3"})


def test_the_command_finds_an_email_by_its_message_id(
    week: Week, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VOTUM_HOME", str(week.settings.home_dir))
    monkeypatch.setenv("VOTUM_INBOX", str(week.inbox))
    message_id = _digest_to(week.smtp, "c5@example.com")

    assert main(["explain", "--message-id", message_id.strip("<>"), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["version"] == 1 and answer["subject"] == "message"
    assert (answer["client_id"], answer["business_day"]) == ("C5", DAY3.isoformat())
    assert answer["email"]["message_id"] == message_id
    assert answer["changes"][0]["holding"]["source"]["lines"] == [5]

    assert main(["explain", "--client", "C4", "--date", DAY2.isoformat()]) == 0
    assert "no_position" in capsys.readouterr().out
    assert main(["explain", "--client", "C4"]) == 2
    assert main(["explain", "--message-id", "<unknown.client_digest@bank.example>"]) == 12


def test_it_reads_only_and_waits_for_a_running_run(week: Week) -> None:
    files = [week.settings.warehouse_path, week.settings.journal_path]
    before = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    explain_client(week.settings, "C1", DAY2, inbox=week.inbox)
    explain_message(week.settings, _digest_to(week.smtp, "c1@example.com"), inbox=week.inbox)
    assert [hashlib.sha256(f.read_bytes()).hexdigest() for f in files] == before

    with (
        run_lock(week.settings.run_lock_path, "votum daily run"),
        pytest.raises(WarehouseBusyError, match="votum daily run"),
    ):
        explain_client(week.settings, "C1", DAY2, inbox=week.inbox)


def test_a_changed_or_missing_file_is_said_and_the_row_still_named(
    week: Week, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(week.inbox, inbox)
    with (inbox / DAY2.isoformat() / "holdings.csv").open("a") as handle:
        handle.write(f"F9,{ALLIANZ},1,1.00,{DAY2.isoformat()}\n")
    (inbox / DAY1.isoformat() / "ratings.csv").unlink()

    (change,) = explain_client(week.settings, "C1", DAY2, inbox=inbox).changes
    holding = change.holding.source
    assert (holding.file_check, holding.file, holding.lines) == ("changed", "holdings.csv", ())
    assert holding.key == {"client_id": "C1", "isin": SAP} and holding.note
    assert change.previous_rating is not None
    previous = change.previous_rating.source
    assert (previous.file_check, previous.drop_date, previous.lines) == ("missing", DAY1, ())
    assert previous.key["isin"] == SAP and previous.key["rating"] == "Kaufen"


# -- the rules alone ---------------------------------------------------------------------
def test_exclusion_rules() -> None:
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)
    held_monday = {monday: Decimal(1)}
    assert exclusion_of("downgrade", tuesday, tuesday, {}) is None
    assert exclusion_of("initiation", tuesday, tuesday, held_monday) == (
        "initiation",
        "the first rating ever seen for this security is an initiation: it affects no one",
    )
    rule = exclusion_of("downgrade", tuesday, None, held_monday)
    assert rule is not None and rule[0] == "no_snapshot"
    rule = exclusion_of("downgrade", tuesday, tuesday, {**held_monday, tuesday: Decimal(0)})
    assert rule is not None and rule[0] == "no_position" and "shows quantity 0" in rule[1]
    rule = exclusion_of("upgrade", monday, monday, {tuesday: Decimal(2), monday: Decimal(0)})
    assert rule is not None and "bought after" in rule[1]


def test_outcomes_are_worded_by_status_and_replies_lose_their_addresses() -> None:
    released = DayHold("circuit breaker", "t", "released", "t", None)
    assert "released" in outcome_words("pending", None, released)
    assert outcome_words("uncertain", "timeout after the final dot", None).startswith(
        "outcome unknown"
    )
    assert "withdrawn" in outcome_words("withdrawn", "opted out since", None)
    assert "expired" in outcome_words("expired", None, None)
    assert outcome_words("suppressed", None, None).startswith("suppressed at send")
    assert redact_addresses("550 5.1.1 <jane.doe@example.org>: unknown user x@y.de") == (
        "550 5.1.1 <<address>>: unknown user <address>"
    )
