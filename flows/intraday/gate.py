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

from dataclasses import dataclass

import duckdb

from flows.ingest.loader import FileLoad, typed_rows_sql
from flows.ingest.reader import SourceFile
from flows.intraday import validation
from flows.intraday.batches import Batch, unload_batch
from flows.quality.gates import DropQualityError, RuleOutcome, too_many_faulty_rows
from flows.quality.quarantine import quarantine_rows
from flows.quality.rules import RULES_BY_KEY
from flows.quality.sql_support import ensure_quality_objects
from flows.settings import Settings
from flows.warehouse import first_row, open_warehouse

RATINGS_SUITE = "raw_ratings"


@dataclass(frozen=True)
class BatchQuality:
    outcomes: tuple[RuleOutcome, ...]
    quarantined: int


def results_key(batch: Batch) -> str:
    """How ``ops.quality_results`` names a batch's results (its ``suite`` column)."""
    return validation.results_key(RATINGS_SUITE, batch)


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

    def fill(con: duckdb.DuckDBPyConnection) -> None:
        validation.copy_rows(con, "raw.ratings", rows)

    with validation.batch_database(settings, batch, fill) as path:
        outcomes = validation.validate(settings, path, batch, RATINGS_SUITE)
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
        validation.record(con, batch.day, results_key(batch), outcomes)
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
