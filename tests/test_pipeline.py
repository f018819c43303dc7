"""The daily Prefect flow over several generated days against a real DuckDB file,
checked against an independent reading of the spec's rules straight from the files."""

from __future__ import annotations

import csv
import itertools
import re
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from flows.demo.drops.generate import generate_drops
from flows.pipeline import daily_run
from flows.runs.parameters import DailyRunParameters
from flows.settings import get_settings
from flows.warehouse import open_warehouse
from tests.smtp_server import RecordingSmtpServer

SCALE = {
    "strong buy": ("strong_buy", 1), "stark kaufen": ("strong_buy", 1),
    "buy": ("buy", 2), "kaufen": ("buy", 2), "outperform": ("buy", 2),
    "overweight": ("buy", 2), "übergewichten": ("buy", 2),
    "neutral": ("neutral", 3), "hold": ("neutral", 3), "halten": ("neutral", 3),
    "sell": ("sell", 4), "verkaufen": ("sell", 4), "underperform": ("sell", 4),
    "underweight": ("sell", 4), "untergewichten": ("sell", 4),
    "strong sell": ("strong_sell", 5), "stark verkaufen": ("strong_sell", 5),
}  # fmt: skip
EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+)*@"
    r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$"
)
YES, NO = {"true", "ja", "1", "yes"}, {"false", "nein", "0", "no"}


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _expected_alerts(inbox: Path, days: list[date]) -> set[tuple[object, ...]]:
    """The spec's rules, read off the drop files by hand."""
    events = []
    for day in days:
        for row in _read(inbox / day.isoformat() / "ratings.csv"):
            label = " ".join(row["rating"].lower().replace("_", " ").replace("-", " ").split())
            code, rank = SCALE[label]
            events.append((row["isin"], datetime.fromisoformat(row["rated_at"]), day, code, rank))
    by_isin: dict[str, list[tuple[object, ...]]] = defaultdict(list)
    for event in sorted(events, key=lambda e: (e[0], e[1], e[2])):
        by_isin[str(event[0])].append(event)
    changes = []
    for isin, history in by_isin.items():
        for previous, current in itertools.pairwise(history):
            if current[3] != previous[3]:
                kind = "upgrade" if current[4] < previous[4] else "downgrade"  # type: ignore[operator]
                changes.append((isin, current[1].date(), current[2], kind))  # type: ignore[union-attr]

    expected = set()
    for isin, changed_on, business_day, kind in changes:
        snapshots = [d for d in days if d <= changed_on]
        if not snapshots:
            continue
        snapshot = max(snapshots)
        clients: dict[str, dict[str, str]] = {}
        for day in days:
            if day <= business_day:
                clients.update(
                    {c["client_id"]: c for c in _read(inbox / day.isoformat() / "clients.csv")}
                )
        suppressed = {
            s["email"].strip().lower()
            for day in days
            if day <= business_day
            for s in _read(inbox / day.isoformat() / "suppressions.csv")
        }
        for holding in _read(inbox / snapshot.isoformat() / "holdings.csv"):
            if holding["isin"] != isin or Decimal(holding["quantity"]) <= 0:
                continue
            client = clients.get(holding["client_id"])
            email = (client or {}).get("email", "").strip()
            opt_in = (client or {}).get("notify_opt_in", "").strip().lower()
            if client is None:
                reason = "unknown_client"
            elif opt_in not in YES:
                reason = "opted_out"
            elif not email:
                reason = "no_email"
            elif not EMAIL.match(email):
                reason = "invalid_email"
            elif email.lower() in suppressed:
                reason = "suppressed"
            else:
                reason = None
            expected.add(
                (
                    business_day,
                    holding["client_id"],
                    isin,
                    kind,
                    Decimal(holding["quantity"]),
                    reason,
                )
            )
    return expected


@pytest.mark.usefixtures("prefect_server")
def test_daily_runs_over_generated_days_match_the_rules(
    votum_home: Path, tmp_path: Path, mail_to: RecordingSmtpServer
) -> None:
    inbox = tmp_path / "inbox"
    generated = generate_drops(inbox, start=date(2026, 3, 30), days=6, clients=400, seed=11)
    assert date(2026, 4, 3) not in generated.drop_dates  # Good Friday

    summaries = [
        daily_run(DailyRunParameters(run_date=day, inbox=inbox)) for day in generated.drop_dates
    ]

    settings = get_settings()
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        actual = {
            (row[0], row[1], row[2], row[3], row[4], row[5])
            for row in con.execute(
                "SELECT business_day, client_id, isin, change_type, quantity, ineligible_reason "
                "FROM fct_client_rating_changes"
            ).fetchall()
        }
        changes = con.execute(
            "SELECT count(*) FROM fct_rating_changes WHERE change_type <> 'initiation'"
        ).fetchone()
    expected = _expected_alerts(inbox, generated.drop_dates)
    assert actual == expected
    # The run was not trivially empty: changes, alerts, and clients to call.
    assert changes is not None and changes[0] == sum(s.changes for s in summaries) > 0
    assert len(expected) > 20
    assert any(reason is not None for *_, reason in expected)
    assert sum(s.affected_positions for s in summaries) == len(actual)
    assert all(s.rows_loaded["holdings"] > 0 for s in summaries)
    assert "ingest" in summaries[-1].stage_seconds

    # One digest per client and day with an emailable position, to that client's address.
    digests = [m for m in mail_to.messages if m.message["X-Votum-Kind"] == "client_digest"]
    expected_digests = {(day, client) for day, client, *_, reason in expected if reason is None}
    assert len(digests) == len(expected_digests) == sum(s.digests_sent for s in summaries)
    assert len({m.message_id for m in digests}) == len(digests)
    worklists = [m for m in mail_to.messages if m.message["X-Votum-Kind"] == "advisor_worklist"]
    assert len(worklists) == sum(s.worklists_sent for s in summaries) > 0


# Slow and covered in `make test` by the rerun tests of transform, dispatch and the demo.
@pytest.mark.slow
@pytest.mark.usefixtures("prefect_server")
def test_a_day_run_twice_gives_the_same_marts_and_sends_nothing_again(
    votum_home: Path, tmp_path: Path, mail_to: RecordingSmtpServer
) -> None:
    inbox = tmp_path / "inbox"
    generated = generate_drops(inbox, start=date(2026, 5, 4), days=3, clients=200, seed=5)
    days = generated.drop_dates
    for day in days:
        daily_run(DailyRunParameters(run_date=day, inbox=inbox))
    settings = get_settings()
    query = "SELECT * FROM fct_client_rating_changes ORDER BY client_change_id"
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        before = con.execute(query).fetchall()
    sent = len(mail_to.messages)
    again = daily_run(DailyRunParameters(run_date=days[-1], inbox=inbox))
    assert again.emails_sent == 0 and len(mail_to.messages) == sent
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        assert con.execute(query).fetchall() == before
        assert con.execute(
            "SELECT count(*) FROM (SELECT client_id, change_id FROM fct_client_rating_changes "
            "GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone() == (0,)


def test_a_dispatch_that_did_not_get_everything_out_is_named_by_counts() -> None:
    from flows.notify.dispatch import DispatchReport
    from flows.pipeline import undelivered

    # Suppressed and withdrawn emails were not to go: everything that was to go went.
    assert undelivered(DispatchReport(sent=3, suppressed=1, withdrawn=2)) is None
    reason = undelivered(DispatchReport(sent=1, left_pending=2, failed=1, uncertain=1, expired=3))
    assert reason is not None
    assert "2 emails left pending" in reason and "1 emails failed" in reason
    assert "1 emails of unknown outcome" in reason and "3 emails expired" in reason
