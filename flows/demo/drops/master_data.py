"""The bank's master data: the universe of securities (DAX members and generated
companies, research coverage, popularity, prices), the clients (names, languages,
addresses, consent) and the advisors in their branches with their hidden diligence
profiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from flows.demo.drops import names
from flows.demo.drops.arrays import F64, I8, I32, I64, Bools, Rng, choice, distinct, zipf_weights
from flows.demo.drops.isins import make_isin

COVERED_AT_ONE_MILLION: Final = 3000


COVERAGE_EXPONENT: Final = 0.547  # 3,000 covered ISINs at 1M clients, about 100 at 2,000


MIN_COVERED: Final = 50


COVERED_SHARE_OF_HELD: Final = 0.8  # about 20% of the held securities are not rated


ZIPF_EXPONENT: Final = 1.1


ZIPF_OFFSET: Final = 6.0


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


OPT_IN_FORM_SHARES: Final = (0.5, 0.3, 0.2)


# Diligence profiles: diligent, partial, negligent.
PROFILE_SHARES: Final = (0.35, 0.40, 0.25)


def covered_isin_count(clients: int) -> int:
    """How many ISINs research covers in a bank of ``clients`` clients."""
    scaled = COVERED_AT_ONE_MILLION * float((clients / 1_000_000) ** COVERAGE_EXPONENT)
    return max(MIN_COVERED, len(names.DAX), round(scaled))


def advisor_count(clients: int) -> int:
    return max(MIN_ADVISORS, round(clients / CLIENTS_PER_ADVISOR))


@dataclass
class Universe:
    isins: list[str]
    names: list[str]
    region: I8  # 0 DE, 1 EU, 2 US
    usd: Bools
    covered: Bools
    popularity_cdf: F64
    price: F64  # EUR, evolves day by day
    volatility: F64
    analyst: I32  # index into ANALYSTS

    @property
    def size(self) -> int:
        return len(self.isins)


ANALYSTS, ANALYST_INDEX = distinct(
    names.ANALYSTS_DE + names.ANALYSTS_EU + names.ANALYSTS_US + names.RESEARCH_UNITS
)


UNIT_BY_REGION: Final = np.asarray(
    [ANALYST_INDEX[unit] for unit in names.RESEARCH_UNITS], dtype=np.int32
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


def build_universe(rng: Rng, clients: int) -> Universe:
    covered_count = covered_isin_count(clients)
    total = max(covered_count + 1, round(covered_count / COVERED_SHARE_OF_HELD))
    dax_count = len(names.DAX)
    generated = total - dax_count

    isins = [make_isin(member.isin_body) for member in names.DAX]
    security_names = [member.name for member in names.DAX]
    region = np.zeros(total, dtype=np.int8)
    region[dax_count:] = np.sort(choice(rng, 3, (0.55, 0.20, 0.25), generated))
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
    de_forms = choice(rng, len(names.DE_FORMS), [w for _, w in names.DE_FORMS], len(de_stems))
    eu_countries = rng.integers(0, len(names.EU_COUNTRIES), len(eu_stems))
    us_forms = choice(rng, len(names.US_FORMS), [w for _, w in names.US_FORMS], len(us_stems))

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
    weights = zipf_weights(total, ZIPF_EXPONENT, ZIPF_OFFSET)[rank]
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
        np.asarray([ANALYST_INDEX[a] for a in pool], dtype=np.int32)
        for pool in (names.ANALYSTS_DE, names.ANALYSTS_EU, names.ANALYSTS_US)
    ]
    pick = rng.random(total)
    analyst = np.empty(total, dtype=np.int32)
    for r, pool in enumerate(pools):
        mask = region == r
        analyst[mask] = pool[(pick[mask] * len(pool)).astype(np.int64)]

    return Universe(
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


FIRST_NAMES, _FIRST_INDEX = distinct(names.GERMAN_FIRST_NAMES + names.ENGLISH_FIRST_NAMES)


LAST_NAMES, _LAST_INDEX = distinct(names.GERMAN_LAST_NAMES + names.ENGLISH_LAST_NAMES)


FIRST_EMAIL = [names.transliterate(n) for n in FIRST_NAMES]


LAST_EMAIL = [names.transliterate(n) for n in LAST_NAMES]


_EMAIL_KINDS: Final = 6  # 0 valid, 1-4 malformed, 5 missing


def _name_pool(pool: Sequence[str], index: dict[str, int]) -> tuple[I32, F64]:
    ids = np.asarray([index[n] for n in pool], dtype=np.int32)
    return ids, zipf_weights(len(pool), 0.6, 8.0)


@dataclass
class Clients:
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


def build_clients(rng: Rng, count: int, advisors: int) -> Clients:
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
    return Clients(
        count=count,
        first=first,
        last=last,
        english=english_language,
        advisor=advisor.astype(np.int32),
        opt_in=rng.random(count) >= OPT_OUT_SHARE,
        opt_form=choice(rng, 3, OPT_IN_FORM_SHARES, count).astype(np.int8),
        email_kind=kind,
        email_pattern=choice(rng, len(EMAIL_PATTERN_SHARES), EMAIL_PATTERN_SHARES, count).astype(
            np.int8
        ),
        email_year=rng.integers(50, 100 + 5, count).astype(np.int8) % 100,
        email_domain=rng.integers(0, len(names.CLIENT_EMAIL_DOMAINS), count).astype(np.int8),
    )


@dataclass(frozen=True)
class Advisors:
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


def build_advisors(rng: Rng, count: int, client_advisor: I32) -> Advisors:
    english = rng.random(count) < 0.08
    first, last = _draw_names(rng, english)
    titles = rng.random(count) < 0.06
    advisor_names: list[str] = []
    emails: list[str] = []
    taken: set[str] = set()
    for i in range(count):
        first_name, last_name = FIRST_NAMES[int(first[i])], LAST_NAMES[int(last[i])]
        advisor_names.append(f"{'Dr. ' if titles[i] else ''}{first_name} {last_name}")
        local = f"{FIRST_EMAIL[int(first[i])]}.{LAST_EMAIL[int(last[i])]}"
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
    return Advisors(
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
