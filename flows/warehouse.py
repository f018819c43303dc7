"""Opening the DuckDB warehouse and the tables that Python owns (the raw layer).

dbt owns every model; this module owns only what dbt reads from (``raw.*``) and, later,
the ledgers. Only one process may write a DuckDB file at a time: a second writer gets a
:class:`~flows.errors.WarehouseBusyError` naming the process that holds it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from flows.calendar import holiday_name, is_business_day
from flows.drop_files import DROP_FILES, LINEAGE_COLUMNS
from flows.errors import WarehouseBusyError, WarehouseError

_LOCK_HOLDER = re.compile(r"PID (\d+)")
logger = logging.getLogger("votum.warehouse")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``BEGIN`` ... ``COMMIT``; on any error ``ROLLBACK`` and the error goes on. When the
    rollback itself fails (a full disk can leave DuckDB with no transaction to roll back),
    that is logged and the ORIGINAL error is what the caller sees, never the rollback's."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error as failed:
            logger.warning("Rollback after an error failed too (%s)", type(failed).__name__)
        raise


def first_row(cursor: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of a result, reading the result to its end: DuckDB 2 refuses other
    work on a connection while a result is only partly fetched (``fetchone`` leaves it
    open)."""
    rows = cursor.fetchall()
    return rows[0] if rows else None


def fetch_dicts(
    con: duckdb.DuckDBPyConnection, query: str, params: list[Any]
) -> list[dict[str, Any]]:
    """The rows of ``query`` as dicts by column name."""
    # Through Arrow: one C++ conversion instead of a Python loop over 130,000 rows.
    rows: list[dict[str, Any]] = con.sql(query, params=params).to_arrow_table().to_pylist()
    return rows


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether ``schema.table`` exists (a read-only look at a warehouse no run set up)."""
    row = first_row(
        con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = ? AND table_name = ?",
            [schema, table],
        )
    )
    return bool(row and row[0])


# The warehouses this process holds open for a run (see held_warehouse), and the
# memory limit each was opened with.
_HELD: dict[Path, duckdb.DuckDBPyConnection] = {}
_HELD_LIMITS: dict[Path, str | None] = {}


def _connect(
    path: Path, *, read_only: bool = False, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = (
        {} if memory_limit is None else {"memory_limit": memory_limit}
    )
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            holder = _LOCK_HOLDER.search(message)
            who = f"process {holder.group(1)}" if holder else "another process"
            raise WarehouseBusyError(
                f"The warehouse {path} is in use by {who}; wait for that run to finish "
                "(only one votum run may write the warehouse at a time)."
            ) from exc
        raise WarehouseError(f"Cannot open the warehouse {path}: {message}") from exc


@contextmanager
def held_warehouse(path: Path, *, memory_limit: str | None = None) -> Iterator[None]:
    """Hold the warehouse open for the length of a run: every ``open_warehouse`` of it
    in this process meanwhile gets a cursor of the held database (a connection of its
    own, with its own transactions) instead of opening the file again, which reads its
    catalogue each time (25-35 ms; a daily run opens it some forty times). Another
    process cannot open the file while it is held, as during any write: the run lock
    serialises them. dbt and Great Expectations open the file with settings of their
    own, which DuckDB refuses beside a held connection: they run inside
    :func:`let_go_of_warehouse`.

    ``memory_limit`` (``VOTUM_WAREHOUSE_MEMORY_LIMIT``) is DuckDB's for the held
    database, so for every cursor of it: without one DuckDB keeps the pages it has read
    (a bank's holdings snapshot) cached up to most of the machine's memory."""
    key = path.resolve()
    if key in _HELD:
        yield
        return
    _HELD[key] = _connect(path, memory_limit=memory_limit)
    _HELD_LIMITS[key] = memory_limit
    try:
        yield
    finally:
        _HELD.pop(key).close()
        _HELD_LIMITS.pop(key, None)


@contextmanager
def out_of_memory_explained(stage: str) -> Iterator[None]:
    """DuckDB's out-of-memory error in a run's stage, as a warehouse error that says
    which stage and which setting to raise."""
    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        limit = next(iter(_HELD_LIMITS.values()), None)
        raise WarehouseError(
            f"Stage {stage} ran out of memory in DuckDB"
            + (f" (VOTUM_WAREHOUSE_MEMORY_LIMIT is {limit})" if limit else "")
            + f": {str(exc).splitlines()[0]}. Raise VOTUM_WAREHOUSE_MEMORY_LIMIT (or give "
            "the machine more memory) and run the day again: it picks up where this one stopped."
        ) from exc


@contextmanager
def let_go_of_warehouse(path: Path) -> Iterator[None]:
    """Close a held warehouse for a while (dbt, Great Expectations), then hold it again."""
    key = path.resolve()
    held = _HELD.pop(key, None)
    if held is None:
        yield
        return
    held.close()
    try:
        yield
    finally:
        _HELD[key] = _connect(path, memory_limit=_HELD_LIMITS.get(key))


@contextmanager
def open_warehouse(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse file, closed on exit (a cursor of the held
    database while a run holds it)."""
    if read_only and not path.exists():
        raise WarehouseError(f"No warehouse at {path}: run `votum run` (or `votum demo`) first.")
    held = _HELD.get(path.resolve())
    con = held.cursor() if held is not None else _connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


_OPS_DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.delivery_ledger (
    message_key VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    business_day DATE NOT NULL,
    recipient_id VARCHAR NOT NULL,
    recipient_name VARCHAR,
    recipient_email VARCHAR,
    language VARCHAR NOT NULL,
    message_id VARCHAR NOT NULL,
    content_sha256 VARCHAR NOT NULL,
    change_ids VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    status_reason VARCHAR,
    attempts INTEGER NOT NULL DEFAULT 0,
    uncertain_sends INTEGER NOT NULL DEFAULT 0,
    last_reply VARCHAR,
    planned_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    sent_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS ops.run_ledger (
    run_id VARCHAR PRIMARY KEY,
    flow VARCHAR NOT NULL,
    run_date DATE,
    week VARCHAR,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    outcome VARCHAR NOT NULL,
    stage VARCHAR,
    reason VARCHAR,
    counts VARCHAR NOT NULL DEFAULT '{}',
    stage_seconds VARCHAR NOT NULL DEFAULT '{}',
    prefect_flow_run_id VARCHAR
);
CREATE TABLE IF NOT EXISTS ops.day_holds (
    business_day DATE PRIMARY KEY,
    reason VARCHAR NOT NULL,
    held_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    decision VARCHAR,
    decided_at TIMESTAMP,
    decision_note VARCHAR
);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables Python owns if they are not there yet (idempotent): the raw
    layer, the business calendar, and in ``ops`` the delivery ledger, the day holds and
    the run ledger."""
    con.execute(_OPS_DDL)
    # Sends whose outcome stayed unknown (flows/notify/ledger.py); a ledger from before.
    con.execute(
        "ALTER TABLE ops.delivery_ledger ADD COLUMN IF NOT EXISTS uncertain_sends INTEGER DEFAULT 0"
    )
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for drop_file in DROP_FILES:
        columns = [f'"{c.name}" {c.type}' for c in drop_file.columns]
        columns += [f"{name} {type_}" for name, type_ in LINEAGE_COLUMNS]
        con.execute(f"CREATE TABLE IF NOT EXISTS {drop_file.table} ({', '.join(columns)})")
        # A warehouse from before an optional column was added gets it (NULL so far).
        for column in drop_file.columns:
            if not column.required:
                con.execute(
                    f'ALTER TABLE {drop_file.table} ADD COLUMN IF NOT EXISTS "{column.name}" '
                    f"{column.type}"
                )
    # Ratings of an intraday batch carry its delivery time (HHMMSS); the morning drop NULL.
    con.execute("ALTER TABLE raw.ratings ADD COLUMN IF NOT EXISTS _batch VARCHAR")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS raw.drop_files (
            drop_date DATE NOT NULL,
            file_kind VARCHAR NOT NULL,
            file_name VARCHAR NOT NULL,
            file_format VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            size_bytes BIGINT NOT NULL,
            rows_loaded BIGINT NOT NULL,
            rows_rejected BIGINT NOT NULL,
            loader_version INTEGER NOT NULL,
            loaded_at TIMESTAMP NOT NULL,
            PRIMARY KEY (drop_date, file_kind)
        )
        """
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS raw.run_context "
        "(run_date DATE NOT NULL, sla_business_days INTEGER NOT NULL DEFAULT 2)"
    )
    _ensure_business_calendar(con)
    # Every suppressed address, mirrored from the delivery journal (flows.notify).
    con.execute(
        "CREATE TABLE IF NOT EXISTS raw.suppression_list (email VARCHAR PRIMARY KEY, "
        "suppressed_at VARCHAR, reason VARCHAR, source VARCHAR)"
    )
    # The advisors' worklist clicks, mirrored from votum serve's store (flows.web).
    con.execute(
        "CREATE TABLE IF NOT EXISTS raw.worklist_activities (activity_id VARCHAR PRIMARY KEY, "
        "advisor_id VARCHAR, client_id VARCHAR, isin VARCHAR, activity_type VARCHAR, "
        "action VARCHAR, reason VARCHAR, alert_day DATE, occurred_at TIMESTAMP, source VARCHAR)"
    )
    con.execute("CREATE TABLE IF NOT EXISTS raw.dbt_seeds_loaded (fingerprint VARCHAR NOT NULL)")
    # The dbt project (and dbt) its views were last created from: see transform.build_marts.
    con.execute("CREATE TABLE IF NOT EXISTS raw.dbt_views_built (fingerprint VARCHAR NOT NULL)")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS raw.rejected_rows (
            drop_date DATE NOT NULL,
            file_kind VARCHAR NOT NULL,
            file_name VARCHAR NOT NULL,
            line BIGINT,
            column_name VARCHAR,
            error_type VARCHAR NOT NULL,
            error_message VARCHAR NOT NULL,
            raw_row VARCHAR
        )
        """
    )


def set_run_date(
    con: duckdb.DuckDBPyConnection, run_date: date, sla_business_days: int = 2
) -> None:
    """Tell the dbt models which business day is being built and the follow-up window
    in business days (raw.run_context)."""
    ensure_schema(con)
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM raw.run_context")
    con.execute("INSERT INTO raw.run_context VALUES (?, ?)", [run_date, sla_business_days])
    con.execute("COMMIT")


CALENDAR_FIRST, CALENDAR_LAST = date(2000, 1, 1), date(2060, 12, 31)


def _ensure_business_calendar(con: duckdb.DuckDBPyConnection) -> None:
    """Every day from 2000 to 2060 with whether it is a business day (Mon-Fri without
    German nationwide holidays, from the ``holidays`` library) and a running count of
    business days, so that SQL finds "the N-th business day after" by arithmetic."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS raw.business_calendar (calendar_date DATE PRIMARY KEY, "
        "is_business_day BOOLEAN NOT NULL, business_day_index INTEGER NOT NULL, "
        "holiday VARCHAR)"
    )
    row = first_row(con.execute("SELECT count(*) FROM raw.business_calendar"))
    if row and row[0]:
        return
    days, flags, indexes, names = [], [], [], []
    index, day = 0, CALENDAR_FIRST
    while day <= CALENDAR_LAST:
        business = is_business_day(day)
        index += business
        days.append(day)
        flags.append(business)
        indexes.append(index)
        names.append(holiday_name(day))
        day += timedelta(days=1)
    table = pa.table(
        {
            "calendar_date": pa.array(days, pa.date32()),
            "is_business_day": flags,
            "business_day_index": pa.array(indexes, pa.int32()),
            "holiday": pa.array(names, pa.string()),
        }
    )
    con.register("calendar_rows", table)
    con.execute("INSERT INTO raw.business_calendar SELECT * FROM calendar_rows")
    con.unregister("calendar_rows")


def loaded_seeds_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint of the seed files last loaded by dbt into this warehouse."""
    ensure_schema(con)
    row = first_row(con.execute("SELECT max(fingerprint) FROM raw.dbt_seeds_loaded"))
    return str(row[0]) if row and row[0] is not None else None


def record_seeds_fingerprint(con: duckdb.DuckDBPyConnection, fingerprint: str) -> None:
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM raw.dbt_seeds_loaded")
    con.execute("INSERT INTO raw.dbt_seeds_loaded VALUES (?)", [fingerprint])
    con.execute("COMMIT")


def built_views_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint of the dbt project whose views are in this warehouse, or None
    when they are not known to be current (a build that creates them is under way, or
    failed)."""
    ensure_schema(con)
    row = first_row(con.execute("SELECT max(fingerprint) FROM raw.dbt_views_built"))
    return str(row[0]) if row and row[0] is not None else None


def record_views_fingerprint(con: duckdb.DuckDBPyConnection, fingerprint: str | None) -> None:
    """Record the project the views were created from; None forgets it (before a build
    that creates them again, so that a failed build leaves them to be created next
    time)."""
    ensure_schema(con)
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM raw.dbt_views_built")
    if fingerprint is not None:
        con.execute("INSERT INTO raw.dbt_views_built VALUES (?)", [fingerprint])
    con.execute("COMMIT")
