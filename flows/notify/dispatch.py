"""Sending what the ledger holds: claim, send, mark, each step durable.

1. Outcomes left in the journal by an earlier, interrupted dispatch are folded into the
   ledger; rows it left ``sending`` go back to ``pending``, or become ``uncertain`` when
   the journal marks them in flight (the end of the message had been written).
2. Consent and age: client digests whose client opted out in a later client file or no
   longer has the address are ``withdrawn``; digests and worklists waiting longer than
   ``VOTUM_MAX_PENDING_BUSINESS_DAYS`` business days are ``expired`` (never sent late).
3. The SMTP connections are opened and logged in before anything is claimed: a wrong
   password stops the run with nothing touched.
4. Client digests first, then worklists (which say whether each client was emailed):
   a batch of sendable rows is claimed (``sending``, committed), each message is checked
   against the suppression list and, for a client digest, the client's own objections
   (``client_opt_outs``) right before it goes, sent, and its outcome written to the
   journal at once; after the batch the outcomes go into the ledger.

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
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import duckdb

from flows.clock import clock_for
from flows.links import worklist_action_links
from flows.notify.faults import after_accept
from flows.notify.journal import Journal, open_journal
from flows.notify.ledger import (
    ADOPTION_REPORT,
    ADOPTION_SUMMARY,
    ADVISOR_INTRADAY,
    ADVISOR_WEEKLY,
    ADVISOR_WORKLIST,
    CLIENT_DIGEST,
    CLIENT_INTRADAY,
    CLIENT_KINDS,
    EXPIRED,
    FAILED,
    OPS_ALERT,
    OPTED_OUT_BY_LINK,
    PENDING,
    SENT,
    SUPPRESSED,
    UNCERTAIN,
    WITHDRAWN,
    WORKLIST_KINDS,
    ClaimedMessage,
    apply_journal,
    claim,
    ensure_ledger,
    expire_overdue,
    pending_count,
    resends_allowed,
    statuses,
    withdraw_unwanted,
)
from flows.notify.message import UnsafeMessageError, build_message
from flows.notify.payloads import client_digest_from_json, worklist_from_json
from flows.notify.render import (
    Rendered,
    RenderError,
    UnsubscribeLinks,
    render_client_digest,
    render_worklist,
)
from flows.notify.transport import SendResult, SmtpError, SmtpTransport
from flows.runs.ops_alert import ops_alert_from_json, render_ops_alert
from flows.settings import Settings
from flows.signing import UNSUBSCRIBE, installation_secret, make_token
from flows.warehouse import open_warehouse

# Clients first, then advisors (their worklists say who was emailed), then managers.
KINDS_IN_ORDER = (
    CLIENT_DIGEST,
    CLIENT_INTRADAY,
    ADVISOR_WORKLIST,
    ADVISOR_INTRADAY,
    ADOPTION_REPORT,
    ADOPTION_SUMMARY,
    ADVISOR_WEEKLY,
    OPS_ALERT,
)


TransportFactory = Callable[[Settings], SmtpTransport]


@dataclass(frozen=True)
class DispatchReport:
    sent: int = 0
    digests_sent: int = 0
    worklists_sent: int = 0
    failed: int = 0
    suppressed: int = 0
    left_pending: int = 0
    attempts: int = 0
    seconds: float = 0.0
    uncertain: int = 0  # the end was written, no reply came: may have arrived
    withdrawn: int = 0  # client digests no longer wanted (consent at sending)
    expired: int = 0  # waited too long: not sent late
    # Fan-out only: (worker "host:pid", messages it sent), one entry per worker process.
    senders: tuple[tuple[str, int], ...] = ()

    @property
    def messages_per_second(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


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


def unsubscribe_links(
    settings: Settings, client_id: str, issued: date, language: str | None = None
) -> UnsubscribeLinks:
    """The one-click link and the mailto link of a client's digest, both carrying a token
    bound to the client (flows/signing.py); ``issued`` is the digest's business day, so
    that a message rendered again carries the same links. ``language`` (not signed) lets
    votum serve answer in the digest's language without reading the warehouse."""
    token = make_token(installation_secret(settings), UNSUBSCRIBE, (client_id,), issued)
    query = urlencode(
        {"client": client_id, "token": token, **({"lang": language} if language else {})}
    )
    subject = quote(f"unsubscribe {client_id} {token}")
    return UnsubscribeLinks(
        mailto=f"mailto:{settings.opt_out_address}?subject={subject}",
        https=f"{settings.unsubscribe_url}?{query}",
    )


def render_claimed(
    message: ClaimedMessage, settings: Settings, delivery: dict[str, str], sent_at: datetime
) -> bytes:
    """The bytes of one claimed message (raises UnsafeMessageError if it cannot be)."""
    unsubscribe = None
    images: dict[str, bytes] | None = None
    if message.kind in (ADOPTION_REPORT, ADOPTION_SUMMARY):
        # Imported here: matplotlib is needed only when a report goes out.
        from flows.report.render import render_bank_report, render_branch_report
        from flows.report.serialize import bank_report_from_json, branch_report_from_json

        report = (
            render_branch_report(branch_report_from_json(message.payload))
            if message.kind == ADOPTION_REPORT
            else render_bank_report(bank_report_from_json(message.payload))
        )
        rendered = Rendered(subject=report.subject, text=report.text, html=report.html_email)
        images = report.images
    elif message.kind == ADVISOR_WEEKLY:
        from flows.report.advisor_week import advisor_summary_from_json, render_advisor_summary

        summary = advisor_summary_from_json(message.payload)
        page = render_advisor_summary(
            summary,
            lambda day, client_id, isin: worklist_action_links(
                settings, summary.advisor_id, day.isoformat(), sent_at.date(), summary.language
            )(client_id, isin),
        )
        rendered = Rendered(subject=page.subject, text=page.text, html=page.html)
    elif message.kind == OPS_ALERT:
        rendered = render_ops_alert(ops_alert_from_json(message.payload))
    elif message.kind in CLIENT_KINDS:
        digest = client_digest_from_json(message.payload)
        unsubscribe = unsubscribe_links(
            settings, digest.client_id, message.business_day, digest.language
        )
        rendered = render_client_digest(digest, unsubscribe, bank_name=settings.bank_name)
    elif message.kind in WORKLIST_KINDS:
        worklist = worklist_from_json(message.payload)
        # Each line's signed action links for votum serve; they expire counted from today.
        actions = worklist_action_links(
            settings, worklist.advisor_id, worklist.business_day, sent_at.date(), worklist.language
        )
        rendered = render_worklist(worklist, delivery, actions)
    else:
        raise UnsafeMessageError(f"unknown kind of message {message.kind!r}")
    return build_message(
        rendered=rendered,
        sender=settings.mail_from,
        sender_name=settings.mail_from_name,
        recipient=message.recipient_email,
        recipient_name=message.recipient_name,
        message_id=message.message_id,
        kind=message.kind,
        language=message.language,
        sent_at=sent_at,
        unsubscribe=unsubscribe,
        images=images,
    )


@dataclass
class _Tally:
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

    def merge(self, other: _Tally) -> None:
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


class _Worker:
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
        self.journal = Journal(journal_path or settings.journal_path, clock=clock_for(settings))
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
        if self.journal.is_suppressed(message.recipient_email):
            return SUPPRESSED, "suppressed before sending"
        if (
            message.kind in CLIENT_KINDS
            and message.recipient_id
            and self.journal.client_opt_out(message.recipient_id) is not None
        ):
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


def _send_batch(
    workers: Sequence[_Worker],
    batch: Sequence[ClaimedMessage],
    render: Callable[[ClaimedMessage], bytes],
    tally: _Tally,
) -> None:
    """Each worker renders and sends one message after the other, so that one thread
    renders while another waits for the server."""
    work: queue.SimpleQueue[ClaimedMessage] = queue.SimpleQueue()
    for message in batch:
        work.put(message)
    lock = threading.Lock()

    def run(worker: _Worker) -> None:
        while True:
            try:
                message = work.get_nowait()
            except queue.Empty:
                return
            try:
                data = render(message)
            except (UnsafeMessageError, RenderError) as exc:
                # Refused before any byte of it went out: failed, with the reason.
                worker.journal.record(message.message_key, FAILED, f"refused: {exc}", 0)
                status, attempts = FAILED, 0
            else:
                status, attempts = worker.deliver(message, data)
            with lock:
                tally.add(message.kind, status, attempts)

    if len(workers) == 1:
        run(workers[0])
        return
    with ThreadPoolExecutor(max_workers=len(workers), thread_name_prefix="smtp") as pool:
        for future in [pool.submit(run, w) for w in workers]:
            future.result()


def _render_with(
    message: ClaimedMessage, *, settings: Settings, delivery: dict[str, str], sent_at: datetime
) -> bytes:
    return render_claimed(message, settings, delivery, sent_at)


def _dispatch_kind(
    con: duckdb.DuckDBPyConnection,
    journal: Journal,
    workers: Sequence[_Worker],
    kind: str,
    business_day: date | None,
    tally: _Tally,
    on_batch: Callable[[int], None] | None = None,
) -> None:
    settings = workers[0].settings
    resends = resends_allowed(settings.resend_uncertain)
    # A message left pending after its retries, or uncertain, waits for the next run.
    tried: set[str] = set()
    while batch := claim(
        con, kind, settings.dispatch_batch_size, business_day, exclude=tried, resends=resends
    ):
        tried.update(m.message_key for m in batch)
        delivery = statuses(con, digest_keys(batch)) if kind in WORKLIST_KINDS else {}
        sent_at = clock_for(settings).now()
        _send_batch(
            workers,
            batch,
            functools.partial(_render_with, settings=settings, delivery=delivery, sent_at=sent_at),
            tally,
        )
        apply_journal(con, journal)
        if on_batch is not None:
            on_batch(len(batch))


def dispatch(
    settings: Settings,
    *,
    business_day: date | None = None,
    kinds: Sequence[str] = KINDS_IN_ORDER,
    on_batch: Callable[[int], None] | None = None,
    transport_factory: TransportFactory = SmtpTransport,
    sleep: Callable[[float], None] = time.sleep,
) -> DispatchReport:
    """Send every pending email (of ``business_day``, or of all days; of ``kinds``);
    ``on_batch(n)`` is called after each batch of ``n`` messages (a progress bar)."""
    started = time.perf_counter()
    tally = _Tally()
    senders: Counter[str] = Counter()
    with (
        open_warehouse(settings.warehouse_path) as con,
        open_journal(settings.journal_path, clock_for(settings)) as journal,
    ):
        # Before anything else: worker processes a killed dispatch may have left running
        # stop at their next message (flows/notify/fanout.py).
        token = journal.begin_dispatch()
        ensure_ledger(con)
        apply_journal(con, journal)
        resends = resends_allowed(settings.resend_uncertain)
        tally.withdrawn += withdraw_unwanted(con, resends, business_day, kinds)
        tally.expired += expire_overdue(
            con,
            clock_for(settings).today_in_bank(),
            settings.max_pending_business_days,
            resends,
            business_day,
            kinds,
        )
        pending = pending_count(con, business_day, kinds, resends)
        if not pending:
            return _report(tally, senders, started)
        fan_out = settings.dispatch_workers > 1 or settings.dask_address
        # Up to one batch (an operations alert, a small day) is sent here: starting
        # worker processes would take longer than sending it.
        if fan_out and pending > settings.dispatch_batch_size:
            # Imported here: Dask and its cluster are needed only for the fan-out.
            from flows.notify.fanout import dispatch_fanned_out

            dispatch_fanned_out(
                con,
                journal,
                settings,
                token=token,
                kinds=[k for k in KINDS_IN_ORDER if k in kinds],
                business_day=business_day,
                tally=tally,
                senders=senders,
                on_batch=on_batch,
                transport_factory=transport_factory,
            )
            return _report(tally, senders, started)
        workers: list[_Worker] = []
        throttle = Throttle(settings.smtp_max_per_second)
        try:
            for _ in range(settings.smtp_pool_size):
                transport = transport_factory(settings)
                transport.open()  # a refused login stops here, before anything is claimed
                workers.append(_Worker(settings, transport, throttle, sleep))
            for kind in (k for k in KINDS_IN_ORDER if k in kinds):
                _dispatch_kind(con, journal, workers, kind, business_day, tally, on_batch)
        finally:
            for worker in workers:
                worker.close()
            apply_journal(con, journal)
    return _report(tally, senders, started)


def _report(tally: _Tally, senders: Counter[str], started: float) -> DispatchReport:
    return DispatchReport(
        sent=tally.sent,
        digests_sent=sum(tally.sent_by_kind[k] for k in CLIENT_KINDS),
        worklists_sent=sum(tally.sent_by_kind[k] for k in WORKLIST_KINDS),
        failed=tally.failed,
        suppressed=tally.suppressed,
        left_pending=tally.left_pending,
        attempts=tally.attempts,
        seconds=time.perf_counter() - started,
        uncertain=tally.uncertain,
        withdrawn=tally.withdrawn,
        expired=tally.expired,
        senders=tuple(sorted(senders.items())),
    )


def digest_keys(batch: Sequence[ClaimedMessage]) -> set[str]:
    keys: set[str] = set()
    for message in batch:
        keys.update(
            line.digest_key for line in worklist_from_json(message.payload).lines if line.digest_key
        )
    return keys
