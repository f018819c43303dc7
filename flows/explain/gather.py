"""Reading what explains one client's day, one worklist or one email: the marts, the
delivery ledger, the day holds and the journal, all read-only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from flows.errors import VotumError, WarehouseBusyError
from flows.explain.answer import (
    AffectedChange,
    DayHold,
    Eligibility,
    EmailOutcome,
    Exclusion,
    Explanation,
    HoldingRow,
    RatingRow,
    Reason,
    WorklistLine,
)
from flows.explain.rules import (
    EXPIRED,
    UNCERTAIN,
    WITHDRAWN,
    exclusion_of,
    ineligible_words,
    opt_out_words,
    outcome_words,
    redact_addresses,
    text_or_none,
    when,
)
from flows.explain.source_lines import SourceLocator, WantedRow, dict_rows
from flows.notify.addresses import address_problem
from flows.notify.journal import Journal, normalise_email
from flows.notify.ledger import (
    ADVISOR_WORKLIST,
    CLIENT_DIGEST,
    FAILED,
    SENDING,
    SENT,
    SUPPRESSED,
)
from flows.notify.payloads import worklist_from_json
from flows.runs.lock import current_holder
from flows.settings import Settings
from flows.warehouse import open_warehouse, table_exists


class ExplainError(VotumError):
    """What was asked cannot be explained (an unknown Message-ID, no marts yet)."""

    exit_code = 12


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
    con: duckdb.DuckDBPyConnection, locator: SourceLocator, day: date, who: str, value: str
) -> list[AffectedChange]:
    rows = dict_rows(con, _CLIENT_ROWS.format(who=who), [day, value])
    wanted: list[WantedRow] = []
    for row in rows:
        wanted.append(
            WantedRow(
                row["business_day"],
                "ratings",
                _rating_key(row["isin"], row["rated_at_as_delivered"], row["rating_label"]),
            )
        )
        if row["previous_drop_date"] is not None:
            wanted.append(
                WantedRow(
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
            WantedRow(row["snapshot_date"], "holdings", _holding_key(row["client_id"], row["isin"]))
        )
    found = locator.locate(wanted)
    changes = []
    for row in rows:
        new = found[
            WantedRow(
                row["business_day"],
                "ratings",
                _rating_key(row["isin"], row["rated_at_as_delivered"], row["rating_label"]),
            )
        ]
        previous = None
        if row["previous_drop_date"] is not None:
            previous_source = found[
                WantedRow(
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
                rating_event_id=text_or_none(row["previous_rating_event_id"]),
                label_as_delivered=text_or_none(row["previous_rating_label"]),
                rating=text_or_none(row["previous_rating"]),
                rated_at=when(row["previous_rated_at"]),
            )
        holding = found[
            WantedRow(row["snapshot_date"], "holdings", _holding_key(row["client_id"], row["isin"]))
        ]
        changes.append(
            AffectedChange(
                client_id=str(row["client_id"]),
                change_id=str(row["change_id"]),
                isin=str(row["isin"]),
                security_name=text_or_none(row["security_name"]),
                change_type=str(row["change_type"]),
                changed_on=row["changed_on"],
                business_day=row["business_day"],
                new_rating=RatingRow(
                    source=new,
                    rating_event_id=str(row["change_id"]),
                    label_as_delivered=text_or_none(row["rating_label"]),
                    rating=text_or_none(row["new_rating"]),
                    rated_at=when(row["rated_at"]),
                ),
                previous_rating=previous,
                holding=HoldingRow(
                    source=holding,
                    snapshot_date=row["snapshot_date"],
                    quantity=text_or_none(row["quantity"]),
                    market_value_eur=text_or_none(row["market_value_eur"]),
                ),
                portfolio_weight=(
                    float(row["portfolio_weight"]) if row["portfolio_weight"] is not None else None
                ),
                notify_eligible=bool(row["notify_eligible"]),
                ineligible_reason=text_or_none(row["ineligible_reason"]),
            )
        )
    return changes


def _exclusions(
    con: duckdb.DuckDBPyConnection,
    locator: SourceLocator,
    day: date,
    client_id: str,
    affected: Iterable[str],
) -> list[Exclusion]:
    """The day's changes of securities the client held that did not affect the client."""
    skip = set(affected)
    changes = [
        c
        for c in dict_rows(
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
    positions = dict_rows(
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
        WantedRow(d, "holdings", _holding_key(client_id, change["isin"]))
        for change, used, _, dates in decided
        for d in sorted(dates)
        if d in held[change["isin"]] or d == used
    ]
    found = locator.locate(wanted)
    exclusions = []
    for change, used, (rule, words), dates in decided:
        evidence = tuple(
            HoldingRow(
                source=found[WantedRow(d, "holdings", _holding_key(client_id, change["isin"]))],
                snapshot_date=d,
                quantity=text_or_none(held[change["isin"]].get(d, {}).get("quantity")),
                market_value_eur=text_or_none(
                    held[change["isin"]].get(d, {}).get("market_value_eur")
                ),
            )
            for d in sorted(dates)
            if d in held[change["isin"]] or d == used
        )
        exclusions.append(
            Exclusion(
                change_id=str(change["change_id"]),
                isin=str(change["isin"]),
                security_name=text_or_none(change["security_name"]),
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
    rows = dict_rows(con, "SELECT * FROM ops.delivery_ledger WHERE message_key = ?", [key])
    return rows[0] if rows else None


def _email_outcome(
    con: duckdb.DuckDBPyConnection, journal: Journal | None, row: Mapping[str, Any]
) -> EmailOutcome:
    holds = dict_rows(
        con,
        "SELECT reason, held_at, decision, decided_at, decision_note FROM ops.day_holds "
        "WHERE business_day = ?",
        [row["business_day"]],
    )
    hold = (
        DayHold(
            reason=str(holds[0]["reason"]),
            held_at=when(holds[0]["held_at"]),
            decision=text_or_none(holds[0]["decision"]),
            decided_at=when(holds[0]["decided_at"]),
            note=text_or_none(holds[0]["decision_note"]),
        )
        if holds
        else None
    )
    status = str(row["status"])
    reason = redact_addresses(text_or_none(row["status_reason"]))
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
        server_reply=redact_addresses(text_or_none(row["last_reply"])),
        day_hold=hold,
        unfolded_outcome=journal.outcome_status(str(row["message_key"])) if journal else None,
    )


def _client_record(con: duckdb.DuckDBPyConnection, client_id: str) -> dict[str, Any] | None:
    rows = dict_rows(
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
    email = text_or_none(client["email"]) if client else None
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


def _settings_inbox(settings: Settings, inbox: Path | None) -> list[Path]:
    """Where to look for the drops: the folder given, else VOTUM_INBOX and the folder
    `votum demo` writes its drops to (the SHA-256 tells which holds the loaded file)."""
    if inbox is not None:
        return [inbox.expanduser().resolve()]
    return [settings.inbox_dir, settings.home_dir / "demo" / "inbox"]


def explain_client(
    settings: Settings, client_id: str, day: date, *, inbox: Path | None = None
) -> Explanation:
    """Why client ``client_id`` got (or did not get) an email on business day ``day``."""
    with _open_read_only(settings) as (con, journal):
        return _explain_client(con, journal, _settings_inbox(settings, inbox), client_id, day)


def _explain_client(
    con: duckdb.DuckDBPyConnection,
    journal: Journal | None,
    inboxes: Sequence[Path],
    client_id: str,
    day: date,
) -> Explanation:
    locator = SourceLocator(con, inboxes)
    changes = _affected_changes(con, locator, day, "client.client_id", client_id)
    exclusions = _exclusions(con, locator, day, client_id, (c.change_id for c in changes))
    client = _client_record(con, client_id)
    digest_row = _ledger_row(con, f"{CLIENT_DIGEST}:{day.isoformat()}:{client_id}")
    digest = _email_outcome(con, journal, digest_row) if digest_row else None
    advisor_id = _advisor_of(con, day, client_id) or (
        text_or_none(client["advisor_id"]) if client else None
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
    return text_or_none(row[0][0]) if row else None


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
    inboxes: Sequence[Path],
    advisor_id: str,
    day: date,
) -> Explanation:
    locator = SourceLocator(con, inboxes)
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
        rows = dict_rows(
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
