"""The dispatch fan-out (flows/notify/fanout.py) on a real Dask cluster of two worker
processes, a real aiosmtpd server, a real DuckDB ledger and the session's Prefect
server: every email once with two workers, nothing on a rerun, a killed worker or a
killed coordinator followed by a rerun, a 421 outage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date

import dask
import pytest
from distributed import Client, LocalCluster

from flows.errors import ConfigurationError
from flows.notify.dispatch import DispatchReport, dispatch
from flows.notify.journal import open_journal
from flows.notify.ledger import CLIENT_DIGEST, upsert_planned
from flows.notify.payloads import (
    AdvisorContact,
    AdvisorWorklist,
    ClientDigest,
    HoldingChange,
    WorklistLine,
)
from flows.notify.plan import message_key, planned_messages
from flows.settings import Settings, get_settings
from flows.warehouse import open_warehouse
from tests.smtp_server import ReceivedMessage, RecordingSmtpServer

DAY = date(2026, 11, 3)
DOMAIN = "bank.example"
DISPATCH = (
    "from flows.settings import get_settings; from flows.notify.dispatch import dispatch; "
    "dispatch(get_settings())"
)


# -- a planned day ------------------------------------------------------------------------


def _digest(i: int, advisor: AdvisorContact) -> ClientDigest:
    holding = HoldingChange(
        change_id="change-sap", isin="DE0007164600", security_name="SAP SE",
        change_type="downgrade", previous_rating="buy", previous_label="Kaufen",
        new_rating="sell", new_label="Verkaufen", changed_on=DAY.isoformat(),
        rated_at="2026-11-03T07:30:00", previous_rated_at="2026-06-01T08:00:00",
        target_price="180.00", currency="EUR", analyst=None, quantity="25",
        market_value_eur=f"{1000 + i}.00", portfolio_weight=0.12,
    )  # fmt: skip
    return ClientDigest(
        business_day=DAY.isoformat(), client_id=f"C{i:05d}", first_name="Kunde",
        last_name=f"Nummer {i}", email=f"client{i}@example.com", language="de",
        advisor=advisor, holdings=(holding,),
    )  # fmt: skip


def _worklist(advisor: AdvisorContact, digests: list[ClientDigest]) -> AdvisorWorklist:
    lines = tuple(
        WorklistLine(
            client_id=d.client_id,
            client_name=f"Kunde {d.client_id}",
            isin="DE0007164600",
            security_name="SAP SE",
            change_type="downgrade",
            previous_label="Kaufen",
            new_label="Verkaufen",
            market_value_eur=d.holdings[0].market_value_eur,
            portfolio_weight=0.12,
            notify_eligible=True,
            ineligible_reason=None,
            digest_key=message_key(CLIENT_DIGEST, DAY, d.client_id),
        )
        for d in digests
    )
    return AdvisorWorklist(
        business_day=DAY.isoformat(), advisor_id=advisor.advisor_id, advisor_name=advisor.name,
        email=advisor.email or "", branch="Filiale", language="de", lines=lines,
    )  # fmt: skip


def plan_day(settings: Settings, clients: int) -> set[str]:
    """``clients`` digests and the worklists of two advisors; returns the Message-IDs."""
    advisors = [
        AdvisorContact("A1", "Petra Schmidt", "petra.schmidt@bank.example"),
        AdvisorContact("A2", "Max Mustermann", "max.mustermann@bank.example"),
    ]
    digests = [_digest(i, advisors[i % 2]) for i in range(clients)]
    worklists = [_worklist(a, [d for d in digests if d.advisor == a]) for a in advisors]
    messages = planned_messages(digests, worklists, DAY, None, DOMAIN)
    with open_warehouse(settings.warehouse_path) as con:
        upsert_planned(con, messages)
    return {m.message_id for m in messages}


def ledger_statuses(settings: Settings) -> Counter[str]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        rows = con.execute("SELECT status FROM ops.delivery_ledger").fetchall()
    return Counter(str(r[0]) for r in rows)


def received_ids(messages: list[ReceivedMessage]) -> Counter[str | None]:
    return Counter(m.message_id for m in messages)


# -- one SMTP server and one Dask cluster for the module ----------------------------------

# What the worker processes read from their own environment (they inherit it when the
# cluster starts): the mail server and the retry policy.
WORKER_ENV = {
    "VOTUM_SMTP_SECURITY": "none",
    "VOTUM_SMTP_RETRY_BACKOFF_SECONDS": "0.01",
    "VOTUM_SMTP_RETRY_ATTEMPTS": "2",
    "VOTUM_MAIL_FROM": "research@bank.example",
    # Workers and coordinator sign the opt-out links with one key (their VOTUM_HOMEs differ).
    "VOTUM_UNSUBSCRIBE_SECRET": "fanout-test-key-0123456789abcdef",
}


@pytest.fixture(scope="module")
def server() -> Iterator[RecordingSmtpServer]:
    with RecordingSmtpServer() as smtp:
        yield smtp


@pytest.fixture(scope="module")
def worker_env(prefect_server: str, server: RecordingSmtpServer) -> Iterator[dict[str, str]]:
    env = {
        **WORKER_ENV,
        "VOTUM_SMTP_HOST": server.host,
        "VOTUM_SMTP_PORT": str(server.port),
        # Without it each worker would start a temporary Prefect server of its own.
        "PREFECT_API_URL": prefect_server,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


@pytest.fixture(scope="module")
def cluster(worker_env: dict[str, str]) -> Iterator[LocalCluster]:
    """An existing cluster (VOTUM_DASK_ADDRESS): two worker processes, one thread each."""
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        ) as local,
        Client(local, set_as_default=False) as client,
    ):
        client.run(__import__, "flows.notify.fanout")  # warm: imports take seconds
        yield local


@pytest.fixture
def home(
    tmp_path: object, worker_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    monkeypatch.setenv("VOTUM_HOME", str(tmp_path))
    monkeypatch.setenv("VOTUM_DISPATCH_WORKERS", "2")
    yield get_settings()


def worker_pids(local: LocalCluster) -> list[int]:
    with Client(local, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=60)
        return sorted(client.run(os.getpid).values())


# -- the tests ------------------------------------------------------------------------------


def test_two_workers_send_every_email_of_the_day_once(
    home: Settings, server: RecordingSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local cluster of its own (VOTUM_DISPATCH_WORKERS=2, no address)."""
    server.reset()
    monkeypatch.setenv("VOTUM_DISPATCH_BATCH_SIZE", "25")
    settings = get_settings()
    planned = plan_day(settings, 120)
    with open_journal(settings.journal_path) as journal:
        journal.suppress("client7@example.com", reason="objection", source="cli")

    report = dispatch(settings)

    assert (report.sent, report.suppressed, report.failed, report.left_pending) == (121, 1, 0, 0)
    assert (report.digests_sent, report.worklists_sent) == (119, 2)
    received = received_ids(server.messages)
    assert set(received) == planned - _suppressed_id(settings)
    assert set(received.values()) == {1}
    # Both worker processes sent (neither of them is this, the coordinating process).
    senders = dict(report.senders)
    assert len(senders) == 2 and all(n > 0 for n in senders.values()), senders
    assert all(int(w.rpartition(":")[2]) != os.getpid() for w in senders)
    assert sum(senders.values()) == 121
    # The worklists were rendered with the digests' outcomes of the same dispatch.
    worklist = next(m for m in server.messages if m.rcpt_tos == ["petra.schmidt@bank.example"])
    text = worklist.message.get_body(preferencelist=("plain",))
    assert text is not None and str(text.get_content()).count("E-Mail versendet") == 60
    assert ledger_statuses(settings) == {"sent": 121, "suppressed": 1}

    again = dispatch(get_settings())
    assert again == DispatchReport(seconds=again.seconds) and len(server.messages) == 121


def _suppressed_id(settings: Settings) -> set[str]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT message_id FROM ops.delivery_ledger WHERE status = 'suppressed'"
        ).fetchall()
    return {str(r[0]) for r in rows}


def test_a_worker_killed_mid_batch_then_a_rerun_sends_every_email_once(
    home: Settings,
    cluster: LocalCluster,
    server: RecordingSmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.reset()
    monkeypatch.setenv("VOTUM_DASK_ADDRESS", cluster.scheduler_address)
    monkeypatch.setenv("VOTUM_DISPATCH_BATCH_SIZE", "100")
    monkeypatch.setenv("VOTUM_SMTP_MAX_PER_SECOND", "150")  # 75/s for each of the two
    settings = get_settings()
    planned = plan_day(settings, 300)
    victim = worker_pids(cluster)[0]

    first: list[DispatchReport] = []
    coordinator = threading.Thread(target=lambda: first.append(dispatch(settings)))
    coordinator.start()
    deadline = time.monotonic() + 60
    while len(server.messages) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(victim, signal.SIGKILL)
    at_kill = len(server.messages)
    coordinator.join(timeout=120)
    assert 0 < at_kill < len(planned), "the kill must land mid-batch"
    assert first, "the first dispatch must end (with what it could not send left pending)"
    # Dask runs the lost sub-batch again on a live worker (which skips what the journal
    # has), or it is counted lost: either way every message is sent, left pending, or (the
    # one in flight on the killed worker's connection) of unknown outcome.
    print("first dispatch after the kill:", first[0])
    outcome = first[0]
    assert (outcome.sent + outcome.left_pending + outcome.uncertain, outcome.failed) == (
        len(planned),
        0,
    )
    assert outcome.uncertain <= 1

    second = dispatch(get_settings())
    assert second.failed == second.left_pending == 0
    received = received_ids(server.messages)
    assert set(received) == planned
    repeats = {mid: n for mid, n in received.items() if n > 1}
    # At most the message in flight on the killed worker's connection, same Message-ID.
    assert len(repeats) <= 1 and all(n == 2 for n in repeats.values()), repeats
    assert ledger_statuses(settings) == {"sent": len(planned)}
    assert dispatch(get_settings()).sent == 0


def test_a_killed_coordinator_then_a_rerun_sends_every_email_once(
    home: Settings,
    cluster: LocalCluster,
    server: RecordingSmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The coordinator dies after claiming; its workers (of an existing cluster) go on
    sending until the rerun's new dispatch token stops them."""
    server.reset()
    monkeypatch.setenv("VOTUM_DASK_ADDRESS", cluster.scheduler_address)
    monkeypatch.setenv("VOTUM_DISPATCH_BATCH_SIZE", "100")
    monkeypatch.setenv("VOTUM_SMTP_MAX_PER_SECOND", "100")
    settings = get_settings()
    planned = plan_day(settings, 300)
    worker_pids(cluster)

    child = subprocess.Popen([sys.executable, "-c", DISPATCH], env=dict(os.environ))
    deadline = time.monotonic() + 60
    while not server.messages and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.005)
    first_seen = time.monotonic()
    while len(server.messages) < 41 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.005)
    # The throttle is global: 40 more messages at 100/s in all (50/s on each worker) take
    # 0.4 s; a limit of 100/s on each worker would let them through in 0.2 s.
    assert time.monotonic() - first_seen > 0.3
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert 0 < len(server.messages) < len(planned), "the kill must land mid-batch"
    assert ledger_statuses(settings)["sending"] > 0  # claimed when it died

    report = dispatch(get_settings())
    assert report.failed == report.left_pending == 0
    received = received_ids(server.messages)
    assert set(received) == planned
    repeats = {mid: n for mid, n in received.items() if n > 1}
    # At most one message in flight on each of the two workers' connections.
    assert len(repeats) <= 2 and all(n == 2 for n in repeats.values()), repeats
    assert ledger_statuses(settings) == {"sent": len(planned)}


def test_a_421_outage_leaves_the_emails_pending_not_lost(
    home: Settings,
    cluster: LocalCluster,
    server: RecordingSmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.reset()
    monkeypatch.setenv("VOTUM_DASK_ADDRESS", cluster.scheduler_address)
    monkeypatch.setenv("VOTUM_DISPATCH_BATCH_SIZE", "5")
    settings = get_settings()
    planned = plan_day(settings, 20)
    server.fail_next(1000, 421, "Service shutting down")  # and it hangs up each time

    report = dispatch(settings)
    assert (report.sent, report.failed, report.left_pending) == (0, 0, len(planned))
    assert server.messages == []
    assert ledger_statuses(settings) == {"pending": len(planned)}

    server.reset()
    again = dispatch(get_settings())
    assert again.sent == len(planned)
    assert received_ids(server.messages) == Counter(dict.fromkeys(planned, 1))


def test_a_worker_with_other_settings_stops_the_dispatch_and_a_small_day_stays_home(
    home: Settings,
    cluster: LocalCluster,
    server: RecordingSmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.reset()
    monkeypatch.setenv("VOTUM_DASK_ADDRESS", cluster.scheduler_address)
    monkeypatch.setenv("VOTUM_DISPATCH_BATCH_SIZE", "10")
    # The workers were started with another sender address than this process has.
    monkeypatch.setenv("VOTUM_MAIL_FROM", "other-sender@bank.example")
    settings = get_settings()
    planned = plan_day(settings, 30)

    with pytest.raises(ConfigurationError, match="VOTUM_MAIL_FROM") as raised:
        dispatch(settings)
    assert "other-sender" not in str(raised.value)  # names the setting, not its value
    assert server.messages == []
    assert ledger_statuses(settings) == {"pending": len(planned)}

    # Up to one batch pending: sent by this process, no worker started.
    monkeypatch.setenv("VOTUM_DISPATCH_BATCH_SIZE", "100")
    report = dispatch(get_settings())
    assert (report.sent, report.senders) == (len(planned), ())
    assert {m.mail_from for m in server.messages} == {"other-sender@bank.example"}


def test_a_worker_with_another_signing_key_stops_the_dispatch(
    home: Settings,
    cluster: LocalCluster,
    server: RecordingSmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.reset()
    monkeypatch.setenv("VOTUM_DASK_ADDRESS", cluster.scheduler_address)
    monkeypatch.setenv("VOTUM_DISPATCH_BATCH_SIZE", "10")
    # The coordinator uses a generated key; the workers the configured one.
    monkeypatch.delenv("VOTUM_UNSUBSCRIBE_SECRET")
    settings = get_settings()
    planned = plan_day(settings, 30)
    with pytest.raises(ConfigurationError, match="VOTUM_UNSUBSCRIBE_SECRET") as raised:
        dispatch(settings)
    key = (settings.home_dir / "secret.key").read_text().strip()
    assert key not in str(raised.value)
    assert WORKER_ENV["VOTUM_UNSUBSCRIBE_SECRET"] not in str(raised.value)
    assert server.messages == []
    assert ledger_statuses(settings) == {"pending": len(planned)}


def test_an_unreachable_cluster_stops_before_anything_is_claimed(
    home: Settings, server: RecordingSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.reset()
    monkeypatch.setenv("VOTUM_DASK_ADDRESS", "tcp://127.0.0.1:1")
    monkeypatch.setenv("VOTUM_DISPATCH_BATCH_SIZE", "2")
    settings = get_settings()
    planned = plan_day(settings, 10)
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(ConfigurationError, match=r"VOTUM_DASK_ADDRESS=tcp://127\.0\.0\.1:1"),
    ):
        dispatch(settings)
    assert server.messages == []
    assert ledger_statuses(settings) == {"pending": len(planned)}
