"""``votum explain``: why a client got an email, or why not; what a worklist holds and why.

Read-only: the warehouse is opened read-only (and not at all while a run holds the run
lock), the delivery journal through a read-only connection; nothing is written anywhere.

The provenance of every line comes from the marts' lineage columns: a change is the
publication ``change_id`` of ``int_ratings_historized`` (ISIN, rated_at, drop), its
predecessor ``previous_rating_event_id``; a client's position is the holdings line of
(``snapshot_date``, ``client_id``, ``isin``). The line in the file is found now, by
reading the drop's file again exactly as ingest read it (``typed_rows_sql``), after
checking that the file still has the SHA-256 recorded when it was loaded. Lines count
as in a text editor: the header is line 1, the first data row line 2; rows ingest could
not read are counted where they stand; a Parquet file has rows (from 1), not lines. When
the file is gone or changed, the drop, the file and the row's key are still named.

Only the subject's own rows are read and shown: explaining client C shows C's rows, an
advisor's worklist the advisor's own lines. Email addresses are never shown; the
server's reply is shown with any address in it replaced.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from flows.errors import VotumError, WarehouseBusyError
from flows.ingest.drop_files import DROP_FILES_BY_NAME
from flows.ingest.loader import typed_rows_sql
from flows.ingest.reader import SourceFile, inspect_csv, inspect_parquet, sha256_of
from flows.notify.addresses import address_problem
from flows.notify.journal import Journal, normalise_email
from flows.notify.ledger import (
    ADVISOR_WORKLIST,
    CLIENT_DIGEST,
    DISCARDED,
    FAILED,
    HELD,
    PENDING,
    SENDING,
    SENT,
    SUPPRESSED,
)
from flows.notify.payloads import worklist_from_json
from flows.quality.quarantine import _line_of as line_of_loaded_row
from flows.run_lock import current_holder
from flows.settings import Settings
from flows.warehouse import open_warehouse, table_exists

# Statuses another part of the sending core adds (consent at the moment of sending, the
# unknown outcome after the final dot); named here so that explain words them already.
UNCERTAIN, WITHDRAWN, EXPIRED = "uncertain", "withdrawn", "expired"


class ExplainError(VotumError):
    """What was asked cannot be explained (an unknown Message-ID, no marts yet)."""

    exit_code = 11


# -- the answer, as plain data (the --json fields) ---------------------------------------
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
    file_check: str = "unchanged"  # unchanged, changed, missing, not_loaded, not_found
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


# -- pure rules --------------------------------------------------------------------------
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")


def redact_addresses(text: str | None) -> str | None:
    """``text`` with every email address replaced by ``<address>``."""
    return None if text is None else _ADDRESS.sub("<address>", text)


def when(value: Any) -> str | None:
    """A moment as ``YYYY-MM-DD HH:MM:SS`` (``UTC`` added when the value knows its zone)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else None
    if moment is None:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if moment.tzinfo is not None:
        return moment.astimezone(tz=None).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


_INELIGIBLE_WORDS = {
    "opted_out": "opted out in the client master data (notify_opt_in is not true)",
    "no_email": "no email address in the client master data",
    "invalid_email": "the email address in the client master data is not valid",
    "suppressed": "the address is on the suppression list",
    "unknown_client": "the client is not in the client master data",
}


def ineligible_words(reason: str) -> str:
    return _INELIGIBLE_WORDS.get(reason, reason)


def opt_out_words(at: str, source: str) -> str:
    return f"suppressed at {when(at)} through {source} opt-out"


def outcome_words(status: str, reason: str | None, hold: DayHold | None) -> str:
    """What happened to an email, by its ledger status."""
    because = f" ({reason})" if reason else ""
    if status == SENT:
        return "sent"
    if status == PENDING:
        if hold is not None and hold.decision == "released":
            return "released after the day was held; waiting for the next dispatch"
        return "planned, waiting for the next dispatch"
    if status == HELD:
        return f"held: the day was held and waits for `votum release` or discard{because}"
    if status == SENDING:
        return "claimed by a dispatch (sending); its outcome is not recorded yet"
    if status == FAILED:
        return f"failed: the mail server refused it for good{because}"
    if status == SUPPRESSED:
        return "suppressed at send: the address was on the suppression list right before sending"
    if status == DISCARDED:
        return f"discarded: the held day was discarded{because}"
    if status == UNCERTAIN:
        return (
            "outcome unknown: the message was written to the server and no reply came"
            f"{because}; it is resent at most once, with the same Message-ID"
        )
    if status == WITHDRAWN:
        return f"withdrawn before sending: the client's consent at that moment{because}"
    if status == EXPIRED:
        return f"expired: still pending after the allowed business days, not sent late{because}"
    return f"status {status}{because}"


def exclusion_of(
    change_type: str,
    changed_on: date,
    snapshot_used: date | None,
    held: Mapping[date, Decimal],
) -> tuple[str, str] | None:
    """Which rule kept a client who held the security out of a change, as (rule, words);
    ``held`` maps snapshot dates to the client's quantity in them (absent: no line).
    None when the client held no position in any snapshot looked at."""
    if not any(quantity > 0 for quantity in held.values()):
        return None
    if change_type == "initiation":
        return (
            "initiation",
            "the first rating ever seen for this security is an initiation: it affects no one",
        )
    if snapshot_used is None:
        return (
            "no_snapshot",
            f"no holdings snapshot on or before the change's date {changed_on}: nobody "
            "can be known to have held the security then",
        )
    quantity = held.get(snapshot_used)
    if quantity is None or quantity <= 0:
        earlier = sorted(d for d, q in held.items() if q > 0 and d < snapshot_used)
        later = sorted(d for d, q in held.items() if q > 0 and d > snapshot_used)
        shown = "shows quantity 0" if quantity is not None else "lists no position"
        if earlier:
            story = f"sold before: the snapshot of {earlier[-1]} still showed a position"
        else:
            story = f"bought after: the snapshot of {later[0]} shows a position"
        return (
            "no_position",
            f"the latest holdings snapshot on or before the change ({snapshot_used}) "
            f"{shown} for the client; {story}",
        )
    return (
        "not_in_mart",
        f"the snapshot of {snapshot_used} shows a position, yet the change is not in "
        "fct_client_rating_changes (built before that snapshot was loaded?)",
    )


# -- reading -----------------------------------------------------------------------------
@contextmanager
def _open_read_only(
    settings: Settings,
) -> Iterator[tuple[duckdb.DuckDBPyConnection, Journal | None]]:
    holder = current_holder(settings.run_lock_path)
    if holder is not None:
        raise WarehouseBusyError(
            f"A votum run holds the warehouse: {holder.describe()}. `votum explain` reads "
            "it once that run has ended (even a read-only look would make the run fail)."
        )
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        if not table_exists(con, "main", "fct_client_rating_changes"):
            raise ExplainError(
                f"The warehouse {settings.warehouse_path} has no marts yet: run a day first."
            )
        journal = (
            Journal(settings.journal_path, read_only=True)
            if settings.journal_path.exists()
            else None
        )
        try:
            yield con, journal
        finally:
            if journal is not None:
                journal.close()


def _dicts(
    con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any]
) -> list[dict[str, Any]]:
    cursor = con.execute(query, list(params))
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class _Wanted:
    """A row to find in a drop's file: its key columns and values as delivered."""

    drop_date: date
    file_kind: str
    key: tuple[tuple[str, str | None], ...]


class _Locator:
    """Finds rows' lines in the drops' files, one read per file for all rows asked."""

    def __init__(self, con: duckdb.DuckDBPyConnection, inbox: Path) -> None:
        self._con = con
        self._inbox = inbox

    def locate(self, wanted: Iterable[_Wanted]) -> dict[_Wanted, SourceRow]:
        by_file: dict[tuple[date, str], list[_Wanted]] = defaultdict(list)
        for item in wanted:
            by_file[(item.drop_date, item.file_kind)].append(item)
        found: dict[_Wanted, SourceRow] = {}
        for (drop_date, kind), items in by_file.items():
            found.update(self._locate_in_file(drop_date, kind, items))
        return found

    def _locate_in_file(
        self, drop_date: date, kind: str, items: list[_Wanted]
    ) -> dict[_Wanted, SourceRow]:
        loaded = _dicts(
            self._con,
            "SELECT file_name, file_format, sha256 FROM raw.drop_files "
            "WHERE drop_date = ? AND file_kind = ?",
            [drop_date, kind],
        )

        def answer(
            file: str | None,
            check: str,
            note: str | None,
            lines: Mapping[_Wanted, tuple[int, ...]] | None = None,
            position: str = "line",
        ) -> dict[_Wanted, SourceRow]:
            return {
                item: SourceRow(
                    drop_date=drop_date,
                    file_kind=kind,
                    file=file,
                    key=dict(item.key),
                    lines=(lines or {}).get(item, ()),
                    position=position,
                    file_check=check,
                    note=note
                    if lines is None or (lines or {}).get(item)
                    else (note or "no line of the file has this key"),
                )
                for item in items
            }

        if not loaded:
            return answer(None, "not_loaded", f"the drop of {drop_date} has no {kind} file loaded")
        file_name, file_format, sha = (
            str(loaded[0][k]) for k in ("file_name", "file_format", "sha256")
        )
        path = self._inbox / drop_date.isoformat() / file_name
        if not path.is_file():
            return answer(
                file_name,
                "missing",
                f"the file is no longer in the drop folder {path.parent}; its line cannot be told",
            )
        if sha256_of(path) != sha:
            return answer(
                file_name,
                "changed",
                "the file has changed since it was loaded (SHA-256 differs); "
                "its line cannot be told",
            )
        source = self._source_file(kind, path, file_format)
        lines, confirmed = self._lines(source, drop_date, items)
        position = "row" if file_format == "parquet" else "line"
        note = (
            None
            if confirmed
            else (
                "the line numbers assume one record per line; this file has records that span "
                "lines, so the numbers may be off"
            )
        )
        return answer(file_name, "unchanged", note, lines, position)

    def _source_file(self, kind: str, path: Path, file_format: str) -> SourceFile:
        drop_file = DROP_FILES_BY_NAME[kind]
        if file_format == "parquet":
            described = self._con.execute(
                "DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]
            ).fetchall()
            return inspect_parquet(drop_file, path, [str(row[0]) for row in described])
        return inspect_csv(drop_file, path)

    def _lines(
        self, source: SourceFile, drop_date: date, items: list[_Wanted]
    ) -> tuple[dict[_Wanted, tuple[int, ...]], bool]:
        """Each wanted row's lines; and whether the lines were confirmed in the text."""
        items = list(dict.fromkeys(items))
        conditions, params = [], []
        for index, item in enumerate(items):
            parts = [f'"{name}" IS NOT DISTINCT FROM ?' for name, _ in item.key]
            conditions.append(f"WHEN {' AND '.join(parts)} THEN {index}")
            params += [value for _, value in item.key]
        # Every column is selected: the reader skips a row with an unreadable value only
        # in the columns it reads, and ingest read them all (the rows must count alike).
        every_column = ", ".join(f'"{c.name}"' for c in source.drop_file.columns)
        rows = self._con.execute(
            f"""
            SELECT which, _row, {every_column} FROM (
                SELECT CASE {" ".join(conditions)} END AS which, *
                FROM ({typed_rows_sql(self._con, source, drop_date)})
            ) WHERE which IS NOT NULL ORDER BY _row
            """,
            params,
        ).fetchall()
        positions: dict[_Wanted, list[int]] = defaultdict(list)
        for which, row, *_ in rows:
            positions[items[int(which)]].append(int(row))
        if source.file_format == "parquet":
            return {k: tuple(v) for k, v in positions.items()}, True
        rejected = sorted(
            int(row[0])
            for row in self._con.execute(
                "SELECT DISTINCT line FROM raw.rejected_rows WHERE drop_date = ? "
                "AND file_kind = ? AND line IS NOT NULL",
                [drop_date, source.drop_file.name],
            ).fetchall()
        )
        lines = {
            item: tuple(line_of_loaded_row(p, rejected, header=True) for p in found)
            for item, found in positions.items()
        }
        return lines, _confirm(source.path, lines)


def _confirm(path: Path, lines: Mapping[_Wanted, tuple[int, ...]]) -> bool:
    """Whether each line of the file named in ``lines`` holds its row's key values."""
    wanted: dict[int, list[str]] = defaultdict(list)
    for item, numbers in lines.items():
        for number in numbers:
            wanted[number] += [value for _, value in item.key if value]
    if not wanted:
        return True
    last = max(wanted)
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        for number, text in enumerate(handle, start=1):
            if number in wanted and not all(value in text for value in wanted[number]):
                return False
            if number >= last:
                return True
    return False


# -- explaining --------------------------------------------------------------------------
_CLIENT_ROWS = """
    SELECT
        client.client_id, client.change_id, client.isin, client.change_type,
        client.changed_on, client.business_day, client.snapshot_date, client.quantity,
        client.market_value_eur, client.portfolio_weight, client.notify_eligible,
        client.ineligible_reason, client.advisor_id,
        change.security_name, change.new_rating, change.previous_rating,
        change.rating_label, change.previous_rating_label, change.rated_at,
        change.previous_rated_at, change.previous_rating_event_id, change.previous_drop_date,
        new_event.rated_at_as_delivered AS rated_at_as_delivered,
        previous_event.rated_at_as_delivered AS previous_rated_at_as_delivered
    FROM fct_client_rating_changes AS client
    INNER JOIN fct_rating_changes AS change ON client.change_id = change.change_id
    LEFT JOIN intermediate.int_ratings_historized AS new_event
        ON change.change_id = new_event.rating_event_id
    LEFT JOIN intermediate.int_ratings_historized AS previous_event
        ON change.previous_rating_event_id = previous_event.rating_event_id
    WHERE client.business_day = ? AND {who} = ?
    ORDER BY client.client_id, client.market_value_eur DESC, client.isin
"""


def _rating_key(isin: str, rated_at_text: Any, label: Any) -> tuple[tuple[str, str | None], ...]:
    key: list[tuple[str, str | None]] = [("isin", isin)]
    if rated_at_text is not None:
        key.append(("rated_at", str(rated_at_text)))
    if label is not None:
        key.append(("rating", str(label)))
    return tuple(key)


def _holding_key(client_id: str, isin: str) -> tuple[tuple[str, str | None], ...]:
    return (("client_id", client_id), ("isin", isin))


def _affected_changes(
    con: duckdb.DuckDBPyConnection, locator: _Locator, day: date, who: str, value: str
) -> list[AffectedChange]:
    rows = _dicts(con, _CLIENT_ROWS.format(who=who), [day, value])
    wanted: list[_Wanted] = []
    for row in rows:
        wanted.append(
            _Wanted(
                row["business_day"],
                "ratings",
                _rating_key(row["isin"], row["rated_at_as_delivered"], row["rating_label"]),
            )
        )
        if row["previous_drop_date"] is not None:
            wanted.append(
                _Wanted(
                    row["previous_drop_date"],
                    "ratings",
                    _rating_key(
                        row["isin"],
                        row["previous_rated_at_as_delivered"],
                        row["previous_rating_label"],
                    ),
                )
            )
        wanted.append(
            _Wanted(row["snapshot_date"], "holdings", _holding_key(row["client_id"], row["isin"]))
        )
    found = locator.locate(wanted)
    changes = []
    for row in rows:
        new = found[
            _Wanted(
                row["business_day"],
                "ratings",
                _rating_key(row["isin"], row["rated_at_as_delivered"], row["rating_label"]),
            )
        ]
        previous = None
        if row["previous_drop_date"] is not None:
            previous_source = found[
                _Wanted(
                    row["previous_drop_date"],
                    "ratings",
                    _rating_key(
                        row["isin"],
                        row["previous_rated_at_as_delivered"],
                        row["previous_rating_label"],
                    ),
                )
            ]
            previous = RatingRow(
                source=previous_source,
                rating_event_id=_text(row["previous_rating_event_id"]),
                label_as_delivered=_text(row["previous_rating_label"]),
                rating=_text(row["previous_rating"]),
                rated_at=when(row["previous_rated_at"]),
            )
        holding = found[
            _Wanted(row["snapshot_date"], "holdings", _holding_key(row["client_id"], row["isin"]))
        ]
        changes.append(
            AffectedChange(
                client_id=str(row["client_id"]),
                change_id=str(row["change_id"]),
                isin=str(row["isin"]),
                security_name=_text(row["security_name"]),
                change_type=str(row["change_type"]),
                changed_on=row["changed_on"],
                business_day=row["business_day"],
                new_rating=RatingRow(
                    source=new,
                    rating_event_id=str(row["change_id"]),
                    label_as_delivered=_text(row["rating_label"]),
                    rating=_text(row["new_rating"]),
                    rated_at=when(row["rated_at"]),
                ),
                previous_rating=previous,
                holding=HoldingRow(
                    source=holding,
                    snapshot_date=row["snapshot_date"],
                    quantity=_text(row["quantity"]),
                    market_value_eur=_text(row["market_value_eur"]),
                ),
                portfolio_weight=(
                    float(row["portfolio_weight"]) if row["portfolio_weight"] is not None else None
                ),
                notify_eligible=bool(row["notify_eligible"]),
                ineligible_reason=_text(row["ineligible_reason"]),
            )
        )
    return changes


def _exclusions(
    con: duckdb.DuckDBPyConnection,
    locator: _Locator,
    day: date,
    client_id: str,
    affected: Iterable[str],
) -> list[Exclusion]:
    """The day's changes of securities the client held that did not affect the client."""
    skip = set(affected)
    changes = [
        c
        for c in _dicts(
            con,
            "SELECT change_id, isin, security_name, change_type, changed_on "
            "FROM fct_rating_changes WHERE business_day = ? ORDER BY isin, change_id",
            [day],
        )
        if c["change_id"] not in skip
    ]
    if not changes:
        return []
    snapshots = sorted(
        row[0]
        for row in con.execute(
            "SELECT drop_date FROM raw.drop_files WHERE file_kind = 'holdings' AND drop_date <= ?",
            [day],
        ).fetchall()
    )
    looked_at: dict[str, tuple[date | None, set[date]]] = {}
    for change in changes:
        used = max((s for s in snapshots if s <= change["changed_on"]), default=None)
        before = max((s for s in snapshots if used is not None and s < used), default=None)
        dates = {d for d in (used, before, snapshots[-1] if snapshots else None) if d}
        looked_at[change["change_id"]] = (used, dates)
    all_dates = sorted(set().union(*(d for _, d in looked_at.values())))
    isins = sorted({c["isin"] for c in changes})
    if not all_dates:
        return []
    positions = _dicts(
        con,
        "SELECT snapshot_date, isin, sum(quantity) AS quantity, "
        "sum(market_value_eur) AS market_value_eur FROM staging.stg_drop__holdings "
        "WHERE client_id = ? AND list_contains(?, isin) AND list_contains(?, snapshot_date) "
        "GROUP BY ALL",
        [client_id, isins, all_dates],
    )
    held: dict[str, dict[date, dict[str, Any]]] = defaultdict(dict)
    for position in positions:
        held[position["isin"]][position["snapshot_date"]] = position
    decided = []
    for change in changes:
        used, dates = looked_at[change["change_id"]]
        quantities = {
            d: Decimal(p["quantity"] or 0) for d, p in held[change["isin"]].items() if d in dates
        }
        excluded = exclusion_of(change["change_type"], change["changed_on"], used, quantities)
        if excluded is not None:
            decided.append((change, used, excluded, dates))
    wanted = [
        _Wanted(d, "holdings", _holding_key(client_id, change["isin"]))
        for change, used, _, dates in decided
        for d in sorted(dates)
        if d in held[change["isin"]] or d == used
    ]
    found = locator.locate(wanted)
    exclusions = []
    for change, used, (rule, words), dates in decided:
        evidence = tuple(
            HoldingRow(
                source=found[_Wanted(d, "holdings", _holding_key(client_id, change["isin"]))],
                snapshot_date=d,
                quantity=_text(held[change["isin"]].get(d, {}).get("quantity")),
                market_value_eur=_text(held[change["isin"]].get(d, {}).get("market_value_eur")),
            )
            for d in sorted(dates)
            if d in held[change["isin"]] or d == used
        )
        exclusions.append(
            Exclusion(
                change_id=str(change["change_id"]),
                isin=str(change["isin"]),
                security_name=_text(change["security_name"]),
                change_type=str(change["change_type"]),
                changed_on=change["changed_on"],
                rule=rule,
                reason=words,
                snapshot_used=used,
                evidence=evidence,
            )
        )
    return exclusions


def _ledger_row(con: duckdb.DuckDBPyConnection, key: str) -> dict[str, Any] | None:
    rows = _dicts(con, "SELECT * FROM ops.delivery_ledger WHERE message_key = ?", [key])
    return rows[0] if rows else None


def _email_outcome(
    con: duckdb.DuckDBPyConnection, journal: Journal | None, row: Mapping[str, Any]
) -> EmailOutcome:
    holds = _dicts(
        con,
        "SELECT reason, held_at, decision, decided_at, decision_note FROM ops.day_holds "
        "WHERE business_day = ?",
        [row["business_day"]],
    )
    hold = (
        DayHold(
            reason=str(holds[0]["reason"]),
            held_at=when(holds[0]["held_at"]),
            decision=_text(holds[0]["decision"]),
            decided_at=when(holds[0]["decided_at"]),
            note=_text(holds[0]["decision_note"]),
        )
        if holds
        else None
    )
    status = str(row["status"])
    reason = redact_addresses(_text(row["status_reason"]))
    return EmailOutcome(
        message_key=str(row["message_key"]),
        kind=str(row["kind"]),
        business_day=row["business_day"],
        status=status,
        outcome=outcome_words(status, reason, hold),
        message_id=str(row["message_id"]),
        planned_at=when(row["planned_at"]),
        last_change_at=when(row["updated_at"]),
        sent_at=when(row["sent_at"]),
        attempts=int(row["attempts"] or 0),
        claimed=int(row["attempts"] or 0) > 0 or status in (SENDING, SENT, FAILED, UNCERTAIN),
        status_reason=reason,
        server_reply=redact_addresses(_text(row["last_reply"])),
        day_hold=hold,
        unfolded_outcome=journal.outcome_status(str(row["message_key"])) if journal else None,
    )


def _client_record(con: duckdb.DuckDBPyConnection, client_id: str) -> dict[str, Any] | None:
    rows = _dicts(
        con,
        "SELECT client_id, advisor_id, email, notify_opt_in, has_valid_email "
        "FROM dim_clients WHERE client_id = ?",
        [client_id],
    )
    return rows[0] if rows else None


def _suppression(journal: Journal | None, email: str | None) -> tuple[str, str, str | None] | None:
    """(suppressed_at, source, reason) of the address, or None."""
    if journal is None or not email:
        return None
    address = normalise_email(email)
    for entry, at, reason, source in journal.suppressions():
        if entry == address:
            return (str(at), str(source), reason)
    return None


def _eligibility(
    changes: Sequence[AffectedChange],
    client: Mapping[str, Any] | None,
    digest: EmailOutcome | None,
    journal: Journal | None,
) -> Eligibility:
    reasons: list[Reason] = []
    email = _text(client["email"]) if client else None
    opt_out = journal.client_opt_out(changes[0].client_id if changes else "") if journal else None
    for code in sorted({c.ineligible_reason for c in changes if c.ineligible_reason}):
        since = None
        words = ineligible_words(code)
        if code == "suppressed":
            entry = _suppression(journal, email)
            if entry:
                since, words = when(entry[0]), f"{words} since {when(entry[0])} ({entry[1]})"
        reasons.append(Reason(code, words, since))
    if not reasons and changes and digest is None:
        # The marts said yes; planning looked again (suppression list, usable address).
        entry = _suppression(journal, email)
        if entry:
            reasons.append(
                Reason(
                    "suppressed",
                    f"the address was suppressed at {when(entry[0])} ({entry[1]}), before planning",
                    when(entry[0]),
                )
            )
        elif address_problem((email or "").strip()):
            reasons.append(Reason("invalid_email", "the address cannot be used in an email"))
    if digest is not None and digest.status in (WITHDRAWN, EXPIRED, SUPPRESSED):
        reasons.append(Reason(digest.status, digest.outcome))
    if opt_out is not None:
        words = opt_out_words(opt_out[0], opt_out[1])
        if digest is not None and digest.sent_at:
            words += f"; this day's email was sent at {digest.sent_at}; none goes out after it"
        reasons.append(Reason("client_opt_out", words, when(opt_out[0])))
    if not changes:
        return Eligibility("not_affected", tuple(reasons))
    blocking = [r for r in reasons if r.code != "client_opt_out"] or (
        reasons if digest is None or digest.status != SENT else []
    )
    return Eligibility("not_eligible" if blocking else "eligible", tuple(reasons))


def _settings_inbox(settings: Settings, inbox: Path | None) -> Path:
    return (inbox or settings.inbox_dir).expanduser().resolve()


def explain_client(
    settings: Settings, client_id: str, day: date, *, inbox: Path | None = None
) -> Explanation:
    """Why client ``client_id`` got (or did not get) an email on business day ``day``."""
    with _open_read_only(settings) as (con, journal):
        return _explain_client(con, journal, _settings_inbox(settings, inbox), client_id, day)


def _explain_client(
    con: duckdb.DuckDBPyConnection,
    journal: Journal | None,
    inbox: Path,
    client_id: str,
    day: date,
) -> Explanation:
    locator = _Locator(con, inbox)
    changes = _affected_changes(con, locator, day, "client.client_id", client_id)
    exclusions = _exclusions(con, locator, day, client_id, (c.change_id for c in changes))
    client = _client_record(con, client_id)
    digest_row = _ledger_row(con, f"{CLIENT_DIGEST}:{day.isoformat()}:{client_id}")
    digest = _email_outcome(con, journal, digest_row) if digest_row else None
    advisor_id = _advisor_of(con, day, client_id) or (
        _text(client["advisor_id"]) if client else None
    )
    worklist_row = (
        _ledger_row(con, f"{ADVISOR_WORKLIST}:{day.isoformat()}:{advisor_id}")
        if advisor_id and changes
        else None
    )
    eligibility = _eligibility(changes, client, digest, journal)
    if not changes and journal is not None and journal.client_opt_out(client_id):
        opt_out = journal.client_opt_out(client_id)
        assert opt_out is not None
        eligibility = Eligibility(
            "not_affected",
            (Reason("client_opt_out", opt_out_words(opt_out[0], opt_out[1]), when(opt_out[0])),),
        )
    return Explanation(
        subject="client",
        business_day=day,
        client_id=client_id,
        advisor_id=advisor_id,
        message_id=digest.message_id if digest else None,
        changes=tuple(changes),
        not_affected=tuple(exclusions),
        eligibility=eligibility,
        email=digest,
        worklist=_email_outcome(con, journal, worklist_row) if worklist_row else None,
    )


def _advisor_of(con: duckdb.DuckDBPyConnection, day: date, client_id: str) -> str | None:
    row = con.execute(
        "SELECT max(advisor_id) FROM fct_client_rating_changes "
        "WHERE business_day = ? AND client_id = ?",
        [day, client_id],
    ).fetchall()
    return _text(row[0][0]) if row else None


def explain_advisor(
    settings: Settings, advisor_id: str, day: date, *, inbox: Path | None = None
) -> Explanation:
    """What advisor ``advisor_id``'s worklist of ``day`` holds, where each line came
    from, and what happened to the worklist email."""
    with _open_read_only(settings) as (con, journal):
        return _explain_advisor(con, journal, _settings_inbox(settings, inbox), advisor_id, day)


def _explain_advisor(
    con: duckdb.DuckDBPyConnection,
    journal: Journal | None,
    inbox: Path,
    advisor_id: str,
    day: date,
) -> Explanation:
    locator = _Locator(con, inbox)
    changes = _affected_changes(con, locator, day, "client.advisor_id", advisor_id)
    row = _ledger_row(con, f"{ADVISOR_WORKLIST}:{day.isoformat()}:{advisor_id}")
    worklist = _email_outcome(con, journal, row) if row else None
    lines: tuple[WorklistLine, ...] = ()
    if row is not None:
        payload = worklist_from_json(str(row["payload"]))
        lines = tuple(
            WorklistLine(
                client_id=line.client_id,
                isin=line.isin,
                security_name=line.security_name,
                change_type=line.change_type,
                notify_eligible=line.notify_eligible,
                ineligible_reason=line.ineligible_reason,
                market_value_eur=line.market_value_eur,
            )
            for line in payload.lines
        )
    return Explanation(
        subject="advisor",
        business_day=day,
        advisor_id=advisor_id,
        message_id=worklist.message_id if worklist else None,
        changes=tuple(changes),
        email=worklist,
        worklist_lines=lines,
    )


def explain_message(
    settings: Settings, message_id: str, *, inbox: Path | None = None
) -> Explanation:
    """The email with this Message-ID (with or without its angle brackets)."""
    wanted = f"<{message_id.strip().strip('<>').strip()}>"
    with _open_read_only(settings) as (con, journal):
        rows = _dicts(
            con,
            "SELECT * FROM ops.delivery_ledger WHERE message_id = ? ORDER BY planned_at",
            [wanted],
        )
        if not rows:
            raise ExplainError(
                f"No email with Message-ID {wanted} in the delivery ledger of this VOTUM_HOME."
            )
        row = rows[0]
        folder = _settings_inbox(settings, inbox)
        if row["kind"] == CLIENT_DIGEST:
            found = _explain_client(
                con, journal, folder, str(row["recipient_id"]), row["business_day"]
            )
        elif row["kind"] == ADVISOR_WORKLIST:
            found = _explain_advisor(
                con, journal, folder, str(row["recipient_id"]), row["business_day"]
            )
        else:
            found = Explanation(
                subject="message",
                business_day=row["business_day"],
                email=_email_outcome(con, journal, row),
            )
        return replace(found, subject="message", message_id=wanted)


# -- plain words -------------------------------------------------------------------------
def _where(source: SourceRow) -> str:
    where = f"drop {source.drop_date}, {source.file or f'no {source.file_kind} file'}"
    if source.lines:
        plural = "s" if len(source.lines) > 1 else ""
        where += f" {source.position}{plural} {', '.join(str(n) for n in source.lines)}"
    else:
        key = ", ".join(f"{k} {v}" for k, v in source.key.items() if v is not None)
        where += f" (row {key})"
    if source.note:
        where += f" [{source.note}]"
    return where


def _rating_words(row: RatingRow) -> str:
    return (
        f"{_where(row.source)}: label {row.label_as_delivered!r} "
        f"(normalised: {row.rating}), published {row.rated_at}"
    )


def _email_words(email: EmailOutcome, what: str) -> list[str]:
    lines = [f"{what}: {email.outcome}."]
    lines.append(f"  planned at {email.planned_at}; Message-ID {email.message_id}")
    if email.day_hold is not None:
        hold = email.day_hold
        held = f"  the day was held at {hold.held_at}: {hold.reason}"
        if hold.decision:
            held += f"; {hold.decision} at {hold.decided_at}"
            held += f" ({hold.note})" if hold.note else ""
        lines.append(held)
    if email.claimed:
        lines.append(f"  claimed for sending; {email.attempts} attempt(s)")
    if email.sent_at:
        lines.append(f"  sent at {email.sent_at}")
    if email.server_reply:
        lines.append(f"  the server's reply: {email.server_reply}")
    if email.unfolded_outcome:
        lines.append(
            f"  the journal holds the outcome {email.unfolded_outcome!r}, not yet in the ledger"
        )
    return lines


def as_text(explanation: Explanation) -> str:
    """The explanation in plain words."""
    out: list[str] = []
    if explanation.subject == "message" and explanation.message_id:
        out.append(f"Message-ID {explanation.message_id}")
    if explanation.client_id:
        out.append(f"Client {explanation.client_id}, business day {explanation.business_day}")
    elif explanation.advisor_id:
        out.append(
            f"Worklist of advisor {explanation.advisor_id}, business day {explanation.business_day}"
        )
    if explanation.client_id or explanation.advisor_id:
        out.append("")
        if explanation.changes:
            out.append(
                f"Rating changes that made the client affected ({len(explanation.changes)}):"
            )
        else:
            out.append("No rating change of this day affected the client.")
    for change in explanation.changes:
        who = (
            f"client {change.client_id}: "
            if explanation.advisor_id and not explanation.client_id
            else ""
        )
        previous = change.previous_rating
        out.append(
            f"- {who}{change.security_name or change.isin} ({change.isin}): {change.change_type} "
            f"{previous.rating if previous else '-'} -> {change.new_rating.rating}, "
            f"changed on {change.changed_on}"
        )
        out.append(f"    new rating:      {_rating_words(change.new_rating)}")
        if previous is not None:
            out.append(f"    previous rating: {_rating_words(previous)}")
        holding = change.holding
        out.append(
            f"    position:        {_where(holding.source)}: quantity {holding.quantity}, "
            f"value {holding.market_value_eur} EUR (holdings snapshot of {holding.snapshot_date})"
        )
        out.append(
            "    eligible to be emailed"
            if change.notify_eligible
            else f"    not emailed: {ineligible_words(change.ineligible_reason or '')}"
        )
    if explanation.not_affected:
        out.append("")
        out.append("Changes of securities the client held that did not affect the client:")
        for exclusion in explanation.not_affected:
            out.append(
                f"- {exclusion.security_name or exclusion.isin} ({exclusion.isin}): "
                f"{exclusion.change_type} on {exclusion.changed_on}: not affected "
                f"[{exclusion.rule}]: {exclusion.reason}"
            )
            for evidence in exclusion.evidence:
                if evidence.quantity is None:
                    source = evidence.source
                    out.append(
                        f"    snapshot of {evidence.snapshot_date}: drop {source.drop_date}, "
                        f"{source.file or 'no holdings file'}: no line for the client and "
                        "this security"
                    )
                else:
                    out.append(
                        f"    snapshot of {evidence.snapshot_date}: {_where(evidence.source)}: "
                        f"quantity {evidence.quantity}, value {evidence.market_value_eur} EUR"
                    )
    if explanation.eligibility is not None:
        out.append("")
        decision = {
            "eligible": "eligible (opted in, valid address, not suppressed)",
            "not_eligible": "not eligible",
            "not_affected": "nothing to decide (not affected this day)",
        }[explanation.eligibility.decision]
        out.append(f"Eligibility: {decision}.")
        for reason in explanation.eligibility.reasons:
            out.append(f"- {reason.words}")
    if explanation.email is not None:
        out.append("")
        kind = {CLIENT_DIGEST: "Client email", ADVISOR_WORKLIST: "Worklist email"}.get(
            explanation.email.kind, f"Email ({explanation.email.kind})"
        )
        out += _email_words(explanation.email, kind)
    elif explanation.client_id and explanation.changes:
        out.append("")
        out.append("Client email: none planned; the advisor's worklist says to call the client.")
    elif explanation.advisor_id and not explanation.client_id:
        out.append("")
        out.append("Worklist email: none planned for this advisor and day.")
    if explanation.worklist is not None and explanation.client_id:
        out.append("")
        out += _email_words(explanation.worklist, f"Advisor {explanation.advisor_id}'s worklist")
    if explanation.worklist_lines:
        out.append("")
        out.append(f"Worklist lines ({len(explanation.worklist_lines)}):")
        for line in explanation.worklist_lines:
            told = (
                "emailed"
                if line.notify_eligible
                else f"to call: {ineligible_words(line.ineligible_reason or '')}"
            )
            out.append(
                f"- client {line.client_id}, {line.security_name or line.isin} ({line.isin}) "
                f"{line.change_type}, value {line.market_value_eur} EUR: {told}"
            )
    if explanation.changes or explanation.not_affected:
        out.append("")
        out.append(f"Line numbers: {explanation.line_numbering}.")
    return "\n".join(out)


def as_json_text(explanation: Explanation) -> str:
    return json.dumps(as_json(explanation), ensure_ascii=False, indent=2)


__all__ = [
    "ExplainError",
    "Explanation",
    "as_json",
    "as_json_text",
    "as_text",
    "exclusion_of",
    "explain_advisor",
    "explain_client",
    "explain_message",
    "outcome_words",
    "redact_addresses",
]
