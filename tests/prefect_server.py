"""A real `prefect server start` process for the tests of the deployment path (the
deployments of `prefect.yaml`, process workers, `votum worker`): its own PREFECT_HOME, a
free port, stopped as one process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PREFECT = str(BIN / "prefect")
VOTUM = str(BIN / "votum")

DAILY = "votum-daily-run/votum-daily-run"
WEEKLY = "votum-weekly-report/votum-weekly-report"
INTRADAY = "votum-intraday-run/votum-intraday"
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"$ {' '.join(result.args)}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


class PrefectServer:
    """A `prefect server start` process with its own PREFECT_HOME."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.log = home / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a process that talks to this server (no VOTUM_* or
        PREFECT_* of the test session leaks in)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VOTUM_", "PREFECT_"))}
        env.update(
            {
                "PREFECT_HOME": str(self.home / "prefect"),
                "PREFECT_API_URL": self.api_url,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_UI_ENABLED": "false",
                "DO_NOT_TRACK": "1",
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "COLUMNS": "200",
            }
        )
        env.update(extra)
        return env

    def start(self, timeout: float = 120) -> None:
        env = self.env()
        del env["PREFECT_API_URL"]  # the server itself serves it
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.home,
                start_new_session=True,  # its own process group, stopped as one
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prefect server exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        self.stop()
        raise AssertionError(f"prefect server not healthy in {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        pgid = os.getpgid(self.process.pid)
        os.killpg(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.api_url}{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = httpx.post(f"{self.api_url}{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def run(
        self, *args: str, cwd: Path = PROJECT_ROOT, timeout: float = 180, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PREFECT, *args],
            capture_output=True,
            text=True,
            env=self.env(**env),
            cwd=cwd,
            timeout=timeout,
            check=False,
        )


def deployed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A Prefect server process, the work pool `votum` (one run at a time) and the
    deployments of `prefect.yaml`, deployed as the README says (from the project root)."""
    server = PrefectServer(tmp_path_factory.mktemp("prefect-server"))
    server.start()
    try:
        pool = server.run("work-pool", "create", "votum", "--type", "process")
        assert pool.returncode == 0, output(pool)
        limit = server.run("work-pool", "set-concurrency-limit", "votum", "1")
        assert limit.returncode == 0, output(limit)
        deploy = server.run("--no-prompt", "deploy", "--all")
        assert deploy.returncode == 0, output(deploy)
        yield server
    finally:
        server.stop()
