"""The quality gates of a run, per the spec's policy.

* :func:`check_drop` after ingest, before dbt: the raw suites of every file of the drop.
  Row faults move to the quarantine and the run goes on; file faults (and a file with
  too many faulty rows: a share and a count, :func:`too_many_faulty_rows`) take the
  drop out of the raw layer again and stop the run with a message naming the file and
  the check; an implausible holdings volume or a drop older than the last one holds the
  day.
* :func:`check_marts` after dbt, before dispatch: a failing mart suite holds the day.

Great Expectations does the validating (in SQL, inside DuckDB) and writes Data Docs;
what each result means for the run is decided here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from flows.drop_files import DROP_FILES_BY_NAME
from flows.errors import DropError, VotumError
from flows.ingest.loader import DropLoad, inspect_drop, typed_rows_sql, unload_drop
from flows.quality.gx_project import (
    DATASOURCE,
    MART_CHECKPOINT,
    RAW_CHECKPOINT,
    data_docs_index,
    open_context,
    release_engine,
)
from flows.quality.quarantine import (
    quarantine_reasons,
    quarantine_rows,
    quarantine_unreadable,
    quarantined_in_drop_file,
)
from flows.quality.results_retention import prune_results
from flows.quality.rules import RULES_BY_KEY as _RULES
from flows.quality.rules import Rule
from flows.quality.sql_support import ensure_quality_objects, forget_quarantine
from flows.settings import Settings
from flows.side_process import SideProcess, SideProcessEndedError, side_process_for
from flows.warehouse import let_go_of_warehouse, open_warehouse

# The quality gates' side process (flows/quality/checkpoint_process.py).
CHECKPOINT_PROCESS = "flows.quality.checkpoint_process"


class QualityError(VotumError):
    """A quality rule could not run at all (not: the data failed it)."""

    exit_code = 6


class DropQualityError(DropError):
    """A file fault found by the raw suites: the drop was not kept."""


@dataclass(frozen=True)
class RuleOutcome:
    suite: str
    rule: str
    description: str
    action: str
    unexpected: int
    passed: bool


@dataclass(frozen=True)
class QualityReport:
    outcomes: tuple[RuleOutcome, ...] = ()
    quarantined: dict[str, int] = field(default_factory=dict)  # file kind -> rows
    # file kind -> reason -> rows (a row with two faults counts under both)
    quarantine_reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    hold_reasons: tuple[str, ...] = ()
    data_docs: Path | None = None

    @property
    def failed(self) -> tuple[RuleOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.passed)


def suite_outcomes(suite: str, results: Sequence[Any]) -> tuple[list[RuleOutcome], list[str]]:
    """Per rule of ``suite``, how many rows broke it (from Great Expectations' results),
    and the rules that could not run at all, with why."""
    outcomes, problems = [], []
    for item in results:
        rule = _RULES[(suite, (item.expectation_config.meta or {})["votum_rule"])]
        problem = expectation_error(item.exception_info)
        if problem is not None:
            problems.append(f"{rule.suite}.{rule.name}: {problem}")
            continue
        outcomes.append(
            RuleOutcome(
                rule.suite,
                rule.name,
                rule.description,
                rule.action,
                int((item.result or {}).get("observed_value") or 0),
                bool(item.success),
            )
        )
    return outcomes, problems


def stop_if_rules_could_not_run(problems: Sequence[str], of: str, on: str = "") -> None:
    """A rule that could not run says nothing about the data: stop, never pass it."""
    if problems:
        raise QualityError(
            f"{len(problems)} quality rule(s) of {of} could not run{on}: " + "; ".join(problems[:5])
        )


def marts_report(
    settings: Settings, outcomes: Sequence[RuleOutcome], of: str = ""
) -> QualityReport:
    """What the mart suites' outcomes mean: any failure holds (the day, or ``of`` it)."""
    return QualityReport(
        outcomes=tuple(outcomes),
        hold_reasons=tuple(
            f"quality gate on the marts{of}: {o.description} ({o.unexpected})"
            for o in outcomes
            if not o.passed
        ),
        data_docs=data_docs_index(settings),
    )


def expectation_error(info: Any) -> str | None:
    if not info:
        return None
    if isinstance(info, dict) and info.get("raised_exception"):
        return str(info.get("exception_message"))
    if isinstance(info, dict):
        for value in info.values():
            if isinstance(value, dict) and value.get("raised_exception"):
                return str(value.get("exception_message"))
    return None


def run_checkpoint(
    settings: Settings,
    name: str,
    project_dir: Path | None = None,
    *,
    batch_parameters: dict[str, Any] | None = None,
    datasource: str = DATASOURCE,
) -> list[RuleOutcome]:
    """Run a checkpoint and read back, per rule, how many rows broke it.
    ``batch_parameters`` and ``datasource``: for a checkpoint on another data source
    (the Spark DataFrame of :mod:`flows.engines.spark`). ``project_dir``: the GE project
    (default ``VOTUM_EXPECTATIONS_DIR``).

    A checkpoint of the DuckDB warehouse runs in the gates' side process when the run
    started one for these settings (:func:`checkpoint_process_settings`)."""
    if project_dir is None and batch_parameters is None and datasource == DATASOURCE:
        process = side_process_for(CHECKPOINT_PROCESS, checkpoint_process_settings(settings))
        if process is not None:
            return _run_in_side_process(settings, process, name)
    context = open_context(settings, project_dir or settings.expectations_dir)
    # GE opens the DuckDB file with settings of its own: a held warehouse lets go.
    with let_go_of_warehouse(settings.warehouse_path):
        try:
            result = context.checkpoints.get(name).run(batch_parameters=batch_parameters)
        finally:
            release_engine(context, datasource)
    # The pages of this run's results, and the index of the newest results kept.
    prune_results(settings.home_dir / "quality", settings.quality_results_kept)
    context.build_data_docs(resource_identifiers=list(result.run_results))
    outcomes, problems = [], []
    for suite_result in result.run_results.values():
        read, failed = suite_outcomes(suite_result.suite_name, suite_result.results)
        outcomes += read
        problems += failed
    stop_if_rules_could_not_run(problems, f"checkpoint {name}")
    return outcomes


def checkpoint_process_settings(settings: Settings) -> dict[str, object] | None:
    """What a checkpoint of the DuckDB warehouse depends on: the side process is started
    with these and takes only checkpoints asked with the same (None: not on DuckDB)."""
    if settings.dbt_target != "duckdb":
        return None
    return {
        "home": str(settings.home_dir),
        "expectations_dir": str(settings.expectations_dir),
        "quality_results_kept": settings.quality_results_kept,
    }


def _run_in_side_process(settings: Settings, process: SideProcess, name: str) -> list[RuleOutcome]:
    # GE opens the DuckDB file there: a held warehouse lets go.
    with let_go_of_warehouse(settings.warehouse_path):
        try:
            reply = process.request({"checkpoint": name})
        except SideProcessEndedError as ended:
            raise QualityError(
                f"The quality gates' process ended before it answered checkpoint {name} ({ended})."
            ) from None
    if reply.get("quality_error"):
        raise QualityError(str(reply["quality_error"]))
    return [RuleOutcome(**outcome) for outcome in reply["outcomes"]]


def _record(
    con: duckdb.DuckDBPyConnection, run_date: date, outcomes: Sequence[RuleOutcome]
) -> None:
    suites = sorted({o.suite for o in outcomes})
    con.execute("BEGIN TRANSACTION")
    con.execute(
        "DELETE FROM ops.quality_results WHERE run_date = ? AND list_contains(?, suite)",
        [run_date, suites],
    )
    con.executemany(
        "INSERT INTO ops.quality_results (run_date, suite, rule, action, description, "
        "unexpected, passed) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (run_date, o.suite, o.rule, o.action, o.description, o.unexpected, o.passed)
            for o in outcomes
        ],
    )
    con.execute("COMMIT")


def _file_name(load: DropLoad, kind: str) -> str:
    return next((f.file_name for f in load.files if f.file_kind == kind), f"{kind}.csv")


def _quarantine(
    con: duckdb.DuckDBPyConnection, load: DropLoad, outcomes: Sequence[RuleOutcome]
) -> dict[str, int]:
    """Quarantine the faulty rows of every file loaded in this run; returns the
    quarantine's rows per file kind for the drop (earlier runs' included)."""
    failing: dict[str, list[Rule]] = defaultdict(list)
    for outcome in outcomes:
        rule = _RULES[(outcome.suite, outcome.rule)]
        if outcome.unexpected and rule.action == "quarantine":
            failing[rule.suite.removeprefix("raw_")].append(rule)
    sources = {s.drop_file.name: s for s in inspect_drop(con, load.drop_dir)}
    for loaded in load.files:
        if loaded.unchanged:
            continue  # quarantined when it was loaded
        kind = loaded.file_kind
        if failing.get(kind) and kind in sources:
            source = sources[kind]
            quarantine_rows(
                con,
                load.drop_date,
                source,
                typed_rows_sql(con, source, load.drop_date),
                failing[kind],
            )
        if loaded.rows_rejected:
            quarantine_unreadable(con, load.drop_date, DROP_FILES_BY_NAME[kind], loaded.file_name)
    rows = con.execute(
        "SELECT file_kind, count(*) FROM ops.quarantine WHERE drop_date = ? GROUP BY 1",
        [load.drop_date],
    ).fetchall()
    return {str(kind): int(n) for kind, n in rows}


def too_many_faulty_rows(
    file_name: str, faulty: int, total: int, *, max_share: float, min_rows: int
) -> str | None:
    """The file fault of a file with too many faulty rows, or None. Like the circuit
    breaker it needs both a share and a count: more than ``max_share`` of the rows and at
    least ``min_rows`` of them (a ratings file of ten rows with one bad row is not
    a broken file; its bad row is quarantined and the day goes on)."""
    share = faulty / total if total else 0.0
    if share <= max_share or faulty < min_rows:
        return None
    return (
        f"{file_name}: {faulty} of {total} rows are faulty ({share:.1%}, more than "
        f"VOTUM_MAX_QUARANTINE_SHARE={max_share:.0%} and at least "
        f"VOTUM_MIN_QUARANTINE_ROWS={min_rows}); see ops.quarantine"
    )


def check_drop(settings: Settings, load: DropLoad, *, backfill: bool = False) -> QualityReport:
    """The raw suites on the drop just loaded (see the module's description)."""
    day = load.drop_date
    with open_warehouse(settings.warehouse_path) as con:
        ensure_quality_objects(
            con,
            settings.dbt_project_dir / "seeds",
            max_holdings_change=settings.max_holdings_change,
        )
        for loaded in load.files:
            if not loaded.unchanged:
                forget_quarantine(con, day, loaded.file_kind)
    # The raw suites check the landing store, the DuckDB file, whatever VOTUM_DBT_TARGET
    # says: the raw layer goes to another engine only after it passed.
    landing = settings.model_copy(update={"dbt_target": "duckdb"})
    outcomes = run_checkpoint(landing, RAW_CHECKPOINT)
    with open_warehouse(settings.warehouse_path) as con:
        _record(con, day, outcomes)
        quarantined = _quarantine(con, load, outcomes)
        faults = [
            f"{_file_name(load, o.suite.removeprefix('raw_'))}: {o.description} "
            f"({o.unexpected} found)"
            for o in outcomes
            if o.action == "file" and o.unexpected
        ]
        for loaded in load.files:
            # The share of the drop's own file: the day's intraday batches are files of
            # their own (checked when they came), their rows do not count here.
            fault = too_many_faulty_rows(
                loaded.file_name,
                quarantined_in_drop_file(con, day, loaded.file_kind),
                loaded.rows_loaded + loaded.rows_rejected,
                max_share=settings.max_quarantine_share,
                min_rows=settings.min_quarantine_rows,
            )
            if fault is not None:
                faults.append(fault)
        if faults:
            unload_drop(con, day)
            raise DropQualityError(
                f"Drop {day} failed its quality checks, nothing of it was kept or sent: "
                + "; ".join(faults)
                + ". Fix the file(s) and run the day again."
            )
        holds = [
            f"quality gate: {o.description} ({o.unexpected})"
            for o in outcomes
            if o.action == "hold" and o.unexpected
        ]
        latest = con.execute(
            "SELECT max(drop_date) FROM raw.drop_files WHERE drop_date > ?", [day]
        ).fetchall()[0][0]
        if latest is not None and not backfill:
            holds.append(
                f"drop {day} is older than the last processed drop {latest}; run it with "
                "--backfill to rebuild without sending"
            )
        reasons = quarantine_reasons(con, day)
    return QualityReport(
        outcomes=tuple(outcomes),
        quarantined=quarantined,
        quarantine_reasons=reasons,
        warnings=tuple(
            f"{o.suite.removeprefix('raw_')}: {o.description} ({o.unexpected})"
            for o in outcomes
            if o.action == "warn" and o.unexpected
        ),
        hold_reasons=tuple(holds),
        data_docs=data_docs_index(settings),
    )


def check_marts(
    settings: Settings, run_date: date, outcomes: Sequence[RuleOutcome] | None = None
) -> QualityReport:
    """The mart suites after dbt: any failure holds the day. ``outcomes`` are the rules'
    results when they ran on another engine (:func:`flows.engines.target.mart_rule_outcomes`);
    by default they run here, on the DuckDB warehouse."""
    if outcomes is None:
        outcomes = run_checkpoint(settings, MART_CHECKPOINT)
    with open_warehouse(settings.warehouse_path) as con:
        _record(con, run_date, outcomes)
    return marts_report(settings, outcomes)
