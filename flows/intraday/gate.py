"""The raw quality gate of one intraday batch: the raw ratings suite, as for a drop, on
the batch's rows only.

The suite's data asset reads the day's rows of ``raw.ratings``: the morning drop's and
those of every batch so far, all checked already. A batch is validated in a DuckDB file
of its own that holds only its rows and what the rules refer to (the known rating
labels, the ISIN macros, the day): the same validation of the Great Expectations
project, on the batch alone, and on none of the day's other files. One check spans the
deliveries of the day: a publication (ISIN, ``rated_at``) that an earlier delivery
made already is a duplicate key, as within one file.

The results go to ``ops.quality_results`` under the suite and the batch
(``raw_ratings:intraday/101500``), beside the morning drop's. Row faults of the batch
move to the quarantine and the batch goes on; a file fault, or too many faulty rows,
takes the batch out of the raw layer again and stops it, naming the batch's file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from flows.ingest.loader import FileLoad, typed_rows_sql
from flows.ingest.reader import SourceFile
from flows.intraday.batches import INTRADAY_FOLDER, Batch, unload_batch
from flows.quality.gates import (
    DropQualityError,
    QualityError,
    RuleOutcome,
    expectation_error,
    too_many_faulty_rows,
)
from flows.quality.gx_project import RESULT_FORMAT, open_context, release_engine, warehouse_url
from flows.quality.quarantine import quarantine_rows
from flows.quality.rules import RULES_BY_KEY
from flows.quality.sql_support import ensure_quality_objects
from flows.settings import Settings
from flows.warehouse import first_row, open_warehouse, transaction

RATINGS_SUITE = "raw_ratings"
_WAREHOUSE_URL = "VOTUM_GX_WAREHOUSE_URL"  # great_expectations.yml's data source


@dataclass(frozen=True)
class BatchQuality:
    outcomes: tuple[RuleOutcome, ...]
    quarantined: int


def results_key(batch: Batch) -> str:
    """How ``ops.quality_results`` names a batch's results (its ``suite`` column)."""
    return f"{RATINGS_SUITE}:{INTRADAY_FOLDER}/{batch.batch_id}"


def check_batch(
    settings: Settings, batch: Batch, source: SourceFile, load: FileLoad
) -> BatchQuality:
    with open_warehouse(settings.warehouse_path) as con:
        ensure_quality_objects(
            con,
            settings.dbt_project_dir / "seeds",
            max_holdings_change=settings.max_holdings_change,
        )
        rows = con.sql(
            "SELECT * FROM raw.ratings WHERE _drop_date = ? AND _batch = ?",
            params=[batch.day, batch.batch_id],
        ).to_arrow_table()
        delivered_before = _publications_delivered_before(con, batch)
    with _batch_database(settings, batch, rows) as path:
        outcomes = _validate(settings, path, batch)
    file_name = f"{batch.label}/{load.file_name}"
    faults = [
        f"{file_name}: {o.description} ({o.unexpected} found)"
        for o in outcomes
        if o.action == "file" and o.unexpected
    ]
    if delivered_before:
        faults.append(
            f"{file_name}: duplicate keys (isin, rated_at): {delivered_before} publications "
            "that an earlier delivery of the day made already"
        )
    failing = [
        RULES_BY_KEY[(o.suite, o.rule)]
        for o in outcomes
        if o.action == "quarantine" and o.unexpected
    ]
    with open_warehouse(settings.warehouse_path) as con:
        _record(con, batch, outcomes)
        quarantined = 0
        if failing and not faults:
            quarantined = quarantine_rows(
                con,
                batch.day,
                source,
                typed_rows_sql(con, source, batch.day),
                failing,
                file_name=batch.source_file(load.file_name),
            )
        fault = too_many_faulty_rows(
            file_name,
            quarantined,
            load.rows_loaded,
            max_share=settings.max_quarantine_share,
            min_rows=settings.min_quarantine_rows,
        )
        if fault is not None:
            faults.append(fault)
        if faults:
            unload_batch(con, batch)
            raise DropQualityError(
                f"Batch {batch.label} failed its quality checks, nothing of it was kept or "
                "sent: " + "; ".join(faults) + ". Deliver the file corrected; the next "
                "`votum intraday` takes it (later batches of the day wait for it)."
            )
    return BatchQuality(tuple(outcomes), quarantined)


def _publications_delivered_before(con: duckdb.DuckDBPyConnection, batch: Batch) -> int:
    """The batch's rows whose (ISIN, rated_at) another delivery of the day has."""
    row = first_row(
        con.execute(
            """
            SELECT count(*) FROM raw.ratings AS b
            WHERE b._drop_date = ? AND b._batch = ? AND EXISTS (
                SELECT 1 FROM raw.ratings AS e
                WHERE e._drop_date = b._drop_date AND e.isin = b.isin
                  AND e.rated_at = b.rated_at AND e._batch IS DISTINCT FROM b._batch)
            """,
            [batch.day, batch.batch_id],
        )
    )
    return int(row[0]) if row else 0


@contextmanager
def _batch_database(settings: Settings, batch: Batch, rows: Any) -> Iterator[Path]:
    """A DuckDB file of the batch's rows (Arrow ``rows``, as in ``raw.ratings``) with
    the objects the ratings rules use; removed afterwards."""
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
                con.execute("CREATE SCHEMA raw")
                con.register("batch_rows", rows)
                con.execute("CREATE TABLE raw.ratings AS SELECT * FROM batch_rows")
                con.unregister("batch_rows")
                con.execute(
                    "CREATE TABLE raw.run_context AS SELECT CAST(? AS DATE) AS run_date",
                    [batch.day],
                )
        finally:
            con.close()
        yield path


def _validate(settings: Settings, database: Path, batch: Batch) -> list[RuleOutcome]:
    """The project's ``raw_ratings`` validation on ``database``; Data Docs of its result."""
    landing = settings.model_copy(update={"dbt_target": "duckdb"})
    # First: it waits for Great Expectations' import on the preload thread, if any (an
    # import of it here meanwhile would find its modules half initialised).
    context = open_context(landing, landing.expectations_dir)
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    definition = context.validation_definitions.get(RATINGS_SUITE)
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
                ExpectationSuiteIdentifier(name=RATINGS_SUITE),
                run_id,
                result.batch_id,
            )
        ]
    )
    return _outcomes(result)


def _outcomes(result: Any) -> list[RuleOutcome]:
    outcomes, problems = [], []
    for item in result.results:
        rule = RULES_BY_KEY[(RATINGS_SUITE, (item.expectation_config.meta or {})["votum_rule"])]
        problem = expectation_error(item.exception_info)
        if problem is not None:
            problems.append(f"{rule.suite}.{rule.name}: {problem}")
            continue
        outcomes.append(
            RuleOutcome(
                rule.suite,
                rule.name,
                rule.description,
                rule.action,
                int((item.result or {}).get("observed_value") or 0),
                bool(item.success),
            )
        )
    if problems:
        # A rule that could not run says nothing about the data: stop, never pass it.
        raise QualityError(
            f"{len(problems)} quality rule(s) of suite {RATINGS_SUITE} could not run on the "
            "batch: " + "; ".join(problems[:5])
        )
    return outcomes


def _record(con: duckdb.DuckDBPyConnection, batch: Batch, outcomes: Sequence[RuleOutcome]) -> None:
    """The batch's results, replacing an earlier check of the same batch only."""
    key = results_key(batch)
    with transaction(con):
        con.execute(
            "DELETE FROM ops.quality_results WHERE run_date = ? AND suite = ?", [batch.day, key]
        )
        con.executemany(
            "INSERT INTO ops.quality_results (run_date, suite, rule, action, description, "
            "unexpected, passed) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (batch.day, key, o.rule, o.action, o.description, o.unexpected, o.passed)
                for o in outcomes
            ],
        )
