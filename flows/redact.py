"""Taking client personal data out of texts that are shown or kept: an SMTP server's
reply (a 550 usually quotes the recipient's address), a DuckDB error (it quotes the
value it could not convert and echoes the CSV line or the SQL). Pure.

Call these wherever such a text reaches a log, the run ledger, the operations alert,
a Prefect artifact or ``votum status``.
"""

from __future__ import annotations

import re

REDACTED_ADDRESS = "<address>"
REDACTED_VALUE = "<value>"

# Wider than the sending rule (flows/notify/addresses.py): anything that looks like an
# address is taken out, valid or not, with or without angle brackets.
_ADDRESS = re.compile(r"<?[^\s<>()\[\]\"',;:@]+@[A-Za-z0-9.-]+(?:\.[A-Za-z0-9-]+)*>?")

# DuckDB quotes values and names alike; a quoted text right after one of these words is
# a name and stays (it tells the reader which column is wrong).
_NAME_WORDS = ("column", "table", "schema", "view", "function", "type", "file", "relation")
_QUOTED = re.compile(r"(?P<before>\b\w+\s*)?(?P<quote>['\"])(?P<text>[^'\"\n]*)(?P=quote)")
# A SQL type in quotes ('INTEGER', 'DECIMAL(18,3)') is no personal data.
_SQL_TYPE = re.compile(r"^[A-Z][A-Z0-9_]*(\(\d+(,\s*\d+)?\))?(\[\])?$")
# Lines DuckDB adds that echo input: the CSV line it read, the SQL with its literals.
_ECHO_LINE = re.compile(r"^\s*(Original Line:|LINE \d+:|\^+\s*$)")


def redact_addresses(text: str) -> str:
    """``text`` with every email address replaced by ``<address>``."""
    return _ADDRESS.sub(REDACTED_ADDRESS, text)


def _quoted(match: re.Match[str]) -> str:
    before = match.group("before") or ""
    text = match.group("text")
    is_name = before.strip().lower() in _NAME_WORDS
    if is_name or _SQL_TYPE.fullmatch(text) or not text:
        return match.group(0)
    return f"{before}{match.group('quote')}{REDACTED_VALUE}{match.group('quote')}"


def redact_database_error(text: str) -> str:
    """A DuckDB error text without the values it quotes: quoted values become
    ``<value>`` (quoted column, table and type names stay), the echoed CSV line and SQL
    are dropped, addresses are taken out."""
    lines = [
        "Original Line: <redacted>" if line.lstrip().startswith("Original Line:") else line
        for line in text.splitlines()
        if not _ECHO_LINE.match(line) or line.lstrip().startswith("Original Line:")
    ]
    return redact_addresses(_QUOTED.sub(_quoted, "\n".join(lines).strip()))
