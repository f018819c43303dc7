"""dbt in a process of its own (flows.dbt_process): the same builds, results and
failures as in-process, and a process that dies is told, never waited for."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows import dbt_process, side_process
from flows.errors import TransformError
from flows.ingest.loader import load_drop
from flows.settings import Settings, get_settings
from flows.transform import _common_args, build_marts, dbt_environment, invoke_dbt
from flows.warehouse import open_warehouse
from tests.drops import SAP, SIEMENS, write_drop

MON, TUE = date(2026, 3, 2), date(2026, 3, 3)


def _start(settings: Settings) -> side_process.SideProcess:
    dbt_process.start_dbt_process(
        _common_args(settings, None),
        dbt_environment(settings),
        settings.logs_dir / "dbt-process.log",
    )
    started = side_process.side_process_for(
        dbt_process.MODULE,
        dbt_process._key(_common_args(settings, None), dbt_environment(settings)),
    )
    assert started is not None
    return started


@pytest.fixture
def two_days(votum_home: Path) -> Iterator[Settings]:
    """Monday's initiations and Tuesday's changes loaded; Monday built in-process."""
    inbox = votum_home.parent / "inbox"
    clients = [["C1", "Jürgen", "Müller", "j@example.com", "de", "A1", "ja"]]
    advisors = [["A1", "Petra Schmidt", "petra@bank.example", "Filiale München", "b@bank.example"]]
    holdings = [["C1", SAP, 10, "1000.00"], ["C1", SIEMENS, 5, "500.00"]]
    write_drop(
        inbox,
        MON,
        ratings=[
            [SAP, "SAP SE", "buy", "2026-03-02"],
            [SIEMENS, "Siemens AG", "hold", "2026-03-02"],
        ],
        holdings=holdings,
        clients=clients,
        advisors=advisors,
    )
    write_drop(
        inbox,
        TUE,
        ratings=[
            [SAP, "SAP SE", "sell", "2026-03-03"],
            [SIEMENS, "Siemens AG", "hold", "2026-03-03"],
        ],
        holdings=holdings,
    )
    settings = get_settings()
    for day in (MON, TUE):
        with open_warehouse(settings.warehouse_path) as con:
            load_drop(con, inbox / day.isoformat(), day)
    build_marts(settings, MON)
    yield settings
    side_process.stop_side_processes()


def test_a_build_in_dbt_s_process_is_the_build_in_process(two_days: Settings) -> None:
    process = _start(two_days)
    result = build_marts(two_days, TUE)
    assert process.served == 1
    assert process.process.poll() is None  # it waits for the next command
    assert {n.name for n in result.nodes} >= {"fct_rating_changes", "fct_client_rating_changes"}
    assert {n.status for n in result.nodes} == {"success", "pass", "no-op"}  # no-op: exposures
    with open_warehouse(two_days.warehouse_path, read_only=True) as con:
        changes = con.execute(
            "SELECT isin, change_type FROM fct_rating_changes WHERE business_day = ?", [TUE]
        ).fetchall()
    assert changes == [(SAP, "downgrade")]
    # The build ran there, not here: its log is the process's, and the process has the
    # warehouse closed again between commands (this process can write it).
    assert (two_days.logs_dir / "dbt-process.log").exists()
    with duckdb.connect(str(two_days.warehouse_path)) as con:
        con.execute("SELECT 1").fetchall()
    process.stop()
    assert process.process.returncode == 0


def test_a_dbt_process_tells_when_it_is_ready_without_a_command(two_days: Settings) -> None:
    process = _start(two_days)
    side_process.wait_until_side_processes_ready()  # dbt imported, the project parsed
    # Its answer was read: the reply to the next command is that command's.
    assert process.served == 0
    invoke_dbt(two_days, ["test", "--select", "fct_rating_changes"])
    assert process.served == 1


def test_a_dbt_process_that_dies_while_getting_ready_is_told(two_days: Settings) -> None:
    process = _start(two_days)
    os.kill(process.process.pid, signal.SIGKILL)
    with pytest.raises(side_process.SideProcessEndedError) as raised:
        process.wait_until_ready()
    assert raised.value.exit_code == -signal.SIGKILL


def test_a_failing_data_test_in_dbt_s_process_is_reported_by_name(two_days: Settings) -> None:
    _start(two_days)
    with duckdb.connect(str(two_days.warehouse_path)) as con:
        con.execute("UPDATE fct_rating_changes SET change_type = 'sideways'")
    with pytest.raises(TransformError) as raised:
        invoke_dbt(two_days, ["test", "--select", "fct_rating_changes"])
    assert "accepted_values_fct_rating_changes_change_type" in str(raised.value)


def test_commands_for_another_home_run_in_process(two_days: Settings, tmp_path: Path) -> None:
    process = _start(two_days)
    other = two_days.model_copy(update={"home": tmp_path / "other"})
    with pytest.raises(TransformError):  # no project built there: dbt fails, here
        invoke_dbt(other, ["test", "--select", "fct_rating_changes"])
    assert process.served == 0
    invoke_dbt(two_days, ["test", "--select", "fct_rating_changes"])
    assert process.served == 1


def test_a_dbt_process_that_died_is_told_with_its_log(two_days: Settings) -> None:
    process = _start(two_days)
    os.kill(process.process.pid, signal.SIGKILL)
    process.process.wait()
    with pytest.raises(TransformError) as raised:
        build_marts(two_days, TUE)
    message = str(raised.value)
    assert "dbt's process ended" in message
    assert str(two_days.logs_dir / "dbt-process.log") in message


def test_a_run_done_with_its_side_processes_lets_them_end_unless_kept(
    two_days: Settings,
) -> None:
    from flows.runs.build_processes import build_processes_kept, done_with_build_processes

    process = _start(two_days)
    with build_processes_kept():
        done_with_build_processes()
    assert process.process.poll() is None  # kept: the next day uses it
    done_with_build_processes()
    assert process.process.wait(timeout=30) == 0  # ended on its own, its memory freed
    key = dbt_process._key(_common_args(two_days, None), dbt_environment(two_days))
    assert side_process.side_process_for(dbt_process.MODULE, key) is None
    invoke_dbt(two_days, ["test", "--select", "fct_rating_changes"])  # here, in-process
    assert process.served == 0
