"""What one business day's run did, for the terminal and the logs: rows per file,
changes found and clients affected. Counts only: no client personal data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import duckdb

from flows.ingest.loader import DropLoad
from flows.warehouse import first_row


@dataclass(frozen=True)
class DaySummary:
    run_date: date
    rows_loaded: dict[str, int]
    rows_rejected: dict[str, int]
    unchanged_files: tuple[str, ...]
    upgrades: int
    downgrades: int
    initiations: int
    affected_clients: int
    affected_positions: int
    eligible_clients: int
    ineligible_by_reason: dict[str, int] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    digests_planned: int = 0
    worklists_planned: int = 0
    held_reason: str | None = None
    emails_sent: int = 0
    digests_sent: int = 0
    worklists_sent: int = 0
    emails_failed: int = 0
    emails_suppressed: int = 0
    emails_pending: int = 0
    emails_uncertain: int = 0  # outcome unknown (no reply after the end): see the ledger
    emails_withdrawn: int = 0  # client digests no longer wanted at sending
    emails_expired: int = 0  # waited too long: not sent late
    emails_previewed: int = 0
    unsendable: tuple[str, ...] = ()  # planned emails that cannot go out, and why
    quarantined: dict[str, int] = field(default_factory=dict)  # file kind -> rows
    # file kind -> reason -> rows: why they were quarantined (never a row's values)
    quarantine_reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    quality_warnings: tuple[str, ...] = ()
    data_docs: str | None = None
    backfill: bool = False

    @property
    def changes(self) -> int:
        return self.upgrades + self.downgrades


def summarize_day(con: duckdb.DuckDBPyConnection, load: DropLoad) -> DaySummary:
    """Read the day's figures from the marts just built."""
    day = load.drop_date
    changes = dict(
        con.execute(
            """
            SELECT change_type, count(*) FROM fct_rating_changes
            WHERE business_day = ? GROUP BY 1
            """,
            [day],
        ).fetchall()
    )
    affected = first_row(
        con.execute(
            """
        SELECT count(DISTINCT client_id), count(*),
               count(DISTINCT client_id) FILTER (WHERE notify_eligible)
        FROM fct_client_rating_changes WHERE business_day = ?
        """,
            [day],
        )
    )
    reasons = dict(
        con.execute(
            """
            SELECT ineligible_reason, count(DISTINCT client_id) FROM fct_client_rating_changes
            WHERE business_day = ? AND NOT notify_eligible GROUP BY 1 ORDER BY 1
            """,
            [day],
        ).fetchall()
    )
    clients, positions, eligible = affected if affected else (0, 0, 0)
    return DaySummary(
        run_date=day,
        rows_loaded={f.file_kind: f.rows_loaded for f in load.files},
        rows_rejected={f.file_kind: f.rows_rejected for f in load.files if f.rows_rejected},
        unchanged_files=tuple(f.file_name for f in load.files if f.unchanged),
        upgrades=int(changes.get("upgrade", 0)),
        downgrades=int(changes.get("downgrade", 0)),
        initiations=int(changes.get("initiation", 0)),
        affected_clients=int(clients),
        affected_positions=int(positions),
        eligible_clients=int(eligible),
        ineligible_by_reason={str(k): int(v) for k, v in reasons.items()},
    )


def summary_as_dict(summary: DaySummary) -> dict[str, object]:
    """The summary as plain JSON-ready values (``votum run --json``)."""
    data = asdict(summary)
    data["run_date"] = summary.run_date.isoformat()
    data["changes"] = summary.changes
    return data


def quarantine_lines(quarantined: dict[str, int], reasons: dict[str, dict[str, int]]) -> list[str]:
    """One line per file with quarantined rows: how many and why (counts per reason)."""
    lines = []
    for kind, rows in sorted(quarantined.items()):
        why = ", ".join(f"{reason}: {n:,}" for reason, n in reasons.get(kind, {}).items())
        plural = "row" if rows == 1 else "rows"
        lines.append(
            f"quarantined (ops.quarantine): {kind} {rows:,} {plural}" + (f" ({why})" if why else "")
        )
    return lines


def format_summary(summary: DaySummary) -> str:
    """A few plain lines a data engineer can read in a terminal or a log."""
    loaded = ", ".join(f"{kind} {rows:,}" for kind, rows in summary.rows_loaded.items())
    lines = [
        f"{summary.run_date.isoformat()}: loaded {loaded}",
        f"  rating changes: {summary.upgrades} upgrades, {summary.downgrades} downgrades, "
        f"{summary.initiations} initiations",
        f"  affected clients: {summary.affected_clients:,} "
        f"({summary.affected_positions:,} positions), {summary.eligible_clients:,} may be emailed",
    ]
    lines.append(
        f"  emails: {summary.digests_planned:,} client digests and "
        f"{summary.worklists_planned:,} worklists planned; {summary.emails_sent:,} sent, "
        f"{summary.emails_failed:,} failed, {summary.emails_suppressed:,} suppressed, "
        f"{summary.emails_pending:,} left pending"
        + (f", {summary.emails_uncertain:,} outcome unknown" if summary.emails_uncertain else "")
        + (f", {summary.emails_withdrawn:,} withdrawn" if summary.emails_withdrawn else "")
        + (f", {summary.emails_expired:,} expired" if summary.emails_expired else "")
        + (f", {summary.emails_previewed:,} written as preview" if summary.emails_previewed else "")
    )
    if summary.held_reason:
        lines.append(f"  HELD, nothing sent: {summary.held_reason}")
    for reason in summary.unsendable[:10]:
        lines.append(f"  cannot be sent: {reason}")
    if len(summary.unsendable) > 10:
        lines.append(f"  ... and {len(summary.unsendable) - 10} more (ops.delivery_ledger)")
    if summary.ineligible_by_reason:
        reasons = ", ".join(f"{k} {v:,}" for k, v in summary.ineligible_by_reason.items())
        lines.append(f"  to call instead: {reasons}")
    for line in quarantine_lines(summary.quarantined, summary.quarantine_reasons):
        lines.append(f"  {line}")
    for warning in summary.quality_warnings:
        lines.append(f"  quality warning: {warning}")
    if summary.data_docs:
        lines.append(f"  Data Docs: {summary.data_docs}")
    if summary.backfill:
        lines.append("  backfill: built, nothing planned or sent")
    if summary.stage_seconds:
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in summary.stage_seconds.items())
        lines.append(f"  stages: {stages}")
    if summary.unchanged_files:
        lines.append(f"  unchanged since last load: {', '.join(summary.unchanged_files)}")
    return "\n".join(lines)
