"""Loading one drop folder into the raw tables.

All of a drop goes in one transaction: either every file of the drop is loaded or none
is. Loading a drop again replaces that drop's rows (nothing is duplicated); a file
whose content (SHA-256) is unchanged since it was last loaded is left as it is.
Values that cannot be read as their column's type (``abc`` as a quantity, a row with
too few fields) are not loaded; they are kept in ``raw.rejected_rows`` with file, line,
column and the row as it came, and counted in the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import duckdb

from flows.drop_files import DROP_FILES, LINEAGE_COLUMNS, DropFile
from flows.errors import DropError, MalformedFileError
from flows.ingest.csv_scan import csv_scan as _csv_scan
from flows.ingest.decimal_mark import count_forms, decide_decimal_comma
from flows.ingest.reader import (
    SourceFile,
    find_source_file,
    inspect_csv,
    inspect_parquet,
    numeric_columns,
    sha256_of,
)
from flows.warehouse import ensure_schema, first_row, transaction

# Bump when the way files are read changes, so that unchanged files are read again.
LOADER_VERSION = 2
_DROP_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class FileLoad:
    file_kind: str
    file_name: str
    file_format: str
    sha256: str
    rows_loaded: int
    rows_rejected: int
    unchanged: bool = False


@dataclass(frozen=True)
class DropLoad:
    drop_date: date
    drop_dir: Path
    files: tuple[FileLoad, ...] = field(default_factory=tuple)

    def rows_loaded(self, kind: str) -> int:
        return sum(f.rows_loaded for f in self.files if f.file_kind == kind)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def drop_dir_for(inbox: Path, drop_date: date) -> Path:
    return inbox / drop_date.isoformat()


def inspect_drop(con: duckdb.DuckDBPyConnection, drop_dir: Path) -> list[SourceFile]:
    """Find and check every file of the drop (names, columns) before anything loads."""
    if not drop_dir.is_dir():
        raise DropError(f"Drop folder {drop_dir} does not exist (expected <inbox>/YYYY-MM-DD/).")
    sources: list[SourceFile] = []
    for drop_file in DROP_FILES:
        path = find_source_file(drop_dir, drop_file)
        if path is not None:
            sources.append(inspect_source(con, drop_file, path))
    return sources


def inspect_source(con: duckdb.DuckDBPyConnection, drop_file: DropFile, path: Path) -> SourceFile:
    """One file of a drop checked (names, columns, decimal mark) before anything loads."""
    if path.suffix == ".parquet":
        try:
            described = con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({_sql_string(str(path))})"
            ).fetchall()
        except duckdb.Error as exc:
            raise MalformedFileError(
                f"{path.name}: not a readable Parquet file ({type(exc).__name__})."
            ) from None
        return inspect_parquet(drop_file, path, [str(row[0]) for row in described])
    return _with_decimal_mark(con, inspect_csv(drop_file, path))


def _with_decimal_mark(con: duckdb.DuckDBPyConnection, source: SourceFile) -> SourceFile:
    """A comma-delimited file writes a decimal point; any other one is asked, in one
    scan of its numeric columns (:mod:`flows.ingest.decimal_mark`)."""
    columns = numeric_columns(source)
    if source.delimiter == "," or not columns:
        return source
    try:
        forms = count_forms(con, _csv_scan(source, None, as_text=True), columns)
    except duckdb.Error as exc:
        raise MalformedFileError(f"{source.name}: {describe_reader_error(exc)}") from None
    return replace(source, decimal_comma=decide_decimal_comma(source.name, forms))


def describe_reader_error(exc: duckdb.Error) -> str:
    """What DuckDB's reader could not do, without its message: that quotes the line it
    choked on (a client's name, address or position) and the path of the file."""
    line = re.search(r"\bline:? (\d+)", str(exc), flags=re.IGNORECASE)
    where = f"line {line.group(1)}: " if line else ""
    return (
        f"{where}cannot be read ({type(exc).__name__}); check that it is UTF-8 CSV with one "
        "record per line and a header row, or a Parquet file"
    )


def typed_rows_sql(con: duckdb.DuckDBPyConnection, source: SourceFile, drop_date: date) -> str:
    """The file's rows read again exactly as ingest loaded them (same columns, types and
    skipped rows), with ``_drop_date`` and ``_row``: the row's position among the rows
    loaded (CSV, counting from 1) or in the file (Parquet, from 1). The quarantine uses
    it to tell the line of a faulty row."""
    drop_file = source.drop_file
    day = f"DATE {_sql_string(drop_date.isoformat())}"
    if source.file_format == "parquet":
        parquet = _parquet_projection(con, source)
        columns = [f'{parquet.casts[c.name]} AS "{c.name}"' for c in drop_file.columns]
        return (
            f"SELECT {', '.join(columns)}, {day} AS _drop_date, file_row_number + 1 AS _row "
            f"FROM {parquet.scan} WHERE NOT ({parquet.bad_row})"
        )
    columns = [
        f'"{c.name}"' if c.name in source.header else f'CAST(NULL AS {c.type}) AS "{c.name}"'
        for c in drop_file.columns
    ]
    return (
        f"SELECT {', '.join(columns)}, {day} AS _drop_date, row_number() OVER () AS _row "
        f"FROM {_csv_scan(source, None)}"
    )


def _lineage_values(drop_date: date, source: SourceFile) -> list[str]:
    return [f"DATE {_sql_string(drop_date.isoformat())}", _sql_string(source.name)]


def _insert_csv(
    con: duckdb.DuckDBPyConnection, source: SourceFile, drop_date: date
) -> tuple[int, int]:
    drop_file = source.drop_file
    rejects = f"votum_rejects_{drop_file.name}"
    selected = [
        f'"{c.name}"' if c.name in source.header else f"CAST(NULL AS {c.type})"
        for c in drop_file.columns
    ]
    target = [f'"{c.name}"' for c in drop_file.columns] + [n for n, _ in LINEAGE_COLUMNS]
    values = selected + _lineage_values(drop_date, source)
    loaded = first_row(
        con.execute(
            f"INSERT INTO {drop_file.table} ({', '.join(target)}) "
            f"SELECT {', '.join(values)} FROM {_csv_scan(source, rejects)}"
        )
    )
    # One row per fault: a line with two unreadable values is listed twice.
    con.execute(
        f"""
        INSERT INTO raw.rejected_rows
        SELECT DATE {_sql_string(drop_date.isoformat())}, {_sql_string(drop_file.name)},
               {_sql_string(source.name)}, line, column_name, CAST(error_type AS VARCHAR),
               error_message, csv_line
        FROM {rejects}
        """
    )
    rejected = first_row(con.execute(f"SELECT count(DISTINCT line) FROM {rejects}"))
    con.execute(f"DROP TABLE IF EXISTS {rejects}")
    con.execute(f"DROP TABLE IF EXISTS {rejects}_scan")
    return (int(loaded[0]) if loaded else 0, int(rejected[0]) if rejected else 0)


@dataclass(frozen=True)
class _ParquetProjection:
    scan: str
    casts: dict[str, str]  # column -> typed expression
    bad_row: str  # true for a row with a value that cannot be read as its type
    first_bad_column: str
    raw_row: str  # the row as it came, as JSON


def _parquet_projection(con: duckdb.DuckDBPyConnection, source: SourceFile) -> _ParquetProjection:
    drop_file = source.drop_file
    # Parquet columns may be named in any case; select them by their own names.
    actual = {name.lower(): name for name in _parquet_names(con, source)}
    casts = {
        c.name: (
            f'TRY_CAST("{actual[c.name]}" AS {c.type})'
            if c.name in actual
            else f"CAST(NULL AS {c.type})"
        )
        for c in drop_file.columns
    }
    failures = [
        (c.name, f'"{actual[c.name]}" IS NOT NULL AND {casts[c.name]} IS NULL')
        for c in drop_file.columns
        if c.name in actual
    ]
    return _ParquetProjection(
        scan=f"read_parquet({_sql_string(str(source.path))}, file_row_number = true)",
        casts=casts,
        bad_row=" OR ".join(f"({cond})" for _, cond in failures) or "false",
        first_bad_column=(
            "CASE "
            + " ".join(f"WHEN {cond} THEN {_sql_string(name)}" for name, cond in failures)
            + " END"
            if failures
            else "NULL"
        ),
        raw_row=(
            "to_json(struct_pack("
            + ", ".join(
                f'"{c.name}" := "{actual[c.name]}"' for c in drop_file.columns if c.name in actual
            )
            + "))"
        ),
    )


def _insert_parquet(
    con: duckdb.DuckDBPyConnection, source: SourceFile, drop_date: date
) -> tuple[int, int]:
    drop_file = source.drop_file
    parquet = _parquet_projection(con, source)
    target = [f'"{c.name}"' for c in drop_file.columns] + [n for n, _ in LINEAGE_COLUMNS]
    values = [parquet.casts[c.name] for c in drop_file.columns] + _lineage_values(drop_date, source)
    loaded = first_row(
        con.execute(
            f"INSERT INTO {drop_file.table} ({', '.join(target)}) "
            f"SELECT {', '.join(values)} FROM {parquet.scan} WHERE NOT ({parquet.bad_row})"
        )
    )
    rejected = first_row(
        con.execute(
            f"""
        INSERT INTO raw.rejected_rows
        SELECT DATE {_sql_string(drop_date.isoformat())}, {_sql_string(drop_file.name)},
               {_sql_string(source.name)}, file_row_number + 1, {parquet.first_bad_column},
               'CAST', 'Error when converting column "' || {parquet.first_bad_column}
               || '" to its type', CAST({parquet.raw_row} AS VARCHAR)
        FROM {parquet.scan} WHERE {parquet.bad_row}
        """
        )
    )
    return (int(loaded[0]) if loaded else 0, int(rejected[0]) if rejected else 0)


def _parquet_names(con: duckdb.DuckDBPyConnection, source: SourceFile) -> list[str]:
    rows = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet({_sql_string(str(source.path))})"
    ).fetchall()
    return [str(r[0]).strip() for r in rows]


def _drop_only(drop_file: DropFile) -> str:
    """The condition that keeps the day's intraday batches (``_batch``) when the morning
    drop's ratings are loaded again or taken out: those are batches of their own."""
    return " AND _batch IS NULL" if drop_file.name == "ratings" else ""


def _forget_file(con: duckdb.DuckDBPyConnection, drop_file: DropFile, drop_date: date) -> None:
    day = _sql_string(drop_date.isoformat())
    kept = _drop_only(drop_file)
    con.execute(f"DELETE FROM {drop_file.table} WHERE _drop_date = DATE {day}{kept}")
    con.execute(
        f"DELETE FROM raw.rejected_rows WHERE drop_date = DATE {day} AND file_kind = ?",
        [drop_file.name],
    )
    con.execute(
        f"DELETE FROM raw.drop_files WHERE drop_date = DATE {day} AND file_kind = ?",
        [drop_file.name],
    )


def _previous_load(
    con: duckdb.DuckDBPyConnection, drop_file: DropFile, drop_date: date, source: SourceFile
) -> tuple[str, int, int] | None:
    """sha256, rows loaded and rejected of the same file loaded before by this loader."""
    row = first_row(
        con.execute(
            """
        SELECT sha256, rows_loaded, rows_rejected FROM raw.drop_files
        WHERE drop_date = ? AND file_kind = ? AND file_name = ? AND size_bytes = ?
          AND loader_version = ?
        """,
            [drop_date, drop_file.name, source.name, source.path.stat().st_size, LOADER_VERSION],
        )
    )
    return (str(row[0]), int(row[1]), int(row[2])) if row else None


def _prune_holdings(con: duckdb.DuckDBPyConnection, keep_drops: int) -> None:
    """Keep the newest ``keep_drops`` holdings snapshots in the raw layer."""
    con.execute(
        """
        DELETE FROM raw.holdings WHERE _drop_date < (
            SELECT min(drop_date) FROM (
                SELECT drop_date FROM raw.drop_files WHERE file_kind = 'holdings'
                ORDER BY drop_date DESC LIMIT ?
            )
        ) AND (SELECT count(*) FROM raw.drop_files WHERE file_kind = 'holdings') > ?
        """,
        [keep_drops, keep_drops],
    )


def load_drop(
    con: duckdb.DuckDBPyConnection,
    drop_dir: Path,
    drop_date: date,
    *,
    holdings_retention_drops: int = 30,
    on_file: Callable[[int], None] | None = None,
) -> DropLoad:
    """Load the drop in ``drop_dir`` (for business day ``drop_date``) into ``raw.*``;
    ``on_file(1)`` is called as each file's turn comes (a progress bar)."""
    if not _DROP_FOLDER.match(drop_dir.name):
        raise DropError(f"{drop_dir}: a drop folder is named after its date, YYYY-MM-DD.")
    ensure_schema(con)
    sources = inspect_drop(con, drop_dir)
    loads: list[FileLoad] = []
    # Hashing a large file takes a few tenths of a second: it runs beside the load.
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashes = {s.path: pool.submit(sha256_of, s.path) for s in sources}
        by_kind = {s.drop_file.name: s for s in sources}
        con.execute("SET preserve_insertion_order = false")
        with transaction(con):
            for drop_file in DROP_FILES:
                if on_file is not None:
                    on_file(1)
                source = by_kind.get(drop_file.name)
                if source is None:
                    _forget_file(con, drop_file, drop_date)
                    continue
                previous = _previous_load(con, drop_file, drop_date, source)
                if previous is not None and previous[0] == hashes[source.path].result():
                    sha, loaded, rejected = previous
                    loads.append(
                        FileLoad(
                            drop_file.name,
                            source.name,
                            source.file_format,
                            sha,
                            loaded,
                            rejected,
                            True,
                        )
                    )
                    continue
                _forget_file(con, drop_file, drop_date)
                insert = _insert_parquet if source.file_format == "parquet" else _insert_csv
                try:
                    loaded, rejected = insert(con, source, drop_date)
                except duckdb.Error as exc:
                    raise MalformedFileError(
                        f"{source.name}: {describe_reader_error(exc)}"
                    ) from None
                sha = hashes[source.path].result()
                con.execute(
                    "INSERT INTO raw.drop_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        drop_date,
                        drop_file.name,
                        source.name,
                        source.file_format,
                        sha,
                        source.path.stat().st_size,
                        loaded,
                        rejected,
                        LOADER_VERSION,
                        datetime.now(),
                    ],
                )
                loads.append(
                    FileLoad(drop_file.name, source.name, source.file_format, sha, loaded, rejected)
                )
            _prune_holdings(con, holdings_retention_drops)
    return DropLoad(drop_date, drop_dir, tuple(loads))


def unload_drop(con: duckdb.DuckDBPyConnection, drop_date: date) -> None:
    """Take a drop out of the raw layer again (a file fault was found after loading):
    the next run of the day loads it from scratch."""
    day = _sql_string(drop_date.isoformat())
    with transaction(con):
        for drop_file in DROP_FILES:
            kept = _drop_only(drop_file)
            con.execute(f"DELETE FROM {drop_file.table} WHERE _drop_date = DATE {day}{kept}")
        con.execute(f"DELETE FROM raw.rejected_rows WHERE drop_date = DATE {day}")
        con.execute(f"DELETE FROM raw.drop_files WHERE drop_date = DATE {day}")
