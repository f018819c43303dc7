"""The state of the synthetic bank between two drops: master data, ratings, prices,
positions, the follow-ups and trades scheduled for later days, and the counts of what
was written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

from flows.demo.drops.arrays import F64, I8, I32, I64, Bools
from flows.demo.drops.master_data import Advisors, Clients, Universe


@dataclass
class Activities:
    day: int
    advisor: I64
    client: I64
    kind: I64
    seconds: I64  # of the day
    security: I64  # -1: none


@dataclass
class Trades:
    client: I64
    security: I64
    sell: Bools
    amount: I64  # buy: quantity in thousandths; sell: share of the position in thousandths


TRADE_FIELDS: Final = ("client", "security", "sell", "amount")


@dataclass
class Bank:
    """The state of the synthetic bank, advanced one business day at a time by the
    ratings, holdings and CRM modules (built by ``generate.new_bank``)."""

    seed: int
    drop_dates: list[date]
    history: list[date]
    universe: Universe
    covered_index: I64
    clients: Clients
    advisors: Advisors
    labels: list[str]
    label_ids: list[I32]
    label_weights: list[F64]
    rank: I64
    change: I8  # of the current day: +1 up, -1 down
    price_cents: I64
    position_key: I64
    position_qty: I64
    pending_activities: dict[int, list[Activities]] = field(default_factory=dict)
    pending_trades: dict[int, list[Trades]] = field(default_factory=dict)
    closes_yesterday: int = 0
    next_activity_id: int = 1
    next_transaction_id: int = 1
    rating_changes: int = 0
    daily_rating_changes: list[int] = field(default_factory=list)
    alerts: int = 0
    activities: int = 0
    transactions: int = 0
    suppressions: int = 0
