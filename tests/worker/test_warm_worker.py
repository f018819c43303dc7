"""`votum worker` as an operator runs it: a real Prefect server, the deployments of
`prefect.yaml` on the process pool, the worker in its own process, and daily runs asked
for through the deployment. Each run is handed to a process warmed up beforehand; a run
the warm process cannot take (another environment) starts the usual way; stopping the
worker ends its idle warm process. Nothing is mocked."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.prefect_server import (
    DAILY,
    FINAL_STATES,
    PROJECT_ROOT,
    VOTUM,
    PrefectServer,
    deployed_server,
    output,
)

READY = "is ready for the next flow run"
WARM = "votum: the flow run starts in a warm process"
NEW = "votum: the flow run starts in a new process"


@pytest.fixture(scope="module")
def prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    yield from deployed_server(tmp_path_factory)


class VotumWorker:
    """`votum worker --pool votum` in a process of its own, its output in a file."""

    def __init__(self, prefect: PrefectServer, folder: Path, home: Path) -> None:
        self.log_path = folder / "worker.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [VOTUM, "worker", "--pool", "votum"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=prefect.env(
                    VOTUM_HOME=str(home),
                    VOTUM_PROJECT_DIR=str(PROJECT_ROOT),
                    PREFECT_WORKER_QUERY_SECONDS="1",
                ),
                cwd=folder,  # not the project: the pull step finds it
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, count: int, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"waited for {count} x {text!r}; the worker's output:\n{self.log()}")
            time.sleep(0.2)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                return self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def _generate(folder: Path, home: Path, prefect: PrefectServer) -> Path:
    inbox = folder / "inbox"
    generate = subprocess.run(
        [
            *(VOTUM, "generate", "--out", str(inbox), "--start", "2026-03-02"),
            *("--days", "3", "--clients", "40", "--seed", "5"),
        ],
        capture_output=True,
        text=True,
        env=prefect.env(VOTUM_HOME=str(home)),
        cwd=folder,
        timeout=120,
        check=False,
    )
    assert generate.returncode == 0, output(generate)
    return inbox


def _daily_run(
    prefect: PrefectServer, worker: VotumWorker, day: str, inbox: Path, *extra: str
) -> dict[str, Any]:
    """Ask for the daily run of ``day`` through the deployment; wait for its end."""
    run = {"run_date": day, "inbox": str(inbox), "send": False}
    created = prefect.run("deployment", "run", DAILY, "--param", f"run={json.dumps(run)}", *extra)
    assert created.returncode == 0, output(created)
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", created.stdout)
    assert match, output(created)
    flow_run_id = match.group(1)
    deadline = time.monotonic() + 240
    flow_run = prefect.get(f"/flow_runs/{flow_run_id}")
    while flow_run["state"]["type"] not in FINAL_STATES and time.monotonic() < deadline:
        time.sleep(0.5)
        flow_run = prefect.get(f"/flow_runs/{flow_run_id}")
    if flow_run["state"]["type"] != "COMPLETED":
        pytest.fail(
            f"flow run {flow_run['state']['type']}: {flow_run['state'].get('message')}\n"
            f"the worker's output:\n{worker.log()}"
        )
    return flow_run


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_votum_worker_hands_each_flow_run_to_a_warm_process(
    prefect: PrefectServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    inbox = _generate(tmp_path, home, prefect)
    days = sorted(path.name for path in inbox.iterdir())
    worker = VotumWorker(prefect, tmp_path, home)
    try:
        worker.wait_for(READY, 1)
        for number, day in enumerate(days[:2], start=1):
            _daily_run(prefect, worker, day, inbox)
            worker.wait_for(READY, number + 1)  # the next run's process, warmed up
        log = worker.log()
        assert log.count(WARM) == 2, log
        assert NEW not in log, log
        ready = [int(pid) for pid in re.findall(r"process (\d+) " + READY, log)]
        assert len(set(ready)) == 3, log  # a process of its own for every run

        # A run whose environment is not the one the process was warmed in (a job
        # variable of the run) starts the usual way, and the worker says why.
        _daily_run(
            prefect,
            worker,
            days[2],
            inbox,
            *("--job-variable", 'env={"VOTUM_QUALITY_RESULTS_KEPT": "3"}'),
        )
        log = worker.log()
        assert (
            f"{NEW} (its environment differs from the warm process's: "
            "VOTUM_QUALITY_RESULTS_KEPT)" in log
        ), log
        assert log.count(WARM) == 2, log
        worker.wait_for(READY, 4)  # the process that declined made way for a new one
        idle = int(re.findall(r"process (\d+) " + READY, worker.log())[-1])
        assert _alive(idle)
    finally:
        exit_code = worker.stop()
    assert exit_code == 0, worker.log()

    # Stopping the worker ends its idle warm process (and with it that process's dbt and
    # quality gates processes).
    deadline = time.monotonic() + 30
    while _alive(idle) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(idle)

    # The three days ran: the first two in warm processes, the third in a new one.
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        outcomes = con.execute(
            "SELECT run_date::VARCHAR, outcome FROM ops.run_ledger"
            " WHERE flow = 'daily-run' ORDER BY run_date"
        ).fetchall()
    assert [day for day, _ in outcomes] == days
    assert {outcome for _, outcome in outcomes} <= {"succeeded", "degraded"}
