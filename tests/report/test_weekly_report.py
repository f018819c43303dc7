"""`votum report` on the Easter week: files, one email per branch manager with the
charts inline, only the manager's own advisors, the bank summary, nothing sent twice."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest

from flows.parameters import WeeklyReportParameters
from flows.pipeline import weekly_report
from flows.settings import Settings
from tests.smtp_server import RecordingSmtpServer


@pytest.mark.usefixtures("prefect_server")
def test_weekly_report_files_and_emails(easter: Settings, mail_to: RecordingSmtpServer) -> None:
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

    again = weekly_report(WeeklyReportParameters(week="2026-W14", today=date(2026, 4, 13)))
    assert again.emails_sent == 0 and len(mail_to.messages) == 3
