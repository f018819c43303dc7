"""The run ledger (``ops.run_ledger`` in the warehouse): every run of a votum flow, its
outcome and where it stopped.

A run is written when it starts (outcome ``running``, with the stage it is in) and again
when it ends: ``succeeded``, ``held`` (the circuit breaker or a blocking check kept the
day's emails back), ``degraded`` (it went through, but emails were left pending, failed
or of unknown outcome), ``skipped`` (a scheduled run on a weekend or holiday),
``refused`` (a day it must not run: after today, before the last processed day, a
weekend) or ``failed`` with the stage and the reason. A run whose process died shows as
``failed`` with the reason ``interrupted`` once the next run starts (that run holds the
run lock, so no other run can still be going). Counts and seconds per stage are JSON
objects of numbers: no client personal data; email addresses and quoted values are taken
out of every reason (flows/redact.py).

Recording the end of a failed run can fail too (a full disk): that is logged, the end
hook (the operations alert) is still called, and the run's own error goes on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from flows.errors import RunRefusedError, VotumError
from flows.redact import redact_addresses, redact_database_error
from flows.settings import Settings
from flows.warehouse import ensure_schema, open_warehouse, out_of_memory_explained, table_exists

logger = logging.getLogger("votum.runs")
T = TypeVar("T")

RUNNING, SUCCEEDED, HELD, SKIPPED, FAILED = "running", "succeeded", "held", "skipped", "failed"
DEGRADED, REFUSED = "degraded", "refused"
REASON_MAX_CHARS = 1500

_active_runs: set[str] = set()
_guard = threading.Lock()


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def describe_error(exc: BaseException) -> str:
    """The reason a run failed, for the ledger and the operations alert. Our own errors
    carry messages written for a data engineer; anything else is named by its type."""
    # Our own messages name files, columns and checks; anything else (a DuckDB error
    # among them) may quote the value it choked on.
    text = (
        str(exc)
        if isinstance(exc, VotumError)
        else f"{type(exc).__name__}: {redact_database_error(str(exc))}"
    )
    if isinstance(exc, KeyboardInterrupt):
        text = "interrupted (KeyboardInterrupt)"
    return _reason_text(text)


def _reason_text(text: str) -> str:
    """One line, no email address, at most ``REASON_MAX_CHARS``."""
    text = redact_addresses(" ".join(text.split()))
    return text if len(text) <= REASON_MAX_CHARS else text[: REASON_MAX_CHARS - 1] + "…"


@dataclass
class RunRecord:
    """One run, as the flow goes: ``stage()`` times each stage and notes where it is."""

    settings: Settings
    flow: str
    run_date: date | None = None
    week: str | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=_now)
    ended_at: datetime | None = None
    outcome: str = RUNNING
    stage_name: str | None = None
    reason: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    prefect_flow_run_id: str | None = None
    outcome_stage: str | None = None  # the stage that held the run

    @property
    def reported_stage(self) -> str | None:
        """The stage the ledger shows: where a held run was held, else where it is (or
        where it failed)."""
        return self.outcome_stage or self.stage_name

    def stage(self, name: str, call: Callable[[], T]) -> T:
        self.stage_name = name
        self._write()
        started = time.perf_counter()
        with out_of_memory_explained(name):
            result = call()
        self.stage_seconds[name] = round(time.perf_counter() - started, 3)
        return result

    def count(self, values: Mapping[str, Any]) -> None:
        self.counts.update(values)

    def hold(self, reason: str) -> None:
        """The day's emails are held: the run goes on (files, summary) and ends held,
        naming the stage that held it."""
        self.outcome, self.reason, self.outcome_stage = HELD, _reason_text(reason), self.stage_name

    def degrade(self, reason: str) -> None:
        """Emails did not all go out: the run goes on and ends degraded (a held run
        stays held: nothing of its day went out anyway)."""
        if self.outcome != HELD:
            self.outcome, self.reason = DEGRADED, _reason_text(reason)
            self.outcome_stage = self.stage_name

    def skip(self, reason: str) -> None:
        self.outcome, self.reason = SKIPPED, _reason_text(reason)

    @property
    def seconds(self) -> float:
        end = self.ended_at or _now()
        return (end - self.started_at).total_seconds()

    def _write(self) -> None:
        with open_warehouse(self.settings.warehouse_path) as con:
            con.execute(
                """
                INSERT OR REPLACE INTO ops.run_ledger (run_id, flow, run_date, week,
                    started_at, ended_at, outcome, stage, reason, counts, stage_seconds,
                    prefect_flow_run_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    self.run_id,
                    self.flow,
                    self.run_date,
                    self.week,
                    self.started_at,
                    self.ended_at,
                    self.outcome,
                    self.reported_stage,
                    self.reason,
                    json.dumps(self.counts, sort_keys=True, default=str),
                    json.dumps(self.stage_seconds, sort_keys=True),
                    self.prefect_flow_run_id,
                ],
            )


def _mark_interrupted(settings: Settings) -> int:
    with _guard:
        active = sorted(_active_runs)
    with open_warehouse(settings.warehouse_path) as con:
        ensure_schema(con)
        others = f"AND run_id NOT IN ({', '.join('?' for _ in active)})" if active else ""
        rows = con.execute(
            f"""
            UPDATE ops.run_ledger
            SET outcome = '{FAILED}',
                reason = 'interrupted: the process ended before the run recorded an '
                    || 'outcome (killed, or the machine stopped)'
            WHERE outcome = '{RUNNING}' {others}
            RETURNING run_id
            """,
            active,
        ).fetchall()
    return len(rows)


@contextmanager
def recorded_run(
    settings: Settings,
    flow: str,
    *,
    run_date: date | None = None,
    week: str | None = None,
    prefect_flow_run_id: str | None = None,
    on_end: Callable[[RunRecord], None] | None = None,
) -> Iterator[RunRecord]:
    """Record the block as one run. On an exception the run is written as failed in the
    stage it was in, ``on_end`` is called (the operations alert), and the exception goes
    on. Call only while holding the run lock."""
    interrupted = _mark_interrupted(settings)
    if interrupted:
        logger.warning("%d earlier run(s) had been interrupted; marked failed", interrupted)
    record = RunRecord(
        settings,
        flow,
        run_date=run_date,
        week=week,
        prefect_flow_run_id=prefect_flow_run_id,
    )
    with _guard:
        _active_runs.add(record.run_id)
    try:
        record._write()
        try:
            yield record
        except BaseException as exc:
            record.outcome = REFUSED if isinstance(exc, RunRefusedError) else FAILED
            record.reason = describe_error(exc)
            record.ended_at = _now()
            # The run's own error goes on whatever happens while it is recorded.
            _write_after_failure(record)
            if on_end is not None and isinstance(exc, Exception):
                _end_after_failure(on_end, record)
            raise
        if record.outcome == RUNNING:
            record.outcome = SUCCEEDED
        record.ended_at = _now()
        record._write()
        if on_end is not None:
            on_end(record)
    finally:
        with _guard:
            _active_runs.discard(record.run_id)


def _write_after_failure(record: RunRecord) -> None:
    try:
        record._write()
    except Exception as write_error:  # noqa: BLE001 - logged; the run's own error wins
        logger.error(
            "the run ledger could not record run %s as %s (%s); its own error follows",
            record.run_id,
            record.outcome,
            describe_error(write_error),
        )


def _end_after_failure(on_end: Callable[[RunRecord], None], record: RunRecord) -> None:
    try:
        on_end(record)
    except Exception as end_error:  # noqa: BLE001 - logged; the run's own error wins
        logger.error(
            "the end of failed run %s (summary, operations alert) could not be completed "
            "(%s); its own error follows",
            record.run_id,
            describe_error(end_error),
        )


@dataclass(frozen=True)
class RunRow:
    run_id: str
    flow: str
    run_date: date | None
    week: str | None
    started_at: datetime
    ended_at: datetime | None
    outcome: str
    stage: str | None
    reason: str | None
    counts: dict[str, Any]
    stage_seconds: dict[str, float]


def last_runs(settings: Settings, limit: int = 10) -> list[RunRow]:
    """The newest runs first (read-only)."""
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        if not table_exists(con, "ops", "run_ledger"):
            return []
        rows = con.execute(
            """
            SELECT run_id, flow, run_date, week, started_at, ended_at, outcome, stage,
                   reason, counts, stage_seconds
            FROM ops.run_ledger ORDER BY started_at DESC, run_id LIMIT ?
            """,
            [limit],
        ).fetchall()
    return [
        RunRow(
            run_id=row[0],
            flow=row[1],
            run_date=row[2],
            week=row[3],
            started_at=row[4],
            ended_at=row[5],
            outcome=row[6],
            stage=row[7],
            reason=row[8],
            counts=json.loads(row[9]),
            stage_seconds=json.loads(row[10]),
        )
        for row in rows
    ]
