"""What ``votum explain`` answers, as plain data: the fields of ``--json``. Pure."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class SourceRow:
    """Where a row came from: its drop, file and line(s), and whether the file is still
    the one that was loaded."""

    drop_date: date
    file_kind: str  # ratings, holdings
    file: str | None  # file name in the drop folder; None when the drop had no such file
    key: dict[str, str | None]  # the row's key columns as delivered
    lines: tuple[int, ...] = ()  # line(s) in the file (CSV: header is line 1)
    position: str = "line"  # "line" (CSV) or "row" (Parquet, counting from 1)
    # unchanged (the file as loaded: lines are told; none when no line has the key),
    # changed (SHA-256 differs), missing (not in the drop folder), not_loaded (no such file)
    file_check: str = "unchanged"
    note: str | None = None


@dataclass(frozen=True)
class RatingRow:
    source: SourceRow
    rating_event_id: str | None
    label_as_delivered: str | None
    rating: str | None  # the normalised (canonical) code
    rated_at: str | None


@dataclass(frozen=True)
class HoldingRow:
    source: SourceRow
    snapshot_date: date
    quantity: str | None
    market_value_eur: str | None


@dataclass(frozen=True)
class AffectedChange:
    """A change that made the subject's client affected (fct_client_rating_changes)."""

    client_id: str
    change_id: str
    isin: str
    security_name: str | None
    change_type: str
    changed_on: date
    business_day: date
    new_rating: RatingRow
    previous_rating: RatingRow | None
    holding: HoldingRow
    portfolio_weight: float | None
    notify_eligible: bool
    ineligible_reason: str | None


@dataclass(frozen=True)
class Exclusion:
    """A change of a security the client held that did not make the client affected."""

    change_id: str
    isin: str
    security_name: str | None
    change_type: str
    changed_on: date
    rule: str  # initiation, no_snapshot, no_position, not_in_mart
    reason: str  # the rule in words
    snapshot_used: date | None
    evidence: tuple[HoldingRow, ...] = ()


@dataclass(frozen=True)
class Reason:
    code: str
    words: str
    since: str | None = None


@dataclass(frozen=True)
class Eligibility:
    decision: str  # eligible, not_eligible, not_affected
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class DayHold:
    reason: str
    held_at: str | None
    decision: str | None  # released, discarded, None while waiting
    decided_at: str | None
    note: str | None


@dataclass(frozen=True)
class EmailOutcome:
    message_key: str
    kind: str
    business_day: date
    status: str
    outcome: str  # the status in words
    message_id: str
    planned_at: str | None
    last_change_at: str | None
    sent_at: str | None
    attempts: int
    claimed: bool
    status_reason: str | None
    server_reply: str | None  # addresses replaced by <address>
    day_hold: DayHold | None
    unfolded_outcome: str | None  # an outcome in the journal not yet in the ledger


@dataclass(frozen=True)
class WorklistLine:
    client_id: str
    isin: str
    security_name: str | None
    change_type: str
    notify_eligible: bool
    ineligible_reason: str | None
    market_value_eur: str


@dataclass(frozen=True)
class Explanation:
    subject: str  # client, advisor, message
    business_day: date | None
    client_id: str | None = None
    advisor_id: str | None = None
    message_id: str | None = None
    changes: tuple[AffectedChange, ...] = ()
    not_affected: tuple[Exclusion, ...] = ()
    eligibility: Eligibility | None = None
    email: EmailOutcome | None = None
    worklist: EmailOutcome | None = None  # the client's advisor's worklist of the day
    worklist_lines: tuple[WorklistLine, ...] = ()
    line_numbering: str = field(
        default=(
            "CSV: line 1 is the header, the first data row is line 2 (one record per "
            "line); Parquet: rows count from 1"
        )
    )


JSON_VERSION = 1


def as_json(explanation: Explanation) -> dict[str, Any]:
    """The explanation as JSON-ready data (``votum explain --json``)."""

    def plain(value: Any) -> Any:
        if isinstance(value, date | datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, Decimal):
            return str(value)
        return value

    data: dict[str, Any] = plain(asdict(explanation))
    return {"version": JSON_VERSION, **data}


def as_json_text(explanation: Explanation) -> str:
    return json.dumps(as_json(explanation), ensure_ascii=False, indent=2)
