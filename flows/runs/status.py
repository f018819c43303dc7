"""What ``votum status`` shows: the run in progress, the last runs, held days waiting for
a person, failed emails, quarantined rows and the next scheduled runs.

Read-only, and only when no run holds the lock: DuckDB lets a file be opened for writing
by one process only while no other has it open, so a look at the figures during a run
could make the run fail. The status then says who is running since when and leaves the
figures for later. Client
personal data is never shown: failed emails are named by their ledger key (kind, day,
client or advisor id), never by address.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from flows.calendar import holiday_name
from flows.errors import WarehouseBusyError
from flows.quality.quarantine import quarantine_reasons
from flows.redact import redact_addresses
from flows.runs.ledger import RunRow, last_runs
from flows.runs.lock import current_holder
from flows.settings import PROJECT_ROOT, Settings
from flows.warehouse import open_warehouse, table_exists


@dataclass(frozen=True)
class HeldDay:
    business_day: date
    reason: str
    held_at: datetime | None
    emails_held: int


@dataclass(frozen=True)
class FailedEmails:
    business_day: date
    kind: str
    count: int
    last_reply: str | None
    example_key: str


@dataclass(frozen=True)
class UncertainEmail:
    """An email whose outcome is unknown (no reply after its end was written)."""

    business_day: date
    kind: str
    message_key: str  # kind, day and client or advisor id: never an address
    resend_due: bool  # a later dispatch sends it once more (VOTUM_RESEND_UNCERTAIN)


@dataclass(frozen=True)
class NotSentEmails:
    """Emails withdrawn (consent at sending) or expired (waited too long), per day."""

    business_day: date
    kind: str
    status: str
    count: int
    reason: str | None


@dataclass(frozen=True)
class Quarantined:
    drop_date: date
    file_kind: str
    rows: int
    reasons: dict[str, int] = field(default_factory=dict)  # reason -> rows, never values


@dataclass(frozen=True)
class ScheduledRun:
    deployment: str
    at: datetime
    note: str | None = None


def warehouse_engine(settings: Settings) -> str:
    """Where dbt builds the marts (VOTUM_DBT_TARGET), with no password."""
    if settings.dbt_target == "postgres":
        return (
            f"postgres {settings.pg_user}@{settings.pg_host}:{settings.pg_port}/"
            f"{settings.pg_database} (marts in schema {settings.pg_schema})"
        )
    if settings.dbt_target == "spark":
        return f"spark {settings.spark_master} (marts in database {settings.spark_schema})"
    return f"duckdb {settings.warehouse_path}"


@dataclass
class Status:
    engine: str = ""
    running: str | None = None
    warehouse_busy: bool = False
    runs: list[RunRow] = field(default_factory=list)
    held_days: list[HeldDay] = field(default_factory=list)
    failed_emails: list[FailedEmails] = field(default_factory=list)
    uncertain_emails: list[UncertainEmail] = field(default_factory=list)
    not_sent_emails: list[NotSentEmails] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    next_runs: list[ScheduledRun] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        return _jsonable(data)  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _warehouse_figures(settings: Settings, status: Status, runs: int) -> None:
    status.runs = last_runs(settings, runs)
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        if table_exists(con, "ops", "day_holds"):
            status.held_days = [
                HeldDay(*row)
                for row in con.execute(
                    """
                    SELECT h.business_day, h.reason, h.held_at,
                           count(l.message_key) FILTER (WHERE l.status = 'held')
                    FROM ops.day_holds h
                    LEFT JOIN ops.delivery_ledger l ON l.business_day = h.business_day
                    WHERE h.decision IS NULL
                    GROUP BY ALL ORDER BY h.business_day
                    """
                ).fetchall()
            ]
        if table_exists(con, "ops", "delivery_ledger"):
            # A 550 reply usually quotes the recipient's address: shown without it.
            status.failed_emails = [
                FailedEmails(day, kind, count, reply and redact_addresses(reply), key)
                for day, kind, count, reply, key in con.execute(
                    """
                    SELECT business_day, kind, count(*),
                           arg_max(coalesce(last_reply, status_reason), updated_at),
                           min(message_key)
                    FROM ops.delivery_ledger WHERE status = 'failed'
                    GROUP BY ALL ORDER BY business_day DESC, kind LIMIT 20
                    """
                ).fetchall()
            ]
            _delivery_exceptions(con, settings, status)
        if table_exists(con, "ops", "quarantine"):
            status.quarantined = [
                Quarantined(day, kind, rows, quarantine_reasons(con, day).get(kind, {}))
                for day, kind, rows in con.execute(
                    """
                    SELECT drop_date, file_kind, count(*) FROM ops.quarantine
                    GROUP BY ALL ORDER BY drop_date DESC, file_kind LIMIT 20
                    """
                ).fetchall()
            ]


def _delivery_exceptions(con: Any, settings: Settings, status: Status) -> None:
    """Uncertain emails by key, and withdrawn or expired ones counted per day."""
    columns = {
        str(r[0])
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'ops' AND table_name = 'delivery_ledger'"
        ).fetchall()
    }
    if "uncertain_sends" in columns:
        resends = 1 if settings.resend_uncertain == "once" else 0
        status.uncertain_emails = [
            UncertainEmail(day, kind, key, bool(due))
            for day, kind, key, due in con.execute(
                """
                SELECT business_day, kind, message_key, uncertain_sends <= ?
                FROM ops.delivery_ledger WHERE status = 'uncertain'
                ORDER BY business_day DESC, message_key LIMIT 50
                """,
                [resends],
            ).fetchall()
        ]
    status.not_sent_emails = [
        NotSentEmails(*row)
        for row in con.execute(
            """
            SELECT business_day, kind, status, count(*), arg_max(status_reason, updated_at)
            FROM ops.delivery_ledger WHERE status IN ('withdrawn', 'expired')
            GROUP BY ALL ORDER BY business_day DESC, kind, status LIMIT 20
            """
        ).fetchall()
    ]


def scheduled_runs(
    prefect_yaml: Path, *, after: datetime | None = None, per_deployment: int = 3
) -> list[ScheduledRun]:
    """The next runs of each deployment's schedules in ``prefect.yaml`` (computed here,
    no Prefect server needed); a daily run falling on a holiday is marked as skipped."""
    from prefect.server.schemas.schedules import CronSchedule

    if not prefect_yaml.exists():
        return []
    config = yaml.safe_load(prefect_yaml.read_text(encoding="utf-8")) or {}
    upcoming: list[ScheduledRun] = []
    for deployment in config.get("deployments") or []:
        for schedule in deployment.get("schedules") or []:
            if not schedule.get("cron") or schedule.get("active") is False:
                continue
            cron = CronSchedule(cron=schedule["cron"], timezone=schedule.get("timezone"))
            dates = asyncio.run(cron.get_dates(per_deployment, start=after))
            for when in dates:
                holiday = holiday_name(when.date())
                upcoming.append(
                    ScheduledRun(
                        deployment=str(deployment.get("name")),
                        at=datetime.fromisoformat(when.isoformat()),
                        note=f"holiday ({holiday}): the run skips" if holiday else None,
                    )
                )
    return sorted(upcoming, key=lambda run: run.at)


def collect_status(settings: Settings, *, runs: int = 10) -> Status:
    status = Status(engine=warehouse_engine(settings))
    holder = current_holder(settings.run_lock_path)
    if holder is not None:
        # Not even a read-only look: DuckDB would refuse the running process its next
        # read-write open while this one has the file open.
        status.running = holder.describe()
        status.warehouse_busy = True
    elif settings.warehouse_path.exists():
        try:
            _warehouse_figures(settings, status, runs)
        except WarehouseBusyError:
            status.warehouse_busy = True
    status.next_runs = scheduled_runs(PROJECT_ROOT / "prefect.yaml")
    return status
