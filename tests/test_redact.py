"""Taking personal data out of server replies and DuckDB errors (pure), with real DuckDB
error texts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flows.redact import redact_addresses, redact_database_error


def test_addresses_are_taken_out_of_a_server_reply() -> None:
    assert redact_addresses("550 5.1.1 <anna.ahn+x@example.com>: Recipient rejected") == (
        "550 5.1.1 <address>: Recipient rejected"
    )
    assert redact_addresses("550 user Anna.Ahn@Example.COM unknown, try bert@ex.de") == (
        "550 user <address> unknown, try <address>"
    )
    assert redact_addresses("421 4.7.0 try again later") == "421 4.7.0 try again later"


def _duckdb_error(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    with pytest.raises(duckdb.Error) as raised:
        con.execute(sql).fetchall()
    return str(raised.value)


def test_database_errors_keep_names_and_types_and_lose_values(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE clients (id INTEGER, email VARCHAR PRIMARY KEY)")
    cast = _duckdb_error(con, "SELECT 'anna@example.com'::INTEGER")
    duplicate = _duckdb_error(
        con, "INSERT INTO clients VALUES (1, 'Anna Ahn x'), (2, 'Anna Ahn x')"
    )
    date_field = _duckdb_error(con, "SELECT CAST('Anna Ahn' AS DATE)")
    csv = tmp_path / "clients.csv"
    csv.write_text("id,email\n1,ok\nAnna,anna@example.com\n", encoding="utf-8")
    read = _duckdb_error(
        con,
        f"SELECT * FROM read_csv('{csv}', header=true, columns={{'id': 'INTEGER', "
        "'email': 'VARCHAR'})",
    )
    for raw in (cast, duplicate, date_field, read):
        assert "Anna" in raw or "anna@example.com" in raw  # what DuckDB says today
        redacted = redact_database_error(raw)
        assert "Anna" not in redacted and "anna" not in redacted, redacted
    assert redact_database_error(cast) == (
        "Conversion Error: Could not convert string '<value>' to INT32"
    )
    assert 'duplicate key "<value>"' in redact_database_error(duplicate)
    redacted_read = redact_database_error(read)
    assert "CSV Error on Line: 3" in redacted_read
    assert 'converting column "id"' in redacted_read and "'INTEGER'" in redacted_read
    assert "Original Line: <redacted>" in redacted_read
