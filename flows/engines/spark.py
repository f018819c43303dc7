"""Apache Spark as the warehouse of the dbt models (``VOTUM_DBT_TARGET=spark``).

The Spark sibling of :mod:`flows.engines.postgres`: ingest, the raw quality gate, the
ledgers and dispatch work on the DuckDB warehouse; the dbt project builds the same models
on Spark (dbt-spark's ``session`` method: Spark runs inside this process, plain Parquet
tables, a Derby metastore, all under ``VOTUM_HOME/spark``).

* :func:`publish_raw_layer`: every table the dbt project declares as a source goes from
  the DuckDB file (opened read-only) to Parquet (DuckDB's ``COPY ... TO``, one new folder
  per table and run) and becomes an external Spark table of the same schema and name.
* :func:`build_marts_on_spark`: publish, then the daily ``dbt build`` with ``--target
  spark``.
* :func:`check_marts_on_spark`: the committed mart suites through Great Expectations'
  Spark data source.
* :func:`mirror_marts`: every table and view dbt built on Spark back into the DuckDB
  warehouse, so that planning and the reports read the Spark-built marts.

From the command line, after ``votum run`` has loaded and built a day on DuckDB::

    python -m flows.engines.spark --date 2026-10-05

Settings: ``VOTUM_SPARK_SCHEMA`` (the marts' schema), ``VOTUM_SPARK_MASTER``,
``VOTUM_SPARK_DRIVER_MEMORY``, ``VOTUM_SPARK_SHUFFLE_PARTITIONS``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

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
from flows.errors import ConfigurationError, VotumError, WarehouseError
from flows.quality.gates import RuleOutcome, run_checkpoint
from flows.quality.gx_project import (
    EXPECTATIONS_DIR,
    MART_CHECKPOINT,
    SPARK_DATASOURCE,
    build_spark_project,
    open_context,
)
from flows.settings import Settings, get_settings
from flows.transform import DAILY_BUILD_EXCLUDES, DbtResult, invoke_dbt
from flows.warehouse import open_warehouse

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

logger = logging.getLogger("votum.spark")

TARGET = "spark"
# The schemas dbt builds into besides the target schema (generate_schema_name.sql).
BUILT_SCHEMAS = ("intermediate", "reference")


def on_spark(settings: Settings) -> Settings:
    """The same settings with the Spark dbt target."""
    if settings.dbt_target == TARGET:
        return settings
    return settings.model_copy(update={"dbt_target": TARGET})


def spark_config(settings: Settings) -> dict[str, str]:
    """The session's configuration; the same values as the ``spark`` output of
    ``dbt_project/profiles.yml`` (whichever starts the session first, we or dbt, the
    other gets the running session)."""
    home = settings.spark_dir
    return {
        "spark.master": settings.spark_master,
        "spark.driver.memory": settings.spark_driver_memory,
        # Loopback only: a local Spark must not listen on the bank's network.
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        # Timestamps are naive wall-clock times in the drops and in DuckDB; with UTC as the
        # session time zone Spark's timestamps show the same wall clock.
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.inferTimestampNTZ.enabled": "false",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        # A daily build is some hundred small queries over deep stacks of views: with
        # constraint propagation on, planning fct_alerts took 6 s instead of 2 s, and
        # compiling whole-stage code cost more than it saved (4.8 s against 2.0 s).
        "spark.sql.constraintPropagation.enabled": "false",
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.warehouse.dir": str(home / "warehouse"),
        "spark.local.dir": str(home / "tmp"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={home / 'metastore'};create=true"
        ),
        # Derby writes derby.log into its system home (otherwise the working directory).
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={home}",
    }


def spark_session(settings: Settings) -> SparkSession:
    """This process's Spark session for ``VOTUM_HOME``, started on first use (about 7 s).

    One process has one Spark session; its warehouse and metastore cannot change once it
    runs, so a session started for another ``VOTUM_HOME`` is refused."""
    from pyspark.errors import PySparkException
    from pyspark.sql import SparkSession

    config = spark_config(settings)
    running = SparkSession._instantiatedSession
    if running is not None:
        in_use = str(running.conf.get("spark.sql.warehouse.dir") or "").removeprefix("file:")
        if Path(in_use).resolve() != Path(config["spark.sql.warehouse.dir"]):
            raise ConfigurationError(
                f"This process already runs a Spark session with the warehouse {in_use}; "
                f"VOTUM_HOME {settings.home_dir} needs its own process (or "
                "stop_spark_session() first)."
            )
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    settings.spark_dir.mkdir(parents=True, exist_ok=True)
    (settings.spark_dir / "tmp").mkdir(exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in config.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except (PySparkException, OSError) as exc:  # no Java, the JVM did not start
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WarehouseError(
            f"Cannot start Spark (master {settings.spark_master}): {first}. Spark needs "
            "Java 17 on the PATH or in JAVA_HOME."
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    # pyspark logs every failing statement with its Java stack trace; dbt reports it.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    return session


def stop_spark_session() -> None:
    """Stop this process's Spark session, if one runs; a session for another
    ``VOTUM_HOME`` can start afterwards in the same process (tests do this). Only
    Derby's log stays where the first session put it (a JVM option)."""
    from pyspark.sql import SparkSession

    running = SparkSession._instantiatedSession
    if running is not None:
        running.stop()


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _sql_literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _write_parquet(duck: duckdb.DuckDBPyConnection, select: str, folder: Path) -> int:
    folder.mkdir(parents=True)
    result = duck.execute(
        f"COPY ({select}) TO {_sql_literal(folder / 'part-0.parquet')} (FORMAT parquet)"
    ).fetchall()
    return int(result[0][0]) if result else 0


def _register(spark: SparkSession, table: SourceTable, folder: Path) -> None:
    """Point the Spark table at its new folder (an external table: dropping it keeps the
    files; dbt's staging views name the table and see the new data)."""
    name = f"{_quoted(table.schema)}.{_quoted(table.name)}"
    spark.sql(f"DROP TABLE IF EXISTS {name}")
    location = str(folder).replace("\\", "\\\\").replace("'", "\\'")
    spark.sql(f"CREATE TABLE {name} USING parquet LOCATION '{location}'")


def publish_raw_layer(
    settings: Settings, run_date: date | None, *, duckdb_path: Path | None = None
) -> CopySummary:
    """Replace the dbt sources on Spark with the DuckDB warehouse's (``duckdb_path``,
    default ``settings.warehouse_path``, read only); ``raw.run_context`` names
    ``run_date`` and ``VOTUM_SLA_BUSINESS_DAYS`` (without ``run_date``: DuckDB's, as the
    last run left it, for the weekly report's build). Of ``ops.delivery_ledger`` only the
    columns dbt reads leave DuckDB (no payloads, no addresses).

    Each table is written to a new folder ``VOTUM_HOME/spark/raw/<schema>/<table>/<n>``
    and the Spark table is pointed at it; the previous folder is removed afterwards.
    Spark has no transaction over several tables: a failure midway leaves some tables
    new and some old, and the next publish replaces them all again."""
    started = time.perf_counter()
    spark_settings = on_spark(settings)
    tables = source_tables(spark_settings.dbt_project_dir)
    spark = spark_session(spark_settings)
    root = spark_settings.spark_dir / "raw"
    version = f"{time.time_ns()}"
    rows: dict[str, int] = {}
    path = duckdb_path or spark_settings.warehouse_path
    with open_warehouse(path, read_only=True) as duck:
        for schema in sorted({t.schema for t in tables}):
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {_quoted(schema)}")
        for table in tables:
            folder = root / table.schema / table.name / version
            if (table.schema, table.name) == ("raw", "run_context") and run_date is not None:
                select = (
                    f"SELECT DATE '{run_date.isoformat()}' AS run_date, "
                    f"CAST({int(settings.sla_business_days)} AS INTEGER) AS sla_business_days"
                )
            else:
                columns = ", ".join(quoted(name) for name, _ in source_columns(duck, table))
                select = f'SELECT {columns} FROM "{table.schema}"."{table.name}"'
            rows[table.qualified] = _write_parquet(duck, select, folder)
            _register(spark, table, folder)
            for old in folder.parent.iterdir():
                if old != folder:
                    shutil.rmtree(old, ignore_errors=True)
    summary = CopySummary(rows=rows, seconds=time.perf_counter() - started)
    logger.info(
        "Published the raw layer to Spark: %d tables, %d rows in %.1f s",
        len(rows),
        summary.total_rows,
        summary.seconds,
    )
    return summary


def build_marts_on_spark(
    settings: Settings,
    run_date: date,
    *,
    duckdb_path: Path | None = None,
    full_refresh: bool = False,
) -> DbtResult:
    """Publish the raw layer of the DuckDB warehouse to Spark and ``dbt build`` the
    models for business day ``run_date`` there (seeds included: a few rows)."""
    spark_settings = on_spark(settings)
    publish_raw_layer(spark_settings, run_date, duckdb_path=duckdb_path)
    args = ["build", *DAILY_BUILD_EXCLUDES]
    if full_refresh:
        args.append("--full-refresh")
    return invoke_dbt(spark_settings, args)


def check_marts_on_spark(settings: Settings) -> list[RuleOutcome]:
    """The mart suites of the committed Great Expectations project, validated by Spark
    (GE's Spark data source): a copy of the project under
    ``VOTUM_HOME/quality/gx_spark`` whose mart asset is a Spark DataFrame of the day's
    rows of the change-by-client mart, and whose rules name the marts' schema on Spark.
    The same rules as on DuckDB, counted by Spark; no table is read into Python."""
    spark_settings = on_spark(settings)
    spark = spark_session(spark_settings)
    project = spark_settings.home_dir / "quality" / "gx_spark"
    shutil.copytree(EXPECTATIONS_DIR / "gx", project / "gx", dirs_exist_ok=True)
    context = open_context(spark_settings, project)
    query = build_spark_project(context, marts_schema=spark_settings.spark_schema)
    frame: DataFrame = spark.sql(query)
    return run_checkpoint(
        spark_settings,
        MART_CHECKPOINT,
        project_dir=project,
        batch_parameters={"dataframe": frame},
        datasource=SPARK_DATASOURCE,
    )


def _built_relations(spark: SparkSession, schemas: Sequence[str]) -> list[tuple[str, str]]:
    relations = []
    for schema in schemas:
        if not spark.catalog.databaseExists(schema):
            continue
        for table in spark.catalog.listTables(dbName=schema):
            if not table.isTemporary:
                relations.append((schema, table.name))
    return sorted(relations)


def _naive_timestamps(frame: DataFrame) -> DataFrame:
    """Spark's timestamps carry a time zone (UTC in our session), DuckDB's marts are
    naive: written as TIMESTAMP_NTZ, DuckDB reads them back as plain TIMESTAMP with the
    same wall clock."""
    from pyspark.sql import functions
    from pyspark.sql.types import TimestampType

    return frame.select(
        *(
            functions.col(_quoted(field.name)).cast("timestamp_ntz").alias(field.name)
            if isinstance(field.dataType, TimestampType)
            else functions.col(_quoted(field.name))
            for field in frame.schema.fields
        )
    )


def _declared_columns(settings: Settings) -> dict[tuple[str, str], list[str]]:
    """The columns each model declares in its YAML (all of them, in contract order, for
    the public marts), from the last build's ``manifest.json``."""
    return {
        (str(node["schema"]), str(node.get("alias") or node["name"])): list(node["columns"])
        for node in manifest_nodes(settings) or ()
        if node.get("columns")
    }


def _column_order(declared: list[str], existing: list[str], built: list[str]) -> list[str]:
    """The order of the model's declared columns when they are all of them; else that
    of the DuckDB table being replaced when it has the same columns; else Spark's (which
    puts partition columns last)."""
    for order in (declared, existing):
        if sorted(order) == sorted(built):
            return order
    return built


def _parquet_select(folder: Path, declared: list[str]) -> SelectFor:
    """The SELECT of the Parquet files Spark wrote, columns in :func:`_column_order`."""
    source = f"read_parquet({_sql_literal(folder / '*.parquet')})"

    def select_for(con: duckdb.DuckDBPyConnection, existing: list[str]) -> str:
        built = [
            str(column)
            for (column,) in con.execute(
                f"SELECT column_name FROM (DESCRIBE SELECT * FROM {source})"
            ).fetchall()
        ]
        order = _column_order(declared, existing, built)
        return f"SELECT {', '.join(quoted(c) for c in order)} FROM {source}"

    return select_for


def mirror_marts(settings: Settings) -> CopySummary:
    """Every relation (table or view) dbt built on Spark in the marts' schema
    (``VOTUM_SPARK_SCHEMA``), ``intermediate`` and ``reference`` becomes a table of the
    same name in the DuckDB warehouse (``settings.warehouse_path``): the marts' schema
    maps to DuckDB's ``main``, the others keep their names. What is there is replaced
    (a same-named view is dropped first), in one DuckDB transaction. Columns come in the
    model's declared (contract) order: Spark puts partition columns last."""
    started = time.perf_counter()
    spark_settings = on_spark(settings)
    spark = spark_session(spark_settings)
    schemas = (spark_settings.spark_schema, *BUILT_SCHEMAS)
    relations = _built_relations(spark, schemas)
    if not relations:
        raise WarehouseError(
            f"Spark has no relations in {', '.join(schemas)}: build the marts on Spark "
            "first (python -m flows.engines.spark --date YYYY-MM-DD)."
        )
    declared = _declared_columns(spark_settings)
    with tempfile.TemporaryDirectory(prefix="mirror-", dir=spark_settings.spark_dir) as tmp:
        replacements: list[tuple[str, str, SelectFor]] = []
        for schema, name in relations:
            folder = Path(tmp) / schema / name
            frame = _naive_timestamps(spark.table(f"{_quoted(schema)}.{_quoted(name)}"))
            frame.write.parquet(str(folder))
            target = "main" if schema == spark_settings.spark_schema else schema
            replacements.append(
                (target, name, _parquet_select(folder, declared.get((schema, name), [])))
            )
        rows = replace_tables(spark_settings.warehouse_path, replacements, engine="Spark")
    summary = CopySummary(rows=rows, seconds=time.perf_counter() - started)
    logger.info(
        "Mirrored the Spark marts into DuckDB: %d relations, %d rows in %.1f s",
        len(rows),
        summary.total_rows,
        summary.seconds,
    )
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flows.engines.spark",
        description="Publish the raw layer of the DuckDB warehouse to Spark and build "
        "the dbt models there for one business day.",
    )
    parser.add_argument("--date", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")
    parser.add_argument(
        "--mirror", action="store_true", help="then copy the built marts back into DuckDB"
    )
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        result = build_marts_on_spark(settings, args.date, full_refresh=args.full_refresh)
        mirrored = mirror_marts(settings).total_rows if args.mirror else None
    except VotumError as exc:
        print(f"error: {exc}")
        return exc.exit_code
    summary: dict[str, Any] = {"date": args.date.isoformat(), "dbt_nodes": len(result.nodes)}
    if mirrored is not None:
        summary["mirrored_rows"] = mirrored
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
