"""The week's client opt-outs per branch for the weekly report.

Clients object through a link of their own email (``votum serve``'s one-click opt-out,
the mailto opt-out); the delivery journal (SQLite) keeps them by client id. Each report
copies the whole list into ``raw.client_opt_outs`` (like the suppression list and the
worklist clicks are copied), and counts those of the week (Monday to Sunday, bank time)
in the branch of the client's advisor (``dim_clients``, ``dim_advisors``). A client who
re-subscribed since is no longer in the list, so no longer counted.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pyarrow as pa

from flows.clock import BANK_TIMEZONE
from flows.notify.journal import Journal
from flows.warehouse import ensure_schema, transaction

NO_BRANCH = "ohne Filiale"

_COLUMNS = pa.schema(
    [
        ("client_id", pa.string()),
        ("opted_out_at", pa.timestamp("us")),  # bank time (Europe/Berlin)
        ("source", pa.string()),
    ]
)


def sync_client_opt_outs(con: duckdb.DuckDBPyConnection, journal: Journal) -> int:
    """Replace ``raw.client_opt_outs`` with the journal's; returns their number."""
    ensure_schema(con)
    rows = journal.client_opt_outs()
    table = pa.table(
        {
            "client_id": [r[0] for r in rows],
            "opted_out_at": [
                datetime.fromisoformat(r[1]).astimezone(BANK_TIMEZONE).replace(tzinfo=None)
                for r in rows
            ],
            "source": [r[2] for r in rows],
        },
        schema=_COLUMNS,
    )
    with transaction(con):
        con.execute(
            "CREATE TABLE IF NOT EXISTS raw.client_opt_outs "
            "(client_id VARCHAR, opted_out_at TIMESTAMP, source VARCHAR)"
        )
        con.execute("DELETE FROM raw.client_opt_outs")
        con.register("journal_client_opt_outs", table)
        con.execute("INSERT INTO raw.client_opt_outs SELECT * FROM journal_client_opt_outs")
        con.unregister("journal_client_opt_outs")
    return len(rows)


def opt_outs_by_branch(con: duckdb.DuckDBPyConnection, monday: date) -> dict[str, int]:
    """Opt-outs of the week starting ``monday`` by the branch of the client's advisor."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'raw' AND table_name = 'client_opt_outs'"
    ).fetchall()[0][0]
    if not exists:
        return {}
    rows = con.execute(
        """
        SELECT coalesce(a.branch, ?) AS branch, count(*) AS opt_outs
        FROM raw.client_opt_outs AS o
        LEFT JOIN dim_clients AS c ON o.client_id = c.client_id
        LEFT JOIN dim_advisors AS a ON c.advisor_id = a.advisor_id
        WHERE o.opted_out_at >= ? AND o.opted_out_at < ?
        GROUP BY 1
        """,
        [NO_BRANCH, monday, monday + timedelta(days=7)],
    ).fetchall()
    return {str(branch): int(count) for branch, count in rows}
