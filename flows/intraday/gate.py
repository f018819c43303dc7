"""The raw quality gate of one intraday batch: the raw ratings suite, as for a drop.

The raw checkpoint validates the day's rows in ``raw.ratings`` (the morning drop's
passed this morning, so a finding now is the batch's). Row faults of the batch move to
the quarantine and the batch goes on; a file fault, or too many faulty rows, takes the
batch out of the raw layer again and stops it, naming the batch's file."""

from __future__ import annotations

from dataclasses import dataclass

from flows.ingest.loader import FileLoad, typed_rows_sql
from flows.ingest.reader import SourceFile
from flows.intraday.batches import Batch, unload_batch
from flows.quality.gates import (
    DropQualityError,
    RuleOutcome,
    run_checkpoint,
    too_many_faulty_rows,
)
from flows.quality.gx_project import RAW_CHECKPOINT
from flows.quality.quarantine import quarantine_rows
from flows.quality.rules import RULES_BY_KEY
from flows.quality.sql_support import ensure_quality_objects
from flows.settings import Settings
from flows.warehouse import open_warehouse

RATINGS_SUITE = "raw_ratings"


@dataclass(frozen=True)
class BatchQuality:
    outcomes: tuple[RuleOutcome, ...]
    quarantined: int


def check_batch(
    settings: Settings, batch: Batch, source: SourceFile, load: FileLoad
) -> BatchQuality:
    with open_warehouse(settings.warehouse_path) as con:
        ensure_quality_objects(
            con,
            settings.dbt_project_dir / "seeds",
            max_holdings_change=settings.max_holdings_change,
        )
    landing = settings.model_copy(update={"dbt_target": "duckdb"})
    outcomes = [o for o in run_checkpoint(landing, RAW_CHECKPOINT) if o.suite == RATINGS_SUITE]
    file_name = f"{batch.label}/{load.file_name}"
    faults = [
        f"{file_name}: {o.description} ({o.unexpected} found)"
        for o in outcomes
        if o.action == "file" and o.unexpected
    ]
    failing = [
        RULES_BY_KEY[(o.suite, o.rule)]
        for o in outcomes
        if o.action == "quarantine" and o.unexpected
    ]
    with open_warehouse(settings.warehouse_path) as con:
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
