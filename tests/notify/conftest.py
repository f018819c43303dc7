"""Fixtures of the email tests: a real SMTP server, and a built warehouse per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.settings import Settings, get_settings
from tests.notify.scenario import MON, TUE, WED, build_days, copy_home, write_scenario
from tests.smtp_server import RecordingSmtpServer


@pytest.fixture(scope="session")
def built_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Monday and Tuesday ingested and built once per session (VOTUM_HOME copy);
    Wednesday's drop waits in the inbox (``build_wednesday``)."""
    root = tmp_path_factory.mktemp("notify-template")
    inbox = root / "inbox"
    write_scenario(inbox)
    home = root / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOTUM_HOME", str(home))
        build_days(get_settings(), inbox, [MON, TUE])
    return home


@pytest.fixture(scope="session")
def built_template_wed(built_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three scenario days built (Wednesday: C1 opted out, C2's address changed)."""
    home = tmp_path_factory.mktemp("notify-template-wed") / "home"
    copy_home(built_template, home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOTUM_HOME", str(home))
        build_days(get_settings(), built_template.parent / "inbox", [WED])
    return home


def build_wednesday(settings: Settings, template: Path) -> None:
    """Load and build Wednesday's drop into the warehouse of ``settings``."""
    build_days(settings, template.parent / "inbox", [WED])


def _point_at(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: RecordingSmtpServer
) -> Settings:
    home = tmp_path / "home"
    copy_home(template, home)
    monkeypatch.setenv("VOTUM_HOME", str(home))
    monkeypatch.setenv("VOTUM_SMTP_HOST", server.host)
    monkeypatch.setenv("VOTUM_SMTP_PORT", str(server.port))
    monkeypatch.setenv("VOTUM_SMTP_SECURITY", "none")
    monkeypatch.setenv("VOTUM_SMTP_RETRY_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("VOTUM_MAIL_FROM", "research@bank.example")
    return get_settings()


@pytest.fixture
def mail_settings(
    built_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: RecordingSmtpServer,
) -> Settings:
    """Settings of a fresh copy of the built warehouse (Monday and Tuesday), pointed at
    the test server."""
    return _point_at(built_template, tmp_path, monkeypatch, smtp_server)


@pytest.fixture
def mail_settings_wed(
    built_template_wed: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: RecordingSmtpServer,
) -> Settings:
    """Like ``mail_settings``, with Wednesday's drop built too."""
    return _point_at(built_template_wed, tmp_path, monkeypatch, smtp_server)
