"""The dbt project builds unchanged on PostgreSQL, and its public marts equal DuckDB's
row for row for the same drops.

Generated drops of five business days (two ISO weeks) are ingested into DuckDB day by
day and built there; after each day's DuckDB build the raw layer is copied to a real
PostgreSQL server and the same day is built there with `--target postgres`. Then a
stand-in for dispatch marks the day's worklists and digests as sent in the DuckDB
ledger (no SMTP here), so that the next day's adoption figures have hours to contact
on both engines. Both builds of a day read the same raw layer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from flows.demo.drops.generate import generate_drops
from flows.engines.postgres import (
    build_marts_on_postgres,
    check_marts_on_postgres,
    copy_raw_layer,
    on_postgres,
    postgres_type,
    source_tables,
)
from flows.errors import WarehouseError
from flows.quality.gates import run_checkpoint
from flows.quality.gx_project import MART_CHECKPOINT
from flows.settings import Settings, get_settings
from flows.transform import invoke_dbt
from flows.warehouse import open_warehouse
from tests.engines.postgres_server import PostgresServer
from tests.notify.scenario import build_days

pytestmark = pytest.mark.postgres

PUBLIC_MARTS = ("fct_rating_changes", "fct_client_rating_changes", "mart_adoption_weekly")
# Wednesday 2026-03-04 to Tuesday 2026-03-10: rating changes on three of the days.
START, DAYS, CLIENTS, SEED = date(2026, 3, 4), 5, 600, 2


@dataclass(frozen=True)
class Built:
    duckdb: Settings
    postgres: Settings
    server: PostgresServer
    drop_dates: tuple[date, ...]


def _mark_day_sent(settings: Settings, day: date) -> None:
    """What dispatch would leave in the ledger: each advisor's worklist sent in the
    early morning (a few minutes apart) and each eligible client's digest before it."""
    with open_warehouse(settings.warehouse_path) as con:
        con.execute(
            """
            INSERT INTO ops.delivery_ledger (message_key, kind, business_day, recipient_id,
                language, message_id, content_sha256, change_ids, payload, status, sent_at)
            SELECT 'advisor_worklist/' || CAST(business_day AS VARCHAR) || '/' || advisor_id,
                'advisor_worklist', business_day, advisor_id, 'de', 'w', '', '', '{}', 'sent',
                CAST(business_day AS TIMESTAMP) + INTERVAL 6 HOUR
                    + to_seconds(CAST(437 * row_number() OVER (ORDER BY advisor_id) AS BIGINT))
            FROM (SELECT DISTINCT business_day, advisor_id FROM fct_client_rating_changes
                  WHERE business_day = ? AND advisor_id IS NOT NULL)
            UNION ALL
            SELECT 'client_digest/' || CAST(business_day AS VARCHAR) || '/' || client_id,
                'client_digest', business_day, client_id, 'de', 'd', '', '', '{}', 'sent',
                CAST(business_day AS TIMESTAMP) + INTERVAL 5 HOUR
            FROM (SELECT DISTINCT business_day, client_id FROM fct_client_rating_changes
                  WHERE business_day = ? AND notify_eligible)
            """,
            [day, day],
        )


@pytest.fixture(scope="module")
def built(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("engines")
    inbox = root / "inbox"
    summary = generate_drops(inbox, START, DAYS, CLIENTS, seed=SEED)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in postgres_server.environment().items():
            patch.setenv(name, value)
        # Two homes: each engine keeps its own dbt target folder (and parse cache).
        patch.setenv("VOTUM_HOME", str(root / "duckdb"))
        on_duckdb = get_settings()
        patch.setenv("VOTUM_HOME", str(root / "postgres"))
        patch.setenv("VOTUM_DBT_TARGET", "postgres")
        on_pg = get_settings()
        for day in summary.drop_dates:
            build_days(on_duckdb, inbox, [day])
            build_marts_on_postgres(on_pg, day, duckdb_path=on_duckdb.warehouse_path)
            _mark_day_sent(on_duckdb, day)
        yield Built(on_duckdb, on_pg, postgres_server, tuple(summary.drop_dates))


def _duckdb_rows(settings: Settings, table: str) -> tuple[list[str], list[tuple[object, ...]]]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        cursor = con.execute(f"SELECT * FROM main.{table}")
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall()


def _query(server: PostgresServer, statement: str) -> list[tuple[object, ...]]:
    with closing(server.connect()) as connection, connection.cursor() as cursor:
        cursor.execute(statement)
        rows: list[tuple[object, ...]] = cursor.fetchall()
        return rows


def _postgres_rows(
    server: PostgresServer, table: str, columns: list[str]
) -> list[tuple[object, ...]]:
    return _query(server, f"SELECT {', '.join(columns)} FROM public.{table}")


def _sort_key(row: tuple[object, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple(
        (value is None, f"{value:.9g}" if isinstance(value, float) else str(value)) for value in row
    )


def _same(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    return type(left) is type(right) and left == right


def _assert_same_rows(
    table: str, columns: list[str], duck: list[tuple[object, ...]], pg: list[tuple[object, ...]]
) -> None:
    assert len(duck) == len(pg), f"{table}: {len(duck)} rows on DuckDB, {len(pg)} on PostgreSQL"
    for duck_row, pg_row in zip(
        sorted(duck, key=_sort_key), sorted(pg, key=_sort_key), strict=True
    ):
        differing = [
            f"{column}: {a!r} != {b!r}"
            for column, a, b in zip(columns, duck_row, pg_row, strict=True)
            if not _same(a, b)
        ]
        assert not differing, f"{table}, row {duck_row}: {'; '.join(differing)}"


@pytest.mark.parametrize("table", PUBLIC_MARTS)
def test_public_marts_equal_duckdbs_row_for_row(built: Built, table: str) -> None:
    columns, duck = _duckdb_rows(built.duckdb, table)
    pg = _postgres_rows(built.server, table, columns)
    _assert_same_rows(table, columns, duck, pg)


def test_the_comparison_covers_every_kind_of_figure(built: Built) -> None:
    """The drops are rich enough for the comparison to mean something: changes on
    several days, affected clients eligible and not, hours to contact and adoption
    rates that are numbers (PostgreSQL computes them with its own median and date
    arithmetic)."""
    _, changes = _duckdb_rows(built.duckdb, "fct_client_rating_changes")
    columns, weekly = _duckdb_rows(built.duckdb, "mart_adoption_weekly")
    assert len({row[columns.index("week_start")] for row in weekly}) == 2
    hours = [row[columns.index("median_hours_to_contact")] for row in weekly]
    rates = [row[columns.index("adoption_rate")] for row in weekly]
    assert any(isinstance(h, float) and h > 0 for h in hours)
    assert any(isinstance(r, float) and 0 < r < 1 for r in rates)
    with open_warehouse(built.duckdb.warehouse_path, read_only=True) as con:
        days, eligible, ineligible = con.execute(
            "SELECT count(DISTINCT business_day), count(*) FILTER (WHERE notify_eligible), "
            "count(*) FILTER (WHERE NOT notify_eligible) FROM fct_client_rating_changes"
        ).fetchall()[0]
    assert len(changes) > 50 and days >= 2 and eligible > 0 and ineligible > 0


def test_unit_tests_pass_on_postgres(built: Built) -> None:
    result = invoke_dbt(built.postgres, ["test", "--select", "test_type:unit"])
    assert len(result.nodes) >= 6 and not result.failed


def test_the_password_reaches_no_file_dbt_wrote(built: Built) -> None:
    password = built.server.password.encode()
    for path in Path(built.postgres.home_dir).rglob("*"):
        if path.is_file():
            assert password not in path.read_bytes(), path


def test_raw_layer_copy_keeps_nulls_empty_strings_and_types(built: Built) -> None:
    """COPY's CSV tells NULL from '' and keeps decimals, dates and timestamps exact; the
    delivery ledger's payloads and addresses are not copied."""
    with open_warehouse(built.duckdb.warehouse_path) as con:
        con.execute(
            "INSERT INTO raw.suppression_list VALUES ('', NULL, 'a \"quoted\", multi\nline', 'x')"
        )
    try:
        copy_raw_layer(built.postgres, duckdb_path=built.duckdb.warehouse_path)
        server = built.server
        assert _query(
            server,
            "SELECT email, suppressed_at, reason FROM raw.suppression_list WHERE source = 'x'",
        ) == [("", None, 'a "quoted", multi\nline')]
        ledger_columns = {
            row[0]
            for row in _query(
                server,
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'ops' AND table_name = 'delivery_ledger'",
            )
        }
        [(largest,)] = _query(server, "SELECT max(quantity) FROM raw.holdings")
        assert isinstance(largest, Decimal) and largest.as_tuple().exponent == -4
        assert "payload" not in ledger_columns and "recipient_email" not in ledger_columns
        assert {"message_key", "sent_at"} <= ledger_columns
    finally:
        with open_warehouse(built.duckdb.warehouse_path) as con:
            con.execute("DELETE FROM raw.suppression_list WHERE source = 'x'")
        copy_raw_layer(built.postgres, duckdb_path=built.duckdb.warehouse_path)


def test_every_source_of_the_dbt_project_is_copied(built: Built) -> None:
    tables = {t.qualified for t in source_tables(built.postgres.dbt_project_dir)}
    assert {"raw.ratings", "raw.holdings", "raw.business_calendar", "raw.run_context"} <= tables
    assert "ops.delivery_ledger" in tables
    copied = _query(
        built.server,
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema IN ('raw', 'ops')",
    )
    # Besides the sources: what was copied of each drop (the incremental copy's memory).
    assert {row[0] for row in copied} == tables | {"ops.votum_raw_sync"}


def _holdings_by_drop(built: Built) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    statement = (
        "SELECT _drop_date, count(*), sum(quantity), min(client_id) FROM raw.holdings "
        "GROUP BY 1 ORDER BY 1"
    )
    with open_warehouse(built.duckdb.warehouse_path, read_only=True) as con:
        on_duckdb = [tuple(row) for row in con.execute(statement).fetchall()]
    return on_duckdb, [tuple(row) for row in _query(built.server, statement)]


def test_the_copy_sends_only_the_drops_that_changed(built: Built) -> None:
    """Drop-dated tables travel drop by drop: an unchanged drop is not copied again, a
    drop whose rows changed in DuckDB is replaced, a drop gone from DuckDB (holdings
    retention) is removed; the result equals DuckDB's table every time."""
    first, last = built.drop_dates[0], built.drop_dates[-1]
    again = copy_raw_layer(built.postgres, duckdb_path=built.duckdb.warehouse_path)
    assert again.rows["raw.holdings"] == 0 and again.rows["raw.ratings"] == 0
    assert again.rows["raw.business_calendar"] > 0  # no drop date: copied whole
    on_duckdb, on_postgres = _holdings_by_drop(built)
    assert on_duckdb == on_postgres and len(on_duckdb) == len(built.drop_dates)

    with open_warehouse(built.duckdb.warehouse_path) as con:
        con.execute("CREATE TABLE main.kept_holdings AS SELECT * FROM raw.holdings")
        con.execute("UPDATE raw.holdings SET quantity = quantity + 1 WHERE _drop_date = ?", [last])
        con.execute("DELETE FROM raw.holdings WHERE _drop_date = ?", [first])
    try:
        changed = copy_raw_layer(built.postgres, duckdb_path=built.duckdb.warehouse_path)
        with open_warehouse(built.duckdb.warehouse_path, read_only=True) as con:
            last_rows = con.execute(
                "SELECT count(*) FROM raw.holdings WHERE _drop_date = ?", [last]
            ).fetchone()
        assert last_rows is not None and changed.rows["raw.holdings"] == last_rows[0] > 0
        on_duckdb, on_postgres = _holdings_by_drop(built)
        assert on_duckdb == on_postgres and first not in [row[0] for row in on_postgres]
    finally:
        with open_warehouse(built.duckdb.warehouse_path) as con:
            con.execute("DELETE FROM raw.holdings")
            con.execute("INSERT INTO raw.holdings SELECT * FROM main.kept_holdings")
            con.execute("DROP TABLE main.kept_holdings")
        copy_raw_layer(built.postgres, duckdb_path=built.duckdb.warehouse_path)
    on_duckdb, on_postgres = _holdings_by_drop(built)
    assert on_duckdb == on_postgres and len(on_postgres) == len(built.drop_dates)


def test_duckdb_types_map_to_postgres_types() -> None:
    assert postgres_type("VARCHAR") == "text"
    assert postgres_type("DOUBLE") == "double precision"
    assert postgres_type("DECIMAL(18,4)") == "numeric(18,4)"
    assert postgres_type("TIMESTAMP") == "timestamp without time zone"
    assert postgres_type("BOOLEAN") == "boolean"
    with pytest.raises(WarehouseError, match="BLOB"):
        postgres_type("BLOB")


def test_settings_select_the_postgres_target(built: Built) -> None:
    assert built.postgres.dbt_target == "postgres"
    assert on_postgres(built.duckdb).dbt_target == "postgres"
    assert built.duckdb.dbt_target == "duckdb"


def test_mart_quality_suites_run_inside_postgres_and_catch_a_planted_fault(built: Built) -> None:
    """The same mart suites through Great Expectations' SQL data source on PostgreSQL:
    the counts equal DuckDB's, and a duplicate change-by-client row planted there is
    found (then taken out again, for the other tests of this module)."""
    on_duckdb = {(o.rule, o.unexpected) for o in run_checkpoint(built.duckdb, MART_CHECKPOINT)}
    on_pg = check_marts_on_postgres(built.postgres)
    assert len(on_pg) >= 4 and {(o.rule, o.unexpected) for o in on_pg} == on_duckdb
    assert all(o.passed for o in on_pg)

    table = f"{built.postgres.pg_schema}.fct_client_rating_changes"
    with closing(built.server.connect()) as connection, connection.cursor() as cursor:
        connection.autocommit = True
        cursor.execute(
            f"INSERT INTO {table} SELECT * FROM {table} "
            "WHERE business_day = (SELECT max(run_date) FROM raw.run_context) LIMIT 1"
        )
        assert cursor.rowcount == 1
    try:
        planted = {o.rule: o for o in check_marts_on_postgres(built.postgres)}
    finally:
        with closing(built.server.connect()) as connection, connection.cursor() as cursor:
            connection.autocommit = True
            cursor.execute(
                f"DELETE FROM {table} WHERE ctid IN (SELECT max(ctid) FROM {table} "
                "GROUP BY client_id, change_id, business_day HAVING count(*) > 1)"
            )
    broken = [o for o in planted.values() if not o.passed]
    assert [(o.rule, o.unexpected) for o in broken] == [("duplicate_client_change", 1)]
    # The connection URL with its password lives in the environment only.
    project = built.postgres.home_dir / "quality"
    for path in project.rglob("*"):
        if path.is_file():
            assert built.server.password.encode() not in path.read_bytes(), path
