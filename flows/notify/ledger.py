"""The delivery ledger: one row per email votum means to send, in the warehouse
(``ops.delivery_ledger``), owned by Python and never rebuilt by dbt.

A row's life: planned as ``pending`` (or ``held`` when the day's circuit breaker
tripped, or ``failed`` when it cannot be sent at all), claimed as ``sending``, then

* ``sent``: the server answered 2xx to the end of the message;
* ``failed``: the server refused it for good (5xx), or it cannot be rendered;
* ``suppressed``: the address objected (suppression list) before it went out;
* ``withdrawn``: a client digest the client no longer wants, decided right before
  sending: opted out in a later client file, the address is no longer the client's, or
  the client objected through their own link (``status_reason`` says which);
* ``expired``: still not sent ``VOTUM_MAX_PENDING_BUSINESS_DAYS`` business days after
  its business day (or after the day it was planned or released, when later): it does
  not go out late;
* ``uncertain``: the end of the message was written and no reply came (a timeout, the
  connection lost after the final dot, the process killed between the server's reply
  and its record), or the machine restarted while its batch was being sent (a power
  loss: the journal's fsync policy, flows/notify/journal.py). It may have arrived. It
  is never sent again in the same dispatch; with ``VOTUM_RESEND_UNCERTAIN=once`` a
  later dispatch sends it once more, with the same Message-ID (``uncertain_sends``
  counts unknown outcomes: a row is claimed again only while it is 1), and what that
  send brings is final (``sent``, ``failed``, or ``uncertain`` for good); with
  ``never`` it stays ``uncertain``;
* ``pending`` again after a transient failure (4xx, a connection lost before the end of
  the message), for the next dispatch.

A held row is ``discarded`` by a person or released to ``pending``. Planning the same
day twice plans nothing new: rows are keyed by kind, business day and recipient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pyarrow as pa

from flows.calendar import is_business_day
from flows.notify.journal import Journal, boot_id
from flows.warehouse import ensure_schema, first_row, table_exists, transaction

PENDING, HELD, SENDING, SENT, FAILED, SUPPRESSED, DISCARDED = (
    "pending",
    "held",
    "sending",
    "sent",
    "failed",
    "suppressed",
    "discarded",
)
UNCERTAIN, WITHDRAWN, EXPIRED = "uncertain", "withdrawn", "expired"
OPEN_STATUSES = (PENDING, HELD)
CLIENT_DIGEST, ADVISOR_WORKLIST = "client_digest", "advisor_worklist"
# An intraday batch's client email and advisor worklist (flows/intraday): the same
# payloads, keyed by day, batch and recipient; every guarantee of the daily ones holds.
CLIENT_INTRADAY, ADVISOR_INTRADAY = "client_intraday", "advisor_intraday"
CLIENT_KINDS = (CLIENT_DIGEST, CLIENT_INTRADAY)
WORKLIST_KINDS = (ADVISOR_WORKLIST, ADVISOR_INTRADAY)
ADOPTION_REPORT, ADOPTION_SUMMARY = "adoption_report", "adoption_summary"
ADVISOR_WEEKLY = "advisor_weekly"  # an advisor's own week, with the branch reports
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
    recipient_id: str = ""


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    ensure_schema(con)


LEDGER_PLAN_COLUMNS = (
    "message_key, kind, business_day, recipient_id, recipient_name, recipient_email, "
    "language, message_id, content_sha256, change_ids, payload, status, status_reason"
)


def upsert_planned(con: duckdb.DuckDBPyConnection, messages: Sequence[PlannedMessage]) -> int:
    """Add what is new; refresh the content of rows not yet on their way (pending or
    held). Rows already claimed, sent, failed, suppressed or discarded stay as they are:
    a day is never sent twice. A held row stays held, and a pending row becomes held
    when the day's plan says so. Returns how many rows are new."""
    ensure_ledger(con)
    if not messages:
        return 0
    fields = [name.strip() for name in LEDGER_PLAN_COLUMNS.split(",")]
    planned = pa.table(
        {name: [getattr(m, name) for m in messages] for name in fields},
        schema=pa.schema(
            [(name, pa.date32() if name == "business_day" else pa.string()) for name in fields]
        ),
    )
    con.register("planned", planned)
    try:
        return _upsert(con, "planned")
    finally:
        con.unregister("planned")


def upsert_planned_select(
    con: duckdb.DuckDBPyConnection,
    select: str,
    params: Mapping[str, object],
    business_day: date,
    kinds: Sequence[str],
) -> int:
    """:func:`upsert_planned` of the rows a SELECT gives (the columns of
    :data:`LEDGER_PLAN_COLUMNS`, every row of ``business_day`` and one of ``kinds``;
    ``params``: the SELECT's named parameters), in one transaction. A day planned for the
    first time (no row of that day and those kinds yet) goes in with one INSERT ...
    SELECT; a day planned again is upserted from a temporary table. Returns how many
    rows are new."""
    ensure_ledger(con)
    before = _count(con)
    with transaction(con):
        planned_before = first_row(
            con.execute(
                "SELECT count(*) FROM ops.delivery_ledger "
                "WHERE business_day = ? AND list_contains(CAST(? AS VARCHAR[]), kind)",
                [business_day, list(kinds)],
            )
        )
        if planned_before and planned_before[0]:
            con.execute(f"CREATE OR REPLACE TEMP TABLE planned_again AS {select}", dict(params))
            _update_and_insert(con, "planned_again")
            con.execute("DROP TABLE planned_again")
        else:  # no key of these rows can be there (it names the day and the kind)
            con.execute(
                f"INSERT INTO ops.delivery_ledger ({LEDGER_PLAN_COLUMNS}) "
                f"SELECT {LEDGER_PLAN_COLUMNS} FROM ({select})",
                dict(params),
            )
    return _count(con) - before


# What a plan may refresh in a row not yet on its way; a held row stays held (and keeps
# its reason) unless the plan discards it.
_REFRESHED = """
    recipient_name = planned.recipient_name,
    recipient_email = planned.recipient_email,
    language = planned.language,
    message_id = planned.message_id,
    content_sha256 = planned.content_sha256,
    change_ids = planned.change_ids,
    payload = planned.payload,
    status = CASE WHEN ledger.status = 'held' AND planned.status <> 'discarded' THEN 'held'
                  ELSE planned.status END,
    status_reason = CASE WHEN ledger.status = 'held' THEN ledger.status_reason
                         ELSE planned.status_reason END,
    updated_at = now()
"""


def _upsert(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    before = _count(con)
    with transaction(con):
        _update_and_insert(con, relation)
    return _count(con) - before


def _update_and_insert(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    # An UPDATE of the rows there and an INSERT of the others, not INSERT ... ON CONFLICT
    # DO UPDATE: DuckDB runs that as a MERGE that first groups the new rows (payloads and
    # all) by key, the costliest step of planning a large day. A row's key names its
    # business day (kind:day:recipient), so only that day's rows are compared; a key
    # found under another day would fail the INSERT on the primary key, never pass.
    con.execute(
        f"""
        UPDATE ops.delivery_ledger AS ledger SET {_REFRESHED}
        FROM {relation} AS planned
        WHERE ledger.message_key = planned.message_key
          AND ledger.business_day = planned.business_day
          AND ledger.status IN ('pending', 'held')
        """
    )
    con.execute(
        f"""
        INSERT INTO ops.delivery_ledger ({LEDGER_PLAN_COLUMNS})
        SELECT {LEDGER_PLAN_COLUMNS} FROM {relation} AS planned
        WHERE planned.message_key NOT IN (
            SELECT message_key FROM ops.delivery_ledger
            WHERE business_day IN (SELECT business_day FROM {relation}))
        """
    )


def _count(con: duckdb.DuckDBPyConnection) -> int:
    row = first_row(con.execute("SELECT count(*) FROM ops.delivery_ledger"))
    return int(row[0]) if row else 0


def resends_allowed(policy: str) -> int:
    """How many times an email whose outcome was unknown is sent again
    (``VOTUM_RESEND_UNCERTAIN``): ``once`` 1, ``never`` 0."""
    return 1 if policy == "once" else 0


# Rows a dispatch may send: pending ones, and uncertain ones that may go once more
# (``uncertain_sends`` is 1 after the first unknown outcome; the parameter is the number
# of resends allowed).
def _sendable(table: str = "") -> str:
    column = f"{table}." if table else ""
    return (
        f"({column}status = 'pending' OR "
        f"({column}status = 'uncertain' AND {column}uncertain_sends <= ?))"
    )


_SENDABLE = _sendable()


def claim(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    limit: int,
    business_day: date | None = None,
    exclude: Iterable[str] = (),
    resends: int = 1,
) -> list[ClaimedMessage]:
    """Mark up to ``limit`` sendable rows of ``kind`` (pending, or uncertain and allowed
    ``resends`` more sends) as sending (committed) and return them; rows in ``exclude``
    (tried already in this dispatch) are left alone. One transaction: the keys are
    chosen, marked and read back by joins on the chosen keys (an ``UPDATE ... WHERE key
    IN (subquery) RETURNING`` of the payloads took ten times as long)."""
    day_filter = "AND business_day = ?" if business_day else ""
    params: list[object] = [resends, kind, *([business_day] if business_day else []), limit]
    excluded = pa.table({"message_key": pa.array(list(exclude), pa.string())})
    with transaction(con):
        con.register("claim_excluded", excluded)
        try:
            keys = [
                str(row[0])
                for row in con.execute(
                    f"""
                    SELECT message_key FROM ops.delivery_ledger
                    WHERE {_SENDABLE} AND kind = ? {day_filter}
                      AND message_key NOT IN (SELECT message_key FROM claim_excluded)
                    ORDER BY business_day, message_key
                    LIMIT ?
                    """,
                    params,
                ).fetchall()
            ]
        finally:
            con.unregister("claim_excluded")
        if not keys:
            return []
        con.register("claim_keys", pa.table({"message_key": pa.array(keys, pa.string())}))
        try:
            con.execute(
                "UPDATE ops.delivery_ledger AS ledger SET status = 'sending', updated_at = now() "
                "FROM claim_keys WHERE ledger.message_key = claim_keys.message_key"
            )
            rows = con.execute(
                """
                SELECT ledger.message_key, kind, business_day, recipient_name,
                       recipient_email, language, message_id, payload, attempts, recipient_id
                FROM ops.delivery_ledger AS ledger JOIN claim_keys USING (message_key)
                ORDER BY ledger.message_key
                """
            ).fetchall()
        finally:
            con.unregister("claim_keys")
    return [ClaimedMessage(*row) for row in rows]


UNKNOWN_AFTER_CRASH = (
    "outcome unknown: the sending process stopped after the end of the message was "
    "written and before its outcome was recorded"
)
UNKNOWN_AFTER_RESTART = (
    "outcome unknown: the machine restarted (a power loss or a crash of the operating "
    "system) while this email's batch was being sent, before its outcome was on disk"
)


def apply_journal(con: duckdb.DuckDBPyConnection, journal: Journal) -> int:
    """Copy the journal's send outcomes into the ledger, then clear them from the
    journal. Rows still marked ``sending`` without an outcome were claimed by a process
    that died: those the journal marks in flight (the end of the message was written;
    the server may have taken it) become ``uncertain``, and so do those claimed before
    the machine restarted (their marks may be lost with the power; see the fsync policy
    in flows/notify/journal.py); the rest go back to ``pending``. An uncertain row goes
    at most once more, with the same Message-ID (see the module description)."""
    outcomes = journal.outcomes()
    in_flight = journal.in_flight()
    claimed = journal.claimed()
    recorded = {o.message_key for o in outcomes}
    unknown = sorted(in_flight - recorded)
    this_boot = boot_id()
    restarted = sorted(
        key
        for key, boot in claimed.items()
        if boot != this_boot and key not in recorded and key not in in_flight
    )
    with transaction(con):
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
                    status_reason = CASE WHEN outcomes.status = 'withdrawn'
                                         THEN outcomes.reply ELSE ledger.status_reason END,
                    attempts = ledger.attempts + outcomes.attempts,
                    uncertain_sends = coalesce(ledger.uncertain_sends, 0)
                        + CASE WHEN outcomes.status = 'uncertain' THEN 1 ELSE 0 END,
                    sent_at = CASE WHEN outcomes.status = 'sent'
                                   THEN CAST(outcomes.recorded_at AS TIMESTAMP) END,
                    updated_at = now()
                FROM outcomes
                WHERE ledger.message_key = outcomes.message_key
                  AND ledger.status IN ('sending', 'pending', 'uncertain')
                """
            )
            con.execute("DROP TABLE outcomes")
        for keys, reason in ((unknown, UNKNOWN_AFTER_CRASH), (restarted, UNKNOWN_AFTER_RESTART)):
            if keys:
                con.execute(
                    """
                    UPDATE ops.delivery_ledger
                    SET status = 'uncertain', last_reply = ?,
                        uncertain_sends = coalesce(uncertain_sends, 0) + 1, updated_at = now()
                    WHERE status = 'sending' AND list_contains(CAST(? AS VARCHAR[]), message_key)
                    """,
                    [reason, keys],
                )
        con.execute(
            "UPDATE ops.delivery_ledger SET status = 'pending', updated_at = now() "
            "WHERE status = 'sending'"
        )
    journal.forget_folded(recorded, in_flight, claimed)
    return len(outcomes)


def pending_count(
    con: duckdb.DuckDBPyConnection,
    business_day: date | None = None,
    kinds: Sequence[str] | None = None,
    resends: int = 1,
) -> int:
    """Rows a dispatch would send: pending, and uncertain ones allowed ``resends``."""
    day_filter = "AND business_day = ?" if business_day else ""
    kind_filter = "AND list_contains(CAST(? AS VARCHAR[]), kind)" if kinds is not None else ""
    params: list[object] = [resends, *([business_day] if business_day else [])]
    if kinds is not None:
        params.append(list(kinds))
    row = first_row(
        con.execute(
            "SELECT count(*) FROM ops.delivery_ledger "
            f"WHERE {_SENDABLE} {day_filter} {kind_filter}",
            params,
        )
    )
    return int(row[0]) if row else 0


# -- consent and age, decided right before sending ------------------------------------

OPTED_OUT_SINCE = "withdrawn: the client opted out in a later client file"
ADDRESS_CHANGED = "withdrawn: the email address is no longer the client's"
OPTED_OUT_BY_LINK = "withdrawn: the client objected through their opt-out link"
# Emails that say what changed on a business day: late, they mislead.
EXPIRING_KINDS = (*CLIENT_KINDS, *WORKLIST_KINDS)


def _scope(business_day: date | None, kinds: Sequence[str] | None) -> tuple[str, list[object]]:
    """SQL conditions (on ``ledger``) and their parameters for one day and some kinds."""
    sql = ""
    params: list[object] = []
    if business_day is not None:
        sql += " AND ledger.business_day = ?"
        params.append(business_day)
    if kinds is not None:
        sql += " AND list_contains(CAST(? AS VARCHAR[]), ledger.kind)"
        params.append(list(kinds))
    return sql, params


def withdraw_unwanted(
    con: duckdb.DuckDBPyConnection,
    resends: int = 1,
    business_day: date | None = None,
    kinds: Sequence[str] | None = None,
) -> int:
    """Client digests waiting to be sent (pending, or uncertain and to be sent again)
    whose client, by the latest client file (``dim_clients``), no longer wants them or
    no longer has their address: ``withdrawn`` with the reason. Master data changes only
    with a drop, which no run loads while a dispatch holds the warehouse; the journal's
    objections are checked per message by the sender. Returns how many."""
    if not table_exists(con, "main", "dim_clients"):
        return 0
    scope, scope_params = _scope(business_day, kinds)
    row = first_row(
        con.execute(
            f"""
            UPDATE ops.delivery_ledger AS ledger
            SET status = 'withdrawn',
                status_reason = CASE WHEN NOT coalesce(clients.notify_opt_in, false)
                                     THEN ? ELSE ? END,
                updated_at = now()
            FROM main.dim_clients AS clients
            WHERE ledger.kind IN ('client_digest', 'client_intraday')
              AND {_sendable("ledger")}
              AND clients.client_id = ledger.recipient_id
              AND (NOT coalesce(clients.notify_opt_in, false)
                   OR lower(trim(coalesce(clients.email, '')))
                      <> lower(trim(coalesce(ledger.recipient_email, ''))))
              {scope}
            """,
            [OPTED_OUT_SINCE, ADDRESS_CHANGED, resends, *scope_params],
        )
    )
    return int(row[0]) if row else 0


def business_days_after(start: date, end: date) -> int:
    """Business days after ``start`` up to ``end`` included (0 when ``end <= start``)."""
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        days += is_business_day(day)
    return days


def is_overdue(
    business_day: date, planned_on: date, released_on: date | None, today: date, limit: int
) -> bool:
    """Whether an email waited more than ``limit`` business days, counted from the later
    of its business day and the day it was planned or released (a backfill, a replayed
    past day or a held day released by a person do not expire at once)."""
    start = max(business_day, planned_on, released_on or planned_on)
    return business_days_after(start, today) > limit


def expire_overdue(
    con: duckdb.DuckDBPyConnection,
    today: date,
    limit: int,
    resends: int = 1,
    business_day: date | None = None,
    kinds: Sequence[str] | None = None,
) -> int:
    """Digests and worklists waiting to be sent for more than ``limit`` business days
    (see :func:`is_overdue`; ``today`` in Europe/Berlin) become ``expired``. Returns how
    many."""
    scope, scope_params = _scope(business_day, kinds)
    rows = con.execute(
        f"""
        SELECT ledger.message_key, ledger.business_day,
               CAST(timezone('Europe/Berlin', CAST(ledger.planned_at AS TIMESTAMPTZ)) AS DATE),
               CAST(timezone('Europe/Berlin', CAST(holds.decided_at AS TIMESTAMPTZ)) AS DATE)
        FROM ops.delivery_ledger AS ledger
        LEFT JOIN ops.day_holds AS holds
            ON holds.business_day = ledger.business_day AND holds.decision = 'released'
        WHERE {_sendable("ledger")}
          AND list_contains(CAST(? AS VARCHAR[]), ledger.kind) {scope}
        """,
        [resends, list(EXPIRING_KINDS), *scope_params],
    ).fetchall()
    overdue = [
        key
        for key, day, planned, released in rows
        if is_overdue(day, planned, released, today, limit)
    ]
    if not overdue:
        return 0
    con.execute(
        """
        UPDATE ops.delivery_ledger
        SET status = 'expired', updated_at = now(),
            status_reason = 'expired: not sent within ' || ? || ' business days'
        WHERE list_contains(CAST(? AS VARCHAR[]), message_key)
        """,
        [str(limit), overdue],
    )
    return len(overdue)


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
    with transaction(con):
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
    return int(changed[0]) if changed else 0
