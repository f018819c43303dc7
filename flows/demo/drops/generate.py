"""``generate_drops``: the drops day by day, in a fixed order of the model's steps, from
the bank's state (the model: :mod:`flows.demo.drops`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final, Literal

import numpy as np
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from flows.calendar import business_days, previous_business_day
from flows.demo.drops.arrays import (
    STREAM_CLIENTS,
    STREAM_DAY,
    STREAM_INTRADAY,
    STREAM_LABELS,
    STREAM_POSITIONS,
    STREAM_UNIVERSE,
    choice,
    rng_for,
)
from flows.demo.drops.bank import Bank
from flows.demo.drops.crm import (
    WORKLIST_CLICK_SHARE,
    activities_table,
    process_alerts,
    suppressions_table,
    weekly_client_changes,
)
from flows.demo.drops.holdings import (
    advance_prices,
    initial_positions,
    price_cents_of,
    trades_table,
)
from flows.demo.drops.master_data import (
    advisor_count,
    build_advisors,
    build_clients,
    build_universe,
)
from flows.demo.drops.ratings import (
    INITIAL_RATING_SHARES,
    intraday_batch,
    label_table,
    ratings_first_day,
    ratings_later_day,
)
from flows.demo.drops.writers import DropWriter, remove_stale_files
from flows.intraday.batches import INTRADAY_FOLDER

# votum demo's intraday batches: (index of the drop day, delivery time HHMMSS in
# Europe/Berlin). Each batch changes one held security by one step, rated five minutes
# before its delivery: a downgrade after news (an upgrade if it is rated at the bottom).
DEMO_INTRADAY_BATCHES: Final = ((1, "101500"), (3, "141000"))


@dataclass(frozen=True)
class GenerationSummary:
    """What ``generate_drops`` wrote."""

    out_dir: Path
    drop_dates: list[date]
    file_format: str
    clients: int
    advisors: int
    branches: int
    securities: int  # the whole universe, covered or not
    covered_isins: int
    positions_last_day: int
    rating_changes: int  # upgrades and downgrades in all files (history included)
    daily_rating_changes: list[int]  # per drop, changes rated on the drop day itself
    alerts: int  # alerted client positions (client, ISIN, day)
    activities: int
    transactions: int
    suppressions: int
    # Advisor id -> the share of a day's worklist lines the advisor clicks in the demo
    # (votum demo; by the advisor's hidden diligence profile).
    worklist_click_share: dict[str, float] = field(default_factory=dict)
    # The intraday batches written: (drop day, delivery time HHMMSS, Europe/Berlin).
    intraday_batches: list[tuple[date, str]] = field(default_factory=list)


def new_bank(seed: int, clients: int, drop_dates: Sequence[date], history: Sequence[date]) -> Bank:
    """The bank before its first drop: master data, initial ratings, positions."""
    universe = build_universe(rng_for(seed, STREAM_UNIVERSE), clients)
    n = universe.size
    covered_index = np.flatnonzero(universe.covered).astype(np.int64)
    advisors = advisor_count(clients)
    rng = rng_for(seed, STREAM_CLIENTS)
    client_data = build_clients(rng, clients, advisors)
    advisor_data = build_advisors(rng, advisors, client_data.advisor)
    labels, label_ids, label_weights = label_table()
    rank = np.full(n, -1, dtype=np.int64)
    rank[covered_index] = choice(
        rng_for(seed, STREAM_LABELS), 5, INITIAL_RATING_SHARES, len(covered_index)
    )
    price_cents = price_cents_of(universe)
    position_key, position_qty = initial_positions(
        rng_for(seed, STREAM_POSITIONS), universe, client_data.count, price_cents
    )
    return Bank(
        seed=seed,
        drop_dates=list(drop_dates),
        history=list(history),
        universe=universe,
        covered_index=covered_index,
        clients=client_data,
        advisors=advisor_data,
        labels=labels,
        label_ids=label_ids,
        label_weights=label_weights,
        rank=rank,
        change=np.zeros(n, dtype=np.int8),
        price_cents=price_cents,
        position_key=position_key,
        position_qty=position_qty,
    )


@contextmanager
def _progress(enabled: bool, days: int) -> Iterator[tuple[Progress, TaskID]]:
    bar = Progress(
        TextColumn("[bold]generate[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
    )
    with bar:
        yield bar, bar.add_task("", total=days)


def _history_dates(first_drop: date, count: int) -> list[date]:
    found: list[date] = []
    day = first_drop
    for _ in range(count):
        day = previous_business_day(day)
        found.append(day)
    return found[::-1]


def generate_drops(
    out_dir: Path,
    start: date,
    days: int,
    clients: int,
    seed: int = 42,
    rating_history_days: int = 0,
    file_format: Literal["csv", "parquet"] = "csv",
    progress: bool = False,
    intraday_batches: Sequence[tuple[int, str]] = (),
) -> GenerationSummary:
    """Write ``days`` business-day drops from the first business day on or after
    ``start`` into ``out_dir/<YYYY-MM-DD>/``, for a bank of ``clients`` clients.

    The same arguments give byte-identical files. ``rating_history_days`` puts that many
    business days of rating history before the first drop into the first drop's
    ``ratings`` file. Files of the drop contract already in a drop folder are replaced;
    those this run does not write there are removed. ``intraday_batches`` (drop index,
    delivery HHMMSS) writes a batch of one changed held security into
    ``<day>/intraday/<HHMMSS>/`` (votum demo: ``DEMO_INTRADAY_BATCHES``)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if clients < 1:
        raise ValueError(f"clients must be at least 1, got {clients}")
    if rating_history_days < 0:
        raise ValueError(f"rating_history_days must not be negative, got {rating_history_days}")
    if seed < 0:
        raise ValueError(f"seed must not be negative, got {seed}")
    if file_format not in ("csv", "parquet"):
        raise ValueError(f"file_format must be 'csv' or 'parquet', got {file_format!r}")

    drop_dates = business_days(start, days)
    history = _history_dates(drop_dates[0], rating_history_days)
    bank = new_bank(seed, clients, drop_dates, history)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = DropWriter(bank, file_format)
    positions_last_day = 0
    batches_written: list[tuple[date, str]] = []
    try:
        with _progress(progress, days) as (bar, task):
            for d, day in enumerate(drop_dates):
                folder = out_dir / day.isoformat()
                folder.mkdir(exist_ok=True)
                rng = rng_for(seed, STREAM_DAY, d)
                written: set[Path] = set()

                def step(file: str, day: date = day) -> None:
                    bar.update(task, description=f"{day.isoformat()} {file}")

                if d == 0:
                    rows = ratings_first_day(bank, rng)
                else:
                    advance_prices(bank, rng)
                    rows = ratings_later_day(bank, rng, d)
                step("ratings")
                written.add(writer.ratings(folder, rows))
                step("holdings")
                written.add(writer.holdings(folder, day))
                positions_last_day = len(bank.position_key)
                new_week = d == 0 or day.isocalendar()[:2] != drop_dates[d - 1].isocalendar()[:2]
                if new_week:
                    if d > 0:
                        writer.client_changes(weekly_client_changes(bank, rng))
                    step("clients")
                    written.add(writer.clients(folder))
                    written.add(writer.advisors(folder))
                process_alerts(bank, rng, d)
                step("crm_activities")
                written.add(writer.activities(folder, activities_table(bank, rng, d)))
                step("transactions")
                written.add(writer.transactions(folder, trades_table(bank, rng, d)))
                suppressions = suppressions_table(bank, rng, d)
                if suppressions is not None:
                    written.add(writer.suppressions(folder, suppressions))
                remove_stale_files(folder, written)
                for delivered in sorted(b for i, b in intraday_batches if i == d):
                    # Its own stream: the days' files stay those of a run without batches
                    # up to the batch's day.
                    batch = intraday_batch(
                        bank, rng_for(seed, STREAM_INTRADAY, d, int(delivered)), day, delivered
                    )
                    writer.ratings(folder / INTRADAY_FOLDER / delivered, batch)
                    batches_written.append((day, delivered))
                bar.update(task, advance=1)
    finally:
        writer.close()

    return GenerationSummary(
        out_dir=out_dir,
        drop_dates=drop_dates,
        file_format=file_format,
        clients=clients,
        advisors=bank.advisors.count,
        branches=len(bank.advisors.branch_names),
        securities=bank.universe.size,
        covered_isins=len(bank.covered_index),
        positions_last_day=positions_last_day,
        rating_changes=bank.rating_changes,
        daily_rating_changes=bank.daily_rating_changes,
        alerts=bank.alerts,
        activities=bank.activities,
        transactions=bank.transactions,
        suppressions=bank.suppressions,
        worklist_click_share={
            f"A{advisor + 1:04d}": WORKLIST_CLICK_SHARE[int(profile)]
            for advisor, profile in enumerate(bank.advisors.profile)
        },
        intraday_batches=batches_written,
    )
