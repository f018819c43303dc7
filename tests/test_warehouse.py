"""The warehouse's transaction helper: a failed rollback never hides the error that
caused it (as a full disk does: DuckDB then has no transaction left to roll back)."""

from __future__ import annotations

import duckdb
import pytest

from flows.errors import DropError
from flows.warehouse import transaction


def test_an_error_inside_rolls_back() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(DropError), transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
        raise DropError("the file is unusable")
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]


def test_the_original_error_wins_when_the_rollback_fails_too() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(DropError, match="the original error"), transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
        # The transaction ends underneath us, as it does when DuckDB gives up on a write:
        # the helper's ROLLBACK then fails with "no transaction is active".
        con.execute("COMMIT")
        raise DropError("the original error")
    with pytest.raises(duckdb.TransactionException):
        con.execute("ROLLBACK")  # what the helper met, and kept to itself
