"""Whether a web link may go into an email: one rule for the settings check and the
renderer. Pure.

An absolute ``https://`` URL with a host, printable, without whitespace, quotes or angle
brackets (nothing that could break out of an HTML attribute or a header) and without a
user name or password. Plain ``http://`` only to a loopback host (``localhost``,
``127.0.0.0/8``, ``::1``): a service on the same machine, as in tests and the demo.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_UNSAFE_IN_LINK = re.compile(r"[\s<>\"'`\\^{|}]")


def is_loopback_host(host: str | None) -> bool:
    """``localhost`` or a loopback IP address (127.0.0.0/8, ::1)."""
    if not host:
        return False
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def web_link_problem(url: str) -> str | None:
    """Why ``url`` cannot be a link in an email, or None when it can. The URL itself
    is never part of the answer (it may carry a token)."""
    if not url.isprintable() or _UNSAFE_IN_LINK.search(url):
        return "contains whitespace, quotes, angle brackets or other unsafe characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        return "is not a valid URL"
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        return "must be an absolute https:// URL with a host"
    if scheme == "http" and not is_loopback_host(parts.hostname):
        return "must be https:// (plain http:// only to localhost or 127.0.0.1)"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    return None


def unsubscribe_url_problem(url: str) -> str | None:
    """:func:`web_link_problem`, and no query or fragment: votum appends the client
    and the token as the query."""
    problem = web_link_problem(url)
    if problem:
        return problem
    parts = urlsplit(url)
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "must not carry a query or fragment (votum adds ?client=...&token=...)"
    return None
