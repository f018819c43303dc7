"""The only module that talks SMTP. Every email goes through yagmail's connection.

yagmail opens the connection, does STARTTLS or implicit TLS and logs in; we then send
ready-made bytes over that one connection (yagmail's ``send()`` would log in again for
every message and build its own message). Three things yagmail does not do, done here:
certificates are verified (it passes no TLS context, and ``smtplib`` alone verifies
nothing), the server's reply to every message is kept, and the end of every message is
written here (``smtplib.data()`` hides it), so that a failure is known to have come
before or after it:

* before the final ``.`` of DATA was written (a refusal, a connection lost at MAIL, RCPT
  or mid-DATA): an ordinary failure, transient or permanent by the server's reply;
* after it, with no reply (a timeout, the connection lost): the server may or may not
  have taken the message. The outcome is **unknown** (``SendResult.uncertain``) and the
  caller must not send it again in the same dispatch.

A login name is used as written (yagmail would append "@gmail.com" to one without "@")."""

from __future__ import annotations

import contextlib
import re
import select
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import yagmail

from flows.errors import VotumError
from flows.notify.addresses import address_problem
from flows.settings import Settings

# Dot-stuffing (RFC 5321 4.5.2): a line that starts with "." gets another one.
_LEADING_DOT = re.compile(rb"(?m)^\.")


class SmtpError(VotumError):
    """The mail server cannot be used; nothing was claimed or sent."""

    exit_code = 7


class SmtpLoginError(SmtpError):
    pass


class SmtpTlsError(SmtpError):
    pass


@dataclass(frozen=True)
class SendResult:
    accepted: bool
    code: int | None
    reply: str
    permanent: bool  # the server refused for good (5xx): do not try again
    connection_lost: bool = False
    # The end of the message was written and no reply came: it may have been taken.
    uncertain: bool = False

    @property
    def transient(self) -> bool:
        return not self.accepted and not self.permanent and not self.uncertain


def _lost(reason: str, *, uncertain: bool = False) -> SendResult:
    return SendResult(
        accepted=False,
        code=None,
        reply=reason,
        permanent=False,
        connection_lost=True,
        uncertain=uncertain,
    )


def _reply(code: int | None, text: bytes | str | None) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else (text or "")
    return f"{code} {message}".strip() if code is not None else message


def _result(code: int, text: bytes | str) -> SendResult:
    return SendResult(
        accepted=200 <= code < 300,
        code=code,
        reply=_reply(code, text),
        permanent=code >= 500,
        # 421: the server is closing the connection; the next attempt needs a new one.
        connection_lost=code == 421,
    )


def envelope_address(address: str) -> str:
    """``<address>`` for MAIL FROM and RCPT TO: what ``smtplib.quoteaddr`` gives for an
    address of votum's rule (flows/notify/addresses.py), without parsing it as a header
    (a tenth of the time of sending a message); anything else through ``quoteaddr``."""
    if address_problem(address) is None:
        return f"<{address}>"
    return smtplib.quoteaddr(address)


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Certificate and host name verified; a private CA only when configured."""
    cafile = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    return ssl.create_default_context(cafile=cafile)


class SmtpTransport:
    """One SMTP connection, opened by yagmail, used for many messages."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Any = None

    @property
    def where(self) -> str:
        return f"{self._settings.smtp_host}:{self._settings.smtp_port}"

    def open(self) -> None:
        settings = self._settings
        kwargs: dict[str, Any] = {"timeout": settings.smtp_timeout_seconds}
        starttls: bool | dict[str, Any] = False
        if settings.smtp_security == "ssl":
            kwargs["context"] = tls_context(settings)
        elif settings.smtp_security == "starttls":
            starttls = {"context": tls_context(settings)}
        user = settings.smtp_user
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        self._client = yagmail.SMTP(
            user=user or settings.mail_from,
            password=password,
            host=settings.smtp_host,
            port=settings.smtp_port,
            smtp_ssl=settings.smtp_security == "ssl",
            smtp_starttls=starttls,
            smtp_skip_login=not user,
            soft_email_validation=False,
            **kwargs,
        )
        if user:
            # yagmail turns a login name without "@" into "<name>@gmail.com"; a bank's
            # relay account ("svc_votum") must be used as written.
            self._client.user = user
        try:
            self._client.login()
            # The end of every message is a write of its own (_write_data): no delay.
            with contextlib.suppress(OSError):
                self._client.smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpLoginError(
                f"The mail server {self.where} refused the login of {user!r}: "
                f"{_reply(exc.smtp_code, exc.smtp_error)}. Check VOTUM_SMTP_USER and "
                "VOTUM_SMTP_PASSWORD."
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise SmtpTlsError(
                f"The certificate of {self.where} is not trusted ({exc.verify_message}). "
                "Use a certificate from a trusted CA, or trust the bank's CA with "
                "VOTUM_SMTP_CA_FILE."
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise SmtpTlsError(
                f"The mail server {self.where} does not offer what VOTUM_SMTP_SECURITY="
                f"{settings.smtp_security} needs: {exc}"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SmtpError(f"Cannot connect to the mail server {self.where}: {exc}") from None

    @property
    def connected(self) -> bool:
        return self._client is not None and getattr(self._client.smtp, "sock", None) is not None

    def send(
        self,
        sender: str,
        recipient: str,
        data: bytes,
        before_end: Callable[[], None] | None = None,
    ) -> SendResult:
        """Send one message: accepted only when the server answered 2xx to its end.
        ``before_end`` is called right before the end of the data is written (the
        journal's in-flight mark)."""
        if not self.connected:
            return _lost("connection lost: not connected")
        smtp: smtplib.SMTP = self._client.smtp
        end_written = [False]
        try:
            smtp.ehlo_or_helo_if_needed()
            if smtp.has_extn("pipelining"):
                return self._send_pipelined(smtp, sender, recipient, data, before_end, end_written)
            code, text = smtp.mail(sender)
            if code != 250:
                smtp.rset()
                return _result(code, text)
            code, text = smtp.rcpt(recipient)
            if code not in (250, 251):
                smtp.rset()
                return _result(code, text)
            smtp.putcmd("data")
            code, text = smtp.getreply()
            if code != 354:
                self._reset_quietly(smtp)
                return _result(code, text)
            return self._write_data(smtp, data, before_end, end_written)
        except smtplib.SMTPResponseException as exc:
            self._reset_quietly(smtp)
            return _result(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            smtp.close()
            if end_written[0]:
                return _lost(
                    f"outcome unknown: no reply after the end of the message ({exc})",
                    uncertain=True,
                )
            return _lost(f"connection lost: {exc}")

    def _send_pipelined(
        self,
        smtp: smtplib.SMTP,
        sender: str,
        recipient: str,
        data: bytes,
        before_end: Callable[[], None] | None,
        end_written: list[bool],
    ) -> SendResult:
        """MAIL, RCPT and DATA in one write, their three replies read after (RFC 2920):
        two round trips a message instead of four."""
        smtp.send(
            f"MAIL FROM:{envelope_address(sender)}\r\n"
            f"RCPT TO:{envelope_address(recipient)}\r\nDATA\r\n"
        )
        mail, rcpt, start = smtp.getreply(), smtp.getreply(), smtp.getreply()
        refused = next(
            (r for r, ok in ((mail, (250,)), (rcpt, (250, 251))) if r[0] not in ok), None
        )
        if start[0] != 354:
            smtp.rset()
            return _result(*(refused or start))
        if refused is not None:
            # The server wants data although the envelope failed: end an empty message.
            smtp.send(b".\r\n")
            smtp.getreply()
            smtp.rset()
            return _result(*refused)
        return self._write_data(smtp, data, before_end, end_written)

    def _write_data(
        self,
        smtp: smtplib.SMTP,
        data: bytes,
        before_end: Callable[[], None] | None,
        end_written: list[bool],
    ) -> SendResult:
        """The message after the server's 354, then its end, then the reply. The body and
        the end are two writes (no delay between them: TCP_NODELAY), so that a server
        that hung up mid-DATA is noticed before the end is written."""
        body = _LEADING_DOT.sub(b"..", data) if data.startswith(b".") or b"\n." in data else data
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        sock = smtp.sock
        assert sock is not None
        sock.sendall(body)
        if select.select([sock], [], [], 0)[0]:
            # The server hung up (or said something) in the middle of the data: the end
            # was not written, the message was not taken.
            code, text = smtp.getreply()
            smtp.close()
            return replace(_result(code, text), connection_lost=True)
        if before_end is not None:
            before_end()
        # A write that fails leaves nothing of it on the way: the end was not written.
        sock.sendall(b".\r\n")
        end_written[0] = True
        return _result(*smtp.getreply())

    @staticmethod
    def _reset_quietly(smtp: smtplib.SMTP) -> None:
        # After a refusal the session is reset; if the connection is gone, the next send
        # reports it.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.rset()

    def reconnect(self) -> None:
        self.close()
        self.open()

    def close(self) -> None:
        if self._client is not None:
            # Closing a connection the server already dropped: nothing left to do.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._client.close()
            self._client = None
