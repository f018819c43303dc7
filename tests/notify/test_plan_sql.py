"""Planning in SQL plans what the Python planning planned, byte for byte: the same ledger
rows (payloads, Message-IDs, change ids, statuses) and the same counts, on a day with
every awkward value we could think of; re-planning keeps the ledger's rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.notify.journal import Journal, open_journal
from flows.notify.json_sql import UnsupportedColumnTypeError
from flows.notify.ledger import CLIENT_INTRADAY, PlannedMessage, upsert_planned
from flows.notify.payloads import client_digest_from_json, worklist_from_json
from flows.notify.plan import PlanResult, plan_day
from tests.notify.plan_reference import (
    DAY,
    LATE_ISIN,
    PREVIOUS_DAY,
    build_marts,
    ledger_rows,
    plan_day_in_python,
    suppress_all,
    varied_day,
)

Planner = Callable[..., PlanResult]
OPTIONS: dict[str, Any] = {
    "max_change_share": 0.25,
    "min_changed_isins": 1000,
    "advisor_language": "de",
    "mail_domain": "bank.example",
}


@contextmanager
def warehouse(
    tmp_path: Path, name: str, lines: list[dict[str, Any]], history: list[dict[str, Any]]
) -> Iterator[tuple[duckdb.DuckDBPyConnection, Journal]]:
    con = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
    build_marts(con, lines, history)
    # An earlier intraday email already carried one of the batch's changes to C0002.
    upsert_planned(
        con,
        [
            PlannedMessage(
                message_key=f"{CLIENT_INTRADAY}:{PREVIOUS_DAY}:101500:C0002",
                kind=CLIENT_INTRADAY,
                business_day=PREVIOUS_DAY,
                recipient_id="C0002",
                recipient_name=None,
                recipient_email="client2@example.com",
                language="de",
                message_id="<earlier@bank.example>",
                content_sha256="0",
                change_ids="another,batch-change",
                payload="{}",
                status="sent",
            )
        ],
    )
    with open_journal(tmp_path / f"{name}.sqlite") as journal:
        suppress_all(journal)
        try:
            yield con, journal
        finally:
            con.close()


def both_ways(
    tmp_path: Path,
    prepare: Callable[[duckdb.DuckDBPyConnection], None] = lambda con: None,
    **options: Any,
) -> tuple[tuple[PlanResult, list[tuple[Any, ...]]], tuple[PlanResult, list[tuple[Any, ...]]]]:
    """(result, ledger) of the Python planning and of plan_day on the same varied day."""
    lines, history = varied_day()
    outcomes = []
    for name, planner in (("python", plan_day_in_python), ("sql", plan_day)):
        with warehouse(tmp_path, name, lines, history) as (con, journal):
            prepare(con)
            result = planner(con, journal, DAY, **{**OPTIONS, **options})
            outcomes.append((result, ledger_rows(con)))
    return outcomes[0], outcomes[1]


def assert_same(
    python: tuple[PlanResult, list[tuple[Any, ...]]], sql: tuple[PlanResult, list[tuple[Any, ...]]]
) -> None:
    assert asdict(sql[0]) == asdict(python[0])
    assert len(sql[1]) == len(python[1])
    for ours, theirs in zip(sql[1], python[1], strict=True):
        assert ours == theirs


def test_the_sql_plan_is_the_python_plan_byte_for_byte(tmp_path: Path) -> None:
    python, sql = both_ways(tmp_path)
    assert_same(python, sql)
    result, rows = sql
    # The day is as varied as meant: several holdings, both languages, every status.
    kinds = {(row[1], row[11]) for row in rows}
    assert ("client_digest", "pending") in kinds and ("advisor_worklist", "failed") in kinds
    assert {row[6] for row in rows if row[1] == "client_digest"} == {"de", "en"}
    assert result.clients_to_call > 0 and result.lines_without_advisor > 0
    assert len(result.unusable) == 3  # no address, not an address, a line break
    digests = [client_digest_from_json(row[10]) for row in rows if row[1] == "client_digest"]
    assert max(len(d.holdings) for d in digests) >= 3
    assert any(h.history for d in digests for h in d.holdings)
    reasons = {
        line.ineligible_reason
        for row in rows
        if row[1] == "advisor_worklist"
        for line in worklist_from_json(row[10]).lines
    }
    assert {"suppressed", "invalid_email", "opted_out", "None"} <= reasons
    # the previous day's batch: carried for two clients, not for the one emailed already
    carried = {d.client_id for d in digests for h in d.holdings if h.change_id == "batch-change"}
    assert carried & {"C0001", "C0005"} and "C0002" not in carried
    # batches of earlier days: the one corrected late is carried, with its own history
    # (its security has no change today); the one an earlier digest took, and the one
    # processed after today's morning was planned, are not
    holdings = {h.change_id: h for d in digests for h in d.holdings}
    assert holdings.keys() & {"late-change", "old-change", "next-change"} == {"late-change"}
    assert holdings["late-change"].isin == LATE_ISIN and holdings["late-change"].history


def test_a_held_day_is_planned_alike(tmp_path: Path) -> None:
    python, sql = both_ways(tmp_path, hold_reason="held for the test")
    assert_same(python, sql)
    assert {row[11] for row in sql[1] if row[2] == DAY} == {"held", "failed"}


@pytest.mark.parametrize("decision", ["discarded", "released"])
def test_a_decided_day_is_planned_alike(tmp_path: Path, decision: str) -> None:
    def decide(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "INSERT INTO ops.day_holds (business_day, reason, decision) VALUES (?, 'x', ?)",
            [DAY, decision],
        )

    python, sql = both_ways(tmp_path, decide, hold_reason="held for the test")
    assert_same(python, sql)
    expected = {"discarded", "failed"} if decision == "discarded" else {"pending", "failed"}
    assert {row[11] for row in sql[1] if row[2] == DAY} == expected


def test_english_worklists_are_planned_alike(tmp_path: Path) -> None:
    python, sql = both_ways(tmp_path, advisor_language="en")
    assert_same(python, sql)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_days_are_planned_alike(tmp_path: Path, seed: int) -> None:
    lines, history = varied_day(seed=seed, clients=120)
    outcomes = []
    for name, planner in (("python", plan_day_in_python), ("sql", plan_day)):
        with warehouse(tmp_path, f"{name}-{seed}", lines, history) as (con, journal):
            outcomes.append((planner(con, journal, DAY, **OPTIONS), ledger_rows(con)))
    assert_same(outcomes[0], outcomes[1])


def test_planning_again_adds_nothing_and_leaves_what_went_out(tmp_path: Path) -> None:
    lines, history = varied_day()
    with warehouse(tmp_path, "again", lines, history) as (con, journal):
        first = plan_day(con, journal, DAY, **OPTIONS)
        planned = ledger_rows(con)
        assert first.new_rows == len([row for row in planned if row[2] == DAY])
        again = plan_day(con, journal, DAY, **OPTIONS)
        assert again.new_rows == 0 and ledger_rows(con) == planned
        # One digest went out, one is on its way; then the marts change (a new value).
        sent, sending, waiting = [row[0] for row in planned if row[1] == "client_digest"][:3]
        con.execute("UPDATE ops.delivery_ledger SET status = 'sent' WHERE message_key = ?", [sent])
        con.execute(
            "UPDATE ops.delivery_ledger SET status = 'sending' WHERE message_key = ?", [sending]
        )
        con.execute("UPDATE mart_notification_lines SET market_value_eur = market_value_eur + 1")
        before = {row[0]: row for row in ledger_rows(con)}
        third = plan_day(con, journal, DAY, **OPTIONS)
        after = {row[0]: row for row in ledger_rows(con)}
        assert third.new_rows == 0 and after.keys() == before.keys()
        assert after[sent] == before[sent] and after[sending] == before[sending]
        assert after[waiting][10] != before[waiting][10]  # a pending row is refreshed
        # A held day stays held on a plan without a hold; pending rows become held.
        plan_day(con, journal, DAY, **OPTIONS, hold_reason="wait")
        statuses = {row[0]: row[11] for row in ledger_rows(con)}
        assert statuses[sent] == "sent" and statuses[waiting] == "held"
        plan_day(con, journal, DAY, **OPTIONS)
        assert {row[0]: row[11] for row in ledger_rows(con)}[waiting] == "held"


def test_holdings_and_worklist_lines_are_ordered_by_value(tmp_path: Path) -> None:
    lines, history = varied_day(clients=1)
    template = {**lines[0], "business_day": DAY, "batch_id": None, "notify_eligible": True}
    template.update(email="c@example.com", advisor_id="A9", advisor_email="a9@bank.example")
    day = [
        {**template, "client_id": "C2", "isin": "B", "change_id": "b", "market_value_eur": Decimal("5.00")},
        {**template, "client_id": "C1", "isin": "B", "change_id": "b", "market_value_eur": Decimal("5.00")},
        {**template, "client_id": "C1", "isin": "A", "change_id": "a", "market_value_eur": Decimal("5.00")},
        {**template, "client_id": "C1", "isin": "C", "change_id": "c", "market_value_eur": Decimal("50.00")},
        {**template, "client_id": "C2", "isin": "A", "change_id": "a", "market_value_eur": Decimal("0.50")},
    ]  # fmt: skip
    with warehouse(tmp_path, "order", day, history) as (con, journal):
        plan_day(con, journal, DAY, **OPTIONS)
        payloads = dict(
            con.execute("SELECT recipient_id, payload FROM ops.delivery_ledger").fetchall()
        )
    assert [h.isin for h in client_digest_from_json(payloads["C1"]).holdings] == ["C", "A", "B"]
    assert [(x.client_id, x.isin) for x in worklist_from_json(payloads["A9"]).lines] == [
        ("C1", "C"), ("C1", "A"), ("C1", "B"), ("C2", "B"), ("C2", "A"),
    ]  # fmt: skip


def test_a_mart_column_of_another_type_is_refused(tmp_path: Path) -> None:
    lines, history = varied_day(clients=3)
    with warehouse(tmp_path, "types", lines, history) as (con, journal):
        con.execute(
            "CREATE OR REPLACE TABLE mart_notification_lines AS SELECT * REPLACE "
            "(CAST(market_value_eur AS VARCHAR) AS market_value_eur) FROM mart_notification_lines"
        )
        with pytest.raises(UnsupportedColumnTypeError, match="market_value_eur"):
            plan_day(con, journal, DAY, **OPTIONS)
        # nothing was left behind: the next plan starts clean
        assert not con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE temporary AND table_name LIKE 'plan_%'"
        ).fetchall()


def test_a_first_day_and_a_day_without_changes(tmp_path: Path) -> None:
    lines, history = varied_day(clients=20)
    today = [line for line in lines if line["business_day"] == DAY]
    with warehouse(tmp_path, "first", today, history) as (con, journal):
        result = plan_day(con, journal, DAY, **OPTIONS)
        assert result.lines == len(today) and result.new_rows > 0
        quiet = plan_day(con, journal, date(2026, 3, 10), **OPTIONS)
    assert (quiet.digests, quiet.worklists, quiet.new_rows, quiet.lines) == (0, 0, 0, 0)
