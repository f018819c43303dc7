"""Which morning takes a batch's waiting changes (flows/notify/carry.py), on a real DuckDB
file: the first morning planned after the batch was processed, once; and a warehouse
from before the table existed keeps the rule it had."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from flows.notify.carry import ensure_carry_table, note_batch, take_for_digest
from flows.warehouse import ensure_schema

MON, TUE, WED, THU = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5)


def _plan_morning(con: duckdb.DuckDBPyConnection, day: date) -> None:
    """A morning planned: a worklist of that day in the ledger."""
    con.execute(
        "INSERT INTO ops.delivery_ledger (message_key, kind, business_day, recipient_id, "
        "language, message_id, content_sha256, change_ids, payload, status) "
        "VALUES (?, 'advisor_worklist', ?, 'A1', 'de', ?, '0', '', '{}', 'sent')",
        [f"advisor_worklist:{day}:A1", day, f"<{day}@bank.example>"],
    )


def _carried(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(
        "SELECT business_day, batch_id, carry_after, carried_into FROM ops.digest_carry_over "
        "ORDER BY business_day, batch_id"
    ).fetchall()


def test_the_first_morning_planned_after_the_batch_takes_it_once(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    _plan_morning(con, TUE)
    assert note_batch(con, TUE, "101500") == TUE  # processed on its day
    assert take_for_digest(con, WED) == TUE
    assert take_for_digest(con, WED) == TUE  # Wednesday planned again: the same
    _plan_morning(con, WED)
    # Corrected late: processed after Wednesday's morning was planned.
    assert note_batch(con, TUE, "141000") == WED
    assert take_for_digest(con, WED) == TUE  # not into Wednesday's again
    assert _carried(con) == [(TUE, "101500", TUE, WED), (TUE, "141000", WED, None)]
    assert take_for_digest(con, THU) == TUE
    assert take_for_digest(con, date(2026, 3, 6)) is None  # nothing twice
    assert _carried(con) == [(TUE, "101500", TUE, WED), (TUE, "141000", WED, THU)]


def test_a_batch_retried_before_any_morning_took_it_is_noted_again(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    note_batch(con, TUE, "141000")  # planned, then the call failed before it was marked
    _plan_morning(con, WED)
    assert note_batch(con, TUE, "141000") == WED
    take_for_digest(con, THU)
    _plan_morning(con, THU)
    assert note_batch(con, TUE, "141000") == THU
    assert _carried(con) == [(TUE, "141000", WED, THU)]  # a taken batch stays taken


def test_batches_processed_before_the_table_existed_keep_their_morning(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    con.execute(
        "CREATE TABLE ops.intraday_batches (business_day DATE, batch_id VARCHAR, "
        "file_name VARCHAR, sha256 VARCHAR, rows_loaded BIGINT, outcome VARCHAR, "
        "processed_at TIMESTAMP)"
    )
    con.execute(
        "INSERT INTO ops.intraday_batches (business_day, batch_id) "
        "VALUES (?, '101500'), (?, '101500')",
        [MON, TUE],
    )
    _plan_morning(con, MON)
    _plan_morning(con, TUE)
    ensure_carry_table(con)
    assert _carried(con) == [(MON, "101500", MON, TUE), (TUE, "101500", TUE, None)]
    assert take_for_digest(con, WED) == TUE
