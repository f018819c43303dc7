"""Building the MIME message: headers, parts, line endings and header safety."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from flows.links import UnsubscribeLinks
from flows.notify.message import UnsafeMessageError, build_message
from flows.notify.render import Rendered

RENDERED = Rendered(
    subject="Research-Information: SAP SE jetzt „Verkaufen“",
    text="Guten Tag,\nSAP SE: Kaufen → Verkaufen\n",
    html="<html><body><p>SAP SE: Kaufen &rarr; Verkaufen</p></body></html>",
)
LINKS = UnsubscribeLinks(
    mailto="mailto:unsubscribe@bank.example?subject=unsubscribe%20C1",
    https="https://bank.example/unsubscribe?client=C1&token=abc",
)


def build(**overrides: object) -> bytes:
    arguments: dict[str, object] = {
        "rendered": RENDERED,
        "sender": "research@bank.example",
        "sender_name": "Research-Information",
        "recipient": "juergen.mueller@example.com",
        "recipient_name": "Jürgen Müller",
        "message_id": "<abc123.client_digest@bank.example>",
        "kind": "client_digest",
        "language": "de",
        "sent_at": datetime(2026, 3, 3, 6, 30, tzinfo=UTC),
        "unsubscribe": LINKS,
    }
    arguments.update(overrides)
    return build_message(**arguments)  # type: ignore[arg-type]


def test_a_multipart_message_with_crlf_and_the_list_headers() -> None:
    data = build()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == RENDERED.subject
    assert message["To"] == "Jürgen Müller <juergen.mueller@example.com>"
    assert message["Message-ID"] == "<abc123.client_digest@bank.example>"
    assert message["List-Unsubscribe"] == f"<{LINKS.mailto}>, <{LINKS.https}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None and "Kaufen → Verkaufen" in text.get_content()


def test_line_breaks_in_a_name_stay_inside_one_header() -> None:
    data = build(recipient_name="Eve\r\nBcc: all@example.com\x00")
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message.get_all("Bcc") is None
    assert "all@example.com" in str(message["To"])  # as text of the display name only
    assert message["To"].addresses[0].addr_spec == "juergen.mueller@example.com"


@pytest.mark.parametrize(
    "recipient",
    ["a@example.com\r\nRCPT TO:<b@example.com>", "no-at-sign", "two@@example.com", ""],
)
def test_an_unsafe_address_is_refused(recipient: str) -> None:
    with pytest.raises(UnsafeMessageError):
        build(recipient=recipient)


def test_an_unsafe_message_id_or_link_is_refused() -> None:
    with pytest.raises(UnsafeMessageError):
        build(message_id="<a b@bank.example>")
    with pytest.raises(UnsafeMessageError):
        build(
            unsubscribe=UnsubscribeLinks(mailto="mailto:x@bank.example>\r\nX: y", https="https://x")
        )


def test_a_value_equal_to_an_existing_file_path_is_text_never_an_attachment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """yagmail attaches a content string that equals an existing file's path; votum builds
    its own messages, so such a name is shown as text and the file never leaves the
    machine. Sent through a real SMTP server and parsed as received."""
    from flows.notify.render import render_client_digest
    from flows.notify.transport import SmtpTransport
    from flows.settings import Settings
    from tests.notify.test_render import UNSUBSCRIBE, digest, holding
    from tests.smtp_server import RecordingSmtpServer

    secret_file = tmp_path / "clients.csv"
    secret_file.write_text("C1;Jürgen;Müller;DE-SECRET-CONTENT\n", encoding="utf-8")
    path = str(secret_file)
    rendered = render_client_digest(
        digest(holding(security_name=path), first_name=path), UNSUBSCRIBE
    )
    data = build(rendered=rendered, recipient_name=path)
    with RecordingSmtpServer() as server:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            home=tmp_path / "home",
            smtp_host=server.host,
            smtp_port=server.port,
            smtp_security="none",
            mail_from="research@bank.example",
        )
        transport = SmtpTransport(settings)
        transport.open()
        try:
            result = transport.send(settings.mail_from, "juergen.mueller@example.com", data)
        finally:
            transport.close()
        assert result.accepted
        (received,) = server.messages
    message = received.message
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert not list(message.iter_attachments())
    assert b"DE-SECRET-CONTENT" not in received.data
    text = message.get_body(preferencelist=("plain",))
    assert text is not None and path in text.get_content()
