"""The Easter-week scenario run through the daily pipeline's stages once per session
(emails to a real SMTP server), then copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.ingest.loader import load_drop
from flows.notify.dispatch import dispatch
from flows.notify.journal import open_journal
from flows.notify.plan import plan_day
from flows.quality.gates import check_drop
from flows.settings import Settings, get_settings
from flows.transform import build_marts
from flows.warehouse import open_warehouse, set_run_date
from tests.report.scenario import DAYS, write_scenario
from tests.smtp_server import RecordingSmtpServer


def run_days(settings: Settings, inbox: Path) -> None:
    for day in DAYS:
        with open_warehouse(settings.warehouse_path) as con:
            load = load_drop(con, inbox / day.isoformat(), day)
            set_run_date(con, day, settings.sla_business_days)
        check_drop(settings, load)
        build_marts(settings, day)
        with (
            open_warehouse(settings.warehouse_path) as con,
            open_journal(settings.journal_path) as journal,
        ):
            plan_day(
                con, journal, day, max_change_share=1.0, min_changed_isins=99,
                advisor_language="de", mail_domain="bank.example",
            )  # fmt: skip
        dispatch(settings)


@pytest.fixture(scope="session")
def easter_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("easter")
    write_scenario(root / "inbox")
    home = root / "home"
    with RecordingSmtpServer() as server, pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "VOTUM_HOME": str(home), "VOTUM_SMTP_HOST": server.host,
            "VOTUM_SMTP_PORT": str(server.port), "VOTUM_SMTP_SECURITY": "none",
        }.items():  # fmt: skip
            patch.setenv(name, value)
        run_days(get_settings(), root / "inbox")
    return home


@pytest.fixture
def easter(
    easter_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mail_to: RecordingSmtpServer,
) -> Settings:
    home = tmp_path / "home"
    shutil.copytree(easter_template, home)
    monkeypatch.setenv("VOTUM_HOME", str(home))
    monkeypatch.setenv("VOTUM_REPORT_SUMMARY_TO", "vorstand@bank.example")
    return get_settings()
