"""Loading drops into the raw tables: dialects, formats, re-ingest and file faults."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.errors import MalformedFileError, MissingColumnError, MissingFileError
from flows.ingest.loader import load_drop
from flows.warehouse import open_warehouse
from tests.drops import HOLDINGS, RATINGS, SAP, SIEMENS, write_csv, write_drop

DAY = date(2026, 3, 2)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    with open_warehouse(tmp_path / "warehouse.duckdb") as connection:
        yield connection


def _holdings(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(
        "SELECT client_id, isin, quantity, market_value_eur, as_of, _drop_date, _source_file "
        "FROM raw.holdings ORDER BY client_id, isin"
    ).fetchall()


def test_german_export_with_bom_semicolons_and_decimal_commas(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    drop = tmp_path / "inbox" / DAY.isoformat()
    write_csv(
        drop / "ratings.csv",
        RATINGS[:4],
        [[SAP, "SAP SE", "Kaufen", "02.03.2026 07:30"]],
        delimiter=";",
        bom=True,
    )
    write_csv(
        drop / "holdings.csv",
        HOLDINGS,
        [
            ["C1", SAP, "1.234,5", "12.345,67", "02.03.2026"],
            ["C2", SAP, "3", "570,15", "02.03.2026"],
        ],
        delimiter=";",
        bom=True,
    )
    load = load_drop(con, drop, DAY)
    assert load.rows_loaded("holdings") == 2
    assert _holdings(con) == [
        ("C1", SAP, Decimal("1234.5000"), Decimal("12345.67"), "02.03.2026", DAY, "holdings.csv"),
        ("C2", SAP, Decimal("3.0000"), Decimal("570.15"), "02.03.2026", DAY, "holdings.csv"),
    ]
    # The BOM did not end up in the first column's name or value.
    assert con.execute("SELECT isin, rating FROM raw.ratings").fetchall() == [(SAP, "Kaufen")]


def test_parquet_stands_in_for_csv_with_free_column_order(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    drop = tmp_path / "inbox" / DAY.isoformat()
    write_csv(drop / "ratings.csv", RATINGS[:4], [])
    table = pa.table(
        {
            "as_of": pa.array([DAY]),
            "quantity": pa.array([7.5]),
            "Client_ID": pa.array(["C9"]),
            "isin": pa.array([SIEMENS]),
            "market_value_eur": pa.array([1500.25]),
            "unused_extra": pa.array(["x"]),
        }
    )
    pq.write_table(table, drop / "holdings.parquet")
    load = load_drop(con, drop, DAY)
    files = {f.file_kind: f for f in load.files}
    assert files["holdings"].file_format == "parquet"
    assert _holdings(con) == [
        (
            "C9",
            SIEMENS,
            Decimal("7.5000"),
            Decimal("1500.25"),
            "2026-03-02",
            DAY,
            "holdings.parquet",
        )
    ]


def test_extra_columns_are_ignored_and_order_is_free(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    drop = tmp_path / "inbox" / DAY.isoformat()
    write_csv(
        drop / "ratings.csv",
        ["rated_at", "comment", "rating", "isin", "security_name"],
        [["2026-03-02", "hello", "buy", SAP, "SAP SE"]],
    )
    write_csv(drop / "holdings.csv", HOLDINGS, [["C1", SAP, "1", "10", DAY.isoformat()]])
    load_drop(con, drop, DAY)
    assert con.execute(
        "SELECT isin, security_name, rating, rated_at, analyst FROM raw.ratings"
    ).fetchall() == [(SAP, "SAP SE", "buy", "2026-03-02", None)]
    columns = [r[0] for r in con.execute("DESCRIBE raw.ratings").fetchall()]
    assert "comment" not in columns


def test_reingesting_a_drop_replaces_its_rows(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    inbox = tmp_path / "inbox"
    write_drop(
        inbox,
        DAY,
        ratings=[[SAP, "SAP SE", "buy", "2026-03-02"]],
        holdings=[["C1", SAP, 1, 10], ["C2", SAP, 2, 20]],
    )
    write_drop(inbox, date(2026, 3, 3), ratings=[], holdings=[["C1", SAP, 1, 11]])
    load_drop(con, inbox / DAY.isoformat(), DAY)
    load_drop(con, inbox / "2026-03-03", date(2026, 3, 3))
    again = load_drop(con, inbox / DAY.isoformat(), DAY)
    assert all(f.unchanged for f in again.files)
    # Same drop, corrected content: replaced, not added; the other drop untouched.
    write_drop(inbox, DAY, ratings=[], holdings=[["C3", SAP, 5, 50]])
    corrected = load_drop(con, inbox / DAY.isoformat(), DAY)
    assert not any(f.unchanged for f in corrected.files)
    assert con.execute(
        "SELECT _drop_date, client_id FROM raw.holdings ORDER BY 1, 2"
    ).fetchall() == [(DAY, "C3"), (date(2026, 3, 3), "C1")]
    assert con.execute("SELECT count(*) FROM raw.ratings").fetchone() == (0,)
    assert con.execute(
        "SELECT drop_date, file_kind, rows_loaded FROM raw.drop_files ORDER BY 1, 2"
    ).fetchall() == [
        (DAY, "holdings", 1),
        (DAY, "ratings", 0),
        (date(2026, 3, 3), "holdings", 1),
        (date(2026, 3, 3), "ratings", 0),
    ]


def test_every_loaded_file_is_catalogued_with_its_hash(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    import hashlib

    drop = write_drop(tmp_path / "inbox", DAY, ratings=[], holdings=[["C1", SAP, 1, 10]])
    load_drop(con, drop, DAY)
    expected = hashlib.sha256((drop / "holdings.csv").read_bytes()).hexdigest()
    assert con.execute(
        "SELECT file_name, file_format, sha256 FROM raw.drop_files WHERE file_kind = 'holdings'"
    ).fetchall() == [("holdings.csv", "csv", expected)]


def test_missing_required_file_names_the_file(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    drop = tmp_path / "inbox" / DAY.isoformat()
    write_csv(drop / "ratings.csv", RATINGS, [])
    with pytest.raises(MissingFileError) as raised:
        load_drop(con, drop, DAY)
    assert "required file holdings.csv (or holdings.parquet) is missing" in str(raised.value)


def test_missing_column_names_file_and_column(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    drop = tmp_path / "inbox" / DAY.isoformat()
    write_csv(drop / "ratings.csv", RATINGS, [])
    write_csv(
        drop / "holdings.csv",
        ["client_id", "isin", "market_value_eur", "as_of"],
        [["C1", SAP, "10", DAY.isoformat()]],
    )
    with pytest.raises(MissingColumnError) as raised:
        load_drop(con, drop, DAY)
    assert str(raised.value) == (
        "holdings.csv: required column 'quantity' missing "
        "(found: client_id, isin, market_value_eur, as_of)."
    )


def test_a_file_fault_loads_nothing_of_the_drop(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    drop = tmp_path / "inbox" / DAY.isoformat()
    write_csv(drop / "ratings.csv", RATINGS[:4], [[SAP, "SAP SE", "buy", "2026-03-02"]])
    write_csv(drop / "holdings.csv", HOLDINGS, [["C1", SAP, "1", "10", DAY.isoformat()]])
    write_csv(drop / "clients.csv", ["client_id", "email"], [["C1", "a@example.com"]])
    with pytest.raises(MissingColumnError, match=r"clients\.csv: required columns"):
        load_drop(con, drop, DAY)
    assert con.execute("SELECT count(*) FROM raw.ratings").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM raw.holdings").fetchone() == (0,)


def test_unreadable_values_are_kept_with_line_and_column(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    drop = tmp_path / "inbox" / DAY.isoformat()
    write_csv(drop / "ratings.csv", RATINGS, [])
    (drop / "holdings.csv").write_text(
        "client_id,isin,quantity,market_value_eur,as_of\n"
        f"C1,{SAP},10,100.5,2026-03-02\n"
        f"C2,{SAP},ten,100.5,2026-03-02\n"
        f"C3,{SAP},1,2026-03-02\n",
        encoding="utf-8",
    )
    load = load_drop(con, drop, DAY)
    holdings = {f.file_kind: f for f in load.files}["holdings"]
    assert (holdings.rows_loaded, holdings.rows_rejected) == (1, 2)
    rejected = con.execute(
        "SELECT file_name, line, column_name, error_type, raw_row FROM raw.rejected_rows ORDER BY line"
    ).fetchall()
    assert rejected[0] == ("holdings.csv", 3, "quantity", "CAST", f"C2,{SAP},ten,100.5,2026-03-02")
    # Line 4 has a field too few: both of its faults are kept.
    assert {(r[1], r[3]) for r in rejected[1:]} == {(4, "CAST"), (4, "MISSING COLUMNS")}


def test_non_utf8_file_is_refused_with_the_line(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    drop = tmp_path / "inbox" / DAY.isoformat()
    write_csv(drop / "ratings.csv", RATINGS, [])
    (drop / "holdings.csv").write_bytes(
        "client_id,isin,quantity,market_value_eur,as_of\nC1,DE0007164600,1,1,2026-03-02\n"
        "Müller,DE0007164600,1,1,2026-03-02\n".encode("latin-1")
    )
    with pytest.raises(MalformedFileError, match=r"holdings.csv: line 3 is not valid UTF-8"):
        load_drop(con, drop, DAY)


def test_csv_and_parquet_of_the_same_file_are_ambiguous(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    drop = write_drop(tmp_path / "inbox", DAY, ratings=[], holdings=[["C1", SAP, 1, 10]])
    pq.write_table(pa.table({"isin": ["x"]}), drop / "ratings.parquet")
    with pytest.raises(MalformedFileError, match=r"both ratings\.csv and ratings\.parquet"):
        load_drop(con, drop, DAY)


def test_holdings_snapshots_beyond_retention_are_pruned(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    inbox = tmp_path / "inbox"
    days = [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
    for day in days:
        load_drop(
            con,
            write_drop(inbox, day, holdings=[["C1", SAP, 1, 1]]),
            day,
            holdings_retention_drops=2,
        )
    assert [
        r[0]
        for r in con.execute("SELECT DISTINCT _drop_date FROM raw.holdings ORDER BY 1").fetchall()
    ] == days[1:]


HOLDINGS_HEADER = "client_id;isin;quantity;market_value_eur;as_of\n"


def _ratings_and(drop: Path, holdings: str) -> Path:
    write_csv(drop / "ratings.csv", RATINGS, [])
    (drop / "holdings.csv").write_text(holdings, encoding="utf-8")
    return drop


def test_decimal_comma_is_decided_from_the_whole_column_not_a_sample(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    # The first 256 KiB hold only thousands-dotted integers; a decimal comma comes later.
    dotted = [f"C{i:05d};{SAP};1.500;2.000;02.03.2026\n" for i in range(8000)]
    drop = _ratings_and(
        tmp_path / "inbox" / DAY.isoformat(),
        HOLDINGS_HEADER + "".join(dotted) + f"Z1;{SAP};1.234,5;12.345,67;02.03.2026\n",
    )
    assert (drop / "holdings.csv").stat().st_size > 256 * 1024
    load_drop(con, drop, DAY)
    assert con.execute(
        "SELECT quantity, market_value_eur FROM raw.holdings WHERE client_id IN ('C00000', 'Z1') "
        "ORDER BY client_id"
    ).fetchall() == [
        (Decimal("1500.0000"), Decimal("2000.00")),
        (Decimal("1234.5000"), Decimal("12345.67")),
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [f"C1;{SAP};4.711;8.150;02.03.2026", f"C2;{SAP};7;12;02.03.2026"],
            "holdings.csv: column quantity, market_value_eur is ambiguous",
        ),
        (
            [f"C1;{SAP};1,5;2.000;02.03.2026", f"C2;{SAP};7;12.25;02.03.2026"],
            "holdings.csv: column quantity uses a decimal comma, column market_value_eur a "
            "decimal point",
        ),
        (
            [f"C1;{SAP};1,5;2;02.03.2026", f"C2;{SAP};7.5;12;02.03.2026"],
            "holdings.csv: column quantity holds numbers with a decimal comma and numbers "
            "with a decimal point",
        ),
    ],
    ids=["only-dotted-integers", "columns-disagree", "column-mixes"],
)
def test_a_decimal_mark_that_cannot_be_told_is_a_file_fault_naming_the_column(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, rows: list[str], message: str
) -> None:
    drop = _ratings_and(
        tmp_path / "inbox" / DAY.isoformat(), HOLDINGS_HEADER + "\n".join(rows) + "\n"
    )
    with pytest.raises(MalformedFileError) as raised:
        load_drop(con, drop, DAY)
    assert str(raised.value).startswith(message)
    for value in ("4.711", "8.150", "12.25", "7.5"):  # never a value of the file
        assert value not in str(raised.value)
    assert con.execute("SELECT count(*) FROM raw.holdings").fetchone() == (0,)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            f'isin,security_name,rating,rated_at\n{SAP},"{"x" * 200_000}",buy,2026-03-02\n',
            "ratings.csv: line 2: a field is longer than 131,072 characters",
        ),
        (
            "isin,security_name,rating,rated_at" + "".join(f",c{i}" for i in range(60_000)),
            "ratings.csv: line 1 (the header row) has no line break in its first 256 KiB",
        ),
        (
            f"isin,security_name,rating,rated_at\r{SAP},SAP SE,buy,2026-03-02\r",
            "ratings.csv: line 1: a line ends in a bare carriage return",
        ),
    ],
    ids=["field-over-the-csv-limit", "endless-header-line", "cr-line-ends"],
)
def test_lines_the_csv_module_cannot_read_are_a_file_fault_naming_the_line(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, content: str, message: str
) -> None:
    drop = write_drop(tmp_path / "inbox", DAY, holdings=[["C1", SAP, 1, 10]])
    (drop / "ratings.csv").write_text(content, encoding="utf-8", newline="")
    with pytest.raises(MalformedFileError) as raised:
        load_drop(con, drop, DAY)
    assert str(raised.value).startswith(message)
    assert MalformedFileError.exit_code == 3


def test_a_file_without_header_row_is_named_without_echoing_its_first_line(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    drop = write_drop(tmp_path / "inbox", DAY, ratings=[], holdings=[["C1", SAP, 1, 10]])
    (drop / "clients.csv").write_text(
        "C1,Zacharias,Geheim,geheim.zacharias@example.com,de,A1,ja\n", encoding="utf-8"
    )
    with pytest.raises(MissingColumnError) as raised:
        load_drop(con, drop, DAY)
    message = str(raised.value)
    assert message.startswith(
        "clients.csv: the first line does not look like a header row: none of the expected "
        "column names (client_id, first_name, "
    )
    for value in ("Zacharias", "Geheim", "geheim.zacharias@example.com"):
        assert value.lower() not in message.lower()


def test_an_unknown_header_name_is_counted_not_echoed(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    drop = write_drop(tmp_path / "inbox", DAY, ratings=[], holdings=[["C1", SAP, 1, 10]])
    write_csv(drop / "clients.csv", ["client_id", "anna@example.com", "email"], [])
    with pytest.raises(MissingColumnError) as raised:
        load_drop(con, drop, DAY)
    assert "(found: client_id, email and 1 other column)" in str(raised.value)
    assert "anna@example.com" not in str(raised.value)


def test_an_unreadable_parquet_file_is_named_without_the_readers_text(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    drop = write_drop(tmp_path / "inbox", DAY, ratings=[], holdings=[["C1", SAP, 1, 10]])
    (drop / "holdings.csv").unlink()
    (drop / "holdings.parquet").write_bytes(b"PAR1 anna@example.com")
    with pytest.raises(MalformedFileError) as raised:
        load_drop(con, drop, DAY)
    assert str(raised.value).startswith("holdings.parquet: not a readable Parquet file (")
    assert str(tmp_path) not in str(raised.value)
