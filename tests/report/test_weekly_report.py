"""`votum report` on the Easter week: files, one email per branch manager with the
charts inline, only the manager's own advisors, the bank summary, nothing sent twice."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest

from flows.pipeline import weekly_report
from flows.runs.parameters import WeeklyReportParameters
from flows.settings import Settings
from tests.smtp_server import RecordingSmtpServer


@pytest.mark.usefixtures("prefect_server")
def test_weekly_report_files_and_emails(
    easter: Settings, mail_to: RecordingSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOTUM_ADVISOR_WEEKLY", "false")  # the advisors' own weeks: below
    summary = weekly_report(WeeklyReportParameters(week="2026-W14", today=date(2026, 4, 13)))
    assert (summary.week, summary.branches, summary.emails_sent) == ("2026-W14", 2, 3)

    reports = {m.rcpt_tos[0]: m for m in mail_to.messages}
    assert set(reports) == {"koeln@bank.example", "bonn@bank.example", "vorstand@bank.example"}
    koeln = reports["koeln@bank.example"].message
    assert koeln["X-Votum-Kind"] == "adoption_report"
    assert "Filiale Köln" in koeln["Subject"] and "KW 14" in koeln["Subject"]
    html = koeln.get_body(preferencelist=("html",)).get_content()
    images = {
        part["Content-ID"].strip("<>"): part.get_content()
        for part in koeln.walk()
        if part.get_content_type() == "image/png"
    }
    referenced = set(re.findall(r'src="cid:([^"]+)"', html))
    assert referenced and referenced == set(images)
    assert all(data.startswith(b"\x89PNG") for data in images.values())
    # Only the branch's own advisors at advisor level.
    assert "Anna Adler" in html and "Bernd Berg" in html
    assert "Cramer" not in html and "carla" not in html.lower()
    bonn = reports["bonn@bank.example"].message.get_body(preferencelist=("html",)).get_content()
    assert "&lt;script&gt;" in bonn and "<script>" not in bonn  # the advisor's name, escaped
    assert "Anna Adler" not in bonn
    summary_html = (
        reports["vorstand@bank.example"].message.get_body(preferencelist=("html",)).get_content()
    )
    assert "Filiale Köln" in summary_html and "Filiale Bonn" in summary_html
    assert "Anna Adler" not in summary_html and "C5" not in summary_html

    folder = easter.home_dir / "reports" / "2026-W14"
    assert summary.folder == folder
    koeln_dir = folder / "filiale-koeln"
    page = (koeln_dir / "index.html").read_text(encoding="utf-8")
    for name in re.findall(r'src="([^"]+\.png)"', page):
        assert (koeln_dir / name).read_bytes().startswith(b"\x89PNG")
    advisors = list(
        csv.DictReader(io.StringIO((koeln_dir / "advisors.csv").read_text(encoding="utf-8")))
    )
    assert len(advisors) == 2
    open_alerts = (folder / "filiale-bonn" / "open_alerts.csv").read_text(encoding="utf-8")
    assert "C4" in open_alerts and "C5" in open_alerts
    assert (folder / "bank" / "index.html").exists()

    # VOTUM_ADVISOR_WEEKLY on (the default): each advisor with alerts gets their own week,
    # in the advisor language, once; the managers' reports are not sent again.
    monkeypatch.setenv("VOTUM_ADVISOR_WEEKLY", "true")
    monkeypatch.setenv("VOTUM_ADVISOR_LANGUAGE", "en")
    advisors = weekly_report(WeeklyReportParameters(week="2026-W14", today=date(2026, 4, 13)))
    assert advisors.emails_sent == 3
    weekly = {m.rcpt_tos[0]: m.message for m in mail_to.messages[3:]}
    assert set(weekly) == {
        "anna.adler@bank.example",
        "bernd.berg@bank.example",
        "carla.cramer@bank.example",
    }
    anna = weekly["anna.adler@bank.example"]
    assert anna["X-Votum-Kind"] == "advisor_weekly" and "Your week W14" in anna["Subject"]
    text = anna.get_body(preferencelist=("plain",)).get_content()
    # Her own figures beside the branch total (Köln: 3 alerts, 2 in time, rate 66.7 %).
    assert "Alerts: 2 (Branch total: 3)" in text
    assert "Rate (target 80%): 100.0% (Branch total: 66.7%)" in text
    assert "Follow-up volume: €987.65 (Branch total: €987.65)" in text
    # Nothing of another advisor: no name, no client of theirs.
    for other in ("Bernd", "Berg", "Carla", "C2", "C4", "C5"):
        assert other not in text
    html = anna.get_body(preferencelist=("html",)).get_content()
    assert "Bernd" not in html and "C2" not in html
    carla = weekly["carla.cramer@bank.example"].get_body(preferencelist=("html",)).get_content()
    assert "&lt;script&gt;" in carla and "<script>" not in carla

    again = weekly_report(WeeklyReportParameters(week="2026-W14", today=date(2026, 4, 13)))
    assert again.emails_sent == 0 and len(mail_to.messages) == 6
