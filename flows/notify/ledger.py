"""The delivery ledger: one row per email votum means to send, in the warehouse
(``ops.delivery_ledger``), owned by Python and never rebuilt by dbt.

A row's life: planned as ``pending`` (or ``held`` when the day's circuit breaker
tripped, or ``failed`` when it cannot be sent at all), claimed as ``sending``, then
``sent``, ``failed`` (the server refused it for good) or ``suppressed`` (the address
objected before it went out); ``pending`` again after a transient failure; a held row
is ``discarded`` by a person or released to ``pending``. Planning the same day twice
plans nothing new: rows are keyed by kind, business day and recipient.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from flows.notify.journal import Journal
from flows.warehouse import ensure_schema, first_row

PENDING, HELD, SENDING, SENT, FAILED, SUPPRESSED, DISCARDED = (
    "pending",
    "held",
    "sending",
    "sent",
    "failed",
    "suppressed",
    "discarded",
)
OPEN_STATUSES = (PENDING, HELD)
CLIENT_DIGEST, ADVISOR_WORKLIST = "client_digest", "advisor_worklist"
ADOPTION_REPORT, ADOPTION_SUMMARY = "adoption_report", "adoption_summary"
OPS_ALERT = "ops_alert"


@dataclass(frozen=True)
class PlannedMessage:
    message_key: str
    kind: str
    business_day: date
    recipient_id: str
    recipient_name: str | None
    recipient_email: str | None
    language: str
    message_id: str
    content_sha256: str
    change_ids: str
    payload: str
    status: str  # pending, held or failed
    status_reason: str | None = None


@dataclass(frozen=True)
class ClaimedMessage:
    message_key: str
    kind: str
    business_day: date
    recipient_name: str | None
    recipient_email: str
    language: str
    message_id: str
    payload: str
    attempts: int


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    ensure_schema(con)


def upsert_planned(con: duckdb.DuckDBPyConnection, messages: Sequence[PlannedMessage]) -> int:
    """Add what is new; refresh the content of rows not yet on their way (pending or
    held). Rows already claimed, sent, failed, suppressed or discarded stay as they are:
    a day is never sent twice. A held row stays held, and a pending row becomes held
    when the day's plan says so. Returns how many rows are new."""
    ensure_ledger(con)
    if not messages:
        return 0
    columns = (
        "message_key, kind, business_day, recipient_id, recipient_name, recipient_email, "
        "language, message_id, content_sha256, change_ids, payload, status, status_reason"
    )
    fields = [name.strip() for name in columns.split(",")]
    planned = pa.table(
        {name: [getattr(m, name) for m in messages] for name in fields},
        schema=pa.schema(
            [(name, pa.date32() if name == "business_day" else pa.string()) for name in fields]
        ),
    )
    before = _count(con)
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("planned", planned)
        con.execute(
            f"""
            INSERT INTO ops.delivery_ledger ({columns})
            SELECT {columns} FROM planned
            ON CONFLICT (message_key) DO UPDATE SET
                recipient_name = excluded.recipient_name,
                recipient_email = excluded.recipient_email,
                language = excluded.language,
                message_id = excluded.message_id,
                content_sha256 = excluded.content_sha256,
                change_ids = excluded.change_ids,
                payload = excluded.payload,
                status = CASE
                    WHEN delivery_ledger.status = 'held' AND excluded.status <> 'discarded'
                        THEN 'held'
                    ELSE excluded.status END,
                status_reason = CASE
                    WHEN delivery_ledger.status = 'held' THEN delivery_ledger.status_reason
                    ELSE excluded.status_reason END,
                updated_at = now()
            WHERE delivery_ledger.status IN ('pending', 'held')
            """
        )
        con.unregister("planned")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return _count(con) - before


def _count(con: duckdb.DuckDBPyConnection) -> int:
    row = first_row(con.execute("SELECT count(*) FROM ops.delivery_ledger"))
    return int(row[0]) if row else 0


def claim(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    limit: int,
    business_day: date | None = None,
    exclude: Iterable[str] = (),
) -> list[ClaimedMessage]:
    """Mark up to ``limit`` pending rows of ``kind`` as sending (committed) and return
    them; rows in ``exclude`` (tried already in this dispatch) are left alone."""
    day_filter = "AND business_day = ?" if business_day else ""
    params: list[object] = [kind, *([business_day] if business_day else []), list(exclude), limit]
    rows = con.execute(
        f"""
        UPDATE ops.delivery_ledger
        SET status = 'sending', updated_at = now()
        WHERE message_key IN (
            SELECT message_key FROM ops.delivery_ledger
            WHERE status = 'pending' AND kind = ? {day_filter}
              AND NOT list_contains(CAST(? AS VARCHAR[]), message_key)
            ORDER BY business_day, message_key
            LIMIT ?
        )
        RETURNING message_key, kind, business_day, recipient_name, recipient_email, language,
                  message_id, payload, attempts
        """,
        params,
    ).fetchall()
    return sorted((ClaimedMessage(*row) for row in rows), key=lambda m: m.message_key)


def apply_journal(con: duckdb.DuckDBPyConnection, journal: Journal) -> int:
    """Copy the journal's send outcomes into the ledger, then clear them from the
    journal. Rows still marked ``sending`` without an outcome go back to ``pending``:
    the process that claimed them died. One of them may have been accepted by the server
    just before (its acceptance was not yet recorded); it goes again with the same
    Message-ID, which is the one case of a repeat we cannot rule out."""
    outcomes = journal.outcomes()
    con.execute("BEGIN TRANSACTION")
    try:
        if outcomes:
            table = pa.table(
                {
                    "message_key": [o.message_key for o in outcomes],
                    "status": [o.status for o in outcomes],
                    "reply": [o.reply for o in outcomes],
                    "attempts": pa.array([o.attempts for o in outcomes], pa.int32()),
                    "recorded_at": [o.recorded_at for o in outcomes],
                }
            )
            con.register("outcome_rows", table)
            con.execute(
                "CREATE OR REPLACE TEMP TABLE outcomes AS SELECT message_key, status, reply, "
                "attempts, CAST(recorded_at AS TIMESTAMPTZ) AS recorded_at FROM outcome_rows"
            )
            con.unregister("outcome_rows")
            con.execute(
                """
                UPDATE ops.delivery_ledger AS ledger
                SET status = outcomes.status,
                    last_reply = outcomes.reply,
                    attempts = ledger.attempts + outcomes.attempts,
                    sent_at = CASE WHEN outcomes.status = 'sent'
                                   THEN CAST(outcomes.recorded_at AS TIMESTAMP) END,
                    updated_at = now()
                FROM outcomes
                WHERE ledger.message_key = outcomes.message_key
                  AND ledger.status IN ('sending', 'pending')
                """
            )
            con.execute("DROP TABLE outcomes")
        con.execute(
            "UPDATE ops.delivery_ledger SET status = 'pending', updated_at = now() "
            "WHERE status = 'sending'"
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    journal.forget(o.message_key for o in outcomes)
    return len(outcomes)


def pending_count(
    con: duckdb.DuckDBPyConnection,
    business_day: date | None = None,
    kinds: Sequence[str] | None = None,
) -> int:
    day_filter = "AND business_day = ?" if business_day else ""
    kind_filter = "AND list_contains(CAST(? AS VARCHAR[]), kind)" if kinds is not None else ""
    params: list[object] = [*([business_day] if business_day else [])]
    if kinds is not None:
        params.append(list(kinds))
    row = first_row(
        con.execute(
            "SELECT count(*) FROM ops.delivery_ledger "
            f"WHERE status = 'pending' {day_filter} {kind_filter}",
            params,
        )
    )
    return int(row[0]) if row else 0


def statuses(con: duckdb.DuckDBPyConnection, message_keys: Iterable[str]) -> dict[str, str]:
    keys = list(message_keys)
    if not keys:
        return {}
    rows = con.execute(
        "SELECT message_key, status FROM ops.delivery_ledger WHERE list_contains(?, message_key)",
        [keys],
    ).fetchall()
    return {str(k): str(s) for k, s in rows}


def counts_by_status(
    con: duckdb.DuckDBPyConnection, business_day: date | None = None
) -> dict[tuple[str, str], int]:
    ensure_ledger(con)
    where = "WHERE business_day = ?" if business_day else ""
    rows = con.execute(
        f"SELECT kind, status, count(*) FROM ops.delivery_ledger {where} GROUP BY 1, 2",
        [business_day] if business_day else [],
    ).fetchall()
    return {(str(k), str(s)): int(n) for k, s, n in rows}


def hold_day(con: duckdb.DuckDBPyConnection, business_day: date, reason: str) -> None:
    ensure_ledger(con)
    con.execute(
        "INSERT INTO ops.day_holds (business_day, reason) VALUES (?, ?) "
        "ON CONFLICT (business_day) DO NOTHING",
        [business_day, reason],
    )


def day_hold(con: duckdb.DuckDBPyConnection, business_day: date) -> tuple[str, str | None] | None:
    """(reason, decision) of a day the circuit breaker held, or None."""
    ensure_ledger(con)
    row = first_row(
        con.execute(
            "SELECT reason, decision FROM ops.day_holds WHERE business_day = ?", [business_day]
        )
    )
    return (str(row[0]), row[1]) if row else None


def release_day(con: duckdb.DuckDBPyConnection, business_day: date, note: str | None) -> int:
    """Held rows of the day become pending; returns how many."""
    return _decide(con, business_day, "released", PENDING, note)


def discard_day(con: duckdb.DuckDBPyConnection, business_day: date, reason: str) -> int:
    """Held rows of the day are discarded for good, with the reason; returns how many."""
    return _decide(con, business_day, "discarded", DISCARDED, reason)


def _decide(
    con: duckdb.DuckDBPyConnection, business_day: date, decision: str, status: str, note: str | None
) -> int:
    ensure_ledger(con)
    con.execute("BEGIN TRANSACTION")
    try:
        changed = first_row(
            con.execute(
                """
            UPDATE ops.delivery_ledger
            SET status = ?, status_reason = coalesce(?, status_reason),
                updated_at = now()
            WHERE business_day = ? AND status = 'held'
            """,
                [status, note if status == DISCARDED else None, business_day],
            )
        )
        con.execute(
            "UPDATE ops.day_holds SET decision = ?, decided_at = now(), "
            "decision_note = ? WHERE business_day = ?",
            [decision, note, business_day],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(changed[0]) if changed else 0
