"""The ``read_csv`` call that reads a drop file exactly as it was inspected (header,
delimiter, decimal mark, the contract's column types). Ingest loads through it and reads
the loaded rows again through it for the quality gate (``typed_rows_sql``); the intraday
batches look at a batch's file through it."""

from __future__ import annotations

from flows.drop_files import TEXT
from flows.ingest.reader import SourceFile


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def csv_scan(source: SourceFile, rejects: str | None, *, as_text: bool = False) -> str:
    """A ``read_csv`` call that reads ``source`` exactly as inspected. Unreadable rows
    go to the reject table ``rejects``; without one they are skipped the same way.
    ``as_text``: every column as text (to look at how its numbers are written)."""
    types = {c.name: TEXT if as_text else c.type for c in source.drop_file.columns}
    columns = []
    for position, name in enumerate(source.header):
        alias = name if name in types else f"_extra_{position}"
        columns.append(f"{_sql_string(alias)}: {_sql_string(types.get(name, TEXT))}")
    options = [
        "header = true",
        "auto_detect = false",
        f"delim = {_sql_string(source.delimiter)}",
        "quote = '\"'",
        "escape = '\"'",
        f"columns = {{{', '.join(columns)}}}",
    ]
    if rejects is None:
        options.append("ignore_errors = true")
    else:
        options += [
            "store_rejects = true",
            f"rejects_table = {_sql_string(rejects)}",
            f"rejects_scan = {_sql_string(rejects + '_scan')}",
        ]
    if source.decimal_comma:
        options += ["decimal_separator = ','", "thousands = '.'"]
    return f"read_csv({_sql_string(str(source.path))}, {', '.join(options)})"
