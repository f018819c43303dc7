"""The run ledger on a real DuckDB file: outcomes, stages, interrupted runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from flows.errors import TransformError
from flows.runs.ledger import RunRecord, last_runs, recorded_run
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


_FULL_DISK_RUN = """
import logging, resource, sys
from datetime import date
from flows.errors import MissingFileError
from flows.runs.ledger import recorded_run
from flows.settings import get_settings

logging.basicConfig(level=logging.INFO, stream=sys.stderr)

def alert(record):
    print(f"alert attempted: {record.outcome}: {record.reason}", flush=True)

try:
    with recorded_run(get_settings(), "daily-run", run_date=date(2026, 3, 2), on_end=alert) as run:
        run.stage("ingest", lambda: None)
        # From here on no file may grow: the disk is full.
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
        raise MissingFileError("drop 2026-03-02: required file ratings.csv is missing")
except MissingFileError as exc:
    print(f"original error: {exc}", flush=True)
    sys.exit(exc.exit_code)
"""


def test_a_failure_while_recording_a_failure_does_not_hide_the_original_error(
    votum_home: Path,
) -> None:
    """A real limit (RLIMIT_FSIZE, SIGXFSZ ignored so that writes fail with EFBIG), set
    while the run is in ingest: the failed run cannot be written to the run ledger."""
    import os
    import signal
    import subprocess
    import sys

    def ignore_file_size_signal() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_RUN],
        env={**os.environ, "VOTUM_HOME": str(votum_home)},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=ignore_file_size_signal,
        check=False,
    )
    assert done.returncode == 3, done.stderr  # the original error's exit code
    assert "original error: drop 2026-03-02: required file ratings.csv is missing" in done.stdout
    assert "alert attempted: failed: drop 2026-03-02: required file" in done.stdout
    assert "the run ledger could not record run" in done.stderr
    assert "its own error follows" in done.stderr
    # What the ledger kept: the run in ingest, which the next run marks interrupted.
    [run] = last_runs(get_settings())
    assert (run.outcome, run.stage) == ("running", "ingest")
