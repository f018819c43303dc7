"""What waits for a morning digest: the changes of an intraday batch that a client was not
emailed about (beyond ``VOTUM_MAX_INTRADAY_EMAILS_PER_CLIENT``) go into the next morning
digest planned after the batch was processed, once.

``ops.digest_carry_over`` has a row per processed batch:

* ``carry_after``: the latest business day whose morning digests were already planned
  when the batch was processed (the batch's own day at least). A batch of day D
  processed on D goes into D+1's digest; one processed after D+1's morning was planned
  (a faulty batch corrected the next day) goes into the digest after it, never into a
  replanning of a morning that may have gone out already;
* ``carried_into``: the business day whose morning plan took the batch's waiting changes
  (NULL until one did). A plan of a later day never takes them again; a plan of the same
  day again takes them again (the same digests).

Which of a batch's lines are carried is the plan's business (:mod:`flows.notify.plan_sql`:
eligible lines that no client email carried yet)."""

from __future__ import annotations

from datetime import date

import duckdb

from flows.notify.ledger import ADVISOR_WORKLIST, CLIENT_DIGEST
from flows.warehouse import ensure_schema, first_row, table_exists

CARRY_TABLE = "ops.digest_carry_over"
_MORNING_KINDS = (CLIENT_DIGEST, ADVISOR_WORKLIST)

_DDL = f"""
CREATE TABLE IF NOT EXISTS {CARRY_TABLE} (
    business_day DATE NOT NULL,
    batch_id VARCHAR NOT NULL,
    carry_after DATE NOT NULL,
    carried_into DATE,
    PRIMARY KEY (business_day, batch_id)
)
"""

# The batches processed before this table existed: carried as they were then, into the
# first morning planned after their day (NULL: none yet, the next plan takes them).
_FROM_EARLIER_BATCHES = f"""
INSERT INTO {CARRY_TABLE} (business_day, batch_id, carry_after, carried_into)
SELECT batches.business_day, batches.batch_id, batches.business_day,
    (SELECT min(ledger.business_day) FROM ops.delivery_ledger AS ledger
     WHERE ledger.business_day > batches.business_day
       AND list_contains(CAST(? AS VARCHAR[]), ledger.kind))
FROM ops.intraday_batches AS batches
"""


def ensure_carry_table(con: duckdb.DuckDBPyConnection) -> None:
    ensure_schema(con)
    if table_exists(con, "ops", "digest_carry_over"):
        return
    con.execute(_DDL)
    if table_exists(con, "ops", "intraday_batches"):
        con.execute(_FROM_EARLIER_BATCHES, [list(_MORNING_KINDS)])


def note_batch(con: duckdb.DuckDBPyConnection, day: date, batch_id: str) -> date:
    """Record a batch being planned: its waiting changes go into the first morning
    digest planned after the latest one planned so far (the batch's day at least).
    Returns that ``carry_after`` day."""
    ensure_carry_table(con)
    row = first_row(
        con.execute(
            "SELECT max(business_day) FROM ops.delivery_ledger "
            "WHERE business_day >= ? AND list_contains(CAST(? AS VARCHAR[]), kind)",
            [day, list(_MORNING_KINDS)],
        )
    )
    after = max(day, row[0]) if row and row[0] else day
    con.execute(
        f"INSERT INTO {CARRY_TABLE} (business_day, batch_id, carry_after) VALUES (?, ?, ?) "
        "ON CONFLICT (business_day, batch_id) DO UPDATE SET carry_after = excluded.carry_after "
        f"WHERE {CARRY_TABLE}.carried_into IS NULL",
        [day, batch_id, after],
    )
    return after


def take_for_digest(con: duckdb.DuckDBPyConnection, day: date) -> date | None:
    """The morning plan of ``day`` takes every batch waiting for a digest (processed
    before ``day``'s morning digests were first planned) and those it took before.
    Returns the earliest business day among them (None: no batch)."""
    ensure_carry_table(con)
    con.execute(
        f"UPDATE {CARRY_TABLE} SET carried_into = ? WHERE carried_into IS NULL AND carry_after < ?",
        [day, day],
    )
    row = first_row(
        con.execute(f"SELECT min(business_day) FROM {CARRY_TABLE} WHERE carried_into = ?", [day])
    )
    return row[0] if row else None
