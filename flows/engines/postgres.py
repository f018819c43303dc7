"""PostgreSQL as the warehouse of the dbt models (``VOTUM_DBT_TARGET=postgres``).

The first step of the scale-out path: ingest, the quality gates, the ledgers and
dispatch still work on the DuckDB warehouse; the dbt project builds the same models on
PostgreSQL from a copy of the raw layer. :func:`copy_raw_layer` bulk-copies every table
the dbt project declares as a source (``raw.*``, the business calendar, the run context,
the columns of ``ops.delivery_ledger`` that dbt reads) from the DuckDB file into the same
schemas on PostgreSQL: DuckDB writes each table as CSV, ``COPY ... FROM STDIN`` loads it,
one transaction for all tables, so that dbt never sees half a raw layer.
:func:`build_marts_on_postgres` copies and then runs the daily ``dbt build`` there.

From the command line, after ``votum run`` has loaded and built a day on DuckDB::

    python -m flows.engines.postgres --date 2026-10-05

The connection comes from ``VOTUM_PG_HOST``, ``VOTUM_PG_PORT``, ``VOTUM_PG_DATABASE``,
``VOTUM_PG_USER``, ``VOTUM_PG_PASSWORD`` and ``VOTUM_PG_SCHEMA`` (the marts' schema).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import yaml  # type: ignore[import-untyped]
from psycopg2 import sql

from flows.errors import ConfigurationError, VotumError, WarehouseError
from flows.quality.gates import RuleOutcome, run_checkpoint
from flows.quality.gx_project import (
    EXPECTATIONS_DIR,
    MART_CHECKPOINT,
    build_project,
    open_context,
    release_engine,
)
from flows.settings import Settings, get_settings
from flows.transform import DAILY_BUILD_EXCLUDES, DbtResult, invoke_dbt
from flows.warehouse import open_warehouse

logger = logging.getLogger("votum.postgres")

TARGET = "postgres"

# Of the delivery ledger dbt reads only when each email went out (stg_ops__delivery_ledger);
# the payloads and addresses stay in the DuckDB warehouse and are not copied.
COLUMNS_READ_BY_DBT: dict[tuple[str, str], tuple[str, ...]] = {
    ("ops", "delivery_ledger"): (
        "message_key",
        "kind",
        "business_day",
        "recipient_id",
        "status",
        "sent_at",
    ),
}

# DuckDB's type names (information_schema.columns.data_type) and PostgreSQL's, spelled as
# PostgreSQL's format_type() prints them, so that an existing table can be compared.
_SIMPLE_TYPES: dict[str, str] = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "UTINYINT": "smallint",
    "SMALLINT": "smallint",
    "USMALLINT": "integer",
    "INTEGER": "integer",
    "UINTEGER": "bigint",
    "BIGINT": "bigint",
    "UBIGINT": "numeric(20,0)",
    "HUGEINT": "numeric(39,0)",
    "UHUGEINT": "numeric(39,0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time without time zone",
    "TIMESTAMP": "timestamp without time zone",
    "TIMESTAMP_S": "timestamp without time zone",
    "TIMESTAMP_MS": "timestamp without time zone",
    "TIMESTAMP_NS": "timestamp without time zone",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "text",
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL type that holds every value of a DuckDB column type exactly."""
    name = duckdb_type.strip().upper()
    if name in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[name]
    decimal = _DECIMAL.fullmatch(name)
    if decimal:
        return f"numeric({decimal.group(1)},{decimal.group(2)})"
    raise WarehouseError(f"No PostgreSQL type for the DuckDB type {duckdb_type!r}")


@dataclass(frozen=True)
class SourceTable:
    schema: str
    name: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def source_tables(project_dir: Path) -> tuple[SourceTable, ...]:
    """Every table the dbt project declares as a source (``sources:`` of its YAML files),
    in a stable order."""
    tables: set[SourceTable] = set()
    for path in sorted((project_dir / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for source in document.get("sources") or ():
            schema = source.get("schema") or source["name"]
            for table in source.get("tables") or ():
                tables.add(SourceTable(schema, table.get("identifier") or table["name"]))
    if not tables:
        raise ConfigurationError(f"The dbt project {project_dir} declares no sources")
    return tuple(sorted(tables, key=lambda t: (t.schema, t.name)))


@dataclass(frozen=True)
class CopySummary:
    rows: dict[str, int]
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def on_postgres(settings: Settings) -> Settings:
    """The same settings with the PostgreSQL dbt target."""
    if settings.dbt_target == TARGET:
        return settings
    return settings.model_copy(update={"dbt_target": TARGET})


@contextmanager
def connect(settings: Settings) -> Iterator[Any]:
    """A psycopg2 connection to the PostgreSQL warehouse, closed on exit. The error
    names the server and database, never the password."""
    password = settings.pg_password.get_secret_value() if settings.pg_password else None
    where = f"{settings.pg_user}@{settings.pg_host}:{settings.pg_port}/{settings.pg_database}"
    try:
        connection = psycopg2.connect(
            host=settings.pg_host,
            port=settings.pg_port,
            dbname=settings.pg_database,
            user=settings.pg_user,
            password=password,
            connect_timeout=10,
            application_name="votum",
        )
    except psycopg2.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if password:
            reason = reason.replace(password, "***")
        raise WarehouseError(f"Cannot connect to PostgreSQL {where}: {reason}") from None
    with closing(connection):
        connection.set_client_encoding("UTF8")
        yield connection


def _duckdb_columns(con: duckdb.DuckDBPyConnection, table: SourceTable) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [table.schema, table.name],
    ).fetchall()
    if not rows:
        raise WarehouseError(
            f"The DuckDB warehouse has no table {table.qualified}, a source of the dbt "
            "project: run `votum run` for a day first."
        )
    wanted = COLUMNS_READ_BY_DBT.get((table.schema, table.name))
    columns = [(str(name), postgres_type(str(type_))) for name, type_ in rows]
    if wanted is not None:
        columns = [c for c in columns if c[0] in wanted]
    return columns


def _postgres_columns(cursor: Any, table: SourceTable) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
        "FROM pg_attribute AS a "
        "JOIN pg_class AS c ON c.oid = a.attrelid "
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind = 'r' "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (table.schema, table.name),
    )
    return [(str(name), str(type_)) for name, type_ in cursor.fetchall()]


def _prepare_table(cursor: Any, table: SourceTable, columns: list[tuple[str, str]]) -> None:
    """Empty the PostgreSQL table, or create it (again) when its columns differ."""
    identifier = sql.Identifier(table.schema, table.name)
    if _postgres_columns(cursor, table) == columns:
        cursor.execute(sql.SQL("TRUNCATE TABLE {}").format(identifier))
        return
    # CASCADE drops dbt's staging views over the old table; the build recreates them.
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(identifier))
    cursor.execute(
        sql.SQL("CREATE TABLE {} ({})").format(
            identifier,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(type_))
                for name, type_ in columns
            ),
        )
    )


def _copy_table(
    duck: duckdb.DuckDBPyConnection,
    cursor: Any,
    table: SourceTable,
    columns: list[tuple[str, str]],
    folder: Path,
) -> int:
    """DuckDB writes the table as CSV (every value quoted, NULL as an unquoted empty
    field, which PostgreSQL's CSV format reads back as NULL, and "" as the empty
    string); COPY FROM STDIN streams it into PostgreSQL."""
    names = [name for name, _ in columns]
    csv_path = folder / f"{table.schema}.{table.name}.csv"
    select = ", ".join('"' + name.replace('"', '""') + '"' for name in names)
    target = str(csv_path).replace("'", "''")
    result = duck.execute(
        f'COPY (SELECT {select} FROM "{table.schema}"."{table.name}") TO \'{target}\' '
        "(FORMAT csv, HEADER false, FORCE_QUOTE *)"
    ).fetchall()
    rows = int(result[0][0]) if result else 0
    copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(table.schema, table.name),
        sql.SQL(", ").join(sql.Identifier(name) for name in names),
    )
    with csv_path.open("rb") as stream:
        cursor.copy_expert(copy.as_string(cursor), stream, size=1 << 20)
    csv_path.unlink()
    return rows


def copy_raw_layer(
    settings: Settings,
    *,
    duckdb_path: Path | None = None,
    run_date: date | None = None,
) -> CopySummary:
    """Replace the dbt sources on PostgreSQL with the DuckDB warehouse's, in one
    transaction. With ``run_date``, ``raw.run_context`` names that business day (and
    ``VOTUM_SLA_BUSINESS_DAYS``), as :func:`flows.warehouse.set_run_date` does on DuckDB."""
    started = time.perf_counter()
    tables = source_tables(settings.dbt_project_dir)
    rows: dict[str, int] = {}
    path = duckdb_path or settings.warehouse_path
    with (
        open_warehouse(path, read_only=True) as duck,
        tempfile.TemporaryDirectory(prefix="votum-pg-copy-") as tmp,
        connect(settings) as pg,
    ):
        with pg, pg.cursor() as cursor:  # one transaction: commit on success
            for schema in sorted({t.schema for t in tables}):
                cursor.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                )
            for table in tables:
                columns = _duckdb_columns(duck, table)
                _prepare_table(cursor, table, columns)
                rows[table.qualified] = _copy_table(duck, cursor, table, columns, Path(tmp))
            if run_date is not None:
                cursor.execute("DELETE FROM raw.run_context")
                cursor.execute(
                    "INSERT INTO raw.run_context (run_date, sla_business_days) VALUES (%s, %s)",
                    (run_date, settings.sla_business_days),
                )
                rows["raw.run_context"] = 1
        # Fresh statistics, so that the planner knows the tables' sizes for the build.
        pg.autocommit = True
        with pg.cursor() as cursor:
            for table in tables:
                cursor.execute(
                    sql.SQL("ANALYZE {}").format(sql.Identifier(table.schema, table.name))
                )
    summary = CopySummary(rows=rows, seconds=time.perf_counter() - started)
    logger.info(
        "Copied the raw layer to PostgreSQL: %d tables, %d rows in %.1f s",
        len(rows),
        summary.total_rows,
        summary.seconds,
    )
    return summary


def build_marts_on_postgres(
    settings: Settings,
    run_date: date,
    *,
    duckdb_path: Path | None = None,
    full_refresh: bool = False,
) -> DbtResult:
    """Copy the raw layer of the DuckDB warehouse to PostgreSQL and ``dbt build`` the
    models for business day ``run_date`` there (seeds included: a few rows)."""
    pg_settings = on_postgres(settings)
    copy_raw_layer(pg_settings, duckdb_path=duckdb_path, run_date=run_date)
    args = ["build", *DAILY_BUILD_EXCLUDES]
    if full_refresh:
        args.append("--full-refresh")
    return invoke_dbt(pg_settings, args)


def check_marts_on_postgres(settings: Settings) -> list[RuleOutcome]:
    """The mart suites of the committed Great Expectations project, validated inside
    PostgreSQL (GE's SQL data source with psycopg2): a copy of the project under
    ``VOTUM_HOME/quality/gx_postgres`` whose data source is the PostgreSQL warehouse and
    whose queries name the schema of the marts there. The same rules, counted in SQL
    on the server; no table is read into Python."""
    pg_settings = on_postgres(settings)
    project = pg_settings.home_dir / "quality" / "gx_postgres"
    shutil.copytree(EXPECTATIONS_DIR / "gx", project / "gx", dirs_exist_ok=True)
    context = open_context(pg_settings, project)
    try:
        build_project(context, marts_schema=pg_settings.pg_schema)
    finally:
        release_engine(context)
    return run_checkpoint(pg_settings, MART_CHECKPOINT, project_dir=project)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flows.engines.postgres",
        description="Copy the raw layer of the DuckDB warehouse to PostgreSQL and build "
        "the dbt models there for one business day.",
    )
    parser.add_argument("--date", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")
    args = parser.parse_args(argv)
    try:
        result = build_marts_on_postgres(get_settings(), args.date, full_refresh=args.full_refresh)
    except VotumError as exc:
        print(f"error: {exc}")
        return exc.exit_code
    print(json.dumps({"date": args.date.isoformat(), "dbt_nodes": len(result.nodes)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
