"""Dispatch fan-out: sending in parallel batches across worker processes (Dask through
Prefect's ``DaskTaskRunner``), chosen by ``VOTUM_DISPATCH_WORKERS`` > 1 or
``VOTUM_DASK_ADDRESS``; ``dispatch()`` (flows/notify/dispatch.py) stays the one entry
point, and the workers send through the same core as the in-process dispatch
(flows/notify/sending.py). When no more than one
batch (``VOTUM_DISPATCH_BATCH_SIZE``) is pending, the dispatching process sends it
itself: starting workers would take longer.

Who does what:

* The **coordinator** (the process running ``dispatch()``) is the only one that opens
  the DuckDB warehouse, which admits one writing process. It claims a round of pending
  rows (``sending``, committed), splits it into one sub-batch per worker, submits one
  Prefect task per sub-batch (never one per email), waits, and folds the journal into
  the ledger.
* A **worker** gets the claimed messages (no secret: it reads the SMTP password and the
  opt-out link key from its own environment through ``get_settings()``), opens its own
  SMTP connection(s), renders and sends, writes every outcome to the SQLite delivery
  journal right after the server answered, and returns counts. Task parameters reach
  the workers through Dask only; Prefect's server records task runs without their
  parameter values, and nothing here logs a name or an address.

Exactly-once holds as in the single process (see ``flows/notify/sending.py``), and
for what is new here:

* A killed worker: what it sent is in the journal. Dask may run its sub-batch again on
  another worker; that one skips every message the journal already has an outcome for.
  Otherwise the sub-batch counts as failed, its rows go back to ``pending`` at the fold
  and the next dispatch sends them.
* A killed coordinator: its workers may still be sending. Every dispatch writes a new
  token into the journal before it folds anything, and a worker compares it with its
  own before every message: a worker of a dead dispatch stops at its next message, and
  what it still records is folded by the next fold.
* In both cases the one repeat that cannot be ruled out is the documented one: a
  message whose end was written to the server when its worker died (at most one per
  connection that was sending). The journal marks it in flight: no worker sends it again
  in the same dispatch, the fold makes it ``uncertain``, and a later dispatch sends it at
  most once more, with the same Message-ID (``VOTUM_RESEND_UNCERTAIN``).

Workers must run on the machine that holds ``VOTUM_HOME`` (the journal is a SQLite WAL
file) with the same ``VOTUM_*`` settings: a worker that sees no journal, or whose mail
server, sender or link settings differ from the coordinator's, raises
``ConfigurationError`` and the dispatch stops with its rows back to ``pending``. Each
round has ``VOTUM_DISPATCH_WORKERS`` sub-batches (on an existing cluster, set it to its
number of worker threads). ``VOTUM_SMTP_MAX_PER_SECOND`` stays a global limit: each
sub-batch of a round sends at most that rate divided by their number. A local cluster
gets the coordinator's Prefect API URL (its temporary server if none is configured), so
that its workers do not start their own; the workers of an existing cluster need
``PREFECT_API_URL`` in their environment. (Where the dispatching process already has a
default Dask client, e.g. inside a Dask worker, Prefect's runner uses that client's
cluster instead.)
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.errors import ConfigurationError, VotumError
from flows.notify.journal import Journal
from flows.notify.ledger import (
    PENDING,
    SENT,
    UNCERTAIN,
    UNKNOWN_AFTER_CRASH,
    ClaimedMessage,
    apply_journal,
)
from flows.notify.sending import (
    Sender,
    Tally,
    Throttle,
    TransportFactory,
    batch_renderer,
    claimed_batches,
    send_batch,
)
from flows.notify.transport import SmtpTransport
from flows.settings import Settings, get_settings
from flows.signing import installation_secret, secret_fingerprint

log = logging.getLogger("votum.notify.fanout")


@dataclass(frozen=True)
class BatchResult:
    """What a worker returns for one sub-batch: counts, and who it was."""

    worker: str  # "host:pid"
    sent_by_kind: dict[str, int]  # with those found sent by an earlier run of the batch
    failed: int
    suppressed: int
    left_pending: int
    attempts: int
    found_sent: int = 0  # sent by an earlier run of this sub-batch (a lost worker)
    uncertain: int = 0
    withdrawn: int = 0

    @property
    def sent(self) -> int:
        return sum(self.sent_by_kind.values())

    def tally(self) -> Tally:
        return Tally(
            sent=self.sent,
            failed=self.failed,
            suppressed=self.suppressed,
            left_pending=self.left_pending,
            attempts=self.attempts,
            sent_by_kind=Counter(self.sent_by_kind),
            uncertain=self.uncertain,
            withdrawn=self.withdrawn,
        )


class _FencedSender(Sender):
    """A connection of a fan-out worker: sends only while its dispatch is the current
    one, and never a message the journal already has an outcome for."""

    def __init__(
        self,
        settings: Settings,
        transport: SmtpTransport,
        throttle: Throttle,
        journal_path: Path,
        token: str,
    ) -> None:
        super().__init__(settings, transport, throttle, time.sleep, journal_path)
        self.token = token
        self.found_sent = 0

    def deliver(self, message: ClaimedMessage, data: bytes) -> tuple[str, int]:
        if self.journal.current_dispatch() != self.token:
            return PENDING, 0  # a newer dispatch has begun: leave it to that one
        recorded = self.journal.outcome_status(message.message_key)
        if recorded is not None:
            # Sent (or refused) by an earlier run of this sub-batch on a worker that died.
            self.found_sent += recorded == SENT
            return recorded, 0
        if self.journal.is_in_flight(message.message_key):
            # A worker that died had written its end: it may have arrived. Not again in
            # this dispatch (a later one may send it once more).
            self.journal.record(message.message_key, UNCERTAIN, UNKNOWN_AFTER_CRASH, 0)
            return UNCERTAIN, 0
        return super().deliver(message, data)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def send_sub_batch(
    messages: Sequence[ClaimedMessage],
    *,
    delivery: dict[str, str],
    sent_at: datetime,
    journal_path: str,
    token: str,
    max_per_second: float,
    profile: dict[str, str | None] | None = None,
) -> BatchResult:
    """Render and send a sub-batch in this process (the body of the worker task);
    ``profile`` is the coordinator's :func:`sending_profile`, checked against ours."""
    settings = get_settings()
    if profile is not None:
        _check_profile(profile, sending_profile(settings))
    journal = Path(journal_path)
    if not journal.is_file():
        raise ConfigurationError(
            f"This dispatch worker ({worker_id()}) cannot see the delivery journal "
            f"{journal.name} of the dispatching process: fan-out workers must run on the "
            "machine that holds VOTUM_HOME."
        )
    throttle = Throttle(max_per_second)
    senders: list[_FencedSender] = []
    tally = Tally()
    try:
        for _ in range(settings.smtp_pool_size):
            transport = SmtpTransport(settings)
            transport.open()
            senders.append(_FencedSender(settings, transport, throttle, journal, token))
        send_batch(senders, messages, batch_renderer(settings, delivery, sent_at), tally)
    finally:
        for sender in senders:
            sender.close()
    return BatchResult(
        worker=worker_id(),
        sent_by_kind=dict(tally.sent_by_kind),
        failed=tally.failed,
        suppressed=tally.suppressed,
        left_pending=tally.left_pending,
        attempts=tally.attempts,
        found_sent=sum(s.found_sent for s in senders),
        uncertain=tally.uncertain,
        withdrawn=tally.withdrawn,
    )


@task(name="send-email-batch", cache_policy=NO_CACHE, persist_result=False, retries=0)
def send_email_batch(
    messages: list[ClaimedMessage],
    delivery: dict[str, str],
    sent_at: datetime,
    journal_path: str,
    token: str,
    max_per_second: float,
    profile: dict[str, str | None],
) -> BatchResult:
    """One sub-batch on a worker. No retries by Prefect: what is left goes next run."""
    return send_sub_batch(
        messages,
        delivery=delivery,
        sent_at=sent_at,
        journal_path=journal_path,
        token=token,
        max_per_second=max_per_second,
        profile=profile,
    )


# Where and as whom the emails go, and what their links say: a worker must agree with
# the coordinator on all of it (the password is not compared; the signing key only by its
# fingerprint: neither leaves a process).
_PROFILE_FIELDS = (
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_user",
    "mail_from",
    "mail_from_name",
    "bank_name",
    "unsubscribe_url",
    "unsubscribe_address",
)


def sending_profile(settings: Settings) -> dict[str, str | None]:
    values = settings.model_dump(include=set(_PROFILE_FIELDS))
    profile = {
        name: None if values[name] is None else str(values[name]) for name in _PROFILE_FIELDS
    }
    # The key that signs the opt-out links: compared by its fingerprint, never sent.
    profile["unsubscribe_secret"] = secret_fingerprint(installation_secret(settings))
    return profile


def _check_profile(expected: dict[str, str | None], own: dict[str, str | None]) -> None:
    differing = sorted(name for name in expected if own.get(name) != expected[name])
    if differing:
        names = ", ".join(f"VOTUM_{name.upper()}" for name in differing)
        raise ConfigurationError(
            f"The dispatch worker {worker_id()} has other settings than the dispatching "
            f"process for {names}: start the workers with the same VOTUM_* environment."
        )


def split(batch: Sequence[ClaimedMessage], parts: int) -> list[list[ClaimedMessage]]:
    """Contiguous sub-batches of nearly equal size (key order kept), none empty."""
    size = -(-len(batch) // parts)
    return [list(batch[i : i + size]) for i in range(0, len(batch), size)]


def prefect_api_url() -> str:
    """The Prefect API the workers must report to: the configured one, else the
    temporary server of this process (started now if it is not running yet)."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if url:
        return str(url)
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    return str(server.api_url)


def task_runner(settings: Settings) -> AbstractContextManager[Any]:
    """A started ``DaskTaskRunner``: on the cluster at ``VOTUM_DASK_ADDRESS``, or on a
    local cluster of ``VOTUM_DISPATCH_WORKERS`` processes, one thread each."""
    try:
        from prefect_dask.task_runners import DaskTaskRunner
    except ImportError as exc:
        raise ConfigurationError(
            "VOTUM_DISPATCH_WORKERS > 1 and VOTUM_DASK_ADDRESS need the 'dask' extra: "
            f"pip install 'votum[dask]' (missing: {exc.name or exc})"
        ) from exc

    # Dask's INFO lines (workers and clients coming and going) would fill votum's log.
    logging.getLogger("distributed").setLevel(logging.WARNING)

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": settings.dispatch_workers,
            "threads_per_worker": 1,
            "processes": True,
            # Loopback only (Dask's connections are not authenticated), and the
            # scheduler's HTTP endpoint on a free port, not 8787 (it starts even
            # without a dashboard).
            "host": "127.0.0.1",
            "dashboard_address": "127.0.0.1:0",
            "env": {
                "PREFECT_API_URL": prefect_api_url(),
                # Task runs outside a flow run (dispatch called directly) would warn once
                # per batch that their logs cannot go to the API; they go to the console.
                "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": os.environ.get(
                    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore"
                ),
            },
        }
    )


def dispatch_fanned_out(
    con: duckdb.DuckDBPyConnection,
    journal: Journal,
    settings: Settings,
    *,
    token: str,
    kinds: Sequence[str],
    business_day: date | None,
    tally: Tally,
    senders: Counter[str],
    on_batch: Callable[[int], None] | None,
    transport_factory: TransportFactory,
) -> None:
    """The coordinator's part (called by ``dispatch()`` with the warehouse open)."""
    parts = settings.dispatch_workers
    # A refused login stops here, before anything is claimed (the workers log in with
    # the same settings from their own environment).
    probe = transport_factory(settings)
    probe.open()
    probe.close()
    share = settings.smtp_max_per_second / parts
    profile = sending_profile(settings)
    try:
        with task_runner(settings) as runner:
            _connect(runner, settings)
            for kind in kinds:
                limit = settings.dispatch_batch_size * parts
                for claimed in claimed_batches(con, journal, settings, kind, limit, business_day):
                    batch, delivery, sent_at = claimed.messages, claimed.delivery, claimed.sent_at
                    chunks = split(batch, parts)
                    futures = [
                        runner.submit(
                            send_email_batch,
                            parameters={
                                "messages": chunk,
                                "delivery": delivery,
                                "sent_at": sent_at,
                                "journal_path": str(settings.journal_path),
                                "token": token,
                                "max_per_second": share,
                                "profile": profile,
                            },
                        )
                        for chunk in chunks
                    ]
                    problem: VotumError | None = None
                    for chunk, future in zip(chunks, futures, strict=True):
                        problem = _collect(future, chunk, journal, tally, senders) or problem
                    apply_journal(con, journal)
                    if problem is not None:
                        raise problem
                    if on_batch is not None:
                        on_batch(len(batch))
    finally:
        apply_journal(con, journal)


def _connect(runner: Any, settings: Settings) -> None:
    """Start the local cluster, or reach the existing one, before anything is claimed."""
    try:
        runner.client  # noqa: B018 - the client (and a local cluster) is made on first use
    except (OSError, TimeoutError) as exc:
        where = f"the Dask scheduler at VOTUM_DASK_ADDRESS={settings.dask_address}"
        raise ConfigurationError(
            f"Cannot reach {where if settings.dask_address else 'a local Dask cluster'} "
            f"for the dispatch fan-out: {type(exc).__name__}: {exc}"
        ) from None


def _collect(
    future: Any,
    chunk: Sequence[ClaimedMessage],
    journal: Journal,
    tally: Tally,
    senders: Counter[str],
) -> VotumError | None:
    """Add a sub-batch's counts; a sub-batch whose worker failed is counted from the
    journal (what it recorded) and the rest as left pending. Returns our own error if
    the worker raised one (a setting or the mail server): the dispatch stops then."""
    try:
        result: BatchResult = future.result()
    except VotumError as exc:
        log.error("A dispatch worker stopped: %s", exc)
        _count_from_journal(chunk, journal, tally)
        return exc
    except Exception as exc:  # noqa: BLE001 - a lost worker must not lose the other batches
        log.warning(
            "A batch of %d emails was lost with its worker (%s); what it sent is kept, "
            "the rest stays pending for the next run.",
            len(chunk),
            type(exc).__name__,
        )
        _count_from_journal(chunk, journal, tally)
        return None
    tally.merge(result.tally())
    senders[result.worker] += result.sent - result.found_sent
    return None


def _count_from_journal(chunk: Sequence[ClaimedMessage], journal: Journal, tally: Tally) -> None:
    for message in chunk:
        tally.add(message.kind, journal.outcome_status(message.message_key) or PENDING, 0)
