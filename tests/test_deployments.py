"""The Prefect deployments of `prefect.yaml` as an operator uses them: a real Prefect
server in its own process, `prefect deploy`, and a process worker that runs the daily
deployment on a generated drop. Everything is a real subprocess; nothing is mocked."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.prefect_server import (
    DAILY,
    FINAL_STATES,
    INTRADAY,
    PROJECT_ROOT,
    VOTUM,
    WEEKLY,
    PrefectServer,
    deployed_server,
    output,
)


@pytest.fixture(scope="module")
def prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    yield from deployed_server(tmp_path_factory)


def test_deploy_creates_the_schedules_on_the_process_pool(prefect: PrefectServer) -> None:
    expected = {
        DAILY: ("flows/pipeline.py:daily_run", ["30 6 * * 1-5"], "run", {}),
        # Every 10 minutes, 07:00 to 20:00 inclusive, on business days (the flow skips
        # public holidays); a poll returns quietly when the run lock is taken.
        INTRADAY: (
            "flows/pipeline.py:intraday_run",
            ["*/10 7-19 * * 1-5", "0 20 * * 1-5"],
            "run",
            {"scheduled": True},
        ),
        WEEKLY: ("flows/pipeline.py:weekly_report", ["0 7 * * 1"], "report", {}),
    }
    for name, (entrypoint, crons, parameter, value) in expected.items():
        deployment = prefect.get(f"/deployments/name/{name}")
        assert deployment["entrypoint"] == entrypoint
        assert deployment["work_pool_name"] == "votum"
        schedules = [s["schedule"] for s in deployment["schedules"] if s["active"]]
        assert sorted((s["cron"], s["timezone"]) for s in schedules) == sorted(
            (cron, "Europe/Berlin") for cron in crons
        )
        assert deployment["enforce_parameter_schema"] is True
        assert deployment["global_concurrency_limit"]["limit"] == 1
        # Defaults resolve when a run starts: nothing but the model's fields set here.
        assert deployment["parameters"] == {parameter: value}
        assert list(deployment["parameter_openapi_schema"]["properties"]) == [parameter]
        # No machine's path in the deployment: the worker's VOTUM_PROJECT_DIR is read
        # when a run starts.
        assert deployment["path"] is None
        assert deployment["pull_steps"] == [
            {
                "prefect.deployments.steps.set_working_directory": {
                    "directory": "{{ $VOTUM_PROJECT_DIR }}"
                }
            }
        ]

    # A poll that comes while the last one still runs is cancelled, not queued.
    intraday = prefect.get(f"/deployments/name/{INTRADAY}")
    assert intraday["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"

    pool = prefect.get("/work_pools/votum")
    assert (pool["type"], pool["concurrency_limit"]) == ("process", 1)

    # The parameter schema is enforced: a wrong type is refused before any worker sees it.
    refused = prefect.run("deployment", "run", DAILY, "--param", 'run={"send": "maybe"}')
    assert refused.returncode != 0, output(refused)


def test_a_process_worker_runs_the_daily_deployment(prefect: PrefectServer, tmp_path: Path) -> None:
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    generate = subprocess.run(
        [
            *(VOTUM, "generate", "--out", str(inbox), "--start", "2026-03-02"),
            *("--days", "1", "--clients", "50", "--seed", "3"),
        ],
        capture_output=True,
        text=True,
        env=prefect.env(VOTUM_HOME=str(home)),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert generate.returncode == 0, output(generate)

    run = {"run_date": "2026-03-02", "inbox": str(inbox), "send": False}
    created = prefect.run("deployment", "run", DAILY, "--param", f"run={json.dumps(run)}")
    assert created.returncode == 0, output(created)
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", created.stdout)
    assert match, output(created)
    flow_run_id = match.group(1)

    # The worker is started from elsewhere on purpose: the pull step finds the code
    # through VOTUM_PROJECT_DIR, not through the worker's working directory.
    worker = prefect.run(
        "worker",
        "start",
        "--pool",
        "votum",
        "--run-once",
        cwd=tmp_path,
        timeout=300,
        VOTUM_HOME=str(home),
        VOTUM_PROJECT_DIR=str(PROJECT_ROOT),
    )
    flow_run = prefect.get(f"/flow_runs/{flow_run_id}")
    deadline = time.monotonic() + 60
    while flow_run["state"]["type"] not in FINAL_STATES and time.monotonic() < deadline:
        time.sleep(1)
        flow_run = prefect.get(f"/flow_runs/{flow_run_id}")
    if flow_run["state"]["type"] != "COMPLETED":
        logs = prefect.post(
            "/logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 200}
        )
        pytest.fail(
            f"flow run {flow_run['state']['type']}: {flow_run['state'].get('message')}\n"
            + "\n".join(entry["message"] for entry in logs)
            + "\n"
            + output(worker)
        )
    assert worker.returncode == 0, output(worker)
    assert flow_run["parameters"] == {"run": run}

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        raw_ratings = con.execute("SELECT count(*) FROM raw.ratings").fetchone()
        raw_holdings = con.execute("SELECT count(*) FROM raw.holdings").fetchone()
        changes = con.execute("SELECT count(*) FROM fct_rating_changes").fetchone()
    assert raw_ratings and raw_ratings[0] > 0
    assert raw_holdings and raw_holdings[0] > 0
    assert changes and changes[0] > 0
