"""The temporary Prefect server a `votum` command starts for its flow runs: a real
server process (Prefect's own application under uvicorn), its API answered, stopped."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from flows.errors import ConfigurationError
from flows.runs.prefect_server import start_temporary_server


@pytest.fixture
def prefect_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    return tmp_path


def _port_open(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((parts.hostname or "", parts.port or 0)) == 0


def test_nothing_is_started_when_a_server_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert start_temporary_server(Path("unused.log")) is None


def test_a_started_server_answers_the_api_and_is_stopped(
    prefect_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_temporary_server(prefect_env / "logs" / "prefect-server.log")
    assert server is not None
    try:
        assert os.environ["PREFECT_API_URL"] == server.api_url
        server.wait_until_ready(120)
        with urllib.request.urlopen(f"{server.api_url}/admin/version", timeout=10) as reply:
            assert json.loads(reply.read())  # Prefect's API version string
        # Its database lives under PREFECT_HOME, as for Prefect's own temporary server.
        assert (prefect_env / "prefect" / "prefect.db").exists()
    finally:
        server.stop()
    assert server.process.returncode is not None
    assert not _port_open(server.api_url)


def test_a_server_that_cannot_start_is_told_with_its_log(
    prefect_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its SQLite database cannot be created under a file.
    blocker = prefect_env / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("PREFECT_HOME", str(blocker / "prefect"))
    log = prefect_env / "logs" / "prefect-server.log"
    server = start_temporary_server(log)
    assert server is not None
    try:
        with pytest.raises(ConfigurationError, match=r"prefect-server\.log") as raised:
            server.wait_until_ready(120)
        assert "PREFECT_API_URL" in str(raised.value) or "exited" in str(raised.value)
    finally:
        server.stop()
    assert log.read_text(encoding="utf-8").strip()  # the server's own messages


def _started(log: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, str]:
    """Start, wait, ask the database, stop; the server's environment and its answer."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    server = start_temporary_server(log)
    assert server is not None
    try:
        environment = Path(f"/proc/{server.process.pid}/environ").read_bytes()
        server.wait_until_ready(120)
        request = urllib.request.Request(
            f"{server.api_url}/flows/filter", data=b"{}", method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as reply:
            answer = reply.read().decode()
    finally:
        server.stop()
    return environment, answer


def test_the_database_is_migrated_once_per_prefect_version(
    prefect_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = prefect_env / "logs" / "prefect-server.log"
    skip = b"PREFECT_SERVER_DATABASE_MIGRATE_ON_START=false"
    home = prefect_env / "prefect"

    environment, answer = _started(log, monkeypatch)
    assert skip not in environment  # a new database: created and migrated
    assert answer == "[]"
    assert [m.name for m in home.glob(".votum-migrated-*")] == [
        f".votum-migrated-prefect-{version('prefect')}"
    ]

    environment, answer = _started(log, monkeypatch)
    assert skip in environment  # migrated by this version before: not again
    assert answer == "[]"

    # Without its database (removed, or another PREFECT_HOME) it migrates again.
    for path in home.glob("prefect.db*"):
        path.unlink()
    environment, answer = _started(log, monkeypatch)
    assert skip not in environment
    assert answer == "[]"

    # A database configured by the user follows Prefect's own settings.
    monkeypatch.setenv("PREFECT_API_DATABASE_MIGRATE_ON_START", "true")
    environment, _ = _started(log, monkeypatch)
    assert skip not in environment
