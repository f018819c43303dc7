"""The rules explain words its answers by: which rule kept a holder out, what a ledger
status means, how a moment and a server reply are shown. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flows.explain.answer import DayHold
from flows.notify.ledger import (
    DISCARDED,
    FAILED,
    HELD,
    PENDING,
    SENDING,
    SENT,
    SUPPRESSED,
)

# Statuses another part of the sending core adds (consent at the moment of sending, the
# unknown outcome after the final dot); named here so that explain words them already.
UNCERTAIN, WITHDRAWN, EXPIRED = "uncertain", "withdrawn", "expired"


_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")


def text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def redact_addresses(text: str | None) -> str | None:
    """``text`` with every email address replaced by ``<address>``."""
    return None if text is None else _ADDRESS.sub("<address>", text)


def when(value: Any) -> str | None:
    """A moment as ``YYYY-MM-DD HH:MM:SS`` (``UTC`` added when the value knows its zone)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else None
    if moment is None:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if moment.tzinfo is not None:
        return moment.astimezone(tz=None).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


_INELIGIBLE_WORDS = {
    "opted_out": "opted out in the client master data (notify_opt_in is not true)",
    "no_email": "no email address in the client master data",
    "invalid_email": "the email address in the client master data is not valid",
    "suppressed": "the address is on the suppression list",
    "unknown_client": "the client is not in the client master data",
}


def ineligible_words(reason: str) -> str:
    return _INELIGIBLE_WORDS.get(reason, reason)


def opt_out_words(at: str, source: str) -> str:
    return f"suppressed at {when(at)} through {source} opt-out"


def outcome_words(status: str, reason: str | None, hold: DayHold | None) -> str:
    """What happened to an email, by its ledger status."""
    because = f" ({reason})" if reason else ""
    if status == SENT:
        return "sent"
    if status == PENDING:
        if hold is not None and hold.decision == "released":
            return "released after the day was held; waiting for the next dispatch"
        return "planned, waiting for the next dispatch"
    if status == HELD:
        return f"held: the day was held and waits for `votum release` or discard{because}"
    if status == SENDING:
        return "claimed by a dispatch (sending); its outcome is not recorded yet"
    if status == FAILED:
        return f"failed: the mail server refused it for good{because}"
    if status == SUPPRESSED:
        return "suppressed at send: the address was on the suppression list right before sending"
    if status == DISCARDED:
        return f"discarded: the held day was discarded{because}"
    if status == UNCERTAIN:
        return (
            "outcome unknown: the message was written to the server and no reply came"
            f"{because}; it is resent at most once, with the same Message-ID"
        )
    if status == WITHDRAWN:
        return f"withdrawn before sending: the client's consent at that moment{because}"
    if status == EXPIRED:
        return f"expired: still pending after the allowed business days, not sent late{because}"
    return f"status {status}{because}"


def exclusion_of(
    change_type: str,
    changed_on: date,
    snapshot_used: date | None,
    held: Mapping[date, Decimal],
) -> tuple[str, str] | None:
    """Which rule kept a client who held the security out of a change, as (rule, words);
    ``held`` maps snapshot dates to the client's quantity in them (absent: no line).
    None when the client held no position in any snapshot looked at."""
    if not any(quantity > 0 for quantity in held.values()):
        return None
    if change_type == "initiation":
        return (
            "initiation",
            "the first rating ever seen for this security is an initiation: it affects no one",
        )
    if snapshot_used is None:
        return (
            "no_snapshot",
            f"no holdings snapshot on or before the change's date {changed_on}: nobody "
            "can be known to have held the security then",
        )
    quantity = held.get(snapshot_used)
    if quantity is None or quantity <= 0:
        earlier = sorted(d for d, q in held.items() if q > 0 and d < snapshot_used)
        later = sorted(d for d, q in held.items() if q > 0 and d > snapshot_used)
        shown = "shows quantity 0" if quantity is not None else "lists no position"
        if earlier:
            story = f"sold before: the snapshot of {earlier[-1]} still showed a position"
        else:
            story = f"bought after: the snapshot of {later[0]} shows a position"
        return (
            "no_position",
            f"the latest holdings snapshot on or before the change ({snapshot_used}) "
            f"{shown} for the client; {story}",
        )
    return (
        "not_in_mart",
        f"the snapshot of {snapshot_used} shows a position, yet the change is not in "
        "fct_client_rating_changes (built before that snapshot was loaded?)",
    )
