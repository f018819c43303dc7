"""A real, scriptable SMTP server for the test suite (aiosmtpd on 127.0.0.1, free port).

:class:`RecordingSmtpServer` accepts mail like any server, records every accepted message
(:class:`ReceivedMessage`) and can be told to misbehave the way real servers do: transient
or permanent failures at MAIL, RCPT or DATA (:meth:`~RecordingSmtpServer.fail_next`), a
recipient that never exists (:meth:`~RecordingSmtpServer.reject_recipient`), a connection
that drops mid-conversation (:meth:`~RecordingSmtpServer.drop_connection_after`) or in the
middle of the message data (:meth:`~RecordingSmtpServer.drop_mid_data`), a message taken
and then no reply (:meth:`~RecordingSmtpServer.accept_then_stall`,
:meth:`~RecordingSmtpServer.accept_then_drop`), a server that refuses connections for a
while (:meth:`~RecordingSmtpServer.refuse_connections`). It speaks
STARTTLS or implicit TLS with a self-signed certificate (:class:`SelfSignedTls`) and AUTH
LOGIN/PLAIN.

Replies are real SMTP replies on the wire, so the client under test sees exactly what it
would see from Postfix or Exchange. As real servers do, the server closes the connection
after every ``421`` reply it sends.

This module holds no fixtures; use it from conftest or a test::

    with RecordingSmtpServer() as smtp:
        smtp.fail_next(1, 451)
        ...  # send with host=smtp.host, port=smtp.port
        assert [m.rcpt_tos for m in smtp.messages] == [["a@example.com"]]
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import shutil
import socket
import ssl
import tempfile
import threading
import weakref
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session, TLSSetupException
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["ReceivedMessage", "RecordingSmtpServer", "SelfSignedTls", "Stage"]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MAX_LINE_BYTES = 1 << 20
"""Longest line accepted (aiosmtpd's default is RFC 5321's 1,001 octets)."""

Stage = Literal["mail", "rcpt", "data"]
_STAGES: frozenset[str] = frozenset({"mail", "rcpt", "data"})


# --------------------------------------------------------------------------------------
# TLS


class SelfSignedTls:
    """A self-signed certificate for ``localhost`` and 127.0.0.1 (EC P-256, valid two
    days), written as PEM files into a temporary directory removed with this object.

    The certificate is its own CA: a client trusts it with
    ``ssl.create_default_context(cafile=tls.cert_path)`` (or :meth:`client_context`), and
    a client using the system's CAs rejects it (``ssl.SSLCertVerificationError``).
    """

    def __init__(self, hostname: str = "localhost") -> None:
        self.hostname = hostname
        self.directory = Path(tempfile.mkdtemp(prefix="votum-test-tls-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.directory, True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
        now = datetime.now(UTC)
        public = key.public_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(hostname), x509.IPAddress(ipaddress.ip_address(HOST))]
                ),
                critical=False,
            )
            # A CA certificate with the extensions OpenSSL's strict mode (default for
            # clients from Python 3.13) wants, so that it can be its own trust anchor.
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        self.cert_path = self.directory / "cert.pem"
        self.key_path = self.directory / "key.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    def server_context(self) -> ssl.SSLContext:
        """A server-side context with this certificate (no client certificates asked)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def cleanup(self) -> None:
        """Remove the certificate files now (otherwise when the object is collected)."""
        self._finalizer()


# --------------------------------------------------------------------------------------
# Records and scripts


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted message."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    """The message as received on the wire after dot-unstuffing: CRLF line endings."""
    message: EmailMessage
    """``data`` parsed with ``email.policy.default`` (line endings normalised to ``\\n``
    first, so ``get_content()`` has no ``\\r``)."""
    message_id: str | None
    tls: bool = False
    """Whether the connection was encrypted (STARTTLS or implicit TLS) when it was sent."""
    auth_user: str | None = None
    """The login the client authenticated with, if it did."""


@dataclass(frozen=True)
class _Reply:
    stage: Stage
    code: int
    text: str

    def render(self) -> str:
        lines = self.text.splitlines() or [""]
        return "\r\n".join(
            f"{self.code}{'-' if i < len(lines) - 1 else ' '}{line}" for i, line in enumerate(lines)
        )


def _reply(code: int, text: str, stage: Stage = "data") -> _Reply:
    if not 400 <= code <= 599:
        raise ValueError(f"a failure reply needs a 4xx or 5xx code, not {code}")
    if stage not in _STAGES:
        raise ValueError(f"stage must be one of {sorted(_STAGES)}, not {stage!r}")
    return _Reply(stage, code, text)


# --------------------------------------------------------------------------------------
# aiosmtpd plumbing


class _TestSMTP(SMTP):
    """aiosmtpd's protocol with a lenient line limit and AUTH possible without TLS."""

    line_length_limit = MAX_LINE_BYTES

    def __init__(self, handler: Any, *, auth_without_tls: bool = False, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        if auth_without_tls:
            # Passing auth_require_tls=False with auth_required=True makes aiosmtpd emit a
            # UserWarning (and a log warning) from the server thread on every connection.
            # Besides, it counts only STARTTLS as TLS, so implicit TLS needs this as well.
            self._auth_require_tls = False

    @property
    def _owner(self) -> RecordingSmtpServer:
        owner: RecordingSmtpServer = self.event_handler.owner
        return owner

    async def _handle_client(self) -> None:
        # aiosmtpd's private connection handler, which writes the greeting: a server
        # told to refuse connections answers 421 instead and hangs up.
        owner = self._owner
        with owner._lock:
            refuse = owner._refuse_connections > 0 and owner._let_through == 0
            owner._let_through = max(owner._let_through - 1, 0)
            if refuse:
                owner._refuse_connections -= 1
                owner._refused += 1
        if refuse:
            await self.push("421 4.3.2 Service not available, try later")
            if self.transport is not None:
                self.transport.close()
            return
        await super()._handle_client()

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command name
        owner = self._owner
        with owner._lock:
            drop = owner._drop_mid_data > 0 and bool(self.envelope and self.envelope.rcpt_tos)
            if drop:
                owner._drop_mid_data -= 1
        if not drop:
            await super().smtp_DATA(arg)
            return
        # The message has begun (354) and the server goes away before reading it: its
        # end never arrives. The 354 is held back (TCP_CORK) and leaves in one segment
        # with the hang-up (FIN), so that a client reading the 354 has the hang-up too,
        # before it would write the end of the message (else a race with this thread).
        transport = self.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
        if isinstance(transport, asyncio.Transport):
            transport.abort()


class _BoundController(Controller):
    """A Controller serving on a socket bound before start, so port 0 works (aiosmtpd's
    own Controller never learns the port the OS chose)."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def factory(self) -> SMTP:
        return _TestSMTP(self.handler, **self.SMTP_kwargs)

    def _create_server(self) -> Awaitable[Any]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


def _close_after_reply(server: SMTP) -> None:
    # The reply is written synchronously once the hook returns; close() flushes it first.
    transport = server.transport
    if transport is not None:
        asyncio.get_running_loop().call_soon(transport.close)


def _message_id(message: EmailMessage) -> str | None:
    try:
        value = message.get("Message-ID")
    except Exception:
        return None
    if value is None:
        return None
    return str(value).strip() or None


class _Handler:
    """aiosmtpd hooks. Runs in the server thread; state shared with the test thread is
    guarded by the owner's lock."""

    def __init__(self, owner: RecordingSmtpServer) -> None:
        self.owner = owner
        self._rcpt_failures: weakref.WeakKeyDictionary[Envelope, _Reply] = (
            weakref.WeakKeyDictionary()
        )

    def _take(self, stage: Stage) -> _Reply | None:
        owner = self.owner
        with owner._lock:
            if owner._failures and owner._failures[0].stage == stage:
                return owner._failures.popleft()
        return None

    def _fail(self, server: SMTP, reply: _Reply) -> str:
        if reply.code == 421:
            _close_after_reply(server)
        return reply.render()

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        # With a handle_EHLO hook, aiosmtpd leaves recording the client's name to it.
        session.host_name = hostname
        if self.owner.pipelining:
            # aiosmtpd reads commands one after the other from its stream, so pipelined
            # commands (RFC 2920) work; it just does not say so.
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self._take("mail")
        if reply is not None:
            return self._fail(server, reply)
        # Once a handle_MAIL hook exists, aiosmtpd leaves filling the envelope to it.
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self.owner._lock:
            rejected = self.owner._rejected.get(address.lower())
        if rejected is not None:
            return rejected.render()
        reply = self._rcpt_failures.get(envelope) or self._take("rcpt")
        if reply is not None:
            # The scripted failure holds for every recipient of this transaction.
            self._rcpt_failures[envelope] = reply
            return self._fail(server, reply)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        owner = self.owner
        with owner._lock:
            owner._attempts += 1
            drop = owner._drop_after == 0
            if drop:
                owner._drop_after = None
        if drop:
            transport = server.transport
            if isinstance(transport, asyncio.Transport):
                transport.abort()
            elif transport is not None:
                transport.close()
            return "421 4.4.2 Connection dropped"  # never reaches the client
        reply = self._take("data")
        if reply is not None:
            return self._fail(server, reply)
        data = envelope.original_content or b""
        message = BytesParser(policy=policy.default).parsebytes(data.replace(b"\r\n", b"\n"))
        assert isinstance(message, EmailMessage)
        auth = session.auth_data
        transport = server.transport
        received = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            data=data,
            message=message,
            message_id=_message_id(message),
            tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
            auth_user=(
                auth.login.decode("utf-8", "replace") if isinstance(auth, LoginPassword) else None
            ),
        )
        with owner._lock:
            owner._messages.append(received)
            if owner._drop_after is not None:
                owner._drop_after -= 1
            after = owner._after_accept.popleft() if owner._after_accept else None
        if after is not None:
            action, seconds = after
            if action == "drop":
                transport = server.transport
                if isinstance(transport, asyncio.Transport):
                    transport.abort()
                return "250 2.0.0 OK: queued"  # never reaches the client
            # Taken, and the reply comes only after the client gave up waiting.
            await asyncio.sleep(seconds)
        return "250 2.0.0 OK: queued"

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, TLSSetupException):
            # A client that rejected our certificate: the connection is gone already.
            log.debug("TLS handshake failed: %r", error.__cause__)
            return "454 4.7.0 TLS not available"
        log.exception("RecordingSmtpServer: error in a hook")
        return f"451 4.3.0 Test server error: {error!r}"


# --------------------------------------------------------------------------------------
# The server


class RecordingSmtpServer:
    """A real SMTP server on 127.0.0.1 and a free port; starts on ``__enter__``.

    - ``tls``: the certificate to serve; one is generated when TLS is asked for without
      one (see :attr:`tls`). With ``tls`` alone, STARTTLS is offered but optional.
    - ``require_starttls``: MAIL (and AUTH) before STARTTLS get ``530``.
    - ``implicit_tls``: TLS from the first byte (SMTPS, as ``smtplib.SMTP_SSL`` expects).
    - ``auth``: ``(user, password)``; AUTH LOGIN/PLAIN is then required before MAIL
      (``530 5.7.0 Authentication required``), a wrong password gets ``535``. Without
      TLS, AUTH is offered in the clear; with STARTTLS only after STARTTLS.

    - ``pipelining``: advertise PIPELINING (default), so that clients may send MAIL,
      RCPT and DATA in one go; with False they must wait for each reply.

    Accepts 8BITMIME and SMTPUTF8, lines up to :data:`MAX_LINE_BYTES`, messages up to
    32 MiB.
    """

    def __init__(
        self,
        *,
        tls: SelfSignedTls | None = None,
        require_starttls: bool = False,
        implicit_tls: bool = False,
        auth: tuple[str, str] | None = None,
        pipelining: bool = True,
    ) -> None:
        if require_starttls and implicit_tls:
            raise ValueError("require_starttls and implicit_tls exclude each other")
        if tls is None and (require_starttls or implicit_tls):
            tls = SelfSignedTls()
        self.tls: SelfSignedTls | None = tls
        """The certificate served (generated if TLS was asked for without one)."""
        self.require_starttls = require_starttls
        self.implicit_tls = implicit_tls
        self.auth = auth
        self.pipelining = pipelining
        """Advertise PIPELINING (RFC 2920) in the EHLO reply."""
        self.host = HOST
        self.port = 0
        self._lock = threading.Lock()
        self._messages: list[ReceivedMessage] = []
        self._attempts = 0
        self._failures: deque[_Reply] = deque()
        self._rejected: dict[str, _Reply] = {}
        self._drop_after: int | None = None
        self._drop_mid_data = 0
        self._after_accept: deque[tuple[str, float]] = deque()
        self._refuse_connections = 0
        self._let_through = 0
        self._refused = 0
        self._controller: _BoundController | None = None

    # -- scripting ---------------------------------------------------------------------

    def fail_next(
        self,
        count: int,
        code: int = 421,
        text: str = "Service not available, try later",
        *,
        stage: Stage = "data",
    ) -> None:
        """The next ``count`` transactions that reach ``stage`` get ``code text`` there.

        ``"mail"`` answers MAIL FROM, ``"rcpt"`` every RCPT TO of the transaction,
        ``"data"`` the end of the message data (the reply a client gets to its message).
        Calls queue up in order. A ``421`` reply also closes the connection.
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        reply = _reply(code, text, stage)
        with self._lock:
            self._failures.extend([reply] * count)

    def reject_recipient(
        self, address: str, code: int = 550, text: str = "Mailbox unavailable"
    ) -> None:
        """RCPT TO ``address`` (case-insensitive) always gets ``code text``."""
        reply = _reply(code, text, "rcpt")
        with self._lock:
            self._rejected[address.lower()] = reply

    def drop_connection_after(self, count: int) -> None:
        """Accept ``count`` more messages, then, on the next DATA, drop the connection
        without replying (the client sees a disconnect). Happens once."""
        if count < 0:
            raise ValueError("count must be >= 0")
        with self._lock:
            self._drop_after = count

    def drop_mid_data(self, count: int = 1) -> None:
        """The next ``count`` messages: the server answers DATA with 354 and hangs up
        before reading the message, so its end is never received (nothing recorded)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        with self._lock:
            self._drop_mid_data += count

    def accept_then_stall(self, count: int = 1, *, seconds: float) -> None:
        """The next ``count`` messages are taken (recorded as received) and the reply to
        their end comes only after ``seconds`` (longer than the client's timeout): the
        client cannot know that they arrived."""
        if count < 0 or seconds <= 0:
            raise ValueError("count must be >= 0 and seconds > 0")
        with self._lock:
            self._after_accept.extend([("stall", seconds)] * count)

    def accept_then_drop(self, count: int = 1) -> None:
        """The next ``count`` messages are taken (recorded as received), then the
        connection is dropped right after their final dot, without a reply."""
        if count < 0:
            raise ValueError("count must be >= 0")
        with self._lock:
            self._after_accept.extend([("drop", 0.0)] * count)

    def refuse_connections(self, count: int, *, after: int = 0) -> None:
        """After ``after`` more connections, the next ``count`` get ``421`` as greeting
        and are closed (a server that is down for a while); :attr:`refused` counts
        them."""
        if count < 0 or after < 0:
            raise ValueError("count and after must be >= 0")
        with self._lock:
            self._refuse_connections = count
            self._let_through = after

    def reset(self) -> None:
        """Forget recorded messages, attempts and every script."""
        with self._lock:
            self._messages.clear()
            self._attempts = 0
            self._failures.clear()
            self._rejected.clear()
            self._drop_after = None
            self._drop_mid_data = 0
            self._after_accept.clear()
            self._refuse_connections = 0
            self._let_through = 0
            self._refused = 0

    # -- records -----------------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        """The accepted messages in order (a snapshot copy)."""
        with self._lock:
            return list(self._messages)

    @property
    def refused(self) -> int:
        """Connections refused with a 421 greeting (:meth:`refuse_connections`)."""
        with self._lock:
            return self._refused

    @property
    def attempts(self) -> int:
        """DATA transactions started (message data received), failed ones included."""
        with self._lock:
            return self._attempts

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._controller is not None:
            raise RuntimeError("already running")
        needs_tls = self.require_starttls or self.implicit_tls
        if needs_tls and self.tls is None:
            raise ValueError("TLS asked for without a certificate")
        smtp_kwargs: dict[str, Any] = {
            "server_hostname": "localhost",  # else aiosmtpd resolves its FQDN per connection
            "decode_data": False,
            "enable_SMTPUTF8": True,
            "ready_timeout": 10.0,
        }
        if self.tls is not None and not self.implicit_tls:
            smtp_kwargs["tls_context"] = self.tls.server_context()
            smtp_kwargs["require_starttls"] = self.require_starttls
        if self.implicit_tls:
            assert self.tls is not None
            smtp_kwargs["ssl_context"] = self.tls.server_context()
        if self.auth is not None:
            smtp_kwargs["authenticator"] = self._authenticate
            smtp_kwargs["auth_required"] = True
            smtp_kwargs["auth_without_tls"] = self.tls is None or self.implicit_tls
        # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets whose
        # proto says TCP, and without it every pipelined message waited about 40 ms for a
        # delayed ACK (Nagle): 20 messages a second instead of 200.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        controller: _BoundController | None = None
        try:
            sock.bind((HOST, 0))
            self.port = sock.getsockname()[1]
            controller = _BoundController(_Handler(self), sock, **smtp_kwargs)
            controller.start()
        except BaseException:
            if controller is not None:
                with contextlib.suppress(Exception):
                    controller.stop(no_assert=True)
            sock.close()
            raise
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> RecordingSmtpServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert self.auth is not None
        user, password = (part.encode("utf-8") for part in self.auth)
        if (
            isinstance(data, LoginPassword)
            and hmac.compare_digest(data.login, user)
            and hmac.compare_digest(data.password, password)
        ):
            return AuthResult(success=True, auth_data=data)
        # handled=False makes aiosmtpd send "535 5.7.8 Authentication credentials
        # invalid"; with the default handled=True it sends nothing and the client hangs.
        return AuthResult(success=False, handled=False)
