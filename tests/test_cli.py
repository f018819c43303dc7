"""The `votum` command as a user runs it: a real process, its output and exit code."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.drops import SAP, SIEMENS, write_csv, write_drop
from tests.smtp_server import RecordingSmtpServer

VOTUM = str(Path(sys.executable).parent / "votum")


def _votum(
    *args: str,
    home: Path,
    cwd: Path,
    smtp: RecordingSmtpServer | None = None,
    prefect_api: str | None = None,
    **settings: str,
) -> subprocess.CompletedProcess[str]:
    """Run `votum` as a user would. Without `prefect_api` the process starts its own
    temporary Prefect server under VOTUM_HOME (the default); with it, it reports to the
    test session's server, which saves the server start-up in tests about other things."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOTUM_", "PREFECT_"))}
    env.update({"VOTUM_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    if prefect_api is not None:
        env["PREFECT_API_URL"] = prefect_api
    if smtp is not None:
        env.update(
            {
                "VOTUM_SMTP_HOST": smtp.host,
                "VOTUM_SMTP_PORT": str(smtp.port),
                "VOTUM_SMTP_SECURITY": "none",
            }
        )
    env.update({f"VOTUM_{k.upper()}": v for k, v in settings.items()})
    return subprocess.run(
        [VOTUM, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False
    )


def test_run_prints_the_day_and_a_file_fault_names_file_and_column(
    tmp_path: Path, smtp_server: RecordingSmtpServer, prefect_server: str
) -> None:
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)
    clients = [["C1", "Anna", "Ahn", "anna@example.com", "de", "A1", "ja"]]
    write_drop(
        inbox,
        monday,
        ratings=[[SAP, "SAP SE", "Kaufen", "2026-03-02"]],
        holdings=[["C1", SAP, 3, 300]],
        clients=clients,
        # An advisor without a usable address: the worklist cannot go out.
        advisors=[["A1", "Petra Schmidt", "", "Filiale Köln", "boss@bank.example"]],
    )
    write_drop(
        inbox,
        tuesday,
        ratings=[[SAP, "SAP SE", "sell", "2026-03-03 07:00"]],
        holdings=[["C1", SAP, 3, 290]],
    )

    # The first run starts its own temporary Prefect server under VOTUM_HOME, as a
    # user's does; the later ones report to the test session's server.
    first = _votum(
        "run",
        "--date",
        "2026-03-02",
        "--inbox",
        str(inbox),
        home=home,
        cwd=tmp_path,
        smtp=smtp_server,
    )
    assert first.returncode == 0, first.stderr
    # The gates and the build ran in side processes started beside the run
    # (flows/runs/build_processes.py).
    assert "checkpoint raw_drop: " in (home / "logs" / "quality-process.log").read_text()
    assert "dbt build: " in (home / "logs" / "dbt-process.log").read_text()
    # That server recorded the flow run, completed, in its database under VOTUM_HOME.
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        recorded = con.execute("SELECT prefect_flow_run_id FROM ops.run_ledger").fetchall()
    assert len(recorded) == 1 and recorded[0][0]
    with sqlite3.connect(home / "prefect" / "prefect.db") as prefect_db:
        assert prefect_db.execute(
            "SELECT state_type FROM flow_run WHERE id = ?", [recorded[0][0]]
        ).fetchall() == [("COMPLETED",)]
    second = _votum(
        "run",
        "--date",
        "2026-03-03",
        "--inbox",
        str(inbox),
        "--json",
        home=home,
        cwd=tmp_path,
        smtp=smtp_server,
        prefect_api=prefect_server,
    )
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout.strip().splitlines()[-1])
    assert summary["run_date"] == "2026-03-03"
    assert (summary["downgrades"], summary["affected_clients"], summary["eligible_clients"]) == (
        1,
        1,
        1,
    )
    assert summary["rows_loaded"] == {"ratings": 1, "holdings": 1}
    assert (summary["digests_sent"], summary["worklists_sent"]) == (1, 0)
    # No advisors.csv was ever delivered: the worklist cannot go out, and the run says why.
    assert summary["unsendable"] == ["advisor A1: no email address"]
    assert [m.rcpt_tos for m in smtp_server.messages] == [["anna@example.com"]]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "SELECT client_id, previous_rating, new_rating FROM fct_client_rating_changes"
        ).fetchall() == [("C1", "buy", "sell")]
    # Prefect's home and dbt's files live under VOTUM_HOME, nothing in the working folder.
    assert (home / "prefect").is_dir() and (home / "dbt" / "target").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "inbox"]

    broken = write_drop(inbox, date(2026, 3, 4), ratings=[], holdings=[["C1", SIEMENS, 1, 1]])
    write_csv(broken / "holdings.csv", ["client_id", "isin", "market_value_eur", "as_of"], [])
    failed = _votum(
        "run",
        "--date",
        "2026-03-04",
        "--inbox",
        str(inbox),
        home=home,
        cwd=tmp_path,
        smtp=smtp_server,
        prefect_api=prefect_server,
    )
    assert failed.returncode == 3
    assert "holdings.csv: required column 'quantity' missing" in failed.stderr

    # A missing file: one clear message and where the log is, no Prefect traceback (the
    # traceback is in the log file).
    (inbox / "2026-03-05").mkdir()
    missing = _votum(
        "run",
        "--date",
        "2026-03-05",
        "--inbox",
        str(inbox),
        home=home,
        cwd=tmp_path,
        smtp=smtp_server,
        prefect_api=prefect_server,
    )
    assert missing.returncode == 3
    error_lines = [line for line in missing.stderr.splitlines() if "ratings.csv" in line]
    assert error_lines == [
        f"votum run failed: {inbox / '2026-03-05'}: required file ratings.csv (or "
        "ratings.parquet) is missing from the drop."
    ], missing.stderr
    assert f"Details in the log: {home / 'logs' / 'votum.log'}" in missing.stderr
    assert "Traceback" not in missing.stderr and "MissingFileError" not in missing.stderr
    assert "MissingFileError" in (home / "logs" / "votum.log").read_text(encoding="utf-8")


def test_generate_writes_drops_for_business_days(tmp_path: Path) -> None:
    result = _votum(
        "generate",
        "--out",
        str(tmp_path / "drops"),
        "--start",
        "2026-04-02",
        "--days",
        "3",
        "--clients",
        "50",
        "--seed",
        "3",
        home=tmp_path / "home",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 3 drops (2026-04-02 to 2026-04-08)" in result.stdout
    assert sorted(p.name for p in (tmp_path / "drops").iterdir()) == [
        "2026-04-02",
        "2026-04-07",
        "2026-04-08",
    ]


def test_bad_arguments_and_settings_are_refused_clearly(tmp_path: Path) -> None:
    bad_date = _votum("run", "--date", "2026-13-01", "--inbox", ".", home=tmp_path, cwd=tmp_path)
    assert bad_date.returncode == 2 and "not a date" in bad_date.stderr
    env_file = tmp_path / ".env"
    env_file.write_text("VOTUM_SMTP_PORT=not-a-port\n", encoding="utf-8")
    bad_setting = _votum(
        "generate",
        "--out",
        "x",
        "--start",
        "2026-04-02",
        "--days",
        "1",
        "--clients",
        "5",
        home=tmp_path,
        cwd=tmp_path,
    )
    assert bad_setting.returncode == 2
    assert "VOTUM_SMTP_PORT" in bad_setting.stderr


def test_a_held_day_exits_distinctly_and_release_sends_it_once(
    tmp_path: Path, smtp_server: RecordingSmtpServer, prefect_server: str
) -> None:
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    clients = [
        ["C1", "Anna", "Ahn", "anna@example.com", "de", "A1", "ja"],
        ["C2", "Bert", "Bock", "bert@example.com", "en", "A1", "ja"],
    ]
    advisors = [["A1", "Petra Schmidt", "petra@bank.example", "Filiale Köln", "boss@bank.example"]]
    write_drop(
        inbox,
        date(2026, 3, 2),
        ratings=[
            [SAP, "SAP SE", "buy", "2026-03-02"],
            [SIEMENS, "Siemens AG", "hold", "2026-03-02"],
        ],
        holdings=[["C1", SAP, 3, 300], ["C2", SIEMENS, 1, 100]],
        clients=clients,
        advisors=advisors,
    )
    write_drop(
        inbox,
        date(2026, 3, 3),
        ratings=[
            [SAP, "SAP SE", "sell", "2026-03-03"],
            [SIEMENS, "Siemens AG", "buy", "2026-03-03"],
        ],
        holdings=[["C1", SAP, 3, 300], ["C2", SIEMENS, 1, 100]],
    )
    strict = {"max_change_share": "0.5", "min_changed_isins": "2"}
    for day in ("2026-03-02", "2026-03-03"):
        result = _votum(
            "run",
            "--date",
            day,
            "--inbox",
            str(inbox),
            home=home,
            cwd=tmp_path,
            smtp=smtp_server,
            prefect_api=prefect_server,
            **strict,
        )
    assert result.returncode == 10, result.stderr
    assert "2026-03-03 is held" in result.stderr and "votum release 2026-03-03" in result.stderr
    assert smtp_server.messages == []

    released = _votum(
        "release",
        "2026-03-03",
        "--note",
        "research confirmed",
        home=home,
        cwd=tmp_path,
        smtp=smtp_server,
        prefect_api=prefect_server,
    )
    assert released.returncode == 0, released.stderr
    assert "3 held emails released; 3 sent" in released.stdout
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [
        "anna@example.com",
        "bert@example.com",
        "petra@bank.example",
    ]
    again = _votum(
        "release",
        "2026-03-03",
        home=home,
        cwd=tmp_path,
        smtp=smtp_server,
        prefect_api=prefect_server,
    )
    assert "0 held emails released; 0 sent" in again.stdout
    assert len(smtp_server.messages) == 3

    suppressed = _votum("suppress", "Anna@Example.com", home=home, cwd=tmp_path)
    assert suppressed.returncode == 0 and "suppressed" in suppressed.stdout
    refused = _votum("suppress", "not an address", home=home, cwd=tmp_path)
    assert refused.returncode == 2


def test_emails_not_all_sent_exit_9_degrade_the_run_and_no_address_is_shown(
    tmp_path: Path,
    smtp_server: RecordingSmtpServer,
    prefect_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    monkeypatch.setenv("COLUMNS", "250")  # `votum status` shows the whole reply
    write_drop(
        inbox,
        date(2026, 3, 2),
        ratings=[
            [SAP, "SAP SE", "buy", "2026-03-02"],
            [SIEMENS, "Siemens AG", "hold", "2026-03-02"],
        ],
        holdings=[["C1", SAP, 3, 300], ["C2", SIEMENS, 1, 100]],
        clients=[
            ["C1", "Anna", "Ahn", "anna@example.com", "de", "A1", "ja"],
            ["C2", "Bert", "Bock", "bert@example.com", "en", "A1", "ja"],
        ],
        advisors=[["A1", "Petra Schmidt", "petra@bank.example", "Filiale", "b@bank.example"]],
    )
    write_drop(
        inbox,
        date(2026, 3, 3),
        ratings=[
            [SAP, "SAP SE", "sell", "2026-03-03"],
            [SIEMENS, "Siemens AG", "buy", "2026-03-03"],
        ],
        holdings=[["C1", SAP, 3, 300], ["C2", SIEMENS, 1, 100]],
    )
    options = {
        "ops_alert_to": "ops@bank.example",
        "smtp_retry_attempts": "2",
        "smtp_retry_backoff_seconds": "0.01",
    }
    run = ("run", "--inbox", str(inbox), "--date")
    first = _votum(*run, "2026-03-02", home=home, cwd=tmp_path, smtp=smtp_server,
                   prefect_api=prefect_server, **options)  # fmt: skip
    assert first.returncode == 0, first.stderr

    # Anna's mailbox does not exist (the 550 names her address); Bert's digest is
    # deferred on every attempt.
    smtp_server.reject_recipient(
        "anna@example.com", 550, "5.1.1 <anna@example.com>: Recipient address rejected"
    )
    smtp_server.fail_next(2, 451, "4.3.0 try again later")
    second = _votum(*run, "2026-03-03", home=home, cwd=tmp_path, smtp=smtp_server,
                    prefect_api=prefect_server, **options)  # fmt: skip
    assert second.returncode == 9, second.stderr
    assert "not every email went out" in second.stderr
    assert "1 left pending" in second.stderr and "1 failed" in second.stderr
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [
        "ops@bank.example",  # the alert of the degraded run
        "petra@bank.example",
    ]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        outcome, stage, reason = con.execute(
            "SELECT outcome, stage, reason FROM ops.run_ledger WHERE run_date = '2026-03-03'"
        ).fetchall()[0]
    assert (outcome, stage) == ("degraded", "dispatch")
    assert "1 emails left pending" in reason and "1 emails failed" in reason
    alert = next(m for m in smtp_server.messages if m.rcpt_tos == ["ops@bank.example"])
    assert "ended degraded at stage dispatch" in alert.message.get_body(("plain",)).get_content()

    status = _votum("status", home=home, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "5.1.1 <address>: Recipient address rejected" in status.stdout
    as_json = _votum("status", "--json", home=home, cwd=tmp_path).stdout
    assert "<address>" in as_json
    # Nowhere shown or kept for people to read: the run ledger, status, the alert, logs.
    shown = [
        second.stdout,
        second.stderr,
        status.stdout,
        as_json,
        str(reason),
        alert.message.as_string(),
        *(p.read_text(encoding="utf-8") for p in (home / "logs").glob("votum.log*")),
    ]
    for text in shown:
        assert "anna@example.com" not in text.lower() and "Anna" not in text

    # The server takes mail again: the deferred digest goes out, and so exit 0.
    later = _votum("dispatch", home=home, cwd=tmp_path, smtp=smtp_server,
                   prefect_api=prefect_server, **options)  # fmt: skip
    assert later.returncode == 0, later.stderr
    assert "1 sent, 0 failed" in later.stdout
    assert [m.rcpt_tos for m in smtp_server.messages][-1] == ["bert@example.com"]


def test_another_process_holding_the_warehouse_is_told_clearly_exit_4(
    tmp_path: Path, prefect_server: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            "con = duckdb.connect(sys.argv[1])\n"
            "con.execute('CREATE TABLE held (x INTEGER)')\n"
            "print('holding', flush=True)\n"
            "time.sleep(120)\n",
            str(home / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        busy = _votum("dispatch", home=home, cwd=tmp_path, prefect_api=prefect_server)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert busy.returncode == 4, busy.stderr
    assert f"is in use by process {holder.pid}" in busy.stderr
    assert "Traceback" not in busy.stderr


def test_unusable_sending_settings_stop_sending_commands_at_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    login_without_password = {"smtp_user": "svc_votum_4711", "smtp_host": "relay.bank.example"}
    for command in (["dispatch"], ["release", "2026-03-03"], ["run", "--date", "2026-03-03"]):
        refused = _votum(*command, home=home, cwd=tmp_path, **login_without_password)
        assert refused.returncode == 2, refused.stderr
        assert "VOTUM_SMTP_USER is set but VOTUM_SMTP_PASSWORD is not" in refused.stderr
        assert "svc_votum_4711" not in refused.stderr
    bad_sender = _votum("dispatch", home=home, cwd=tmp_path, mail_from="research@bank")
    assert bad_sender.returncode == 2 and "VOTUM_MAIL_FROM" in bad_sender.stderr
    # Nothing started: no warehouse, no Prefect home, no lock.
    assert not home.exists()
    # Commands that send nothing are not refused for a mail setting.
    status = _votum("status", home=home, cwd=tmp_path, **login_without_password)
    assert status.returncode == 0, status.stderr


def test_everything_after_worker_is_prefect_s_worker_options() -> None:
    from flows.cli import _parse

    args = _parse(["worker", "--pool", "votum", "--limit", "1", "--name", "bank-1"])
    assert args.command == "worker"
    assert args.prefect_arguments == ["--pool", "votum", "--limit", "1", "--name", "bank-1"]
    assert _parse(["run", "--no-send"]).command == "run"  # the others as before
