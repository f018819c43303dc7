"""Planning one intraday batch: one email per affected client with all of its changes of
the batch (at most ``VOTUM_MAX_INTRADAY_EMAILS_PER_CLIENT`` a day; beyond, the changes
wait for the next morning digest planned after the batch, :mod:`flows.notify.carry`) and
one worklist per advisor saying who was emailed.

The grouping is the daily plan's (:mod:`flows.notify.plan`); only the kinds and keys
differ: ``client_intraday:<day>:<batch>:<client>``, ``advisor_intraday:...:<advisor>``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import duckdb

from flows.notify.carry import note_batch
from flows.notify.journal import Journal
from flows.notify.ledger import (
    ADVISOR_INTRADAY,
    CLIENT_INTRADAY,
    DISCARDED,
    FAILED,
    PlannedMessage,
    day_hold,
    hold_day,
    upsert_planned,
)
from flows.notify.payloads import AdvisorWorklist, Language
from flows.notify.plan import (
    build_digests,
    build_worklists,
    circuit_breaker_reason,
    decide_eligibility,
    message_id,
    planned_messages,
    read_breaker_counts,
    read_history,
)
from flows.warehouse import fetch_dicts, first_row

WAITS_FOR_DIGEST = "waits_for_digest"
# What dbt builds for a batch: the day's rating history, changes, change-by-client rows
# and notification lines (incremental: the day of raw.run_context is rebuilt).
INTRADAY_MODELS = (
    "stg_drop__ratings",
    "int_ratings_historized",
    "fct_rating_changes",
    "fct_client_rating_changes",
    "mart_notification_lines",
    "mart_rating_history",
)


@dataclass(frozen=True)
class BatchPlan:
    business_day: date
    batch_id: str
    client_emails: int
    worklists: int
    waiting_clients: int  # beyond the day's limit: their changes wait for the morning
    held_reason: str | None


def intraday_key(kind: str, day: date, batch_id: str, recipient_id: str) -> str:
    return f"{kind}:{day.isoformat()}:{batch_id}:{recipient_id}"


def apply_daily_limit(
    lines: Sequence[dict[str, object]], sent_today: Counter[str], limit: int
) -> list[dict[str, object]]:
    """Eligible lines of a client who already has ``limit`` intraday emails of the day
    are not emailed now: they wait for the next morning's digest."""
    limited = []
    for line in lines:
        row = dict(line)
        if row.get("notify_eligible") and sent_today[str(row["client_id"])] >= limit:
            row["notify_eligible"], row["ineligible_reason"] = False, WAITS_FOR_DIGEST
        limited.append(row)
    return limited


def as_intraday(
    messages: Sequence[PlannedMessage], day: date, batch_id: str, domain: str
) -> list[PlannedMessage]:
    """The daily plan's messages as the batch's: own kind, key and Message-ID."""
    kinds = {"client_digest": CLIENT_INTRADAY, "advisor_worklist": ADVISOR_INTRADAY}
    out = []
    for m in messages:
        kind = kinds[m.kind]
        out.append(
            replace(
                m,
                kind=kind,
                message_key=intraday_key(kind, day, batch_id, m.recipient_id),
                message_id=message_id(
                    kind, day, f"{batch_id}/{m.recipient_id}", m.change_ids.split(","), domain
                ),
            )
        )
    return out


def _intraday_emails_today(
    con: duckdb.DuckDBPyConnection, day: date, batch_id: str
) -> Counter[str]:
    rows = con.execute(
        "SELECT recipient_id, count(*) FROM ops.delivery_ledger WHERE kind = ? "
        "AND business_day = ? AND message_key NOT LIKE ? GROUP BY recipient_id",
        [CLIENT_INTRADAY, day, f"{CLIENT_INTRADAY}:{day.isoformat()}:{batch_id}:%"],
    ).fetchall()
    return Counter({str(client): int(n) for client, n in rows})


def _batch_changed_isins(con: duckdb.DuckDBPyConnection, day: date, batch_id: str) -> int:
    row = first_row(
        con.execute(
            "SELECT count(DISTINCT isin) FROM fct_rating_changes WHERE business_day = ? "
            "AND batch_id = ? AND change_type IN ('upgrade', 'downgrade')",
            [day, batch_id],
        )
    )
    return int(row[0]) if row else 0


def plan_batch(
    con: duckdb.DuckDBPyConnection,
    journal: Journal,
    day: date,
    batch_id: str,
    *,
    max_per_client: int,
    max_change_share: float,
    min_changed_isins: int,
    advisor_language: Language,
    mail_domain: str,
    hold_reason: str | None = None,
) -> BatchPlan:
    """Plan the batch's emails into the ledger (idempotent). The circuit breaker counts
    the batch's changes and the day's so far (morning drop and batches together); a held
    or discarded day holds or discards its batches too (`votum release` lets them go)."""
    day_changed, rated_before = read_breaker_counts(con, day)
    held_reason = (
        hold_reason
        or circuit_breaker_reason(
            _batch_changed_isins(con, day, batch_id),
            rated_before,
            max_change_share,
            min_changed_isins,
        )
        or circuit_breaker_reason(day_changed, rated_before, max_change_share, min_changed_isins)
    )
    decision = day_hold(con, day)
    if decision is not None and decision[1] is None:
        held_reason = held_reason or decision[0]  # the day waits for a person
    if decision is not None and decision[1] == "released":
        held_reason = None
    discarded = decision is not None and decision[1] == "discarded"
    if held_reason and not discarded:
        hold_day(con, day, held_reason)

    lines = fetch_dicts(
        con,
        "SELECT * FROM mart_notification_lines WHERE business_day = ? AND batch_id = ? "
        "ORDER BY client_id, market_value_eur DESC, isin",
        [day, batch_id],
    )
    suppressed = {email for email, *_ in journal.suppressions()}
    decided = apply_daily_limit(
        decide_eligibility(lines, suppressed),
        _intraday_emails_today(con, day, batch_id),
        max_per_client,
    )
    history = read_history(con, day, {str(r["isin"]) for r in decided})
    digests = [
        replace(d, batch=batch_id)
        for d in build_digests([r for r in decided if r["notify_eligible"]], history, day)
    ]
    emailed = {d.client_id for d in digests}
    worklists = [
        _batch_worklist(w, day, batch_id)
        for w in build_worklists(decided, emailed, day, advisor_language)
    ]
    messages = as_intraday(
        planned_messages(digests, worklists, day, held_reason, mail_domain),
        day,
        batch_id,
        mail_domain,
    )
    if discarded:
        messages = [
            replace(m, status=DISCARDED, status_reason="the day was discarded")
            if m.status != FAILED
            else m
            for m in messages
        ]
    upsert_planned(con, messages)
    note_batch(con, day, batch_id)  # what waits goes into the next morning's digest
    return BatchPlan(
        business_day=day,
        batch_id=batch_id,
        client_emails=len(digests),
        worklists=len(worklists),
        waiting_clients=len(
            {r["client_id"] for r in decided if r["ineligible_reason"] == WAITS_FOR_DIGEST}
        ),
        held_reason=held_reason,
    )


def _batch_worklist(worklist: AdvisorWorklist, day: date, batch_id: str) -> AdvisorWorklist:
    """Each emailed line points at the client's email of this batch."""
    lines = tuple(
        replace(line, digest_key=intraday_key(CLIENT_INTRADAY, day, batch_id, line.client_id))
        if line.digest_key
        else line
        for line in worklist.lines
    )
    return replace(worklist, lines=lines, batch=batch_id)
