"""Objects in the warehouse that the quality rules use: the ISIN check-digit macros, the
known rating labels (from dbt's seed, so the raw check needs no dbt build) and the
thresholds of this run. Python owns them (schema ``ops``)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb

from flows.quality.quarantine import BATCH_FILES

# ISIN check digit (ISO 6166): letters become numbers (A=10 ... Z=35), then the Luhn
# sum over the digits, doubling every second digit from the right.
_MACROS = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE OR REPLACE MACRO ops.isin_digits(s) AS
    list_aggr(list_transform(string_split(left(s, 11), ''),
        lambda ch: CASE WHEN ch BETWEEN '0' AND '9' THEN ch
                        ELSE CAST(ascii(ch) - 55 AS VARCHAR) END), 'string_agg', '');
CREATE OR REPLACE MACRO ops.isin_check_digit(s) AS
    (10 - list_sum(list_transform(string_split(reverse(ops.isin_digits(s)), ''),
        lambda d, i: CASE WHEN i % 2 = 1
                          THEN (CAST(d AS INTEGER) * 2) // 10 + (CAST(d AS INTEGER) * 2) % 10
                          ELSE CAST(d AS INTEGER) END)) % 10) % 10;
CREATE OR REPLACE MACRO ops.isin_check_digit_ok(s) AS
    ops.isin_check_digit(s) = CAST(right(s, 1) AS INTEGER);
CREATE TABLE IF NOT EXISTS ops.quarantine (
    drop_date DATE NOT NULL,
    file_kind VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    line BIGINT,
    raw_row VARCHAR,
    reasons VARCHAR[] NOT NULL,
    quarantined_at TIMESTAMP NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ops.quality_results (
    run_date DATE NOT NULL,
    suite VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    unexpected BIGINT,
    passed BOOLEAN NOT NULL,
    checked_at TIMESTAMP NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ops.quality_settings (
    max_holdings_change DOUBLE NOT NULL
);
"""


def ensure_quality_objects(
    con: duckdb.DuckDBPyConnection, seeds_dir: Path, *, max_holdings_change: float
) -> None:
    con.execute(_MACROS)
    with (seeds_dir / "rating_labels.csv").open(encoding="utf-8", newline="") as handle:
        labels = [row["label"] for row in csv.DictReader(handle)]
    con.execute("BEGIN TRANSACTION")
    con.execute("CREATE OR REPLACE TABLE ops.known_rating_labels (label VARCHAR PRIMARY KEY)")
    con.executemany(
        "INSERT INTO ops.known_rating_labels VALUES (?)", [(label,) for label in labels]
    )
    con.execute("DELETE FROM ops.quality_settings")
    con.execute("INSERT INTO ops.quality_settings VALUES (?)", [max_holdings_change])
    con.execute("COMMIT")


def forget_quarantine(con: duckdb.DuckDBPyConnection, drop_date: date, file_kind: str) -> None:
    """A file loaded again starts over: its old quarantine entries go. The day's intraday
    batches (``intraday/<HHMMSS>/ratings.csv``) are files of their own: theirs stay."""
    con.execute(
        "DELETE FROM ops.quarantine WHERE drop_date = ? AND file_kind = ? AND file_name NOT LIKE ?",
        [drop_date, file_kind, BATCH_FILES],
    )
