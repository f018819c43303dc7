"""The SQL that writes values as Python does: orjson's strings and floats, str() and
isoformat(), str.strip(), the address rule, a dataclass's JSON in field order."""

from __future__ import annotations

import random
import struct
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import orjson
import pytest

from flows.notify.addresses import address_problem
from flows.notify.json_sql import (
    PYTHON_WHITESPACE,
    UnsupportedColumnTypeError,
    json_float,
    json_object,
    json_string,
    python_strip,
    python_text,
)
from flows.notify.plan_sql import address_problem as address_problem_sql
from flows.notify.plan_sql import address_usable


def each(expression: str, values: list[Any], column_type: str) -> list[Any]:
    """``expression`` (of ``v``) for each value, in order."""
    return [
        row[0]
        for row in duckdb.connect()
        .execute(
            f"SELECT {expression} FROM (SELECT unnest(CAST(? AS {column_type}[])) AS v, "
            f"generate_subscripts(CAST(? AS {column_type}[]), 1) AS i) ORDER BY i",
            [values, values],
        )
        .fetchall()
    ]


def awkward_texts(count: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    alphabet = [chr(i) for i in range(128)] + list("äöüß€\u2028\u2029\ufeff😀\x85\xa0\u212a")
    alphabet += ["\\u00", "\\u000B", '\\"']
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(count)]


def test_strings_are_written_as_orjson_writes_them() -> None:
    values: list[Any] = [*awkward_texts(5000), None, "", "\x0b", "a\x00b", "\\u000B"]
    assert each(json_string("v"), values, "VARCHAR") == [orjson.dumps(v).decode() for v in values]


def test_floats_are_written_as_orjson_writes_them() -> None:
    rng = random.Random(5)
    values = [0.5, 1.0, 0.0, -0.0, 1e-5, -1e-5, 2.5e-5, 9.999999999999999e-06, 1e-4, 1e16]
    values += [1e22, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, 1 / 3, 123456789012345678.0]
    values += [rng.random() ** rng.randint(1, 60) for _ in range(3000)]
    values += [rng.uniform(1e-6, 1e-4) * rng.choice([1, -1]) for _ in range(3000)]
    values += [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(3000)]
    values += [float("nan"), float("inf"), -float("inf")]
    written = each(json_float("v"), [*values, None], "DOUBLE")
    assert written == [orjson.dumps(v).decode() for v in [*values, None]]


def test_python_strip_strips_what_str_strip_strips() -> None:
    assert tuple(c for c in range(sys.maxunicode + 1) if chr(c).isspace()) == PYTHON_WHITESPACE
    spaces = "".join(map(chr, PYTHON_WHITESPACE))
    values = [f"{left}{text}{right}" for text in awkward_texts(500) for left, right in
              (("", ""), (" ", spaces), (spaces, "\u3000"), ("\x1f", "x"))]  # fmt: skip
    values += ["", spaces, "\u3000a b\u3000", "a\u200bb"]
    assert each(python_strip("v"), values, "VARCHAR") == [v.strip() for v in values]


@pytest.mark.parametrize(
    ("column_type", "values"),
    [
        ("DECIMAL(18,2)", [Decimal("0.00"), Decimal("-1.50"), Decimal("99999999.99")]),
        ("DECIMAL(18,4)", [Decimal("0.0001"), Decimal("10.0000"), Decimal("-0.0000")]),
        ("DECIMAL(38,6)", [Decimal("0.000001"), Decimal("123456789012.123456")]),
        ("BIGINT", [0, -5, 2**62]),
        ("DOUBLE", [0.1, 1e-05, 1e16, 123.0, -0.0]),
        ("BOOLEAN", [True, False]),
        ("DATE", [date(2026, 3, 4), date(1, 1, 1), date(999, 12, 31)]),
    ],
)
def test_python_text_is_str(column_type: str, values: list[Any]) -> None:
    as_python = [  # the values as DuckDB gives them to Python
        row[0]
        for row in duckdb.connect()
        .execute(f"SELECT unnest(CAST(? AS {column_type}[]))", [values])
        .fetchall()
    ]
    written = each(python_text("v", column_type), values, column_type)
    assert written == [str(v) for v in as_python]


def test_timestamps_are_written_as_isoformat_and_str() -> None:
    rng = random.Random(9)
    values = [
        datetime(2026, 3, 4, 8, 15),
        datetime(2026, 3, 4, 8, 15, 0, 120000),
        datetime(1, 1, 1),
    ]
    values += [datetime(2000, 1, 1) + timedelta(microseconds=rng.randint(0, 10**16)) for _ in range(2000)]  # fmt: skip
    assert each(python_text("v", "TIMESTAMP", iso=True), values, "TIMESTAMP") == [
        v.isoformat() for v in values
    ]
    assert each(python_text("v", "TIMESTAMP"), values, "TIMESTAMP") == [str(v) for v in values]


def test_other_types_are_refused() -> None:
    with pytest.raises(UnsupportedColumnTypeError, match="TIMESTAMP WITH TIME ZONE"):
        python_text("v", "TIMESTAMP WITH TIME ZONE")
    with pytest.raises(UnsupportedColumnTypeError):
        python_text("v", "DECIMAL(38,10)")  # str(Decimal) turns scientific


def test_the_address_rule_is_the_python_rule() -> None:
    values = [
        "a@b.de", "A.B+c@sub.example.org", "", " a@b.de", "a@b.de\n", "a\r@b.de", "a\x00@b.de",
        "bad@@x.de", "a@b", "a@b.d", "a@-b.de", "a@b-.de", "a..b@c.de", ".a@b.de", "ä@b.de",
        "a@b.de\u3000", "x" * 243 + "@example.com", "x" * 242 + "@example.com", "\u212a@b.de",
        "a@b.c0m", "a@b.com.", "$&*+/=?^_`{|}~-@x.io", "a b@c.de", "😀@x.de",
    ]  # fmt: skip
    values += awkward_texts(2000, seed=11)
    assert each(address_problem_sql("v"), values, "VARCHAR") == [address_problem(v) for v in values]
    assert each(address_usable("v"), values, "VARCHAR") == [
        address_problem(v) is None for v in values
    ]


@dataclass(frozen=True)
class Point:
    b: str
    a: float | None


def test_json_object_follows_the_field_order_and_wants_every_field() -> None:
    sql = json_object(Point, {"a": json_float("0.5"), "b": json_string("'x\"'")})
    (written,) = duckdb.connect().execute(f"SELECT {sql}").fetchone() or ("",)
    assert written == orjson.dumps(Point(b='x"', a=0.5)).decode() == '{"b":"x\\"","a":0.5}'
    with pytest.raises(ValueError, match="no SQL for"):
        json_object(Point, {"a": "1"})
