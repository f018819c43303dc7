"""Whether a semicolon (or tab, pipe) delimited file writes a decimal comma.

A German export writes ``1.234,56``; an English one ``1234.56``. ``1.500`` alone says
nothing: 1500 with a thousands dot, or 1.5. A sample cannot decide it (the first
thousand rows may hold only such values), so the whole of every numeric column is read
once, in one DuckDB scan of the file, and each column's values are counted by form.
The file's decimal mark is the one its columns show; a column that shows both, or
columns that disagree, or a file whose numbers are all ambiguous is a file fault naming
the file and the column(s), never a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from flows.errors import MalformedFileError

# RE2 patterns for DuckDB's regexp_full_match, on the trimmed text of a value.
COMMA_DECIMAL = r"[+-]?(\d{1,3}(\.\d{3})*|\d+),\d+"  # 1.234,56  570,15
POINT_DECIMAL = r"[+-]?\d*\.\d+"  # 1234.56  .5  (1.500 too: see DOTTED_INTEGER)
DOTTED_INTEGER = r"[+-]?\d{1,3}(\.\d{3})+"  # 1.500  12.345.678: thousands or decimals?


@dataclass(frozen=True)
class NumberForms:
    """How many values of one column are written in each form."""

    column: str
    comma_decimals: int = 0
    point_decimals: int = 0  # a decimal point that cannot be a thousands dot
    dotted_integers: int = 0


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _form(column: str) -> str:
    """The form of one value: 'c' decimal comma, 'p' decimal point, 'd' dotted integer,
    NULL for anything else (an integer, an empty or unreadable value). The cheap
    ``contains`` tests go first: a pattern is matched only on values with a mark."""
    value = f'trim("{column}")'
    return (
        f"CASE WHEN contains({value}, ',') THEN "
        f"CASE WHEN regexp_full_match({value}, {_sql_string(COMMA_DECIMAL)}) THEN 'c' END "
        f"WHEN contains({value}, '.') THEN "
        f"CASE WHEN regexp_full_match({value}, {_sql_string(DOTTED_INTEGER)}) THEN 'd' "
        f"WHEN regexp_full_match({value}, {_sql_string(POINT_DECIMAL)}) THEN 'p' END END"
    )


def count_forms_sql(scan: str, columns: Sequence[str]) -> str:
    """One query over ``scan`` (the file read as text) counting each column's forms."""
    forms = ", ".join(f'{_form(column)} AS "{column}"' for column in columns)
    parts = [f"count_if(\"{column}\" = '{form}')" for column in columns for form in ("c", "p", "d")]
    return f"SELECT {', '.join(parts)} FROM (SELECT {forms} FROM {scan})"


def count_forms(
    con: duckdb.DuckDBPyConnection, scan: str, columns: Sequence[str]
) -> list[NumberForms]:
    row = con.execute(count_forms_sql(scan, columns)).fetchone()
    counts = [int(n or 0) for n in (row or ())]
    return [
        NumberForms(column, *counts[3 * i : 3 * i + 3])  # type: ignore[arg-type]
        for i, column in enumerate(columns)
    ]


def decide_decimal_comma(file_name: str, forms: Sequence[NumberForms]) -> bool:
    """True for a file written with a decimal comma; a file fault when it cannot tell."""
    comma = [f.column for f in forms if f.comma_decimals]
    point = [f.column for f in forms if f.point_decimals]
    both = [c for c in comma if c in point]
    if both:
        raise MalformedFileError(
            f"{file_name}: column {', '.join(both)} holds numbers with a decimal comma "
            "and numbers with a decimal point; a file uses one decimal mark."
        )
    if comma and point:
        raise MalformedFileError(
            f"{file_name}: column {', '.join(comma)} uses a decimal comma, column "
            f"{', '.join(point)} a decimal point; a file uses one decimal mark."
        )
    if comma:
        return True
    if point:
        return False
    dotted = [f.column for f in forms if f.dotted_integers]
    if dotted:
        raise MalformedFileError(
            f"{file_name}: column {', '.join(dotted)} is ambiguous: its numbers with a dot "
            "all have three digits after it (like 1.500), which may be a thousands dot "
            "(German export) or a decimal point, and no number of the file tells which. "
            "Export the numbers with their decimal places (1.500,00) or with a comma "
            "as the delimiter."
        )
    return False
