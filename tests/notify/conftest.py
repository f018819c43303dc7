"""Fixtures of the email tests: a real SMTP server, and a built warehouse per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.settings import Settings, get_settings
from tests.notify.scenario import MON, TUE, WED, build_days, copy_home, write_scenario
from tests.smtp_server import RecordingSmtpServer


@pytest.fixture(scope="session")
def built_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three scenario days ingested and built once per session (VOTUM_HOME copy)."""
    root = tmp_path_factory.mktemp("notify-template")
    inbox = root / "inbox"
    write_scenario(inbox)
    home = root / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOTUM_HOME", str(home))
        build_days(get_settings(), inbox, [MON, TUE, WED])
    return home


@pytest.fixture
def mail_settings(
    built_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: RecordingSmtpServer,
) -> Settings:
    """Settings of a fresh copy of the built warehouse, pointed at the test server."""
    home = tmp_path / "home"
    copy_home(built_template, home)
    monkeypatch.setenv("VOTUM_HOME", str(home))
    monkeypatch.setenv("VOTUM_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("VOTUM_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("VOTUM_SMTP_SECURITY", "none")
    monkeypatch.setenv("VOTUM_SMTP_RETRY_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("VOTUM_MAIL_FROM", "research@bank.example")
    return get_settings()
