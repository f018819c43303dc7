"""`votum serve` as a real process on a free local port, with its own VOTUM_HOME; its
stderr (the service's log) goes to a file the tests read."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from flows.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    home: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def settings(self) -> Settings:
        """The settings the service runs with (same home, same key file)."""
        return Settings(
            home=self.home, unsubscribe_url=f"{self.origin}/research-alerts/unsubscribe"
        )

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_service(home: Path, port: int, extra_env: dict[str, str] | None = None) -> Service:
    votum = Path(sys.executable).with_name("votum")
    command = [str(votum)] if votum.exists() else [sys.executable, "-m", "flows.cli"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOTUM_")},
        "VOTUM_HOME": str(home),
        "VOTUM_UNSUBSCRIBE_URL": f"http://127.0.0.1:{port}/research-alerts/unsubscribe",
        **(extra_env or {}),
    }
    home.mkdir(parents=True, exist_ok=True)
    log = home / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=home,
        )
    service = Service(home=home, port=port, log=log, process=process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"votum serve exited: {service.log_text()[-2000:]}")
        try:
            if httpx.get(f"{service.origin}/healthz", timeout=1).status_code == 200:
                return service
        except httpx.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("votum serve did not answer /healthz within 60 s")


def stop_service(service: Service) -> None:
    service.process.terminate()
    try:
        service.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service per test module. It believes X-Forwarded-For from 127.0.0.1, so each
    test speaks as its own source address (the rate limit is per address)."""
    running = start_service(
        tmp_path_factory.mktemp("serve") / "home",
        free_port(),
        {"VOTUM_SERVE_TRUSTED_PROXY": "127.0.0.1", "VOTUM_SERVE_RATE_PER_MINUTE": "12"},
    )
    yield running
    stop_service(running)
