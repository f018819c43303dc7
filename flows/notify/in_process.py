"""Sending in this process: ``VOTUM_SMTP_POOL_SIZE`` connections, one thread each, over
batches of ``VOTUM_DISPATCH_BATCH_SIZE`` claimed messages (flows/notify/sending.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import duckdb

from flows.notify.journal import Journal
from flows.notify.ledger import apply_journal
from flows.notify.sending import (
    Sender,
    Tally,
    Throttle,
    TransportFactory,
    batch_renderer,
    claimed_batches,
    send_batch,
)
from flows.settings import Settings
from flows.signing import installation_secret


def send_in_process(
    con: duckdb.DuckDBPyConnection,
    journal: Journal,
    settings: Settings,
    *,
    kinds: Sequence[str],
    business_day: date | None,
    tally: Tally,
    on_batch: Callable[[int], None] | None,
    transport_factory: TransportFactory,
    sleep: Callable[[float], None],
) -> None:
    """Send ``kinds`` in their order (called by ``dispatch()`` with the warehouse open)."""
    senders: list[Sender] = []
    throttle = Throttle(settings.smtp_max_per_second)
    # The opt-out links' key is read, or made on first use, here, before the pool's
    # threads share it: a second thread could read a key file the first one has created
    # and not yet written (flows/signing.py), and stop the dispatch.
    installation_secret(settings)
    try:
        for _ in range(settings.smtp_pool_size):
            transport = transport_factory(settings)
            transport.open()  # a refused login stops here, before anything is claimed
            senders.append(Sender(settings, transport, throttle, sleep))
        for kind in kinds:
            for batch in claimed_batches(
                con, journal, settings, kind, settings.dispatch_batch_size, business_day
            ):
                render = batch_renderer(settings, batch.delivery, batch.sent_at)
                send_batch(senders, batch.messages, render, tally)
                apply_journal(con, journal)
                if on_batch is not None:
                    on_batch(len(batch.messages))
    finally:
        for sender in senders:
            sender.close()
        apply_journal(con, journal)
