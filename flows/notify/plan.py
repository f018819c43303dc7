"""Planning a business day's emails: one digest per eligible client and one worklist
per advisor, from the marts into the delivery ledger.

The grouping and the circuit breaker are pure functions; :func:`plan_day` plans the day
in DuckDB (:mod:`flows.notify.plan_sql`: the same grouping, order and JSON, byte for
byte, from ``mart_notification_lines``) and writes the ledger in one statement. The
Python builders plan the intraday batches (flows/intraday/plan.py) and are the
reference the SQL is tested against (tests/notify/test_plan_sql.py)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, cast

import duckdb

from flows.notify import plan_sql
from flows.notify.addresses import address_problem
from flows.notify.carry import take_for_digest
from flows.notify.journal import Journal, normalise_email
from flows.notify.ledger import (
    ADVISOR_WORKLIST,
    CLIENT_DIGEST,
    FAILED,
    HELD,
    PENDING,
    PlannedMessage,
    day_hold,
    hold_day,
    upsert_planned_select,
)
from flows.notify.payloads import (
    AdvisorContact,
    AdvisorWorklist,
    ClientDigest,
    HoldingChange,
    Language,
    RatingPoint,
    WorklistLine,
    to_json,
)
from flows.warehouse import first_row

HISTORY_DAYS = 365
ChangeType = Literal["upgrade", "downgrade"]


@dataclass(frozen=True)
class PlanResult:
    business_day: date
    digests: int
    worklists: int
    new_rows: int
    held_reason: str | None
    lines: int
    clients_to_call: int
    lines_without_advisor: int
    unusable: dict[str, str] = field(default_factory=dict)  # message key -> why


def circuit_breaker_reason(
    changed_isins: int, rated_before: int, max_share: float, min_changed: int
) -> str | None:
    """Why the day must be held, or None. Trips when more ISINs were upgraded or
    downgraded than is plausible: over ``max_share`` of the ISINs rated before the drop
    and at least ``min_changed`` of them."""
    if changed_isins >= min_changed and changed_isins > max_share * rated_before:
        return (
            f"circuit breaker: {changed_isins} ISINs changed rating in one drop, more than "
            f"{max_share:.0%} of the {rated_before} ISINs rated before it "
            f"(and at least {min_changed}); release with `votum release` or discard"
        )
    return None


def message_key(kind: str, business_day: date, recipient_id: str) -> str:
    return f"{kind}:{business_day.isoformat()}:{recipient_id}"


def message_id(
    kind: str, business_day: date, recipient_id: str, change_ids: Iterable[str], domain: str
) -> str:
    """A Message-ID derived from what the email notifies: the same email planned again
    gets the same id; two different emails never share one."""
    basis = "|".join([kind, business_day.isoformat(), recipient_id, *sorted(change_ids)])
    return f"<{hashlib.sha256(basis.encode()).hexdigest()[:40]}.{kind}@{domain}>"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date | datetime) else _text(value)


def _language(value: Any) -> Language:
    return "en" if value == "en" else "de"


def _label(line: Mapping[str, Any], which: str, language: Language) -> str:
    label = line.get(f"{which}_label_{language}") or line.get(f"{which}_rating")
    return str(label)


def _client_name(line: Mapping[str, Any]) -> str:
    name = " ".join(str(p) for p in (line.get("first_name"), line.get("last_name")) if p)
    return name or str(line["client_id"])


def build_digests(
    lines: Sequence[Mapping[str, Any]],
    history: Mapping[str, Sequence[Mapping[str, Any]]],
    business_day: date,
) -> list[ClientDigest]:
    """One digest per client among ``lines`` (all of them eligible), holdings by value."""
    by_client: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for line in lines:
        by_client[str(line["client_id"])].append(line)
    points: dict[tuple[str, str], tuple[RatingPoint, ...]] = {}

    def history_of(isin: str, language: Language) -> tuple[RatingPoint, ...]:
        # Built once per security and language, shared by every client who holds it.
        key = (isin, language)
        if key not in points:
            points[key] = tuple(
                RatingPoint(
                    rated_at=str(_iso(h["rated_at"])),
                    rating=str(h["rating_code"]),
                    label=str(h.get(f"label_{language}") or h["rating_code"]),
                )
                for h in history.get(isin, ())
            )
        return points[key]

    digests = []
    for client_id in sorted(by_client):
        rows = sorted(
            by_client[client_id], key=lambda r: (-Decimal(r["market_value_eur"]), r["isin"])
        )
        first = rows[0]
        language = _language(first.get("language"))
        holdings = tuple(
            HoldingChange(
                change_id=str(r["change_id"]),
                isin=str(r["isin"]),
                security_name=str(r.get("security_name") or r["isin"]),
                change_type=cast(ChangeType, r["change_type"]),
                previous_rating=str(r["previous_rating"]),
                previous_label=_label(r, "previous", language),
                new_rating=str(r["new_rating"]),
                new_label=_label(r, "new", language),
                changed_on=str(_iso(r["changed_on"])),
                rated_at=_iso(r.get("rated_at")),
                previous_rated_at=_iso(r.get("previous_rated_at")),
                target_price=_text(r.get("target_price")),
                currency=_text(r.get("currency")),
                analyst=_text(r.get("analyst")),
                quantity=str(r["quantity"]),
                market_value_eur=str(r["market_value_eur"]),
                portfolio_weight=(
                    float(r["portfolio_weight"]) if r.get("portfolio_weight") is not None else None
                ),
                history=history_of(str(r["isin"]), language),
            )
            for r in rows
        )
        advisor = (
            AdvisorContact(
                advisor_id=str(first["advisor_id"]),
                name=_text(first.get("advisor_name")),
                email=_text(first.get("advisor_email")),
            )
            if first.get("advisor_id")
            else None
        )
        digests.append(
            ClientDigest(
                business_day=business_day.isoformat(),
                client_id=client_id,
                first_name=_text(first.get("first_name")),
                last_name=_text(first.get("last_name")),
                email=str(first["email"]).strip(),
                language=language,
                advisor=advisor,
                holdings=holdings,
            )
        )
    return digests


def worklist_order(line: WorklistLine) -> tuple[Decimal, str, str]:
    """Largest position value first, then client and security."""
    return (-Decimal(line.market_value_eur), line.client_id, line.isin)


def build_worklists(
    lines: Sequence[Mapping[str, Any]],
    emailed_clients: set[str],
    business_day: date,
    language: Language,
) -> list[AdvisorWorklist]:
    """One worklist per advisor with every affected position of their clients, largest
    value first; a client not emailed is flagged to be called, with the reason."""
    by_advisor: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for line in lines:
        if line.get("advisor_id"):
            by_advisor[str(line["advisor_id"])].append(line)
    worklists = []
    for advisor_id in sorted(by_advisor):
        rows = sorted(
            by_advisor[advisor_id],
            key=lambda r: (-Decimal(r["market_value_eur"]), r["client_id"], r["isin"]),
        )  # the same order as worklist_order
        first = rows[0]
        worklist_lines = []
        for r in rows:
            client_id = str(r["client_id"])
            emailed = client_id in emailed_clients
            worklist_lines.append(
                WorklistLine(
                    client_id=client_id,
                    client_name=_client_name(r),
                    isin=str(r["isin"]),
                    security_name=str(r.get("security_name") or r["isin"]),
                    change_type=cast(ChangeType, r["change_type"]),
                    previous_label=_label(r, "previous", language),
                    new_label=_label(r, "new", language),
                    market_value_eur=str(r["market_value_eur"]),
                    portfolio_weight=(
                        float(r["portfolio_weight"])
                        if r.get("portfolio_weight") is not None
                        else None
                    ),
                    notify_eligible=emailed,
                    ineligible_reason=None if emailed else str(r.get("ineligible_reason")),
                    digest_key=(
                        message_key(CLIENT_DIGEST, business_day, client_id) if emailed else None
                    ),
                )
            )
        worklists.append(
            AdvisorWorklist(
                business_day=business_day.isoformat(),
                advisor_id=advisor_id,
                advisor_name=_text(first.get("advisor_name")),
                email=str(first.get("advisor_email") or "").strip(),
                branch=_text(first.get("branch")),
                language=language,
                lines=tuple(worklist_lines),
            )
        )
    return worklists


def decide_eligibility(
    lines: Sequence[Mapping[str, Any]], suppressed: set[str]
) -> list[dict[str, Any]]:
    """The mart's eligibility, tightened by what is known now: an address suppressed
    since the marts were built, or one the envelope cannot carry, is not emailed."""
    decided = []
    for line in lines:
        row = dict(line)
        if row.get("notify_eligible"):
            email = str(row.get("email") or "")
            if normalise_email(email) in suppressed:
                row["notify_eligible"], row["ineligible_reason"] = False, "suppressed"
            elif address_problem(email.strip()):
                row["notify_eligible"], row["ineligible_reason"] = False, "invalid_email"
        decided.append(row)
    return decided


def planned_message(
    kind: str,
    business_day: date,
    recipient_id: str,
    recipient_name: str | None,
    email: str | None,
    language: str,
    change_ids: Sequence[str],
    payload: str,
    status: str,
    reason: str | None,
    domain: str,
) -> PlannedMessage:
    return PlannedMessage(
        message_key=message_key(kind, business_day, recipient_id),
        kind=kind,
        business_day=business_day,
        recipient_id=recipient_id,
        recipient_name=recipient_name,
        recipient_email=email,
        language=language,
        message_id=message_id(kind, business_day, recipient_id, change_ids, domain),
        content_sha256=hashlib.sha256(payload.encode()).hexdigest(),
        change_ids=",".join(sorted(set(change_ids))),
        payload=payload,
        status=status,
        status_reason=reason,
    )


def planned_messages(
    digests: Sequence[ClientDigest],
    worklists: Sequence[AdvisorWorklist],
    business_day: date,
    held_reason: str | None,
    domain: str,
) -> list[PlannedMessage]:
    status = HELD if held_reason else PENDING
    messages = []
    for digest in digests:
        name = " ".join(p for p in (digest.first_name, digest.last_name) if p) or None
        messages.append(
            planned_message(
                CLIENT_DIGEST,
                business_day,
                digest.client_id,
                name,
                digest.email,
                digest.language,
                [h.change_id for h in digest.holdings],
                to_json(digest),
                status,
                held_reason,
                domain,
            )
        )
    for worklist in worklists:
        problem = address_problem(worklist.email)
        messages.append(
            planned_message(
                ADVISOR_WORKLIST,
                business_day,
                worklist.advisor_id,
                worklist.advisor_name,
                worklist.email or None,
                worklist.language,
                [f"{line.client_id}/{line.isin}" for line in worklist.lines],
                to_json(worklist),
                FAILED if problem else status,
                f"advisor {worklist.advisor_id}: {problem}" if problem else held_reason,
                domain,
            )
        )
    return messages


# -- I/O -------------------------------------------------------------------------------
def _dicts(con: duckdb.DuckDBPyConnection, query: str, params: list[Any]) -> list[dict[str, Any]]:
    # Through Arrow: one C++ conversion instead of a Python loop over 130,000 rows.
    rows: list[dict[str, Any]] = con.sql(query, params=params).to_arrow_table().to_pylist()
    return rows


def read_history(
    con: duckdb.DuckDBPyConnection, business_day: date, isins: Iterable[str]
) -> dict[str, list[dict[str, Any]]]:
    """Each ISIN's publications over the twelve months up to the business day."""
    wanted = sorted(set(isins))
    if not wanted:
        return {}
    rows = _dicts(
        con,
        """
        SELECT isin, rated_at, rating_code, label_de, label_en
        FROM mart_rating_history
        WHERE list_contains(?, isin) AND rated_at >= ? AND drop_date <= ?
        ORDER BY isin, rated_at, drop_date
        """,
        [wanted, business_day - timedelta(days=HISTORY_DAYS), business_day],
    )
    history: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        history[str(row["isin"])].append(row)
    return history


def read_breaker_counts(con: duckdb.DuckDBPyConnection, business_day: date) -> tuple[int, int]:
    """(ISINs upgraded or downgraded in the day's drop, ISINs rated before that drop)."""
    row = first_row(
        con.execute(
            """
        SELECT
            (SELECT count(DISTINCT isin) FROM fct_rating_changes
             WHERE business_day = ? AND change_type IN ('upgrade', 'downgrade')),
            (SELECT count(DISTINCT isin) FROM intermediate.int_ratings_historized
             WHERE drop_date < ?)
        """,
            [business_day, business_day],
        )
    )
    return (int(row[0]), int(row[1])) if row else (0, 0)


def plan_day(
    con: duckdb.DuckDBPyConnection,
    journal: Journal,
    business_day: date,
    *,
    max_change_share: float,
    min_changed_isins: int,
    advisor_language: Language,
    mail_domain: str,
    hold_reason: str | None = None,
) -> PlanResult:
    """Plan the day's digests and worklists into the ledger (idempotent), with the
    changes of intraday batches waiting for this morning's digest (:mod:`flows.notify.carry`).

    Grouping, ordering and the JSON payloads are DuckDB's (:mod:`flows.notify.plan_sql`:
    the same rows, byte for byte, as :func:`build_digests`, :func:`build_worklists` and
    :func:`planned_messages` make), and the ledger is written in one statement."""
    changed, rated_before = read_breaker_counts(con, business_day)
    held_reason = hold_reason or circuit_breaker_reason(
        changed, rated_before, max_change_share, min_changed_isins
    )
    decision = day_hold(con, business_day)
    if decision is not None and decision[1] == "released":
        held_reason = None  # a person looked at the day and let it go
    discarded = decision is not None and decision[1] == "discarded"
    if held_reason and not discarded:
        hold_day(con, business_day, held_reason)
    suppressed = sorted({email for email, *_ in journal.suppressions()})
    day_text = business_day.isoformat()
    try:
        con.execute(
            plan_sql.source_sql(),
            {"day": business_day, "carry_from": take_for_digest(con, business_day)},
        )
        con.execute(
            plan_sql.history_sql(column_types(con, "mart_rating_history")),
            {"day": business_day, "history_from": business_day - timedelta(days=HISTORY_DAYS)},
        )
        line_types = column_types(con, plan_sql.SOURCE)
        con.execute(plan_sql.changes_sql(line_types, advisor_language))
        con.execute(
            plan_sql.lines_sql(line_types),
            {
                "suppressed": suppressed,
                "suppressed_as_written": _suppressed_as_written(con, line_types, suppressed),
            },
        )
        con.execute(plan_sql.worklists_sql(line_types))
        new_rows = upsert_planned_select(
            con,
            plan_sql.messages_sql(line_types, advisor_language),
            {
                "day": business_day,
                "day_text": day_text,
                "domain": mail_domain,
                "advisor_language": advisor_language,
                "status": HELD if held_reason else PENDING,
                "status_reason": held_reason,
                "discarded": discarded,
            },
            business_day,
            (CLIENT_DIGEST, ADVISOR_WORKLIST),
        )
        counts = first_row(con.execute(plan_sql.COUNTS))
        unusable = con.execute(plan_sql.UNUSABLE, {"day_text": day_text}).fetchall()
    finally:
        for table in plan_sql.TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    digests, worklists, lines, to_call, without_advisor = counts or (0, 0, 0, 0, 0)
    return PlanResult(
        business_day=business_day,
        digests=int(digests),
        worklists=int(worklists),
        new_rows=new_rows,
        held_reason=held_reason,
        lines=int(lines),
        clients_to_call=int(to_call),
        lines_without_advisor=int(without_advisor),
        unusable={str(key): str(reason or "") for key, reason in unusable},
    )


def column_types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Each column's DuckDB type, by name."""
    return {
        str(name): str(kind)
        for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    }


def _suppressed_as_written(
    con: duckdb.DuckDBPyConnection, line_types: Mapping[str, str], suppressed: Sequence[str]
) -> list[str]:
    """The eligible lines' addresses beyond ASCII (stripped, as the mart has them) that
    :func:`normalise_email` finds suppressed: Python's ``lower`` decides those, as
    :func:`decide_eligibility` does."""
    if not suppressed:
        return []
    wanted = set(suppressed)
    rows = con.execute(plan_sql.non_ascii_emails_sql(line_types)).fetchall()
    return sorted(str(email) for (email,) in rows if normalise_email(str(email)) in wanted)
