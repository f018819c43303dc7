"""The demo's local mailbox: a real SMTP server on 127.0.0.1 that delivers into a Maildir.

``votum demo`` points the notification transport at :class:`DemoMailServer`, so that a new
user sees the digests and worklists votum would send without any mail infrastructure.
The server speaks ordinary SMTP (aiosmtpd, in a background thread); every accepted
message becomes one file in a Maildir (``new/``; a mail client may move it to ``cur/``),
one file per SMTP transaction however many recipients it had.

A stored file is the message exactly as received (CRLF line endings, 8-bit content
untouched) with two trace headers prepended, as a final delivery agent would::

    Return-Path: <envelope sender>
    X-Envelope-To: <envelope recipient>, ...      (Bcc recipients show up here)

:func:`list_messages` summarises the mailbox, :func:`read_message` parses one message.
Any mail client that reads Maildirs (mutt ``-f``, Thunderbird with a Maildir account) can
open the folder as well.
"""

from __future__ import annotations

import contextlib
import logging
import mailbox
import os
import socket
from collections.abc import Awaitable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

__all__ = [
    "KIND_HEADER",
    "MAX_LINE_BYTES",
    "DemoMailServer",
    "MailboxEntry",
    "list_messages",
    "message_keys",
    "read_message",
]

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 1 << 20
"""Longest line (with CRLF) the server accepts. RFC 5321 allows 1,000 octets and aiosmtpd
enforces that by default; HTML bodies sent as 8bit are often longer, so the demo is lenient."""

KIND_HEADER = "X-Votum-Kind"
"""Header naming what a message is (client digest, advisor worklist, ...), if set."""

_SUBDIRS = ("tmp", "new", "cur")


@dataclass(frozen=True, slots=True)
class MailboxEntry:
    """One stored message, as :func:`list_messages` reports it. Header values are decoded
    (RFC 2047) strings, ``""`` when the header is missing."""

    key: str
    """Maildir key: pass it to :func:`read_message`."""
    delivered: datetime
    """When the message was stored (file modification time, UTC)."""
    date: datetime | None
    """The ``Date`` header; ``None`` if missing or unparsable."""
    from_: str
    to: str
    subject: str
    kind: str | None
    """The ``X-Votum-Kind`` header, ``None`` if absent."""
    size: int
    """Size of the stored file in bytes (the message as received plus the trace headers)."""
    envelope_to: tuple[str, ...]
    """The envelope recipients (from ``X-Envelope-To``), Bcc included."""


class _LenientSMTP(SMTP):
    """aiosmtpd's protocol with a line limit above RFC 5321's 1,000 octets."""

    line_length_limit = MAX_LINE_BYTES


class _BoundController(Controller):
    """A Controller serving on a socket bound before start.

    aiosmtpd's Controller takes ``port=0`` but never learns the port the OS picked (it
    even tries to connect to port 0 to warm the server up), so the socket is bound here
    and handed to ``create_server``: the real port is known before the thread starts.
    """

    def __init__(self, handler: object, sock: socket.socket, **smtp_kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **smtp_kwargs)
        self._sock = sock

    def factory(self) -> SMTP:
        return _LenientSMTP(self.handler, **self.SMTP_kwargs)

    def _create_server(self) -> Awaitable[Any]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _ensure_maildir(path: Path) -> mailbox.Maildir:
    # mailbox.Maildir(create=True) makes tmp/new/cur only when the folder itself is new:
    # an existing empty folder would stay unusable. Create all of them here.
    for sub in _SUBDIRS:
        (path / sub).mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(path, factory=None, create=False)


def _trace_headers(envelope: Envelope) -> bytes:
    recipients = ",\r\n ".join(envelope.rcpt_tos)
    text = f"Return-Path: <{envelope.mail_from or ''}>\r\nX-Envelope-To: {recipients}\r\n"
    # With SMTPUTF8, aiosmtpd hands addresses over decoded with surrogateescape.
    return text.encode("utf-8", errors="surrogateescape")


class _MaildirHandler:
    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.box: mailbox.Maildir | None = None
        self.received = 0

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        if self.box is None:
            return "451 4.3.0 Mailbox not open"
        try:
            key = self.box.add(_trace_headers(envelope) + content)
        except OSError as error:
            log.exception("could not store a message in %s", self.maildir)
            return f"451 4.3.0 Could not store the message: {error.strerror or error}"
        self.received += 1
        log.debug("stored %s from %s for %s", key, envelope.mail_from, envelope.rcpt_tos)
        return f"250 2.0.0 Ok: stored as {key}"


class DemoMailServer:
    """An SMTP server on ``host`` (127.0.0.1) storing every message it accepts in ``maildir``.

    Use it as a context manager (or call :meth:`start`/:meth:`stop`). ``port=0`` picks a
    free port; :attr:`port` holds the real one once started. No TLS, no AUTH: it accepts
    any sender and recipient, 8-bit and UTF-8 content (8BITMIME, SMTPUTF8), messages up to
    32 MiB and lines up to :data:`MAX_LINE_BYTES`.
    """

    def __init__(self, maildir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.maildir = Path(maildir)
        self.host = host
        self.port = port
        self._handler = _MaildirHandler(self.maildir)
        self._controller: _BoundController | None = None

    @property
    def received(self) -> int:
        """Messages stored since :meth:`start`."""
        return self._handler.received

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            raise RuntimeError("the demo mail server is already running")
        self._handler.box = _ensure_maildir(self.maildir)
        self._handler.received = 0
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        controller = _BoundController(
            self._handler,
            sock,
            server_hostname="localhost",  # else aiosmtpd asks DNS for the FQDN per connection
            enable_SMTPUTF8=True,
            decode_data=False,
            ready_timeout=10.0,
        )
        try:
            controller.start()
        except BaseException:
            with contextlib.suppress(Exception):
                controller.stop(no_assert=True)
            sock.close()
            raise
        self._controller = controller
        log.info("demo mail server on %s:%d, delivering to %s", self.host, self.port, self.maildir)

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> DemoMailServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"DemoMailServer({self.host}:{self.port} -> {self.maildir}, {state})"


_PARSER = BytesParser(policy=policy.default)


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except Exception:  # noqa: BLE001 - a hostile header must not break the whole listing
        return ""


def _date(message: EmailMessage) -> datetime | None:
    try:
        value = message.get("Date")
        stamp = getattr(value, "datetime", None)
    except Exception:  # noqa: BLE001 - as in _header
        return None
    return stamp if isinstance(stamp, datetime) else None


def _parse_headers(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        message = _PARSER.parse(handle, headersonly=True)
    assert isinstance(message, EmailMessage)
    return message


def message_keys(maildir: Path) -> set[str]:
    """The keys of the messages in ``maildir``, read from the file names alone (cheap:
    nothing is opened)."""
    return {
        item.name.split(":", 1)[0]
        for sub in ("new", "cur")
        if (Path(maildir) / sub).is_dir()
        for item in os.scandir(Path(maildir) / sub)
        if not item.name.startswith(".") and item.is_file()
    }


def list_messages(
    maildir: Path, *, except_keys: AbstractSet[str] = frozenset()
) -> list[MailboxEntry]:
    """Every message in ``maildir`` (``new/`` and ``cur/``), oldest delivery first (ties
    broken by key), but those under ``except_keys`` (not even opened). A missing folder
    is an empty mailbox."""
    maildir = Path(maildir)
    found: list[tuple[int, MailboxEntry]] = []
    for sub in ("new", "cur"):
        folder = maildir / sub
        if not folder.is_dir():
            continue
        for item in os.scandir(folder):
            if item.name.startswith(".") or not item.is_file():
                continue
            if item.name.split(":", 1)[0] in except_keys:
                continue
            try:
                stat = item.stat()
                message = _parse_headers(Path(item.path))
            except FileNotFoundError:  # moved from new/ to cur/ (or deleted) meanwhile
                continue
            kind = _header(message, KIND_HEADER)
            envelope_to = _header(message, "X-Envelope-To")
            entry = MailboxEntry(
                key=item.name.split(":", 1)[0],  # ":2,FLAGS" once a client has seen it
                delivered=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
                date=_date(message),
                from_=_header(message, "From"),
                to=_header(message, "To"),
                subject=_header(message, "Subject"),
                kind=kind or None,
                size=stat.st_size,
                envelope_to=tuple(a.strip() for a in envelope_to.split(",") if a.strip()),
            )
            found.append((stat.st_mtime_ns, entry))
    found.sort(key=lambda pair: (pair[0], pair[1].key))
    return [entry for _, entry in found]


def read_message(maildir: Path, key: str) -> EmailMessage:
    """The message stored under ``key``, parsed with ``email.policy.default`` (so
    ``message["Subject"]`` is decoded and ``get_content()`` works). Line endings are
    normalised to ``\\n`` before parsing, so text content comes back without ``\\r``.
    Raises ``KeyError`` for an unknown key."""
    box = mailbox.Maildir(Path(maildir), factory=None, create=False)
    raw = box.get_bytes(key)
    message = _PARSER.parsebytes(raw.replace(b"\r\n", b"\n"))
    assert isinstance(message, EmailMessage)
    return message
