"""The two real SMTP servers, driven with plain ``smtplib``: the demo's Maildir server
(``flows.demo.mailserver``) and the scriptable recording server of the test suite
(``tests.smtp_server``)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from flows.demo.mailserver import DemoMailServer, list_messages, message_keys, read_message
from tests.smtp_server import RecordingSmtpServer, SelfSignedTls

TIMEOUT = 5.0
SENDER = "votum@bank.example"
ANNA = "anna.mueller@kunde.example"
BEN = "ben.schmidt@kunde.example"
LONG_LINE = "Ä" * 2500  # 5,000 bytes of UTF-8 on one line: far above RFC 5321's 1,000


def _message(subject: str = "Ratingänderung: Siemens – Kaufen", *, to: str = ANNA) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Votum Research <{SENDER}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = "<digest-1@votum.example>"
    message["X-Votum-Kind"] = "client-digest"
    message.set_content("Grüße aus der Research-Abteilung.\nZweite Zeile.\n", cte="8bit")
    message.add_alternative(f"<p>Grüße</p><p>{LONG_LINE}</p>\n", subtype="html", cte="8bit")
    message.set_boundary("==votum-test-boundary==")  # else each flattening draws a new one
    return message


def _wire(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=policy.SMTP)


@pytest.fixture
def server() -> Iterator[RecordingSmtpServer]:
    with RecordingSmtpServer() as smtp:
        yield smtp


def _client(server: RecordingSmtpServer) -> smtplib.SMTP:
    return smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)


# -- the demo's Maildir server -----------------------------------------------------------


def test_demo_server_stores_utf8_multipart_messages_in_a_maildir(tmp_path: Path) -> None:
    maildir = tmp_path / "demo" / "mail"  # created by the server
    assert list_messages(maildir) == []
    first = _message()
    second = _message("Worklist für Berater", to=BEN)
    second.replace_header("X-Votum-Kind", "advisor-worklist")
    with DemoMailServer(maildir) as demo:
        assert demo.host == "127.0.0.1"
        assert demo.port > 0
        with smtplib.SMTP(demo.host, demo.port, timeout=TIMEOUT) as client:
            assert client.sendmail(SENDER, [ANNA, BEN], _wire(first)) == {}
            assert client.sendmail(SENDER, [BEN], _wire(second)) == {}
        assert demo.received == 2

    entries = list_messages(maildir)
    # The keys come from the file names alone; messages already seen can be skipped.
    assert message_keys(maildir) == {e.key for e in entries}
    assert [e.key for e in list_messages(maildir, except_keys={entries[0].key})] == [entries[1].key]
    assert [e.subject for e in entries] == [
        "Ratingänderung: Siemens – Kaufen",
        "Worklist für Berater",
    ]
    assert [e.kind for e in entries] == ["client-digest", "advisor-worklist"]
    assert entries[0].from_ == f"Votum Research <{SENDER}>"
    assert entries[0].to == ANNA
    assert entries[0].envelope_to == (ANNA, BEN)
    assert entries[0].delivered <= entries[1].delivered
    # The subject is RFC 2047-encoded on the wire; the listing decodes it.
    assert b"Subject: =?utf-8?" in _wire(first)

    stored = (maildir / "new" / entries[0].key).read_bytes()
    assert stored.startswith(f"Return-Path: <{SENDER}>\r\nX-Envelope-To: ".encode())
    assert stored.endswith(_wire(first))  # byte for byte, CRLF and 8-bit untouched
    assert entries[0].size == len(stored)

    message = read_message(maildir, entries[0].key)
    assert message["Subject"] == "Ratingänderung: Siemens – Kaufen"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content() == "Grüße aus der Research-Abteilung.\nZweite Zeile.\n"
    assert LONG_LINE in html.get_content()
    with pytest.raises(KeyError):
        read_message(maildir, "no-such-key")


def test_demo_server_port_is_free_and_given_back(tmp_path: Path) -> None:
    with DemoMailServer(tmp_path / "a") as one, DemoMailServer(tmp_path / "b") as two:
        assert one.port != two.port
    with DemoMailServer(tmp_path / "a", port=one.port) as again:  # released on exit
        assert again.port == one.port


# -- the recording server ----------------------------------------------------------------


def test_records_envelope_raw_bytes_and_parsed_headers(server: RecordingSmtpServer) -> None:
    message = _message()
    with _client(server) as client:
        client.send_message(message, to_addrs=[ANNA, BEN])  # BEN as a Bcc
    [received] = server.messages
    assert received.mail_from == SENDER
    assert received.rcpt_tos == [ANNA, BEN]
    assert received.data == _wire(message)
    assert received.message["Subject"] == "Ratingänderung: Siemens – Kaufen"
    assert received.message["X-Votum-Kind"] == "client-digest"
    assert received.message_id == "<digest-1@votum.example>"
    html = received.message.get_body(("html",))
    assert html is not None and LONG_LINE in html.get_content()
    assert (received.tls, received.auth_user) == (False, None)
    assert server.attempts == 1
    server.reset()
    assert (server.messages, server.attempts) == ([], 0)


@pytest.mark.parametrize(
    ("stage", "error"),
    [
        ("data", smtplib.SMTPDataError),
        ("mail", smtplib.SMTPSenderRefused),
        ("rcpt", smtplib.SMTPRecipientsRefused),
    ],
)
def test_fail_next_fails_that_many_transactions_then_accepts(
    server: RecordingSmtpServer, stage: str, error: type[smtplib.SMTPException]
) -> None:
    server.fail_next(2, 451, "Greylisted, try again", stage=stage)  # type: ignore[arg-type]
    with _client(server) as client:
        for _ in range(2):
            with pytest.raises(error) as failure:
                client.sendmail(SENDER, [ANNA, BEN], _wire(_message()))
            if isinstance(failure.value, smtplib.SMTPRecipientsRefused):
                # every recipient of the failing transaction gets the reply
                assert failure.value.recipients == {
                    ANNA: (451, b"Greylisted, try again"),
                    BEN: (451, b"Greylisted, try again"),
                }
            else:
                assert failure.value.smtp_code == 451  # type: ignore[attr-defined]
                assert failure.value.smtp_error == b"Greylisted, try again"  # type: ignore[attr-defined]
        assert client.sendmail(SENDER, [ANNA, BEN], _wire(_message())) == {}
    assert len(server.messages) == 1
    assert server.attempts == (3 if stage == "data" else 1)


def test_a_421_reply_closes_the_connection(server: RecordingSmtpServer) -> None:
    server.fail_next(1)  # 421 at DATA
    with _client(server) as client:
        client.ehlo()
        client.mail(SENDER)
        client.rcpt(ANNA)
        assert client.data(_wire(_message())) == (421, b"Service not available, try later")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()
    with _client(server) as client:
        client.sendmail(SENDER, [ANNA], _wire(_message()))
    assert len(server.messages) == 1


def test_fail_next_checks_its_arguments(server: RecordingSmtpServer) -> None:
    with pytest.raises(ValueError, match="4xx or 5xx"):
        server.fail_next(1, 250)
    with pytest.raises(ValueError, match="stage"):
        server.fail_next(1, stage="helo")  # type: ignore[arg-type]


def test_reject_recipient_refuses_that_address_only(server: RecordingSmtpServer) -> None:
    server.reject_recipient(BEN.upper())
    with _client(server) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(SENDER, [BEN], _wire(_message(to=BEN)))
        assert refused.value.recipients == {BEN: (550, b"Mailbox unavailable")}
        # with another recipient, the message goes to that one and BEN is reported
        assert client.sendmail(SENDER, [ANNA, BEN], _wire(_message())) == {
            BEN: (550, b"Mailbox unavailable")
        }
        with pytest.raises(smtplib.SMTPRecipientsRefused):  # permanent: every time
            client.sendmail(SENDER, [BEN], _wire(_message(to=BEN)))
    assert [m.rcpt_tos for m in server.messages] == [[ANNA]]


def test_drop_connection_after_accepts_then_disconnects(server: RecordingSmtpServer) -> None:
    server.drop_connection_after(1)
    with _client(server) as client:
        client.sendmail(SENDER, [ANNA], _wire(_message()))
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.sendmail(SENDER, [BEN], _wire(_message(to=BEN)))
    assert [m.rcpt_tos for m in server.messages] == [[ANNA]]
    assert server.attempts == 2
    with _client(server) as client:  # once only
        client.sendmail(SENDER, [BEN], _wire(_message(to=BEN)))
    assert len(server.messages) == 2


# -- TLS and AUTH ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls() -> Iterator[SelfSignedTls]:
    certificate = SelfSignedTls()
    yield certificate
    certificate.cleanup()


def _trusting(tls: SelfSignedTls) -> ssl.SSLContext:
    context = tls.client_context()
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # the default for clients from 3.13
    return context


def test_starttls_is_required_and_verifiable_with_the_test_ca(tls: SelfSignedTls) -> None:
    with RecordingSmtpServer(tls=tls, require_starttls=True) as server:
        with _client(server) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.sendmail(SENDER, [ANNA], _wire(_message()))
            assert refused.value.smtp_code == 530
        with _client(server) as client, pytest.raises(ssl.SSLCertVerificationError):
            client.starttls(context=ssl.create_default_context())
        with _client(server) as client:
            client.starttls(context=_trusting(tls))
            client.sendmail(SENDER, [ANNA], _wire(_message()))
        [received] = server.messages
        assert received.tls


def test_implicit_tls_is_verifiable_with_the_test_ca(tls: SelfSignedTls) -> None:
    with RecordingSmtpServer(tls=tls, implicit_tls=True) as server:
        with pytest.raises(ssl.SSLCertVerificationError):
            smtplib.SMTP_SSL(
                server.host, server.port, context=ssl.create_default_context(), timeout=TIMEOUT
            )
        with smtplib.SMTP_SSL(
            server.host, server.port, context=_trusting(tls), timeout=TIMEOUT
        ) as client:
            client.sendmail(SENDER, [ANNA], _wire(_message()))
        [received] = server.messages
        assert received.tls


def test_auth_refuses_a_wrong_password_and_accepts_the_right_one() -> None:
    with RecordingSmtpServer(auth=("votum", "s3cret-passw0rd")) as server:
        with _client(server) as client:
            with pytest.raises(smtplib.SMTPSenderRefused) as unauthenticated:
                client.sendmail(SENDER, [ANNA], _wire(_message()))
            assert unauthenticated.value.smtp_code == 530
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                client.login("votum", "wrong")
            assert refused.value.smtp_code == 535
        with _client(server) as client:
            client.login("votum", "s3cret-passw0rd")
            client.sendmail(SENDER, [ANNA], _wire(_message()))
        [received] = server.messages
        assert received.auth_user == "votum"


def test_auth_over_implicit_tls() -> None:
    with RecordingSmtpServer(implicit_tls=True, auth=("votum", "s3cret")) as server:
        assert server.tls is not None
        context = _trusting(server.tls)
        with smtplib.SMTP_SSL(server.host, server.port, context=context, timeout=TIMEOUT) as c:
            c.login("votum", "s3cret")
            c.sendmail(SENDER, [ANNA], _wire(_message()))
        [received] = server.messages
        assert (received.tls, received.auth_user) == (True, "votum")
