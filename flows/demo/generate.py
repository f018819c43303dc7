"""Synthetic daily drops of a retail bank, of any size, byte-for-byte reproducible.

The model of the synthetic bank
-------------------------------
*Securities.* The universe holds the 40 DAX members (real names, real ISINs) and
generated German, European and US companies. Research covers ("rates") all DAX members
and most of the rest; about a fifth of the held securities are not covered. The covered
universe grows with the bank: about 3,000 ISINs at 1,000,000 clients, about 100 at 2,000
(``covered_isin_count``). Every security has a price in EUR that follows a small random
walk from business day to business day, with a jump after a rating change. Popularity is
Zipf-like: a popularity rank (DAX members first) gives each security a weight
``1 / (rank + q) ** s``, so that a few DAX names are held by a large share of the clients
and most securities by few.

*Research.* Each covered ISIN has a rating on the five-step scale of SPEC.md. On every
business day about 1.25% of the covered ISINs change (a Poisson number, so a small
universe has days without and days with several changes), mostly by one step, sometimes
by two, drifting back toward *neutral*; a few ratings are only reaffirmed (same rating
again, no change). Labels come in German and English, with the synonyms of the scale and
occasional case and whitespace variants. A publication is timed in the morning
(06:00-09:00) and usually carries a target price in the security's currency (EUR, USD for
US issuers). The first drop holds an initial rating for every covered ISIN; with a rating
history, the first drop holds the history of the business days before it instead (all
ISINs initiated on the first of them, then the changes of each day) followed by the first
drop day's own changes.

*Clients and advisors.* Clients have German or (about a sixth) English names; language
``de`` about 80%, ``en`` about 20%. Email addresses are built from the names on reserved
example domains; about 1% are malformed and 0.5% are missing; about 8% of the clients have
opted out of notifications. One advisor serves about 250 clients; branches of 5-10
advisors carry German city names. Every first drop of an ISO week (Monday, or the day
after a holiday Monday) carries a fresh full extract of clients and advisors, with a few
new opt-outs and changed addresses.

*Positions.* A client holds about 10 securities (lognormal: some hold 1, some 30 and
more), drawn by popularity without repeats. A position is a whole number of shares
(savings-plan positions have three decimals). The holdings file of a drop is the full
snapshot at the start of that business day, valued at that day's price.

*Alerts and follow-up.* An alert is a client holding (on the day's snapshot) a security
whose rating was upgraded or downgraded that day. Every advisor has a hidden diligence
profile: *diligent* advisors contact most alerted clients within 0-2 business days,
*partial* ones about half, *negligent* ones hardly any. A follow-up is a CRM activity of
the client's own advisor that names the ISIN, written to the drop of the day it happens.
Alerted clients trade the security within 0-6 business days (at most 10 calendar days):
sell after a downgrade, buy after an upgrade, much more often when their advisor called.
Besides, advisors log background activities (notes, calls, ...), clients trade without
an alert, open new positions and close old ones. Trades of a day show in the next
snapshot.

*Suppressions.* On about one drop in five a few clients object to email or bounce.

Reproducibility: every random number comes from ``numpy.random.default_rng`` seeded with
``seed`` and a fixed stream number (one stream per part of the model and per drop day),
so a run with more days repeats the drops of a shorter run with the same arguments, and
nothing depends on the wall clock or on set or dict ordering. Sampling is vectorised with
numpy; DuckDB formats and writes the files in a fixed row order.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Final, Literal

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from flows.calendar import business_days, previous_business_day
from flows.demo import names
from flows.intraday.batches import INTRADAY_FOLDER

I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Rng = np.random.Generator
FileFormat = Literal["csv", "parquet"]

# Every file name of the drop contract (SPEC.md, "Input: the daily drop").
DROP_FILE_NAMES: Final[tuple[str, ...]] = (
    "ratings",
    "holdings",
    "clients",
    "advisors",
    "crm_activities",
    "transactions",
    "suppressions",
)

# --- Model parameters ------------------------------------------------------------------
COVERED_AT_ONE_MILLION: Final = 3000
COVERAGE_EXPONENT: Final = 0.547  # 3,000 covered ISINs at 1M clients, about 100 at 2,000
MIN_COVERED: Final = 50
COVERED_SHARE_OF_HELD: Final = 0.8  # about 20% of the held securities are not rated
ZIPF_EXPONENT: Final = 1.1
ZIPF_OFFSET: Final = 6.0

POSITIONS_MEDIAN: Final = 7.6  # lognormal positions per client: mean about 10
POSITIONS_SIGMA: Final = 0.75
MAX_POSITIONS: Final = 80
SAVINGS_PLAN_SHARE: Final = 0.05  # positions with fractional quantities

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

CLIENTS_PER_ADVISOR: Final = 250
MIN_ADVISORS: Final = 3
ADVISORS_PER_BRANCH: Final = (5, 10)
ENGLISH_NAME_SHARE: Final = 0.17
ENGLISH_LANGUAGE_IF_ENGLISH_NAME: Final = 0.85
ENGLISH_LANGUAGE_IF_GERMAN_NAME: Final = 0.07
OPT_OUT_SHARE: Final = 0.08
INVALID_EMAIL_SHARE: Final = 0.01
EMPTY_EMAIL_SHARE: Final = 0.005
EMAIL_PATTERN_SHARES: Final = (0.45, 0.08, 0.15, 0.07, 0.15, 0.10)
WEEKLY_OPT_OUT: Final = 0.003
WEEKLY_OPT_IN_AGAIN: Final = 0.01
WEEKLY_EMAIL_CHANGE: Final = 0.002
SUPPRESSION_DAY_SHARE: Final = 0.2
SUPPRESSIONS_PER_CLIENT: Final = 2e-5

# Diligence profiles: diligent, partial, negligent.
PROFILE_SHARES: Final = (0.35, 0.40, 0.25)
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
BACKGROUND_NEW_POSITIONS: Final = 0.0008  # per client and business day
BACKGROUND_INCREASES: Final = 0.0008
BACKGROUND_PARTIAL_SELLS: Final = 0.0008
BACKGROUND_CLOSES: Final = 0.0005
REOPEN_AFTER_CLOSE: Final = 0.9

ACTIVITY_TYPES: Final = ("call", "meeting", "email", "note", "alert_acknowledged")
FOLLOW_UP_TYPE_SHARES: Final = (0.45, 0.10, 0.20, 0.0, 0.25)
BACKGROUND_TYPE_SHARES: Final = (0.35, 0.10, 0.20, 0.35, 0.0)
NOTE: Final = 3
OPT_IN_TEXTS: Final = ("true", "false", "ja", "nein", "1", "0")
OPT_IN_FORM_SHARES: Final = (0.5, 0.3, 0.2)
SUPPRESSION_REASONS: Final = ("objection", "bounce")

# Streams of the seeded generator: one per part of the model, one per drop day.
_STREAM_UNIVERSE: Final = 1
_STREAM_CLIENTS: Final = 2
_STREAM_POSITIONS: Final = 3
_STREAM_HISTORY: Final = 4
_STREAM_DAY: Final = 5
_STREAM_LABELS: Final = 6
_STREAM_INTRADAY: Final = 7

# votum demo's intraday batches: (index of the drop day, delivery time HHMMSS in
# Europe/Berlin). Each batch changes one held security by one step, rated five minutes
# before its delivery: a downgrade after news (an upgrade if it is rated at the bottom).
DEMO_INTRADAY_BATCHES: Final = ((1, "101500"), (3, "141000"))
_BATCH_RATED_BEFORE_DELIVERY: Final = 300

_MORNING: Final = 6 * 3600
_BUSINESS_START: Final = 8 * 3600
_BUSINESS_END: Final = 18 * 3600


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


# --- ISINs -----------------------------------------------------------------------------


def isin_check_digit(body: str) -> int:
    """The ISIN check digit of ``body`` (country code and 9 characters).

    Letters become numbers (A=10 ... Z=35); over the resulting digit string the Luhn
    algorithm doubles every second digit starting from the rightmost one."""
    if len(body) != 11 or not body.isalnum() or not body[:2].isalpha() or not body.isascii():
        raise ValueError(f"not an ISIN body (2 letters and 9 letters or digits): {body!r}")
    digits = "".join(str(int(ch, 36)) for ch in body.upper())
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def make_isin(body: str) -> str:
    return f"{body}{isin_check_digit(body)}"


def is_valid_isin(isin: str) -> bool:
    """True when ``isin`` is 12 characters with the right check digit."""
    if len(isin) != 12 or not isin[11].isdigit():
        return False
    try:
        return isin_check_digit(isin[:11]) == int(isin[11])
    except ValueError:
        return False


def covered_isin_count(clients: int) -> int:
    """How many ISINs research covers in a bank of ``clients`` clients."""
    scaled = COVERED_AT_ONE_MILLION * float((clients / 1_000_000) ** COVERAGE_EXPONENT)
    return max(MIN_COVERED, len(names.DAX), round(scaled))


def advisor_count(clients: int) -> int:
    return max(MIN_ADVISORS, round(clients / CLIENTS_PER_ADVISOR))


# --- Small helpers ---------------------------------------------------------------------


def _rng(seed: int, *stream: int) -> Rng:
    return np.random.default_rng([seed, *stream])


def _dictionary(indices: npt.NDArray[np.integer], values: Sequence[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(values))


def _nullable_dictionary(
    indices: npt.NDArray[np.integer], missing: Bools, values: Sequence[str]
) -> pa.DictionaryArray:
    array = pa.array(indices.astype(np.int32), mask=missing)
    return pa.DictionaryArray.from_arrays(array, pa.array(values))


def _timestamps(day: date, seconds: I64) -> pa.Array:
    return pa.array(np.datetime64(day, "s") + seconds.astype("timedelta64[s]"))


def _sorted_unique(values: I64) -> I64:
    """Sorted distinct values (numpy's hash-based ``unique`` is slower on 10M keys)."""
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=np.bool_)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


def _zipf_weights(count: int, exponent: float, offset: float) -> F64:
    weights = 1.0 / (np.arange(count, dtype=np.float64) + offset) ** exponent
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _choice(rng: Rng, count: int, shares: Sequence[float], size: int) -> I64:
    probabilities = np.asarray(shares, dtype=np.float64)
    return np.asarray(rng.choice(count, size=size, p=probabilities / probabilities.sum()))


def _distinct(values: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """Values in first-seen order without repeats, and each value's position."""
    seen: dict[str, int] = {}
    for value in values:
        seen.setdefault(value, len(seen))
    return list(seen), seen


def _label_table() -> tuple[list[str], list[I32], list[F64]]:
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


# --- The universe of securities --------------------------------------------------------


@dataclass
class _Universe:
    isins: list[str]
    names: list[str]
    region: I8  # 0 DE, 1 EU, 2 US
    usd: Bools
    covered: Bools
    popularity_cdf: F64
    price: F64  # EUR, evolves day by day
    volatility: F64
    analyst: I32  # index into _ANALYSTS

    @property
    def size(self) -> int:
        return len(self.isins)


_ANALYSTS, _ANALYST_INDEX = _distinct(
    names.ANALYSTS_DE + names.ANALYSTS_EU + names.ANALYSTS_US + names.RESEARCH_UNITS
)
_UNIT_BY_REGION: Final = np.asarray(
    [_ANALYST_INDEX[unit] for unit in names.RESEARCH_UNITS], dtype=np.int32
)
_WKN_CHARS: Final = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I and O, as in WKNs
_ALNUM: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _company_names(
    rng: Rng,
    count: int,
    prefixes: Sequence[str],
    sectors: Sequence[str],
    qualifiers: Sequence[str],
) -> list[str]:
    """``count`` distinct "<prefix> <sector>[ <qualifier>]" stems, in random order."""
    pairs = [(p, s) for p in prefixes for s in sectors]
    stems: list[str] = []
    for qualifier in ("", *qualifiers):
        for i in rng.permutation(len(pairs)):
            prefix, sector = pairs[int(i)]
            stems.append(f"{prefix} {sector} {qualifier}".rstrip())
            if len(stems) == count:
                return stems
    raise ValueError(
        f"the name pool holds {len(stems)} company names of this region, {count} are "
        "needed: the client count is too large for the generator"
    )


def _build_universe(rng: Rng, clients: int) -> _Universe:
    covered_count = covered_isin_count(clients)
    total = max(covered_count + 1, round(covered_count / COVERED_SHARE_OF_HELD))
    dax_count = len(names.DAX)
    generated = total - dax_count

    isins = [make_isin(member.isin_body) for member in names.DAX]
    security_names = [member.name for member in names.DAX]
    region = np.zeros(total, dtype=np.int8)
    region[dax_count:] = np.sort(_choice(rng, 3, (0.55, 0.20, 0.25), generated))
    region[[i for i, m in enumerate(names.DAX) if not m.isin_body.startswith("DE")]] = 1

    counts = np.bincount(region[dax_count:], minlength=3)
    de_stems = _company_names(
        rng, int(counts[0]), names.DE_PREFIXES, names.DE_SECTORS, names.DE_QUALIFIERS
    )
    eu_stems = _company_names(
        rng, int(counts[1]), names.EU_PREFIXES, names.EU_SECTORS, names.EU_QUALIFIERS
    )
    us_stems = _company_names(
        rng, int(counts[2]), names.US_PREFIXES, names.US_SECTORS, names.US_QUALIFIERS
    )
    de_forms = _choice(rng, len(names.DE_FORMS), [w for _, w in names.DE_FORMS], len(de_stems))
    eu_countries = rng.integers(0, len(names.EU_COUNTRIES), len(eu_stems))
    us_forms = _choice(rng, len(names.US_FORMS), [w for _, w in names.US_FORMS], len(us_stems))

    seen = {isin[:11] for isin in isins}
    digits, wkn = "0123456789", _WKN_CHARS

    def new_isin(prefix: str, alphabets: Sequence[str]) -> str:
        while True:
            picks = rng.random(len(alphabets))
            body = prefix + "".join(
                alphabet[int(x * len(alphabet))]
                for x, alphabet in zip(picks, alphabets, strict=True)
            )
            if body not in seen:
                seen.add(body)
                return make_isin(body)

    for stem, form in zip(de_stems, de_forms, strict=True):
        security_names.append(f"{stem} {names.DE_FORMS[int(form)][0]}")
        if rng.random() < 0.5:
            isins.append(new_isin("DE000A", [wkn] * 5))
        else:
            isins.append(new_isin("DE000", [digits] * 6))
    for stem, country_index in zip(eu_stems, eu_countries, strict=True):
        country, form = names.EU_COUNTRIES[int(country_index)]
        security_names.append(f"{stem} {form}")
        isins.append(new_isin(country + "000", [digits] * 6))
    for stem, form in zip(us_stems, us_forms, strict=True):
        security_names.append(f"{stem} {names.US_FORMS[int(form)][0]}")
        isins.append(new_isin("US", [_ALNUM] * 6 + [digits] * 3))

    # Popularity: DAX members take the top ranks in roughly their retail order, mixed in
    # with a few others below rank 15.
    score = np.empty(total, dtype=np.float64)
    retail = np.asarray([member.retail_rank for member in names.DAX], dtype=np.float64)
    score[:dax_count] = retail + rng.uniform(0.0, 8.0, dax_count)
    score[dax_count:] = rng.uniform(15.0, 15.0 + generated, generated)
    rank = np.empty(total, dtype=np.int64)
    rank[np.argsort(score, kind="stable")] = np.arange(total)
    weights = _zipf_weights(total, ZIPF_EXPONENT, ZIPF_OFFSET)[rank]
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]

    covered = np.ones(total, dtype=np.bool_)
    uncovered = rng.choice(np.arange(dax_count, total), size=total - covered_count, replace=False)
    covered[uncovered] = False

    price = np.exp(rng.normal(math.log(45.0), 0.9, total)).clip(1.5, 2500.0)
    price[:dax_count] = [member.price_eur for member in names.DAX]
    price *= np.exp(rng.normal(0.0, 0.05, total))
    volatility = rng.uniform(0.008, 0.025, total)

    pools = [
        np.asarray([_ANALYST_INDEX[a] for a in pool], dtype=np.int32)
        for pool in (names.ANALYSTS_DE, names.ANALYSTS_EU, names.ANALYSTS_US)
    ]
    pick = rng.random(total)
    analyst = np.empty(total, dtype=np.int32)
    for r, pool in enumerate(pools):
        mask = region == r
        analyst[mask] = pool[(pick[mask] * len(pool)).astype(np.int64)]

    return _Universe(
        isins=isins,
        names=security_names,
        region=region,
        usd=region == 2,
        covered=covered,
        popularity_cdf=cdf,
        price=price,
        volatility=volatility,
        analyst=analyst,
    )


# --- Clients and advisors --------------------------------------------------------------

_FIRST_NAMES, _FIRST_INDEX = _distinct(names.GERMAN_FIRST_NAMES + names.ENGLISH_FIRST_NAMES)
_LAST_NAMES, _LAST_INDEX = _distinct(names.GERMAN_LAST_NAMES + names.ENGLISH_LAST_NAMES)
_FIRST_EMAIL = [names.transliterate(n) for n in _FIRST_NAMES]
_LAST_EMAIL = [names.transliterate(n) for n in _LAST_NAMES]
_EMAIL_KINDS: Final = 6  # 0 valid, 1-4 malformed, 5 missing


def _name_pool(pool: Sequence[str], index: dict[str, int]) -> tuple[I32, F64]:
    ids = np.asarray([index[n] for n in pool], dtype=np.int32)
    return ids, _zipf_weights(len(pool), 0.6, 8.0)


@dataclass
class _Clients:
    count: int
    first: I32
    last: I32
    english: Bools
    advisor: I32  # 0-based
    opt_in: Bools
    opt_form: I8  # 0 true/false, 1 ja/nein, 2 1/0
    email_kind: I8
    email_pattern: I8
    email_year: I8
    email_domain: I8
    suppressed: Bools = field(init=False)

    def __post_init__(self) -> None:
        self.suppressed = np.zeros(self.count, dtype=np.bool_)


def _draw_names(rng: Rng, english: Bools) -> tuple[I32, I32]:
    size = len(english)
    first = np.empty(size, dtype=np.int32)
    last = np.empty(size, dtype=np.int32)
    for is_english, first_pool, last_pool in (
        (False, names.GERMAN_FIRST_NAMES, names.GERMAN_LAST_NAMES),
        (True, names.ENGLISH_FIRST_NAMES, names.ENGLISH_LAST_NAMES),
    ):
        mask = english == is_english
        n = int(mask.sum())
        ids, weights = _name_pool(first_pool, _FIRST_INDEX)
        first[mask] = ids[rng.choice(len(ids), size=n, p=weights)]
        ids, weights = _name_pool(last_pool, _LAST_INDEX)
        last[mask] = ids[rng.choice(len(ids), size=n, p=weights)]
    return first, last


def _build_clients(rng: Rng, count: int, advisors: int) -> _Clients:
    english = rng.random(count) < ENGLISH_NAME_SHARE
    first, last = _draw_names(rng, english)
    english_language = np.where(
        english,
        rng.random(count) < ENGLISH_LANGUAGE_IF_ENGLISH_NAME,
        rng.random(count) < ENGLISH_LANGUAGE_IF_GERMAN_NAME,
    )
    # Advisors' books differ in size; every advisor gets at least one client when possible.
    book_weights = rng.gamma(4.0, 1.0, advisors)
    advisor = rng.choice(advisors, size=count, p=book_weights / book_weights.sum())
    if count >= advisors:
        advisor[rng.choice(count, size=advisors, replace=False)] = np.arange(advisors)
    u = rng.random(count)
    kind = np.zeros(count, dtype=np.int8)
    malformed = u < INVALID_EMAIL_SHARE
    kind[malformed] = rng.integers(1, 5, int(malformed.sum()))
    kind[(u >= INVALID_EMAIL_SHARE) & (u < INVALID_EMAIL_SHARE + EMPTY_EMAIL_SHARE)] = 5
    return _Clients(
        count=count,
        first=first,
        last=last,
        english=english_language,
        advisor=advisor.astype(np.int32),
        opt_in=rng.random(count) >= OPT_OUT_SHARE,
        opt_form=_choice(rng, 3, OPT_IN_FORM_SHARES, count).astype(np.int8),
        email_kind=kind,
        email_pattern=_choice(rng, len(EMAIL_PATTERN_SHARES), EMAIL_PATTERN_SHARES, count).astype(
            np.int8
        ),
        email_year=rng.integers(50, 100 + 5, count).astype(np.int8) % 100,
        email_domain=rng.integers(0, len(names.CLIENT_EMAIL_DOMAINS), count).astype(np.int8),
    )


@dataclass(frozen=True)
class _Advisors:
    count: int
    names: list[str]
    emails: list[str]
    branch: I32
    branch_names: list[str]
    manager_emails: list[str]
    profile: I8  # 0 diligent, 1 partial, 2 negligent
    book_start: I64  # into book_clients
    book_size: I64
    book_clients: I64  # client indices sorted by advisor


def _slug(text: str) -> str:
    return names.transliterate(text).replace(".", "")


def _build_advisors(rng: Rng, count: int, client_advisor: I32) -> _Advisors:
    english = rng.random(count) < 0.08
    first, last = _draw_names(rng, english)
    titles = rng.random(count) < 0.06
    advisor_names: list[str] = []
    emails: list[str] = []
    taken: set[str] = set()
    for i in range(count):
        first_name, last_name = _FIRST_NAMES[int(first[i])], _LAST_NAMES[int(last[i])]
        advisor_names.append(f"{'Dr. ' if titles[i] else ''}{first_name} {last_name}")
        local = f"{_FIRST_EMAIL[int(first[i])]}.{_LAST_EMAIL[int(last[i])]}"
        candidate, number = local, 1
        while candidate in taken:
            number += 1
            candidate = f"{local}{number}"
        taken.add(candidate)
        emails.append(f"{candidate}@{names.BANK_EMAIL_DOMAIN}")

    low, high = ADVISORS_PER_BRANCH
    branches = max(1, round(count / ((low + high) / 2)))
    sizes = rng.integers(low, high + 1, branches).astype(np.float64)
    sizes = np.floor(sizes * count / sizes.sum()).astype(np.int64)
    sizes[: count - int(sizes.sum())] += 1
    branch = np.repeat(np.arange(branches, dtype=np.int32), sizes)
    branch_names: list[str] = []
    manager_emails: list[str] = []
    for b in range(branches):
        city = names.CITIES[b % len(names.CITIES)]
        round_number = b // len(names.CITIES) + 1
        suffix = f" {round_number}" if round_number > 1 else ""
        branch_names.append(f"Filiale {city}{suffix}")
        manager_emails.append(
            f"filialleitung.{_slug(city)}{suffix.strip()}@{names.BANK_EMAIL_DOMAIN}"
        )

    # Profiles in fixed proportions (each present from three advisors on), shuffled.
    profile_counts = np.floor(np.asarray(PROFILE_SHARES) * count).astype(np.int64)
    if count >= 3:
        profile_counts = np.maximum(profile_counts, 1)
    profile_counts[1] += count - int(profile_counts.sum())
    profile = rng.permutation(np.repeat(np.arange(3, dtype=np.int8), profile_counts))

    book_clients = np.argsort(client_advisor, kind="stable").astype(np.int64)
    book_size = np.bincount(client_advisor, minlength=count).astype(np.int64)
    book_start = np.cumsum(book_size) - book_size
    return _Advisors(
        count=count,
        names=advisor_names,
        emails=emails,
        branch=branch,
        branch_names=branch_names,
        manager_emails=manager_emails,
        profile=profile,
        book_start=book_start,
        book_size=book_size,
        book_clients=book_clients,
    )


# --- Day-by-day pieces -----------------------------------------------------------------


@dataclass
class _RatingRows:
    security: I64
    rank: I64
    label: I32
    seconds: I64  # since the epoch
    target_cents: I64
    target_missing: Bools
    analyst: I32

    @staticmethod
    def concat(parts: Sequence[_RatingRows]) -> _RatingRows:
        merged = _RatingRows(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in _RATING_FIELDS)
        )
        order = np.lexsort((merged.security, merged.seconds))
        return _RatingRows(*(getattr(merged, f)[order] for f in _RATING_FIELDS))


_RATING_FIELDS: Final = (
    "security",
    "rank",
    "label",
    "seconds",
    "target_cents",
    "target_missing",
    "analyst",
)


@dataclass
class _Activities:
    day: int
    advisor: I64
    client: I64
    kind: I64
    seconds: I64  # of the day
    security: I64  # -1: none


@dataclass
class _Trades:
    client: I64
    security: I64
    sell: Bools
    amount: I64  # buy: quantity in thousandths; sell: share of the position in thousandths


def _epoch_seconds(day: date) -> int:
    return (day - date(1970, 1, 1)).days * 86400


class _Bank:
    """The state of the synthetic bank, advanced one business day at a time."""

    def __init__(
        self, seed: int, clients: int, drop_dates: Sequence[date], history: Sequence[date]
    ) -> None:
        self.seed = seed
        self.drop_dates = list(drop_dates)
        self.history = list(history)
        self.universe = _build_universe(_rng(seed, _STREAM_UNIVERSE), clients)
        n = self.universe.size
        self.covered_index = np.flatnonzero(self.universe.covered).astype(np.int64)
        advisors = advisor_count(clients)
        rng = _rng(seed, _STREAM_CLIENTS)
        self.clients = _build_clients(rng, clients, advisors)
        self.advisors = _build_advisors(rng, advisors, self.clients.advisor)
        self.labels, self.label_ids, self.label_weights = _label_table()
        rank = np.full(n, -1, dtype=np.int64)
        rank[self.covered_index] = _choice(
            _rng(seed, _STREAM_LABELS), 5, INITIAL_RATING_SHARES, len(self.covered_index)
        )
        self.rank = rank
        self.change = np.zeros(n, dtype=np.int8)  # of the current day: +1 up, -1 down
        self.price_cents = self._price_cents()
        self.position_key, self.position_qty = self._initial_positions(
            _rng(seed, _STREAM_POSITIONS)
        )
        self.pending_activities: dict[int, list[_Activities]] = {}
        self.pending_trades: dict[int, list[_Trades]] = {}
        self.closes_yesterday = 0
        self.next_activity_id = 1
        self.next_transaction_id = 1
        self.rating_changes = 0
        self.daily_rating_changes: list[int] = []
        self.alerts = 0
        self.activities = 0
        self.transactions = 0
        self.suppressions = 0

    # -- securities ---------------------------------------------------------------------

    def _price_cents(self) -> I64:
        return np.maximum(np.rint(self.universe.price * 100.0), 1).astype(np.int64)

    def _sample_securities(self, rng: Rng, size: int) -> I64:
        found = np.searchsorted(self.universe.popularity_cdf, rng.random(size), side="right")
        return np.minimum(found, self.universe.size - 1).astype(np.int64)

    def advance_prices(self, rng: Rng) -> None:
        """The next business day's prices: a random walk, plus a jump after yesterday's
        rating changes."""
        u = self.universe
        jump = np.where(self.change > 0, 0.02, np.where(self.change < 0, -0.03, 0.0))
        u.price = (u.price * np.exp(rng.normal(0.0002, u.volatility) + jump)).clip(0.5, None)
        self.price_cents = self._price_cents()

    # -- positions ----------------------------------------------------------------------

    def _quantities(self, rng: Rng, security: I64) -> I64:
        """Quantities in thousandths for new positions in ``security``."""
        size = len(security)
        price = self.price_cents[security] / 100.0
        savings_plan = rng.random(size) < SAVINGS_PLAN_SHARE
        value = np.where(
            savings_plan,
            rng.lognormal(math.log(1500.0), 0.8, size),
            rng.lognormal(math.log(5000.0), 1.1, size),
        ).clip(50.0, 2_000_000.0)
        whole = np.maximum(np.rint(value / price), 1) * 1000
        fractional = np.maximum(np.rint(value / price * 1000), 1)
        return np.where(savings_plan, fractional, whole).astype(np.int64)

    def _initial_positions(self, rng: Rng) -> tuple[I64, I64]:
        """Sorted position keys (client * universe size + security) and quantities.

        Each client draws their number of positions from the popularity distribution;
        repeats are dropped and drawn again (twice), which is sampling without
        replacement for all but a handful of clients."""
        n = self.universe.size
        count = self.clients.count
        wanted = np.rint(rng.lognormal(math.log(POSITIONS_MEDIAN), POSITIONS_SIGMA, count))
        wanted = wanted.clip(1, min(MAX_POSITIONS, n)).astype(np.int64)
        owner = np.repeat(np.arange(count, dtype=np.int64), wanted)
        keys = _sorted_unique(owner * n + self._sample_securities(rng, len(owner)))
        del owner
        for _ in range(2):
            have = np.bincount(keys // n, minlength=count)
            missing = wanted - have
            if not missing.any():
                break
            owner = np.repeat(np.arange(count, dtype=np.int64), missing)
            extra = owner * n + self._sample_securities(rng, len(owner))
            keys = _sorted_unique(np.concatenate([keys, extra]))
        return keys, self._quantities(rng, keys % n)

    def holdings_table(self) -> pa.Table:
        n = self.universe.size
        security = self.position_key % n
        value = np.rint(self.position_qty * self.price_cents[security] / 1000.0)
        return pa.table(
            {
                "client": (self.position_key // n + 1).astype(np.int32),
                "isin": _dictionary(security, self.universe.isins),
                "qty": self.position_qty,
                "value_cents": value.astype(np.int64),
            }
        )

    # -- ratings ------------------------------------------------------------------------

    def _publish(self, rng: Rng, day: date, security: I64, rank: I64) -> _RatingRows:
        u = self.universe
        size = len(security)
        label = np.empty(size, dtype=np.int32)
        for r in range(5):
            mask = rank == r
            label[mask] = rng.choice(
                self.label_ids[r], size=int(mask.sum()), p=self.label_weights[r]
            )
        seconds = _epoch_seconds(day) + _MORNING + rng.integers(0, 3 * 3600, size)
        bands = np.asarray(TARGET_BANDS)[rank]
        fx = np.where(u.usd[security], USD_PER_EUR, 1.0)
        target = self.price_cents[security] * fx * rng.uniform(bands[:, 0], bands[:, 1])
        unit = rng.random(size) < RESEARCH_UNIT_SHARE
        analyst = np.where(unit, _UNIT_BY_REGION[u.region[security]], u.analyst[security])
        return _RatingRows(
            security=security,
            rank=rank,
            label=label,
            seconds=seconds.astype(np.int64),
            target_cents=np.rint(target).astype(np.int64),
            target_missing=rng.random(size) < TARGET_MISSING_SHARE,
            analyst=analyst.astype(np.int32),
        )

    def _moves(self, rng: Rng, day: date) -> _RatingRows:
        """One business day of research: changes and reaffirmations; updates the ratings
        and ``self.change``."""
        covered = self.covered_index
        changes = min(int(rng.poisson(CHANGE_RATE * len(covered))), len(covered))
        chosen = np.sort(rng.choice(covered, size=changes, replace=False))
        old = self.rank[chosen]
        better = rng.random(changes) < np.asarray(UPGRADE_PROBABILITY)[old]
        step = np.where(rng.random(changes) < TWO_STEP_SHARE, 2, 1)
        new = np.where(better, old - step, old + step).clip(0, 4)
        rest = np.setdiff1d(covered, chosen)
        reaffirmations = min(int(rng.poisson(REAFFIRM_RATE * len(covered))), len(rest))
        reaffirmed = np.sort(rng.choice(rest, size=reaffirmations, replace=False))
        self.rank[chosen] = new
        self.change[:] = 0
        self.change[chosen] = np.where(new < old, 1, -1)
        self.rating_changes += changes
        security = np.concatenate([chosen, reaffirmed]).astype(np.int64)
        return self._publish(rng, day, security, self.rank[security])

    def ratings_first_day(self, rng: Rng) -> _RatingRows:
        """Initial ratings, or the history before the first drop and the first day's
        changes."""
        self.change[:] = 0
        if not self.history:
            covered = self.covered_index
            self.daily_rating_changes.append(0)
            return _RatingRows.concat(
                [self._publish(rng, self.drop_dates[0], covered, self.rank[covered])]
            )
        history_rng = _rng(self.seed, _STREAM_HISTORY)
        covered = self.covered_index
        parts = [self._publish(history_rng, self.history[0], covered, self.rank[covered])]
        parts.extend(self._moves(history_rng, day) for day in self.history[1:])
        before = self.rating_changes
        parts.append(self._moves(rng, self.drop_dates[0]))
        self.daily_rating_changes.append(self.rating_changes - before)
        return _RatingRows.concat(parts)

    def ratings_later_day(self, rng: Rng, d: int) -> _RatingRows:
        before = self.rating_changes
        rows = self._moves(rng, self.drop_dates[d])
        self.daily_rating_changes.append(self.rating_changes - before)
        return _RatingRows.concat([rows])

    def intraday_batch(self, rng: Rng, day: date, delivered: str) -> _RatingRows:
        """An intraday batch of ``day`` delivered at ``delivered`` (HHMMSS): one held,
        rated security not changed that morning moves one step; updates the ratings."""
        holders = np.bincount(self.position_key % self.universe.size, minlength=self.universe.size)
        candidates = self.covered_index[
            (holders[self.covered_index] > 0) & (self.change[self.covered_index] == 0)
        ]
        # A widely held security more likely: news about it reaches more clients.
        weights = holders[candidates] / holders[candidates].sum()
        security = rng.choice(candidates, size=1, p=weights).astype(np.int64)
        old = self.rank[security]
        new = np.where(old < 4, old + 1, old - 1)
        self.rank[security] = new
        self.rating_changes += 1
        rows = self._publish(rng, day, security, new.astype(np.int64))
        at = int(delivered[:2]) * 3600 + int(delivered[2:4]) * 60 + int(delivered[4:])
        rated = _epoch_seconds(day) + at - _BATCH_RATED_BEFORE_DELIVERY
        return replace(rows, seconds=np.full(len(security), rated, dtype=np.int64))

    def ratings_table(self, rows: _RatingRows) -> pa.Table:
        u = self.universe
        currency = u.usd[rows.security].astype(np.int32)
        return pa.table(
            {
                "isin": _dictionary(rows.security, u.isins),
                "security_name": _dictionary(rows.security, u.names),
                "rating": _dictionary(rows.label, self.labels),
                "rated_at": pa.array(rows.seconds.astype("datetime64[s]")),
                "analyst": _dictionary(rows.analyst, _ANALYSTS),
                "target_cents": pa.array(rows.target_cents, mask=rows.target_missing),
                "currency": _dictionary(currency, ["EUR", "USD"]),
            }
        )

    # -- alerts, follow-ups, activities -------------------------------------------------

    def process_alerts(self, rng: Rng, d: int) -> None:
        """Alerts of day ``d`` (its snapshot, its changes): schedule the advisors'
        follow-ups and the clients' trades."""
        if not self.change.any():
            return
        n = self.universe.size
        security = self.position_key % n
        hit = self.change[security] != 0
        if not hit.any():
            return
        client = self.position_key[hit] // n
        security = security[hit]
        quantity = self.position_qty[hit]
        direction = self.change[security]
        self.alerts += len(client)

        # One follow-up decision per alerted client and day (rows are sorted by client).
        first = np.flatnonzero(np.r_[True, client[1:] != client[:-1]])
        group = np.cumsum(np.r_[True, client[1:] != client[:-1]]) - 1
        alerted = client[first]
        advisor = self.clients.advisor[alerted].astype(np.int64)
        profile = self.advisors.profile[advisor]
        followed = rng.random(len(alerted)) < np.asarray(FOLLOW_UP_PROBABILITY)[profile]
        delay_cdf = np.cumsum(np.asarray(FOLLOW_UP_DELAY), axis=1)[profile]
        delay = (rng.random(len(alerted))[:, None] > delay_cdf).sum(axis=1)
        kind = _choice(rng, len(ACTIVITY_TYPES), FOLLOW_UP_TYPE_SHARES, len(alerted))
        seconds = rng.integers(_BUSINESS_START + 900, _BUSINESS_END, len(alerted))
        second_note = rng.random(len(alerted)) < SECOND_NOTE_PROBABILITY
        note_seconds = np.minimum(
            seconds + rng.integers(60, 3 * 3600, len(alerted)), _BUSINESS_END - 1
        )
        for k in np.unique(delay[followed]):
            day = d + int(k)
            if day >= len(self.drop_dates):
                continue
            mask = followed & (delay == k)
            notes = mask & second_note
            chunk = _Activities(
                day=day,
                advisor=np.concatenate([advisor[mask], advisor[notes]]),
                client=np.concatenate([alerted[mask], alerted[notes]]),
                kind=np.concatenate([kind[mask], np.full(int(notes.sum()), NOTE)]),
                seconds=np.concatenate([seconds[mask], note_seconds[notes]]),
                security=np.concatenate([security[first][mask], security[first][notes]]),
            )
            self.pending_activities.setdefault(day, []).append(chunk)

        # Trades: far more likely after a follow-up, and not before it.
        row_followed = followed[group]
        trades = rng.random(len(client)) < np.where(
            row_followed, TRADE_IF_FOLLOWED_UP, TRADE_IF_NOT_FOLLOWED_UP
        )
        trade_delay = np.where(
            row_followed,
            delay[group] + _choice(rng, 4, (0.4, 0.3, 0.2, 0.1), len(client)),
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
        today = self.drop_dates[d]
        for k in np.unique(trade_delay[trades]):
            day = d + int(k)
            if day >= len(self.drop_dates):
                continue
            if (self.drop_dates[day] - today).days > MAX_TRADE_CALENDAR_DAYS:
                continue
            mask = trades & (trade_delay == k)
            chunk_trades = _Trades(client[mask], security[mask], sell[mask], amount[mask])
            self.pending_trades.setdefault(day, []).append(chunk_trades)

    def activities_table(self, rng: Rng, d: int) -> pa.Table:
        a = self.advisors
        rate = np.where(a.book_size > 0, np.asarray(BACKGROUND_ACTIVITIES)[a.profile], 0.0)
        per_advisor = rng.poisson(rate)
        advisor = np.repeat(np.arange(a.count, dtype=np.int64), per_advisor)
        offset = (rng.random(len(advisor)) * a.book_size[advisor]).astype(np.int64)
        size = len(advisor)
        background = _Activities(
            day=d,
            advisor=advisor,
            client=a.book_clients[a.book_start[advisor] + offset],
            kind=_choice(rng, len(ACTIVITY_TYPES), BACKGROUND_TYPE_SHARES, size),
            seconds=rng.integers(_BUSINESS_START, _BUSINESS_END, size),
            security=np.full(size, -1, dtype=np.int64),
        )
        parts = [*self.pending_activities.pop(d, []), background]
        columns = {
            f: np.concatenate([getattr(p, f) for p in parts])
            for f in ("advisor", "client", "kind", "seconds", "security")
        }
        order = np.lexsort(
            (columns["kind"], columns["client"], columns["advisor"], columns["seconds"])
        )
        columns = {k: v[order] for k, v in columns.items()}
        count = len(order)
        ids = np.arange(self.next_activity_id, self.next_activity_id + count, dtype=np.int64)
        self.next_activity_id += count
        self.activities += count
        no_isin = columns["security"] < 0
        return pa.table(
            {
                "id": ids,
                "advisor": (columns["advisor"] + 1).astype(np.int32),
                "client": (columns["client"] + 1).astype(np.int32),
                "type": _dictionary(columns["kind"], ACTIVITY_TYPES),
                "occurred_at": _timestamps(self.drop_dates[d], columns["seconds"]),
                "isin": _nullable_dictionary(
                    np.where(no_isin, 0, columns["security"]), no_isin, self.universe.isins
                ),
            }
        )

    # -- trades -------------------------------------------------------------------------

    def _background_trades(self, rng: Rng) -> _Trades:
        count = self.clients.count
        positions = len(self.position_key)
        n = self.universe.size
        new = int(rng.poisson(BACKGROUND_NEW_POSITIONS * count))
        new += round(REOPEN_AFTER_CLOSE * self.closes_yesterday)
        new_client = rng.integers(0, count, new).astype(np.int64)
        new_security = self._sample_securities(rng, new)
        new_amount = self._quantities(rng, new_security)
        parts = [_Trades(new_client, new_security, np.zeros(new, dtype=np.bool_), new_amount)]
        if positions:
            for rate, sell in (
                (BACKGROUND_INCREASES, False),
                (BACKGROUND_PARTIAL_SELLS, True),
                (BACKGROUND_CLOSES, True),
            ):
                size = int(rng.poisson(rate * count))
                picked = rng.integers(0, positions, size)
                key = self.position_key[picked]
                qty = self.position_qty[picked]
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
                parts.append(_Trades(key // n, key % n, np.full(size, sell), amount))
        return _Trades(*(np.concatenate([getattr(p, f) for p in parts]) for f in _TRADE_FIELDS))

    def trades_table(self, rng: Rng, d: int) -> pa.Table:
        """The day's trades (alert-driven ones first); applies them to the positions."""
        n = self.universe.size
        parts = [*self.pending_trades.pop(d, []), self._background_trades(rng)]
        t = _Trades(*(np.concatenate([getattr(p, f) for p in parts]) for f in _TRADE_FIELDS))
        key, first = np.unique(t.client * n + t.security, return_index=True)
        sell, amount = t.sell[first], t.amount[first]

        keys = self.position_key
        index = np.asarray(np.searchsorted(keys, key), dtype=np.int64)
        found: Bools
        current: I64
        if len(keys):
            clipped = np.minimum(index, len(keys) - 1)
            found = (index < len(keys)) & (keys[clipped] == key)
            current = np.where(found, self.position_qty[clipped], 0)
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
            np.rint(self.price_cents[security] * (1 + rng.normal(0.0, 0.004, size))), 1
        ).astype(np.int64)
        seconds = rng.integers(9 * 3600, 17 * 3600 + 1800, size)
        order = np.lexsort((key, seconds))
        ids = np.arange(self.next_transaction_id, self.next_transaction_id + size)
        self.next_transaction_id += size
        self.transactions += size
        table = pa.table(
            {
                "id": ids.astype(np.int64),
                "client": (key[order] // n + 1).astype(np.int32),
                "isin": _dictionary(security[order], self.universe.isins),
                "side": _dictionary(sell[order].astype(np.int32), ["buy", "sell"]),
                "qty": quantity[order],
                "price_cents": price[order],
                "executed_at": _timestamps(self.drop_dates[d], seconds[order]),
            }
        )

        # The next snapshot: existing positions change, new ones are inserted in order.
        delta = np.where(sell, -quantity, quantity)
        qty = self.position_qty.copy()
        qty[index[found]] += delta[found]  # keys are unique: no repeated index
        opened = ~found
        keys = np.insert(keys, index[opened], key[opened])
        qty = np.insert(qty, index[opened], quantity[opened])
        open_ = qty > 0
        self.closes_yesterday = int((~open_).sum())
        self.position_key, self.position_qty = keys[open_], qty[open_]
        return table

    # -- clients ------------------------------------------------------------------------

    def weekly_client_changes(self, rng: Rng) -> I64:
        """A week's changes: some opt out, a few opt in again, some change their email
        address (a malformed one gets corrected). Returns the clients with a new address."""
        c = self.clients
        u = rng.random(c.count)
        c.opt_in = np.where(c.opt_in, u >= WEEKLY_OPT_OUT, u < WEEKLY_OPT_IN_AGAIN)
        changed = np.sort(
            rng.choice(c.count, size=int(rng.binomial(c.count, WEEKLY_EMAIL_CHANGE)), replace=False)
        ).astype(np.int64)
        size = len(changed)
        domains = len(names.CLIENT_EMAIL_DOMAINS)
        shift = rng.integers(1, domains, size)
        c.email_domain[changed] = (c.email_domain[changed] + shift) % domains
        c.email_pattern[changed] = _choice(
            rng, len(EMAIL_PATTERN_SHARES), EMAIL_PATTERN_SHARES, size
        )
        c.email_kind[changed] = 0
        return changed

    def suppressions_table(self, rng: Rng, d: int) -> pa.Table | None:
        if rng.random() >= SUPPRESSION_DAY_SHARE:
            return None
        c = self.clients
        candidates = np.flatnonzero((c.email_kind == 0) & ~c.suppressed)
        size = min(1 + int(rng.poisson(SUPPRESSIONS_PER_CLIENT * c.count)), len(candidates))
        if size == 0:
            return None
        chosen = np.sort(rng.choice(candidates, size=size, replace=False))
        c.suppressed[chosen] = True
        self.suppressions += size
        seconds = rng.integers(0, 6 * 3600, size)
        order = np.lexsort((chosen, seconds))
        return pa.table(
            {
                "idx": chosen[order].astype(np.int32),
                "suppressed_at": _timestamps(self.drop_dates[d], seconds[order]),
                "reason": _dictionary(
                    _choice(rng, 2, (0.6, 0.4), size)[order], SUPPRESSION_REASONS
                ),
            }
        )


_TRADE_FIELDS: Final = ("client", "security", "sell", "amount")


# --- Writing ---------------------------------------------------------------------------

_LOCAL_PART_SQL: Final = """
    CASE pattern
        WHEN 0 THEN f || '.' || l
        WHEN 1 THEN f || '_' || l
        WHEN 2 THEN left(f, 1) || '.' || l
        WHEN 3 THEN l || '.' || f
        WHEN 4 THEN f || '.' || l || lpad(year::VARCHAR, 2, '0')
        ELSE f || l
    END"""

# A repeated address gets ".2", ".3", ... before the @: no base address ends like that.
_EMAIL_SQL: Final = """
    CASE cl.kind
        WHEN 0 THEN e.local || CASE WHEN e.dup > 0 THEN '.' || (e.dup + 1)::VARCHAR ELSE '' END
            || '@' || e.dom
        WHEN 1 THEN e.local || '.' || e.dom
        WHEN 2 THEN cl.f || ' ' || cl.l || '@' || e.dom
        WHEN 3 THEN cl.f || '..' || cl.l || '@' || e.dom
        WHEN 4 THEN e.local || '@' || e.dom || '.'
    END"""

_CSV_OPTIONS: Final = (
    "FORMAT csv, HEADER true, DELIMITER ',', DATEFORMAT '%Y-%m-%d', "
    "TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S'"
)


def _quantity_sql(column: str, file_format: FileFormat) -> str:
    """Thousandths as a number: whole numbers without decimals in CSV."""
    exact = f"({column} / 1000)::DECIMAL(18,3)"
    if file_format == "parquet":
        return exact
    return (
        f"CASE WHEN {column} % 1000 = 0 THEN ({column} // 1000)::VARCHAR ELSE {exact}::VARCHAR END"
    )


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Writer:
    """Writes the files of the drops through DuckDB, in a fixed row order."""

    def __init__(self, bank: _Bank, file_format: FileFormat) -> None:
        self.bank = bank
        self.format: FileFormat = file_format
        self.con = duckdb.connect()
        self.con.execute("SET preserve_insertion_order = true")
        self._register_clients()
        self._new_emails(np.arange(bank.clients.count, dtype=np.int64), initial=True)

    def close(self) -> None:
        self.con.close()

    def _register_clients(self) -> None:
        c = self.bank.clients
        self.con.register(
            "cl",
            pa.table(
                {
                    "idx": np.arange(c.count, dtype=np.int32),
                    "first_name": _dictionary(c.first, _FIRST_NAMES),
                    "last_name": _dictionary(c.last, _LAST_NAMES),
                    "f": _dictionary(c.first, _FIRST_EMAIL),
                    "l": _dictionary(c.last, _LAST_EMAIL),
                    "language": _dictionary(c.english.astype(np.int32), ["de", "en"]),
                    "advisor": (c.advisor + 1).astype(np.int32),
                    "opt_in": c.opt_in,
                    "opt_text": _dictionary(c.opt_form * 2 + (~c.opt_in), OPT_IN_TEXTS),
                    "kind": c.email_kind,
                }
            ),
        )

    def _new_emails(self, who: I64, *, initial: bool = False) -> None:
        """(Re)build the addresses of clients ``who``, numbering repeated addresses."""
        c = self.bank.clients
        self.con.register(
            "newmail",
            pa.table(
                {
                    "idx": who.astype(np.int32),
                    "f": _dictionary(c.first[who], _FIRST_EMAIL),
                    "l": _dictionary(c.last[who], _LAST_EMAIL),
                    "pattern": c.email_pattern[who],
                    "year": c.email_year[who],
                    "dom": _dictionary(c.email_domain[who], names.CLIENT_EMAIL_DOMAINS),
                }
            ),
        )
        base = f"SELECT idx, {_LOCAL_PART_SQL} AS local, dom FROM newmail"
        if initial:
            self.con.execute(
                f"""CREATE OR REPLACE TABLE emails AS
                SELECT idx, local, dom,
                    (row_number() OVER (PARTITION BY local, dom ORDER BY idx) - 1)::INTEGER AS dup
                FROM ({base}) ORDER BY idx"""
            )
        else:
            self.con.execute(
                f"""CREATE OR REPLACE TEMP TABLE changed AS
                WITH b AS ({base}),
                taken AS (
                    SELECT local, dom, max(dup) AS top FROM emails
                    WHERE idx NOT IN (SELECT idx FROM newmail) GROUP BY local, dom)
                SELECT b.idx, b.local, b.dom,
                    (coalesce(taken.top + 1, 0)
                     + row_number() OVER (PARTITION BY b.local, b.dom ORDER BY b.idx) - 1
                    )::INTEGER AS dup
                FROM b LEFT JOIN taken USING (local, dom)"""
            )
            self.con.execute(
                """UPDATE emails SET local = changed.local, dom = changed.dom, dup = changed.dup
                FROM changed WHERE emails.idx = changed.idx"""
            )
        self.con.unregister("newmail")

    def client_changes(self, who: I64) -> None:
        self._register_clients()
        if len(who):
            self._new_emails(who)

    def _copy(self, folder: Path, name: str, table: pa.Table | None, select: str) -> Path:
        """COPY ``select`` (over ``src``) into ``folder/name.<format>``, atomically."""
        target = folder / f"{name}.{self.format}"
        temporary = folder / f".{name}.{self.format}.tmp"
        options = _CSV_OPTIONS if self.format == "csv" else "FORMAT parquet"
        if table is not None:
            self.con.register("src", table)
        try:
            self.con.execute(f"COPY ({select}) TO {_sql_literal(str(temporary))} ({options})")
        finally:
            if table is not None:
                self.con.unregister("src")
        os.replace(temporary, target)
        return target

    def ratings(self, folder: Path, rows: _RatingRows) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        return self._copy(
            folder,
            "ratings",
            self.bank.ratings_table(rows),
            """SELECT isin, security_name, rating, rated_at::TIMESTAMP AS rated_at, analyst,
                (target_cents / 100)::DECIMAL(18,2) AS target_price, currency FROM src""",
        )

    def holdings(self, folder: Path, day: date) -> Path:
        return self._copy(
            folder,
            "holdings",
            self.bank.holdings_table(),
            f"""SELECT printf('C%07d', client) AS client_id, isin,
                {_quantity_sql("qty", self.format)} AS quantity,
                (value_cents / 100)::DECIMAL(18,2) AS market_value_eur,
                DATE '{day.isoformat()}' AS as_of FROM src""",
        )

    def clients(self, folder: Path) -> Path:
        opt_in = "cl.opt_text" if self.format == "csv" else "cl.opt_in"
        return self._copy(
            folder,
            "clients",
            None,
            f"""SELECT printf('C%07d', cl.idx + 1) AS client_id, cl.first_name, cl.last_name,
                {_EMAIL_SQL} AS email, cl.language, printf('A%04d', cl.advisor) AS advisor_id,
                {opt_in} AS notify_opt_in
            FROM cl JOIN emails e USING (idx) ORDER BY cl.idx""",
        )

    def advisors(self, folder: Path) -> Path:
        a = self.bank.advisors
        table = pa.table(
            {
                "advisor_id": [f"A{i + 1:04d}" for i in range(a.count)],
                "name": a.names,
                "email": a.emails,
                "branch": _dictionary(a.branch, a.branch_names),
                "manager_email": _dictionary(a.branch, a.manager_emails),
            }
        )
        return self._copy(folder, "advisors", table, "SELECT * FROM src")

    def activities(self, folder: Path, table: pa.Table) -> Path:
        return self._copy(
            folder,
            "crm_activities",
            table,
            """SELECT printf('ACT%08d', id) AS activity_id, printf('A%04d', advisor) AS advisor_id,
                printf('C%07d', client) AS client_id, type AS activity_type,
                occurred_at::TIMESTAMP AS occurred_at, isin FROM src""",
        )

    def transactions(self, folder: Path, table: pa.Table) -> Path:
        return self._copy(
            folder,
            "transactions",
            table,
            f"""SELECT printf('TX%09d', id) AS transaction_id, printf('C%07d', client) AS client_id,
                isin, side, {_quantity_sql("qty", self.format)} AS quantity,
                (price_cents / 100)::DECIMAL(18,2) AS price_eur,
                executed_at::TIMESTAMP AS executed_at,
                -- The commission: 0.25 % of the volume in whole cents (half up, exact in
                -- integers: qty is thousandths), at least 9.90 and at most 75 EUR; every
                -- seventh trade comes without it (estimated, or volume only).
                CASE WHEN id % 7 = 0 THEN NULL
                     ELSE greatest(990, least(7500,
                         (qty::HUGEINT * price_cents + 200000) // 400000)) / 100
                END::DECIMAL(18,2) AS fee_eur
            FROM src""",
        )

    def suppressions(self, folder: Path, table: pa.Table) -> Path:
        return self._copy(
            folder,
            "suppressions",
            table,
            f"""SELECT {_EMAIL_SQL} AS email, s.suppressed_at::TIMESTAMP AS suppressed_at,
                s.reason
            FROM src s JOIN cl USING (idx) JOIN emails e USING (idx)
            ORDER BY s.suppressed_at, s.idx""",
        )


def _remove_stale_files(folder: Path, written: set[Path]) -> None:
    """Drop-contract files in ``folder`` that this run did not write (an earlier run's,
    or the other format's) would mix two runs: remove them."""
    for name in DROP_FILE_NAMES:
        for extension in ("csv", "parquet"):
            path = folder / f"{name}.{extension}"
            if path not in written and path.exists():
                path.unlink()


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
    bank = _Bank(seed, clients, drop_dates, history)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = _Writer(bank, file_format)
    positions_last_day = 0
    batches_written: list[tuple[date, str]] = []
    try:
        with _progress(progress, days) as (bar, task):
            for d, day in enumerate(drop_dates):
                folder = out_dir / day.isoformat()
                folder.mkdir(exist_ok=True)
                rng = _rng(seed, _STREAM_DAY, d)
                written: set[Path] = set()

                def step(file: str, day: date = day) -> None:
                    bar.update(task, description=f"{day.isoformat()} {file}")

                if d == 0:
                    rows = bank.ratings_first_day(rng)
                else:
                    bank.advance_prices(rng)
                    rows = bank.ratings_later_day(rng, d)
                step("ratings")
                written.add(writer.ratings(folder, rows))
                step("holdings")
                written.add(writer.holdings(folder, day))
                positions_last_day = len(bank.position_key)
                new_week = d == 0 or day.isocalendar()[:2] != drop_dates[d - 1].isocalendar()[:2]
                if new_week:
                    if d > 0:
                        writer.client_changes(bank.weekly_client_changes(rng))
                    step("clients")
                    written.add(writer.clients(folder))
                    written.add(writer.advisors(folder))
                bank.process_alerts(rng, d)
                step("crm_activities")
                written.add(writer.activities(folder, bank.activities_table(rng, d)))
                step("transactions")
                written.add(writer.transactions(folder, bank.trades_table(rng, d)))
                suppressions = bank.suppressions_table(rng, d)
                if suppressions is not None:
                    written.add(writer.suppressions(folder, suppressions))
                _remove_stale_files(folder, written)
                for delivered in sorted(b for i, b in intraday_batches if i == d):
                    # Its own stream: the days' files stay those of a run without batches
                    # up to the batch's day.
                    batch = bank.intraday_batch(
                        _rng(seed, _STREAM_INTRADAY, d, int(delivered)), day, delivered
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
