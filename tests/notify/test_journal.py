"""The delivery journal's fsync policy, read back from its connections (README, "Exactly
once, consent at sending, expiry"; flows/notify/journal.py), and the fold's bookkeeping."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flows.notify.journal import Journal, boot_id
from flows.notify.sending import Sender, Throttle
from flows.notify.transport import SmtpTransport
from flows.settings import Settings

# synchronous: 1 NORMAL (a commit survives a killed process), 2 FULL (synced at once)
NORMAL, FULL = 1, 2


def test_connections_sync_every_commit_but_the_senders_marks_and_outcomes(tmp_path: Path) -> None:
    path = tmp_path / "delivery.sqlite"
    journal = Journal(path)
    sending = Journal(path, sending=True)
    try:
        # Objections, the lease, the claims and the fold: every commit synced to disk.
        assert journal.pragmas() == {
            "journal_mode": "wal",
            "synchronous": FULL,
            "wal_autocheckpoint": 1000,
        }
        # A sender's in-flight marks and outcomes: synced with the next claim or fold,
        # which alone checkpoints the WAL.
        assert sending.pragmas() == {
            "journal_mode": "wal",
            "synchronous": NORMAL,
            "wal_autocheckpoint": 0,
        }
    finally:
        sending.close()
        journal.close()


def test_a_sender_writes_through_a_sending_connection(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, home=tmp_path / "home")  # type: ignore[call-arg]
    sender = Sender(settings, SmtpTransport(settings), Throttle(0), sleep=lambda _: None)
    try:
        assert sender.journal.pragmas()["synchronous"] == NORMAL
        assert sender.journal.pragmas()["wal_autocheckpoint"] == 0
    finally:
        sender.close()


def test_the_fold_forgets_what_it_folded_and_checkpoints_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "delivery.sqlite"
    journal = Journal(path)
    sending = Journal(path, sending=True)
    try:
        journal.note_claimed(["a", "b"])
        assert journal.claimed() == {"a": boot_id(), "b": boot_id()}
        sending.mark_in_flight("a")
        sending.record("a", "sent", "250 ok", 1)
        sending.mark_in_flight("b")
        journal.forget_folded(["a"], ["b"], ["a", "b"])
        assert (journal.outcomes(), journal.in_flight(), journal.claimed()) == ([], set(), {})
        with sqlite3.connect(path) as other:
            busy, frames, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and frames == copied  # nothing left in the WAL to copy
    finally:
        sending.close()
        journal.close()


def test_one_query_answers_both_objections(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "delivery.sqlite")
    try:
        assert journal.objections("Jane@Example.org", "C2") == (False, False)
        journal.suppress("jane@example.org", reason="objection", source="cli")
        journal.opt_out_client("C2", source="web")
        assert journal.objections(" JANE@example.org", "C2") == (True, True)
        assert journal.objections("other@example.org", None) == (False, False)
    finally:
        journal.close()


def test_an_outcome_ends_its_in_flight_mark_also_in_a_journal_made_before(
    tmp_path: Path,
) -> None:
    """One statement writes the outcome and removes the mark (a trigger: one commit), in
    a new journal and in one made before the trigger existed."""
    made_before = tmp_path / "made-before.sqlite"
    with sqlite3.connect(made_before) as old:
        old.executescript(
            "CREATE TABLE outcomes (message_key TEXT PRIMARY KEY, status TEXT NOT NULL, "
            "reply TEXT, attempts INTEGER NOT NULL, recorded_at TEXT NOT NULL);"
            "CREATE TABLE in_flight (message_key TEXT PRIMARY KEY, marked_at TEXT NOT NULL);"
        )
    for path in (tmp_path / "new.sqlite", made_before):
        sending = Journal(path, sending=True)
        try:
            sending.mark_in_flight("a")
            sending.mark_in_flight("b")
            sending.record("a", "sent", "250 ok", 1)
            assert [o.message_key for o in sending.outcomes()] == ["a"]
            assert sending.in_flight() == {"b"}
        finally:
            sending.close()
