"""A suite of the Great Expectations project validated on a batch alone: on a DuckDB file
of its own that holds the batch's rows and what the rules refer to, with the project's
own validation definition; and the results recorded under the suite and the batch
(``raw_ratings:intraday/101500``), beside the morning's and never over them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from flows.intraday.batches import INTRADAY_FOLDER, Batch
from flows.quality.gates import (
    RuleOutcome,
    stop_if_rules_could_not_run,
    suite_outcomes,
)
from flows.quality.gx_project import RESULT_FORMAT, open_context, release_engine, warehouse_url
from flows.quality.sql_support import ensure_quality_objects
from flows.settings import Settings
from flows.warehouse import transaction

_WAREHOUSE_URL = "VOTUM_GX_WAREHOUSE_URL"  # great_expectations.yml's data source


def results_key(suite: str, batch: Batch) -> str:
    """How ``ops.quality_results`` names a batch's results of ``suite`` (its ``suite``
    column)."""
    return f"{suite}:{INTRADAY_FOLDER}/{batch.batch_id}"


@contextmanager
def batch_database(
    settings: Settings, batch: Batch, fill: Callable[[duckdb.DuckDBPyConnection], None]
) -> Iterator[Path]:
    """A DuckDB file for the batch's validation, with the objects the rules use, the day
    in ``raw.run_context`` and what ``fill`` puts in (in one transaction); removed
    afterwards."""
    folder = settings.home_dir / "quality"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"intraday-{batch.batch_id}-", dir=folder) as tmp:
        path = Path(tmp) / "batch.duckdb"
        con = duckdb.connect(str(path))
        try:
            ensure_quality_objects(
                con,
                settings.dbt_project_dir / "seeds",
                max_holdings_change=settings.max_holdings_change,
            )
            with transaction(con):
                con.execute("CREATE SCHEMA IF NOT EXISTS raw")
                con.execute(
                    "CREATE TABLE raw.run_context AS SELECT CAST(? AS DATE) AS run_date",
                    [batch.day],
                )
                fill(con)
        finally:
            con.close()
        yield path


def copy_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Any) -> None:
    """``table`` (schema-qualified) created from Arrow ``rows``."""
    schema = table.partition(".")[0]
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.register("copied_rows", rows)
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM copied_rows")
    con.unregister("copied_rows")


def validate(settings: Settings, database: Path, batch: Batch, suite: str) -> list[RuleOutcome]:
    """The project's validation definition of ``suite`` on ``database``; Data Docs of
    its result."""
    landing = settings.model_copy(update={"dbt_target": "duckdb"})
    # First: it waits for Great Expectations' import on the preload thread, if any (an
    # import of it here meanwhile would find its modules half initialised).
    context = open_context(landing, landing.expectations_dir)
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    definition = context.validation_definitions.get(suite)
    run_id = RunIdentifier(
        run_name=f"intraday {batch.day.isoformat()} {batch.batch_id}", run_time=datetime.now(UTC)
    )
    os.environ[_WAREHOUSE_URL] = f"duckdb:///{database}"
    try:
        result = definition.run(result_format=RESULT_FORMAT, run_id=run_id)
    finally:
        release_engine(context)
        os.environ[_WAREHOUSE_URL] = warehouse_url(landing)
    context.build_data_docs(
        resource_identifiers=[
            ValidationResultIdentifier(
                ExpectationSuiteIdentifier(name=suite), run_id, result.batch_id
            )
        ]
    )
    return _outcomes(result, suite)


def _outcomes(result: Any, suite: str) -> list[RuleOutcome]:
    outcomes, problems = suite_outcomes(suite, result.results)
    stop_if_rules_could_not_run(problems, f"suite {suite}", " on the batch")
    return outcomes


def record(
    con: duckdb.DuckDBPyConnection, day: date, key: str, outcomes: Sequence[RuleOutcome]
) -> None:
    """A batch's results under ``key``, replacing an earlier check of the same batch
    only."""
    with transaction(con):
        con.execute("DELETE FROM ops.quality_results WHERE run_date = ? AND suite = ?", [day, key])
        con.executemany(
            "INSERT INTO ops.quality_results (run_date, suite, rule, action, description, "
            "unexpected, passed) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(day, key, o.rule, o.action, o.description, o.unexpected, o.passed) for o in outcomes],
        )
