"""Whether an address may go into an SMTP envelope and a header. Pure.

The rule of flows/email_rule.py, the same that the quality rules and the dbt macro
``is_valid_email`` apply: one @, usual characters, a dotted domain with a letter-only
top-level domain, and nothing else: no whitespace, so no CR, LF or NUL can reach a header
or the SMTP conversation through an address."""

from __future__ import annotations

import re

from flows.email_rule import EMAIL_PATTERN as EMAIL_RULE
from flows.email_rule import MAX_ADDRESS_LENGTH

EMAIL_PATTERN = re.compile(f"^{EMAIL_RULE}$")


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
