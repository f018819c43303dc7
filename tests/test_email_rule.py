"""One email rule everywhere: the sending check, the Great Expectations rule and the dbt
macro accept and refuse the same addresses."""

from __future__ import annotations

import re

import duckdb

from flows.email_rule import EMAIL_PATTERN
from flows.notify.addresses import address_problem
from flows.quality.rules import ALL_RULES
from flows.settings import PROJECT_ROOT

ADDRESSES = {
    "juergen.mueller@example.com": True,
    "o'neil+research@bank.example.de": False,  # an apostrophe is not among the characters
    "a.b-c_d@sub.domain-x.example": True,
    "x@y.z": False,  # one-letter top-level domain
    "no-at.example.com": False,
    "two@@example.com": False,
    ".lead@example.com": False,
    "trail.@example.com": False,
    "dou..ble@example.com": False,
    "a@-bad.example": False,
    "a@example.c0m": False,
    "a b@example.com": False,
    "a@example.com\r\nBcc: all@example.com": False,
    "ümlaut@example.com": False,
}


def _macro_pattern() -> str:
    macro = (PROJECT_ROOT / "dbt_project" / "macros" / "is_valid_email.sql").read_text()
    body = re.search(r"macro email_pattern\(\) -%}\s*(.*?)\s*{%- endmacro", macro, re.S)
    assert body is not None
    return body.group(1)


def test_the_dbt_macro_uses_the_one_pattern() -> None:
    assert _macro_pattern() == f"^{EMAIL_PATTERN}$"


def test_python_duckdb_and_the_quality_rule_agree() -> None:
    rules = [r for r in ALL_RULES if r.name == "email_invalid"]
    assert {r.suite for r in rules} >= {"raw_clients", "raw_advisors", "raw_suppressions"}
    con = duckdb.connect()
    for address, valid in ADDRESSES.items():
        assert (address_problem(address) is None) is valid, address
        (macro,) = con.execute(
            "SELECT regexp_full_match(?, ?)", [address, _macro_pattern()]
        ).fetchone()
        assert macro is valid, address
    for rule in rules:  # the quality rule is the same regular expression, braces doubled
        assert EMAIL_PATTERN.replace("{", "{{").replace("}", "}}") in (rule.where or "")
