"""The weekly report as files under ``VOTUM_HOME/reports/<week>/``: per branch and for
the bank a folder with ``index.html``, the charts as PNG and the figures as CSV."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from flows.report.model import BankReport, BranchReport
from flows.report.render import RenderedReport, render_bank_report, render_branch_report


def slug(text: str) -> str:
    """A file-name-safe name: "Filiale München" -> "filiale-muenchen"."""
    text = text.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "branch"


def _write(folder: Path, rendered: RenderedReport) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in rendered.images.items():
        (folder / name).write_bytes(data)
    for name, text in rendered.csv.items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
    index = folder / "index.html"
    index.write_text(rendered.html_file, encoding="utf-8")
    return index


def write_report_files(
    reports_dir: Path, branches: list[BranchReport], bank: BankReport
) -> dict[str, Path]:
    """Write every report of the week; returns branch (or "bank") -> its index.html."""
    week_dir = reports_dir / bank.week
    written = {"bank": _write(week_dir / "bank", render_bank_report(bank))}
    for report in branches:
        written[report.branch] = _write(
            week_dir / slug(report.branch), render_branch_report(report)
        )
    return written
