"""Daily runs on inputs that are not what they seem, end to end (real `votum` processes,
real DuckDB file, real SMTP server, real Great Expectations): a drop not delivered yet,
a clients.csv without its header row, a file with too many unreadable values, a
header-only ratings file, a quality checkpoint that cannot run. Failures say which file,
line and column, and no client's name, address or value reaches a log, the run ledger,
the operations alert or the terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter

from flows.pipeline import daily_run
from flows.quality.gates import QualityError
from flows.runs.parameters import DailyRunParameters
from flows.settings import PROJECT_ROOT
from tests.demo.test_run_demo import _server_logs
from tests.drops import CLIENTS, HOLDINGS, SAP, write_csv, write_drop
from tests.smtp_server import RecordingSmtpServer
from tests.test_cli import _votum

MONDAY, TUESDAY = date(2026, 3, 2), date(2026, 3, 3)
OPS = "ops@bank.example"
NAME, EMAIL = "Zacharias Geheimrath", "zacharias.geheimrath@example.com"
ODD_VALUE = "neunhundertachtzig"  # an unreadable quantity: never echoed


def _sha256sum(folder: Path) -> None:
    names = sorted(p.name for p in folder.glob("*.csv"))
    listing = subprocess.run(
        ["sha256sum", *names], cwd=folder, capture_output=True, text=True, check=True
    ).stdout
    (folder / "MANIFEST.sha256").write_text(listing, encoding="utf-8")


def _artifacts(api_url: str) -> str:
    """Every run summary the runs left as Prefect artifacts (the server is `api_url`)."""
    os.environ["PREFECT_API_URL"] = api_url
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter())
    return "\n".join(str(a.data) for a in artifacts)


def test_faulty_drops_fail_clearly_and_leak_no_personal_data(
    tmp_path: Path, smtp_server: RecordingSmtpServer, prefect_server: str
) -> None:
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    folder = write_drop(
        inbox,
        MONDAY,
        ratings=[[SAP, "SAP SE", "buy", "2026-03-02"]],
        holdings=[[f"C{i}", SAP, 1, 10] for i in range(20)],
    )
    first, last = NAME.split()
    (folder / "clients.csv").write_text(
        f"C1,{first},{last},{EMAIL},de,A1,ja\n", encoding="utf-8"
    )  # exported without its header row

    def run() -> subprocess.CompletedProcess[str]:
        return _votum(
            "run",
            "--date",
            MONDAY.isoformat(),
            "--inbox",
            str(inbox),
            home=home,
            cwd=tmp_path,
            smtp=smtp_server,
            prefect_api=prefect_server,
            drop_ready_marker="MANIFEST.sha256",
            ops_alert_to=OPS,
        )

    not_ready = run()
    assert not_ready.returncode == 11, not_ready.stderr
    assert "is not delivered yet: its completion marker MANIFEST.sha256" in not_ready.stderr

    _sha256sum(folder)
    no_header = run()
    assert no_header.returncode == 3, no_header.stderr
    assert "clients.csv: the first line does not look like a header row" in no_header.stderr

    write_csv(folder / "clients.csv", CLIENTS, [["C1", first, last, EMAIL, "de", "A1", "ja"]])
    stale = run()  # the manifest still has the old clients.csv
    assert stale.returncode == 3, stale.stderr
    assert "clients.csv: its SHA-256 does not match MANIFEST.sha256" in stale.stderr

    # Ten unreadable quantities of twenty rows: a file fault, named by file and reason.
    write_csv(
        folder / "holdings.csv",
        HOLDINGS,
        [[f"C{i}", SAP, ODD_VALUE if i < 10 else 1, 10, MONDAY.isoformat()] for i in range(20)],
    )
    _sha256sum(folder)
    faulty = run()
    assert faulty.returncode == 3, faulty.stderr
    assert "holdings.csv: 10 of 20 rows are faulty" in faulty.stderr

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        ledger = con.execute(
            "SELECT outcome, stage, reason, counts FROM ops.run_ledger ORDER BY started_at"
        ).fetchall()
    assert [(r[0], r[1]) for r in ledger] == [
        ("failed", "ingest"),
        ("failed", "ingest"),
        ("failed", "ingest"),
        ("failed", "quality_raw"),
    ]
    alerts = [m.message for m in smtp_server.messages if m.rcpt_tos == [OPS]]
    assert len(alerts) == 4
    last_alert = alerts[-1].get_body(("plain",)).get_content()
    assert "Quarantined, holdings: unreadable value in quantity: 10" in last_alert
    assert [m.rcpt_tos for m in smtp_server.messages if m.rcpt_tos != [OPS]] == []

    texts = {
        "votum.log": (home / "logs" / "votum.log").read_text(encoding="utf-8"),
        "run ledger": "\n".join(str(r) for r in ledger),
        "operations alerts": "\n".join(str(a) for a in alerts),
        "stdout": "".join(r.stdout for r in (not_ready, no_header, stale, faulty)),
        "stderr": "".join(r.stderr for r in (not_ready, no_header, stale, faulty)),
        "Prefect server logs": _server_logs(prefect_server),
        "Prefect artifacts": _artifacts(prefect_server),
    }
    assert "the first line does not look like a header row" in texts["Prefect artifacts"]
    for source, text in texts.items():
        for secret in (first, last, EMAIL, ODD_VALUE):
            assert secret not in text, f"{source} shows {secret!r}"


@pytest.mark.usefixtures("prefect_server")
def test_a_header_only_ratings_file_on_a_day_with_holdings_sends_nothing(
    votum_home: Path, tmp_path: Path, mail_to: RecordingSmtpServer
) -> None:
    inbox = tmp_path / "inbox"
    clients = [["C1", "Anna", "Ahn", "anna@example.com", "de", "A1", "ja"]]
    advisors = [["A1", "Petra Schmidt", "petra@bank.example", "Köln", "boss@bank.example"]]
    write_drop(
        inbox,
        MONDAY,
        ratings=[[SAP, "SAP SE", "buy", "2026-03-02"]],
        holdings=[["C1", SAP, 3, 300]],
        clients=clients,
        advisors=advisors,
    )
    write_drop(inbox, TUESDAY, ratings=[], holdings=[["C1", SAP, 3, 290]])
    assert (inbox / TUESDAY.isoformat() / "ratings.csv").read_text().count("\n") == 1
    daily_run(DailyRunParameters(run_date=MONDAY, inbox=inbox))
    mail_to.messages.clear()

    tuesday = daily_run(DailyRunParameters(run_date=TUESDAY, inbox=inbox))

    assert tuesday is not None and tuesday.held_reason is None
    assert tuesday.rows_loaded == {"ratings": 0, "holdings": 1}
    assert (tuesday.changes, tuesday.digests_planned, tuesday.worklists_planned) == (0, 0, 0)
    assert mail_to.messages == []


def _broken_expectations(target: Path) -> Path:
    """A copy of the GE project whose mart suite reads a table that does not exist."""
    shutil.copytree(
        PROJECT_ROOT / "expectations", target, ignore=shutil.ignore_patterns("uncommitted")
    )
    suite = target / "gx" / "expectations" / "mart_client_rating_changes.json"
    text = suite.read_text(encoding="utf-8")
    assert "main.dim_advisors" in text
    suite.write_text(text.replace("main.dim_advisors", "main.no_such_table"), encoding="utf-8")
    return target


@pytest.mark.usefixtures("prefect_server")
def test_a_checkpoint_that_cannot_run_stops_the_day_before_anything_is_planned(
    votum_home: Path,
    tmp_path: Path,
    mail_to: RecordingSmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOTUM_EXPECTATIONS_DIR", str(_broken_expectations(tmp_path / "gx")))
    inbox = tmp_path / "inbox"
    write_drop(
        inbox,
        MONDAY,
        ratings=[[SAP, "SAP SE", "buy", "2026-03-02"]],
        holdings=[["C1", SAP, 3, 300]],
        clients=[["C1", "Anna", "Ahn", "anna@example.com", "de", "A1", "ja"]],
        advisors=[["A1", "Petra Schmidt", "petra@bank.example", "Köln", "boss@bank.example"]],
    )

    with pytest.raises(QualityError) as raised:
        daily_run(DailyRunParameters(run_date=MONDAY, inbox=inbox))

    assert raised.value.exit_code == 6
    assert "eligible_without_advisor" in str(raised.value)
    with duckdb.connect(str(votum_home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "SELECT outcome, stage FROM ops.run_ledger WHERE flow = 'daily-run'"
        ).fetchall() == [("failed", "quality_marts")]
        planned = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'delivery_ledger'"
        ).fetchone()
        if planned and planned[0]:
            assert con.execute("SELECT count(*) FROM ops.delivery_ledger").fetchone() == (0,)
    assert mail_to.messages == []
