"""The weekly report as files under ``VOTUM_HOME/reports/<week>/``: per branch and for
the bank a folder with ``index.html``, the charts as PNG and the figures as CSV.

A branch's folder is named after the branch ("Filiale München" -> ``filiale-muenchen``).
Two branches whose names give the same folder name ("Köln-Süd" and "Köln Süd"), or a
branch named like the bank summary's folder ``bank``, get the name plus a short hash of
their exact name: unique and the same every week."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from flows.report.model import BankReport, BranchReport
from flows.report.render import RenderedReport, render_bank_report, render_branch_report


def slug(text: str) -> str:
    """A file-name-safe name: "Filiale München" -> "filiale-muenchen"."""
    text = text.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "branch"


BANK_FOLDER = "bank"


def _with_hash(name: str, branch: str, length: int) -> str:
    return f"{name}-{hashlib.sha256(branch.encode('utf-8')).hexdigest()[:length]}"


def branch_folder_names(branches: Iterable[str]) -> dict[str, str]:
    """The folder (and ledger key) of each branch: its slug, unless another branch of
    the week has the same slug or the slug is the bank summary's folder; then every one
    of them gets a short hash of its exact name appended."""
    by_slug: dict[str, list[str]] = defaultdict(list)
    for branch in sorted(set(branches)):
        by_slug[slug(branch)].append(branch)
    names = {
        branch: name if len(group) == 1 and name != BANK_FOLDER else _with_hash(name, branch, 8)
        for name, group in by_slug.items()
        for branch in group
    }
    taken = [*names.values(), BANK_FOLDER]
    # A branch may be named like another's hashed folder: then the whole hash decides.
    return {
        branch: _with_hash(slug(branch), branch, 64) if taken.count(name) > 1 else name
        for branch, name in names.items()
    }


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
    written = {"bank": _write(week_dir / BANK_FOLDER, render_bank_report(bank))}
    folders = branch_folder_names(report.branch for report in branches)
    for report in branches:
        written[report.branch] = _write(
            week_dir / folders[report.branch], render_branch_report(report)
        )
    return written
