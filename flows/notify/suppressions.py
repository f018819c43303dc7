"""Keeping the suppression list in one place. The journal (SQLite) is the list of
record, because ``votum suppress`` must be able to write it while a run holds the
warehouse. Each run copies the drops' ``suppressions.csv`` rows into it and mirrors the
whole list into ``raw.suppression_list`` for dbt, so the marts say ``suppressed`` too."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from flows.notify.journal import Journal
from flows.warehouse import ensure_schema, transaction


def sync_suppressions(con: duckdb.DuckDBPyConnection, journal: Journal) -> int:
    """Drops' suppressions into the journal; the journal's list into the warehouse.
    Returns how many addresses were new to the journal."""
    ensure_schema(con)
    from_drops = con.execute(
        """
        SELECT email, CAST(suppressed_at AS VARCHAR), reason FROM raw.suppressions
        WHERE email IS NOT NULL ORDER BY _drop_date
        """
    ).fetchall()
    added = journal.suppress_many(
        ((str(e), None if at is None else str(at), r) for e, at, r in from_drops), source="drop"
    )
    rows = journal.suppressions()
    table = pa.table(
        {
            "email": [r[0] for r in rows],
            "suppressed_at": [r[1] for r in rows],
            "reason": [r[2] for r in rows],
            "source": [r[3] for r in rows],
        },
        schema=pa.schema(
            [
                ("email", pa.string()),
                ("suppressed_at", pa.string()),
                ("reason", pa.string()),
                ("source", pa.string()),
            ]
        ),
    )
    with transaction(con):
        con.execute("DELETE FROM raw.suppression_list")
        con.register("journal_suppressions", table)
        con.execute("INSERT INTO raw.suppression_list SELECT * FROM journal_suppressions")
        con.unregister("journal_suppressions")
    return added
