"""The warehouse's transaction helper: a failed rollback never hides the error that
caused it (as a full disk does: DuckDB then has no transaction left to roll back). A
warehouse held open for a run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flows.errors import DropError, WarehouseError
from flows.warehouse import (
    held_warehouse,
    let_go_of_warehouse,
    open_warehouse,
    out_of_memory_explained,
    transaction,
)


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


def test_a_held_warehouse_is_opened_once_and_let_go_of_for_other_libraries(
    tmp_path: Path,
) -> None:
    path = tmp_path / "warehouse.duckdb"
    with held_warehouse(path):
        with open_warehouse(path) as con:
            con.execute("CREATE TABLE t AS SELECT 1 AS x")
        # Another cursor of the same database sees it; read-only requests get one too.
        with open_warehouse(path, read_only=True) as con:
            assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
        # A connection with settings of its own (dbt's, Great Expectations') is refused
        # beside the held one, and works once the warehouse is let go of.
        with pytest.raises(duckdb.ConnectionException, match="different configuration"):
            duckdb.connect(str(path), config={"threads": 1})
        with let_go_of_warehouse(path), duckdb.connect(str(path), config={"threads": 1}) as other:
            other.execute("INSERT INTO t VALUES (2)")
        with open_warehouse(path) as con:
            assert con.execute("SELECT sum(x) FROM t").fetchall() == [(3,)]
    # Released at the end: another process can open the file again.
    probe = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(path)!r}).close()"],
        capture_output=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr


def _memory_limit(path: Path) -> str:
    with open_warehouse(path) as con:
        return str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def test_a_held_warehouse_keeps_its_memory_limit_after_being_let_go_of(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with held_warehouse(path, memory_limit="300MB"):
        assert _memory_limit(path) == "286.1 MiB"  # 300 MB as DuckDB reports it
        with let_go_of_warehouse(path):
            pass
        assert _memory_limit(path) == "286.1 MiB"
    with held_warehouse(path):
        assert _memory_limit(path) != "286.1 MiB"  # DuckDB's own default


def test_running_out_of_memory_names_the_stage_and_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with held_warehouse(path, memory_limit="20MB"), open_warehouse(path) as con:
        con.execute("SET temp_directory = ''")  # nowhere to spill to
        with (
            pytest.raises(WarehouseError) as raised,
            out_of_memory_explained("plan"),
        ):
            con.execute("SELECT list(i) FROM range(20000000) AS t(i)").fetchall()
    message = str(raised.value)
    assert message.startswith("Stage plan ran out of memory in DuckDB")
    assert "(VOTUM_WAREHOUSE_MEMORY_LIMIT is 20MB)" in message
    assert "Raise VOTUM_WAREHOUSE_MEMORY_LIMIT" in message
