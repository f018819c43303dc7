"""`votum demo` as a new user runs it (a real process, its own SMTP server, real flow
runs), and what its logs must never contain: client or advisor names and addresses from
the drops, or the SMTP password."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter

from flows.demo.mailserver import list_messages

VOTUM = str(Path(sys.executable).parent / "votum")
PLANTED_PASSWORD = "Pl4nted-SMTP-secret-7781"


def _people(inbox: Path) -> set[str]:
    """Full names and addresses of every client and advisor of the demo's drops."""
    found: set[str] = set()
    for path in inbox.glob("*/clients.csv"):
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                found.add(f"{row['first_name']} {row['last_name']}")
                if "@" in row["email"]:
                    found.add(row["email"])
    for path in inbox.glob("*/advisors.csv"):
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                found.update({row["name"], row["email"]})
    return {value for value in found if len(value) > 5}


def _server_logs(api_url: str) -> str:
    os.environ["PREFECT_API_URL"] = api_url
    lines: list[str] = []
    with get_client(sync_client=True) as client:
        offset = 0
        while page := client.read_logs(log_filter=LogFilter(), limit=200, offset=offset):
            lines += [log.message for log in page]
            offset += len(page)
    return "\n".join(lines)


def _assert_a_real_week(home: Path) -> None:
    """The demo's simulated clock: each day's emails sent on its morning, the advisors'
    clicks through the running votum serve, a board summary that reads like a real week."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        # sent_at: UTC without its zone.
        sent = con.execute(
            "SELECT DISTINCT business_day, sent_at FROM ops.delivery_ledger WHERE kind IN ('client_digest', 'advisor_worklist') "
            "AND status = 'sent'"
        ).fetchall()
        informed = con.execute(
            "SELECT sum(alerts * clients_informed_within_one_day) / sum(alerts) "
            "FROM mart_adoption_weekly_bank WHERE alerts > 0"
        ).fetchone()
    assert sent
    for day, at in sent:
        morning = datetime.combine(day, time(6, 45), ZoneInfo("Europe/Berlin"))
        assert at.replace(tzinfo=UTC) == morning, (day, at)
    assert informed is not None and informed[0] > 0.8, informed
    # The intraday batch of the second day, taken 90 seconds after its delivery at 10:15.
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        intraday = con.execute(
            "SELECT DISTINCT business_day, sent_at FROM ops.delivery_ledger "
            "WHERE kind IN ('client_intraday', 'advisor_intraday') AND status = 'sent'"
        ).fetchall()
    assert intraday == [(date(2026, 10, 2), datetime(2026, 10, 2, 8, 16, 30))], intraday
    with sqlite3.connect(home / "worklist_activities.sqlite") as store:
        clicks = store.execute(
            "SELECT source, alert_day, substr(occurred_at, 1, 10), substr(occurred_at, 12) "
            "FROM worklist_activities"
        ).fetchall()
    assert clicks
    for source, alert_day, on, hour in clicks:
        assert (source, on) == ("worklist", alert_day) and "08:00" <= hour <= "17:00", hour
    # Through the service, as a browser would: the confirmation page, then its form.
    served = (home / "logs" / "serve.log").read_text(encoding="utf-8")
    assert served.count("POST /worklist/action 200 recorded-") == len(clicks)
    assert served.count("GET /worklist/action 200 confirm-page") >= len(clicks)
    summary = sorted((home / "reports").glob("*/bank/index.html"))[-1].read_text("utf-8")
    for goal in ("innerhalb eines Tages informiert", "fristgerecht nachgefasst", "in Euro"):
        assert goal in summary
    summary = summary.replace("\xa0", " ")
    assert "Ziel: 95 %" in summary and "Ziel: 80 %" in summary
    assert "Ziel: 1.500,00 € pro Woche" in summary
    # 10:15:00 to 10:16:30: the bank's median minutes from batch to the client's inbox.
    assert "Median Intraday-Lieferung bis Kunden-E-Mail" in summary and "1,5 min" in summary


def test_demo_sends_real_mail_and_its_logs_hold_no_personal_data_or_secret(
    tmp_path: Path, prefect_server: str
) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOTUM_", "PREFECT_"))}
    env.update(
        {
            "VOTUM_HOME": str(home),
            "VOTUM_SMTP_PASSWORD": PLANTED_PASSWORD,
            "PREFECT_API_URL": prefect_server,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
    )

    def run_demo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [VOTUM, "demo", "--days", "2", "--clients", "150", "--seed", "4"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=600,
            check=False,
        )

    demo = run_demo()
    assert demo.returncode == 0, demo.stderr[-3000:]
    # Not a terminal: no progress bars in the output.
    for bar in ("ingest files", "dispatch emails"):
        assert bar not in demo.stdout + demo.stderr

    kinds = [entry.kind for entry in list_messages(home / "demo" / "mailbox")]
    assert kinds.count("client_digest") > 0 and kinds.count("advisor_worklist") > 0
    assert kinds.count("adoption_report") > 0 and kinds.count("adoption_summary") == 1
    # The second day's intraday batch reached its clients and their advisors.
    assert kinds.count("client_intraday") > 0 and kinds.count("advisor_intraday") > 0
    assert "Intraday batches" in demo.stdout
    assert list((home / "reports").glob("*/bank/index.html"))
    # The demo ran votum serve for its links and says how to click through one of them.
    assert "Opt-out link of demo client" in demo.stdout
    assert "/research-alerts/unsubscribe?client=" in demo.stdout
    assert ".venv/bin/votum serve --port" in demo.stdout
    _assert_a_real_week(home)
    # The demo again over its own warehouse replays its days and sends nothing twice.
    again = run_demo()
    assert again.returncode == 0, again.stderr[-3000:]
    assert "replaying, nothing is sent twice" in again.stdout
    assert len(list_messages(home / "demo" / "mailbox")) == len(kinds)

    log_file = home / "logs" / "votum.log"
    logs = {
        "votum.log": log_file.read_text(encoding="utf-8"),
        "stdout": demo.stdout + again.stdout,
        "stderr": demo.stderr + again.stderr,
        "Prefect server logs": _server_logs(prefect_server),
    }
    logs.update(
        {f"dbt {p.name}": p.read_text(encoding="utf-8") for p in (home / "dbt").rglob("*.log")}
    )
    # The log file is one a data engineer can follow: every stage with counts and time.
    for stage in ("ingest:", "quality (raw):", "dbt build:", "plan:", "dispatch:"):
        assert stage in logs["votum.log"], stage
    people = _people(home / "demo" / "inbox")
    assert len(people) > 100
    # The scan looks for the right strings: the emails themselves carry them.
    mail = "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in (home / "demo" / "mailbox").rglob("*")
        if p.is_file()
    )
    assert sum(value in mail for value in people) > 10
    for name, text in logs.items():
        leaked = sorted(value for value in people if value in text)
        assert not leaked, f"{name} shows personal data: {leaked[:5]}"
    # The password is nowhere under VOTUM_HOME: not in a log, the warehouse, Prefect's
    # database, the reports or Data Docs.
    for path in home.rglob("*"):
        if path.is_file():
            assert PLANTED_PASSWORD.encode() not in path.read_bytes(), path
    for name, text in logs.items():
        assert PLANTED_PASSWORD not in text, name
