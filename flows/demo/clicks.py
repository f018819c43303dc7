"""The demo's advisors acknowledge worklist lines the way a real advisor does: they open
the worklist email, click an action link, see ``votum serve``'s confirmation page and
press its button. Here that is real HTTP to the running service (GET the link, POST the
page's form), with the demo's simulated clock set to the click's moment, so the service
stamps the click at a working hour of the business day. Nothing is written directly.

Which advisors click how much comes from the generator's hidden diligence profiles
(``GenerationSummary.worklist_click_share``), so a manager sees the same differences in
the worklist clicks as in the CRM activities.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np

from flows.clock import BANK_TIMEZONE, set_simulated_instant
from flows.demo.mailserver import read_message
from flows.errors import VotumError

# What an advisor reports after a call, and how often (the no-contact action needs a
# reason from a list; the demo's advisors do not use it).
CLICKED_ACTIONS = ("called", "meeting", "not_reached")
CLICKED_ACTION_SHARES = (0.60, 0.15, 0.25)
# Clicks fall in working hours after the morning's sending.
FIRST_CLICK = time(8, 0)
LAST_CLICK = time(17, 0)


class DemoClickError(VotumError):
    """votum serve did not answer a demo click as a browser would expect."""


@dataclass(frozen=True)
class WorklistLine:
    """One line of a worklist: its action links by action code."""

    advisor_id: str
    links: dict[str, str]


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


class _FormParser(HTMLParser):
    """The confirmation page's form: where it posts and its hidden fields."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.action: str | None = None
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and (values.get("method") or "").lower() == "post":
            self.action = values.get("action")
        elif tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields.append((str(values["name"]), values.get("value") or ""))


def worklist_lines(html: str, action_path: str) -> list[WorklistLine]:
    """The lines of a worklist's HTML that carry action links to ``action_path``."""
    parser = _LinkParser()
    parser.feed(html)
    lines: dict[tuple[str, str, str], WorklistLine] = {}
    for href in parser.hrefs:
        parts = urlsplit(href)
        if parts.path != action_path:
            continue
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        key = (query.get("advisor", ""), query.get("client", ""), query.get("isin", ""))
        line = lines.setdefault(key, WorklistLine(key[0], {}))
        line.links[query.get("action", "")] = href
    return list(lines.values())


def html_of_worklist(mailbox: Path, key: str) -> str:
    part = read_message(mailbox, key).get_body(preferencelist=("html",))
    return str(part.get_content()) if part is not None else ""


def choose_clicks(
    lines: Iterable[WorklistLine], click_share: Mapping[str, float], rng: np.random.Generator
) -> list[str]:
    """The links the advisors click: each line with the advisor's share, one action."""
    chosen: list[str] = []
    for line in lines:
        if rng.random() >= click_share.get(line.advisor_id, 0.0):
            continue
        action = str(rng.choice(CLICKED_ACTIONS, p=CLICKED_ACTION_SHARES))
        if action in line.links:
            chosen.append(line.links[action])
    return chosen


def click_moments(day: date, count: int, rng: np.random.Generator) -> list[datetime]:
    """``count`` sorted instants in the working hours of ``day`` (Europe/Berlin)."""
    start = datetime.combine(day, FIRST_CLICK, BANK_TIMEZONE)
    span = (datetime.combine(day, LAST_CLICK, BANK_TIMEZONE) - start).total_seconds()
    seconds = np.sort(rng.integers(0, int(span), count))
    return [start + timedelta(seconds=int(s)) for s in seconds]


def click_through(
    links: list[str], moments: list[datetime], clock_file: Path, host: str, port: int
) -> int:
    """GET each link, then POST its confirmation page's form, the clock set to each
    moment; returns how many clicks the service confirmed."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    confirmed = 0
    try:
        for link, moment in zip(links, moments, strict=True):
            set_simulated_instant(clock_file, moment)
            target = urlsplit(link)
            page = _request(connection, "GET", f"{target.path}?{target.query}")
            form = _FormParser()
            form.feed(page)
            if form.action is None:
                raise DemoClickError("votum serve's confirmation page has no form to post")
            _request(
                connection,
                "POST",
                form.action,
                body=urlencode(form.fields),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            confirmed += 1
    finally:
        connection.close()
    return confirmed


def _request(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    connection.request(method, path, body=body, headers=dict(headers or {}))
    response = connection.getresponse()
    text = response.read().decode("utf-8", "replace")
    if response.status != 200:
        raise DemoClickError(
            f"votum serve answered a demo click's {method} with {response.status}; "
            "see its log (VOTUM_HOME/logs/serve.log)"
        )
    return text
