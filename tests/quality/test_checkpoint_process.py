"""The quality gates in a side process of the run (flows/quality/checkpoint_process.py):
the same outcomes, quarantine and Data Docs as in-process, and a process that dies is
told with its log, never waited for."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows import side_process
from flows.quality.checkpoint_process import start_checkpoint_process
from flows.quality.gates import (
    CHECKPOINT_PROCESS,
    QualityError,
    check_drop,
    checkpoint_process_settings,
    run_checkpoint,
)
from flows.settings import Settings
from tests.quality.test_gates import DAY, faulty_drop, load, quarantine


def _started(settings: Settings) -> side_process.SideProcess:
    # This test process has Great Expectations loaded (where start_checkpoint_process
    # starts none): start it as a fresh run's process would.
    key = checkpoint_process_settings(settings)
    return side_process.start_side_process(
        CHECKPOINT_PROCESS, key, key, {}, settings.logs_dir / "quality-process.log"
    )


@pytest.fixture
def two_homes(votum_home: Path, tmp_path: Path) -> Iterator[tuple[Settings, Settings]]:
    """The same faulty drop loaded into two homes."""
    from flows.settings import get_settings

    here = get_settings()
    there = here.model_copy(update={"home": tmp_path / "there"})
    faulty_drop(tmp_path / "inbox")
    yield here, there
    side_process.stop_side_processes()


def test_the_raw_gate_in_its_process_is_the_gate_in_process(
    two_homes: tuple[Settings, Settings], tmp_path: Path
) -> None:
    here, there = two_homes
    folder = tmp_path / "inbox" / DAY.isoformat()
    in_process = check_drop(here, load(here, folder, DAY))
    process = _started(there)
    beside = check_drop(there, load(there, folder, DAY))
    assert process.served == 1
    assert beside.outcomes == in_process.outcomes
    assert beside.quarantined == in_process.quarantined == {"holdings": 5, "ratings": 6}
    assert quarantine(there) == quarantine(here)
    assert beside.data_docs is not None and beside.data_docs.is_file()
    assert "checkpoint raw_drop: " in (there.logs_dir / "quality-process.log").read_text()


def test_a_rule_that_cannot_run_there_is_told_here(
    two_homes: tuple[Settings, Settings], tmp_path: Path
) -> None:
    _, there = two_homes
    process = _started(there)
    # No drop loaded: the raw tables do not exist, so no rule can run.
    with pytest.raises(QualityError) as raised:
        run_checkpoint(there, "raw_drop")
    assert process.served == 1
    assert "could not run" in str(raised.value)
    assert process.process.poll() is None  # the process lives on for the next checkpoint


def test_a_gates_process_that_died_is_told_with_its_log(
    two_homes: tuple[Settings, Settings],
) -> None:
    _, there = two_homes
    process = _started(there)
    os.kill(process.process.pid, signal.SIGKILL)
    process.process.wait()
    with pytest.raises(QualityError) as raised:
        run_checkpoint(there, "raw_drop")
    assert "process ended" in str(raised.value)
    assert str(there.logs_dir / "quality-process.log") in str(raised.value)


def test_not_started_where_great_expectations_is_loaded_or_for_another_engine(
    two_homes: tuple[Settings, Settings],
) -> None:
    here, _ = two_homes
    assert not start_checkpoint_process(here)  # this test process has it loaded
    assert checkpoint_process_settings(here.model_copy(update={"dbt_target": "postgres"})) is None
