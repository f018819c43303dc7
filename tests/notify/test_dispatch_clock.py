"""What dispatch stamps as the sending time: the real clock, unless the demo-only
VOTUM_DEMO_CLOCK_FILE names a simulated instant (flows/clock.py)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from flows.clock import BANK_TIMEZONE, set_simulated_instant
from flows.notify.dispatch import dispatch
from flows.settings import Settings, get_settings
from flows.warehouse import open_warehouse
from tests.notify.scenario import TUE
from tests.notify.test_dispatch import plan
from tests.smtp_server import RecordingSmtpServer


def sent_ats(settings: Settings) -> list[datetime]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT CAST(sent_at AS TIMESTAMPTZ) FROM ops.delivery_ledger WHERE status = 'sent'"
        ).fetchall()
    return [row[0].astimezone(UTC) for row in rows]


def test_without_the_demo_clock_dispatch_stamps_the_real_time(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    assert mail_settings.demo_clock_file is None
    plan(mail_settings, TUE)
    before = datetime.now(UTC).replace(microsecond=0)
    assert dispatch(mail_settings).sent == 5
    after = datetime.now(UTC)
    stamps = sent_ats(mail_settings)
    assert len(stamps) == 5 and all(before <= s <= after for s in stamps), stamps
    dates = [parsedate_to_datetime(m.message["Date"]) for m in smtp_server.messages]
    assert all(before <= d <= after for d in dates), dates


def test_the_demo_clock_stamps_the_simulated_morning(
    mail_settings: Settings,
    smtp_server: RecordingSmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    morning = datetime.combine(TUE, time(6, 45), BANK_TIMEZONE)
    clock_file = tmp_path / "demo-clock"
    set_simulated_instant(clock_file, morning)
    monkeypatch.setenv("VOTUM_DEMO_CLOCK_FILE", str(clock_file))
    settings = get_settings()
    plan(settings, TUE)
    assert dispatch(settings).sent == 5
    assert sent_ats(settings) == [morning.astimezone(UTC)] * 5
    dates = {parsedate_to_datetime(m.message["Date"]) for m in smtp_server.messages}
    assert dates == {morning}
