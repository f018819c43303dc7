"""Whether an address may go into an SMTP envelope and a header. Pure.

The same rule as the dbt macro ``is_valid_email``: one @, usual characters, a dotted
domain with a letter-only top-level domain, and nothing else: no whitespace, so no CR,
LF or NUL can reach a header or the SMTP conversation through an address."""

from __future__ import annotations

import re

EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,}$"
)
MAX_ADDRESS_LENGTH = 254


def address_problem(address: str | None) -> str | None:
    """Why ``address`` cannot be used, or None when it can."""
    if not address:
        return "no email address"
    if any(ch in address for ch in "\r\n\0"):
        return "email address contains a line break or NUL"
    if len(address) > MAX_ADDRESS_LENGTH:
        return "email address longer than 254 characters"
    if not EMAIL_PATTERN.fullmatch(address):
        return "not a valid email address"
    return None
