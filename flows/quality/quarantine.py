"""Moving faulty rows out of the raw layer into ``ops.quarantine``, with their line in
the file, the row as it came and every reason.

The rows are found with the rules' own conditions. To tell the line of a faulty row the
file is read once more, exactly as ingest read it (only when there are faults: loading
never pays for line numbers). Rows whose values could not be read at all (ingest's
``raw.rejected_rows``) join the quarantine with the reader's message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb

from flows.drop_files import DropFile
from flows.ingest.reader import SourceFile
from flows.quality.rules import Rule
from flows.warehouse import transaction

# How the quarantine names the files of the day's intraday batches
# (``intraday/<HHMMSS>/ratings.csv``): files of their own beside the drop's.
BATCH_FILES = "intraday/%"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _reasons(rules: Sequence[Rule], batch: str) -> str:
    cases = ", ".join(
        f"CASE WHEN ({rule.where.format(batch=batch)}) THEN {_sql_string(rule.description)} END"
        for rule in rules
        if rule.where is not None
    )
    return f"list_filter([{cases}], lambda reason: reason IS NOT NULL)"


def _faulty(rules: Sequence[Rule], batch: str) -> str:
    return " OR ".join(f"({rule.where.format(batch=batch)})" for rule in rules if rule.where)


def line_of_loaded_row(position: int, rejected_lines: Sequence[int], header: bool) -> int:
    """The file line of the ``position``-th row that ingest loaded, given the lines it
    rejected (each record on one line; line 1 is the header)."""
    line = position + (1 if header else 0)
    for rejected in rejected_lines:  # sorted: each rejected line before ours pushes it on
        if rejected <= line:
            line += 1
    return line


def quarantine_rows(
    con: duckdb.DuckDBPyConnection,
    drop_date: date,
    source: SourceFile,
    typed_rows_sql: str,
    rules: Sequence[Rule],
    *,
    file_name: str | None = None,
) -> int:
    """Move the rows of ``source`` that break ``rules`` (quarantine rules with a row
    condition) to the quarantine; returns how many rows moved. ``file_name``: how the
    quarantine names a file that is not the drop's own (an intraday batch's
    ``intraday/<HHMMSS>/ratings.csv``; ingest rejected none of its rows)."""
    drop_file: DropFile = source.drop_file
    rules = [r for r in rules if r.where is not None and r.action == "quarantine"]
    if not rules:
        return 0
    columns = ", ".join(f'"{c.name}" := "{c.name}"' for c in drop_file.columns)
    faulty = con.execute(
        f"""
        WITH file_rows AS ({typed_rows_sql}),
        flagged AS (
            SELECT _row, to_json(struct_pack({columns})) AS raw_row,
                   {_reasons(rules, "file_rows")} AS reasons
            FROM file_rows
        )
        SELECT _row, CAST(raw_row AS VARCHAR), reasons FROM flagged WHERE len(reasons) > 0
        ORDER BY _row
        """
    ).fetchall()
    if not faulty:
        return 0
    rejected = (
        []
        if file_name
        else sorted(
            int(row[0])
            for row in con.execute(
                "SELECT DISTINCT line FROM raw.rejected_rows WHERE drop_date = ? "
                "AND file_kind = ? AND line IS NOT NULL",
                [drop_date, drop_file.name],
            ).fetchall()
        )
    )
    header = source.file_format == "csv"
    named = file_name or source.name
    entries = [
        (
            drop_date,
            drop_file.name,
            named,
            line_of_loaded_row(int(row), rejected, header),
            raw,
            reasons,
        )
        for row, raw, reasons in faulty
    ]
    raw_batch = (
        f"(SELECT * FROM {drop_file.table} WHERE _drop_date = DATE '{drop_date.isoformat()}')"
    )
    with transaction(con):
        con.executemany(
            "INSERT INTO ops.quarantine (drop_date, file_kind, file_name, line, raw_row, reasons) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            entries,
        )
        con.execute(
            f"DELETE FROM {drop_file.table} WHERE _drop_date = ? AND ({_faulty(rules, raw_batch)})",
            [drop_date],
        )
    return len(entries)


def quarantine_unreadable(
    con: duckdb.DuckDBPyConnection, drop_date: date, drop_file: DropFile, file_name: str
) -> int:
    """Rows ingest could not read (wrong type, wrong number of fields) join the
    quarantine, one entry per line with every complaint."""
    rows = con.execute(
        """
        INSERT INTO ops.quarantine (drop_date, file_kind, file_name, line, raw_row, reasons)
        SELECT drop_date, file_kind, file_name, line, any_value(raw_row),
               list(CASE error_type
                        WHEN 'CAST' THEN 'unreadable value in ' || column_name
                        WHEN 'MISSING COLUMNS' THEN 'too few fields in the row'
                        WHEN 'TOO MANY COLUMNS' THEN 'too many fields in the row'
                        ELSE lower(error_type) || ' (' || coalesce(column_name, 'row') || ')'
                    END ORDER BY column_name)
        FROM raw.rejected_rows
        WHERE drop_date = ? AND file_kind = ?
        GROUP BY drop_date, file_kind, file_name, line
        """,
        [drop_date, drop_file.name],
    ).fetchall()
    return int(rows[0][0]) if rows else 0


def quarantine_reasons(
    con: duckdb.DuckDBPyConnection, drop_date: date
) -> dict[str, dict[str, int]]:
    """Per file kind of the drop, how many quarantined rows give each reason (a row
    with two faults counts under both). Reasons are the rules' descriptions and the
    reader's column names: never a value of the row."""
    rows = con.execute(
        """
        SELECT file_kind, reason, count(*) AS n
        FROM (SELECT file_kind, unnest(reasons) AS reason FROM ops.quarantine
              WHERE drop_date = ?)
        GROUP BY ALL ORDER BY file_kind, n DESC, reason
        """,
        [drop_date],
    ).fetchall()
    found: dict[str, dict[str, int]] = {}
    for kind, reason, count in rows:
        found.setdefault(str(kind), {})[str(reason)] = int(count)
    return found


def quarantined_in_drop_file(
    con: duckdb.DuckDBPyConnection, drop_date: date, file_kind: str
) -> int:
    """The quarantined rows of the drop's own file of ``file_kind`` (an intraday batch's
    file is another file: its rows do not count here)."""
    row = con.execute(
        "SELECT count(*) FROM ops.quarantine WHERE drop_date = ? AND file_kind = ? "
        "AND file_name NOT LIKE ?",
        [drop_date, file_kind, BATCH_FILES],
    ).fetchall()
    return int(row[0][0]) if row else 0
