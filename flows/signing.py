"""Signed tokens for the links votum puts into emails (opt-out, re-subscribe, the
advisors' worklist actions), and the installation's secret they are signed with.

There is never a guessable key. ``VOTUM_UNSUBSCRIBE_SECRET`` is used when it is set;
otherwise a random key is created once per installation in ``VOTUM_HOME/secret.key``
(owner read/write only, 0600) and used by every process of that installation, fan-out
workers included. Processes compare a fingerprint of the key, never the key itself.

A token is ``v1.<issued YYYYMMDD>.<signature>``: an HMAC-SHA256 over the purpose, the
issue date and the values it is bound to (a client id; an advisor, a client, a day and an
action). A token made for one purpose or one client is worthless for another. The issue
date lets a verifier refuse old tokens (worklist links expire) and lets a bank rotate its
key knowing which links were signed when. :func:`verify_token` is the one function that
checks a token; it compares in constant time.

Pure except for :func:`installation_secret`, which reads or creates the key file.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from flows.errors import ConfigurationError
from flows.settings import Settings

TOKEN_VERSION = "v1"  # noqa: S105 (a format tag, not a password)
SECRET_FILE_NAME = "secret.key"  # noqa: S105 (a file name)

# Purposes: a token signed for one is never accepted for another.
UNSUBSCRIBE = "unsubscribe"
RESUBSCRIBE = "resubscribe"
WORKLIST_ACTION = "worklist-action"

_SEPARATOR = "\x1f"  # unit separator: cannot occur in an id, a date or an action name


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of :func:`verify_token`; ``reason`` says why a token was refused."""

    valid: bool
    reason: str | None = None
    issued: date | None = None

    def __bool__(self) -> bool:
        return self.valid


def installation_secret(settings: Settings) -> bytes:
    """The key of this installation: the configured one, else the generated one (created
    on first use, atomically, mode 0600)."""
    if settings.unsubscribe_secret is not None:
        configured = settings.unsubscribe_secret.get_secret_value()
        if len(configured) < 16:
            raise ConfigurationError(
                "VOTUM_UNSUBSCRIBE_SECRET is shorter than 16 characters: use a long random "
                "value (e.g. 64 hex digits), or unset it and votum generates one."
            )
        return configured.encode("utf-8")
    return _generated_secret(settings.home_dir / SECRET_FILE_NAME)


@functools.lru_cache(maxsize=8)
def _generated_secret(path: Path) -> bytes:
    """Read once per process and path (every email of a dispatch signs with it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written whole under a name of its own, then linked into place: link() fails
        # when the key exists, so two processes (or threads) starting at once cannot
        # both create it, and nobody ever reads a key file that is still being written.
        fd, draft = tempfile.mkstemp(prefix=".secret-", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            os.unlink(draft)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigurationError(
            f"The key file {path} can be read by other users (mode {mode:o}): "
            f"run `chmod 600 {path}`."
        )
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ConfigurationError(
            f"The key file {path} is empty or truncated: delete it only if no email with "
            "links signed by it is still to be answered, then run votum again."
        )
    return key.encode("ascii")


def secret_fingerprint(secret: bytes) -> str:
    """A short, one-way name of a key: processes compare these, never the key."""
    return hashlib.sha256(b"votum-key-fingerprint" + _SEPARATOR.encode() + secret).hexdigest()[:16]


def _signature(secret: bytes, purpose: str, bound_to: Sequence[str], issued: date) -> str:
    message = _SEPARATOR.join((TOKEN_VERSION, purpose, issued.strftime("%Y%m%d"), *bound_to))
    digest = hmac.new(secret, message.encode("utf-8"), hashlib.sha256).digest()[:20]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def make_token(secret: bytes, purpose: str, bound_to: Sequence[str], issued: date) -> str:
    """A token for ``purpose`` bound to the values ``bound_to`` (order matters)."""
    for value in bound_to:
        if _SEPARATOR in value:
            raise ValueError("a token cannot be bound to a value with a control character")
    return f"{TOKEN_VERSION}.{issued:%Y%m%d}.{_signature(secret, purpose, bound_to, issued)}"


def verify_token(
    secret: bytes,
    purpose: str,
    bound_to: Sequence[str],
    token: str | None,
    *,
    today: date,
    max_age_days: int | None = None,
) -> TokenCheck:
    """Whether ``token`` was made by :func:`make_token` with this key, purpose and values,
    is not issued in the future (one day of clock skew allowed) and, with
    ``max_age_days``, is not older than that. Constant-time comparison."""
    if not token or len(token) > 100:
        return TokenCheck(False, "malformed")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_VERSION:
        return TokenCheck(False, "malformed")
    try:
        issued = date(int(parts[1][:4]), int(parts[1][4:6]), int(parts[1][6:8]))
    except ValueError:
        return TokenCheck(False, "malformed")
    if len(parts[1]) != 8 or any(_SEPARATOR in value for value in bound_to):
        return TokenCheck(False, "malformed")
    expected = _signature(secret, purpose, bound_to, issued)
    if not hmac.compare_digest(expected.encode("ascii"), parts[2].encode("ascii", "replace")):
        return TokenCheck(False, "signature", issued)
    if issued > today + timedelta(days=1):
        return TokenCheck(False, "issued in the future", issued)
    if max_age_days is not None and today > issued + timedelta(days=max_age_days):
        return TokenCheck(False, "expired", issued)
    return TokenCheck(True, None, issued)
