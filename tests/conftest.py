"""Shared fixtures. Everything is real: a DuckDB file per test, dbt run in process,
Prefect flows against a temporary local Prefect server (one per test session)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.smtp_server import RecordingSmtpServer

# Prefect reads its settings on import: point it at a throw-away home first.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="votum-tests-"))
os.environ["PREFECT_HOME"] = str(_SESSION_HOME / "prefect")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
for _name in list(os.environ):
    if _name.startswith("VOTUM_"):
        del os.environ[_name]

# A test process runs many flows, each on a home of its own, like a long-lived worker:
# with dbt and Great Expectations loaded here, they run in this process (no side process
# is started where its library is loaded: flows/runs/build_processes.py). The side
# processes are tested by tests/test_dbt_process.py and
# tests/quality/test_checkpoint_process.py, and run in every test that starts `votum run`.
import dbt.cli.main  # noqa: E402,F401

from flows.quality.gx_project import import_great_expectations  # noqa: E402

import_great_expectations()


@pytest.fixture
def votum_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh VOTUM_HOME for one test (its own warehouse); dbt's parse cache is shared."""
    home = tmp_path / "home"
    monkeypatch.setenv("VOTUM_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def smtp_server() -> Iterator[RecordingSmtpServer]:
    """A real SMTP server on localhost that records what it receives."""
    with RecordingSmtpServer() as server:
        yield server


@pytest.fixture
def mail_to(
    smtp_server: RecordingSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> RecordingSmtpServer:
    """Point votum's settings at the recording server (plain SMTP, fast retries)."""
    monkeypatch.setenv("VOTUM_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("VOTUM_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("VOTUM_SMTP_SECURITY", "none")
    monkeypatch.setenv("VOTUM_SMTP_RETRY_BACKOFF_SECONDS", "0.01")
    return smtp_server


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """One temporary Prefect server for every flow test of the session; yields its API
    URL so that `votum` subprocesses can use it too instead of starting their own."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())
