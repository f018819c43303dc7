"""Building the MIME message: headers, parts, line endings and header safety."""

from __future__ import annotations

import base64
import email
import email.policy
import re
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import cast

import pytest

from flows.links import UnsubscribeLinks
from flows.notify.message import UnsafeMessageError, build_message
from flows.notify.render import Rendered, clean_header_text

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


# ------------------------------------------------- what a mail client sees, as the email package builds it

ENCODED_WORD = re.compile(r"=\?utf-8\?b\?([A-Za-z0-9+/=]*)\?=")
HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "Content-Language", "Auto-Submitted",
           "X-Votum-Kind", "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version")  # fmt: skip


def by_the_email_package(**arguments: object) -> bytes:
    """The same message built with the standard library's email package (policy SMTP):
    the reference for what a mail client must see."""
    rendered = cast(Rendered, arguments["rendered"])
    unsubscribe = cast(UnsubscribeLinks | None, arguments.get("unsubscribe"))
    images = cast(dict[str, bytes] | None, arguments.get("images"))
    message = EmailMessage(policy=email.policy.SMTP)
    message.set_content(rendered.text, cte="base64")
    message.add_alternative(rendered.html, subtype="html", cte="base64")
    if images:
        alternative, message = message, EmailMessage(policy=email.policy.SMTP)
        message["MIME-Version"] = "1.0"
        message.make_related()
        message.set_param("type", "multipart/alternative")
        message.attach(alternative)
        for name, data in images.items():
            image = EmailMessage(policy=email.policy.SMTP)
            image.set_content(
                data, "image", "png", cid=f"<{name}>", filename=name, disposition="inline"
            )
            message.attach(image)
    for header, name, address in (
        ("From", arguments["sender_name"], arguments["sender"]),
        ("To", arguments["recipient_name"], arguments["recipient"]),
    ):
        display = clean_header_text(str(name or ""))
        message[header] = Address(display, addr_spec=str(address))
    message["Subject"] = clean_header_text(rendered.subject)
    message["Date"] = format_datetime(cast(datetime, arguments["sent_at"]))
    message["Message-ID"] = str(arguments["message_id"])
    message["Content-Language"] = str(arguments["language"])
    message["Auto-Submitted"] = "auto-generated"
    message["X-Votum-Kind"] = str(arguments["kind"])
    if unsubscribe is not None:
        message["List-Unsubscribe"] = f"<{unsubscribe.mailto}>, <{unsubscribe.https}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message.as_bytes()


def as_a_client_sees_it(data: bytes) -> tuple[dict[str, str], list[tuple[object, ...]]]:
    """Headers decoded as RFC 2047 says (the blank between two encoded words is no
    space), and every part: type, charset, disposition, file name, Content-ID and
    decoded content (text with its line ends as a client shows them; the email package
    ends every text part with one)."""
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    headers = {
        name: str(make_header(decode_header(str(message[name]))))
        for name in HEADERS
        if message[name] is not None
    }
    parts: list[tuple[object, ...]] = []
    for part in email.message_from_bytes(data, policy=email.policy.default).walk():
        content: object = None
        if not part.is_multipart():
            content = part.get_content()
            if isinstance(content, str):
                content = content.replace("\r\n", "\n").rstrip("\n")
        parts.append((part.get_content_type(), part.get_content_charset(),
                      part.get_content_disposition(), part.get_filename(), part["Content-ID"],
                      content))  # fmt: skip
    return headers, parts


def varied_messages() -> list[dict[str, object]]:
    from flows.notify.render import render_client_digest, render_worklist
    from tests.notify.test_render import UNSUBSCRIBE, apple, digest, holding, line, worklist

    long_subject = "Research-Information: " + "Überraschend ÄÖÜ äöü ß „Zitat“ – " * 6
    long_line = "Eine sehr lange Zeile ohne Umbruch, mit Umlauten äöü und €-Beträgen. " * 40
    contents = [
        render_client_digest(digest(holding(), apple()), UNSUBSCRIBE),
        render_client_digest(digest(language="en", first_name="Zoë", last_name="Brontë"), LINKS),
        render_worklist(worklist(line("1", "10"), line("2", "2000")), {"digest:C1": "sent"}),
        render_worklist(worklist(line("1", "10"), language="en"), {}),
        Rendered(subject=long_subject, text=long_line + "\n.\n..\nFrom here\n", html=long_line),
        Rendered(subject="Weekly report " + "words " * 30, text="Report\n", html="<img src=cid:a>"),
        Rendered(subject="ASCII only", text="", html=""),
    ]
    messages = []
    for i, rendered in enumerate(contents):
        messages.append({
            "rendered": rendered,
            "sender": "research@bank.example",
            "sender_name": ("Research-Information", "Bank Müller & Söhne", 'Dr. "Q", Research')[i % 3],
            "recipient": f"recipient{i}@example.com",
            "recipient_name": (None, "Jürgen Müller", "Zoë Ångström-Łukasiewicz " * 5, "O'Brien, Jane")[i % 4],
            "message_id": f"<m{i}.kind@bank.example>",
            "kind": ("client_digest", "advisor_worklist", "adoption_report")[i % 3],
            "language": ("de", "en")[i % 2],
            "sent_at": datetime(2026, 3, 3, 6, 30, i, tzinfo=UTC),
            "unsubscribe": LINKS if i % 2 == 0 else None,
            "images": {"chart-1.png": bytes(range(256)) * 9, "b.png": b"\x89PNG"} if i >= 5 else None,
        })  # fmt: skip
    return messages


def test_a_mail_client_sees_what_the_email_package_would_have_built() -> None:
    """Headers, parts and decoded bodies of every kind of message (umlauts, long subjects
    and names, long lines, both languages, digests, worklists, reports with images) are
    what the standard library's email package gives for the same message."""
    for arguments in varied_messages():
        built = build_message(**arguments)  # type: ignore[arg-type]
        assert b"\n" not in built.replace(b"\r\n", b"")
        assert max(len(line) for line in built.split(b"\r\n")) <= 78
        head = built.split(b"\r\n\r\n")[0].decode("ascii")
        for line in head.split("\r\n"):
            # RFC 2047: a line with an encoded word is at most 76 characters long, and
            # each word is whole characters on its own (a client may decode them apart).
            words = ENCODED_WORD.findall(line)
            assert not words or len(line) <= 76, line
            for word in words:
                base64.b64decode(word).decode("utf-8")
        assert as_a_client_sees_it(built) == as_a_client_sees_it(by_the_email_package(**arguments))
