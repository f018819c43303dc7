"""The operations alert: one short email per failed or held run to
``VOTUM_OPS_ALERT_TO``, through the delivery ledger like every other email (keyed by the
run, so a run alerts once however often dispatch is retried).

A daily run that succeeded but quarantined rows of its drop alerts too: a quarantined
ratings row may be a rating change no client heard of, and someone has to ask the sender
for a corrected file. Every alert of a daily run past ingest names the quarantined rows
per file and why (counts per reason).

Counts, the stage and the reason only: the reason is our own error message (file,
column, check) or an exception's type and text, never client data from the marts or a
value of a quarantined row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from html import escape

import duckdb

from flows.notify import ledger
from flows.notify.addresses import address_problem
from flows.notify.kinds import MessageContent, SendContext
from flows.notify.ledger import OPS_ALERT, PENDING, upsert_planned
from flows.notify.plan import planned_message
from flows.notify.render import Rendered, clean_header_text
from flows.quality.quarantine import quarantine_reasons
from flows.runs.ledger import DEGRADED, FAILED, HELD, REFUSED
from flows.warehouse import table_exists

_QUARANTINED = "rows_quarantined_"


@dataclass(frozen=True)
class OpsAlert:
    run_id: str
    flow: str
    day: date
    week: str | None
    outcome: str  # failed or held
    stage: str | None
    reason: str
    started_at: str
    counts: dict[str, object]
    # file kind -> reason -> rows of the day's drop in ops.quarantine
    quarantine: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def what(self) -> str:
        return f"{self.flow} {self.week or self.day.isoformat()}"

    @property
    def quarantined_rows(self) -> int:
        return quarantined_rows(self.counts)


def quarantined_rows(counts: Mapping[str, object]) -> int:
    """Rows of the drop a run quarantined, from its run-ledger counts."""
    return sum(
        value
        for key, value in counts.items()
        if key.startswith(_QUARANTINED) and isinstance(value, int)
    )


def alerts_operations(outcome: str, counts: Mapping[str, object]) -> bool:
    """Whether a run ends with an operations alert: failed, held, or rows quarantined."""
    return outcome in (FAILED, HELD) or quarantined_rows(counts) > 0


def _with_quarantine(con: duckdb.DuckDBPyConnection, alert: OpsAlert) -> OpsAlert:
    """The alert of a daily run that got past ingest names the drop's quarantined rows
    (this run's quality gate wrote them; ingest faults are before it)."""
    if alert.flow != "daily-run" or alert.stage in (None, "ingest"):
        return alert
    if not table_exists(con, "ops", "quarantine"):
        return alert
    return replace(alert, quarantine=quarantine_reasons(con, alert.day))


def plan_ops_alert(
    con: duckdb.DuckDBPyConnection, alert: OpsAlert, *, to: str, mail_domain: str
) -> int:
    """The alert's ledger row (1 if new, 0 if this run's alert was planned before)."""
    problem = address_problem(to)
    alert = _with_quarantine(con, alert)
    message = planned_message(
        OPS_ALERT,
        alert.day,
        alert.run_id,
        "votum operations",
        to,
        "en",
        [alert.run_id],
        json.dumps(asdict(alert), default=str, sort_keys=True),
        ledger.FAILED if problem else PENDING,
        f"VOTUM_OPS_ALERT_TO: {problem}" if problem else None,
        mail_domain,
    )
    return upsert_planned(con, [message])


def ops_alert_from_json(payload: str) -> OpsAlert:
    data = json.loads(payload)
    data["day"] = date.fromisoformat(data["day"])
    return OpsAlert(**data)


def _quarantine_lines(alert: OpsAlert) -> list[str]:
    lines = []
    for kind, reasons in sorted(alert.quarantine.items()):
        rows = alert.counts.get(f"{_QUARANTINED}{kind}")
        why = "; ".join(f"{reason}: {n}" for reason, n in reasons.items())
        count = f" ({rows} row{'s' if rows != 1 else ''})" if isinstance(rows, int) else ""
        lines.append(f"Quarantined, {kind}{count}: {why}")
    return lines


def render_ops_alert(alert: OpsAlert) -> Rendered:
    where = f" at stage {alert.stage}" if alert.stage else ""
    quarantined = alert.quarantined_rows
    headline = alert.outcome.upper() + where
    if alert.outcome not in (FAILED, HELD, REFUSED, DEGRADED) and quarantined:
        plural = "s" if quarantined > 1 else ""
        headline = f"{alert.outcome.upper()}, {quarantined} row{plural} quarantined"
    subject = clean_header_text(f"[votum] {alert.what}: {headline}")
    counts = ", ".join(f"{key} {value}" for key, value in sorted(alert.counts.items()))
    if alert.outcome == HELD:
        next_step = (
            f"Look at the day, then `votum release {alert.day}` or "
            f"`votum discard {alert.day} --reason ...`."
        )
    elif alert.outcome == REFUSED:
        next_step = "Nothing ran. If the day was meant, run it again as the reason says."
    elif alert.outcome == DEGRADED:
        next_step = (
            "The rest went out. `votum status` shows the failed emails; `votum dispatch` "
            "sends the pending ones once the mail server takes them."
        )
    elif alert.outcome == FAILED:
        next_step = (
            "Fix the cause, then run the same command again: nothing already sent goes out twice."
        )
    else:
        next_step = (
            "The day went on without the quarantined rows: no client heard of what they hold. "
            f"Find them with SELECT file_name, line, reasons FROM ops.quarantine WHERE "
            f"drop_date = '{alert.day}'; a corrected file in the drop and `votum run --date "
            f"{alert.day}` loads them: nothing already sent goes out twice."
        )
    lines = [
        f"The votum run {alert.what} ended {alert.outcome}{where}.",
        "",
        *([f"Reason: {alert.reason}", ""] if alert.reason else []),
        *_quarantine_lines(alert),
        *([""] if alert.quarantine else []),
        f"Started: {alert.started_at}",
        f"Run id: {alert.run_id}",
        f"Counts so far: {counts or 'none'}",
        "",
        next_step,
        "`votum status` shows the runs, held days, failed emails and quarantined rows.",
    ]
    text = "\n".join(lines) + "\n"
    html = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head><body>"
        + "".join(f"<p>{escape(line)}</p>" for line in lines if line)
        + "</body></html>"
    )
    return Rendered(subject=subject, text=text, html=html)


def render_ops_alert_message(payload: str, context: SendContext) -> MessageContent:
    """The alert's renderer at send time (flows/message_kinds.py)."""
    return MessageContent(render_ops_alert(ops_alert_from_json(payload)))
