"""DuckDB SQL expressions that write a value exactly as the Python planning writes it:
``str()`` and ``isoformat()`` of the value a DuckDB column becomes in Python, Python's
``str.strip()``, and orjson's JSON for strings and floats (what
:func:`flows.notify.payloads.to_json` makes). Pure: each function returns SQL text for an
expression given as SQL text.

The byte-for-byte equality with the Python path is tested (tests/notify/test_json_sql.py
and tests/notify/test_plan_sql.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import fields

# Python's str.isspace() characters (what str.strip() removes); a test checks the list
# against the interpreter's.
PYTHON_WHITESPACE = (
    0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
    0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
    0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
)  # fmt: skip
_WHITESPACE = " || ".join(f"chr({code})" for code in PYTHON_WHITESPACE)

# orjson's escapes of the characters below U+0020; DuckDB's to_json writes the same
# except for the hex digits' case (``\u000B`` where orjson writes ``\u000b``).
_SHORT_ESCAPES = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}


class UnsupportedColumnTypeError(ValueError):
    """A mart column of a type the SQL planning does not write like Python would."""


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def python_strip(expr: str) -> str:
    """``str.strip()`` of a VARCHAR. Trimming by a set of characters is slow in DuckDB:
    only a text that starts or ends with a character that may be whitespace (code point
    up to U+0020, or from U+0085 on) is trimmed."""
    first, last = f"unicode({expr})", f"unicode(right({expr}, 1))"
    return (
        f"CASE WHEN {first} BETWEEN 0 AND 32 OR {first} >= 133 OR {last} BETWEEN 0 AND 32 "
        f"OR {last} >= 133 THEN trim({expr}, {_WHITESPACE}) ELSE {expr} END"
    )


def _escaped_by_hand(expr: str) -> str:
    escaped = f"replace(replace({expr}, '\\', '\\\\'), '\"', '\\\"')"
    for code in range(32):
        escape = _SHORT_ESCAPES.get(code, f"\\u{code:04x}")
        escaped = f"replace({escaped}, chr({code}), {sql_literal(escape)})"
    return f"('\"' || {escaped} || '\"')"


def json_string(expr: str) -> str:
    r"""A VARCHAR as orjson writes a ``str`` (``null`` for NULL): DuckDB's ``to_json``,
    whose escapes differ from orjson's only in the case of the hex digits of ``\u00XX``;
    a text whose JSON holds ``\u00`` (a control character, or a backslash before
    ``u00``: rare) is escaped by hand."""
    written = f"CAST(to_json({expr}) AS VARCHAR)"
    return (
        f"coalesce(CASE WHEN contains({written}, '\\u00') THEN {_escaped_by_hand(expr)} "
        f"ELSE {written} END, 'null')"
    )


def json_float(expr: str) -> str:
    """A DOUBLE as orjson writes a ``float`` (``null`` for NULL, NaN and infinities).
    DuckDB's VARCHAR cast writes Python's ``repr``; orjson differs in the exponent: no
    zero padding (``1e-6``, not ``1e-06``), and plain decimals down to 1e-5
    (``0.000012``, where ``repr`` writes ``1.2e-05``)."""
    text = f"CAST({expr} AS VARCHAR)"
    return (
        f"CASE WHEN {expr} IS NULL OR isnan({expr}) OR isinf({expr}) THEN 'null' "
        f"WHEN ends_with({text}, 'e-05') THEN "
        f"(CASE WHEN {expr} < 0 THEN '-' ELSE '' END) || '0.0000' || "
        f"replace(replace(split_part({text}, 'e', 1), '-', ''), '.', '') "
        f"ELSE replace(replace({text}, 'e-0', 'e-'), 'e+0', 'e+') END"
    )


def json_bool(expr: str) -> str:
    return f"CASE WHEN {expr} THEN 'true' ELSE 'false' END"


_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT"}
_INTEGERS |= {"UINTEGER", "UBIGINT", "UHUGEINT"}


def _timestamp(expr: str, separator: str) -> str:
    # datetime.isoformat(): microseconds only when there are any, always six digits.
    return (
        f"strftime({expr}, '%Y-%m-%d{separator}%H:%M:%S') || "
        f"CASE WHEN microsecond({expr}) % 1000000 <> 0 THEN strftime({expr}, '.%f') "
        "ELSE '' END"
    )


def python_text(expr: str, column_type: str, *, iso: bool = False) -> str:
    """``str(value)`` (or, with ``iso``, ``value.isoformat()`` for dates and times) of
    the Python value DuckDB gives for a column of ``column_type``; NULL stays NULL."""
    kind = column_type.upper()
    if kind == "VARCHAR":
        return expr
    if kind in _INTEGERS:
        return f"CAST({expr} AS VARCHAR)"
    decimal = _DECIMAL.fullmatch(kind)
    if decimal and int(decimal.group(2)) <= 6:  # str(Decimal) turns scientific below
        return f"CAST({expr} AS VARCHAR)"
    if kind == "DOUBLE":
        return f"CAST({expr} AS VARCHAR)"  # repr(float)
    if kind == "FLOAT":
        return f"CAST(CAST({expr} AS DOUBLE) AS VARCHAR)"
    if kind == "DATE":
        return f"strftime({expr}, '%Y-%m-%d')"
    if kind == "TIMESTAMP":
        return _timestamp(expr, "T" if iso else " ")
    if kind == "BOOLEAN":
        return f"CASE WHEN {expr} THEN 'True' ELSE 'False' END"
    raise UnsupportedColumnTypeError(f"{expr}: planning cannot write a {column_type} value")


def python_float(expr: str, column_type: str) -> str:
    """``float(value)`` as a DOUBLE."""
    kind = column_type.upper()
    if kind == "DOUBLE":
        return expr
    if kind == "FLOAT" or kind in _INTEGERS or _DECIMAL.fullmatch(kind):
        return f"CAST({expr} AS DOUBLE)"
    raise UnsupportedColumnTypeError(f"{expr}: planning cannot read a {column_type} as a number")


def json_object(cls: type, members: Mapping[str, str | Sequence[str]]) -> str:
    """The JSON of a dataclass ``cls`` as orjson writes it: its fields in the order the
    class defines them (orjson does not sort a dataclass's fields, OPT_SORT_KEYS or
    not), each from ``members`` (field name -> SQL giving the value's JSON text, or
    several SQL texts that together give it: a large value is then copied once). A
    field without SQL, or SQL for no field, is an error: a new field needs its SQL."""
    names = [f.name for f in fields(cls)]
    if set(names) != set(members):
        missing, unknown = set(names) - set(members), set(members) - set(names)
        raise ValueError(f"{cls.__name__}: no SQL for {missing or '-'}, unknown {unknown or '-'}")
    parts = []
    for i, name in enumerate(names):
        parts.append(sql_literal(("{" if i == 0 else ",") + f'"{name}":'))
        member = members[name]
        parts.extend([member] if isinstance(member, str) else member)
    # One concat: a chain of || copies the growing text once per part.
    return f"concat({', '.join(parts)}, '}}')"


_TEXT_TYPES = {"VARCHAR"}


class PythonValues:
    """SQL for what Python makes of the values of a relation's columns (DuckDB gives a
    DECIMAL as a ``Decimal``, a TIMESTAMP as a ``datetime``, ...), by column name."""

    def __init__(self, types: Mapping[str, str]) -> None:
        self.types = {name: kind.upper() for name, kind in types.items()}

    def text(self, name: str, *, iso: bool = False) -> str:
        """``str(value)`` (``isoformat()``), NULL for None."""
        return python_text(name, self.types[name], iso=iso)

    def str_of(self, name: str, *, iso: bool = False) -> str:
        """``str(value)`` as Python writes it, ``'None'`` for None."""
        return f"coalesce({self.text(name, iso=iso)}, 'None')"

    def truthy(self, name: str) -> str:
        """Python's ``bool(value)``."""
        kind = self.types[name]
        if kind in _TEXT_TYPES:
            return f"({name} IS NOT NULL AND {name} <> '')"
        if kind == "BOOLEAN":
            return f"coalesce({name}, false)"
        try:
            python_float(name, kind)
        except UnsupportedColumnTypeError:
            return f"({name} IS NOT NULL)"
        return f"coalesce({name} <> 0, false)"

    def text_or(self, name: str, fallback: str) -> str:
        """``str(value or fallback)``: the value's text when truthy, else ``fallback``."""
        return f"CASE WHEN {self.truthy(name)} THEN {self.text(name)} ELSE {fallback} END"

    def raw_json(self, name: str) -> str:
        """orjson's JSON of the value itself (a ``str`` or None)."""
        if self.types[name] not in _TEXT_TYPES:
            kind = self.types[name]
            raise UnsupportedColumnTypeError(f"{name}: planning expects text, not {kind}")
        return json_string(name)

    def number(self, name: str) -> str:
        """The value as a number to order by (``Decimal(value)``)."""
        python_float(name, self.types[name])  # raises for a column that is no number
        return name
