"""The scenario of the daily run and the weekly report with ``VOTUM_DBT_TARGET`` set to
``postgres`` or ``spark``: the same flows, switched by the setting alone, give the same
emails, ledgers, marts, quality counts and report as on the embedded DuckDB warehouse.

One home runs generated drops through ``daily_run`` and ``weekly_report`` on DuckDB (a
real Prefect server, a real SMTP server, real dbt builds and Great Expectations
validations); another home runs the same drops with the engine: a real PostgreSQL
server (a database of its own) or a local Spark (dbt-spark's session).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from flows.demo.drops.generate import generate_drops
from flows.engines.target import checked_target
from flows.errors import ConfigurationError
from flows.pipeline import ReportSummary, daily_run, intraday_run, weekly_report
from flows.report.wording import TEXTS
from flows.runs.day_summary import DaySummary
from flows.runs.parameters import (
    DailyRunParameters,
    IntradayRunParameters,
    WeeklyReportParameters,
)
from flows.runs.status import collect_status
from flows.settings import Settings, get_settings
from flows.warehouse import open_warehouse
from tests.engines.postgres_server import PostgresServer
from tests.smtp_server import ReceivedMessage, RecordingSmtpServer

# Wednesday 2026-03-04 to Tuesday 2026-03-10; the report of ISO week 10 (03-02 to 03-08).
START, DAYS, CLIENTS, SEED = date(2026, 3, 4), 5, 500, 7
WEEK, REPORT_DAY = "2026-W10", date(2026, 3, 11)
# Intraday batches: (index of the drop day, delivery time), on two of the days.
INTRADAY_BATCHES = ((1, "101500"), (3, "141000"))
MINUTES_TO_INBOX = TEXTS["de"]["median_minutes_to_inbox"].removeprefix("Median ")
PUBLIC_MARTS = ("fct_rating_changes", "fct_client_rating_changes", "mart_adoption_weekly")


@dataclass
class EngineRun:
    settings: Settings
    summaries: list[DaySummary]
    report: ReportSummary
    messages: list[ReceivedMessage]


@dataclass(frozen=True)
class Scenario:
    root: Path
    inbox: Path
    drop_dates: list[date]
    smtp: RecordingSmtpServer
    duckdb: EngineRun


@dataclass(frozen=True)
class Runs:
    duckdb: EngineRun
    engine: EngineRun
    name: str
    server: PostgresServer | None = None
    database: str = ""


def _run_everything(inbox: Path, drop_dates: list[date], smtp: RecordingSmtpServer) -> EngineRun:
    smtp.reset()
    summaries = []
    for day in drop_dates:
        summary = daily_run(DailyRunParameters(run_date=day, inbox=inbox))
        if summary is not None:
            summaries.append(summary)
        # The day's intraday batches, after its morning (their emails and ledger rows
        # are compared with the rest).
        intraday_run(IntradayRunParameters(run_date=day, inbox=inbox))
    report = weekly_report(WeeklyReportParameters(week=WEEK, today=REPORT_DAY))
    return EngineRun(get_settings(), summaries, report, smtp.messages)


@pytest.fixture(scope="module")
def scenario(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """The drops, a mail server, and the reference run on DuckDB."""
    root = tmp_path_factory.mktemp("pipeline-on-engines")
    inbox = root / "inbox"
    generated = generate_drops(
        inbox, START, DAYS, CLIENTS, seed=SEED, intraday_batches=INTRADAY_BATCHES
    )
    drop_dates = list(generated.drop_dates)
    assert len(generated.intraday_batches) == len(INTRADAY_BATCHES)
    with RecordingSmtpServer() as smtp, pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOTUM_SMTP_HOST", smtp.host)
        patch.setenv("VOTUM_SMTP_PORT", str(smtp.port))
        patch.setenv("VOTUM_SMTP_SECURITY", "none")
        patch.setenv("VOTUM_REPORT_SUMMARY_TO", "vorstand@example.com")
        # One signing key for every engine's home (otherwise each generates its own, and
        # the links in the emails differ).
        patch.setenv("VOTUM_UNSUBSCRIBE_SECRET", "engine-scenario-key-0123456789abcdef")
        patch.chdir(root)
        patch.setenv("VOTUM_HOME", str(root / "duckdb"))
        on_duckdb = _run_everything(inbox, drop_dates, smtp)
        yield Scenario(root, inbox, drop_dates, smtp, on_duckdb)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("spark", marks=pytest.mark.spark),
    ],
)
def runs(request: pytest.FixtureRequest, scenario: Scenario) -> Iterator[Runs]:
    """The same drops in a home of their own, with VOTUM_DBT_TARGET set to the engine."""
    engine = str(request.param)
    with pytest.MonkeyPatch.context() as patch:
        server: PostgresServer | None = None
        database = ""
        if engine == "postgres":
            server = request.getfixturevalue("postgres_server")
            database = server.create_database("votum_pipeline")
            for name, value in server.environment(database).items():
                patch.setenv(name, value)
        else:
            from flows.engines.spark import stop_spark_session

            # One Spark session per process, for one VOTUM_HOME: another module's goes.
            stop_spark_session()
            request.addfinalizer(stop_spark_session)
            patch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        patch.setenv("VOTUM_DBT_TARGET", engine)
        patch.setenv("VOTUM_HOME", str(scenario.root / engine))
        on_engine = _run_everything(scenario.inbox, scenario.drop_dates, scenario.smtp)
        yield Runs(scenario.duckdb, on_engine, engine, server, database)


def _rows(settings: Settings, query: str) -> list[tuple[object, ...]]:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        return sorted(con.execute(query).fetchall(), key=repr)


def _rows_on_engine(runs: Runs, query: str) -> list[tuple[object, ...]]:
    if runs.server is not None:
        with runs.server.connect(runs.database) as connection, connection.cursor() as cursor:
            cursor.execute(query.format(marts="public"))
            return [tuple(row) for row in cursor.fetchall()]
    from flows.engines.spark import spark_session

    spark = spark_session(runs.engine.settings)
    marts = runs.engine.settings.spark_schema
    return [tuple(row) for row in spark.sql(query.format(marts=marts)).collect()]


def test_the_engine_home_built_its_marts_on_the_engine(runs: Runs) -> None:
    """Not a second DuckDB build: the marts are on the engine, the run ledger has the
    mirror stage, and the DuckDB file holds no dbt staging views."""
    on_engine = _rows_on_engine(runs, "SELECT count(*) FROM {marts}.fct_client_rating_changes")
    mirrored = _rows(runs.engine.settings, "SELECT count(*) FROM main.fct_client_rating_changes")
    assert on_engine[0][0] == mirrored[0][0] > 0
    stages = _rows(
        runs.engine.settings,
        "SELECT stage_seconds FROM ops.run_ledger WHERE flow = 'daily-run'",
    )
    assert all("mirror_marts" in str(row[0]) for row in stages)
    assert len(stages) == len(runs.engine.summaries)
    no_staging = _rows(
        runs.engine.settings,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'staging'",
    )
    assert no_staging == [(0,)]
    duck_stages = _rows(runs.duckdb.settings, "SELECT stage_seconds FROM ops.run_ledger")
    assert not any("mirror_marts" in str(row[0]) for row in duck_stages)


def test_every_day_has_the_same_summary_on_both_engines(runs: Runs) -> None:
    def figures(summary: DaySummary) -> tuple[object, ...]:
        return (
            summary.run_date,
            summary.upgrades,
            summary.downgrades,
            summary.initiations,
            summary.affected_clients,
            summary.affected_positions,
            summary.eligible_clients,
            summary.digests_sent,
            summary.worklists_sent,
            summary.emails_failed,
            summary.held_reason,
            tuple(sorted(summary.quarantined.items())),
        )

    duck = [figures(s) for s in runs.duckdb.summaries]
    assert duck == [figures(s) for s in runs.engine.summaries]
    assert len(duck) == DAYS
    assert sum(s.changes for s in runs.duckdb.summaries) > 0
    assert sum(s.digests_sent for s in runs.duckdb.summaries) > 0


def test_the_same_emails_reach_the_same_people(runs: Runs) -> None:
    def mails(run: EngineRun) -> Counter[tuple[str, str, str, str]]:
        return Counter(
            (
                str(m.message["X-Votum-Kind"]),
                str(m.message["To"]),
                str(m.message["Subject"]),
                _text_body(m),
            )
            for m in run.messages
        )

    on_duckdb = mails(runs.duckdb)
    assert on_duckdb == mails(runs.engine)
    kinds = Counter(kind for kind, *_ in on_duckdb.elements())
    assert kinds["client_digest"] > 0 and kinds["advisor_worklist"] > 0
    assert kinds["client_intraday"] > 0 and kinds["advisor_intraday"] > 0
    assert kinds["adoption_report"] > 0 and kinds["adoption_summary"] == 1


def _text_body(message: ReceivedMessage) -> str:
    part = message.message.get_body(preferencelist=("plain",))
    assert part is not None
    text = str(part.get_content())
    # The worklist names the minute its digests went out, and the report the minutes
    # from an intraday batch's delivery to the mail server's acceptance of its emails:
    # both depend on when each run sent, which differs between runs.
    return "\n".join(
        line for line in text.splitlines() if "Uhr" not in line and MINUTES_TO_INBOX not in line
    )


def test_the_delivery_ledgers_are_equal(runs: Runs) -> None:
    # The reports' content (the branch's, the bank's, each advisor's) holds the minutes
    # from an intraday batch to its emails' acceptance, which depend on when each run
    # sent (see _text_body): their bodies are compared by
    # test_the_same_emails_reach_the_same_people without that line.
    query = (
        "SELECT message_key, kind, business_day, recipient_id, "
        "CASE WHEN kind LIKE 'adoption_%' OR kind = 'advisor_weekly' THEN NULL "
        "ELSE content_sha256 END, status "
        "FROM ops.delivery_ledger"
    )
    on_duckdb = _rows(runs.duckdb.settings, query)
    assert on_duckdb == _rows(runs.engine.settings, query)
    assert len(on_duckdb) == len(runs.duckdb.messages)


@pytest.mark.parametrize("table", PUBLIC_MARTS)
def test_the_mirrored_marts_equal_duckdbs_row_for_row(runs: Runs, table: str) -> None:
    query = f"SELECT * FROM main.{table}"
    on_duckdb = _rows(runs.duckdb.settings, query)
    assert on_duckdb, f"{table} is empty: the comparison would prove nothing"
    assert _normalised(on_duckdb) == _normalised(_rows(runs.engine.settings, query))


def _normalised(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Floats to 9 significant digits (the engines sum in different orders)."""
    return sorted(
        (tuple(float(f"{v:.9g}") if isinstance(v, float) else v for v in row) for row in rows),
        key=repr,
    )


def test_the_quality_gates_counted_the_same(runs: Runs) -> None:
    query = "SELECT run_date, suite, rule, unexpected, passed FROM ops.quality_results"
    on_duckdb = _rows(runs.duckdb.settings, query)
    assert on_duckdb == _rows(runs.engine.settings, query)
    suites = {row[1] for row in on_duckdb}
    assert any(s.startswith("raw_") for s in suites) and any(s.startswith("mart") for s in suites)


def test_the_weekly_report_is_the_same(runs: Runs) -> None:
    assert runs.duckdb.report.branches == runs.engine.report.branches > 0
    duck_files = sorted(runs.duckdb.report.folder.rglob("*.csv"))
    assert duck_files
    for path in duck_files:
        twin = runs.engine.report.folder / path.relative_to(runs.duckdb.report.folder)
        assert _csv(path) == _csv(twin), path.name


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.reader(stream, delimiter=";"))


@pytest.mark.postgres
def test_an_unknown_target_is_refused_with_the_known_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOTUM_DBT_TARGET", "oracle")
    with pytest.raises(ConfigurationError, match="duckdb, postgres, spark"):
        checked_target(get_settings())


def test_status_names_the_engine_without_the_password(runs: Runs) -> None:
    status = collect_status(runs.engine.settings, runs=50)
    assert status.engine.startswith(f"{runs.name} ")
    if runs.server is not None:
        assert f"/{runs.database} (marts in schema public)" in status.engine
        assert runs.server.password not in json.dumps(status.as_json())
    assert {r.outcome for r in status.runs} == {"succeeded"}
    assert sum(r.flow != "intraday" for r in status.runs) == DAYS + 1  # the days, the report
    assert sum(r.flow == "intraday" for r in status.runs) >= len(INTRADAY_BATCHES)
    assert collect_status(runs.duckdb.settings).engine.startswith("duckdb ")
