"""The synthetic drop generator: contract, realism and reproducibility, read back from the
files it writes (the way the pipeline will read them)."""

from __future__ import annotations

import csv
import hashlib
import itertools
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.calendar import add_business_days
from flows.demo.drops import names
from flows.demo.drops.generate import GenerationSummary, generate_drops
from flows.demo.drops.isins import is_valid_isin, isin_check_digit, make_isin

COLUMNS = {
    "ratings": [
        "isin",
        "security_name",
        "rating",
        "rated_at",
        "analyst",
        "target_price",
        "currency",
    ],
    "holdings": ["client_id", "isin", "quantity", "market_value_eur", "as_of"],
    "clients": [
        "client_id",
        "first_name",
        "last_name",
        "email",
        "language",
        "advisor_id",
        "notify_opt_in",
    ],
    "advisors": ["advisor_id", "name", "email", "branch", "manager_email"],
    "crm_activities": [
        "activity_id",
        "advisor_id",
        "client_id",
        "activity_type",
        "occurred_at",
        "isin",
    ],
    "transactions": [
        "transaction_id",
        "client_id",
        "isin",
        "side",
        "quantity",
        "price_eur",
        "executed_at",
        "fee_eur",
    ],
    "suppressions": ["email", "suppressed_at", "reason"],
}
ALWAYS = ("ratings", "holdings", "crm_activities", "transactions")
RANK = {"strong_buy": 0, "buy": 1, "neutral": 2, "sell": 3, "strong_sell": 4}
OPT_IN = {"true": True, "ja": True, "1": True, "false": False, "nein": False, "0": False}
RESERVED_DOMAINS = (".example.com", ".example.org", ".example.net", ".example")

# 20 business days from Monday 2026-03-30: Good Friday (04-03) and Easter Monday (04-06)
# are skipped, so the second week's extract comes on Tuesday 04-07.
START = date(2026, 3, 30)
DAYS = 20
CLIENTS = 2000


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@dataclass
class Run:
    summary: GenerationSummary
    out: Path

    def drop(self, day: date) -> Path:
        return self.out / day.isoformat()

    def rows(self, day: date, name: str) -> list[dict[str, str]]:
        path = self.drop(day) / f"{name}.csv"
        return read(path) if path.exists() else []

    def all_rows(self, name: str) -> list[tuple[date, dict[str, str]]]:
        return [(d, row) for d in self.summary.drop_dates for row in self.rows(d, name)]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("drops")
    return Run(generate_drops(out, START, DAYS, CLIENTS, seed=7), out)


@pytest.fixture(scope="module")
def changes(run: Run) -> list[tuple[date, str, int]]:
    """(day, isin, +1 upgrade / -1 downgrade) read back from the ratings files."""
    publications = sorted(
        (row["rated_at"], drop, row["isin"], names.normalise_rating(row["rating"]))
        for drop, row in run.all_rows("ratings")
    )
    previous: dict[str, int] = {}
    found = []
    for rated_at, _drop, isin, code in publications:
        assert code is not None
        rank = RANK[code]
        if isin in previous and previous[isin] != rank:
            found.append(
                (date.fromisoformat(rated_at[:10]), isin, 1 if rank < previous[isin] else -1)
            )
        previous[isin] = rank
    return found


@pytest.fixture(scope="module")
def holdings(run: Run) -> dict[date, dict[tuple[str, str], Decimal]]:
    return {
        d: {(r["client_id"], r["isin"]): Decimal(r["quantity"]) for r in run.rows(d, "holdings")}
        for d in run.summary.drop_dates
    }


@pytest.fixture(scope="module")
def alerts(
    run: Run,
    changes: list[tuple[date, str, int]],
    holdings: dict[date, dict[tuple[str, str], Decimal]],
) -> list[tuple[date, str, str, int]]:
    """(day, client, isin, direction): clients holding a security changed that day."""
    by_day: dict[date, dict[str, int]] = defaultdict(dict)
    for day, isin, direction in changes:
        by_day[day][isin] = direction
    return [
        (day, client, isin, by_day[day][isin])
        for day in run.summary.drop_dates
        for (client, isin), quantity in holdings[day].items()
        if isin in by_day[day] and quantity > 0
    ]


# --- ISINs -------------------------------------------------------------------------------


def test_check_digit_reproduces_the_published_dax_isins() -> None:
    assert len(names.DAX) == 40
    for member in names.DAX:
        assert isin_check_digit(member.isin_body) == member.published_check_digit, member.name
    assert make_isin("DE000716460") == "DE0007164600"  # SAP
    assert make_isin("US037833100") == "US0378331005"  # Apple
    assert is_valid_isin("DE000BASF111")
    assert not is_valid_isin("DE000BASF112")
    assert not is_valid_isin("DE000BASF11")


def test_every_isin_written_has_a_valid_check_digit(run: Run) -> None:
    seen = set()
    for name in ("ratings", "holdings", "crm_activities", "transactions"):
        for _day, row in run.all_rows(name):
            if row["isin"]:
                seen.add(row["isin"])
    assert len(seen) >= 100
    invalid = [isin for isin in seen if not is_valid_isin(isin)]
    assert invalid == []
    assert all(len(isin) == 12 and isin[:2].isalpha() for isin in seen)


# --- Calendar and files ------------------------------------------------------------------


def test_drops_are_written_on_business_days_only(run: Run, tmp_path: Path) -> None:
    assert run.summary.drop_dates[:6] == [
        date(2026, 3, 30),
        date(2026, 3, 31),
        date(2026, 4, 1),
        date(2026, 4, 2),
        date(2026, 4, 7),  # after Good Friday and Easter Monday
        date(2026, 4, 8),
    ]
    folders = sorted(p.name for p in run.out.iterdir())
    assert folders == [d.isoformat() for d in run.summary.drop_dates]
    assert len(folders) == DAYS

    christmas = generate_drops(tmp_path, date(2026, 12, 24), 3, 30, seed=1)
    # The 24th is no nationwide holiday; the 25th, 26th and weekend are not business days.
    assert christmas.drop_dates == [date(2026, 12, 24), date(2026, 12, 28), date(2026, 12, 29)]
    weekend = generate_drops(tmp_path / "w", date(2026, 5, 2), 1, 30, seed=1)
    assert weekend.drop_dates == [date(2026, 5, 4)]  # Saturday start: the next Monday


def test_every_file_has_exactly_the_contract_columns(run: Run) -> None:
    kinds: Counter[str] = Counter()
    for day in run.summary.drop_dates:
        present = sorted(p.name for p in run.drop(day).iterdir())
        for name in ALWAYS:
            assert f"{name}.csv" in present, (day, name)
        for file_name in present:
            name = file_name.removesuffix(".csv")
            assert name in COLUMNS, file_name
            assert header(run.drop(day) / file_name) == COLUMNS[name]
            kinds[name] += 1
    assert kinds["ratings"] == kinds["holdings"] == DAYS
    assert 0 < kinds["suppressions"] < DAYS


def test_clients_and_advisors_come_first_and_on_the_first_drop_of_each_week(run: Run) -> None:
    with_clients = [d for d in run.summary.drop_dates if (run.drop(d) / "clients.csv").exists()]
    with_advisors = [d for d in run.summary.drop_dates if (run.drop(d) / "advisors.csv").exists()]
    assert (
        with_clients
        == with_advisors
        == [
            date(2026, 3, 30),
            date(2026, 4, 7),
            date(2026, 4, 13),
            date(2026, 4, 20),
            date(2026, 4, 27),
        ]
    )


# --- Holdings ----------------------------------------------------------------------------


def test_holdings_are_full_valued_snapshots_of_the_drop_day(run: Run) -> None:
    for day in run.summary.drop_dates:
        rows = run.rows(day, "holdings")
        assert {r["as_of"] for r in rows} == {day.isoformat()}
        keys = [(r["client_id"], r["isin"]) for r in rows]
        assert len(keys) == len(set(keys))
        quantities = [Decimal(r["quantity"]) for r in rows]
        assert min(quantities) > 0
        assert sum(q == q.to_integral_value() for q in quantities) / len(quantities) > 0.9
        # One price per security and day explains every market value (2 decimals).
        bounds: dict[str, list[Decimal]] = {}
        for r, quantity in zip(rows, quantities, strict=True):
            value = Decimal(r["market_value_eur"])
            assert value == value.quantize(Decimal("0.01"))
            low, high = (value - Decimal("0.005")) / quantity, (value + Decimal("0.005")) / quantity
            current = bounds.setdefault(r["isin"], [low, high])
            current[0], current[1] = max(current[0], low), min(current[1], high)
        assert all(low <= high for low, high in bounds.values())
    first = run.rows(run.summary.drop_dates[0], "holdings")
    assert len({r["client_id"] for r in first}) == CLIENTS
    assert 9.0 <= len(first) / CLIENTS <= 11.0


def test_positions_per_client_vary_and_popularity_is_skewed(run: Run) -> None:
    rows = run.rows(run.summary.drop_dates[0], "holdings")
    per_client = Counter(r["client_id"] for r in rows)
    assert min(per_client.values()) == 1
    assert max(per_client.values()) >= 30
    per_security = sorted(Counter(r["isin"] for r in rows).values(), reverse=True)
    top_1 = math.ceil(len(per_security) * 0.01)
    top_10 = math.ceil(len(per_security) * 0.10)
    uniform = top_1 / len(per_security)
    assert sum(per_security[:top_1]) / len(rows) > 4 * uniform
    assert sum(per_security[:top_10]) / len(rows) > 0.30
    most_held = Counter(r["isin"] for r in rows).most_common(1)[0]
    assert most_held[0] in {make_isin(m.isin_body) for m in names.DAX}
    assert most_held[1] / CLIENTS > 0.25


def test_some_held_securities_are_not_rated(run: Run) -> None:
    first = run.summary.drop_dates[0]
    held = {r["isin"] for r in run.rows(first, "holdings")}
    rated = {r["isin"] for r in run.rows(first, "ratings")}
    assert run.summary.covered_isins == len(rated) == 100
    assert {make_isin(m.isin_body) for m in names.DAX} <= rated
    unrated_share = len(held - rated) / len(held)
    assert 0.1 <= unrated_share <= 0.3


def test_trades_show_in_the_next_snapshot(
    run: Run, holdings: dict[date, dict[tuple[str, str], Decimal]]
) -> None:
    dates = run.summary.drop_dates
    checked = 0
    for today, tomorrow in itertools.pairwise(dates):
        expected = dict(holdings[today])
        for t in run.rows(today, "transactions"):
            key = (t["client_id"], t["isin"])
            delta = Decimal(t["quantity"]) * (1 if t["side"] == "buy" else -1)
            if t["side"] == "sell":
                assert 0 < Decimal(t["quantity"]) <= expected[key]
            expected[key] = expected.get(key, Decimal(0)) + delta
            checked += 1
        expected = {k: v for k, v in expected.items() if v != 0}
        assert expected == holdings[tomorrow], today
    assert checked > 200


def test_trades_carry_a_plausible_fee_except_some(run: Run) -> None:
    """The commission (fee_eur): 0.25 % of the volume within 9.90 and 75 EUR; some trades
    come without it, so that the report shows the estimate from VOTUM_FEE_RATE."""
    fees, missing = 0, 0
    for today in run.summary.drop_dates:
        for t in run.rows(today, "transactions"):
            if not t["fee_eur"]:
                missing += 1
                continue
            fee = Decimal(t["fee_eur"].replace(",", "."))
            volume = Decimal(t["quantity"]) * Decimal(t["price_eur"].replace(",", "."))
            assert Decimal("9.90") <= fee <= Decimal("75.00")
            share = (volume * Decimal("0.0025")).quantize(Decimal("0.01"), ROUND_HALF_UP)
            assert fee == min(Decimal("75.00"), max(Decimal("9.90"), share))
            fees += 1
    assert fees > 100 and 0 < missing < fees


# --- Ratings -----------------------------------------------------------------------------


def test_rating_labels_map_to_the_scale_in_both_languages(run: Run) -> None:
    labels = [row["rating"] for _d, row in run.all_rows("ratings")]
    assert all(names.normalise_rating(label) is not None for label in labels)
    stripped = {label.strip().casefold() for label in labels}
    german = {"kaufen", "verkaufen", "halten", "übergewichten", "untergewichten", "stark kaufen"}
    english = {"buy", "sell", "hold", "outperform", "underweight", "strong_buy", "overweight"}
    assert len(stripped & german) >= 3
    assert len(stripped & english) >= 3
    assert any(label != label.strip() for label in labels)  # stray whitespace
    assert any(label.isupper() for label in labels)  # e.g. BUY


def test_first_drop_rates_every_covered_isin_once(run: Run) -> None:
    rows = run.rows(run.summary.drop_dates[0], "ratings")
    assert len(rows) == len({r["isin"] for r in rows}) == run.summary.covered_isins
    times = [r["rated_at"] for r in rows]
    assert times == sorted(times)
    assert all("06:00:00" <= t[11:] < "09:00:00" and t[:10] == "2026-03-30" for t in times)
    assert sum(r["target_price"] != "" for r in rows) / len(rows) > 0.8
    assert {r["currency"] for r in rows} == {"EUR", "USD"}
    assert any(r["analyst"].startswith("Dr. ") for r in rows)
    assert any(r["analyst"].startswith("Research Equity") for r in rows)


def test_daily_rating_changes_are_poisson_like_around_one_percent(
    run: Run, changes: list[tuple[date, str, int]]
) -> None:
    later = run.summary.drop_dates[1:]
    per_day = Counter(day for day, _isin, _direction in changes)
    counts = [per_day[d] for d in later]
    assert set(per_day) <= set(later)  # changes are rated on their drop day
    assert counts == run.summary.daily_rating_changes[1:]
    assert sum(counts) == run.summary.rating_changes
    assert any(c == 0 for c in counts)
    assert any(c >= 2 for c in counts)
    share = sum(counts) / len(counts) / run.summary.covered_isins
    assert 0.005 <= share <= 0.03
    assert {direction for _d, _i, direction in changes} == {1, -1}
    # Reaffirmations: a publication repeating the rating is no change.
    publications = sum(len(run.rows(d, "ratings")) for d in later)
    assert publications > sum(counts)


def test_rating_history_goes_into_the_first_drop(tmp_path: Path) -> None:
    summary = generate_drops(tmp_path, date(2026, 4, 7), 2, 300, seed=3, rating_history_days=5)
    rows = read(tmp_path / "2026-04-07" / "ratings.csv")
    days = sorted({r["rated_at"][:10] for r in rows})
    # The five business days before Tuesday 2026-04-07 skip Easter Monday and Good Friday.
    history = ["2026-03-30", "2026-03-31", "2026-04-01", "2026-04-02"]
    assert days[0] == "2026-03-27" and set(days) <= {"2026-03-27", *history, "2026-04-07"}
    initiated = {r["isin"] for r in rows if r["rated_at"].startswith("2026-03-27")}
    assert len(initiated) == summary.covered_isins
    times = [r["rated_at"] for r in rows]
    assert times == sorted(times)
    assert len(rows) > summary.covered_isins
    assert summary.rating_changes >= summary.daily_rating_changes[0]


# --- Clients and advisors ----------------------------------------------------------------


def test_clients_are_plausible_and_imperfect(run: Run) -> None:
    rows = run.rows(START, "clients")
    assert len(rows) == CLIENTS
    assert [r["client_id"] for r in rows] == [f"C{i:07d}" for i in range(1, CLIENTS + 1)]
    opted_in = [OPT_IN[r["notify_opt_in"]] for r in rows]
    assert 0.05 <= opted_in.count(False) / CLIENTS <= 0.11
    assert {r["notify_opt_in"] for r in rows} == set(OPT_IN)
    languages = Counter(r["language"] for r in rows)
    assert set(languages) == {"de", "en"}
    assert 0.12 <= languages["en"] / CLIENTS <= 0.30
    english_names = [r for r in rows if r["last_name"] in names.ENGLISH_LAST_NAMES]
    assert sum(r["language"] == "en" for r in english_names) / len(english_names) > 0.7
    text = "".join(r["first_name"] + r["last_name"] for r in rows)
    assert {"ü", "ö", "ä", "ß"} <= set(text)

    emails = [r["email"] for r in rows]
    empty = [e for e in emails if e == ""]
    malformed = [
        e for e in emails if e and (e.count("@") != 1 or " " in e or ".." in e or e.endswith("."))
    ]
    assert 1 <= len(empty) <= 0.012 * CLIENTS
    assert 0.004 * CLIENTS <= len(malformed) <= 0.02 * CLIENTS
    valid = [e for e in emails if e and e not in malformed]
    assert len(valid) == len(set(valid))
    assert all(e == e.lower() and e.isascii() for e in valid)
    assert all(
        e.split("@")[1].endswith(RESERVED_DOMAINS)
        or e.split("@")[1] in ("example.com", "example.org", "example.net")
        for e in valid
    )
    gross = [r for r in rows if r["last_name"] == "Groß" and r["email"]]
    assert any("gross" in r["email"] for r in gross)


def test_weekly_extracts_change_a_little(run: Run) -> None:
    first = {r["client_id"]: r for r in run.rows(date(2026, 3, 30), "clients")}
    last = {r["client_id"]: r for r in run.rows(date(2026, 4, 27), "clients")}
    assert first.keys() == last.keys()
    new_email = sum(first[c]["email"] != last[c]["email"] for c in first)
    opted_out = sum(
        OPT_IN[first[c]["notify_opt_in"]] and not OPT_IN[last[c]["notify_opt_in"]] for c in first
    )
    assert 1 <= new_email <= 0.03 * CLIENTS
    assert 1 <= opted_out <= 0.03 * CLIENTS
    assert all(first[c]["advisor_id"] == last[c]["advisor_id"] for c in first)


def test_advisors_and_branches(run: Run, tmp_path: Path) -> None:
    advisors = run.rows(START, "advisors")
    assert run.summary.advisors == len(advisors) == 8  # one per 250 clients
    assert [a["advisor_id"] for a in advisors] == [f"A{i:04d}" for i in range(1, 9)]
    assert {a["branch"] for a in advisors} == {"Filiale Berlin"}
    assert {a["manager_email"] for a in advisors} == {"filialleitung.berlin@bank.example.com"}
    assert len({a["email"] for a in advisors}) == 8
    clients = run.rows(START, "clients")
    assert {c["advisor_id"] for c in clients} == {a["advisor_id"] for a in advisors}

    bigger = generate_drops(tmp_path, date(2026, 3, 2), 1, 60_000, seed=2)
    rows = read(tmp_path / "2026-03-02" / "advisors.csv")
    assert bigger.advisors == len(rows) == 240
    sizes = Counter(r["branch"] for r in rows)
    assert bigger.branches == len(sizes) >= 16
    assert min(sizes.values()) >= 4 and max(sizes.values()) <= 11
    managers = {r["branch"]: r["manager_email"] for r in rows}
    assert len(set(managers.values())) == len(managers)
    assert "Filiale München" in sizes


# --- CRM activities, alerts, follow-up trades --------------------------------------------


def test_activities_reference_clients_advisors_and_their_day(run: Run) -> None:
    advisor_of = {r["client_id"]: r["advisor_id"] for r in run.rows(START, "clients")}
    advisors = {r["advisor_id"] for r in run.rows(START, "advisors")}
    rows = run.all_rows("crm_activities")
    assert len(rows) > 20 * 8
    types = Counter(r["activity_type"] for _d, r in rows)
    assert set(types) == {"call", "meeting", "email", "note", "alert_acknowledged"}
    for day, r in rows:
        assert r["client_id"] in advisor_of
        assert r["advisor_id"] in advisors
        assert r["occurred_at"][:10] == day.isoformat()
        assert "08:00:00" <= r["occurred_at"][11:] < "18:00:00"
        if r["isin"]:  # a follow-up: by the client's own advisor
            assert r["advisor_id"] == advisor_of[r["client_id"]]
    assert any(r["isin"] == "" for _d, r in rows)


def test_advisors_differ_in_diligence(run: Run, alerts: list[tuple[date, str, str, int]]) -> None:
    advisor_of = {r["client_id"]: r["advisor_id"] for r in run.rows(START, "clients")}
    contacted: set[tuple[str, str, date]] = {
        (r["advisor_id"], r["client_id"], day) for day, r in run.all_rows("crm_activities")
    }
    last = run.summary.drop_dates[-1]
    followed: dict[str, list[bool]] = defaultdict(list)
    for day, client in sorted({(day, client) for day, client, _i, _d in alerts}):
        deadline = add_business_days(day, 2)
        if deadline > last:
            continue  # the window is still open
        window = [day, add_business_days(day, 1), deadline]
        advisor = advisor_of[client]
        followed[advisor].append(any((advisor, client, d) in contacted for d in window))
    shares = {a: sum(v) / len(v) for a, v in followed.items() if len(v) >= 20}
    assert len(shares) >= 6
    assert max(shares.values()) >= 0.7  # diligent
    assert min(shares.values()) <= 0.2  # negligent
    assert statistics.pstdev(shares.values()) > 0.2


def test_alerted_clients_trade_in_the_direction_of_the_change(
    run: Run, alerts: list[tuple[date, str, str, int]]
) -> None:
    alert_days: dict[tuple[str, str], list[tuple[date, int]]] = defaultdict(list)
    for day, client, isin, direction in alerts:
        alert_days[(client, isin)].append((day, direction))
    follow_ups: Counter[tuple[str, int]] = Counter()
    for day, t in run.all_rows("transactions"):
        assert t["executed_at"][:10] == day.isoformat()
        for alert_day, direction in alert_days.get((t["client_id"], t["isin"]), []):
            if 0 <= (day - alert_day).days <= 10:
                follow_ups[(t["side"], direction)] += 1
    assert follow_ups[("sell", -1)] >= 20
    assert follow_ups[("buy", 1)] >= 20
    # Against the change is rare (only background trades).
    against = follow_ups[("buy", -1)] + follow_ups[("sell", 1)]
    assert against < 0.25 * (follow_ups[("sell", -1)] + follow_ups[("buy", 1)])


def test_suppressions_name_existing_client_addresses(run: Run) -> None:
    emails = {r["email"] for r in run.rows(START, "clients")}
    for day in run.summary.drop_dates:
        if (run.drop(day) / "clients.csv").exists():
            emails |= {r["email"] for r in run.rows(day, "clients")}
    rows = run.all_rows("suppressions")
    assert rows
    addresses = [r["email"] for _d, r in rows]
    assert len(addresses) == len(set(addresses))
    assert set(addresses) <= emails
    assert {r["reason"] for _d, r in rows} <= {"objection", "bounce"}
    assert all(r["suppressed_at"][:10] == d.isoformat() for d, r in rows)


def test_ids_are_unique_within_and_across_drops(run: Run) -> None:
    for name, column in (("crm_activities", "activity_id"), ("transactions", "transaction_id")):
        ids = [r[column] for _d, r in run.all_rows(name)]
        assert len(ids) == len(set(ids)) > 0
    activity_ids = [r["activity_id"] for _d, r in run.all_rows("crm_activities")]
    assert activity_ids[0] == "ACT00000001" and activity_ids == sorted(activity_ids)
    for day in run.summary.drop_dates:
        clients = [r["client_id"] for r in run.rows(day, "clients")]
        assert len(clients) == len(set(clients))


# --- Reproducibility and formats ---------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    args = {"start": date(2026, 3, 30), "days": 8, "clients": 400, "rating_history_days": 3}
    generate_drops(tmp_path / "a", seed=11, **args)  # type: ignore[arg-type]
    generate_drops(tmp_path / "b", seed=11, **args)  # type: ignore[arg-type]
    generate_drops(tmp_path / "c", seed=12, **args)  # type: ignore[arg-type]
    first, second, other = (digest(tmp_path / x) for x in "abc")
    assert len(first) >= 8 * 4
    assert first == second
    assert first.keys() != other.keys() or first != other
    for name in ("holdings.csv", "clients.csv", "ratings.csv"):
        assert first[f"2026-03-30/{name}"] != other.get(f"2026-03-30/{name}")

    # A shorter run with the same arguments writes the same first drops.
    generate_drops(tmp_path / "short", seed=11, **{**args, "days": 3})  # type: ignore[arg-type]
    short = digest(tmp_path / "short")
    assert short == {k: v for k, v in first.items() if k in short}
    assert len(short) >= 12


def test_rewriting_a_drop_folder_replaces_its_files(tmp_path: Path) -> None:
    generate_drops(tmp_path / "x", date(2026, 3, 30), 5, 300, seed=1)
    generate_drops(tmp_path / "x", date(2026, 3, 30), 5, 300, seed=2, file_format="parquet")
    assert not list((tmp_path / "x").rglob("*.csv"))
    generate_drops(tmp_path / "x", date(2026, 3, 30), 5, 300, seed=5)
    generate_drops(tmp_path / "fresh", date(2026, 3, 30), 5, 300, seed=5)
    assert digest(tmp_path / "x") == digest(tmp_path / "fresh")


def test_parquet_drops_have_the_same_columns_and_proper_types(tmp_path: Path) -> None:
    summary = generate_drops(
        tmp_path, date(2026, 3, 30), 3, 300, seed=4, file_format="parquet", rating_history_days=2
    )
    csv_run = generate_drops(
        tmp_path / "csv", date(2026, 3, 30), 3, 300, seed=4, rating_history_days=2
    )
    assert summary.positions_last_day == csv_run.positions_last_day
    again = tmp_path / "again"
    generate_drops(
        again, date(2026, 3, 30), 3, 300, seed=4, file_format="parquet", rating_history_days=2
    )
    assert digest(again) == {k: v for k, v in digest(tmp_path).items() if k.startswith("2026-")}
    first = tmp_path / "2026-03-30"
    assert not list(tmp_path.glob("2026-*/*.csv"))
    for path in sorted(first.glob("*.parquet")):
        table = pq.read_table(path)
        assert table.column_names == COLUMNS[path.stem], path.name
    holdings = pq.read_table(first / "holdings.parquet")
    assert holdings.num_rows == sum(
        1 for _ in read(tmp_path / "csv" / "2026-03-30" / "holdings.csv")
    )
    schema = holdings.schema
    assert schema.field("client_id").type == pa.string()
    assert pa.types.is_decimal(schema.field("market_value_eur").type)
    assert pa.types.is_decimal(schema.field("quantity").type)
    assert schema.field("as_of").type == pa.date32()
    assert set(holdings.column("as_of").to_pylist()) == {date(2026, 3, 30)}
    ratings = pq.read_table(first / "ratings.parquet")
    assert pa.types.is_timestamp(ratings.schema.field("rated_at").type)
    assert isinstance(ratings.column("rated_at")[0].as_py(), datetime)
    clients = pq.read_table(first / "clients.parquet")
    assert clients.schema.field("notify_opt_in").type == pa.bool_()
    csv_clients = read(tmp_path / "csv" / "2026-03-30" / "clients.csv")
    assert clients.column("email").to_pylist() == [r["email"] or None for r in csv_clients]


def test_invalid_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="days"):
        generate_drops(tmp_path, START, 0, 10)
    with pytest.raises(ValueError, match="clients"):
        generate_drops(tmp_path, START, 1, 0)
    with pytest.raises(ValueError, match="file_format"):
        generate_drops(tmp_path, START, 1, 10, file_format="xlsx")  # type: ignore[arg-type]


@pytest.mark.slow
def test_one_million_clients_make_about_ten_million_positions(tmp_path: Path) -> None:
    summary = generate_drops(tmp_path, date(2026, 3, 2), 1, 1_000_000, seed=42)
    assert summary.covered_isins == 3000
    assert summary.advisors == 4000
    assert 9_000_000 <= summary.positions_last_day <= 11_000_000
    path = tmp_path / "2026-03-02" / "holdings.csv"
    with path.open("rb") as handle:
        lines = sum(1 for _ in handle) - 1
    assert lines == summary.positions_last_day


def test_intraday_batches_change_one_held_security_after_the_morning(tmp_path: Path) -> None:
    plain = generate_drops(tmp_path / "plain", START, 3, 150, seed=4)
    out = tmp_path / "batches"
    summary = generate_drops(out, START, 3, 150, seed=4, intraday_batches=((1, "101500"),))
    day = plain.drop_dates[1]
    assert summary.intraday_batches == [(day, "101500")]
    assert summary.rating_changes == plain.rating_changes + 1
    (batch,) = read(out / day.isoformat() / "intraday" / "101500" / "ratings.csv")
    assert (
        header(out / day.isoformat() / "intraday" / "101500" / "ratings.csv") == COLUMNS["ratings"]
    )
    assert batch["rated_at"] == f"{day.isoformat()} 10:10:00"  # five minutes before delivery
    # A held security, one step from its rating after that morning's drop.
    isin = batch["isin"]
    assert any(row["isin"] == isin for row in read(out / day.isoformat() / "holdings.csv"))
    before = [
        names.normalise_rating(row["rating"])
        for d in plain.drop_dates[:2]
        for row in read(out / d.isoformat() / "ratings.csv")
        if row["isin"] == isin
    ]
    rank = RANK[str(names.normalise_rating(batch["rating"]))]
    assert before and abs(rank - RANK[str(before[-1])]) == 1
    # The days up to the batch's are those of a run without batches.
    for d in plain.drop_dates[:2]:
        files = digest(out / d.isoformat())
        assert {k: v for k, v in files.items() if not k.startswith("intraday")} == digest(
            tmp_path / "plain" / d.isoformat()
        )
