"""The raw gate of an intraday batch (flows/intraday/gate.py) on a real warehouse, real
Great Expectations: it validates the batch's rows and nothing else of the day, records
its results beside the morning's, and a reload of the morning drop keeps what the batches
quarantined."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from flows.demo.drops.isins import isin_check_digit
from flows.ingest.loader import load_drop
from flows.intraday.batches import INTRADAY_FOLDER, batch_source, find_batches, load_batch
from flows.intraday.gate import BatchQuality, check_batch
from flows.quality.gates import DropQualityError, check_drop
from flows.settings import Settings, get_settings
from flows.warehouse import open_warehouse, set_run_date
from tests.drops import ALLIANZ, BASF, RATINGS, SAP, SIEMENS, write_csv, write_drop

DAY = date(2026, 3, 3)
BAD_DIGIT = "DE0007164601"  # SAP's ISIN with a wrong check digit
HOLDINGS = [["C1", SAP, 10, "1000.00"], ["C1", SIEMENS, 5, "500.00"]]
MORNING = [
    [SAP, "SAP SE", "Kaufen", "2026-03-03 07:00:00"],
    [ALLIANZ, "Allianz SE", "Halten", "2026-03-03 07:00:00"],
]


@pytest.fixture
def settings(votum_home: Path) -> Settings:
    return get_settings()


def _morning(settings: Settings, inbox: Path, ratings: list[list[str]], *, check: bool) -> None:
    """The day's drop loaded (and, with ``check``, through its raw gate)."""
    drop = write_drop(inbox, DAY, ratings=ratings, holdings=HOLDINGS)
    with open_warehouse(settings.warehouse_path) as con:
        load = load_drop(con, drop, DAY)
        set_run_date(con, DAY)
    if check:
        check_drop(settings, load)


def _batch(settings: Settings, inbox: Path, batch_id: str, rows: list[list[str]]) -> BatchQuality:
    """A batch delivered, loaded and through its gate."""
    path = inbox / DAY.isoformat() / INTRADAY_FOLDER / batch_id / "ratings.csv"
    write_csv(path, RATINGS, [r + [""] * (len(RATINGS) - len(r)) for r in rows])
    batch = next(b for b in find_batches(inbox, DAY) if b.batch_id == batch_id)
    with open_warehouse(settings.warehouse_path) as con:
        source = batch_source(con, batch)
        load = load_batch(con, batch, source)
    return check_batch(settings, batch, source, load)


def _results(settings: Settings, suite: str) -> dict[str, int]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT rule, unexpected FROM ops.quality_results WHERE run_date = ? AND suite = ?",
            [DAY, suite],
        ).fetchall()
    return {str(rule): int(n) for rule, n in rows}


def _quarantine(settings: Settings) -> list[tuple[str, int]]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT file_name, line FROM ops.quarantine ORDER BY file_name, line"
        ).fetchall()
    return [(str(name), int(line)) for name, line in rows]


def test_a_batch_is_validated_on_its_own_rows(settings: Settings, tmp_path: Path) -> None:
    # A row of the day that is not the batch's breaks a rule (its own gate has not run
    # here): the batch does not answer for it, and does not quarantine it.
    inbox = tmp_path / "inbox"
    _morning(settings, inbox, [*MORNING, [BAD_DIGIT, "Bad digit", "buy", "2026-03-03 07:00"]],
             check=False)  # fmt: skip
    quality = _batch(
        settings, inbox, "101500", [[SIEMENS, "Siemens AG", "Verkaufen", "2026-03-03 10:10:00"]]
    )
    assert quality.outcomes and all(o.passed and not o.unexpected for o in quality.outcomes)
    assert quality.quarantined == 0
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        kept = con.execute(
            "SELECT count(*) FROM raw.ratings WHERE _drop_date = ? AND isin = ?", [DAY, BAD_DIGIT]
        ).fetchall()
    assert kept == [(1,)] and _quarantine(settings) == []


def test_a_batch_repeating_a_publication_of_the_morning_is_a_file_fault(
    settings: Settings, tmp_path: Path
) -> None:
    # Validated alone the batch has no duplicate key; with the morning's rows it has.
    inbox = tmp_path / "inbox"
    _morning(settings, inbox, MORNING, check=True)
    with pytest.raises(DropQualityError) as fault:
        _batch(settings, inbox, "101500", [[SAP, "SAP SE", "Verkaufen", "2026-03-03 07:00:00"]])
    assert f"{DAY}/intraday/101500/ratings.csv: duplicate keys (isin, rated_at)" in str(fault.value)
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        left = con.execute("SELECT count(*) FROM raw.ratings WHERE _batch IS NOT NULL").fetchall()
    assert left == [(0,)]


def test_a_batch_records_its_results_beside_the_mornings(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    _morning(settings, inbox, MORNING, check=True)
    morning = _results(settings, "raw_ratings")
    assert morning and not any(morning.values())
    quality = _batch(
        settings,
        inbox,
        "141000",
        [
            [BASF, "BASF SE", "Verkaufen", "2026-03-03 14:05:00"],
            [SIEMENS, "Siemens AG", "Super", "2026-03-03 14:05:00"],  # unknown label
        ],
    )
    assert quality.quarantined == 1
    recorded = _results(settings, "raw_ratings:intraday/141000")
    assert recorded.keys() == morning.keys()
    assert {rule for rule, n in recorded.items() if n} == {"rating_unknown"}
    assert _results(settings, "raw_ratings") == morning


def test_loading_the_morning_drop_again_keeps_the_batches_quarantine(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    bad_morning_row = [SIEMENS, "Siemens AG", "glänzend", "2026-03-03 07:00:00"]
    _morning(settings, inbox, [*MORNING, bad_morning_row], check=True)
    _batch(settings, inbox, "141000", [[BASF, "BASF SE", "Super", "2026-03-03 14:05:00"]])
    assert _quarantine(settings) == [
        ("intraday/141000/ratings.csv", 2),
        ("ratings.csv", 4),
    ]
    # The morning's ratings.csv delivered again, corrected: the day is run again.
    _morning(settings, inbox, MORNING, check=True)
    assert _quarantine(settings) == [("intraday/141000/ratings.csv", 2)]


def test_a_reload_of_the_morning_drop_counts_its_own_faulty_rows_only(
    tmp_path: Path, votum_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file with two or more faulty rows and more than 5 % of them is a file fault.
    monkeypatch.setenv("VOTUM_MIN_QUARANTINE_ROWS", "2")
    settings = get_settings()
    inbox = tmp_path / "inbox"
    # The morning's ratings.csv: 20 rows, one faulty (5 %: within the share).
    bodies = [f"DE000FILL{n:02d}" for n in range(17)]
    fillers = [
        [f"{body}{isin_check_digit(body)}", "Filler", "Halten", "2026-03-03 07:00:00"]
        for body in bodies
    ]
    bad_morning_row = [SIEMENS, "Siemens AG", "glänzend", "2026-03-03 07:00:00"]
    morning = [*MORNING, *fillers, bad_morning_row]
    assert len(morning) == 20
    _morning(settings, inbox, morning, check=True)
    # A batch with one faulty row of two: one row only, no file fault.
    _batch(
        settings,
        inbox,
        "141000",
        [
            [BASF, "BASF SE", "Super", "2026-03-03 14:05:00"],
            [ALLIANZ, "Allianz SE", "Kaufen", "2026-03-03 14:05:00"],
        ],
    )
    # The morning's file delivered again (a changed row, the same faulty one): still one
    # faulty row of its 20, whatever the batch's file had.
    _morning(settings, inbox, [*morning[:-2], [*fillers[-1][:2], "Kaufen", fillers[-1][3]],
                               bad_morning_row], check=True)  # fmt: skip
    assert _quarantine(settings) == [("intraday/141000/ratings.csv", 2), ("ratings.csv", 21)]
