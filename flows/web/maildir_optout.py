"""``votum unsubscribe-inbox --maildir DIR``: the mailto opt-out. Reads the Maildir the
bank's mail server delivers ``unsubscribe@...`` into, honours each message whose subject
is ``unsubscribe <client id> <token>`` (as the digest's mailto link writes it; ``Re:``,
``AW:``, ``Fwd:``, ``WG:`` prefixes are allowed) with a valid token, and moves every
message it read out of ``new/`` into ``cur/``: honoured ones marked seen (``:2,S``), the
rest flagged and unseen (``:2,F``) for a person to read. What it reports holds counts and
file names only, no client id or address."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

from flows.errors import ConfigurationError
from flows.notify.journal import Journal
from flows.signing import UNSUBSCRIBE, verify_token

SOURCE_MAILTO = "mailto"
_PREFIX = re.compile(r"^\s*(?:(?:re|aw|fwd?|wg)\s*:\s*)+", re.IGNORECASE)
_SUBJECT = re.compile(r"^unsubscribe\s+(\S{1,64})\s+(v1\.\S{1,90})\s*$", re.IGNORECASE)


@dataclass
class InboxReport:
    honoured: int = 0  # opt-outs recorded now
    already: int = 0  # valid, but the client had opted out already
    not_honoured: list[str] = field(default_factory=list)  # file names, flagged in cur/

    @property
    def read(self) -> int:
        return self.honoured + self.already + len(self.not_honoured)


def opt_out_request(subject: str) -> tuple[str, str] | None:
    """(client id, token) from an opt-out subject, or None."""
    match = _SUBJECT.match(_PREFIX.sub("", " ".join(subject.split())))
    return (match.group(1), match.group(2)) if match else None


def _move_to_cur(message: Path, cur: Path, flags: str) -> None:
    name = message.name.split(":", 1)[0]
    os.replace(message, cur / f"{name}:2,{flags}")


def read_unsubscribe_inbox(
    maildir: Path, journal: Journal, secret: bytes, *, today: date
) -> InboxReport:
    new, cur = maildir / "new", maildir / "cur"
    if not new.is_dir():
        raise ConfigurationError(f"{maildir} is not a Maildir: it has no new/ folder")
    cur.mkdir(exist_ok=True)
    report = InboxReport()
    parser = BytesHeaderParser(policy=policy.default)
    for message in sorted(p for p in new.iterdir() if p.is_file() and not p.name.startswith(".")):
        with message.open("rb") as handle:
            headers = parser.parse(handle)
        request = opt_out_request(str(headers.get("Subject", "")))
        valid = request is not None and bool(
            verify_token(secret, UNSUBSCRIBE, (request[0],), request[1], today=today)
        )
        if request is None or not valid:
            report.not_honoured.append(message.name)
            _move_to_cur(message, cur, "F")
            continue
        if journal.opt_out_client(request[0], source=SOURCE_MAILTO):
            report.honoured += 1
        else:
            report.already += 1
        _move_to_cur(message, cur, "S")
    return report
