"""`votum unsubscribe-inbox` on a real Maildir, and the CSV exports for the bank's CRM
(`votum suppressions`, `votum activities`), through the command itself."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from flows.cli import main
from flows.notify.journal import open_journal
from flows.settings import get_settings
from flows.signing import UNSUBSCRIBE, installation_secret, make_token
from flows.web.activity_store import open_activity_store
from flows.web.ratelimit import RateLimiter


def _deliver(maildir: Path, name: str, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "someone@example.com"
    message["To"] = "unsubscribe@bank.example"
    message["Subject"] = subject
    message.set_content("bitte abmelden")
    (maildir / "new" / name).write_bytes(bytes(message))


def test_unsubscribe_inbox_honours_valid_subjects_and_reports_the_rest(
    votum_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = get_settings()
    token = make_token(installation_secret(settings), UNSUBSCRIBE, ("C0000042",), date(2026, 3, 3))
    maildir = tmp_path / "Maildir"
    for folder in ("new", "cur", "tmp"):
        (maildir / folder).mkdir(parents=True)
    _deliver(maildir, "1.valid", f"AW: unsubscribe C0000042 {token}")
    _deliver(maildir, "2.again", f"unsubscribe C0000042 {token}")
    _deliver(maildir, "3.other-client", f"unsubscribe C0000043 {token}")
    _deliver(maildir, "4.question", "Frage zu meinem Depot")

    assert main(["unsubscribe-inbox", "--maildir", str(maildir)]) == 0
    out = capsys.readouterr().out
    assert "4 messages read: 1 opt-outs recorded, 1 already recorded, 2 without" in out
    assert "3.other-client" in out and "4.question" in out
    assert "C00000" not in out and "@" not in out
    assert list((maildir / "new").iterdir()) == []
    assert sorted(p.name for p in (maildir / "cur").iterdir()) == [
        "1.valid:2,S", "2.again:2,S", "3.other-client:2,F", "4.question:2,F",
    ]  # fmt: skip
    with open_journal(settings.journal_path) as journal:
        assert journal.client_opt_out("C0000042")[1] == "mailto"
        assert journal.client_opt_out("C0000043") is None


def test_exports_for_the_crm(votum_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = get_settings()
    with open_journal(settings.journal_path) as journal:
        journal.opt_out_client("C1", source="one-click", at=datetime(2026, 3, 2, 9, tzinfo=UTC))
        journal.opt_out_client("C0", source="mailto", at=datetime(2026, 2, 27, 9, tzinfo=UTC))
        journal.suppress(
            "x@example.com", reason="bounce", source="cli", at=datetime(2026, 3, 3, tzinfo=UTC)
        )
    with open_activity_store(settings.worklist_activities_path) as store:
        store.record(
            advisor_id="A1", client_id="C1", isin="DE0007164600", alert_day="2026-03-02",
            activity_type="call", action="called", reason=None,
            at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        )  # fmt: skip

    assert main(["suppressions", "--since", "2026-03-01", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["kind"], r["client_id"], r["email"], r["source"]) for r in rows] == [
        ("client_opt_out", "C1", "", "one-click"),
        ("email_suppression", "", "x@example.com", "cli"),
    ]
    assert main(["activities", "--since", "2026-03-01", "--csv"]) == 0
    text = capsys.readouterr().out
    assert (
        text.splitlines()[0]
        == "activity_id,advisor_id,client_id,activity_type,occurred_at,isin,source"
    )
    (row,) = csv.DictReader(io.StringIO(text))
    assert (row["advisor_id"], row["client_id"], row["activity_type"], row["source"]) == (
        "A1",
        "C1",
        "call",
        "worklist",
    )
    assert row["occurred_at"] == "2026-03-02 10:30:00"  # bank time, like the CRM's export


def test_rate_limiter_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert [limiter.allow("a"), limiter.allow("a"), limiter.allow("a"), limiter.allow("b")] == [
        True,
        True,
        False,
        True,
    ]
    now[0] += 30.0  # half a minute: one more request
    assert [limiter.allow("a"), limiter.allow("a")] == [True, False]
