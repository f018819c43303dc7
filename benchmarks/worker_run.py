"""The deployment path of a daily run (or an intraday call), timed: a real ``prefect
server start``, the deployments of ``prefect.yaml`` on a ``process`` work pool, and a
process worker that is already running (warm) when the run is asked for.

A process worker runs each flow run in a new Python process of its own (imports paid
every time) that reports to the running server (no temporary server to start). The
time counted is Prefect's own record of the run: from the worker taking it (state
Pending) to its end (Completed), read from the server's state history.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PREFECT = str(BIN / "prefect")
DAILY = "votum-daily-run/votum-daily-run"
INTRADAY = "votum-intraday-run/votum-intraday"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@dataclass(frozen=True)
class WorkerRun:
    seconds: float  # the worker taking the run (Pending) to Completed
    flow_seconds: float  # the flow function's own run (Running to Completed)


class _Server:
    def __init__(self, home: Path) -> None:
        self.home = home
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.worker_log: Path | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VOTUM_", "PREFECT_"))}
        env.update(
            PREFECT_HOME=str(self.home / "prefect"),
            PREFECT_API_URL=self.api_url,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_UI_ENABLED="false",
            DO_NOT_TRACK="1",
            **extra,
        )
        return env

    def request(
        self, path: str, body: dict[str, Any] | None = None, *, method: str | None = None
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.api_url + path,
            data=data,
            headers={"Content-Type": "application/json"},
            method=method or ("POST" if data is not None else "GET"),
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            content = reply.read()
        return json.loads(content) if content else None

    def prefect(self, *args: str) -> None:
        done = subprocess.run(
            [PREFECT, *args], capture_output=True, text=True, env=self.env(), cwd=ROOT, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=log.parent,
            start_new_session=True,
        )  # fmt: skip


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(os.getpgid(process.pid), signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(os.getpgid(process.pid), signal.SIGKILL)
            process.wait()


def _without_schedules(server: _Server) -> None:
    """Only the runs the bench asks for: the deployments' schedules paused, and any run
    the scheduler created before that deleted (an intraday poll every ten minutes in the
    daytime would run beside the measured run, or cancel it: one poll at a time)."""
    server.prefect("--no-prompt", "deployment", "schedule", "pause", "--all")
    scheduled = server.request(
        "/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}}
    )
    for flow_run in scheduled:
        server.request(f"/flow_runs/{flow_run['id']}", method="DELETE")


@contextmanager
def running_worker(
    work: Path,
    votum_home: Path,
    deployments: Sequence[str] = ("votum-daily-run",),
    worker_env: Mapping[str, str] | None = None,
) -> Iterator[_Server]:
    """A Prefect server, the ``deployments`` of prefect.yaml (their schedules paused)
    and a process worker whose flow runs use ``votum_home`` and ``worker_env``
    (VOTUM_SMTP_*, ...: the worker's environment is its flow runs')."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    server = _Server(work)
    env = server.env()
    del env["PREFECT_API_URL"]
    process = _spawn(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(server.port)],
        env,
        work / "server.log",
    )
    worker: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                server.request("/health")
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(
                        f"prefect server did not start: see {work / 'server.log'}"
                    ) from None
                time.sleep(0.5)
        server.prefect("work-pool", "create", "votum", "--type", "process")
        for name in deployments:
            server.prefect("--no-prompt", "deploy", "--name", name)
        _without_schedules(server)
        worker = _spawn(
            [str(BIN / "votum"), "worker", "--pool", "votum"],
            server.env(
                **(worker_env or {}),
                VOTUM_HOME=str(votum_home),
                VOTUM_PROJECT_DIR=str(ROOT),
                PREFECT_WORKER_QUERY_SECONDS="1",
            ),
            work / "worker.log",
        )
        server.worker_log = work / "worker.log"
        yield server
    finally:
        if worker is not None:
            _stop(worker)
        _stop(process)


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def run_daily(server: _Server, parameters: dict[str, Any], timeout: float = 900) -> WorkerRun:
    """Ask for a daily run through the deployment; wait for it; its times."""
    return run_deployment(server, DAILY, parameters, timeout)


def run_intraday(server: _Server, parameters: dict[str, Any], timeout: float = 900) -> WorkerRun:
    """Ask for an intraday call through the ``votum-intraday`` deployment (its one
    parameter ``run``: flows.parameters.IntradayRunParameters); wait for it; its times."""
    return run_deployment(server, INTRADAY, parameters, timeout)


def _wait_until_warm(server: _Server, timeout: float = 300) -> None:
    """A warm worker is one waiting for its next run with its process ready
    (``votum worker`` says so in its log), as between a day's scheduled runs."""
    assert server.worker_log is not None
    deadline = time.monotonic() + timeout
    while True:
        log = server.worker_log.read_text(errors="replace")
        if log.count("is ready for the next flow run") > log.count("starts in a warm process"):
            return
        if time.monotonic() > deadline:
            raise SystemExit(
                f"the worker had no warm process in {timeout:.0f} s: see {server.worker_log}"
            )
        time.sleep(0.2)


def run_deployment(
    server: _Server, name: str, parameters: dict[str, Any], timeout: float = 900
) -> WorkerRun:
    """A run of deployment ``name`` with ``parameters`` as its one parameter ``run``;
    waits for its end; its times from the server's state history."""
    _wait_until_warm(server)
    deployment = server.request(f"/deployments/name/{name}")
    created = server.request(
        f"/deployments/{deployment['id']}/create_flow_run", {"parameters": {"run": parameters}}
    )
    flow_run_id = created["id"]
    deadline = time.monotonic() + timeout
    while True:
        flow_run = server.request(f"/flow_runs/{flow_run_id}")
        if flow_run["state"]["type"] in FINAL:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"the worker's run {flow_run_id} did not end in {timeout:.0f} s")
        time.sleep(0.2)
    if flow_run["state"]["type"] != "COMPLETED":
        raise SystemExit(
            f"the worker's run ended {flow_run['state']['type']}: {flow_run['state']['message']}"
        )
    history = server.request("/flow_run_states/?flow_run_id=" + flow_run_id)
    times = {s["type"]: s["timestamp"] for s in history}
    return WorkerRun(
        seconds=_seconds(times["PENDING"], times["COMPLETED"]),
        flow_seconds=_seconds(times["RUNNING"], times["COMPLETED"]),
    )
