"""The mart quality gate of one intraday batch: the change-by-client suite on the batch's
rows of ``fct_client_rating_changes`` only.

The suite's data asset reads the day's rows: the morning's, checked by the morning run,
and those of every batch so far. A batch is validated in a DuckDB file of its own that
holds its rows and what the rules refer to (the rows of ``dim_clients`` and
``dim_advisors`` of its clients and their advisors, the rating scale, the day): the same
validation of the Great Expectations project, on the batch alone.

The results go to ``ops.quality_results`` under the suite and the batch
(``mart_client_rating_changes:intraday/101500``), beside the morning's, which stay as
the morning run recorded them. A failing rule holds the batch's emails (and the day's),
as for the morning."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from flows.intraday import validation
from flows.intraday.batches import Batch
from flows.quality.gates import QualityReport, RuleOutcome, marts_report
from flows.quality.gx_project import MART_SUITE
from flows.settings import Settings
from flows.warehouse import open_warehouse

# What the suite's rules read besides the batch's rows (flows/quality/rules.py), each
# restricted to what the batch's rows refer to.
_BATCH_ROWS = "SELECT * FROM main.fct_client_rating_changes WHERE business_day = ? AND batch_id = ?"
_REFERRED = {
    "main.dim_clients": (
        "SELECT * FROM main.dim_clients WHERE client_id IN (SELECT client_id FROM batch_rows)"
    ),
    "main.dim_advisors": (
        "SELECT * FROM main.dim_advisors WHERE advisor_id IN (SELECT advisor_id FROM batch_rows)"
    ),
    "reference.rating_scale": "SELECT * FROM reference.rating_scale",
}


def results_key(batch: Batch) -> str:
    """How ``ops.quality_results`` names the batch's mart results (``suite`` column)."""
    return validation.results_key(MART_SUITE, batch)


def check_batch_marts(
    settings: Settings, batch: Batch, outcomes: Sequence[RuleOutcome] | None = None
) -> QualityReport:
    """The mart suite on the batch's rows, recorded under the batch. ``outcomes``: the
    rules' results when the marts were built on another engine (validated there on the
    day's rows, :func:`flows.engines.target.mart_rule_outcomes`)."""
    if outcomes is None:
        outcomes = _validate_batch_rows(settings, batch)
    with open_warehouse(settings.warehouse_path) as con:
        validation.record(con, batch.day, results_key(batch), outcomes)
    return marts_report(settings, outcomes, f" of batch {batch.label}")


def _validate_batch_rows(settings: Settings, batch: Batch) -> list[RuleOutcome]:
    with open_warehouse(settings.warehouse_path) as con:
        rows = con.sql(_BATCH_ROWS, params=[batch.day, batch.batch_id]).to_arrow_table()
        con.register("batch_rows", rows)
        referred = {table: con.sql(query).to_arrow_table() for table, query in _REFERRED.items()}
        con.unregister("batch_rows")

    def fill(target: duckdb.DuckDBPyConnection) -> None:
        validation.copy_rows(target, "main.fct_client_rating_changes", rows)
        for table, table_rows in referred.items():
            validation.copy_rows(target, table, table_rows)

    with validation.batch_database(settings, batch, fill) as path:
        return validation.validate(settings, path, batch, MART_SUITE)
