"""What the bank's CRM must mirror: opt-outs and suppressions (``votum suppressions``)
and the advisors' worklist clicks (``votum activities``), as rows for CSV. Read from the
journal and the activity store (SQLite), never from the warehouse, so they work while a
run is going."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date

from flows.notify.journal import Journal
from flows.web.activity_store import ActivityStore

SUPPRESSION_COLUMNS = ("kind", "client_id", "email", "since", "source", "reason")
# crm_activities.csv's columns, then where the row comes from.
ACTIVITY_COLUMNS = (
    "activity_id",
    "advisor_id",
    "client_id",
    "activity_type",
    "occurred_at",
    "isin",
    "source",
)

CLIENT_OPT_OUT = "client_opt_out"
EMAIL_SUPPRESSION = "email_suppression"


def suppression_rows(journal: Journal, since: date) -> list[tuple[str, ...]]:
    """Client opt-outs (by client id) and suppressed addresses recorded on or after
    ``since``, oldest first."""
    start = since.isoformat()
    rows: list[tuple[str, ...]] = [
        (CLIENT_OPT_OUT, client, "", at, source, reason or "")
        for client, at, source, reason in journal.client_opt_outs()
        if at >= start
    ]
    rows += [
        (EMAIL_SUPPRESSION, "", email, at, source, reason or "")
        for email, at, reason, source in journal.suppressions()
        if at >= start
    ]
    return sorted(rows, key=lambda row: (row[3], row[0], row[1], row[2]))


def activity_rows(store: ActivityStore, since: date) -> list[tuple[str, ...]]:
    """The worklist clicks on or after ``since`` in crm_activities.csv's columns."""
    return [
        (
            a.activity_id,
            a.advisor_id,
            a.client_id,
            a.activity_type,
            a.occurred_at,
            a.isin or "",
            a.source,
        )
        for a in store.activities(since)
    ]


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A header row and the rows, comma-separated, CRLF line ends (RFC 4180)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()
