"""Building the MIME message of an email. Pure: bytes out, no network.

We build the message ourselves and hand the bytes to yagmail's SMTP connection
(:mod:`flows.notify.transport`) because yagmail's own message building falls short for
a bank: its plain-text alternative is the raw HTML, its Message-ID is a hash of From,
To and Subject (two different emails with one subject to one client would share it),
and it does not check header values for line breaks.

The standard library's ``email`` package would do, but folding a dozen headers through
its policies costs about three milliseconds a message, more than rendering and sending
together. The structure here is fixed and small (multipart/alternative, two UTF-8 parts
in base64), so it is written directly: every header value is ASCII (non-ASCII names and
subjects as RFC 2047 encoded words, no line holding one longer than 76 characters),
folded at blanks below 78 characters, lines end in CRLF; parts in base64 lines of 76.
The tests parse the result with the ``email`` package and compare it with what that
package builds for the same message.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime, formataddr
from functools import lru_cache

from flows.links import UnsubscribeLinks
from flows.notify.addresses import address_problem
from flows.notify.render import Rendered, clean_header_text

CRLF = "\r\n"
MAX_HEADER_LINE = 78
MAX_ENCODED_LINE = 76  # a line holding an RFC 2047 encoded word (RFC 2047, 2)


class UnsafeMessageError(ValueError):
    """A value cannot be put into a header safely; the message is not built."""


def _encoded(text: str, room: int = MAX_ENCODED_LINE - 1) -> str:
    """Printable ASCII as is; anything else as RFC 2047 base64 encoded words, never
    splitting a character, separated by folding blanks, so that no line holding one is
    longer than 76 characters: ``room`` is what the first line has left after the
    header's name (a continuation line: 75 after its blank)."""
    if text.isascii():
        return text
    data = text.encode("utf-8")
    words, start = [], 0
    while start < len(data):
        # An encoded word is 12 characters around 4 per 3 bytes.
        end = min(start + max(3, (room - 12) // 4 * 3), len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1  # not inside a character: back to the first byte of the next one
        if end == start:  # no room for even one character: it goes on its own
            end += 1
            while end < len(data) and data[end] & 0xC0 == 0x80:
                end += 1
        words.append(data[start:end])
        start, room = end, MAX_ENCODED_LINE - 1
    return f"{CRLF} ".join(
        f"=?utf-8?b?{base64.b64encode(word).decode('ascii')}?=" for word in words
    )


def _base64_lines(data: bytes) -> str:
    """Base64 in lines of 76 characters, each ending in CRLF (what
    ``base64.encodebytes`` writes, with CRLF): one encoding call instead of one per line."""
    encoded = base64.b64encode(data).decode("ascii")
    return "".join(encoded[i : i + 76] + CRLF for i in range(0, len(encoded), 76))


@lru_cache(maxsize=16)
def _sender(name: str, address: str) -> str:
    """The From header's value (the same for every message of a dispatch)."""
    return _address("From", name, address)


@lru_cache(maxsize=16)
def _date(sent_at: datetime) -> str:
    """The Date header's value (the same for every message of a batch)."""
    return format_datetime(sent_at)


def _address(header: str, name: str | None, address: str) -> str:
    problem = address_problem(address)
    if problem:
        raise UnsafeMessageError(f"{problem}: refused before sending")
    display = clean_header_text(name or "")
    if not display:
        return address
    if display.isascii():
        return formataddr((display, address))  # quotes the name where it needs it
    words = _encoded(display, MAX_ENCODED_LINE - len(header) - 2)
    last = words[words.rfind("\n") + 1 :]  # the last line, after its folding blank
    if len(last) + 3 + len(address) > MAX_ENCODED_LINE:
        return f"{words}{CRLF} <{address}>"
    return f"{words} <{address}>"


def _header(name: str, value: str) -> str:
    """``Name: value``, folded at blanks so that no line exceeds 78 characters."""
    unfolded = value.replace(CRLF + " ", "")
    if "\r" in unfolded or "\n" in unfolded or "\0" in unfolded:
        raise UnsafeMessageError(f"the {name} header would contain a line break")
    line = f"{name}: {value}"
    if len(line) <= MAX_HEADER_LINE or CRLF in value:
        return line
    folded, current = [], ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > MAX_HEADER_LINE:
            folded.append(current)
            current = " " + word
        else:
            current = f"{current} {word}" if current else word
    folded.append(current)
    return CRLF.join(folded)


_IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}\.png$")


def _image_part(name: str, data: bytes) -> str:
    if not _IMAGE_NAME.match(name):
        raise UnsafeMessageError(f"image name {name!r} cannot be a Content-ID")
    body = _base64_lines(data)
    return (
        f'Content-Type: image/png; name="{name}"{CRLF}'
        f"Content-Transfer-Encoding: base64{CRLF}"
        f"Content-ID: <{name}>{CRLF}"
        f'Content-Disposition: inline; filename="{name}"{CRLF}{CRLF}{body}'
    )


def _part(content_type: str, text: str) -> str:
    body = _base64_lines(text.encode("utf-8"))
    return (
        f'Content-Type: {content_type}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: base64{CRLF}{CRLF}{body}"
    )


def build_message(
    *,
    rendered: Rendered,
    sender: str,
    sender_name: str,
    recipient: str,
    recipient_name: str | None,
    message_id: str,
    kind: str,
    language: str,
    sent_at: datetime,
    unsubscribe: UnsubscribeLinks | None = None,
    images: Mapping[str, bytes] | None = None,
) -> bytes:
    """The message as bytes ready for SMTP DATA (CRLF line endings). With ``images``,
    the HTML refers to them as ``cid:<name>`` and they travel inline
    (multipart/related around the multipart/alternative)."""
    if any(ch in message_id for ch in "\r\n\0 ") or not message_id.isascii():
        raise UnsafeMessageError("Message-ID contains whitespace, a line break or non-ASCII")
    # Base64 has no "-": this boundary can never occur inside a part.
    boundary = "votum-" + hashlib.sha256(message_id.encode()).hexdigest()[:32]
    headers = [
        _header("From", _sender(sender_name, sender)),
        _header("To", _address("To", recipient_name, recipient)),
        _header("Subject", _encoded(clean_header_text(rendered.subject), MAX_ENCODED_LINE - 9)),
        _header("Date", _date(sent_at)),
        _header("Message-ID", message_id),
        _header("Content-Language", clean_header_text(language)),
        _header("Auto-Submitted", "auto-generated"),
        _header("X-Votum-Kind", clean_header_text(kind)),
    ]
    if unsubscribe is not None:
        for link in (unsubscribe.mailto, unsubscribe.https):
            if any(ch in link for ch in "\r\n\0<> ,") or not link.isascii():
                raise UnsafeMessageError("unsubscribe link contains unsafe characters")
        links = f"<{unsubscribe.mailto}>, <{unsubscribe.https}>"
        headers.append(_header("List-Unsubscribe", links))
        headers.append(_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    alternative = (
        f"--{boundary}{CRLF}"
        + _part("text/plain", rendered.text)
        + f"--{boundary}{CRLF}"
        + _part("text/html", rendered.html)
        + f"--{boundary}--{CRLF}"
    )
    alternative_type = f'multipart/alternative;{CRLF} boundary="{boundary}"'
    headers.append("MIME-Version: 1.0")
    if images:
        related = boundary.replace("votum-", "votum-rel-")
        headers.append(
            f'Content-Type: multipart/related; type="multipart/alternative";{CRLF}'
            f' boundary="{related}"'
        )
        body = (
            f"--{related}{CRLF}Content-Type: {alternative_type}{CRLF}{CRLF}{alternative}"
            + "".join(f"--{related}{CRLF}" + _image_part(n, d) for n, d in images.items())
            + f"--{related}--{CRLF}"
        )
    else:
        headers.append(f"Content-Type: {alternative_type}")
        body = alternative
    message = CRLF.join(headers) + CRLF + CRLF + body
    return message.encode("ascii")
