"""How a kind of email becomes a message at send time, without notify knowing what it
sends: the ledger row's payload (JSON) goes to the renderer that flows/message_kinds.py
names for its kind, which returns the message's content; the sending core builds the
MIME message around it (flows/notify/message.py).

A renderer lives with its kind (the report's in flows/report/emails.py, the operations
alert's in flows/runs/ops_alert.py, the client digest's and the worklist's in
flows/notify/digest_and_worklist.py) and is imported at its first use in each process.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import cast

from flows.links import UnsubscribeLinks
from flows.message_kinds import RENDERERS
from flows.notify.message import UnsafeMessageError
from flows.notify.render import Rendered
from flows.settings import Settings


@dataclass(frozen=True)
class SendContext:
    """What a renderer may use besides the payload."""

    settings: Settings
    business_day: date  # the ledger row's business day
    sent_at: datetime  # the batch's sending time (links expire counted from its day)
    # A worklist's client digests by ledger key -> their status now (the worklist says
    # whether each client was emailed); empty for other kinds.
    delivery: Mapping[str, str]


@dataclass(frozen=True)
class MessageContent:
    """A rendered message, before its headers: subject, text and HTML, and for a client
    digest its opt-out links (List-Unsubscribe), for a report its inline images."""

    rendered: Rendered
    unsubscribe: UnsubscribeLinks | None = None
    images: Mapping[str, bytes] | None = None


KindRenderer = Callable[[str, SendContext], MessageContent]
"""(payload JSON of the ledger row, context) -> the message's content."""


@cache
def renderer_for(kind: str) -> KindRenderer:
    """The renderer of ``kind``: :data:`flows.message_kinds.RENDERERS` names its module and
    function; the module is imported now if it was not yet. A kind without one is refused
    (:class:`UnsafeMessageError`: the message fails before any byte of it went out)."""
    target = RENDERERS.get(kind)
    if target is None:
        raise UnsafeMessageError(f"unknown kind of message {kind!r}")
    module_name, _, function = target.partition(":")
    return cast(KindRenderer, getattr(importlib.import_module(module_name), function))
