"""The advisors' worklist clicks into the warehouse: each run copies the whole list from
the activity store (SQLite, written by ``votum serve``) into ``raw.worklist_activities``,
where dbt counts them beside the CRM's activities (``int_activities_unioned``), like
:mod:`flows.notify.suppressions` mirrors the suppression list."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pyarrow as pa

from flows.warehouse import ensure_schema, transaction
from flows.web.activity_store import ActivityStore

_COLUMNS = pa.schema(
    [
        ("activity_id", pa.string()),
        ("advisor_id", pa.string()),
        ("client_id", pa.string()),
        ("isin", pa.string()),
        ("activity_type", pa.string()),
        ("action", pa.string()),
        ("reason", pa.string()),
        ("alert_day", pa.date32()),
        ("occurred_at", pa.timestamp("us")),
        ("source", pa.string()),
    ]
)


def sync_worklist_activities(con: duckdb.DuckDBPyConnection, store: ActivityStore) -> int:
    """Replace ``raw.worklist_activities`` with the store's rows; returns their number."""
    ensure_schema(con)
    rows = store.activities()
    table = pa.table(
        {
            "activity_id": [r.activity_id for r in rows],
            "advisor_id": [r.advisor_id for r in rows],
            "client_id": [r.client_id for r in rows],
            "isin": [r.isin for r in rows],
            "activity_type": [r.activity_type for r in rows],
            "action": [r.action for r in rows],
            "reason": [r.reason for r in rows],
            "alert_day": [date.fromisoformat(r.alert_day) for r in rows],
            "occurred_at": [datetime.fromisoformat(r.occurred_at) for r in rows],
            "source": [r.source for r in rows],
        },
        schema=_COLUMNS,
    )
    with transaction(con):
        con.execute("DELETE FROM raw.worklist_activities")
        con.register("store_worklist_activities", table)
        con.execute("INSERT INTO raw.worklist_activities SELECT * FROM store_worklist_activities")
        con.unregister("store_worklist_activities")
    return len(rows)
