"""Sending what the ledger holds: ``dispatch()``, the one entry point.

1. Outcomes left in the journal by an earlier, interrupted dispatch are folded into the
   ledger; rows it left ``sending`` go back to ``pending``, or become ``uncertain`` when
   the journal marks them in flight (the end of the message had been written).
2. Consent and age: client digests whose client opted out in a later client file or no
   longer has the address are ``withdrawn``; digests and worklists waiting longer than
   ``VOTUM_MAX_PENDING_BUSINESS_DAYS`` business days are ``expired`` (never sent late).
3. The SMTP connections are opened and logged in before anything is claimed: a wrong
   password stops the run with nothing touched.
4. Client digests first, then worklists (which say whether each client was emailed),
   then the reports and the operations alert: batch by batch, in this process
   (flows/notify/in_process.py) or, with ``VOTUM_DISPATCH_WORKERS`` > 1 or
   ``VOTUM_DASK_ADDRESS`` and more than one batch pending, across Dask worker processes
   (flows/notify/fanout.py). Both send through the same core, flows/notify/sending.py,
   which describes the outcomes and their guarantees.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from flows.clock import clock_for
from flows.notify.fanout import dispatch_fanned_out
from flows.notify.in_process import send_in_process
from flows.notify.journal import open_journal
from flows.notify.ledger import (
    ADOPTION_REPORT,
    ADOPTION_SUMMARY,
    ADVISOR_INTRADAY,
    ADVISOR_WEEKLY,
    ADVISOR_WORKLIST,
    CLIENT_DIGEST,
    CLIENT_INTRADAY,
    CLIENT_KINDS,
    OPS_ALERT,
    WORKLIST_KINDS,
    apply_journal,
    ensure_ledger,
    expire_overdue,
    pending_count,
    resends_allowed,
    withdraw_unwanted,
)
from flows.notify.sending import Tally, TransportFactory
from flows.notify.transport import SmtpTransport
from flows.settings import Settings
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
    tally = Tally()
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
        in_order = [k for k in KINDS_IN_ORDER if k in kinds]
        # Up to one batch (an operations alert, a small day) is sent here: starting
        # worker processes would take longer than sending it.
        if fan_out and pending > settings.dispatch_batch_size:
            dispatch_fanned_out(
                con,
                journal,
                settings,
                token=token,
                kinds=in_order,
                business_day=business_day,
                tally=tally,
                senders=senders,
                on_batch=on_batch,
                transport_factory=transport_factory,
            )
        else:
            send_in_process(
                con,
                journal,
                settings,
                kinds=in_order,
                business_day=business_day,
                tally=tally,
                on_batch=on_batch,
                transport_factory=transport_factory,
                sleep=sleep,
            )
    return _report(tally, senders, started)


def _report(tally: Tally, senders: Counter[str], started: float) -> DispatchReport:
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
