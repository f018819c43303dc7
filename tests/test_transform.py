"""dbt builds the marts from real drops in a real DuckDB file: the change rules of the
spec on hand-made days whose right answers are written out below."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from flows.errors import TransformError
from flows.ingest.loader import load_drop
from flows.settings import Settings, get_settings
from flows.transform import build_marts, generate_docs, invoke_dbt
from flows.warehouse import open_warehouse
from tests.drops import ALLIANZ, BASF, SAP, SIEMENS, write_drop

MON, TUE, WED = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
ADVISORS = [["A1", "Petra Schmidt", "petra@bank.example", "Filiale München", "boss@bank.example"]]
CLIENTS_MON = [
    ["C1", "Jürgen", "Müller", "juergen.mueller@example.com", "de", "A1", "ja"],
    ["C2", "Jane", "Smith", "jane.smith@example.org", "en", "A1", "true"],
    ["C3", "Olaf", "Opt", "olaf@example.com", "de", "A1", "nein"],
    ["C4", "Ina", "Invalid", "c4@@example", "de", "A1", "1"],
    ["C5", "Sven", "Seller", "sven@example.com", "de", "A1", "1"],
    ["C6", "Nora", "Nomail", "", "de", "A1", "ja"],
]
HOLDINGS_MON = [
    ["C1", SAP, 10, "1000.00"],
    ["C1", SIEMENS, 5, "500.00"],
    ["C2", SAP, 3, "300.00"],
    ["C3", ALLIANZ, 1, "100.00"],
    ["C4", BASF, 2, "200.00"],
    ["C5", SAP, 1, "50.00"],
    ["C6", SIEMENS, 1, "10.00"],
]


def _run_day(settings: Settings, inbox: Path, day: date) -> None:
    with open_warehouse(settings.warehouse_path) as con:
        load_drop(con, inbox / day.isoformat(), day)
    build_marts(settings, day)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Monday: initiations. Tuesday: changes, a repeat in German, a seller. Wednesday: a
    repeat, a downgrade, and new master data (C1 opts out)."""
    root = tmp_path_factory.mktemp("transform")
    inbox = root / "inbox"
    write_drop(
        inbox,
        MON,
        ratings=[
            [SAP, "SAP SE", "Kaufen", "2026-03-02 07:00:00", "Dr. Anna Weber", "250", "EUR"],
            [SIEMENS, "Siemens AG", "hold", "2026-03-02"],
            [ALLIANZ, "Allianz SE", " BUY ", "2026-03-02 08:00:00"],
            [BASF, "BASF SE", "Neutral", "02.03.2026 09:15"],
        ],
        holdings=HOLDINGS_MON,
        clients=CLIENTS_MON,
        advisors=ADVISORS,
    )
    write_drop(
        inbox,
        TUE,
        ratings=[
            [SAP, "SAP SE", "Verkaufen", "2026-03-03 07:00:00", "Dr. Anna Weber", "180", "EUR"],
            [SIEMENS, "Siemens AG", "Halten", "2026-03-03 07:00:00"],
            [ALLIANZ, "Allianz SE", "strong_buy", "2026-03-03 07:05:00"],
            [BASF, "BASF SE", "UNDERWEIGHT", "2026-03-03 07:10:00"],
        ],
        holdings=[h for h in HOLDINGS_MON if h[0] != "C5"],
    )
    write_drop(
        inbox,
        WED,
        ratings=[
            [SAP, "SAP SE", " verkaufen ", "2026-03-04 07:00:00"],
            [SIEMENS, "Siemens AG", "Stark Verkaufen", "2026-03-04 07:00:00"],
        ],
        holdings=[h for h in HOLDINGS_MON if h[0] != "C5"],
        clients=[["C1", "Jürgen", "Müller", "juergen.mueller@example.com", "de", "A1", "false"]],
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOTUM_HOME", str(root / "home"))
        settings = get_settings()
        for day in (MON, TUE, WED):
            _run_day(settings, inbox, day)
        yield settings


def _copy_of(built: Settings, tmp_path: Path) -> Settings:
    """Settings of a home of its own holding a copy of the built warehouse."""
    home = tmp_path / "copy"
    home.mkdir()
    shutil.copy(built.warehouse_path, home / "warehouse.duckdb")
    return built.model_copy(update={"home": home})


def _rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_rating_changes_follow_the_spec(built: Settings) -> None:
    assert _rows(
        built,
        "SELECT business_day, isin, previous_rating, new_rating, change_type "
        "FROM fct_rating_changes ORDER BY business_day, isin",
    ) == [
        (MON, SAP, None, "buy", "initiation"),
        (MON, SIEMENS, None, "neutral", "initiation"),
        (MON, ALLIANZ, None, "buy", "initiation"),
        (MON, BASF, None, "neutral", "initiation"),
        # Siemens "Halten" on Tuesday repeats "hold": no change.
        (TUE, SAP, "buy", "sell", "downgrade"),
        (TUE, ALLIANZ, "buy", "strong_buy", "upgrade"),
        (TUE, BASF, "neutral", "sell", "downgrade"),
        # SAP " verkaufen " on Wednesday repeats "Verkaufen": no change.
        (WED, SIEMENS, "neutral", "strong_sell", "downgrade"),
    ]


def test_change_keeps_what_research_published(built: Settings) -> None:
    assert _rows(
        built,
        "SELECT changed_on, rated_at, target_price, previous_target_price, analyst, currency "
        f"FROM fct_rating_changes WHERE isin = '{SAP}' AND business_day = DATE '{TUE}'",
    ) == [
        (
            TUE,
            __import__("datetime").datetime(2026, 3, 3, 7, 0),
            Decimal("180.0000"),
            Decimal("250.0000"),
            "Dr. Anna Weber",
            "EUR",
        )
    ]


def test_affected_clients_and_their_eligibility(built: Settings) -> None:
    assert _rows(
        built,
        "SELECT business_day, client_id, isin, change_type, quantity, market_value_eur, "
        "notify_eligible, ineligible_reason FROM fct_client_rating_changes "
        "ORDER BY business_day, client_id, isin",
    ) == [
        # C5 sold SAP before Tuesday's downgrade: not affected. Initiations affect no one.
        (TUE, "C1", SAP, "downgrade", Decimal("10.0000"), Decimal("1000.00"), True, None),
        (TUE, "C2", SAP, "downgrade", Decimal("3.0000"), Decimal("300.00"), True, None),
        (TUE, "C3", ALLIANZ, "upgrade", Decimal("1.0000"), Decimal("100.00"), False, "opted_out"),
        (
            TUE,
            "C4",
            BASF,
            "downgrade",
            Decimal("2.0000"),
            Decimal("200.00"),
            False,
            "invalid_email",
        ),
        # Wednesday's clients.csv (only C1, now opted out) keeps the others as last known.
        (WED, "C1", SIEMENS, "downgrade", Decimal("5.0000"), Decimal("500.00"), False, "opted_out"),
        (WED, "C6", SIEMENS, "downgrade", Decimal("1.0000"), Decimal("10.00"), False, "no_email"),
    ]


def test_portfolio_weight_is_the_share_of_the_clients_portfolio(built: Settings) -> None:
    weights = dict(
        _rows(
            built,
            "SELECT client_id || '/' || business_day, portfolio_weight "
            "FROM fct_client_rating_changes",
        )
    )
    assert weights["C1/2026-03-03"] == pytest.approx(1000 / 1500)
    assert weights["C1/2026-03-04"] == pytest.approx(500 / 1500)
    assert weights["C2/2026-03-03"] == pytest.approx(1.0)


def test_running_a_day_again_changes_nothing(built: Settings, tmp_path: Path) -> None:
    query = "SELECT * FROM fct_client_rating_changes ORDER BY client_change_id"
    before = _rows(built, query)
    build_marts(built, WED)
    build_marts(built, WED)
    assert _rows(built, query) == before
    assert _rows(built, "SELECT count(*) FROM fct_rating_changes") == [(8,)]


def test_public_marts_have_the_contract_columns(built: Settings) -> None:
    def columns(table: str) -> list[str]:
        return [r[0] for r in _rows(built, f"DESCRIBE {table}")]

    assert set(columns("fct_rating_changes")) >= {
        "change_id",
        "isin",
        "security_name",
        "previous_rating",
        "new_rating",
        "change_type",
        "changed_on",
        "target_price",
    }
    assert set(columns("fct_client_rating_changes")) >= {
        "client_id",
        "advisor_id",
        "change_id",
        "isin",
        "previous_rating",
        "new_rating",
        "change_type",
        "changed_on",
        "quantity",
        "market_value_eur",
        "portfolio_weight",
        "notify_eligible",
        "ineligible_reason",
    }


def test_dbt_unit_tests_of_the_change_rules_pass(built: Settings) -> None:
    result = invoke_dbt(built, ["test", "--select", "test_type:unit"])
    names = {n.name for n in result.nodes}
    assert {
        "test_changes_follow_rated_at_order_and_skip_repeats",
        "test_affected_clients_use_latest_snapshot_and_eligibility",
        "test_rating_labels_match_case_blank_and_language_insensitively",
    } <= names
    assert all(n.status == "pass" for n in result.nodes)


def test_a_failing_data_test_is_reported_by_name(tmp_path: Path, built: Settings) -> None:
    # A copy of the warehouse with a planted fault: dbt's tests must catch it.
    settings = _copy_of(built, tmp_path)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("UPDATE fct_rating_changes SET change_type = 'sideways' WHERE isin = ?", [SAP])
    with pytest.raises(TransformError) as raised:
        invoke_dbt(settings, ["test", "--select", "fct_rating_changes"])
    assert "accepted_values_fct_rating_changes_change_type" in str(raised.value)


def test_seeds_are_loaded_only_when_they_change(tmp_path: Path, built: Settings) -> None:
    settings = _copy_of(built, tmp_path)
    again = build_marts(settings, WED)
    assert not [n for n in again.nodes if "seed" in n.resource_type]
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("UPDATE raw.dbt_seeds_loaded SET fingerprint = 'an older scale'")
    reloaded = build_marts(settings, WED)
    assert {n.name for n in reloaded.nodes if "seed" in n.resource_type} == {
        "rating_scale",
        "rating_labels",
    }


def test_views_are_created_only_when_the_project_changes(tmp_path: Path, built: Settings) -> None:
    settings = _copy_of(built, tmp_path)
    # A new warehouse path is a new fingerprint: the first build creates the views.
    first = build_marts(settings, WED)
    assert "stg_drop__holdings" in {n.name for n in first.nodes}
    again = build_marts(settings, WED)
    names = {n.name for n in again.nodes}
    models = {n.name for n in again.nodes if n.resource_type.endswith("model")}
    assert not {"stg_drop__holdings", "mart_notification_lines", "int_activities_unioned"} & names
    assert {"fct_client_rating_changes", "dim_clients"} <= models
    # The views' own tests still run, and so do the marts' tests against the seeds.
    assert "unique_stg_ops__delivery_ledger_message_key" in names
    assert "relationships_fct_rating_changes_new_rating__rating_code__ref_rating_scale_" in names
    # A view not created again still shows today's rows.
    assert _rows(settings, "SELECT count(*) FROM mart_notification_lines") == _rows(
        built, "SELECT count(*) FROM mart_notification_lines"
    )
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("UPDATE raw.dbt_views_built SET fingerprint = 'another project'")
    changed = build_marts(settings, WED)
    assert {"stg_drop__holdings", "mart_notification_lines"} <= {n.name for n in changed.nodes}


def test_a_fault_seen_through_a_view_not_created_again_is_caught(
    tmp_path: Path, built: Settings
) -> None:
    settings = _copy_of(built, tmp_path)
    build_marts(settings, WED)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(
            "INSERT INTO raw.worklist_activities VALUES ('W1', 'A1', NULL, ?, 'call', "
            "'called', NULL, ?, TIMESTAMP '2026-03-04 10:00:00', 'worklist')",
            [SAP, WED],
        )
    with pytest.raises(TransformError) as raised:
        build_marts(settings, WED)
    assert "not_null_stg_votum__worklist_activities_client_id" in str(raised.value)


def test_docs_show_the_way_from_the_drop_to_each_email(tmp_path: Path, built: Settings) -> None:
    import json

    home = tmp_path / "docs"
    home.mkdir()
    shutil.copy(built.warehouse_path, home / "warehouse.duckdb")
    settings = built.model_copy(update={"home": home})
    page = generate_docs(settings)
    assert page == settings.home_dir / "dbt" / "docs" / "static_index.html"
    html = page.read_text(encoding="utf-8")
    # The static page embeds the manifest and the catalog: no server needed.
    assert "weekly_adoption_report" in html and "fct_client_rating_changes" in html
    manifest = json.loads((page.parent / "manifest.json").read_text(encoding="utf-8"))
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) == {"client_digest", "advisor_worklist", "weekly_adoption_report"}
    nodes = manifest["nodes"]

    def upstream(unique_id: str) -> set[str]:
        seen: set[str] = set()
        todo = [unique_id]
        while todo:
            node = nodes.get(todo.pop(), {})
            for parent in node.get("depends_on", {}).get("nodes", []):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    for exposure in exposures.values():
        parents = set(exposure["depends_on"]["nodes"])
        reached = parents | {p for parent in parents for p in upstream(parent)}
        # Every output traces back to the drop's rating and holdings files.
        assert "source.votum.drop.ratings" in reached, exposure["name"]
        assert "source.votum.drop.holdings" in reached, exposure["name"]
    public = {n["name"] for n in nodes.values() if n.get("access") == "public"}
    assert public == {"fct_rating_changes", "fct_client_rating_changes", "mart_adoption_weekly"}
    assert {n["name"]: n["group"] for n in nodes.values() if n["name"] in public} == {
        "fct_rating_changes": "ratings",
        "fct_client_rating_changes": "ratings",
        "mart_adoption_weekly": "adoption",
    }
    catalog = json.loads((page.parent / "catalog.json").read_text(encoding="utf-8"))
    assert "model.votum.fct_client_rating_changes" in catalog["nodes"]
