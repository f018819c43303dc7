"""The operations alert: one short email per failed or held run to
``VOTUM_OPS_ALERT_TO``, through the delivery ledger like every other email (keyed by the
run, so a run alerts once however often dispatch is retried).

Counts, the stage and the reason only: the reason is our own error message (file,
column, check) or an exception's type and text, never client data from the marts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from html import escape

import duckdb

from flows.notify.addresses import address_problem
from flows.notify.ledger import FAILED, OPS_ALERT, PENDING, upsert_planned
from flows.notify.plan import planned_message
from flows.notify.render import Rendered, clean_header_text


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

    @property
    def what(self) -> str:
        return f"{self.flow} {self.week or self.day.isoformat()}"


def plan_ops_alert(
    con: duckdb.DuckDBPyConnection, alert: OpsAlert, *, to: str, mail_domain: str
) -> int:
    """The alert's ledger row (1 if new, 0 if this run's alert was planned before)."""
    problem = address_problem(to)
    message = planned_message(
        OPS_ALERT,
        alert.day,
        alert.run_id,
        "votum operations",
        to,
        "en",
        [alert.run_id],
        json.dumps(asdict(alert), default=str, sort_keys=True),
        FAILED if problem else PENDING,
        f"VOTUM_OPS_ALERT_TO: {problem}" if problem else None,
        mail_domain,
    )
    return upsert_planned(con, [message])


def ops_alert_from_json(payload: str) -> OpsAlert:
    data = json.loads(payload)
    data["day"] = date.fromisoformat(data["day"])
    return OpsAlert(**data)


def render_ops_alert(alert: OpsAlert) -> Rendered:
    where = f" at stage {alert.stage}" if alert.stage else ""
    subject = clean_header_text(f"[votum] {alert.what}: {alert.outcome.upper()}{where}")
    counts = ", ".join(f"{key} {value}" for key, value in sorted(alert.counts.items()))
    next_step = (
        f"Look at the day, then `votum release {alert.day}` or "
        f"`votum discard {alert.day} --reason ...`."
        if alert.outcome == "held"
        else "Fix the cause, then run the same command again: nothing already sent goes out twice."
    )
    lines = [
        f"The votum run {alert.what} ended {alert.outcome}{where}.",
        "",
        f"Reason: {alert.reason}",
        "",
        f"Started: {alert.started_at}",
        f"Run id: {alert.run_id}",
        f"Counts so far: {counts or 'none'}",
        "",
        next_step,
        "`votum status` shows the runs, held days and failed emails.",
    ]
    text = "\n".join(lines) + "\n"
    html = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head><body>"
        + "".join(f"<p>{escape(line)}</p>" for line in lines if line)
        + "</body></html>"
    )
    return Rendered(subject=subject, text=text, html=html)
