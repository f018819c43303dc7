"""The quality gates on drops with exactly known faults: what is quarantined (line,
reasons), what stops the run before dbt, what holds the day, and Data Docs without any
client data."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows.demo.drops.isins import make_isin
from flows.ingest.loader import DropLoad, load_drop
from flows.quality.gates import (
    DropQualityError,
    QualityError,
    check_drop,
    check_marts,
    too_many_faulty_rows,
)
from flows.settings import Settings, get_settings
from flows.transform import build_marts
from flows.warehouse import open_warehouse, set_run_date
from tests.drops import ADVISORS, CLIENTS, HOLDINGS, RATINGS, SAP, SIEMENS, write_csv

DAY = date(2026, 3, 2)
NEXT = date(2026, 3, 3)
SECRET_NAME, SECRET_EMAIL, SECRET_VALUE = "Zacharias", "geheim.zacharias@example.com", "987654.32"
GOOD_HOLDINGS = [[f"G{i:04d}", SAP, 1, "10.00"] for i in range(300)]
# Enough sound rows that the faulty ones stay below the 5 % that would fail the file.
GOOD_RATINGS = [
    [make_isin(f"DE000A{i:05d}"), f"Security {i}", "neutral", "2026-03-01"] for i in range(150)
]


def load(settings: Settings, folder: Path, day: date) -> DropLoad:
    with open_warehouse(settings.warehouse_path) as con:
        result = load_drop(con, folder, day)
        set_run_date(con, day)
    return result


def faulty_drop(inbox: Path) -> Path:
    folder = inbox / DAY.isoformat()
    write_csv(
        folder / "ratings.csv",
        RATINGS[:4],
        [
            [SAP, "SAP SE", "Kaufen", "2026-03-02 07:00"],  # line 2: fine
            ["DE000716460", "Short ISIN", "buy", "2026-03-02"],  # 3: malformed
            ["DE0007164601", "Bad digit", "buy", "2026-03-02"],  # 4: check digit
            [SIEMENS, "Siemens AG", "glänzend", "2026-03-02"],  # 5: unknown label
            ["", "No ISIN", "hold", "2026-03-02"],  # 6: missing key
            ["DE0008404005", "Allianz SE", "hold", "sometime"],  # 7: unreadable time
            ["DE000BASF111", "BASF SE", "sell", "2031-01-01"],  # 8: in the future
            *GOOD_RATINGS,
        ],
    )
    write_csv(
        folder / "holdings.csv",
        HOLDINGS,
        [
            ["C1", SAP, 10, SECRET_VALUE, DAY.isoformat()],  # line 2: fine
            ["C2", SAP, -5, "100.00", DAY.isoformat()],  # 3: negative quantity
            ["C3", "XX123", 1, "10.00", DAY.isoformat()],  # 4: malformed ISIN
            ["", SAP, 1, "10.00", DAY.isoformat()],  # 5: missing client
            ["C4", SAP, "abc", "10.00", DAY.isoformat()],  # 6: unreadable quantity
            ["C5", "DE0007164601", -1, "", DAY.isoformat()],  # 7: three faults
            *[[*row, DAY.isoformat()] for row in GOOD_HOLDINGS],
        ],
    )
    write_csv(
        folder / "clients.csv",
        CLIENTS,
        [
            ["C1", SECRET_NAME, "Geheim", SECRET_EMAIL, "de", "A1", "ja"],
            ["C9", "Ina", "Invalid", "ina@@example", "fr", "A1", "vielleicht"],
        ],
    )
    write_csv(
        folder / "advisors.csv",
        ADVISORS,
        [["A1", "Petra Schmidt", "petra@bank.example", "Köln", "boss@bank.example"]],
    )
    return folder


@pytest.fixture
def settings(votum_home: Path) -> Settings:
    return get_settings()


def quarantine(settings: Settings) -> list[tuple[str, int, list[str]]]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT file_kind, line, reasons FROM ops.quarantine ORDER BY file_kind, line"
        ).fetchall()
    return [(str(k), int(line), sorted(reasons)) for k, line, reasons in rows]


def test_row_faults_are_quarantined_with_line_and_every_reason(
    settings: Settings, tmp_path: Path
) -> None:
    report = check_drop(settings, load(settings, faulty_drop(tmp_path / "inbox"), DAY))
    assert quarantine(settings) == [
        ("holdings", 3, ["negative quantity"]),
        (
            "holdings",
            4,
            ["malformed ISIN in isin (two letters, nine letters or digits, one digit)"],
        ),
        ("holdings", 5, ["missing key client_id"]),
        ("holdings", 6, ["unreadable value in quantity"]),
        (
            "holdings",
            7,
            ["ISIN check digit invalid in isin", "market_value_eur missing", "negative quantity"],
        ),
        ("ratings", 3, ["malformed ISIN in isin (two letters, nine letters or digits, one digit)"]),
        ("ratings", 4, ["ISIN check digit invalid in isin"]),
        ("ratings", 5, ["rating label not on the rating scale (German or English)"]),
        ("ratings", 6, ["missing key isin"]),
        ("ratings", 7, ["rated_at is not a date or timestamp"]),
        ("ratings", 8, ["rated_at implausible (before 1990 or after the drop's business day)"]),
    ]
    assert report.quarantined == {"holdings": 5, "ratings": 6}
    # The counts Great Expectations observed are the rows found (before they moved).
    counts = {(o.suite, o.rule): o.unexpected for o in report.outcomes}
    assert counts[("raw_holdings", "quantity_negative")] == 2
    assert counts[("raw_holdings", "isin_check_digit")] == 1
    assert counts[("raw_ratings", "rating_unknown")] == 1
    assert counts[("raw_holdings", "duplicate_keys")] == 0
    # Warnings are reported, the rows stay.
    assert sorted(report.warnings) == [
        "clients: email address not valid (the client is kept and not emailed) (1)",
        "clients: language not de or en (German is used) (1)",
        "clients: notify_opt_in not true/false, ja/nein, 1/0 (counts as no) (1)",
    ]
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.holdings").fetchall() == [(301,)]
        assert con.execute("SELECT count(*) FROM raw.clients").fetchall() == [(2,)]
        raw_row = con.execute(
            "SELECT raw_row FROM ops.quarantine WHERE file_kind = 'holdings' AND line = 3"
        ).fetchall()[0][0]
    assert json.loads(raw_row) == {
        "client_id": "C2", "isin": SAP, "quantity": -5.0, "market_value_eur": 100.0,
        "as_of": DAY.isoformat(),
    }  # fmt: skip


def test_data_docs_are_written_without_client_data(settings: Settings, tmp_path: Path) -> None:
    report = check_drop(settings, load(settings, faulty_drop(tmp_path / "inbox"), DAY))
    assert report.data_docs is not None and report.data_docs.exists()
    pages = [p for p in report.data_docs.parent.rglob("*") if p.suffix in {".html", ".json", ".js"}]
    assert len(pages) > 3
    results = [p for p in (settings.home_dir / "quality" / "validations").rglob("*.json")]
    assert results
    for path in [*pages, *results]:
        text = path.read_text(encoding="utf-8", errors="replace")
        for secret in (SECRET_NAME, SECRET_EMAIL, SECRET_VALUE, "987654", "ina@@example"):
            assert secret not in text, f"{secret!r} in {path}"


@pytest.mark.parametrize(
    ("holdings", "message"),
    [
        ([], "holdings.csv: holdings.csv has no rows"),
        (
            [["C1", SAP, 1, "10.00", NEXT.isoformat()]],
            "holdings.csv: as_of is not the drop's date",
        ),
        (
            [["C1", SAP, 1, "10.00", DAY.isoformat()], ["C1", SAP, 2, "20.00", DAY.isoformat()]],
            "holdings.csv: duplicate keys (client_id, isin) in holdings.csv (1 found)",
        ),
        (
            [[f"C{i}", SAP, -1 if i < 10 else 1, "10.00", DAY.isoformat()] for i in range(20)],
            "holdings.csv: 10 of 20 rows are faulty (50.0%, more than "
            "VOTUM_MAX_QUARANTINE_SHARE=5% and at least VOTUM_MIN_QUARANTINE_ROWS=10)",
        ),
    ],
    ids=["empty", "as_of", "duplicates", "too-many-faults"],
)
def test_file_faults_stop_the_run_and_keep_nothing(
    settings: Settings, tmp_path: Path, holdings: list[list[object]], message: str
) -> None:
    folder = tmp_path / "inbox" / DAY.isoformat()
    write_csv(folder / "ratings.csv", RATINGS[:4], [[SAP, "SAP SE", "buy", "2026-03-02"]])
    write_csv(folder / "holdings.csv", HOLDINGS, holdings)
    loaded = load(settings, folder, DAY)
    with pytest.raises(DropQualityError) as raised:
        check_drop(settings, loaded)
    assert message in str(raised.value)
    assert "nothing of it was kept or sent" in str(raised.value)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        for table in ("raw.ratings", "raw.holdings", "raw.drop_files"):
            assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)], table


@pytest.mark.parametrize(
    ("faulty", "total", "is_fault"),
    [(1, 10, False), (9, 10, False), (9, 100, False), (10, 100, True), (10, 1000, False)],
)
def test_a_file_fault_needs_both_the_share_and_the_count_of_faulty_rows(
    faulty: int, total: int, is_fault: bool
) -> None:
    fault = too_many_faulty_rows("ratings.csv", faulty, total, max_share=0.05, min_rows=10)
    assert (fault is not None) == is_fault
    if fault is not None:
        assert fault.startswith(f"ratings.csv: {faulty} of {total} rows are faulty")


def test_implausible_volume_and_an_old_drop_hold_the_day(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    for day, rows in ((DAY, GOOD_HOLDINGS), (NEXT, GOOD_HOLDINGS[:200])):
        folder = inbox / day.isoformat()
        write_csv(folder / "ratings.csv", RATINGS[:4], [])
        write_csv(folder / "holdings.csv", HOLDINGS, [[*r, day.isoformat()] for r in rows])
    assert check_drop(settings, load(settings, inbox / DAY.isoformat(), DAY)).hold_reasons == ()
    shrunk = check_drop(settings, load(settings, inbox / NEXT.isoformat(), NEXT))
    assert shrunk.hold_reasons == (
        "quality gate: holdings snapshot grew or shrank implausibly against the previous drop "
        "(VOTUM_MAX_HOLDINGS_CHANGE) (1)",
    )
    older = check_drop(settings, load(settings, inbox / DAY.isoformat(), DAY))
    assert any("older than the last processed drop 2026-03-03" in r for r in older.hold_reasons)
    assert (
        check_drop(
            settings, load(settings, inbox / DAY.isoformat(), DAY), backfill=True
        ).hold_reasons
        == ()
    )


def test_a_planted_mart_fault_holds_the_day(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "inbox" / DAY.isoformat()
    inbox = tmp_path / "inbox"
    write_csv(folder / "ratings.csv", RATINGS[:4], [[SAP, "SAP SE", "buy", "2026-03-02"]])
    write_csv(folder / "holdings.csv", HOLDINGS, [["C1", SAP, 1, "10.00", DAY.isoformat()]])
    write_csv(
        folder / "clients.csv",
        CLIENTS,
        [["C1", "Anna", "Ahn", "anna@example.com", "de", "A1", "ja"]],
    )
    write_csv(
        folder / "advisors.csv",
        ADVISORS,
        [["A1", "Petra", "petra@bank.example", "Köln", "b@bank.example"]],
    )
    nxt = inbox / NEXT.isoformat()
    write_csv(nxt / "ratings.csv", RATINGS[:4], [[SAP, "SAP SE", "sell", "2026-03-03"]])
    write_csv(nxt / "holdings.csv", HOLDINGS, [["C1", SAP, 1, "10.00", NEXT.isoformat()]])
    for day, path in ((DAY, folder), (NEXT, nxt)):
        check_drop(settings, load(settings, path, day))
        build_marts(settings, day)
    assert check_marts(settings, NEXT).hold_reasons == ()
    # Plant: the client opted out, but the mart still says eligible.
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("UPDATE main.dim_clients SET notify_opt_in = false WHERE client_id = 'C1'")
    held = check_marts(settings, NEXT)
    assert held.hold_reasons == (
        "quality gate on the marts: a row marked eligible for a client who opted out or has "
        "no valid email (1)",
    )
    # A rule that cannot run at all (a mart it reads is gone) stops the gate: it is
    # never counted as passed.
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("DROP TABLE main.dim_advisors")
    with pytest.raises(QualityError, match="eligible_without_advisor"):
        check_marts(settings, NEXT)
