"""Every run's summary as a Prefect markdown artifact (the Prefect UI shows it beside
the run): outcome, the stage it stopped in, counts and seconds per stage. Counts only,
no client data, no settings (so no secret can reach it)."""

from __future__ import annotations

from prefect.artifacts import create_markdown_artifact

from flows.runs.ledger import RunRecord


def run_summary_markdown(record: RunRecord) -> str:
    what = record.week or (record.run_date.isoformat() if record.run_date else "")
    lines = [
        f"# votum {record.flow} {what}: {record.outcome}",
        "",
        f"- run id: `{record.run_id}`",
        f"- started: {record.started_at.isoformat(sep=' ')}",
        f"- took: {record.seconds:.1f} s",
    ]
    if record.reported_stage and record.outcome in ("failed", "held"):
        lines.append(f"- stage: {record.reported_stage}")
    if record.reason:
        reason = record.reason.replace("|", "\\|")
        lines.append(f"- reason: {reason}")
    if record.stage_seconds:
        lines += ["", "| stage | seconds |", "|---|---:|"]
        lines += [f"| {name} | {sec:.1f} |" for name, sec in record.stage_seconds.items()]
    if record.counts:
        lines += ["", "| count | value |", "|---|---:|"]
        lines += [f"| {name} | {value:,} |" for name, value in sorted(record.counts.items())]
    return "\n".join(lines) + "\n"


def publish_run_summary(record: RunRecord) -> None:
    create_markdown_artifact(
        markdown=run_summary_markdown(record),
        key=f"votum-{record.flow}",
        description=f"votum {record.flow}: {record.outcome}",
    )
