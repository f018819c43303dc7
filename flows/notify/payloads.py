"""What one email says, as plain data: planned from the marts, stored as JSON in the
delivery ledger, rendered by :mod:`flows.notify.render`. Pure: no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

Language = Literal["de", "en"]


@dataclass(frozen=True)
class RatingPoint:
    """One publication in a security's rating history."""

    rated_at: str  # ISO timestamp
    rating: str  # canonical code, e.g. "buy"
    label: str  # display label in the reader's language


@dataclass(frozen=True)
class HoldingChange:
    """One affected holding of a client: the rating change and the client's position."""

    change_id: str
    isin: str
    security_name: str
    change_type: Literal["upgrade", "downgrade"]
    previous_rating: str
    previous_label: str
    new_rating: str
    new_label: str
    changed_on: str  # ISO date
    rated_at: str | None  # first dissemination (ISO; without an offset: bank time, Berlin)
    previous_rated_at: str | None  # when the previous rating was published (ISO)
    target_price: str | None  # decimal as text
    currency: str | None
    analyst: str | None  # analyst or research unit that produced the recommendation
    quantity: str  # decimal as text
    market_value_eur: str  # decimal as text
    portfolio_weight: float | None  # share of the client's portfolio, 0-1
    history: tuple[RatingPoint, ...] = ()  # the last 12 months, oldest first


@dataclass(frozen=True)
class AdvisorContact:
    advisor_id: str
    name: str | None
    email: str | None


@dataclass(frozen=True)
class ClientDigest:
    """One client's email for one business day: every affected holding."""

    business_day: str  # ISO date
    client_id: str
    first_name: str | None
    last_name: str | None
    email: str
    language: Language
    advisor: AdvisorContact | None
    holdings: tuple[HoldingChange, ...]
    batch: str | None = None  # an intraday batch's delivery time HHMMSS; None: the digest


@dataclass(frozen=True)
class WorklistLine:
    """One affected client position on an advisor's worklist."""

    client_id: str
    client_name: str
    isin: str
    security_name: str
    change_type: Literal["upgrade", "downgrade"]
    previous_label: str
    new_label: str
    market_value_eur: str
    portfolio_weight: float | None
    notify_eligible: bool
    ineligible_reason: str | None  # opted_out, no_email, invalid_email, suppressed, ...
    digest_key: str | None  # ledger key of the client's digest, when one was planned


@dataclass(frozen=True)
class AdvisorWorklist:
    """One advisor's worklist for one business day, largest position value first."""

    business_day: str
    advisor_id: str
    advisor_name: str | None
    email: str
    branch: str | None
    language: Language
    lines: tuple[WorklistLine, ...] = field(default_factory=tuple)
    batch: str | None = None  # an intraday batch's delivery time HHMMSS; None: the day's


def to_json(payload: ClientDigest | AdvisorWorklist) -> str:
    """Compact JSON; orjson serialises the dataclasses directly (about fifty times faster
    than ``dataclasses.asdict`` and ``json.dumps`` on a day of a large bank). A
    dataclass's fields come in the order the class defines them: OPT_SORT_KEYS sorts
    dict keys only. The daily plan writes the same JSON in SQL
    (:func:`flows.notify.json_sql.json_object`): a field added here needs its SQL there."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def _holding(data: dict[str, Any]) -> HoldingChange:
    history = tuple(RatingPoint(**point) for point in data.pop("history", ()))
    return HoldingChange(**data, history=history)


def client_digest_from_json(text: str) -> ClientDigest:
    data = json.loads(text)
    advisor = AdvisorContact(**data.pop("advisor")) if data.get("advisor") else None
    data.pop("advisor", None)
    holdings = tuple(_holding(h) for h in data.pop("holdings"))
    return ClientDigest(**data, advisor=advisor, holdings=holdings)


def worklist_from_json(text: str) -> AdvisorWorklist:
    data = json.loads(text)
    lines = tuple(WorklistLine(**line) for line in data.pop("lines"))
    return AdvisorWorklist(**data, lines=lines)
