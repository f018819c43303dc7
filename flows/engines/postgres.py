"""PostgreSQL as the warehouse of the dbt models (``VOTUM_DBT_TARGET=postgres``).

With the setting, ``votum run`` ingests and checks the drop in the DuckDB landing store
(:mod:`flows.engines.target` says why), then:

1. :func:`copy_raw_layer` brings every table the dbt project declares as a source
   (``raw.*``, the business calendar, the run context, the columns of
   ``ops.delivery_ledger`` that dbt reads) to the same schemas on PostgreSQL: DuckDB
   writes CSV, ``COPY ... FROM STDIN`` loads it, one transaction for all tables, so that
   dbt never sees half a raw layer. Drop-dated tables travel drop by drop: only the
   drops that changed since the last copy.
2. :func:`build_marts_on_postgres` runs the daily ``dbt build`` there.
3. :func:`check_marts_on_postgres` validates the mart suites inside PostgreSQL.
4. :func:`mirror_marts` copies what dbt built back into the DuckDB file, where planning,
   the reports and ``votum status`` read it.

By hand, for a day the DuckDB store has loaded::

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
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
from psycopg2 import sql

from flows.engines.common import (
    CopySummary,
    SelectFor,
    SourceTable,
    manifest_nodes,
    quoted,
    replace_tables,
    source_columns,
    source_tables,
)
from flows.errors import VotumError, WarehouseError
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
    return [(name, postgres_type(type_)) for name, type_ in source_columns(con, table)]


def _postgres_columns(
    cursor: Any, table: SourceTable, *, tables_only: bool = True
) -> list[tuple[str, str]]:
    """Name and type of each column of a table (or, not ``tables_only``, of a view)."""
    cursor.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
        "FROM pg_attribute AS a "
        "JOIN pg_class AS c ON c.oid = a.attrelid "
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND (c.relkind = 'r' OR NOT %s) "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (table.schema, table.name, tables_only),
    )
    return [(str(name), str(type_)) for name, type_ in cursor.fetchall()]


def _prepare_table(cursor: Any, table: SourceTable, columns: list[tuple[str, str]]) -> bool:
    """Keep the PostgreSQL table when its columns are the same (True), or create it
    (again) when they differ or it is missing (False: everything must be copied)."""
    identifier = sql.Identifier(table.schema, table.name)
    if _postgres_columns(cursor, table) == columns:
        return True
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
    return False


# Tables loaded drop by drop carry the drop's date; of them only the drops that changed
# since the last copy travel (a day's holdings, not every snapshot kept). What was copied
# is remembered on PostgreSQL, per table and drop, as a row count and a fingerprint (the
# sum of DuckDB's hash of every row), so that a drop delivered again with corrected rows,
# or one removed from DuckDB (holdings retention), is replaced or removed there too.
DROP_DATE_COLUMN = "_drop_date"
_SYNC_DDL = (
    "CREATE TABLE IF NOT EXISTS ops.votum_raw_sync ("
    "table_name text NOT NULL, drop_date date, row_count bigint NOT NULL, "
    "fingerprint text NOT NULL)"
)
DropState = dict[date | None, tuple[int, str]]


def _duckdb_drops(duck: duckdb.DuckDBPyConnection, table: SourceTable) -> DropState:
    rows = duck.execute(
        f'SELECT "{DROP_DATE_COLUMN}", count(*), CAST(sum(hash(t)) AS VARCHAR) '
        f'FROM "{table.schema}"."{table.name}" AS t GROUP BY 1'
    ).fetchall()
    return {day: (int(count), str(fingerprint)) for day, count, fingerprint in rows}


def _copied_drops(cursor: Any, table: SourceTable) -> DropState:
    cursor.execute(
        "SELECT drop_date, row_count, fingerprint FROM ops.votum_raw_sync WHERE table_name = %s",
        (table.qualified,),
    )
    return {day: (int(count), str(fp)) for day, count, fp in cursor.fetchall()}


def _day_condition(days: Sequence[date | None]) -> str:
    """A SQL condition on the drop date column for these days (our own date values)."""
    parts = [f"DATE '{day.isoformat()}'" for day in days if day is not None]
    conditions = [f'"{DROP_DATE_COLUMN}" IN ({", ".join(parts)})'] if parts else []
    if None in days:
        conditions.append(f'"{DROP_DATE_COLUMN}" IS NULL')
    return " OR ".join(conditions) or "FALSE"


def _sync_table(
    duck: duckdb.DuckDBPyConnection,
    cursor: Any,
    table: SourceTable,
    columns: list[tuple[str, str]],
    folder: Path,
    *,
    kept: bool,
) -> int:
    """Bring one source table on PostgreSQL level with DuckDB's; the rows copied."""
    identifier = sql.Identifier(table.schema, table.name)
    if DROP_DATE_COLUMN not in {name for name, _ in columns}:
        if kept:
            cursor.execute(sql.SQL("TRUNCATE TABLE {}").format(identifier))
        return _copy_table(duck, cursor, table, columns, folder)
    wanted = _duckdb_drops(duck, table)
    copied = _copied_drops(cursor, table) if kept else {}
    if not kept:
        cursor.execute("DELETE FROM ops.votum_raw_sync WHERE table_name = %s", (table.qualified,))
    stale = [day for day in copied if copied[day] != wanted.get(day)]
    missing = [day for day in wanted if copied.get(day) != wanted[day]]
    if kept and stale:
        cursor.execute(
            sql.SQL("DELETE FROM {} WHERE ").format(identifier) + sql.SQL(_day_condition(stale))
        )
        cursor.execute(
            "DELETE FROM ops.votum_raw_sync WHERE table_name = %s AND ("
            "drop_date = ANY(%s) OR (drop_date IS NULL AND %s))",
            (table.qualified, [d for d in stale if d is not None], None in stale),
        )
    if not missing:
        return 0
    rows = _copy_table(duck, cursor, table, columns, folder, where=_day_condition(missing))
    cursor.executemany(
        "INSERT INTO ops.votum_raw_sync (table_name, drop_date, row_count, fingerprint) "
        "VALUES (%s, %s, %s, %s)",
        [(table.qualified, day, *wanted[day]) for day in missing],
    )
    return rows


def _copy_table(
    duck: duckdb.DuckDBPyConnection,
    cursor: Any,
    table: SourceTable,
    columns: list[tuple[str, str]],
    folder: Path,
    *,
    where: str | None = None,
) -> int:
    """DuckDB writes the table (the rows ``where`` holds) as CSV (every value quoted,
    NULL as an unquoted empty field, which PostgreSQL's CSV format reads back as NULL,
    and "" as the empty string); COPY FROM STDIN streams it into PostgreSQL."""
    names = [name for name, _ in columns]
    csv_path = folder / f"{table.schema}.{table.name}.csv"
    select = ", ".join('"' + name.replace('"', '""') + '"' for name in names)
    target = str(csv_path).replace("'", "''")
    result = duck.execute(
        f'COPY (SELECT {select} FROM "{table.schema}"."{table.name}"'
        + (f" WHERE {where}" if where else "")
        + f") TO '{target}' "
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
            cursor.execute(_SYNC_DDL)
            for table in tables:
                columns = _duckdb_columns(duck, table)
                kept = _prepare_table(cursor, table, columns)
                rows[table.qualified] = _sync_table(
                    duck, cursor, table, columns, Path(tmp), kept=kept
                )
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


def publish_raw_layer(settings: Settings, run_date: date | None) -> CopySummary:
    """The raw layer of the DuckDB warehouse on PostgreSQL (the name every engine
    module shares; see :mod:`flows.engines.target`)."""
    return copy_raw_layer(on_postgres(settings), run_date=run_date)


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


# PostgreSQL's type names (format_type()) and the DuckDB types that hold their values; an
# unconstrained ``numeric`` is what PostgreSQL makes of a computed ratio where DuckDB
# makes a double, so it comes back as one.
_DUCKDB_TYPES: dict[str, str] = {
    "text": "VARCHAR",
    "character varying": "VARCHAR",
    "boolean": "BOOLEAN",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "numeric": "DOUBLE",
    "date": "DATE",
    "time without time zone": "TIME",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMPTZ",
    "interval": "INTERVAL",
    "uuid": "UUID",
}
_NUMERIC = re.compile(r"numeric\((\d+),(\d+)\)")
_VARCHAR = re.compile(r"(character varying|character)\(\d+\)")

# The schemas of the dbt project whose relations planning, the quality rules and the
# reports read from the DuckDB warehouse; the target schema (VOTUM_PG_SCHEMA) is DuckDB's
# ``main``. Staging views stay on PostgreSQL: nothing outside dbt reads them.
MIRRORED_SCHEMAS = ("intermediate", "reference")


def duckdb_type(postgres_type_name: str) -> str:
    """The DuckDB type that holds every value of a PostgreSQL column type."""
    name = postgres_type_name.strip().lower()
    if name in _DUCKDB_TYPES:
        return _DUCKDB_TYPES[name]
    if _VARCHAR.fullmatch(name):
        return "VARCHAR"
    numeric = _NUMERIC.fullmatch(name)
    if numeric and int(numeric.group(1)) <= 38:
        return f"DECIMAL({numeric.group(1)},{numeric.group(2)})"
    if numeric:
        return "DOUBLE"
    raise WarehouseError(f"No DuckDB type for the PostgreSQL type {postgres_type_name!r}")


def built_relations(settings: Settings, schemas: Sequence[str]) -> list[SourceTable]:
    """The models and seeds of the last dbt build (its ``manifest.json``) that live in
    ``schemas``: what dbt made, not whatever else a shared schema may hold."""
    nodes = manifest_nodes(settings)
    if nodes is None:
        raise WarehouseError(
            f"No dbt manifest in {settings.dbt_target_path}: build the day first "
            "(`python -m flows.engines.postgres --date D`)."
        )
    relations = {
        SourceTable(str(node["schema"]), str(node.get("alias") or node["name"]))
        for node in nodes
        if node["schema"] in schemas
        and (node.get("config") or {}).get("materialized") != "ephemeral"
    }
    return sorted(relations, key=lambda t: (t.schema, t.name))


def _read_csv(columns: list[tuple[str, str]], csv_path: Path) -> SelectFor:
    """The SELECT of PostgreSQL's CSV with DuckDB's types: NULL is an unquoted empty
    field, the empty string a quoted one (``allow_quoted_nulls=false``)."""
    spec = ", ".join(
        f"'{name.replace(chr(39), chr(39) * 2)}': '{duckdb_type(type_)}'" for name, type_ in columns
    )
    source = str(csv_path).replace("'", "''")
    select = (
        f"SELECT * FROM read_csv('{source}', header = false, columns = {{{spec}}}, "
        "quote = '\"', escape = '\"', allow_quoted_nulls = false, auto_detect = false)"
    )
    return lambda _con, _existing: select


def mirror_marts(settings: Settings, *, duckdb_path: Path | None = None) -> CopySummary:
    """The relations dbt built on PostgreSQL (the marts in ``VOTUM_PG_SCHEMA``, the
    ``intermediate`` and ``reference`` schemas), copied into the DuckDB warehouse as
    tables of the same names, the marts' schema as DuckDB's ``main``: planning, the
    reports and ``votum status`` read them there. PostgreSQL writes each relation with
    ``COPY (SELECT ...) TO STDOUT`` in one repeatable-read snapshot; DuckDB replaces its
    tables in one transaction, so a reader sees the old marts or the new ones."""
    started = time.perf_counter()
    pg_settings = on_postgres(settings)
    path = duckdb_path or settings.warehouse_path
    with (
        tempfile.TemporaryDirectory(prefix="votum-pg-mirror-") as tmp,
        connect(pg_settings) as pg,
    ):
        pg.set_session(isolation_level="REPEATABLE READ", readonly=True)
        replacements: list[tuple[str, str, SelectFor]] = []
        with pg, pg.cursor() as cursor:
            schemas = (pg_settings.pg_schema, *MIRRORED_SCHEMAS)
            for relation in built_relations(pg_settings, schemas):
                columns = _postgres_columns(cursor, relation, tables_only=False)
                csv_path = Path(tmp) / f"{relation.schema}.{relation.name}.csv"
                select = ", ".join(quoted(name) for name, _ in columns)
                statement = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT WITH (FORMAT csv)").format(
                    sql.SQL(select), sql.Identifier(relation.schema, relation.name)
                )
                with csv_path.open("wb") as stream:
                    cursor.copy_expert(statement.as_string(cursor), stream, size=1 << 20)
                schema = "main" if relation.schema == pg_settings.pg_schema else relation.schema
                replacements.append((schema, relation.name, _read_csv(columns, csv_path)))
        if not any(schema == "main" for schema, *_ in replacements):
            raise WarehouseError(
                f"PostgreSQL holds no marts in schema {pg_settings.pg_schema!r}: "
                "build the day there first (`python -m flows.engines.postgres --date D`)."
            )
        rows = replace_tables(path, replacements, engine="PostgreSQL")
    summary = CopySummary(rows=rows, seconds=time.perf_counter() - started)
    logger.info(
        "Mirrored the PostgreSQL marts into DuckDB: %d relations, %d rows in %.1f s",
        len(rows),
        summary.total_rows,
        summary.seconds,
    )
    return summary


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
