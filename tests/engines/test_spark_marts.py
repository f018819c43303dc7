"""The dbt project builds unchanged on Apache Spark (dbt-spark, a local session, plain
Parquet tables), and its public marts equal DuckDB's row for row for the same drops.

The drops and the day-by-day procedure are those of test_postgres_marts.py: five
generated business days are ingested into DuckDB and built there; after each DuckDB
build the raw layer is published to Spark and the same day is built there. Then one
day is run again on both engines (its rows must be replaced, not added). One Spark
session serves the whole module (a session starts in several seconds and a process
has only one).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flows.demo.drops.generate import generate_drops
from flows.engines.spark import (
    _naive_timestamps,
    build_marts_on_spark,
    check_marts_on_spark,
    mirror_marts,
    on_spark,
    publish_raw_layer,
    spark_session,
    stop_spark_session,
)
from flows.errors import ConfigurationError
from flows.quality.gates import run_checkpoint
from flows.quality.gx_project import MART_CHECKPOINT
from flows.settings import Settings, get_settings
from flows.transform import invoke_dbt
from flows.warehouse import open_warehouse
from tests.engines.test_postgres_marts import (
    CLIENTS,
    PUBLIC_MARTS,
    SEED,
    START,
    _assert_same_rows,
    _duckdb_rows,
    _mark_day_sent,
)
from tests.notify.scenario import build_days

pytestmark = pytest.mark.spark

DAYS = 5
RERUN = 2  # the third business day is run again after the last one


@dataclass(frozen=True)
class Built:
    duckdb: Settings
    spark: Settings
    drop_dates: tuple[date, ...]
    session: Any


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java 17 (no java on PATH, no JAVA_HOME)")
    stop_spark_session()  # one session per process: another module's home may run
    root = tmp_path_factory.mktemp("spark")
    inbox = root / "inbox"
    summary = generate_drops(inbox, START, DAYS, CLIENTS, seed=SEED)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        patch.setenv("VOTUM_HOME", str(root / "duckdb"))
        on_duckdb = get_settings()
        patch.setenv("VOTUM_HOME", str(root / "spark"))
        patch.setenv("VOTUM_DBT_TARGET", "spark")
        on_sp = get_settings()
        days = tuple(summary.drop_dates)
        for day in days:
            build_days(on_duckdb, inbox, [day])
            build_marts_on_spark(on_sp, day, duckdb_path=on_duckdb.warehouse_path)
            _mark_day_sent(on_duckdb, day)
        # A day run again: both engines replace its rows (Spark drops its partitions).
        build_days(on_duckdb, inbox, [days[RERUN]])
        build_marts_on_spark(on_sp, days[RERUN], duckdb_path=on_duckdb.warehouse_path)
        yield Built(on_duckdb, on_sp, days, spark_session(on_sp))
    stop_spark_session()


def _spark_rows(built: Built, table: str, columns: list[str]) -> list[tuple[object, ...]]:
    frame = _naive_timestamps(built.session.table(f"{built.spark.spark_schema}.{table}"))
    return [tuple(row[c] for c in columns) for row in frame.collect()]


@pytest.mark.parametrize("table", (*PUBLIC_MARTS, "dim_clients", "fct_alerts"))
def test_marts_equal_duckdbs_row_for_row(built: Built, table: str) -> None:
    columns, duck = _duckdb_rows(built.duckdb, table)
    _assert_same_rows(table, columns, duck, _spark_rows(built, table, columns))


def test_the_comparison_covers_every_kind_of_figure_and_the_rerun(built: Built) -> None:
    columns, weekly = _duckdb_rows(built.duckdb, "mart_adoption_weekly")
    assert len({row[columns.index("week_start")] for row in weekly}) == 2
    assert any(
        isinstance(h, float) and h > 0
        for h in (r[columns.index("median_hours_to_contact")] for r in weekly)
    )
    rerun = built.drop_dates[RERUN]
    [(rows_of_rerun_day, days)] = built.session.sql(
        f"SELECT count(*) FILTER (WHERE business_day = DATE '{rerun}'), "
        f"count(DISTINCT business_day) FROM {built.spark.spark_schema}.fct_client_rating_changes"
    ).collect()
    assert rows_of_rerun_day > 0 and days >= 2
    # Partitioned by day: the run day's partition is dropped before it is built again.
    partitions = built.session.sql(
        f"SHOW PARTITIONS {built.spark.spark_schema}.fct_client_rating_changes"
    ).collect()
    assert len(partitions) == days


def test_unit_tests_pass_on_spark(built: Built) -> None:
    result = invoke_dbt(built.spark, ["test", "--select", "test_type:unit"])
    assert len(result.nodes) >= 6 and not result.failed


def test_publish_keeps_addresses_and_payloads_in_duckdb(built: Built) -> None:
    ledger = {f.name for f in built.session.table("ops.delivery_ledger").schema.fields}
    assert ledger == {"message_key", "kind", "business_day", "recipient_id", "status", "sent_at"}
    [(run_date, sla)] = built.session.sql("SELECT * FROM raw.run_context").collect()
    assert run_date == built.drop_dates[RERUN] and sla == built.spark.sla_business_days
    # Each table has exactly one current folder of Parquet files.
    for folder in (built.spark.spark_dir / "raw" / "raw").iterdir():
        assert len(list(folder.iterdir())) == 1, folder


def test_spark_keeps_its_files_under_votum_home(built: Built) -> None:
    for stray in ("spark-warehouse", "metastore_db", "derby.log"):
        assert not (Path.cwd() / stray).exists(), stray
        assert not (built.spark.dbt_project_dir / stray).exists(), stray
    assert (built.spark.spark_dir / "metastore").is_dir()
    assert (built.spark.spark_dir / "warehouse").is_dir()


def test_a_session_of_another_home_is_refused(built: Built) -> None:
    other = Settings(home=built.spark.home_dir.parent / "other", dbt_target="spark")
    with pytest.raises(ConfigurationError, match="own process"):
        spark_session(on_spark(other))


def test_mart_quality_suites_run_on_spark_and_catch_a_planted_fault(built: Built) -> None:
    """The same mart suites through Great Expectations' Spark data source: the counts
    equal DuckDB's, and a duplicate change-by-client row planted on Spark is found (the
    day's partition is written back as it was afterwards)."""
    on_duckdb = {(o.rule, o.unexpected) for o in run_checkpoint(built.duckdb, MART_CHECKPOINT)}
    on_sp = check_marts_on_spark(built.spark)
    assert len(on_sp) >= 4 and {(o.rule, o.unexpected) for o in on_sp} == on_duckdb
    assert all(o.passed for o in on_sp)

    table = f"{built.spark.spark_schema}.fct_client_rating_changes"
    day = f"DATE '{built.drop_dates[RERUN]}'"
    spark = built.session
    before = spark.createDataFrame(
        spark.sql(f"SELECT * FROM {table} WHERE business_day = {day}").collect(),
        spark.table(table).schema,
    )
    spark.sql(f"INSERT INTO {table} SELECT * FROM {table} WHERE business_day = {day} LIMIT 1")
    try:
        planted = check_marts_on_spark(built.spark)
    finally:
        before.write.insertInto(table, overwrite=True)  # dynamic: this day's partition only
    broken = [o for o in planted if not o.passed]
    assert [(o.rule, o.unexpected) for o in broken] == [("duplicate_client_change", 1)]
    assert (
        spark.sql(f"SELECT count(*) FROM {table} WHERE business_day = {day}").collect()[0][0]
        == before.count()
    )


def test_mirror_marts_puts_sparks_rows_into_duckdb(built: Built) -> None:
    """Into a copy of the DuckDB warehouse (the Spark home's own file): every relation
    dbt built on Spark becomes a table with exactly Spark's rows; the marts' schema is
    DuckDB's main; a view of the same name (mart_notification_lines) is replaced."""
    shutil.copyfile(built.duckdb.warehouse_path, built.spark.warehouse_path)
    summary = mirror_marts(built.spark)
    assert {"main.fct_client_rating_changes", "intermediate.int_ratings_historized"} <= set(
        summary.rows
    )
    assert (
        "reference.rating_scale" in summary.rows and "main.mart_notification_lines" in summary.rows
    )
    with open_warehouse(built.spark.warehouse_path, read_only=True) as con:
        kinds = dict(
            con.execute(
                "SELECT table_schema || '.' || table_name, table_type FROM information_schema.tables"
            ).fetchall()
        )
    assert all(kinds[name] == "BASE TABLE" for name in summary.rows)
    for name, count in summary.rows.items():
        schema, table = name.split(".")
        columns, mirrored = _duckdb_rows_of(built.spark, schema, table)
        spark_schema = built.spark.spark_schema if schema == "main" else schema
        frame = _naive_timestamps(built.session.table(f"{spark_schema}.{table}"))
        expected = [tuple(row[c] for c in columns) for row in frame.collect()]
        assert len(mirrored) == count
        _assert_same_rows(name, columns, expected, mirrored)
    # The contract's column order, not Spark's (which puts the partition column last),
    # also where DuckDB had no such table before.
    columns, _ = _duckdb_rows(built.spark, "fct_client_rating_changes")
    assert columns == _duckdb_rows(built.duckdb, "fct_client_rating_changes")[0]
    with open_warehouse(built.spark.warehouse_path) as con:
        con.execute("DROP TABLE main.fct_client_rating_changes")
    mirror_marts(built.spark)
    columns, _ = _duckdb_rows(built.spark, "fct_client_rating_changes")
    assert columns == _duckdb_rows(built.duckdb, "fct_client_rating_changes")[0]


def _duckdb_rows_of(
    settings: Settings, schema: str, table: str
) -> tuple[list[str], list[tuple[object, ...]]]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        cursor = con.execute(f'SELECT * FROM "{schema}"."{table}"')
        return [d[0] for d in cursor.description], cursor.fetchall()


def test_publish_without_a_warehouse_names_the_fix(built: Built, tmp_path: Path) -> None:
    from flows.errors import WarehouseError

    with pytest.raises(WarehouseError, match="votum run"):
        publish_raw_layer(built.spark, built.drop_dates[0], duckdb_path=tmp_path / "none.duckdb")
