"""The sending core: claim a batch, render, send and journal each message, count the
outcomes. The in-process dispatch (flows/notify/in_process.py) and the fan-out's workers
(flows/notify/fanout.py) both send through it.

A batch of sendable rows is claimed (``sending``, committed); each message is rendered by
its kind's renderer (flows/notify/kinds.py), checked against the suppression list and,
for a client digest, the client's own objections (``client_opt_outs``) right before every
attempt, sent, and its outcome written to the journal at once; the caller folds the
journal into the ledger after the batch.

Outcomes (the statuses are described in ``flows/notify/ledger.py``): a 2xx reply to the
end of the message is ``sent``; a 5xx is ``failed`` with the server's reply, never
retried blindly; a transient failure before the end of the message was written (4xx,
a connection lost at MAIL, RCPT or mid-DATA, a failed reconnect) is retried with a
doubling backoff (at most ``VOTUM_SMTP_RETRY_BACKOFF_MAX_SECONDS``) and, if it persists,
left ``pending`` for the next run. When the end was written and no reply came (a
timeout, the connection lost after the final dot) the outcome is unknown: ``uncertain``,
never retried in the same dispatch, sent at most once more by a later one, with the
same Message-ID (``VOTUM_RESEND_UNCERTAIN``). A process killed between the server's
reply and the journal write leaves its message in flight: the same rule holds for it.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from flows.clock import clock_for
from flows.notify.faults import after_accept
from flows.notify.journal import Journal
from flows.notify.kinds import SendContext, renderer_for
from flows.notify.ledger import (
    CLIENT_KINDS,
    EXPIRED,
    FAILED,
    OPTED_OUT_BY_LINK,
    PENDING,
    SENT,
    SUPPRESSED,
    UNCERTAIN,
    WITHDRAWN,
    WORKLIST_KINDS,
    ClaimedMessage,
    claim,
    resends_allowed,
    statuses,
)
from flows.notify.message import UnsafeMessageError, build_message
from flows.notify.payloads import worklist_from_json
from flows.notify.render import RenderError
from flows.notify.transport import SendResult, SmtpError, SmtpTransport
from flows.settings import Settings

TransportFactory = Callable[[Settings], SmtpTransport]


class Throttle:
    """At most ``rate`` sends per second across all connections (0: no limit)."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)


@dataclass
class Tally:
    """The outcomes of a dispatch so far, counted as they are journaled."""

    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    left_pending: int = 0
    attempts: int = 0
    sent_by_kind: Counter[str] = field(default_factory=Counter)
    uncertain: int = 0
    withdrawn: int = 0
    expired: int = 0

    def add(self, kind: str, status: str, attempts: int) -> None:
        self.attempts += attempts
        if status == SENT:
            self.sent += 1
            self.sent_by_kind[kind] += 1
        elif status == FAILED:
            self.failed += 1
        elif status == SUPPRESSED:
            self.suppressed += 1
        elif status == UNCERTAIN:
            self.uncertain += 1
        elif status == WITHDRAWN:
            self.withdrawn += 1
        elif status == EXPIRED:
            self.expired += 1
        else:
            self.left_pending += 1

    def merge(self, other: Tally) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.suppressed += other.suppressed
        self.left_pending += other.left_pending
        self.attempts += other.attempts
        self.sent_by_kind.update(other.sent_by_kind)
        self.uncertain += other.uncertain
        self.withdrawn += other.withdrawn
        self.expired += other.expired


def retry_delay(settings: Settings, attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: doubling, capped."""
    delay = settings.smtp_retry_backoff_seconds * 2 ** min(attempts - 1, 32)
    return float(min(delay, settings.smtp_retry_backoff_max_seconds))


def render_claimed(
    message: ClaimedMessage, settings: Settings, delivery: dict[str, str], sent_at: datetime
) -> bytes:
    """The bytes of one claimed message (raises UnsafeMessageError if it cannot be)."""
    context = SendContext(
        settings=settings, business_day=message.business_day, sent_at=sent_at, delivery=delivery
    )
    content = renderer_for(message.kind)(message.payload, context)
    return build_message(
        rendered=content.rendered,
        sender=settings.mail_from,
        sender_name=settings.mail_from_name,
        recipient=message.recipient_email,
        recipient_name=message.recipient_name,
        message_id=message.message_id,
        kind=message.kind,
        language=message.language,
        sent_at=sent_at,
        unsubscribe=content.unsubscribe,
        images=content.images,
    )


class Sender:
    """One connection and one journal handle, used by one thread."""

    def __init__(
        self,
        settings: Settings,
        transport: SmtpTransport,
        throttle: Throttle,
        sleep: Callable[[float], None],
        journal_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.journal = Journal(
            journal_path or settings.journal_path, clock=clock_for(settings), sending=True
        )
        self.throttle = throttle
        self.sleep = sleep

    def deliver(self, message: ClaimedMessage, data: bytes) -> tuple[str, int]:
        """Send with retries; the outcome is in the journal before this returns."""
        settings, key, attempts = self.settings, message.message_key, 0
        while True:
            # An objection is absolute: checked again right before every attempt.
            withheld = self._withheld(message)
            if withheld is not None:
                status, reason = withheld
                self.journal.record(key, status, reason, attempts)
                return status, attempts
            self.throttle.wait()
            attempts += 1
            last = self._attempt(message, data)
            if last.accepted:
                after_accept(settings)  # a test's kill -9 lands here, if it asked for one
                self.journal.record(key, SENT, last.reply, attempts)
                return SENT, attempts
            if last.uncertain:
                # It may have arrived: never again in this dispatch (ledger.py).
                self.journal.record(key, UNCERTAIN, last.reply, attempts)
                return UNCERTAIN, attempts
            if last.permanent:
                self.journal.record(key, FAILED, last.reply, attempts)
                return FAILED, attempts
            if attempts >= settings.smtp_retry_attempts:
                self.journal.record(key, PENDING, last.reply, attempts)
                return PENDING, attempts
            self.sleep(retry_delay(settings, attempts))

    def _withheld(self, message: ClaimedMessage) -> tuple[str, str] | None:
        """(status, reason) when the recipient objected since the message was planned:
        the address is suppressed, or the client opted out through their own link
        (written by another process at any time, so read right before sending)."""
        client = message.recipient_id if message.kind in CLIENT_KINDS else None
        suppressed, opted_out = self.journal.objections(message.recipient_email, client or None)
        if suppressed:
            return SUPPRESSED, "suppressed before sending"
        if opted_out:
            return WITHDRAWN, OPTED_OUT_BY_LINK
        return None

    def _attempt(self, message: ClaimedMessage, data: bytes) -> SendResult:
        """One attempt: a connection lost before is opened again first; a reconnect the
        server refuses is a failed attempt like a failed send (backoff, then pending)."""
        if not self.transport.connected:
            try:
                self.transport.reconnect()
            except SmtpError as exc:
                return SendResult(
                    accepted=False,
                    code=None,
                    reply=f"reconnect failed: {exc}",
                    permanent=False,
                    connection_lost=True,
                )
        result = self.transport.send(
            self.settings.mail_from,
            message.recipient_email,
            data,
            before_end=functools.partial(self.journal.mark_in_flight, message.message_key),
        )
        if result.connection_lost:
            self.transport.close()  # the next attempt or message opens a new one
        return result

    def close(self) -> None:
        self.transport.close()
        self.journal.close()


# How many messages a sender renders before it sends them. Rendering them in a row, away
# from the waits for the server's replies (where the process sleeps and its caches go
# cold), costs a quarter less than rendering each between two sends; the consent check
# stays right before each send, the journal write right after each reply.
RENDER_AHEAD = 32


def send_batch(
    senders: Sequence[Sender],
    batch: Sequence[ClaimedMessage],
    render: Callable[[ClaimedMessage], bytes],
    tally: Tally,
) -> None:
    """Each sender takes up to :data:`RENDER_AHEAD` messages at a time, renders them,
    then sends them one after the other; with several senders, one thread renders while
    another waits for the server."""
    work: queue.SimpleQueue[ClaimedMessage] = queue.SimpleQueue()
    for message in batch:
        work.put(message)
    lock = threading.Lock()

    def rendered(sender: Sender, message: ClaimedMessage) -> bytes | None:
        try:
            return render(message)
        except (UnsafeMessageError, RenderError) as exc:
            # Refused before any byte of it went out: failed, with the reason.
            sender.journal.record(message.message_key, FAILED, f"refused: {exc}", 0)
            with lock:
                tally.add(message.kind, FAILED, 0)
            return None

    def run(sender: Sender) -> None:
        while chunk := _take(work, RENDER_AHEAD):
            ready = [(message, rendered(sender, message)) for message in chunk]
            for message, data in ready:
                if data is None:
                    continue
                status, attempts = sender.deliver(message, data)
                with lock:
                    tally.add(message.kind, status, attempts)

    if len(senders) == 1:
        run(senders[0])
        return
    with ThreadPoolExecutor(max_workers=len(senders), thread_name_prefix="smtp") as pool:
        for future in [pool.submit(run, s) for s in senders]:
            future.result()


def _take(work: queue.SimpleQueue[ClaimedMessage], count: int) -> list[ClaimedMessage]:
    taken: list[ClaimedMessage] = []
    while len(taken) < count:
        try:
            taken.append(work.get_nowait())
        except queue.Empty:
            break
    return taken


def batch_renderer(
    settings: Settings, delivery: dict[str, str], sent_at: datetime
) -> Callable[[ClaimedMessage], bytes]:
    """:func:`render_claimed` for the messages of one batch."""
    return functools.partial(render_claimed, settings=settings, delivery=delivery, sent_at=sent_at)


@dataclass(frozen=True)
class ClaimedBatch:
    messages: list[ClaimedMessage]
    delivery: dict[str, str]  # for worklists: their client digests' statuses now
    sent_at: datetime  # the batch's sending time (the messages' Date)


def claimed_batches(
    con: duckdb.DuckDBPyConnection,
    journal: Journal,
    settings: Settings,
    kind: str,
    limit: int,
    business_day: date | None,
) -> Iterator[ClaimedBatch]:
    """Claim up to ``limit`` sendable messages of ``kind`` at a time until none is left;
    the caller sends each batch and folds the journal before asking for the next. A
    message left pending after its retries, or uncertain, waits for the next run: it is
    not claimed twice in one dispatch. Each batch's keys are noted in the journal (synced
    to disk) before it is handed out: what a power loss may have sent (journal.py)."""
    resends = resends_allowed(settings.resend_uncertain)
    tried: set[str] = set()
    while batch := claim(con, kind, limit, business_day, exclude=tried, resends=resends):
        tried.update(m.message_key for m in batch)
        journal.note_claimed(m.message_key for m in batch)
        delivery = statuses(con, digest_keys(batch)) if kind in WORKLIST_KINDS else {}
        yield ClaimedBatch(batch, delivery, clock_for(settings).now())


def digest_keys(batch: Sequence[ClaimedMessage]) -> set[str]:
    keys: set[str] = set()
    for message in batch:
        keys.update(
            line.digest_key for line in worklist_from_json(message.payload).lines if line.digest_key
        )
    return keys
