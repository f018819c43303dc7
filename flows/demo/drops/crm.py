"""CRM behaviour: the advisors' follow-ups of alerts (by diligence profile) and their
background activities, the trades an alert brings (scheduled for the holdings), the
clients' weekly opt-outs and address changes, objections and bounces."""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa

from flows.demo.drops import names
from flows.demo.drops.arrays import I64, Rng, choice, dictionary, nullable_dictionary, timestamps
from flows.demo.drops.bank import Activities, Bank, Trades
from flows.demo.drops.master_data import EMAIL_PATTERN_SHARES

FOLLOW_UP_PROBABILITY: Final = (0.90, 0.50, 0.06)


# Delay of the follow-up in business days (0, 1, 2, ...), by profile.
FOLLOW_UP_DELAY: Final = (
    (0.55, 0.30, 0.10, 0.05, 0.0, 0.0, 0.0, 0.0),
    (0.25, 0.25, 0.20, 0.15, 0.10, 0.05, 0.0, 0.0),
    (0.05, 0.10, 0.15, 0.15, 0.15, 0.15, 0.15, 0.10),
)


SECOND_NOTE_PROBABILITY: Final = 0.2


# Share of their worklist's lines an advisor acknowledges by clicking a link, by profile.
WORKLIST_CLICK_SHARE: Final = (0.80, 0.35, 0.03)


BACKGROUND_ACTIVITIES: Final = (6.0, 3.5, 1.2)  # per advisor and business day, by profile


TRADE_IF_FOLLOWED_UP: Final = 0.30


TRADE_IF_NOT_FOLLOWED_UP: Final = 0.05


MAX_TRADE_DELAY: Final = 6  # business days


MAX_TRADE_CALENDAR_DAYS: Final = 10


CLOSE_ON_DOWNGRADE: Final = 0.35


ACTIVITY_TYPES: Final = ("call", "meeting", "email", "note", "alert_acknowledged")


FOLLOW_UP_TYPE_SHARES: Final = (0.45, 0.10, 0.20, 0.0, 0.25)


BACKGROUND_TYPE_SHARES: Final = (0.35, 0.10, 0.20, 0.35, 0.0)


NOTE: Final = 3


WEEKLY_OPT_OUT: Final = 0.003


WEEKLY_OPT_IN_AGAIN: Final = 0.01


WEEKLY_EMAIL_CHANGE: Final = 0.002


SUPPRESSION_DAY_SHARE: Final = 0.2


SUPPRESSIONS_PER_CLIENT: Final = 2e-5


SUPPRESSION_REASONS: Final = ("objection", "bounce")


_BUSINESS_START: Final = 8 * 3600


_BUSINESS_END: Final = 18 * 3600


def process_alerts(bank: Bank, rng: Rng, d: int) -> None:
    """Alerts of day ``d`` (its snapshot, its changes): schedule the advisors'
    follow-ups and the clients' trades."""
    if not bank.change.any():
        return
    n = bank.universe.size
    security = bank.position_key % n
    hit = bank.change[security] != 0
    if not hit.any():
        return
    client = bank.position_key[hit] // n
    security = security[hit]
    quantity = bank.position_qty[hit]
    direction = bank.change[security]
    bank.alerts += len(client)

    # One follow-up decision per alerted client and day (rows are sorted by client).
    first = np.flatnonzero(np.r_[True, client[1:] != client[:-1]])
    group = np.cumsum(np.r_[True, client[1:] != client[:-1]]) - 1
    alerted = client[first]
    advisor = bank.clients.advisor[alerted].astype(np.int64)
    profile = bank.advisors.profile[advisor]
    followed = rng.random(len(alerted)) < np.asarray(FOLLOW_UP_PROBABILITY)[profile]
    delay_cdf = np.cumsum(np.asarray(FOLLOW_UP_DELAY), axis=1)[profile]
    delay = (rng.random(len(alerted))[:, None] > delay_cdf).sum(axis=1)
    kind = choice(rng, len(ACTIVITY_TYPES), FOLLOW_UP_TYPE_SHARES, len(alerted))
    seconds = rng.integers(_BUSINESS_START + 900, _BUSINESS_END, len(alerted))
    second_note = rng.random(len(alerted)) < SECOND_NOTE_PROBABILITY
    note_seconds = np.minimum(seconds + rng.integers(60, 3 * 3600, len(alerted)), _BUSINESS_END - 1)
    for k in np.unique(delay[followed]):
        day = d + int(k)
        if day >= len(bank.drop_dates):
            continue
        mask = followed & (delay == k)
        notes = mask & second_note
        chunk = Activities(
            day=day,
            advisor=np.concatenate([advisor[mask], advisor[notes]]),
            client=np.concatenate([alerted[mask], alerted[notes]]),
            kind=np.concatenate([kind[mask], np.full(int(notes.sum()), NOTE)]),
            seconds=np.concatenate([seconds[mask], note_seconds[notes]]),
            security=np.concatenate([security[first][mask], security[first][notes]]),
        )
        bank.pending_activities.setdefault(day, []).append(chunk)

    # Trades: far more likely after a follow-up, and not before it.
    row_followed = followed[group]
    trades = rng.random(len(client)) < np.where(
        row_followed, TRADE_IF_FOLLOWED_UP, TRADE_IF_NOT_FOLLOWED_UP
    )
    trade_delay = np.where(
        row_followed,
        delay[group] + choice(rng, 4, (0.4, 0.3, 0.2, 0.1), len(client)),
        rng.integers(0, MAX_TRADE_DELAY + 1, len(client)),
    ).clip(0, MAX_TRADE_DELAY)
    sell = direction < 0
    share = np.where(rng.random(len(client)) < CLOSE_ON_DOWNGRADE, 1000, 0)
    share = np.where(share > 0, share, rng.integers(300, 800, len(client)))
    whole = quantity % 1000 == 0
    more = quantity * rng.uniform(0.2, 1.0, len(client))
    buy = np.where(
        whole, np.maximum(np.rint(more / 1000), 1) * 1000, np.maximum(np.rint(more), 1)
    ).astype(np.int64)
    amount = np.where(sell, share, buy)
    today = bank.drop_dates[d]
    for k in np.unique(trade_delay[trades]):
        day = d + int(k)
        if day >= len(bank.drop_dates):
            continue
        if (bank.drop_dates[day] - today).days > MAX_TRADE_CALENDAR_DAYS:
            continue
        mask = trades & (trade_delay == k)
        chunk_trades = Trades(client[mask], security[mask], sell[mask], amount[mask])
        bank.pending_trades.setdefault(day, []).append(chunk_trades)


def activities_table(bank: Bank, rng: Rng, d: int) -> pa.Table:
    a = bank.advisors
    rate = np.where(a.book_size > 0, np.asarray(BACKGROUND_ACTIVITIES)[a.profile], 0.0)
    per_advisor = rng.poisson(rate)
    advisor = np.repeat(np.arange(a.count, dtype=np.int64), per_advisor)
    offset = (rng.random(len(advisor)) * a.book_size[advisor]).astype(np.int64)
    size = len(advisor)
    background = Activities(
        day=d,
        advisor=advisor,
        client=a.book_clients[a.book_start[advisor] + offset],
        kind=choice(rng, len(ACTIVITY_TYPES), BACKGROUND_TYPE_SHARES, size),
        seconds=rng.integers(_BUSINESS_START, _BUSINESS_END, size),
        security=np.full(size, -1, dtype=np.int64),
    )
    parts = [*bank.pending_activities.pop(d, []), background]
    columns = {
        f: np.concatenate([getattr(p, f) for p in parts])
        for f in ("advisor", "client", "kind", "seconds", "security")
    }
    order = np.lexsort((columns["kind"], columns["client"], columns["advisor"], columns["seconds"]))
    columns = {k: v[order] for k, v in columns.items()}
    count = len(order)
    ids = np.arange(bank.next_activity_id, bank.next_activity_id + count, dtype=np.int64)
    bank.next_activity_id += count
    bank.activities += count
    no_isin = columns["security"] < 0
    return pa.table(
        {
            "id": ids,
            "advisor": (columns["advisor"] + 1).astype(np.int32),
            "client": (columns["client"] + 1).astype(np.int32),
            "type": dictionary(columns["kind"], ACTIVITY_TYPES),
            "occurred_at": timestamps(bank.drop_dates[d], columns["seconds"]),
            "isin": nullable_dictionary(
                np.where(no_isin, 0, columns["security"]), no_isin, bank.universe.isins
            ),
        }
    )


def weekly_client_changes(bank: Bank, rng: Rng) -> I64:
    """A week's changes: some opt out, a few opt in again, some change their email
    address (a malformed one gets corrected). Returns the clients with a new address."""
    c = bank.clients
    u = rng.random(c.count)
    c.opt_in = np.where(c.opt_in, u >= WEEKLY_OPT_OUT, u < WEEKLY_OPT_IN_AGAIN)
    changed = np.sort(
        rng.choice(c.count, size=int(rng.binomial(c.count, WEEKLY_EMAIL_CHANGE)), replace=False)
    ).astype(np.int64)
    size = len(changed)
    domains = len(names.CLIENT_EMAIL_DOMAINS)
    shift = rng.integers(1, domains, size)
    c.email_domain[changed] = (c.email_domain[changed] + shift) % domains
    c.email_pattern[changed] = choice(rng, len(EMAIL_PATTERN_SHARES), EMAIL_PATTERN_SHARES, size)
    c.email_kind[changed] = 0
    return changed


def suppressions_table(bank: Bank, rng: Rng, d: int) -> pa.Table | None:
    if rng.random() >= SUPPRESSION_DAY_SHARE:
        return None
    c = bank.clients
    candidates = np.flatnonzero((c.email_kind == 0) & ~c.suppressed)
    size = min(1 + int(rng.poisson(SUPPRESSIONS_PER_CLIENT * c.count)), len(candidates))
    if size == 0:
        return None
    chosen = np.sort(rng.choice(candidates, size=size, replace=False))
    c.suppressed[chosen] = True
    bank.suppressions += size
    seconds = rng.integers(0, 6 * 3600, size)
    order = np.lexsort((chosen, seconds))
    return pa.table(
        {
            "idx": chosen[order].astype(np.int32),
            "suppressed_at": timestamps(bank.drop_dates[d], seconds[order]),
            "reason": dictionary(choice(rng, 2, (0.6, 0.4), size)[order], SUPPRESSION_REASONS),
        }
    )
