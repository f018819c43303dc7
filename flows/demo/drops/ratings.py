"""Research: the initial ratings (or the history before the first drop), each business
day's changes and reaffirmations, an intraday batch's change, and the rows of the
ratings file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Final

import numpy as np
import pyarrow as pa

from flows.demo.drops import names
from flows.demo.drops.arrays import (
    F64,
    I32,
    I64,
    STREAM_HISTORY,
    Bools,
    Rng,
    dictionary,
    epoch_seconds,
    rng_for,
)
from flows.demo.drops.bank import Bank
from flows.demo.drops.master_data import ANALYSTS, UNIT_BY_REGION

CHANGE_RATE: Final = 0.0125  # share of covered ISINs changing rating per business day


REAFFIRM_RATE: Final = 0.004


TWO_STEP_SHARE: Final = 0.15


INITIAL_RATING_SHARES: Final = (0.07, 0.33, 0.38, 0.16, 0.06)


# Probability that a change from each rank is an upgrade (drifts back to neutral).
UPGRADE_PROBABILITY: Final = (0.0, 0.42, 0.5, 0.58, 1.0)


# Target price over current price, by rank: (low, high).
TARGET_BANDS: Final = ((1.25, 1.45), (1.08, 1.25), (0.95, 1.08), (0.80, 0.95), (0.60, 0.80))


TARGET_MISSING_SHARE: Final = 0.07


RESEARCH_UNIT_SHARE: Final = 0.15


USD_PER_EUR: Final = 1.08


_BATCH_RATED_BEFORE_DELIVERY: Final = 300


_MORNING: Final = 6 * 3600


def label_table() -> tuple[list[str], list[I32], list[F64]]:
    """All rating label spellings; per rank the spellings' indices and probabilities.

    Per rank the German label (first) and the English code carry most weight, the
    synonyms the rest; each spelling is usually written as is, sometimes upper case,
    lower case, capitalised or with a stray leading or trailing space."""
    styles = (
        (lambda s: s, 0.82),
        (str.upper, 0.06),
        (str.lower, 0.04),
        (str.capitalize, 0.03),
        (lambda s: " " + s, 0.025),
        (lambda s: s + " ", 0.025),
    )
    labels: list[str] = []
    position: dict[str, int] = {}
    per_rank_indices: list[I32] = []
    per_rank_weights: list[F64] = []
    for _code, spellings in names.RATING_SCALE:
        # The scale lists the German label first, the English one second, then synonyms.
        others = list(range(2, len(spellings)))
        base = dict.fromkeys(range(len(spellings)), 0.0)
        base[0] += 0.4 if others else 0.55
        base[1] += 0.3 if others else 0.45
        for i in others:
            base[i] += 0.3 / len(others)
        weights: dict[int, float] = {}
        for i, spelling in enumerate(spellings):
            for style, share in styles:
                text = style(spelling)
                if text not in position:
                    position[text] = len(labels)
                    labels.append(text)
                index = position[text]
                weights[index] = weights.get(index, 0.0) + base[i] * share
        ordered = sorted(weights)
        per_rank_indices.append(np.asarray(ordered, dtype=np.int32))
        raw = np.asarray([weights[i] for i in ordered], dtype=np.float64)
        per_rank_weights.append(raw / raw.sum())
    return labels, per_rank_indices, per_rank_weights


@dataclass
class RatingRows:
    security: I64
    rank: I64
    label: I32
    seconds: I64  # since the epoch
    target_cents: I64
    target_missing: Bools
    analyst: I32

    @staticmethod
    def concat(parts: Sequence[RatingRows]) -> RatingRows:
        merged = RatingRows(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in _RATING_FIELDS)
        )
        order = np.lexsort((merged.security, merged.seconds))
        return RatingRows(*(getattr(merged, f)[order] for f in _RATING_FIELDS))


_RATING_FIELDS: Final = (
    "security",
    "rank",
    "label",
    "seconds",
    "target_cents",
    "target_missing",
    "analyst",
)


def _publish(bank: Bank, rng: Rng, day: date, security: I64, rank: I64) -> RatingRows:
    u = bank.universe
    size = len(security)
    label = np.empty(size, dtype=np.int32)
    for r in range(5):
        mask = rank == r
        label[mask] = rng.choice(bank.label_ids[r], size=int(mask.sum()), p=bank.label_weights[r])
    seconds = epoch_seconds(day) + _MORNING + rng.integers(0, 3 * 3600, size)
    bands = np.asarray(TARGET_BANDS)[rank]
    fx = np.where(u.usd[security], USD_PER_EUR, 1.0)
    target = bank.price_cents[security] * fx * rng.uniform(bands[:, 0], bands[:, 1])
    unit = rng.random(size) < RESEARCH_UNIT_SHARE
    analyst = np.where(unit, UNIT_BY_REGION[u.region[security]], u.analyst[security])
    return RatingRows(
        security=security,
        rank=rank,
        label=label,
        seconds=seconds.astype(np.int64),
        target_cents=np.rint(target).astype(np.int64),
        target_missing=rng.random(size) < TARGET_MISSING_SHARE,
        analyst=analyst.astype(np.int32),
    )


def _moves(bank: Bank, rng: Rng, day: date) -> RatingRows:
    """One business day of research: changes and reaffirmations; updates the ratings
    and ``bank.change``."""
    covered = bank.covered_index
    changes = min(int(rng.poisson(CHANGE_RATE * len(covered))), len(covered))
    chosen = np.sort(rng.choice(covered, size=changes, replace=False))
    old = bank.rank[chosen]
    better = rng.random(changes) < np.asarray(UPGRADE_PROBABILITY)[old]
    step = np.where(rng.random(changes) < TWO_STEP_SHARE, 2, 1)
    new = np.where(better, old - step, old + step).clip(0, 4)
    rest = np.setdiff1d(covered, chosen)
    reaffirmations = min(int(rng.poisson(REAFFIRM_RATE * len(covered))), len(rest))
    reaffirmed = np.sort(rng.choice(rest, size=reaffirmations, replace=False))
    bank.rank[chosen] = new
    bank.change[:] = 0
    bank.change[chosen] = np.where(new < old, 1, -1)
    bank.rating_changes += changes
    security = np.concatenate([chosen, reaffirmed]).astype(np.int64)
    return _publish(bank, rng, day, security, bank.rank[security])


def ratings_first_day(bank: Bank, rng: Rng) -> RatingRows:
    """Initial ratings, or the history before the first drop and the first day's
    changes."""
    bank.change[:] = 0
    if not bank.history:
        covered = bank.covered_index
        bank.daily_rating_changes.append(0)
        return RatingRows.concat(
            [_publish(bank, rng, bank.drop_dates[0], covered, bank.rank[covered])]
        )
    history_rng = rng_for(bank.seed, STREAM_HISTORY)
    covered = bank.covered_index
    parts = [_publish(bank, history_rng, bank.history[0], covered, bank.rank[covered])]
    parts.extend(_moves(bank, history_rng, day) for day in bank.history[1:])
    before = bank.rating_changes
    parts.append(_moves(bank, rng, bank.drop_dates[0]))
    bank.daily_rating_changes.append(bank.rating_changes - before)
    return RatingRows.concat(parts)


def ratings_later_day(bank: Bank, rng: Rng, d: int) -> RatingRows:
    before = bank.rating_changes
    rows = _moves(bank, rng, bank.drop_dates[d])
    bank.daily_rating_changes.append(bank.rating_changes - before)
    return RatingRows.concat([rows])


def intraday_batch(bank: Bank, rng: Rng, day: date, delivered: str) -> RatingRows:
    """An intraday batch of ``day`` delivered at ``delivered`` (HHMMSS): one held,
    rated security not changed that morning moves one step; updates the ratings."""
    holders = np.bincount(bank.position_key % bank.universe.size, minlength=bank.universe.size)
    candidates = bank.covered_index[
        (holders[bank.covered_index] > 0) & (bank.change[bank.covered_index] == 0)
    ]
    # A widely held security more likely: news about it reaches more clients.
    weights = holders[candidates] / holders[candidates].sum()
    security = rng.choice(candidates, size=1, p=weights).astype(np.int64)
    old = bank.rank[security]
    new = np.where(old < 4, old + 1, old - 1)
    bank.rank[security] = new
    bank.rating_changes += 1
    rows = _publish(bank, rng, day, security, new.astype(np.int64))
    at = int(delivered[:2]) * 3600 + int(delivered[2:4]) * 60 + int(delivered[4:])
    rated = epoch_seconds(day) + at - _BATCH_RATED_BEFORE_DELIVERY
    return replace(rows, seconds=np.full(len(security), rated, dtype=np.int64))


def ratings_table(bank: Bank, rows: RatingRows) -> pa.Table:
    u = bank.universe
    currency = u.usd[rows.security].astype(np.int32)
    return pa.table(
        {
            "isin": dictionary(rows.security, u.isins),
            "security_name": dictionary(rows.security, u.names),
            "rating": dictionary(rows.label, bank.labels),
            "rated_at": pa.array(rows.seconds.astype("datetime64[s]")),
            "analyst": dictionary(rows.analyst, ANALYSTS),
            "target_cents": pa.array(rows.target_cents, mask=rows.target_missing),
            "currency": dictionary(currency, ["EUR", "USD"]),
        }
    )
