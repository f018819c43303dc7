"""A dispatching process killed mid-batch (SIGKILL, a real subprocess) and run again:
every email arrives, none twice, except possibly the one whose acceptance by the
server was not yet recorded when the process died, and that one once more only, with
the same Message-ID. The last tests kill exactly in that window (a test-only fault
point) instead of at a random moment."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from flows.demo.drops.generate import generate_drops
from flows.notify.dispatch import dispatch
from flows.notify.journal import open_journal
from flows.notify.ledger import apply_journal
from flows.settings import Settings, get_settings
from flows.warehouse import open_warehouse
from tests.notify.scenario import TUE, build_days
from tests.notify.test_dispatch import plan
from tests.smtp_server import RecordingSmtpServer

DISPATCH = "from flows.settings import get_settings; from flows.notify.dispatch import dispatch; dispatch(get_settings())"


def test_killed_dispatch_resumes_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: RecordingSmtpServer
) -> None:
    inbox = tmp_path / "inbox"
    generated = generate_drops(inbox, start=date(2026, 10, 5), days=2, clients=2500, seed=6)
    home = tmp_path / "home"
    env = {
        "VOTUM_HOME": str(home),
        "VOTUM_SMTP_HOST": smtp_server.host,
        "VOTUM_SMTP_PORT": str(smtp_server.port),
        "VOTUM_SMTP_SECURITY": "none",
        "VOTUM_DISPATCH_BATCH_SIZE": "40",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = get_settings()
    build_days(settings, inbox, generated.drop_dates)
    planned = sum(
        plan(settings, day).digests + plan(settings, day).worklists for day in generated.drop_dates
    )
    assert planned > 150, "the scenario needs enough emails to be killed in the middle"
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        planned_ids = {
            r[0] for r in con.execute("SELECT message_id FROM ops.delivery_ledger").fetchall()
        }

    child_env = {**os.environ, **env, "VOTUM_SMTP_MAX_PER_SECOND": "150"}
    child = subprocess.Popen([sys.executable, "-c", DISPATCH], env=child_env)
    deadline = time.monotonic() + 120
    while len(smtp_server.messages) < 60 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    before_restart = len(smtp_server.messages)
    assert 0 < before_restart < len(planned_ids), "the kill must land mid-batch"

    report = dispatch(get_settings())
    assert report.left_pending == report.failed == 0

    received = Counter(m.message_id for m in smtp_server.messages)
    assert set(received) == planned_ids  # every email arrived
    repeats = {mid: n for mid, n in received.items() if n > 1}
    # At most the one message in flight when the process died, with its own Message-ID.
    assert len(repeats) <= 1 and all(n == 2 for n in repeats.values())
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        assert con.execute("SELECT DISTINCT status FROM ops.delivery_ledger").fetchall() == [
            ("sent",)
        ]


def _dispatch_killed_after_accept(count: int) -> None:
    """A dispatching process that kills itself (SIGKILL) right after the server accepted
    its ``count``-th message and before that is written down (test-only fault point)."""
    env = {**os.environ, "VOTUM_FAULT_INJECTION": f"kill-after-accept:{count}"}
    child = subprocess.run([sys.executable, "-c", DISPATCH], env=env, timeout=120, check=False)
    assert child.returncode == -signal.SIGKILL


def _ledger(settings: Settings) -> dict[str, tuple[str, int, str]]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT message_key, status, uncertain_sends, message_id FROM ops.delivery_ledger"
        ).fetchall()
    return {str(k): (str(s), int(u), str(m)) for k, s, u, m in rows}


C2_DIGEST = "client_digest:2026-03-03:C2"  # the second message of Tuesday (key order)


def test_killed_between_the_servers_reply_and_the_journal_resends_once(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    _dispatch_killed_after_accept(2)  # C2's digest arrived; its acceptance was not written
    assert len(smtp_server.messages) == 2
    report = dispatch(get_settings())
    assert (report.sent, report.left_pending, report.uncertain) == (4, 0, 0)
    status, uncertain_sends, message_id = _ledger(mail_settings)[C2_DIGEST]
    assert (status, uncertain_sends) == ("sent", 1)
    received = Counter(m.message_id for m in smtp_server.messages)
    # Once more only, with the same Message-ID; everything else exactly once.
    assert received[message_id] == 2 and sorted(received.values()) == [1, 1, 1, 1, 2]
    assert {s for s, _, _ in _ledger(mail_settings).values()} == {"sent"}


def test_a_second_kill_in_the_resend_never_makes_a_third_copy(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    _dispatch_killed_after_accept(2)
    _dispatch_killed_after_accept(1)  # the rerun's first message is C2's resend: killed again
    assert len(smtp_server.messages) == 3
    dispatch(get_settings())
    status, uncertain_sends, message_id = _ledger(mail_settings)[C2_DIGEST]
    assert (status, uncertain_sends) == ("uncertain", 2)  # unknown for good, never again
    assert dispatch(get_settings()).sent == 0
    received = Counter(m.message_id for m in smtp_server.messages)
    assert received[message_id] == 2 and sorted(received.values()) == [1, 1, 1, 1, 2]
    others = {k: s for k, (s, _, _) in _ledger(mail_settings).items() if k != C2_DIGEST}
    assert set(others.values()) == {"sent"}


def _power_loss(settings: Settings) -> None:
    """What a power loss can do to the journal besides killing the process: the sending
    connections' marks and outcomes since the last sync are gone; the batch's claim,
    synced before its first message went out, stays, with the id of the boot before."""
    with sqlite3.connect(settings.journal_path) as journal:
        journal.execute("DELETE FROM outcomes")
        journal.execute("DELETE FROM in_flight")
        journal.execute("UPDATE claimed SET boot_id = 'the-boot-before-the-power-loss'")


def test_after_a_power_loss_the_batch_being_sent_is_uncertain_never_pending(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    _dispatch_killed_after_accept(2)  # C1's and C2's digests arrived, C7's did not
    _power_loss(mail_settings)
    with (
        open_warehouse(mail_settings.warehouse_path) as con,
        open_journal(mail_settings.journal_path) as journal,
    ):
        apply_journal(con, journal)
    ledger = _ledger(mail_settings)
    digests = {k: v for k, v in ledger.items() if k.startswith("client_digest:")}
    # Not one of the batch goes back to pending: each may have arrived.
    assert {k: (s, u) for k, (s, u, _) in digests.items()} == {
        "client_digest:2026-03-03:C1": ("uncertain", 1),
        C2_DIGEST: ("uncertain", 1),
        "client_digest:2026-03-03:C7": ("uncertain", 1),
    }
    assert {s for k, (s, _, _) in ledger.items() if k not in digests} == {"pending"}
    report = dispatch(get_settings())
    assert (report.sent, report.left_pending, report.uncertain) == (5, 0, 0)
    received = Counter(m.message_id for m in smtp_server.messages)
    # Once more at most, with the same Message-ID, as for any unknown outcome.
    assert sorted(received.values()) == [1, 1, 1, 2, 2]
    assert {received[digests[k][2]] for k in ("client_digest:2026-03-03:C1", C2_DIGEST)} == {2}
    assert {s for s, _, _ in _ledger(mail_settings).values()} == {"sent"}


def test_a_killed_process_without_a_power_loss_leaves_the_unsent_rest_pending(
    mail_settings: Settings, smtp_server: RecordingSmtpServer
) -> None:
    plan(mail_settings, TUE)
    _dispatch_killed_after_accept(2)  # the same boot: every mark and outcome is there
    with (
        open_warehouse(mail_settings.warehouse_path) as con,
        open_journal(mail_settings.journal_path) as journal,
    ):
        apply_journal(con, journal)
        assert journal.claimed() == {}
    statuses = {k: s for k, (s, _, _) in _ledger(mail_settings).items()}
    assert statuses["client_digest:2026-03-03:C1"] == "sent"
    assert statuses[C2_DIGEST] == "uncertain"  # its mark: the end had been written
    assert statuses["client_digest:2026-03-03:C7"] == "pending"
