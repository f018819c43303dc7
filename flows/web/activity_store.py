"""The advisors' clicks on worklist action links: a small SQLite file under
``VOTUM_HOME`` (``worklist_activities.sqlite``, WAL) that ``votum serve`` writes at once,
while a run may hold the DuckDB warehouse for minutes. Each run copies the rows into the
warehouse (:mod:`flows.web.activity_sync`), where they count like the CRM's own.

One row per token: the activity id is derived from what the token is bound to, so a
replayed POST records nothing new.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

BANK_TZ = ZoneInfo("Europe/Berlin")
SOURCE_WORKLIST = "worklist"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS worklist_activities (
    activity_id TEXT PRIMARY KEY,
    advisor_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    isin TEXT,
    activity_type TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT,
    alert_day TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    source TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class WorklistActivity:
    activity_id: str
    advisor_id: str
    client_id: str
    isin: str | None
    activity_type: str  # the CRM's type: call, meeting, alert_acknowledged
    action: str  # as clicked: called, meeting, not_reached, no_contact
    reason: str | None  # no_contact only
    alert_day: str  # ISO date of the worklist
    occurred_at: str  # bank time (Europe/Berlin) without offset, like the CRM's export
    recorded_at: str  # UTC, ISO
    source: str = SOURCE_WORKLIST


def activity_id_for(advisor_id: str, client_id: str, alert_day: str, isin: str, action: str) -> str:
    """``wl-`` and a hash of what the token is bound to: one row per link."""
    text = "\x1f".join((advisor_id, client_id, alert_day, isin, action))
    return "wl-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


class ActivityStore:
    """One connection; use one per thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")
        self._con.executescript(_SCHEMA)

    def close(self) -> None:
        self._con.close()

    def record(
        self,
        *,
        advisor_id: str,
        client_id: str,
        isin: str,
        alert_day: str,
        activity_type: str,
        action: str,
        reason: str | None,
        at: datetime | None = None,
    ) -> bool:
        """Record a click; False when this link was recorded already (the first stays)."""
        moment = at or datetime.now(UTC)
        local = moment.astimezone(BANK_TZ).replace(tzinfo=None)
        cursor = self._con.execute(
            "INSERT OR IGNORE INTO worklist_activities VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                activity_id_for(advisor_id, client_id, alert_day, isin, action),
                advisor_id,
                client_id,
                isin or None,
                activity_type,
                action,
                reason,
                alert_day,
                local.isoformat(sep=" ", timespec="seconds"),
                moment.astimezone(UTC).isoformat(),
                SOURCE_WORKLIST,
            ),
        )
        return cursor.rowcount == 1

    def activities(self, since: date | None = None) -> list[WorklistActivity]:
        """Every recorded click (occurred on or after ``since``), oldest first."""
        rows = self._con.execute(
            "SELECT activity_id, advisor_id, client_id, isin, activity_type, action, reason, "
            "alert_day, occurred_at, recorded_at, source FROM worklist_activities "
            "WHERE occurred_at >= ? ORDER BY occurred_at, activity_id",
            ((since or date.min).isoformat(),),
        ).fetchall()
        return [WorklistActivity(*row) for row in rows]


@contextmanager
def open_activity_store(path: Path) -> Iterator[ActivityStore]:
    store = ActivityStore(path)
    try:
        yield store
    finally:
        store.close()
