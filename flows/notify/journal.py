"""The delivery journal: a small SQLite file beside the warehouse
(``VOTUM_HOME/delivery.sqlite``) for what must be written at once and by more than one
process.

* ``outcomes``: the result of every send, written right after the server answered,
  before the next message goes out (``uncertain``: the end of the message was written
  and no reply came). Marking each message in DuckDB would cost about a millisecond per
  commit and DuckDB admits one writing process only; SQLite in WAL mode commits in
  microseconds and survives a killed process. Dispatch folds these rows into the
  warehouse's delivery ledger after every batch and at its next start.
* ``in_flight``: a mark written right before the end of a message's data goes to the
  server, removed in the same commit as its outcome. A message still marked when no
  outcome came (the process was killed between the server's reply and the outcome) may
  have been taken: the next fold makes it ``uncertain`` instead of ``pending``.
* ``suppressions``: addresses never to be emailed again. ``votum suppress`` writes here
  even while a run holds the warehouse, and dispatch reads it right before every
  message, so an objection that arrives during a batch stops the rest of it.
* ``client_opt_outs``: clients who objected through a link of their own email (the
  one-click opt-out of ``votum serve``, the mailto opt-out), keyed by client id: the
  objection holds whatever address the client has later. Dispatch checks it right before
  every client email, like the suppression list. A client who re-subscribes through their
  own (token-bound) link is removed from it.
* ``dispatch_lease``: a token that every dispatch replaces when it starts. Worker
  processes of the fan-out (``flows/notify/fanout.py``) compare it with their own before
  every message, so that a worker left running by a killed dispatch stops sending once
  the next dispatch has begun.
* ``claimed``: the keys of the batch being sent, with the id of the machine's boot,
  written (and synced to disk) before its first message goes out and removed when the
  batch is folded. A key still here after the machine restarted may have gone out with
  its in-flight mark lost: the fold makes it ``uncertain`` (the fsync policy below).

The fsync policy (SQLite in WAL mode; README, "Exactly once, consent at sending, expiry"):

* Every commit survives a killed process (``kill -9``): a commit is in the operating
  system's hands when it returns, whatever ``synchronous`` says.
* What survives a power loss or a crash of the operating system is what was synced to
  disk. Connections are ``synchronous=FULL`` (every commit synced) except the sending
  connections (:class:`Journal` with ``sending=True``), whose in-flight marks and
  outcomes, two commits per message, are ``synchronous=NORMAL``: not synced one by one
  (a sync costs milliseconds on an ordinary disk, more than sending the message), but
  with the next synced commit: the claim of the next batch, and the fold of each batch
  (which also checkpoints the WAL; the sending connections never do). Objections
  (suppressions, client opt-outs), the dispatch lease and the claims are synced at once.
* So a power loss can lose the marks and outcomes of the batch being sent, never more,
  and never the claim of that batch: the next fold sees the batch's keys claimed before
  the machine restarted (another boot id), and each of them without an outcome becomes
  ``uncertain`` instead of ``pending``: sent at most once more, with the same
  Message-ID (``VOTUM_RESEND_UNCERTAIN``), like an email whose reply never came. After
  a killed process on a running machine (the same boot) nothing is lost and the marks
  decide as always. Where there is no boot id to read (not Linux), the keys claimed by
  an earlier process count as claimed before a restart.
"""

from __future__ import annotations

import functools
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flows.clock import SYSTEM_CLOCK, Clock

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    message_key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    reply TEXT,
    attempts INTEGER NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS in_flight (
    message_key TEXT PRIMARY KEY,
    marked_at TEXT NOT NULL
);
-- An outcome removes its message's in-flight mark in the same statement, so in the
-- same commit: one statement, one commit for every outcome.
CREATE TRIGGER IF NOT EXISTS outcome_ends_in_flight AFTER INSERT ON outcomes
BEGIN
    DELETE FROM in_flight WHERE message_key = NEW.message_key;
END;
CREATE TABLE IF NOT EXISTS suppressions (
    email TEXT PRIMARY KEY,
    suppressed_at TEXT NOT NULL,
    reason TEXT,
    source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS client_opt_outs (
    client_id TEXT PRIMARY KEY,
    opted_out_at TEXT NOT NULL,
    source TEXT NOT NULL,
    reason TEXT
);
CREATE TABLE IF NOT EXISTS dispatch_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token TEXT NOT NULL,
    started_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS claimed (
    message_key TEXT PRIMARY KEY,
    boot_id TEXT NOT NULL,
    claimed_at TEXT NOT NULL
);
"""

# Where Linux keeps the random id of the current boot (a new one after every restart).
_BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


@functools.cache
def boot_id() -> str:
    """The id of this boot of the machine. Where there is none to read (not Linux), a
    random id of this process instead: claims made by another process then count as
    made before a restart."""
    try:
        found = _BOOT_ID_FILE.read_text(encoding="ascii").strip()
    except OSError:
        found = ""
    return found or f"process-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Outcome:
    message_key: str
    # sent, failed, suppressed, withdrawn, uncertain (outcome unknown), pending
    # (transient failure, try again later)
    status: str
    reply: str | None
    attempts: int
    recorded_at: str


def normalise_email(address: str) -> str:
    return address.strip().lower()


class Journal:
    """One connection to the journal; use one per thread. ``sending=True`` for the
    connection of a sender (marks and outcomes; see the fsync policy above)."""

    def __init__(
        self,
        path: Path,
        *,
        read_only: bool = False,
        clock: Clock = SYSTEM_CLOCK,
        sending: bool = False,
    ) -> None:
        # What stamps outcomes, opt-outs and suppressions (the demo's simulated clock).
        self._clock = clock
        if read_only:
            # For looking only (`votum explain`): no file, table or journal mode is made.
            self._con = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30, check_same_thread=False
            )
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        self._con.execute("PRAGMA journal_mode=WAL")
        if sending:
            # Marks and outcomes: synced with the next claim or fold, which checkpoints.
            self._con.execute("PRAGMA synchronous=NORMAL")
            self._con.execute("PRAGMA wal_autocheckpoint=0")
        else:
            self._con.execute("PRAGMA synchronous=FULL")
        self._con.executescript(_SCHEMA)

    def close(self) -> None:
        self._con.close()

    def pragmas(self) -> dict[str, str | int]:
        """What this connection runs with: ``journal_mode``, ``synchronous`` (1 NORMAL,
        2 FULL) and ``wal_autocheckpoint`` (pages; 0 never): the fsync policy, read back."""
        return {
            name: self._con.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("journal_mode", "synchronous", "wal_autocheckpoint")
        }

    # -- outcomes -------------------------------------------------------------------
    def record(self, message_key: str, status: str, reply: str | None, attempts: int) -> None:
        """The outcome of a message; its in-flight mark goes in the same commit (the
        trigger ``outcome_ends_in_flight``)."""
        self._con.execute(
            "INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?)",
            (message_key, status, reply, attempts, self._clock.now().isoformat()),
        )

    # -- in flight ------------------------------------------------------------------
    def mark_in_flight(self, message_key: str) -> None:
        """Right before the end of the message is written to the server."""
        self._con.execute(
            "INSERT OR REPLACE INTO in_flight VALUES (?, ?)",
            (message_key, self._clock.now().isoformat()),
        )

    def is_in_flight(self, message_key: str) -> bool:
        row = self._con.execute(
            "SELECT 1 FROM in_flight WHERE message_key = ?", (message_key,)
        ).fetchone()
        return row is not None

    def in_flight(self) -> set[str]:
        """Messages handed to the server whose outcome was never written."""
        return {str(r[0]) for r in self._con.execute("SELECT message_key FROM in_flight")}

    def outcomes(self) -> list[Outcome]:
        rows = self._con.execute(
            "SELECT message_key, status, reply, attempts, recorded_at FROM outcomes"
        ).fetchall()
        return [Outcome(*row) for row in rows]

    def outcome_status(self, message_key: str) -> str | None:
        """The status recorded for a message and not yet folded into the ledger."""
        row = self._con.execute(
            "SELECT status FROM outcomes WHERE message_key = ?", (message_key,)
        ).fetchone()
        return str(row[0]) if row else None

    # -- claims (what a power loss may have sent) -------------------------------------
    def note_claimed(self, message_keys: Iterable[str]) -> None:
        """The keys of a batch about to be sent, with this boot's id, synced to disk
        (one commit) before the first of them goes out."""
        now = self._clock.now().isoformat()
        with self._transaction():
            self._con.executemany(
                "INSERT OR REPLACE INTO claimed VALUES (?, ?, ?)",
                [(key, boot_id(), now) for key in message_keys],
            )

    def claimed(self) -> dict[str, str]:
        """Claimed keys not yet folded -> the boot id they were claimed in."""
        return {
            str(k): str(b) for k, b in self._con.execute("SELECT message_key, boot_id FROM claimed")
        }

    # -- the fold ---------------------------------------------------------------------
    def forget_folded(
        self, outcomes: Iterable[str], in_flight: Iterable[str], claimed: Iterable[str]
    ) -> None:
        """Outcomes, in-flight marks and claims the ledger now holds are removed (one
        synced commit), then the WAL is checkpointed without waiting for anyone: the
        sending connections never checkpoint (see the fsync policy)."""
        with self._transaction():
            for table, keys in (
                ("outcomes", outcomes),
                ("in_flight", in_flight),
                ("claimed", claimed),
            ):
                self._con.executemany(
                    f"DELETE FROM {table} WHERE message_key = ?", [(k,) for k in keys]
                )
        self._con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    # -- the dispatch lease -------------------------------------------------------------
    def begin_dispatch(self) -> str:
        """A new token for a dispatch that starts now; any earlier one is void."""
        token = uuid.uuid4().hex
        self._con.execute(
            "INSERT OR REPLACE INTO dispatch_lease VALUES (1, ?, ?)",
            (token, self._clock.now().isoformat()),
        )
        return token

    def current_dispatch(self) -> str | None:
        row = self._con.execute("SELECT token FROM dispatch_lease WHERE id = 1").fetchone()
        return str(row[0]) if row else None

    # -- suppressions ---------------------------------------------------------------
    def suppress(
        self, email: str, *, reason: str | None, source: str, at: datetime | None = None
    ) -> bool:
        """Add an address; False when it was suppressed already (the first entry stays)."""
        cursor = self._con.execute(
            "INSERT OR IGNORE INTO suppressions VALUES (?, ?, ?, ?)",
            (normalise_email(email), (at or self._clock.now()).isoformat(), reason, source),
        )
        return cursor.rowcount == 1

    def suppress_many(self, rows: Iterable[tuple[str, str | None, str | None]], source: str) -> int:
        """Add (email, suppressed_at, reason) rows; returns how many were new."""
        before = self._count_suppressions()
        now = self._clock.now().isoformat()
        self._con.execute("BEGIN")
        self._con.executemany(
            "INSERT OR IGNORE INTO suppressions VALUES (?, ?, ?, ?)",
            [(normalise_email(e), at or now, reason, source) for e, at, reason in rows if e],
        )
        self._con.execute("COMMIT")
        return self._count_suppressions() - before

    def objections(self, email: str, client_id: str | None) -> tuple[bool, bool]:
        """(the address is suppressed, the client opted out by link) in one query: the
        check right before every attempt (``client_id`` None: a recipient who is not a
        client)."""
        row = self._con.execute(
            "SELECT EXISTS (SELECT 1 FROM suppressions WHERE email = ?), "
            "EXISTS (SELECT 1 FROM client_opt_outs WHERE client_id = ?)",
            (normalise_email(email), client_id),
        ).fetchone()
        return bool(row[0]), bool(row[1])

    def is_suppressed(self, email: str) -> bool:
        row = self._con.execute(
            "SELECT 1 FROM suppressions WHERE email = ?", (normalise_email(email),)
        ).fetchone()
        return row is not None

    def suppressions(self) -> list[tuple[str, str, str | None, str]]:
        return list(
            self._con.execute(
                "SELECT email, suppressed_at, reason, source FROM suppressions ORDER BY email"
            ).fetchall()
        )

    # -- client opt-outs (by client id) -------------------------------------------------
    def opt_out_client(
        self, client_id: str, *, source: str, reason: str | None = None, at: datetime | None = None
    ) -> bool:
        """Record a client's objection; False when it was recorded already (the first stays)."""
        cursor = self._con.execute(
            "INSERT OR IGNORE INTO client_opt_outs VALUES (?, ?, ?, ?)",
            (client_id, (at or self._clock.now()).isoformat(), source, reason),
        )
        return cursor.rowcount == 1

    def opt_client_back_in(self, client_id: str) -> bool:
        """The client re-subscribed through their own link; False when not opted out."""
        cursor = self._con.execute("DELETE FROM client_opt_outs WHERE client_id = ?", (client_id,))
        return cursor.rowcount == 1

    def client_opt_out(self, client_id: str) -> tuple[str, str, str | None] | None:
        """(opted_out_at, source, reason) of a client who objected, or None."""
        row = self._con.execute(
            "SELECT opted_out_at, source, reason FROM client_opt_outs WHERE client_id = ?",
            (client_id,),
        ).fetchone()
        return (str(row[0]), str(row[1]), row[2]) if row else None

    def client_opt_outs(self) -> list[tuple[str, str, str, str | None]]:
        """Every (client_id, opted_out_at, source, reason), oldest first."""
        return list(
            self._con.execute(
                "SELECT client_id, opted_out_at, source, reason FROM client_opt_outs "
                "ORDER BY opted_out_at, client_id"
            ).fetchall()
        )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._con.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    def _count_suppressions(self) -> int:
        row = self._con.execute("SELECT count(*) FROM suppressions").fetchone()
        return int(row[0]) if row else 0


@contextmanager
def open_journal(path: Path, clock: Clock = SYSTEM_CLOCK) -> Iterator[Journal]:
    journal = Journal(path, clock=clock)
    try:
        yield journal
    finally:
        journal.close()
