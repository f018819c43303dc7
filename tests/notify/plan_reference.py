"""The reference for the SQL planning (flows/notify/plan_sql.py): the day planned the
way votum planned it before, row by row in Python with the pure builders of
flows/notify/plan.py, and a small warehouse with the marts' columns to plan from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from flows.notify.carry import ensure_carry_table, take_for_digest
from flows.notify.journal import Journal
from flows.notify.ledger import DISCARDED, FAILED, day_hold, hold_day, upsert_planned
from flows.notify.payloads import Language
from flows.notify.plan import (
    PlanResult,
    _dicts,
    build_digests,
    build_worklists,
    circuit_breaker_reason,
    decide_eligibility,
    planned_messages,
    read_breaker_counts,
    read_history,
)
from flows.warehouse import ensure_schema

# The columns of mart_notification_lines and mart_rating_history, as dbt builds them.
LINE_COLUMNS: dict[str, pa.DataType] = {
    "business_day": pa.date32(),
    "client_id": pa.string(),
    "change_id": pa.string(),
    "isin": pa.string(),
    "security_name": pa.string(),
    "change_type": pa.string(),
    "previous_rating": pa.string(),
    "previous_label_de": pa.string(),
    "previous_label_en": pa.string(),
    "new_rating": pa.string(),
    "new_label_de": pa.string(),
    "new_label_en": pa.string(),
    "changed_on": pa.date32(),
    "rated_at": pa.timestamp("us"),
    "previous_rated_at": pa.timestamp("us"),
    "target_price": pa.decimal128(18, 4),
    "currency": pa.string(),
    "analyst": pa.string(),
    "quantity": pa.decimal128(18, 4),
    "market_value_eur": pa.decimal128(18, 2),
    "portfolio_weight": pa.float64(),
    "notify_eligible": pa.bool_(),
    "ineligible_reason": pa.string(),
    "first_name": pa.string(),
    "last_name": pa.string(),
    "email": pa.string(),
    "language": pa.string(),
    "advisor_id": pa.string(),
    "advisor_name": pa.string(),
    "advisor_email": pa.string(),
    "branch": pa.string(),
    "batch_id": pa.string(),
}
HISTORY_COLUMNS: dict[str, pa.DataType] = {
    "isin": pa.string(),
    "rated_at": pa.timestamp("us"),
    "drop_date": pa.date32(),
    "rating_code": pa.string(),
    "label_de": pa.string(),
    "label_en": pa.string(),
    "analyst": pa.string(),
    "target_price": pa.decimal128(18, 4),
    "currency": pa.string(),
}


def _table(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, pa.DataType]) -> pa.Table:
    schema = pa.schema(list(columns.items()))
    return pa.table({name: [row.get(name) for row in rows] for name in columns}, schema=schema)


def build_marts(
    con: duckdb.DuckDBPyConnection,
    lines: Sequence[Mapping[str, Any]],
    history: Sequence[Mapping[str, Any]],
) -> None:
    """The tables planning reads, from the given mart rows: mart_notification_lines,
    mart_rating_history, what the circuit breaker reads (fct_client_rating_changes,
    fct_rating_changes, int_ratings_historized) and the batches waiting for a digest
    (ops.digest_carry_over: CARRY_OVER)."""
    ensure_schema(con)
    con.register("line_rows", _table(lines, LINE_COLUMNS))
    con.register("history_rows", _table(history, HISTORY_COLUMNS))
    con.execute("CREATE OR REPLACE TABLE mart_notification_lines AS SELECT * FROM line_rows")
    con.execute("CREATE OR REPLACE TABLE mart_rating_history AS SELECT * FROM history_rows")
    con.execute(
        "CREATE OR REPLACE TABLE fct_client_rating_changes AS "
        "SELECT business_day, client_id, change_id, isin, batch_id FROM line_rows"
    )
    con.execute(
        "CREATE OR REPLACE TABLE fct_rating_changes AS "
        "SELECT DISTINCT business_day, change_id, isin, change_type, batch_id FROM line_rows"
    )
    con.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
    con.execute(
        "CREATE OR REPLACE TABLE intermediate.int_ratings_historized AS "
        "SELECT isin, drop_date, rating_code FROM history_rows"
    )
    con.unregister("line_rows")
    con.unregister("history_rows")
    ensure_carry_table(con)
    con.executemany("INSERT INTO ops.digest_carry_over VALUES (?, ?, ?, ?)", CARRY_OVER)


# The query of the Python planning, as it was, with the carry-over of flows/notify/carry.py
# (the batches waiting for this day's digest, taken by take_for_digest).
_LINES_BY_CLIENT = """
    SELECT * FROM mart_notification_lines AS lines
    WHERE (business_day = ? AND batch_id IS NULL)
       OR (batch_id IS NOT NULL AND notify_eligible
           AND (business_day, batch_id) IN (
               SELECT (business_day, batch_id) FROM ops.digest_carry_over
               WHERE carried_into = ?)
           AND NOT EXISTS (
               SELECT 1 FROM ops.delivery_ledger AS ledger
               WHERE ledger.recipient_id = lines.client_id
                 AND ledger.kind IN ('client_intraday', 'client_digest')
                 AND ledger.business_day < ?
                 AND list_contains(string_split(ledger.change_ids, ','), lines.change_id)))
    ORDER BY client_id, market_value_eur DESC, isin
"""


def plan_day_in_python(
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
    """plan_day as it was before the SQL planning (the whole day at once: reading it in
    chunks of clients changed nothing of what was planned)."""
    changed, rated_before = read_breaker_counts(con, business_day)
    held_reason = hold_reason or circuit_breaker_reason(
        changed, rated_before, max_change_share, min_changed_isins
    )
    decision = day_hold(con, business_day)
    if decision is not None and decision[1] == "released":
        held_reason = None
    discarded = decision is not None and decision[1] == "discarded"
    if held_reason and not discarded:
        hold_day(con, business_day, held_reason)
    suppressed = {email for email, *_ in journal.suppressions()}
    take_for_digest(con, business_day)
    rows = _dicts(con, _LINES_BY_CLIENT, [business_day] * 3)
    history = read_history(con, business_day, [str(row["isin"]) for row in rows])
    decided = decide_eligibility(rows, suppressed)
    digests = build_digests([r for r in decided if r["notify_eligible"]], history, business_day)
    emailed = {d.client_id for d in digests}
    worklists = build_worklists(decided, emailed, business_day, advisor_language)
    messages = planned_messages(digests, worklists, business_day, held_reason, mail_domain)
    if discarded:
        messages = [
            replace(m, status=DISCARDED, status_reason="the day was discarded")
            if m.status != FAILED
            else m
            for m in messages
        ]
    return PlanResult(
        business_day=business_day,
        digests=len(digests),
        worklists=len(worklists),
        new_rows=upsert_planned(con, messages),
        held_reason=held_reason,
        lines=len(decided),
        clients_to_call=len({r["client_id"] for r in decided if not r["notify_eligible"]}),
        lines_without_advisor=sum(1 for r in decided if not r.get("advisor_id")),
        unusable={m.message_key: m.status_reason or "" for m in messages if m.status == FAILED},
    )


LEDGER_COLUMNS = (
    "message_key, kind, business_day, recipient_id, recipient_name, recipient_email, "
    "language, message_id, content_sha256, change_ids, payload, status, status_reason"
)


def ledger_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """Every ledger row's planned columns, by message key."""
    return con.execute(
        f"SELECT {LEDGER_COLUMNS} FROM ops.delivery_ledger ORDER BY message_key"
    ).fetchall()


# -- a varied day ----------------------------------------------------------------------
DAY = date(2026, 3, 4)
PREVIOUS_DAY = date(2026, 3, 3)
TWO_DAYS_BEFORE = date(2026, 3, 2)
LATE_ISIN = "DE000LATE001"  # changed only by a batch carried in late
# ops.digest_carry_over of the varied day's batches (flows/notify/carry.py):
# (business_day, batch_id, carry_after, carried_into).
CARRY_OVER = (
    (PREVIOUS_DAY, "101500", PREVIOUS_DAY, None),
    (TWO_DAYS_BEFORE, "163000", PREVIOUS_DAY, None),
    (TWO_DAYS_BEFORE, "120000", TWO_DAYS_BEFORE, PREVIOUS_DAY),
    (PREVIOUS_DAY, "170000", DAY, None),
)

NAMES: tuple[str | None, ...] = (
    "Anna", "Jürgen", 'Sean "The Rock" O\'Brien', "Back\\slash", "Zoë", "李小龙",
    "emoji 😀", "tab\there", "vertical\x0btab", "", None, "  padded  ", "line\nbreak",
    "sep\u2028arator", "literal \\u000B text", "Ñandú", "nul\x00byte", "del\x7f",
)  # fmt: skip
WEIGHTS: tuple[float | None, ...] = (
    0.5, 1.0, 1e-5, 2.5e-5, 9.99e-5, 1.234e-7, 0.1 + 0.2, None, 0.0, 1 / 3, 0.000123,
    1e-4, 4.2e-6,
)  # fmt: skip
LABELS = {
    "strong_buy": ("Stark kaufen", "Strong buy"),
    "buy": ("Kaufen", "Buy"),
    "hold": ("Halten", "Hold"),
    "sell": ('Verkaufen "sofort"', "Sell"),
    "odd": (None, ""),  # a rating without labels: the code is shown
}
ISINS = (*(f"DE000A{n:06d}" for n in range(9)), "XS\u00c4\u00d6", "US0378331005")


def _rng(seed: int) -> Any:
    import random

    return random.Random(seed)


def varied_day(
    seed: int = 7, clients: int = 160
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Mart rows of a day (and of the previous day's intraday batch) and the rating
    history: hand-picked awkward values and a random population around them."""
    rng = _rng(seed)
    codes = list(LABELS)
    changes: dict[str, dict[str, Any]] = {}
    for index, isin in enumerate(ISINS):
        previous, new = rng.sample(codes, 2)
        rated = datetime(2026, 3, 4, 7, 30, index, 0 if index % 2 else 123456)
        changes[isin] = {
            "change_id": f"ch{index:02d}-{isin}",
            "isin": isin,
            "security_name": rng.choice([f"Security {index} AG", 'Müller & Söhne "KG"', "", None]),
            "change_type": rng.choice(["upgrade", "downgrade"]),
            "previous_rating": previous,
            "previous_label_de": LABELS[previous][0],
            "previous_label_en": LABELS[previous][1],
            "new_rating": new,
            "new_label_de": LABELS[new][0],
            "new_label_en": LABELS[new][1],
            "changed_on": DAY,
            "rated_at": rng.choice([rated, None]),
            "previous_rated_at": rng.choice([rated - timedelta(days=40), None]),
            "target_price": rng.choice([Decimal("123.4500"), Decimal("0.0001"), None]),
            "currency": rng.choice(["EUR", "USD", None]),
            "analyst": rng.choice(['Research Unit "Equity"', "Dr. Öz", None]),
        }
    advisors = [
        ("A1", "Petra Schön", "petra@bank.example", "Köln"),
        ("A2", 'Max "Mad" Muster', "MAX@BANK.EXAMPLE", None),
        ("A3", None, "not an address", "Bonn"),  # a worklist that cannot be sent
        ("A4", "Nora", None, "Berlin"),  # no address at all
        ("A5", "Line Break", "a@bank.example\r\nBcc: x@evil.example", "Hamburg"),
        ("A6", "Spaced", "  spaced@bank.example\u00a0", "Essen"),
        (None, None, None, None),  # clients without an advisor
        ("", None, None, None),
    ]
    emails = [
        "anna@example.com", " padded@example.com ", "Suppressed@Example.com", "bad@@example.com",
        "jürgen@beispiel.de", "JÜRGEN@BEISPIEL.DE", "\u212a@example.com", None, "",
        "x@example.com\u3000", "toolong" + "a" * 250 + "@example.com", "ok.name+tag@sub.example.org",
    ]  # fmt: skip
    lines: list[dict[str, Any]] = []
    for number in range(clients):
        client_id = f"C{number:04d}" if number % 17 else f"C{number:04d}ä"
        advisor_id, advisor_name, advisor_email, branch = rng.choice(advisors)
        eligible = rng.random() > 0.15
        client = {
            "business_day": DAY,
            "client_id": client_id,
            "first_name": rng.choice(NAMES),
            "last_name": rng.choice(NAMES),
            "email": rng.choice(emails) if number % 3 == 0 else f"client{number}@example.com",
            "language": rng.choice(["de", "en", "en", None, "fr", "EN"]),
            "advisor_id": advisor_id,
            "advisor_name": advisor_name,
            "advisor_email": advisor_email,
            "branch": branch,
            "notify_eligible": eligible,
            "ineligible_reason": None if eligible else rng.choice(["opted_out", "no_email", None]),
            "batch_id": None,
        }
        values = [Decimal("1000.00"), Decimal("250.50"), Decimal("0.01"), Decimal("99999999.99")]
        for isin in rng.sample(ISINS, rng.choice([1, 1, 1, 2, 3, 4])):
            lines.append(
                {
                    **client,
                    **changes[isin],
                    "quantity": rng.choice([Decimal("10.0000"), Decimal("0.0001"), Decimal("123456.7890")]),
                    "market_value_eur": rng.choice(values),  # ties: ordered by ISIN, client
                    "portfolio_weight": rng.choice(WEIGHTS),
                }
            )  # fmt: skip
    # The previous day's intraday batch: changes some clients were not emailed about
    # (carried into today's digest), one of them already in an earlier email.
    batch = {**changes[ISINS[0]], "change_id": "batch-change", "changed_on": PREVIOUS_DAY}
    for client_number in (n for n in (1, 2, 5) if n < clients):
        template = next(line for line in lines if line["client_id"] == f"C{client_number:04d}")
        lines.append(
            {
                **template,
                **batch,
                "business_day": PREVIOUS_DAY,
                "batch_id": "101500",
                "notify_eligible": True,
                "ineligible_reason": None,
                "quantity": Decimal("5.0000"),
                "market_value_eur": Decimal("500.00"),
                "portfolio_weight": 0.25,
            }
        )
    # Batches of earlier days (CARRY_OVER): 163000 of the day before that, corrected late
    # (processed after the previous day's morning), on a security without a change today:
    # carried, with its history; 120000, carried into the previous day's digest already,
    # and 170000, processed after today's morning was planned: not carried today.
    late = (
        (TWO_DAYS_BEFORE, "163000", "late-change", LATE_ISIN),
        (TWO_DAYS_BEFORE, "120000", "old-change", ISINS[1]),
        (PREVIOUS_DAY, "170000", "next-change", ISINS[2]),
    )
    for batch_day, batch_id, change_id, isin in late if clients > 1 else ():
        template = next(line for line in lines if line["client_id"] == "C0001")
        lines.append(
            {
                **template,
                **changes[ISINS[3]],
                "business_day": batch_day,
                "batch_id": batch_id,
                "change_id": change_id,
                "isin": isin,
                "changed_on": batch_day,
                "notify_eligible": True,
                "ineligible_reason": None,
                "quantity": Decimal("7.0000"),
                "market_value_eur": Decimal("700.00"),
                "portfolio_weight": 0.125,
            }
        )
    history: list[dict[str, Any]] = []
    for index, isin in enumerate((*ISINS, LATE_ISIN)):
        for months in range(0, 14, 2):  # a year and more: the oldest points are left out
            code = rng.choice(codes)
            history.append(
                {
                    "isin": isin,
                    "rated_at": datetime(2026, 3, 4, 8, 0, 0, 500 if months else 0)
                    - timedelta(days=30 * months + index),
                    "drop_date": DAY - timedelta(days=30 * months + index),
                    "rating_code": code,
                    "label_de": LABELS[code][0],
                    "label_en": LABELS[code][1],
                }
            )
        history.append(  # published after the day: not shown
            {"isin": isin, "rated_at": datetime(2026, 3, 6, 9), "drop_date": date(2026, 3, 6),
             "rating_code": "hold", "label_de": "Halten", "label_en": "Hold"}
        )  # fmt: skip
    return lines, history


SUPPRESSED = ("suppressed@example.com", "jürgen@beispiel.de", "k@example.com")


def suppress_all(journal: Journal, addresses: Iterable[str] = SUPPRESSED) -> None:
    for address in addresses:
        journal.suppress(address, reason="test", source="test")
