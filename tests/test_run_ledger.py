"""The run ledger on a real DuckDB file: outcomes, stages, interrupted runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from flows.errors import TransformError
from flows.run_ledger import RunRecord, last_runs, recorded_run
from flows.settings import get_settings

DAY = date(2026, 3, 2)


def test_a_failure_is_recorded_with_its_stage_and_a_dead_run_shows_as_interrupted(
    votum_home: Path,
) -> None:
    settings = get_settings()
    ended: list[RunRecord] = []

    # A run whose process died: written as running, never finished.
    with recorded_run(settings, "daily-run", run_date=DAY) as dead:
        dead.stage("ingest", lambda: 1)
        dead_id = dead.run_id
        dead.count({"rows_loaded_holdings": 12})
        dead._write()
        # What a killed process leaves behind: the row as it was mid-stage.
        snapshot = RunRecord(
            settings, "daily-run", run_date=DAY, run_id="killed", started_at=dead.started_at
        )
        snapshot.stage_name = "dbt_build"
        snapshot._write()

    with (
        pytest.raises(TransformError),
        recorded_run(settings, "daily-run", run_date=DAY, on_end=ended.append) as failing,
    ):
        failing.stage("ingest", lambda: None)
        failing.stage("dbt_build", _fail)

    runs = {run.run_id: run for run in last_runs(settings)}
    assert runs[dead_id].outcome == "succeeded"
    assert runs[dead_id].counts == {"rows_loaded_holdings": 12}
    assert "ingest" in runs[dead_id].stage_seconds
    assert runs["killed"].outcome == "failed" and runs["killed"].stage == "dbt_build"
    assert (runs["killed"].reason or "").startswith("interrupted")
    failed = runs[failing.run_id]
    assert (failed.outcome, failed.stage) == ("failed", "dbt_build")
    assert failed.reason == "dbt build failed: model fct_alerts (test)"
    assert failed.ended_at is not None and list(failed.stage_seconds) == ["ingest"]
    assert [record.run_id for record in ended] == [failing.run_id]


def _fail() -> None:
    raise TransformError("dbt build failed: model fct_alerts (test)")
