"""The mart gate of an intraday batch (flows/intraday/mart_gate.py) on a real warehouse,
real Great Expectations: it validates the batch's rows of the change-by-client mart and
nothing else of the day, and records its results under the batch, beside the morning's.

The marts are written by hand here (the columns the rules read); tests/test_intraday.py
runs the gate on marts dbt built."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from flows.intraday.batches import Batch
from flows.intraday.mart_gate import check_batch_marts
from flows.quality.gx_project import MART_SUITE
from flows.quality.sql_support import ensure_quality_objects
from flows.settings import Settings, get_settings
from flows.warehouse import ensure_schema, open_warehouse

DAY = date(2026, 3, 3)
MORNING_RESULTS = [(DAY, MART_SUITE, "not_affected", "hold", "from the morning", 1, False)]


@pytest.fixture
def settings(votum_home: Path, tmp_path: Path) -> Settings:
    settings = get_settings()
    with open_warehouse(settings.warehouse_path) as con:
        ensure_schema(con)
        ensure_quality_objects(
            con,
            settings.dbt_project_dir / "seeds",
            max_holdings_change=settings.max_holdings_change,
        )
        con.execute("CREATE SCHEMA reference")
        con.execute(
            "CREATE TABLE reference.rating_scale AS "
            "SELECT * FROM (VALUES ('buy'), ('hold'), ('sell')) AS t (rating_code)"
        )
        con.execute(
            "CREATE TABLE main.dim_clients AS SELECT * FROM (VALUES "
            "('C1', true, true), ('C2', false, true), ('C3', true, true)) "
            "AS t (client_id, notify_opt_in, has_valid_email)"
        )
        con.execute("CREATE TABLE main.dim_advisors AS SELECT 'A1' AS advisor_id")
        # The day's rows: the morning's C1 row breaks a rule (a position of zero: the
        # morning's gate answers for it), the batches' rows are their own.
        con.execute(
            """
            CREATE TABLE main.fct_client_rating_changes AS
            SELECT business_day, client_id, change_id, advisor_id, previous_rating,
                new_rating, CAST(quantity AS DECIMAL(18, 4)) AS quantity, notify_eligible,
                batch_id
            FROM (VALUES
                (DATE '2026-03-03', 'C1', 'm1', 'A1', 'buy', 'sell', 0, true, NULL),
                (DATE '2026-03-03', 'C3', 'b1', 'A1', 'hold', 'sell', 5, true, '101500'),
                (DATE '2026-03-03', 'C2', 'b2', 'A1', 'sell', 'hold', 2, true, '141000'),
                (DATE '2026-03-03', 'C3', 'b2', 'A1', 'sell', 'hold', 5, true, '141000'),
                (DATE '2026-03-02', 'C2', 'old', 'A1', 'sell', 'buy', 0, true, '101500')
            ) AS t (business_day, client_id, change_id, advisor_id, previous_rating,
                    new_rating, quantity, notify_eligible, batch_id)
            """
        )
        con.executemany(
            "INSERT INTO ops.quality_results (run_date, suite, rule, action, description, "
            "unexpected, passed) VALUES (?, ?, ?, ?, ?, ?, ?)",
            MORNING_RESULTS,
        )
    return settings


def _results(settings: Settings) -> dict[str, dict[str, int]]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT suite, rule, unexpected FROM ops.quality_results WHERE run_date = ?", [DAY]
        ).fetchall()
    found: dict[str, dict[str, int]] = {}
    for suite, rule, unexpected in rows:
        found.setdefault(str(suite), {})[str(rule)] = int(unexpected)
    return found


def test_a_batch_is_checked_on_its_own_mart_rows(settings: Settings, tmp_path: Path) -> None:
    clean = check_batch_marts(settings, Batch(DAY, "101500", tmp_path))
    assert clean.outcomes and not clean.hold_reasons  # the morning's zero is not its own

    faulty = check_batch_marts(settings, Batch(DAY, "141000", tmp_path))
    assert faulty.hold_reasons == (
        "quality gate on the marts of batch 2026-03-03/intraday/141000: a row marked "
        "eligible for a client who opted out or has no valid email (1)",
    )
    results = _results(settings)
    assert results.keys() == {
        MART_SUITE,
        f"{MART_SUITE}:intraday/101500",
        f"{MART_SUITE}:intraday/141000",
    }
    assert results[MART_SUITE] == {"not_affected": 1}  # the morning's, untouched
    assert not any(results[f"{MART_SUITE}:intraday/101500"].values())
    assert {r: n for r, n in results[f"{MART_SUITE}:intraday/141000"].items() if n} == {
        "eligible_but_opted_out_or_invalid": 1
    }
    # Checked again (a batch retried): its results replaced, nobody else's.
    check_batch_marts(settings, Batch(DAY, "141000", tmp_path))
    assert _results(settings) == results
