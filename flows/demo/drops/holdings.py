"""Prices and positions: the daily random walk, the initial positions, the trades of a
day (those alerts brought and background ones) applied to the positions, the holdings
snapshot and the transactions file."""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pyarrow as pa

from flows.demo.drops.arrays import I64, Bools, Rng, dictionary, sorted_unique, timestamps
from flows.demo.drops.bank import TRADE_FIELDS, Bank, Trades
from flows.demo.drops.master_data import Universe

POSITIONS_MEDIAN: Final = 7.6  # lognormal positions per client: mean about 10


POSITIONS_SIGMA: Final = 0.75


MAX_POSITIONS: Final = 80


SAVINGS_PLAN_SHARE: Final = 0.05  # positions with fractional quantities


BACKGROUND_NEW_POSITIONS: Final = 0.0008  # per client and business day


BACKGROUND_INCREASES: Final = 0.0008


BACKGROUND_PARTIAL_SELLS: Final = 0.0008


BACKGROUND_CLOSES: Final = 0.0005


REOPEN_AFTER_CLOSE: Final = 0.9


def price_cents_of(universe: Universe) -> I64:
    """Today's prices in whole cents (at least one)."""
    return np.maximum(np.rint(universe.price * 100.0), 1).astype(np.int64)


def sample_securities(universe: Universe, rng: Rng, size: int) -> I64:
    """``size`` securities drawn by popularity (with repeats)."""
    found = np.searchsorted(universe.popularity_cdf, rng.random(size), side="right")
    return np.minimum(found, universe.size - 1).astype(np.int64)


def advance_prices(bank: Bank, rng: Rng) -> None:
    """The next business day's prices: a random walk, plus a jump after yesterday's
    rating changes."""
    u = bank.universe
    jump = np.where(bank.change > 0, 0.02, np.where(bank.change < 0, -0.03, 0.0))
    u.price = (u.price * np.exp(rng.normal(0.0002, u.volatility) + jump)).clip(0.5, None)
    bank.price_cents = price_cents_of(u)


def quantities(price_cents: I64, rng: Rng, security: I64) -> I64:
    """Quantities in thousandths for new positions in ``security``."""
    size = len(security)
    price = price_cents[security] / 100.0
    savings_plan = rng.random(size) < SAVINGS_PLAN_SHARE
    value = np.where(
        savings_plan,
        rng.lognormal(math.log(1500.0), 0.8, size),
        rng.lognormal(math.log(5000.0), 1.1, size),
    ).clip(50.0, 2_000_000.0)
    whole = np.maximum(np.rint(value / price), 1) * 1000
    fractional = np.maximum(np.rint(value / price * 1000), 1)
    return np.where(savings_plan, fractional, whole).astype(np.int64)


def initial_positions(
    rng: Rng, universe: Universe, client_count: int, price_cents: I64
) -> tuple[I64, I64]:
    """Sorted position keys (client * universe size + security) and quantities.

    Each client draws their number of positions from the popularity distribution;
    repeats are dropped and drawn again (twice), which is sampling without
    replacement for all but a handful of clients."""
    n = universe.size
    count = client_count
    wanted = np.rint(rng.lognormal(math.log(POSITIONS_MEDIAN), POSITIONS_SIGMA, count))
    wanted = wanted.clip(1, min(MAX_POSITIONS, n)).astype(np.int64)
    owner = np.repeat(np.arange(count, dtype=np.int64), wanted)
    keys = sorted_unique(owner * n + sample_securities(universe, rng, len(owner)))
    del owner
    for _ in range(2):
        have = np.bincount(keys // n, minlength=count)
        missing = wanted - have
        if not missing.any():
            break
        owner = np.repeat(np.arange(count, dtype=np.int64), missing)
        extra = owner * n + sample_securities(universe, rng, len(owner))
        keys = sorted_unique(np.concatenate([keys, extra]))
    return keys, quantities(price_cents, rng, keys % n)


def holdings_table(bank: Bank) -> pa.Table:
    n = bank.universe.size
    security = bank.position_key % n
    value = np.rint(bank.position_qty * bank.price_cents[security] / 1000.0)
    return pa.table(
        {
            "client": (bank.position_key // n + 1).astype(np.int32),
            "isin": dictionary(security, bank.universe.isins),
            "qty": bank.position_qty,
            "value_cents": value.astype(np.int64),
        }
    )


def _background_trades(bank: Bank, rng: Rng) -> Trades:
    count = bank.clients.count
    positions = len(bank.position_key)
    n = bank.universe.size
    new = int(rng.poisson(BACKGROUND_NEW_POSITIONS * count))
    new += round(REOPEN_AFTER_CLOSE * bank.closes_yesterday)
    new_client = rng.integers(0, count, new).astype(np.int64)
    new_security = sample_securities(bank.universe, rng, new)
    new_amount = quantities(bank.price_cents, rng, new_security)
    parts = [Trades(new_client, new_security, np.zeros(new, dtype=np.bool_), new_amount)]
    if positions:
        for rate, sell in (
            (BACKGROUND_INCREASES, False),
            (BACKGROUND_PARTIAL_SELLS, True),
            (BACKGROUND_CLOSES, True),
        ):
            size = int(rng.poisson(rate * count))
            picked = rng.integers(0, positions, size)
            key = bank.position_key[picked]
            qty = bank.position_qty[picked]
            if not sell:
                more = qty * rng.uniform(0.1, 0.6, size)
                whole = qty % 1000 == 0
                amount = np.where(
                    whole,
                    np.maximum(np.rint(more / 1000), 1) * 1000,
                    np.maximum(np.rint(more), 1),
                ).astype(np.int64)
            elif rate == BACKGROUND_CLOSES:
                amount = np.full(size, 1000, dtype=np.int64)
            else:
                amount = rng.integers(200, 600, size).astype(np.int64)
            parts.append(Trades(key // n, key % n, np.full(size, sell), amount))
    return Trades(*(np.concatenate([getattr(p, f) for p in parts]) for f in TRADE_FIELDS))


def trades_table(bank: Bank, rng: Rng, d: int) -> pa.Table:
    """The day's trades (alert-driven ones first); applies them to the positions."""
    n = bank.universe.size
    parts = [*bank.pending_trades.pop(d, []), _background_trades(bank, rng)]
    t = Trades(*(np.concatenate([getattr(p, f) for p in parts]) for f in TRADE_FIELDS))
    key, first = np.unique(t.client * n + t.security, return_index=True)
    sell, amount = t.sell[first], t.amount[first]

    keys = bank.position_key
    index = np.asarray(np.searchsorted(keys, key), dtype=np.int64)
    found: Bools
    current: I64
    if len(keys):
        clipped = np.minimum(index, len(keys) - 1)
        found = (index < len(keys)) & (keys[clipped] == key)
        current = np.where(found, bank.position_qty[clipped], 0)
    else:
        found = np.zeros(len(key), dtype=np.bool_)
        current = np.zeros(len(key), dtype=np.int64)
    whole = current % 1000 == 0
    part = current * amount / 1000.0
    sold = np.where(
        whole, np.maximum(np.rint(part / 1000), 1) * 1000, np.maximum(np.rint(part), 1)
    ).astype(np.int64)
    sold = np.where(amount >= 1000, current, np.minimum(sold, current))
    quantity = np.where(sell, sold, amount)
    valid = np.where(sell, found & (current > 0), True)
    key, sell, quantity, found = key[valid], sell[valid], quantity[valid], found[valid]
    index = index[valid]

    security = key % n
    size = len(key)
    price = np.maximum(
        np.rint(bank.price_cents[security] * (1 + rng.normal(0.0, 0.004, size))), 1
    ).astype(np.int64)
    seconds = rng.integers(9 * 3600, 17 * 3600 + 1800, size)
    order = np.lexsort((key, seconds))
    ids = np.arange(bank.next_transaction_id, bank.next_transaction_id + size)
    bank.next_transaction_id += size
    bank.transactions += size
    table = pa.table(
        {
            "id": ids.astype(np.int64),
            "client": (key[order] // n + 1).astype(np.int32),
            "isin": dictionary(security[order], bank.universe.isins),
            "side": dictionary(sell[order].astype(np.int32), ["buy", "sell"]),
            "qty": quantity[order],
            "price_cents": price[order],
            "executed_at": timestamps(bank.drop_dates[d], seconds[order]),
        }
    )

    # The next snapshot: existing positions change, new ones are inserted in order.
    delta = np.where(sell, -quantity, quantity)
    qty = bank.position_qty.copy()
    qty[index[found]] += delta[found]  # keys are unique: no repeated index
    opened = ~found
    keys = np.insert(keys, index[opened], key[opened])
    qty = np.insert(qty, index[opened], quantity[opened])
    open_ = qty > 0
    bank.closes_yesterday = int((~open_).sum())
    bank.position_key, bank.position_qty = keys[open_], qty[open_]
    return table
