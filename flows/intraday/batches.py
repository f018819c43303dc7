"""Intraday batches: ``<inbox>/<YYYY-MM-DD>/intraday/<HHMMSS>/ratings.csv`` (or
``.parquet``), named by its delivery time in Europe/Berlin, the same columns and the same
completion marker as a drop. A batch's rows go to ``raw.ratings`` with the day as
``_drop_date`` and the batch as ``_batch``; ``ops.intraday_batches`` lists the batches
processed, so that nothing of a batch is processed twice."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from flows.drop_files import DROP_FILES, DROP_FILES_BY_NAME
from flows.errors import DropError, MalformedFileError, MissingFileError, RunRefusedError
from flows.ingest.csv_scan import csv_scan
from flows.ingest.loader import FileLoad, inspect_source, typed_rows_sql
from flows.ingest.reader import SourceFile, sha256_of
from flows.warehouse import ensure_schema, first_row, transaction

INTRADAY_FOLDER = "intraday"
_BATCH_FOLDER = re.compile(r"^([01]\d|2[0-3])[0-5]\d[0-5]\d$")
_RATINGS = DROP_FILES_BY_NAME["ratings"]


@dataclass(frozen=True)
class Batch:
    day: date
    batch_id: str  # HHMMSS, the delivery time in Europe/Berlin
    folder: Path

    @property
    def label(self) -> str:
        """How messages name the batch: its folder under the inbox."""
        return f"{self.day.isoformat()}/{INTRADAY_FOLDER}/{self.batch_id}"

    def source_file(self, file_name: str) -> str:
        """The lineage of its rows in ``raw.ratings._source_file``."""
        return f"{INTRADAY_FOLDER}/{self.batch_id}/{file_name}"


def find_batches(inbox: Path, day: date) -> list[Batch]:
    """The day's batch folders in delivery order; a folder not named HHMMSS is refused
    (a typo would otherwise be skipped for good)."""
    root = inbox / day.isoformat() / INTRADAY_FOLDER
    if not root.is_dir():
        return []
    batches = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if not _BATCH_FOLDER.match(folder.name):
            raise DropError(
                f"{day.isoformat()}/{INTRADAY_FOLDER}/{folder.name}: a batch folder is named "
                "after its delivery time in Europe/Berlin, HHMMSS (e.g. 101500)."
            )
        batches.append(Batch(day, folder.name, folder))
    return batches


_BATCHES_DDL = """
CREATE TABLE IF NOT EXISTS ops.intraday_batches (
    business_day DATE NOT NULL,
    batch_id VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    rows_loaded BIGINT NOT NULL,
    outcome VARCHAR NOT NULL,
    processed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (business_day, batch_id)
)
"""


def ensure_batch_table(con: duckdb.DuckDBPyConnection) -> None:
    ensure_schema(con)
    con.execute(_BATCHES_DDL)


def processed_batches(con: duckdb.DuckDBPyConnection, day: date) -> set[str]:
    ensure_batch_table(con)
    rows = con.execute(
        "SELECT batch_id FROM ops.intraday_batches WHERE business_day = ?", [day]
    ).fetchall()
    return {str(row[0]) for row in rows}


def mark_processed(
    con: duckdb.DuckDBPyConnection, batch: Batch, load: FileLoad, outcome: str
) -> None:
    ensure_batch_table(con)
    con.execute(
        "INSERT INTO ops.intraday_batches (business_day, batch_id, file_name, sha256, "
        "rows_loaded, outcome) VALUES (?, ?, ?, ?, ?, ?)",
        [batch.day, batch.batch_id, load.file_name, load.sha256, load.rows_loaded, outcome],
    )


def require_morning_run(con: duckdb.DuckDBPyConnection, day: date) -> None:
    """Holdings, clients and advisors of a batch are the morning drop's: that drop must
    have been run (built and planned) first."""
    row = first_row(
        con.execute(
            "SELECT count(*) FROM ops.run_ledger WHERE flow = 'daily-run' AND run_date = ? "
            "AND outcome IN ('succeeded', 'held', 'degraded')",
            [day],
        )
    )
    if not row or not row[0]:
        raise RunRefusedError(
            f"Intraday batches of {day} refused: the morning drop of {day} has not been run "
            "yet (its holdings, clients and advisors are the batches' too). Run "
            f"`votum run --date {day}` first."
        )


def batch_source(con: duckdb.DuckDBPyConnection, batch: Batch) -> SourceFile:
    """The batch's ratings file, checked (name, columns); nothing else may be in it."""
    others = [
        name
        for drop_file in DROP_FILES
        if drop_file.name != _RATINGS.name
        for name in drop_file.file_names()
        if (batch.folder / name).is_file()
    ]
    if others:
        raise DropError(
            f"{batch.label}/{others[0]}: a batch delivers ratings only; holdings, "
            "clients and advisors are the morning drop's."
        )
    found = [name for name in _RATINGS.file_names() if (batch.folder / name).is_file()]
    if not found:
        raise MissingFileError(f"{batch.label}: no ratings.csv or ratings.parquet in the batch.")
    if len(found) > 1:
        raise MalformedFileError(
            f"{batch.label}: both {found[0]} and {found[1]} are present; a batch holds one "
            "of them. Remove the one that is not meant."
        )
    return inspect_source(con, _RATINGS, batch.folder / found[0])


def _rows_in_file(con: duckdb.DuckDBPyConnection, source: SourceFile) -> int:
    if source.file_format == "parquet":
        scan = f"read_parquet('{_escaped(source.path)}')"
    else:
        scan = csv_scan(source, None, as_text=True)
    row = first_row(con.execute(f"SELECT count(*) FROM {scan}"))
    return int(row[0]) if row else 0


def _escaped(path: Path) -> str:
    return str(path).replace("'", "''")


def load_batch(con: duckdb.DuckDBPyConnection, batch: Batch, source: SourceFile) -> FileLoad:
    """The batch's rows into ``raw.ratings`` (replacing an earlier load of the same
    batch). A row that cannot be read as its column's type is a file fault: a batch is
    small and urgent, and a corrected file is quicker than a partial alert."""
    ensure_batch_table(con)
    typed = typed_rows_sql(con, source, batch.day)
    columns = ", ".join(f'"{c.name}"' for c in _RATINGS.columns)
    try:
        with transaction(con):
            con.execute(
                "DELETE FROM raw.ratings WHERE _drop_date = ? AND _batch = ?",
                [batch.day, batch.batch_id],
            )
            loaded = first_row(
                con.execute(
                    f"INSERT INTO raw.ratings ({columns}, _drop_date, _source_file, _batch) "
                    f"SELECT {columns}, _drop_date, ?, ? FROM ({typed})",
                    [batch.source_file(source.name), batch.batch_id],
                )
            )
            rows_loaded = int(loaded[0]) if loaded else 0
            in_file = _rows_in_file(con, source)
            if rows_loaded != in_file:
                raise MalformedFileError(
                    f"{batch.label}/{source.name}: {in_file - rows_loaded} of {in_file} rows "
                    "cannot be read as their column's type; nothing of the batch was kept. "
                    "Deliver the file corrected; the next `votum intraday` takes it."
                )
    except duckdb.Error as exc:
        raise MalformedFileError(
            f"{batch.label}/{source.name}: cannot be read ({type(exc).__name__})."
        ) from None
    return FileLoad(
        _RATINGS.name, source.name, source.file_format, sha256_of(source.path), rows_loaded, 0
    )


def unload_batch(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """Take a batch out of the raw layer again (its gate found a file fault)."""
    con.execute(
        "DELETE FROM raw.ratings WHERE _drop_date = ? AND _batch = ?", [batch.day, batch.batch_id]
    )
